//! Assets: a handler crate identified by a hash of its sources, its local path dependencies and `Cargo.lock`.
//!
//! This is the only IO of the template crates, and it only reads: the crate is never compiled during synth.
//! The hash covers every file of the crate directory and of each local crate it depends on by path (followed
//! through `workspace = true`), sorted by path, plus the workspace `Cargo.lock`, so any change that can change the
//! built binary changes the asset's S3 key, and nothing else does.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use synth::{Asset, AssetKind};

/// Errors reading a handler crate.
#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    /// The crate directory or one of its files could not be read.
    #[error("asset {path}: {source}")]
    Io { path: String, source: io::Error },
    /// A `Cargo.toml` could not be parsed.
    #[error("asset {path}: invalid Cargo.toml: {message}")]
    Manifest { path: String, message: String },
}

/// The asset of the Lambda handler crate at `crate_dir` (relative to `workspace_root`).
pub fn rust_lambda(workspace_root: &Path, crate_dir: &str) -> Result<Asset, AssetError> {
    AssetHasher::new(workspace_root).rust_lambda(crate_dir)
}

/// Hashes several handler crates, reading each shared crate (and `Cargo.lock`) once.
pub struct AssetHasher {
    root: PathBuf,
    workspace_deps: Option<toml::Table>,
    /// crate directory → digest of its files
    crates: HashMap<PathBuf, [u8; 32]>,
    lock: Option<[u8; 32]>,
}

impl AssetHasher {
    pub fn new(workspace_root: &Path) -> Self {
        AssetHasher { root: workspace_root.to_path_buf(), workspace_deps: None, crates: HashMap::new(), lock: None }
    }

    /// The asset of the handler crate at `crate_dir` (relative to the workspace root).
    pub fn rust_lambda(&mut self, crate_dir: &str) -> Result<Asset, AssetError> {
        let dir = self.root.join(crate_dir);
        let manifest = read_manifest(&dir.join("Cargo.toml"))?;
        let package = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
            .ok_or_else(|| AssetError::Manifest {
                path: crate_dir.to_owned(),
                message: "no [package] name".to_owned(),
            })?
            .to_owned();
        let mut crates = BTreeSet::new();
        self.collect_crates(&dir, &mut crates)?;
        let mut hasher = Sha256::new();
        for c in &crates {
            let digest = self.crate_digest(c)?;
            hasher.update(digest);
        }
        hasher.update(self.lock_digest()?);
        let hash = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>();
        Ok(Asset { id: package.clone(), kind: AssetKind::RustLambda { package, path: crate_dir.to_owned() }, hash })
    }

    fn lock_digest(&mut self) -> Result<[u8; 32], AssetError> {
        if let Some(d) = self.lock {
            return Ok(d);
        }
        let lock = self.root.join("Cargo.lock");
        let bytes = std::fs::read(&lock).map_err(|e| io_err(&lock, e))?;
        let d: [u8; 32] = Sha256::digest(&bytes).into();
        self.lock = Some(d);
        Ok(d)
    }

    /// Digest of every file of one crate directory, by path relative to the workspace root.
    fn crate_digest(&mut self, dir: &Path) -> Result<[u8; 32], AssetError> {
        if let Some(d) = self.crates.get(dir) {
            return Ok(*d);
        }
        let mut files = Vec::new();
        list_files(dir, dir, &mut files)?;
        files.sort();
        let mut hasher = Sha256::new();
        for rel in files {
            let path = dir.join(&rel);
            let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
            let shown = path.strip_prefix(&self.root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            hasher.update(shown.as_bytes());
            hasher.update([0]);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
        let d: [u8; 32] = hasher.finalize().into();
        self.crates.insert(dir.to_path_buf(), d);
        Ok(d)
    }

    /// The crate at `dir` and every local crate it depends on by path, transitively.
    fn collect_crates(&mut self, dir: &Path, out: &mut BTreeSet<PathBuf>) -> Result<(), AssetError> {
        let dir = dir.canonicalize().map_err(|e| io_err(dir, e))?;
        if !out.insert(dir.clone()) {
            return Ok(());
        }
        let manifest = read_manifest(&dir.join("Cargo.toml"))?;
        if self.workspace_deps.is_none() {
            let ws = read_manifest(&self.root.join("Cargo.toml"))?;
            let deps = ws
                .get("workspace")
                .and_then(|w| w.get("dependencies"))
                .and_then(toml::Value::as_table)
                .cloned()
                .unwrap_or_default();
            self.workspace_deps = Some(deps);
        }
        for section in ["dependencies", "build-dependencies"] {
            let Some(deps) = manifest.get(section).and_then(toml::Value::as_table) else { continue };
            for (name, spec) in deps {
                let path = match spec.get("path").and_then(toml::Value::as_str) {
                    Some(p) => Some(dir.join(p)),
                    None if spec.get("workspace").and_then(toml::Value::as_bool) == Some(true) => self
                        .workspace_deps
                        .as_ref()
                        .and_then(|w| w.get(name))
                        .and_then(|d| d.get("path"))
                        .and_then(toml::Value::as_str)
                        .map(|p| self.root.join(p)),
                    None => None,
                };
                if let Some(p) = path {
                    self.collect_crates(&p, out)?;
                }
            }
        }
        Ok(())
    }
}

fn io_err(path: &Path, e: io::Error) -> AssetError {
    AssetError::Io { path: path.display().to_string(), source: e }
}

fn read_manifest(path: &Path) -> Result<toml::Table, AssetError> {
    let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    text.parse::<toml::Table>()
        .map_err(|e| AssetError::Manifest { path: path.display().to_string(), message: e.to_string() })
}

/// Every file below `dir` (relative paths), skipping build output and editor/VCS litter.
fn list_files(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), AssetError> {
    for entry in std::fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == "target" || name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let ft = entry.file_type().map_err(|e| io_err(&path, e))?;
        if ft.is_dir() {
            list_files(base, &path, out)?;
        } else if ft.is_file() {
            out.push(path.strip_prefix(base).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}
