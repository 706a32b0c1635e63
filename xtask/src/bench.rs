//! `cargo xtask bench [--runs N] [--write] [--baseline PATH]`: synth measured as a whole process (the release
//! binary, start to exit, templates written) on fixed inputs, and the figures as Markdown: wall time, CPU time
//! (`perf stat`), peak memory (GNU time) and the load average, beside another binary's run alternately when
//! `--baseline` names one. `--write` puts them into `BENCHMARKS.md` between the `bench:synth` markers, with the
//! machine and the command.
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
    /// Another `xtask` binary (e.g. the previous commit's release build) to run alternately with this one on every
    /// synth case, so both see the same machine load; its medians are reported beside this one's.
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<std::path::PathBuf>,
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
        let load_before = load_average();
        let mut rows = Vec::new();
        for case in &cases {
            let mut times = Vec::with_capacity(self.runs);
            let mut base_times = Vec::with_capacity(self.runs);
            for i in 0..=self.runs {
                // This binary and the baseline alternate, so a change of load hits both alike.
                let elapsed = run_synth(&bin, case, &out_dir)?;
                if let Some(base) = &self.baseline {
                    let b = run_synth(base, case, &out_dir)?;
                    if i > 0 {
                        base_times.push(b);
                    }
                }
                if i > 0 {
                    times.push(elapsed);
                }
            }
            // CPU time (task-clock) in runs of their own: on a shared machine it varies far less than wall time.
            let mut cpu = Vec::with_capacity(self.runs);
            let mut base_cpu = Vec::with_capacity(self.runs);
            for _ in 0..self.runs {
                cpu.extend(cpu_ms(&bin, case, &out_dir));
                if let Some(base) = &self.baseline {
                    base_cpu.extend(cpu_ms(base, case, &out_dir));
                }
            }
            let (stacks, resources, bytes) = manifest_totals(&out_dir)?;
            let peak = peak_memory_kib(&bin, case, &out_dir).map_or_else(|| "n/a".to_owned(), mib);
            times.sort();
            base_times.sort();
            let baseline = match base_times.get(base_times.len() / 2) {
                Some(b) => format!(" {} | {} |", ms(*b), median_ms(&mut base_cpu)),
                None => String::new(),
            };
            rows.push(format!(
                "| {} | `{}` | {stacks} | {resources} | {bytes} | {} | {} | {} | {} |{baseline} {peak} |",
                case.label,
                case.args.join(" "),
                ms(times[times.len() / 2]),
                ms(times[0]),
                ms(times[times.len() - 1]),
                median_ms(&mut cpu),
            ));
            eprintln!("bench: {} done", case.label);
        }
        let load_after = load_average();
        let machine = machine();
        let (base_head, base_rule, base_note) = match &self.baseline {
            Some(b) => (
                " baseline median ms | baseline CPU ms |",
                "---|---|",
                format!(
                    " The baseline column is `{}`, run alternately with this build (`--baseline`).",
                    b.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
                ),
            ),
            None => ("", "", String::new()),
        };
        let table = format!(
            "Machine: {machine}; load average (1 min) {load_before} before, {load_after} after. Command: `cargo xtask bench --runs {}{}` (release build; each figure is one whole `xtask synth` process, start to exit with templates and manifest written, {} runs after one warm-up; CPU ms is the median task-clock of as many more runs under `perf stat`; peak memory is the process's `ru_maxrss` from GNU time, one more run).{base_note}\n\n| input | synth arguments | stacks | resources | template bytes | median ms | min ms | max ms | CPU ms |{base_head} peak memory |\n|---|---|---|---|---|---|---|---|---|{base_rule}---|\n{}\n",
            self.runs,
            if self.baseline.is_some() { " --baseline ..." } else { "" },
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

/// One whole `synth` process of `bin` on `case`: its wall time.
fn run_synth(bin: &Path, case: &Case, out_dir: &Path) -> Result<Duration> {
    let t = Instant::now();
    let out = Command::new(bin)
        .arg("synth")
        .args(&case.args)
        .arg("--out")
        .arg(out_dir)
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    let elapsed = t.elapsed();
    if !out.status.success() {
        bail!("{} synth {} failed: {}", bin.display(), case.args.join(" "), String::from_utf8_lossy(&out.stderr));
    }
    Ok(elapsed)
}

/// The peak resident set of one `synth` process in KiB (`ru_maxrss`, as GNU time reports it with `%M`); `None`
/// without `/usr/bin/time`. The workspace forbids `unsafe`, so `getrusage` is called by GNU time, not here.
fn peak_memory_kib(bin: &Path, case: &Case, out_dir: &Path) -> Option<u64> {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(bin)
        .arg("synth")
        .args(&case.args)
        .arg("--out")
        .arg(out_dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stderr).lines().last()?.trim().parse().ok()
}

/// The CPU time of one `synth` process in ms (`perf stat -e task-clock`); `None` without `perf`.
fn cpu_ms(bin: &Path, case: &Case, out_dir: &Path) -> Option<f64> {
    let out = Command::new("perf")
        .args(["stat", "-x", ",", "-e", "task-clock", "--"])
        .arg(bin)
        .arg("synth")
        .args(&case.args)
        .arg("--out")
        .arg(out_dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    // CSV: `59.05,msec,task-clock,...`.
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines().find(|l| l.contains("task-clock"))?.split(',').next()?.parse().ok()
}

fn median_ms(v: &mut [f64]) -> String {
    if v.is_empty() {
        return "n/a".into();
    }
    v.sort_by(f64::total_cmp);
    format!("{:.1}", v[v.len() / 2])
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The 1-minute load average, as the figures mean little without it on a shared machine.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
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
