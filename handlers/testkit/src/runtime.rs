//! A local Lambda Runtime API (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>): hands a
//! handler binary its events and collects what it posts back, so a test can run the real binary (its `main`,
//! env parsing and client setup) end to end.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{Received, Receiver};

/// The server. Each `GET .../invocation/next` gets the next event; when none is left it answers 500 and the
/// runtime exits.
pub struct RuntimeApi {
    receiver: Receiver,
}

/// What the handler posted for one event.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub request_id: String,
    /// `response` or `error`.
    pub kind: String,
    pub body: Value,
}

impl RuntimeApi {
    pub async fn start(events: Vec<Value>) -> RuntimeApi {
        let next = Arc::new(AtomicUsize::new(0));
        let events = Arc::new(events);
        let receiver = Receiver::start_full(Arc::new(move |r: &Received, _| {
            if r.method == "GET" && r.path == "/2018-06-01/runtime/invocation/next" {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(event) = events.get(i) else { return (500, Vec::new(), "{}".into()) };
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() + 30_000)
                    .unwrap_or(0);
                let headers = vec![
                    ("lambda-runtime-aws-request-id".into(), format!("req-{i}")),
                    ("lambda-runtime-deadline-ms".into(), deadline.to_string()),
                    (
                        "lambda-runtime-invoked-function-arn".into(),
                        "arn:aws:lambda:us-east-1:123456789012:function:test".into(),
                    ),
                    ("lambda-runtime-trace-id".into(), "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into()),
                ];
                return (200, headers, event.to_string());
            }
            (202, Vec::new(), "{}".into())
        }))
        .await;
        RuntimeApi { receiver }
    }

    /// `127.0.0.1:<port>`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.receiver.port)
    }

    /// The env a handler binary needs besides its own: the Runtime API and the function's identity.
    pub fn lambda_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", "test".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test".into()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ]
    }

    /// Waits until `n` outcomes were posted (or `timeout`), and returns them.
    pub async fn outcomes(&self, n: usize, timeout: Duration) -> Vec<Outcome> {
        let deadline = Instant::now() + timeout;
        loop {
            let got: Vec<Outcome> = self
                .receiver
                .received()
                .into_iter()
                .filter(|r| r.method == "POST")
                .filter_map(|r| {
                    let rest = r.path.strip_prefix("/2018-06-01/runtime/invocation/")?;
                    let (id, kind) = rest.split_once('/')?;
                    Some(Outcome {
                        request_id: id.to_string(),
                        kind: kind.to_string(),
                        body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                    })
                })
                .collect();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
