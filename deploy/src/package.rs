//! Packaging: one zip per handler asset, named by the asset hash synth computed, so an unchanged crate is neither
//! rebuilt nor uploaded again.
//!
//! - AWS (`--target aws`): arm64 zips by `cargo lambda build --profile lambda-release --arm64 --output-format
//!   zip` (cargo-lambda and zig from the project venv: `cargo xtask setup --group lambda`), all packages in one
//!   build and one shared target directory, copied to `<out>/assets/<hash>.zip`.
//! - The local cloud (`--target host`): `cargo build` of the handler packages for the host (debug: a local run is
//!   about the edit loop, not size), each binary zipped as `bootstrap` (the `provided.al2023` layout) to
//!   `<out>/assets/host/<hash>.zip`: a separate directory so a host zip is never uploaded to AWS.
//!
//! Uploads go to `assets/<hash>.zip` (the templates' `S3Key`) in the assets bucket, skipped when `HeadObject`
//! finds the object.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use synth::{Asset, AssetKind};

use crate::aws::Clients;

/// Which binaries to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BuildTarget {
    /// arm64 Lambda zips (cargo-lambda + zig).
    Aws,
    /// Host binaries for the local cloud.
    Host,
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Where the zip of `asset` lives for `target`.
pub fn zip_path(out: &Path, asset: &Asset, target: BuildTarget) -> PathBuf {
    let dir = match target {
        BuildTarget::Aws => out.join("assets"),
        BuildTarget::Host => out.join("assets").join("host"),
    };
    dir.join(format!("{}.zip", asset.hash))
}

fn package_of(asset: &Asset) -> &str {
    match &asset.kind {
        AssetKind::RustLambda { package, .. } => package,
    }
}

/// What `package` did.
#[derive(Debug, Default, serde::Serialize)]
pub struct PackageReport {
    /// Packages built (their zips were missing).
    pub built: Vec<String>,
    /// Packages whose zip was already there.
    pub cached: Vec<String>,
}

/// Builds the zips of `assets` that are missing under `out`.
pub fn package(root: &Path, out: &Path, assets: &[Asset], target: BuildTarget) -> Result<PackageReport> {
    let mut report = PackageReport::default();
    let missing: Vec<&Asset> = assets.iter().filter(|a| !zip_path(out, a, target).exists()).collect();
    report.cached =
        assets.iter().filter(|a| zip_path(out, a, target).exists()).map(|a| package_of(a).to_owned()).collect();
    if missing.is_empty() {
        return Ok(report);
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root);
    match target {
        BuildTarget::Aws => {
            let venv_bin = root.join(".venv/bin");
            if !venv_bin.join("cargo-lambda").exists() {
                bail!("cargo-lambda not found in {}: run `cargo xtask setup --group lambda`", venv_bin.display());
            }
            let path = format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap_or_default());
            cmd.env("PATH", path).args([
                "lambda",
                "build",
                "--profile",
                "lambda-release",
                "--arm64",
                "--output-format",
                "zip",
            ]);
        }
        BuildTarget::Host => {
            cmd.args(["build", "--quiet"]);
        }
    }
    for a in &missing {
        cmd.args(["-p", package_of(a)]);
    }
    let names: Vec<&str> = missing.iter().map(|a| package_of(a)).collect();
    let bar = bar(missing.len() as u64, "building");
    bar.set_message(names.join(", "));
    // cargo's own progress goes to stderr under the bar; the bar says what is being built and for how long.
    let status = bar.suspend(|| cmd.status()).with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bar.abandon_with_message(format!("{} failed", names.join(", ")));
        bail!("{cmd:?} failed ({status})");
    }
    for a in missing {
        bar.set_message(format!("zipping {}", package_of(a)));
        let dest = zip_path(out, a, target);
        let dir = dest.parent().unwrap_or(out);
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = dest.with_extension("zip.tmp");
        match target {
            BuildTarget::Aws => {
                let built = target_dir.join("lambda").join(package_of(a)).join("bootstrap.zip");
                std::fs::copy(&built, &tmp).with_context(|| format!("copying {}", built.display()))?;
            }
            BuildTarget::Host => {
                let exe = target_dir.join("debug").join(package_of(a));
                let bytes = std::fs::read(&exe).with_context(|| format!("reading {}", exe.display()))?;
                write_bootstrap_zip(&tmp, &bytes)?;
            }
        }
        std::fs::rename(&tmp, &dest).with_context(|| format!("writing {}", dest.display()))?;
        report.built.push(package_of(a).to_owned());
        bar.inc(1);
    }
    bar.finish_with_message(format!("built {}", names.join(", ")));
    Ok(report)
}

/// A bar of `len` steps on stderr (hidden when stderr is not a terminal): `<verb> [elapsed] pos/len message`.
fn bar(len: u64, verb: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template(&format!("{{spinner}} {verb} [{{elapsed}}] {{pos}}/{{len}} {{msg}}"))
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A zip holding one executable `bootstrap` (mode 755), what a `provided.*` runtime runs.
pub fn write_bootstrap_zip(path: &Path, exe: &[u8]) -> Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", opts).context("zip: bootstrap")?;
    zip.write_all(exe).context("zip: writing bootstrap")?;
    zip.finish().context("zip: finishing")?;
    Ok(())
}

/// Uploads the zips of `assets` missing from the assets bucket; returns how many were uploaded.
pub async fn upload(
    clients: &Clients,
    region: &str,
    out: &Path,
    assets: &[&Asset],
    target: BuildTarget,
) -> Result<usize> {
    let bucket = clients.assets_bucket(region);
    let mut uploaded = 0;
    let bar = bar(assets.len() as u64, "uploading");
    for a in assets {
        let key = a.s3_key();
        bar.set_message(format!("{} -> s3://{bucket}/{key}", package_of(a)));
        if clients.s3.head_object().bucket(&bucket).key(&key).send().await.is_ok() {
            bar.inc(1);
            continue;
        }
        let path = zip_path(out, a, target);
        let body = aws_sdk_s3::primitives::ByteStream::from_path(&path)
            .await
            .with_context(|| format!("reading {} (run `package` first)", path.display()))?;
        clients.s3.put_object().bucket(&bucket).key(&key).body(body).send().await.map_err(|e| {
            anyhow::anyhow!(
                "uploading {} to s3://{bucket}/{key}: {}",
                path.display(),
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })?;
        uploaded += 1;
        bar.inc(1);
    }
    bar.finish_with_message(format!("{uploaded} uploaded, {} already in s3://{bucket}", assets.len() - uploaded));
    Ok(uploaded)
}
