//! `cargo xtask synth [--out DIR] [--stage NAME] [--stack NAME]`: build the app, validate it and write one
//! template per stack plus `manifest.json`, then print what was written.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use constructs::platform::PlatformConfig;
use constructs::platform::stage::{self, Override};
use synth::{App, Assembly};

use crate::project_root;

#[derive(clap::Args, Debug)]
pub struct Synth {
    /// Directory to write templates and the manifest to (relative to the workspace root).
    #[arg(long, default_value = "rcdk.out")]
    pub out: PathBuf,
    /// Stage to synthesize: reads `stages/<stage>.toml`.
    #[arg(long, default_value = "dev")]
    pub stage: String,
    /// Override a key of the stage file, e.g. `--set features.redis=true` (repeatable; the value is TOML, or a
    /// string).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<constructs::platform::stage::Override>,
    /// Write only this stack (by id or CloudFormation name); the manifest still lists every stack.
    #[arg(long)]
    pub stack: Option<String>,
    /// Another app than the default: `sample` (the L1 sample), `scaled:N` (a synthetic app of N resources) or
    /// `platform:N` (the platform with N extra routes).
    #[arg(long)]
    pub app: Option<String>,
}

impl Synth {
    pub fn run(self) -> Result<()> {
        let started = Instant::now();
        let app = match &self.app {
            None => build_platform(&self.stage, &self.overrides, 0)?,
            Some(name) => build_named(name, &self.stage, &self.overrides)?,
        };
        let assembly = synthesize(&app)?;
        let elapsed = started.elapsed();
        let out = project_root().join(&self.out);
        write(&assembly, &out, self.stack.as_deref())?;
        print_summary(&assembly, &out, self.stack.as_deref(), elapsed);
        Ok(())
    }
}

/// Synthesizes `app` with every check synth has: validation and the rule pack, for every app (the L1 sample and
/// scaled apps included: they are built to pass it).
pub fn synthesize(app: &App) -> Result<Assembly> {
    app.synth_with(&constructs::rules::all()).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The app `cargo xtask synth` builds: the platform as `stages/<stage>.toml` configures it, the workspace's handler
/// crates as assets (hashed, never built).
pub fn build_app(stage: &str) -> Result<App> {
    build_platform(stage, &[], 0)
}

/// The configuration of `stage`: its stage file with `overrides` applied, every problem reported at once.
pub fn load_stage(stage: &str, overrides: &[Override]) -> Result<PlatformConfig> {
    let dir = project_root().join(stage::STAGES_DIR);
    let path = dir.join(format!("{stage}.toml"));
    let shown = format!("{}/{stage}.toml", stage::STAGES_DIR);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut known: Vec<String> = std::fs::read_dir(&dir)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".toml").map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            known.sort();
            bail!("no stage {stage:?}: {shown} does not exist (stages: {})", known.join(", "));
        }
        Err(e) => return Err(e).with_context(|| format!("reading {shown}")),
    };
    Ok(stage::parse(&shown, stage, &text, overrides)?)
}

/// The platform for `stage` with `extra_routes` more routes (each with a function of its own).
pub(crate) fn build_platform(stage: &str, overrides: &[Override], extra_routes: usize) -> Result<App> {
    let config = load_stage(stage, overrides)?.with_extra_routes(extra_routes);
    let assets = constructs::platform::PlatformAssets::load(&project_root()).context("hashing the handler crates")?;
    constructs::platform::build(&config, &assets).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Inputs `cargo xtask bench` measures besides the L1 apps: (label, synth arguments). The default app first.
pub fn bench_cases() -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("platform, default configuration (L3)", vec!["--stage".into(), "dev".into()]),
        ("platform + 200 routes, one function each (L3)", vec!["--app".into(), "platform:200".into()]),
    ]
}

/// The apps other than the default, by name.
pub fn build_named(name: &str, stage: &str, overrides: &[Override]) -> Result<App> {
    let root = project_root();
    let worker =
        || constructs::assets::rust_lambda(&root, "handlers/webhook-worker").context("hashing the worker crate");
    match name.split_once(':') {
        None if name == "sample" => Ok(constructs::sample::app(stage, worker()?)),
        Some(("platform", n)) => {
            let n: usize = n.parse().with_context(|| format!("--app platform:N: {n:?} is not a number"))?;
            build_platform(stage, overrides, n)
        }
        Some(("scaled", n)) => {
            let n: usize = n.parse().with_context(|| format!("--app scaled:N: {n:?} is not a number"))?;
            Ok(constructs::sample::scaled(n, worker()?))
        }
        _ => bail!("unknown app {name:?}; use `sample`, `scaled:N` or `platform:N` (or no --app for the default)"),
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
