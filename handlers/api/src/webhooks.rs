//! The tenant's webhook endpoint: set (`PUT`, naturally idempotent: it replaces the one configuration item),
//! get, delete. The item is the one the webhook worker reads (`powertools::dynamo::webhook_item`).
//!
//! Only absolute `https://` URLs with a host are accepted here. Whether the host is a public address is not
//! decided here: a DNS answer can change after registration, so the worker checks every resolved address at
//! delivery time and connects only to the one it checked.

use std::sync::Arc;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use platform_types::api::{SetWebhookRequest, WebhookConfig, webhook_secret_id};
use platform_types::table;
use powertools::dynamo::{s, webhook_item};
use powertools::idempotency::error_message;
use powertools::problem::Problem;
use powertools::retry::{RetryPolicy, classify, retry};
use powertools::router::{Request, Response};

use crate::items::{cacheable_json, dynamo_problem, from_item, internal};
use crate::orders::denied_with;
use crate::{Deps, gate, with_rate_headers};

/// Checks that `url` is an absolute `https://` URL with a host and no credentials; the 400's detail names the
/// field, the value and what is allowed. With `allow_http_loopback` (local receivers only:
/// [`env::WEBHOOK_ALLOW_HTTP_LOOPBACK`](platform_types::env::WEBHOOK_ALLOW_HTTP_LOOPBACK)), `http://` on
/// `127.0.0.1` or `localhost` is accepted too.
pub fn check_url(url: &str, allow_http_loopback: bool) -> Result<(), Problem> {
    let bad = |why: &str| {
        Problem::new(400)
            .with_detail(format!("/url: {url:?} is not allowed: {why}; expected an https:// URL with a host"))
    };
    let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    let loopback = || uri.host().is_some_and(|h| h == "127.0.0.1" || h.eq_ignore_ascii_case("localhost"));
    let local = allow_http_loopback && uri.scheme_str() == Some("http") && loopback();
    if uri.scheme_str() != Some("https") && !local {
        return Err(bad("the scheme must be https"));
    }
    let Some(authority) = uri.authority() else { return Err(bad("no host")) };
    if authority.host().is_empty() {
        return Err(bad("no host"));
    }
    // Credentials in the URL would be sent to, and logged by, every hop; the signature authenticates us.
    if authority.as_str().contains('@') {
        return Err(bad("credentials in the URL"));
    }
    Ok(())
}

/// `PUT /tenants/{tenant_id}/webhook`: 200 with the configuration and the signing key's id. One
/// `TransactWriteItems` (the configuration item + the rate counter).
pub async fn set(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, true).await?;
    let (body, _) = req.json::<SetWebhookRequest>()?;
    check_url(&body.url, deps.allow_http_loopback_webhooks)?;
    let tenant = g.tenant.tenant();
    let config = WebhookConfig {
        tenant_id: tenant.to_string(),
        url: body.url,
        secret_id: webhook_secret_id(tenant.as_str()),
        updated_at: powertools::clock::rfc3339(deps.clock.now_millis()),
    };
    let item = webhook_item(tenant, &config).map_err(internal)?;
    // No condition: the PUT replaces whatever configuration there was.
    let put = Put::builder().table_name(&deps.entity_table).set_item(Some(item)).build().map_err(internal)?;
    let counter = deps.limiter.transact_item(tenant, req.operation, g.limit).map_err(|d| denied_with(&d))?;
    let items = vec![TransactWriteItem::builder().put(put).build(), counter.item.clone()];
    let sent = retry(&RetryPolicy::default(), classify, || {
        deps.ddb.transact_write_items().set_transact_items(Some(items.clone())).send()
    })
    .await;
    if let Err(e) = sent {
        let e = e.into_inner();
        // Only the counter (index 1) has a condition.
        let counter_failed = matches!(
            e.as_service_error(),
            Some(TransactWriteItemsError::TransactionCanceledException(tc))
                if tc.cancellation_reasons().get(1).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
        );
        if counter_failed {
            return Err(denied_with(&counter.denied));
        }
        tracing::error!(error = %error_message(&e), "webhook configuration write failed");
        return Err(Problem::new(500).with_detail("internal error"));
    }
    Ok(with_rate_headers(Response::json(200, &config), Some(&counter.allowed)))
}

/// `GET /tenants/{tenant_id}/webhook`: the configuration, 404 when none is set.
pub async fn get(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, false).await?;
    let tenant = g.tenant.tenant();
    let out = retry(&RetryPolicy::default(), classify, || {
        deps.ddb
            .get_item()
            .table_name(&deps.entity_table)
            .key(table::PARTITION_KEY, s(tenant.partition_key()))
            .key(table::SORT_KEY, s(table::WEBHOOK_CONFIG_SORT_KEY))
            .consistent_read(true)
            .send()
    })
    .await
    .map_err(dynamo_problem)?;
    let item = out.item.ok_or_else(|| Problem::new(404).with_detail(format!("no webhook set for tenant {tenant}")))?;
    let config: WebhookConfig = from_item(&item)?;
    Ok(with_rate_headers(cacheable_json(&req, &config), g.rate.as_ref()))
}

/// `DELETE /tenants/{tenant_id}/webhook`: 204, also when no webhook was set (idempotent by nature).
pub async fn delete(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, false).await?;
    let tenant = g.tenant.tenant();
    retry(&RetryPolicy::default(), classify, || {
        deps.ddb
            .delete_item()
            .table_name(&deps.entity_table)
            .key(table::PARTITION_KEY, s(tenant.partition_key()))
            .key(table::SORT_KEY, s(table::WEBHOOK_CONFIG_SORT_KEY))
            .send()
    })
    .await
    .map_err(dynamo_problem)?;
    Ok(with_rate_headers(Response::empty(204), g.rate.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn urls() {
        for ok in ["https://hooks.example.com/x", "https://example.com", "https://[2001:db8::1]:8443/h?a=1"] {
            assert!(check_url(ok, false).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://example.com/hook", "the scheme must be https"),
            ("ftp://example.com/hook", "the scheme must be https"),
            ("HTTPS ://x", "not a URL"),
            ("/relative/path", "the scheme must be https"),
            ("https://user:pw@example.com/", "credentials in the URL"),
            ("example.com/hook", "not a URL"),
        ] {
            let p = check_url(bad, false).err().and_then(|p| p.detail);
            assert_eq!(
                p,
                Some(format!("/url: {bad:?} is not allowed: {why}; expected an https:// URL with a host")),
                "{bad}"
            );
        }
    }

    /// The local opt-in admits plain http on loopback only: never another host, never without the opt-in.
    #[test]
    fn loopback_http_only_when_allowed() {
        for local in ["http://127.0.0.1:4000/hooks", "http://localhost:4000/", "http://LOCALHOST:1/x"] {
            assert!(check_url(local, true).is_ok(), "{local}");
            assert!(check_url(local, false).is_err(), "{local}");
        }
        for bad in ["http://example.com/hook", "http://10.0.0.1/", "http://127.0.0.2/", "http://[::1]:80/"] {
            assert!(check_url(bad, true).is_err(), "{bad}");
        }
    }
}
