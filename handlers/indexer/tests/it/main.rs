//! The indexer against a local OpenSearch stand-in on 127.0.0.1 that checks the SigV4 signature by signing the
//! received request again, and answers the bulk API with per-item results.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_lambda_events::event::sqs::SqsEvent;
use indexer::{Deps, handle, sign_request};
use serde_json::{Value, json};
use testkit::http::{Received, Receiver};

fn creds() -> Credentials {
    Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("session-token".into()),
        None,
        "test",
    )
}

/// `20240501T120000Z` to a time (days-from-civil, the inverse of the formatter in powertools::clock).
fn amz_date(s: &str) -> SystemTime {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(4, 6), n(6, 8));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    SystemTime::UNIX_EPOCH + Duration::from_secs((days * 86_400 + n(9, 11) * 3600 + n(11, 13) * 60 + n(13, 15)) as u64)
}

/// Signs the received request again with the same credentials and time; true when the signatures match.
fn signature_valid(r: &Received, port: u16) -> bool {
    let auth = &r.headers["authorization"];
    let signed: Vec<&str> =
        auth.split("SignedHeaders=").nth(1).unwrap().split(',').next().unwrap().split(';').collect();
    let mut req = http::Request::builder().method(r.method.as_str()).uri(format!("http://127.0.0.1:{port}{}", r.path));
    for h in &signed {
        if !h.starts_with("x-amz-") {
            req = req.header(*h, &r.headers[*h]);
        }
    }
    let mut req = req.body(bytes::Bytes::from(r.body.clone())).unwrap();
    sign_request(&mut req, &creds(), "us-east-1", "es", amz_date(&r.headers["x-amz-date"])).unwrap();
    req.headers()["authorization"].to_str().unwrap() == auth
}

fn event(id: &str, event_id: &str) -> Value {
    let body = json!({
        "version": "0", "id": id, "detail-type": "OrderCreated", "source": "platform.entities",
        "time": "2024-05-01T12:00:00Z",
        "detail": {"event_id": event_id, "tenant_id": "acme", "order_id": "o1", "total_cents": 1, "currency": "EUR", "created_at": "t"}
    });
    json!({"messageId": id, "receiptHandle": "rh", "body": body.to_string(), "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs"})
}

/// Answers the bulk API: every document indexed except event ids starting with `reject`.
async fn opensearch(status: u16) -> Receiver {
    Receiver::start(Arc::new(move |r: &Received, _| {
        if status != 200 {
            return (status, r#"{"error":"unavailable"}"#.into());
        }
        let lines: Vec<Value> =
            String::from_utf8_lossy(&r.body).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let items: Vec<Value> = lines
            .chunks(2)
            .map(|pair| {
                let id = pair[0]["index"]["_id"].as_str().unwrap();
                let s = if id.starts_with("reject") { 400 } else { 201 };
                json!({"index": {"_index": "audit", "_id": id, "status": s}})
            })
            .collect();
        (
            200,
            json!({"took": 1, "errors": items.iter().any(|i| i["index"]["status"] != 201), "items": items}).to_string(),
        )
    }))
    .await
}

fn deps(r: &Receiver) -> Deps {
    Deps::new(&r.url(""), "audit", "us-east-1", SharedCredentialsProvider::new(creds()))
}

#[tokio::test]
async fn signed_bulk_request_and_per_document_failures() {
    let os = opensearch(200).await;
    let d = deps(&os);
    let batch: SqsEvent = serde_json::from_value(json!({"Records": [
        event("m1", "ev-1"), event("m2", "reject-ev-2"),
        {"messageId": "m3", "body": "not json"}, event("m4", "ev-4"),
    ]}))
    .unwrap();
    let response = handle(&d, &batch, Some("Root=1-abc")).await;
    assert_eq!(response.failed(), vec!["m2", "m3"]);

    let got = os.received();
    assert_eq!(got.len(), 1, "one bulk request per batch");
    let r = &got[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/_bulk"));
    assert_eq!(r.headers["content-type"], "application/x-ndjson");
    let (scope, rest) = r.headers["authorization"].split_once(", SignedHeaders=").unwrap();
    let day = &r.headers["x-amz-date"][..8];
    assert_eq!(scope, format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{day}/us-east-1/es/aws4_request"));
    assert_eq!(rest.split_once(", Signature=").unwrap().0, "content-type;host;x-amz-date;x-amz-security-token");
    assert_eq!(r.headers["x-amz-security-token"], "session-token");
    assert!(signature_valid(r, os.port), "the SigV4 signature verifies");
    // A tampered body no longer matches the signature.
    let mut tampered = r.clone();
    tampered.body.push(b' ');
    assert!(!signature_valid(&tampered, os.port));
    let lines: Vec<Value> =
        String::from_utf8_lossy(&r.body).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // An action and a document per event, in message order; the message that is not an event is left out.
    let expected: Vec<Value> = [("m1", "ev-1"), ("m2", "reject-ev-2"), ("m4", "ev-4")]
        .into_iter()
        .flat_map(|(id, event_id)| {
            let detail =
                serde_json::from_str::<Value>(event(id, event_id)["body"].as_str().unwrap()).unwrap()["detail"].clone();
            [
                json!({"index": {"_index": "audit", "_id": event_id}}),
                json!({"event_id": event_id, "event_type": "OrderCreated", "tenant_id": "acme",
                       "occurred_at": "2024-05-01T12:00:00Z", "detail": detail}),
            ]
        })
        .collect();
    assert_eq!(lines, expected);
}

#[tokio::test]
async fn failed_request_fails_every_message() {
    let os = opensearch(503).await;
    let batch: SqsEvent =
        serde_json::from_value(json!({"Records": [event("m1", "ev-1"), event("m2", "ev-2")]})).unwrap();
    assert_eq!(handle(&deps(&os), &batch, None).await.failed(), vec!["m1", "m2"]);
    let mut gone = deps(&os);
    gone.endpoint = "http://127.0.0.1:1".into();
    gone.timeout = Duration::from_millis(500);
    assert_eq!(handle(&gone, &batch, None).await.failed(), vec!["m1", "m2"]);
}
