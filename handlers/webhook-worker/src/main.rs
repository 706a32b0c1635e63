//! The `webhook-worker` Lambda.
fn main() {}
