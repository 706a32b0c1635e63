//! `cargo xtask bench`, handlers section: write-path CPU time (criterion), DynamoDB calls per request for every
//! path (against moto), process start to ready against a local Lambda Runtime API, and arm64 zip sizes
//! (`cargo lambda build --profile lambda-release --arm64`). Prints one Markdown section.
//!
//! Needs `cargo xtask setup` (moto) and, for the zips, `cargo xtask setup --group lambda` (cargo-lambda, zig)
//! plus `rustup target add aarch64-unknown-linux-gnu`; it fails with that message when they are missing.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The Lambda binaries (= packages).
pub const HANDLERS: &[&str] = &[
    "api",
    "authorizer",
    "stream-processor",
    "webhook-worker",
    "exporter",
    "indexer",
    "search",
    "secret-rotator",
    "invoice-renderer",
    "upload-scanner",
];

/// Targets from issue 4 ("3 MB", read strictly as 3,000,000 bytes).
const MAX_ZIP_BYTES: u64 = 3_000_000;
const MAX_READY_MS: f64 = 6.0;
/// Start-to-ready runs per handler.
const RUNS: usize = 30;

pub fn run(out: &mut impl Write) -> Result<()> {
    let root = crate::project_root();
    let target = target_dir(&root);
    writeln!(out, "## Handlers\n")?;
    machine(out)?;
    write_path_cpu(out, &root, &target)?;
    round_trips(out, &root)?;
    start_to_ready(out, &root, &target)?;
    zip_sizes(out, &root, &target)?;
    Ok(())
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"))
}

fn cargo(root: &Path) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root);
    c
}

fn check(cmd: &mut Command) -> Result<std::process::Output> {
    let out = cmd.output().with_context(|| format!("could not start {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    Ok(out)
}

fn machine(out: &mut impl Write) -> Result<()> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = Command::new("lscpu")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find(|l| l.starts_with("Model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    writeln!(out, "Machine: {cores} cores (`nproc`), {model} (`lscpu`).\n")?;
    Ok(())
}

fn write_path_cpu(out: &mut impl Write, root: &Path, target: &Path) -> Result<()> {
    let args = ["bench", "-p", "api", "--bench", "write_path", "--", "--warm-up-time", "2", "--measurement-time", "5"];
    check(cargo(root).args(args))?;
    let est = target.join("criterion/create_order_write_path_cpu/new/estimates.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&est).with_context(|| est.display().to_string())?)?;
    let us = |k: &str| v[k]["point_estimate"].as_f64().unwrap_or(f64::NAN) / 1000.0;
    writeln!(out, "### Write path CPU time (no network)\n")?;
    writeln!(
        out,
        "Idempotent create order, event JSON to response JSON, everything but the one `TransactWriteItems`: \
         median **{:.1} µs**, mean {:.1} µs (`cargo bench -p api --bench write_path`, criterion, release).\n",
        us("median"),
        us("mean")
    )?;
    Ok(())
}

fn round_trips(out: &mut impl Write, root: &Path) -> Result<()> {
    let o = check(cargo(root).args(["run", "--release", "-q", "-p", "api", "--example", "round_trips"]))?;
    writeln!(out, "### DynamoDB calls per request\n")?;
    writeln!(
        out,
        "Counted by an SDK interceptor against moto (`cargo run --release -p api --example round_trips`).\n"
    )?;
    writeln!(out, "| path | status | calls | round trips |\n|---|---|---|---|")?;
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).with_context(|| format!("bad line {line:?}"))?;
        let calls = v["calls"].as_object().cloned().unwrap_or_default();
        let total: u64 = calls.values().filter_map(|n| n.as_u64()).sum();
        let list: Vec<String> = calls.iter().map(|(k, n)| format!("{k} x{n}")).collect();
        let list = if list.is_empty() { "none".to_string() } else { list.join(", ") };
        writeln!(out, "| {} | {} | {} | {} |", v["path"].as_str().unwrap_or(""), v["status"], list, total)?;
    }
    writeln!(out)?;
    Ok(())
}

/// Env of each handler: what the constructs set (dummy values; nothing is called before the first event).
fn handler_env(bin: &str) -> Vec<(&'static str, &'static str)> {
    let mut env = vec![
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ("AWS_SESSION_TOKEN", "token"),
        ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("POWERTOOLS_SERVICE_NAME", "bench"),
    ];
    env.extend(match bin {
        // The production configuration: per-tenant usage plan keys and an OIDC issuer (read at start-up, the
        // plans and the JWKS fetched on first use).
        "api" => vec![
            ("TABLE_NAME", "entity"),
            ("CONTROL_TABLE_NAME", "control"),
            ("API_ROLE", "write"),
            ("USAGE_PLAN_NAMES", "free=p-api-FreePlan,pro=p-api-ProPlan,enterprise=p-api-EnterprisePlan"),
            ("EXPORT_WORKFLOW_ARN", "arn:aws:states:us-east-1:1:stateMachine:export"),
            ("EXPORT_BUCKET_NAME", "bucket"),
            ("UPLOAD_BUCKET_NAME", "uploads"),
        ],
        "authorizer" => vec![
            ("TABLE_NAME", "entity"),
            ("JWT_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:jwt"),
            ("OIDC_ISSUER", "https://login.example.com/"),
            ("OIDC_AUDIENCE", "platform-api"),
            ("OIDC_JWKS_URL", "https://login.example.com/.well-known/jwks.json"),
        ],
        "stream-processor" => vec![("EVENT_BUS_NAME", "bus")],
        "webhook-worker" => vec![
            ("TABLE_NAME", "entity"),
            ("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/q"),
            ("WEBHOOK_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:wh"),
        ],
        "exporter" => vec![("TABLE_NAME", "entity"), ("EXPORT_BUCKET_NAME", "bucket")],
        "indexer" => vec![("OPENSEARCH_ENDPOINT", "https://search.example.com")],
        "secret-rotator" => vec![
            ("JWT_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:jwt"),
            ("WEBHOOK_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:wh"),
        ],
        "invoice-renderer" => {
            vec![("TABLE_NAME", "entity"), ("EVENT_BUS_NAME", "bus"), ("EXPORT_BUCKET_NAME", "bucket")]
        }
        "upload-scanner" => vec![("TABLE_NAME", "entity"), ("UPLOAD_BUCKET_NAME", "uploads")],
        _ => vec![],
    });
    env
}

/// Spawns the binary against a local Runtime API and returns the time until its first `next` request.
fn time_to_ready(exe: &Path, bin: &str) -> Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .env_clear()
        .envs(handler_env(bin))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {}", exe.display()))?;
    let deadline = started + Duration::from_secs(10);
    let result = loop {
        match listener.accept() {
            Ok((sock, _)) => {
                let elapsed = started.elapsed();
                sock.set_nonblocking(false)?;
                sock.set_read_timeout(Some(Duration::from_secs(5)))?;
                let mut line = String::new();
                BufReader::new(sock).read_line(&mut line)?;
                if !line.starts_with("GET /2018-06-01/runtime/invocation/next") {
                    break Err(anyhow::anyhow!("{bin}: unexpected first request {line:?}"));
                }
                break Ok(elapsed);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = child.try_wait()? {
                    let mut err = String::new();
                    if let Some(mut s) = child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut s, &mut err);
                    }
                    break Err(anyhow::anyhow!("{bin} exited with {status} before asking for an event: {err}"));
                }
                if Instant::now() > deadline {
                    break Err(anyhow::anyhow!("{bin} did not ask for an event within 10 s"));
                }
                std::thread::sleep(Duration::from_micros(20));
            }
            Err(e) => break Err(e.into()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn start_to_ready(out: &mut impl Write, root: &Path, target: &Path) -> Result<()> {
    let mut args = vec!["build", "--profile", "lambda-release", "-q"];
    for h in HANDLERS {
        args.extend(["-p", h]);
    }
    check(cargo(root).args(&args))?;
    writeln!(out, "### Process start to ready for the next invocation\n")?;
    writeln!(
        out,
        "`lambda-release` binaries (host target), started with `AWS_LAMBDA_RUNTIME_API` pointing at a local Runtime API; \
         time from spawn to their first `GET /2018-06-01/runtime/invocation/next`, SDK clients built. {RUNS} runs \
         each. Target: <= {MAX_READY_MS} ms.\n"
    )?;
    writeln!(out, "| handler | median ms | p90 ms | min ms | target |\n|---|---|---|---|---|")?;
    for bin in HANDLERS {
        let exe = target.join("lambda-release").join(bin);
        let mut ms: Vec<f64> = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            ms.push(time_to_ready(&exe, bin)?.as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        let median = ms[RUNS / 2];
        let p90 = ms[(RUNS * 9) / 10];
        let ok = if median <= MAX_READY_MS { "met" } else { "missed" };
        writeln!(out, "| {bin} | {median:.2} | {p90:.2} | {:.2} | {ok} |", ms[0])?;
    }
    writeln!(out)?;
    Ok(())
}

fn zip_sizes(out: &mut impl Write, root: &Path, target: &Path) -> Result<()> {
    let venv_bin = root.join(".venv/bin");
    if !venv_bin.join("cargo-lambda").exists() {
        bail!("cargo-lambda not found in {}: run `cargo xtask setup --group lambda`", venv_bin.display());
    }
    let installed = check(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if !String::from_utf8_lossy(&installed.stdout).contains("aarch64-unknown-linux-gnu") {
        bail!("the aarch64-unknown-linux-gnu target is missing: run `rustup target add aarch64-unknown-linux-gnu`");
    }
    let path = format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut args = vec!["lambda", "build", "--profile", "lambda-release", "--arm64", "--output-format", "zip"];
    for h in HANDLERS {
        args.extend(["-p", h]);
    }
    check(cargo(root).env("PATH", path).args(&args))?;
    writeln!(out, "### Zip size per handler (arm64)\n")?;
    writeln!(
        out,
        "`cargo lambda build --profile lambda-release --arm64 --output-format zip` (the release profile optimised for size: opt-level z, fat LTO, 1 codegen unit, stripped). Target: <= 3 MB.\n"
    )?;
    writeln!(out, "| handler | zip bytes | MB (10^6) | MiB | target |\n|---|---|---|---|---|")?;
    for bin in HANDLERS {
        let zip = target.join("lambda").join(bin).join("bootstrap.zip");
        let bytes = std::fs::metadata(&zip).with_context(|| zip.display().to_string())?.len();
        let ok = if bytes <= MAX_ZIP_BYTES { "met" } else { "missed" };
        let (mb, mib) = (bytes as f64 / 1e6, bytes as f64 / (1024.0 * 1024.0));
        writeln!(out, "| {bin} | {bytes} | {mb:.2} | {mib:.2} | {ok} |")?;
    }
    writeln!(out)?;
    Ok(())
}
