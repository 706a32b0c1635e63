//! Webhook deliveries against moto SQS (with a redrive policy) and a local HTTP receiver on 127.0.0.1 that
//! verifies the signature.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::QueueAttributeName;
use powertools::aws::dynamodb_client;
use powertools::clock::{Clock, SystemClock};
use serde_json::{Value, json};
use testkit::Moto;
use testkit::convert::SqsPoller;
use testkit::http::{Received, Receiver};
use testkit::seed::Seed;
use testkit::tables::Tables;
use webhook_worker::{Delivery, Deps, handle, tenant_key, verify};

const MASTER: &str = "platform-webhook-signing-secret";

struct Env {
    deps: Deps,
    poller: SqsPoller,
    dlq_url: String,
    seed: Seed,
}

/// A queue (visibility `visibility` seconds) whose DLQ takes messages after 2 receives.
async fn setup(visibility: u32) -> Env {
    let moto = Moto::shared();
    let ddb = dynamodb_client(&moto.sdk_config(), None);
    let tables = Tables::create(&ddb).await;
    let sqs = moto.sqs();
    let dlq_url = moto.queue("webhooks-dlq", &[]).await;
    let dlq_arn = SqsPoller::new(sqs.clone(), &dlq_url).await.queue_arn;
    let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}).to_string();
    let attributes =
        [(QueueAttributeName::VisibilityTimeout, visibility.to_string()), (QueueAttributeName::RedrivePolicy, redrive)];
    let url = moto.queue("webhooks", &attributes).await;
    let arn = moto.secret("webhook", MASTER).await;
    let mut deps =
        Deps::new(ddb.clone(), &tables.entity, sqs.clone(), &url, moto.secrets(), &arn, powertools::clock::system());
    deps.allow_http_loopback = true;
    // The local receivers listen on 127.0.0.1, a loopback address the SSRF guard refuses unless allowed.
    deps.allowed_addresses = vec![std::net::Ipv4Addr::LOCALHOST.into()];
    deps.backoff_base = Duration::ZERO;
    deps.timeout = Duration::from_millis(500);
    Env { deps, poller: SqsPoller::new(sqs, &url).await, dlq_url, seed: Seed::new(&ddb, &tables.entity) }
}

/// An EventBridge event as an EventBridge rule puts it on the queue.
fn order_event(tenant: &str, event_id: &str) -> String {
    json!({
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "OrderCreated",
        "source": "platform.entities", "account": "123456789012", "time": "2024-05-01T12:00:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {"event_id": event_id, "tenant_id": tenant, "order_id": "o1", "total_cents": 100,
                   "currency": "EUR", "created_at": "2024-05-01T12:00:00Z"}
    })
    .to_string()
}

/// Sends a message: its id.
async fn send(env: &Env, body: &str) -> String {
    let out = env.poller.sqs.send_message().queue_url(&env.poller.queue_url).message_body(body).send().await.unwrap();
    out.message_id().unwrap().to_string()
}

/// One poll as Lambda's mapping does it: receive, invoke, delete what did not fail. Returns the failed ids.
async fn poll(env: &Env) -> Option<Vec<String>> {
    let event = env.poller.receive(10).await?;
    let sqs_event: SqsEvent = serde_json::from_value(event.clone()).unwrap();
    let response =
        handle(&env.deps, &sqs_event, Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")).await.response;
    let response_json = serde_json::to_value(&response).unwrap();
    env.poller.settle(&event, &response_json).await;
    Some(response.failed().into_iter().map(String::from).collect())
}

/// A receiver that checks every delivery's signature with the tenant's key, answering 200 or 401.
async fn verifying_receiver(fail_first: usize) -> Receiver {
    Receiver::start(Arc::new(move |r: &Received, i| {
        if i < fail_first {
            return (500, "{}".into());
        }
        if verified(r) { (200, "{}".into()) } else { (401, "{}".into()) }
    }))
    .await
}

fn verified(r: &Received) -> bool {
    let Ok(d) = serde_json::from_slice::<Delivery>(&r.body) else { return false };
    let key = tenant_key(MASTER.as_bytes(), &d.tenant_id);
    let now = SystemClock.now_millis() / 1000;
    verify(&key, &r.headers["webhook-timestamp"], &r.body, &r.headers["webhook-signature"], now, 300)
}

#[tokio::test]
async fn signed_delivery_partial_batch_and_dlq_redrive_keep_the_poison_intact() {
    let env = setup(0).await;
    let receiver = verifying_receiver(0).await;
    env.seed.webhook("acme", &receiver.url("/hooks/orders")).await;
    send(&env, &order_event("acme", "ev-1")).await;
    let poison = "{\"not\": an eventbridge event";
    let poison_id = send(&env, poison).await;
    send(&env, &order_event("nobody", "ev-2")).await; // no webhook configured: nothing to deliver

    assert_eq!(poll(&env).await.unwrap(), vec![poison_id], "only the poison message fails");
    // Poll until the queue is drained: the poison comes back until its third receive moves it to the DLQ.
    for _ in 0..5 {
        if poll(&env).await.is_none() {
            break;
        }
    }
    assert!(env.poller.receive(10).await.is_none(), "main queue drained");

    let got = receiver.received();
    assert_eq!(got.len(), 1, "exactly one delivery");
    let r = &got[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/hooks/orders"));
    assert!(verified(r), "signature verifies with the tenant's key");
    assert!(!verify(
        &tenant_key(MASTER.as_bytes(), "other"),
        &r.headers["webhook-timestamp"],
        &r.body,
        &r.headers["webhook-signature"],
        SystemClock.now_millis() / 1000,
        300
    ));
    assert_eq!(r.headers["webhook-id"], "ev-1");
    assert_eq!(r.headers["x-amzn-trace-id"], "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1");
    let d: Delivery = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (d.kind.as_str(), d.tenant_id.as_str(), d.data["order_id"].as_str()),
        ("OrderCreated", "acme", Some("o1"))
    );

    let dlq = env.poller.sqs.receive_message().queue_url(&env.dlq_url).max_number_of_messages(10).send().await.unwrap();
    let bodies: Vec<&str> = dlq.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, vec![poison], "the poison message is in the DLQ, byte for byte");
}

#[tokio::test]
async fn failed_delivery_backs_off_through_visibility_then_succeeds() {
    // A 30 s queue visibility: the message only comes back at once because the worker set its visibility to the
    // (zero) backoff.
    let env = setup(30).await;
    let receiver = verifying_receiver(1).await;
    env.seed.webhook("acme", &receiver.url("/h")).await;
    let id = send(&env, &order_event("acme", "ev-retry")).await;
    assert_eq!(poll(&env).await.unwrap(), vec![id], "the 500 is a failure");
    assert_eq!(poll(&env).await.unwrap(), Vec::<String>::new(), "redelivered and delivered");
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"], "same id across retries");
    assert!(verified(&got[1]));

    // With a real backoff the failed message stays invisible.
    let mut slow = setup(30).await;
    slow.deps.backoff_base = Duration::from_secs(60);
    let down = Receiver::fixed(503).await;
    slow.seed.webhook("acme", &down.url("/h")).await;
    let id = send(&slow, &order_event("acme", "ev-slow")).await;
    assert_eq!(poll(&slow).await.unwrap(), vec![id]);
    assert!(slow.poller.receive(10).await.is_none(), "hidden for the backoff");
}

/// The order events on the queue, visible or not (received with a zero visibility timeout).
async fn queued_order_events(env: &Env) -> usize {
    let mut seen = 0;
    for r in env
        .poller
        .sqs
        .receive_message()
        .queue_url(&env.poller.queue_url)
        .visibility_timeout(0)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages()
    {
        let v: Value = serde_json::from_str(r.body().unwrap()).unwrap();
        seen += usize::from(v["detail-type"] == "OrderCreated");
    }
    seen
}

#[tokio::test]
async fn insecure_urls_and_timeouts_fail() {
    let mut env = setup(30).await;
    env.seed.webhook("plain", "http://example.com/hook").await;
    // A listener that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = silent.local_addr().unwrap().port();
    env.seed.webhook("slow", &format!("http://127.0.0.1:{port}/hook")).await;
    env.deps.timeout = Duration::from_millis(300);
    let plain = send(&env, &order_event("plain", "e1")).await;
    let slow = send(&env, &order_event("slow", "e2")).await;
    let started = std::time::Instant::now();
    let mut failed = poll(&env).await.unwrap();
    failed.sort();
    let mut expected = vec![plain, slow];
    expected.sort();
    assert_eq!(failed, expected);
    assert!(started.elapsed() < Duration::from_secs(5), "the timeout bounds the call");
    // Nothing was delivered to the insecure URL (it is never even resolved), and both messages failed with a zero
    // backoff, so both are queued and visible again.
    assert_eq!(queued_order_events(&env).await, 2);
    drop(silent);
}

#[tokio::test]
async fn endpoints_resolving_inside_are_refused_permanently_and_never_called() {
    let mut env = setup(30).await;
    // The allow-list is empty, as in production: 127.0.0.1 is refused too.
    env.deps.allowed_addresses.clear();
    let receiver = verifying_receiver(0).await;
    let port = receiver.url("/").trim_start_matches("http://127.0.0.1:").trim_end_matches('/').to_string();
    let endpoints = [
        ("loopback", format!("https://localhost:{port}/h")),
        ("literal", format!("http://127.0.0.1:{port}/h")),
        ("mapped", format!("https://[::ffff:127.0.0.1]:{port}/h")),
        ("metadata", "https://169.254.169.254/latest/meta-data/".to_string()),
        ("private", "https://10.1.2.3/hook".to_string()),
        ("cgnat", "https://100.64.0.9/hook".to_string()),
    ];
    for (tenant, url) in &endpoints {
        env.seed.webhook(tenant, url).await;
        send(&env, &order_event(tenant, &format!("ev-{tenant}"))).await;
    }
    let event = env.poller.receive(10).await.unwrap();
    let sqs_event: SqsEvent = serde_json::from_value(event.clone()).unwrap();
    assert_eq!(sqs_event.records.len(), endpoints.len());
    let outcome = handle(&env.deps, &sqs_event, None).await;
    assert_eq!(outcome.response.failed(), Vec::<&str>::new(), "permanent: not reported for a retry");
    assert_eq!(outcome.refused, endpoints.len());
    env.poller.settle(&event, &serde_json::to_value(&outcome.response).unwrap()).await;

    assert_eq!(receiver.received().len(), 0, "nothing reached the local receiver");
    assert_eq!(queued_order_events(&env).await, 0, "dropped, not retried");
    let dlq = env.poller.sqs.receive_message().queue_url(&env.dlq_url).max_number_of_messages(10).send().await.unwrap();
    assert_eq!(dlq.messages().len(), 0);

    // The same local receiver, explicitly allowed, gets the delivery.
    env.deps.allowed_addresses = vec![std::net::Ipv4Addr::LOCALHOST.into()];
    send(&env, &order_event("literal", "ev-allowed")).await;
    assert_eq!(poll(&env).await.unwrap(), Vec::<String>::new());
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(receiver.received()[0].headers["webhook-id"], "ev-allowed");
}
