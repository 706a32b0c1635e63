//! Integration tests of the dev crate: the gateway on templates (hand-written and the platform's own) and the
//! local Lambda runtime with real binaries.
#![allow(clippy::unwrap_used)]

mod e2e;
mod fixtures;
mod gateway;
mod platform;
mod runtime;
mod sources;
