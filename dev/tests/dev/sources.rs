//! The event source pollers against moto (`testkit`), delivering to an in-process fake function: SQS partial
//! failures and redrive, stream order, bisect with retries and the on-failure destination, the checkpoint of
//! `ReportBatchItemFailures`, and the platform's own mappings read from its templates.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use dev::assembly::LocalIds;
use dev::invoke::InvokeError;
use dev::sources::sqs::SqsPoller;
use dev::sources::stream::{OnFailure, StreamPoller};
use dev::sources::{Mapping, Mappings, SourceKind, StartingPosition, Target};
use serde_json::{Value, json};
use testkit::Moto;

use crate::fixtures::Fake;
use crate::platform::platform_assembly;

fn mapping(kind: SourceKind) -> Mapping {
    let stream = kind == SourceKind::DynamoDbStream;
    Mapping {
        logical_id: "Source".into(),
        function: "Worker".into(),
        kind,
        source: Target { arn: "unused".into(), resource: None },
        batch_size: 10,
        batching_window_seconds: 0,
        starting_position: stream.then_some(StartingPosition::TrimHorizon),
        bisect_on_error: false,
        maximum_retry_attempts: None,
        maximum_record_age_seconds: None,
        on_failure: None,
        report_batch_item_failures: true,
        enabled: true,
    }
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    let out = sqs.get_queue_attributes().queue_url(url).attribute_names(QueueAttributeName::QueueArn).send().await;
    out.unwrap().attributes().unwrap()[&QueueAttributeName::QueueArn].clone()
}

async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let out = sqs.receive_message().queue_url(url).max_number_of_messages(10).send().await.unwrap();
    out.messages().iter().map(|m| m.body().unwrap().to_owned()).collect()
}

fn bodies(event: &Value) -> Vec<String> {
    event["Records"].as_array().unwrap().iter().map(|r| r["body"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn sqs_failures_reappear_and_are_redriven_to_the_dlq() {
    let moto = Moto::shared();
    let sqs = moto.sqs();
    let dlq = moto.queue("dlq", &[]).await;
    let policy = json!({"deadLetterTargetArn": queue_arn(&sqs, &dlq).await, "maxReceiveCount": 2}).to_string();
    let queue = moto
        .queue(
            "work",
            &[(QueueAttributeName::VisibilityTimeout, "1".into()), (QueueAttributeName::RedrivePolicy, policy)],
        )
        .await;
    for body in ["good-1", "bad", "good-2"] {
        sqs.send_message().queue_url(&queue).message_body(body).send().await.unwrap();
    }
    let fake = Fake::new(|_, event| {
        let failures: Vec<Value> = event["Records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["body"] == "bad")
            .map(|r| json!({"itemIdentifier": r["messageId"]}))
            .collect();
        Ok(json!({"batchItemFailures": failures}))
    });
    let mut poller = SqsPoller::new(
        &mapping(SourceKind::Sqs),
        sqs.clone(),
        &queue,
        &queue_arn(&sqs, &queue).await,
        "us-east-1",
        Arc::new(fake.clone()),
    );
    poller.idle = Duration::from_millis(50);
    let running = poller.spawn();
    let redriven = testkit::eventually(Duration::from_secs(15), || {
        let (sqs, dlq) = (sqs.clone(), dlq.clone());
        async move { Some(drain(&sqs, &dlq).await).filter(|b| !b.is_empty()) }
    })
    .await;
    running.stop().await;
    assert_eq!(redriven, Some(vec!["bad".to_owned()]));

    let calls = fake.calls_to("Worker");
    let arn = queue_arn(&sqs, &queue).await;
    for event in &calls {
        let typed: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(event.clone()).unwrap();
        assert!(typed.records.iter().all(|r| r.event_source_arn.as_deref() == Some(arn.as_str())), "{event}");
    }
    let delivered: Vec<String> = calls.iter().flat_map(bodies).collect();
    assert_eq!(delivered.iter().filter(|b| b.starts_with("good")).count(), 2, "{delivered:?}");
    // Received twice (maxReceiveCount), then moto moved it on the third receive.
    let counts: Vec<&str> = calls
        .iter()
        .flat_map(|e| e["Records"].as_array().unwrap().iter())
        .filter(|r| r["body"] == "bad")
        .map(|r| r["attributes"]["ApproximateReceiveCount"].as_str().unwrap())
        .collect();
    assert_eq!(counts, ["1", "2"]);
    assert_eq!(drain(&sqs, &queue).await, Vec::<String>::new());
}

struct Table {
    ddb: aws_sdk_dynamodb::Client,
    name: String,
    stream_arn: String,
}

impl Table {
    async fn create() -> Table {
        let moto = Moto::shared();
        let ddb = moto.dynamodb();
        let name = testkit::unique("stream");
        testkit::tables::create_entity_table(&ddb, &name).await;
        let out = ddb.describe_table().table_name(&name).send().await.unwrap();
        let stream_arn = out.table().unwrap().latest_stream_arn().unwrap().to_owned();
        Table { ddb, name, stream_arn }
    }

    async fn put(&self, pk: &str) {
        self.ddb
            .put_item()
            .table_name(&self.name)
            .item("pk", AttributeValue::S(pk.into()))
            .item("sk", AttributeValue::S("A".into()))
            .send()
            .await
            .unwrap();
    }

    fn poller(&self, mapping: &Mapping, on_failure: Option<OnFailure>, fake: &Fake) -> StreamPoller<Fake> {
        let moto = Moto::shared();
        let mut p = StreamPoller::new(
            mapping,
            moto.dynamodb_streams(),
            &self.stream_arn,
            "us-east-1",
            on_failure,
            Arc::new(fake.clone()),
        );
        p.retry_delay = Duration::from_millis(10);
        p
    }
}

fn keys(event: &Value) -> Vec<String> {
    event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["dynamodb"]["Keys"]["pk"]["S"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn stream_records_reach_the_function_in_order() {
    let table = Table::create().await;
    for pk in ["a", "b", "c", "d", "e"] {
        table.put(pk).await;
    }
    let fake = Fake::new(|_, _| Ok(Value::Null));
    let mapping = Mapping { batch_size: 2, ..mapping(SourceKind::DynamoDbStream) };
    let poller = table.poller(&mapping, None, &fake);
    assert_eq!(poller.poll_once().await, Ok(5));
    table.put("f").await;
    assert_eq!(poller.poll_once().await, Ok(1));
    assert_eq!(poller.poll_once().await, Ok(0));
    let calls = fake.calls_to("Worker");
    let batches: Vec<Vec<String>> = calls.iter().map(keys).collect();
    assert_eq!(batches, [vec!["a", "b"], vec!["c", "d"], vec!["e"], vec!["f"]]);
    let typed: aws_lambda_events::dynamodb::Event = serde_json::from_value(calls[0].clone()).unwrap();
    assert_eq!(typed.records[0].event_name, "INSERT");
    assert_eq!(typed.records[0].event_source_arn.as_deref(), Some(table.stream_arn.as_str()));
}

#[tokio::test]
async fn latest_skips_what_was_written_before_the_poller_started() {
    let table = Table::create().await;
    table.put("old").await;
    let fake = Fake::new(|_, _| Ok(Value::Null));
    let mapping = Mapping { starting_position: Some(StartingPosition::Latest), ..mapping(SourceKind::DynamoDbStream) };
    let poller = table.poller(&mapping, None, &fake);
    assert_eq!(poller.poll_once().await, Ok(0));
    table.put("new").await;
    assert_eq!(poller.poll_once().await, Ok(1));
    assert_eq!(fake.calls_to("Worker").iter().map(keys).collect::<Vec<_>>(), [vec!["new"]]);
}

#[tokio::test]
async fn a_poison_record_is_bisected_retried_then_described_on_the_failure_queue() {
    let moto = Moto::shared();
    let table = Table::create().await;
    for pk in ["a", "b", "bad", "c"] {
        table.put(pk).await;
    }
    let failures = moto.queue("stream-failures", &[]).await;
    let fake = Fake::new(|_, event| {
        if keys(event).iter().any(|k| k == "bad") {
            Err(InvokeError::Function { function: "Worker".into(), error_type: "Poison".into(), message: "bad".into() })
        } else {
            Ok(Value::Null)
        }
    });
    let mapping = Mapping {
        batch_size: 4,
        bisect_on_error: true,
        maximum_retry_attempts: Some(2),
        report_batch_item_failures: false,
        ..mapping(SourceKind::DynamoDbStream)
    };
    let on_failure = OnFailure { client: moto.sqs(), queue_url: failures.clone() };
    let poller = table.poller(&mapping, Some(on_failure), &fake);
    assert_eq!(poller.poll_once().await, Ok(4));

    let batches: Vec<Vec<String>> = fake.calls_to("Worker").iter().map(keys).collect();
    // The whole batch, its halves, the poison's half bisected, then the poison alone retried twice.
    assert_eq!(
        batches,
        [
            vec!["a", "b", "bad", "c"],
            vec!["a", "b"],
            vec!["bad", "c"],
            vec!["bad"],
            vec!["bad"],
            vec!["bad"],
            vec!["c"],
        ]
    );
    let described = drain(&moto.sqs(), &failures).await;
    assert_eq!(described.len(), 1, "{described:?}");
    let info: Value = serde_json::from_str(&described[0]).unwrap();
    assert_eq!(info["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(info["requestContext"]["approximateInvokeCount"], 3);
    assert_eq!(info["requestContext"]["functionArn"], "arn:aws:lambda:us-east-1:123456789012:function:Worker");
    let batch = &info["DDBStreamBatchInfo"];
    assert_eq!((batch["batchSize"].as_u64(), batch["streamArn"].as_str()), (Some(1), Some(table.stream_arn.as_str())));
    assert_eq!(batch["startSequenceNumber"], batch["endSequenceNumber"]);
    assert!(batch["shardId"].as_str().is_some_and(|s| !s.is_empty()), "{info}");
}

#[tokio::test]
async fn report_batch_item_failures_resumes_at_the_first_failed_sequence_number() {
    let table = Table::create().await;
    for pk in ["a", "bad", "c"] {
        table.put(pk).await;
    }
    let attempts = Arc::new(AtomicUsize::new(0));
    let seen = attempts.clone();
    let fake = Fake::new(move |_, event| {
        // The first attempt reports `bad` (and `c`, after it) failed; the retry succeeds.
        if seen.fetch_add(1, Ordering::SeqCst) > 0 {
            return Ok(json!({"batchItemFailures": []}));
        }
        let failed: Vec<Value> = event["Records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["dynamodb"]["Keys"]["pk"]["S"] != "a")
            .map(|r| json!({"itemIdentifier": r["dynamodb"]["SequenceNumber"]}))
            .collect();
        Ok(json!({"batchItemFailures": failed}))
    });
    let poller = table.poller(&mapping(SourceKind::DynamoDbStream), None, &fake);
    assert_eq!(poller.poll_once().await, Ok(3));
    let batches: Vec<Vec<String>> = fake.calls_to("Worker").iter().map(keys).collect();
    assert_eq!(batches, [vec!["a", "bad", "c"], vec!["bad", "c"]]);
}

#[test]
fn the_platform_mappings_are_read_from_its_templates() {
    let (_dir, assembly) = platform_assembly();
    let found = Mappings::from_assembly(&assembly, &LocalIds).unwrap();
    assert_eq!(found.unsupported, []);
    let ids: Vec<&str> = found.mappings.iter().map(|m| m.logical_id.as_str()).collect();
    assert_eq!(ids, ["InvoiceRendererSource", "StreamProcessorChanges", "UploadScannerSource", "WebhookWorkerSource"]);

    let pdf_jobs = &found.mappings[0];
    assert_eq!((pdf_jobs.function.as_str(), pdf_jobs.kind), ("InvoiceRenderer", SourceKind::Sqs));
    assert_eq!(pdf_jobs.source.resource.as_deref(), Some("PdfJobs"));
    assert_eq!((pdf_jobs.batch_size, pdf_jobs.batching_window_seconds), (10, 1));
    assert!(pdf_jobs.report_batch_item_failures && pdf_jobs.enabled);

    let stream = &found.mappings[1];
    assert_eq!((stream.function.as_str(), stream.kind), ("StreamProcessor", SourceKind::DynamoDbStream));
    assert_eq!(stream.source.resource.as_deref(), Some("Entities"));
    assert_eq!((stream.batch_size, stream.starting_position), (100, Some(StartingPosition::TrimHorizon)));
    assert_eq!((stream.bisect_on_error, stream.maximum_retry_attempts), (true, Some(5)));
    assert_eq!(stream.maximum_record_age_seconds, Some(3600));
    assert_eq!(stream.on_failure.as_ref().and_then(|t| t.resource.as_deref()), Some("StreamFailures"));
    assert!(stream.report_batch_item_failures && stream.enabled);

    let scans = &found.mappings[2];
    assert_eq!((scans.function.as_str(), scans.kind), ("UploadScanner", SourceKind::Sqs));
    assert_eq!(scans.source.resource.as_deref(), Some("UploadScans"));
    assert_eq!((scans.batch_size, scans.batching_window_seconds), (10, 1));
    assert!(scans.report_batch_item_failures && scans.enabled);

    let webhooks = &found.mappings[3];
    assert_eq!((webhooks.function.as_str(), webhooks.kind), ("WebhookWorker", SourceKind::Sqs));
    assert_eq!(webhooks.source.resource.as_deref(), Some("WebhookDeliveries"));
    assert_eq!((webhooks.batch_size, webhooks.batching_window_seconds), (10, 1));
    assert_eq!((webhooks.starting_position, webhooks.on_failure.as_ref()), (None, None));
    assert!(webhooks.report_batch_item_failures && webhooks.enabled);
}

#[tokio::test]
async fn records_past_their_maximum_age_are_described_not_delivered() {
    let moto = Moto::shared();
    let table = Table::create().await;
    table.put("stale").await;
    let failures = moto.queue("stream-failures", &[]).await;
    let fake = Fake::new(|_, _| Ok(Value::Null));
    let mapping = Mapping { maximum_record_age_seconds: Some(1), ..mapping(SourceKind::DynamoDbStream) };
    let on_failure = OnFailure { client: moto.sqs(), queue_url: failures.clone() };
    let poller = table.poller(&mapping, Some(on_failure), &fake);
    // Two seconds make the record older than its one-second limit, whatever the precision of its timestamp.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(poller.poll_once().await, Ok(1));
    assert_eq!(fake.calls_to("Worker"), Vec::<Value>::new());
    let described = drain(&moto.sqs(), &failures).await;
    let info: Value = serde_json::from_str(&described[0]).unwrap();
    assert_eq!(info["requestContext"]["condition"], "RecordAgeExceeded");
    assert!(
        info["DDBStreamBatchInfo"]["approximateArrivalOfFirstRecord"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{info}"
    );
}

#[tokio::test]
async fn an_sqs_batch_gathers_messages_for_the_batching_window() {
    let moto = Moto::shared();
    let sqs = moto.sqs();
    let queue = moto.queue("window", &[]).await;
    sqs.send_message().queue_url(&queue).message_body("first").send().await.unwrap();
    let fake = Fake::new(|_, _| Ok(json!({"batchItemFailures": []})));
    let mapping = Mapping { batching_window_seconds: 1, ..mapping(SourceKind::Sqs) };
    let mut poller = SqsPoller::new(
        &mapping,
        sqs.clone(),
        &queue,
        &queue_arn(&sqs, &queue).await,
        "us-east-1",
        Arc::new(fake.clone()),
    );
    poller.idle = Duration::from_millis(50);
    let late = {
        let (sqs, queue) = (sqs.clone(), queue.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            for body in ["second", "third"] {
                sqs.send_message().queue_url(&queue).message_body(body).send().await.unwrap();
            }
        })
    };
    assert_eq!(poller.poll_once().await, Ok(3));
    late.await.unwrap();
    assert_eq!(fake.calls_to("Worker").iter().map(bodies).collect::<Vec<_>>(), [vec!["first", "second", "third"]]);
    assert_eq!(drain(&sqs, &queue).await, Vec::<String>::new());
}
