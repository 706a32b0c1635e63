//! Orders: idempotent create (one `TransactWriteItems`), get, list.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use platform_types::api::{CreateOrderRequest, Order};
use platform_types::routes::IDEMPOTENCY_KEY_HEADER;
use powertools::idempotency::{Fingerprint, IdempotencyError, IdempotencyKey, StoredResponse};
use powertools::problem::Problem;
use powertools::ratelimit::RateDecision;
use powertools::router::{Request, Response};
use powertools::tenant::{EntityId, EntityKind, TenantContext};
use serde_json::json;

use crate::items::{internal, to_item};
use crate::{Deps, gate, with_rate_headers};

/// Everything a create needs before the round trip: pure CPU, no IO (what the write-path bench measures).
pub struct PreparedWrite {
    pub key: IdempotencyKey,
    pub fingerprint: Fingerprint,
    pub response: StoredResponse,
    pub writes: Vec<TransactWriteItem>,
}

/// The `Idempotency-Key` of a request, tenant- and operation-scoped (400 when missing or malformed).
pub fn idempotency_key(req: &Request, tenant: &TenantContext) -> Result<IdempotencyKey, Problem> {
    let raw = req
        .header(IDEMPOTENCY_KEY_HEADER)
        .ok_or_else(|| Problem::new(400).with_detail(format!("the {IDEMPOTENCY_KEY_HEADER} header is required")))?;
    IdempotencyKey::new(tenant.tenant(), req.operation, raw).map_err(|e| e.to_problem())
}

/// Validates the body and builds the order item, its response and the idempotency inputs.
pub fn prepare_create(deps: &Deps, req: &Request, tenant: &TenantContext) -> Result<PreparedWrite, Problem> {
    let (body, json) = req.json::<CreateOrderRequest>()?;
    let key = idempotency_key(req, tenant)?;
    // The path is part of the payload: same key and body on another path is another request.
    let fingerprint = Fingerprint::of_json(&json!({ "path": req.path, "body": json }));
    let mut total: u64 = 0;
    for l in &body.items {
        // Bounded by the schema (100 lines x 1,000 x 10^8 < 2^64), checked anyway: no panic on a request path.
        let line = l.unit_price_cents.checked_mul(u64::from(l.quantity));
        total = line
            .and_then(|x| total.checked_add(x))
            .ok_or_else(|| Problem::new(400).with_detail("order total overflows"))?;
    }
    let id = EntityId::parse(&powertools::ids::ulid(deps.clock.as_ref())).map_err(internal)?;
    let order = Order {
        order_id: id.to_string(),
        tenant_id: tenant.tenant().to_string(),
        items: body.items,
        currency: body.currency,
        total_cents: total,
        customer_ref: body.customer_ref,
        created_at: powertools::clock::rfc3339(deps.clock.now_millis()),
    };
    let entity_key = tenant.tenant().entity_key(EntityKind::Order, &id);
    let put = Put::builder()
        .table_name(&deps.entity_table)
        .set_item(Some(to_item(&entity_key, &order)?))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(internal)?;
    let response = crate::items::created(format!("/tenants/{}/orders/{}", order.tenant_id, order.order_id), &order)?;
    Ok(PreparedWrite { key, fingerprint, response, writes: vec![TransactWriteItem::builder().put(put).build()] })
}

/// The answer when a generated id already exists: astronomically unlikely with 80 random bits; a retry
/// generates another.
pub fn collision() -> Problem {
    Problem::new(409).with_detail("id collision, retry the request").with_header("Retry-After", "1")
}

/// Commits a prepared idempotent write together with the tenant's rate counter: 1 round trip. `conflict` is
/// the answer when the business write's own condition fails.
pub async fn commit(
    deps: &Deps,
    req: &Request,
    tenant: &TenantContext,
    p: PreparedWrite,
    conflict: Problem,
) -> Result<Response, Problem> {
    let limit = deps.limits.for_tier(tenant.tier());
    let counter = deps.limiter.transact_item(tenant.tenant(), req.operation, limit).map_err(|d| denied_with(&d))?;
    let mut writes = p.writes;
    let counter_index = writes.len();
    writes.push(counter.item);
    match deps.idempotency.commit(&p.key, &p.fingerprint, &p.response, writes).await {
        Ok(outcome) => {
            let replay = outcome.is_replay();
            let stored = outcome.into_response();
            let mut r = Response::raw(stored.status, "application/json", stored.body);
            for (k, v) in stored.headers {
                r = r.with_header(&k, v);
            }
            // A replay did not count against the limit (the transaction was cancelled).
            Ok(if replay { r } else { with_rate_headers(r, Some(&counter.allowed)) })
        }
        Err(IdempotencyError::BusinessCondition { index, .. }) if index == counter_index => {
            Err(denied_with(&counter.denied))
        }
        Err(IdempotencyError::BusinessCondition { .. }) => Err(conflict),
        Err(e) => Err(e.to_problem()),
    }
}

pub(crate) fn denied_with(d: &RateDecision) -> Problem {
    d.to_problem().unwrap_or_else(|| Problem::new(429))
}

/// `POST /tenants/{tenant_id}/orders`.
pub async fn create(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, true).await?;
    let prepared = prepare_create(&deps, &req, &g.tenant)?;
    commit(&deps, &req, &g.tenant, prepared, collision()).await
}

/// `GET /tenants/{tenant_id}/orders/{order_id}`.
pub async fn get(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, false).await?;
    let id: String = req.path_param("order_id")?;
    let id = EntityId::parse(&id).map_err(|_| Problem::new(404).with_detail(format!("no order {id:?}")))?;
    let key = g.tenant.tenant().entity_key(EntityKind::Order, &id);
    let r = crate::items::get_cached::<Order>(&deps, &req, &key, "order").await?;
    Ok(with_rate_headers(r, g.rate.as_ref()))
}

/// `GET /tenants/{tenant_id}/orders?limit=&cursor=`.
pub async fn list(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    crate::items::list::<Order>(&deps, &req, EntityKind::Order).await
}
