//! A small HTTP(S) client for calls outside AWS SDKs (webhook deliveries, OpenSearch): hyper with rustls on
//! ring and the system trust store, the same TLS stack the SDK clients use (no second one in the binary).
//!
//! Build it lazily (on first use), not in `main`: reading the trust store costs milliseconds of cold start.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
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

/// The client. Cheap to clone (shares its connection pool).
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    /// A client whose every request (connect, send, read body) must finish within `timeout`.
    pub fn new(timeout: Duration) -> Result<HttpClient, HttpError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| HttpError::Tls(e.to_string()))?
            // Plain http is for loopback test servers; callers that must use TLS check the scheme themselves.
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(https);
        Ok(HttpClient { client, timeout })
    }

    /// Sends the request and reads the whole response.
    pub async fn send(&self, req: http::Request<Bytes>) -> Result<HttpResponse, HttpError> {
        let (parts, body) = req.into_parts();
        let req = http::Request::from_parts(parts, Full::new(body));
        let fut = async {
            let resp = self.client.request(req).await.map_err(|e| HttpError::Request(e.to_string()))?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.map_err(|e| HttpError::Body(e.to_string()))?.to_bytes();
            Ok(HttpResponse { status: parts.status.as_u16(), headers: parts.headers, body })
        };
        tokio::time::timeout(self.timeout, fut).await.map_err(|_| HttpError::Timeout(self.timeout))?
    }
}
