//! `cargo xtask codegen [--check] [--refresh]`: the typed CloudFormation layer (L1), generated.
//!
//! Two steps, so the build is hermetic and a spec refresh is a reviewed diff:
//! 1. For each type of `constructs/spec/types.txt` whose pinned spec is missing (all of them with `--refresh`),
//!    read the registry schema that cfn-lint ships (in the project venv; `setup` installs the pinned version),
//!    trim it ([`spec`]) and write `constructs/spec/<service>/<Type>.json`.
//! 2. Generate Rust from the pinned specs ([`rust`]): `constructs/src/<service>/generated.rs` per service and
//!    `constructs/src/registry.rs`, formatted with rustfmt.
//!
//! `--check` runs step 2 in memory and fails if a checked-in file differs (or a spec is missing): CI's guard
//! against hand edits and stale output.

mod rust;
mod spec;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::project_root;

#[derive(clap::Args, Debug)]
pub struct Codegen {
    /// Fail if generated files are not up to date instead of writing them.
    #[arg(long)]
    pub check: bool,
    /// Re-read every type's schema from the pinned cfn-lint before generating.
    #[arg(long)]
    pub refresh: bool,
}

impl Codegen {
    pub fn run(self) -> Result<()> {
        let root = project_root();
        let types = read_types(&root)?;
        let spec_dir = root.join("constructs/spec");
        let missing: Vec<&String> = types.iter().filter(|t| !spec_file(&spec_dir, t).exists()).collect();
        if self.check && !missing.is_empty() {
            bail!(
                "pinned spec missing for {}: run `cargo xtask codegen`",
                missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
        let to_pin: Vec<&String> = if self.refresh { types.iter().collect() } else { missing };
        if !to_pin.is_empty() {
            pin(&root, &spec_dir, &to_pin)?;
        }
        let mut files = generate(&root, &types)?;
        // The JSON Schema of stage files, from the Rust type that reads them (editors complete and check with it).
        let stages = root.join(constructs::platform::stage::STAGES_DIR);
        files.push((stages.join(constructs::platform::stage::SCHEMA_FILE), constructs::platform::stage::schema_text()));
        let mut stale = Vec::new();
        for (path, content) in &files {
            let current = std::fs::read_to_string(path).unwrap_or_default();
            if current != *content {
                if self.check {
                    stale.push(path.strip_prefix(&root).unwrap_or(path).display().to_string());
                } else {
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir)?;
                    }
                    std::fs::write(path, content)?;
                    eprintln!("codegen: wrote {}", path.strip_prefix(&root).unwrap_or(path).display());
                }
            }
        }
        if !stale.is_empty() {
            bail!("generated files are stale: {}\nrun `cargo xtask codegen` and commit the result", stale.join(", "));
        }
        if !self.check {
            scaffold_modules(&root, &files)?;
        }
        Ok(())
    }
}

fn read_types(root: &Path) -> Result<Vec<String>> {
    let list =
        std::fs::read_to_string(root.join("constructs/spec/types.txt")).context("reading constructs/spec/types.txt")?;
    let mut types: Vec<String> =
        list.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect();
    for t in &types {
        spec::split_type(t)?;
    }
    types.sort();
    types.dedup();
    Ok(types)
}

fn spec_file(spec_dir: &Path, type_name: &str) -> PathBuf {
    let (service, short) = spec::split_type(type_name).unwrap_or(("Unknown", "Unknown"));
    spec_dir.join(service.to_lowercase()).join(format!("{short}.json"))
}

/// Reads the registry schemas of `types` from cfn-lint's data and writes their trimmed specs.
fn pin(root: &Path, spec_dir: &Path, types: &[&String]) -> Result<()> {
    crate::setup::ensure(crate::setup::Group::Test)?;
    let python = crate::setup::venv_bin("python");
    let out = Command::new(&python)
        .args(["-c", "import cfnlint.data.schemas, os; print(os.path.dirname(cfnlint.data.schemas.__file__))"])
        .output()
        .context("running the venv's python")?;
    if !out.status.success() {
        bail!("could not locate cfn-lint's schemas: {}", String::from_utf8_lossy(&out.stderr));
    }
    let schemas = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let providers: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(schemas.join("providers/us-east-1.json"))?)
            .context("reading providers/us-east-1.json")?;
    for t in types {
        let hash = providers
            .get(t.as_str())
            .with_context(|| format!("{t} is not a resource type cfn-lint knows (us-east-1)"))?;
        let raw: Value =
            serde_json::from_str(&std::fs::read_to_string(schemas.join("resources").join(format!("{hash}.json")))?)?;
        let trimmed = spec::normalize(&raw).with_context(|| format!("trimming the schema of {t}"))?;
        let path = spec_file(spec_dir, t);
        std::fs::create_dir_all(path.parent().context("spec path has no parent")?)?;
        let mut text = serde_json::to_string_pretty(&trimmed)?;
        text.push('\n');
        std::fs::write(&path, text)?;
        eprintln!("codegen: pinned {}", path.strip_prefix(root).unwrap_or(&path).display());
    }
    let version = Command::new(crate::setup::venv_bin("cfn-lint")).arg("--version").output()?;
    std::fs::write(
        spec_dir.join("SOURCE"),
        format!(
            "Trimmed from the CloudFormation registry schemas shipped by {} (providers/us-east-1.json).\nRefresh with `cargo xtask codegen --refresh` after bumping the pin in xtask/src/setup.rs.\n",
            String::from_utf8_lossy(&version.stdout).trim()
        ),
    )?;
    Ok(())
}

/// Every generated file with its content.
fn generate(root: &Path, types: &[String]) -> Result<Vec<(PathBuf, String)>> {
    let spec_dir = root.join("constructs/spec");
    let mut by_service: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut registry = Vec::new();
    for t in types {
        let path = spec_file(&spec_dir, t);
        let spec: Value = serde_json::from_str(
            &std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("parsing {}", path.display()))?;
        let (service, _) = spec::split_type(t)?;
        by_service.entry(service.to_owned()).or_default().push(spec);
        registry.push((t.clone(), rust::schema_path(t)?));
    }
    let mut files = Vec::new();
    for (service, specs) in &by_service {
        let src = rust::service(service, specs)?;
        let path = root.join("constructs/src").join(rust::module_name(service)).join("generated.rs");
        files.push((path, rustfmt(root, &src)?));
    }
    files.push((root.join("constructs/src/registry.rs"), rustfmt(root, &rust::registry(&registry))?));
    Ok(files)
}

/// Creates `mod.rs` for a new service module (once; it is handwritten after that) and checks `lib.rs` declares
/// every service module.
fn scaffold_modules(root: &Path, files: &[(PathBuf, String)]) -> Result<()> {
    let lib = std::fs::read_to_string(root.join("constructs/src/lib.rs")).unwrap_or_default();
    let mut undeclared = Vec::new();
    for (path, _) in files {
        if path.file_name().is_some_and(|f| f == "generated.rs") {
            let dir = path.parent().context("generated file without a directory")?;
            let module = dir.file_name().and_then(|f| f.to_str()).context("bad module directory")?;
            let mod_rs = dir.join("mod.rs");
            if !mod_rs.exists() {
                std::fs::write(
                    &mod_rs,
                    format!(
                        "//! AWS {module}: the generated CloudFormation types.\n\nmod generated;\n\npub use generated::*;\n"
                    ),
                )?;
                eprintln!("codegen: created {}", mod_rs.strip_prefix(root).unwrap_or(&mod_rs).display());
            }
            if !lib.contains(&format!("pub mod {module};")) {
                undeclared.push(module.to_owned());
            }
        }
    }
    if !undeclared.is_empty() {
        bail!("constructs/src/lib.rs does not declare: {}; add `pub mod <name>;` for each", undeclared.join(", "));
    }
    Ok(())
}

/// Formats Rust source with the toolchain's rustfmt (the project's rustfmt.toml applies).
fn rustfmt(root: &Path, src: &str) -> Result<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running rustfmt (rustup component add rustfmt)")?;
    let mut stdin = child.stdin.take().context("rustfmt stdin")?;
    let input = src.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    writer.join().map_err(|_| anyhow::anyhow!("rustfmt writer panicked"))??;
    if !out.status.success() {
        bail!("rustfmt failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?)
}
