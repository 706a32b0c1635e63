//! Powertools for AWS Lambda in Rust.
