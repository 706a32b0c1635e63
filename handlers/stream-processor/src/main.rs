//! The `stream-processor` Lambda.
fn main() {}
