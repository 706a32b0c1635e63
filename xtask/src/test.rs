//! `cargo xtask test`: everything CI checks, in order, stopping at the first failing step.
//!
//! 1. the project venv with the pinned cfn-lint (and its serverless rules), checkov and moto, redis-server and
//!    cfn-guard (`setup`);
//! 2. generated code is fresh (`codegen --check`);
//! 3. formatting (`cargo fmt --check`) and lints (`cargo clippy --all-targets -D warnings`);
//! 4. every test of the workspace, with snapshots read-only (`INSTA_UPDATE=no`): synth unit tests, snapshots,
//!    the cfn-lint, checkov and cfn-guard gates, the handlers against a local moto server;
//! 5. no pending or unreferenced snapshot files.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::project_root;

#[derive(clap::Args, Debug)]
pub struct Test {
    /// Extra arguments passed to `cargo test` (e.g. a test name filter).
    #[arg(trailing_var_arg = true)]
    pub cargo_test_args: Vec<String>,
}

impl Test {
    pub fn run(self) -> Result<()> {
        let root = project_root();
        let started = Instant::now();
        step("setup: project venv (cfn-lint, checkov, moto), redis-server, cfn-guard", || {
            crate::setup::ensure(crate::setup::Group::Test)
        })?;
        step("rustup components (rustfmt, clippy)", ensure_components)?;
        step("codegen --check", || crate::codegen::Codegen { check: true, refresh: false }.run())?;
        step("cargo fmt --check", || cargo(&root, &["fmt", "--all", "--", "--check"], &[]))?;
        step("cargo clippy", || {
            cargo(&root, &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"], &[])
        })?;
        let mut args: Vec<&str> = vec!["test", "--workspace", "--no-fail-fast"];
        if !self.cargo_test_args.is_empty() {
            args.push("--");
            args.extend(self.cargo_test_args.iter().map(String::as_str));
        }
        // insta appends every snapshot file a test reads to this file: what is not in it is unreferenced.
        let refs = root.join("target/insta-references.txt");
        let _ = std::fs::remove_file(&refs);
        let refs_env = refs.to_string_lossy().into_owned();
        step("cargo test", || {
            cargo(
                &root,
                &args,
                &[("INSTA_UPDATE", "no"), ("INSTA_FORCE_PASS", "0"), ("INSTA_SNAPSHOT_REFERENCES_FILE", &refs_env)],
            )
        })?;
        let filtered = !self.cargo_test_args.is_empty();
        step("snapshot files", || snapshots(&root, (!filtered).then_some(refs.as_path())))?;
        eprintln!("xtask test: all steps passed in {:.0} s", started.elapsed().as_secs_f64());
        Ok(())
    }
}

fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    let t = Instant::now();
    eprintln!("==> {name}");
    f().with_context(|| format!("step failed: {name}"))?;
    eprintln!("    ok ({:.1} s)", t.elapsed().as_secs_f64());
    Ok(())
}

fn cargo(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.args(args).current_dir(root);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd.status().with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn ensure_components() -> Result<()> {
    let have = |tool: &str| Command::new("cargo").args([tool, "--version"]).output().is_ok_and(|o| o.status.success());
    for (tool, component) in [("fmt", "rustfmt"), ("clippy", "clippy")] {
        if !have(tool) {
            let ok = Command::new("rustup").args(["component", "add", component]).status().is_ok_and(|s| s.success());
            if !ok || !have(tool) {
                bail!("cargo {tool} is not available and `rustup component add {component}` failed");
            }
        }
    }
    Ok(())
}

/// Fails on `.snap.new` / `.pending-snap` leftovers and, given the references insta recorded during a full test
/// run, on snapshot files no test read.
fn snapshots(root: &Path, references: Option<&Path>) -> Result<()> {
    let referenced: std::collections::BTreeSet<std::path::PathBuf> = match references {
        Some(r) => std::fs::read_to_string(r)
            .unwrap_or_default()
            .lines()
            .map(|l| std::fs::canonicalize(l).unwrap_or_else(|_| std::path::PathBuf::from(l)))
            .collect(),
        None => Default::default(),
    };
    let mut problems = Vec::new();
    let mut dirs = Vec::new();
    find_snapshot_dirs(root, &mut dirs)?;
    for dir in dirs {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
                problems.push(format!("pending snapshot {} (review with `cargo insta review`)", path.display()));
            } else if name.ends_with(".snap") && references.is_some() {
                let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                if !referenced.contains(&canonical) {
                    problems.push(format!("snapshot {} is not read by any test: delete it", path.display()));
                }
            }
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(())
}

fn find_snapshot_dirs(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" || name == "rcdk.out" {
            continue;
        }
        if entry.file_type()?.is_dir() {
            if name == "snapshots" {
                out.push(entry.path());
            } else {
                find_snapshot_dirs(&entry.path(), out)?;
            }
        }
    }
    Ok(())
}
