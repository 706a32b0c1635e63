//! The handlers built for the host (`cargo build -p <crate> --bins`, debug by default) and each
//! `AWS::Lambda::Function` of the templates tied to its crate's binary through its code asset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::assembly::{Assembly, Resource};
use anyhow::{Context, Result, bail};

/// How the handlers are built.
#[derive(Debug, Clone)]
pub struct Build {
    pub root: PathBuf,
    pub release: bool,
}

impl Build {
    /// `target/debug` or `target/release` (`CARGO_TARGET_DIR` when set).
    pub fn dir(&self) -> PathBuf {
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| self.root.join("target"));
        target.join(if self.release { "release" } else { "debug" })
    }

    /// The binary of `package` (each handler crate has one binary named after it).
    pub fn binary(&self, package: &str) -> PathBuf {
        self.dir().join(package)
    }

    /// `cargo build -p <each package> --bins` in one cargo run (incremental; a no-op when fresh).
    pub fn build(&self, packages: &[String]) -> Result<()> {
        if packages.is_empty() {
            return Ok(());
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&self.root).args(["build", "--quiet", "--bins"]);
        if self.release {
            cmd.arg("--release");
        }
        for p in packages {
            cmd.args(["-p", p]);
        }
        let status = cmd.status().with_context(|| format!("could not start {cargo} build"))?;
        if !status.success() {
            bail!("cargo build of {} failed ({status})", packages.join(", "));
        }
        Ok(())
    }
}

/// Function logical id to the package of its code: the function's `Code.S3Key` (`assets/<hash>.zip`) names the
/// asset synth hashed, whose package is the handler crate.
pub fn packages_of_functions(assembly: &Assembly, assets: &[synth::Asset]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, resource) in assembly.resources_of("AWS::Lambda::Function") {
        if let Some(package) = package_of(resource, assets) {
            out.insert(resource.logical_id.clone(), package);
        }
    }
    out
}

fn package_of(resource: &Resource, assets: &[synth::Asset]) -> Option<String> {
    let key = resource.prop("Code")?.get("S3Key")?.as_str()?;
    let hash = key.strip_prefix("assets/")?.strip_suffix(".zip")?;
    assets.iter().find(|a| a.hash == hash).map(|a| match &a.kind {
        synth::AssetKind::RustLambda { package, .. } => package.clone(),
    })
}

/// The package whose sources hold `path` (`handlers/api/src/lib.rs` is `api`), among `assets`.
pub fn package_of_path(root: &Path, path: &Path, assets: &[synth::Asset]) -> Option<String> {
    let relative = path.strip_prefix(root).unwrap_or(path);
    assets.iter().find_map(|a| match &a.kind {
        synth::AssetKind::RustLambda { package, path: dir } => relative.starts_with(dir).then(|| package.clone()),
    })
}

/// The packages a shared crate's change reaches: every asset whose package depends on it is rebuilt. Without
/// cargo's graph at hand, a change outside any asset's directory (powertools, types) rebuilds them all.
pub fn all_packages(assets: &[synth::Asset]) -> Vec<String> {
    let mut p: Vec<String> = assets
        .iter()
        .map(|a| match &a.kind {
            synth::AssetKind::RustLambda { package, .. } => package.clone(),
        })
        .collect();
    p.sort();
    p.dedup();
    p
}
