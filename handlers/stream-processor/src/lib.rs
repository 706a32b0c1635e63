//! DynamoDB stream (entity table, NEW_AND_OLD_IMAGES) to domain events on the EventBridge bus.
//!
//! | stream record | event |
//! |---|---|
//! | INSERT of `ORDER#` | `OrderCreated` |
//! | MODIFY of `SUB#` whose `plan` went up | `SubscriptionUpgraded` |
//! | MODIFY of `APIKEY#` whose `status` went `active` to `revoked` | `ApiKeyRevoked` |
//! | INSERT of `INVOICE#` | `InvoiceGenerated` |
//! | anything else (other items, REMOVE incl. TTL deletions, no-op modifies) | none |
//!
//! The tenant comes from the partition key, not from an attribute. `event_id` is the stream record's `eventID`:
//! delivery is at least once, consumers deduplicate on it.
//!
//! **Cache invalidation.** When the stage has a hot-read cache (`REDIS_ENDPOINT`), the cached copies of every
//! MODIFY or REMOVE record of the batch ([`cache_keys`]: the entity's key, and for an API key the authorizer's
//! lookup key of its old image) are deleted in one pipelined round trip *before* any event goes out. If that
//! fails (the cache is down, or its circuit is open), the record that needed it first becomes the checkpoint,
//! with nothing sent from it on: the stream retries it, so a stale read is bounded by the invalidation lag,
//! never by the TTL alone. The cost: while the cache is down the stream does not advance past a MODIFY/REMOVE
//! (reads do not suffer, they bypass the cache), and a cache outage longer than the mapping's retries sends
//! the record to the on-failure destination like any failed record.
//!
//! Records are handled in order. Events go out with `PutEvents`, 10 entries per call (its limit,
//! <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html>); entries that fail
//! (`ErrorCode` in the response) are retried with backoff; a record whose event still fails, or that cannot be
//! mapped, becomes the checkpoint: the response names its sequence number, Lambda retries from there, and after
//! the mapping's retries, bisection isolates it and sends it to the on-failure destination. Nothing after the
//! checkpoint is sent in this invocation, so a retry does not duplicate more than the failed call's entries.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use platform_types::api::{Currency, Plan};
use platform_types::events::{
    ApiKeyRevoked, DomainEvent, EVENT_SOURCE, InvoiceGenerated, OrderCreated, SubscriptionUpgraded,
};
use platform_types::{env, table};
use powertools::aws::SdkConfig;
use powertools::batch::{BatchResponse, StreamRecord, checkpoint};
use powertools::cache::{self, Cache};
use powertools::config::{ConfigError, Env};
use powertools::dynamo::image_to_json;
use powertools::observability::{Metrics, Unit};
use powertools::retry::RetryPolicy;
use powertools::tenant::{EntityKind, TenantId};
use serde_json::Value;

/// PutEvents takes at most 10 entries per call.
pub const PUT_EVENTS_MAX_ENTRIES: usize = 10;
/// PutEvents entries total at most 256 KB per call (and per entry).
pub const PUT_EVENTS_MAX_BYTES: usize = 256 * 1024;

/// Why a record cannot be mapped (a poison record: it goes to the on-failure destination).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("record {event_id}: {reason}")]
    Malformed { event_id: String, reason: String },
}

fn malformed(rec: &StreamRecord, reason: impl Into<String>) -> MapError {
    MapError::Malformed { event_id: rec.event_id.clone(), reason: reason.into() }
}

fn image(rec: &StreamRecord, img: Option<&serde_json::Map<String, Value>>, which: &str) -> Result<Value, MapError> {
    let img =
        img.ok_or_else(|| malformed(rec, format!("no {which} image (stream view type must be NEW_AND_OLD_IMAGES)")))?;
    image_to_json(img).map_err(|e| malformed(rec, e.to_string()))
}

fn field<T: serde::de::DeserializeOwned>(rec: &StreamRecord, v: &Value, name: &str) -> Result<T, MapError> {
    serde_json::from_value(v.get(name).cloned().unwrap_or(Value::Null))
        .map_err(|e| malformed(rec, format!("attribute {name}: {e}")))
}

/// The domain event of a record, if it is one.
pub fn map_record(rec: &StreamRecord) -> Result<Option<DomainEvent>, MapError> {
    let key = |name: &str| rec.dynamodb.keys.get(name).and_then(|v| v.get("S")).and_then(Value::as_str);
    let (Some(pk), Some(sk)) = (key(table::PARTITION_KEY), key(table::SORT_KEY)) else {
        return Ok(None); // not an item of the platform's key layout
    };
    let Ok(tenant) = TenantId::from_partition_key(pk) else { return Ok(None) };
    let Some((kind, id)) = EntityKind::parse_sort_key(sk) else { return Ok(None) };
    let tenant_id = tenant.to_string();
    let event_id = rec.event_id.clone();
    let event = match (rec.event_name.as_str(), kind) {
        ("INSERT", EntityKind::Order) => {
            let new = image(rec, rec.dynamodb.new_image.as_ref(), "new")?;
            DomainEvent::OrderCreated(OrderCreated {
                event_id,
                tenant_id,
                order_id: id.to_string(),
                total_cents: field(rec, &new, "total_cents")?,
                currency: field::<Currency>(rec, &new, "currency")?,
                created_at: field(rec, &new, "created_at")?,
            })
        }
        ("MODIFY", EntityKind::Subscription) => {
            let new = image(rec, rec.dynamodb.new_image.as_ref(), "new")?;
            let old = image(rec, rec.dynamodb.old_image.as_ref(), "old")?;
            let (from, to): (Plan, Plan) = (field(rec, &old, "plan")?, field(rec, &new, "plan")?);
            if to <= from {
                return Ok(None);
            }
            DomainEvent::SubscriptionUpgraded(SubscriptionUpgraded {
                event_id,
                tenant_id,
                subscription_id: id.to_string(),
                from_plan: from,
                to_plan: to,
                seats: field(rec, &new, "seats")?,
                version: field(rec, &new, "version")?,
                upgraded_at: field(rec, &new, "updated_at")?,
            })
        }
        ("MODIFY", EntityKind::ApiKey) => {
            let new = image(rec, rec.dynamodb.new_image.as_ref(), "new")?;
            let old = image(rec, rec.dynamodb.old_image.as_ref(), "old")?;
            let (was, is): (String, String) = (field(rec, &old, "status")?, field(rec, &new, "status")?);
            if !(was == "active" && is == "revoked") {
                return Ok(None);
            }
            DomainEvent::ApiKeyRevoked(ApiKeyRevoked {
                event_id,
                tenant_id,
                key_id: id.to_string(),
                revoked_at: field(rec, &new, "revoked_at")?,
            })
        }
        ("INSERT", EntityKind::Invoice) => {
            let new = image(rec, rec.dynamodb.new_image.as_ref(), "new")?;
            DomainEvent::InvoiceGenerated(InvoiceGenerated {
                event_id,
                tenant_id,
                invoice_id: id.to_string(),
                amount_cents: field(rec, &new, "amount_cents")?,
                currency: field(rec, &new, "currency")?,
                created_at: field(rec, &new, "created_at")?,
            })
        }
        _ => return Ok(None),
    };
    Ok(Some(event))
}

/// The cache keys a record invalidates: for a MODIFY or REMOVE, the entity's key (from the record's keys, as the
/// API builds it from its request) and, when the old image was in the API key index, the authorizer's lookup key
/// (a revocation takes the key out of the index, so the new image has none). INSERTs invalidate nothing: nothing
/// caches an absent item.
pub fn cache_keys(rec: &StreamRecord) -> Vec<String> {
    if !matches!(rec.event_name.as_str(), "MODIFY" | "REMOVE") {
        return Vec::new();
    }
    let s = |m: &serde_json::Map<String, Value>, name: &str| {
        m.get(name).and_then(|v| v.get("S")).and_then(Value::as_str).map(String::from)
    };
    let mut keys = Vec::new();
    if let (Some(pk), Some(sk)) = (s(&rec.dynamodb.keys, table::PARTITION_KEY), s(&rec.dynamodb.keys, table::SORT_KEY))
    {
        keys.push(cache::entity_key(&pk, &sk));
    }
    if let Some(gsi1pk) = rec.dynamodb.old_image.as_ref().and_then(|o| s(o, table::GSI1_PARTITION_KEY)) {
        keys.push(cache::api_key_key(&gsi1pk));
    }
    keys
}

/// Dependencies.
#[derive(Clone, Debug)]
pub struct Deps {
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub bus: String,
    pub retry: RetryPolicy,
    /// The hot-read cache to invalidate (`REDIS_ENDPOINT`), `None` when the stage has none.
    pub cache: Option<Cache>,
}

impl Deps {
    /// From the SDK config and the env vars listed in
    /// `platform_types::routes::handler_env(Handler::StreamProcessor)`.
    pub fn from_env(config: &SdkConfig, vars: &Env<'_>) -> Result<Deps, ConfigError> {
        Ok(Deps {
            eventbridge: aws_sdk_eventbridge::Client::new(config),
            bus: vars.required(env::EVENT_BUS_NAME)?,
            retry: RetryPolicy::default(),
            cache: Cache::from_env(vars)?,
        })
    }
}

/// Adds the metrics of one batch: `StreamRecords` received and `StreamCheckpoints` (0 or 1: the record the
/// batch stopped at).
pub fn record_metrics(m: &mut Metrics, records: usize, response: &BatchResponse) {
    m.add("StreamRecords", Unit::Count, records as f64);
    m.add("StreamCheckpoints", Unit::Count, response.batch_item_failures.len() as f64);
}

/// Handles a batch; returns the checkpoint. `trace_header` is the invocation's X-Ray header, passed on to
/// EventBridge so consumers' traces join this one.
pub async fn handle(deps: &Deps, records: &[StreamRecord], trace_header: Option<&str>) -> BatchResponse {
    let mut events: Vec<(usize, DomainEvent)> = Vec::new();
    let mut stop_at = None;
    for (i, rec) in records.iter().enumerate() {
        match map_record(rec) {
            Ok(Some(e)) => events.push((i, e)),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, sequence_number = %rec.dynamodb.sequence_number, "poison stream record");
                stop_at = Some(i);
                break;
            }
        }
    }
    if let Some(cache) = &deps.cache {
        let upto = stop_at.unwrap_or(records.len());
        let per_record: Vec<(usize, Vec<String>)> = records[..upto]
            .iter()
            .enumerate()
            .map(|(i, r)| (i, cache_keys(r)))
            .filter(|(_, k)| !k.is_empty())
            .collect();
        if let Some(&(first, _)) = per_record.first() {
            let keys: Vec<String> = per_record.into_iter().flat_map(|(_, k)| k).collect();
            if let Err(e) = cache.invalidate(&keys).await {
                tracing::warn!(error = %e, sequence_number = %records[first].dynamodb.sequence_number, "cache invalidation failed, checkpointing");
                stop_at = Some(first);
                events.retain(|(i, _)| *i < first);
            }
        }
    }
    for chunk in events.chunks(PUT_EVENTS_MAX_ENTRIES) {
        if let Some(failed) = publish(deps, chunk, trace_header).await {
            stop_at = Some(stop_at.map_or(failed, |s: usize| s.min(failed)));
            break;
        }
    }
    checkpoint(records, stop_at)
}

fn entry(deps: &Deps, e: &DomainEvent, trace_header: Option<&str>) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .event_bus_name(&deps.bus)
        .source(EVENT_SOURCE)
        .detail_type(e.detail_type())
        .detail(serde_json::to_string(e).unwrap_or_default())
        .set_trace_header(trace_header.map(String::from))
        .build()
}

/// Sends one chunk, retrying failed entries; returns the record index of the first event that still failed.
async fn publish(deps: &Deps, chunk: &[(usize, DomainEvent)], trace_header: Option<&str>) -> Option<usize> {
    let mut pending: Vec<&(usize, DomainEvent)> = chunk.iter().collect();
    for attempt in 0..deps.retry.max_attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(deps.retry.backoff(attempt - 1)).await;
        }
        let entries: Vec<PutEventsRequestEntry> = pending.iter().map(|(_, e)| entry(deps, e, trace_header)).collect();
        let out = deps.eventbridge.put_events().set_entries(Some(entries)).send().await;
        match out {
            Ok(out) => {
                // Results are in request order; an entry with an error code failed.
                let results = out.entries();
                let failed: Vec<&(usize, DomainEvent)> = pending
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| results.get(*j).is_none_or(|r| r.error_code().is_some()))
                    .map(|(_, p)| *p)
                    .collect();
                for r in results.iter().filter(|r| r.error_code().is_some()) {
                    tracing::warn!(code = r.error_code(), message = r.error_message(), "PutEvents entry failed");
                }
                if failed.is_empty() {
                    return None;
                }
                pending = failed;
            }
            Err(e) => {
                let class = powertools::retry::classify(&e);
                tracing::warn!(error = %aws_sdk_eventbridge::error::DisplayErrorContext(&e), "PutEvents failed");
                if class == powertools::retry::ErrorClass::Permanent {
                    break;
                }
            }
        }
    }
    pending.iter().map(|(i, _)| *i).min()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deps_from_env() {
        let from_env = |vars: &[(&str, &str)]| testkit::from_lambda_env(vars, Deps::from_env);
        let d = from_env(&[("EVENT_BUS_NAME", "domain-events")]).unwrap();
        assert_eq!((d.bus.as_str(), d.retry.max_attempts), ("domain-events", RetryPolicy::default().max_attempts));
        assert!(d.cache.is_none());
        assert_eq!(from_env(&[]).unwrap_err(), ConfigError::Missing("EVENT_BUS_NAME"));
        let d = from_env(&[("EVENT_BUS_NAME", "b"), ("REDIS_ENDPOINT", "c-1.cache.amazonaws.com")]).unwrap();
        assert_eq!(d.cache.unwrap().endpoint(), "rediss://c-1.cache.amazonaws.com:6379");
    }

    #[test]
    fn batch_metrics() {
        let mut m = Metrics::new("Platform", "stream-processor");
        let response = BatchResponse {
            batch_item_failures: vec![powertools::batch::BatchItemFailure { item_identifier: "42".into() }],
        };
        record_metrics(&mut m, 5, &response);
        let doc: Value = serde_json::from_str(&m.render(7)[0]).unwrap();
        assert_eq!(
            doc,
            json!({
                "_aws": {"Timestamp": 7, "CloudWatchMetrics": [{
                    "Namespace": "Platform",
                    "Dimensions": [["service"]],
                    "Metrics": [{"Name": "StreamCheckpoints", "Unit": "Count"}, {"Name": "StreamRecords", "Unit": "Count"}],
                }]},
                "service": "stream-processor",
                "StreamCheckpoints": 1.0,
                "StreamRecords": 5.0,
            })
        );
    }

    fn rec(name: &str, sk: &str, old: Option<Value>, new: Option<Value>) -> StreamRecord {
        serde_json::from_value(json!({
            "eventID": "ev1", "eventName": name,
            "dynamodb": {"Keys": {"pk": {"S": "TENANT#acme"}, "sk": {"S": sk}}, "OldImage": old, "NewImage": new, "SequenceNumber": "1"}
        }))
        .unwrap()
    }

    /// The detail-type and detail of the event a record maps to.
    fn event(rec: StreamRecord) -> Option<(&'static str, Value)> {
        map_record(&rec).unwrap().map(|e| (e.detail_type(), serde_json::to_value(&e).unwrap()))
    }

    #[test]
    fn cache_keys_of_modify_and_remove() {
        let key = json!({"gsi1pk": {"S": "APIKEY#ab"}, "status": {"S": "active"}});
        let revoked = json!({"status": {"S": "revoked"}});
        assert_eq!(cache_keys(&rec("INSERT", "ORDER#o1", None, Some(json!({})))), Vec::<String>::new());
        assert_eq!(cache_keys(&rec("MODIFY", "SUB#s1", Some(json!({})), Some(json!({})))), ["e:TENANT#acme|SUB#s1"]);
        assert_eq!(cache_keys(&rec("REMOVE", "ORDER#o1", Some(json!({})), None)), ["e:TENANT#acme|ORDER#o1"]);
        assert_eq!(
            cache_keys(&rec("MODIFY", "APIKEY#k1", Some(key), Some(revoked))),
            ["e:TENANT#acme|APIKEY#k1", "k:APIKEY#ab"]
        );
    }

    #[test]
    fn mapping_table() {
        let order = json!({"total_cents": {"N": "2500"}, "currency": {"S": "EUR"}, "created_at": {"S": "2024-01-01T00:00:00Z"}});
        assert_eq!(
            event(rec("INSERT", "ORDER#o1", None, Some(order.clone()))),
            Some((
                "OrderCreated",
                json!({"event_id": "ev1", "tenant_id": "acme", "order_id": "o1", "total_cents": 2500,
                       "currency": "EUR", "created_at": "2024-01-01T00:00:00Z"})
            ))
        );
        assert_eq!(event(rec("MODIFY", "ORDER#o1", Some(order.clone()), Some(order))), None);

        let sub = |plan: &str| json!({"plan": {"S": plan}, "seats": {"N": "3"}, "version": {"N": "2"}, "updated_at": {"S": "t"}});
        assert_eq!(
            event(rec("MODIFY", "SUB#s1", Some(sub("free")), Some(sub("pro")))),
            Some((
                "SubscriptionUpgraded",
                json!({"event_id": "ev1", "tenant_id": "acme", "subscription_id": "s1", "from_plan": "free",
                       "to_plan": "pro", "seats": 3, "version": 2, "upgraded_at": "t"})
            ))
        );
        assert_eq!(event(rec("MODIFY", "SUB#s1", Some(sub("pro")), Some(sub("pro")))), None);
        assert_eq!(event(rec("MODIFY", "SUB#s1", Some(sub("pro")), Some(sub("free")))), None, "a downgrade");
        assert_eq!(event(rec("INSERT", "SUB#s1", None, Some(sub("pro")))), None, "an insert is no upgrade");

        let key = |st: &str| json!({"status": {"S": st}, "revoked_at": {"S": "t"}});
        assert_eq!(
            event(rec("MODIFY", "APIKEY#k1", Some(key("active")), Some(key("revoked")))),
            Some(("ApiKeyRevoked", json!({"event_id": "ev1", "tenant_id": "acme", "key_id": "k1", "revoked_at": "t"})))
        );
        assert_eq!(event(rec("MODIFY", "APIKEY#k1", Some(key("revoked")), Some(key("revoked")))), None);

        let inv = json!({"amount_cents": {"N": "990"}, "currency": {"S": "USD"}, "created_at": {"S": "t"}});
        assert_eq!(
            event(rec("INSERT", "INVOICE#i1", None, Some(inv))),
            Some((
                "InvoiceGenerated",
                json!({"event_id": "ev1", "tenant_id": "acme", "invoice_id": "i1", "amount_cents": 990,
                       "currency": "USD", "created_at": "t"})
            ))
        );
        assert_eq!(event(rec("REMOVE", "ORDER#o1", None, None)), None);
        assert_eq!(event(rec("INSERT", "WEBHOOK#CONFIG", None, Some(json!({})))), None);

        let bad = map_record(&rec("INSERT", "ORDER#o2", None, Some(json!({"currency": {"S": "EUR"}}))));
        assert_eq!(bad.unwrap_err().to_string(), "record ev1: attribute total_cents: invalid type: null, expected u64");
    }

    #[test]
    fn real_fixture_records_are_not_platform_items() {
        let raw = testkit::fixtures::DYNAMODB_STREAM_EVENT;
        let event: powertools::batch::StreamEvent = serde_json::from_str(raw).unwrap();
        for r in &event.records {
            assert_eq!(map_record(r).unwrap(), None);
        }
    }
}
