//! AWS chatbot: the generated CloudFormation types.

mod generated;

pub use generated::*;
