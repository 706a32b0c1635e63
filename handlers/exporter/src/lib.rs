//! The export task of the export workflow (Step Functions `Task` state): every item of one tenant's partition
//! as JSON Lines in S3, and a presigned URL to download it.
//!
//! Input `{"tenant_id": "...", "export_id": "..."?}`; output [`ExportOutput`]. The object is
//! `exports/<tenant>/<export id>.jsonl` (`application/x-ndjson`); each line is one item's domain attributes plus
//! `kind` (`order`, `sub`, `apikey`, ...), without storage attributes (keys, index keys, key hashes).
//!
//! Memory stays bounded: lines are buffered up to [`Deps::part_size`] (default 8 MiB), then sent as a multipart
//! upload part (S3 parts are at least 5 MiB except the last, at most 10,000 parts,
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html>); a small export is one `PutObject`. A
//! failed multipart upload is aborted.
//!
//! Errors: [`ExportError::InvalidInput`] has error type `InvalidInput` (do not retry); the others `Retryable`
//! (the state machine retries them with backoff).

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use platform_types::{env, table};
use powertools::aws::SdkConfig;
use powertools::clock::SharedClock;
use powertools::config::{ConfigError, Env};
use powertools::dynamo::{item_to_json, s};
use powertools::retry::{RetryPolicy, classify, retry};
use powertools::tenant::TenantId;
use serde::{Deserialize, Serialize};

/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// SigV4 presigned URLs live at most 7 days.
pub const MAX_URL_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The task input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportInput {
    pub tenant_id: String,
    #[serde(default)]
    pub export_id: Option<String>,
}

/// The task output (the next state notifies the tenant with `url`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportOutput {
    pub bucket: String,
    pub key: String,
    pub url: String,
    pub url_expires_in_seconds: u64,
    pub items: u64,
    pub bytes: u64,
    /// 0 for a single `PutObject`.
    pub parts: u32,
}

/// Why an export failed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("dynamodb: {0}")]
    Dynamo(String),
    #[error("s3: {0}")]
    S3(String),
}

impl From<ExportError> for lambda_runtime::Diagnostic {
    fn from(e: ExportError) -> Self {
        let error_type = match e {
            ExportError::InvalidInput(_) => "InvalidInput",
            _ => "Retryable",
        };
        lambda_runtime::Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

/// Dependencies.
#[derive(Clone, Debug)]
pub struct Deps {
    pub ddb: aws_sdk_dynamodb::Client,
    pub entity_table: String,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    /// Multipart part size; at least [`MIN_PART_SIZE`]. Default 8 MiB.
    pub part_size: usize,
    /// Presigned URL lifetime; at most [`MAX_URL_TTL`]. Default 15 minutes.
    pub url_ttl: Duration,
    pub clock: SharedClock,
}

impl Deps {
    /// From the SDK config and the env vars listed in `platform_types::routes::handler_env(Handler::Exporter)`.
    pub fn from_env(config: &SdkConfig, vars: &Env<'_>) -> Result<Deps, ConfigError> {
        let mut deps = Deps::new(
            powertools::aws::dynamodb_client(config, None),
            &vars.required(env::TABLE_NAME)?,
            aws_sdk_s3::Client::new(config),
            &vars.required(env::EXPORT_BUCKET_NAME)?,
            powertools::clock::system(),
        );
        if let Some(secs) = vars.parse::<u64>(env::EXPORT_URL_TTL_SECONDS, "a number of seconds")? {
            deps.url_ttl = Duration::from_secs(secs);
        }
        Ok(deps)
    }

    pub fn new(
        ddb: aws_sdk_dynamodb::Client,
        entity_table: &str,
        s3: aws_sdk_s3::Client,
        bucket: &str,
        clock: SharedClock,
    ) -> Deps {
        Deps {
            ddb,
            entity_table: entity_table.into(),
            s3,
            bucket: bucket.into(),
            part_size: 8 * 1024 * 1024,
            url_ttl: Duration::from_secs(900),
            clock,
        }
    }
}

/// One export line of an item.
pub fn line(item: &powertools::dynamo::Item) -> Vec<u8> {
    let kind = match item.get(table::SORT_KEY) {
        Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)) => sk.split('#').next().unwrap_or("").to_ascii_lowercase(),
        _ => String::new(),
    };
    let mut v = item_to_json(item);
    if let Some(o) = v.as_object_mut() {
        for a in table::STORAGE_ATTRIBUTES {
            o.remove(*a);
        }
        o.insert("kind".into(), serde_json::Value::String(kind));
    }
    let mut out = serde_json::to_vec(&v).unwrap_or_default();
    out.push(b'\n');
    out
}

struct Upload<'a> {
    deps: &'a Deps,
    key: String,
    buf: Vec<u8>,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    bytes: u64,
}

impl Upload<'_> {
    async fn push(&mut self, line: &[u8]) -> Result<(), ExportError> {
        self.buf.extend_from_slice(line);
        self.bytes += line.len() as u64;
        if self.buf.len() >= self.deps.part_size.max(MIN_PART_SIZE) {
            self.send_part().await?;
        }
        Ok(())
    }

    async fn send_part(&mut self) -> Result<(), ExportError> {
        let s3 = &self.deps.s3;
        if self.upload_id.is_none() {
            let out = s3
                .create_multipart_upload()
                .bucket(&self.deps.bucket)
                .key(&self.key)
                .content_type("application/x-ndjson")
                .send()
                .await
                .map_err(|e| ExportError::S3(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
            self.upload_id = out.upload_id;
        }
        let number = self.parts.len() as i32 + 1;
        let body = std::mem::take(&mut self.buf);
        let out = s3
            .upload_part()
            .bucket(&self.deps.bucket)
            .key(&self.key)
            .upload_id(self.upload_id.clone().unwrap_or_default())
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| ExportError::S3(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
        self.parts.push(CompletedPart::builder().set_e_tag(out.e_tag).part_number(number).build());
        Ok(())
    }

    async fn finish(mut self) -> Result<u32, ExportError> {
        let s3 = &self.deps.s3;
        let Some(id) = self.upload_id.clone() else {
            s3.put_object()
                .bucket(&self.deps.bucket)
                .key(&self.key)
                .content_type("application/x-ndjson")
                .body(ByteStream::from(std::mem::take(&mut self.buf)))
                .send()
                .await
                .map_err(|e| ExportError::S3(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
            return Ok(0);
        };
        if !self.buf.is_empty() {
            self.send_part().await?;
        }
        let parts = self.parts.len() as u32;
        s3.complete_multipart_upload()
            .bucket(&self.deps.bucket)
            .key(&self.key)
            .upload_id(id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(self.parts.clone())).build())
            .send()
            .await
            .map_err(|e| ExportError::S3(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?;
        Ok(parts)
    }

    async fn abort(self) {
        if let Some(id) = self.upload_id {
            let r = self
                .deps
                .s3
                .abort_multipart_upload()
                .bucket(&self.deps.bucket)
                .key(&self.key)
                .upload_id(id)
                .send()
                .await;
            if let Err(e) = r {
                tracing::warn!(error = %aws_sdk_s3::error::DisplayErrorContext(&e), "abort of multipart upload failed");
            }
        }
    }
}

/// Runs one export.
pub async fn handle(deps: &Deps, input: ExportInput) -> Result<ExportOutput, ExportError> {
    let tenant = TenantId::parse(&input.tenant_id).map_err(|e| ExportError::InvalidInput(e.to_string()))?;
    let export_id = match input.export_id {
        Some(id) => {
            powertools::tenant::EntityId::parse(&id).map_err(|e| ExportError::InvalidInput(e.to_string()))?.to_string()
        }
        None => powertools::ids::ulid(deps.clock.as_ref()),
    };
    let key = format!("exports/{tenant}/{export_id}.jsonl");
    let mut upload = Upload { deps, key: key.clone(), buf: Vec::new(), upload_id: None, parts: Vec::new(), bytes: 0 };
    let items = match copy(deps, &tenant, &mut upload).await {
        Ok(n) => n,
        Err(e) => {
            upload.abort().await;
            return Err(e);
        }
    };
    let bytes = upload.bytes;
    let parts = upload.finish().await?;
    let ttl = deps.url_ttl.min(MAX_URL_TTL);
    let presign = PresigningConfig::expires_in(ttl).map_err(|e| ExportError::InvalidInput(e.to_string()))?;
    let url = deps
        .s3
        .get_object()
        .bucket(&deps.bucket)
        .key(&key)
        .presigned(presign)
        .await
        .map_err(|e| ExportError::S3(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()))?
        .uri()
        .to_string();
    tracing::info!(tenant = %tenant, items, bytes, parts, "export written");
    Ok(ExportOutput {
        bucket: deps.bucket.clone(),
        key,
        url,
        url_expires_in_seconds: ttl.as_secs(),
        items,
        bytes,
        parts,
    })
}

/// Streams the tenant's partition into the upload; returns the item count.
async fn copy(deps: &Deps, tenant: &TenantId, upload: &mut Upload<'_>) -> Result<u64, ExportError> {
    let mut start = None;
    let mut n = 0u64;
    loop {
        let page = retry(&RetryPolicy::default(), classify, || {
            deps.ddb
                .query()
                .table_name(&deps.entity_table)
                .key_condition_expression("#pk = :pk")
                // Not the API's idempotency claims (powertools::idempotency, "Regions"): not the tenant's data.
                .filter_expression("NOT begins_with(#sk, :claim)")
                .expression_attribute_names("#pk", table::PARTITION_KEY)
                .expression_attribute_names("#sk", table::SORT_KEY)
                .expression_attribute_values(":pk", s(tenant.partition_key()))
                .expression_attribute_values(":claim", s(table::IDEMPOTENCY_PREFIX))
                .set_exclusive_start_key(start.clone())
                .send()
        })
        .await
        .map_err(|e| ExportError::Dynamo(powertools::idempotency::error_message(&e.into_inner())))?;
        for item in page.items() {
            upload.push(&line(item)).await?;
            n += 1;
        }
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(n),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn from_env(vars: &[(&str, &str)]) -> Result<Deps, ConfigError> {
        testkit::from_lambda_env(vars, Deps::from_env)
    }

    #[test]
    fn deps_from_env() {
        let required = [("TABLE_NAME", "entities"), ("EXPORT_BUCKET_NAME", "exports")];
        let d = from_env(&required).unwrap();
        assert_eq!((d.entity_table.as_str(), d.bucket.as_str()), ("entities", "exports"));
        assert_eq!((d.url_ttl, d.part_size), (Duration::from_secs(900), 8 * 1024 * 1024));
        assert_eq!(from_env(&required[1..]).unwrap_err(), ConfigError::Missing("TABLE_NAME"));
        assert_eq!(from_env(&required[..1]).unwrap_err(), ConfigError::Missing("EXPORT_BUCKET_NAME"));
        let with_ttl = |ttl| from_env(&[required[0], required[1], ("EXPORT_URL_TTL_SECONDS", ttl)]);
        assert_eq!(with_ttl("60").unwrap().url_ttl, Duration::from_secs(60));
        assert_eq!(
            with_ttl("1h").unwrap_err(),
            ConfigError::Invalid { var: "EXPORT_URL_TTL_SECONDS", value: "1h".into(), expected: "a number of seconds" }
        );
    }
}
