//! Measures DynamoDB calls per request for every API path and every idempotency path, against a local moto
//! server (`cargo xtask setup` installs it). Prints one JSON object per line:
//! `{"path": "...", "status": 201, "calls": {"TransactWriteItems": 1}}`. Used by `cargo xtask bench`; the same
//! counts are asserted by the tests.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use api::{Deps, Role};
use powertools::aws::{CallCounter, dynamodb_client};
use powertools::idempotency::{Fingerprint, Idempotency, IdempotencyConfig, IdempotencyKey, RunError, StoredResponse};
use powertools::ratelimit::Limit;
use serde_json::{Value, json};
use testkit::Moto;
use testkit::tables::Tables;

/// An event of tenant `acme` (tier `pro`), or of tenant `small` (tier `free`, limit 1) when `tier` is `free`.
fn event(method: &str, path: &str, tier: &str, body: Option<&str>, key: Option<&str>) -> Value {
    let tenant = if tier == "free" { "small" } else { "acme" };
    let path = path.replace("/tenants/acme/", &format!("/tenants/{tenant}/"));
    let mut headers = json!({"Content-Type": "application/json"});
    if let Some(k) = key {
        headers["Idempotency-Key"] = json!(k);
    }
    json!({
        "httpMethod": method, "path": path, "headers": headers,
        "requestContext": {"httpMethod": method, "authorizer": {"tenantId": tenant, "tier": tier}},
        "body": body,
    })
}

fn print(path: &str, status: u16, calls: BTreeMap<String, u32>) {
    println!("{}", json!({ "path": path, "status": status, "calls": calls }));
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let moto = Moto::start().unwrap_or_else(|e| panic!("{e}"));
    let counter = CallCounter::new();
    let ddb = dynamodb_client(&moto.sdk_config(), Some(&counter));
    let tables = Tables::create(&ddb).await;
    let mut deps = Deps::new(ddb.clone(), &tables.entity, &tables.control, Role::All, powertools::clock::system());
    deps.limits.free = Limit::new(1);
    // Presigned URLs (invoice PDFs, uploads) are signed locally: no call, but the routes need credentials.
    deps.aws.signer = Some(moto.signer());
    deps.aws.bucket = "exports".into();
    deps.aws.upload_bucket = Some("uploads".into());
    let deps = Arc::new(deps);
    let router = api::router(Role::All);
    counter.take();

    let order = r#"{"items":[{"sku":"a","quantity":1,"unit_price_cents":100}],"currency":"EUR"}"#;
    let call = async |name: &str, e: Value| -> Value {
        let r = api::handle(deps.clone(), &router, serde_json::from_value(e).unwrap()).await;
        print(name, r.status_code, counter.take());
        r.body.as_deref().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null)
    };
    let o = call("create order (first request)", event("POST", "/tenants/acme/orders", "pro", Some(order), Some("k1")))
        .await;
    call("create order (replay)", event("POST", "/tenants/acme/orders", "pro", Some(order), Some("k1"))).await;
    let other = order.replace("100", "200");
    call(
        "create order (same key, other body: 422)",
        event("POST", "/tenants/acme/orders", "pro", Some(&other), Some("k1")),
    )
    .await;
    call("create order (invalid body: 400)", event("POST", "/tenants/acme/orders", "pro", Some("{}"), Some("k2")))
        .await;
    call(
        "create order (free tier, within limit)",
        event("POST", "/tenants/acme/orders", "free", Some(order), Some("f1")),
    )
    .await;
    call(
        "create order (free tier, over limit: 429)",
        event("POST", "/tenants/acme/orders", "free", Some(order), Some("f2")),
    )
    .await;
    let id = o["order_id"].as_str().unwrap_or_default().to_string();
    call("get order", event("GET", &format!("/tenants/acme/orders/{id}"), "pro", None, None)).await;
    call("list orders", event("GET", "/tenants/acme/orders", "pro", None, None)).await;
    let s = call(
        "create subscription",
        event("POST", "/tenants/acme/subscriptions", "pro", Some(r#"{"plan":"free","seats":1}"#), Some("s1")),
    )
    .await;
    let sid = s["subscription_id"].as_str().unwrap_or_default().to_string();
    let up = format!("/tenants/acme/subscriptions/{sid}/upgrade");
    call("upgrade subscription", event("POST", &up, "pro", Some(r#"{"plan":"pro"}"#), Some("u1"))).await;
    call("upgrade subscription (replay)", event("POST", &up, "pro", Some(r#"{"plan":"pro"}"#), Some("u1"))).await;
    let k = call("create api key", event("POST", "/tenants/acme/api-keys", "pro", Some(r#"{"name":"x"}"#), None)).await;
    let kid = k["key_id"].as_str().unwrap_or_default().to_string();
    call("revoke api key", event("DELETE", &format!("/tenants/acme/api-keys/{kid}"), "pro", None, None)).await;
    let hook = Some(r#"{"url":"https://hooks.example.com/platform"}"#);
    call("set webhook", event("PUT", "/tenants/acme/webhook", "pro", hook, None)).await;
    call("get webhook", event("GET", "/tenants/acme/webhook", "pro", None, None)).await;
    call("delete webhook", event("DELETE", "/tenants/acme/webhook", "pro", None, None)).await;
    let invoice = r#"{"lines":[{"description":"Pro seats","quantity":3,"unit_price_cents":1500}],"currency":"EUR"}"#;
    let i = call("create invoice", event("POST", "/tenants/acme/invoices", "pro", Some(invoice), Some("i1"))).await;
    call("create invoice (replay)", event("POST", "/tenants/acme/invoices", "pro", Some(invoice), Some("i1"))).await;
    let iid = i["invoice_id"].as_str().unwrap_or_default().to_string();
    call("get invoice", event("GET", &format!("/tenants/acme/invoices/{iid}"), "pro", None, None)).await;
    let upload = r#"{"content_type":"image/png","content_length":1234,"file_name":"logo.png"}"#;
    let u = call("create upload", event("POST", "/tenants/acme/uploads", "pro", Some(upload), Some("up1"))).await;
    call("create upload (replay)", event("POST", "/tenants/acme/uploads", "pro", Some(upload), Some("up1"))).await;
    let uid = u["upload_id"].as_str().unwrap_or_default().to_string();
    call("get upload", event("GET", &format!("/tenants/acme/uploads/{uid}"), "pro", None, None)).await;

    // The library's lock mode (side effects outside DynamoDB).
    let idem = Idempotency::new(ddb.clone(), IdempotencyConfig::new(&tables.control));
    let t = powertools::tenant::TenantId::parse("acme").unwrap();
    let key = IdempotencyKey::new(&t, "sideEffect", "l1").unwrap();
    let fp = Fingerprint::of_json(&json!({}));
    let ok = || async { Ok::<_, ()>(StoredResponse { status: 200, headers: BTreeMap::new(), body: "{}".into() }) };
    let r: Result<_, RunError<()>> = idem.run(&key, &fp, || async { Err(()) }).await;
    print("idempotency lock mode: handler fails (key released)", if r.is_err() { 500 } else { 200 }, counter.take());
    idem.run(&key, &fp, ok).await.unwrap();
    print("idempotency lock mode: first request", 200, counter.take());
    idem.run(&key, &fp, ok).await.unwrap();
    print("idempotency lock mode: replay", 200, counter.take());
}
