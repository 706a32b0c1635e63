//! `rcdk-deploy`: package, bootstrap, deploy, diff --live, destroy and the local cloud (see the crate docs).

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = deploy::cli::Cli::parse();
    match cli.run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
