//! `cargo xtask bench [--runs N] [--write]`: synth measured as a whole process (the release binary, start to
//! exit, templates written) on fixed inputs, and the figures as Markdown. `--write` puts them into
//! `BENCHMARKS.md` between the `bench:synth` markers, with the machine and the command.
//!
//! Timings are taken here and reported, never asserted in tests: a timed test fails on a busy machine.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::out::say;
use crate::project_root;

#[derive(clap::Args, Debug)]
pub struct Bench {
    /// Process runs per case (the first, warming the page cache, is not counted).
    #[arg(long, default_value_t = 30)]
    pub runs: usize,
    /// Write the results into BENCHMARKS.md.
    #[arg(long)]
    pub write: bool,
    /// Run only one part.
    #[arg(long, value_enum)]
    pub only: Option<Part>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// synth as a whole process
    Synth,
    /// the handlers: CPU per request, DynamoDB calls, start to ready, zip sizes
    Handlers,
}

/// One input to synthesize: a label and the `synth` arguments selecting it.
struct Case {
    label: &'static str,
    args: Vec<String>,
}

impl Bench {
    pub fn run(self) -> Result<()> {
        if self.only != Some(Part::Handlers) {
            self.synth()?;
        }
        if self.only != Some(Part::Synth) {
            self.handlers()?;
        }
        Ok(())
    }

    /// The handlers' figures (`bench_handlers`), after installing what they need: moto, cargo-lambda and zig, and
    /// the aarch64 standard library.
    fn handlers(&self) -> Result<()> {
        crate::setup::ensure(crate::setup::Group::Test)?;
        crate::setup::ensure(crate::setup::Group::Lambda)?;
        let ok = Command::new("rustup")
            .args(["target", "add", "aarch64-unknown-linux-gnu"])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            bail!(
                "`rustup target add aarch64-unknown-linux-gnu` failed: cargo lambda cannot build arm64 zips without it"
            );
        }
        let mut buf = Vec::new();
        crate::bench_handlers::run(&mut buf)?;
        let text = String::from_utf8(buf)?;
        say!("{text}")?;
        if self.write {
            // The section's own heading stays outside the markers in BENCHMARKS.md.
            let body = text.trim_start().strip_prefix("## Handlers").unwrap_or(&text).trim_start().to_owned();
            write_section(&project_root().join("BENCHMARKS.md"), "bench:handlers", &body)?;
            eprintln!("bench: BENCHMARKS.md updated (handlers)");
        }
        Ok(())
    }

    fn synth(&self) -> Result<()> {
        let root = project_root();
        eprintln!("bench: building the release binary");
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--quiet", "-p", "xtask"])
            .current_dir(&root)
            .status()?;
        if !status.success() {
            bail!("cargo build --release -p xtask failed");
        }
        let bin = root.join("target/release/xtask");
        let mut cases = vec![
            Case { label: "sample app (L1, 1 stack)", args: vec!["--app".into(), "sample".into()] },
            Case { label: "generated app, 1,200 resources (L1)", args: vec!["--app".into(), "scaled:1200".into()] },
            Case { label: "generated app, 3,000 resources (L1)", args: vec!["--app".into(), "scaled:3000".into()] },
        ];
        cases.extend(crate::synth::bench_cases().into_iter().map(|(label, args)| Case { label, args }));
        let out_dir = root.join("target/bench-synth");
        let mut rows = Vec::new();
        for case in &cases {
            let mut times = Vec::with_capacity(self.runs);
            for i in 0..=self.runs {
                let t = Instant::now();
                let out = Command::new(&bin)
                    .arg("synth")
                    .args(&case.args)
                    .arg("--out")
                    .arg(&out_dir)
                    .output()
                    .with_context(|| format!("running {}", bin.display()))?;
                let elapsed = t.elapsed();
                if !out.status.success() {
                    bail!("synth {} failed: {}", case.args.join(" "), String::from_utf8_lossy(&out.stderr));
                }
                if i > 0 {
                    times.push(elapsed);
                }
            }
            let (stacks, resources, bytes) = manifest_totals(&out_dir)?;
            times.sort();
            rows.push(format!(
                "| {} | `{}` | {stacks} | {resources} | {bytes} | {} | {} | {} |",
                case.label,
                case.args.join(" "),
                ms(times[times.len() / 2]),
                ms(times[0]),
                ms(times[times.len() - 1]),
            ));
            eprintln!("bench: {} done", case.label);
        }
        let machine = machine();
        let table = format!(
            "Machine: {machine}. Command: `cargo xtask bench --runs {}` (release build; each figure is one whole `xtask synth` process, start to exit with templates and manifest written, {} runs after one warm-up).\n\n| input | synth arguments | stacks | resources | template bytes | median ms | min ms | max ms |\n|---|---|---|---|---|---|---|---|\n{}\n",
            self.runs,
            self.runs,
            rows.join("\n")
        );
        say!("{table}")?;
        if self.write {
            write_section(&root.join("BENCHMARKS.md"), "bench:synth", &table)?;
            eprintln!("bench: BENCHMARKS.md updated");
        }
        Ok(())
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn manifest_totals(dir: &Path) -> Result<(usize, usize, usize)> {
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json"))?)?;
    let stacks = m["stacks"].as_array().context("manifest without stacks")?;
    let sum = |k: &str| stacks.iter().map(|s| s[k].as_u64().unwrap_or(0) as usize).sum::<usize>();
    Ok((stacks.len(), sum("resources"), sum("bytes")))
}

/// CPU model, cores and toolchain, as the figures are only meaningful with them.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{model}, {cores} cores, {rustc}")
}

/// Replaces the text between `<!-- {marker}:start -->` and `<!-- {marker}:end -->` in `path`.
pub fn write_section(path: &Path, marker: &str, body: &str) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let start = format!("<!-- {marker}:start -->");
    let end = format!("<!-- {marker}:end -->");
    let (Some(a), Some(b)) = (text.find(&start), text.find(&end)) else {
        bail!("{} has no {start} ... {end} section", path.display());
    };
    let new = format!("{}{start}\n{body}{}", &text[..a], &text[b..]);
    std::fs::write(path, new)?;
    Ok(())
}
