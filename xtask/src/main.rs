//! `cargo xtask`: the project's command line. One subcommand per module, each with `fn run(self) -> Result<()>`.

mod bench;
mod bench_handlers;
mod codegen;
mod cost;
mod diff;
mod forward;
mod out;
mod setup;
mod synth;
mod test;

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
    /// Compare a synth of the current code with earlier templates (default: the last synth output); `--live`:
    /// with the deployed stacks (forwarded to rcdk-deploy).
    Diff(diff::Diff),
    /// Build the handler zips a stage uses (rcdk-deploy package).
    #[command(disable_help_flag = true)]
    Package(forward::Forward),
    /// Deploy the assets bucket stack in every region of a stage (rcdk-deploy bootstrap).
    #[command(disable_help_flag = true)]
    Bootstrap(forward::Forward),
    /// Synthesize, package, upload and deploy the stacks of a stage (rcdk-deploy deploy).
    #[command(disable_help_flag = true)]
    Deploy(forward::Forward),
    /// Delete the stacks of a stage in reverse dependency order (rcdk-deploy destroy).
    #[command(disable_help_flag = true)]
    Destroy(forward::Forward),
    /// The local cloud: start, stop, status (rcdk-deploy local).
    #[command(disable_help_flag = true)]
    Local(forward::Forward),
    /// The platform on localhost: the local cloud, the API on a port, the functions, the pipelines, reload on
    /// save (rcdk-dev; `cargo xtask dev --help` shows its options).
    #[command(disable_help_flag = true)]
    Dev(forward::Forward),
    /// Run every check CI runs: venv, codegen --check, fmt, clippy, all tests, snapshot hygiene.
    Test(test::Test),
    /// Estimate the monthly cost of a stage for a traffic profile, and the container break-even.
    Cost(cost::Cost),
    /// Measure synth as a whole process on fixed inputs (`--write` records the figures in BENCHMARKS.md).
    Bench(bench::Bench),
}

fn main() -> Result<()> {
    match run(Cli::parse().command) {
        // The reader of a pipe left (`cargo xtask synth | head -1`): what it wanted was written; end quietly.
        Err(e) if out::is_broken_pipe(&e) => Ok(()),
        other => other,
    }
}

fn run(command: Cmd) -> Result<()> {
    match command {
        Cmd::Setup(cmd) => cmd.run(),
        Cmd::Codegen(cmd) => cmd.run(),
        Cmd::Synth(cmd) => cmd.run(),
        Cmd::Diff(cmd) => cmd.run(),
        Cmd::Package(f) => forward::run("package", &f.args),
        Cmd::Bootstrap(f) => forward::run("bootstrap", &f.args),
        Cmd::Deploy(f) => forward::run("deploy", &f.args),
        Cmd::Destroy(f) => forward::run("destroy", &f.args),
        Cmd::Local(f) => forward::run("local", &f.args),
        Cmd::Dev(f) => forward::dev(&f.args),
        Cmd::Test(cmd) => cmd.run(),
        Cmd::Cost(cmd) => cmd.run(),
        Cmd::Bench(cmd) => cmd.run(),
    }
}

/// The workspace root: xtask lives one level below it.
pub fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

#[cfg(test)]
mod tests {
    /// The checked-in generated code matches what `cargo xtask codegen` writes from the pinned spec.
    #[test]
    fn generated_code_is_fresh() {
        if let Err(e) = (crate::codegen::Codegen { check: true, refresh: false }).run() {
            panic!("{e:#}");
        }
    }
}
