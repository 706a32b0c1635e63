//! The DynamoDB stream poller: reads every shard of a stream from `LATEST` or `TRIM_HORIZON`, invokes the
//! function with batches in sequence order and, on a function error, bisects the batch when configured, retries up
//! to `MaximumRetryAttempts`, then sends the batch's description to the on-failure destination and moves on. With
//! `ReportBatchItemFailures` it resumes at the first failed sequence number
//! (<https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html>).
//!
//! Progress is kept in memory (iterators and records read but not yet delivered), as a restarted `dev` starts again
//! from the mapping's starting position.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodbstreams::primitives::{DateTime, DateTimeFormat};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::event::{batch_item_failures, sequence_number, stream_record};
use super::{Mapping, Poller, SourceError, StartingPosition};
use crate::assembly::function_arn;
use crate::invoke::Invoke;

/// At most 1000 records per `GetRecords`
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html>).
const GET_RECORDS_LIMIT: u32 = 1000;

/// Where the descriptions of discarded batches go: an SQS queue of the local cloud.
#[derive(Clone)]
pub struct OnFailure {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

/// One stream polled for one function.
pub struct StreamPoller<I> {
    pub client: aws_sdk_dynamodbstreams::Client,
    /// The stream's real ARN (the local cloud's).
    pub stream_arn: String,
    pub region: String,
    pub logical_id: String,
    pub function: String,
    pub batch_size: usize,
    pub starting_position: StartingPosition,
    pub bisect_on_error: bool,
    /// `None`: retry until the record expires (Lambda's -1).
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_record_age: Option<Duration>,
    pub report_batch_item_failures: bool,
    pub on_failure: Option<OnFailure>,
    /// The pause between two attempts at a failed batch.
    pub retry_delay: Duration,
    /// The pause after a poll that found nothing.
    pub idle: Duration,
    pub invoker: Arc<I>,
    shards: Mutex<BTreeMap<String, Shard>>,
}

/// A shard's progress: the next iterator (`None` once a closed shard is read to its end) and the records read but
/// not yet delivered.
#[derive(Default)]
struct Shard {
    iterator: Option<String>,
    pending: VecDeque<Value>,
    /// The sequence number of the last record read and the event ids of the latest records read (see `poll_once`).
    last_sequence: Option<u128>,
    recent: VecDeque<String>,
    /// The first sequence number read: a re-read never starts before it (moto refuses a position before the shard's
    /// start).
    first_sequence: Option<u128>,
}

/// How far back an idle shard re-reads (see `poll_once`), and how many event ids it remembers to skip.
const REREAD: u128 = 8;
const RECENT: usize = 64;

/// Why a batch was discarded (the `condition` Lambda writes in the on-failure record).
#[derive(Debug, Clone, Copy)]
enum Condition {
    RetryAttemptsExhausted,
    RecordAgeExceeded,
}

impl<I: Invoke> StreamPoller<I> {
    pub fn new(
        mapping: &Mapping,
        client: aws_sdk_dynamodbstreams::Client,
        stream_arn: &str,
        region: &str,
        on_failure: Option<OnFailure>,
        invoker: Arc<I>,
    ) -> StreamPoller<I> {
        StreamPoller {
            client,
            stream_arn: stream_arn.to_owned(),
            region: region.to_owned(),
            logical_id: mapping.logical_id.clone(),
            function: mapping.function.clone(),
            batch_size: usize::try_from(mapping.batch_size).unwrap_or(100).max(1),
            starting_position: mapping.starting_position.unwrap_or(StartingPosition::TrimHorizon),
            bisect_on_error: mapping.bisect_on_error,
            maximum_retry_attempts: mapping.maximum_retry_attempts,
            maximum_record_age: mapping.maximum_record_age_seconds.map(|s| Duration::from_secs(u64::from(s))),
            report_batch_item_failures: mapping.report_batch_item_failures,
            on_failure,
            retry_delay: Duration::from_millis(200),
            idle: Duration::from_millis(250),
            invoker,
            shards: Mutex::default(),
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

    /// Reads every shard once and delivers what was read. The number of records delivered or discarded.
    pub async fn poll_once(&self) -> Result<usize, SourceError> {
        let mut shards = self.shards.lock().await;
        self.discover(&mut shards).await?;
        let mut handled = 0;
        for (id, shard) in shards.iter_mut() {
            if shard.pending.is_empty()
                && let Some(iterator) = shard.iterator.take()
            {
                match self.read(&iterator).await {
                    Ok((records, next)) if records.is_empty() && shard.last_sequence.is_some() => {
                        // moto restores a table from a deep copy when a transaction is cancelled (a failed
                        // condition, e.g. an idempotent replay): the copy's stream shard is a new object, an
                        // iterator taken before reads the old one (which even kept the cancelled write's record)
                        // and sees nothing new, and the next real record reuses that sequence number. So an idle
                        // shard takes a fresh iterator a few records back and skips the event ids it has read:
                        // against AWS the same records, a few more read per idle poll.
                        let from = shard
                            .last_sequence
                            .unwrap_or_default()
                            .saturating_sub(REREAD)
                            .max(shard.first_sequence.unwrap_or_default());
                        shard.iterator = match self.iterator_at(id, from).await {
                            Ok(fresh) => fresh.or(next),
                            Err(e) => {
                                eprintln!("[{}] {e}", self.logical_id);
                                next
                            }
                        };
                    }
                    Ok((records, next)) => {
                        for record in records {
                            let event_id = record["eventID"].as_str().unwrap_or_default().to_owned();
                            if shard.recent.contains(&event_id) {
                                continue;
                            }
                            if let Some(seq) = sequence_number(&record).and_then(|s| s.parse::<u128>().ok()) {
                                shard.last_sequence = Some(seq);
                                shard.first_sequence.get_or_insert(seq);
                            }
                            shard.recent.push_back(event_id);
                            if shard.recent.len() > RECENT {
                                shard.recent.pop_front();
                            }
                            shard.pending.push_back(record);
                        }
                        shard.iterator = next;
                    }
                    Err(e) => {
                        // Keep the iterator to try again next poll (moto's iterators do not expire).
                        shard.iterator = Some(iterator);
                        eprintln!("[{}] {e}", self.logical_id);
                        continue;
                    }
                }
            }
            while !shard.pending.is_empty() {
                let n = shard.pending.len().min(self.batch_size);
                let batch: Vec<Value> = shard.pending.drain(..n).collect();
                self.deliver(id, batch).await;
                handled += n;
            }
        }
        Ok(handled)
    }

    /// New shards get an iterator at the starting position. Shards found after the first poll are children of
    /// split shards: read from their start, as Lambda does.
    async fn discover(&self, shards: &mut BTreeMap<String, Shard>) -> Result<(), SourceError> {
        let first = shards.is_empty();
        let mut start: Option<String> = None;
        loop {
            let out = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start.clone())
                .send()
                .await
                .map_err(|e| SourceError::request("DescribeStream", &self.stream_arn, e))?;
            let Some(description) = out.stream_description() else { return Ok(()) };
            for id in description.shards().iter().filter_map(|s| s.shard_id()) {
                if shards.contains_key(id) {
                    continue;
                }
                let position = match (first, self.starting_position) {
                    (true, StartingPosition::Latest) => ShardIteratorType::Latest,
                    _ => ShardIteratorType::TrimHorizon,
                };
                let it = self
                    .client
                    .get_shard_iterator()
                    .stream_arn(&self.stream_arn)
                    .shard_id(id)
                    .shard_iterator_type(position)
                    .send()
                    .await
                    .map_err(|e| SourceError::request("GetShardIterator", &self.stream_arn, e))?;
                shards.insert(
                    id.to_owned(),
                    Shard { iterator: it.shard_iterator().map(str::to_owned), ..Shard::default() },
                );
            }
            match description.last_evaluated_shard_id() {
                Some(last) => start = Some(last.to_owned()),
                None => return Ok(()),
            }
        }
    }

    /// An iterator of `shard` at the record numbered `sequence` (or the first after it).
    async fn iterator_at(&self, shard: &str, sequence: u128) -> Result<Option<String>, SourceError> {
        let out = self
            .client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .sequence_number(sequence.to_string())
            .send()
            .await
            .map_err(|e| SourceError::request("GetShardIterator", &self.stream_arn, e))?;
        Ok(out.shard_iterator().map(str::to_owned))
    }

    async fn read(&self, iterator: &str) -> Result<(Vec<Value>, Option<String>), SourceError> {
        let out = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(i32::try_from(GET_RECORDS_LIMIT).unwrap_or(1000))
            .send()
            .await
            .map_err(|e| SourceError::request("GetRecords", &self.stream_arn, e))?;
        let records = out.records().iter().map(|r| stream_record(r, &self.stream_arn, &self.region)).collect();
        Ok((records, out.next_shard_iterator().map(str::to_owned)))
    }

    /// Delivers one batch until every record succeeded or was discarded to the on-failure destination.
    async fn deliver(&self, shard: &str, batch: Vec<Value>) {
        // Front first: halves of a bisected batch and the rest of a partly failed one keep the shard's order.
        let mut work: VecDeque<(Vec<Value>, u32)> = VecDeque::from([(batch, 0)]);
        while let Some((mut batch, attempts)) = work.pop_front() {
            let expired = self.take_expired(&mut batch);
            if !expired.is_empty() {
                self.discard(shard, &expired, Condition::RecordAgeExceeded, attempts).await;
            }
            if batch.is_empty() {
                continue;
            }
            let event = json!({ "Records": batch });
            let failed_from = match self.invoker.invoke(&self.function, event).await {
                Ok(response) => match self.first_failure(&batch, &response) {
                    Ok(None) => continue,
                    Ok(Some(index)) => {
                        // Records before the checkpoint succeeded; the rest is retried without bisecting
                        // (the docs' "bisected at the returned sequence number").
                        let rest = batch.split_off(index);
                        self.retry_or_discard(&mut work, shard, rest, attempts, false).await;
                        continue;
                    }
                    Err(problem) => {
                        eprintln!("[{}] {problem}: the whole batch failed", self.logical_id);
                        0
                    }
                },
                Err(e) => {
                    eprintln!("[{}] {e}", self.logical_id);
                    0
                }
            };
            let rest = batch.split_off(failed_from);
            self.retry_or_discard(&mut work, shard, rest, attempts, self.bisect_on_error).await;
        }
    }

    async fn retry_or_discard(
        &self,
        work: &mut VecDeque<(Vec<Value>, u32)>,
        shard: &str,
        mut batch: Vec<Value>,
        attempts: u32,
        bisect: bool,
    ) {
        if bisect && batch.len() > 1 {
            // Splitting does not count against the retry quota
            // (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errorhandling.html).
            let second = batch.split_off(batch.len() / 2);
            work.push_front((second, attempts));
            work.push_front((batch, attempts));
            return;
        }
        let retries_left = self.maximum_retry_attempts.is_none_or(|max| attempts < max);
        if retries_left {
            tokio::time::sleep(self.retry_delay).await;
            work.push_front((batch, attempts + 1));
        } else {
            self.discard(shard, &batch, Condition::RetryAttemptsExhausted, attempts + 1).await;
        }
    }

    /// The index of the first failed record, `Ok(None)` when all succeeded, `Err` for a malformed report (the
    /// whole batch failed).
    fn first_failure(&self, batch: &[Value], response: &Value) -> Result<Option<usize>, String> {
        if !self.report_batch_item_failures {
            return Ok(None);
        }
        let ids = batch_item_failures(response)?;
        let mut first: Option<usize> = None;
        for id in &ids {
            let index = batch
                .iter()
                .position(|r| sequence_number(r) == Some(id.as_str()))
                .ok_or_else(|| format!("batch item failure {id} is not a sequence number of the batch"))?;
            first = Some(first.map_or(index, |f| f.min(index)));
        }
        Ok(first)
    }

    /// Removes and returns the records older than `MaximumRecordAgeInSeconds`.
    fn take_expired(&self, batch: &mut Vec<Value>) -> Vec<Value> {
        let Some(max) = self.maximum_record_age else { return Vec::new() };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        let (expired, kept) = batch.drain(..).partition(|r: &Value| {
            r["dynamodb"]["ApproximateCreationDateTime"].as_f64().is_some_and(|t| now - t > max.as_secs_f64())
        });
        *batch = kept;
        expired
    }

    /// Sends the batch's description (what Lambda sends to an SQS on-failure destination, not the records) and
    /// moves on.
    async fn discard(&self, shard: &str, batch: &[Value], condition: Condition, invocations: u32) {
        let message = failure_record(
            &function_arn(&self.region, &self.function),
            &self.stream_arn,
            shard,
            batch,
            condition,
            invocations,
        );
        let Some(destination) = &self.on_failure else {
            eprintln!(
                "[{}] {} records discarded ({condition:?}), no on-failure destination",
                self.logical_id,
                batch.len()
            );
            return;
        };
        let sent = destination
            .client
            .send_message()
            .queue_url(&destination.queue_url)
            .message_body(message.to_string())
            .send()
            .await;
        match sent {
            Ok(_) => eprintln!(
                "[{}] {} records discarded ({condition:?}), described in {}",
                self.logical_id,
                batch.len(),
                destination.queue_url
            ),
            Err(e) => {
                eprintln!("[{}] {}", self.logical_id, SourceError::request("SendMessage", &destination.queue_url, e))
            }
        }
    }
}

/// The on-failure record of a stream batch
/// (<https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errorhandling.html>).
fn failure_record(
    function_arn: &str,
    stream_arn: &str,
    shard: &str,
    batch: &[Value],
    condition: Condition,
    invocations: u32,
) -> Value {
    let arrival = |r: Option<&Value>| {
        r.and_then(|r| r["dynamodb"]["ApproximateCreationDateTime"].as_f64())
            .and_then(|t| DateTime::from_secs_f64(t).fmt(DateTimeFormat::DateTime).ok())
    };
    let now = DateTime::from(SystemTime::now()).fmt(DateTimeFormat::DateTime).unwrap_or_default();
    json!({
        "requestContext": {
            "requestId": format!("{:032x}", fastrand::u128(..)),
            "functionArn": function_arn,
            "condition": format!("{condition:?}"),
            "approximateInvokeCount": invocations,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": now,
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": batch.first().and_then(sequence_number),
            "endSequenceNumber": batch.last().and_then(sequence_number),
            "approximateArrivalOfFirstRecord": arrival(batch.first()),
            "approximateArrivalOfLastRecord": arrival(batch.last()),
            "batchSize": batch.len(),
            "streamArn": stream_arn,
        },
    })
}
