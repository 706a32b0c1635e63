//! The `indexer` Lambda.
fn main() {}
