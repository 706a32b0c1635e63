//! Stream → EventBridge → SQS against moto: writes through the API, the table's real stream read back, events
//! delivered by an EventBridge rule to an SQS target; poison records and bus failures become checkpoints.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_eventbridge::types::Target;
use platform_types::events::EVENT_SOURCE;
use powertools::aws::dynamodb_client;
use powertools::batch::{StreamEvent, StreamRecord};
use powertools::retry::RetryPolicy;
use serde_json::{Value, json};
use stream_processor::{Deps, handle};
use testkit::Moto;
use testkit::convert::StreamTail;
use testkit::tables::Tables;

struct Env {
    ddb: aws_sdk_dynamodb::Client,
    tables: Tables,
    deps: Deps,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    api: (Arc<api::Deps>, powertools::router::Router<Arc<api::Deps>>),
}

async fn env() -> Env {
    let moto = Moto::shared();
    let ddb = dynamodb_client(&moto.sdk_config(), None);
    let tables = Tables::create(&ddb).await;
    let eb = moto.eventbridge();
    let bus = testkit::unique("bus");
    eb.create_event_bus().name(&bus).send().await.unwrap();
    let sqs = moto.sqs();
    let queue_url =
        sqs.create_queue().queue_name(testkit::unique("audit")).send().await.unwrap().queue_url().unwrap().to_string();
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
    let deps = Deps { eventbridge: eb, bus, retry };
    let api_deps = Arc::new(api::Deps::new(
        ddb.clone(),
        &tables.entity,
        &tables.control,
        api::Role::All,
        powertools::clock::system(),
    ));
    Env { ddb, tables, deps, sqs, queue_url, api: (api_deps, api::router(api::Role::All)) }
}

async fn api(env: &Env, method: &str, path: &str, body: Option<&str>) -> Value {
    let e = json!({
        "httpMethod": method, "path": path, "resource": "/{proxy+}",
        "headers": {"Content-Type": "application/json", "Idempotency-Key": testkit::unique("k")},
        "requestContext": {"httpMethod": method, "requestId": "r", "authorizer": {"tenantId": "acme", "tier": "pro"}},
        "body": body,
    });
    let r = api::handle(env.api.0.clone(), &env.api.1, serde_json::from_value(e).unwrap()).await;
    assert!(r.status_code < 300, "{method} {path}: {} {:?}", r.status_code, r.body);
    r.body.as_deref().map(|b| serde_json::from_str(b).unwrap()).unwrap_or(Value::Null)
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
    let order = api(
        &env,
        "POST",
        "/tenants/acme/orders",
        Some(r#"{"items":[{"sku":"a","quantity":1,"unit_price_cents":700}],"currency":"USD"}"#),
    )
    .await;
    let sub = api(&env, "POST", "/tenants/acme/subscriptions", Some(r#"{"plan":"free","seats":2}"#)).await;
    let sub_id = sub["subscription_id"].as_str().unwrap();
    api(&env, "POST", &format!("/tenants/acme/subscriptions/{sub_id}/upgrade"), Some(r#"{"plan":"pro"}"#)).await;
    let key = api(&env, "POST", "/tenants/acme/api-keys", Some(r#"{"name":"k"}"#)).await;
    let key_id = key["key_id"].as_str().unwrap();
    api(&env, "DELETE", &format!("/tenants/acme/api-keys/{key_id}"), None).await;

    let moto = Moto::shared();
    let mut tail = StreamTail::new(&env.ddb, moto.dynamodb_streams(), &env.tables.entity).await;
    let recs = records(tail.next_records().await);
    assert!(recs.len() >= 5, "{} stream records", recs.len());
    let response = handle(&env.deps, &recs, Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let got = delivered(&env).await;
    let types: Vec<&str> = got.keys().map(String::as_str).collect();
    assert_eq!(types, ["ApiKeyRevoked", "OrderCreated", "SubscriptionUpgraded"]);
    let created = &got["OrderCreated"];
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["order_id"], order["order_id"]);
    assert_eq!((created[0]["tenant_id"].as_str(), created[0]["total_cents"].as_u64()), (Some("acme"), Some(700)));
    let up = &got["SubscriptionUpgraded"][0];
    assert_eq!(
        (up["from_plan"].as_str(), up["to_plan"].as_str(), up["subscription_id"].as_str()),
        (Some("free"), Some("pro"), Some(sub_id))
    );
    assert_eq!(got["ApiKeyRevoked"][0]["key_id"], key_id);
}

#[tokio::test]
async fn poison_record_is_the_checkpoint_and_nothing_after_it_is_sent() {
    let env = env().await;
    api(
        &env,
        "POST",
        "/tenants/acme/orders",
        Some(r#"{"items":[{"sku":"a","quantity":1,"unit_price_cents":1}],"currency":"EUR"}"#),
    )
    .await;
    let moto = Moto::shared();
    let mut tail = StreamTail::new(&env.ddb, moto.dynamodb_streams(), &env.tables.entity).await;
    let mut raw = tail.next_records().await;
    let good = raw.iter().find(|r| r["eventName"] == "INSERT").unwrap().clone();
    let mut poison = good.clone();
    poison["eventID"] = json!("poison");
    poison["dynamodb"]["SequenceNumber"] = json!("999000");
    poison["dynamodb"]["NewImage"].as_object_mut().unwrap().remove("total_cents");
    let mut after = good.clone();
    after["eventID"] = json!("after");
    after["dynamodb"]["SequenceNumber"] = json!("999001");
    raw = vec![good, poison, after];
    let response = handle(&env.deps, &records(raw), None).await;
    assert_eq!(response.failed(), vec!["999000"]);
    let got = delivered(&env).await;
    assert_eq!(got.get("OrderCreated").map(Vec::len), Some(1), "only the event before the poison record");
}

#[tokio::test]
async fn bus_failure_checkpoints_at_the_first_event() {
    let env = env().await;
    let mut deps = env.deps.clone();
    deps.bus = "no-such-bus".into();
    api(
        &env,
        "POST",
        "/tenants/acme/orders",
        Some(r#"{"items":[{"sku":"a","quantity":1,"unit_price_cents":1}],"currency":"EUR"}"#),
    )
    .await;
    let moto = Moto::shared();
    let mut tail = StreamTail::new(&env.ddb, moto.dynamodb_streams(), &env.tables.entity).await;
    let recs = records(tail.next_records().await);
    let first_event = recs.iter().find(|r| r.event_name == "INSERT").unwrap().dynamodb.sequence_number.clone();
    let response = handle(&deps, &recs, None).await;
    assert_eq!(response.failed(), vec![first_event.as_str()]);
    assert!(delivered(&env).await.is_empty());
}
