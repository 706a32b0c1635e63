//! The `authorizer` Lambda.
fn main() {}
