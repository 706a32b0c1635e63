//! Invoices and exports against moto: the create's round trips, replays, the presigned PDF URL, exports through
//! moto's Step Functions, and 1,000 malformed bodies per POST route with nothing written.

use std::sync::Arc;

use serde_json::{Value, json};
use testkit::Moto;

use super::{Harness, event, get, ops};

pub const INVOICE: &str =
    r#"{"lines":[{"description":"Pro seats","quantity":3,"unit_price_cents":1500}],"currency":"EUR"}"#;

fn create_invoice(tenant: &str, key: &str, body: &str) -> aws_lambda_events::event::apigw::ApiGatewayProxyRequest {
    event(
        "POST",
        &format!("/tenants/{tenant}/invoices"),
        Some((tenant, "pro")),
        Some(body),
        &[("Idempotency-Key", key)],
    )
}

fn create_export(tenant: &str, key: &str, body: &str) -> aws_lambda_events::event::apigw::ApiGatewayProxyRequest {
    event("POST", &format!("/tenants/{tenant}/exports"), Some((tenant, "pro")), Some(body), &[("Idempotency-Key", key)])
}

#[tokio::test]
async fn create_invoice_is_one_round_trip_and_get_has_no_url_until_ready() {
    let h = Harness::with(|d| {
        d.aws.signer = Some(Moto::shared().signer());
        d.aws.bucket = "exports".into();
    })
    .await;
    let r = h.call(create_invoice("acme", "i1", INVOICE)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!((r.body["amount_cents"].as_u64(), r.body["status"].as_str()), (Some(4500), Some("pending")));
    let id = r.body["invoice_id"].as_str().unwrap().to_string();
    assert_eq!(r.headers["location"], format!("/tenants/acme/invoices/{id}"));
    assert_eq!(h.calls(), ops(&[("TransactWriteItems", 1)]), "the idempotent create is 1 round trip");

    let replay = h.call(create_invoice("acme", "i1", INVOICE)).await;
    assert_eq!((replay.status, &replay.body), (201, &r.body));
    assert_eq!(replay.headers.get("idempotency-replayed").map(String::as_str), Some("true"));
    assert_eq!(h.calls(), ops(&[("TransactWriteItems", 1)]), "a replay is 1 round trip too");
    let other_body = INVOICE.replace("Pro seats", "Other");
    assert_eq!(h.call(create_invoice("acme", "i1", &other_body)).await.status, 422, "same key, other body");
    h.calls();

    let g = h.call(get(&format!("/tenants/acme/invoices/{id}"), "acme")).await;
    assert_eq!(g.status, 200, "{:?}", g.body);
    assert_eq!(g.body["status"], "pending");
    assert!(g.body.get("pdf_url").is_none(), "no URL before the PDF exists");
    assert_eq!(g.headers["cache-control"], "private, no-store");
    assert_eq!(h.calls(), ops(&[("GetItem", 1), ("UpdateItem", 1)]));
    assert_eq!(h.call(get("/tenants/acme/invoices/not-an-id!", "acme")).await.status, 404);
    assert_eq!(h.call(get(&format!("/tenants/other/invoices/{id}"), "other")).await.status, 404);
    // The path's tenant must be the caller's.
    assert_eq!(h.call(get(&format!("/tenants/acme/invoices/{id}"), "other")).await.status, 403);
}

/// A state machine in moto: its ARN.
async fn state_machine() -> String {
    let moto = Moto::shared();
    let http = powertools::http::HttpClient::new(std::time::Duration::from_secs(5)).unwrap();
    let definition = json!({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}).to_string();
    let created = moto
        .signer()
        .states(
            &http,
            "CreateStateMachine",
            &json!({
                "name": testkit::unique("export"),
                "definition": definition,
                "roleArn": "arn:aws:iam::123456789012:role/export",
            }),
        )
        .await
        .unwrap();
    created["stateMachineArn"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn exports_start_once_per_key_and_report_their_execution() {
    let arn = state_machine().await;
    let h = Harness::with(|d| {
        d.aws.signer = Some(Moto::shared().signer());
        d.aws.export_workflow_arn = arn.clone();
    })
    .await;
    let r = h.call(create_export("acme", "x1", "{}")).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let id = r.body["export_id"].as_str().unwrap().to_string();
    assert_eq!(id, api::exports::export_id("acme", "x1"));
    assert_eq!((r.body["status"].as_str(), r.body["tenant_id"].as_str()), (Some("running"), Some("acme")));
    assert_eq!(r.headers["location"], format!("/tenants/acme/exports/{id}"));
    assert_eq!(h.calls(), ops(&[("UpdateItem", 1)]), "the rate counter only: the execution is the record");

    // The same key: the same export (Step Functions answers a running execution's start with the execution
    // itself, so it cannot be told from the first start; a finished one's is `ExecutionAlreadyExists`, answered
    // with `Idempotency-Replayed`); another key: another export.
    let replay = h.call(create_export("acme", "x1", "{}")).await;
    assert_eq!((replay.status, replay.body["export_id"].as_str()), (202, Some(id.as_str())));
    let other = h.call(create_export("acme", "x2", "{}")).await;
    assert_ne!(other.body["export_id"].as_str(), Some(id.as_str()));

    let g = h.call(get(&format!("/tenants/acme/exports/{id}"), "acme")).await;
    assert_eq!(g.status, 200, "{:?}", g.body);
    assert_eq!(g.body["export_id"], id.as_str());
    assert!(["running", "succeeded"].contains(&g.body["status"].as_str().unwrap()), "{:?}", g.body);
    // Another tenant's export is not found, whatever it knows of the id; a malformed id is not found either.
    assert_eq!(h.call(get(&format!("/tenants/other/exports/{id}"), "other")).await.status, 404);
    assert_eq!(h.call(get("/tenants/acme/exports/0123", "acme")).await.status, 404);
    let unknown = "0".repeat(api::exports::EXPORT_ID_LEN);
    assert_eq!(h.call(get(&format!("/tenants/acme/exports/{unknown}"), "acme")).await.status, 404);
}

/// Deterministic malformed bodies for a route whose valid body is `valid` (seeded: a failure reproduces): the
/// body, its content type, whether it is base64, and the status it must get.
fn malformed(
    rng: &mut fastrand::Rng,
    i: usize,
    valid: &str,
    mutate: &dyn Fn(&mut fastrand::Rng, &mut Value),
) -> (String, &'static str, bool, u16) {
    let json_ct = "application/json";
    let v: Value = serde_json::from_str(valid).unwrap();
    match i % 10 {
        0 => (String::new(), json_ct, false, 400),
        1 => {
            let cut = rng.usize(1..valid.len());
            (valid[..cut].to_string(), json_ct, false, 400)
        }
        2 => {
            let n = rng.usize(1..64);
            let bytes: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            let s = String::from_utf8_lossy(&bytes).into_owned();
            // A random string that happens to be valid JSON of the right shape is vanishingly unlikely; `{}` is
            // the valid export body, so keep it out.
            (if s.trim() == "{}" { "{".into() } else { s }, json_ct, false, 400)
        }
        3 => {
            let mut v = v;
            let extra = ["tenant_id", "pk", "sk", "invoice_id", "export_id", "__proto__"][rng.usize(0..6)];
            v[extra] = json!(rng.u32(..));
            (v.to_string(), json_ct, false, 400)
        }
        4 => {
            let depth = rng.usize(100..3000);
            (format!("{}{}", "[".repeat(depth), "]".repeat(depth)), json_ct, false, 400)
        }
        5 => (
            [json!(null), json!(1), json!("x"), json!([]), json!(true)][rng.usize(0..5)].to_string(),
            json_ct,
            false,
            400,
        ),
        6 => (valid.to_string(), ["text/plain", "application/xml", "multipart/form-data"][rng.usize(0..3)], false, 415),
        7 => ("%%% not base64 %%%".into(), json_ct, true, 400),
        8 => (format!("{{\"x\":\"{}\"}}", "z".repeat(70 * 1024)), json_ct, false, 413),
        _ => {
            let mut v = v;
            mutate(rng, &mut v);
            (v.to_string(), json_ct, false, 400)
        }
    }
}

/// Sends 1,000 malformed bodies to `path`: every one a 4xx problem, no panic, no DynamoDB call, nothing stored.
pub(super) async fn thousand_malformed(
    h: Arc<Harness>,
    path: &'static str,
    valid: &'static str,
    mutate: fn(&mut fastrand::Rng, &mut Value),
) {
    let mut rng = fastrand::Rng::with_seed(0x1a7e);
    h.calls();
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let (body, content_type, b64, expected) = malformed(&mut rng, i, valid, &mutate);
        let mut e = event(
            "POST",
            path,
            Some(("fuzz", "pro")),
            Some(&body),
            &[("Content-Type", content_type), ("Idempotency-Key", &format!("f{i}"))],
        );
        e.is_base64_encoded = b64;
        let h = h.clone();
        tasks.push(tokio::spawn(async move { (i, expected, body, h.call(e).await) }));
    }
    for t in tasks {
        let (i, expected, body, r) = t.await.expect("no panic");
        assert_eq!(r.status, expected, "{path} body #{i} {body:.80}: {:?}", r.body);
        assert_eq!(r.headers["content-type"], "application/problem+json", "{path} body #{i}");
    }
    assert_eq!(h.calls(), Vec::<(String, u32)>::new(), "{path}: no DynamoDB call at all");
    assert_eq!(h.items().await, (0, 0), "{path}: no item, no idempotency record, no rate counter");
}

#[tokio::test]
async fn thousand_malformed_invoices_and_exports_write_nothing() {
    // No signer and no state machine: a body that got past validation would fail loudly at StartExecution.
    let h = Arc::new(Harness::new().await);
    thousand_malformed(h.clone(), "/tenants/fuzz/invoices", INVOICE, |rng, v| match rng.usize(0..7) {
        0 => v["lines"] = json!([]),
        1 => v["lines"] = Value::Array(vec![v["lines"][0].clone(); 51]),
        2 => v["lines"][0]["quantity"] = json!([0, 10_001, -1][rng.usize(0..3)]),
        3 => v["lines"][0]["unit_price_cents"] = json!([100_000_001u64, u64::MAX][rng.usize(0..2)]),
        4 => v["lines"][0]["description"] = json!(["".to_string(), "d".repeat(129)][rng.usize(0..2)]),
        5 => v["currency"] = json!(["usd", "", "EURO"][rng.usize(0..3)]),
        _ => {
            v.as_object_mut().unwrap().remove(["lines", "currency"][rng.usize(0..2)]);
        }
    })
    .await;
    thousand_malformed(h, "/tenants/fuzz/exports", "{}", |rng, v| {
        v[["format", "kinds", "since"][rng.usize(0..3)]] = json!("all");
    })
    .await;
}
