//! The deploy commands (`package`, `bootstrap`, `deploy`, `destroy`, `local`, `diff --live`), forwarded to
//! `rcdk-deploy` (the `deploy` crate) with `cargo run`: that crate links the AWS SDK, which xtask must not, so
//! `cargo xtask synth` never compiles it. The exit code is propagated.

use std::process::Command;

use anyhow::{Context, Result};

/// Arguments passed through unchanged (`cargo xtask deploy --help` shows rcdk-deploy's help).
#[derive(clap::Args, Debug)]
pub struct Forward {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Runs `rcdk-deploy <command> <args>` and exits with its code when it fails.
pub fn run(command: &str, args: &[String]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(crate::project_root())
        .args(["run", "--quiet", "--package", "deploy", "--bin", "rcdk-deploy", "--", command])
        .args(args)
        .status()
        .with_context(|| format!("could not start {cargo} run --package deploy"))?;
    if !status.success() {
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
            .filter(|l| l.starts_with("aws-sdk") || l.starts_with("aws-config") || l.starts_with("deploy "))
            .collect();
        assert!(sdk.is_empty(), "xtask depends on {sdk:?}");
    }
}
