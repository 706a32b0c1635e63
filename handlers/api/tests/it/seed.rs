//! `testkit::seed` writes what the API writes: the other handlers' tests read seeded entities instead of calling
//! the API, so a seeded item must be the item the API's route writes, attribute for attribute (ids, hashes and
//! times aside).

use powertools::dynamo::{item_to_json, s};
use powertools::tenant::{EntityId, EntityKind, TenantId, Tier};
use serde_json::Value;
use testkit::seed::Seed;

use super::{Harness, ORDER, create_order, event};

/// The stored item of an entity as plain JSON, with its id, the key hash and the times replaced by placeholders.
async fn stored(h: &Harness, kind: EntityKind, id: &str, hash: Option<&str>) -> Value {
    let key = TenantId::parse("acme").unwrap().entity_key(kind, &EntityId::parse(id).unwrap());
    let out = h
        .ddb
        .get_item()
        .table_name(&h.tables.entity)
        .key("pk", s(key.pk()))
        .key("sk", s(key.sk()))
        .send()
        .await
        .unwrap();
    let mut item = item_to_json(&out.item.unwrap());
    for (name, v) in item.as_object_mut().unwrap() {
        if let Value::String(text) = v {
            *text = text.replace(id, "{id}");
            if let Some(hash) = hash {
                *text = text.replace(hash, "{hash}");
            }
            if name.ends_with("_at") {
                *text = "{time}".into();
            }
        }
    }
    item
}

fn id(body: &Value, field: &str) -> String {
    body[field].as_str().unwrap().to_string()
}

#[tokio::test]
async fn seeded_orders_and_subscriptions_are_the_apis() {
    let h = Harness::new().await;
    let seed = Seed::new(&h.ddb, &h.tables.entity);

    let by_api = h.call(create_order("acme", "o", ORDER)).await;
    let seeded = seed.order("acme", serde_json::from_str(ORDER).unwrap()).await;
    assert_eq!(
        stored(&h, EntityKind::Order, &seeded.order_id, None).await,
        stored(&h, EntityKind::Order, &id(&by_api.body, "order_id"), None).await
    );

    let sub = |path: &str, body: &str| {
        event("POST", path, Some(("acme", "pro")), Some(body), &[("Idempotency-Key", testkit::unique("s").as_str())])
    };
    let by_api = h.call(sub("/tenants/acme/subscriptions", r#"{"plan":"free","seats":2}"#)).await;
    let api_id = id(&by_api.body, "subscription_id");
    let seeded = seed.subscription("acme", platform_types::api::Plan::Free, 2).await;
    let compare = async |h: &Harness| {
        assert_eq!(
            stored(h, EntityKind::Subscription, &seeded.subscription_id, None).await,
            stored(h, EntityKind::Subscription, &api_id, None).await
        );
    };
    compare(&h).await;
    let upgraded = h.call(sub(&format!("/tenants/acme/subscriptions/{api_id}/upgrade"), r#"{"plan":"pro"}"#)).await;
    assert_eq!(upgraded.status, 202, "{:?}", upgraded.body);
    seed.upgrade(&seeded, platform_types::api::Plan::Pro).await;
    compare(&h).await;
}

#[tokio::test]
async fn seeded_api_keys_are_the_apis() {
    let h = Harness::new().await;
    let seed = Seed::new(&h.ddb, &h.tables.entity);
    let by_api =
        h.call(event("POST", "/tenants/acme/api-keys", Some(("acme", "pro")), Some(r#"{"name":"ci"}"#), &[])).await;
    let (api_id, api_hash) = (id(&by_api.body, "key_id"), powertools::apikeys::hash(&id(&by_api.body, "api_key")));
    let seeded = seed.api_key("acme", Tier::Pro, "ci").await;
    let seeded_hash = powertools::apikeys::hash(&seeded.api_key);
    let compare = async |h: &Harness| {
        assert_eq!(
            stored(h, EntityKind::ApiKey, &seeded.key_id, Some(&seeded_hash)).await,
            stored(h, EntityKind::ApiKey, &api_id, Some(&api_hash)).await
        );
    };
    compare(&h).await;
    let revoked =
        h.call(event("DELETE", &format!("/tenants/acme/api-keys/{api_id}"), Some(("acme", "pro")), None, &[])).await;
    assert_eq!(revoked.status, 204);
    seed.revoke("acme", &seeded.key_id).await;
    compare(&h).await;
}
