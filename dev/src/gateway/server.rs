//! The gateway over HTTP/1.1 (hyper) on a given address.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{Clock, Gateway, Request, Response};
use crate::invoke::Invoke;

/// A running server: its address and the task that accepts connections (abort it to stop).
pub struct Server {
    pub address: SocketAddr,
    pub task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// API Gateway's payload limit: 10 MB. <https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>
const MAX_BODY: usize = 10 * 1024 * 1024;

/// Serves `gateway` on `address` (port 0: any free port) until the returned [`Server`] is dropped.
pub async fn serve<I: Invoke, C: Clock>(gateway: Arc<Gateway<I, C>>, address: SocketAddr) -> std::io::Result<Server> {
    let listener = TcpListener::bind(address).await?;
    let address = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                // Out of file descriptors, most likely: let connections close instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let gateway = gateway.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let gateway = gateway.clone();
                    async move { Ok::<_, Infallible>(answer(&gateway, req, peer).await) }
                });
                // A client that hangs up mid-request is its own business.
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(Server { address, task })
}

async fn answer<I: Invoke, C: Clock>(
    gateway: &Gateway<I, C>,
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return to_hyper(Response {
                status: 413,
                headers: vec![("content-type".into(), "application/json".into())],
                body: Bytes::from_static(b"{\"message\":\"Request Too Long\"}"),
            });
        }
    };
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let request = Request {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        headers,
        body,
        source_ip: peer.ip().to_string(),
    };
    to_hyper(gateway.handle(request).await)
}

fn to_hyper(response: Response) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(response.body));
    *out.status_mut() = http::StatusCode::from_u16(response.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    for (name, value) in response.headers {
        if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_str(&value)) {
            out.headers_mut().append(n, v);
        }
    }
    out
}
