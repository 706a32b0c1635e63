//! The handwritten constructs (L2): every safe default checked by name, every constructor error by its exact
//! message, and the grants each construct gives. One test binary, one module per service.

#![allow(clippy::unwrap_used)]

mod l2 {
    pub mod support;

    mod apigateway;
    mod certificatemanager;
    mod cloudfront;
    mod cloudwatch;
    mod codedeploy;
    mod dynamodb;
    mod ec2;
    mod elasticache;
    mod events;
    mod iam;
    mod kms;
    mod lambda;
    mod logs;
    mod opensearchservice;
    mod rules;
    mod s3;
    mod secretsmanager;
    mod sqs;
    mod stepfunctions;
    mod wafv2;
}
