//! API keys of a tenant: create (plaintext shown once, SHA-256 stored and indexed on GSI1), list, revoke
//! (the stream turns the revocation into `ApiKeyRevoked`; the authorizer stops accepting the key at once
//! because the hash leaves the index, and its cache lets it pass for at most the authorizer cache TTL).
//!
//! With per-tenant usage plan keys (`Deps::gateway`), the key also gets its own API Gateway API key in the usage
//! plan of the tenant's tier. The DynamoDB write comes first (it holds the rate check: a 429 costs no gateway
//! call). If the gateway fails after it, the item is deleted again and the answer is 503 without the plaintext:
//! a key that was never shown cannot be used, and a retry creates a new one. A revocation revokes in DynamoDB
//! first (the authorizer stops accepting the key there), then deletes the gateway key; if that fails the answer
//! is 503 and a retried DELETE (a no-op 204 in DynamoDB) deletes it. A gateway key left behind grants nothing:
//! the authorizer returns a key's value only for an active key.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use platform_types::api::{ApiKeyCreated, ApiKeyInfo, CreateApiKeyRequest};
use platform_types::table;
use powertools::apikeys;
use powertools::dynamo::s;
use powertools::idempotency::error_message;
use powertools::problem::Problem;
use powertools::retry::{RetryPolicy, classify, retry};
use powertools::router::{Request, Response};
use powertools::tenant::{EntityId, EntityKind};

use crate::gateway::GatewayError;
use crate::items::{dynamo_problem, internal};
use crate::orders::denied_with;
use crate::{Deps, gate, with_rate_headers};

/// `POST /tenants/{tenant_id}/api-keys`: 201 with the plaintext key. One `TransactWriteItems` (key + rate
/// counter). Not idempotent on purpose (a replay would need the plaintext stored).
pub async fn create(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, true).await?;
    let (body, _) = req.json::<CreateApiKeyRequest>()?;
    let (key_id, plaintext) = apikeys::generate(deps.clock.as_ref());
    let id = EntityId::parse(&key_id).map_err(internal)?;
    let info = ApiKeyInfo {
        key_id: key_id.clone(),
        name: body.name.clone(),
        status: "active".into(),
        created_at: powertools::clock::rfc3339(deps.clock.now_millis()),
    };
    let key = g.tenant.tenant().entity_key(EntityKind::ApiKey, &id);
    let hash = apikeys::hash(&plaintext);
    let mut item = apikeys::item(&key, &info, &hash, g.tenant.tier()).map_err(internal)?;
    // The tier's usage plan gets a key of this tenant key's own (a tier without a plan keeps the tier's key).
    let gateway = deps.gateway.as_ref().filter(|gw| gw.covers(g.tenant.tier()));
    if gateway.is_some() {
        // Tells the authorizer to name this key's own usage plan key (not the tier's).
        item.insert(table::USAGE_KEY_ATTRIBUTE.into(), s(apikeys::USAGE_KEY_TENANT));
    }
    let put = Put::builder()
        .table_name(&deps.entity_table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(internal)?;
    let counter = deps.limiter.transact_item(g.tenant.tenant(), req.operation, g.limit).map_err(|d| denied_with(&d))?;
    let items = vec![TransactWriteItem::builder().put(put).build(), counter.item.clone()];
    let sent = retry(&RetryPolicy::default(), classify, || {
        deps.ddb.transact_write_items().set_transact_items(Some(items.clone())).send()
    })
    .await;
    match sent {
        Ok(_) => {}
        Err(e) => {
            let e = e.into_inner();
            let counter_failed = e
                .as_service_error()
                .and_then(|se| match se {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(
                        tc,
                    ) => tc.cancellation_reasons().get(1).and_then(|r| r.code()).map(|c| c == "ConditionalCheckFailed"),
                    _ => None,
                })
                .unwrap_or(false);
            if counter_failed {
                return Err(denied_with(&counter.denied));
            }
            tracing::error!(error = %error_message(&e), "api key create failed");
            return Err(Problem::new(500).with_detail("internal error"));
        }
    }
    if let Some(gateway) = gateway
        && let Err(e) = gateway.create(g.tenant.tenant(), &key_id, &hash, g.tenant.tier()).await
    {
        tracing::error!(error = %e, key_id = %key_id, "usage plan key not created; removing the api key");
        undo_create(&deps, &key, &key_id, g.tenant.tenant()).await;
        return Err(unavailable(&e));
    }
    let created = ApiKeyCreated { key_id, name: body.name, api_key: plaintext, created_at: info.created_at };
    let r = Response::json(201, &created)
        .with_header("Location", format!("/tenants/{}/api-keys/{}", g.tenant.tenant(), created.key_id))
        // The body holds a secret: no cache may keep it.
        .with_header("Cache-Control", "no-store");
    Ok(with_rate_headers(r, Some(&counter.allowed)))
}

/// `GET /tenants/{tenant_id}/api-keys`.
pub async fn list(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    crate::items::list::<ApiKeyInfo>(&deps, &req, EntityKind::ApiKey).await
}

/// `DELETE /tenants/{tenant_id}/api-keys/{key_id}`: 204; revoking a revoked key is a no-op 204; unknown 404.
pub async fn revoke(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, false).await?;
    let raw: String = req.path_param("key_id")?;
    let id = EntityId::parse(&raw).map_err(|_| Problem::new(404).with_detail(format!("no api key {raw:?}")))?;
    let key = g.tenant.tenant().entity_key(EntityKind::ApiKey, &id);
    let now = powertools::clock::rfc3339(deps.clock.now_millis());
    let r = retry(&RetryPolicy::default(), classify, || {
        deps.ddb
            .update_item()
            .table_name(&deps.entity_table)
            .key(table::PARTITION_KEY, s(key.pk()))
            .key(table::SORT_KEY, s(key.sk()))
            // Removing the GSI keys takes the hash out of the index: the authorizer no longer finds the key.
            .update_expression("SET #st = :revoked, revoked_at = if_not_exists(revoked_at, :now) REMOVE #g1pk, #g1sk")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#pk", table::PARTITION_KEY)
            .expression_attribute_names("#g1pk", table::GSI1_PARTITION_KEY)
            .expression_attribute_names("#g1sk", table::GSI1_SORT_KEY)
            .expression_attribute_values(":revoked", s("revoked"))
            .expression_attribute_values(":now", s(now.clone()))
            .send()
    })
    .await;
    match r {
        Ok(_) => {
            if let Some(gateway) = &deps.gateway
                && let Err(e) = gateway.delete(g.tenant.tenant(), id.as_str()).await
            {
                tracing::error!(error = %e, key_id = %id, "api key revoked; its usage plan key not deleted yet");
                return Err(unavailable(&e));
            }
            Ok(with_rate_headers(Response::empty(204), g.rate.as_ref()))
        }
        Err(powertools::retry::RetryError::Permanent(e))
            if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) =>
        {
            Err(Problem::new(404).with_detail(format!("no api key {id}")))
        }
        Err(e) => Err(dynamo_problem(e)),
    }
}

/// A failed gateway call: 503 with `Retry-After`, the gateway's message in the log only.
fn unavailable(_: &GatewayError) -> Problem {
    Problem::new(503)
        .with_detail("the api gateway usage plan key could not be updated; retry")
        .with_header("Retry-After", "1")
}

/// Best effort after a failed gateway call on create: delete the item (no event: the stream processor emits
/// nothing for the REMOVE of a key) and any gateway key made. What is left if this fails too is harmless: the
/// plaintext was never returned.
async fn undo_create(
    deps: &Deps,
    key: &powertools::tenant::EntityKey,
    key_id: &str,
    tenant: &powertools::tenant::TenantId,
) {
    let deleted = deps
        .ddb
        .delete_item()
        .table_name(&deps.entity_table)
        .key(table::PARTITION_KEY, s(key.pk()))
        .key(table::SORT_KEY, s(key.sk()))
        .send()
        .await;
    if let Err(e) = deleted {
        tracing::error!(error = %error_message(&e), key_id, "unused api key item not deleted");
    }
    if let Some(gateway) = &deps.gateway
        && let Err(e) = gateway.delete(tenant, key_id).await
    {
        tracing::error!(error = %e, key_id, "unused usage plan key not deleted");
    }
}
