//! AWS Step Functions, locally: an interpreter of the Amazon States Language documents of the templates.

pub mod path;
pub mod template;
