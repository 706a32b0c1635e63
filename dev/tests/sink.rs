//! The `--webhook-sink` receiver: a delivery signed as the webhook worker signs it is accepted and recorded, a
//! bad signature is flagged (and still answered 200: the verdict is printed, not retried).
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use dev::sink::Verdict;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

const SECRET: &[u8] = b"local-webhook-signing-secret";

async fn post(url: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = http::Request::post(format!("{url}/hooks/acme"));
    for (n, v) in headers {
        req = req.header(*n, v);
    }
    let req = req.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
    client.request(req).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_signed_delivery_is_accepted_and_a_bad_signature_flagged() {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let lines = log.clone();
    let sink = dev::sink::start(0, SECRET.to_vec(), Arc::new(move |l: &str| lines.lock().unwrap().push(l.to_owned())))
        .await
        .unwrap();
    // The body and headers the webhook worker sends.
    let body = json!({"id": "evt-1", "type": "OrderCreated", "tenant_id": "acme", "data": {"order_id": "o-1"}});
    let body = serde_json::to_vec(&body).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let key = webhook_worker::tenant_key(SECRET, "acme");
    let signed = |ts: u64, key: &[u8]| {
        vec![
            ("content-type", "application/json".to_owned()),
            ("webhook-id", "evt-1".to_owned()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", webhook_worker::signature(key, ts, &body)),
        ]
    };
    assert_eq!(post(&sink.url(), &signed(now, &key), &body).await, 200);
    // Another tenant's key, a stale timestamp, no signature at all.
    let other = webhook_worker::tenant_key(SECRET, "globex");
    assert_eq!(post(&sink.url(), &signed(now, &other), &body).await, 200);
    assert_eq!(post(&sink.url(), &signed(now - 3600, &key), &body).await, 200);
    assert_eq!(post(&sink.url(), &[], &body).await, 200);

    let d = sink.deliveries();
    assert_eq!(d.len(), 4);
    assert_eq!((d[0].method.as_str(), d[0].path.as_str()), ("POST", "/hooks/acme"));
    assert_eq!(d[0].header("webhook-id"), Some("evt-1"));
    assert_eq!(d[0].body, body);
    assert_eq!(d[0].verdict, Verdict::Valid { tenant: "acme".into() });
    for bad in &d[1..3] {
        let Verdict::Invalid(why) = &bad.verdict else { panic!("{:?}", bad.verdict) };
        assert!(why.starts_with("signature v1="), "{why}");
    }
    assert_eq!(
        d[3].verdict,
        Verdict::Invalid("missing one of the webhook-id, webhook-timestamp, webhook-signature headers".into())
    );
    let log = log.lock().unwrap().clone();
    assert!(log[0].starts_with("webhook POST /hooks/acme signature valid (tenant acme)\n"), "{}", log[0]);
    assert!(log[0].contains("webhook-id: evt-1") && log[0].contains("\"order_id\":\"o-1\""), "{}", log[0]);
    assert!(log[1].starts_with("webhook POST /hooks/acme SIGNATURE INVALID: "), "{}", log[1]);
    sink.stop().await;
}
