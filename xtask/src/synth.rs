//! `cargo xtask synth [--out DIR] [--stage NAME] [--stack NAME]`: build the app, validate it and write one
//! template per stack plus `manifest.json`, then print what was written.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use synth::{App, Assembly};

use crate::project_root;

#[derive(clap::Args, Debug)]
pub struct Synth {
    /// Directory to write templates and the manifest to (relative to the workspace root).
    #[arg(long, default_value = "rcdk.out")]
    pub out: PathBuf,
    /// Stage to synthesize (names stacks and sizes defaults).
    #[arg(long, default_value = "dev")]
    pub stage: String,
    /// Write only this stack (by id or CloudFormation name); the manifest still lists every stack.
    #[arg(long)]
    pub stack: Option<String>,
    /// Another app than the default: `sample` (the L1 sample) or `scaled:N` (a synthetic app of N resources).
    #[arg(long)]
    pub app: Option<String>,
}

impl Synth {
    pub fn run(self) -> Result<()> {
        let started = Instant::now();
        let app = match &self.app {
            None => build_app(&self.stage)?,
            Some(name) => build_named(name, &self.stage)?,
        };
        let assembly = synthesize(&app)?;
        let elapsed = started.elapsed();
        let out = project_root().join(&self.out);
        write(&assembly, &out, self.stack.as_deref())?;
        print_summary(&assembly, &out, self.stack.as_deref(), elapsed);
        Ok(())
    }
}

/// Synthesizes `app` with every check synth has (validation and the rule pack).
pub fn synthesize(app: &App) -> Result<Assembly> {
    app.synth().map_err(|e| anyhow::anyhow!("{e}"))
}

/// The app `cargo xtask synth` builds: the embedded default.
pub fn build_app(stage: &str) -> Result<App> {
    let root = project_root();
    let worker =
        constructs::assets::rust_lambda(&root, "handlers/webhook-worker").context("hashing the worker crate")?;
    Ok(constructs::sample::app(stage, worker))
}

/// Inputs `cargo xtask bench` measures besides the L1 apps: (label, synth arguments). The default app first.
pub fn bench_cases() -> Vec<(&'static str, Vec<String>)> {
    vec![]
}

/// The apps other than the default, by name.
pub fn build_named(name: &str, stage: &str) -> Result<App> {
    let root = project_root();
    let worker =
        || constructs::assets::rust_lambda(&root, "handlers/webhook-worker").context("hashing the worker crate");
    match name.split_once(':') {
        None if name == "sample" => Ok(constructs::sample::app(stage, worker()?)),
        Some(("scaled", n)) => {
            let n: usize = n.parse().with_context(|| format!("--app scaled:N: {n:?} is not a number"))?;
            Ok(constructs::sample::scaled(n, worker()?))
        }
        _ => bail!("unknown app {name:?}; use `sample` or `scaled:N` (or no --app for the default)"),
    }
}

/// Writes the selected templates and the manifest; nothing is written when the selection matches no stack.
pub fn write(assembly: &Assembly, out: &std::path::Path, only: Option<&str>) -> Result<()> {
    let selected: Vec<_> = assembly.stacks.iter().filter(|s| only.is_none_or(|o| s.id == o || s.name == o)).collect();
    if selected.is_empty() {
        let known: Vec<String> = assembly.stacks.iter().map(|s| format!("{} ({})", s.id, s.name)).collect();
        bail!("no stack {:?}; the app has: {}", only.unwrap_or_default(), known.join(", "));
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for s in selected {
        std::fs::write(out.join(&s.template_file), &s.template)
            .with_context(|| format!("writing {}", s.template_file))?;
    }
    std::fs::write(out.join("manifest.json"), assembly.manifest_json()).context("writing manifest.json")?;
    Ok(())
}

fn print_summary(assembly: &Assembly, out: &std::path::Path, only: Option<&str>, elapsed: std::time::Duration) {
    let shown = out.strip_prefix(project_root()).unwrap_or(out).display().to_string();
    println!(
        "synth: {} ({} stacks, {} resources) in {:.1} ms -> {shown}/",
        assembly.manifest.app,
        assembly.stacks.len(),
        assembly.stacks.iter().map(|s| s.resources).sum::<usize>(),
        elapsed.as_secs_f64() * 1000.0
    );
    for s in assembly.stacks.iter().filter(|s| only.is_none_or(|o| s.id == o || s.name == o)) {
        println!(
            "  {} ({}, {}): {} resources, {} bytes -> {}",
            s.id, s.name, s.region, s.resources, s.bytes, s.template_file
        );
        for (t, n) in &s.resources_by_type {
            println!("    {n:>4}  {t}");
        }
        if !s.dependencies.is_empty() {
            println!("    depends on: {}", s.dependencies.join(", "));
        }
    }
    for n in &assembly.notes {
        println!("  {n}");
    }
}
