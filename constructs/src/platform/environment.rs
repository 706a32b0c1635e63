//! The environment of each handler's function: the values of the variables `platform_types` says it reads.

use std::collections::BTreeMap;

use platform_types::env;
use platform_types::routes::Handler;
use synth::Val;

use super::context::Context;
use super::regional::Resources;
use crate::elasticache::ServerlessCache;
use crate::opensearchservice::Domain;
use crate::sqs::Queue;

/// The environment of `handler`: every variable of `platform_types::routes::handler_env` that the platform has
/// a value for (optional ones without a configured value are left out: the handler's default applies), plus the
/// usage plan key ids when usage plans are enforced.
pub(super) fn environment(handler: Handler, ctx: &Context, resources: &Resources) -> BTreeMap<String, Val<String>> {
    let mut variables = BTreeMap::new();
    for name in platform_types::routes::handler_env(handler) {
        if let Some(value) = value(name, handler, ctx, resources) {
            variables.insert((*name).to_owned(), value);
        }
    }
    let api_key_ids = &resources.api_key_ids;
    if handler == Handler::Authorizer && ctx.config.features.enforce_usage_plans && !api_key_ids.is_empty() {
        variables.insert(env::USAGE_PLAN_KEY_IDS.into(), usage_plan_key_ids(api_key_ids));
    }
    variables
}

/// The value of variable `name` for `handler`, when the platform has one.
fn value(name: &str, handler: Handler, ctx: &Context, resources: &Resources) -> Option<Val<String>> {
    let (config, data) = (ctx.config, &resources.data);
    match name {
        env::TABLE_NAME => Some(data.entities.name()),
        env::CONTROL_TABLE_NAME => Some(data.control.name()),
        env::EVENT_BUS_NAME => Some(Val::from(data.bus.name())),
        env::EXPORT_BUCKET_NAME => Some(data.exports.name()),
        env::UPLOAD_BUCKET_NAME => Some(data.uploads.bucket.name()),
        env::EXPORT_WORKFLOW_ARN => Some(super::workflow::export_workflow_arn(ctx)),
        env::JWT_SECRET_ARN => Some(data.jwt_secret.arn()),
        env::WEBHOOK_SECRET_ARN => Some(data.webhook_secret.arn()),
        env::OPENSEARCH_ENDPOINT => resources.network.search.as_ref().map(Domain::endpoint),
        // The hot-read cache's readers (API, authorizer) and its invalidator (stream processor), when Redis is on.
        env::REDIS_ENDPOINT => resources.network.cache.as_ref().map(ServerlessCache::endpoint),
        env::SERVICE_NAME => Some(Val::from(handler.binary())),
        env::METRICS_NAMESPACE => Some(Val::from(config.metrics_namespace.as_str())),
        env::LOG_LEVEL => Some(Val::from("info")),
        env::API_ROLE => handler.api_role().map(Val::from),
        env::RATE_LIMITS => {
            let limits: Vec<String> =
                config.tiers.iter().map(|t| format!("{}={}", t.name, t.requests_per_minute)).collect();
            Some(Val::from(limits.join(",").as_str()))
        }
        env::RATE_LIMIT_WINDOW_SECONDS => Some(Val::from("60")),
        env::JWT_ISSUER => config.jwt_issuer.as_deref().map(Val::from),
        env::JWT_AUDIENCE => config.jwt_audience.as_deref().map(Val::from),
        env::OIDC_ISSUER => config.oidc.as_ref().map(|o| Val::from(o.issuer.as_str())),
        env::OIDC_AUDIENCE => config.oidc.as_ref().map(|o| Val::from(o.audience.as_str())),
        env::OIDC_JWKS_URL => config.oidc.as_ref().map(|o| Val::from(o.jwks_url.as_str())),
        env::USAGE_PLAN_NAMES => tenant_usage_keys(config).then(|| usage_plan_names(ctx)),
        env::QUEUE_URL => match handler {
            Handler::WebhookWorker => Some(data.webhook_deliveries.url()),
            Handler::Indexer => data.audit_indexing.as_ref().map(Queue::url),
            _ => None,
        },
        // The other optional variables keep the handlers' documented defaults.
        _ => None,
    }
}

/// True when tenants get their own usage plan keys: the feature, on a stage that enforces usage plans.
pub(super) fn tenant_usage_keys(config: &super::config::PlatformConfig) -> bool {
    config.features.enforce_usage_plans && config.features.tenant_usage_keys
}

/// `free=<plan name>,pro=<plan name>`: the usage plan of each tier by name (the Api stack names them
/// [`super::api::usage_plan_name`]); a literal, since the plans are deployed after the functions.
fn usage_plan_names(ctx: &Context) -> Val<String> {
    let pairs: Vec<String> =
        ctx.config.tiers.iter().map(|t| format!("{}={}", t.name, super::api::usage_plan_name(ctx, &t.name))).collect();
    Val::from(pairs.join(",").as_str())
}

/// `free=<id>,pro=<id>`: the usage plan key of each tier, which the authorizer returns for the tenant's tier.
fn usage_plan_key_ids(api_key_ids: &BTreeMap<String, Val<String>>) -> Val<String> {
    let mut parts = Vec::new();
    for (i, (tier, id)) in api_key_ids.iter().enumerate() {
        if i > 0 {
            parts.push(Val::from(","));
        }
        parts.push(Val::from(format!("{tier}=").as_str()));
        parts.push(id.clone());
    }
    Val::join("", parts)
}
