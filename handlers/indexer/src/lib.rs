//! Domain events (EventBridge events on an SQS queue) to OpenSearch, through the bulk API, SigV4-signed.
//!
//! One `POST <endpoint>/_bulk` per batch (`application/x-ndjson`), signed with the function's credentials for
//! service `es` (`aoss` for OpenSearch Serverless, [`Deps::service`]). Documents are indexed with `_id` = the
//! event's `event_id`, so redelivered events overwrite instead of duplicating. The bulk response's items are in
//! request order: an item with status >= 300 fails its message only; a failed request (network, timeout, non-2xx,
//! unreadable answer) fails every message of the request; a message that is not a domain event fails alone.
//! <https://docs.opensearch.org/latest/api-reference/document-apis/bulk/>

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use bytes::Bytes;
use platform_types::env;
use platform_types::events::DomainEvent;
use powertools::aws::SdkConfig;
use powertools::batch::{BatchItemFailure, BatchResponse};
use powertools::config::{ConfigError, Env};
use powertools::http::HttpClient;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// Why a request to OpenSearch failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("credentials: {0}")]
    Credentials(String),
    #[error("signing: {0}")]
    Signing(String),
    #[error(transparent)]
    Http(#[from] powertools::http::HttpError),
    #[error("opensearch answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("unreadable bulk response: {0}")]
    Response(String),
}

/// The EventBridge event fields the indexer reads.
#[derive(Debug, Clone, Deserialize)]
struct Envelope {
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: Value,
    #[serde(default)]
    time: Option<String>,
}

/// Dependencies.
#[derive(Debug)]
pub struct Deps {
    /// `https://<domain endpoint>` (no trailing slash).
    pub endpoint: String,
    pub index: String,
    pub region: String,
    /// SigV4 service name: `es` (managed domains) or `aoss` (serverless).
    pub service: String,
    pub credentials: SharedCredentialsProvider,
    pub timeout: Duration,
    http: OnceCell<HttpClient>,
}

/// The index events go to when `OPENSEARCH_INDEX` is not set.
pub const DEFAULT_INDEX: &str = "audit-events";

impl Deps {
    /// From the SDK config (region, credentials) and the env vars listed in
    /// `platform_types::routes::handler_env(Handler::Indexer)`. The endpoint may be given without its scheme
    /// (a domain's `DomainEndpoint` attribute has none); it is always HTTPS.
    pub fn from_env(config: &SdkConfig, vars: &Env<'_>) -> Result<Deps, ConfigError> {
        let endpoint = vars.required(env::OPENSEARCH_ENDPOINT)?;
        let endpoint = if endpoint.starts_with("https://") { endpoint } else { format!("https://{endpoint}") };
        let index = vars.optional(env::OPENSEARCH_INDEX).unwrap_or_else(|| DEFAULT_INDEX.into());
        let region = config.region().map(|r| r.to_string()).ok_or(ConfigError::Missing(env::AWS_REGION))?;
        let credentials = config.credentials_provider().ok_or(ConfigError::Missing("AWS_ACCESS_KEY_ID"))?;
        Ok(Deps::new(&endpoint, &index, &region, credentials))
    }

    pub fn new(endpoint: &str, index: &str, region: &str, credentials: SharedCredentialsProvider) -> Deps {
        Deps {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            index: index.into(),
            region: region.into(),
            service: "es".into(),
            credentials,
            timeout: Duration::from_secs(10),
            http: OnceCell::new(),
        }
    }
}

/// The bulk body of the good messages and the message ids in line order; bad messages are reported aside.
pub fn bulk_body(index: &str, records: &[SqsMessage]) -> (String, Vec<String>, Vec<String>) {
    let mut body = String::new();
    let mut ids = Vec::new();
    let mut bad = Vec::new();
    for m in records {
        let id = m.message_id.clone().unwrap_or_default();
        let parsed = serde_json::from_str::<Envelope>(m.body.as_deref().unwrap_or(""))
            .map_err(|e| e.to_string())
            .and_then(|env| DomainEvent::from_parts(&env.detail_type, env.detail.clone()).map(|ev| (env, ev)));
        match parsed {
            Ok((env, event)) => {
                let action = json!({ "index": { "_index": index, "_id": event.event_id() } });
                let doc = json!({
                    "event_id": event.event_id(),
                    "event_type": env.detail_type,
                    "tenant_id": event.tenant_id(),
                    "occurred_at": env.time,
                    "detail": env.detail,
                });
                body.push_str(&action.to_string());
                body.push('\n');
                body.push_str(&doc.to_string());
                body.push('\n');
                ids.push(id);
            }
            Err(e) => {
                tracing::warn!(message_id = %id, error = %e, "not a domain event");
                bad.push(id);
            }
        }
    }
    (body, ids, bad)
}

/// Signs a request with SigV4 for `service` in `region` at `time` ([`powertools::http::sign_sigv4`]).
pub fn sign_request(
    req: &mut http::Request<Bytes>,
    credentials: &aws_credential_types::Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<(), IndexError> {
    powertools::http::sign_sigv4(req, credentials, region, service, time)
        .map_err(|e| IndexError::Signing(e.to_string()))
}

async fn send_bulk(deps: &Deps, body: String, trace_header: Option<&str>) -> Result<Vec<u16>, IndexError> {
    let credentials =
        deps.credentials.provide_credentials().await.map_err(|e| IndexError::Credentials(e.to_string()))?;
    let url = format!("{}/_bulk", deps.endpoint);
    let mut builder = http::Request::post(&url).header("content-type", "application/x-ndjson");
    if let Some(host) = url.split("://").nth(1).and_then(|r| r.split('/').next()) {
        builder = builder.header("host", host);
    }
    if let Some((name, value)) = powertools::observability::trace_header(trace_header) {
        builder = builder.header(name, value);
    }
    let mut req = builder.body(Bytes::from(body)).map_err(|e| IndexError::Signing(e.to_string()))?;
    sign_request(&mut req, &credentials, &deps.region, &deps.service, SystemTime::now())?;
    let client = deps.http.get_or_try_init(|| async { HttpClient::new(deps.timeout) }).await?;
    let resp = client.send(req).await?;
    if !(200..300).contains(&resp.status) {
        let body = String::from_utf8_lossy(&resp.body).chars().take(500).collect();
        return Err(IndexError::Status { status: resp.status, body });
    }
    let v: Value = serde_json::from_slice(&resp.body).map_err(|e| IndexError::Response(e.to_string()))?;
    let items = v["items"].as_array().ok_or_else(|| IndexError::Response("no items array".into()))?;
    items
        .iter()
        .map(|i| {
            i.as_object()
                .and_then(|o| o.values().next())
                .and_then(|r| r["status"].as_u64())
                .map(|s| s as u16)
                .ok_or_else(|| IndexError::Response(format!("item without status: {i}")))
        })
        .collect()
}

/// Indexes a batch; returns the partial batch response.
pub async fn handle(deps: &Deps, event: &SqsEvent, trace_header: Option<&str>) -> BatchResponse {
    let (body, ids, bad) = bulk_body(&deps.index, &event.records);
    let mut failed: Vec<String> = bad;
    if !ids.is_empty() {
        match send_bulk(deps, body, trace_header).await {
            Ok(statuses) if statuses.len() == ids.len() => {
                for (id, status) in ids.iter().zip(statuses) {
                    if status >= 300 {
                        tracing::warn!(message_id = %id, status, "document rejected");
                        failed.push(id.clone());
                    }
                }
            }
            Ok(statuses) => {
                tracing::error!(
                    sent = ids.len(),
                    answered = statuses.len(),
                    "bulk response does not match the request"
                );
                failed.extend(ids);
            }
            Err(e) => {
                tracing::error!(error = %e, "bulk request failed");
                failed.extend(ids);
            }
        }
    }
    // Report in the batch's order.
    let order: Vec<String> = event.records.iter().filter_map(|m| m.message_id.clone()).collect();
    failed.sort_by_key(|id| order.iter().position(|o| o == id));
    BatchResponse {
        batch_item_failures: failed.into_iter().map(|item_identifier| BatchItemFailure { item_identifier }).collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn deps_from_env() {
        let from_env = |vars: &[(&str, &str)]| testkit::from_lambda_env(vars, Deps::from_env);
        // A domain's DomainEndpoint attribute has no scheme: the indexer adds it.
        let d = from_env(&[("OPENSEARCH_ENDPOINT", "search-audit.eu-west-1.es.amazonaws.com")]).unwrap();
        assert_eq!(
            (d.endpoint.as_str(), d.index.as_str(), d.region.as_str(), d.service.as_str()),
            ("https://search-audit.eu-west-1.es.amazonaws.com", "audit-events", "eu-west-1", "es")
        );
        let d = from_env(&[("OPENSEARCH_ENDPOINT", "https://search.example/"), ("OPENSEARCH_INDEX", "audit")]).unwrap();
        assert_eq!((d.endpoint.as_str(), d.index.as_str()), ("https://search.example", "audit"));
        assert_eq!(from_env(&[]).unwrap_err(), ConfigError::Missing("OPENSEARCH_ENDPOINT"));
    }

    #[test]
    fn bulk_body_lines() {
        let good = json!({"detail-type": "ApiKeyRevoked", "time": "t", "detail": {"event_id": "e1", "tenant_id": "acme", "key_id": "k", "revoked_at": "t"}});
        let msgs: Vec<SqsMessage> = serde_json::from_value(json!([
            {"messageId": "m1", "body": good.to_string()},
            {"messageId": "m2", "body": "nope"},
        ]))
        .unwrap();
        let (body, ids, bad) = bulk_body("audit", &msgs);
        assert_eq!((ids, bad), (vec!["m1".to_string()], vec!["m2".to_string()]));
        let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0], json!({"index": {"_index": "audit", "_id": "e1"}}));
        assert_eq!(
            (lines[1]["tenant_id"].as_str(), lines[1]["event_type"].as_str()),
            (Some("acme"), Some("ApiKeyRevoked"))
        );
        assert!(body.ends_with('\n'), "the bulk API needs a final newline");
    }
}
