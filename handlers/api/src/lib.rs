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
//! | get order / subscription | 2 (`UpdateItem` rate counter, `GetItem`); a cache hit 1 (`UpdateItem`) + 1 Redis `GET` |
//! | list orders / subscriptions / API keys | 2 (`UpdateItem`, `Query`) |
//! | create API key | 1 (`TransactWriteItems`: key + rate counter); with per-tenant usage plan keys also 2 API Gateway calls (`CreateApiKey`, `CreateUsagePlanKey`) and `GetUsagePlans` once per sandbox |
//! | revoke API key | 2 (`UpdateItem` rate counter, `UpdateItem`); with per-tenant usage plan keys also `GetApiKeys` + `DeleteApiKey` |
//! | set webhook (`PUT`, naturally idempotent) | 1 (`TransactWriteItems`: configuration + rate counter) |
//! | get webhook | 2 (`UpdateItem` rate counter, `GetItem`) |
//! | delete webhook | 2 (`UpdateItem` rate counter, `DeleteItem`) |
//! | create invoice (first, replay, 422, 429) | **1** (`TransactWriteItems`: invoice + idempotency record + rate counter) |
//! | get invoice | 2 (`UpdateItem` rate counter, `GetItem`); the PDF URL is presigned locally (no call) |
//! | create export | 1 (`UpdateItem` rate counter), then `StartExecution` (idempotent by execution name); a replay of a finished export adds `DescribeExecution` |
//! | get export | 1 (`UpdateItem` rate counter), then `DescribeExecution` |
//! | create upload (first, replay, 422, 429) | **1** (`TransactWriteItems`: pending upload + idempotency record + rate counter); the `PUT` is presigned locally (no call) |
//! | get upload | 2 (`UpdateItem` rate counter, `GetItem`) |

pub mod api_keys;
pub mod exports;
pub mod gateway;
pub mod invoices;
pub mod items;
pub mod orders;
pub mod subscriptions;
pub mod uploads;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use platform_types::env;
use platform_types::routes::{Handler, routes};
use powertools::cache::Cache;
use powertools::clock::SharedClock;
use powertools::config::{ConfigError, Env};
use powertools::http::HttpClient;
use powertools::idempotency::{Idempotency, IdempotencyConfig};
use powertools::observability::{Metrics, Unit};
use powertools::problem::Problem;
use powertools::ratelimit::{Limit, RateDecision, RateLimitConfig, RateLimiter};
use powertools::router::{Request, Response, Router};
use powertools::signed::Signer;
use powertools::tenant::{TenantContext, Tier, context_keys};

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
    /// The hot-read cache of `GET` order / subscription (`REDIS_ENDPOINT`), `None` when the stage has none.
    pub cache: Option<Cache>,
    /// Tenants' own usage plan keys (`USAGE_PLAN_NAMES`), `None` when the stage has none.
    pub gateway: Option<Arc<gateway::GatewayKeys>>,
    /// Accept `http://` webhook URLs on loopback (`WEBHOOK_ALLOW_HTTP_LOOPBACK`; local receivers only).
    pub allow_http_loopback_webhooks: bool,
    /// Step Functions calls and S3 presigning ([`exports`], [`invoices`]).
    pub aws: AwsCalls,
}

/// What the export and invoice routes call besides DynamoDB: Step Functions and S3, through signed requests
/// (`powertools::signed`, no SDK clients: the zip budget).
#[derive(Clone, Debug, Default)]
pub struct AwsCalls {
    /// `None` without credentials (tests of other routes): the export routes then answer 500.
    pub signer: Option<Signer>,
    /// [`env::EXPORT_WORKFLOW_ARN`].
    pub export_workflow_arn: String,
    /// [`env::EXPORT_BUCKET_NAME`]: where the invoice PDFs are.
    pub bucket: String,
    /// Lifetime of an invoice PDF's presigned URL ([`env::INVOICE_URL_TTL_SECONDS`]); default 15 minutes.
    pub invoice_url_ttl: Duration,
    /// [`env::UPLOAD_BUCKET_NAME`]: where presigned uploads go (the write function's; `None` on the read one, and
    /// the create answers 500 without it).
    pub upload_bucket: Option<String>,
    /// Built on first use: its trust store costs milliseconds that a cold start of a DynamoDB route need not pay.
    pub http: Arc<tokio::sync::OnceCell<HttpClient>>,
}

impl AwsCalls {
    /// The HTTP client for Step Functions (built once per sandbox).
    pub async fn http(&self) -> Result<&HttpClient, Problem> {
        self.http
            .get_or_try_init(|| async { HttpClient::new(Duration::from_secs(5)) })
            .await
            .map_err(|e| crate::items::internal(format!("http client: {e}")))
    }

    /// The signer, or a 500 when the function has no credentials configured.
    pub fn signer(&self) -> Result<&Signer, Problem> {
        self.signer.as_ref().ok_or_else(|| crate::items::internal("no AWS credentials configured"))
    }
}

/// An optional positive number of seconds, `default` when unset.
fn opt_secs(env: &Env<'_>, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let secs = env.parse_with(name, "a positive number of seconds", |v| v.parse::<u64>().ok().filter(|n| *n > 0))?;
    Ok(Duration::from_secs(secs.unwrap_or(default)))
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
            // Creates also claim their key in the entity table: it is a global table on a stage serving from more
            // than one region, where a retry in another region must replay (powertools::idempotency, "Regions").
            idempotency: Idempotency::new(
                ddb.clone(),
                IdempotencyConfig {
                    replicated_table: Some(entity_table.into()),
                    ..IdempotencyConfig::new(control_table)
                },
            )
            .with_clock(clock.clone()),
            limiter: RateLimiter::new(ddb.clone(), RateLimitConfig::new(control_table)).with_clock(clock.clone()),
            ddb,
            entity_table: entity_table.into(),
            limits: TierLimits::default(),
            role,
            clock,
            cache: None,
            gateway: None,
            allow_http_loopback_webhooks: false,
            aws: AwsCalls { invoice_url_ttl: Duration::from_secs(900), ..AwsCalls::default() },
        }
    }

    /// From the env vars listed in `platform_types::routes::handler_env(Handler::ApiWrite)`.
    pub fn from_env(ddb: aws_sdk_dynamodb::Client, vars: &Env<'_>) -> Result<Deps, ConfigError> {
        let role = Role::parse(&vars.required(env::API_ROLE)?)?;
        let mut d = Deps::new(
            ddb,
            &vars.required(env::TABLE_NAME)?,
            &vars.required(env::CONTROL_TABLE_NAME)?,
            role,
            powertools::clock::system(),
        );
        if let Some(s) = vars.optional(env::RATE_LIMITS) {
            d.limits = TierLimits::parse(&s)?;
        }
        let window = opt_secs(vars, env::RATE_LIMIT_WINDOW_SECONDS, 60)?;
        let mut rl = RateLimitConfig::new(d.limiter_table());
        rl.window = window;
        d.limiter = RateLimiter::new(d.ddb.clone(), rl).with_clock(d.clock.clone());
        let mut ic = d.idempotency.config().clone();
        ic.record_ttl = opt_secs(vars, env::IDEMPOTENCY_TTL_SECONDS, 24 * 3600)?;
        d.idempotency = Idempotency::new(d.ddb.clone(), ic).with_clock(d.clock.clone());
        d.cache = Cache::from_env(vars)?;
        d.gateway = gateway::GatewayKeys::from_env(vars)?.map(Arc::new);
        d.allow_http_loopback_webhooks =
            vars.parse(env::WEBHOOK_ALLOW_HTTP_LOOPBACK, "true or false")?.unwrap_or(false);
        d.aws.export_workflow_arn = vars.required(env::EXPORT_WORKFLOW_ARN)?;
        d.aws.bucket = vars.required(env::EXPORT_BUCKET_NAME)?;
        d.aws.invoice_url_ttl = opt_secs(vars, env::INVOICE_URL_TTL_SECONDS, 900)?;
        d.aws.upload_bucket = vars.optional(env::UPLOAD_BUCKET_NAME).filter(|b| !b.is_empty());
        if d.aws.invoice_url_ttl > powertools::signed::MAX_PRESIGN_TTL {
            return Err(ConfigError::Invalid {
                var: env::INVOICE_URL_TTL_SECONDS,
                value: d.aws.invoice_url_ttl.as_secs().to_string(),
                expected: "at most 604800 seconds (7 days, the SigV4 presigning limit)",
            });
        }
        // Lambda always sets the credentials; a local run without them still serves the DynamoDB routes.
        d.aws.signer = Signer::from_env(vars).ok();
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
            "getWebhook" => r.route(route.method, route.path, route.operation, webhooks::get),
            "setWebhook" => r.route(route.method, route.path, route.operation, webhooks::set),
            "deleteWebhook" => r.route(route.method, route.path, route.operation, webhooks::delete),
            "createInvoice" => r.route(route.method, route.path, route.operation, invoices::create),
            "getInvoice" => r.route(route.method, route.path, route.operation, invoices::get),
            "createExport" => r.route(route.method, route.path, route.operation, exports::create),
            "getExport" => r.route(route.method, route.path, route.operation, exports::get),
            "createUpload" => r.route(route.method, route.path, route.operation, uploads::create),
            "getUpload" => r.route(route.method, route.path, route.operation, uploads::get),
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

/// The tenant the authorizer put in a proxy event, for the metrics' `tenant` dimension (requests read it
/// through [`Request::tenant`], which also validates it).
pub fn tenant_of(event: &ApiGatewayProxyRequest) -> Option<String> {
    event.request_context.authorizer.fields.get(context_keys::TENANT_ID).and_then(|v| v.as_str().map(String::from))
}

/// What one invocation did, for its EMF line.
#[derive(Clone, Debug, PartialEq)]
pub struct Invocation<'a> {
    pub request_id: &'a str,
    pub tenant: Option<&'a str>,
    pub status: u16,
    pub latency: Duration,
    /// DynamoDB requests sent (every attempt is one round trip).
    pub dynamodb_calls: u32,
}

impl Invocation<'_> {
    /// Adds the invocation's metrics: `Requests`, one of `Successes`, `Errors4xx` or `Errors5xx`, `Latency` and
    /// `DynamoDBCalls`, with the `tenant` dimension when the request had one, and the request id and status as
    /// searchable properties.
    pub fn record(&self, m: &mut Metrics) {
        if let Some(t) = self.tenant {
            m.dimension("tenant", t);
        }
        m.add("Requests", Unit::Count, 1.0);
        let outcome = match self.status {
            500.. => "Errors5xx",
            400.. => "Errors4xx",
            _ => "Successes",
        };
        m.add(outcome, Unit::Count, 1.0);
        m.add("Latency", Unit::Milliseconds, self.latency.as_secs_f64() * 1000.0);
        m.add("DynamoDBCalls", Unit::Count, f64::from(self.dynamodb_calls));
        m.property("request_id", self.request_id);
        m.property("status", self.status);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_route_is_implemented() {
        let contract = |keep: fn(Handler) -> bool| -> Vec<(&'static str, &'static str, &'static str)> {
            routes().iter().filter(|r| keep(r.handler)).map(|r| (r.method, r.path, r.operation)).collect()
        };
        let served = |role| router(role).routes();
        assert_eq!(served(Role::All), contract(|_| true));
        assert_eq!(served(Role::Read), contract(|h| h == Handler::ApiRead));
        assert_eq!(served(Role::Write), contract(|h| h == Handler::ApiWrite));
    }

    #[test]
    fn tier_limits_parse() {
        let l = TierLimits::parse("free=5, enterprise=50").unwrap();
        assert_eq!((l.free.requests, l.pro.requests, l.enterprise.requests), (5, 1000, 50));
        assert_eq!(l.enterprise.shards, 4);
        for bad in ["free", "gold=1", "free=x", "free=-1"] {
            assert_eq!(
                TierLimits::parse(bad).unwrap_err().to_string(),
                format!(
                    "environment variable RATE_LIMITS={bad:?} is invalid: expected comma-separated tier=requests \
                     pairs, tiers free, pro, enterprise"
                )
            );
        }
        assert_eq!(
            Role::parse("admin").unwrap_err(),
            ConfigError::Invalid { var: "API_ROLE", value: "admin".into(), expected: "read, write or all" }
        );
    }

    fn offline_client() -> aws_sdk_dynamodb::Client {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    }

    /// Both API functions start with exactly the variables the platform gives them (`routes::handler_env`): every
    /// variable `Deps::from_env` requires is in the list. (The write function once lacked the export workflow's:
    /// every request of it failed at start, which only the local platform showed.)
    #[test]
    fn each_api_function_starts_with_its_listed_environment() {
        for (handler, role) in [(Handler::ApiWrite, "write"), (Handler::ApiRead, "read")] {
            let pairs: Vec<(&str, &str)> = platform_types::routes::handler_env(handler)
                .iter()
                .filter_map(|&name| {
                    let value = match name {
                        env::API_ROLE => role,
                        env::TABLE_NAME
                        | env::CONTROL_TABLE_NAME
                        | env::EXPORT_BUCKET_NAME
                        | env::UPLOAD_BUCKET_NAME => "a-name",
                        env::EXPORT_WORKFLOW_ARN => "arn:aws:states:eu-west-1:123456789012:stateMachine:x-export",
                        // Optional settings with their own parsers (tested above): left unset here.
                        _ => return None,
                    };
                    Some((name, value))
                })
                .collect();
            if let Err(e) = Deps::from_env(offline_client(), &Env::from_pairs(&pairs)) {
                panic!("{handler:?} cannot start with its listed environment: {e}");
            }
        }
    }

    #[test]
    fn deps_from_env() {
        let required = [
            ("API_ROLE", "read"),
            ("TABLE_NAME", "entities"),
            ("CONTROL_TABLE_NAME", "control"),
            ("EXPORT_WORKFLOW_ARN", "arn:aws:states:eu-west-1:123456789012:stateMachine:platform-dev-export"),
            ("EXPORT_BUCKET_NAME", "exports"),
        ];
        let d = Deps::from_env(offline_client(), &Env::from_pairs(&required)).unwrap();
        assert_eq!((d.role, d.entity_table.as_str()), (Role::Read, "entities"));
        assert_eq!((d.limiter.config().table.as_str(), d.idempotency.config().table.as_str()), ("control", "control"));
        assert_eq!(d.limits, TierLimits::default());
        assert_eq!(d.limiter.config().window, Duration::from_secs(60));
        assert_eq!(d.idempotency.config().record_ttl, Duration::from_secs(86_400));
        assert!(d.cache.is_none());
        assert_eq!(d.aws.bucket, "exports");
        assert_eq!(d.aws.invoice_url_ttl, Duration::from_secs(900));
        assert!(d.aws.signer.is_none(), "no credentials in this environment");

        let mut all = required.to_vec();
        all.extend([
            ("RATE_LIMITS", "free=7"),
            ("RATE_LIMIT_WINDOW_SECONDS", "10"),
            ("IDEMPOTENCY_TTL_SECONDS", "3600"),
            ("REDIS_ENDPOINT", "c-1.serverless.euw1.cache.amazonaws.com"),
        ]);
        let d = Deps::from_env(offline_client(), &Env::from_pairs(&all)).unwrap();
        assert_eq!(d.limits, TierLimits { free: Limit::new(7), ..TierLimits::default() });
        assert_eq!(d.limiter.config().window, Duration::from_secs(10));
        assert_eq!(d.idempotency.config().record_ttl, Duration::from_secs(3600));
        assert_eq!(d.cache.unwrap().endpoint(), "rediss://c-1.serverless.euw1.cache.amazonaws.com:6379");

        let err = |pairs: &[(&str, &str)]| Deps::from_env(offline_client(), &Env::from_pairs(pairs)).unwrap_err();
        assert_eq!(err(&required[1..]), ConfigError::Missing("API_ROLE"));
        assert_eq!(err(&required[..2]), ConfigError::Missing("CONTROL_TABLE_NAME"));
        let mut zero = required.to_vec();
        zero.push(("RATE_LIMIT_WINDOW_SECONDS", "0"));
        assert_eq!(
            err(&zero),
            ConfigError::Invalid {
                var: "RATE_LIMIT_WINDOW_SECONDS",
                value: "0".into(),
                expected: "a positive number of seconds"
            }
        );
    }

    #[test]
    fn invocation_metrics() {
        let emf = |status: u16, tenant: Option<&str>| -> serde_json::Value {
            let mut m = Metrics::new("Platform", "api");
            let latency = Duration::from_micros(2500);
            Invocation { request_id: "req-1", tenant, status, latency, dynamodb_calls: 1 }.record(&mut m);
            serde_json::from_str(&m.render(1_700_000_000_000)[0]).unwrap()
        };
        assert_eq!(
            emf(201, Some("acme")),
            serde_json::json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_000u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Platform",
                        "Dimensions": [["service", "tenant"]],
                        "Metrics": [
                            {"Name": "DynamoDBCalls", "Unit": "Count"},
                            {"Name": "Latency", "Unit": "Milliseconds"},
                            {"Name": "Requests", "Unit": "Count"},
                            {"Name": "Successes", "Unit": "Count"},
                        ],
                    }],
                },
                "service": "api",
                "tenant": "acme",
                "request_id": "req-1",
                "status": 201,
                "DynamoDBCalls": 1.0,
                "Latency": 2.5,
                "Requests": 1.0,
                "Successes": 1.0,
            })
        );
        let outcome = |status| {
            let doc = emf(status, None);
            let names: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["Name"].as_str().unwrap())
                .filter(|n| ["Successes", "Errors4xx", "Errors5xx"].contains(n))
                .collect();
            (names.join(","), doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"].clone())
        };
        let service_only = serde_json::json!([["service"]]);
        assert_eq!(outcome(304), ("Successes".into(), service_only.clone()));
        assert_eq!(outcome(400), ("Errors4xx".into(), service_only.clone()));
        assert_eq!(outcome(499), ("Errors4xx".into(), service_only.clone()));
        assert_eq!(outcome(500), ("Errors5xx".into(), service_only));
    }

    #[test]
    fn tenant_of_the_authorizer_context() {
        let mut e: ApiGatewayProxyRequest = serde_json::from_str(testkit::fixtures::APIGW_PROXY_REQUEST).unwrap();
        assert_eq!(tenant_of(&e), None);
        e.request_context.authorizer.fields.insert("tenantId".into(), serde_json::json!("acme"));
        assert_eq!(tenant_of(&e).as_deref(), Some("acme"));
    }
}
