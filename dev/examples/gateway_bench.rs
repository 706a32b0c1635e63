//! Requests per second and latency percentiles through the local gateway (HTTP, keep-alive connections) on the
//! platform's templates: `cargo run --release -p dev --example gateway_bench [-- --requests N --connections C]`.
//! Case 1 answers in process (the gateway alone); case 2 runs the authorizer and the handler as real processes
//! behind the local runtime (`dev-test-function`, built by the same cargo invocation as this example). With
//! `--api`, case 3 runs the platform's real `api` binary (target/release/api, else target/debug/api) on DynamoDB
//! tables in moto (the project venv), the authorizer in process.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use dev::assembly::{Assembly, LocalIds};
use dev::gateway::Gateway;
use dev::gateway::model::RestApi;
use dev::gateway::server::serve;
use dev::invoke::{Invoke, InvokeError};
use dev::runtime::logs::Memory;
use dev::runtime::{FunctionSpec, Runtime, RuntimeOptions};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// Allows every token; answers every proxy event with a small JSON body.
struct InProcess;

impl Invoke for InProcess {
    async fn invoke(&self, _function: &str, payload: Value) -> Result<Value, InvokeError> {
        if payload.get("type").and_then(Value::as_str) == Some("TOKEN") {
            return Ok(json!({
                "principalId": "bench",
                "policyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}]},
                "context": {"tenantId": "acme", "tier": "enterprise"},
                "usageIdentifierKey": "local-EnterpriseApiKey"
            }));
        }
        Ok(json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{\"items\":[]}"}))
    }
}

/// The API without stage throttling and usage plan limits: the local stage allows 2000 requests/s and the
/// enterprise plan 1000, below what this measures; throttling itself is tested, not benchmarked. The key checks
/// still run (every method of the local stage requires the tier's key).
fn unthrottled(assembly: &Assembly) -> anyhow::Result<RestApi> {
    let mut api = RestApi::from_assembly(assembly, None)?;
    api.stage.throttle = None;
    api.stage.method_throttles.clear();
    for plan in &mut api.usage_plans {
        plan.throttle = None;
        plan.quota = None;
    }
    Ok(api)
}

/// Starts moto with the platform's two tables (`Entities`, `Control`: the names the templates' `Ref`s resolve to
/// with `LocalIds`) in the region given as argument, printing its port once the tables exist.
const MOTO: &str = r#"
import os, sys, threading, time
parent = os.getppid()
def watch():
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
from werkzeug.serving import make_server, BaseWSGIServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
BaseWSGIServer.request_queue_size = 512
server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
import boto3
ddb = boto3.client("dynamodb", endpoint_url=f"http://127.0.0.1:{server.server_port}", region_name=sys.argv[1],
                   aws_access_key_id="testing", aws_secret_access_key="testing")
def table(name, gsi):
    attrs = ["pk", "sk"] + (["gsi1pk", "gsi1sk"] if gsi else [])
    extra = {"GlobalSecondaryIndexes": [{"IndexName": "gsi1", "KeySchema": [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"}}]} if gsi else {}
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attrs],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}], **extra)
table("Entities", True)
table("Control", False)
print(server.server_port, flush=True)
while True:
    time.sleep(3600)
"#;

/// The authorizer in process, every other function in the runtime.
struct Mixed(Runtime);

impl Invoke for Mixed {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError> {
        if function == "Authorizer" {
            InProcess.invoke(function, payload).await
        } else {
            self.0.invoke(function, payload).await
        }
    }
}

async fn real_api(assembly: &Assembly, requests: usize, connections: usize) -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or_else(|| anyhow::anyhow!("no workspace root"))?;
    let binary = ["release", "debug"]
        .iter()
        .map(|p| root.join("target").join(p).join("api"))
        .find(|p| p.exists())
        .ok_or_else(|| anyhow::anyhow!("build the api binary first: cargo build --release -p api"))?;
    let region = assembly
        .resources_of("AWS::Lambda::Function")
        .find(|(_, r)| r.logical_id == "ApiRead")
        .map(|(s, _)| s.region.clone())
        .ok_or_else(|| anyhow::anyhow!("no ApiRead function in the templates"))?;
    let mut moto = tokio::process::Command::new(root.join(".venv/bin/python"))
        .args(["-c", MOTO, &region])
        .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = moto.stdout.take().ok_or_else(|| anyhow::anyhow!("moto's stdout"))?;
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut tokio::io::BufReader::new(stdout), &mut line).await?;
    let port: u16 = line.trim().parse().map_err(|_| anyhow::anyhow!("moto printed {line:?}, not its port"))?;
    let runtime = Runtime::new(RuntimeOptions {
        default_concurrency: connections as u32,
        extra_environment: BTreeMap::from([
            ("AWS_ACCESS_KEY_ID".to_string(), "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), "testing".to_string()),
            ("AWS_ENDPOINT_URL".to_string(), format!("http://127.0.0.1:{port}")),
        ]),
        logs: Arc::new(Memory::default()),
    });
    for (stack, resource) in assembly.resources_of("AWS::Lambda::Function") {
        if resource.logical_id == "ApiRead" {
            runtime.deploy(FunctionSpec::from_template(assembly, stack, resource, binary.clone(), &LocalIds)?);
        }
    }
    let gateway = Gateway::new(unthrottled(assembly)?, Mixed(runtime))?;
    let server = serve(Arc::new(gateway), "127.0.0.1:0".parse()?).await?;
    drive(server.address, connections * 5, connections).await?;
    report(
        &format!("real api binary ({}) on moto", binary.display()),
        drive(server.address, requests, connections).await?,
    );
    Ok(())
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What `cargo xtask synth --stage local` writes (stages/local.toml), in a temporary directory.
fn platform() -> anyhow::Result<(tempfile::TempDir, Assembly)> {
    let config = tests::stage_config("local", &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let synthesized = tests::platform(&config);
    let dir = tempfile::tempdir()?;
    for s in &synthesized.stacks {
        std::fs::write(dir.path().join(&s.template_file), &s.template)?;
    }
    std::fs::write(dir.path().join("manifest.json"), synthesized.manifest_json())?;
    let assembly = Assembly::load(dir.path())?;
    Ok((dir, assembly))
}

/// `connections` clients on keep-alive connections share `requests` GETs; (rps, p50, p99, non-200 answers).
async fn drive(
    address: SocketAddr,
    requests: usize,
    connections: usize,
) -> anyhow::Result<(f64, Duration, Duration, usize)> {
    let per = requests / connections;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(address).await?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let mut latencies = Vec::with_capacity(per);
            let mut failed = 0;
            for _ in 0..per {
                let req = hyper::Request::get("/tenants/acme/orders?limit=10")
                    .header("host", "localhost")
                    .header("authorization", "Bearer bench")
                    .body(Full::new(Bytes::new()))?;
                let t = Instant::now();
                let resp = sender.send_request(req).await?;
                let status = resp.status();
                let body = resp.into_body().collect().await?.to_bytes();
                latencies.push(t.elapsed());
                if status != 200 {
                    if failed == 0 {
                        eprintln!("first answer not 200: {status} {}", String::from_utf8_lossy(&body));
                    }
                    failed += 1;
                }
            }
            Ok::<_, anyhow::Error>((latencies, failed))
        }));
    }
    let mut all = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (l, f) = t.await??;
        all.extend(l);
        failed += f;
    }
    let elapsed = started.elapsed();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    Ok((all.len() as f64 / elapsed.as_secs_f64(), pct(0.50), pct(0.99), failed))
}

fn report(case: &str, (rps, p50, p99, failed): (f64, Duration, Duration, usize)) {
    println!(
        "{case}: {rps:.0} requests/s, p50 {:.3} ms, p99 {:.3} ms{}",
        p50.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        if failed > 0 { format!(", {failed} not 200") } else { String::new() }
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let requests = arg("--requests", 20_000);
    let connections = arg("--connections", 8);
    let (_dir, assembly) = platform()?;
    println!("GET /tenants/acme/orders (TOKEN authorizer, cached), {requests} requests on {connections} connections");

    let gateway = Gateway::new(unthrottled(&assembly)?, InProcess)?;
    let server = serve(Arc::new(gateway), "127.0.0.1:0".parse()?).await?;
    // Warm up: the authorizer cache and the connections.
    drive(server.address, connections * 10, connections).await?;
    report("in-process handler", drive(server.address, requests, connections).await?);
    drop(server);

    let binary = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("dev-test-function"))
        .filter(|p| p.exists())
        .ok_or_else(|| anyhow::anyhow!("build dev-test-function first: cargo build --release -p dev --bins"))?;
    let runtime = Runtime::new(RuntimeOptions {
        default_concurrency: connections as u32,
        extra_environment: BTreeMap::new(),
        logs: Arc::new(Memory::default()),
    });
    let binaries: BTreeMap<&str, PathBuf> =
        ["Authorizer", "ApiRead", "ApiWrite"].into_iter().map(|f| (f, binary.clone())).collect();
    for (stack, resource) in assembly.resources_of("AWS::Lambda::Function") {
        if let Some(b) = binaries.get(resource.logical_id.as_str()) {
            let mut spec = FunctionSpec::from_template(&assembly, stack, resource, b.clone(), &LocalIds)?;
            spec.environment.insert("DEV_TEST_USAGE_KEY".into(), "local-EnterpriseApiKey".into());
            runtime.deploy(spec);
        }
    }
    let gateway = Gateway::new(unthrottled(&assembly)?, runtime)?;
    let server = serve(Arc::new(gateway), "127.0.0.1:0".parse()?).await?;
    let cold = Instant::now();
    drive(server.address, connections, connections).await?;
    println!("first requests (sandboxes start): {:.1} ms", cold.elapsed().as_secs_f64() * 1000.0);
    drive(server.address, connections * 10, connections).await?;
    report("real processes (local runtime)", drive(server.address, requests / 4, connections).await?);
    drop(server);
    if std::env::args().any(|a| a == "--api") {
        real_api(&assembly, arg("--api-requests", 1000), connections).await?;
    }
    Ok(())
}
