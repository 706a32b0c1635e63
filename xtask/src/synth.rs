//! `cargo xtask synth [--out DIR] [--stage NAME] [--stack NAME]`: build the app, validate it and write one
//! template per stack plus `manifest.json`, then print what was written. Building (stage files included) and
//! writing are `constructs::app`'s, shared with the deploy engine.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use synth::Assembly;

use crate::out::say;
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
        let root = project_root();
        let app = constructs::app::build(&root, self.app.as_deref(), &self.stage, &self.overrides)?;
        let assembly = constructs::app::synthesize(&app)?;
        let elapsed = started.elapsed();
        let out = root.join(&self.out);
        constructs::app::write(&assembly, &out, self.stack.as_deref())?;
        print_summary(&assembly, &out, self.stack.as_deref(), elapsed)?;
        // The process ends here: the OS takes the memory back at once, while dropping the construct tree and the
        // templates would free them allocation by allocation (about a tenth of the 1,546-resource run, measured
        // with perf for issue 12).
        std::mem::forget(app);
        std::mem::forget(assembly);
        Ok(())
    }
}

/// Inputs `cargo xtask bench` measures besides the L1 apps: (label, synth arguments). The default app first.
pub fn bench_cases() -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("platform, default configuration (L3)", vec!["--stage".into(), "dev".into()]),
        ("platform + 200 routes, one function each (L3)", vec!["--app".into(), "platform:200".into()]),
    ]
}

fn print_summary(
    assembly: &Assembly,
    out: &std::path::Path,
    only: Option<&str>,
    elapsed: std::time::Duration,
) -> std::io::Result<()> {
    let shown = out.strip_prefix(project_root()).unwrap_or(out).display().to_string();
    say!(
        "synth: {} ({} stacks, {} resources) in {:.1} ms -> {shown}/",
        assembly.manifest.app,
        assembly.stacks.len(),
        assembly.stacks.iter().map(|s| s.resources).sum::<usize>(),
        elapsed.as_secs_f64() * 1000.0
    )?;
    for s in assembly.stacks.iter().filter(|s| only.is_none_or(|o| s.id == o || s.name == o)) {
        say!(
            "  {} ({}, {}): {} resources, {} bytes -> {}",
            s.id,
            s.name,
            s.region,
            s.resources,
            s.bytes,
            s.template_file
        )?;
        for (t, n) in &s.resources_by_type {
            say!("    {n:>4}  {t}")?;
        }
        if !s.dependencies.is_empty() {
            say!("    depends on: {}", s.dependencies.join(", "))?;
        }
    }
    for n in &assembly.notes {
        say!("  {n}")?;
    }
    Ok(())
}
