//! Invoices: idempotent create (one `TransactWriteItems`, like orders) and get with a presigned PDF URL once the
//! renderer has stored the PDF.
//!
//! The flow after the create: the item's stream record becomes `InvoiceGenerated` (stream processor), the
//! Billing rule queues it for the invoice renderer, which stores the PDF under the tenant's prefix, marks the
//! item `ready` with the PDF's key and puts `InvoiceReady` (which the webhooks deliver).

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use platform_types::api::{CreateInvoiceRequest, Invoice, InvoiceStatus};
use powertools::idempotency::Fingerprint;
use powertools::problem::Problem;
use powertools::router::{Request, Response};
use powertools::tenant::{EntityId, EntityKind, TenantContext};
use serde_json::json;

use crate::items::{from_item, internal, to_item};
use crate::orders::{PreparedWrite, collision, commit, idempotency_key};
use crate::{Deps, gate, with_rate_headers};

/// Validates the body and builds the invoice item (`pending`), its response and the idempotency inputs.
pub fn prepare_create(deps: &Deps, req: &Request, tenant: &TenantContext) -> Result<PreparedWrite, Problem> {
    let (body, json) = req.json::<CreateInvoiceRequest>()?;
    let key = idempotency_key(req, tenant)?;
    let fingerprint = Fingerprint::of_json(&json!({ "path": req.path, "body": json }));
    let mut amount: u64 = 0;
    for l in &body.lines {
        // Bounded by the schema (50 lines x 10^4 x 10^8 < 2^64), checked anyway: no panic on a request path.
        amount = l
            .unit_price_cents
            .checked_mul(u64::from(l.quantity))
            .and_then(|x| amount.checked_add(x))
            .ok_or_else(|| Problem::new(400).with_detail("invoice amount overflows"))?;
    }
    let id = EntityId::parse(&powertools::ids::ulid(deps.clock.as_ref())).map_err(internal)?;
    let invoice = Invoice {
        invoice_id: id.to_string(),
        tenant_id: tenant.tenant().to_string(),
        lines: body.lines,
        currency: body.currency,
        amount_cents: amount,
        customer_ref: body.customer_ref,
        created_at: powertools::clock::rfc3339(deps.clock.now_millis()),
        status: InvoiceStatus::Pending,
        pdf_key: None,
        ready_at: None,
        pdf_url: None,
        pdf_url_expires_in_seconds: None,
    };
    let entity_key = tenant.tenant().entity_key(EntityKind::Invoice, &id);
    let put = Put::builder()
        .table_name(&deps.entity_table)
        .set_item(Some(to_item(&entity_key, &invoice)?))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(internal)?;
    let response =
        crate::items::created(format!("/tenants/{}/invoices/{}", invoice.tenant_id, invoice.invoice_id), &invoice)?;
    Ok(PreparedWrite { key, fingerprint, response, writes: vec![TransactWriteItem::builder().put(put).build()] })
}

/// `POST /tenants/{tenant_id}/invoices`: 201 with the invoice (`pending`); a replay answers the first response.
pub async fn create(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, true).await?;
    let prepared = prepare_create(&deps, &req, &g.tenant)?;
    commit(&deps, &req, &g.tenant, prepared, collision()).await
}

/// `GET /tenants/{tenant_id}/invoices/{invoice_id}`: the invoice, with `pdf_url` (a presigned `GET`, signed
/// locally: no call) once `ready`. Not cacheable: the URL is new on every read.
pub async fn get(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, false).await?;
    let id: String = req.path_param("invoice_id")?;
    let id = EntityId::parse(&id).map_err(|_| Problem::new(404).with_detail(format!("no invoice {id:?}")))?;
    let key = g.tenant.tenant().entity_key(EntityKind::Invoice, &id);
    let item = crate::items::get(&deps, &key)
        .await?
        .ok_or_else(|| Problem::new(404).with_detail(format!("no invoice {id}")))?;
    let mut invoice: Invoice = from_item(&item)?;
    if invoice.status == InvoiceStatus::Ready
        && let Some(pdf_key) = &invoice.pdf_key
    {
        let ttl = deps.aws.invoice_url_ttl;
        let now = UNIX_EPOCH + Duration::from_millis(deps.clock.now_millis());
        let url = deps.aws.signer()?.presign_get(&deps.aws.bucket, pdf_key, ttl, now).map_err(internal)?;
        invoice.pdf_url = Some(url);
        invoice.pdf_url_expires_in_seconds = Some(ttl.as_secs());
    }
    let r = Response::json(200, &invoice).with_header("Cache-Control", "private, no-store");
    Ok(with_rate_headers(r, g.rate.as_ref()))
}
