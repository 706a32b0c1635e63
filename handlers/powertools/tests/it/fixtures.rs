//! The library against real AWS event payloads (`testkit::fixtures`, from the `aws_lambda_events` crate).

use aws_lambda_events::event::sqs::SqsEvent;
use powertools::batch::{FifoMode, QueueKind, StreamEvent, process_sqs, process_stream};
use powertools::dynamo::image_to_json;
use serde_json::{Value, json};

#[tokio::test]
async fn sqs_fixture_partial_batch() {
    let mut event: SqsEvent = serde_json::from_str(testkit::fixtures::SQS_EVENT).unwrap();
    assert_eq!(event.records.len(), 1);
    assert_eq!(event.records[0].attributes["ApproximateReceiveCount"], "2");
    // A second message like the first, as in any real batch.
    let mut second = event.records[0].clone();
    second.message_id = Some("second-message".into());
    event.records.push(second);
    let bad = event.records[1].message_id.clone().unwrap();
    let r = process_sqs(&event, QueueKind::Standard { concurrency: 10 }, |m| {
        let fail = m.message_id.as_deref() == Some(bad.as_str());
        async move { if fail { Err("poison") } else { Ok(()) } }
    })
    .await;
    assert_eq!(r.failed(), vec![bad.as_str()]);
    let fifo =
        process_sqs(&event, QueueKind::Fifo(FifoMode::StopAtFirstFailure), |_| async { Err::<(), _>("x") }).await;
    assert_eq!(fifo.batch_item_failures.len(), 2);
}

#[tokio::test]
async fn dynamodb_stream_fixture() {
    let event: StreamEvent = serde_json::from_str(testkit::fixtures::DYNAMODB_STREAM_EVENT).unwrap();
    assert_eq!(event.records.len(), 2);
    let first = &event.records[0];
    assert_eq!(first.event_name, "INSERT");
    assert_eq!(first.dynamodb.sequence_number, "1405400000000002063282832");
    let image = image_to_json(first.dynamodb.new_image.as_ref().unwrap()).unwrap();
    assert_eq!(image["val"], "data");
    assert_eq!(image["asdf2"], json!(["AAEqQQ==", "QSoBAA=="]));
    let second = &event.records[1];
    assert_eq!(second.event_id, "f07f8ca4b0b26cb9c4e5e77e42f274ee");
    let seen = std::sync::Mutex::new(Vec::new());
    let r = process_stream(&event, |rec| {
        seen.lock().unwrap().push(rec.event_id.clone());
        let fail = rec.event_id == second.event_id;
        async move { if fail { Err("second fails") } else { Ok(()) } }
    })
    .await;
    assert_eq!(r.failed(), vec![second.dynamodb.sequence_number.as_str()]);
    assert_eq!(seen.into_inner().unwrap().len(), 2);
}

#[test]
fn eventbridge_fixture_envelope() {
    let v: Value = serde_json::from_str(testkit::fixtures::EVENTBRIDGE_EVENT).unwrap();
    assert_eq!(v["detail-type"], "EC2 Instance State-change Notification");
    // Not a platform event: the consumers' parser says so instead of guessing.
    let err = platform_types::events::DomainEvent::from_parts(v["detail-type"].as_str().unwrap(), v["detail"].clone());
    assert!(err.unwrap_err().contains("unknown detail-type"));
}
