//! The exporter against moto S3 and DynamoDB, with entities seeded as the API writes them: output read back from
//! S3 (and through the presigned URL), tenant isolation, multipart for large exports.

#![allow(clippy::unwrap_used)]

use exporter::{Deps, ExportError, ExportInput, handle};
use platform_types::api::{CreateOrderRequest, Currency, OrderLine, Plan};
use powertools::aws::dynamodb_client;
use powertools::dynamo::{n, s};
use powertools::tenant::Tier;
use serde_json::{Value, json};
use testkit::Moto;
use testkit::seed::Seed;
use testkit::tables::Tables;

struct Env {
    deps: Deps,
    seed: Seed,
}

async fn env() -> Env {
    let moto = Moto::shared();
    let ddb = dynamodb_client(&moto.sdk_config(), None);
    let tables = Tables::create(&ddb).await;
    let s3 = moto.s3();
    let bucket = testkit::unique("exports");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let deps = Deps::new(ddb.clone(), &tables.entity, s3, &bucket, powertools::clock::system());
    Env { deps, seed: Seed::new(&ddb, &tables.entity) }
}

fn order() -> CreateOrderRequest {
    CreateOrderRequest {
        items: vec![OrderLine { sku: "a".into(), quantity: 1, unit_price_cents: 5 }],
        currency: Currency::EUR,
        customer_ref: None,
    }
}

/// An export line as expected: the domain value's JSON, plus `kind` and any `extra` attributes.
fn line(value: impl serde::Serialize, kind: &str, extra: Value) -> Value {
    let mut v = serde_json::to_value(value).unwrap();
    v["kind"] = json!(kind);
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn sorted(mut lines: Vec<Value>) -> Vec<Value> {
    lines.sort_by_key(|l| l.to_string());
    lines
}

async fn read_back(env: &Env, key: &str) -> Vec<u8> {
    let obj = env.deps.s3.get_object().bucket(&env.deps.bucket).key(key).send().await.unwrap();
    obj.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test]
async fn export_is_the_tenants_data_as_json_lines() {
    let env = env().await;
    let mut expected = Vec::new();
    for _ in 0..3 {
        expected.push(line(env.seed.order("acme", order()).await, "order", json!({})));
    }
    expected.push(line(env.seed.subscription("acme", Plan::Pro, 2).await, "sub", json!({})));
    let key = env.seed.api_key("acme", Tier::Pro, "k").await;
    let info = json!({"key_id": key.key_id, "name": "k", "status": "active", "created_at": key.created_at});
    // API key items also carry the tenant and its tier, for the authorizer.
    expected.push(line(info, "apikey", json!({"tenant_id": "acme", "tier": "pro"})));
    env.seed.order("other", order()).await;

    let out =
        handle(&env.deps, ExportInput { tenant_id: "acme".into(), export_id: Some("exp1".into()) }).await.unwrap();
    assert_eq!(
        (out.bucket.as_str(), out.key.as_str(), out.items, out.parts, out.url_expires_in_seconds),
        (env.deps.bucket.as_str(), "exports/acme/exp1.jsonl", 5, 0, 900)
    );
    let body = read_back(&env, &out.key).await;
    assert_eq!(body.len() as u64, out.bytes);
    let lines: Vec<Value> =
        body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect();
    // Exactly the tenant's entities, with no storage attribute (keys, index keys, type name).
    assert_eq!(sorted(lines), sorted(expected));

    // The presigned URL downloads the same bytes.
    let query = |name: &str| {
        let q = out.url.split_once('?').map_or("", |(_, q)| q);
        q.split('&').find_map(|p| p.strip_prefix(name)?.strip_prefix('=')).map(String::from)
    };
    assert_eq!(
        (query("X-Amz-Algorithm").as_deref(), query("X-Amz-Expires").as_deref()),
        (Some("AWS4-HMAC-SHA256"), Some("900")),
        "{}",
        out.url
    );
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
    assert_eq!(
        err,
        ExportError::InvalidInput(r#"invalid tenant id "a#b": expected 1 to 64 characters of [A-Za-z0-9_-]"#.into())
    );
    let d: lambda_runtime::Diagnostic = err.into();
    assert_eq!(d.error_type, "InvalidInput");
    let mut deps = env.deps.clone();
    deps.bucket = "no-such-bucket".into();
    let err = handle(&deps, ExportInput { tenant_id: "acme".into(), export_id: None }).await.unwrap_err();
    assert_eq!(lambda_runtime::Diagnostic::from(err).error_type, "Retryable");
}
