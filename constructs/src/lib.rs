//! Typed CloudFormation resources: the generated layer (L1) for every service of the platform, one module per
//! service (`dynamodb::CfnTable` ...), with the handwritten constructs (L2) next to it.

pub mod apigateway;
pub mod apigatewayv2;
pub mod app;
pub mod applicationautoscaling;
pub mod assets;
pub mod budgets;
pub mod certificatemanager;
pub mod chatbot;
pub mod cloudfront;
pub mod cloudwatch;
pub mod codedeploy;
pub mod common;
pub mod diff;
pub mod dynamodb;
pub mod ec2;
pub mod elasticache;
pub mod error;
pub mod events;
pub mod iam;
pub mod kms;
pub mod lambda;
pub mod logs;
pub mod opensearchservice;
pub mod platform;
pub mod registry;
pub mod route53;
pub mod rules;
pub mod s3;
pub mod sample;
pub mod secretsmanager;
pub mod sns;
pub mod sqs;
pub mod ssm;
pub mod stepfunctions;
pub mod wafv2;

pub use error::ConstructError;
