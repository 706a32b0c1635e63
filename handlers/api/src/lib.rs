//! The platform API: one Lambda behind API Gateway's REST proxy integration, deployed twice (read and write
//! halves, [`Role`]).
//!
//! Every request goes through the same gate ([`gate`]): tenant from the authorizer context only (401 if
//! absent), the path's `{tenant_id}` must be that tenant (403), then the tenant's rate limit for the route
//! (429). Bodies are validated against the same JSON Schema API Gateway's models are generated from.
//!
//! ## DynamoDB round trips per request
//!
//! | operation | round trips |
//! |---|---|
//! | create order / subscription (first, replay, 422, 429) | **1** (`TransactWriteItems`: item + idempotency record + rate counter) |
//! | upgrade subscription | 2 (`GetItem`, `TransactWriteItems`); the replay of an applied upgrade 2 (`GetItem` of the item, then of the record) |
//! | get order / subscription | 2 (`UpdateItem` rate counter, `GetItem`) |
//! | list orders / subscriptions / API keys | 2 (`UpdateItem`, `Query`) |
//! | create API key | 1 (`TransactWriteItems`: key + rate counter) |
//! | revoke API key | 2 (`UpdateItem` rate counter, `UpdateItem`) |

pub mod api_keys;
pub mod items;
pub mod orders;
pub mod subscriptions;

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use platform_types::env;
use platform_types::routes::{Handler, routes};
use powertools::clock::SharedClock;
use powertools::idempotency::{Idempotency, IdempotencyConfig};
use powertools::problem::Problem;
use powertools::ratelimit::{Limit, RateDecision, RateLimitConfig, RateLimiter};
use powertools::router::{Request, Response, Router};
use powertools::tenant::{TenantContext, Tier};

/// Which routes this deployment serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Read,
    Write,
    /// Both halves (local runs and tests).
    All,
}

impl Role {
    pub fn parse(s: &str) -> Result<Role, ConfigError> {
        match s {
            "read" => Ok(Role::Read),
            "write" => Ok(Role::Write),
            "all" => Ok(Role::All),
            other => {
                Err(ConfigError::Invalid { var: env::API_ROLE, value: other.into(), expected: "read, write or all" })
            }
        }
    }
    fn serves(self, h: Handler) -> bool {
        matches!((self, h), (Role::All, _) | (Role::Read, Handler::ApiRead) | (Role::Write, Handler::ApiWrite))
    }
}

/// Startup configuration errors.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {var}={value:?} is invalid: expected {expected}")]
    Invalid { var: &'static str, value: String, expected: &'static str },
}

/// Rate limit per tier (requests per window per tenant per route).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierLimits {
    pub free: Limit,
    pub pro: Limit,
    pub enterprise: Limit,
}

impl Default for TierLimits {
    /// 100 / 1,000 / 10,000 per minute; enterprise tenants are the hot ones, so their counter has 4 shards
    /// (10,000 per minute is 167 writes per second, well within one partition, but bursts are not).
    fn default() -> Self {
        TierLimits { free: Limit::new(100), pro: Limit::new(1000), enterprise: Limit::sharded(10_000, 4) }
    }
}

impl TierLimits {
    pub fn for_tier(&self, t: Tier) -> Limit {
        match t {
            Tier::Free => self.free,
            Tier::Pro => self.pro,
            Tier::Enterprise => self.enterprise,
        }
    }

    /// Parses `free=100,pro=1000,enterprise=10000` (missing tiers keep their default).
    pub fn parse(s: &str) -> Result<TierLimits, ConfigError> {
        let bad = || ConfigError::Invalid {
            var: env::RATE_LIMITS,
            value: s.into(),
            expected: "comma-separated tier=requests pairs, tiers free, pro, enterprise",
        };
        let mut l = TierLimits::default();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (tier, n) = pair.split_once('=').ok_or_else(bad)?;
            let n: u32 = n.trim().parse().map_err(|_| bad())?;
            match Tier::parse(tier.trim()).map_err(|_| bad())? {
                Tier::Free => l.free.requests = n,
                Tier::Pro => l.pro.requests = n,
                Tier::Enterprise => l.enterprise.requests = n,
            }
        }
        Ok(l)
    }
}

/// Everything a request needs, built once per sandbox.
#[derive(Clone, Debug)]
pub struct Deps {
    pub ddb: aws_sdk_dynamodb::Client,
    pub entity_table: String,
    pub idempotency: Idempotency,
    pub limiter: RateLimiter,
    pub limits: TierLimits,
    pub role: Role,
    pub clock: SharedClock,
}

fn var(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name).map_err(|_| ConfigError::Missing(name))
}

fn opt_secs(name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    match std::env::var(name) {
        Err(_) => Ok(Duration::from_secs(default)),
        Ok(v) => v.parse::<u64>().ok().filter(|n| *n > 0).map(Duration::from_secs).ok_or(ConfigError::Invalid {
            var: name,
            value: v,
            expected: "a positive number of seconds",
        }),
    }
}

impl Deps {
    /// Builds the dependencies with explicit settings (tests, benches).
    pub fn new(
        ddb: aws_sdk_dynamodb::Client,
        entity_table: &str,
        control_table: &str,
        role: Role,
        clock: SharedClock,
    ) -> Deps {
        Deps {
            idempotency: Idempotency::new(ddb.clone(), IdempotencyConfig::new(control_table)).with_clock(clock.clone()),
            limiter: RateLimiter::new(ddb.clone(), RateLimitConfig::new(control_table)).with_clock(clock.clone()),
            ddb,
            entity_table: entity_table.into(),
            limits: TierLimits::default(),
            role,
            clock,
        }
    }

    /// From the env vars listed in `platform_types::routes::handler_env(Handler::ApiWrite)`.
    pub fn from_env(ddb: aws_sdk_dynamodb::Client) -> Result<Deps, ConfigError> {
        let role = Role::parse(&var(env::API_ROLE)?)?;
        let mut d =
            Deps::new(ddb, &var(env::TABLE_NAME)?, &var(env::CONTROL_TABLE_NAME)?, role, powertools::clock::system());
        if let Ok(s) = std::env::var(env::RATE_LIMITS) {
            d.limits = TierLimits::parse(&s)?;
        }
        let window = opt_secs(env::RATE_LIMIT_WINDOW_SECONDS, 60)?;
        let mut rl = RateLimitConfig::new(d.limiter_table());
        rl.window = window;
        d.limiter = RateLimiter::new(d.ddb.clone(), rl).with_clock(d.clock.clone());
        let mut ic = d.idempotency.config().clone();
        ic.record_ttl = opt_secs(env::IDEMPOTENCY_TTL_SECONDS, 24 * 3600)?;
        d.idempotency = Idempotency::new(d.ddb.clone(), ic).with_clock(d.clock.clone());
        Ok(d)
    }

    fn limiter_table(&self) -> String {
        self.idempotency.config().table.clone()
    }
}

/// The authenticated, authorized, rate-checked context of one request.
pub struct Gate {
    pub tenant: TenantContext,
    pub limit: Limit,
    /// The rate decision when the counter was already incremented (non-transactional routes).
    pub rate: Option<RateDecision>,
}

/// Tenant from the authorizer (401), path tenant must match (403), and, unless `transactional` (the caller puts
/// the counter in its own transaction), the rate limit (429).
pub async fn gate(deps: &Deps, req: &Request, transactional: bool) -> Result<Gate, Problem> {
    let tenant = req.tenant()?;
    tracing::Span::current().record("tenant_id", tenant.tenant().as_str());
    let path_tenant: String = req.path_param("tenant_id")?;
    tenant.authorize_path_tenant(&path_tenant)?;
    let limit = deps.limits.for_tier(tenant.tier());
    let rate = if transactional {
        None
    } else {
        let d = deps.limiter.check(tenant.tenant(), req.operation, limit).await.map_err(|e| e.to_problem())?;
        if let Some(p) = d.to_problem() {
            return Err(p);
        }
        Some(d)
    };
    Ok(Gate { tenant, limit, rate })
}

/// Adds the RateLimit headers of `d` to a response.
pub fn with_rate_headers(mut r: Response, d: Option<&RateDecision>) -> Response {
    if let Some(d) = d {
        for (k, v) in d.headers() {
            r = r.with_header(k, v);
        }
    }
    r
}

/// The router of a role: only the routes of `platform_types::routes()` that the role serves.
pub fn router(role: Role) -> Router<Arc<Deps>> {
    let mut r = Router::new();
    for route in routes() {
        if !role.serves(route.handler) {
            continue;
        }
        r = match route.operation {
            "listOrders" => r.route(route.method, route.path, route.operation, orders::list),
            "createOrder" => r.route(route.method, route.path, route.operation, orders::create),
            "getOrder" => r.route(route.method, route.path, route.operation, orders::get),
            "listSubscriptions" => r.route(route.method, route.path, route.operation, subscriptions::list),
            "createSubscription" => r.route(route.method, route.path, route.operation, subscriptions::create),
            "getSubscription" => r.route(route.method, route.path, route.operation, subscriptions::get),
            "upgradeSubscription" => r.route(route.method, route.path, route.operation, subscriptions::upgrade),
            "listApiKeys" => r.route(route.method, route.path, route.operation, api_keys::list),
            "createApiKey" => r.route(route.method, route.path, route.operation, api_keys::create),
            "revokeApiKey" => r.route(route.method, route.path, route.operation, api_keys::revoke),
            other => {
                // A route in the contract without an implementation: answer 501 rather than 404 so it shows.
                tracing::error!(operation = other, "route not implemented");
                r.route(route.method, route.path, route.operation, |_, _| async {
                    Err(Problem::new(501).with_detail("not implemented"))
                })
            }
        };
    }
    r
}

/// The API: one proxy event in, one proxy response out. Never fails: every error is a problem response.
pub async fn handle(deps: Arc<Deps>, router: &Router<Arc<Deps>>, event: ApiGatewayProxyRequest) -> Response {
    match Request::from_apigw(event) {
        Ok(req) => router.handle(deps, req).await,
        Err(p) => Response::problem(&p),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_route_is_implemented() {
        let r = router(Role::All);
        let implemented = r.routes();
        assert_eq!(implemented.len(), routes().len());
        for (method, path, op) in implemented {
            assert!(routes().iter().any(|x| x.method == method && x.path == path && x.operation == op));
        }
        assert!(router(Role::Read).routes().iter().all(|(m, _, _)| *m == "GET"));
        assert!(router(Role::Write).routes().iter().all(|(m, _, _)| *m != "GET"));
    }

    #[test]
    fn tier_limits_parse() {
        let l = TierLimits::parse("free=5, enterprise=50").unwrap();
        assert_eq!((l.free.requests, l.pro.requests, l.enterprise.requests), (5, 1000, 50));
        assert_eq!(l.enterprise.shards, 4);
        for bad in ["free", "gold=1", "free=x", "free=-1"] {
            let e = TierLimits::parse(bad).unwrap_err().to_string();
            assert!(e.contains("RATE_LIMITS") && e.contains(bad), "{e}");
        }
        assert!(Role::parse("admin").is_err());
    }
}
