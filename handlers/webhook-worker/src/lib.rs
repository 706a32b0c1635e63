//! Webhook deliveries: SQS messages (EventBridge events routed by a rule) become signed HTTPS POSTs to the
//! tenant's endpoint.
//!
//! - The endpoint is the tenant's webhook configuration item (`pk = TENANT#<tenant>`, `sk = WEBHOOK#CONFIG`,
//!   attribute `url`, optional `enabled`); no configuration means nothing to deliver (success). Only `https://`
//!   URLs are called (plain `http://` to loopback only when [`Deps::allow_http_loopback`] is set, for tests).
//! - Signature (the Standard Webhooks scheme): headers `webhook-id` (the event id: receivers deduplicate on it,
//!   it stays the same across retries), `webhook-timestamp` (epoch seconds) and `webhook-signature: v1=<hex
//!   HMAC-SHA256(key, "<timestamp>.<body>")>`. The key is per tenant, derived from the platform's signing secret
//!   ([`tenant_key`]), so one tenant's key cannot forge deliveries to another. Receivers check with [`verify`].
//!   During a rotation of the platform secret (`powertools::secrets`: an `AWSPENDING` value next to
//!   `AWSCURRENT`) the header carries two space-separated signatures, the current key's first, then the pending
//!   key's (the Standard Webhooks form for rotations): a receiver holding either key verifies the delivery.
//! - SSRF guard ([`ssrf`]): at delivery time the endpoint's host is resolved and the delivery is refused if ANY
//!   address is loopback, private, link-local, metadata, unspecified, multicast, reserved or shared (CGNAT),
//!   also inside IPv6 (IPv4-mapped, NAT64, 6to4); the request then goes to a checked address only (no second
//!   lookup). A refusal is permanent: the message is dropped (deleted, not retried, no backoff), logged at
//!   error level with the reason, and counted in `WebhookRefused`. [`Deps::allowed_addresses`]
//!   (`WEBHOOK_ALLOWED_ADDRESSES`, default empty) exempts listed addresses, for tests' local receivers.
//! - Every request has a timeout ([`Deps::timeout`], default 5 s). A failed delivery is reported as a batch item
//!   failure after its visibility timeout was set to the backoff for its receive count
//!   (`ChangeMessageVisibility`, [`backoff_seconds`]); after `maxReceiveCount` receives SQS moves it, unchanged,
//!   to the dead-letter queue. A message that does not parse fails the same way without a visibility change.

pub mod ssrf;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use platform_types::events::DomainEvent;
use platform_types::{env, table};
use powertools::aws::SdkConfig;
use powertools::batch::{BatchResponse, QueueKind, process_sqs};
use powertools::clock::SharedClock;
use powertools::config::{ConfigError, Env};
use powertools::dynamo::s;
use powertools::http::HttpClient;
use powertools::observability::{Metrics, Unit};
use powertools::retry::{RetryPolicy, classify, retry};
use powertools::secrets::{SigningKeys, SigningSecret};
use powertools::tenant::TenantId;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::OnceCell;

/// SQS's largest visibility timeout (12 hours).
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html>
pub const MAX_VISIBILITY_SECONDS: u64 = 43_200;

/// Why one delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("message body is not an EventBridge event: {0}")]
    BadMessage(String),
    #[error("webhook url {0:?} refused: only https:// endpoints are called")]
    InsecureUrl(String),
    /// The SSRF guard refused the endpoint's address, or could not resolve it.
    #[error(transparent)]
    Guard(#[from] ssrf::GuardError),
    #[error("endpoint answered {0}")]
    Status(u16),
    #[error(transparent)]
    Http(#[from] powertools::http::HttpError),
    #[error("dynamodb: {0}")]
    Dynamo(String),
    #[error("signing secret: {0}")]
    Secret(String),
}

/// The part of an EventBridge event the worker needs (`detail-type`, `detail`, `time`).
#[derive(Debug, Clone, Deserialize)]
pub struct Envelope {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub detail: serde_json::Value,
    #[serde(default)]
    pub time: Option<String>,
}

/// The body POSTed to the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<String>,
    pub data: serde_json::Value,
}

/// The per-tenant signing key: HMAC-SHA256(platform secret, `"webhook:" + tenant`).
pub fn tenant_key(master: &[u8], tenant: &str) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(master) {
        Ok(mut m) => {
            m.update(b"webhook:");
            m.update(tenant.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// `v1=<hex HMAC-SHA256(key, "<timestamp>.<body>")>`.
///
/// ```
/// let key = webhook_worker::tenant_key(b"secret", "acme");
/// let sig = webhook_worker::signature(&key, 1_700_000_000, b"{}");
/// assert!(webhook_worker::verify(&key, "1700000000", b"{}", &sig, 1_700_000_100, 300));
/// assert!(!webhook_worker::verify(&key, "1700000000", b"{ }", &sig, 1_700_000_100, 300));
/// assert!(!webhook_worker::verify(&key, "1700000000", b"{}", &sig, 1_700_001_000, 300), "too old");
/// ```
pub fn signature(key: &[u8], timestamp: u64, body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(format!("{timestamp}.").as_bytes());
            m.update(body);
            format!("v1={}", hex::encode(m.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// The `webhook-signature` header of a delivery to `tenant`: one `v1=` signature per key of `keys`, the current
/// one first, space-separated.
///
/// ```
/// use powertools::secrets::SigningKeys;
/// let keys = SigningKeys { current: b"old".to_vec(), pending: Some(b"new".to_vec()) };
/// let header = webhook_worker::signatures(&keys, "acme", 1_700_000_000, b"{}");
/// for master in [b"old", b"new"] {
///     let key = webhook_worker::tenant_key(master, "acme");
///     assert!(webhook_worker::verify(&key, "1700000000", b"{}", &header, 1_700_000_000, 300));
/// }
/// ```
pub fn signatures(keys: &SigningKeys, tenant: &str, timestamp: u64, body: &[u8]) -> String {
    let signed: Vec<String> =
        keys.all().map(|master| signature(&tenant_key(master, tenant), timestamp, body)).collect();
    signed.join(" ")
}

/// Receiver side: checks the signature (constant time) and that the timestamp is within `tolerance_s` of now.
pub fn verify(key: &[u8], timestamp: &str, body: &[u8], signature_header: &str, now_s: u64, tolerance_s: u64) -> bool {
    let Ok(ts) = timestamp.parse::<u64>() else { return false };
    if ts.abs_diff(now_s) > tolerance_s {
        return false;
    }
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(key) else { return false };
    m.update(format!("{ts}.").as_bytes());
    m.update(body);
    // Several space-separated signatures may be sent during a key rotation.
    signature_header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1="))
        .filter_map(|h| hex::decode(h).ok())
        .any(|sig| m.clone().verify_slice(&sig).is_ok())
}

/// Backoff for the `receive_count`th failed receive: exponential from `base`, capped, with equal jitter (half
/// fixed, half random) so a retry never comes back immediately yet retries of a burst spread out.
pub fn backoff_seconds(receive_count: u32, base: Duration, cap: Duration) -> u64 {
    let exp = base.as_secs().saturating_mul(2u64.saturating_pow(receive_count.saturating_sub(1).min(30)));
    let ceiling = exp.min(cap.as_secs()).min(MAX_VISIBILITY_SECONDS);
    ceiling / 2 + fastrand::u64(0..=ceiling - ceiling / 2)
}

/// Dependencies.
#[derive(Debug)]
pub struct Deps {
    pub ddb: aws_sdk_dynamodb::Client,
    pub entity_table: String,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub secret_arn: String,
    /// Per-request timeout. Default 5 s.
    pub timeout: Duration,
    /// Backoff base and cap. Default 30 s and 15 min.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Allow `http://127.0.0.1` / `http://localhost` endpoints (tests, and `cargo xtask dev --webhook-sink` through
    /// [`env::WEBHOOK_ALLOW_HTTP_LOOPBACK`]). Default false.
    pub allow_http_loopback: bool,
    /// Addresses exempt from the SSRF guard ([`env::WEBHOOK_ALLOWED_ADDRESSES`]). Default empty (tests only).
    pub allowed_addresses: Vec<IpAddr>,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    pub clock: SharedClock,
    http: OnceCell<HttpClient>,
    master: SigningSecret,
}

impl Deps {
    /// From the SDK config and the env vars listed in
    /// `platform_types::routes::handler_env(Handler::WebhookWorker)`.
    pub fn from_env(config: &SdkConfig, vars: &Env<'_>) -> Result<Deps, ConfigError> {
        let allowed = parse_addresses(vars.optional(env::WEBHOOK_ALLOWED_ADDRESSES).as_deref().unwrap_or(""))?;
        let mut deps = Deps::new(
            powertools::aws::dynamodb_client(config, None),
            &vars.required(env::TABLE_NAME)?,
            aws_sdk_sqs::Client::new(config),
            &vars.required(env::QUEUE_URL)?,
            aws_sdk_secretsmanager::Client::new(config),
            &vars.required(env::WEBHOOK_SECRET_ARN)?,
            powertools::clock::system(),
        );
        deps.allowed_addresses = allowed;
        deps.allow_http_loopback = vars.parse(env::WEBHOOK_ALLOW_HTTP_LOOPBACK, "true or false")?.unwrap_or(false);
        Ok(deps)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ddb: aws_sdk_dynamodb::Client,
        entity_table: &str,
        sqs: aws_sdk_sqs::Client,
        queue_url: &str,
        secrets: aws_sdk_secretsmanager::Client,
        secret_arn: &str,
        clock: SharedClock,
    ) -> Deps {
        Deps {
            ddb,
            entity_table: entity_table.into(),
            sqs,
            queue_url: queue_url.into(),
            master: SigningSecret::new(secrets.clone(), secret_arn, clock.clone()),
            secrets,
            secret_arn: secret_arn.into(),
            timeout: Duration::from_secs(5),
            backoff_base: Duration::from_secs(30),
            backoff_cap: Duration::from_secs(900),
            allow_http_loopback: false,
            allowed_addresses: Vec::new(),
            concurrency: 10,
            clock,
            http: OnceCell::new(),
        }
    }

    async fn http(&self) -> Result<&HttpClient, DeliveryError> {
        self.http.get_or_try_init(|| async { HttpClient::new(self.timeout) }).await.map_err(DeliveryError::Http)
    }

    /// The platform signing secret's keys (current, and pending during a rotation), cached for 5 minutes.
    async fn master_keys(&self) -> Result<Arc<SigningKeys>, DeliveryError> {
        self.master.keys(false).await.map_err(|e| DeliveryError::Secret(e.to_string()))
    }

    fn url_allowed(&self, url: &str) -> bool {
        url.starts_with("https://")
            || (self.allow_http_loopback
                && (url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:")))
    }
}

/// Parses `WEBHOOK_ALLOWED_ADDRESSES`: comma-separated IP addresses, empty for none.
pub fn parse_addresses(s: &str) -> Result<Vec<IpAddr>, ConfigError> {
    s.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.parse().map_err(|_| ConfigError::Invalid {
                var: env::WEBHOOK_ALLOWED_ADDRESSES,
                value: s.into(),
                expected: "comma-separated IP addresses (no ranges, no host names)",
            })
        })
        .collect()
}

/// What happened to one message.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered {
    Sent,
    NoEndpoint,
    /// Not attempted, permanently: the endpoint's host resolves to a refused address. The message is dropped.
    Refused(String),
}

/// Delivers one message.
pub async fn deliver(deps: &Deps, msg: &SqsMessage, trace_header: Option<&str>) -> Result<Delivered, DeliveryError> {
    let body = msg.body.as_deref().unwrap_or("");
    let env: Envelope = serde_json::from_str(body).map_err(|e| DeliveryError::BadMessage(e.to_string()))?;
    let event = DomainEvent::from_parts(&env.detail_type, env.detail.clone()).map_err(DeliveryError::BadMessage)?;
    let tenant = TenantId::parse(event.tenant_id()).map_err(|e| DeliveryError::BadMessage(e.to_string()))?;
    let cfg = retry(&RetryPolicy::default(), classify, || {
        deps.ddb
            .get_item()
            .table_name(&deps.entity_table)
            .key(table::PARTITION_KEY, s(tenant.partition_key()))
            .key(table::SORT_KEY, s(table::WEBHOOK_CONFIG_SORT_KEY))
            .send()
    })
    .await
    .map_err(|e| DeliveryError::Dynamo(powertools::idempotency::error_message(&e.into_inner())))?;
    let Some(item) = cfg.item else { return Ok(Delivered::NoEndpoint) };
    if matches!(item.get("enabled"), Some(aws_sdk_dynamodb::types::AttributeValue::Bool(false))) {
        return Ok(Delivered::NoEndpoint);
    }
    let Ok(url) = powertools::dynamo::get_s(&item, "url") else { return Ok(Delivered::NoEndpoint) };
    if !deps.url_allowed(url) {
        return Err(DeliveryError::InsecureUrl(url.to_string()));
    }
    let delivery = Delivery {
        id: event.event_id().to_string(),
        kind: env.detail_type.clone(),
        tenant_id: tenant.to_string(),
        occurred_at: env.time.clone(),
        data: env.detail,
    };
    let payload = serde_json::to_vec(&delivery).map_err(|e| DeliveryError::BadMessage(e.to_string()))?;
    let ts = deps.clock.now_millis() / 1000;
    let signature = signatures(&*deps.master_keys().await?, tenant.as_str(), ts, &payload);
    let mut req = http::Request::post(url)
        .header("content-type", "application/json")
        .header("user-agent", "platform-webhooks/1")
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature);
    if let Some((name, value)) = powertools::observability::trace_header(trace_header) {
        req = req.header(name, value);
    }
    let req = req.body(Bytes::from(payload)).map_err(|_| DeliveryError::InsecureUrl(url.to_string()))?;
    // Resolved now, at delivery time, and connected to exactly what was checked.
    let addrs = match ssrf::vetted_addresses(req.uri(), &deps.allowed_addresses).await {
        Ok(a) => a,
        Err(e @ ssrf::GuardError::Refused { .. }) => return Ok(Delivered::Refused(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    let resp = deps.http().await?.send_pinned(req, addrs).await?;
    if (200..300).contains(&resp.status) { Ok(Delivered::Sent) } else { Err(DeliveryError::Status(resp.status)) }
}

/// What a batch did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// For Lambda: the messages to receive again.
    pub response: BatchResponse,
    /// Messages dropped because the SSRF guard refused their endpoint.
    pub refused: usize,
}

/// Adds the metrics of one batch: `WebhookMessages` received, `WebhookFailures` (messages reported as batch
/// item failures, to be received again after their backoff) and `WebhookRefused` (dropped by the SSRF guard).
pub fn record_metrics(m: &mut Metrics, messages: usize, outcome: &Outcome) {
    m.add("WebhookMessages", Unit::Count, messages as f64);
    m.add("WebhookFailures", Unit::Count, outcome.response.batch_item_failures.len() as f64);
    m.add("WebhookRefused", Unit::Count, outcome.refused as f64);
}

/// Handles a batch: deliveries run concurrently; failures back off through the visibility timeout and are
/// reported; refused endpoints are dropped and counted.
pub async fn handle(deps: &Deps, event: &SqsEvent, trace_header: Option<&str>) -> Outcome {
    let refused = std::sync::atomic::AtomicUsize::new(0);
    let refused = &refused;
    // `process_sqs` hands out `&SqsMessage` for the call only; the future owns a copy (a few hundred bytes).
    let response = process_sqs(event, QueueKind::Standard { concurrency: deps.concurrency }, |msg| {
        let msg = msg.clone();
        async move {
            let result = deliver(deps, &msg, trace_header).await;
            if let Ok(Delivered::Refused(reason)) = &result {
                tracing::error!(message_id = msg.message_id.as_deref().unwrap_or(""), %reason, "webhook refused");
                refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            if let Err(e) = &result
                && !matches!(e, DeliveryError::BadMessage(_))
            {
                delay(deps, &msg).await;
            }
            result.map(|_| ())
        }
    })
    .await;
    Outcome { response, refused: refused.load(std::sync::atomic::Ordering::Relaxed) }
}

async fn delay(deps: &Deps, msg: &SqsMessage) {
    let count: u32 = msg.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
    let secs = backoff_seconds(count, deps.backoff_base, deps.backoff_cap);
    let Some(handle) = msg.receipt_handle.as_deref() else { return };
    let r = deps
        .sqs
        .change_message_visibility()
        .queue_url(&deps.queue_url)
        .receipt_handle(handle)
        .visibility_timeout(i32::try_from(secs).unwrap_or(i32::MAX))
        .send()
        .await;
    if let Err(e) = r {
        // The message still comes back after the queue's visibility timeout: only the backoff is lost.
        tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "could not set the backoff");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn deps_from_env() {
        let required = [("TABLE_NAME", "entities"), ("QUEUE_URL", "https://queue"), ("WEBHOOK_SECRET_ARN", "arn:hook")];
        let from_env = |vars: &[(&str, &str)]| testkit::from_lambda_env(vars, Deps::from_env);
        let d = from_env(&required).unwrap();
        assert_eq!(
            (d.entity_table.as_str(), d.queue_url.as_str(), d.secret_arn.as_str()),
            ("entities", "https://queue", "arn:hook")
        );
        assert_eq!((d.timeout, d.allow_http_loopback, d.concurrency), (Duration::from_secs(5), false, 10));
        assert_eq!(d.allowed_addresses, Vec::<IpAddr>::new());
        let mut allowing = required.to_vec();
        allowing.push(("WEBHOOK_ALLOWED_ADDRESSES", "127.0.0.1, ::1"));
        let d = from_env(&allowing).unwrap();
        assert_eq!(
            d.allowed_addresses,
            vec![IpAddr::from([127, 0, 0, 1]), IpAddr::from(std::net::Ipv6Addr::LOCALHOST)]
        );
        allowing[3].1 = "10.0.0.0/8";
        assert_eq!(
            from_env(&allowing).unwrap_err().to_string(),
            "environment variable WEBHOOK_ALLOWED_ADDRESSES=\"10.0.0.0/8\" is invalid: expected comma-separated IP \
             addresses (no ranges, no host names)"
        );
        for (i, name) in ["TABLE_NAME", "QUEUE_URL", "WEBHOOK_SECRET_ARN"].into_iter().enumerate() {
            let mut vars = required.to_vec();
            vars.remove(i);
            assert_eq!(from_env(&vars).unwrap_err(), ConfigError::Missing(name));
        }
    }

    #[test]
    fn batch_metrics() {
        let mut m = Metrics::new("Platform", "webhook-worker");
        let response = BatchResponse {
            batch_item_failures: vec![powertools::batch::BatchItemFailure { item_identifier: "m2".into() }],
        };
        record_metrics(&mut m, 3, &Outcome { response, refused: 2 });
        let doc: serde_json::Value = serde_json::from_str(&m.render(7)[0]).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({
                "_aws": {"Timestamp": 7, "CloudWatchMetrics": [{
                    "Namespace": "Platform",
                    "Dimensions": [["service"]],
                    "Metrics": [
                        {"Name": "WebhookFailures", "Unit": "Count"},
                        {"Name": "WebhookMessages", "Unit": "Count"},
                        {"Name": "WebhookRefused", "Unit": "Count"},
                    ],
                }]},
                "service": "webhook-worker",
                "WebhookFailures": 1.0,
                "WebhookMessages": 3.0,
                "WebhookRefused": 2.0,
            })
        );
    }

    #[test]
    fn tenant_keys_differ() {
        assert_ne!(tenant_key(b"m", "a"), tenant_key(b"m", "b"));
        assert_eq!(tenant_key(b"m", "a").len(), 32);
    }

    #[test]
    fn verify_accepts_any_of_several_signatures() {
        let (old, new) = (tenant_key(b"old", "t"), tenant_key(b"new", "t"));
        let header = format!("{} {}", signature(&old, 10, b"x"), signature(&new, 10, b"x"));
        assert!(verify(&new, "10", b"x", &header, 10, 0));
        assert!(!verify(&tenant_key(b"other", "t"), "10", b"x", &header, 10, 0));
        assert!(!verify(&new, "ten", b"x", &header, 10, 0));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let (base, cap) = (Duration::from_secs(30), Duration::from_secs(900));
        for (count, lo, hi) in [(1, 15, 30), (2, 30, 60), (3, 60, 120), (10, 450, 900), (100, 450, 900)] {
            let b = backoff_seconds(count, base, cap);
            assert!((lo..=hi).contains(&b), "count {count}: {b}");
        }
        assert_eq!(backoff_seconds(5, Duration::ZERO, cap), 0);
    }

    #[test]
    fn real_sqs_fixture_is_not_an_eventbridge_event() {
        let e: SqsEvent = serde_json::from_str(testkit::fixtures::SQS_EVENT).unwrap();
        let body = e.records[0].body.as_deref().unwrap();
        assert!(serde_json::from_str::<Envelope>(body).is_err());
        let eb: Envelope = serde_json::from_str(testkit::fixtures::EVENTBRIDGE_EVENT).unwrap();
        assert!(DomainEvent::from_parts(&eb.detail_type, eb.detail).is_err());
    }
}
