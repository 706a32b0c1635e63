//! AWS apigatewayv2: the generated CloudFormation types.

mod generated;

pub use generated::*;
