//! The events Lambda's pollers send, built from the SDK's types: the SQS event
//! (`aws_lambda_events::sqs::SqsEvent`) and the DynamoDB stream event (`aws_lambda_events::dynamodb::Event`).

use std::collections::HashMap;

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};
use aws_sdk_sqs::types::{Message, MessageAttributeValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// One SQS record, or `None` for a message without an id or receipt handle (it could not be settled).
pub fn sqs_record(m: &Message, queue_arn: &str, region: &str) -> Option<Value> {
    let (Some(id), Some(handle)) = (m.message_id(), m.receipt_handle()) else { return None };
    let attributes: Map<String, Value> = m
        .attributes()
        .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone()))).collect())
        .unwrap_or_default();
    let message_attributes: Map<String, Value> = m
        .message_attributes()
        .map(|a| a.iter().map(|(k, v)| (k.clone(), message_attribute(v))).collect())
        .unwrap_or_default();
    Some(json!({
        "messageId": id,
        "receiptHandle": handle,
        "body": m.body().unwrap_or_default(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": m.md5_of_body().unwrap_or_default(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }))
}

fn message_attribute(v: &MessageAttributeValue) -> Value {
    let mut out = Map::new();
    if let Some(s) = v.string_value() {
        out.insert("stringValue".into(), json!(s));
    }
    if let Some(b) = v.binary_value() {
        out.insert("binaryValue".into(), json!(STANDARD.encode(b.as_ref())));
    }
    out.insert("stringListValues".into(), json!(v.string_list_values()));
    let binaries: Vec<String> = v.binary_list_values().iter().map(|b| STANDARD.encode(b.as_ref())).collect();
    out.insert("binaryListValues".into(), json!(binaries));
    out.insert("dataType".into(), json!(v.data_type()));
    Value::Object(out)
}

/// One DynamoDB stream record.
pub fn stream_record(r: &Record, stream_arn: &str, region: &str) -> Value {
    let mut dynamodb = Map::new();
    if let Some(d) = r.dynamodb() {
        if let Some(t) = d.approximate_creation_date_time() {
            dynamodb.insert("ApproximateCreationDateTime".into(), json!(t.as_secs_f64()));
        }
        for (name, image) in [("Keys", d.keys()), ("NewImage", d.new_image()), ("OldImage", d.old_image())] {
            if let Some(image) = image {
                dynamodb.insert(name.into(), item(image));
            }
        }
        dynamodb.insert("SequenceNumber".into(), json!(d.sequence_number()));
        dynamodb.insert("SizeBytes".into(), json!(d.size_bytes().unwrap_or(0)));
        dynamodb.insert("StreamViewType".into(), json!(d.stream_view_type().map(|v| v.as_str())));
    }
    let mut out = json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str()),
        "eventVersion": r.event_version(),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    });
    // TTL deletions carry the service as their identity.
    if let (Some(identity), Some(map)) = (r.user_identity(), out.as_object_mut()) {
        map.insert("userIdentity".into(), json!({"type": identity.r#type(), "principalId": identity.principal_id()}));
    }
    out
}

/// The sequence number of a record built by [`stream_record`].
pub fn sequence_number(record: &Value) -> Option<&str> {
    record.get("dynamodb")?.get("SequenceNumber")?.as_str()
}

fn item(item: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(item.iter().map(|(k, v)| (k.clone(), attribute(v))).collect())
}

/// DynamoDB JSON of one attribute value.
fn attribute(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::B(b) => json!({ "B": STANDARD.encode(b.as_ref()) }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => json!({ "BS": v.iter().map(|b| STANDARD.encode(b.as_ref())).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item(m) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(attribute).collect::<Vec<_>>() }),
        // A type newer than this SDK: NULL rather than dropping the attribute's name.
        _ => json!({ "NULL": true }),
    }
}

/// The item identifiers of a `{"batchItemFailures": [{"itemIdentifier": ..}]}` response: `Ok(vec![])` when
/// every item succeeded, `Err` when the response is malformed (Lambda then treats the whole batch as failed,
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting>).
pub fn batch_item_failures(response: &Value) -> Result<Vec<String>, String> {
    let failures = match response {
        Value::Null => return Ok(Vec::new()),
        Value::Object(map) => match map.get("batchItemFailures") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(format!("batchItemFailures is {other}, a list is expected")),
        },
        // Any other response (a string, a number) is not a partial failure report: success, as Lambda reads it.
        _ => return Ok(Vec::new()),
    };
    failures
        .iter()
        .map(|f| match f.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => Err(format!("batch item failure {f} has no itemIdentifier")),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn batch_item_failures_are_read_as_lambda_reads_them() {
        assert_eq!(batch_item_failures(&json!({"batchItemFailures": []})), Ok(vec![]));
        assert_eq!(batch_item_failures(&Value::Null), Ok(vec![]));
        assert_eq!(
            batch_item_failures(&json!({"batchItemFailures": [{"itemIdentifier": "a"}]})),
            Ok(vec!["a".to_owned()])
        );
        assert_eq!(
            batch_item_failures(&json!({"batchItemFailures": [{"itemIdentifier": ""}]})),
            Err(r#"batch item failure {"itemIdentifier":""} has no itemIdentifier"#.to_owned())
        );
        assert!(batch_item_failures(&json!({"batchItemFailures": 3})).is_err());
    }
}
