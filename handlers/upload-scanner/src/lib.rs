//! The upload scanner: an SQS worker on the uploads queue, which the uploads bucket's event notification fills
//! (`s3:ObjectCreated:*` under `uploads/`; the message body is S3's event, `{"Records": [...]}`).
//!
//! Per object (`uploads/<tenant>/<upload id>`, the version the event names when the bucket is versioned): read
//! the pending upload (`GetItem`, strongly consistent), read the object's first bytes and its size and type (one
//! ranged `GET`), and [`check`] them against what the upload declared (and the URL signed): the size, the stored
//! `Content-Type`, the type its magic number says. An object that passes is recorded `accepted` with its
//! metadata (`UpdateItem`); one that fails is copied to `quarantine/<tenant>/<upload id>`, recorded `quarantined`
//! with the reason, then deleted from `uploads/` (that version, for good). Nothing here or in the API ever serves
//! a quarantined object: the API has no route that reads an upload's bytes, and the quarantine prefix expires.
//!
//! Each step can be repeated, so a failed message is retried by SQS (then the dead-letter queue): the copy
//! writes the same bytes to the same key, the update sets the same values, deleting a deleted version succeeds.
//! An object with no upload item (no presigned URL made it, or its pending item expired) is quarantined without
//! a record. S3's `s3:TestEvent` (sent when the notification is configured) is done at once.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use platform_types::api::{MAX_UPLOAD_BYTES, UPLOADS_PREFIX, Upload, UploadContentType, quarantine_key};
use platform_types::{env, table};
use powertools::aws::SdkConfig;
use powertools::batch::{BatchResponse, QueueKind, process_sqs};
use powertools::clock::SharedClock;
use powertools::config::{ConfigError, Env};
use powertools::dynamo::{item_to_json, s};
use powertools::http::HttpClient;
use powertools::signed::{ObjectHead, Signer};
use powertools::tenant::{EntityId, EntityKind, TenantId};
use serde_json::Value;

/// How many first bytes are read: enough for every allowed type's magic number (PNG's is the longest, 8).
pub const HEAD_BYTES: u64 = 16;

/// Why a message failed (it is retried).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The message is not an S3 event notification.
    #[error("message {message_id}: {why}")]
    BadMessage { message_id: String, why: String },
    /// The stored upload does not parse.
    #[error("upload {key}: {why}")]
    BadItem { key: String, why: String },
    #[error("dynamodb {operation}: {message}")]
    Dynamo { operation: &'static str, message: String },
    #[error("s3 {operation} of {key}: {message}")]
    S3 { operation: &'static str, key: String, message: String },
}

/// Dependencies, built once per sandbox.
#[derive(Clone, Debug)]
pub struct Deps {
    pub ddb: aws_sdk_dynamodb::Client,
    pub entity_table: String,
    pub signer: Signer,
    /// The uploads bucket ([`env::UPLOAD_BUCKET_NAME`]): events of another bucket are refused.
    pub bucket: String,
    pub clock: SharedClock,
    /// Built on first use (the trust store costs milliseconds of cold start).
    pub http: Arc<tokio::sync::OnceCell<HttpClient>>,
    /// Objects checked at once (the batch is at most 10).
    pub concurrency: usize,
}

impl Deps {
    /// From the SDK config and the env vars listed in
    /// `platform_types::routes::handler_env(Handler::UploadScanner)`, plus the function's credentials.
    pub fn from_env(config: &SdkConfig, vars: &Env<'_>) -> Result<Deps, ConfigError> {
        Ok(Deps::new(
            powertools::aws::dynamodb_client(config, None),
            &vars.required(env::TABLE_NAME)?,
            Signer::from_env(vars)?,
            &vars.required(env::UPLOAD_BUCKET_NAME)?,
            powertools::clock::system(),
        ))
    }

    pub fn new(
        ddb: aws_sdk_dynamodb::Client,
        entity_table: &str,
        signer: Signer,
        bucket: &str,
        clock: SharedClock,
    ) -> Deps {
        Deps {
            ddb,
            entity_table: entity_table.into(),
            signer,
            bucket: bucket.into(),
            clock,
            http: Arc::new(tokio::sync::OnceCell::new()),
            concurrency: 10,
        }
    }

    async fn http(&self, key: &str) -> Result<&HttpClient, ScanError> {
        self.http
            .get_or_try_init(|| async { HttpClient::new(Duration::from_secs(10)) })
            .await
            .map_err(|e| ScanError::S3 { operation: "client", key: key.into(), message: e.to_string() })
    }
}

/// The batch: every message independently, failures reported per message.
pub async fn handle(deps: &Deps, event: &SqsEvent) -> BatchResponse {
    process_sqs(event, QueueKind::Standard { concurrency: deps.concurrency }, |m| {
        // Owned: `process_sqs`'s handler returns a future that cannot borrow its argument.
        let m = m.clone();
        async move { message(deps, &m).await }
    })
    .await
}

/// One object of an S3 event record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    /// Decoded (S3 sends keys form-encoded: `%XX` and `+` for a space).
    pub key: String,
    /// The version the event names (versioned buckets).
    pub version: Option<String>,
}

/// The objects of a message body (an S3 event notification); none for S3's `s3:TestEvent`.
pub fn parse_message(m: &SqsMessage) -> Result<Vec<ObjectRef>, ScanError> {
    let message_id = m.message_id.clone().unwrap_or_default();
    let bad = |why: String| ScanError::BadMessage { message_id: message_id.clone(), why };
    let body: Value =
        serde_json::from_str(m.body.as_deref().unwrap_or("")).map_err(|e| bad(format!("body is not JSON: {e}")))?;
    if body["Event"] == "s3:TestEvent" {
        return Ok(Vec::new());
    }
    let records = body["Records"].as_array().ok_or_else(|| bad("no Records array".into()))?;
    records
        .iter()
        .map(|r| {
            let name = r["eventName"].as_str().unwrap_or("");
            if !name.starts_with("ObjectCreated:") {
                return Err(bad(format!("event {name:?}, expected ObjectCreated:*")));
            }
            let bucket = r["s3"]["bucket"]["name"].as_str().ok_or_else(|| bad("no s3.bucket.name".into()))?;
            let key = r["s3"]["object"]["key"].as_str().ok_or_else(|| bad("no s3.object.key".into()))?;
            let key = form_decode(key).ok_or_else(|| bad(format!("key {key:?} is not form-encoded UTF-8")))?;
            let version = r["s3"]["object"]["versionId"].as_str().filter(|v| !v.is_empty()).map(String::from);
            Ok(ObjectRef { bucket: bucket.into(), key, version })
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding of an S3 event key.
fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = [bytes.next()?, bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

/// What the scanner decides of an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Quarantine(String),
}

/// The type an object's first bytes say: one of the allowed types, or `unknown`.
pub fn detected_type(head: &[u8]) -> &'static str {
    UploadContentType::sniff(head).map_or("unknown", UploadContentType::as_str)
}

/// The object against its upload: its size (the platform's maximum, then the signed length), its stored content
/// type (the signed one), and its magic number (the declared type). The first failure is the reason.
pub fn check(upload: &Upload, head: &ObjectHead) -> Verdict {
    if head.size > MAX_UPLOAD_BYTES {
        return Verdict::Quarantine(format!("size {} exceeds the maximum of {MAX_UPLOAD_BYTES} bytes", head.size));
    }
    if head.size != upload.content_length {
        return Verdict::Quarantine(format!(
            "size {} differs from the declared content_length {}",
            head.size, upload.content_length
        ));
    }
    let declared = upload.content_type.as_str();
    // S3 stores the signed Content-Type; a mismatch means the object was not put through the URL.
    if let Some(stored) = &head.content_type
        && stored.split(';').next().map(str::trim) != Some(declared)
    {
        return Verdict::Quarantine(format!("stored content type {stored:?} differs from the declared {declared:?}"));
    }
    if UploadContentType::sniff(&head.bytes) != Some(upload.content_type) {
        return Verdict::Quarantine(format!(
            "the first bytes are {}, not the declared {declared}",
            detected_type(&head.bytes)
        ));
    }
    Verdict::Accept
}

/// One message: every object of its records.
async fn message(deps: &Deps, m: &SqsMessage) -> Result<(), ScanError> {
    for object in parse_message(m)? {
        scan(deps, &object).await?;
    }
    Ok(())
}

/// The tenant and upload id of an object key `uploads/<tenant>/<id>`.
pub fn upload_of(key: &str) -> Option<(TenantId, EntityId)> {
    let rest = key.strip_prefix(UPLOADS_PREFIX)?;
    let (tenant, id) = rest.split_once('/')?;
    Some((TenantId::parse(tenant).ok()?, EntityId::parse(id).ok()?))
}

/// One object: check it, record the verdict, quarantine what fails.
async fn scan(deps: &Deps, object: &ObjectRef) -> Result<(), ScanError> {
    if object.bucket != deps.bucket {
        // The notification is the uploads bucket's only: another bucket's event is a wiring error, never acted on.
        return Err(ScanError::BadMessage {
            message_id: object.key.clone(),
            why: format!("bucket {:?}, expected {:?}", object.bucket, deps.bucket),
        });
    }
    let version = object.version.as_deref();
    let Some((tenant, id)) = upload_of(&object.key) else {
        tracing::warn!(key = %object.key, "not an upload key, quarantined");
        let to = format!("{}unmatched/{}", platform_types::api::QUARANTINE_PREFIX, object.key);
        return quarantine(deps, &object.key, version, &to).await;
    };
    let entity = tenant.entity_key(EntityKind::Upload, &id);
    let quarantined = quarantine_key(tenant.as_str(), id.as_str());
    let Some(upload) = read(deps, &entity.pk(), &entity.sk()).await? else {
        tracing::warn!(tenant_id = %tenant.as_str(), upload_id = %id, "no upload item for the object, quarantined");
        return quarantine(deps, &object.key, version, &quarantined).await;
    };
    let http = deps.http(&object.key).await?;
    let head = deps
        .signer
        .get_object_head(http, &deps.bucket, &object.key, version, HEAD_BYTES)
        .await
        .map_err(|e| ScanError::S3 { operation: "GetObject", key: object.key.clone(), message: e.to_string() })?;
    let Some(head) = head else {
        // Gone: a retry after the quarantine deleted it, or a later version's delete. Nothing left to check.
        tracing::info!(key = %object.key, "object no longer there");
        return Ok(());
    };
    let at = powertools::clock::rfc3339(deps.clock.now_millis());
    match check(&upload, &head) {
        Verdict::Accept => record(deps, &entity.pk(), &entity.sk(), &head, &at, None).await,
        Verdict::Quarantine(reason) => {
            tracing::warn!(tenant_id = %tenant.as_str(), upload_id = %id, %reason, "upload quarantined");
            let s3 = |operation, e: powertools::signed::SignedError| ScanError::S3 {
                operation,
                key: object.key.clone(),
                message: e.to_string(),
            };
            deps.signer
                .copy_object(http, &deps.bucket, &object.key, version, &quarantined)
                .await
                .map_err(|e| s3("CopyObject", e))?;
            record(deps, &entity.pk(), &entity.sk(), &head, &at, Some((&reason, &quarantined))).await?;
            deps.signer.delete_object(http, &deps.bucket, &object.key, version).await.map_err(|e| s3("DeleteObject", e))
        }
    }
}

/// Copies `key` to `to` and deletes it (no record to update).
async fn quarantine(deps: &Deps, key: &str, version: Option<&str>, to: &str) -> Result<(), ScanError> {
    let http = deps.http(key).await?;
    let s3 = |operation, e: powertools::signed::SignedError| ScanError::S3 {
        operation,
        key: key.into(),
        message: e.to_string(),
    };
    deps.signer.copy_object(http, &deps.bucket, key, version, to).await.map_err(|e| s3("CopyObject", e))?;
    deps.signer.delete_object(http, &deps.bucket, key, version).await.map_err(|e| s3("DeleteObject", e))
}

/// The upload item, `None` when absent.
async fn read(deps: &Deps, pk: &str, sk: &str) -> Result<Option<Upload>, ScanError> {
    let out = deps
        .ddb
        .get_item()
        .table_name(&deps.entity_table)
        .key(table::PARTITION_KEY, s(pk))
        .key(table::SORT_KEY, s(sk))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| ScanError::Dynamo { operation: "GetItem", message: powertools::idempotency::error_message(&e) })?;
    let Some(item) = out.item else { return Ok(None) };
    let mut json = item_to_json(&item);
    if let Some(o) = json.as_object_mut() {
        for a in table::STORAGE_ATTRIBUTES {
            o.remove(*a);
        }
    }
    serde_json::from_value(json).map(Some).map_err(|e| ScanError::BadItem { key: sk.into(), why: e.to_string() })
}

/// The verdict on the item: `accepted`, or `quarantined` with `(reason, quarantine key)`; the object's metadata
/// either way, and no `ttl` any more (a checked upload is kept).
async fn record(
    deps: &Deps,
    pk: &str,
    sk: &str,
    head: &ObjectHead,
    at: &str,
    quarantined: Option<(&str, &str)>,
) -> Result<(), ScanError> {
    let mut u = deps
        .ddb
        .update_item()
        .table_name(&deps.entity_table)
        .key(table::PARTITION_KEY, s(pk))
        .key(table::SORT_KEY, s(sk))
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#size", "size")
        .expression_attribute_names("#ttl", table::TTL_ATTRIBUTE)
        .expression_attribute_values(":size", AttributeValue::N(head.size.to_string()))
        .expression_attribute_values(":type", s(detected_type(&head.bytes)))
        .expression_attribute_values(":etag", s(head.etag.as_deref().unwrap_or("")))
        .expression_attribute_values(":at", s(at));
    let common = "#status = :status, #size = :size, detected_type = :type, etag = :etag, checked_at = :at";
    u = match quarantined {
        None => u
            .update_expression(format!("SET {common} REMOVE #ttl, reason, quarantine_key"))
            .expression_attribute_values(":status", s("accepted")),
        Some((reason, key)) => u
            .update_expression(format!("SET {common}, reason = :reason, quarantine_key = :q REMOVE #ttl"))
            .expression_attribute_values(":status", s("quarantined"))
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(":q", s(key)),
    };
    u.send()
        .await
        .map(|_| ())
        .map_err(|e| ScanError::Dynamo { operation: "UpdateItem", message: powertools::idempotency::error_message(&e) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use platform_types::api::UploadStatus;

    use super::*;

    fn head(bytes: &'static [u8], size: u64, content_type: &str) -> ObjectHead {
        ObjectHead { bytes: bytes.into(), size, content_type: Some(content_type.into()), etag: None }
    }

    fn upload(content_type: UploadContentType, content_length: u64) -> Upload {
        Upload {
            upload_id: "u1".into(),
            tenant_id: "acme".into(),
            file_name: "a.png".into(),
            content_type,
            content_length,
            object_key: "uploads/acme/u1".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            status: UploadStatus::Pending,
            reason: None,
            size: None,
            detected_type: None,
            etag: None,
            checked_at: None,
            quarantine_key: None,
            upload_url: None,
            upload_headers: None,
            upload_url_expires_in_seconds: None,
        }
    }

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn checks_size_type_and_magic() {
        let png = upload(UploadContentType::Png, 100);
        assert_eq!(check(&png, &head(PNG, 100, "image/png")), Verdict::Accept);
        let q = |reason: &str| Verdict::Quarantine(reason.into());
        assert_eq!(
            check(&png, &head(PNG, 101, "image/png")),
            q("size 101 differs from the declared content_length 100")
        );
        assert_eq!(
            check(&png, &head(PNG, MAX_UPLOAD_BYTES + 1, "image/png")),
            q("size 10485761 exceeds the maximum of 10485760 bytes")
        );
        assert_eq!(
            check(&png, &head(PNG, 100, "text/html")),
            q("stored content type \"text/html\" differs from the declared \"image/png\"")
        );
        assert_eq!(
            check(&png, &head(b"%PDF-1.7\n", 100, "image/png")),
            q("the first bytes are application/pdf, not the declared image/png")
        );
        assert_eq!(
            check(&png, &head(b"<html>", 100, "image/png")),
            q("the first bytes are unknown, not the declared image/png")
        );
        let jpeg = upload(UploadContentType::Jpeg, 3);
        assert_eq!(check(&jpeg, &head(b"\xff\xd8\xff", 3, "image/jpeg")), Verdict::Accept);
        assert_eq!(check(&jpeg, &head(b"", 0, "image/jpeg")), q("size 0 differs from the declared content_length 3"));
    }

    fn message(body: &str) -> SqsMessage {
        serde_json::from_value(serde_json::json!({"messageId": "m1", "body": body})).unwrap()
    }

    #[test]
    fn messages_parse_from_s3_notifications() {
        // The shape of https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
        let body = serde_json::json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
            "eventTime": "2026-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "uploads",
                   "bucket": {"name": "b", "arn": "arn:aws:s3:::b"},
                   "object": {"key": "uploads/acme/01J%2Bx+y", "size": 3, "eTag": "e", "versionId": "v1",
                              "sequencer": "0A"}}
        }]});
        assert_eq!(
            parse_message(&message(&body.to_string())).unwrap(),
            [ObjectRef { bucket: "b".into(), key: "uploads/acme/01J+x y".into(), version: Some("v1".into()) }]
        );
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"x","Bucket":"b","RequestId":"r"}"#;
        assert_eq!(parse_message(&message(test_event)).unwrap(), []);
        let mut removed = body;
        removed["Records"][0]["eventName"] = "ObjectRemoved:Delete".into();
        assert_eq!(
            parse_message(&message(&removed.to_string())).unwrap_err().to_string(),
            "message m1: event \"ObjectRemoved:Delete\", expected ObjectCreated:*"
        );
        assert!(parse_message(&message("{")).unwrap_err().to_string().starts_with("message m1: body is not JSON"));
        assert_eq!(form_decode("a%2"), None);
    }

    #[test]
    fn upload_keys() {
        let (t, id) = upload_of("uploads/acme/01J0000000000000000000000A").unwrap();
        assert_eq!((t.as_str(), id.as_str()), ("acme", "01J0000000000000000000000A"));
        assert!(upload_of("quarantine/acme/x").is_none());
        assert!(upload_of("uploads/acme").is_none());
    }
}
