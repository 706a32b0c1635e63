//! The CloudFormation template model.
