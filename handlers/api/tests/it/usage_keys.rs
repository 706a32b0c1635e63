//! Tenants' own usage plan keys against moto's API Gateway: creating a tenant API key creates its gateway key (value:
//! the key's SHA-256) in the usage plan of the tenant's tier, revoking deletes it, a retry repairs, and a gateway
//! failure after the DynamoDB write leaves no usable key behind.

use std::collections::BTreeMap;
use std::sync::Arc;

use api::gateway::{GatewayKeys, key_name};
use powertools::tenant::{TenantId, Tier};
use serde_json::{Value, json};
use testkit::Moto;

use super::{Harness, event, get};

fn gateway(endpoint: &str, plans: &[(Tier, &str)]) -> GatewayKeys {
    let creds = aws_credential_types::Credentials::new("AKID", "SECRET", None, None, "test");
    let plans: BTreeMap<Tier, String> = plans.iter().map(|(t, n)| (*t, (*n).to_string())).collect();
    GatewayKeys::new(plans, endpoint, "us-east-1", creds)
}

/// Usage plans `<prefix>-FreePlan` and `<prefix>-ProPlan` in moto, as the Api stack makes them; their ids.
async fn plans(g: &GatewayKeys, prefix: &str) -> (String, String) {
    let mut ids = Vec::new();
    for tier in ["Free", "Pro"] {
        let (status, v) = g
            .call("CreateUsagePlan", "POST", "/usageplans", Some(&json!({"name": format!("{prefix}-{tier}Plan")})))
            .await
            .unwrap();
        assert_eq!(status, 201, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    (ids[0].clone(), ids[1].clone())
}

/// The keys of a usage plan: (name, value).
async fn plan_keys(g: &GatewayKeys, plan: &str) -> Vec<(String, String)> {
    let (_, v) = g.call("GetUsagePlanKeys", "GET", &format!("/usageplans/{plan}/keys"), None).await.unwrap();
    v["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["name"].as_str().unwrap().to_string(), k["value"].as_str().unwrap().to_string()))
        .collect()
}

/// The tenant's gateway keys by name: (enabled, value).
async fn api_key(g: &GatewayKeys, name: &str) -> Option<(bool, String)> {
    let (_, v) = g.call("GetApiKeys", "GET", "/apikeys?includeValues=true", None).await.unwrap();
    v["item"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name)
        .map(|k| (k["enabled"].as_bool().unwrap(), k["value"].as_str().unwrap().to_string()))
}

#[tokio::test]
async fn a_tenant_key_gets_its_own_gateway_key_in_its_tiers_plan_until_revoked() {
    let endpoint = Moto::shared().endpoint();
    let prefix = testkit::unique("plans");
    let probe = gateway(&endpoint, &[]);
    let (free_plan, pro_plan) = plans(&probe, &prefix).await;
    let names = [(Tier::Free, format!("{prefix}-FreePlan")), (Tier::Pro, format!("{prefix}-ProPlan"))];
    let g = Arc::new(gateway(&endpoint, &[(names[0].0, &names[0].1), (names[1].0, &names[1].1)]));
    let h = Harness::with(|d| d.gateway = Some(g.clone())).await;

    let c = h.call(event("POST", "/tenants/acme/api-keys", Some(("acme", "pro")), Some(r#"{"name":"ci"}"#), &[])).await;
    assert_eq!(c.status, 201, "{:?}", c.body);
    let (key, key_id) = (c.body["api_key"].as_str().unwrap(), c.body["key_id"].as_str().unwrap().to_string());
    let hash = powertools::apikeys::hash(key);
    let name = key_name(&TenantId::parse("acme").unwrap(), &key_id);
    assert_eq!(name, format!("tenant/acme/{key_id}"));
    assert_eq!(api_key(&g, &name).await, Some((true, hash.clone())), "the gateway key's value is the key's SHA-256");
    assert_eq!(plan_keys(&g, &pro_plan).await, [(name.clone(), hash.clone())], "in the plan of the tenant's tier");
    assert_eq!(plan_keys(&g, &free_plan).await, []);
    // The item says so: the authorizer names this key's own usage plan key.
    assert_eq!(h.calls(), [("TransactWriteItems".to_string(), 1)], "still 1 DynamoDB round trip");
    let item = h
        .ddb
        .get_item()
        .table_name(&h.tables.entity)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("TENANT#acme".into()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(format!("APIKEY#{key_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(item.item().unwrap()["usage_key"].as_s().unwrap(), "tenant");

    // Repeating the gateway half (what a retry does) reuses the key and the plan membership.
    let again = g.create(&TenantId::parse("acme").unwrap(), &key_id, &hash, Tier::Pro).await.unwrap();
    assert_eq!(plan_keys(&g, &pro_plan).await.len(), 1);
    assert!(again.is_some());

    // Revoke: the gateway key is gone; a second revoke (a retry) is a 204 and finds nothing to delete.
    let del = || event("DELETE", &format!("/tenants/acme/api-keys/{key_id}"), Some(("acme", "pro")), None, &[]);
    assert_eq!(h.call(del()).await.status, 204);
    assert_eq!(api_key(&g, &name).await, None);
    assert_eq!(h.call(del()).await.status, 204);
    assert_eq!(g.delete(&TenantId::parse("acme").unwrap(), &key_id).await.unwrap(), 0);
}

#[tokio::test]
async fn a_gateway_failure_after_the_write_leaves_no_usable_key() {
    // Plans named in the configuration that the region does not have: the gateway half fails after the write.
    let g = Arc::new(gateway(&Moto::shared().endpoint(), &[(Tier::Pro, &testkit::unique("missing-plan"))]));
    let h = Harness::with(|d| d.gateway = Some(g.clone())).await;
    let c = h.call(event("POST", "/tenants/acme/api-keys", Some(("acme", "pro")), Some(r#"{"name":"ci"}"#), &[])).await;
    assert_eq!(c.status, 503, "{:?}", c.body);
    assert_eq!(c.headers.get("retry-after").or(c.headers.get("Retry-After")).map(String::as_str), Some("1"));
    assert!(c.body.get("api_key").is_none(), "the plaintext is never shown: {}", c.body);
    // The item was deleted again: the tenant lists no key.
    let list = h.call(get("/tenants/acme/api-keys", "acme")).await;
    assert_eq!(list.body["items"], Value::Array(vec![]));
    // A tier without a plan in the configuration gets no gateway key, no error, and keeps the tier's key.
    let c =
        h.call(event("POST", "/tenants/acme/api-keys", Some(("acme", "free")), Some(r#"{"name":"ci"}"#), &[])).await;
    assert_eq!(c.status, 201);
    let list = h.ddb.scan().table_name(&h.tables.entity).send().await.unwrap();
    assert!(!list.items()[0].contains_key("usage_key"));
}
