//! Support for the cross-crate tests: where the workspace is, the scanners (cfn-lint, checkov, cfn-guard) run on
//! synthesized templates, and snapshot redaction of asset hashes.
//!
//! The Python tools come from the project-local venv that `cargo xtask setup` creates, cfn-guard from cargo's bin
//! directory where setup installs it. When one is missing, the helpers fail with that instruction: a gate that
//! silently skips is no gate.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The README's Rust code blocks, run as doctests so the README cannot rot.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

use std::process::Command;

use synth::Assembly;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

/// An executable of the project venv, or an error saying how to create it.
pub fn venv_bin(name: &str) -> Result<PathBuf, String> {
    let p = workspace_root().join(".venv/bin").join(name);
    if p.exists() { Ok(p) } else { Err(format!("{} is missing: run `cargo xtask setup` first", p.display())) }
}

/// A fresh directory under the target dir (removed first if it exists).
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("target/test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// Writes every template of `assembly` and its manifest into `dir`; returns the template paths.
pub fn write_assembly(assembly: &Assembly, dir: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for s in &assembly.stacks {
        let p = dir.join(&s.template_file);
        std::fs::write(&p, &s.template).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
        paths.push(p);
    }
    let manifest = dir.join("manifest.json");
    std::fs::write(&manifest, assembly.manifest_json())
        .unwrap_or_else(|e| panic!("writing {}: {e}", manifest.display()));
    paths
}

/// Runs cfn-lint on `templates`; returns its findings (errors, warnings and informational), one line each.
/// An empty list means clean.
pub fn cfn_lint(templates: &[PathBuf]) -> Result<Vec<String>, String> {
    cfn_lint_with(templates, &[])
}

/// [`cfn_lint`] with the serverless rules of `cfn-lint-serverless` added (`-a cfn_lint_serverless.rules`): the
/// platform's gate. A resource skips one of them only through `Metadata.cfn-lint.config.ignore_checks`.
pub fn cfn_lint_serverless(templates: &[PathBuf]) -> Result<Vec<String>, String> {
    cfn_lint_with(templates, &["-a", "cfn_lint_serverless.rules"])
}

fn cfn_lint_with(templates: &[PathBuf], extra: &[&str]) -> Result<Vec<String>, String> {
    let bin = venv_bin("cfn-lint")?;
    let out = Command::new(&bin)
        .args(extra)
        .arg("--format")
        .arg("parseable")
        .arg("--")
        .args(templates)
        .output()
        .map_err(|e| format!("running {}: {e}", bin.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let findings: Vec<String> = stdout.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect();
    // cfn-lint exits with a bit set per finding level (2 error, 4 warning, 8 informational) and 1 on a crash.
    let code = out.status.code().unwrap_or(1);
    if code & 1 == 1 {
        return Err(format!("cfn-lint failed to run: {}", String::from_utf8_lossy(&out.stderr)));
    }
    if code != 0 && findings.is_empty() {
        return Err(format!("cfn-lint exited {code} without findings: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(findings)
}

/// One check result of checkov.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CheckovResult {
    pub check_id: String,
    /// `AWS::Type.LogicalId`
    pub resource: String,
    pub file: String,
    /// The suppression comment, for skipped checks.
    pub comment: Option<String>,
}

/// What checkov found in a directory of templates.
#[derive(Debug, Default)]
pub struct CheckovReport {
    pub passed: usize,
    pub failed: Vec<CheckovResult>,
    pub skipped: Vec<CheckovResult>,
    pub parsing_errors: usize,
}

/// Runs `checkov --framework cloudformation` (offline) on every template in `dir`.
pub fn checkov(dir: &Path) -> Result<CheckovReport, String> {
    let bin = venv_bin("checkov")?;
    let out = Command::new(&bin)
        .args(["--framework", "cloudformation", "--output", "json", "--skip-download", "--compact", "-d"])
        .arg(dir)
        .env("BC_SKIP_MAPPING", "TRUE")
        .env("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")
        .output()
        .map_err(|e| format!("running {}: {e}", bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("checkov printed no JSON ({e}): {}\n{}", text, String::from_utf8_lossy(&out.stderr)))?;
    let runs = match v {
        serde_json::Value::Array(a) => a,
        other => vec![other],
    };
    let mut report = CheckovReport::default();
    let result = |c: &serde_json::Value| CheckovResult {
        check_id: c["check_id"].as_str().unwrap_or_default().to_owned(),
        resource: c["resource"].as_str().unwrap_or_default().to_owned(),
        file: c["file_path"].as_str().unwrap_or_default().trim_start_matches('/').to_owned(),
        // checkov 3.3 nests it under check_result; older releases put it at the top.
        comment: c["check_result"]["suppress_comment"]
            .as_str()
            .or_else(|| c["suppress_comment"].as_str())
            .map(str::to_owned),
    };
    for run in &runs {
        if run.get("check_type").and_then(|t| t.as_str()).is_some_and(|t| t != "cloudformation") {
            continue;
        }
        report.passed += run["summary"]["passed"].as_u64().unwrap_or(0) as usize;
        report.parsing_errors += run["summary"]["parsing_errors"].as_u64().unwrap_or(0) as usize;
        for c in run["results"]["failed_checks"].as_array().into_iter().flatten() {
            report.failed.push(result(c));
        }
        for c in run["results"]["skipped_checks"].as_array().into_iter().flatten() {
            report.skipped.push(result(c));
        }
    }
    report.failed.sort();
    report.skipped.sort();
    Ok(report)
}

/// `cfn-guard`, where `cargo xtask setup` installs it (`$CARGO_HOME/bin`, by default `~/.cargo/bin`), or an error
/// saying how to install it.
pub fn cfn_guard_bin() -> Result<PathBuf, String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".cargo"));
    let p = home.join("bin/cfn-guard");
    if p.exists() { Ok(p) } else { Err(format!("{} is missing: run `cargo xtask setup` first", p.display())) }
}

/// A rule cfn-guard found broken in one template.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct GuardFailure {
    pub file: String,
    pub rule: String,
    /// The resources the failing clauses looked at (`/Resources/ApiRead/Properties`).
    pub paths: Vec<String>,
}

/// What cfn-guard found: per template, the rules that passed, and every failure.
#[derive(Debug, Default)]
pub struct GuardReport {
    /// The templates checked (cfn-guard reports each once per rules file).
    pub templates: BTreeSet<String>,
    /// `(template file, rule)` for every rule that applied and held.
    pub compliant: Vec<(String, String)>,
    pub failed: Vec<GuardFailure>,
}

/// Runs `cfn-guard validate` with the rules of `rules` (a `.guard` file or a directory of them) on `templates`.
pub fn cfn_guard(rules: &Path, templates: &[PathBuf]) -> Result<GuardReport, String> {
    let bin = cfn_guard_bin()?;
    let mut cmd = Command::new(&bin);
    cmd.args(["validate", "--output-format", "json", "--show-summary", "none", "--rules"]).arg(rules);
    for t in templates {
        cmd.arg("--data").arg(t);
    }
    let out = cmd.output().map_err(|e| format!("running {}: {e}", bin.display()))?;
    // Exit status: 0 all pass, 19 some rule failed; anything else is cfn-guard failing to run (a rule that does not
    // parse, a template it cannot read).
    if !matches!(out.status.code(), Some(0 | 19)) {
        return Err(format!(
            "cfn-guard failed to run ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut report = GuardReport::default();
    // One JSON object per template, one after the other.
    for doc in serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>() {
        let doc = doc.map_err(|e| format!("cfn-guard printed something other than JSON ({e}): {text}"))?;
        let file = doc["name"].as_str().unwrap_or_default().to_owned();
        report.templates.insert(file.clone());
        for rule in doc["compliant"].as_array().into_iter().flatten() {
            report.compliant.push((file.clone(), rule.as_str().unwrap_or_default().to_owned()));
        }
        for rule in doc["not_compliant"].as_array().into_iter().flatten() {
            // cfn-guard 3 wraps a rule's result as `{"Rule": {...}}` when it has clauses to report.
            let rule = rule.get("Rule").unwrap_or(rule);
            let mut paths = Vec::new();
            resource_paths(rule, &mut paths);
            paths.sort();
            paths.dedup();
            report.failed.push(GuardFailure {
                file: file.clone(),
                rule: rule["name"].as_str().unwrap_or_default().to_owned(),
                paths,
            });
        }
    }
    report.failed.sort();
    Ok(report)
}

/// Every `"path": "/Resources/..."` under `v`: where cfn-guard's failing clauses looked.
fn resource_paths(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match x.as_str() {
                    Some(p) if k == "path" && p.starts_with("/Resources/") => {
                        out.push(p.split('/').take(3).collect::<Vec<_>>().join("/"))
                    }
                    _ => resource_paths(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| resource_paths(x, out)),
        _ => {}
    }
}

/// Replaces every asset hash of `assembly` in `text` with `[asset-hash:<asset id>]`, so snapshots do not change
/// when handler code does.
pub fn redact_assets(assembly: &Assembly, text: &str) -> String {
    let mut out = text.to_owned();
    for a in &assembly.manifest.assets {
        out = out.replace(&a.hash, &format!("[asset-hash:{}]", a.id));
    }
    out
}

/// The platform's handler assets, hashed from the workspace's handler crates.
pub fn platform_assets() -> constructs::platform::PlatformAssets {
    constructs::platform::PlatformAssets::load(&workspace_root())
        .unwrap_or_else(|e| panic!("hashing the handlers: {e}"))
}

/// Synthesizes the platform for `config` with the rule pack, or panics with synth's report.
pub fn platform(config: &constructs::platform::PlatformConfig) -> Assembly {
    constructs::platform::synth(config, &platform_assets()).unwrap_or_else(|e| panic!("{e}"))
}

/// The checkov skips declared in the templates of `assembly`: `(template file, "Type.LogicalId", check id)`,
/// sorted; what the checkov gate expects to find skipped.
pub fn declared_checkov_skips(assembly: &Assembly) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for s in &assembly.stacks {
        let t: serde_json::Value = serde_json::from_str(&s.template).unwrap_or_default();
        for (id, r) in t["Resources"].as_object().into_iter().flatten() {
            for skip in r["Metadata"]["checkov"]["skip"].as_array().into_iter().flatten() {
                let check = skip["id"].as_str().unwrap_or_default().to_owned();
                out.push((s.template_file.clone(), format!("{}.{id}", r["Type"].as_str().unwrap_or_default()), check));
            }
        }
    }
    out.sort();
    out
}

/// The suppressions of rule-pack rules declared in the templates of `assembly`: `(stack id, logical id, rule id,
/// reason)`. Decisions for the other scanners alone (`scanner:` ids) are [`declared_scanner_suppressions`].
pub fn declared_suppressions(assembly: &Assembly) -> Vec<(String, String, String, String)> {
    all_suppressions(assembly)
        .into_iter()
        .filter(|(_, _, id, _)| !id.starts_with(synth::SCANNER_SUPPRESSION_PREFIX))
        .collect()
}

/// The decisions declared for the other scanners alone (`scanner:<name>` ids), as [`declared_suppressions`].
pub fn declared_scanner_suppressions(assembly: &Assembly) -> Vec<(String, String, String, String)> {
    all_suppressions(assembly)
        .into_iter()
        .filter(|(_, _, id, _)| id.starts_with(synth::SCANNER_SUPPRESSION_PREFIX))
        .collect()
}

fn all_suppressions(assembly: &Assembly) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for s in &assembly.stacks {
        let t: serde_json::Value = serde_json::from_str(&s.template).unwrap_or_default();
        for (id, r) in t["Resources"].as_object().into_iter().flatten() {
            for sup in r["Metadata"][synth::SUPPRESSIONS_METADATA_KEY].as_array().into_iter().flatten() {
                out.push((
                    s.id.clone(),
                    id.clone(),
                    sup["id"].as_str().unwrap_or_default().to_owned(),
                    sup["reason"].as_str().unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// The configuration of shipped stage file `stages/<stage>.toml`, with `overrides` (`key=value`) applied.
pub fn stage_config(
    stage: &str,
    overrides: &[&str],
) -> Result<constructs::platform::PlatformConfig, constructs::platform::stage::StageError> {
    let path = workspace_root().join(format!("stages/{stage}.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let overrides: Vec<constructs::platform::stage::Override> =
        overrides.iter().map(|o| o.parse().unwrap_or_else(|e| panic!("{e}"))).collect();
    constructs::platform::stage::parse(&format!("stages/{stage}.toml"), stage, &text, &overrides)
}
