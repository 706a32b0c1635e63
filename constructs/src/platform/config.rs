//! The typed configuration of the platform, its embedded default, and the handler assets it deploys.

use std::collections::BTreeMap;
use std::path::Path;

use platform_types::routes::{Handler, IDEMPOTENCY_KEY_HEADER};
use schemars::JsonSchema;
use serde::Deserialize;
use synth::Asset;

use crate::dynamodb::Billing;

/// A tenant tier: its usage plan (API Gateway throttle and quota, shared by the tier) and the per-tenant, per-route
/// rate limit the API functions enforce in DynamoDB.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantTier {
    /// `free`, `pro`, `enterprise`: the names the authorizer puts in the request context (lowercase letters).
    #[schemars(regex(pattern = r"^[a-z]+$"))]
    pub name: String,
    /// Requests per second of the tier's usage plan (API Gateway steady-state rate).
    #[schemars(range(min = 0.0))]
    pub rate_limit: f64,
    /// Requests the tier's usage plan lets through at once above the rate (API Gateway burst).
    pub burst_limit: u32,
    /// Requests per day of the tier's usage plan.
    pub daily_quota: u32,
    /// Requests per minute per tenant per route (the handlers' `RATE_LIMITS`).
    pub requests_per_minute: u32,
}

/// One API route.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteConfig {
    pub method: String,
    pub path: String,
    pub operation: String,
    /// Which deployment of the `api` binary serves it (its grants and `API_ROLE`).
    pub handler: Handler,
    /// Request model: name and JSON Schema.
    pub model: Option<(String, serde_json::Value)>,
    /// Requires the `Idempotency-Key` header.
    pub idempotent: bool,
    /// Served by a function of its own (the handler's code, grants and environment) instead of the shared one.
    pub dedicated_function: bool,
}

impl RouteConfig {
    /// The routes of [`platform_types::routes::routes`], each served by its shared handler.
    pub fn platform_routes() -> Vec<RouteConfig> {
        platform_types::routes::routes()
            .into_iter()
            .map(|r| RouteConfig {
                method: r.method.to_owned(),
                path: r.path.to_owned(),
                operation: r.operation.to_owned(),
                handler: r.handler,
                model: r.request_model.map(|(n, s)| (n.to_owned(), serde_json::to_value(s).unwrap_or_default())),
                idempotent: r.idempotent,
                dedicated_function: false,
            })
            .collect()
    }

    /// Required request headers.
    pub fn required_headers(&self) -> Vec<String> {
        if self.idempotent { vec![IDEMPOTENCY_KEY_HEADER.to_owned()] } else { Vec::new() }
    }
}

/// A custom domain: `edge_domain` is served by CloudFront (certificate in us-east-1), `api_domain` by the regional
/// API (certificate in the platform's region); both names are in hosted zone `hosted_zone_id`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainConfig {
    /// The Route 53 hosted zone holding both names (`Z` and 1 to 31 more letters and digits).
    #[schemars(regex(pattern = r"^Z[A-Z0-9]{1,31}$"))]
    pub hosted_zone_id: String,
    /// The name clients use: served by CloudFront (e.g. `api.example.com`).
    #[schemars(regex(pattern = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"))]
    pub edge_domain: String,
    /// The regional API's own name, CloudFront's origin (e.g. `origin.api.example.com`).
    #[schemars(regex(pattern = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"))]
    pub api_domain: String,
}

/// Optional features. Each is off unless the stage file turns it on, but the CDN, which is on unless turned off.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Features {
    /// CloudFront in front of the API, with its us-east-1 `Edge` stack (the CLOUDFRONT web ACL, the edge
    /// certificate and the billing alarm, whose metrics exist only in us-east-1). Off: no `Edge` stack, clients call
    /// the regional API (still behind its regional web ACL), and no billing alarm; the local cloud has no CloudFront.
    pub cdn: bool,
    /// ElastiCache serverless Redis for hot reads (puts the API functions in a VPC).
    pub redis: bool,
    /// OpenSearch audit search model with its indexer (in a VPC).
    pub search: bool,
    /// Regions of data-only global-table replicas of the entity table (a key stack in each, nothing serving): a
    /// copy to restore from. A region that serves the API is listed in `regions` instead.
    pub replica_regions: Vec<String>,
    /// The custom domain of the API. Without it, CloudFront serves `*.cloudfront.net` with its default certificate.
    pub domain: Option<DomainConfig>,
    /// Provisioned concurrency of the request path (API read, API write, authorizer).
    pub provisioned_concurrency: Option<u32>,
    /// Methods require the usage plan key the authorizer returns (see `platform_types::env::USAGE_PLAN_KEY_IDS`).
    pub enforce_usage_plans: bool,
    /// With `enforce_usage_plans`: each tenant API key gets its own API Gateway API key in its tier's usage plan
    /// (the API's write function creates and deletes them, `platform_types::env::USAGE_PLAN_NAMES`), so one
    /// tenant's traffic cannot spend another's quota. Off on the local cloud: moto's CloudFormation creates no
    /// usage plans and the local gateway knows only the templates' keys.
    pub tenant_usage_keys: bool,
    /// Percent of stage traffic sent to the canary deployment (0 to 100).
    #[schemars(range(min = 0.0, max = 100.0))]
    pub canary_percent: Option<f64>,
    /// AWS WAF Bot Control on the CloudFront web ACL.
    pub bot_control: bool,
    /// How the request path's functions (API read, API write, authorizer) move to a new version: a CodeDeploy
    /// deployment of their `live` alias with this predefined configuration, rolled back when it fails or when the
    /// function's error or latency alarm goes off. Unset: no CodeDeploy, and an alias only with provisioned
    /// concurrency, moved at once.
    pub lambda_deployment: Option<crate::codedeploy::LambdaDeploymentConfig>,
}

impl Default for Features {
    fn default() -> Features {
        Features {
            cdn: true,
            redis: false,
            search: false,
            replica_regions: Vec::new(),
            domain: None,
            provisioned_concurrency: None,
            enforce_usage_plans: false,
            tenant_usage_keys: false,
            canary_percent: None,
            bot_control: false,
            lambda_deployment: None,
        }
    }
}

/// The service level objectives of the API: what the SLO alarms burn against (`[slo]` of a stage file).
/// Availability is the share of requests answered without a 5xx; latency the share answered within
/// `latency_p99_ms` (a p99 objective: 99 % of requests at most that slow). Both over 30 days, for the whole API and
/// for each route.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SloConfig {
    /// Percent of requests without a 5xx (default 99.9: a budget of 43 minutes of full outage a month). At most
    /// 99.95, the availability API Gateway and Lambda promise (<https://aws.amazon.com/api-gateway/sla/>,
    /// <https://aws.amazon.com/lambda/sla/>): a tighter objective would page on AWS's own budget.
    #[schemars(range(min = 90.0, max = 99.95))]
    pub availability_percent: f64,
    /// Milliseconds 99 % of requests are answered within, at API Gateway (default 1000). At most 29,000, API
    /// Gateway's integration timeout: a slower answer is a 504, an availability matter.
    #[schemars(range(min = 1, max = 29_000))]
    pub latency_p99_ms: u32,
    /// Objectives of single routes, by `METHOD /path` as the route table writes it (`"GET /tenants/{tenant_id}/orders"
    /// = { latency_p99_ms = 300 }`); a key left out takes the stage's.
    pub routes: BTreeMap<String, RouteObjective>,
    /// A burn-rate alarm per route (default true), on API Gateway's per-method metrics: the stage's detailed
    /// metrics are turned on for them (CloudWatch bills each method's metrics as custom metrics). Off: the
    /// API-wide objectives only.
    pub per_route_alarms: bool,
}

impl Default for SloConfig {
    fn default() -> SloConfig {
        SloConfig { availability_percent: 99.9, latency_p99_ms: 1000, routes: BTreeMap::new(), per_route_alarms: true }
    }
}

/// A route's own objectives; each unset one is the stage's.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteObjective {
    /// Percent of the route's requests without a 5xx.
    #[schemars(range(min = 90.0, max = 99.95))]
    pub availability_percent: Option<f64>,
    /// Milliseconds 99 % of the route's requests are answered within.
    #[schemars(range(min = 1, max = 29_000))]
    pub latency_p99_ms: Option<u32>,
}

impl SloConfig {
    /// The objectives of `route` (`METHOD /path`): its own where set, else the stage's.
    pub fn for_route(&self, method: &str, path: &str) -> (f64, u32) {
        let own = self.routes.get(&format!("{method} {path}"));
        (
            own.and_then(|o| o.availability_percent).unwrap_or(self.availability_percent),
            own.and_then(|o| o.latency_p99_ms).unwrap_or(self.latency_p99_ms),
        )
    }
}

/// An OpenID Connect issuer whose RS256/ES256 JWTs the authorizer accepts, beside the HS256 tokens of the stage's
/// signing secret (the authorizer's `OIDC_ISSUER`, `OIDC_AUDIENCE`, `OIDC_JWKS_URL`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The exact `iss` claim of the issuer's tokens (e.g. `https://login.example.com/`).
    #[schemars(regex(pattern = r"^https://[^\s]+$"))]
    pub issuer: String,
    /// The `aud` the tokens must carry (the API's client id or identifier at the issuer).
    #[schemars(length(min = 1, max = 256))]
    pub audience: String,
    /// The issuer's JWKS (`jwks_uri` of its discovery document), `https://` only: the keys decide who is let in.
    #[schemars(regex(pattern = r"^https://[^\s]+$"))]
    pub jwks_url: String,
}

/// The platform's configuration: what a stage file (`stages/<stage>.toml`) holds, plus the stage's name (the file's
/// name) and the routes (from `platform-types`, not configuration: a route is code).
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformConfig {
    /// Prefix of stack names (`platform`).
    #[serde(default = "default_name")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,19}$"))]
    pub name: String,
    /// `dev`, `prod`... `prod` turns on termination protection, dedicated search masters and zone awareness, and
    /// a year of event archive. The stage file's name, never a key of it.
    #[serde(skip)]
    pub stage: String,
    /// The primary region (e.g. `eu-west-1`). Its Regional stack holds the entity global table, and its stream
    /// processor publishes every write's event, wherever the write was made.
    #[schemars(regex(pattern = r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$"))]
    pub region: String,
    /// Every region serving the API, active-active, the primary `region` first (e.g. `["eu-west-1", "us-west-2"]`).
    /// Each gets the regional stacks (functions, API, cache, queues, bus, control table) over its replica of the
    /// entity table, a Route 53 latency record and a health check. Unset: `region` alone. More than one needs
    /// `features.domain` (the latency records' zone) and `features.cdn` (the origin group that fails reads over).
    #[serde(default)]
    pub regions: Vec<String>,
    /// The AWS account the stage deploys to (12 digits). Unset: the account of the credentials in use.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub account: Option<String>,
    /// Tenant tiers: usage plans and per-tenant rate limits.
    #[schemars(length(min = 1))]
    pub tiers: Vec<TenantTier>,
    #[serde(skip, default = "RouteConfig::platform_routes")]
    pub routes: Vec<RouteConfig>,
    /// How the tables' capacity is paid for: `"on-demand"` or `{ provisioned = { read = {..}, write = {..} } }`.
    #[serde(default)]
    pub billing: Billing,
    #[serde(default)]
    pub features: Features,
    /// Stage throttling of the API: requests per second.
    #[schemars(range(min = 0.0))]
    pub api_rate_limit: f64,
    /// Stage throttling of the API: burst.
    pub api_burst_limit: u32,
    /// Estimated charges (USD, month to date) that raise the billing alarm.
    #[schemars(range(min = 0.0))]
    pub monthly_budget_usd: f64,
    /// CloudWatch namespace of the handlers' metrics.
    #[serde(default = "default_metrics_namespace")]
    pub metrics_namespace: String,
    /// Who the alarms and the billing alarm reach: `[{ email = "oncall@example.com" }, { https = "https://..." },
    /// { slack = { workspace_id = "T0123ABCD", channel_id = "C0123ABCD" } }]`. Email and HTTPS subscribers confirm
    /// the subscription (SNS asks first); a Slack channel's workspace is authorized in the AWS Chatbot console
    /// first. Empty: the alarms only change state.
    #[serde(default)]
    pub alarm_subscriptions: Vec<crate::sns::Subscriber>,
    /// The API's service level objectives and their alarms.
    #[serde(default)]
    pub slo: SloConfig,
    /// Expected `iss` of JWTs (the authorizer's `JWT_ISSUER`). Unset: any issuer the signing secret vouches for.
    #[serde(default)]
    pub jwt_issuer: Option<String>,
    /// Expected `aud` of JWTs (the authorizer's `JWT_AUDIENCE`). Unset: not checked.
    #[serde(default)]
    pub jwt_audience: Option<String>,
    /// The `cost-center` tag of every stack (a cost allocation tag, beside `project` and `stage`). Unset: the
    /// project `name`.
    #[serde(default)]
    #[schemars(length(min = 1, max = 256))]
    pub cost_center: Option<String>,
    /// An OIDC issuer whose RS256/ES256 tokens the authorizer also accepts. Unset: HS256 tokens only.
    #[serde(default)]
    pub oidc: Option<OidcConfig>,
}

fn default_name() -> String {
    "platform".into()
}

fn default_metrics_namespace() -> String {
    "Platform".into()
}

impl PlatformConfig {
    /// The embedded default for `stage`: the platform's routes, three tiers, on-demand tables, eu-west-1, the
    /// request path deployed through CodeDeploy all at once, no optional feature.
    pub fn default_for(stage: &str) -> PlatformConfig {
        let tier = |name: &str, rate: f64, burst: u32, quota: u32, rpm: u32| TenantTier {
            name: name.into(),
            rate_limit: rate,
            burst_limit: burst,
            daily_quota: quota,
            requests_per_minute: rpm,
        };
        PlatformConfig {
            name: default_name(),
            stage: stage.into(),
            region: "eu-west-1".into(),
            regions: Vec::new(),
            account: None,
            tiers: vec![
                tier("free", 10.0, 20, 10_000, 100),
                tier("pro", 100.0, 200, 1_000_000, 1000),
                tier("enterprise", 1000.0, 2000, 10_000_000, 10_000),
            ],
            routes: RouteConfig::platform_routes(),
            billing: Billing::OnDemand,
            // The request path's versions through CodeDeploy, all at once: the rollback on alarms without the wait.
            features: Features {
                lambda_deployment: Some(crate::codedeploy::LambdaDeploymentConfig::AllAtOnce),
                ..Features::default()
            },
            api_rate_limit: 2000.0,
            api_burst_limit: 4000,
            monthly_budget_usd: if stage == "prod" { 5000.0 } else { 200.0 },
            metrics_namespace: default_metrics_namespace(),
            alarm_subscriptions: Vec::new(),
            slo: SloConfig::default(),
            jwt_issuer: None,
            jwt_audience: None,
            cost_center: None,
            oidc: None,
        }
    }

    /// Every optional feature on, and two alarm subscribers: Redis, OpenSearch, two serving regions (eu-west-1 and
    /// us-west-2), a custom domain, provisioned concurrency, enforced usage plans with tenants' own keys, a canary, canary Lambda deployments, Bot Control, provisioned tables with auto
    /// scaling, an OIDC issuer.
    pub fn all_features(stage: &str) -> PlatformConfig {
        let mut c = PlatformConfig::default_for(stage);
        c.features = Features {
            cdn: true,
            redis: true,
            search: true,
            replica_regions: Vec::new(),
            domain: Some(DomainConfig {
                hosted_zone_id: "Z0123456789EXAMPLE".into(),
                edge_domain: "api.example.com".into(),
                api_domain: "origin.api.example.com".into(),
            }),
            provisioned_concurrency: Some(5),
            enforce_usage_plans: true,
            tenant_usage_keys: true,
            canary_percent: Some(10.0),
            bot_control: true,
            lambda_deployment: Some(crate::codedeploy::LambdaDeploymentConfig::Canary10Percent5Minutes),
        };
        let capacity = crate::dynamodb::Capacity { min: 5, max: 1000, target_utilization_percent: 70 };
        c.billing = Billing::Provisioned { read: capacity, write: capacity };
        c.regions = vec!["eu-west-1".into(), "us-west-2".into()];
        c.alarm_subscriptions = vec![
            crate::sns::Subscriber::Email("oncall@example.com".into()),
            crate::sns::Subscriber::Https("https://events.pagerduty.com/integration/example/enqueue".into()),
            crate::sns::Subscriber::Slack(crate::sns::SlackChannel {
                workspace_id: "T0123ABCD".into(),
                channel_id: "C0123ABCD".into(),
            }),
        ];
        c.jwt_issuer = Some("https://auth.example.com/".into());
        c.jwt_audience = Some("platform-api".into());
        c.oidc = Some(OidcConfig {
            issuer: "https://login.example.com/".into(),
            audience: "platform-api".into(),
            jwks_url: "https://login.example.com/.well-known/jwks.json".into(),
        });
        c
    }

    /// `n` more routes (`GET /tenants/{tenant_id}/reports/r000`...), each with a function of its own: the shape of
    /// a function-per-route API, for the benchmark of a large platform.
    pub fn with_extra_routes(mut self, n: usize) -> PlatformConfig {
        for i in 0..n {
            self.routes.push(RouteConfig {
                method: "GET".into(),
                path: format!("/tenants/{{tenant_id}}/reports/r{i:03}"),
                operation: format!("getReport{i:03}"),
                handler: Handler::ApiRead,
                model: None,
                idempotent: false,
                dedicated_function: true,
            });
        }
        self
    }

    /// The regions serving the API, the primary first: `regions`, or `region` alone when unset.
    pub fn serving_regions(&self) -> Vec<&str> {
        if self.regions.is_empty() {
            vec![self.region.as_str()]
        } else {
            self.regions.iter().map(String::as_str).collect()
        }
    }

    /// True for the production stage.
    pub fn production(&self) -> bool {
        self.stage == "prod"
    }

    /// `<name>-<stage>`: the prefix of stack and resource names.
    pub fn prefix(&self) -> String {
        format!("{}-{}", self.name, self.stage)
    }

    /// The `cost-center` tag: `cost_center`, or the project name when unset.
    pub fn cost_center(&self) -> &str {
        self.cost_center.as_deref().unwrap_or(&self.name)
    }
}

/// The handler crates the platform deploys: (handler, crate directory relative to the workspace root).
pub fn handler_crates() -> Vec<(Handler, &'static str)> {
    Handler::ALL.iter().map(|h| (*h, crate_dir(*h))).collect()
}

fn crate_dir(h: Handler) -> &'static str {
    match h {
        Handler::ApiWrite | Handler::ApiRead => "handlers/api",
        Handler::Authorizer => "handlers/authorizer",
        Handler::StreamProcessor => "handlers/stream-processor",
        Handler::WebhookWorker => "handlers/webhook-worker",
        Handler::Exporter => "handlers/exporter",
        Handler::Indexer => "handlers/indexer",
        Handler::EventSearch => "handlers/search",
        Handler::SecretRotator => "handlers/secret-rotator",
        Handler::InvoiceRenderer => "handlers/invoice-renderer",
        Handler::UploadScanner => "handlers/upload-scanner",
    }
}

/// The code of every handler (one asset per crate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformAssets {
    pub api: Asset,
    pub authorizer: Asset,
    pub stream_processor: Asset,
    pub webhook_worker: Asset,
    pub exporter: Asset,
    pub indexer: Asset,
    pub search: Asset,
    /// The Secrets Manager rotation function of the signing secrets.
    pub secret_rotator: Asset,
    pub invoice_renderer: Asset,
    pub upload_scanner: Asset,
}

impl PlatformAssets {
    /// Hashes the handler crates under `workspace_root` (the only IO of the platform: it reads, never builds).
    pub fn load(workspace_root: &Path) -> Result<PlatformAssets, crate::assets::AssetError> {
        // One call for all: each manifest, each shared crate (powertools, platform-types) and Cargo.lock is read
        // once. The assets come back in the order of the directories.
        let mut assets = crate::assets::AssetHasher::new(workspace_root)
            .rust_lambdas(&[
                "handlers/api",
                "handlers/authorizer",
                "handlers/stream-processor",
                "handlers/webhook-worker",
                "handlers/exporter",
                "handlers/indexer",
                "handlers/search",
                "handlers/secret-rotator",
                "handlers/invoice-renderer",
                "handlers/upload-scanner",
            ])?
            .into_iter();
        let mut next = || {
            assets.next().ok_or_else(|| crate::assets::AssetError::Manifest {
                path: workspace_root.display().to_string(),
                message: "fewer assets than handler crates".to_owned(),
            })
        };
        Ok(PlatformAssets {
            api: next()?,
            authorizer: next()?,
            stream_processor: next()?,
            webhook_worker: next()?,
            exporter: next()?,
            indexer: next()?,
            search: next()?,
            secret_rotator: next()?,
            invoice_renderer: next()?,
            upload_scanner: next()?,
        })
    }

    /// The asset of handler `h`.
    pub fn for_handler(&self, h: Handler) -> &Asset {
        match h {
            Handler::ApiWrite | Handler::ApiRead => &self.api,
            Handler::Authorizer => &self.authorizer,
            Handler::StreamProcessor => &self.stream_processor,
            Handler::WebhookWorker => &self.webhook_worker,
            Handler::Exporter => &self.exporter,
            Handler::Indexer => &self.indexer,
            Handler::EventSearch => &self.search,
            Handler::SecretRotator => &self.secret_rotator,
            Handler::InvoiceRenderer => &self.invoice_renderer,
            Handler::UploadScanner => &self.upload_scanner,
        }
    }

    /// Every asset, once.
    pub fn all(&self) -> Vec<&Asset> {
        vec![
            &self.api,
            &self.authorizer,
            &self.stream_processor,
            &self.webhook_worker,
            &self.exporter,
            &self.indexer,
            &self.search,
            &self.secret_rotator,
            &self.invoice_renderer,
            &self.upload_scanner,
        ]
    }
}
