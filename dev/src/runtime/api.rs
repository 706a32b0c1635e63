//! The Lambda Runtime API one sandbox talks to: `next` hands it the next invocation, `response` and `error` post
//! its outcome, `init/error` reports a failed start.
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// One invocation handed to the sandbox.
#[derive(Debug)]
pub struct Invocation {
    pub request_id: String,
    pub payload: Value,
    /// Milliseconds since the epoch.
    pub deadline_ms: u64,
    pub function_arn: String,
    pub trace_id: String,
    /// Where the outcome goes.
    pub outcome: oneshot::Sender<Outcome>,
}

/// What the function posted for an invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Response(Value),
    /// `errorType`, `errorMessage`.
    Error {
        error_type: String,
        message: String,
    },
}

/// The synchronous invocation payload limit: 6 MB. <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>
const MAX_RESPONSE: usize = 6 * 1024 * 1024;

const PREFIX: &str = "/2018-06-01/runtime";

/// The server of one sandbox.
pub struct RuntimeApi {
    pub address: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<oneshot::Sender<String>>>,
}

impl RuntimeApi {
    /// Starts a server on a free local port. Invocations sent on the returned sender are handed out by `next`;
    /// an init error posted by the function arrives on the returned receiver.
    pub async fn start() -> std::io::Result<(RuntimeApi, mpsc::Sender<Invocation>, oneshot::Receiver<String>)> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let (tx, rx) = mpsc::channel(1);
        let (init_tx, init_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            next: tokio::sync::Mutex::new(rx),
            pending: Mutex::new(HashMap::new()),
            init_error: Mutex::new(Some(init_tx)),
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors, most likely: let connections close instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(answer(&shared, req).await) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok((RuntimeApi { address, task }, tx, init_rx))
    }
}

fn reply(status: u16, body: Value) -> hyper::Response<Full<Bytes>> {
    let mut r = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    r
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn answer(shared: &Shared, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return reply(404, json!({"errorType": "InvalidPath", "errorMessage": path}));
    };
    if method == http::Method::GET && rest == "/invocation/next" {
        // Long poll: the function waits here between invocations.
        let Some(inv) = shared.next.lock().await.recv().await else {
            return reply(500, json!({"errorType": "SandboxStopped", "errorMessage": "no more invocations"}));
        };
        lock(&shared.pending).insert(inv.request_id.clone(), inv.outcome);
        let mut r = hyper::Response::new(Full::new(Bytes::from(inv.payload.to_string())));
        let h = r.headers_mut();
        let mut set = |name: &'static str, value: &str| {
            if let Ok(v) = http::HeaderValue::from_str(value) {
                h.insert(name, v);
            }
        };
        set("lambda-runtime-aws-request-id", &inv.request_id);
        set("lambda-runtime-deadline-ms", &inv.deadline_ms.to_string());
        set("lambda-runtime-invoked-function-arn", &inv.function_arn);
        set("lambda-runtime-trace-id", &inv.trace_id);
        set("content-type", "application/json");
        return r;
    }
    let error_type_header =
        req.headers().get("lambda-runtime-function-error-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = match http_body_util::Limited::new(req.into_body(), MAX_RESPONSE).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(_) => Err(()),
    };
    if method == http::Method::POST && rest == "/init/error" {
        let message = body.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        if let Some(tx) = lock(&shared.init_error).take() {
            let _ = tx.send(message);
        }
        return reply(202, json!({"status": "OK"}));
    }
    let Some((id, kind)) = rest.strip_prefix("/invocation/").and_then(|r| r.split_once('/')) else {
        return reply(404, json!({"errorType": "InvalidPath", "errorMessage": path}));
    };
    if method != http::Method::POST || !matches!(kind, "response" | "error") {
        return reply(404, json!({"errorType": "InvalidPath", "errorMessage": path}));
    }
    let Some(outcome) = lock(&shared.pending).remove(id) else {
        return reply(
            400,
            json!({"errorType": "InvalidRequestID", "errorMessage": format!("no invocation {id} in flight")}),
        );
    };
    let outcome_value = match (kind, body) {
        (_, Err(())) => Outcome::Error {
            error_type: "Function.ResponseSizeTooLarge".into(),
            message: format!("the response is over the {MAX_RESPONSE} bytes of a synchronous invocation"),
        },
        ("response", Ok(b)) => match serde_json::from_slice(&b) {
            Ok(v) => Outcome::Response(v),
            Err(e) => Outcome::Error { error_type: "Runtime.InvalidResponse".into(), message: e.to_string() },
        },
        (_, Ok(b)) => {
            let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
            Outcome::Error {
                error_type: v
                    .get("errorType")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .or(error_type_header)
                    .unwrap_or_else(|| "Unhandled".into()),
                message: v.get("errorMessage").and_then(Value::as_str).unwrap_or_default().to_owned(),
            }
        }
    };
    // The caller may have given up (timeout): nothing to do then.
    let _ = outcome.send(outcome_value);
    reply(202, json!({"status": "OK"}))
}
