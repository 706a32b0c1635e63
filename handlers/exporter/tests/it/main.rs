//! The exporter against moto S3 and DynamoDB: output read back from S3 (and through the presigned URL), tenant
//! isolation, multipart for large exports.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use exporter::{Deps, ExportError, ExportInput, handle};
use powertools::aws::dynamodb_client;
use powertools::dynamo::{n, s};
use serde_json::{Value, json};
use testkit::Moto;
use testkit::tables::Tables;

struct Env {
    deps: Deps,
    api: (Arc<api::Deps>, powertools::router::Router<Arc<api::Deps>>),
}

async fn env() -> Env {
    let moto = Moto::shared();
    let ddb = dynamodb_client(&moto.sdk_config(), None);
    let tables = Tables::create(&ddb).await;
    let s3 = moto.s3();
    let bucket = testkit::unique("exports");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let deps = Deps::new(ddb.clone(), &tables.entity, s3, &bucket, powertools::clock::system());
    let api_deps =
        Arc::new(api::Deps::new(ddb, &tables.entity, &tables.control, api::Role::All, powertools::clock::system()));
    Env { deps, api: (api_deps, api::router(api::Role::All)) }
}

async fn api(env: &Env, tenant: &str, path: &str, body: &str) -> Value {
    let e = json!({
        "httpMethod": "POST", "path": path,
        "headers": {"Content-Type": "application/json", "Idempotency-Key": testkit::unique("k")},
        "requestContext": {"httpMethod": "POST", "authorizer": {"tenantId": tenant, "tier": "pro"}},
        "body": body,
    });
    let r = api::handle(env.api.0.clone(), &env.api.1, serde_json::from_value(e).unwrap()).await;
    assert!(r.status_code < 300, "{:?}", r.body);
    serde_json::from_str(r.body.as_deref().unwrap()).unwrap()
}

async fn read_back(env: &Env, key: &str) -> Vec<u8> {
    let obj = env.deps.s3.get_object().bucket(&env.deps.bucket).key(key).send().await.unwrap();
    obj.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test]
async fn export_is_the_tenants_data_as_json_lines() {
    let env = env().await;
    let order = r#"{"items":[{"sku":"a","quantity":1,"unit_price_cents":5}],"currency":"EUR"}"#;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(api(&env, "acme", "/tenants/acme/orders", order).await["order_id"].as_str().unwrap().to_string());
    }
    api(&env, "acme", "/tenants/acme/subscriptions", r#"{"plan":"pro","seats":2}"#).await;
    api(&env, "acme", "/tenants/acme/api-keys", r#"{"name":"k"}"#).await;
    api(&env, "other", "/tenants/other/orders", order).await;

    let out =
        handle(&env.deps, ExportInput { tenant_id: "acme".into(), export_id: Some("exp1".into()) }).await.unwrap();
    assert_eq!((out.key.as_str(), out.items, out.parts), ("exports/acme/exp1.jsonl", 5, 0));
    let body = read_back(&env, &out.key).await;
    assert_eq!(body.len() as u64, out.bytes);
    let lines: Vec<Value> =
        body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    let mut kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    kinds.sort();
    assert_eq!(kinds, ["apikey", "order", "order", "order", "sub"]);
    for l in &lines {
        assert_eq!(l["tenant_id"], "acme", "{l}");
        for storage in ["pk", "sk", "gsi1pk", "gsi1sk", "entity"] {
            assert!(l.get(storage).is_none(), "{storage} leaked: {l}");
        }
    }
    let mut exported: Vec<&str> = lines.iter().filter_map(|l| l["order_id"].as_str()).collect();
    exported.sort();
    ids.sort();
    assert_eq!(exported, ids);

    // The presigned URL downloads the same bytes.
    assert!(out.url.contains("X-Amz-Signature=") && out.url.contains("X-Amz-Expires=900"), "{}", out.url);
    let client = powertools::http::HttpClient::new(std::time::Duration::from_secs(5)).unwrap();
    let resp = client.send(http::Request::get(&out.url).body(bytes::Bytes::new()).unwrap()).await.unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.to_vec(), body);
}

#[tokio::test]
async fn large_export_is_a_multipart_upload() {
    let env = env().await;
    // 60 items of about 100 KB: 6 MB, more than one 5 MiB part.
    let blob = "x".repeat(100 * 1024);
    for i in 0..60 {
        env.deps
            .ddb
            .put_item()
            .table_name(&env.deps.entity_table)
            .item("pk", s("TENANT#big"))
            .item("sk", s(format!("INVOICE#{i:03}")))
            .item("invoice_id", s(format!("{i:03}")))
            .item("amount_cents", n(i))
            .item("notes", s(blob.clone()))
            .send()
            .await
            .unwrap();
    }
    let mut deps = env.deps.clone();
    deps.part_size = exporter::MIN_PART_SIZE;
    let out = handle(&deps, ExportInput { tenant_id: "big".into(), export_id: None }).await.unwrap();
    assert_eq!((out.items, out.parts), (60, 2));
    let body = read_back(&env, &out.key).await;
    assert_eq!(body.len() as u64, out.bytes);
    let lines: Vec<Value> =
        body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect();
    assert_eq!(lines.len(), 60);
    assert_eq!(lines[59]["invoice_id"], "059");
}

#[tokio::test]
async fn bad_input_is_not_retryable() {
    let env = env().await;
    let err = handle(&env.deps, ExportInput { tenant_id: "a#b".into(), export_id: None }).await.unwrap_err();
    assert!(matches!(err, ExportError::InvalidInput(_)));
    let d: lambda_runtime::Diagnostic = err.into();
    assert_eq!(d.error_type, "InvalidInput");
    let mut deps = env.deps.clone();
    deps.bucket = "no-such-bucket".into();
    let err = handle(&deps, ExportInput { tenant_id: "acme".into(), export_id: None }).await.unwrap_err();
    assert_eq!(lambda_runtime::Diagnostic::from(err).error_type, "Retryable");
}
