//! Entity items: domain types to DynamoDB items and back, tenant-scoped reads, list cursors, cache headers.
//!
//! An item is the domain type's JSON as attributes, plus `pk`/`sk` from an [`EntityKey`] (never from input) and
//! `entity` (the type name). Reading strips the key attributes and deserializes.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use platform_types::api::Page;
use platform_types::table;
use powertools::cache::{Lookup, X_CACHE};
use powertools::dynamo::{Item, entity_item, item_to_json, s};
use powertools::idempotency::{StoredResponse, error_message};
use powertools::problem::Problem;
use powertools::retry::{RetryError, RetryPolicy, classify, retry};
use powertools::router::{Request, Response};
use powertools::tenant::{EntityKey, EntityKind, KindPrefix, TenantId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::{Deps, gate, with_rate_headers};

/// Attributes of stored items that are not part of a domain type: the storage attributes of every entity item,
/// and the tier API key items carry for the authorizer.
const NOT_DOMAIN: &[&str] = &["tier"];

/// A 500 for what cannot happen with valid code (a domain value that does not serialize, a builder without its
/// required fields); the detail says what.
pub(crate) fn internal(e: impl std::fmt::Display) -> Problem {
    Problem::new(500).with_detail(e.to_string())
}

/// The item of a domain value under `key` ([`entity_item`]).
/// The stored `201` of an idempotent create (what a replay answers too): `value` as JSON, with its `Location`.
pub fn created<T: Serialize>(location: String, value: &T) -> Result<StoredResponse, Problem> {
    Ok(StoredResponse {
        status: 201,
        headers: BTreeMap::from([
            ("content-type".to_string(), "application/json".to_string()),
            ("location".to_string(), location),
        ]),
        body: serde_json::to_string(value).map_err(internal)?,
    })
}

pub fn to_item<T: Serialize>(key: &EntityKey, value: &T) -> Result<Item, Problem> {
    entity_item(key, value).map_err(internal)
}

/// The domain value of an item.
pub fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T, Problem> {
    let mut json = item_to_json(item);
    if let Some(o) = json.as_object_mut() {
        for a in table::STORAGE_ATTRIBUTES.iter().chain(NOT_DOMAIN) {
            o.remove(*a);
        }
    }
    serde_json::from_value(json).map_err(|e| {
        tracing::error!(error = %e, "stored item does not parse");
        Problem::new(500).with_detail("internal error")
    })
}

pub(crate) fn dynamo_problem<E, R>(e: RetryError<aws_sdk_dynamodb::error::SdkError<E, R>>) -> Problem
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match e {
        RetryError::Exhausted { last, .. } => {
            tracing::warn!(error = %error_message(&last), "dynamodb retries exhausted");
            Problem::new(503).with_detail("the service is busy, retry later").with_header("Retry-After", "1")
        }
        RetryError::Permanent(e) => {
            tracing::error!(error = %error_message(&e), "dynamodb error");
            Problem::new(500).with_detail("internal error")
        }
    }
}

/// Strongly consistent `GetItem` of one entity (read-your-writes right after a create).
pub async fn get(deps: &Deps, key: &EntityKey) -> Result<Option<Item>, Problem> {
    let out = retry(&RetryPolicy::default(), classify, || {
        deps.ddb
            .get_item()
            .table_name(&deps.entity_table)
            .key(table::PARTITION_KEY, s(key.pk()))
            .key(table::SORT_KEY, s(key.sk()))
            .consistent_read(true)
            .send()
    })
    .await
    .map_err(dynamo_problem)?;
    Ok(out.item)
}

/// One page of a tenant's entities of one kind.
pub async fn query_page(
    deps: &Deps,
    prefix: &KindPrefix,
    limit: i32,
    cursor: Option<&str>,
) -> Result<(Vec<Item>, Option<String>), Problem> {
    let start = match cursor {
        Some(c) => Some(decode_cursor(c, prefix)?),
        None => None,
    };
    let out = retry(&RetryPolicy::default(), classify, || {
        deps.ddb
            .query()
            .table_name(&deps.entity_table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", table::PARTITION_KEY)
            .expression_attribute_names("#sk", table::SORT_KEY)
            .expression_attribute_values(":pk", s(prefix.pk()))
            .expression_attribute_values(":prefix", s(prefix.sk_prefix()))
            .limit(limit)
            .set_exclusive_start_key(start.clone())
            .send()
    })
    .await
    .map_err(dynamo_problem)?;
    let next = out.last_evaluated_key.as_ref().and_then(|k| match k.get(table::SORT_KEY) {
        Some(AttributeValue::S(sk)) => Some(encode_cursor(prefix.tenant(), sk)),
        _ => None,
    });
    Ok((out.items.unwrap_or_default(), next))
}

/// An opaque cursor: the tenant and the last sort key. Bound to the tenant: another tenant's cursor is a 400
/// (it could not read across tenants anyway, the partition key always comes from the caller's context).
pub fn encode_cursor(tenant: &TenantId, sk: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}\n{sk}", tenant.as_str()))
}

fn decode_cursor(c: &str, prefix: &KindPrefix) -> Result<HashMap<String, AttributeValue>, Problem> {
    let bad = || Problem::new(400).with_detail("invalid cursor");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (tenant, sk) = raw.split_once('\n').ok_or_else(bad)?;
    if tenant != prefix.tenant().as_str() || !sk.starts_with(prefix.sk_prefix()) {
        return Err(bad());
    }
    Ok(HashMap::from([(table::PARTITION_KEY.to_string(), s(prefix.pk())), (table::SORT_KEY.to_string(), s(sk))]))
}

/// `GET` of one entity through the hot-read cache (cache-aside): a hit answers the cached body, a miss reads
/// DynamoDB (strongly consistent) and fills the cache; either way `X-Cache` says which. Absent entities are not
/// cached (a create is an INSERT, which does not invalidate). The key is the caller's own entity key, so a
/// cached body is only ever served to its tenant. `what` names the kind in the 404.
pub async fn get_cached<T: DeserializeOwned + Serialize>(
    deps: &Deps,
    req: &Request,
    key: &EntityKey,
    what: &str,
) -> Result<Response, Problem> {
    let cache_key = powertools::cache::entity_key(&key.pk(), &key.sk());
    if let Some(cache) = &deps.cache
        && let Lookup::Hit(body) = cache.get(&cache_key).await
    {
        return Ok(cacheable_body(req, body).with_header(X_CACHE, "hit"));
    }
    let item = get(deps, key).await?.ok_or_else(|| Problem::new(404).with_detail(format!("no {what} {}", key.id())))?;
    let value: T = from_item(&item)?;
    let body = serde_json::to_string(&value).map_err(internal)?;
    if let Some(cache) = &deps.cache {
        cache.put(&cache_key, &body).await;
    }
    Ok(cacheable_body(req, body).with_header(X_CACHE, "miss"))
}

/// `GET` of a tenant's entities of one kind: one page (`limit`, `cursor`) of domain values, cacheable.
pub async fn list<T: DeserializeOwned + Serialize>(
    deps: &Deps,
    req: &Request,
    kind: EntityKind,
) -> Result<Response, Problem> {
    let g = gate(deps, req, false).await?;
    let prefix = g.tenant.tenant().kind_prefix(kind);
    let cursor = req.query.get("cursor").map(String::as_str);
    let (items, next_cursor) = query_page(deps, &prefix, page_limit(req)?, cursor).await?;
    let items = items.iter().map(from_item::<T>).collect::<Result<Vec<_>, _>>()?;
    Ok(with_rate_headers(cacheable_json(req, &Page { items, next_cursor }), g.rate.as_ref()))
}

/// `limit` query parameter: 1 to 100, default 25.
pub fn page_limit(req: &Request) -> Result<i32, Problem> {
    match req.query_param::<i32>("limit")? {
        None => Ok(25),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(n) => Err(Problem::new(400).with_detail(format!("limit {n} out of range, expected 1 to 100"))),
    }
}

/// A cacheable JSON response for CloudFront: a strong `ETag`, `If-None-Match` answered with 304, and a short
/// shared-cache lifetime. CloudFront's cache key includes the `Authorization` header (so entries are per
/// credential, hence per tenant) and `Vary` says so to every other cache.
pub fn cacheable_json<T: Serialize>(req: &Request, value: &T) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => cacheable_body(req, body),
        Err(e) => Response::problem(&internal(format!("response serialization: {e}"))),
    }
}

/// [`cacheable_json`] of an already serialized body (a hot-read cache hit).
pub fn cacheable_body(req: &Request, body: String) -> Response {
    let r = Response::raw(200, "application/json", body);
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(r.body.as_deref().unwrap_or("").as_bytes()))[..32]);
    let r = if req.header("if-none-match").is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        Response::empty(304)
    } else {
        r
    };
    r.with_header("ETag", etag)
        // Browsers revalidate every time; CloudFront may serve it for 5 s (and stale for 10 s while it
        // revalidates), which absorbs read bursts without serving long-stale data.
        .with_header("Cache-Control", "max-age=0, s-maxage=5, stale-while-revalidate=10")
        .with_header("Vary", "Authorization")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_bound_to_tenant_and_kind() {
        let a = TenantId::parse("a").unwrap();
        let b = TenantId::parse("b").unwrap();
        let c = encode_cursor(&a, "ORDER#01");
        assert!(decode_cursor(&c, &a.kind_prefix(EntityKind::Order)).is_ok());
        assert_eq!(decode_cursor(&c, &b.kind_prefix(EntityKind::Order)).unwrap_err().status, 400);
        assert_eq!(decode_cursor(&c, &a.kind_prefix(EntityKind::Subscription)).unwrap_err().status, 400);
        assert_eq!(decode_cursor("%%%", &a.kind_prefix(EntityKind::Order)).unwrap_err().status, 400);
    }

    #[test]
    fn etag_revalidation() {
        let v = serde_json::json!({"a": 1});
        let first = cacheable_json(&Request::default(), &v);
        assert_eq!(first.status_code, 200);
        let etag = first.headers["etag"].clone();
        let mut again = Request::default();
        again.headers.insert("if-none-match".into(), etag.clone());
        let second = cacheable_json(&again, &v);
        assert_eq!((second.status_code, second.body.is_none()), (304, true));
        assert_eq!(second.headers["etag"], etag);
        assert_eq!(first.headers["cache-control"], "max-age=0, s-maxage=5, stale-while-revalidate=10");
    }
}
