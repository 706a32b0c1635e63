//! Subscriptions: idempotent create, get, list, and the idempotent upgrade (optimistic concurrency on
//! `version`; the stream turns the plan change into `SubscriptionUpgraded`).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use platform_types::api::{CreateSubscriptionRequest, Subscription, UpgradeSubscriptionRequest};
use powertools::dynamo::n;
use powertools::idempotency::{Fingerprint, StoredResponse};
use powertools::problem::Problem;
use powertools::router::{Request, Response};
use powertools::tenant::{EntityId, EntityKind, TenantContext};
use serde_json::json;

use crate::items::{from_item, get as get_item, internal, to_item};
use crate::orders::{PreparedWrite, commit, idempotency_key};
use crate::{Deps, gate, with_rate_headers};

fn stored(status: u16, sub: &Subscription) -> Result<StoredResponse, Problem> {
    Ok(StoredResponse {
        status,
        headers: BTreeMap::from([
            ("content-type".to_string(), "application/json".to_string()),
            ("location".to_string(), format!("/tenants/{}/subscriptions/{}", sub.tenant_id, sub.subscription_id)),
        ]),
        body: serde_json::to_string(sub).map_err(internal)?,
    })
}

/// Validates the body and builds the new subscription's write.
pub fn prepare_create(deps: &Deps, req: &Request, tenant: &TenantContext) -> Result<PreparedWrite, Problem> {
    let (body, json) = req.json::<CreateSubscriptionRequest>()?;
    let key = idempotency_key(req, tenant)?;
    let fingerprint = Fingerprint::of_json(&json!({ "path": req.path, "body": json }));
    let id = EntityId::parse(&powertools::ids::ulid(deps.clock.as_ref())).map_err(internal)?;
    let now = powertools::clock::rfc3339(deps.clock.now_millis());
    let sub = Subscription {
        subscription_id: id.to_string(),
        tenant_id: tenant.tenant().to_string(),
        plan: body.plan,
        seats: body.seats,
        version: 1,
        created_at: now.clone(),
        updated_at: now,
    };
    let put = Put::builder()
        .table_name(&deps.entity_table)
        .set_item(Some(to_item(&tenant.tenant().entity_key(EntityKind::Subscription, &id), &sub)?))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(internal)?;
    Ok(PreparedWrite {
        key,
        fingerprint,
        response: stored(201, &sub)?,
        writes: vec![TransactWriteItem::builder().put(put).build()],
    })
}

/// `POST /tenants/{tenant_id}/subscriptions`.
pub async fn create(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, true).await?;
    let prepared = prepare_create(&deps, &req, &g.tenant)?;
    commit(&deps, &req, &g.tenant, prepared, crate::orders::collision()).await
}

fn subscription_id(req: &Request) -> Result<EntityId, Problem> {
    let id: String = req.path_param("subscription_id")?;
    EntityId::parse(&id).map_err(|_| Problem::new(404).with_detail(format!("no subscription {id:?}")))
}

/// `POST /tenants/{tenant_id}/subscriptions/{subscription_id}/upgrade`: 202 with the upgraded subscription.
/// The billing side reacts to `SubscriptionUpgraded` asynchronously, hence Accepted.
pub async fn upgrade(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, true).await?;
    let (body, json) = req.json::<UpgradeSubscriptionRequest>()?;
    let key = idempotency_key(&req, &g.tenant)?;
    let fingerprint = Fingerprint::of_json(&json!({ "path": req.path, "body": json }));
    let id = subscription_id(&req)?;
    let entity_key = g.tenant.tenant().entity_key(EntityKind::Subscription, &id);
    let item = get_item(&deps, &entity_key)
        .await?
        .ok_or_else(|| Problem::new(404).with_detail(format!("no subscription {id}")))?;
    let current: Subscription = from_item(&item)?;
    if body.plan <= current.plan {
        // Maybe this very request was applied already: its replay must win over the validation error.
        if let Some(outcome) = deps.idempotency.lookup(&key, &fingerprint).await.map_err(|e| e.to_problem())? {
            let r = outcome.into_response();
            let mut resp = Response::raw(r.status, "application/json", r.body);
            for (k, v) in r.headers {
                resp = resp.with_header(&k, v);
            }
            return Ok(resp);
        }
        return Err(Problem::new(409).with_detail(format!(
            "plan {} is not an upgrade of the current plan {}",
            body.plan.as_str(),
            current.plan.as_str()
        )));
    }
    let upgraded = Subscription {
        plan: body.plan,
        seats: body.seats.unwrap_or(current.seats),
        version: current.version + 1,
        updated_at: powertools::clock::rfc3339(deps.clock.now_millis()),
        ..current.clone()
    };
    let put = Put::builder()
        .table_name(&deps.entity_table)
        .set_item(Some(to_item(&entity_key, &upgraded)?))
        // Optimistic concurrency: only over the version we read.
        .condition_expression("#v = :v")
        .expression_attribute_names("#v", "version")
        .expression_attribute_values(":v", n(current.version))
        .build()
        .map_err(internal)?;
    let prepared = PreparedWrite {
        key,
        fingerprint,
        response: stored(202, &upgraded)?,
        writes: vec![TransactWriteItem::builder().put(put).build()],
    };
    let conflict = Problem::new(409)
        .with_detail("the subscription changed concurrently, read it again and retry")
        .with_header("Retry-After", "1");
    commit(&deps, &req, &g.tenant, prepared, conflict).await
}

/// `GET /tenants/{tenant_id}/subscriptions/{subscription_id}`.
pub async fn get(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, false).await?;
    let id = subscription_id(&req)?;
    let key = g.tenant.tenant().entity_key(EntityKind::Subscription, &id);
    let r = crate::items::get_cached::<Subscription>(&deps, &req, &key, "subscription").await?;
    Ok(with_rate_headers(r, g.rate.as_ref()))
}

/// `GET /tenants/{tenant_id}/subscriptions`.
pub async fn list(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    crate::items::list::<Subscription>(&deps, &req, EntityKind::Subscription).await
}
