//! `cargo xtask cost [--stage S] --requests-per-month N [--profile FILE]`: the monthly cost of a synthesized stage for
//! a traffic profile, from the pinned price table in `xtask/prices/`, and the request rate at which a container
//! service would be cheaper than API Gateway plus Lambda.
//!
//! **Invariant:** the estimate is a pure function of the templates, the profile, the price table and the volume: no
//! SDK, no network, no clock. The template gives what it can (memory, architecture, capacity, counts, wiring); the
//! profile gives the traffic; the price table the prices.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::out::{self, say};
use crate::project_root;

/// The pinned price table the estimate applies unless `--prices` names another.
pub const PRICES: &str = include_str!("../prices/2026-11-30.toml");
/// The default traffic profile (documented in the file).
pub const DEFAULT_PROFILE: &str = include_str!("../prices/profile.toml");

/// Hours in a month, as the AWS pricing pages count them.
pub const HOURS_PER_MONTH: f64 = 730.0;
const SECONDS_PER_MONTH: f64 = HOURS_PER_MONTH * 3600.0;
const GB: f64 = 1_073_741_824.0;

#[derive(clap::Args, Debug)]
pub struct Cost {
    /// Stage to estimate: reads `stages/<stage>.toml`.
    #[arg(long, default_value = "dev")]
    pub stage: String,
    /// Override a key of the stage file, as for synth (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<constructs::platform::stage::Override>,
    /// API requests per month (clients' requests, before any CDN cache).
    #[arg(long)]
    pub requests_per_month: f64,
    /// A traffic profile (TOML) replacing the default one (`xtask/prices/profile.toml`).
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Another price table than the pinned one.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Output {
    Text,
    Json,
}

impl Cost {
    pub fn run(self) -> Result<()> {
        let read = |p: &PathBuf| {
            let p = if p.is_absolute() { p.clone() } else { project_root().join(p) };
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
        };
        let profile = match &self.profile {
            Some(p) => Profile::parse(&read(p)?)?,
            None => Profile::parse(DEFAULT_PROFILE)?,
        };
        let prices = match &self.prices {
            Some(p) => PriceTable::parse(&read(p)?)?,
            None => PriceTable::parse(PRICES)?,
        };
        let stacks = synth_stage(&self.stage, &self.overrides)?;
        let estimate = estimate(&self.stage, &stacks, &profile, &prices, self.requests_per_month)?;
        match self.output {
            Output::Text => out::text(&estimate.to_string())?,
            Output::Json => say!("{}", serde_json::to_string_pretty(&estimate)?)?,
        }
        Ok(())
    }
}

/// One synthesized template, parsed.
#[derive(Debug, Clone)]
pub struct StackInput {
    pub name: String,
    pub region: String,
    pub template: Value,
}

/// The stage's templates, synthesized in-process the way `cargo xtask synth` builds them.
pub fn synth_stage(stage: &str, overrides: &[constructs::platform::stage::Override]) -> Result<Vec<StackInput>> {
    let app = constructs::app::default_app(&crate::project_root(), stage, overrides)?;
    let assembly = constructs::app::synthesize(&app)?;
    assembly
        .stacks
        .iter()
        .map(|s| {
            let template = serde_json::from_str(&s.template).with_context(|| format!("parsing {}", s.template_file))?;
            Ok(StackInput { name: s.name.clone(), region: s.region.clone(), template })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Prices

/// One price: `usd` for `per` units of `unit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub usd: f64,
    pub per: f64,
    pub unit: String,
    pub source: String,
    pub read: String,
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    pub date: String,
    pub regions: BTreeMap<String, BTreeMap<String, Price>>,
}

impl PriceTable {
    pub fn parse(text: &str) -> Result<Self> {
        let t: PriceTable = toml::from_str(text).context("parsing the price table")?;
        for (region, prices) in &t.regions {
            for (key, p) in prices {
                if !(p.usd >= 0.0 && p.per > 0.0) {
                    bail!(
                        "price table: regions.{region}.{key}: usd {} per {} (usd must be >= 0, per > 0)",
                        p.usd,
                        p.per
                    );
                }
            }
        }
        Ok(t)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Profile

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub read_fraction: f64,
    pub response_bytes: f64,
    pub cdn_cache_hit_ratio: f64,
    pub authorizer_cache_hit_ratio: f64,
    pub events_per_write: f64,
    pub event_bytes: f64,
    pub batch_fill: f64,
    pub log_bytes_per_invocation: f64,
    pub access_log_bytes_per_request: f64,
    pub waf_log_bytes_per_request: f64,
    pub log_storage_months: f64,
    pub xray_sampled_fraction: f64,
    pub kms_requests_per_request: f64,
    pub custom_metrics: f64,
    pub table_stored_gb: f64,
    pub bucket_stored_gb: f64,
    pub cache_stored_gb: f64,
    pub cache_ecpu_per_request: f64,
    pub workflow_state_transitions: f64,
    pub workflow_output_bytes: f64,
    /// Executions of each state machine per write request, started by the API (`POST .../exports`) rather than by
    /// a rule. Default 0.
    #[serde(default)]
    pub workflow_starts_per_write: f64,
    pub duration_ms: BTreeMap<String, f64>,
    #[serde(default)]
    pub tables: BTreeMap<String, TableUse>,
    #[serde(default)]
    pub rule_match: BTreeMap<String, f64>,
    pub container: Container,
}

/// DynamoDB request units per API request on one table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TableUse {
    pub rru_per_read: f64,
    pub rru_per_write: f64,
    pub rru_per_request: f64,
    pub wru_per_read: f64,
    pub wru_per_write: f64,
    pub wru_per_request: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Container {
    pub vcpu: f64,
    pub memory_gb: f64,
    pub rps_per_task: f64,
    pub target_utilization: f64,
    pub min_tasks: u32,
    pub new_connections_per_request: f64,
    pub bytes_per_request: f64,
}

impl Profile {
    pub fn parse(text: &str) -> Result<Self> {
        let p: Profile = toml::from_str(text).context("parsing the traffic profile")?;
        let ratios = [
            ("read_fraction", p.read_fraction),
            ("cdn_cache_hit_ratio", p.cdn_cache_hit_ratio),
            ("authorizer_cache_hit_ratio", p.authorizer_cache_hit_ratio),
            ("xray_sampled_fraction", p.xray_sampled_fraction),
            ("container.target_utilization", p.container.target_utilization),
        ];
        for (k, v) in ratios {
            if !(0.0..=1.0).contains(&v) {
                bail!("profile: {k} = {v}: must be between 0 and 1");
            }
        }
        if !p.duration_ms.contains_key("default") {
            bail!("profile: [duration_ms] has no `default` (the duration of functions not listed)");
        }
        if p.batch_fill < 1.0 || p.container.rps_per_task <= 0.0 || p.container.target_utilization <= 0.0 {
            bail!(
                "profile: batch_fill {} must be >= 1, container.rps_per_task {} and container.target_utilization {} \
                 must be > 0",
                p.batch_fill,
                p.container.rps_per_task,
                p.container.target_utilization
            );
        }
        Ok(p)
    }

    fn duration_s(&self, function: &str) -> f64 {
        let ms = self.duration_ms.get(function).or_else(|| self.duration_ms.get("default")).copied();
        ms.unwrap_or(0.0) / 1000.0
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The estimate

/// One line of the bill: `quantity` units at `price_key` in `region`.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub service: String,
    pub region: String,
    pub item: String,
    pub quantity: f64,
    pub unit: String,
    pub price_key: String,
    /// The pricing page the price was read from, and when.
    pub source: String,
    pub usd: f64,
}

/// The monthly estimate of a stage.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub stage: String,
    pub prices_date: String,
    pub requests_per_month: f64,
    /// Every line, most expensive first.
    pub lines: Vec<Line>,
    /// Totals per service, most expensive first.
    pub services: Vec<(String, f64)>,
    pub total_usd: f64,
    pub break_even: BreakEven,
    pub assumptions: Vec<String>,
    /// Prices applied whose figure is not confirmed (the table's `status`).
    pub unconfirmed_prices: Vec<String>,
}

/// When a container service behind a load balancer costs less than API Gateway plus the request-path functions.
#[derive(Debug, Clone, Serialize)]
pub struct BreakEven {
    pub region: String,
    /// API Gateway plus request-path Lambda per API request (USD), at the estimate's volume.
    pub serverless_usd_per_request: f64,
    /// What the serverless request path pays regardless of traffic (provisioned concurrency).
    pub serverless_fixed_usd: f64,
    /// The container service at its minimum size (tasks and load balancer, no traffic).
    pub container_fixed_usd: f64,
    /// The lowest sustained rate (whole requests per second) at which the container service is cheaper; `None` when
    /// it is not below 1,000,000 rps.
    pub rps: Option<u64>,
    pub container: Container,
}

/// Sums lines; a missing price is collected, so every one is reported at once.
struct Bill<'a> {
    prices: &'a PriceTable,
    lines: Vec<Line>,
    missing: Vec<String>,
    unconfirmed: std::collections::BTreeSet<String>,
}

impl Bill<'_> {
    fn add(&mut self, service: &str, region: &str, item: impl Into<String>, quantity: f64, key: &str) -> f64 {
        if quantity <= 0.0 {
            return 0.0;
        }
        let Some(p) = self.prices.regions.get(region).and_then(|r| r.get(key)) else {
            self.missing.push(format!("regions.{region}.{key}"));
            return 0.0;
        };
        if !p.status.starts_with("confirmed") {
            self.unconfirmed.insert(format!("{region}.{key}"));
        }
        let usd = quantity * p.usd / p.per;
        self.lines.push(Line {
            service: service.to_owned(),
            region: region.to_owned(),
            item: item.into(),
            quantity,
            unit: p.unit.clone(),
            price_key: key.to_owned(),
            source: format!("{} ({})", p.source, p.read),
            usd,
        });
        usd
    }

    fn price(&mut self, region: &str, key: &str) -> f64 {
        match self.prices.regions.get(region).and_then(|r| r.get(key)) {
            Some(p) => p.usd / p.per,
            None => {
                self.missing.push(format!("regions.{region}.{key}"));
                0.0
            }
        }
    }
}

/// A resource of the app: its stack (index), logical id, type and properties.
struct Res<'a> {
    stack: usize,
    id: &'a str,
    ty: &'a str,
    props: &'a Value,
}

struct App<'a> {
    stacks: &'a [StackInput],
    resources: Vec<Res<'a>>,
}

impl<'a> App<'a> {
    fn new(stacks: &'a [StackInput]) -> Self {
        let mut resources = Vec::new();
        for (i, s) in stacks.iter().enumerate() {
            if let Some(rs) = s.template.get("Resources").and_then(Value::as_object) {
                for (id, r) in rs {
                    let ty = r.get("Type").and_then(Value::as_str).unwrap_or_default();
                    resources.push(Res { stack: i, id, ty, props: r.get("Properties").unwrap_or(&Value::Null) });
                }
            }
        }
        App { stacks, resources }
    }

    fn of_type(&self, ty: &'a str) -> impl Iterator<Item = &Res<'a>> {
        self.resources.iter().filter(move |r| r.ty == ty)
    }

    fn get(&self, stack: usize, id: &str) -> Option<&Res<'a>> {
        self.resources.iter().find(|r| r.stack == stack && r.id == id)
    }

    fn region(&self, r: &Res) -> &'a str {
        &self.stacks[r.stack].region
    }

    /// The resources `v` refers to (Ref, Fn::GetAtt, and Fn::GetStackOutput through the other stack's output),
    /// aliases resolved to their function.
    fn refs(&self, stack: usize, v: &Value) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        self.collect_refs(stack, v, &mut out, 0);
        out.into_iter()
            .map(|(s, id)| match self.get(s, &id) {
                Some(r) if r.ty == "AWS::Lambda::Alias" => self
                    .refs(s, r.props.get("FunctionName").unwrap_or(&Value::Null))
                    .into_iter()
                    .next()
                    .unwrap_or((s, id)),
                _ => (s, id),
            })
            .collect()
    }

    fn collect_refs(&self, stack: usize, v: &Value, out: &mut Vec<(usize, String)>, depth: usize) {
        if depth > 8 {
            return;
        }
        match v {
            Value::Object(m) => {
                if let Some(Value::String(id)) = m.get("Ref") {
                    if !id.starts_with("AWS::") {
                        out.push((stack, id.clone()));
                    }
                    return;
                }
                if let Some(Value::Array(a)) = m.get("Fn::GetAtt") {
                    if let Some(Value::String(id)) = a.first() {
                        out.push((stack, id.clone()));
                    }
                    return;
                }
                if let Some(o) = m.get("Fn::GetStackOutput") {
                    let name = o.get("StackName").and_then(Value::as_str);
                    let output = o.get("OutputName").and_then(Value::as_str);
                    if let (Some(name), Some(output)) = (name, output)
                        && let Some(i) = self.stacks.iter().position(|s| s.name == name)
                        && let Some(value) = self.stacks[i].template.pointer(&format!("/Outputs/{output}/Value"))
                    {
                        self.collect_refs(i, value, out, depth + 1);
                    }
                    return;
                }
                for x in m.values() {
                    self.collect_refs(stack, x, out, depth + 1);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| self.collect_refs(stack, x, out, depth + 1)),
            _ => {}
        }
    }
}

fn num(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(|x| x.as_f64().or_else(|| x.as_str().and_then(|s| s.parse().ok())))
}

/// Estimates the monthly cost of `stacks` for `requests` API requests a month.
pub fn estimate(
    stage: &str,
    stacks: &[StackInput],
    profile: &Profile,
    prices: &PriceTable,
    requests: f64,
) -> Result<Estimate> {
    let app = App::new(stacks);
    let mut bill = Bill { prices, lines: Vec::new(), missing: Vec::new(), unconfirmed: Default::default() };
    let mut assumptions = vec![
        format!(
            "{requests} API requests a month, spread evenly over {HOURS_PER_MONTH} hours; {:.0}% reads",
            profile.read_fraction * 100.0
        ),
        "no free tier applied; first price tier of every tiered price except API Gateway".to_owned(),
    ];

    // The edge: CloudFront and the web ACLs. Cache hits never reach the API.
    let has_cdn = app.of_type("AWS::CloudFront::Distribution").next().is_some();
    let api_requests = if has_cdn { requests * (1.0 - profile.cdn_cache_hit_ratio) } else { requests };
    if has_cdn {
        bill.add("CloudFront", "global", "HTTPS requests", requests, "cloudfront_https_request");
        let gb = requests * profile.response_bytes / GB;
        bill.add("CloudFront", "global", "data transfer out", gb, "cloudfront_data_out_gb");
        assumptions.push(format!(
            "CloudFront: {:.0}% cache hits, {} response bytes; origin fetches from API Gateway are free",
            profile.cdn_cache_hit_ratio * 100.0,
            profile.response_bytes
        ));
    }
    // Serving regions (those with an API): the API's traffic is split evenly between them, so a region's API, its
    // web ACL, authorizer, access logs, control table and the workflows its API starts see their share.
    let api_regions: BTreeSet<&str> = app.of_type("AWS::ApiGateway::RestApi").map(|r| app.region(r)).collect();
    let region_share = |region: &str| {
        if api_regions.len() > 1 && api_regions.contains(region) { 1.0 / api_regions.len() as f64 } else { 1.0 }
    };
    if api_regions.len() > 1 {
        assumptions.push(format!(
            "the API's traffic split evenly between its {} regions ({}); every write's events published once, in \
             the region whose stack reads the entity table's stream",
            api_regions.len(),
            api_regions.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    let mut log_bytes: BTreeMap<String, f64> = BTreeMap::new();
    for acl in app.of_type("AWS::WAFv2::WebACL") {
        let region = app.region(acl);
        let scope = acl.props.get("Scope").and_then(Value::as_str).unwrap_or("REGIONAL");
        let seen = if scope == "CLOUDFRONT" { requests } else { api_requests * region_share(region) };
        bill.add("WAF", region, format!("web ACL {}", acl.id), 1.0, "waf_web_acl_month");
        let rules = acl.props.get("Rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        bill.add("WAF", region, format!("{} rules of {}", rules.len(), acl.id), rules.len() as f64, "waf_rule_month");
        bill.add("WAF", region, format!("requests inspected by {}", acl.id), seen, "waf_request");
        let bot = rules.iter().any(|r| {
            r.pointer("/Statement/ManagedRuleGroupStatement/Name").and_then(Value::as_str)
                == Some("AWSManagedRulesBotControlRuleSet")
        });
        if bot {
            bill.add("WAF", region, format!("Bot Control on {}", acl.id), 1.0, "waf_bot_control_month");
            bill.add("WAF", region, format!("Bot Control requests of {}", acl.id), seen, "waf_bot_control_request");
        }
        let logged = app.of_type("AWS::WAFv2::LoggingConfiguration").any(|l| {
            l.stack == acl.stack
                && app
                    .refs(l.stack, l.props.get("ResourceArn").unwrap_or(&Value::Null))
                    .iter()
                    .any(|(_, id)| id == acl.id)
        });
        if logged {
            *log_bytes.entry(region.to_owned()).or_default() += seen * profile.waf_log_bytes_per_request;
        }
    }

    // API Gateway: requests that reach each region's stage, tiered (per account and region).
    // The primary's (the first API in stack order): where traces and the break-even are priced.
    let api_region = app.of_type("AWS::ApiGateway::RestApi").next().map(|r| app.region(r).to_owned());
    let mut request_path_usd = 0.0;
    for region in &api_regions {
        let tiers = [
            (333e6, "apigw_rest_request_first_333m"),
            (667e6, "apigw_rest_request_next_667m"),
            (f64::INFINITY, "apigw_rest_request_next_19b"),
        ];
        let mut left = api_requests * region_share(region);
        for (size, key) in tiers {
            let n = left.min(size);
            request_path_usd += bill.add("API Gateway", region, "REST API requests", n, key);
            left -= n;
        }
    }
    for stage_res in app.of_type("AWS::ApiGateway::Stage") {
        if stage_res.props.get("AccessLogSetting").is_some() {
            let region = app.region(stage_res);
            *log_bytes.entry(region.to_owned()).or_default() +=
                api_requests * region_share(region) * profile.access_log_bytes_per_request;
        }
    }

    // Lambda invocations: request path (methods and the authorizer), then events, streams, queues, workflows.
    let mut invocations: BTreeMap<(usize, String), f64> = BTreeMap::new();
    let mut request_path: std::collections::BTreeSet<(usize, String)> = Default::default();
    let methods: Vec<_> = app
        .of_type("AWS::ApiGateway::Method")
        .filter(|m| m.props.get("HttpMethod").and_then(Value::as_str) != Some("OPTIONS"))
        .collect();
    let reads = methods.iter().filter(|m| m.props.get("HttpMethod").and_then(Value::as_str) == Some("GET")).count();
    let writes = methods.len() - reads;
    let read_requests = api_requests * profile.read_fraction;
    let write_requests = api_requests - read_requests;
    for m in &methods {
        let is_read = m.props.get("HttpMethod").and_then(Value::as_str) == Some("GET");
        let share = if is_read { read_requests / reads as f64 } else { write_requests / writes as f64 };
        if let Some(f) =
            app.refs(m.stack, m.props.pointer("/Integration/Uri").unwrap_or(&Value::Null)).into_iter().next()
        {
            *invocations.entry(f.clone()).or_default() += share;
            request_path.insert(f);
        }
    }
    let custom_auth =
        methods.iter().any(|m| m.props.get("AuthorizationType").and_then(Value::as_str) == Some("CUSTOM"));
    for a in app.of_type("AWS::ApiGateway::Authorizer") {
        if custom_auth
            && let Some(f) = app.refs(a.stack, a.props.get("AuthorizerUri").unwrap_or(&Value::Null)).into_iter().next()
        {
            *invocations.entry(f.clone()).or_default() +=
                api_requests * region_share(app.region(a)) * (1.0 - profile.authorizer_cache_hit_ratio);
            request_path.insert(f);
        }
    }

    // DynamoDB request units per table, from the profile's per-request figures.
    let table_units = |id: &str| -> (f64, f64) {
        let u = profile.tables.get(id).cloned().unwrap_or_default();
        let rru = read_requests * u.rru_per_read + write_requests * u.rru_per_write + api_requests * u.rru_per_request;
        let wru = read_requests * u.wru_per_read + write_requests * u.wru_per_write + api_requests * u.wru_per_request;
        (rru, wru)
    };

    // Events: every write publishes events to the bus; rules route them to queues, log groups, workflows, functions.
    // With more than one bus (a stage serving from several regions), the buses of the stacks that read a table's
    // stream publish them: the other regions' see none.
    let events = write_requests * profile.events_per_write;
    let stream_stacks: BTreeSet<usize> = app
        .of_type("AWS::Lambda::EventSourceMapping")
        .filter(|e| e.props.get("StartingPosition").is_some())
        .map(|e| e.stack)
        .collect();
    let publishes = |stack: usize| stream_stacks.is_empty() || stream_stacks.contains(&stack);
    let mut queue_messages: BTreeMap<(usize, String), f64> = BTreeMap::new();
    let mut executions: BTreeMap<(usize, String), f64> = BTreeMap::new();
    for bus in app.of_type("AWS::Events::EventBus") {
        let region = app.region(bus);
        let events = if publishes(bus.stack) { events } else { 0.0 };
        bill.add("EventBridge", region, format!("custom events put on {}", bus.id), events, "eventbridge_custom_event");
        for rule in app.of_type("AWS::Events::Rule").filter(|r| r.stack == bus.stack) {
            let on_bus = app.refs(rule.stack, rule.props.get("EventBusName").unwrap_or(&Value::Null));
            if !on_bus.iter().any(|(_, id)| id == bus.id) {
                continue;
            }
            let matched = events * profile.rule_match.get(rule.id).copied().unwrap_or(1.0);
            for t in rule.props.get("Targets").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
                let Some((s, id)) = app.refs(rule.stack, t.get("Arn").unwrap_or(&Value::Null)).into_iter().next()
                else {
                    // A target given as a literal ARN (a log group by name): its bytes are logs of the region.
                    *log_bytes.entry(region.to_owned()).or_default() += matched * profile.event_bytes;
                    continue;
                };
                match app.get(s, &id).map(|r| r.ty) {
                    Some("AWS::SQS::Queue") => *queue_messages.entry((s, id)).or_default() += matched,
                    Some("AWS::StepFunctions::StateMachine") => *executions.entry((s, id)).or_default() += matched,
                    Some("AWS::Lambda::Function") => *invocations.entry((s, id)).or_default() += matched,
                    _ => *log_bytes.entry(region.to_owned()).or_default() += matched * profile.event_bytes,
                }
            }
        }
    }
    for archive in app.of_type("AWS::Events::Archive") {
        let gb = if publishes(archive.stack) { events * profile.event_bytes / GB } else { 0.0 };
        bill.add(
            "EventBridge",
            app.region(archive),
            format!("events archived by {}", archive.id),
            gb,
            "eventbridge_archive_gb",
        );
    }

    // Workflows the API starts (the export workflow: `POST .../exports`), besides those rules start.
    for sm in app.of_type("AWS::StepFunctions::StateMachine") {
        *executions.entry((sm.stack, sm.id.to_owned())).or_default() +=
            write_requests * region_share(app.region(sm)) * profile.workflow_starts_per_write;
    }

    // Workflows: transitions, the functions they call, the object each writes.
    for ((s, id), n) in &executions {
        let Some(sm) = app.get(*s, id) else { continue };
        let region = app.region(sm);
        let transitions = n * profile.workflow_state_transitions;
        bill.add(
            "Step Functions",
            region,
            format!("state transitions of {id}"),
            transitions,
            "stepfunctions_state_transition",
        );
        for f in app.refs(*s, sm.props.get("DefinitionSubstitutions").unwrap_or(&Value::Null)) {
            if app.get(f.0, &f.1).is_some_and(|r| r.ty == "AWS::Lambda::Function") {
                *invocations.entry(f).or_default() += n;
            }
        }
        bill.add("S3", region, format!("objects written by {id}"), *n, "s3_put_request");
        let gb = n * profile.workflow_output_bytes / GB;
        bill.add("S3", region, format!("objects of {id} stored a month"), gb, "s3_storage_gb_month");
    }

    // Event source mappings: streams and queues invoke functions in batches.
    for esm in app.of_type("AWS::Lambda::EventSourceMapping") {
        let Some(source) =
            app.refs(esm.stack, esm.props.get("EventSourceArn").unwrap_or(&Value::Null)).into_iter().next()
        else {
            continue;
        };
        let Some(f) = app.refs(esm.stack, esm.props.get("FunctionName").unwrap_or(&Value::Null)).into_iter().next()
        else {
            continue;
        };
        let batch = num(esm.props, "/BatchSize").unwrap_or(10.0).max(1.0);
        let fill = profile.batch_fill.min(batch);
        let records = match app.get(source.0, &source.1).map(|r| r.ty) {
            Some("AWS::SQS::Queue") => queue_messages.get(&source).copied().unwrap_or(0.0),
            Some("AWS::DynamoDB::Table" | "AWS::DynamoDB::GlobalTable") => table_units(&source.1).1,
            _ => 0.0,
        };
        let n = records / fill;
        *invocations.entry(f).or_default() += n;
        if let Some(q) = queue_messages.get_mut(&source) {
            // Receives and deletes are per batch; sends per message (SQS bills 64 KB chunks: one each here).
            *q += 2.0 * n;
        }
    }
    for ((s, id), requests) in &queue_messages {
        if let Some(q) = app.get(*s, id) {
            bill.add("SQS", app.region(q), format!("requests to {id}"), *requests, "sqs_request");
        }
    }
    assumptions.push(format!(
        "queues and streams: {} records per invocation (capped at BatchSize); SQS: a send per message, a receive and a \
         delete per batch, empty long polls not counted; stream reads by Lambda triggers are free",
        profile.batch_fill
    ));

    // Lambda: requests, GB-seconds at the template's memory and architecture, provisioned concurrency.
    let mut xray_traced = 0.0;
    for f in app.of_type("AWS::Lambda::Function") {
        let region = app.region(f);
        let key = (f.stack, f.id.to_owned());
        let n = invocations.get(&key).copied().unwrap_or(0.0);
        let memory_gb = num(f.props, "/MemorySize").unwrap_or(128.0) / 1024.0;
        let arch = f.props.pointer("/Architectures/0").and_then(Value::as_str).unwrap_or("x86_64");
        let gb_s = n * profile.duration_s(f.id) * memory_gb;
        let on_path = request_path.contains(&key);
        let provisioned: f64 = app
            .of_type("AWS::Lambda::Alias")
            .filter(|a| {
                a.stack == f.stack
                    && app
                        .refs(a.stack, a.props.get("FunctionName").unwrap_or(&Value::Null))
                        .iter()
                        .any(|(_, id)| id == f.id)
            })
            .filter_map(|a| num(a.props, "/ProvisionedConcurrencyConfig/ProvisionedConcurrentExecutions"))
            .sum();
        let mut usd = bill.add("Lambda", region, format!("{} invocations", f.id), n, "lambda_request");
        if provisioned > 0.0 {
            let warm = provisioned * memory_gb * SECONDS_PER_MONTH;
            let pc = bill.add(
                "Lambda",
                region,
                format!("{} provisioned concurrency {provisioned}", f.id),
                warm,
                &format!("lambda_provisioned_gb_second_{arch}"),
            );
            if on_path {
                request_path_usd += pc;
            }
            // Invocations within the provisioned concurrency bill at its lower duration price.
            let concurrency = n / SECONDS_PER_MONTH * profile.duration_s(f.id);
            let within = if concurrency <= provisioned { 1.0 } else { provisioned / concurrency };
            usd += bill.add(
                "Lambda",
                region,
                format!("{} duration (provisioned)", f.id),
                gb_s * within,
                &format!("lambda_provisioned_duration_gb_second_{arch}"),
            );
            usd += bill.add(
                "Lambda",
                region,
                format!("{} duration", f.id),
                gb_s * (1.0 - within),
                &format!("lambda_gb_second_{arch}"),
            );
        } else {
            usd += bill.add("Lambda", region, format!("{} duration", f.id), gb_s, &format!("lambda_gb_second_{arch}"));
        }
        if on_path {
            request_path_usd += usd;
        }
        *log_bytes.entry(region.to_owned()).or_default() += n * profile.log_bytes_per_invocation;
        if f.props.pointer("/TracingConfig/Mode").and_then(Value::as_str) == Some("Active") && !on_path {
            xray_traced += n;
        }
    }
    assumptions.push(format!(
        "Lambda durations (ms) from the profile: {}",
        profile.duration_ms.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    ));
    if let Some(region) = &api_region {
        // One trace per sampled API request (it spans the authorizer and the route's function), one per sampled
        // event-driven invocation.
        let traces = (api_requests + xray_traced) * profile.xray_sampled_fraction;
        bill.add("X-Ray", region, "traces recorded", traces, "xray_trace_recorded");
    }

    // DynamoDB: on-demand units or provisioned capacity (auto scaling between its bounds), replicas, storage.
    for t in app.of_type("AWS::DynamoDB::Table").chain(app.of_type("AWS::DynamoDB::GlobalTable")) {
        let region = app.region(t);
        let (rru, wru) = table_units(t.id);
        // A region's own table (the control table) sees its region's share; a global table every write.
        let share = if t.ty == "AWS::DynamoDB::Table" { region_share(region) } else { 1.0 };
        let (rru, wru) = (rru * share, wru * share);
        let gsis = t.props.get("GlobalSecondaryIndexes").and_then(Value::as_array).map_or(0, Vec::len) as f64;
        let replicas: Vec<String> = t
            .props
            .get("Replicas")
            .and_then(Value::as_array)
            .map(|rs| rs.iter().filter_map(|r| r.get("Region").and_then(Value::as_str).map(str::to_owned)).collect())
            .unwrap_or_default();
        let on_demand = t.props.get("BillingMode").and_then(Value::as_str) == Some("PAY_PER_REQUEST");
        // Each write also writes every index (assumed: every item projects into every index).
        let writes = wru * (1.0 + gsis);
        if on_demand {
            bill.add("DynamoDB", region, format!("{} read request units", t.id), rru, "dynamodb_read_request_unit");
            bill.add(
                "DynamoDB",
                region,
                format!("{} write request units", t.id),
                writes,
                "dynamodb_write_request_unit",
            );
            for r in &replicas {
                bill.add(
                    "DynamoDB",
                    r,
                    format!("{} replicated writes", t.id),
                    writes,
                    "dynamodb_replicated_write_request_unit",
                );
            }
        } else {
            let bounds = |dim: &str| -> (f64, f64, f64) {
                // Table: ScalableTargets on it; GlobalTable: its auto scaling settings.
                let target = app.of_type("AWS::ApplicationAutoScaling::ScalableTarget").find(|s| {
                    s.stack == t.stack
                        && s.props.get("ScalableDimension").and_then(Value::as_str)
                            == Some(&format!("dynamodb:table:{dim}CapacityUnits"))
                        && app
                            .refs(s.stack, s.props.get("ResourceId").unwrap_or(&Value::Null))
                            .iter()
                            .any(|(_, id)| id == t.id)
                });
                if let Some(s) = target {
                    return (
                        num(s.props, "/MinCapacity").unwrap_or(1.0),
                        num(s.props, "/MaxCapacity").unwrap_or(1.0),
                        0.7,
                    );
                }
                let settings = if dim == "Write" {
                    t.props.pointer("/WriteProvisionedThroughputSettings/WriteCapacityAutoScalingSettings")
                } else {
                    t.props.pointer("/Replicas/0/ReadProvisionedThroughputSettings/ReadCapacityAutoScalingSettings")
                };
                if let Some(s) = settings {
                    let target =
                        num(s, "/TargetTrackingScalingPolicyConfiguration/TargetValue").unwrap_or(70.0) / 100.0;
                    return (num(s, "/MinCapacity").unwrap_or(1.0), num(s, "/MaxCapacity").unwrap_or(1.0), target);
                }
                let fixed = num(t.props, &format!("/ProvisionedThroughput/{dim}CapacityUnits")).unwrap_or(1.0);
                (fixed, fixed, 1.0)
            };
            let capacity = |units: f64, (min, max, target): (f64, f64, f64)| {
                ((units / SECONDS_PER_MONTH / target).ceil()).clamp(min, max)
            };
            let rcu = capacity(rru, bounds("Read"));
            let wcu = capacity(wru, bounds("Write"));
            // Indexes: the table's write capacity again, read capacity at the read minimum (assumed).
            let rcu_all = rcu + gsis * bounds("Read").0;
            let wcu_all = wcu * (1.0 + gsis);
            bill.add(
                "DynamoDB",
                region,
                format!("{} read capacity ({rcu_all} RCU)", t.id),
                rcu_all * HOURS_PER_MONTH,
                "dynamodb_rcu_hour",
            );
            bill.add(
                "DynamoDB",
                region,
                format!("{} write capacity ({wcu_all} WCU)", t.id),
                wcu_all * HOURS_PER_MONTH,
                "dynamodb_wcu_hour",
            );
            for r in replicas.iter().filter(|r| r.as_str() != region) {
                bill.add(
                    "DynamoDB",
                    r,
                    format!("{} replica read capacity", t.id),
                    rcu_all * HOURS_PER_MONTH,
                    "dynamodb_rcu_hour",
                );
                bill.add(
                    "DynamoDB",
                    r,
                    format!("{} replicated write capacity", t.id),
                    wcu_all * HOURS_PER_MONTH,
                    "dynamodb_replicated_wcu_hour",
                );
            }
        }
        bill.add("DynamoDB", region, format!("{} storage", t.id), profile.table_stored_gb, "dynamodb_storage_gb_month");
        for r in replicas.iter().filter(|r| r.as_str() != region && !r.is_empty()) {
            bill.add(
                "DynamoDB",
                r,
                format!("{} replica storage", t.id),
                profile.table_stored_gb,
                "dynamodb_storage_gb_month",
            );
        }
    }
    assumptions.push(
        "DynamoDB: request units per API request from the profile; provisioned tables run at the capacity auto \
         scaling settles on for the average rate (within its bounds), every index takes every write"
            .to_owned(),
    );

    // Stateful services billed by the hour.
    for c in app.of_type("AWS::ElastiCache::ServerlessCache") {
        let region = app.region(c);
        let gb = profile.cache_stored_gb.max(1.0);
        bill.add(
            "ElastiCache",
            region,
            format!("{} data stored ({gb} GB)", c.id),
            gb * HOURS_PER_MONTH,
            "elasticache_serverless_gb_hour",
        );
        bill.add(
            "ElastiCache",
            region,
            format!("{} ECPUs", c.id),
            api_requests * profile.cache_ecpu_per_request,
            "elasticache_serverless_ecpu",
        );
    }
    for d in app.of_type("AWS::OpenSearchService::Domain") {
        let region = app.region(d);
        let cc = d.props.get("ClusterConfig").unwrap_or(&Value::Null);
        let count = num(cc, "/InstanceCount").unwrap_or(1.0);
        let ty = cc.get("InstanceType").and_then(Value::as_str).unwrap_or("unknown");
        bill.add(
            "OpenSearch",
            region,
            format!("{} {count} x {ty}", d.id),
            count * HOURS_PER_MONTH,
            &format!("opensearch_instance_hour:{ty}"),
        );
        if cc.get("DedicatedMasterEnabled").and_then(Value::as_bool) == Some(true) {
            let masters = num(cc, "/DedicatedMasterCount").unwrap_or(3.0);
            let mty = cc.get("DedicatedMasterType").and_then(Value::as_str).unwrap_or("unknown");
            bill.add(
                "OpenSearch",
                region,
                format!("{} {masters} x {mty} (masters)", d.id),
                masters * HOURS_PER_MONTH,
                &format!("opensearch_instance_hour:{mty}"),
            );
        }
        let volume = num(d.props, "/EBSOptions/VolumeSize").unwrap_or(0.0);
        let vty = d.props.pointer("/EBSOptions/VolumeType").and_then(Value::as_str).unwrap_or("gp3");
        bill.add(
            "OpenSearch",
            region,
            format!("{} storage", d.id),
            volume * count,
            &format!("opensearch_{vty}_gb_month"),
        );
    }
    for e in app.of_type("AWS::EC2::VPCEndpoint") {
        if e.props.get("VpcEndpointType").and_then(Value::as_str) == Some("Interface") {
            let azs = e.props.get("SubnetIds").and_then(Value::as_array).map_or(1, Vec::len) as f64;
            bill.add(
                "VPC",
                app.region(e),
                format!("endpoint {} in {azs} AZs", e.id),
                azs * HOURS_PER_MONTH,
                "vpc_interface_endpoint_az_hour",
            );
        }
    }

    // A secret's replica is billed as a secret of the replica's region (a stage serving from several regions
    // replicates its signing secrets to each: <https://aws.amazon.com/secrets-manager/pricing/>).
    let mut secret_replicas: BTreeMap<&str, f64> = BTreeMap::new();
    for s in app.of_type("AWS::SecretsManager::Secret") {
        for r in s.props.get("ReplicaRegions").and_then(Value::as_array).into_iter().flatten() {
            if let Some(region) = r.get("Region").and_then(Value::as_str) {
                *secret_replicas.entry(region).or_default() += 1.0;
            }
        }
    }
    for (region, n) in secret_replicas {
        bill.add("Secrets Manager", region, format!("{n} secret replicas"), n, "secretsmanager_secret_month");
    }

    // S3, KMS, Secrets Manager, CloudWatch: counts from the templates.
    let mut per_region: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for r in &app.resources {
        *per_region.entry((app.region(r), r.ty)).or_default() += 1.0;
    }
    for ((region, ty), n) in &per_region {
        let (region, n) = (*region, *n);
        match *ty {
            "AWS::S3::Bucket" => {
                bill.add(
                    "S3",
                    region,
                    format!("{n} buckets stored"),
                    n * profile.bucket_stored_gb,
                    "s3_storage_gb_month",
                );
            }
            "AWS::KMS::Key" => {
                bill.add("KMS", region, format!("{n} keys"), n, "kms_key_month");
            }
            "AWS::SecretsManager::Secret" => {
                bill.add("Secrets Manager", region, format!("{n} secrets"), n, "secretsmanager_secret_month");
            }
            "AWS::CloudWatch::Alarm" => {
                // Alarms bill per metric they evaluate: a metric math alarm once per metric it reads.
                let metrics: f64 = app
                    .of_type("AWS::CloudWatch::Alarm")
                    .filter(|a| app.region(a) == region)
                    .map(|a| {
                        let math = a.props.get("Metrics").and_then(Value::as_array);
                        let read =
                            math.map_or(1, |qs| qs.iter().filter(|q| q.get("MetricStat").is_some()).count().max(1));
                        // An anomaly detection alarm bills three metrics: the metric and its band's two edges.
                        let anomaly = if a.props.get("ThresholdMetricId").is_some() { 3 } else { 1 };
                        (read * anomaly) as f64
                    })
                    .sum();
                bill.add(
                    "CloudWatch",
                    region,
                    format!("{n} alarms ({metrics} metrics)"),
                    metrics,
                    "cloudwatch_alarm_month",
                );
            }
            "AWS::CloudWatch::Dashboard" => {
                bill.add("CloudWatch", region, format!("{n} dashboards"), n, "cloudwatch_dashboard_month");
            }
            "AWS::CloudWatch::CompositeAlarm" => {
                bill.add("CloudWatch", region, format!("{n} composite alarms"), n, "cloudwatch_composite_alarm_month");
            }
            "AWS::CloudWatch::InsightRule" => {
                bill.add(
                    "CloudWatch",
                    region,
                    format!("{n} Contributor Insights rules"),
                    n,
                    "cloudwatch_insight_rule_month",
                );
                // Each rule reads the access log: one event per API request (the error rules bill only the events
                // they match; counted as all of them, an upper bound).
                bill.add(
                    "CloudWatch",
                    region,
                    format!("events the {n} Contributor Insights rules read"),
                    n * api_requests,
                    "cloudwatch_insight_events_million",
                );
            }
            "AWS::ApiGateway::Stage" => {
                // Detailed metrics: five custom metrics per method (Count, 4XXError, 5XXError, Latency,
                // IntegrationLatency; the cache's two only with a stage cache), billed as custom metrics
                // (https://aws.amazon.com/api-gateway/pricing/).
                let detailed = app.of_type("AWS::ApiGateway::Stage").filter(|st| app.region(st) == region).any(|st| {
                    st.props.get("MethodSettings").and_then(Value::as_array).is_some_and(|ms| {
                        ms.iter().any(|m| m.get("MetricsEnabled").and_then(Value::as_bool) == Some(true))
                    })
                });
                if detailed {
                    let methods =
                        app.of_type("AWS::ApiGateway::Method").filter(|m| app.region(m) == region).count() as f64;
                    bill.add(
                        "CloudWatch",
                        region,
                        format!("detailed API metrics ({methods} methods, 5 each)"),
                        methods * 5.0,
                        "cloudwatch_metric_month",
                    );
                }
            }
            _ => {}
        }
    }
    if let Some(region) = &api_region {
        bill.add("KMS", region, "requests", api_requests * profile.kms_requests_per_request, "kms_request");
        bill.add("CloudWatch", region, "custom metrics", profile.custom_metrics, "cloudwatch_metric_month");
    }
    for (region, bytes) in &log_bytes {
        let gb = bytes / GB;
        bill.add("CloudWatch", region, "logs ingested", gb, "cloudwatch_logs_ingest_gb");
        bill.add(
            "CloudWatch",
            region,
            "logs stored",
            gb * profile.log_storage_months,
            "cloudwatch_logs_storage_gb_month",
        );
    }
    assumptions.push(format!(
        "logs: {} bytes per invocation, {} per access log line, {} per WAF record, {} months stored; flow, workflow \
         and search logs not counted",
        profile.log_bytes_per_invocation,
        profile.access_log_bytes_per_request,
        profile.waf_log_bytes_per_request,
        profile.log_storage_months
    ));

    // The break-even against a container service in the API's region.
    let region = api_region.clone().unwrap_or_else(|| stacks.first().map(|s| s.region.clone()).unwrap_or_default());
    let c = &profile.container;
    let serverless_fixed: f64 = bill
        .lines
        .iter()
        .filter(|l| l.price_key.starts_with("lambda_provisioned_gb_second"))
        .filter(|l| request_path.iter().any(|(_, id)| l.item.starts_with(&format!("{id} "))))
        .fold(0.0, |sum, l| sum + l.usd);
    let per_request = if api_requests > 0.0 { (request_path_usd - serverless_fixed) / api_requests } else { 0.0 };
    let task_hour = c.vcpu * bill.price(&region, "fargate_vcpu_hour_arm64")
        + c.memory_gb * bill.price(&region, "fargate_gb_hour_arm64");
    let alb_hour = bill.price(&region, "alb_hour");
    let lcu_hour = bill.price(&region, "alb_lcu_hour");
    let container_at = |rps: f64| -> f64 {
        let tasks = (rps / (c.rps_per_task * c.target_utilization)).ceil().max(f64::from(c.min_tasks));
        // LCU: the larger of new connections (25 per second) and processed bytes (1 GB per hour).
        let lcu = (rps * c.new_connections_per_request / 25.0).max(rps * c.bytes_per_request * 3600.0 / 1e9);
        (tasks * task_hour + alb_hour + lcu * lcu_hour) * HOURS_PER_MONTH
    };
    let serverless_at = |rps: f64| serverless_fixed + per_request * rps * SECONDS_PER_MONTH;
    let rps = (1..=1_000_000u64).find(|&r| container_at(r as f64) < serverless_at(r as f64));
    let break_even = BreakEven {
        region: region.clone(),
        serverless_usd_per_request: per_request,
        serverless_fixed_usd: serverless_fixed,
        container_fixed_usd: container_at(0.0),
        rps,
        container: c.clone(),
    };
    assumptions.push(format!(
        "break-even: API Gateway (at the price tier of this volume) and the request-path functions against Fargate \
         arm64 tasks of {} vCPU / {} GB serving {} rps each at {:.0}% utilisation (at least {}), behind one ALB; \
         everything behind them (tables, events, logs, edge) costs the same either way and is left out",
        c.vcpu,
        c.memory_gb,
        c.rps_per_task,
        c.target_utilization * 100.0,
        c.min_tasks
    ));

    if !bill.missing.is_empty() {
        bill.missing.sort();
        bill.missing.dedup();
        bail!("the price table has no price for: {} (add them to the table)", bill.missing.join(", "));
    }
    let mut lines = bill.lines;
    lines.sort_by(|a, b| b.usd.total_cmp(&a.usd).then_with(|| a.item.cmp(&b.item)));
    let mut services: BTreeMap<String, f64> = BTreeMap::new();
    for l in &lines {
        *services.entry(l.service.clone()).or_default() += l.usd;
    }
    let mut services: Vec<(String, f64)> = services.into_iter().collect();
    services.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let total_usd = lines.iter().fold(0.0, |sum, l| sum + l.usd);
    Ok(Estimate {
        stage: stage.to_owned(),
        prices_date: prices.date.clone(),
        requests_per_month: requests,
        lines,
        services,
        total_usd,
        break_even,
        assumptions,
        unconfirmed_prices: bill.unconfirmed.into_iter().collect(),
    })
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "cost: stage {} at {} requests/month, prices of {} (USD per month)",
            self.stage, self.requests_per_month, self.prices_date
        )?;
        writeln!(f, "\n  {:<18} {:>12}", "service", "usd")?;
        for (s, usd) in &self.services {
            writeln!(f, "  {s:<18} {usd:>12.2}")?;
        }
        writeln!(f, "  {:<18} {:>12.2}", "total", self.total_usd)?;
        writeln!(f, "\nlargest lines:")?;
        for l in self.lines.iter().take(10) {
            let share = if self.total_usd > 0.0 { l.usd / self.total_usd * 100.0 } else { 0.0 };
            writeln!(
                f,
                "  {:>10.2} {share:>5.1}%  {} {} ({}): {:.4} {}",
                l.usd, l.service, l.item, l.region, l.quantity, l.unit
            )?;
        }
        let b = &self.break_even;
        writeln!(f, "\nbreak-even ({}):", b.region)?;
        writeln!(
            f,
            "  serverless request path: {:.9} USD per request + {:.2} fixed; container service from {:.2} a month",
            b.serverless_usd_per_request, b.serverless_fixed_usd, b.container_fixed_usd
        )?;
        match b.rps {
            Some(r) => writeln!(
                f,
                "  a container service is cheaper from {r} requests/second sustained ({:.0} requests/month)",
                r as f64 * SECONDS_PER_MONTH
            )?,
            None => writeln!(f, "  a container service is not cheaper below 1,000,000 requests/second")?,
        }
        writeln!(f, "\nassumptions:")?;
        for a in &self.assumptions {
            writeln!(f, "  - {a}")?;
        }
        if !self.unconfirmed_prices.is_empty() {
            writeln!(
                f,
                "\nunconfirmed prices applied (check them against the table's source): {}",
                self.unconfirmed_prices.len()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A profile with every traffic figure that is not under test at zero.
    const SMALL_PROFILE: &str = r#"
read_fraction = 1.0
response_bytes = 0
cdn_cache_hit_ratio = 0.0
authorizer_cache_hit_ratio = 0.0
events_per_write = 0.0
event_bytes = 0
batch_fill = 1.0
log_bytes_per_invocation = 0
access_log_bytes_per_request = 0
waf_log_bytes_per_request = 0
log_storage_months = 1.0
xray_sampled_fraction = 0.0
kms_requests_per_request = 0.0
custom_metrics = 0
table_stored_gb = 1.0
bucket_stored_gb = 0.0
cache_stored_gb = 0.0
cache_ecpu_per_request = 0.0
workflow_state_transitions = 0
workflow_output_bytes = 0
[duration_ms]
default = 100
[tables.T]
rru_per_read = 1.0
[container]
vcpu = 1.0
memory_gb = 2.0
rps_per_task = 250.0
target_utilization = 0.6
min_tasks = 2
new_connections_per_request = 0.05
bytes_per_request = 3072
"#;

    fn small_app() -> Vec<StackInput> {
        let template = json!({"Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}},
            "Get": {"Type": "AWS::ApiGateway::Method", "Properties": {
                "HttpMethod": "GET", "AuthorizationType": "NONE",
                "Integration": {"Uri": {"Fn::Sub": ["arn:${F}", {"F": {"Fn::GetAtt": ["F", "Arn"]}}]}}}},
            "F": {"Type": "AWS::Lambda::Function", "Properties": {"MemorySize": 1024, "Architectures": ["arm64"]}},
            "T": {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST"}}
        }});
        vec![StackInput { name: "small".into(), region: "us-east-1".into(), template }]
    }

    fn usd(e: &Estimate, key: &str) -> f64 {
        e.lines.iter().filter(|l| l.price_key == key).map(|l| l.usd).sum()
    }

    /// Every line of a one-route app by hand: 1M GET requests to a 1 GB arm64 function running 100 ms, one read
    /// unit each on an on-demand table, us-east-1.
    #[test]
    fn small_template_line_by_line() {
        let profile = Profile::parse(SMALL_PROFILE).expect("profile");
        let prices = PriceTable::parse(PRICES).expect("prices");
        let e = estimate("small", &small_app(), &profile, &prices, 1e6).expect("estimate");
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-9, "{a} != {b}");
        close(usd(&e, "apigw_rest_request_first_333m"), 3.50); // 1M x 3.50 per million
        close(usd(&e, "lambda_request"), 0.20); // 1M x 0.20 per million
        close(usd(&e, "lambda_gb_second_arm64"), 1.33334); // 1M x 0.1 s x 1 GB x 0.0000133334
        close(usd(&e, "dynamodb_read_request_unit"), 0.125); // 1M x 0.125 per million
        close(usd(&e, "dynamodb_storage_gb_month"), 0.25); // 1 GB x 0.25
        assert_eq!(e.lines.len(), 5, "{:#?}", e.lines);
        close(e.total_usd, 5.40834);
        assert_eq!(e.services[0], ("API Gateway".to_owned(), 3.50));
        // Serverless: 5.03334e-6 per request, 13.23 a month per sustained rps. Container: two tasks
        // (2 x (0.03238 + 2 x 0.00356)) + an ALB (0.0225) an hour, 74.10 a month: cheaper from 6 rps (79.37 vs 74.48).
        close(e.break_even.serverless_usd_per_request, 5.03334e-6);
        assert_eq!(e.break_even.rps, Some(6));
    }

    #[test]
    fn a_missing_price_names_every_key() {
        let profile = Profile::parse(SMALL_PROFILE).expect("profile");
        let mut prices = PriceTable::parse(PRICES).expect("prices");
        let us = prices.regions.get_mut("us-east-1").expect("us-east-1");
        us.remove("lambda_request");
        us.remove("dynamodb_storage_gb_month");
        let err = estimate("small", &small_app(), &profile, &prices, 1e6).expect_err("missing prices");
        assert_eq!(
            err.to_string(),
            "the price table has no price for: regions.us-east-1.dynamodb_storage_gb_month, \
             regions.us-east-1.lambda_request (add them to the table)"
        );
    }

    #[test]
    fn a_bad_ratio_is_named() {
        let text = SMALL_PROFILE.replace("read_fraction = 1.0", "read_fraction = 1.5");
        let err = Profile::parse(&text).expect_err("bad ratio");
        assert_eq!(err.to_string(), "profile: read_fraction = 1.5: must be between 0 and 1");
    }

    /// Every price of the pinned table cites an AWS pricing page and says whether it was confirmed.
    #[test]
    fn every_price_cites_its_page() {
        let prices = PriceTable::parse(PRICES).expect("prices");
        for region in ["us-east-1", "eu-west-1", "global"] {
            assert!(prices.regions.contains_key(region), "{region}");
        }
        for (region, ps) in &prices.regions {
            for (key, p) in ps {
                assert!(p.source.starts_with("https://aws.amazon.com/"), "{region}.{key}: {}", p.source);
                assert!(p.status.starts_with("confirmed") || p.status.starts_with("unconfirmed"), "{region}.{key}");
                assert_eq!(p.read, prices.date, "{region}.{key}");
            }
        }
    }

    fn dev(requests: f64) -> Estimate {
        let stacks = synth_stage("dev", &[]).expect("dev synthesizes");
        let profile = Profile::parse(DEFAULT_PROFILE).expect("profile");
        let prices = PriceTable::parse(PRICES).expect("prices");
        estimate("dev", &stacks, &profile, &prices, requests).expect("estimate")
    }

    fn summary(e: &Estimate) -> String {
        let mut s = format!("total {:.2}\n", e.total_usd);
        for (service, usd) in &e.services {
            s.push_str(&format!("{service} {usd:.2}\n"));
        }
        s.push_str(&format!("break-even {:?} rps", e.break_even.rps));
        s
    }

    /// The dev stage with the default profile, pinned: a change to the platform, the profile or the prices shows here.
    #[test]
    fn dev_at_one_million_requests() {
        // 1M requests: the fixed monthly charges dominate (two web ACLs and their rules, metrics, alarms (a math alarm
        // bills each metric it reads, an anomaly alarm three), the dashboard,
        // keys); traffic adds API Gateway's 3.50 a million and little else. The SLO alarms (issue 11, item 3) add
        // 40.58 to CloudWatch: the API's detailed metrics (20 methods x 5 x 0.30 = 30.00), alarm metrics (+80: 8
        // window alarms x 2, 2 anomaly alarms x 3, 20 route alarms x 3, less the 2 replaced: 8.00), the composite
        // (0.50), 4 Contributor Insights rules (2.00) and the access log events they read (4 x 1M x 0.02 per M: 0.08). The request path's
        // rollouts (issue 11 item 2) add its three p99 latency alarms (+0.30); CodeDeploy's Lambda deployments are free.
        assert_eq!(
            summary(&dev(1e6)),
            "total 93.09\nCloudWatch 61.09\nWAF 21.20\nAPI Gateway 3.50\nDynamoDB 2.09\nKMS 2.00\nCloudFront 1.16\n\
             Secrets Manager 0.80\nLambda 0.53\nX-Ray 0.27\nEventBridge 0.22\nS3 0.12\nSQS 0.10\nStep Functions 0.02\n\
             break-even Some(8) rps"
        );
    }

    #[test]
    fn dev_at_one_hundred_million_requests() {
        // 100M requests: API Gateway (350.00), logs (CloudWatch: ~364 GB ingested in eu-west-1, 140 GB of edge WAF
        // records in us-east-1), per-request WAF and DynamoDB (the control table's rate window: a write per request).
        // The SLO alarms add 48.50: the 40.50 fixed of the 1M case and the Contributor Insights rules' events
        // (4 x 100M x 0.02 per M: 8.00). The rollouts' latency alarms: +0.30, as at 1M.
        assert_eq!(
            summary(&dev(1e8)),
            "total 1242.86\nCloudWatch 367.19\nAPI Gateway 350.00\nDynamoDB 153.13\nWAF 140.00\nCloudFront 116.21\n\
             Lambda 52.54\nX-Ray 26.51\nEventBridge 21.91\nSQS 9.61\nKMS 2.30\nStep Functions 2.00\n\
             Secrets Manager 0.80\nS3 0.66\nbreak-even Some(8) rps"
        );
    }

    /// Prod serves from two regions: the API's requests are split between them, the control tables each see their
    /// region's half, and events are published (and their consumers run) in the primary only.
    #[test]
    fn prod_answers_per_region() {
        let domain: Vec<constructs::platform::stage::Override> = [
            "features.domain.hosted_zone_id=Z0123456789EXAMPLE",
            "features.domain.edge_domain=api.example.com",
            "features.domain.api_domain=origin.api.example.com",
        ]
        .iter()
        .map(|o| o.parse().expect("override"))
        .collect();
        let stacks = synth_stage("prod", &domain).expect("prod synthesizes");
        let profile = Profile::parse(DEFAULT_PROFILE).expect("profile");
        let prices = PriceTable::parse(PRICES).expect("prices");
        let e = estimate("prod", &stacks, &profile, &prices, 1e8).expect("estimate");
        let quantity = |region: &str, item: &str| -> f64 {
            e.lines.iter().filter(|l| l.region == region && l.item == item).map(|l| l.quantity).sum()
        };
        let api = |region: &str| quantity(region, "REST API requests");
        assert!(api("eu-west-1") > 0.0 && (api("eu-west-1") - api("us-west-2")).abs() < 1e-6);
        let control = |region: &str| quantity(region, "Control write request units");
        assert!((control("eu-west-1") - control("us-west-2")).abs() < 1e-6);
        assert!(quantity("eu-west-1", "custom events put on Events") > 0.0);
        assert_eq!(quantity("us-west-2", "custom events put on Events"), 0.0);
        let regions: BTreeSet<&str> = e.lines.iter().map(|l| l.region.as_str()).collect();
        assert_eq!(regions.into_iter().collect::<Vec<_>>(), ["eu-west-1", "global", "us-east-1", "us-west-2"]);
        // The two signing secrets in the primary and their two replicas in us-west-2, each billed as a secret.
        let secrets = |region: &str| -> Vec<(&str, f64)> {
            e.lines
                .iter()
                .filter(|l| l.region == region && l.service == "Secrets Manager")
                .map(|l| (l.item.as_str(), l.usd))
                .collect()
        };
        assert_eq!(secrets("eu-west-1"), [("2 secrets", 0.8)]);
        assert_eq!(secrets("us-west-2"), [("2 secret replicas", 0.8)]);
    }

    /// Every shipped stage is estimated with the pinned table (no price missing), prod with its required domain.
    #[test]
    fn every_shipped_stage_is_estimated() {
        let domain: Vec<constructs::platform::stage::Override> = [
            "features.domain.hosted_zone_id=Z0123456789EXAMPLE",
            "features.domain.edge_domain=api.example.com",
            "features.domain.api_domain=origin.api.example.com",
        ]
        .iter()
        .map(|o| o.parse().expect("override"))
        .collect();
        let profile = Profile::parse(DEFAULT_PROFILE).expect("profile");
        let prices = PriceTable::parse(PRICES).expect("prices");
        for (stage, overrides) in [("dev", &[][..]), ("local", &[][..]), ("prod", &domain[..])] {
            let stacks = synth_stage(stage, overrides).expect("synthesizes");
            let e = estimate(stage, &stacks, &profile, &prices, 1e7);
            assert!(e.as_ref().is_ok_and(|e| e.total_usd > 0.0), "{stage}: {:?}", e.err());
        }
    }
}
