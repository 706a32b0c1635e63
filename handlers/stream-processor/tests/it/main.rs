//! Stream → EventBridge → SQS against moto: entities written as the API writes them, the table's real stream read
//! back, events delivered by an EventBridge rule to an SQS target; poison records and bus failures become
//! checkpoints.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use aws_sdk_eventbridge::types::Target;
use platform_types::api::{CreateOrderRequest, Currency, OrderLine, Plan};
use platform_types::events::EVENT_SOURCE;
use powertools::aws::dynamodb_client;
use powertools::batch::{StreamEvent, StreamRecord};
use powertools::cache::{Cache, CacheConfig, Lookup, api_key_key, entity_key};
use powertools::retry::RetryPolicy;
use powertools::tenant::Tier;
use serde_json::{Value, json};
use stream_processor::{Deps, handle};
use testkit::Moto;
use testkit::convert::StreamTail;
use testkit::seed::Seed;
use testkit::tables::Tables;

struct Env {
    ddb: aws_sdk_dynamodb::Client,
    tables: Tables,
    deps: Deps,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    seed: Seed,
}

async fn env() -> Env {
    let moto = Moto::shared();
    let ddb = dynamodb_client(&moto.sdk_config(), None);
    let tables = Tables::create(&ddb).await;
    let eb = moto.eventbridge();
    let bus = testkit::unique("bus");
    eb.create_event_bus().name(&bus).send().await.unwrap();
    let sqs = moto.sqs();
    let queue_url = moto.queue("audit", &[]).await;
    let poller = testkit::convert::SqsPoller::new(sqs.clone(), &queue_url).await;
    let rule = testkit::unique("all-domain-events");
    eb.put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(json!({ "source": [EVENT_SOURCE] }).to_string())
        .send()
        .await
        .unwrap();
    eb.put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(Target::builder().id("audit").arn(&poller.queue_arn).build().unwrap())
        .send()
        .await
        .unwrap();
    let retry = RetryPolicy { base: std::time::Duration::from_millis(1), ..RetryPolicy::default() };
    let deps = Deps { eventbridge: eb, bus, retry, cache: None };
    let seed = Seed::new(&ddb, &tables.entity);
    Env { ddb, tables, deps, sqs, queue_url, seed }
}

fn order(unit_price_cents: u64, currency: Currency) -> CreateOrderRequest {
    CreateOrderRequest {
        items: vec![OrderLine { sku: "a".into(), quantity: 1, unit_price_cents }],
        currency,
        customer_ref: None,
    }
}

/// Every record of the entity table's stream so far, as the stream event Lambda would send.
async fn stream(env: &Env) -> Vec<Value> {
    let mut tail = StreamTail::new(&env.ddb, Moto::shared().dynamodb_streams(), &env.tables.entity).await;
    tail.next_records().await
}

/// Every message on the target queue, deduplicated by `detail.event_id`, as detail-type to details.
async fn delivered(env: &Env) -> BTreeMap<String, Vec<Value>> {
    let mut seen = BTreeMap::<String, Value>::new();
    loop {
        let out = env.sqs.receive_message().queue_url(&env.queue_url).max_number_of_messages(10).send().await.unwrap();
        if out.messages().is_empty() {
            break;
        }
        for m in out.messages() {
            let v: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            assert_eq!(v["source"], EVENT_SOURCE);
            seen.insert(v["detail"]["event_id"].as_str().unwrap().to_string(), v);
            env.sqs
                .delete_message()
                .queue_url(&env.queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    let mut by_type = BTreeMap::<String, Vec<Value>>::new();
    for v in seen.into_values() {
        by_type.entry(v["detail-type"].as_str().unwrap().to_string()).or_default().push(v["detail"].clone());
    }
    by_type
}

fn records(json: Vec<Value>) -> Vec<StreamRecord> {
    serde_json::from_value::<StreamEvent>(json!({ "Records": json })).unwrap().records
}

#[tokio::test]
async fn stream_to_eventbridge_to_sqs() {
    let env = env().await;
    let order = env.seed.order("acme", order(700, Currency::USD)).await;
    let sub = env.seed.subscription("acme", Plan::Free, 2).await;
    let upgraded = env.seed.upgrade(&sub, Plan::Pro).await;
    let key = env.seed.api_key("acme", Tier::Pro, "k").await;
    env.seed.revoke("acme", &key.key_id).await;

    let raw = stream(&env).await;
    let names: Vec<&str> = raw.iter().map(|r| r["eventName"].as_str().unwrap()).collect();
    assert_eq!(names, ["INSERT", "INSERT", "MODIFY", "INSERT", "MODIFY"], "one record per write");
    let recs = records(raw.clone());
    let response = handle(&env.deps, &recs, Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")).await;
    assert_eq!(response.failed(), Vec::<&str>::new());

    // Each event as the stream processor builds it: its id is the stream record's, its data the item's.
    let event_id = |i: usize| raw[i]["eventID"].as_str().unwrap();
    let revoked_at = raw[4]["dynamodb"]["NewImage"]["revoked_at"]["S"].as_str().unwrap();
    let expected = BTreeMap::from([
        (
            "ApiKeyRevoked".to_string(),
            vec![json!({"event_id": event_id(4), "tenant_id": "acme", "key_id": key.key_id, "revoked_at": revoked_at})],
        ),
        (
            "OrderCreated".to_string(),
            vec![json!({
                "event_id": event_id(0), "tenant_id": "acme", "order_id": order.order_id, "total_cents": 700,
                "currency": "USD", "created_at": order.created_at,
            })],
        ),
        (
            "SubscriptionUpgraded".to_string(),
            vec![json!({
                "event_id": event_id(2), "tenant_id": "acme", "subscription_id": sub.subscription_id,
                "from_plan": "free", "to_plan": "pro", "seats": 2, "version": 2, "upgraded_at": upgraded.updated_at,
            })],
        ),
    ]);
    assert_eq!(delivered(&env).await, expected);
}

#[tokio::test]
async fn poison_record_is_the_checkpoint_and_nothing_after_it_is_sent() {
    let env = env().await;
    let order = env.seed.order("acme", order(1, Currency::EUR)).await;
    let mut raw = stream(&env).await;
    assert_eq!(raw.len(), 1);
    let good = raw.remove(0);
    let mut poison = good.clone();
    poison["eventID"] = json!("poison");
    poison["dynamodb"]["SequenceNumber"] = json!("999000");
    poison["dynamodb"]["NewImage"].as_object_mut().unwrap().remove("total_cents");
    let mut after = good.clone();
    after["eventID"] = json!("after");
    after["dynamodb"]["SequenceNumber"] = json!("999001");
    let good_id = good["eventID"].as_str().unwrap().to_string();
    let response = handle(&env.deps, &records(vec![good, poison, after]), None).await;
    assert_eq!(response.failed(), vec!["999000"]);
    let got = delivered(&env).await;
    let sent: Vec<(&str, &str)> = got["OrderCreated"]
        .iter()
        .map(|e| (e["event_id"].as_str().unwrap(), e["order_id"].as_str().unwrap()))
        .collect();
    assert_eq!(sent, [(good_id.as_str(), order.order_id.as_str())], "only the event before the poison record");
    assert_eq!(got.len(), 1);
}

#[tokio::test]
async fn bus_failure_checkpoints_at_the_first_event() {
    let env = env().await;
    let mut deps = env.deps.clone();
    deps.bus = "no-such-bus".into();
    env.seed.order("acme", order(1, Currency::EUR)).await;
    let recs = records(stream(&env).await);
    assert_eq!(recs.len(), 1);
    let response = handle(&deps, &recs, None).await;
    assert_eq!(response.failed(), vec![recs[0].dynamodb.sequence_number.as_str()]);
    assert_eq!(delivered(&env).await, BTreeMap::new());
}

/// The cache keys of the batch's entities and of the revoked API key's lookup, filled as the API and the
/// authorizer would.
async fn filled_cache(cache: &powertools::cache::Cache, raw: &[Value]) -> Vec<String> {
    let keys: Vec<String> = raw
        .iter()
        .map(|r| {
            entity_key(
                r["dynamodb"]["Keys"]["pk"]["S"].as_str().unwrap(),
                r["dynamodb"]["Keys"]["sk"]["S"].as_str().unwrap(),
            )
        })
        .chain(raw.iter().filter_map(|r| r["dynamodb"]["OldImage"]["gsi1pk"]["S"].as_str().map(api_key_key)))
        .collect();
    for k in &keys {
        cache.put(k, "cached").await;
    }
    keys
}

#[tokio::test]
async fn modify_and_remove_invalidate_the_cache_before_events_go_out() {
    let redis = testkit::Redis::start().unwrap();
    let mut env = env().await;
    let cache = Cache::new(&redis.url(), CacheConfig::default()).unwrap();
    env.deps.cache = Some(cache.clone());
    env.seed.order("acme", order(700, Currency::USD)).await;
    let sub = env.seed.subscription("acme", Plan::Free, 2).await;
    env.seed.upgrade(&sub, Plan::Pro).await;
    let key = env.seed.api_key("acme", Tier::Pro, "k").await;
    env.seed.revoke("acme", &key.key_id).await;
    let raw = stream(&env).await;
    let keys = filled_cache(&cache, &raw).await;
    // order, subscription, api key (INSERTs: the same keys as their MODIFYs), and the key's lookup.
    assert_eq!(keys.len(), 6);
    let response = handle(&env.deps, &records(raw), None).await;
    assert_eq!(response.failed(), Vec::<&str>::new());
    let mut left = Vec::new();
    for k in &keys {
        if cache.get(k).await == Lookup::Hit("cached".into()) {
            left.push(k.clone());
        }
    }
    assert_eq!(left, [keys[0].clone()], "all but the order (never modified) are invalidated");
    assert_eq!(delivered(&env).await.len(), 3);
}

#[tokio::test]
async fn a_failed_invalidation_checkpoints_at_the_first_record_that_needed_it() {
    let mut redis = testkit::Redis::start().unwrap();
    let mut env = env().await;
    let cache = Cache::new(&redis.url(), CacheConfig::default()).unwrap();
    env.deps.cache = Some(cache.clone());
    env.seed.order("acme", order(700, Currency::USD)).await;
    let sub = env.seed.subscription("acme", Plan::Free, 2).await;
    env.seed.upgrade(&sub, Plan::Pro).await;
    let raw = stream(&env).await;
    let recs = records(raw);
    redis.kill();
    let response = handle(&env.deps, &recs, None).await;
    // Record 2 is the MODIFY: it and everything after it are retried; the OrderCreated of record 0 went out.
    assert_eq!(response.failed(), vec![recs[2].dynamodb.sequence_number.as_str()]);
    let got = delivered(&env).await;
    assert_eq!(got.keys().collect::<Vec<_>>(), ["OrderCreated"]);
    // The retry while the circuit is open fails the same way, without waiting for a timeout.
    let started = std::time::Instant::now();
    let again = handle(&env.deps, &recs[2..], None).await;
    assert_eq!(again.failed(), vec![recs[2].dynamodb.sequence_number.as_str()]);
    assert!(started.elapsed() < std::time::Duration::from_millis(200), "{:?}", started.elapsed());
    assert_eq!(delivered(&env).await, BTreeMap::new());
}
