//! SDK configuration for the handlers: one rustls (ring) HTTPS client, the region and credentials from the
//! Lambda environment, `AWS_ENDPOINT_URL` honoured, and DynamoDB clients whose calls are counted and retried by
//! [`crate::retry`] only.
//!
//! The config is built from the environment directly instead of `aws_config::load_defaults`: Lambda puts the
//! region and the function's credentials in env vars, and the default chain's other providers (profile files,
//! SSO, web identity through STS, IMDS, ECS) are never used there but cost binary size (the STS and SSO clients)
//! and start-up time (file reads). With no `aws-config` call left, LTO drops them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::config::{ConfigError, Env};

pub use aws_types::SdkConfig;

/// The roots AWS service endpoints chain to: Amazon Root CA 1 to 4 and the Starfield Services Root G2 that
/// cross-signs them (AWS endpoints use Amazon Trust Services certificates,
/// <https://www.amazontrust.com/repository/>). Trusting only these instead of the system store saves reading
/// and parsing ~150 certificate files when the first SDK client is built (about 3 ms of cold start, measured
/// with `examples/startup_cost.rs`), and narrows what an SDK connection accepts.
const AWS_ROOTS_PEM: &[u8] = include_bytes!("aws-roots.pem");

/// The SDK's HTTPS client: rustls on ring with the AWS roots, or the system roots when `native_roots` (a custom
/// `AWS_ENDPOINT_URL` may present another CA).
pub fn sdk_http_client(native_roots: bool) -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    let builder = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    if native_roots {
        return builder.build_https();
    }
    let store = TrustStore::empty().with_native_roots(false).with_pem_certificate(AWS_ROOTS_PEM);
    match TlsContext::builder().with_trust_store(store).build() {
        Ok(ctx) => builder.tls_context(ctx).build_https(),
        Err(e) => {
            tracing::warn!(error = %e, "AWS roots rejected, using the system trust store");
            builder.build_https()
        }
    }
}

/// The SDK config from the Lambda environment: `AWS_REGION` (or `AWS_DEFAULT_REGION`), the function's
/// credentials ([`credentials_from`]), and `AWS_ENDPOINT_URL` when set (local runs against moto), with the
/// ring-based rustls client. No IO: the trust store is read on the first HTTPS request.
pub fn config_from(env: &Env<'_>) -> Result<SdkConfig, ConfigError> {
    let region = env
        .optional("AWS_REGION")
        .or_else(|| env.optional("AWS_DEFAULT_REGION"))
        .ok_or(ConfigError::Missing("AWS_REGION"))?;
    let credentials = credentials_from(env)?;
    let endpoint = env.optional("AWS_ENDPOINT_URL").filter(|e| !e.is_empty());
    let http = sdk_http_client(endpoint.is_some());
    let mut b = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http)
        .time_source(aws_smithy_async::time::SystemTimeSource::new());
    if let Some(sleep) = aws_smithy_async::rt::sleep::default_async_sleep() {
        b = b.sleep_impl(sleep);
    }
    if let Some(endpoint) = endpoint {
        b = b.endpoint_url(endpoint);
    }
    Ok(b.build())
}

/// The function's credentials, which Lambda puts in the environment: `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (an empty token is none). For the few calls signed without an
/// SDK client (the authorizer's `GetApiKey`).
pub fn credentials_from(env: &Env<'_>) -> Result<Credentials, ConfigError> {
    Ok(Credentials::new(
        env.required("AWS_ACCESS_KEY_ID")?,
        env.required("AWS_SECRET_ACCESS_KEY")?,
        env.optional("AWS_SESSION_TOKEN").filter(|t| !t.is_empty()),
        None,
        "Environment",
    ))
}

/// A DynamoDB client with the SDK's retries off ([`crate::retry`] retries with full jitter and counts), plus an
/// optional call counter.
pub fn dynamodb_client(config: &SdkConfig, counter: Option<&CallCounter>) -> aws_sdk_dynamodb::Client {
    let mut b = aws_sdk_dynamodb::config::Builder::from(config).retry_config(RetryConfig::disabled());
    if let Some(c) = counter {
        b = b.interceptor(c.clone());
    }
    aws_sdk_dynamodb::Client::from_conf(b.build())
}

/// Counts requests sent per operation (every attempt is one HTTP request, i.e. one round trip). Used by tests
/// and benches to prove the round-trip counts in the module docs, and by handlers to emit a per-invocation
/// `DynamoDBCalls` metric.
#[derive(Clone, Debug, Default)]
pub struct CallCounter(Arc<Mutex<BTreeMap<String, u32>>>);

impl CallCounter {
    pub fn new() -> CallCounter {
        CallCounter::default()
    }
    /// Calls per operation name (`PutItem`, `TransactWriteItems`, ...).
    pub fn snapshot(&self) -> BTreeMap<String, u32> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }
    /// Total calls.
    pub fn total(&self) -> u32 {
        self.snapshot().values().sum()
    }
    /// Resets to zero, returning the previous counts.
    pub fn take(&self) -> BTreeMap<String, u32> {
        self.0.lock().map(|mut m| std::mem::take(&mut *m)).unwrap_or_default()
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg.load::<Metadata>().map(|m| m.name().to_string()).unwrap_or_else(|| "unknown".into());
        if let Ok(mut m) = self.0.lock() {
            *m.entry(op).or_default() += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn config_from_environment() {
        let c = config_from(&Env::from_pairs(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AK"),
            ("AWS_SECRET_ACCESS_KEY", "SK"),
            ("AWS_SESSION_TOKEN", ""),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]))
        .unwrap();
        assert_eq!(c.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(c.endpoint_url(), Some("http://127.0.0.1:5000"));
        assert!(c.credentials_provider().is_some() && c.http_client().is_some());
        let fallback = config_from(&Env::from_pairs(&[
            ("AWS_DEFAULT_REGION", "us-west-2"),
            ("AWS_ACCESS_KEY_ID", "AK"),
            ("AWS_SECRET_ACCESS_KEY", "SK"),
        ]))
        .unwrap();
        assert_eq!((fallback.region().map(|r| r.as_ref()), fallback.endpoint_url()), (Some("us-west-2"), None));
        assert_eq!(
            config_from(&Env::from_pairs(&[("AWS_REGION", "x")])).unwrap_err(),
            ConfigError::Missing("AWS_ACCESS_KEY_ID")
        );
        assert_eq!(config_from(&Env::from_pairs(&[])).unwrap_err(), ConfigError::Missing("AWS_REGION"));
    }

    #[test]
    fn credentials_from_environment() {
        let with = |token: &'static str| {
            credentials_from(&Env::from_pairs(&[
                ("AWS_ACCESS_KEY_ID", "AK"),
                ("AWS_SECRET_ACCESS_KEY", "SK"),
                ("AWS_SESSION_TOKEN", token),
            ]))
            .unwrap()
        };
        let c = with("TOKEN");
        assert_eq!((c.access_key_id(), c.secret_access_key(), c.session_token()), ("AK", "SK", Some("TOKEN")));
        assert_eq!(with("").session_token(), None, "an empty token is no token");
        assert_eq!(
            credentials_from(&Env::from_pairs(&[("AWS_ACCESS_KEY_ID", "AK")])).unwrap_err(),
            ConfigError::Missing("AWS_SECRET_ACCESS_KEY")
        );
    }

    #[test]
    fn aws_roots_parse() {
        let certs: Vec<_> =
            AWS_ROOTS_PEM.split(|b| *b == b'\n').filter(|l| l.starts_with(b"-----BEGIN CERTIFICATE-----")).collect();
        assert_eq!(certs.len(), 5);
        // Building a client with them must not fall back (the fallback logs and loads the system store).
        assert!(
            TlsContext::builder()
                .with_trust_store(TrustStore::empty().with_pem_certificate(AWS_ROOTS_PEM))
                .build()
                .is_ok()
        );
    }
}
