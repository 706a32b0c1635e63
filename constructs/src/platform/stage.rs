//! Stage files: `stages/<stage>.toml` holds a stage's [`PlatformConfig`]. The Rust type is the only definition: the
//! file is checked against the JSON Schema schemars derives from it (written next to the files, so editors complete
//! and check them), and every problem is reported at once with the file, the key and the reason; serde alone would
//! stop at the first.
//!
//! Pure: the caller reads the file ([`parse`] takes its text), so the template crates keep their only IO (hashing
//! handler sources).

use std::fmt;

use schemars::generate::SchemaSettings;
use schemars::transform::{RecursiveTransform, Transform};
use serde_json::Value;

use super::config::PlatformConfig;

/// The directory of stage files, relative to the workspace root.
pub const STAGES_DIR: &str = "stages";
/// The JSON Schema of a stage file, in [`STAGES_DIR`] (`cargo xtask codegen` writes it).
pub const SCHEMA_FILE: &str = "stage.schema.json";

/// One problem of a stage file: where (a dotted key such as `features.domain.hosted_zone_id` or `tiers[1].name`,
/// or a `line L, column C` position for a syntax error) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageProblem {
    pub key: String,
    pub message: String,
}

/// Why a stage file could not be read into a [`PlatformConfig`]: every problem found, in file order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct StageError {
    /// The file as the user named it (`stages/prod.toml`).
    pub file: String,
    pub problems: Vec<StageProblem>,
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if p.key.is_empty() {
                write!(f, "{}: {}", self.file, p.message)?;
            } else {
                write!(f, "{}: {}: {}", self.file, p.key, p.message)?;
            }
        }
        Ok(())
    }
}

/// A `--set key=value` override of one key of a stage file (`features.domain.hosted_zone_id=Z123`). The value is
/// read as a TOML value (`true`, `5`, `["us-west-2"]`, `"text"`), or else taken as a string.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub key: String,
    pub value: toml::Value,
}

impl std::str::FromStr for Override {
    type Err = String;

    fn from_str(s: &str) -> Result<Override, String> {
        let (key, raw) =
            s.split_once('=').ok_or_else(|| format!("override {s:?} is not KEY=VALUE (e.g. features.redis=true)"))?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(|part| part.is_empty()) {
            return Err(format!("override key {key:?} must be dotted names such as features.domain.api_domain"));
        }
        let raw = raw.trim();
        let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
            Ok(mut t) => t.remove("v").unwrap_or_else(|| toml::Value::String(raw.to_owned())),
            Err(_) => toml::Value::String(raw.to_owned()),
        };
        Ok(Override { key: key.to_owned(), value })
    }
}

/// The JSON Schema of a stage file: the schemars schema of [`PlatformConfig`], inlined (no `$ref`s, so an error's
/// schema location is the schema that failed), without `null` for optional keys (TOML has no null: an optional key
/// is left out).
pub fn schema() -> Value {
    let settings = SchemaSettings::draft07().with(|s| s.inline_subschemas = true);
    let mut schema = settings.into_generator().into_root_schema_for::<PlatformConfig>();
    RecursiveTransform(drop_null).transform(&mut schema);
    if let Some(o) = schema.as_object_mut() {
        o.insert("title".into(), Value::from("rcdk stage file (stages/<stage>.toml)"));
    }
    schema.to_value()
}

/// [`schema`] as the text of [`SCHEMA_FILE`].
pub fn schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    s.push('\n');
    s
}

fn drop_null(schema: &mut schemars::Schema) {
    let Some(o) = schema.as_object_mut() else { return };
    if o.get("default") == Some(&Value::Null) {
        o.remove("default");
    }
    // An optional enum: its `null` option (TOML has no null either).
    if let Some(Value::Array(options)) = o.get_mut("enum") {
        options.retain(|v| !v.is_null());
    }
    if let Some(Value::Array(types)) = o.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let single = types.remove(0);
            o.insert("type".into(), single);
        }
    }
    // `Option<Struct>` inlined: `anyOf: [{struct}, {type: null}]` becomes the struct's schema.
    if let Some(Value::Array(any)) = o.get("anyOf")
        && any.len() == 2
        && let Some(other) = any.iter().find(|s| s.get("type").and_then(Value::as_str) != Some("null"))
        && any.iter().any(|s| s.get("type").and_then(Value::as_str) == Some("null"))
        && let Some(other) = other.as_object().cloned()
    {
        o.remove("anyOf");
        for (k, v) in other {
            o.entry(k).or_insert(v);
        }
    }
}

/// Reads stage `stage` from the text of its file (`file` names it in messages), with `overrides` applied on top.
/// Every problem is reported at once: TOML syntax, unknown keys, wrong types, values out of range, missing keys.
pub fn parse(file: &str, stage: &str, text: &str, overrides: &[Override]) -> Result<PlatformConfig, StageError> {
    let error = |problems: Vec<StageProblem>| StageError { file: file.to_owned(), problems };
    let mut problems = Vec::new();
    if stage.is_empty() || !stage.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        problems.push(StageProblem {
            key: String::new(),
            message: format!(
                "stage name {stage:?} must be lowercase letters and digits (it names stacks and the API stage)"
            ),
        });
    }
    let mut table = match toml::from_str::<toml::Table>(text) {
        Ok(t) => t,
        Err(e) => {
            let at = e.span().map(|s| position(text, s.start)).unwrap_or_default();
            problems.push(StageProblem { key: at, message: e.message().trim_end().to_owned() });
            return Err(error(problems));
        }
    };
    for o in overrides {
        if let Err(message) = set(&mut table, &o.key, o.value.clone()) {
            problems.push(StageProblem { key: o.key.clone(), message });
        }
    }
    let json = serde_json::to_value(&table).unwrap_or(Value::Null);
    problems.extend(check_schema(&json));
    problems.sort_by(|a, b| a.key.cmp(&b.key));
    if !problems.is_empty() {
        return Err(error(problems));
    }
    // The schema is the type's: what passed it deserializes. An error here is a gap between the two, still
    // reported as a problem of the file rather than a panic.
    let mut config: PlatformConfig = serde_json::from_value(json)
        .map_err(|e| error(vec![StageProblem { key: String::new(), message: e.to_string() }]))?;
    config.stage = stage.to_owned();
    // What the schema cannot say (tier names unique...): the platform's own check, keyed the same way.
    if let Err(super::PlatformError::Config(found)) = super::check(&config) {
        let problems = found
            .into_iter()
            .filter(|p| p.field != "stage") // reported above, with the file's name
            .map(|p| StageProblem {
                key: p.field,
                message: format!("{} is not allowed; allowed: {}", p.value, p.allowed),
            })
            .collect::<Vec<_>>();
        if !problems.is_empty() {
            return Err(error(problems));
        }
    }
    Ok(config)
}

/// `line L, column C` of byte `offset` of `text` (1-based).
fn position(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}")
}

/// Sets dotted `key` in `table`, creating tables on the way.
fn set(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), String> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut t = table;
    for (i, part) in parts.iter().enumerate() {
        let entry = t.entry(part.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = match entry {
            toml::Value::Table(inner) => inner,
            other => {
                return Err(format!(
                    "cannot set a key inside {} (a {}, not a table)",
                    parts[..=i].join("."),
                    other.type_str()
                ));
            }
        };
    }
    t.insert(last.to_owned(), value);
    Ok(())
}

/// Every schema violation of `json`, as problems keyed by dotted path.
fn check_schema(json: &Value) -> Vec<StageProblem> {
    let schema = schema();
    let validator = match jsonschema::options().should_validate_formats(false).build(&schema) {
        Ok(v) => v,
        Err(e) => {
            return vec![StageProblem { key: String::new(), message: format!("the stage schema is invalid: {e}") }];
        }
    };
    let mut problems: Vec<StageProblem> = Vec::new();
    for e in validator.iter_errors(json) {
        let key = dotted(e.instance_path());
        let described = described_at(&schema, e.schema_path());
        use jsonschema::error::ValidationErrorKind as K;
        match e.kind() {
            K::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let what = property_description(described, name);
                problems.push(StageProblem { key: join(&key, name), message: format!("missing{what}") });
            }
            K::AdditionalProperties { unexpected } => {
                let known: Vec<&str> = described
                    .and_then(|s| s.get("properties"))
                    .and_then(Value::as_object)
                    .map(|p| {
                        let mut k: Vec<&str> = p.keys().map(String::as_str).collect();
                        k.sort_unstable();
                        k
                    })
                    .unwrap_or_default();
                for u in unexpected {
                    let hint = synth::suggest(u, known.iter().copied());
                    problems.push(StageProblem {
                        key: join(&key, u),
                        message: format!("unknown key{hint} (allowed here: {})", known.join(", ")),
                    });
                }
            }
            // Every allowed value, not jsonschema's first two "or N other candidates": the list is short, and the
            // reader of the error is choosing among it.
            K::Enum { options } => {
                let allowed: Vec<String> = options.as_array().into_iter().flatten().map(|v| v.to_string()).collect();
                problems.push(StageProblem {
                    key,
                    message: format!("{} is not allowed; allowed: {}", e.instance(), allowed.join(", ")),
                });
            }
            _ => {
                let about = described
                    .and_then(|s| s.get("description"))
                    .and_then(Value::as_str)
                    .map(|d| format!(" ({})", first_sentence(d)))
                    .unwrap_or_default();
                problems.push(StageProblem { key, message: format!("{e}{about}") });
            }
        }
    }
    problems.sort_by(|a, b| a.key.cmp(&b.key));
    problems.dedup();
    problems
}

/// `/tiers/1/name` → `tiers[1].name`.
fn dotted(path: &jsonschema::paths::Location) -> String {
    let mut out = String::new();
    for seg in path.segments() {
        match seg {
            jsonschema::paths::LocationSegment::Index(i) => out.push_str(&format!("[{i}]")),
            jsonschema::paths::LocationSegment::Property(p) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&p);
            }
        }
    }
    out
}

fn join(key: &str, name: &str) -> String {
    if key.is_empty() { name.to_owned() } else { format!("{key}.{name}") }
}

/// The schema object holding the keyword at `schema_path` (its last segment is the keyword).
fn described_at<'a>(schema: &'a Value, schema_path: &jsonschema::paths::Location) -> Option<&'a Value> {
    let segments: Vec<_> = schema_path.segments().collect();
    let mut at = schema;
    for seg in &segments[..segments.len().saturating_sub(1)] {
        at = match seg {
            jsonschema::paths::LocationSegment::Property(p) => at.get(p.as_ref())?,
            jsonschema::paths::LocationSegment::Index(i) => at.get(*i)?,
        };
    }
    Some(at)
}

fn property_description(object_schema: Option<&Value>, name: &str) -> String {
    object_schema
        .and_then(|s| s.get("properties"))
        .and_then(|p| p.get(name))
        .and_then(|p| p.get("description"))
        .and_then(Value::as_str)
        .map(|d| format!(": {}", first_sentence(d)))
        .unwrap_or_default()
}

/// The first sentence of a doc comment (up to a `. ` before a capital letter), on one line.
fn first_sentence(d: &str) -> String {
    let d = d.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = d
        .match_indices(". ")
        .find(|(i, _)| d[i + 2..].starts_with(|c: char| c.is_ascii_uppercase()))
        .map_or(d.len(), |(i, _)| i);
    d[..end].trim_end_matches('.').to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
region = "eu-west-1"
api_rate_limit = 100.0
api_burst_limit = 200
monthly_budget_usd = 50.0
[[tiers]]
name = "free"
rate_limit = 1.0
burst_limit = 2
daily_quota = 100
requests_per_minute = 10
"#;

    /// Parses `text` as stage `t` with `overrides` and compares the error's lines (or `ok`) with `expected`.
    fn check(text: &str, overrides: &[&str], expected: &[&str]) {
        let overrides: Vec<Override> = overrides.iter().map(|o| o.parse().unwrap_or_else(|e| panic!("{e}"))).collect();
        let got = match parse("stages/t.toml", "t", text, &overrides) {
            Ok(_) => vec!["ok".to_owned()],
            Err(e) => e.to_string().lines().map(str::to_owned).collect(),
        };
        assert_eq!(got, expected, "for:\n{text}");
    }

    #[test]
    fn a_minimal_file_takes_the_defaults() {
        let c = parse("stages/t.toml", "t", MINIMAL, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.stage, "t");
        assert_eq!(c.name, "platform");
        assert_eq!(c.metrics_namespace, "Platform");
        assert_eq!(c.billing, crate::dynamodb::Billing::OnDemand);
        assert_eq!(c.features, super::super::Features::default());
        assert_eq!(c.routes, super::super::RouteConfig::platform_routes());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = format!(
            "regoin = \"x\"\n{MINIMAL}\n[features]\ncanary_percent = 150.0\nredis = \"yes\"\n[features.domain]\nedge_domain = \"api.example.com\"\n"
        );
        check(
            &text,
            &[],
            &[
                "stages/t.toml: features.canary_percent: 150.0 is greater than the maximum of 100.0 (Percent of stage traffic sent to the canary deployment (0 to 100))",
                "stages/t.toml: features.domain.api_domain: missing: The regional API's own name, CloudFront's origin (e.g. `origin.api.example.com`)",
                "stages/t.toml: features.domain.hosted_zone_id: missing: The Route 53 hosted zone holding both names (`Z` and 1 to 31 more letters and digits)",
                "stages/t.toml: features.redis: \"yes\" is not of type \"boolean\" (ElastiCache serverless Redis for hot reads (puts the API functions in a VPC))",
                "stages/t.toml: regoin: unknown key; did you mean \"region\"? (allowed here: account, alarm_subscriptions, api_burst_limit, api_rate_limit, billing, cost_center, features, jwt_audience, jwt_issuer, metrics_namespace, monthly_budget_usd, name, oidc, region, regions, slo, tiers)",
            ],
        );
    }

    #[test]
    fn missing_required_keys_are_named() {
        check(
            "name = \"platform\"\n",
            &[],
            &[
                "stages/t.toml: api_burst_limit: missing: Stage throttling of the API: burst",
                "stages/t.toml: api_rate_limit: missing: Stage throttling of the API: requests per second",
                "stages/t.toml: monthly_budget_usd: missing: Estimated charges (USD, month to date) that raise the billing alarm",
                "stages/t.toml: region: missing: The primary region (e.g. `eu-west-1`)",
                "stages/t.toml: tiers: missing: Tenant tiers: usage plans and per-tenant rate limits",
            ],
        );
    }

    #[test]
    fn values_are_checked_against_the_type() {
        let text = MINIMAL.replace("name = \"free\"", "name = \"Free\"").replace("eu-west-1", "europe");
        check(
            &format!("account = \"12345\"\nbilling = \"provisioned\"\n{text}"),
            &[],
            &[
                "stages/t.toml: account: \"12345\" does not match \"^[0-9]{12}$\" (The AWS account the stage deploys to (12 digits))",
                "stages/t.toml: billing: \"provisioned\" is not valid under any of the schemas listed in the 'oneOf' keyword (How the tables' capacity is paid for: `\"on-demand\"` or `{ provisioned = { read = {..}, write = {..} } }`)",
                "stages/t.toml: region: \"europe\" does not match \"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$\" (The primary region (e.g. `eu-west-1`))",
                "stages/t.toml: tiers[0].name: \"Free\" does not match \"^[a-z]+$\" (`free`, `pro`, `enterprise`: the names the authorizer puts in the request context (lowercase letters))",
            ],
        );
    }

    #[test]
    fn syntax_errors_say_where() {
        check(
            "region = \"eu-west-1\nx = 1\n",
            &[],
            &["stages/t.toml: line 1, column 20: invalid basic string, expected `\"`"],
        );
    }

    #[test]
    fn overrides_set_keys_and_are_checked() {
        let c = parse(
            "stages/t.toml",
            "t",
            MINIMAL,
            &["features.redis=true".parse().unwrap(), "features.replica_regions=[\"us-west-2\"]".parse().unwrap()],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.features.redis);
        assert_eq!(c.features.replica_regions, ["us-west-2"]);
        check(
            MINIMAL,
            &["region.x=1", "features.canary_percent=abc"],
            &[
                "stages/t.toml: features.canary_percent: \"abc\" is not of type \"number\" (Percent of stage traffic sent to the canary deployment (0 to 100))",
                "stages/t.toml: region.x: cannot set a key inside region (a string, not a table)",
            ],
        );
        assert_eq!(
            "features".parse::<Override>(),
            Err("override \"features\" is not KEY=VALUE (e.g. features.redis=true)".to_owned())
        );
        assert_eq!(
            "a..b=1".parse::<Override>(),
            Err("override key \"a..b\" must be dotted names such as features.domain.api_domain".to_owned())
        );
    }

    #[test]
    fn the_platforms_own_checks_run_too() {
        let text = format!("{MINIMAL}{}", &MINIMAL[MINIMAL.find("[[tiers]]").unwrap_or_default()..]);
        check(
            &text,
            &[],
            &[
                "stages/t.toml: tiers[1].name: \"free\" is not allowed; allowed: a name of its own (tiers[0] has this one)",
            ],
        );
    }

    #[test]
    fn a_bad_stage_name_is_refused() {
        let e = parse("stages/Prod.toml", "Prod", MINIMAL, &[]).map(|_| ()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stages/Prod.toml: stage name \"Prod\" must be lowercase letters and digits (it names stacks and the API stage)"
        );
    }

    #[test]
    fn objectives_take_defaults_and_route_overrides_name_routes() {
        let c = parse("stages/t.toml", "t", MINIMAL, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((c.slo.availability_percent, c.slo.latency_p99_ms, c.slo.per_route_alarms), (99.9, 1000, true));
        let text = format!(
            "alarm_subscriptions = [{{ slack = {{ workspace_id = \"T0123ABCD\", channel_id = \"C0123ABCD\" }} }}]\n{MINIMAL}\n[slo]\nlatency_p99_ms = 500\n[slo.routes.\"GET /tenants/{{tenant_id}}/orders\"]\nlatency_p99_ms = 300\n"
        );
        let c = parse("stages/t.toml", "t", &text, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.slo.for_route("GET", "/tenants/{tenant_id}/orders"), (99.9, 300));
        assert_eq!(c.slo.for_route("POST", "/tenants/{tenant_id}/orders"), (99.9, 500));
        check(
            &format!(
                "{MINIMAL}\n[slo]\navailability_percent = 99.99\nlatency_p99_ms = 0\n[slo.routes.\"GET /tenants/{{tenant_id}}/order\"]\nlatency_p99_ms = 300\n"
            ),
            &[],
            &[
                "stages/t.toml: slo.availability_percent: 99.99 is greater than the maximum of 99.95 (Percent of requests without a 5xx (default 99.9: a budget of 43 minutes of full outage a month))",
                "stages/t.toml: slo.latency_p99_ms: 0 is less than the minimum of 1 (Milliseconds 99 % of requests are answered within, at API Gateway (default 1000))",
            ],
        );
        check(
            &format!("{MINIMAL}\n[slo.routes.\"GET /tenants/{{tenant_id}}/order\"]\nlatency_p99_ms = 300\n"),
            &[],
            &[
                "stages/t.toml: slo.routes[\"GET /tenants/{tenant_id}/order\"]: \"GET /tenants/{tenant_id}/order\" is not allowed; allowed: a route as METHOD /path, one of the route table's; did you mean \"GET /tenants/{tenant_id}/orders\"?",
            ],
        );
        check(
            &format!(
                "alarm_subscriptions = [{{ slack = {{ workspace_id = \"T0123ABCD\", channel_id = \"alerts\" }} }}]\n{MINIMAL}"
            ),
            &[],
            &[
                "stages/t.toml: alarm_subscriptions[0]: {\"slack\":{\"channel_id\":\"alerts\",\"workspace_id\":\"T0123ABCD\"}} is not valid under any of the schemas listed in the 'oneOf' keyword (Who a topic's messages reach: an email address, an HTTPS endpoint or a Slack channel)",
            ],
        );
    }
}
