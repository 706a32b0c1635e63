//! `PUT/GET/DELETE /tenants/{tenant_id}/webhook` against moto: the flow and its round trips, tenant isolation,
//! `https://` only, the seeded item is the API's, and 1,000 malformed PUT bodies with nothing written.

use std::sync::Arc;

use powertools::dynamo::{item_to_json, s};
use serde_json::{Value, json};
use testkit::seed::Seed;

use super::{Harness, event, ops};

const HOOK: &str = r#"{"url":"https://hooks.example.com/platform"}"#;

fn call(
    method: &str,
    tenant_path: &str,
    caller: &str,
    body: Option<&str>,
) -> aws_lambda_events::event::apigw::ApiGatewayProxyRequest {
    event(method, &format!("/tenants/{tenant_path}/webhook"), Some((caller, "pro")), body, &[])
}

async fn stored(h: &Harness, tenant: &str) -> Option<Value> {
    let out = h
        .ddb
        .get_item()
        .table_name(&h.tables.entity)
        .key("pk", s(format!("TENANT#{tenant}")))
        .key("sk", s("WEBHOOK#CONFIG"))
        .send()
        .await
        .unwrap();
    out.item.map(|i| {
        let mut v = item_to_json(&i);
        v["updated_at"] = json!("{time}");
        v
    })
}

#[tokio::test]
async fn set_get_replace_delete() {
    let h = Harness::new().await;
    assert_eq!(h.call(call("GET", "acme", "acme", None)).await.status, 404);
    h.calls();

    let r = h.call(call("PUT", "acme", "acme", Some(HOOK))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["url"], "https://hooks.example.com/platform");
    assert_eq!(r.body["tenant_id"], "acme");
    assert_eq!(r.body["secret_id"], "whsec_v1_acme");
    assert_eq!(r.headers["ratelimit-limit"], "1000");
    assert_eq!(h.calls(), ops(&[("TransactWriteItems", 1)]), "the PUT is 1 round trip");

    // Naturally idempotent: the same PUT again leaves the same state and answers the same body.
    let again = h.call(call("PUT", "acme", "acme", Some(HOOK))).await;
    assert_eq!((again.status, &again.body), (200, &r.body));
    h.calls();

    let g = h.call(call("GET", "acme", "acme", None)).await;
    assert_eq!((g.status, &g.body), (200, &r.body));
    assert_eq!(h.calls(), ops(&[("GetItem", 1), ("UpdateItem", 1)]));

    let other = h.call(call("PUT", "acme", "acme", Some(r#"{"url":"https://other.example.com:8443/h?x=1"}"#))).await;
    assert_eq!(other.status, 200);
    assert_eq!(h.call(call("GET", "acme", "acme", None)).await.body["url"], "https://other.example.com:8443/h?x=1");
    assert_eq!(h.items().await.0, 1, "one configuration item, replaced");
    h.calls();

    let d = h.call(call("DELETE", "acme", "acme", None)).await;
    assert_eq!(d.status, 204);
    assert_eq!(h.calls(), ops(&[("DeleteItem", 1), ("UpdateItem", 1)]));
    assert_eq!(h.call(call("DELETE", "acme", "acme", None)).await.status, 204, "deleting nothing is a 204 too");
    let gone = h.call(call("GET", "acme", "acme", None)).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["detail"], "no webhook set for tenant acme");
    assert_eq!(h.items().await.0, 0);
}

#[tokio::test]
async fn other_tenants_and_insecure_urls_are_refused_with_nothing_written() {
    let h = Harness::new().await;
    assert_eq!(h.call(call("PUT", "tenant-b", "tenant-b", Some(HOOK))).await.status, 200);
    let b_before = stored(&h, "tenant-b").await;
    let before = h.items().await;
    for (method, body) in [("PUT", Some(r#"{"url":"https://evil.example.com/"}"#)), ("GET", None), ("DELETE", None)] {
        let r = h.call(call(method, "tenant-b", "tenant-a", body)).await;
        assert_eq!(r.status, 403, "{method}: {:?}", r.body);
        assert_eq!(r.headers["content-type"], "application/problem+json");
    }
    for (url, why) in [
        ("http://hooks.example.com/platform", "the scheme must be https"),
        ("ftp://hooks.example.com/", "the scheme must be https"),
        ("https://user:pass@hooks.example.com/", "credentials in the URL"),
        ("hooks.example.com/platform", "not a URL"),
    ] {
        let r = h.call(call("PUT", "tenant-a", "tenant-a", Some(&json!({ "url": url }).to_string()))).await;
        assert_eq!(r.status, 400, "{url}");
        assert_eq!(r.headers["content-type"], "application/problem+json");
        assert_eq!(
            r.body["detail"],
            format!("/url: {url:?} is not allowed: {why}; expected an https:// URL with a host")
        );
    }
    // The body cannot name another tenant either.
    let smuggled = r#"{"url":"https://x.example.com/","tenant_id":"tenant-b"}"#;
    assert_eq!(h.call(call("PUT", "tenant-a", "tenant-a", Some(smuggled))).await.status, 400);
    assert_eq!(h.items().await.0, before.0, "no entity item written");
    assert_eq!(stored(&h, "tenant-b").await, b_before, "B's configuration intact");
    assert_eq!(stored(&h, "tenant-a").await, None);
}

#[tokio::test]
async fn seeded_webhook_is_the_apis() {
    let h = Harness::new().await;
    assert_eq!(h.call(call("PUT", "acme", "acme", Some(HOOK))).await.status, 200);
    let by_api = stored(&h, "acme").await.unwrap();
    Seed::new(&h.ddb, &h.tables.entity).webhook("acme", "https://hooks.example.com/platform").await;
    assert_eq!(stored(&h, "acme").await.unwrap(), by_api);
    assert_eq!(
        by_api,
        json!({"pk": "TENANT#acme", "sk": "WEBHOOK#CONFIG", "tenant_id": "acme",
               "url": "https://hooks.example.com/platform", "secret_id": "whsec_v1_acme", "updated_at": "{time}"})
    );
}

/// One malformed PUT body (and its content type and base64 flag); the expected status.
fn malformed(rng: &mut fastrand::Rng, i: usize) -> (Option<Vec<u8>>, &'static str, bool, u16) {
    let json_ct = "application/json";
    let bytes = |v: Value| Some(v.to_string().into_bytes());
    let junk = |rng: &mut fastrand::Rng| -> Value {
        [json!(null), json!(true), json!(rng.i64(..)), json!(rng.f64()), json!([]), json!({}), json!(u64::MAX)]
            [rng.usize(0..7)]
        .clone()
    };
    match i % 20 {
        0 => (None, json_ct, false, 400),
        1 => (Some(Vec::new()), json_ct, false, 400),
        2 => (Some(HOOK.as_bytes()[..rng.usize(1..HOOK.len() - 1)].to_vec()), json_ct, false, 400),
        3 => (Some((0..rng.usize(1..64)).map(|_| rng.u8(..)).collect()), json_ct, false, 400),
        4 => (bytes(json!({ "url": junk(rng) })), json_ct, false, 400),
        5 => {
            let url = [
                "http://a.example.com/",
                "ftp://a.example.com/",
                "/relative",
                "a.example.com",
                "javascript:x",
                "https://u:p@a.example.com/",
            ][rng.usize(0..6)];
            (bytes(json!({ "url": url })), json_ct, false, 400)
        }
        6 => (bytes(json!({})), json_ct, false, 400),
        7 => {
            let extra = ["tenant_id", "pk", "sk", "secret_id", "enabled", "__proto__"][rng.usize(0..6)];
            (bytes(json!({ "url": "https://a.example.com/", extra: junk(rng) })), json_ct, false, 400)
        }
        8 => {
            let url = ["", "https://"][rng.usize(0..2)];
            (bytes(json!({ "url": url })), json_ct, false, 400)
        }
        9 => (bytes(json!({ "url": format!("https://a.example.com/{}", "p".repeat(2048)) })), json_ct, false, 400),
        10 => {
            let depth = rng.usize(100..5000);
            (Some(format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()), json_ct, false, 400)
        }
        11 => (Some(b"1e400".to_vec()), json_ct, false, 400),
        12 => (bytes(junk(rng)), json_ct, false, 400),
        13 => (
            Some(HOOK.as_bytes().to_vec()),
            ["text/plain", "application/xml", "", "multipart/form-data"][rng.usize(0..4)],
            false,
            415,
        ),
        14 => (Some(b"%%% not base64 %%%".to_vec()), json_ct, true, 400),
        15 => {
            use base64::Engine;
            let junk: Vec<u8> = (0..rng.usize(1..40)).map(|_| rng.u8(..)).collect();
            (Some(base64::engine::general_purpose::STANDARD.encode(junk).into_bytes()), json_ct, true, 400)
        }
        16 => (bytes(json!({ "url": "https://a.example.com/", "url2": 1 })), json_ct, false, 400),
        17 => (bytes(json!([HOOK])), json_ct, false, 400),
        18 => (bytes(json!({ "URL": "https://a.example.com/" })), json_ct, false, 400),
        _ => (bytes(json!({ "url": format!("https://a.example.com/{}", "z".repeat(70 * 1024)) })), json_ct, false, 413),
    }
}

#[tokio::test]
async fn thousand_malformed_put_bodies_all_4xx_no_panic_no_write() {
    let h = Arc::new(Harness::new().await);
    let mut rng = fastrand::Rng::with_seed(0x3eb);
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let (body, content_type, b64, expected) = malformed(&mut rng, i);
        let mut e =
            event("PUT", "/tenants/fuzz/webhook", Some(("fuzz", "pro")), None, &[("Content-Type", content_type)]);
        e.body = body.map(|b| String::from_utf8_lossy(&b).into_owned());
        e.is_base64_encoded = b64;
        let h = h.clone();
        tasks.push(tokio::spawn(async move { (i, expected, h.call(e).await) }));
    }
    let mut statuses = std::collections::BTreeMap::new();
    for t in tasks {
        let (i, expected, r) = t.await.unwrap();
        assert_eq!(r.status, expected, "body #{i}: {:?}", r.body);
        assert_eq!(r.headers["content-type"], "application/problem+json", "body #{i}");
        assert_eq!(r.body["status"], r.status, "body #{i}");
        *statuses.entry(r.status).or_insert(0) += 1;
    }
    assert_eq!(h.calls(), Vec::<(String, u32)>::new(), "no DynamoDB call at all");
    assert_eq!(h.items().await, (0, 0), "no configuration, no rate counter");
    assert_eq!(statuses, std::collections::BTreeMap::from([(400, 900), (413, 50), (415, 50)]));
}
