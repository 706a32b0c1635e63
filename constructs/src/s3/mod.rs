//! AWS s3: the generated CloudFormation types.

mod generated;

pub use generated::*;
