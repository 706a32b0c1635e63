//! Assets: a handler crate identified by a hash of its sources, its local path dependencies and `Cargo.lock`.
//!
//! This is the only IO of the template crates, and it only reads: the crate is never compiled during synth.
//! The hash covers every file of the crate directory and of each local crate it depends on by path (followed
//! through `workspace = true`), sorted by path, plus the workspace `Cargo.lock`, so any change that can change the
//! built binary changes the asset's S3 key, and nothing else does.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Hashes several handler crates, reading each manifest, each shared crate and `Cargo.lock` once.
pub struct AssetHasher {
    root: PathBuf,
    workspace_deps: Option<toml::Table>,
    /// canonical crate directory → what its `Cargo.toml` says
    manifests: HashMap<PathBuf, Manifest>,
    /// canonical crate directory → digest of its files
    crates: HashMap<PathBuf, [u8; 32]>,
    lock: Option<[u8; 32]>,
}

/// The parts of a crate's `Cargo.toml` the hash needs.
struct Manifest {
    package: Option<String>,
    /// The canonical directories of the local crates it depends on by path (normal and build dependencies).
    path_deps: Vec<PathBuf>,
}

impl AssetHasher {
    pub fn new(workspace_root: &Path) -> Self {
        AssetHasher {
            root: workspace_root.to_path_buf(),
            workspace_deps: None,
            manifests: HashMap::new(),
            crates: HashMap::new(),
            lock: None,
        }
    }

    /// The asset of the handler crate at `crate_dir` (relative to the workspace root).
    pub fn rust_lambda(&mut self, crate_dir: &str) -> Result<Asset, AssetError> {
        let mut assets = self.rust_lambdas(&[crate_dir])?;
        // `rust_lambdas` returns one asset per directory it is given.
        assets.pop().ok_or_else(|| io_err(Path::new(crate_dir), io::ErrorKind::NotFound.into()))
    }

    /// The assets of the handler crates at `crate_dirs` (relative to the workspace root), in that order. The files
    /// of every crate they need are hashed first, once each (on `RCDK_SYNTH_THREADS` threads: the crates' digests
    /// are independent of each other).
    pub fn rust_lambdas(&mut self, crate_dirs: &[&str]) -> Result<Vec<Asset>, AssetError> {
        let mut handlers = Vec::with_capacity(crate_dirs.len());
        for crate_dir in crate_dirs {
            let dir = self.canonical(&self.root.join(crate_dir))?;
            let package = self.manifest(&dir)?.package.clone().ok_or_else(|| AssetError::Manifest {
                path: (*crate_dir).to_owned(),
                message: "no [package] name".to_owned(),
            })?;
            let mut crates = BTreeSet::new();
            self.collect_crates(dir, &mut crates)?;
            handlers.push((*crate_dir, package, crates));
        }
        let todo: BTreeSet<&PathBuf> =
            handlers.iter().flat_map(|(_, _, crates)| crates).filter(|c| !self.crates.contains_key(*c)).collect();
        let (digests, lock) = hash_all(&self.root, &todo.into_iter().collect::<Vec<_>>(), self.lock.is_none())?;
        self.crates.extend(digests);
        let lock = self.lock.or(lock).ok_or_else(|| io_err(&self.root, io::Error::other("Cargo.lock not hashed")))?;
        self.lock = Some(lock);
        let mut assets = Vec::with_capacity(handlers.len());
        for (crate_dir, package, crates) in handlers {
            let mut hasher = Sha256::new();
            for c in &crates {
                let digest = self.crates.get(c).copied().ok_or_else(|| io_err(c, io::ErrorKind::NotFound.into()))?;
                hasher.update(digest);
            }
            hasher.update(lock);
            let hash = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>();
            assets.push(Asset {
                id: package.clone(),
                kind: AssetKind::RustLambda { package, path: crate_dir.to_owned() },
                hash,
            });
        }
        Ok(assets)
    }

    fn canonical(&self, dir: &Path) -> Result<PathBuf, AssetError> {
        dir.canonicalize().map_err(|e| io_err(dir, e))
    }

    /// The manifest of the crate at canonical `dir`, parsed once.
    fn manifest(&mut self, dir: &Path) -> Result<&Manifest, AssetError> {
        if !self.manifests.contains_key(dir) {
            let parsed = self.parse_manifest(dir)?;
            self.manifests.insert(dir.to_path_buf(), parsed);
        }
        self.manifests.get(dir).ok_or_else(|| io_err(dir, io::ErrorKind::NotFound.into()))
    }

    fn parse_manifest(&mut self, dir: &Path) -> Result<Manifest, AssetError> {
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
        let package = manifest.get("package").and_then(|p| p.get("name")).and_then(toml::Value::as_str);
        let mut path_deps = Vec::new();
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
                    path_deps.push(self.canonical(&p)?);
                }
            }
        }
        Ok(Manifest { package: package.map(str::to_owned), path_deps })
    }

    /// The crate at canonical `dir` and every local crate it depends on by path, transitively.
    fn collect_crates(&mut self, dir: PathBuf, out: &mut BTreeSet<PathBuf>) -> Result<(), AssetError> {
        if out.contains(&dir) {
            return Ok(());
        }
        let deps = self.manifest(&dir)?.path_deps.clone();
        out.insert(dir);
        for d in deps {
            self.collect_crates(d, out)?;
        }
        Ok(())
    }
}

/// What [`hash_all`] computed: each crate directory's digest, and `Cargo.lock`'s when asked.
type Hashed = (Vec<(PathBuf, [u8; 32])>, Option<[u8; 32]>);

/// The digests of the crates at `dirs` (and of `Cargo.lock` when `lock`), computed on `RCDK_SYNTH_THREADS` threads
/// (default 1), each taking the next job from a shared counter: the crates differ in size (the largest is a
/// quarter of the bytes), so a fixed split would leave one thread idle.
fn hash_all(root: &Path, dirs: &[&PathBuf], lock: bool) -> Result<Hashed, AssetError> {
    let jobs = dirs.len() + usize::from(lock);
    // One thread unless `RCDK_SYNTH_THREADS` asks for more, as synth's own split: measured on two cores busy with
    // other builds, the second thread cost ~0.4 ms more CPU than it saved and won no wall time (BENCHMARKS.md).
    let threads = std::env::var("RCDK_SYNTH_THREADS").ok().and_then(|v| v.parse::<usize>().ok()).unwrap_or(1);
    let threads = threads.min(jobs).max(1);
    let next = AtomicUsize::new(0);
    let work = || {
        // One read buffer per thread, reused for every file.
        let mut buf = Vec::new();
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= jobs {
                return done;
            }
            let digest = match dirs.get(i) {
                Some(dir) => crate_digest(root, dir, &mut buf),
                None => lock_digest(root, &mut buf),
            };
            done.push((i, digest));
        }
    };
    let mut results = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for t in others {
            // A worker that panicked reported nothing: caught below as a missing digest, never a wrong one.
            all.extend(t.join().unwrap_or_default());
        }
        all
    });
    if results.len() != jobs {
        return Err(io_err(root, io::Error::other("a hashing thread stopped before finishing")));
    }
    results.sort_by_key(|(i, _)| *i);
    let mut crates = Vec::with_capacity(dirs.len());
    let mut lock_digest = None;
    for (i, digest) in results {
        match dirs.get(i) {
            Some(dir) => crates.push(((*dir).clone(), digest?)),
            None => lock_digest = Some(digest?),
        }
    }
    Ok((crates, lock_digest))
}

fn lock_digest(root: &Path, buf: &mut Vec<u8>) -> Result<[u8; 32], AssetError> {
    let lock = root.join("Cargo.lock");
    read_into(&lock, buf)?;
    Ok(Sha256::digest(&buf[..]).into())
}

/// Digest of every file of one crate directory, by path relative to the workspace root.
fn crate_digest(root: &Path, dir: &Path, buf: &mut Vec<u8>) -> Result<[u8; 32], AssetError> {
    let mut files = Vec::new();
    list_files(dir, dir, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    for rel in files {
        let path = dir.join(&rel);
        read_into(&path, buf)?;
        let shown = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        hasher.update(shown.as_bytes());
        hasher.update([0]);
        hasher.update((buf.len() as u64).to_le_bytes());
        hasher.update(&buf[..]);
    }
    Ok(hasher.finalize().into())
}

/// Reads the file at `path` into `buf` (cleared first), reusing its allocation.
fn read_into(path: &Path, buf: &mut Vec<u8>) -> Result<(), AssetError> {
    buf.clear();
    let mut file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let size = file.metadata().map(|m| m.len() as usize).unwrap_or(0);
    buf.reserve(size);
    file.read_to_end(buf).map_err(|e| io_err(path, e))?;
    Ok(())
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A workspace of two crates in a fresh directory: `handlers/h` depends on `shared` through
    /// `workspace = true`, and `Cargo.lock`.
    fn workspace(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("rcdk-assets-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("Cargo.toml", "[workspace.dependencies]\nshared = { path = \"shared\" }\n");
        write("Cargo.lock", "version = 4\n");
        write("handlers/h/Cargo.toml", "[package]\nname = \"h\"\n[dependencies]\nshared.workspace = true\n");
        write("handlers/h/src/main.rs", "fn main() {}\n");
        write("handlers/h/target/debug/h", "build output");
        write("shared/Cargo.toml", "[package]\nname = \"shared\"\n");
        write("shared/src/lib.rs", "pub fn f() {}\n");
        root.canonicalize().unwrap()
    }

    /// The hash as the module comment defines it, written out independently of the code under test: per crate
    /// (sorted by path) the SHA-256 of each file's path, a 0 byte, its length and its bytes; then `Cargo.lock`'s.
    fn reference(root: &Path, crates: &[&str], files: &[&[&str]]) -> String {
        let mut outer = Sha256::new();
        for (dir, files) in crates.iter().zip(files) {
            let mut inner = Sha256::new();
            for f in *files {
                let rel = format!("{dir}/{f}");
                let bytes = std::fs::read(root.join(&rel)).unwrap();
                inner.update(rel.as_bytes());
                inner.update([0]);
                inner.update((bytes.len() as u64).to_le_bytes());
                inner.update(&bytes);
            }
            outer.update(inner.finalize());
        }
        outer.update(Sha256::digest(std::fs::read(root.join("Cargo.lock")).unwrap()));
        outer.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_hash_covers_the_crate_its_path_dependencies_and_the_lock_file() {
        let root = workspace("scheme");
        let asset = rust_lambda(&root, "handlers/h").unwrap();
        assert_eq!(asset.id, "h");
        let expected = reference(
            &root,
            &["handlers/h", "shared"],
            &[&["Cargo.toml", "src/main.rs"], &["Cargo.toml", "src/lib.rs"]],
        );
        assert_eq!(asset.hash, expected);

        // Build output and dot files are not inputs of the binary.
        std::fs::write(root.join("handlers/h/target/debug/h"), "other output").unwrap();
        std::fs::write(root.join("handlers/h/.editor"), "x").unwrap();
        assert_eq!(rust_lambda(&root, "handlers/h").unwrap().hash, expected);

        // A change anywhere else is.
        let mut seen = vec![expected];
        for (file, text) in
            [("shared/src/lib.rs", "pub fn g() {}\n"), ("Cargo.lock", "version = 4\n\n"), ("shared/src/new.rs", "")]
        {
            std::fs::write(root.join(file), text).unwrap();
            let hash = rust_lambda(&root, "handlers/h").unwrap().hash;
            assert!(!seen.contains(&hash), "{file} changed, the hash did not");
            seen.push(hash);
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn hashing_several_crates_at_once_gives_each_one_its_own_hash() {
        let root = workspace("several");
        std::fs::create_dir_all(root.join("handlers/g/src")).unwrap();
        std::fs::write(root.join("handlers/g/Cargo.toml"), "[package]\nname = \"g\"\n").unwrap();
        std::fs::write(root.join("handlers/g/src/main.rs"), "fn main() {}\n").unwrap();
        let together = AssetHasher::new(&root).rust_lambdas(&["handlers/h", "handlers/g", "handlers/h"]).unwrap();
        let alone: Vec<Asset> =
            ["handlers/h", "handlers/g", "handlers/h"].iter().map(|d| rust_lambda(&root, d).unwrap()).collect();
        assert_eq!(together, alone);
        assert_ne!(together[0].hash, together[1].hash);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_missing_crate_is_an_error_naming_it() {
        let root = workspace("missing");
        let e = rust_lambda(&root, "handlers/nope").unwrap_err().to_string();
        assert!(e.starts_with(&format!("asset {}", root.join("handlers/nope").display())), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
