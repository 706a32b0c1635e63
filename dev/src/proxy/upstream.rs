//! The local cloud behind the proxy: requests forwarded verbatim, and the few calls the proxy makes itself
//! (an SQS `SendMessage` for a rule's queue target).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// Headers that describe one connection, not the message: never forwarded
/// (<https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1>). The body is forwarded whole, so its length is
/// recomputed, and `expect: 100-continue` (the S3 SDK's, on uploads) was already answered by the proxy's server.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "expect",
];

pub(crate) struct Upstream {
    /// `http://host:port`, no trailing slash.
    base: String,
    region: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Upstream {
    /// `None` when `url` is not `http://...`.
    pub(crate) fn new(url: &str, region: &str) -> Option<Upstream> {
        let base = url.trim_end_matches('/');
        let rest = base.strip_prefix("http://")?;
        if rest.is_empty() || rest.contains('/') {
            return None;
        }
        Some(Upstream {
            base: base.to_owned(),
            region: region.to_owned(),
            client: Client::builder(TokioExecutor::new()).build(connector()),
        })
    }

    /// Sends the request as it came (method, path, query, headers, body; the `Host` kept, so URLs moto builds
    /// from it, like queue URLs, point back at the proxy) and answers what moto answered.
    pub(crate) async fn forward(&self, parts: http::request::Parts, body: Bytes) -> hyper::Response<Full<Bytes>> {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut req = http::Request::builder().method(parts.method).uri(format!("{}{path}", self.base));
        for (name, value) in &parts.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                req = req.header(name, value);
            }
        }
        match self.send(req, body).await {
            Ok((head, body)) => {
                let mut out = hyper::Response::new(Full::new(body));
                *out.status_mut() = head.status;
                for (name, value) in &head.headers {
                    if !HOP_BY_HOP.contains(&name.as_str()) {
                        out.headers_mut().append(name, value.clone());
                    }
                }
                out
            }
            Err(problem) => {
                let body = json!({"message": format!("the local cloud at {} did not answer: {problem}", self.base)});
                let mut out = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
                *out.status_mut() = http::StatusCode::BAD_GATEWAY;
                out
            }
        }
    }

    async fn send(&self, req: http::request::Builder, body: Bytes) -> Result<(http::response::Parts, Bytes), String> {
        let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
        let response = self.client.request(req).await.map_err(|e| e.to_string())?;
        let (head, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((head, body))
    }

    /// A call in the AWS JSON 1.0 protocol to `service` (its signing name: `sqs`). Moto picks the service and
    /// region from the credential scope of the `Authorization` header and checks no signature, so the header
    /// only carries the scope.
    pub(crate) async fn call_json(&self, service: &str, target: &str, input: &Value) -> Result<Value, String> {
        let scope = format!(
            "AWS4-HMAC-SHA256 Credential=local/20260101/{}/{service}/aws4_request, SignedHeaders=host, Signature=0",
            self.region
        );
        let req = http::Request::builder()
            .method("POST")
            .uri(format!("{}/", self.base))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            .header("authorization", scope);
        let (head, body) = self.send(req, Bytes::from(input.to_string())).await?;
        if !head.status.is_success() {
            return Err(format!("{target} answered {}: {}", head.status, String::from_utf8_lossy(&body)));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{target} answered no JSON: {e}"))
    }

    /// `SendMessage` to the queue at `url`.
    pub(crate) async fn send_message(&self, url: &str, body: &str, group_id: Option<&str>) -> Result<(), String> {
        let mut input = json!({"QueueUrl": url, "MessageBody": body});
        if let Some(g) = group_id {
            input["MessageGroupId"] = json!(g);
        }
        self.call_json("sqs", "AmazonSQS.SendMessage", &input).await.map(drop)
    }
}

/// A plain HTTP connector without Nagle's algorithm: a small request goes out at once instead of possibly
/// waiting for the peer's delayed ACK, as every hop of a local call should.
fn connector() -> HttpConnector {
    let mut c = HttpConnector::new();
    c.set_nodelay(true);
    c
}
