//! The deploy engine of rcdk (`rcdk-deploy`, forwarded by `cargo xtask package|bootstrap|deploy|destroy|local` and
//! `diff --live`): the only crate that links the AWS SDK, so `cargo xtask synth` never compiles it.
//!
//! - [`package`]: handler zips named by asset hash (arm64 for AWS, host binaries for the local cloud).
//! - [`bootstrap`]: the assets bucket stack, built with the project's constructs.
//! - [`engine`]: change sets, the typed diff before executing, refusals, approval, dependency waves, live events,
//!   outputs, destroy. Target differences are [`engine::Capabilities`].
//! - [`plan`], [`order`], [`resolve`], [`emulate`]: the SDK-free logic (reports, refusal and approval rules,
//!   dependency waves, client-side `Fn::GetStackOutput`, templates adapted to a target that skips some types),
//!   unit-tested without a cloud.
//! - [`local`]: the local cloud (moto from the project venv) started, stopped and found under `<out>/local/`.
//! - [`cli`]: the command line.

pub mod aws;
pub mod bootstrap;
pub mod cli;
pub mod emulate;
pub mod engine;
pub mod hotswap;
pub mod local;
pub mod order;
pub mod package;
pub mod plan;
pub mod progress;
pub mod resolve;
