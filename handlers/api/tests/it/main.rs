//! The API against moto: idempotent creates (round trips counted), concurrency, failures, rate limits, the
//! tenant-isolation matrix, 1,000 malformed bodies, upgrades, API keys and webhooks.

#![allow(clippy::unwrap_used)]

mod cache;
mod invoices;
mod malformed;
mod seed;
mod uploads;
mod usage_keys;
mod webhooks;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use api::{Deps, Role};
use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use powertools::aws::{CallCounter, dynamodb_client};
use powertools::clock::{Clock, ManualClock, SystemClock};
use powertools::ratelimit::Limit;
use powertools::router::{Response, Router};
use serde_json::{Value, json};
use testkit::Moto;
use testkit::tables::Tables;

pub struct Harness {
    pub deps: Arc<Deps>,
    pub router: Router<Arc<Deps>>,
    pub ddb: aws_sdk_dynamodb::Client,
    pub tables: Tables,
    pub counter: CallCounter,
    pub clock: Arc<ManualClock>,
}

impl Harness {
    pub async fn new() -> Harness {
        Harness::with(|_| {}).await
    }

    pub async fn with(configure: impl FnOnce(&mut Deps)) -> Harness {
        let moto = Moto::shared();
        let counter = CallCounter::new();
        let ddb = dynamodb_client(&moto.sdk_config(), Some(&counter));
        let tables = Tables::create(&ddb).await;
        // 10 s into a minute: rate windows do not roll over during a test.
        let now = SystemClock.now_millis();
        let clock = ManualClock::new(now - now % 60_000 + 10_000);
        let mut deps = Deps::new(ddb.clone(), &tables.entity, &tables.control, Role::All, clock.clone());
        configure(&mut deps);
        counter.take();
        Harness { router: api::router(deps.role), deps: Arc::new(deps), ddb, tables, counter, clock }
    }

    pub async fn call(&self, e: ApiGatewayProxyRequest) -> Reply {
        Reply::from(api::handle(self.deps.clone(), &self.router, e).await)
    }

    pub fn calls(&self) -> Vec<(String, u32)> {
        self.counter.take().into_iter().collect()
    }

    /// (entity items, control items). The entity count leaves out the creates' idempotency claims (one per
    /// completed key, `cross_region_retry_replays` counts them).
    pub async fn items(&self) -> (usize, usize) {
        let claims = self.claims().await;
        (
            Tables::count(&self.ddb, &self.tables.entity).await - claims,
            Tables::count(&self.ddb, &self.tables.control).await,
        )
    }

    /// The idempotency claims in the entity table (`sk` starting `IDEMPOTENCY#`).
    pub async fn claims(&self) -> usize {
        let out = self
            .ddb
            .scan()
            .table_name(&self.tables.entity)
            .filter_expression("begins_with(sk, :claim)")
            .expression_attribute_values(":claim", powertools::dynamo::s(platform_types::table::IDEMPOTENCY_PREFIX))
            .send()
            .await
            .unwrap();
        out.items().len()
    }
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: std::collections::BTreeMap<String, String>,
    pub body: Value,
}

impl From<Response> for Reply {
    fn from(r: Response) -> Reply {
        let body = r
            .body
            .as_deref()
            .map(|b| serde_json::from_str(b).unwrap_or(Value::String(b.into())))
            .unwrap_or(Value::Null);
        Reply { status: r.status_code, headers: r.headers, body }
    }
}

/// A REST proxy event built from the real fixture, with our route, tenant context and body.
pub fn event(
    method: &str,
    path: &str,
    tenant: Option<(&str, &str)>,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> ApiGatewayProxyRequest {
    let mut e: Value = serde_json::from_str(testkit::fixtures::APIGW_PROXY_REQUEST).unwrap();
    e["httpMethod"] = json!(method);
    e["path"] = json!(path);
    e["resource"] = json!("/{proxy+}");
    e["pathParameters"] = json!({ "proxy": path.trim_start_matches('/') });
    e["requestContext"]["httpMethod"] = json!(method);
    e["requestContext"]["path"] = json!(path);
    e["requestContext"]["authorizer"] = match tenant {
        Some((t, tier)) => json!({ "principalId": format!("user-{t}"), "tenantId": t, "tier": tier }),
        None => json!({ "principalId": "anonymous" }),
    };
    let mut h = json!({ "Content-Type": "application/json" });
    for (k, v) in headers {
        h[*k] = json!(v);
    }
    e["headers"] = h;
    e["multiValueHeaders"] = json!({});
    e["body"] = body.map_or(Value::Null, |b| json!(b));
    serde_json::from_value(e).unwrap()
}

pub const ORDER: &str = r#"{"items":[{"sku":"A-1","quantity":2,"unit_price_cents":1250}],"currency":"EUR"}"#;

pub fn create_order(tenant: &str, key: &str, body: &str) -> ApiGatewayProxyRequest {
    event("POST", &format!("/tenants/{tenant}/orders"), Some((tenant, "pro")), Some(body), &[("Idempotency-Key", key)])
}

pub fn get(path: &str, tenant: &str) -> ApiGatewayProxyRequest {
    event("GET", path, Some((tenant, "pro")), None, &[])
}

pub fn ops(calls: &[(&str, u32)]) -> Vec<(String, u32)> {
    calls.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn create_order_is_one_round_trip_then_get_and_conditional_get() {
    let h = Harness::new().await;
    let r = h.call(create_order("acme", "k1", ORDER)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["total_cents"], 2500);
    assert_eq!(r.body["tenant_id"], "acme");
    let id = r.body["order_id"].as_str().unwrap().to_string();
    assert_eq!(r.headers["location"], format!("/tenants/acme/orders/{id}"));
    assert_eq!(r.headers["ratelimit-limit"], "1000");
    assert_eq!(h.calls(), ops(&[("TransactWriteItems", 1)]), "the idempotent create is 1 round trip");

    let g = h.call(get(&format!("/tenants/acme/orders/{id}"), "acme")).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body, r.body);
    assert_eq!(g.headers["cache-control"], "max-age=0, s-maxage=5, stale-while-revalidate=10");
    assert_eq!(g.headers["vary"], "Authorization");
    assert_eq!(h.calls(), ops(&[("GetItem", 1), ("UpdateItem", 1)]));
    let etag = g.headers["etag"].clone();
    let cached = h
        .call(event(
            "GET",
            &format!("/tenants/acme/orders/{id}"),
            Some(("acme", "pro")),
            None,
            &[("If-None-Match", &etag)],
        ))
        .await;
    assert_eq!(cached.status, 304);

    let list = h.call(get("/tenants/acme/orders", "acme")).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(h.calls(), ops(&[("GetItem", 1), ("Query", 1), ("UpdateItem", 2)]));
}

#[tokio::test]
async fn replay_and_payload_mismatch() {
    let h = Harness::new().await;
    let first = h.call(create_order("acme", "same-key", ORDER)).await;
    assert_eq!(first.status, 201);
    h.calls();
    let replay = h.call(create_order("acme", "same-key", ORDER)).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.body, first.body, "the stored response, same order id");
    assert_eq!(replay.headers["idempotency-replayed"], "true");
    assert_eq!(h.calls(), ops(&[("TransactWriteItems", 1)]));

    let other = ORDER.replace("\"quantity\":2", "\"quantity\":3");
    let mismatch = h.call(create_order("acme", "same-key", &other)).await;
    assert_eq!(mismatch.status, 422, "{:?}", mismatch.body);
    assert_eq!(mismatch.headers["content-type"], "application/problem+json");
    assert_eq!(h.calls(), ops(&[("TransactWriteItems", 1)]));

    let missing = h.call(event("POST", "/tenants/acme/orders", Some(("acme", "pro")), Some(ORDER), &[])).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.body["detail"], "the Idempotency-Key header is required");
    assert_eq!(h.items().await.0, 1);
}

#[tokio::test]
async fn sixty_four_concurrent_duplicate_creates_write_one_order() {
    let h = Arc::new(Harness::new().await);
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move { h.call(create_order("acme", "burst", ORDER)).await }));
    }
    let mut replies = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        replies.push((r.status, r.headers.get("idempotency-replayed").cloned(), r.body));
    }
    // One create runs; the record is written with the order, so every duplicate is a replay of its response.
    let first = replies.iter().find(|(_, replayed, _)| replayed.is_none()).unwrap().2.clone();
    let mut expected = vec![(201, Some("true".to_string()), first.clone()); 63];
    expected.push((201, None, first));
    replies.sort_by_key(|(_, replayed, _)| replayed.is_none());
    assert_eq!(replies, expected);
    let (entity, _) = h.items().await;
    assert_eq!(entity, 1, "exactly one order item");
}

#[tokio::test]
async fn a_failed_attempt_leaves_the_key_usable() {
    // The entity table does not exist yet: the first attempt fails inside DynamoDB (a 500), and must leave
    // neither an order nor an idempotency record behind.
    let missing = testkit::unique("late-entity");
    let h = Harness::with(|d| d.entity_table = missing.clone()).await;
    let first = h.call(create_order("acme", "retry-me", ORDER)).await;
    assert_eq!(first.status, 500, "{:?}", first.body);
    assert_eq!(Tables::count(&h.ddb, &h.tables.control).await, 0);
    testkit::tables::create_entity_table(&h.ddb, &missing).await;
    let retry = h.call(create_order("acme", "retry-me", ORDER)).await;
    assert_eq!(retry.status, 201, "{:?}", retry.body);
    assert!(!retry.headers.contains_key("idempotency-replayed"));
    assert_eq!(Tables::count(&h.ddb, &missing).await, 1);
}

#[tokio::test]
async fn n_plus_first_request_in_a_window_is_429() {
    let h = Harness::with(|d| d.limits.free = Limit::new(3)).await;
    let free = |key: &str| {
        event("POST", "/tenants/small/orders", Some(("small", "free")), Some(ORDER), &[("Idempotency-Key", key)])
    };
    for i in 0..3 {
        let r = h.call(free(&format!("k{i}"))).await;
        assert_eq!(r.status, 201, "request {i}: {:?}", r.body);
    }
    let denied = h.call(free("k3")).await;
    assert_eq!(denied.status, 429);
    assert_eq!(denied.headers["retry-after"], "50");
    assert_eq!(denied.headers["ratelimit-limit"], "3");
    assert_eq!(denied.headers["ratelimit-remaining"], "0");
    assert_eq!(denied.headers["content-type"], "application/problem+json");
    // A replay is not a new request: it still answers.
    assert_eq!(h.call(free("k0")).await.status, 201);
    assert_eq!(h.items().await.0, 3, "the denied request wrote nothing");
    // Reads have their own per-route counter.
    let read = || event("GET", "/tenants/small/orders", Some(("small", "free")), None, &[]);
    for _ in 0..3 {
        assert_eq!(h.call(read()).await.status, 200);
    }
    let r = h.call(read()).await;
    assert_eq!((r.status, r.headers["retry-after"].as_str()), (429, "50"));
    // The next window.
    h.clock.advance(Duration::from_secs(50));
    assert_eq!(h.call(read()).await.status, 200);
    assert_eq!(h.call(free("k4")).await.status, 201);
}

#[tokio::test]
async fn tenant_isolation_matrix() {
    let h = Harness::new().await;
    let a = h.call(create_order("tenant-a", "ka", ORDER)).await;
    let b = h.call(create_order("tenant-b", "kb", ORDER)).await;
    let (a_id, b_id) =
        (a.body["order_id"].as_str().unwrap().to_string(), b.body["order_id"].as_str().unwrap().to_string());
    let sub_b = h
        .call(event(
            "POST",
            "/tenants/tenant-b/subscriptions",
            Some(("tenant-b", "pro")),
            Some(r#"{"plan":"free","seats":1}"#),
            &[("Idempotency-Key", "s")],
        ))
        .await;
    let sub_b_id = sub_b.body["subscription_id"].as_str().unwrap().to_string();
    let before = h.items().await;

    // (who, method, path, body, expected status)
    let a_ctx = Some(("tenant-a", "pro"));
    let cases: Vec<(&str, &str, String, Option<String>, u16)> = vec![
        ("A reads B's order via B's path", "GET", format!("/tenants/tenant-b/orders/{b_id}"), None, 403),
        ("A reads B's order id under its own path", "GET", format!("/tenants/tenant-a/orders/{b_id}"), None, 404),
        ("A lists B's orders", "GET", "/tenants/tenant-b/orders".into(), None, 403),
        ("A writes an order under B", "POST", "/tenants/tenant-b/orders".into(), Some(ORDER.into()), 403),
        (
            "A smuggles tenant_id in the body",
            "POST",
            "/tenants/tenant-a/orders".into(),
            Some(ORDER.replace("\"currency\"", "\"tenant_id\":\"tenant-b\",\"currency\"")),
            400,
        ),
        ("A reads B's subscription", "GET", format!("/tenants/tenant-b/subscriptions/{sub_b_id}"), None, 403),
        (
            "A reads B's subscription id under its path",
            "GET",
            format!("/tenants/tenant-a/subscriptions/{sub_b_id}"),
            None,
            404,
        ),
        (
            "A upgrades B's subscription",
            "POST",
            format!("/tenants/tenant-b/subscriptions/{sub_b_id}/upgrade"),
            Some(r#"{"plan":"pro"}"#.into()),
            403,
        ),
        (
            "A upgrades B's subscription id under its path",
            "POST",
            format!("/tenants/tenant-a/subscriptions/{sub_b_id}/upgrade"),
            Some(r#"{"plan":"pro"}"#.into()),
            404,
        ),
        ("A revokes a key under B", "DELETE", "/tenants/tenant-b/api-keys/01ABC".into(), None, 403),
        ("A creates a key under B", "POST", "/tenants/tenant-b/api-keys".into(), Some(r#"{"name":"x"}"#.into()), 403),
        ("A forges a sort key", "GET", "/tenants/tenant-a/orders/x%23ORDER%23y".into(), None, 404),
    ];
    for (what, method, path, body, expected) in &cases {
        let r = h.call(event(method, path, a_ctx, body.as_deref(), &[("Idempotency-Key", "iso")])).await;
        assert_eq!(r.status, *expected, "{what}: {:?}", r.body);
    }
    // No credentials context at all, or a malformed one: 401.
    for ctx in [None, Some(("a#b", "pro")), Some(("tenant-a", "platinum"))] {
        let r = h.call(event("GET", "/tenants/tenant-a/orders", ctx, None, &[])).await;
        assert_eq!(r.status, 401, "{ctx:?}");
    }
    // A's list holds only A's order; B's cursor is refused.
    let list = h.call(get("/tenants/tenant-a/orders", "tenant-a")).await;
    let ids: Vec<&str> =
        list.body["items"].as_array().unwrap().iter().map(|o| o["order_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![a_id.as_str()]);
    let b_cursor =
        api::items::encode_cursor(&powertools::tenant::TenantId::parse("tenant-b").unwrap(), &format!("ORDER#{b_id}"));
    let mut e = get("/tenants/tenant-a/orders", "tenant-a");
    e.query_string_parameters = HashMap::from([("cursor".to_string(), b_cursor)]).into();
    assert_eq!(h.call(e).await.status, 400);
    // Nothing was written by any refused request, and B's order is intact.
    let after = h.items().await;
    assert_eq!(after.0, before.0, "entity items");
    let b_again = h.call(get(&format!("/tenants/tenant-b/orders/{b_id}"), "tenant-b")).await;
    assert_eq!(b_again.body, b.body);
}

#[tokio::test]
async fn subscription_upgrade_is_idempotent_and_checked() {
    let h = Harness::new().await;
    let sub = h
        .call(event(
            "POST",
            "/tenants/acme/subscriptions",
            Some(("acme", "pro")),
            Some(r#"{"plan":"free","seats":5}"#),
            &[("Idempotency-Key", "c")],
        ))
        .await;
    assert_eq!(sub.status, 201, "{:?}", sub.body);
    let id = sub.body["subscription_id"].as_str().unwrap().to_string();
    let path = format!("/tenants/acme/subscriptions/{id}/upgrade");
    let up =
        |key: &str, body: &str| event("POST", &path, Some(("acme", "pro")), Some(body), &[("Idempotency-Key", key)]);
    h.calls();
    let r = h.call(up("u1", r#"{"plan":"pro","seats":10}"#)).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(
        (r.body["plan"].as_str(), r.body["seats"].as_u64(), r.body["version"].as_u64()),
        (Some("pro"), Some(10), Some(2))
    );
    assert_eq!(h.calls(), ops(&[("GetItem", 1), ("TransactWriteItems", 1)]));
    // The same upgrade again: the replay, not "pro is not an upgrade of pro".
    let again = h.call(up("u1", r#"{"plan":"pro","seats":10}"#)).await;
    assert_eq!(again.status, 202);
    assert_eq!(again.body, r.body);
    assert_eq!(again.headers["idempotency-replayed"], "true");
    // A new key asking for the same or a lower plan is refused.
    assert_eq!(h.call(up("u2", r#"{"plan":"pro"}"#)).await.status, 409);
    assert_eq!(h.call(up("u3", r#"{"plan":"free"}"#)).await.status, 409);
    let ent = h.call(up("u4", r#"{"plan":"enterprise"}"#)).await;
    assert_eq!((ent.status, ent.body["version"].as_u64(), ent.body["seats"].as_u64()), (202, Some(3), Some(10)));
    let got = h.call(get(&format!("/tenants/acme/subscriptions/{id}"), "acme")).await;
    assert_eq!(got.body["plan"], "enterprise");
    assert_eq!(h.call(up("u5", r#"{"plan":"enterprise","extra":1}"#)).await.status, 400);
    assert_eq!(
        h.call(event(
            "POST",
            "/tenants/acme/subscriptions/NOPE/upgrade",
            Some(("acme", "pro")),
            Some(r#"{"plan":"pro"}"#),
            &[("Idempotency-Key", "x")]
        ))
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn api_keys_create_list_revoke() {
    let h = Harness::new().await;
    let c = h.call(event("POST", "/tenants/acme/api-keys", Some(("acme", "pro")), Some(r#"{"name":"ci"}"#), &[])).await;
    assert_eq!(c.status, 201, "{:?}", c.body);
    assert_eq!(c.headers["cache-control"], "no-store");
    let key = c.body["api_key"].as_str().unwrap();
    let key_id = c.body["key_id"].as_str().unwrap().to_string();
    assert_eq!(powertools::apikeys::key_id(key), Some(key_id.as_str()));
    assert_eq!(h.calls(), ops(&[("TransactWriteItems", 1)]));
    // Only the hash is stored.
    let scan = h.ddb.scan().table_name(&h.tables.entity).send().await.unwrap();
    let stored: Vec<Value> = scan.items().iter().map(powertools::dynamo::item_to_json).collect();
    assert_eq!(
        stored,
        vec![json!({
            "pk": "TENANT#acme", "sk": format!("APIKEY#{key_id}"), "entity": "ApiKey",
            "gsi1pk": format!("APIKEY#{}", powertools::apikeys::hash(key)), "gsi1sk": "APIKEY",
            "key_id": key_id, "name": "ci", "status": "active", "created_at": c.body["created_at"],
            "tenant_id": "acme", "tier": "pro",
        })],
        "the hash, never the key"
    );

    let listed = |status: &str| json!({"items": [{"key_id": key_id, "name": "ci", "status": status, "created_at": c.body["created_at"]}]});
    let list = h.call(get("/tenants/acme/api-keys", "acme")).await;
    assert_eq!(list.body, listed("active"));
    let del = |id: &str| event("DELETE", &format!("/tenants/acme/api-keys/{id}"), Some(("acme", "pro")), None, &[]);
    assert_eq!(h.call(del(&key_id)).await.status, 204);
    assert_eq!(h.call(del(&key_id)).await.status, 204, "revoking twice is a no-op");
    assert_eq!(h.call(del("01UNKNOWN")).await.status, 404);
    let list = h.call(get("/tenants/acme/api-keys", "acme")).await;
    assert_eq!(list.body, listed("revoked"));
}

#[tokio::test]
async fn read_deployment_refuses_writes_and_lists_paginate() {
    let h = Harness::new().await;
    for i in 0..3 {
        assert_eq!(h.call(create_order("acme", &format!("p{i}"), ORDER)).await.status, 201);
    }
    let read_only = api::router(Role::Read);
    let r = Reply::from(api::handle(h.deps.clone(), &read_only, create_order("acme", "p9", ORDER)).await);
    assert_eq!(r.status, 405, "the read half knows the path but not the method");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut e = get("/tenants/acme/orders", "acme");
        let mut q = HashMap::from([("limit".to_string(), "2".to_string())]);
        if let Some(c) = &cursor {
            q.insert("cursor".into(), c.clone());
        }
        e.query_string_parameters = q.into();
        let page = h.call(e).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        for o in page.body["items"].as_array().unwrap() {
            seen.push(o["order_id"].as_str().unwrap().to_string());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "ULIDs list in creation order");
    let mut bad = get("/tenants/acme/orders", "acme");
    bad.query_string_parameters = HashMap::from([("limit".to_string(), "1000".to_string())]).into();
    assert_eq!(h.call(bad).await.status, 400);
}

#[tokio::test]
async fn the_binary_serves_invocations_through_the_runtime_api() {
    let h = Harness::new().await;
    let events = vec![
        serde_json::to_value(create_order("acme", "bin-1", ORDER)).unwrap(),
        serde_json::to_value(event(
            "POST",
            "/tenants/acme/orders",
            Some(("acme", "pro")),
            Some("{"),
            &[("Idempotency-Key", "bin-2")],
        ))
        .unwrap(),
    ];
    let rt = testkit::runtime::RuntimeApi::start(events).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_api"))
        .env_clear()
        .envs(rt.lambda_env())
        .env("AWS_ENDPOINT_URL", Moto::shared().endpoint())
        .env("TABLE_NAME", &h.tables.entity)
        .env("CONTROL_TABLE_NAME", &h.tables.control)
        .env("API_ROLE", "write")
        .env("EXPORT_WORKFLOW_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:export")
        .env("EXPORT_BUCKET_NAME", "exports")
        .env("POWERTOOLS_SERVICE_NAME", "api")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let outcomes = rt.outcomes(2, Duration::from_secs(20)).await;
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    let created = &outcomes[0];
    assert_eq!((created.request_id.as_str(), created.kind.as_str()), ("req-0", "response"));
    assert_eq!(created.body["statusCode"], 201, "{:?}", created.body);
    let order: Value = serde_json::from_str(created.body["body"].as_str().unwrap()).unwrap();
    // Written to moto through AWS_ENDPOINT_URL.
    let got = h.call(get(&format!("/tenants/acme/orders/{}", order["order_id"].as_str().unwrap()), "acme")).await;
    assert_eq!(got.status, 200);
    assert_eq!(outcomes[1].body["statusCode"], 400);
    assert_eq!(outcomes[1].body["headers"]["content-type"], "application/problem+json");
    // One EMF line per invocation with the tenant dimension, and the cold start once.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let emf: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert_eq!(emf.iter().filter(|v| v.get("ColdStart").is_some()).count(), 1, "{stdout}");
    let requests: Vec<&Value> = emf.iter().filter(|v| v.get("Requests").is_some()).collect();
    assert_eq!(requests.len(), 2, "{stdout}");
    let fields =
        |v: &Value| (v["request_id"].clone(), v["status"].clone(), v["tenant"].clone(), v["DynamoDBCalls"].clone());
    // One round trip for the create, none for the invalid body.
    assert_eq!(fields(requests[0]), (json!("req-0"), json!(201), json!("acme"), json!(1.0)));
    assert_eq!(fields(requests[1]), (json!("req-1"), json!(400), json!("acme"), json!(0.0)));
}

/// A retry that lands in another region: that region's control table (per region) has no record of the key, but
/// the entity table (a global table; one table here, as it is once replicated) has the first region's claim, so
/// the retry replays the first response in one round trip and writes nothing: no second order.
#[tokio::test]
async fn cross_region_retry_replays() {
    let h = Harness::new().await;
    let first = h.call(create_order("acme", "k-regions", ORDER)).await;
    assert_eq!(first.status, 201);
    let control = testkit::unique("control");
    testkit::tables::create_control_table(&h.ddb, &control).await;
    let other_region = Arc::new(Deps::new(h.ddb.clone(), &h.tables.entity, &control, Role::All, h.clock.clone()));
    h.calls();
    let call = |e| async { Reply::from(api::handle(other_region.clone(), &h.router, e).await) };
    let retry = call(create_order("acme", "k-regions", ORDER)).await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body, "the first region's order, not a new one");
    assert_eq!(retry.headers["idempotency-replayed"], "true");
    assert_eq!(h.calls(), ops(&[("TransactWriteItems", 1)]));
    let other = ORDER.replace("\"quantity\":2", "\"quantity\":3");
    assert_eq!(call(create_order("acme", "k-regions", &other)).await.status, 422);
    assert_eq!((h.items().await.0, h.claims().await), (1, 1), "one order, one claim");
    assert_eq!(Tables::count(&h.ddb, &control).await, 0, "the other region recorded nothing, counted nothing");
}
