//! Invoices end to end against moto: the API writes the invoice, the table's real stream goes through the stream
//! processor to the bus, the Billing rule (as the platform declares it) queues the PDF job, the renderer stores the
//! PDF in S3 under the tenant's prefix, marks the invoice ready and puts `InvoiceReady`, which the Notifications
//! rule delivers to the webhook queue; the API's `GET` then answers a presigned URL that downloads the PDF.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use api::{Deps as ApiDeps, Role};
use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_eventbridge::types::Target;
use invoice_renderer::{Deps, handle};
use platform_types::events::{EVENT_SOURCE, detail_type};
use powertools::aws::dynamodb_client;
use powertools::batch::StreamEvent;
use powertools::http::HttpClient;
use powertools::retry::RetryPolicy;
use serde_json::{Value, json};
use testkit::Moto;
use testkit::convert::{SqsPoller, StreamTail};
use testkit::tables::Tables;

struct Env {
    ddb: aws_sdk_dynamodb::Client,
    tables: Tables,
    api: Arc<ApiDeps>,
    stream: stream_processor::Deps,
    renderer: Deps,
    pdf_jobs: SqsPoller,
    webhooks: SqsPoller,
    bucket: String,
}

/// A rule on `bus` matching `detail_types` of the platform's source, to the queue of `poller`.
async fn rule(eb: &aws_sdk_eventbridge::Client, bus: &str, detail_types: &[&str], poller: &SqsPoller) {
    let name = testkit::unique("rule");
    let pattern = json!({ "source": [EVENT_SOURCE], "detail-type": detail_types });
    eb.put_rule().name(&name).event_bus_name(bus).event_pattern(pattern.to_string()).send().await.unwrap();
    let target = Target::builder().id("q").arn(&poller.queue_arn).build().unwrap();
    eb.put_targets().rule(&name).event_bus_name(bus).targets(target).send().await.unwrap();
}

async fn env() -> Env {
    let moto = Moto::shared();
    let ddb = dynamodb_client(&moto.sdk_config(), None);
    let tables = Tables::create(&ddb).await;
    let bucket = testkit::unique("exports");
    moto.s3().create_bucket().bucket(&bucket).send().await.unwrap();
    let eb = moto.eventbridge();
    let bus = testkit::unique("bus");
    eb.create_event_bus().name(&bus).send().await.unwrap();
    let sqs = moto.sqs();
    let pdf_jobs = SqsPoller::new(sqs.clone(), &moto.queue("pdf-jobs", &[]).await).await;
    let webhooks = SqsPoller::new(sqs, &moto.queue("webhooks", &[]).await).await;
    // The platform's Billing and Notifications rules (constructs::platform::events).
    rule(&eb, &bus, &[detail_type::INVOICE_GENERATED], &pdf_jobs).await;
    rule(&eb, &bus, detail_type::ALL, &webhooks).await;

    let mut api = ApiDeps::new(ddb.clone(), &tables.entity, &tables.control, Role::All, powertools::clock::system());
    api.aws.signer = Some(moto.signer());
    api.aws.bucket = bucket.clone();
    let retry = RetryPolicy { base: Duration::from_millis(1), ..RetryPolicy::default() };
    let stream = stream_processor::Deps { eventbridge: eb.clone(), bus: bus.clone(), retry, cache: None };
    let renderer =
        Deps::new(ddb.clone(), &tables.entity, eb, &bus, moto.signer(), &bucket, powertools::clock::system());
    Env { ddb, tables, api: Arc::new(api), stream, renderer, pdf_jobs, webhooks, bucket }
}

/// A REST proxy event from the real fixture, with the route, the tenant context and the body.
fn event(
    method: &str,
    path: &str,
    tenant: &str,
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
    e["requestContext"]["authorizer"] = json!({ "principalId": "u", "tenantId": tenant, "tier": "pro" });
    let mut h = json!({ "Content-Type": "application/json" });
    for (k, v) in headers {
        h[*k] = json!(v);
    }
    e["headers"] = h;
    e["multiValueHeaders"] = json!({});
    e["body"] = body.map_or(Value::Null, |b| json!(b));
    serde_json::from_value(e).unwrap()
}

async fn call(env: &Env, e: ApiGatewayProxyRequest) -> (u16, Value) {
    let r = api::handle(env.api.clone(), &api::router(Role::All), e).await;
    (r.status_code, r.body.as_deref().map(|b| serde_json::from_str(b).unwrap()).unwrap_or(Value::Null))
}

/// Every message of a queue: (detail-type, detail), deleting them.
async fn drain(poller: &SqsPoller) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    while let Some(event) = poller.receive(10).await {
        for m in event["Records"].as_array().unwrap() {
            let v: Value = serde_json::from_str(m["body"].as_str().unwrap()).unwrap();
            out.push((v["detail-type"].as_str().unwrap().to_string(), v["detail"].clone()));
        }
        poller.settle(&event, &json!({"batchItemFailures": []})).await;
    }
    out
}

/// One poll of the PDF job queue as Lambda's mapping does it: receive, invoke, delete what did not fail.
async fn render_once(env: &Env) -> (usize, Vec<String>) {
    let event = env.pdf_jobs.receive(10).await.expect("a PDF job");
    let sqs_event: SqsEvent = serde_json::from_value(event.clone()).unwrap();
    let response = handle(&env.renderer, &sqs_event, None).await;
    env.pdf_jobs.settle(&event, &serde_json::to_value(&response).unwrap()).await;
    (sqs_event.records.len(), response.failed().into_iter().map(String::from).collect())
}

const INVOICE: &str = r#"{"lines":[{"description":"Pro seats","quantity":3,"unit_price_cents":1500}],"currency":"EUR","customer_ref":"PO-9"}"#;

#[tokio::test]
async fn invoice_to_pdf_to_invoice_ready_end_to_end() {
    let env = env().await;
    let (status, created) =
        call(&env, event("POST", "/tenants/acme/invoices", "acme", Some(INVOICE), &[("Idempotency-Key", "inv-1")]))
            .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((created["amount_cents"].as_u64(), created["status"].as_str()), (Some(4500), Some("pending")));
    let id = created["invoice_id"].as_str().unwrap().to_string();

    // Stream → bus: the INSERT becomes InvoiceGenerated.
    let mut tail = StreamTail::new(&env.ddb, Moto::shared().dynamodb_streams(), &env.tables.entity).await;
    let records: StreamEvent = serde_json::from_value(json!({ "Records": tail.next_records().await })).unwrap();
    // The invoice and its create's idempotency claim (the cross-region replay's record, which publishes nothing).
    assert_eq!(records.records.len(), 2);
    let r = stream_processor::handle(&env.stream, &records.records, None).await;
    assert_eq!(r.failed(), Vec::<&str>::new());

    // Bus → PDF job queue → renderer → S3.
    assert_eq!(render_once(&env).await, (1, vec![]));
    let key = format!("invoices/acme/{id}.pdf");
    let object = Moto::shared().s3().get_object().bucket(&env.bucket).key(&key).send().await.unwrap();
    assert_eq!(object.content_type(), Some("application/pdf"));
    let pdf = object.body.collect().await.unwrap().into_bytes();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(String::from_utf8_lossy(&pdf).contains("(45.00 EUR)"), "the total is printed");

    // The webhook queue got both events of the invoice: generated, then ready.
    let delivered = drain(&env.webhooks).await;
    let types: Vec<&str> = delivered.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["InvoiceGenerated", "InvoiceReady"]);
    let ready = &delivered[1].1;
    assert_eq!(ready["event_id"], format!("InvoiceReady:acme:{id}"));
    assert_eq!((ready["tenant_id"].as_str(), ready["pdf_key"].as_str()), (Some("acme"), Some(key.as_str())));

    // GET: ready, with a presigned URL that downloads the same PDF.
    let (status, got) = call(&env, event("GET", &format!("/tenants/acme/invoices/{id}"), "acme", None, &[])).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!((got["status"].as_str(), got["pdf_key"].as_str()), (Some("ready"), Some(key.as_str())));
    assert_eq!(got["ready_at"], ready["ready_at"]);
    assert_eq!(got["pdf_url_expires_in_seconds"], 900);
    let url = got["pdf_url"].as_str().unwrap();
    assert!(url.contains(&format!("/{}/{key}?", env.bucket)) && url.contains("X-Amz-Signature="), "{url}");
    let download = HttpClient::new(Duration::from_secs(5))
        .unwrap()
        .send(http::Request::get(url).body(bytes::Bytes::new()).unwrap())
        .await
        .unwrap();
    assert_eq!((download.status, download.body.as_ref()), (200, pdf.as_ref()));

    // Another tenant cannot read it (its key is its own partition): 404, and a pending invoice has no URL.
    let (status, _) = call(&env, event("GET", &format!("/tenants/other/invoices/{id}"), "other", None, &[])).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_redelivered_job_renders_nothing_new_and_announces_the_same_event() {
    let env = env().await;
    let (_, created) =
        call(&env, event("POST", "/tenants/acme/invoices", "acme", Some(INVOICE), &[("Idempotency-Key", "inv-2")]))
            .await;
    let id = created["invoice_id"].as_str().unwrap().to_string();
    let mut tail = StreamTail::new(&env.ddb, Moto::shared().dynamodb_streams(), &env.tables.entity).await;
    let records: StreamEvent = serde_json::from_value(json!({ "Records": tail.next_records().await })).unwrap();
    stream_processor::handle(&env.stream, &records.records, None).await;
    // The job, kept for a second delivery.
    let job = env.pdf_jobs.receive(10).await.unwrap();
    let sqs_event: SqsEvent = serde_json::from_value(job.clone()).unwrap();
    assert_eq!(handle(&env.renderer, &sqs_event, None).await.failed(), Vec::<&str>::new());
    let first = Moto::shared().s3().head_object().bucket(&env.bucket).key(format!("invoices/acme/{id}.pdf")).send();
    let first_etag = first.await.unwrap().e_tag().map(String::from);
    assert_eq!(handle(&env.renderer, &sqs_event, None).await.failed(), Vec::<&str>::new());
    env.pdf_jobs.settle(&job, &json!({"batchItemFailures": []})).await;

    let again = Moto::shared().s3().head_object().bucket(&env.bucket).key(format!("invoices/acme/{id}.pdf")).send();
    assert_eq!(again.await.unwrap().e_tag().map(String::from), first_etag, "the same object");
    let ready: BTreeMap<String, usize> = drain(&env.webhooks)
        .await
        .into_iter()
        .filter(|(t, _)| t == "InvoiceReady")
        .fold(BTreeMap::new(), |mut m, (_, d)| {
            *m.entry(d["event_id"].as_str().unwrap().to_string()).or_default() += 1;
            m
        });
    // Twice the same event id: consumers deduplicate on it.
    assert_eq!(ready, BTreeMap::from([(format!("InvoiceReady:acme:{id}"), 2)]));
}

#[tokio::test]
async fn jobs_that_cannot_succeed_fail_and_a_missing_invoice_is_done() {
    let env = env().await;
    let sqs = &env.pdf_jobs.sqs;
    let job = |tenant: &str, id: &str| {
        json!({
            "version": "0", "id": "x", "detail-type": "InvoiceGenerated", "source": EVENT_SOURCE,
            "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"event_id": "e", "tenant_id": tenant, "invoice_id": id, "amount_cents": 1,
                       "currency": "USD", "created_at": "2026-01-01T00:00:00Z"}
        })
        .to_string()
    };
    for body in [job("acme", "01J00000000000000000000000"), "not json".to_string(), job("", "x")] {
        sqs.send_message().queue_url(&env.pdf_jobs.queue_url).message_body(body).send().await.unwrap();
    }
    let event = env.pdf_jobs.receive(10).await.unwrap();
    let sqs_event: SqsEvent = serde_json::from_value(event).unwrap();
    let response = handle(&env.renderer, &sqs_event, None).await;
    let bodies: Vec<&str> = sqs_event
        .records
        .iter()
        .filter(|m| response.failed().contains(&m.message_id.as_deref().unwrap()))
        .map(|m| m.body.as_deref().unwrap())
        .collect();
    // The malformed ones are retried (and end in the dead-letter queue); the absent invoice is not.
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(bodies.contains(&"not json"));
    assert!(drain(&env.webhooks).await.is_empty(), "nothing announced");
}
