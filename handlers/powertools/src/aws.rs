//! SDK configuration for the handlers: one rustls (ring) HTTPS client, the region and credentials from the
//! Lambda environment, `AWS_ENDPOINT_URL` honoured (aws-config reads it), and DynamoDB clients whose calls are
//! counted and retried by [`crate::retry`] only.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Loads the SDK config from the environment with the ring-based rustls client. Cheap: no network call (the
/// trust store is read on first use, credentials come from env vars on Lambda).
pub async fn load_config() -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http).load().await
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
