//! `cargo xtask dev` end to end (issue 9 "Tests"): the `rcdk-dev` binary started headless on free ports with its
//! own local cloud, then used over HTTP only, as a client would: the banner's curl line as printed, an API key
//! created, an order created with an `Idempotency-Key`, replayed and read, a bad body refused by the gateway before
//! any function runs, an unknown key refused, a free tenant throttled by its usage plan; then Ctrl-C (SIGINT)
//! stops everything, nothing left listening.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 request on a fresh connection: status, headers (lower-case names), body as JSON.
async fn call(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, BTreeMap<String, String>, Value) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let status = raw[9..12].parse().unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// The dev process, stopped (SIGINT, as Ctrl-C) when dropped.
struct DevProcess {
    child: Child,
    /// Every line of stderr: the steps, the access log, the functions' logs.
    log: Arc<Mutex<Vec<String>>>,
    banner: Vec<String>,
    moto_port: u16,
}

impl DevProcess {
    fn start(out: &std::path::Path) -> DevProcess {
        DevProcess::start_with(out, &[])
    }

    fn start_with(out: &std::path::Path, args: &[&str]) -> DevProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rcdk-dev"))
            .args(["--headless", "--port", "0", "--out"])
            .arg(out)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[dev] {line}");
                sink.lock().unwrap().push(line);
            }
        });
        let mut banner = Vec::new();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // The first run of the test builds the handlers: minutes on a loaded machine.
        for line in lines.by_ref() {
            let line = line.unwrap();
            println!("{line}");
            let end = line.contains("Ctrl-C stops everything");
            banner.push(line);
            if end {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        let endpoint = banner
            .iter()
            .find_map(|l| l.trim().strip_prefix("local cloud").map(|r| r.trim().to_owned()))
            .unwrap_or_else(|| panic!("no banner; stderr:\n{}", log.lock().unwrap().join("\n")));
        let moto_port = endpoint.rsplit(':').next().unwrap().parse().unwrap();
        DevProcess { child, log, banner, moto_port }
    }

    /// The value of the banner line `  <label>  <value>`.
    fn banner_value(&self, label: &str) -> Option<String> {
        self.banner.iter().find_map(|l| l.trim().strip_prefix(label).map(|r| r.trim().to_owned()))
    }

    fn api(&self) -> SocketAddr {
        let url = self.banner[0].rsplit(' ').next().unwrap();
        url.strip_prefix("http://").unwrap().parse().unwrap()
    }

    /// The key the banner prints for `tier`, with its tenant.
    fn key(&self, tier: &str) -> (String, String) {
        let line = self.banner.iter().find(|l| l.trim_start().starts_with(&format!("{tier} "))).unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        (words[3].to_owned(), words[2].to_owned())
    }

    fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// SIGINT, as Ctrl-C; true when it exited by itself within the time.
    fn interrupt(&mut self) -> bool {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) && !self.interrupt() {
            let _ = self.child.kill();
        }
    }
}

/// The command's output directory for one test: under cargo's temporary directory for tests, kept between runs so
/// the host zips of the handlers are built once (the local cloud's state in it is replaced at each start).
fn out_dir(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_platform_answers_over_http_as_deployed() {
    let mut dev = DevProcess::start(&out_dir("e2e"));
    let api = dev.api();

    // The banner's curl line, run as printed.
    let curl = dev.banner.iter().find(|l| l.trim_start().starts_with("curl ")).unwrap().trim().to_owned();
    let printed = Command::new("sh").args(["-c", &format!("{curl} -w '\\n%{{http_code}}'")]).output().unwrap();
    let printed = String::from_utf8_lossy(&printed.stdout).into_owned();
    assert!(printed.ends_with("\n200"), "{curl}\n{printed}");

    // An API key created with the seeded pro key; the rest goes through the new key.
    let (seeded, tenant) = dev.key("pro");
    let auth = format!("ApiKey {seeded}");
    let json_body = ("Content-Type", "application/json");
    let path = format!("/tenants/{tenant}/api-keys");
    let (status, _, created) =
        call(api, "POST", &path, &[("Authorization", &auth), json_body], r#"{"name":"e2e"}"#).await;
    assert_eq!(status, 201, "{created}");
    let auth = format!("ApiKey {}", created["api_key"].as_str().unwrap());

    // An order, its replay and a read.
    let orders = format!("/tenants/{tenant}/orders");
    let order = r#"{"items":[{"sku":"a","quantity":2,"unit_price_cents":150}],"currency":"EUR"}"#;
    let headers = [("Authorization", auth.as_str()), ("Idempotency-Key", "e2e-order-1"), json_body];
    let (status, first_headers, first) = call(api, "POST", &orders, &headers, order).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["total_cents"], json!(300));
    assert!(!first_headers.contains_key("idempotency-replayed"), "{first_headers:?}");
    let (status, replay_headers, replay) = call(api, "POST", &orders, &headers, order).await;
    assert_eq!((status, &replay), (201, &first));
    assert_eq!(replay_headers.get("idempotency-replayed").map(String::as_str), Some("true"), "{replay_headers:?}");
    let id = first["order_id"].as_str().unwrap();
    let (status, _, read) = call(api, "GET", &format!("{orders}/{id}"), &[("Authorization", auth.as_str())], "").await;
    assert_eq!((status, &read), (200, &first));

    // A bad body: the gateway's 400, and no function ran for it (the access log names none).
    let headers = [("Authorization", auth.as_str()), ("Idempotency-Key", "e2e-bad"), json_body];
    let (status, _, body) = call(api, "POST", &orders, &headers, r#"{"items":[],"currency":"USD"}"#).await;
    assert_eq!((status, body), (400, json!({"message": "Invalid request body"})));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused: Vec<String> =
        dev.log_lines().into_iter().filter(|l| l.starts_with(&format!("POST {orders} 400"))).collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(!refused[0].contains(" -> "), "a function ran for a bad body: {}", refused[0]);

    // An unknown key, well-formed: the authorizer's Deny (403); a malformed one: 401.
    let unknown = format!("ApiKey ak_{}_{}", "0".repeat(26), "0".repeat(48));
    let (status, _, _) = call(api, "GET", &orders, &[("Authorization", unknown.as_str())], "").await;
    assert_eq!(status, 403);
    let (status, _, _) = call(api, "GET", &orders, &[("Authorization", "ApiKey nope")], "").await;
    assert_eq!(status, 401);

    an_export_reaches_s3(&dev).await;

    // The free tier's usage plan: burst 20, 10 per second; a burst of 60 gets 429s.
    let (free, free_tenant) = dev.key("free");
    let free_auth = format!("ApiKey {free}");
    let free_orders = format!("/tenants/{free_tenant}/orders");
    let calls = (0..60).map(|_| {
        let (auth, path) = (free_auth.clone(), free_orders.clone());
        tokio::spawn(async move { call(api, "GET", &path, &[("Authorization", &auth)], "").await })
    });
    let mut statuses = BTreeMap::new();
    for c in calls {
        let (status, _, body) = c.await.unwrap();
        *statuses.entry(status).or_insert(0) += 1;
        if status == 429 {
            assert_eq!(body, json!({"message": "Too Many Requests"}));
        }
    }
    assert!(statuses.get(&429).copied().unwrap_or(0) > 0, "{statuses:?}");
    assert!(statuses.get(&200).copied().unwrap_or(0) > 0, "{statuses:?}");

    // Ctrl-C: the process ends and nothing it started is left listening.
    assert!(dev.interrupt(), "rcdk-dev did not stop on SIGINT");
    assert!(!listening(api.port()), "the gateway still listens");
    assert!(!listening(dev.moto_port), "the local cloud still listens");
}

/// A signed GET (S3's REST protocol): status and body as text.
async fn aws_get(url: &str, service: &str) -> (u16, String) {
    let host = url.split("://").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let mut req = http::Request::get(url).header("host", host).body(bytes::Bytes::new()).unwrap();
    let credentials = aws_credential_types::Credentials::new("testing", "testing", None, None, "e2e");
    powertools::http::sign_sigv4(&mut req, &credentials, "us-east-1", service, std::time::SystemTime::now()).unwrap();
    let client = powertools::http::HttpClient::new(Duration::from_secs(10)).unwrap();
    let resp = client.send(req).await.unwrap();
    (resp.status, String::from_utf8_lossy(&resp.body).into_owned())
}

/// Polls `check` every 250 ms until it is true or `limit` passes.
async fn eventually(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

/// An export, through the API as a client makes it: `POST .../exports` starts the export workflow (Step Functions
/// through the AWS endpoint, run by the local interpreter), whose exporter writes the tenant's export to S3 and
/// whose status the API reads back (`DescribeExecution`).
async fn an_export_reaches_s3(dev: &DevProcess) {
    let api = dev.api();
    let endpoint = dev.banner_value("AWS endpoint").expect("the banner names the AWS endpoint the handlers use");
    let (key, tenant) = dev.key("pro");
    let auth = format!("ApiKey {key}");
    let json_body = ("Content-Type", "application/json");

    let headers = [("Authorization", auth.as_str()), ("Idempotency-Key", "e2e-export"), json_body];
    let (status, _, started) = call(api, "POST", &format!("/tenants/{tenant}/exports"), &headers, "{}").await;
    assert_eq!(status, 202, "{started}");
    let export_id = started["export_id"].as_str().expect("an export id").to_owned();
    let export_path = format!("/tenants/{tenant}/exports/{export_id}");
    let succeeded = eventually(Duration::from_secs(60), async || {
        let (_, _, export) = call(api, "GET", &export_path, &[("Authorization", &auth)], "").await;
        export["status"] == "succeeded" && export["download_url"].is_string()
    })
    .await;
    assert!(succeeded, "export {export_id} did not succeed:\n{}", dev.log_lines().join("\n"));
    let exported = eventually(Duration::from_secs(10), async || {
        let (_, buckets) = aws_get(&format!("{endpoint}/"), "s3").await;
        let Some(bucket) = buckets
            .split("<Name>")
            .skip(1)
            .filter_map(|s| s.split("</Name>").next())
            .find(|b| b.to_ascii_lowercase().contains("export"))
        else {
            return false;
        };
        let (_, listing) = aws_get(&format!("{endpoint}/{bucket}?list-type=2"), "s3").await;
        listing.contains(&tenant)
    })
    .await;
    assert!(exported, "no export of {tenant} in S3:\n{}", dev.log_lines().join("\n"));

    // An invoice, after the order replays above (each a cancelled transaction, which moto answers by restoring
    // the table from a copy, a new stream shard): its stream record becomes `InvoiceGenerated`, the Billing rule
    // queues a PDF job, the renderer stores the PDF in S3 and marks the invoice ready.
    let invoice = r#"{"lines":[{"description":"e2e","quantity":2,"unit_price_cents":495}],"currency":"EUR"}"#;
    let headers = [("Authorization", auth.as_str()), ("Idempotency-Key", "e2e-invoice"), json_body];
    let (status, _, created) = call(api, "POST", &format!("/tenants/{tenant}/invoices"), &headers, invoice).await;
    assert_eq!(status, 201, "{created}");
    let invoice_id = created["invoice_id"].as_str().expect("an invoice id").to_owned();
    let invoice_path = format!("/tenants/{tenant}/invoices/{invoice_id}");
    let ready = eventually(Duration::from_secs(60), async || {
        let (_, _, invoice) = call(api, "GET", &invoice_path, &[("Authorization", &auth)], "").await;
        invoice["status"] == "ready" && invoice["pdf_url"].is_string() && invoice["amount_cents"] == 990
    })
    .await;
    assert!(ready, "invoice {invoice_id} has no PDF:\n{}", dev.log_lines().join("\n"));

    // An upload: the API presigns a PUT that points at the AWS endpoint (the proxy, which forwards to moto); the
    // PUT stores the file, the bucket's notification (configured by the dev command: moto's CloudFormation skips
    // it) queues it, the scanner accepts it.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let upload = json!({"content_type": "image/png", "content_length": png.len(), "file_name": "e2e.png"});
    let headers = [("Authorization", auth.as_str()), ("Idempotency-Key", "e2e-upload"), json_body];
    let (status, _, created) =
        call(api, "POST", &format!("/tenants/{tenant}/uploads"), &headers, &upload.to_string()).await;
    assert_eq!(status, 201, "{created}");
    let url = created["upload_url"].as_str().expect("a presigned PUT");
    assert!(url.starts_with(&endpoint), "the URL points at the AWS endpoint: {url}");
    let put = http::Request::put(url).header("content-type", "image/png").body(bytes::Bytes::from_static(png)).unwrap();
    let stored = powertools::http::HttpClient::new(Duration::from_secs(10)).unwrap().send(put).await.unwrap();
    assert_eq!(stored.status, 200, "{}", String::from_utf8_lossy(&stored.body));
    let upload_path = format!("/tenants/{tenant}/uploads/{}", created["upload_id"].as_str().unwrap());
    let accepted = eventually(Duration::from_secs(60), async || {
        let (_, _, upload) = call(api, "GET", &upload_path, &[("Authorization", &auth)], "").await;
        upload["status"] == "accepted" && upload["detected_type"] == "image/png"
    })
    .await;
    assert!(accepted, "upload {upload_path} was not accepted:\n{}", dev.log_lines().join("\n"));
}

/// The webhook path: an order's stream record reaches the bus, the Notifications rule queues it, the webhook
/// worker delivers it to the sink (`--webhook-sink`), signed.
#[tokio::test(flavor = "multi_thread")]
async fn an_order_reaches_the_sink_as_a_signed_webhook() {
    let mut dev = DevProcess::start_with(&out_dir("e2e-pipelines"), &["--webhook-sink"]);
    let api = dev.api();
    let (key, tenant) = dev.key("pro");
    let auth = format!("ApiKey {key}");
    let sink = dev.banner_value("webhook sink").expect("the banner names the webhook sink");

    // The tenant's webhook on the sink, then an order.
    let json_body = ("Content-Type", "application/json");
    let hook = json!({"url": sink}).to_string();
    let (status, _, body) =
        call(api, "PUT", &format!("/tenants/{tenant}/webhook"), &[("Authorization", &auth), json_body], &hook).await;
    assert_eq!(status, 200, "{body}");
    let order = r#"{"items":[{"sku":"a","quantity":1,"unit_price_cents":100}],"currency":"EUR"}"#;
    let headers = [("Authorization", auth.as_str()), ("Idempotency-Key", "e2e-webhook"), json_body];
    let (status, _, created) = call(api, "POST", &format!("/tenants/{tenant}/orders"), &headers, order).await;
    assert_eq!(status, 201, "{created}");
    let order_id = created["order_id"].as_str().unwrap().to_owned();
    // The sink prints each delivery with its signature check.
    // The sink prints a delivery as a verdict line (`webhook POST / signature valid (tenant T)`), its headers, then
    // its body: the verdict must be valid for this tenant and the body the order's event.
    let verdict = format!("signature valid (tenant {tenant})");
    let delivered = eventually(Duration::from_secs(30), async || {
        let lines = dev.log_lines();
        lines.iter().enumerate().any(|(i, l)| {
            l.contains(&verdict)
                && lines[i..].iter().take(8).any(|b| b.contains("\"type\":\"OrderCreated\"") && b.contains(&order_id))
        })
    })
    .await;
    assert!(delivered, "no signed delivery of {order_id}:\n{}", dev.log_lines().join("\n"));

    assert!(dev.interrupt());
}
