//! `cargo xtask setup`: the project-local Python venv (`.venv/`) with the pinned tools the gates and tests run,
//! and, for the test group, `redis-server` (the Debian package) for the cache tests and `cfn-guard` (crates.io)
//! for the guard gate.
//!
//! Why a venv and not the system Python: the gates must see the same cfn-lint, checkov and moto on every machine,
//! and nothing may be installed outside the checkout. The venv is rebuilt only when the pinned list changes.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Pinned Python tools. Bumping one is a reviewed change: cfn-lint also pins the schemas `codegen` reads.
pub const CFN_LINT: &str = "cfn-lint==1.58.0";
/// The serverless rules for cfn-lint (`cfn-lint -a cfn_lint_serverless.rules`); pure Python, needs cfn-lint >= 1.57.
pub const CFN_LINT_SERVERLESS: &str = "cfn-lint-serverless==0.3.6";
pub const CHECKOV: &str = "checkov==3.3.30";
pub const MOTO: &str = "moto[server]==5.2.5";
/// cfn-guard, from crates.io: the guard gate runs `guard/*.guard` with it. The version its `--version` prints.
pub const CFN_GUARD_VERSION: &str = "3.2.1";
/// Only needed to build Lambda zips (`bench`, `deploy`): not installed by the test setup.
pub const CARGO_LAMBDA: &str = "cargo-lambda==1.9.2";
pub const ZIG: &str = "ziglang==0.17.0";

/// The groups of tools a command may need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Group {
    /// cfn-lint (with the serverless rules), checkov and moto, `redis-server` and `cfn-guard`: what `cargo xtask
    /// test` needs.
    Test,
    /// cargo-lambda and zig: what building arm64 Lambda zips needs.
    Lambda,
}

impl Group {
    fn packages(self) -> &'static [&'static str] {
        match self {
            Group::Test => &[CFN_LINT, CFN_LINT_SERVERLESS, CHECKOV, MOTO],
            Group::Lambda => &[CARGO_LAMBDA, ZIG],
        }
    }
    fn stamp(self) -> &'static str {
        match self {
            Group::Test => ".stamp-test",
            Group::Lambda => ".stamp-lambda",
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct Setup {
    /// Tool groups to install (default: test).
    #[arg(long = "group", value_enum)]
    pub groups: Vec<Group>,
}

impl Setup {
    pub fn run(self) -> Result<()> {
        let groups = if self.groups.is_empty() { vec![Group::Test] } else { self.groups };
        for g in groups {
            ensure(g)?;
        }
        Ok(())
    }
}

pub fn venv_dir() -> PathBuf {
    crate::project_root().join(".venv")
}

/// Path of an executable inside the venv.
pub fn venv_bin(name: &str) -> PathBuf {
    venv_dir().join("bin").join(name)
}

/// Makes sure the venv exists and holds the pinned packages of `group`. Idempotent and fast when up to date.
pub fn ensure(group: Group) -> Result<()> {
    if group == Group::Test {
        ensure_redis_server()?;
        ensure_cfn_guard()?;
    }
    let venv = venv_dir();
    let stamp = venv.join(group.stamp());
    let wanted = group.packages().join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) && venv_bin("python").exists() {
        return Ok(());
    }
    if !venv_bin("python").exists() {
        let python = find_python()?;
        eprintln!("setup: creating {} with {}", venv.display(), python.display());
        run(Command::new(&python).args(["-m", "venv"]).arg(&venv))
            .context("python3 -m venv failed (on Debian: apt-get install python3-venv)")?;
    }
    eprintln!("setup: installing {}", group.packages().join(" "));
    run(Command::new(venv_bin("python"))
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args(group.packages()))
    .with_context(|| format!("pip install {} failed", group.packages().join(" ")))?;
    std::fs::write(&stamp, wanted)?;
    Ok(())
}

/// `redis-server` on the `PATH`, installed with apt-get when missing: the cache tests start a real one
/// (`testkit::Redis`). Not pinned: the client speaks RESP2, which every Redis since 2.0 serves, and ElastiCache
/// Serverless is Redis OSS 7 compatible like Debian 12's package.
fn ensure_redis_server() -> Result<()> {
    let present = || Command::new("redis-server").arg("--version").output().is_ok_and(|o| o.status.success());
    if present() {
        return Ok(());
    }
    if Command::new("apt-get").arg("--version").output().is_err() {
        bail!(
            "redis-server is not installed and apt-get is not available: install redis-server (7.x) with the \
             system's package manager, the cache tests start it"
        );
    }
    eprintln!("setup: installing redis-server with apt-get");
    run(Command::new("apt-get").arg("update")).context("apt-get update failed (installing redis-server)")?;
    run(Command::new("apt-get").args(["install", "-y", "--no-install-recommends", "redis-server"]))
        .context("apt-get install redis-server failed")?;
    // The package starts a system-wide server on 6379; the tests never use it (each starts its own on a free
    // port), so it is left as the package configures it.
    if !present() {
        bail!("redis-server still not found on the PATH after apt-get install redis-server");
    }
    Ok(())
}

/// `cfn-guard` [`CFN_GUARD_VERSION`] in cargo's bin directory, installed with `cargo install` when missing or of
/// another version. Cargo's own directory rather than the checkout: it outlives a fresh clone on the same machine,
/// so CI compiles it once per machine (measured: 7 min 25 s wall, 2 min 31 s CPU on this 2-core machine while
/// other builds ran), not once per run. No registry this project reaches ships a prebuilt binary of this version.
fn ensure_cfn_guard() -> Result<()> {
    let bin = cfn_guard_bin();
    let wanted = format!("cfn-guard {CFN_GUARD_VERSION}");
    let installed = || {
        Command::new(&bin).arg("--version").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == wanted)
    };
    if installed() {
        return Ok(());
    }
    eprintln!("setup: installing cfn-guard {CFN_GUARD_VERSION} with cargo install (a few minutes, once per machine)");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    run(Command::new(cargo).args(["install", "--locked", &format!("cfn-guard@{CFN_GUARD_VERSION}")]))
        .context("cargo install cfn-guard failed")?;
    if !installed() {
        bail!("{} does not print {wanted:?} after cargo install", bin.display());
    }
    Ok(())
}

/// Where `cargo install` puts `cfn-guard`: `$CARGO_HOME/bin`, by default `~/.cargo/bin`. The gate test looks in
/// the same place (`tests::cfn_guard_bin`).
pub fn cfn_guard_bin() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".cargo"));
    home.join("bin").join("cfn-guard")
}

fn find_python() -> Result<PathBuf> {
    for candidate in ["python3", "python3.12", "python3.11"] {
        if Command::new(candidate).arg("--version").output().is_ok_and(|o| o.status.success()) {
            return Ok(PathBuf::from(candidate));
        }
    }
    // A fresh Debian machine without Python: install it, as the README promises.
    eprintln!("setup: no python3 found, installing it with apt-get");
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get").args(["install", "-y", "python3", "python3-venv", "python3-pip"]))?;
    Ok(PathBuf::from("python3"))
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{:?} exited with {status}", cmd.get_program());
    }
    Ok(())
}
