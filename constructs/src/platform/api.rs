//! The REST API: its root in the Regional stack (the API, authorizer, request models, logging role, web ACL,
//! custom domain, one usage plan key per tier) and its stage in the Api stack (deployment, throttling, canary, web
//! ACL association, usage plans, base path mapping). The methods are in the route stacks (`routes`).

use std::collections::BTreeMap;

use synth::{Output, Scope, Val};

use super::config::DomainConfig;
use super::context::{Context, capitalize};
use super::error::PlatformError;
use super::regional::Resources;
use crate::apigateway::{
    ApiGatewayAccount, ApiKeySource, Authorizer, AuthorizerKind, Canary, CfnApiKey, CfnUsagePlanKey, DomainName, Model,
    Quota, QuotaPeriod, RestApi, RestApiProps, Stage, StageProps, Throttle, UsagePlanProps, cfn_usage_plan_key,
};
use crate::certificatemanager::Certificate;
use crate::kms::Key;
use crate::lambda::{CANARY_ALIAS, Function, LIVE_ALIAS};
use crate::wafv2::{WafScope, WebAcl, WebAclProps};

/// The stage variable naming the alias the API's integrations invoke when the stage has a canary: `live` on the
/// stage (moved by CodeDeploy), `canary` in the canary's override (the newest version, at once), so the canary's
/// share reaches a new version first.
pub(super) const ALIAS_VARIABLE: &str = "lambdaAlias";

/// The id of each tier's usage plan key, by tier name.
pub(super) type ApiKeyIds = BTreeMap<String, Val<String>>;

/// One usage plan key per tier, into `scope`: the authorizer names the tenant's when usage plans are enforced.
pub(super) fn usage_plan_keys(scope: &mut Scope, ctx: &Context) -> ApiKeyIds {
    let mut ids = BTreeMap::new();
    for tier in &ctx.config.tiers {
        let key = scope.add(
            &format!("{}ApiKey", capitalize(&tier.name)),
            CfnApiKey {
                enabled: Some(true.into()),
                description: Some(format!("Usage plan key of tier {}", tier.name).into()),
                ..CfnApiKey::new()
            },
        );
        ids.insert(tier.name.clone(), key.ref_());
    }
    ids
}

/// What the API root step made: what the route stacks add methods to and the stage deploys.
pub(super) struct ApiRoot {
    pub rest_api: RestApi,
    pub authorizer: Authorizer,
    /// The request models of the routes, by name.
    pub models: BTreeMap<String, Model>,
    /// The regional web ACL the stage is associated with.
    pub web_acl: WebAcl,
    /// The custom domain of the regional API, when there is a custom domain.
    pub domain: Option<DomainName>,
}

/// The API with its authorizer (`authorizer`'s function), request models, logging role, web ACL and custom
/// domain, into `scope`; the web ACL logs are encrypted with `key`.
pub(super) fn root(
    scope: &mut Scope,
    ctx: &Context,
    authorizer: &Function,
    key: &Key,
) -> Result<ApiRoot, PlatformError> {
    let config = ctx.config;
    let mut rest_api = RestApi::new(
        scope,
        "Api",
        RestApiProps {
            name: Some(api_name(ctx)),
            description: Some(format!("{} API ({})", config.name, config.stage)),
            api_key_source: if config.features.enforce_usage_plans {
                ApiKeySource::Authorizer
            } else {
                ApiKeySource::Header
            },
            alias_stage_variable: config.features.canary_percent.map(|_| ALIAS_VARIABLE.to_owned()),
            ..RestApiProps::default()
        },
    )?;
    let authorizer = rest_api.add_authorizer(
        scope,
        "Authorizer",
        authorizer,
        AuthorizerKind::Token { header: "Authorization".into(), validation_regex: None },
        platform_types::routes::AUTHORIZER_CACHE_TTL_SECONDS,
    )?;
    let mut models = BTreeMap::new();
    for route in &config.routes {
        if let Some((name, schema)) = &route.model
            && !models.contains_key(name)
        {
            models.insert(name.clone(), rest_api.add_model(scope, name, schema.clone())?);
        }
    }
    // The account's API Gateway logging role: the stage (in the Api stack, deployed after this one) logs with it.
    ApiGatewayAccount::new(scope, "ApiGatewayAccount")?;
    let web_acl = WebAcl::new(
        scope,
        "ApiWebAcl",
        WafScope::Regional,
        WebAclProps { log_key: Some(key.clone()), ..WebAclProps::default() },
    )?;
    let domain = match &config.features.domain {
        Some(d) => Some(custom_domain(scope, d)?),
        None => None,
    };
    scope.stack_mut().add_output("ApiId", Output::new(rest_api.id()).with_description("The REST API"));
    Ok(ApiRoot { rest_api, authorizer, models, web_acl, domain })
}

/// The regional API's custom domain with its certificate. Its DNS records are the region's latency records
/// (`failover.rs`): every serving region answers for the name.
fn custom_domain(scope: &mut Scope, domain: &DomainConfig) -> Result<DomainName, PlatformError> {
    let certificate = Certificate::new(scope, "ApiCertificate", &domain.api_domain, &domain.hosted_zone_id)?;
    Ok(DomainName::new(scope, "ApiDomain", &domain.api_domain, certificate.arn())?)
}

/// The deployment and stage of `api` with every method the route stacks added, into `scope` (a stack after the
/// route stacks): throttled, with its canary, web ACL, usage plans and custom domain mapping.
pub(super) fn stage(
    scope: &mut Scope,
    ctx: &Context,
    api: &ApiRoot,
    resources: &Resources,
) -> Result<Stage, PlatformError> {
    let config = ctx.config;
    let stage = api.rest_api.deploy(
        scope,
        &config.stage,
        StageProps {
            throttle: Some(Throttle { rate_limit: config.api_rate_limit, burst_limit: config.api_burst_limit }),
            canary: config.features.canary_percent.map(|p| Canary {
                percent_traffic: p,
                stage_variable_overrides: BTreeMap::from([(ALIAS_VARIABLE.to_owned(), CANARY_ALIAS.to_owned())]),
            }),
            variables: match config.features.canary_percent {
                Some(_) => BTreeMap::from([(ALIAS_VARIABLE.to_owned(), LIVE_ALIAS.to_owned())]),
                None => BTreeMap::new(),
            },
            log_key: Some(resources.data.key.clone()),
            account: None,
            // The per-route SLO alarms read the per-method metrics.
            detailed_metrics: config.slo.per_route_alarms,
            ..StageProps::default()
        },
    )?;
    api.web_acl.associate(scope, "ApiWebAclAssociation", stage.arn(), &[stage.logical_id()]);
    usage_plans(scope, ctx, &stage, &resources.api_key_ids)?;
    if let Some(domain) = &api.domain {
        domain.map(scope, "Mapping", &api.rest_api, &stage, None);
    }
    // The account-level logging role must exist before the stage logs: the Regional stack creates it and
    // this stack comes after Regional (it reads the API's id).
    scope.stack_mut().add_output("StageName", Output::new(Val::<String>::from(config.stage.as_str())));
    let url = Val::sub_with(
        "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}",
        [("Api", api.rest_api.id()), ("Stage", Val::from(config.stage.as_str()))],
    );
    scope.stack_mut().add_output("ApiUrl", Output::new(url).with_description("The stage's invoke URL"));
    Ok(stage)
}

/// The REST API's name (`<prefix>-api`): the `ApiName` dimension of its metrics.
pub(super) fn api_name(ctx: &Context) -> String {
    format!("{}-api", ctx.prefix)
}

/// The name of `tier`'s usage plan: what `Stage::add_usage_plan` names it (`${AWS::StackName}-<Tier>Plan` in the
/// Api stack, `<prefix>-api`), which the API's write function looks the plan up by (`USAGE_PLAN_NAMES`).
pub(super) fn usage_plan_name(ctx: &Context, tier: &str) -> String {
    format!("{}-api-{}", ctx.prefix, usage_plan_id(tier))
}

fn usage_plan_id(tier: &str) -> String {
    format!("{}Plan", capitalize(tier))
}

/// One usage plan per tier (its throttle and daily quota), with the tier's key.
fn usage_plans(scope: &mut Scope, ctx: &Context, stage: &Stage, api_key_ids: &ApiKeyIds) -> Result<(), PlatformError> {
    for tier in &ctx.config.tiers {
        let plan = stage.add_usage_plan(
            scope,
            &usage_plan_id(&tier.name),
            UsagePlanProps {
                throttle: Some(Throttle { rate_limit: tier.rate_limit, burst_limit: tier.burst_limit }),
                quota: Some(Quota { limit: tier.daily_quota, period: QuotaPeriod::Day }),
                description: Some(format!("Tier {}", tier.name)),
            },
        )?;
        let key_id = api_key_ids
            .get(&tier.name)
            .ok_or_else(|| PlatformError::Wiring(format!("tier {} has no usage plan key", tier.name)))?;
        scope.add(
            &format!("{}PlanKey", capitalize(&tier.name)),
            CfnUsagePlanKey::new(key_id.clone(), cfn_usage_plan_key::KeyType::ApiKey, plan.id()),
        );
    }
    Ok(())
}
