//! Batch processing with partial failure reporting: one bad record never fails the others.
//!
//! The event source mapping must have `FunctionResponseTypes: [ReportBatchItemFailures]`
//! (<https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>).
//!
//! - **SQS standard** ([`process_sqs`] with [`QueueKind::Standard`]): every message is processed (concurrently, up
//!   to a bound); the failed ones are reported by `messageId` and come back after the visibility timeout, then go
//!   to the DLQ after `maxReceiveCount` receives, unchanged.
//! - **SQS FIFO**: messages run in order. [`FifoMode::StopAtFirstFailure`] reports the first failure and every
//!   message after it (unprocessed), so order is kept across the whole batch. [`FifoMode::SkipFailedGroup`] reports
//!   the failure and the later messages of the *same message group* only; other groups go on.
//! - **DynamoDB streams** ([`process_stream`], [`checkpoint`]): records run in order; the response names the
//!   sequence number of the first failure, so Lambda checkpoints just before it and retries from there.
//!
//! A handler that panics counts as a failure of its record (the panic is caught).

use std::collections::HashSet;
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use futures_util::FutureExt;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

/// `{"batchItemFailures": [{"itemIdentifier": ...}]}`, the response of SQS and stream batches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: String,
}

impl BatchResponse {
    pub fn failed(&self) -> Vec<&str> {
        self.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect()
    }
    fn push(&mut self, id: &str) {
        self.batch_item_failures.push(BatchItemFailure { item_identifier: id.to_string() });
    }
}

/// How a FIFO batch reacts to a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FifoMode {
    StopAtFirstFailure,
    SkipFailedGroup,
}

/// The kind of queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueKind {
    /// Process with up to `concurrency` messages in flight.
    Standard {
        concurrency: usize,
    },
    Fifo(FifoMode),
}

async fn run_one<F, Fut, E>(handler: &F, msg: &SqsMessage) -> bool
where
    F: Fn(&SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let id = msg.message_id.as_deref().unwrap_or("");
    match AssertUnwindSafe(handler(msg)).catch_unwind().await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(message_id = id, error = %e, "message failed");
            false
        }
        Err(_) => {
            tracing::error!(message_id = id, "message handler panicked");
            false
        }
    }
}

/// Processes an SQS batch and returns the partial batch response.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use powertools::batch::{process_sqs, QueueKind};
/// let event: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(serde_json::json!({
///     "Records": [{"messageId": "1", "body": "ok"}, {"messageId": "2", "body": "bad"}]
/// })).unwrap();
/// let response = process_sqs(&event, QueueKind::Standard { concurrency: 4 }, |m| {
///     let ok = m.body.as_deref() == Some("ok");
///     async move { if ok { Ok(()) } else { Err("bad body") } }
/// }).await;
/// assert_eq!(response.failed(), vec!["2"]);
/// # });
/// ```
pub async fn process_sqs<F, Fut, E>(event: &SqsEvent, kind: QueueKind, handler: F) -> BatchResponse
where
    F: Fn(&SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let mut response = BatchResponse::default();
    match kind {
        QueueKind::Standard { concurrency } => {
            let results: Vec<(usize, bool)> = stream::iter(event.records.iter().enumerate())
                .map(|(i, m)| {
                    let h = &handler;
                    async move { (i, run_one(h, m).await) }
                })
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
            let mut failed: Vec<usize> = results.into_iter().filter(|(_, ok)| !ok).map(|(i, _)| i).collect();
            failed.sort_unstable();
            for i in failed {
                report(&mut response, &event.records[i]);
            }
        }
        QueueKind::Fifo(FifoMode::StopAtFirstFailure) => {
            let mut stopped = false;
            for m in &event.records {
                if stopped || !run_one(&handler, m).await {
                    stopped = true;
                    report(&mut response, m);
                }
            }
        }
        QueueKind::Fifo(FifoMode::SkipFailedGroup) => {
            let mut failed_groups: HashSet<String> = HashSet::new();
            for m in &event.records {
                let group = m.attributes.get("MessageGroupId").cloned().unwrap_or_default();
                if failed_groups.contains(&group) || !run_one(&handler, m).await {
                    failed_groups.insert(group);
                    report(&mut response, m);
                }
            }
        }
    }
    response
}

fn report(response: &mut BatchResponse, m: &SqsMessage) {
    match m.message_id.as_deref() {
        Some(id) => response.push(id),
        // Without an id the failure cannot be reported; Lambda would delete it. Never happens with real SQS.
        None => tracing::error!("failed message without messageId cannot be reported"),
    }
}

/// A DynamoDB stream event (own type: images stay DynamoDB JSON, converted with [`crate::dynamo::image_to_json`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

/// One stream record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventID", default)]
    pub event_id: String,
    /// `INSERT`, `MODIFY` or `REMOVE`.
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    #[serde(default)]
    pub dynamodb: StreamChange,
    #[serde(rename = "eventSourceARN", default)]
    pub event_source_arn: Option<String>,
    /// Present (`type = Service`, `principalId = dynamodb.amazonaws.com`) on TTL deletions.
    #[serde(rename = "userIdentity", default)]
    pub user_identity: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamChange {
    #[serde(rename = "Keys", default)]
    pub keys: serde_json::Map<String, serde_json::Value>,
    #[serde(rename = "NewImage", default)]
    pub new_image: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(rename = "OldImage", default)]
    pub old_image: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: String,
    #[serde(rename = "ApproximateCreationDateTime", default)]
    pub approximate_creation_date_time: Option<f64>,
}

/// The checkpoint response for ordered results: the first failed record's sequence number, or nothing.
pub fn checkpoint(records: &[StreamRecord], first_failed: Option<usize>) -> BatchResponse {
    let mut r = BatchResponse::default();
    if let Some(rec) = first_failed.and_then(|i| records.get(i)) {
        r.push(&rec.dynamodb.sequence_number);
    }
    r
}

/// Processes stream records in order, stopping at the first failure (which becomes the checkpoint).
pub async fn process_stream<F, Fut, E>(event: &StreamEvent, handler: F) -> BatchResponse
where
    F: Fn(&StreamRecord) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    for (i, rec) in event.records.iter().enumerate() {
        let ok = match AssertUnwindSafe(handler(rec)).catch_unwind().await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(sequence_number = %rec.dynamodb.sequence_number, error = %e, "stream record failed");
                false
            }
            Err(_) => {
                tracing::error!(sequence_number = %rec.dynamodb.sequence_number, "stream handler panicked");
                false
            }
        };
        if !ok {
            return checkpoint(&event.records, Some(i));
        }
    }
    BatchResponse::default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sqs(msgs: &[(&str, &str, &str)]) -> SqsEvent {
        let records: Vec<_> = msgs
            .iter()
            .map(|(id, group, body)| json!({"messageId": id, "body": body, "attributes": {"MessageGroupId": group}}))
            .collect();
        serde_json::from_value(json!({ "Records": records })).unwrap()
    }

    async fn check(kind: QueueKind, msgs: &[(&str, &str, &str)], expected_failed: &[&str], expected_runs: &[&str]) {
        let ran = std::sync::Mutex::new(Vec::new());
        let r = process_sqs(&sqs(msgs), kind, |m| {
            let id = m.message_id.clone().unwrap();
            ran.lock().unwrap().push(id);
            let body = m.body.clone().unwrap_or_default();
            async move {
                match body.as_str() {
                    "panic" => panic!("boom"),
                    "bad" => Err("bad"),
                    _ => Ok(()),
                }
            }
        })
        .await;
        assert_eq!(r.failed(), expected_failed, "{kind:?}");
        let mut ran = ran.into_inner().unwrap();
        if matches!(kind, QueueKind::Standard { .. }) {
            ran.sort();
        }
        assert_eq!(ran, expected_runs, "{kind:?}");
    }

    #[tokio::test]
    async fn standard_reports_only_failures_including_panics() {
        let msgs = [("1", "", "ok"), ("2", "", "bad"), ("3", "", "panic"), ("4", "", "ok")];
        check(QueueKind::Standard { concurrency: 2 }, &msgs, &["2", "3"], &["1", "2", "3", "4"]).await;
    }

    #[tokio::test]
    async fn fifo_stop_at_first_failure_reports_the_rest_unprocessed() {
        let msgs = [("1", "a", "ok"), ("2", "b", "bad"), ("3", "a", "ok"), ("4", "c", "ok")];
        check(QueueKind::Fifo(FifoMode::StopAtFirstFailure), &msgs, &["2", "3", "4"], &["1", "2"]).await;
    }

    #[tokio::test]
    async fn fifo_skip_failed_group_keeps_other_groups_going() {
        let msgs = [("1", "a", "ok"), ("2", "b", "bad"), ("3", "b", "ok"), ("4", "a", "ok"), ("5", "c", "panic")];
        check(QueueKind::Fifo(FifoMode::SkipFailedGroup), &msgs, &["2", "3", "5"], &["1", "2", "4", "5"]).await;
    }

    #[tokio::test]
    async fn stream_checkpoints_at_first_failure() {
        let event: StreamEvent = serde_json::from_value(json!({"Records": [
            {"eventID": "a", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "100"}},
            {"eventID": "b", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "200"}},
            {"eventID": "c", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "300"}}
        ]}))
        .unwrap();
        let r = process_stream(&event, |rec| {
            let bad = rec.event_id == "b";
            async move { if bad { Err("no") } else { Ok(()) } }
        })
        .await;
        assert_eq!(r.failed(), vec!["200"]);
        let ok = process_stream(&event, |_| async { Ok::<_, String>(()) }).await;
        assert!(ok.batch_item_failures.is_empty());
        assert_eq!(serde_json::to_value(&r).unwrap(), json!({"batchItemFailures": [{"itemIdentifier": "200"}]}));
    }
}
