//! CPU time of the idempotent create's write path without network: event JSON to request, routing, tenant
//! and path checks, schema validation, typed body, fingerprint, item and transaction build, response JSON.
//! Everything the handler does except the one `TransactWriteItems` round trip.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use api::{Deps, Role};
use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use criterion::{Criterion, criterion_group, criterion_main};
use powertools::router::{Request, Response};

fn event_json() -> String {
    let mut e: serde_json::Value = serde_json::from_str(testkit::fixtures::APIGW_PROXY_REQUEST).unwrap();
    e["httpMethod"] = "POST".into();
    e["resource"] = "/tenants/{tenant_id}/orders".into();
    e["path"] = "/tenants/acme/orders".into();
    e["pathParameters"] = serde_json::json!({"tenant_id": "acme"});
    e["headers"]["Idempotency-Key"] = "bench-key-0001".into();
    e["requestContext"]["authorizer"] = serde_json::json!({"principalId": "u", "tenantId": "acme", "tier": "pro"});
    e["body"] = r#"{"items":[{"sku":"A-1","quantity":2,"unit_price_cents":1250},{"sku":"B-7","quantity":1,"unit_price_cents":990}],"currency":"EUR","customer_ref":"po-4711"}"#.into();
    e.to_string()
}

fn deps() -> Deps {
    // A client that is never called: no endpoint is contacted in this bench.
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .build();
    Deps::new(aws_sdk_dynamodb::Client::from_conf(conf), "entity", "control", Role::All, powertools::clock::system())
}

fn write_path(c: &mut Criterion) {
    let deps = deps();
    let router = api::router(Role::All);
    let raw = event_json();
    c.bench_function("create_order_write_path_cpu", |b| {
        b.iter(|| {
            let event: ApiGatewayProxyRequest = serde_json::from_str(black_box(&raw)).unwrap();
            let mut req = Request::from_apigw(event).unwrap();
            req.operation = router.operation_of(&req).unwrap();
            let tenant = req.tenant().unwrap();
            tenant.authorize_path_tenant(&req.path_param::<String>("tenant_id").unwrap()).unwrap();
            let prepared = api::orders::prepare_create(&deps, &req, &tenant).unwrap();
            let counter = deps
                .limiter
                .transact_item(tenant.tenant(), req.operation, deps.limits.for_tier(tenant.tier()))
                .unwrap();
            let mut items = prepared.writes;
            items.push(counter.item);
            let call = deps.ddb.transact_write_items().set_transact_items(Some(items));
            black_box(call);
            let response = Response::raw(prepared.response.status, "application/json", prepared.response.body);
            black_box(serde_json::to_string(&response).unwrap())
        })
    });
}

criterion_group!(benches, write_path);
criterion_main!(benches);
