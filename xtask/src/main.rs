//! `cargo xtask`: the project's command line. One subcommand per module, each with `fn run(self) -> Result<()>`.

mod codegen;
mod setup;
mod synth;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "cargo xtask", about = "Synthesize, check, test and benchmark the toolkit")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create the project-local Python venv with the pinned tools (cfn-lint, checkov, moto).
    Setup(setup::Setup),
    /// Generate the typed CloudFormation layer from the pinned registry spec (`--check`: fail if stale).
    Codegen(codegen::Codegen),
    /// Synthesize the app: one CloudFormation template per stack and a manifest.
    Synth(synth::Synth),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Setup(cmd) => cmd.run(),
        Cmd::Codegen(cmd) => cmd.run(),
        Cmd::Synth(cmd) => cmd.run(),
    }
}

/// The workspace root: xtask lives one level below it.
pub fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
