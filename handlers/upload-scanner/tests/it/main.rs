//! Uploads end to end against moto: the API records the pending upload and presigns the PUT, the client PUTs the
//! file to moto with that URL, the bucket's notification (configured as the platform declares it: `ObjectCreated`
//! under `uploads/` to the scan queue) queues the object, the scanner checks it and records `accepted`; a file
//! whose magic number is not the declared type's, one larger than signed (moto does not check signatures, S3
//! would refuse it), and an object nobody asked for are moved to `quarantine/` and never left under `uploads/`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use api::{Deps as ApiDeps, Role};
use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter, QueueConfiguration,
    S3KeyFilter,
};
use bytes::Bytes;
use powertools::aws::dynamodb_client;
use powertools::http::HttpClient;
use serde_json::{Value, json};
use testkit::Moto;
use testkit::convert::SqsPoller;
use testkit::tables::Tables;
use upload_scanner::{Deps, handle};

struct Env {
    api: Arc<ApiDeps>,
    scanner: Deps,
    scans: SqsPoller,
    bucket: String,
}

async fn env() -> Env {
    let moto = Moto::shared();
    let ddb = dynamodb_client(&moto.sdk_config(), None);
    let tables = Tables::create(&ddb).await;
    let bucket = testkit::unique("uploads");
    let s3 = moto.s3();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let scans = SqsPoller::new(moto.sqs(), &moto.queue("upload-scans", &[]).await).await;
    // The platform's notification (constructs::platform::uploads).
    let filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(FilterRule::builder().name(FilterRuleName::Prefix).value("uploads/").build())
                .build(),
        )
        .build();
    let queue = QueueConfiguration::builder()
        .queue_arn(&scans.queue_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(filter)
        .build()
        .unwrap();
    let notification = NotificationConfiguration::builder().queue_configurations(queue).build();
    s3.put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(notification)
        .send()
        .await
        .unwrap();

    let mut api = ApiDeps::new(ddb.clone(), &tables.entity, &tables.control, Role::All, powertools::clock::system());
    api.aws.signer = Some(moto.signer());
    api.aws.upload_bucket = Some(bucket.clone());
    let scanner = Deps::new(ddb, &tables.entity, moto.signer(), &bucket, powertools::clock::system());
    // S3 (and moto) sends `s3:TestEvent` when a notification is configured: the scanner takes it as done.
    let test_event = scans.receive(10).await.expect("the notification's test event");
    assert!(test_event["Records"][0]["body"].as_str().unwrap().contains("s3:TestEvent"), "{test_event}");
    let sqs_event: SqsEvent = serde_json::from_value(test_event.clone()).unwrap();
    assert_eq!(handle(&scanner, &sqs_event).await.failed(), Vec::<&str>::new());
    scans.settle(&test_event, &json!({"batchItemFailures": []})).await;
    Env { api: Arc::new(api), scanner, scans, bucket }
}

/// A REST proxy event from the real fixture, with the route, the tenant context and the body.
fn event(method: &str, path: &str, tenant: &str, body: Option<&str>, key: Option<&str>) -> ApiGatewayProxyRequest {
    let mut e: Value = serde_json::from_str(testkit::fixtures::APIGW_PROXY_REQUEST).unwrap();
    e["httpMethod"] = json!(method);
    e["path"] = json!(path);
    e["resource"] = json!("/{proxy+}");
    e["pathParameters"] = json!({ "proxy": path.trim_start_matches('/') });
    e["requestContext"]["httpMethod"] = json!(method);
    e["requestContext"]["path"] = json!(path);
    e["requestContext"]["authorizer"] = json!({ "principalId": "u", "tenantId": tenant, "tier": "pro" });
    e["headers"] = json!({ "Content-Type": "application/json" });
    if let Some(k) = key {
        e["headers"]["Idempotency-Key"] = json!(k);
    }
    e["multiValueHeaders"] = json!({});
    e["body"] = body.map_or(Value::Null, |b| json!(b));
    serde_json::from_value(e).unwrap()
}

async fn call(env: &Env, e: ApiGatewayProxyRequest) -> (u16, Value) {
    let r = api::handle(env.api.clone(), &api::router(Role::All), e).await;
    (r.status_code, r.body.as_deref().map(|b| serde_json::from_str(b).unwrap()).unwrap_or(Value::Null))
}

/// Asks for an upload of `declared` bytes of `content_type`, then PUTs `bytes` with the URL and the headers the
/// answer lists (the length header is the bytes' own: a client cannot lie about it to a server that reads it).
async fn upload(env: &Env, key: &str, content_type: &str, declared: usize, bytes: &'static [u8]) -> (String, u16) {
    let body = json!({"content_type": content_type, "content_length": declared, "file_name": "f"}).to_string();
    let (status, created) = call(env, event("POST", "/tenants/acme/uploads", "acme", Some(&body), Some(key))).await;
    assert_eq!(status, 201, "{created}");
    let url = created["upload_url"].as_str().unwrap();
    let put = http::Request::put(url)
        .header("content-type", created["upload_headers"]["content-type"].as_str().unwrap())
        .body(Bytes::from_static(bytes))
        .unwrap();
    let r = HttpClient::new(Duration::from_secs(5)).unwrap().send(put).await.unwrap();
    (created["upload_id"].as_str().unwrap().to_string(), r.status)
}

/// One poll of the scan queue as Lambda's mapping does it: receive, invoke, delete what did not fail.
async fn scan_once(env: &Env) -> (usize, Vec<String>) {
    let event = env.scans.receive(10).await.expect("an object to scan");
    let sqs_event: SqsEvent = serde_json::from_value(event.clone()).unwrap();
    let response = handle(&env.scanner, &sqs_event).await;
    env.scans.settle(&event, &serde_json::to_value(&response).unwrap()).await;
    (sqs_event.records.len(), response.failed().into_iter().map(String::from).collect())
}

async fn status(env: &Env, id: &str) -> Value {
    let (status, got) = call(env, event("GET", &format!("/tenants/acme/uploads/{id}"), "acme", None, None)).await;
    assert_eq!(status, 200, "{got}");
    got
}

async fn exists(env: &Env, key: &str) -> bool {
    Moto::shared().s3().head_object().bucket(&env.bucket).key(key).send().await.is_ok()
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[tokio::test]
async fn a_png_is_presigned_put_notified_scanned_and_accepted() {
    let env = env().await;
    let (id, put) = upload(&env, "u-ok", "image/png", PNG.len(), PNG).await;
    assert_eq!(put, 200);
    assert_eq!(status(&env, &id).await["status"], "pending", "not yet scanned");
    assert_eq!(scan_once(&env).await, (1, vec![]));
    let got = status(&env, &id).await;
    assert_eq!(got["status"], "accepted", "{got}");
    assert_eq!((got["size"].as_u64(), got["detected_type"].as_str()), (Some(PNG.len() as u64), Some("image/png")));
    assert!(got["checked_at"].is_string() && got["etag"].is_string() && got.get("reason").is_none(), "{got}");
    assert!(exists(&env, &format!("uploads/acme/{id}")).await, "an accepted upload stays");
    let stored = Moto::shared().s3().head_object().bucket(&env.bucket).key(format!("uploads/acme/{id}")).send();
    assert_eq!(stored.await.unwrap().content_type(), Some("image/png"), "the signed content type is stored");
}

#[tokio::test]
async fn a_wrong_magic_number_an_oversize_and_an_unasked_object_are_quarantined() {
    let env = env().await;
    let (pdf, _) = upload(&env, "u-pdf", "image/png", 9, b"%PDF-1.7\n").await;
    let (big, _) = upload(&env, "u-big", "image/png", 16, PNG).await;
    let stray = "uploads/acme/01J0000000000000000000000S";
    Moto::shared().s3().put_object().bucket(&env.bucket).key(stray).body(PNG.to_vec().into()).send().await.unwrap();
    let mut scanned = 0;
    while scanned < 3 {
        let (n, failed) = scan_once(&env).await;
        assert_eq!(failed, Vec::<String>::new());
        scanned += n;
    }
    let got = status(&env, &pdf).await;
    assert_eq!(got["status"], "quarantined", "{got}");
    assert_eq!(got["reason"], "the first bytes are application/pdf, not the declared image/png");
    assert_eq!(got["detected_type"], "application/pdf");
    assert_eq!(got["quarantine_key"], format!("quarantine/acme/{pdf}"));
    let got = status(&env, &big).await;
    assert_eq!(got["status"], "quarantined", "{got}");
    assert_eq!(got["reason"], format!("size {} differs from the declared content_length 16", PNG.len()));
    for id in [&pdf, &big] {
        assert!(!exists(&env, &format!("uploads/acme/{id}")).await, "never left under uploads/");
        assert!(exists(&env, &format!("quarantine/acme/{id}")).await, "kept in quarantine");
    }
    assert!(!exists(&env, stray).await);
    assert!(exists(&env, "quarantine/acme/01J0000000000000000000000S").await);
    // The quarantine copies are outside the notification's prefix: nothing more to scan.
    assert!(env.scans.receive(10).await.is_none());
}

#[tokio::test]
async fn a_redelivered_notification_is_scanned_again_to_the_same_result() {
    let env = env().await;
    let (id, _) = upload(&env, "u-again", "image/jpeg", 4, b"GIF8").await;
    let event = env.scans.receive(10).await.unwrap();
    let sqs_event: SqsEvent = serde_json::from_value(event.clone()).unwrap();
    assert_eq!(handle(&env.scanner, &sqs_event).await.failed(), Vec::<&str>::new());
    let first = status(&env, &id).await;
    // Delivered again (SQS is at least once): the object is gone from uploads/, nothing changes.
    assert_eq!(handle(&env.scanner, &sqs_event).await.failed(), Vec::<&str>::new());
    env.scans.settle(&event, &json!({"batchItemFailures": []})).await;
    assert_eq!(status(&env, &id).await, first);
    assert_eq!(first["reason"], "the first bytes are unknown, not the declared image/jpeg");
}
