//! Request and response bodies of the platform API.
//!
//! Request types derive `JsonSchema`: the constructs turn them into API Gateway request models (see
//! [`crate::routes`]) and the handlers' router validates bodies against the very same schema, so the gateway and
//! the Lambda can never disagree on what a valid body is. Constraints are written as `schemars` attributes, which
//! end up in the schema; `deny_unknown_fields` becomes `additionalProperties: false` (a body cannot smuggle a
//! `tenant_id` in).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// ISO 4217 currencies the platform bills in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Currency {
    USD,
    EUR,
    GBP,
}

/// Subscription plans, in upgrade order (`Free < Pro < Enterprise`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Pro,
    Enterprise,
}

impl Plan {
    /// The lowercase name used in JSON and in DynamoDB.
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(s: &str) -> Option<Plan> {
        match s {
            "free" => Some(Plan::Free),
            "pro" => Some(Plan::Pro),
            "enterprise" => Some(Plan::Enterprise),
            _ => None,
        }
    }
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    /// Stock keeping unit.
    #[schemars(length(min = 1, max = 64))]
    pub sku: String,
    #[schemars(range(min = 1, max = 1000))]
    pub quantity: u32,
    /// Price of one unit in the currency's minor unit. At most 10^8 so that 100 lines of 1,000 units cannot
    /// overflow a JSON number that every client parses exactly (2^53).
    #[schemars(range(max = 100_000_000))]
    pub unit_price_cents: u64,
}

/// `POST /tenants/{tenant_id}/orders`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// At most 100 lines: a TransactWriteItems item is at most 400 KB and an order is one item.
    #[schemars(length(min = 1, max = 100))]
    pub items: Vec<OrderLine>,
    pub currency: Currency,
    /// The caller's own reference, echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub customer_ref: Option<String>,
}

/// An order as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Order {
    pub order_id: String,
    pub tenant_id: String,
    pub items: Vec<OrderLine>,
    pub currency: Currency,
    pub total_cents: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// `POST /tenants/{tenant_id}/subscriptions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscriptionRequest {
    pub plan: Plan,
    #[schemars(range(min = 1, max = 10_000))]
    pub seats: u32,
}

/// `POST /tenants/{tenant_id}/subscriptions/{subscription_id}/upgrade`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpgradeSubscriptionRequest {
    /// Must be a higher plan than the current one.
    pub plan: Plan,
    /// New seat count; unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000))]
    pub seats: Option<u32>,
}

/// A subscription as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Subscription {
    pub subscription_id: String,
    pub tenant_id: String,
    pub plan: Plan,
    pub seats: u32,
    /// Incremented by every change; the optimistic-concurrency token of upgrades.
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /tenants/{tenant_id}/api-keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// A label for humans.
    #[schemars(length(min = 1, max = 64))]
    pub name: String,
}

/// The answer to [`CreateApiKeyRequest`]: the only time the plaintext key is shown (only its SHA-256 is stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApiKeyCreated {
    pub key_id: String,
    pub name: String,
    /// Send as `Authorization: ApiKey <api_key>`.
    pub api_key: String,
    pub created_at: String,
}

/// An API key as listed (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApiKeyInfo {
    pub key_id: String,
    pub name: String,
    /// `active` or `revoked`.
    pub status: String,
    pub created_at: String,
}

/// `PUT /tenants/{tenant_id}/webhook`: where the tenant's events are delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetWebhookRequest {
    /// An absolute `https://` URL with a host, at most 2,048 characters.
    // The scheme and host are checked by the handler: the router's schema validator supports no `pattern`, and
    // the gateway and the Lambda validate with the same schema. 2,048: the URL length every HTTP stack accepts.
    #[schemars(length(min = 9, max = 2048))]
    pub url: String,
}

/// The tenant's webhook configuration as the API returns it and as the webhook worker reads it (one item,
/// `pk = TENANT#<tenant>`, `sk = WEBHOOK#CONFIG`, these fields as attributes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookConfig {
    pub tenant_id: String,
    pub url: String,
    /// Id of the key deliveries are signed with ([`webhook_secret_id`]): receivers pick their verification key by
    /// it. The key itself is never returned by the API.
    pub secret_id: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

/// Id of a tenant's webhook signing key. The key is HMAC-SHA256(platform signing secret, `"webhook:" + tenant`)
/// (see the webhook worker), so the id names that derivation and its version; a rotation of the platform secret
/// bumps the version.
pub fn webhook_secret_id(tenant: &str) -> String {
    format!("whsec_v1_{tenant}")
}

/// A page of a list endpoint. `next_cursor` is opaque and bound to the tenant that got it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One line of an invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceLine {
    /// What is billed, as printed on the PDF.
    #[schemars(length(min = 1, max = 128))]
    pub description: String,
    #[schemars(range(min = 1, max = 10_000))]
    pub quantity: u32,
    /// Price of one unit in the currency's minor unit, at most 100,000,000.
    // The bound of `OrderLine::unit_price_cents`: the amount stays an exactly representable JSON number.
    #[schemars(range(max = 100_000_000))]
    pub unit_price_cents: u64,
}

/// `POST /tenants/{tenant_id}/invoices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvoiceRequest {
    /// 1 to 50 lines.
    // 50: what one PDF page holds.
    #[schemars(length(min = 1, max = 50))]
    pub lines: Vec<InvoiceLine>,
    pub currency: Currency,
    /// The caller's own reference (a customer or order number), printed on the PDF and echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub customer_ref: Option<String>,
}

/// Where an invoice's PDF is: `pending` until the renderer stored it, then `ready`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
    Pending,
    Ready,
}

/// An invoice as stored (one item, `sk = INVOICE#<id>`) and as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Invoice {
    pub invoice_id: String,
    pub tenant_id: String,
    pub lines: Vec<InvoiceLine>,
    pub currency: Currency,
    pub amount_cents: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub status: InvoiceStatus,
    /// The PDF's object key in the export bucket ([`invoice_pdf_key`]), once `ready`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdf_key: Option<String>,
    /// When the PDF was stored (RFC 3339, UTC), once `ready`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<String>,
    /// A presigned `GET` of the PDF, added by `GET /tenants/{tenant_id}/invoices/{invoice_id}` once `ready`
    /// (never stored: a URL expires).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdf_url: Option<String>,
    /// Lifetime of `pdf_url` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdf_url_expires_in_seconds: Option<u64>,
}

/// Object key of an invoice's PDF in the export bucket: under the tenant's prefix, so a grant or a lifecycle rule
/// on `invoices/<tenant>/` covers exactly one tenant's PDFs.
pub fn invoice_pdf_key(tenant: &str, invoice_id: &str) -> String {
    format!("invoices/{tenant}/{invoice_id}.pdf")
}

/// `POST /tenants/{tenant_id}/exports`: an export of all the tenant's data as JSON Lines. The body is `{}`.
// No options yet: a closed object (`additionalProperties: false`) keeps room for some without a body that means
// something else today.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExportRequest {}

/// An export's state, from its workflow execution (`DescribeExecution`'s status, lower case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExportStatus {
    /// From Step Functions' execution status (`RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`,
    /// `PENDING_REDRIVE`: a redrive is pending, so still running).
    pub fn from_execution(s: &str) -> Option<ExportStatus> {
        match s {
            "RUNNING" | "PENDING_REDRIVE" => Some(ExportStatus::Running),
            "SUCCEEDED" => Some(ExportStatus::Succeeded),
            "FAILED" => Some(ExportStatus::Failed),
            "TIMED_OUT" => Some(ExportStatus::TimedOut),
            "ABORTED" => Some(ExportStatus::Aborted),
            _ => None,
        }
    }
}

/// An export as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Export {
    pub export_id: String,
    pub tenant_id: String,
    pub status: ExportStatus,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// The presigned download URL the exporter made, once `succeeded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

/// The export workflow's input, as `POST /tenants/{tenant_id}/exports` starts it: the exporter's input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExportWorkflowInput {
    pub tenant_id: String,
    pub export_id: String,
}

/// The content types an upload may declare: each is recognised by its first bytes (its magic number), which the
/// upload scanner checks against the declared type. A type without a magic number (text, CSV) cannot be checked
/// that way, so it is not on the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum UploadContentType {
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "application/pdf")]
    Pdf,
}

impl UploadContentType {
    /// Every allowed type, in the schema's order.
    pub const ALL: [UploadContentType; 3] = [UploadContentType::Png, UploadContentType::Jpeg, UploadContentType::Pdf];

    /// The MIME type, as the `Content-Type` header the presigned `PUT` binds.
    pub fn as_str(self) -> &'static str {
        match self {
            UploadContentType::Png => "image/png",
            UploadContentType::Jpeg => "image/jpeg",
            UploadContentType::Pdf => "application/pdf",
        }
    }

    /// The type's magic number: the bytes a file of the type starts with.
    /// PNG: <https://www.w3.org/TR/png-3/#5PNG-file-signature>; JPEG: the SOI marker and the first marker's
    /// `FF` (ITU T.81, B.1.1.3); PDF: the header `%PDF-` (ISO 32000-1, 7.5.2).
    pub fn magic(self) -> &'static [u8] {
        match self {
            UploadContentType::Png => b"\x89PNG\r\n\x1a\n",
            UploadContentType::Jpeg => b"\xff\xd8\xff",
            UploadContentType::Pdf => b"%PDF-",
        }
    }

    /// The allowed type whose magic number `head` starts with, if any.
    pub fn sniff(head: &[u8]) -> Option<UploadContentType> {
        UploadContentType::ALL.into_iter().find(|t| head.starts_with(t.magic()))
    }
}

/// The largest upload, in bytes: 10 MiB. What the platform's documents and images need, and a bound on what one
/// presigned URL can make the tenant's prefix store (a single `PUT` could otherwise carry 5 GB).
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;

/// `POST /tenants/{tenant_id}/uploads`: what the client is about to upload. The presigned `PUT` binds the content
/// type and the length, so the client must send exactly these `Content-Type` and `Content-Length` headers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUploadRequest {
    /// One of `image/png`, `image/jpeg`, `application/pdf`.
    pub content_type: UploadContentType,
    /// The exact size of the file in bytes, 1 to 10,485,760 (10 MiB).
    #[schemars(range(min = 1, max = 10_485_760))]
    pub content_length: u64,
    /// The client's name of the file, kept as metadata (never part of the object key).
    #[schemars(length(min = 1, max = 255))]
    pub file_name: String,
}

/// Where an upload is: `pending` until the scanner has checked the object, then `accepted` or `quarantined`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UploadStatus {
    Pending,
    Accepted,
    Quarantined,
}

/// An upload as stored (one item, `sk = UPLOAD#<id>`) and as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Upload {
    pub upload_id: String,
    pub tenant_id: String,
    pub file_name: String,
    /// The declared (and signed) content type.
    pub content_type: UploadContentType,
    /// The declared (and signed) length in bytes.
    pub content_length: u64,
    /// The object's key in the uploads bucket ([`upload_key`]).
    pub object_key: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub status: UploadStatus,
    /// Why the object was quarantined, once `quarantined`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The object's size as stored, once checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The type its first bytes say (`unknown` when none of the allowed ones), once checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_type: Option<String>,
    /// The object's ETag as checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// When the scanner checked it (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// Where a quarantined object is ([`quarantine_key`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine_key: Option<String>,
    /// The presigned `PUT`, in the answer of the create only (never stored on the item; the idempotency record of
    /// the create keeps the first answer, so a replay within the URL's lifetime answers a URL that still works).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_url: Option<String>,
    /// The headers the `PUT` must carry (the signed ones besides `host`), in the answer of the create only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_headers: Option<std::collections::BTreeMap<String, String>>,
    /// Lifetime of `upload_url` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_url_expires_in_seconds: Option<u64>,
}

/// Object key of an upload: under the tenant's prefix (`uploads/<tenant>/<id>`), never the client's file name, so
/// a grant, a notification filter or a lifecycle rule on `uploads/<tenant>/` covers exactly one tenant's files.
pub fn upload_key(tenant: &str, upload_id: &str) -> String {
    format!("{UPLOADS_PREFIX}{tenant}/{upload_id}")
}

/// Object key of a quarantined upload (`quarantine/<tenant>/<id>`): outside `uploads/`, so nothing that serves or
/// checks uploads reads it, and its own lifecycle rule expires it.
pub fn quarantine_key(tenant: &str, upload_id: &str) -> String {
    format!("{QUARANTINE_PREFIX}{tenant}/{upload_id}")
}

/// Prefix of the uploads (the bucket's event notification filter).
pub const UPLOADS_PREFIX: &str = "uploads/";
/// Prefix of quarantined uploads.
pub const QUARANTINE_PREFIX: &str = "quarantine/";
