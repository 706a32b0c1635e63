//! The AWS endpoint proxy against moto (testkit), on the platform's own templates (stage `local`) with a
//! recording fake invoker: events reach the targets of the real rules, other calls pass through unchanged, the
//! export workflow runs on the local interpreter.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use bytes::Bytes;
use dev::assembly::{Assembly, Stack};
use dev::invoke::{Invoke, InvokeError};
use dev::proxy::{LocalCloudIds, Proxy, ProxyConfig};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use testkit::{Moto, eventually};

type Behaviour = dyn Fn(&str, &Value) -> Result<Value, InvokeError> + Send + Sync;

/// Functions answered by a closure; every call recorded.
struct Fake {
    calls: Mutex<Vec<(String, Value)>>,
    behaviour: Box<Behaviour>,
}

impl Fake {
    fn new(f: impl Fn(&str, &Value) -> Result<Value, InvokeError> + Send + Sync + 'static) -> Arc<Fake> {
        Arc::new(Fake { calls: Mutex::default(), behaviour: Box::new(f) })
    }
    fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

impl Invoke for Fake {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError> {
        self.calls.lock().unwrap().push((function.to_owned(), payload.clone()));
        (self.behaviour)(function, &payload)
    }
}

/// The platform of stage `local`, synthesized in process, plus a stack with a rule whose queue target has an
/// input transformer (the platform's rules use none).
fn assembly() -> (tempfile::TempDir, Assembly) {
    let config = tests::stage_config("local", &[]).unwrap();
    let synthesized = tests::platform(&config);
    let dir = tempfile::tempdir().unwrap();
    for s in &synthesized.stacks {
        std::fs::write(dir.path().join(&s.template_file), &s.template).unwrap();
    }
    std::fs::write(dir.path().join("manifest.json"), synthesized.manifest_json()).unwrap();
    let mut assembly = Assembly::load(dir.path()).unwrap();
    let extra = Stack::from_template(
        "Extra".into(),
        "extra".into(),
        "us-east-1".into(),
        &json!({"Resources": {
            "Orders": {"Type": "AWS::SQS::Queue"},
            "Summary": {"Type": "AWS::Events::Rule", "Properties": {
                "EventBusName": "platform-local-events",
                "EventPattern": {"source": ["platform.entities"], "detail-type": ["OrderCreated"]},
                "Targets": [{"Id": "T", "Arn": {"Fn::GetAtt": ["Orders", "Arn"]}, "InputTransformer": {
                    "InputPathsMap": {"tenant": "$.detail.tenant_id", "type": "$.detail-type"},
                    "InputTemplate": "{\"who\": <tenant>, \"what\": <type>}"
                }}]
            }}
        }}),
    )
    .unwrap();
    assembly.stacks.push(extra);
    (dir, assembly)
}

/// The stack name holding `logical_id`.
fn stack_of(assembly: &Assembly, logical_id: &str) -> String {
    assembly.stacks.iter().find(|s| s.resources.contains_key(logical_id)).unwrap().name.clone()
}

const MACHINE_ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:ExportWorkflow-Q1W2";
const EXPORTER_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:platform-local-regional-Exporter-X1";

struct Setup {
    proxy: Proxy,
    fake: Arc<Fake>,
    log: Arc<Mutex<Vec<String>>>,
    deliveries: String,
    undelivered: String,
    orders: String,
    pdf_jobs: String,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// The proxy on the platform's templates, the queues the rules name created in moto, the workflow's and the
/// exporter's ids as moto would name them.
async fn setup(fake: Arc<Fake>) -> Setup {
    let deliveries = Moto::shared().queue("deliveries", &[]).await;
    setup_with(fake, deliveries).await
}

/// [`setup`] with `deliveries` as the URL of the webhook deliveries queue.
async fn setup_with(fake: Arc<Fake>, deliveries: String) -> Setup {
    let moto = Moto::shared();
    let (dir, assembly) = assembly();
    let undelivered = moto.queue("undelivered", &[]).await;
    let orders = moto.queue("orders", &[]).await;
    let pdf_jobs = moto.queue("pdf-jobs", &[]).await;
    let mut ids = LocalCloudIds::default();
    let regional = stack_of(&assembly, "WebhookDeliveries");
    ids.set_reference(&regional, "WebhookDeliveries", &deliveries);
    ids.set_reference(&regional, "UndeliveredEvents", &undelivered);
    ids.set_reference(&regional, "PdfJobs", &pdf_jobs);
    ids.set_reference("extra", "Orders", &orders);
    let workflow = stack_of(&assembly, "ExportWorkflow");
    ids.set_reference(&workflow, "ExportWorkflow", MACHINE_ARN);
    let exporter = stack_of(&assembly, "Exporter");
    ids.set_attribute(&exporter, "Exporter", "Arn", EXPORTER_ARN);
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    let proxy = dev::proxy::start(ProxyConfig {
        upstream: moto.endpoint(),
        assembly: Arc::new(assembly),
        ids: Arc::new(ids),
        invoker: fake.clone(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        log: Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
    })
    .await
    .unwrap();
    assert_eq!(proxy.unsupported(), [] as [String; 0]);
    Setup { proxy, fake, log, deliveries, undelivered, orders, pdf_jobs, _dir: dir }
}

fn eventbridge(proxy: &Proxy) -> aws_sdk_eventbridge::Client {
    let config = aws_sdk_eventbridge::config::Builder::from(&Moto::shared().sdk_config()).endpoint_url(proxy.url());
    aws_sdk_eventbridge::Client::from_conf(config.build())
}

async fn drain(url: &str) -> Vec<String> {
    let sqs = Moto::shared().sqs();
    let out = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
    out.messages().iter().map(|m| m.body().unwrap().to_owned()).collect()
}

fn order_created() -> aws_sdk_eventbridge::types::PutEventsRequestEntry {
    aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name("platform-local-events")
        .source("platform.entities")
        .detail_type("OrderCreated")
        .detail(json!({"tenant_id": "acme", "order_id": "o-1"}).to_string())
        .build()
}

#[tokio::test]
async fn an_event_reaches_the_targets_of_the_rules_it_matches() {
    let s = setup(Fake::new(|_, _| Ok(json!({})))).await;
    let out = eventbridge(&s.proxy).put_events().entries(order_created()).send().await.unwrap();
    assert_eq!(out.failed_entry_count(), 0);
    let event_id = out.entries()[0].event_id().unwrap().to_owned();

    // The Notifications rule: the whole event, as EventBridge delivers it, in the webhook deliveries queue.
    let bodies = drain(&s.deliveries).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let event: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(event["id"], json!(event_id));
    assert_eq!(event["detail-type"], "OrderCreated");
    assert_eq!(event["source"], "platform.entities");
    assert_eq!((&event["account"], &event["region"]), (&json!("123456789012"), &json!("us-east-1")));
    assert_eq!(event["detail"], json!({"tenant_id": "acme", "order_id": "o-1"}));
    assert!(event["time"].as_str().unwrap().ends_with('Z'), "{event}");
    // The input transformer of the extra rule.
    assert_eq!(drain(&s.orders).await, [r#"{"who": "acme", "what": "OrderCreated"}"#]);
    // The Analytics rule's log group, printed; the Billing rule does not match an order.
    let log = s.log();
    assert!(
        log.iter().any(|l| l.starts_with("logs /aws/events/platform-local-analytics: {") && l.contains("o-1")),
        "{log:?}"
    );
    assert!(s.fake.calls().is_empty());
    assert!(drain(&s.undelivered).await.is_empty());
    s.proxy.stop().await;
}

#[tokio::test]
async fn an_event_no_rule_matches_reaches_nothing_and_bad_entries_fail_alone() {
    let s = setup(Fake::new(|_, _| Ok(json!({})))).await;
    let other = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name("platform-local-events")
        .source("elsewhere")
        .detail_type("OrderCreated")
        .detail("{}")
        .build();
    let malformed = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source("platform.entities")
        .detail_type("OrderCreated")
        .detail("not json")
        .build();
    // On the default bus, the platform's rules (on its own bus) do not see it.
    let default_bus = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source("platform.entities")
        .detail_type("OrderCreated")
        .detail("{}")
        .build();
    let out = eventbridge(&s.proxy).put_events().entries(other).entries(malformed).entries(default_bus).send().await;
    let out = out.unwrap();
    assert_eq!(out.failed_entry_count(), 1);
    assert!(out.entries()[0].event_id().is_some());
    assert_eq!(out.entries()[1].error_code(), Some("MalformedDetail"));
    assert!(drain(&s.deliveries).await.is_empty());
    assert!(drain(&s.orders).await.is_empty());
    assert!(s.fake.calls().is_empty());
    let log = s.log();
    assert_eq!(
        log,
        [
            "events: elsewhere OrderCreated on bus platform-local-events matched no rule",
            "events: platform.entities OrderCreated on bus default matched no rule"
        ]
    );
    s.proxy.stop().await;
}

#[tokio::test]
async fn an_event_the_queue_refuses_goes_to_the_rule_dead_letter_queue() {
    let missing = format!("{}/123456789012/{}", Moto::shared().endpoint(), testkit::unique("missing"));
    let s = setup_with(Fake::new(|_, _| Ok(json!({}))), missing.clone()).await;
    let out = eventbridge(&s.proxy).put_events().entries(order_created()).send().await.unwrap();
    // Accepted: delivery is EventBridge's business after PutEvents answered.
    assert_eq!(out.failed_entry_count(), 0);
    let dead = drain(&s.undelivered).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(serde_json::from_str::<Value>(&dead[0]).unwrap()["detail"]["order_id"], "o-1");
    let log = s.log();
    assert!(
        log.iter().any(|l| l.starts_with("events: Notifications/Target0: delivery failed: SendMessage to ")
            && l.contains(&missing)),
        "{log:?}"
    );
    s.proxy.stop().await;
}

#[tokio::test]
async fn a_reload_routes_to_the_new_ids_at_the_same_url() {
    let mut s = setup(Fake::new(|_, _| Ok(json!({})))).await;
    let url = s.proxy.url();
    let (_dir, assembly) = assembly();
    let redeployed = Moto::shared().queue("redeployed", &[]).await;
    let mut ids = LocalCloudIds::default();
    ids.set_reference(&stack_of(&assembly, "WebhookDeliveries"), "WebhookDeliveries", &redeployed);
    assert_eq!(s.proxy.reload(&assembly, &ids), [] as [String; 0]);
    assert_eq!(s.proxy.url(), url);
    eventbridge(&s.proxy).put_events().entries(order_created()).send().await.unwrap();
    assert_eq!(drain(&redeployed).await.len(), 1);
    assert!(drain(&s.deliveries).await.is_empty());
    s.proxy.stop().await;
}

#[tokio::test]
async fn other_calls_pass_through_unchanged() {
    let s = setup(Fake::new(|_, _| Ok(json!({})))).await;
    let moto = Moto::shared();
    let config = moto.sdk_config();

    let sqs =
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&config).endpoint_url(s.proxy.url()).build());
    let queue = moto.queue("plain", &[]).await;
    sqs.send_message().queue_url(&queue).message_body("as sent").send().await.unwrap();
    assert_eq!(drain(&queue).await, ["as sent"]);
    let err = sqs.send_message().queue_url(format!("{queue}-missing")).message_body("x").send().await.unwrap_err();
    assert!(format!("{:?}", err.into_service_error()).contains("NonExistentQueue"));

    let table = testkit::unique("plain");
    moto.dynamodb()
        .create_table()
        .table_name(&table)
        .key_schema(KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().unwrap())
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("pk").attribute_type(ScalarAttributeType::S).build().unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config).endpoint_url(s.proxy.url()).build(),
    );
    ddb.put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("k".into()))
        .item("n", AttributeValue::N("42".into()))
        .send()
        .await
        .unwrap();
    let item = moto.dynamodb().get_item().table_name(&table).key("pk", AttributeValue::S("k".into())).send().await;
    assert_eq!(item.unwrap().item().unwrap()["n"], AttributeValue::N("42".into()));

    // The authorizer's signed `GET /apikeys/<id>?includeValue=true` (no SDK client: powertools::http with the
    // `apigateway` credential scope, by which moto picks the service), path and query forwarded as they are.
    let scope =
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/apigateway/aws4_request, SignedHeaders=host, Signature=0";
    let create = http::Request::post(format!("{}/apikeys", moto.endpoint()))
        .header("authorization", scope)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            json!({"name": testkit::unique("key"), "value": "free-key-value-0123456789", "enabled": true}).to_string(),
        )))
        .unwrap();
    let (status, key) = send(create).await;
    assert_eq!(status, 201, "{key}");
    let get =
        http::Request::get(format!("{}/apikeys/{}?includeValue=true", s.proxy.url(), key["id"].as_str().unwrap()))
            .header("authorization", scope)
            .body(Full::new(Bytes::new()))
            .unwrap();
    let (status, got) = send(get).await;
    assert_eq!((status, &got["value"]), (200, &json!("free-key-value-0123456789")), "{got}");
    s.proxy.stop().await;
}

/// POSTs an AWS JSON 1.0 call to the proxy: the status and the JSON answer.
async fn call(proxy: &Proxy, target: &str, body: Value) -> (u16, Value) {
    let req = http::Request::post(format!("{}/", proxy.url()))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", target)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    send(req).await
}

async fn send(req: http::Request<Full<Bytes>>) -> (u16, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client.request(req).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

async fn finished(proxy: &Proxy, arn: &str) -> Value {
    eventually(Duration::from_secs(10), || async {
        let (_, d) = call(proxy, "AWSStepFunctions.DescribeExecution", json!({"executionArn": arn})).await;
        (d["status"] != "RUNNING").then_some(d)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_export_workflow_runs_locally() {
    let s = setup(Fake::new(|f, payload| match (f, payload["tenant_id"].as_str()) {
        ("Exporter", Some("acme")) => Ok(json!({"url": "https://exports.local/acme.json"})),
        ("Exporter", _) => Err(InvokeError::Function {
            function: f.into(),
            error_type: "InvalidInput".into(),
            message: "no tenant".into(),
        }),
        _ => Ok(json!({})),
    }))
    .await;

    let input = json!({"tenant_id": "acme"}).to_string();
    let start = json!({"stateMachineArn": MACHINE_ARN, "name": "run-1", "input": input});
    let (status, started) = call(&s.proxy, "AWSStepFunctions.StartExecution", start.clone()).await;
    assert_eq!(status, 200, "{started}");
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    assert_eq!(arn, "arn:aws:states:us-east-1:123456789012:execution:ExportWorkflow-Q1W2:run-1");
    let done = finished(&s.proxy, &arn).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let output: Value = serde_json::from_str(done["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["export"]["Payload"]["url"], "https://exports.local/acme.json");
    assert_eq!(output["notified"]["FailedEntryCount"], 0);
    // The task named the exporter by the ARN the local cloud gave it; the invoker got its logical id.
    assert_eq!(s.fake.calls(), [("Exporter".to_owned(), json!({"tenant_id": "acme"}))]);
    let log = s.log();
    let history = log.iter().find(|l| l.starts_with(&format!("states: execution {arn} SUCCEEDED"))).unwrap();
    assert!(history.contains("NotifyExport"), "{history}");

    let (status, again) = call(&s.proxy, "AWSStepFunctions.StartExecution", start).await;
    assert_eq!((status, &again["__type"]), (400, &json!("ExecutionAlreadyExists")));

    // The failure path: caught, notified, failed.
    let start = json!({"stateMachineArn": MACHINE_ARN, "input": "{}"});
    let (_, started) = call(&s.proxy, "AWSStepFunctions.StartExecution", start).await;
    let done = finished(&s.proxy, started["executionArn"].as_str().unwrap()).await;
    assert_eq!((&done["status"], &done["error"]), (&json!("FAILED"), &json!("ExportFailed")), "{done}");

    let (status, e) = call(&s.proxy, "AWSStepFunctions.SendTaskSuccess", json!({"taskToken": "t"})).await;
    assert_eq!((status, &e["__type"]), (400, &json!("UnsupportedOperation")));
    assert!(e["message"].as_str().unwrap().starts_with("SendTaskSuccess is not supported"));
    let (status, e) = call(&s.proxy, "AWSStepFunctions.DescribeExecution", json!({"executionArn": "nope"})).await;
    assert_eq!((status, &e["__type"]), (400, &json!("ExecutionDoesNotExist")));
    s.proxy.stop().await;
}

#[tokio::test]
async fn an_invoice_queues_its_pdf_job_and_starts_no_workflow() {
    let s = setup(Fake::new(|_, _| Ok(json!({})))).await;
    let invoice = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name("platform-local-events")
        .source("platform.entities")
        .detail_type("InvoiceGenerated")
        .detail(json!({"tenant_id": "acme", "invoice_id": "i-1"}).to_string())
        .build();
    let out = eventbridge(&s.proxy).put_events().entries(invoice).send().await.unwrap();
    assert_eq!(out.failed_entry_count(), 0);
    // The Billing rule sends the whole event to the PDF jobs (the invoice renderer's queue); exports are started by
    // the API, not by an invoice.
    let jobs = eventually(Duration::from_secs(10), || async {
        let m = drain(&s.pdf_jobs).await;
        (!m.is_empty()).then_some(m)
    })
    .await
    .unwrap();
    assert_eq!(jobs.len(), 1);
    let job: Value = serde_json::from_str(&jobs[0]).unwrap();
    assert_eq!(
        (job["detail-type"].as_str(), job["detail"]["invoice_id"].as_str()),
        (Some("InvoiceGenerated"), Some("i-1"))
    );
    assert_eq!(s.fake.calls(), []);
    assert!(!s.log().iter().any(|l| l.starts_with("states: execution ")), "no execution");
    s.proxy.stop().await;
}
