//! The handwritten constructs (L2): every safe default checked by name, every constructor error by its exact
//! message, and the grants each construct gives. One test binary, one module per service.

#![allow(clippy::unwrap_used)]

mod l2 {
    pub mod support;

    mod apigateway;
    mod cloudwatch;
    mod dynamodb;
    mod edge;
    mod events;
    mod iam;
    mod kms_logs;
    mod lambda;
    mod network;
    mod rules;
    mod s3;
    mod secrets;
    mod sqs;
    mod stepfunctions;
}
