//! The `exporter` Lambda.
fn main() {}
