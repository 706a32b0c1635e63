//! Domain events the stream processor puts on the EventBridge bus.
//!
//! The EventBridge entry is `Source = `[`EVENT_SOURCE`], `DetailType = `[`DomainEvent::detail_type`] and
//! `Detail =` the JSON of the variant's struct. Rules match on `source` and `detail-type`; consumers deduplicate
//! on `event_id` (the DynamoDB stream record's `eventID`), because delivery is at least once.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::{Currency, Plan};

/// `source` of every domain event.
pub const EVENT_SOURCE: &str = "platform.entities";

/// `detail-type`s, as constants so rules in the constructs can name them.
pub mod detail_type {
    pub const ORDER_CREATED: &str = "OrderCreated";
    pub const SUBSCRIPTION_UPGRADED: &str = "SubscriptionUpgraded";
    pub const API_KEY_REVOKED: &str = "ApiKeyRevoked";
    pub const INVOICE_GENERATED: &str = "InvoiceGenerated";
    /// Put by the invoice renderer (not the stream processor) once the PDF is stored.
    pub const INVOICE_READY: &str = "InvoiceReady";
    /// All of them, for rules that route every domain event (audit, analytics, webhooks).
    pub const ALL: &[&str] = &[ORDER_CREATED, SUBSCRIPTION_UPGRADED, API_KEY_REVOKED, INVOICE_GENERATED, INVOICE_READY];
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderCreated {
    pub event_id: String,
    pub tenant_id: String,
    pub order_id: String,
    pub total_cents: u64,
    pub currency: Currency,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubscriptionUpgraded {
    pub event_id: String,
    pub tenant_id: String,
    pub subscription_id: String,
    pub from_plan: Plan,
    pub to_plan: Plan,
    pub seats: u32,
    pub version: u64,
    pub upgraded_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApiKeyRevoked {
    pub event_id: String,
    pub tenant_id: String,
    pub key_id: String,
    pub revoked_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceGenerated {
    pub event_id: String,
    pub tenant_id: String,
    pub invoice_id: String,
    pub amount_cents: u64,
    pub currency: Currency,
    pub created_at: String,
}

/// An invoice's PDF is stored. `event_id` is `InvoiceReady:<tenant>:<invoice id>`: a renderer retry that puts the
/// event again puts the same id, which consumers deduplicate on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceReady {
    pub event_id: String,
    pub tenant_id: String,
    pub invoice_id: String,
    /// The PDF's key in the export bucket (fetch it through `GET /tenants/{tenant_id}/invoices/{invoice_id}`,
    /// which presigns it).
    pub pdf_key: String,
    pub ready_at: String,
}

/// Every domain event. Serialized untagged: the tag travels as the EventBridge `detail-type`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DomainEvent {
    OrderCreated(OrderCreated),
    SubscriptionUpgraded(SubscriptionUpgraded),
    ApiKeyRevoked(ApiKeyRevoked),
    InvoiceGenerated(InvoiceGenerated),
    InvoiceReady(InvoiceReady),
}

impl DomainEvent {
    /// The EventBridge `detail-type`.
    pub fn detail_type(&self) -> &'static str {
        match self {
            DomainEvent::OrderCreated(_) => detail_type::ORDER_CREATED,
            DomainEvent::SubscriptionUpgraded(_) => detail_type::SUBSCRIPTION_UPGRADED,
            DomainEvent::ApiKeyRevoked(_) => detail_type::API_KEY_REVOKED,
            DomainEvent::InvoiceGenerated(_) => detail_type::INVOICE_GENERATED,
            DomainEvent::InvoiceReady(_) => detail_type::INVOICE_READY,
        }
    }

    /// The tenant the event belongs to.
    pub fn tenant_id(&self) -> &str {
        match self {
            DomainEvent::OrderCreated(e) => &e.tenant_id,
            DomainEvent::SubscriptionUpgraded(e) => &e.tenant_id,
            DomainEvent::ApiKeyRevoked(e) => &e.tenant_id,
            DomainEvent::InvoiceGenerated(e) => &e.tenant_id,
            DomainEvent::InvoiceReady(e) => &e.tenant_id,
        }
    }

    /// The deduplication id (the stream record's `eventID`).
    pub fn event_id(&self) -> &str {
        match self {
            DomainEvent::OrderCreated(e) => &e.event_id,
            DomainEvent::SubscriptionUpgraded(e) => &e.event_id,
            DomainEvent::ApiKeyRevoked(e) => &e.event_id,
            DomainEvent::InvoiceGenerated(e) => &e.event_id,
            DomainEvent::InvoiceReady(e) => &e.event_id,
        }
    }

    /// Parses an event from its `detail-type` and `detail`, as a consumer receives it.
    pub fn from_parts(detail_type: &str, detail: serde_json::Value) -> Result<DomainEvent, String> {
        let r = match detail_type {
            detail_type::ORDER_CREATED => serde_json::from_value(detail).map(DomainEvent::OrderCreated),
            detail_type::SUBSCRIPTION_UPGRADED => serde_json::from_value(detail).map(DomainEvent::SubscriptionUpgraded),
            detail_type::API_KEY_REVOKED => serde_json::from_value(detail).map(DomainEvent::ApiKeyRevoked),
            detail_type::INVOICE_GENERATED => serde_json::from_value(detail).map(DomainEvent::InvoiceGenerated),
            detail_type::INVOICE_READY => serde_json::from_value(detail).map(DomainEvent::InvoiceReady),
            other => {
                return Err(format!("unknown detail-type {other:?}, expected one of {:?}", detail_type::ALL));
            }
        };
        r.map_err(|e| format!("bad {detail_type} detail: {e}"))
    }
}
