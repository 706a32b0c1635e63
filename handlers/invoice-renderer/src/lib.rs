//! The invoice renderer: an SQS worker on the PDF job queue, which the Billing rule fills with the
//! `InvoiceGenerated` events of the bus (the whole EventBridge event is the message body).
//!
//! Per job: read the invoice (`GetItem`, strongly consistent), render it to a one-page PDF ([`render`]), store it
//! at `invoices/<tenant>/<invoice id>.pdf` in the export bucket (a signed `PutObject`: the bucket's default
//! encryption, its KMS key, applies; the function's role may use the key for S3 only), mark the item `ready`
//! with the PDF's key (`UpdateItem`), then put `InvoiceReady` on the bus (which the Notifications rule sends to
//! the webhooks).
//!
//! Each step is safe to repeat, so a failed job is simply retried by SQS (visibility timeout, then the
//! dead-letter queue after `max_receive_count` receives): the PDF is the same bytes under the same key, the
//! update sets the same values, and `InvoiceReady` carries a fixed `event_id` (`InvoiceReady:<tenant>:<id>`)
//! that consumers deduplicate on. An invoice already `ready` skips the render and the put and only announces
//! itself again (the previous attempt may have failed after the update). A job whose invoice does not exist
//! (deleted) is done: there is nothing to render.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use platform_types::api::{Invoice, InvoiceStatus, invoice_pdf_key};
use platform_types::events::{EVENT_SOURCE, InvoiceGenerated, InvoiceReady, detail_type};
use platform_types::{env, table};
use powertools::aws::SdkConfig;
use powertools::batch::{BatchResponse, QueueKind, process_sqs};
use powertools::clock::SharedClock;
use powertools::config::{ConfigError, Env};
use powertools::dynamo::{item_to_json, s};
use powertools::http::HttpClient;
use powertools::signed::Signer;
use powertools::tenant::{EntityId, EntityKind, TenantId};

pub mod pdf;

pub use pdf::render;

/// Content type of the stored PDFs.
pub const PDF_CONTENT_TYPE: &str = "application/pdf";

/// Why a job failed (the message is retried).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The message is not an `InvoiceGenerated` event as the Billing rule sends it.
    #[error("message {message_id}: {why}")]
    BadMessage { message_id: String, why: String },
    /// The stored invoice does not parse.
    #[error("invoice {key}: {why}")]
    BadItem { key: String, why: String },
    #[error("dynamodb {operation}: {message}")]
    Dynamo { operation: &'static str, message: String },
    #[error("s3 put of {key}: {message}")]
    S3 { key: String, message: String },
    #[error("putevents: {0}")]
    Events(String),
}

/// Dependencies, built once per sandbox.
#[derive(Clone, Debug)]
pub struct Deps {
    pub ddb: aws_sdk_dynamodb::Client,
    pub entity_table: String,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub bus: String,
    pub signer: Signer,
    pub bucket: String,
    pub clock: SharedClock,
    /// Built on first use (the trust store costs milliseconds of cold start).
    pub http: Arc<tokio::sync::OnceCell<HttpClient>>,
    /// Jobs rendered at once (the batch is at most 10).
    pub concurrency: usize,
}

impl Deps {
    /// From the SDK config and the env vars listed in
    /// `platform_types::routes::handler_env(Handler::InvoiceRenderer)`, plus the function's credentials.
    pub fn from_env(config: &SdkConfig, vars: &Env<'_>) -> Result<Deps, ConfigError> {
        Ok(Deps::new(
            powertools::aws::dynamodb_client(config, None),
            &vars.required(env::TABLE_NAME)?,
            aws_sdk_eventbridge::Client::new(config),
            &vars.required(env::EVENT_BUS_NAME)?,
            Signer::from_env(vars)?,
            &vars.required(env::EXPORT_BUCKET_NAME)?,
            powertools::clock::system(),
        ))
    }

    pub fn new(
        ddb: aws_sdk_dynamodb::Client,
        entity_table: &str,
        eventbridge: aws_sdk_eventbridge::Client,
        bus: &str,
        signer: Signer,
        bucket: &str,
        clock: SharedClock,
    ) -> Deps {
        Deps {
            ddb,
            entity_table: entity_table.into(),
            eventbridge,
            bus: bus.into(),
            signer,
            bucket: bucket.into(),
            clock,
            http: Arc::new(tokio::sync::OnceCell::new()),
            concurrency: 10,
        }
    }
}

/// The batch: every job independently, failures reported per message.
pub async fn handle(deps: &Deps, event: &SqsEvent, trace_header: Option<&str>) -> BatchResponse {
    process_sqs(event, QueueKind::Standard { concurrency: deps.concurrency }, |m| {
        // Owned: `process_sqs`'s handler returns a future that cannot borrow its argument.
        let m = m.clone();
        async move { job(deps, &m, trace_header).await }
    })
    .await
}

/// The `InvoiceGenerated` event of a message body (an EventBridge event).
pub fn parse_job(m: &SqsMessage) -> Result<InvoiceGenerated, RenderError> {
    let message_id = m.message_id.clone().unwrap_or_default();
    let bad = |why: String| RenderError::BadMessage { message_id: message_id.clone(), why };
    let body: serde_json::Value =
        serde_json::from_str(m.body.as_deref().unwrap_or("")).map_err(|e| bad(format!("body is not JSON: {e}")))?;
    let (source, kind) = (body["source"].as_str().unwrap_or(""), body["detail-type"].as_str().unwrap_or(""));
    if source != EVENT_SOURCE || kind != detail_type::INVOICE_GENERATED {
        return Err(bad(format!(
            "source {source:?} detail-type {kind:?}, expected {EVENT_SOURCE:?} {:?}",
            detail_type::INVOICE_GENERATED
        )));
    }
    serde_json::from_value(body["detail"].clone()).map_err(|e| bad(format!("detail: {e}")))
}

/// One job: render, store, mark ready, announce.
async fn job(deps: &Deps, m: &SqsMessage, trace_header: Option<&str>) -> Result<(), RenderError> {
    let generated = parse_job(m)?;
    let message_id = m.message_id.clone().unwrap_or_default();
    let bad = |why: String| RenderError::BadMessage { message_id: message_id.clone(), why };
    let tenant = TenantId::parse(&generated.tenant_id).map_err(|e| bad(e.to_string()))?;
    let id = EntityId::parse(&generated.invoice_id).map_err(|e| bad(e.to_string()))?;
    let key = tenant.entity_key(EntityKind::Invoice, &id);
    let Some(invoice) = read(deps, &key.pk(), &key.sk()).await? else {
        tracing::warn!(tenant_id = %tenant.as_str(), invoice_id = %id, "invoice not found, nothing to render");
        return Ok(());
    };
    let pdf_key = invoice_pdf_key(tenant.as_str(), &invoice.invoice_id);
    let ready_at = match (&invoice.status, &invoice.ready_at) {
        (InvoiceStatus::Ready, Some(at)) => at.clone(),
        _ => {
            let pdf = render(&invoice);
            let http = deps
                .http
                .get_or_try_init(|| async { HttpClient::new(Duration::from_secs(10)) })
                .await
                .map_err(|e| RenderError::S3 { key: pdf_key.clone(), message: e.to_string() })?;
            // No encryption headers: `aws:kms` without a key id would pick the AWS managed key, not the
            // bucket's; the bucket's default encryption is its KMS key.
            deps.signer
                .put_object(http, &deps.bucket, &pdf_key, pdf.into(), PDF_CONTENT_TYPE, None)
                .await
                .map_err(|e| RenderError::S3 { key: pdf_key.clone(), message: e.to_string() })?;
            let at = powertools::clock::rfc3339(deps.clock.now_millis());
            mark_ready(deps, &key.pk(), &key.sk(), &pdf_key, &at).await?;
            at
        }
    };
    let ready = InvoiceReady {
        event_id: format!("{}:{}:{}", detail_type::INVOICE_READY, tenant.as_str(), invoice.invoice_id),
        tenant_id: tenant.as_str().into(),
        invoice_id: invoice.invoice_id,
        pdf_key,
        ready_at,
    };
    announce(deps, &ready, trace_header).await
}

/// The invoice item, `None` when absent.
async fn read(deps: &Deps, pk: &str, sk: &str) -> Result<Option<Invoice>, RenderError> {
    let out = deps
        .ddb
        .get_item()
        .table_name(&deps.entity_table)
        .key(table::PARTITION_KEY, s(pk))
        .key(table::SORT_KEY, s(sk))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| RenderError::Dynamo {
            operation: "GetItem",
            message: powertools::idempotency::error_message(&e),
        })?;
    let Some(item) = out.item else { return Ok(None) };
    let mut json = item_to_json(&item);
    if let Some(o) = json.as_object_mut() {
        for a in table::STORAGE_ATTRIBUTES {
            o.remove(*a);
        }
    }
    serde_json::from_value(json).map(Some).map_err(|e| RenderError::BadItem { key: sk.into(), why: e.to_string() })
}

/// `status = ready` with the PDF's key and time, on an invoice that still exists.
async fn mark_ready(deps: &Deps, pk: &str, sk: &str, pdf_key: &str, at: &str) -> Result<(), RenderError> {
    let r = deps
        .ddb
        .update_item()
        .table_name(&deps.entity_table)
        .key(table::PARTITION_KEY, s(pk))
        .key(table::SORT_KEY, s(sk))
        .update_expression("SET #status = :ready, pdf_key = :key, ready_at = :at")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":ready", AttributeValue::S("ready".into()))
        .expression_attribute_values(":key", s(pdf_key))
        .expression_attribute_values(":at", s(at))
        .send()
        .await;
    r.map(|_| ()).map_err(|e| RenderError::Dynamo {
        operation: "UpdateItem",
        message: powertools::idempotency::error_message(&e),
    })
}

/// `InvoiceReady` on the bus.
async fn announce(deps: &Deps, ready: &InvoiceReady, trace_header: Option<&str>) -> Result<(), RenderError> {
    let detail = serde_json::to_string(ready).map_err(|e| RenderError::Events(e.to_string()))?;
    let entry = PutEventsRequestEntry::builder()
        .event_bus_name(&deps.bus)
        .source(EVENT_SOURCE)
        .detail_type(detail_type::INVOICE_READY)
        .detail(detail)
        .set_trace_header(trace_header.map(String::from))
        .build();
    let out = deps
        .eventbridge
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|e| RenderError::Events(aws_sdk_eventbridge::error::DisplayErrorContext(&e).to_string()))?;
    match out.entries().first() {
        Some(r) if r.error_code().is_none() => Ok(()),
        Some(r) => Err(RenderError::Events(format!(
            "entry failed: {} {}",
            r.error_code().unwrap_or(""),
            r.error_message().unwrap_or("")
        ))),
        None => Err(RenderError::Events("no result entry".into())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn message(body: &str) -> SqsMessage {
        serde_json::from_value(serde_json::json!({"messageId": "m1", "body": body})).unwrap()
    }

    #[test]
    fn jobs_parse_from_the_billing_rule_event() {
        let body = serde_json::json!({
            "version": "0", "id": "x", "detail-type": "InvoiceGenerated", "source": "platform.entities",
            "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "eu-west-1", "resources": [],
            "detail": {"event_id": "e1", "tenant_id": "acme", "invoice_id": "i1", "amount_cents": 990,
                       "currency": "USD", "created_at": "2026-01-01T00:00:00Z"}
        });
        let job = parse_job(&message(&body.to_string())).unwrap();
        assert_eq!((job.tenant_id.as_str(), job.invoice_id.as_str()), ("acme", "i1"));

        let mut other = body.clone();
        other["detail-type"] = "OrderCreated".into();
        assert_eq!(
            parse_job(&message(&other.to_string())).unwrap_err().to_string(),
            "message m1: source \"platform.entities\" detail-type \"OrderCreated\", expected \"platform.entities\" \
             \"InvoiceGenerated\""
        );
        assert!(parse_job(&message("{")).unwrap_err().to_string().starts_with("message m1: body is not JSON"));
        let mut no_detail = body;
        no_detail["detail"] = serde_json::json!({});
        assert!(parse_job(&message(&no_detail.to_string())).unwrap_err().to_string().starts_with("message m1: detail"));
    }
}
