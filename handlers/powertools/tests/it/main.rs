//! Integration tests of the library: one binary (one moto server) for all of them.

#![allow(clippy::unwrap_used)]

mod cache;
mod fixtures;
mod idempotency;
mod ratelimit;
