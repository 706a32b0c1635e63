//! The SQS poller: receives up to the batch size within the batching window, invokes the function with the SQS
//! event, deletes what succeeded and leaves the failures to reappear after the queue's visibility timeout.
//!
//! Redrive to the dead-letter queue is the queue's own `RedrivePolicy`, as in AWS: moto 5.2.5 moves a message to
//! the DLQ on the receive after its `maxReceiveCount`-th (measured by
//! `dev/tests/dev/sources.rs::sqs_failures_reappear_and_are_redriven_to_the_dlq`), so the poller does nothing for it.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::event::{batch_item_failures, sqs_record};
use super::{Mapping, Poller, SourceError};
use crate::invoke::Invoke;

/// At most 10 messages per `ReceiveMessage` and per `DeleteMessageBatch`
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>).
const SQS_MAX_MESSAGES: usize = 10;

/// One queue polled for one function.
pub struct SqsPoller<I> {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
    /// The queue's real ARN (the event's `eventSourceARN`).
    pub queue_arn: String,
    pub region: String,
    /// The mapping's logical id (names the poller in logs).
    pub logical_id: String,
    /// The function's logical id.
    pub function: String,
    pub batch_size: usize,
    pub window: Duration,
    pub report_batch_item_failures: bool,
    /// How long a poll waits on the queue (`WaitTimeSeconds`). 0 by default: the local cloud is a single-threaded
    /// moto, where a long poll holds every other client for its whole duration (measured with moto 5.2.5: a
    /// `SendMessage` to another queue during a 3 s long poll took 2.7 s); the poller sleeps [`SqsPoller::idle`]
    /// between empty polls instead.
    pub wait_seconds: i32,
    /// The pause after an empty or failed poll.
    pub idle: Duration,
    pub invoker: Arc<I>,
}

impl<I: Invoke> SqsPoller<I> {
    /// A poller with the mapping's settings for the queue at `queue_url` (the local cloud's) whose ARN is
    /// `queue_arn`.
    pub fn new(
        mapping: &Mapping,
        client: aws_sdk_sqs::Client,
        queue_url: &str,
        queue_arn: &str,
        region: &str,
        invoker: Arc<I>,
    ) -> SqsPoller<I> {
        SqsPoller {
            client,
            queue_url: queue_url.to_owned(),
            queue_arn: queue_arn.to_owned(),
            region: region.to_owned(),
            logical_id: mapping.logical_id.clone(),
            function: mapping.function.clone(),
            batch_size: usize::try_from(mapping.batch_size).unwrap_or(SQS_MAX_MESSAGES).max(1),
            window: Duration::from_secs(u64::from(mapping.batching_window_seconds)),
            report_batch_item_failures: mapping.report_batch_item_failures,
            wait_seconds: 0,
            idle: Duration::from_millis(200),
            invoker,
        }
    }

    /// Polls until [`Poller::stop`].
    pub fn spawn(self) -> Poller {
        let idle = self.idle;
        let id = self.logical_id.clone();
        let this = Arc::new(self);
        Poller::spawn(&id, idle, move || {
            let this = this.clone();
            async move { this.poll_once().await }
        })
    }

    /// One batch: received, delivered and settled. The number of messages delivered (0: the queue was empty).
    pub async fn poll_once(&self) -> Result<usize, SourceError> {
        let records = self.receive_batch().await?;
        if records.is_empty() {
            return Ok(0);
        }
        let delivered = records.len();
        let event = json!({ "Records": records });
        let failed = match self.invoker.invoke(&self.function, event).await {
            Ok(response) => self.failed_ids(&records, &response),
            Err(e) => {
                eprintln!("[{}] {e}: the batch of {delivered} will be received again", self.logical_id);
                return Ok(delivered);
            }
        };
        let Some(failed) = failed else { return Ok(delivered) };
        let done: Vec<&Value> =
            records.iter().filter(|r| !failed.iter().any(|f| Some(f.as_str()) == r["messageId"].as_str())).collect();
        self.delete(&done).await?;
        Ok(delivered)
    }

    /// The ids of the failed messages, or `None` when the whole batch failed.
    fn failed_ids(&self, records: &[Value], response: &Value) -> Option<Vec<String>> {
        if !self.report_batch_item_failures {
            return Some(Vec::new());
        }
        match batch_item_failures(response) {
            Ok(ids) => {
                // An identifier that names no message of the batch fails the whole batch, as in Lambda.
                if let Some(unknown) = ids.iter().find(|id| !records.iter().any(|r| r["messageId"] == id.as_str())) {
                    eprintln!(
                        "[{}] batch item failure {unknown} is not in the batch: the whole batch failed",
                        self.logical_id
                    );
                    return None;
                }
                Some(ids)
            }
            Err(problem) => {
                eprintln!("[{}] {problem}: the whole batch failed", self.logical_id);
                None
            }
        }
    }

    /// Up to `batch_size` records, gathered until the batch is full or the window is over.
    async fn receive_batch(&self) -> Result<Vec<Value>, SourceError> {
        let deadline = Instant::now() + self.window;
        let mut records = Vec::new();
        loop {
            let want = (self.batch_size - records.len()).min(SQS_MAX_MESSAGES);
            let out = self
                .client
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(i32::try_from(want).unwrap_or(1))
                .wait_time_seconds(self.wait_seconds)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await
                .map_err(|e| SourceError::request("ReceiveMessage", &self.queue_url, e))?;
            let got = out.messages();
            for m in got {
                match sqs_record(m, &self.queue_arn, &self.region) {
                    Some(r) => records.push(r),
                    None => eprintln!("[{}] a message without id or receipt handle is skipped", self.logical_id),
                }
            }
            let now = Instant::now();
            if records.len() >= self.batch_size || now >= deadline {
                return Ok(records);
            }
            if got.is_empty() {
                tokio::time::sleep(self.idle.min(deadline - now)).await;
            }
        }
    }

    async fn delete(&self, records: &[&Value]) -> Result<(), SourceError> {
        for chunk in records.chunks(SQS_MAX_MESSAGES) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r["receiptHandle"].as_str().unwrap_or_default())
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>();
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| SourceError::request("DeleteMessageBatch", &self.queue_url, e))?;
            for f in out.failed() {
                eprintln!("[{}] deleting a message failed: {} {:?}", self.logical_id, f.code(), f.message());
            }
        }
        Ok(())
    }
}
