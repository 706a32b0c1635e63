//! Requests per second and latency percentiles through a running `cargo xtask dev` (the gateway, the real
//! authorizer with its cache, the real `api` binary, moto): `cargo run --release -p dev --example dev_bench --
//! --url http://127.0.0.1:3000 --key <the enterprise key of the banner> --tenant enterprise-tenant [--requests N]
//! [--connections C]`. The enterprise plan (1000/s, burst 2000 on the local stage) is above what this reaches.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

/// `connections` clients on keep-alive connections share `requests` GETs of `path`; (rps, p50, p99, non-200).
async fn drive(
    address: SocketAddr,
    path: &str,
    key: &str,
    requests: usize,
    connections: usize,
) -> Result<(f64, Duration, Duration, usize)> {
    let per = requests / connections;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (path, auth) = (path.to_owned(), format!("ApiKey {key}"));
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(address).await?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let mut latencies = Vec::with_capacity(per);
            let mut failed = 0;
            for _ in 0..per {
                let req = hyper::Request::get(&path)
                    .header("host", "localhost")
                    .header("authorization", &auth)
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
    let pct = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied();
    let (p50, p99) = (pct(0.50).unwrap_or_default(), pct(0.99).unwrap_or_default());
    Ok((all.len() as f64 / elapsed.as_secs_f64(), p50, p99, failed))
}

#[tokio::main]
async fn main() -> Result<()> {
    let url = arg("--url").unwrap_or_else(|| "http://127.0.0.1:3000".into());
    let key = arg("--key").ok_or_else(|| anyhow!("--key: an API key of the banner"))?;
    let tenant = arg("--tenant").unwrap_or_else(|| "enterprise-tenant".into());
    let requests: usize = arg("--requests").and_then(|v| v.parse().ok()).unwrap_or(2000);
    let connections: usize = arg("--connections").and_then(|v| v.parse().ok()).unwrap_or(8).max(1);
    let address: SocketAddr =
        url.trim_start_matches("http://").parse().with_context(|| format!("--url {url}: http://<ip>:<port>"))?;
    let path = format!("/tenants/{tenant}/orders?limit=10");
    // Warm up: sandboxes started, the authorizer's cache filled, connections open.
    drive(address, &path, &key, connections * 5, connections).await?;
    let (rps, p50, p99, failed) = drive(address, &path, &key, requests, connections).await?;
    println!(
        "GET {path} through cargo xtask dev, {requests} requests on {connections} connections: {rps:.0} requests/s, \
         p50 {:.2} ms, p99 {:.2} ms{}",
        p50.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0,
        if failed > 0 { format!(", {failed} not 200") } else { String::new() }
    );
    Ok(())
}
