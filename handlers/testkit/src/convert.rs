//! Event source mapping stand-ins: what Lambda's pollers do, done by the test against moto.
//!
//! [`SqsPoller`] receives messages, builds the SQS event Lambda would send and deletes the messages the handler
//! did not report as failed (what the mapping does with `ReportBatchItemFailures`). [`StreamTail`] reads a
//! table's stream through the DynamoDB Streams API and builds the DynamoDB stream event.

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::{Map, Value, json};

/// Receives from one queue like Lambda's SQS poller.
pub struct SqsPoller {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    pub queue_arn: String,
}

impl SqsPoller {
    pub async fn new(sqs: aws_sdk_sqs::Client, queue_url: &str) -> SqsPoller {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let queue_arn = attrs.attributes().and_then(|a| a.get(&QueueAttributeName::QueueArn)).cloned().unwrap();
        SqsPoller { sqs, queue_url: queue_url.to_string(), queue_arn }
    }

    /// One receive (up to `max` messages, SQS allows 10): the SQS event JSON, or `None` when the queue is empty.
    pub async fn receive(&self, max: i32) -> Option<Value> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let msgs = out.messages();
        if msgs.is_empty() {
            return None;
        }
        let records: Vec<Value> = msgs
            .iter()
            .map(|m| {
                let attributes: Map<String, Value> = m
                    .attributes()
                    .map(|a| a.iter().map(|(k, v)| (k.as_str().to_string(), Value::String(v.clone()))).collect())
                    .unwrap_or_default();
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": "us-east-1",
                })
            })
            .collect();
        Some(json!({ "Records": records }))
    }

    /// Deletes the messages of `event` whose ids are not in the handler's `batchItemFailures`.
    pub async fn settle(&self, event: &Value, response: &Value) -> usize {
        let failed: Vec<&str> = response["batchItemFailures"]
            .as_array()
            .map(|a| a.iter().filter_map(|f| f["itemIdentifier"].as_str()).collect())
            .unwrap_or_default();
        let mut deleted = 0;
        for r in event["Records"].as_array().into_iter().flatten() {
            let id = r["messageId"].as_str().unwrap_or_default();
            if failed.contains(&id) {
                continue;
            }
            self.sqs
                .delete_message()
                .queue_url(&self.queue_url)
                .receipt_handle(r["receiptHandle"].as_str().unwrap_or_default())
                .send()
                .await
                .unwrap();
            deleted += 1;
        }
        deleted
    }

    /// Makes every in-flight message of the queue visible again at once (a test's stand-in for waiting out the
    /// visibility timeout): receives nothing and sets visibility 0 on the given receipt handles.
    pub async fn release(&self, event: &Value) {
        for r in event["Records"].as_array().into_iter().flatten() {
            let _ = self
                .sqs
                .change_message_visibility()
                .queue_url(&self.queue_url)
                .receipt_handle(r["receiptHandle"].as_str().unwrap_or_default())
                .visibility_timeout(0)
                .send()
                .await;
        }
    }
}

/// Reads a table's stream from the beginning, like Lambda's stream poller.
pub struct StreamTail {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    iterators: HashMap<String, Option<String>>,
}

impl StreamTail {
    pub async fn new(
        ddb: &aws_sdk_dynamodb::Client,
        client: aws_sdk_dynamodbstreams::Client,
        table: &str,
    ) -> StreamTail {
        let desc = ddb.describe_table().table_name(table).send().await.unwrap();
        let stream_arn = desc.table().and_then(|t| t.latest_stream_arn()).unwrap().to_string();
        StreamTail { client, stream_arn, iterators: HashMap::new() }
    }

    /// Every record written since the last call, as the `Records` of a DynamoDB stream event.
    pub async fn next_records(&mut self) -> Vec<Value> {
        let desc = self.client.describe_stream().stream_arn(&self.stream_arn).send().await.unwrap();
        let shards: Vec<String> = desc
            .stream_description()
            .map(|d| d.shards().iter().filter_map(|s| s.shard_id().map(String::from)).collect())
            .unwrap_or_default();
        let mut out = Vec::new();
        for shard in shards {
            if !self.iterators.contains_key(&shard) {
                let it = self
                    .client
                    .get_shard_iterator()
                    .stream_arn(&self.stream_arn)
                    .shard_id(&shard)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await
                    .unwrap();
                self.iterators.insert(shard.clone(), it.shard_iterator().map(String::from));
            }
            let Some(Some(it)) = self.iterators.get(&shard).cloned() else { continue };
            let got = self.client.get_records().shard_iterator(it).send().await.unwrap();
            for r in got.records() {
                out.push(record_json(r, &self.stream_arn));
            }
            self.iterators.insert(shard, got.next_shard_iterator().map(String::from));
        }
        out
    }
}

fn record_json(r: &aws_sdk_dynamodbstreams::types::Record, arn: &str) -> Value {
    let d = r.dynamodb();
    let mut dynamodb = Map::new();
    if let Some(d) = d {
        if let Some(k) = d.keys() {
            dynamodb.insert("Keys".into(), item_json(k));
        }
        if let Some(n) = d.new_image() {
            dynamodb.insert("NewImage".into(), item_json(n));
        }
        if let Some(o) = d.old_image() {
            dynamodb.insert("OldImage".into(), item_json(o));
        }
        dynamodb.insert("SequenceNumber".into(), json!(d.sequence_number()));
        dynamodb.insert("SizeBytes".into(), json!(d.size_bytes().unwrap_or(0)));
        dynamodb.insert("StreamViewType".into(), json!(d.stream_view_type().map(|v| v.as_str())));
    }
    json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str()),
        "eventVersion": r.event_version(),
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
        "eventSourceARN": arn,
    })
}

fn item_json(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), attr_json(v))).collect())
}

/// DynamoDB JSON of one attribute value.
pub fn attr_json(v: &AttributeValue) -> Value {
    use base64_encode as b64;
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::B(b) => json!({ "B": b64(b.as_ref()) }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => json!({ "BS": v.iter().map(|b| b64(b.as_ref())).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item_json(m) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(attr_json).collect::<Vec<_>>() }),
        _ => json!({ "NULL": true }),
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n =
            (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
