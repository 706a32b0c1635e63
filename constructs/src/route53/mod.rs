//! AWS route53: the generated CloudFormation types.

mod generated;

pub use generated::*;
