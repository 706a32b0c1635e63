//! The `--webhook-sink` receiver: an HTTP server on 127.0.0.1 a tenant's webhook URL can point at. It prints
//! each delivery (method, path, the webhook headers, body), checks its signature as a tenant would (the Standard
//! Webhooks scheme the webhook worker signs with: `webhook_worker::verify` with the tenant's key derived from the
//! platform's signing secret), keeps it for tests, and answers 200 whatever the signature (a refusal would only
//! make the worker retry: the verdict is printed instead).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::proxy::Log;

/// How far a delivery's `webhook-timestamp` may be from now: the Standard Webhooks' suggested tolerance.
/// <https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#verifying-webhook-authenticity>
pub const TOLERANCE_SECONDS: u64 = 5 * 60;

/// What the signature check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signed with the key of `tenant` (the body's `tenant_id`), within the tolerance.
    Valid { tenant: String },
    /// Not acceptable, and why.
    Invalid(String),
}

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub verdict: Verdict,
}

impl Delivery {
    /// The value of header `name` (lowercase), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A running sink.
pub struct Sink {
    address: SocketAddr,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    task: JoinHandle<()>,
}

impl Sink {
    /// `http://127.0.0.1:<port>`: what a tenant's webhook URL names.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every delivery so far, in arrival order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// Stops listening.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the sink on 127.0.0.1:`port` (0: any free port), checking signatures against `secret`, the platform's
/// webhook signing secret (the secret string's bytes, as the worker reads it from Secrets Manager).
pub async fn start(port: u16, secret: Vec<u8>, log: Log) -> std::io::Result<Sink> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    let deliveries = Arc::new(Mutex::new(Vec::new()));
    let state = Arc::new((secret, log, deliveries.clone()));
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let state = state.clone();
                    async move {
                        let (secret, log, deliveries) = &*state;
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let headers: Vec<(String, String)> = parts
                            .headers
                            .iter()
                            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                            .collect();
                        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
                        let mut delivery = Delivery {
                            method: parts.method.to_string(),
                            path: parts.uri.path().to_owned(),
                            headers,
                            body,
                            verdict: Verdict::Invalid(String::new()),
                        };
                        delivery.verdict = verify(secret, &delivery, now);
                        log(&describe(&delivery));
                        if let Ok(mut d) = deliveries.lock() {
                            d.push(delivery);
                        }
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(Sink { address, deliveries, task })
}

/// Checks `d` as a tenant's receiver does: the three webhook headers, the tenant from the body, the signature
/// over `<timestamp>.<body>` with the tenant's key, the timestamp within [`TOLERANCE_SECONDS`] of `now`.
pub fn verify(secret: &[u8], d: &Delivery, now: u64) -> Verdict {
    let (Some(_), Some(timestamp), Some(signature)) =
        (d.header("webhook-id"), d.header("webhook-timestamp"), d.header("webhook-signature"))
    else {
        return Verdict::Invalid("missing one of the webhook-id, webhook-timestamp, webhook-signature headers".into());
    };
    let body: Value = match serde_json::from_slice(&d.body) {
        Ok(v) => v,
        Err(e) => return Verdict::Invalid(format!("the body is not JSON: {e}")),
    };
    let Some(tenant) = body.get("tenant_id").and_then(Value::as_str) else {
        return Verdict::Invalid("the body has no tenant_id to derive the key from".into());
    };
    let key = webhook_worker::tenant_key(secret, tenant);
    if !webhook_worker::verify(&key, timestamp, &d.body, signature, now, TOLERANCE_SECONDS) {
        return Verdict::Invalid(format!(
            "signature {signature} does not match the body with tenant {tenant}'s key at timestamp {timestamp} (or the timestamp is more than {TOLERANCE_SECONDS} s from now)"
        ));
    }
    Verdict::Valid { tenant: tenant.to_owned() }
}

/// The printed form: a summary line, the webhook headers, the body.
fn describe(d: &Delivery) -> String {
    let verdict = match &d.verdict {
        Verdict::Valid { tenant } => format!("signature valid (tenant {tenant})"),
        Verdict::Invalid(why) => format!("SIGNATURE INVALID: {why}"),
    };
    let mut out = format!("webhook {} {} {verdict}", d.method, d.path);
    for (n, v) in d.headers.iter().filter(|(n, _)| n.starts_with("webhook-") || n == "content-type") {
        out.push_str(&format!("\n  {n}: {v}"));
    }
    out.push_str(&format!("\n  {}", String::from_utf8_lossy(&d.body)));
    out
}
