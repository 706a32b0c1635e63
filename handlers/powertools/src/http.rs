//! A small HTTP(S) client for calls outside AWS SDKs (webhook deliveries, OpenSearch): hyper with rustls on
//! ring and the system trust store, the same TLS stack the SDK clients use (no second one in the binary).
//!
//! Build it lazily (on first use), not in `main`: reading the trust store costs milliseconds of cold start.

use std::future::Ready;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;

/// Errors of [`HttpClient`].
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The trust store could not be loaded.
    #[error("tls setup failed: {0}")]
    Tls(String),
    /// No complete response within the timeout.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// Connection or protocol failure.
    #[error("request failed: {0}")]
    Request(String),
    /// The response body could not be read.
    #[error("reading the response body failed: {0}")]
    Body(String),
    /// The request could not be signed.
    #[error("sigv4 signing failed: {0}")]
    Signing(String),
}

/// Signs a request with SigV4 (`aws-sigv4`, the signer the SDK uses) for `service` in `region` at `time`: adds
/// `authorization`, `x-amz-date` and, with session credentials, `x-amz-security-token`. Set every header to be
/// signed (`host`, `content-type`) before calling.
pub fn sign_sigv4(
    req: &mut http::Request<Bytes>,
    credentials: &aws_credential_types::Credentials,
    region: &str,
    service: &str,
    time: std::time::SystemTime,
) -> Result<(), HttpError> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let identity = credentials.clone().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| HttpError::Signing(e.to_string()))?
        .into();
    let uri = req.uri().to_string();
    let headers: Vec<(&str, &str)> =
        req.headers().iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))).collect();
    let signable =
        SignableRequest::new(req.method().as_str(), &uri, headers.into_iter(), SignableBody::Bytes(req.body()))
            .map_err(|e| HttpError::Signing(e.to_string()))?;
    let (instructions, _) = sign(signable, &params).map_err(|e| HttpError::Signing(e.to_string()))?.into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}

/// A response with its body read.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// A DNS "resolver" that answers every name with the same, already vetted, addresses: the connection goes to
/// exactly those (see [`HttpClient::send_pinned`]).
#[derive(Clone, Debug)]
struct Pinned(Vec<SocketAddr>);

impl tower_service::Service<Name> for Pinned {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Name) -> Self::Future {
        std::future::ready(Ok(self.0.clone().into_iter()))
    }
}

/// The client. Cheap to clone (shares its connection pool).
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// The TLS settings (trust store loaded once), reused by [`HttpClient::send_pinned`].
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

impl HttpClient {
    /// A client whose every request (connect, send, read body) must finish within `timeout`.
    pub fn new(timeout: Duration) -> Result<HttpClient, HttpError> {
        use hyper_rustls::ConfigBuilderExt;
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpError::Tls(e.to_string()))?
            .with_native_roots()
            .map_err(|e| HttpError::Tls(e.to_string()))?
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        let client = Client::builder(TokioExecutor::new()).build(https_connector(tls.clone(), http));
        Ok(HttpClient { client, tls: Arc::new(tls), timeout })
    }

    /// Sends the request and reads the whole response.
    pub async fn send(&self, req: http::Request<Bytes>) -> Result<HttpResponse, HttpError> {
        send_with(&self.client, req, self.timeout).await
    }

    /// Sends the request to one of `addrs` only, without resolving the URL's host: the caller resolved and vetted
    /// the addresses, and a second lookup could answer differently (DNS rebinding). TLS still checks the
    /// certificate against the URL's host name. Each call has its own connection (no pooling across calls):
    /// the pool is keyed by host, and a pooled connection must not outlive the vetting of its address.
    pub async fn send_pinned(
        &self,
        req: http::Request<Bytes>,
        addrs: Vec<SocketAddr>,
    ) -> Result<HttpResponse, HttpError> {
        let mut http = HttpConnector::new_with_resolver(Pinned(addrs));
        http.enforce_http(false);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(https_connector(self.tls.as_ref().clone(), http));
        send_with(&client, req, self.timeout).await
    }
}

/// HTTPS (and, for loopback test servers, plain HTTP: callers that must use TLS check the scheme themselves)
/// over `http`, HTTP/1.1.
fn https_connector<R>(
    tls: rustls::ClientConfig,
    http: HttpConnector<R>,
) -> hyper_rustls::HttpsConnector<HttpConnector<R>> {
    hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http)
}

async fn send_with<C>(
    client: &Client<C, Full<Bytes>>,
    req: http::Request<Bytes>,
    timeout: Duration,
) -> Result<HttpResponse, HttpError>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    let (parts, body) = req.into_parts();
    let req = http::Request::from_parts(parts, Full::new(body));
    let fut = async {
        let resp = client.request(req).await.map_err(|e| HttpError::Request(e.to_string()))?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.map_err(|e| HttpError::Body(e.to_string()))?.to_bytes();
        Ok(HttpResponse { status: parts.status.as_u16(), headers: parts.headers, body })
    };
    tokio::time::timeout(timeout, fut).await.map_err(|_| HttpError::Timeout(timeout))?
}
