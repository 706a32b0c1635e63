//! Signed uploads against moto: the create's round trip, the presigned PUT (content type and length bound), the
//! replay, the status read, tenant isolation, and 1,000 malformed bodies with nothing written. (The PUT itself,
//! the notification and the scanner are the upload scanner's end-to-end test.)

use std::sync::Arc;

use serde_json::json;
use testkit::Moto;

use super::invoices::thousand_malformed;
use super::{Harness, event, get, ops};

pub const UPLOAD: &str = r#"{"content_type":"image/png","content_length":1234,"file_name":"logo.png"}"#;

fn create_upload(tenant: &str, key: &str, body: &str) -> aws_lambda_events::event::apigw::ApiGatewayProxyRequest {
    event("POST", &format!("/tenants/{tenant}/uploads"), Some((tenant, "pro")), Some(body), &[("Idempotency-Key", key)])
}

#[tokio::test]
async fn create_upload_is_one_round_trip_with_a_bound_presigned_put() {
    let h = Harness::with(|d| {
        d.aws.signer = Some(Moto::shared().signer());
        d.aws.upload_bucket = Some("uploads".into());
    })
    .await;
    let r = h.call(create_upload("acme", "u1", UPLOAD)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(h.calls(), ops(&[("TransactWriteItems", 1)]), "the idempotent create is 1 round trip");
    let id = r.body["upload_id"].as_str().unwrap().to_string();
    assert_eq!(r.headers["location"], format!("/tenants/acme/uploads/{id}"));
    assert_eq!(r.body["status"], "pending");
    assert_eq!(r.body["object_key"], format!("uploads/acme/{id}"));
    assert_eq!(r.body["upload_headers"], json!({"content-length": "1234", "content-type": "image/png"}));
    assert_eq!(r.body["upload_url_expires_in_seconds"], 300);
    let url = r.body["upload_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/uploads/uploads/acme/{id}?", Moto::shared().endpoint())), "{url}");
    for part in ["X-Amz-Expires=300", "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"] {
        assert!(url.contains(part), "{part} not in {url}");
    }

    let replay = h.call(create_upload("acme", "u1", UPLOAD)).await;
    assert_eq!((replay.status, &replay.body), (201, &r.body), "the same upload and URL");
    assert_eq!(replay.headers.get("idempotency-replayed").map(String::as_str), Some("true"));
    assert_eq!(h.calls(), ops(&[("TransactWriteItems", 1)]), "a replay is 1 round trip too");
    let bigger = UPLOAD.replace("1234", "1235");
    assert_eq!(h.call(create_upload("acme", "u1", &bigger)).await.status, 422, "same key, other body");
    h.calls();

    let g = h.call(get(&format!("/tenants/acme/uploads/{id}"), "acme")).await;
    assert_eq!(g.status, 200, "{:?}", g.body);
    assert_eq!((g.body["status"].as_str(), g.body["file_name"].as_str()), (Some("pending"), Some("logo.png")));
    assert!(g.body.get("upload_url").is_none(), "the URL is never stored on the item");
    assert!(g.body.get("ttl").is_none(), "storage attributes stay out");
    assert_eq!(g.headers["cache-control"], "private, no-store");
    assert_eq!(h.calls(), ops(&[("GetItem", 1), ("UpdateItem", 1)]));
    assert_eq!(h.call(get("/tenants/acme/uploads/not-an-id!", "acme")).await.status, 404);
    assert_eq!(h.call(get(&format!("/tenants/other/uploads/{id}"), "other")).await.status, 404);
    assert_eq!(h.call(get(&format!("/tenants/acme/uploads/{id}"), "other")).await.status, 403);
}

#[tokio::test]
async fn thousand_malformed_uploads_write_nothing() {
    // No signer and no bucket: a body that got past validation would fail loudly at the presign.
    let h = Arc::new(Harness::new().await);
    thousand_malformed(h, "/tenants/fuzz/uploads", UPLOAD, |rng, v| match rng.usize(0..6) {
        0 => {
            v["content_type"] =
                json!(["text/html", "image/svg+xml", "IMAGE/PNG", "", "application/octet-stream"][rng.usize(0..5)])
        }
        1 => v["content_length"] = json!([0, 10_485_761u64, u64::MAX][rng.usize(0..3)]),
        2 => v["content_length"] = [json!("1234"), json!(-1), json!(1.5)][rng.usize(0..3)].clone(),
        3 => v["file_name"] = json!(["".to_string(), "f".repeat(256)][rng.usize(0..2)]),
        4 => v[["tenant_id", "object_key", "status"][rng.usize(0..3)]] = json!("x"),
        _ => {
            v.as_object_mut().unwrap().remove(["content_type", "content_length", "file_name"][rng.usize(0..3)]);
        }
    })
    .await;
}
