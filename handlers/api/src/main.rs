//! The `api` Lambda.
fn main() {}
