//! The deploy commands (`package`, `bootstrap`, `deploy`, `destroy`, `local`, `diff --live`), forwarded to
//! `rcdk-deploy` (the `deploy` crate), and `dev`, forwarded to `rcdk-dev` (the `dev` crate), with `cargo run`:
//! those crates link the AWS SDK, which xtask must not, so `cargo xtask synth` never compiles it. The exit code
//! is propagated.

use std::process::Command;

use anyhow::{Context, Result};

/// Arguments passed through unchanged (`cargo xtask deploy --help` shows rcdk-deploy's help).
#[derive(clap::Args, Debug)]
pub struct Forward {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Runs `rcdk-deploy <command> <args>` and exits with its code when it fails, after installing what the command
/// needs into the project venv: moto for the local cloud, cargo-lambda and zig for arm64 zips.
pub fn run(command: &str, args: &[String]) -> Result<()> {
    if let Some(group) = needs(command, args) {
        crate::setup::ensure(group)?;
    }
    cargo_run("deploy", "rcdk-deploy", Some(command), args)
}

/// `cargo xtask dev [args]`: `rcdk-dev [args]`, after installing moto (the local cloud) into the venv.
pub fn dev(args: &[String]) -> Result<()> {
    crate::setup::ensure(crate::setup::Group::Test)?;
    cargo_run("dev", "rcdk-dev", None, args)
}

/// `cargo run` of `bin` of `package` with `command` and `args`; exits with its code when it fails.
fn cargo_run(package: &str, bin: &str, command: Option<&str>, args: &[String]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(crate::project_root())
        .args(["run", "--quiet", "--package", package, "--bin", bin, "--"])
        .args(command)
        .args(args)
        .status()
        .with_context(|| format!("could not start {cargo} run --package {package}"))?;
    if !status.success() {
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}

/// The venv group `command` needs: the local cloud's moto for `local` and any command on the `local` stage,
/// cargo-lambda and zig for packaging (or deploying) any other stage.
fn needs(command: &str, args: &[String]) -> Option<crate::setup::Group> {
    let local =
        args.windows(2).any(|w| w[0] == "--stage" && w[1] == "local") || args.iter().any(|a| a == "--stage=local");
    match command {
        "local" => Some(crate::setup::Group::Test),
        "deploy" | "package" | "bootstrap" | "destroy" if local => Some(crate::setup::Group::Test),
        "deploy" | "package" => Some(crate::setup::Group::Lambda),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::setup::Group;

    #[test]
    fn each_command_gets_the_tools_it_needs() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(super::needs("deploy", &args(&["--stage", "local"])), Some(Group::Test));
        assert_eq!(super::needs("destroy", &args(&["--stage=local", "--force"])), Some(Group::Test));
        assert_eq!(super::needs("local", &args(&["stop"])), Some(Group::Test));
        assert_eq!(super::needs("deploy", &args(&["--stage", "prod"])), Some(Group::Lambda));
        assert_eq!(super::needs("package", &args(&[])), Some(Group::Lambda));
        assert_eq!(super::needs("bootstrap", &args(&["--stage", "prod"])), None);
        assert_eq!(super::needs("diff", &args(&["--live"])), None);
    }

    /// **Invariant:** xtask does not depend on the AWS SDK (`cargo xtask synth` must not compile it).
    #[test]
    fn xtask_does_not_link_the_aws_sdk() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = std::process::Command::new(cargo)
            .current_dir(crate::project_root())
            .args(["tree", "--quiet", "--package", "xtask", "--edges", "normal,build", "--prefix", "none"])
            .output();
        let out = match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
            Ok(o) => panic!("cargo tree failed: {}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => panic!("could not run cargo tree: {e}"),
        };
        let sdk: Vec<&str> = out
            .lines()
            .filter(|l| {
                l.starts_with("aws-sdk")
                    || l.starts_with("aws-config")
                    || l.starts_with("deploy ")
                    || l.starts_with("dev ")
            })
            .collect();
        assert!(sdk.is_empty(), "xtask depends on {sdk:?}");
    }
}
