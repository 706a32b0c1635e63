//! The private network and what needs it: the VPC of the functions that reach the Redis cache or the search
//! domain, the cache, and the search domain. Each only when its feature is on.

use synth::{Scope, Val};

use super::context::Context;
use super::error::PlatformError;
use crate::common::suppress;
use crate::ec2::{SecurityGroup, Vpc, VpcProps};
use crate::elasticache::{ServerlessCache, ServerlessCacheProps};
use crate::iam::{Principal, Role, RoleProps};
use crate::kms::Key;
use crate::opensearchservice::{DedicatedMasters, Domain, DomainProps};
use crate::rules::RuleId;

/// What the network step made.
pub(super) struct Network {
    /// The VPC and the functions' security group, when Redis or search is on.
    pub vpc: Option<FunctionsVpc>,
    /// The Redis cache of the API functions, when `Features::redis` is on.
    pub cache: Option<ServerlessCache>,
    /// The audit search domain, when `Features::search` is on.
    pub search: Option<Domain>,
}

/// A VPC and the security group its functions run in.
pub(super) struct FunctionsVpc {
    pub vpc: Vpc,
    pub security_group: SecurityGroup,
}

/// The VPC, cache and search domain the features ask for, into `scope`, encrypted with `key`.
pub(super) fn build(scope: &mut Scope, ctx: &Context, key: &Key) -> Result<Network, PlatformError> {
    let features = &ctx.config.features;
    if !(features.redis || features.search) {
        return Ok(Network { vpc: None, cache: None, search: None });
    }
    let functions_vpc = vpc(scope, ctx, key)?;
    let cache = if features.redis { Some(cache(scope, &functions_vpc, key)?) } else { None };
    let search = if features.search { Some(search(scope, ctx, &functions_vpc.vpc, key)?) } else { None };
    Ok(Network { vpc: Some(functions_vpc), cache, search })
}

/// A VPC without a route to the internet: AWS APIs through interface endpoints, functions allowed HTTPS out.
fn vpc(scope: &mut Scope, ctx: &Context, key: &Key) -> Result<FunctionsVpc, PlatformError> {
    let mut endpoints: Vec<String> = crate::ec2::DEFAULT_INTERFACE_ENDPOINTS.iter().map(|s| (*s).to_owned()).collect();
    // Functions in the VPC send their traces through X-Ray's endpoint.
    endpoints.push("xray".into());
    let features = &ctx.config.features;
    if features.redis {
        // The authorizer reads the cache, so it runs in the VPC: it reads the JWT key from Secrets Manager, and
        // with usage plans enforced the tiers' API key values from API Gateway's management API
        // (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-apis.html> lists
        // `apigateway` among the interface endpoints). DynamoDB goes through the gateway endpoint and the stream
        // processor's PutEvents through `events`.
        endpoints.push("secretsmanager".into());
        if features.enforce_usage_plans {
            endpoints.push("apigateway".into());
        }
    }
    let vpc = Vpc::new(
        scope,
        "Network",
        VpcProps { interface_endpoints: endpoints, log_key: Some(key.clone()), ..VpcProps::default() },
    )?;
    let security_group =
        SecurityGroup::new(scope, "FunctionsSecurityGroup", &vpc, "Lambda functions in the VPC", false)?;
    security_group.allow_egress_cidr(
        scope,
        "HttpsOut",
        Val::from("0.0.0.0/0"),
        443,
        "HTTPS to AWS APIs through the VPC endpoints: the subnets have no route to the internet",
    );
    Ok(FunctionsVpc { vpc, security_group })
}

/// Serverless Redis in the VPC, reachable from the functions' security group.
fn cache(scope: &mut Scope, functions_vpc: &FunctionsVpc, key: &Key) -> Result<ServerlessCache, PlatformError> {
    let cache = ServerlessCache::new(
        scope,
        "Cache",
        &functions_vpc.vpc,
        ServerlessCacheProps { encryption_key: Some(key.clone()), ..ServerlessCacheProps::default() },
    )?;
    cache.allow_from(scope, "FromFunctions", &functions_vpc.security_group);
    Ok(cache)
}

/// The OpenSearch domain of the audit search model: production gets dedicated masters and two zones.
fn search(scope: &mut Scope, ctx: &Context, vpc: &Vpc, key: &Key) -> Result<Domain, PlatformError> {
    let admin = Role::new(
        scope,
        "SearchAdmin",
        Principal::AccountRoot,
        RoleProps {
            description: Some(
                "Fine-grained access control master of the search domain: maps the indexer's role after deploy".into(),
            ),
            ..RoleProps::default()
        },
    )?;
    let production = ctx.config.production();
    let id = "Search";
    let domain = Domain::new(
        scope,
        id,
        vpc,
        admin.arn(),
        DomainProps {
            zones: production.then_some(2),
            instance_count: Some(if production { 2 } else { 1 }),
            instance_type: production.then(|| "m6g.large.search".into()),
            dedicated_masters: production
                .then(|| DedicatedMasters { instance_type: "m6g.large.search".into(), count: 3 }),
            encryption_key: Some(key.clone()),
            ..DomainProps::default()
        },
    )?;
    if !production {
        let logical_id = scope.logical_id_for(id);
        let entry = scope
            .stack_mut()
            .resource_mut(&logical_id)
            .ok_or_else(|| PlatformError::Wiring(format!("the search domain {logical_id} is not in its stack")))?;
        let why =
            "non-production stage: one data node in one zone; the prod stage has three dedicated masters and two zones";
        suppress(entry, RuleId::Os4, why);
        suppress(entry, RuleId::Os7, why);
    }
    Ok(domain)
}
