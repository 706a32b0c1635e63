//! AWS calls without an SDK client, signed with SigV4 (`aws-sigv4`, the SDK's own signer): S3 `PutObject`, a
//! ranged `GetObject`, `CopyObject` and `DeleteObject`, presigned S3 `GET`s and `PUT`s (the latter binding the
//! content type and length), and Step Functions' JSON API (`StartExecution`, `DescribeExecution`).
//!
//! Why not the SDK clients: each is a few hundred KB of the 3 MB zip budget (the S3 client alone brings crc-fast's
//! tables, BENCHMARKS.md), for one or two calls that are a signed HTTP request each. The API function presigns
//! and calls Step Functions; the invoice renderer puts one object per job.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use bytes::Bytes;
use serde_json::Value;

use crate::config::{ConfigError, Env};
use crate::http::{HttpClient, HttpError};

/// SigV4 presigned URLs live at most 7 days
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html>).
pub const MAX_PRESIGN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a signed call failed.
#[derive(Debug, thiserror::Error)]
pub enum SignedError {
    /// The request could not be built or signed (a bad URL, a bad header value).
    #[error("{0}")]
    Request(String),
    /// The call did not complete (connection, timeout).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The service answered an error: its status, its error type (`__type` of a JSON error, the `<Code>` of an S3
    /// one, empty when there is none) and its message.
    #[error("{service} answered {status} {code}: {message}")]
    Service { service: &'static str, status: u16, code: String, message: String },
}

impl SignedError {
    /// Whether retrying may succeed: throttling, 5xx and transport failures.
    pub fn is_retryable(&self) -> bool {
        match self {
            SignedError::Request(_) => false,
            SignedError::Http(_) => true,
            SignedError::Service { status, code, .. } => {
                *status >= 500 || *status == 429 || code.contains("Throttl") || code == "SlowDown"
            }
        }
    }
}

/// Where and as whom the calls go: the region, the function's credentials and, for local runs, one endpoint
/// for every service (`AWS_ENDPOINT_URL`, moto: S3 then uses path-style URLs).
#[derive(Clone, Debug)]
pub struct Signer {
    pub region: String,
    pub credentials: Credentials,
    pub endpoint: Option<String>,
}

impl Signer {
    /// From the Lambda environment: `AWS_REGION` (or `AWS_DEFAULT_REGION`), the credentials
    /// ([`crate::aws::credentials_from`]) and `AWS_ENDPOINT_URL` when set.
    pub fn from_env(env: &Env<'_>) -> Result<Signer, ConfigError> {
        let region = env
            .optional("AWS_REGION")
            .or_else(|| env.optional("AWS_DEFAULT_REGION"))
            .ok_or(ConfigError::Missing("AWS_REGION"))?;
        Ok(Signer {
            region,
            credentials: crate::aws::credentials_from(env)?,
            endpoint: env
                .optional("AWS_ENDPOINT_URL")
                .filter(|e| !e.is_empty())
                .map(|e| e.trim_end_matches('/').into()),
        })
    }

    /// The URL of an S3 object: virtual-hosted in AWS, path-style on a local endpoint (moto serves one host).
    pub fn s3_object_url(&self, bucket: &str, key: &str) -> String {
        let key = encode_key(key);
        match &self.endpoint {
            Some(e) => format!("{e}/{bucket}/{key}"),
            None => format!("https://{bucket}.s3.{}.amazonaws.com/{key}", self.region),
        }
    }

    /// A presigned `GET` of `bucket`/`key`, valid for `ttl` from `now` (at most [`MAX_PRESIGN_TTL`]).
    pub fn presign_get(&self, bucket: &str, key: &str, ttl: Duration, now: SystemTime) -> Result<String, SignedError> {
        check_ttl(ttl)?;
        let url = self.s3_object_url(bucket, key);
        let mut req = request("GET", &url, &[], Bytes::new())?;
        let mut settings = s3_settings();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(ttl);
        self.sign_with(&mut req, "s3", settings, now, true)?;
        Ok(req.uri().to_string())
    }

    /// A presigned `PUT` of `bucket`/`key`, valid for `ttl` from `now` (at most [`MAX_PRESIGN_TTL`]), that binds
    /// the object's `Content-Type` and `Content-Length`: both are signed headers (`X-Amz-SignedHeaders=
    /// content-length;content-type;host`), so S3 refuses a `PUT` whose headers differ from these values
    /// (`SignatureDoesNotMatch`). Returns the URL and the headers the client must send.
    pub fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
        content_length: u64,
        ttl: Duration,
        now: SystemTime,
    ) -> Result<PresignedPut, SignedError> {
        check_ttl(ttl)?;
        let url = self.s3_object_url(bucket, key);
        let headers = vec![("content-length", content_length.to_string()), ("content-type", content_type.to_string())];
        let mut req = request("PUT", &url, &headers, Bytes::new())?;
        let mut settings = s3_settings();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(ttl);
        self.sign_with(&mut req, "s3", settings, now, true)?;
        Ok(PresignedPut { url: req.uri().to_string(), headers })
    }

    /// The first `n` bytes (at least 1) of `bucket`/`key` (`version` when given) with the object's size, type and
    /// ETag, through one ranged `GET` (`Range: bytes=0-<n-1>`; the size is the total of its `Content-Range`).
    /// `Ok(None)` when the object (or version) does not exist. An empty object has no byte 0: S3 answers 416,
    /// which is an empty head of size 0 here.
    pub async fn get_object_head(
        &self,
        http: &HttpClient,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        n: u64,
    ) -> Result<Option<ObjectHead>, SignedError> {
        let url = with_version(self.s3_object_url(bucket, key), version);
        let range = format!("bytes=0-{}", n.max(1) - 1);
        let mut req = request("GET", &url, &[("range", range)], Bytes::new())?;
        self.sign_with(&mut req, "s3", s3_settings(), SystemTime::now(), false)?;
        let resp = http.send(req).await?;
        let header = |name: &str| resp.headers.get(name).and_then(|v| v.to_str().ok()).map(String::from);
        let (content_type, etag) = (header("content-type"), header("etag").map(|e| e.trim_matches('"').to_string()));
        match resp.status {
            200 | 206 => {
                // 206: `Content-Range: bytes 0-15/12345`; 200 (a server that ignores the range): the body is all.
                let size = match header("content-range") {
                    Some(r) => r.rsplit('/').next().and_then(|t| t.parse::<u64>().ok()).ok_or_else(|| {
                        SignedError::Request(format!("s3 GET {key}: content-range {r:?} has no total size"))
                    })?,
                    None => resp.body.len() as u64,
                };
                let len = resp.body.len().min(usize::try_from(n).unwrap_or(usize::MAX));
                Ok(Some(ObjectHead { bytes: resp.body.slice(..len), size, content_type, etag }))
            }
            416 => Ok(Some(ObjectHead { bytes: Bytes::new(), size: 0, content_type, etag })),
            404 => Ok(None),
            status => Err(s3_error(status, &resp.body)),
        }
    }

    /// `CopyObject` of `bucket`/`from` (`version` when given) to `bucket`/`to`, in the bucket's default
    /// encryption. S3 may answer 200 with an error in the body (a copy that failed after it started): that is an
    /// error here too.
    pub async fn copy_object(
        &self,
        http: &HttpClient,
        bucket: &str,
        from: &str,
        version: Option<&str>,
        to: &str,
    ) -> Result<(), SignedError> {
        let url = self.s3_object_url(bucket, to);
        let source = with_version(format!("/{bucket}/{}", encode_key(from)), version);
        let mut req = request("PUT", &url, &[("x-amz-copy-source", source)], Bytes::new())?;
        self.sign_with(&mut req, "s3", s3_settings(), SystemTime::now(), false)?;
        let resp = http.send(req).await?;
        if resp.status == 200 && !String::from_utf8_lossy(&resp.body).contains("<Error>") {
            return Ok(());
        }
        Err(s3_error(resp.status, &resp.body))
    }

    /// `DeleteObject` of `bucket`/`key`: of `version` for good when given (in a versioned bucket a delete without
    /// one only adds a delete marker). Deleting what is not there succeeds (S3 answers 204), so it can be repeated.
    pub async fn delete_object(
        &self,
        http: &HttpClient,
        bucket: &str,
        key: &str,
        version: Option<&str>,
    ) -> Result<(), SignedError> {
        let url = with_version(self.s3_object_url(bucket, key), version);
        let mut req = request("DELETE", &url, &[], Bytes::new())?;
        self.sign_with(&mut req, "s3", s3_settings(), SystemTime::now(), false)?;
        let resp = http.send(req).await?;
        match resp.status {
            200 | 204 | 404 => Ok(()),
            status => Err(s3_error(status, &resp.body)),
        }
    }

    /// `PutObject` of `body` to `bucket`/`key`, encrypted with the KMS key `kms_key_arn` (`aws:kms`), as a
    /// bucket whose default encryption is that key would do anyway: saying it makes a put fail rather than
    /// store an object under another key if the bucket's default ever changes.
    pub async fn put_object(
        &self,
        http: &HttpClient,
        bucket: &str,
        key: &str,
        body: Bytes,
        content_type: &str,
        kms_key_arn: Option<&str>,
    ) -> Result<(), SignedError> {
        let url = self.s3_object_url(bucket, key);
        let mut headers = vec![("content-type", content_type.to_string())];
        if let Some(k) = kms_key_arn {
            headers.push(("x-amz-server-side-encryption", "aws:kms".into()));
            headers.push(("x-amz-server-side-encryption-aws-kms-key-id", k.into()));
        }
        let mut req = request("PUT", &url, &headers, body)?;
        self.sign_with(&mut req, "s3", s3_settings(), SystemTime::now(), false)?;
        let resp = http.send(req).await?;
        if resp.status == 200 {
            return Ok(());
        }
        Err(s3_error(resp.status, &resp.body))
    }

    /// One call of Step Functions' JSON API (`AWSStepFunctions.<action>`, JSON 1.0): the answer's JSON.
    pub async fn states(&self, http: &HttpClient, action: &str, input: &Value) -> Result<Value, SignedError> {
        let url = match &self.endpoint {
            Some(e) => format!("{e}/"),
            None => format!("https://states.{}.amazonaws.com/", self.region),
        };
        let headers = [
            ("content-type", "application/x-amz-json-1.0".to_string()),
            ("x-amz-target", format!("AWSStepFunctions.{action}")),
        ];
        let mut req = request("POST", &url, &headers, Bytes::from(input.to_string()))?;
        self.sign_with(&mut req, "states", SigningSettings::default(), SystemTime::now(), false)?;
        let resp = http.send(req).await?;
        let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
        if resp.status == 200 {
            return Ok(body);
        }
        // `__type` may carry a namespace (`com.amazonaws...#ExecutionAlreadyExists`).
        let code = body["__type"].as_str().unwrap_or("").rsplit('#').next().unwrap_or("").to_string();
        let message = body["message"].as_str().or_else(|| body["Message"].as_str()).unwrap_or("").to_string();
        Err(SignedError::Service { service: "states", status: resp.status, code, message })
    }

    fn sign_with(
        &self,
        req: &mut http::Request<Bytes>,
        service: &str,
        settings: SigningSettings,
        time: SystemTime,
        unsigned_payload: bool,
    ) -> Result<(), SignedError> {
        let bad = |e: &dyn std::fmt::Display| SignedError::Request(format!("signing a {service} request: {e}"));
        let identity = self.credentials.clone().into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(service)
            .time(time)
            .settings(settings)
            .build()
            .map_err(|e| bad(&e))?
            .into();
        let uri = req.uri().to_string();
        let headers: Vec<(&str, &str)> =
            req.headers().iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))).collect();
        let body = if unsigned_payload { SignableBody::UnsignedPayload } else { SignableBody::Bytes(req.body()) };
        let signable =
            SignableRequest::new(req.method().as_str(), &uri, headers.into_iter(), body).map_err(|e| bad(&e))?;
        let (instructions, _) = sign(signable, &params).map_err(|e| bad(&e))?.into_parts();
        instructions.apply_to_request_http1x(req);
        Ok(())
    }
}

/// A presigned `PUT` ([`Signer::presign_put`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedPut {
    pub url: String,
    /// The signed headers besides `host`, as the client must send them (lower-case names).
    pub headers: Vec<(&'static str, String)>,
}

/// The first bytes of an object and what S3 says of the whole ([`Signer::get_object_head`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectHead {
    /// At most the bytes asked for.
    pub bytes: Bytes,
    /// The object's size in bytes.
    pub size: u64,
    /// The stored `Content-Type`.
    pub content_type: Option<String>,
    /// The ETag, without its quotes.
    pub etag: Option<String>,
}

/// An S3 error answer: its `<Code>` and `<Message>` (empty when the body has none, a `HEAD` or a 404 without body).
fn s3_error(status: u16, body: &[u8]) -> SignedError {
    let text = String::from_utf8_lossy(body);
    let tag = |t: &str| {
        text.split(&format!("<{t}>")).nth(1).and_then(|r| r.split(&format!("</{t}>")).next()).unwrap_or("").into()
    };
    SignedError::Service { service: "s3", status, code: tag("Code"), message: tag("Message") }
}

/// A presigned URL's lifetime must be 1 s to [`MAX_PRESIGN_TTL`].
fn check_ttl(ttl: Duration) -> Result<(), SignedError> {
    if ttl.is_zero() || ttl > MAX_PRESIGN_TTL {
        return Err(SignedError::Request(format!(
            "presigned URL lifetime {}s is out of range, expected 1 to {}",
            ttl.as_secs(),
            MAX_PRESIGN_TTL.as_secs()
        )));
    }
    Ok(())
}

/// `url` with `?versionId=<version>` when there is one (version ids are URL-safe in S3, encoded anyway).
fn with_version(url: String, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{url}?versionId={}", encode_key(v).replace('/', "%2F")),
        None => url,
    }
}

/// S3's signing rules: the path is encoded once and not normalized, and the payload's SHA-256 travels in
/// `x-amz-content-sha256` (<https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>).
fn s3_settings() -> SigningSettings {
    let mut s = SigningSettings::default();
    s.percent_encoding_mode = PercentEncodingMode::Single;
    s.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    s.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    s
}

/// A request with `host` and `headers` set (what the signature covers).
fn request(
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Bytes,
) -> Result<http::Request<Bytes>, SignedError> {
    let uri: http::Uri = url.parse().map_err(|e| SignedError::Request(format!("url {url:?}: {e}")))?;
    let host = uri.authority().map(|a| a.as_str().to_string()).unwrap_or_default();
    let mut b = http::Request::builder().method(method).uri(uri).header("host", host);
    for (k, v) in headers {
        b = b.header(*k, v.as_str());
    }
    b.body(body).map_err(|e| SignedError::Request(format!("{method} {url}: {e}")))
}

/// An object key as a URL path: every byte but the unreserved ones and `/` percent-encoded (S3's rule).
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn signer(endpoint: Option<&str>) -> Signer {
        Signer {
            region: "eu-west-1".into(),
            credentials: Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test"),
            endpoint: endpoint.map(String::from),
        }
    }

    #[test]
    fn object_urls() {
        assert_eq!(
            signer(None).s3_object_url("b", "invoices/acme/01 x.pdf"),
            "https://b.s3.eu-west-1.amazonaws.com/invoices/acme/01%20x.pdf"
        );
        assert_eq!(
            signer(Some("http://127.0.0.1:5000")).s3_object_url("b", "k/a.pdf"),
            "http://127.0.0.1:5000/b/k/a.pdf"
        );
    }

    #[test]
    fn presigned_get_carries_the_query_signature_and_expiry() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let url = signer(None).presign_get("b", "invoices/acme/i1.pdf", Duration::from_secs(900), now).unwrap();
        assert!(url.starts_with("https://b.s3.eu-west-1.amazonaws.com/invoices/acme/i1.pdf?"), "{url}");
        for part in [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Feu-west-1%2Fs3%2Faws4_request",
            "X-Amz-Date=20231114T221320Z",
            "X-Amz-Expires=900",
            "X-Amz-SignedHeaders=host",
            "X-Amz-Security-Token=token",
            "X-Amz-Signature=",
        ] {
            assert!(url.contains(part), "{part} not in {url}");
        }
        let again = signer(None).presign_get("b", "invoices/acme/i1.pdf", Duration::from_secs(900), now).unwrap();
        assert_eq!(url, again, "deterministic for the same instant");
        for ttl in [Duration::ZERO, MAX_PRESIGN_TTL + Duration::from_secs(1)] {
            assert_eq!(
                signer(None).presign_get("b", "k", ttl, now).unwrap_err().to_string(),
                format!("presigned URL lifetime {}s is out of range, expected 1 to 604800", ttl.as_secs())
            );
        }
    }

    #[test]
    fn presigned_put_binds_the_content_type_and_length() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let PresignedPut { url, headers } =
            signer(None).presign_put("b", "uploads/acme/u1", "image/png", 1234, Duration::from_secs(300), now).unwrap();
        assert!(url.starts_with("https://b.s3.eu-west-1.amazonaws.com/uploads/acme/u1?"), "{url}");
        for part in ["X-Amz-Expires=300", "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"] {
            assert!(url.contains(part), "{part} not in {url}");
        }
        assert_eq!(headers, [("content-length", "1234".to_string()), ("content-type", "image/png".to_string())]);
        let PresignedPut { url: other, .. } =
            signer(None).presign_put("b", "uploads/acme/u1", "image/png", 1235, Duration::from_secs(300), now).unwrap();
        assert_ne!(url, other, "the length is in the signature");
        assert!(signer(None).presign_put("b", "k", "image/png", 1, Duration::ZERO, now).is_err());
    }

    #[test]
    fn versions_in_urls() {
        assert_eq!(with_version("u".into(), None), "u");
        assert_eq!(with_version("u".into(), Some("a/b+c")), "u?versionId=a%2Fb%2Bc");
    }

    #[test]
    fn retryable_errors() {
        let e = |status, code: &str| SignedError::Service {
            service: "states",
            status,
            code: code.into(),
            message: String::new(),
        };
        assert!(e(400, "ThrottlingException").is_retryable());
        assert!(e(503, "SlowDown").is_retryable());
        assert!(e(500, "").is_retryable());
        assert!(!e(400, "ExecutionAlreadyExists").is_retryable());
        assert!(!e(403, "AccessDenied").is_retryable());
        assert!(!SignedError::Request("x".into()).is_retryable());
    }
}
