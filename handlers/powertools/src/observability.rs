//! Structured JSON logs, EMF metrics and X-Ray trace propagation.
//!
//! - **Logs**: [`init_logging`] installs a `tracing` JSON subscriber on stdout (Lambda ships stdout to
//!   CloudWatch Logs). [`invocation_span`] opens a span per invocation with `request_id`, `trace_id`,
//!   `cold_start` and an empty `tenant_id` that the handler fills with `span.record("tenant_id", ...)`; every log
//!   line inside carries them under `span`.
//! - **Metrics**: [`Metrics`] renders CloudWatch Embedded Metric Format documents (one JSON log line becomes
//!   metrics, no API call). The `tenant` dimension is added with [`Metrics::dimension`]; mind that each distinct
//!   tenant is a distinct custom metric (billing). [`cold_start_metric`] emits `ColdStart` once per sandbox.
//! - **Traces**: Lambda passes the X-Ray header per invocation; `lambda_runtime` exports it as
//!   `_X_AMZN_TRACE_ID`, which the AWS SDK's recursion-detection interceptor forwards on every SDK call. For
//!   other HTTP calls, add [`TRACE_HEADER`] with the context's `xray_trace_id` ([`trace_header`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value, json};
use tracing::level_filters::LevelFilter;

/// The X-Ray trace header name.
pub const TRACE_HEADER: &str = "X-Amzn-Trace-Id";

static COLD: AtomicBool = AtomicBool::new(true);

/// True exactly once per process: on the first invocation.
pub fn take_cold_start() -> bool {
    COLD.swap(false, Ordering::SeqCst)
}

/// Installs the JSON log subscriber (level from `POWERTOOLS_LOG_LEVEL`, default `info`). Safe to call twice.
pub fn init_logging() {
    let level = std::env::var(platform_types::env::LOG_LEVEL)
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_max_level(level)
        .with_writer(std::io::stdout)
        .try_init();
}

/// The `Root=` part of an X-Ray header (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=...;Sampled=1`).
///
/// ```
/// let h = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
/// assert_eq!(powertools::observability::trace_root(h), Some("1-5759e988-bd862e3fe1be46a994272793"));
/// ```
pub fn trace_root(header: &str) -> Option<&str> {
    header.split(';').find_map(|p| p.trim().strip_prefix("Root="))
}

/// The header to add to a downstream HTTP call, if the invocation is traced.
pub fn trace_header(xray_trace_id: Option<&str>) -> Option<(&'static str, String)> {
    xray_trace_id.filter(|h| !h.is_empty()).map(|h| (TRACE_HEADER, h.to_string()))
}

/// A span for one invocation. Fill `tenant_id` once known: `span.record("tenant_id", tenant)`.
pub fn invocation_span(request_id: &str, xray_trace_id: Option<&str>, cold_start: bool) -> tracing::Span {
    let trace_id = xray_trace_id.and_then(trace_root).unwrap_or("");
    tracing::info_span!(
        "invocation",
        request_id = %request_id,
        trace_id = %trace_id,
        cold_start = cold_start,
        tenant_id = tracing::field::Empty,
    )
}

/// Starts an invocation: opens its span (see [`invocation_span`]) and, on the first invocation of the sandbox,
/// prints the `ColdStart` EMF line. Call at the top of the `service_fn` closure.
pub fn start_invocation(ctx: &lambda_runtime::Context) -> tracing::Span {
    let cold = take_cold_start();
    if cold {
        let ns = std::env::var(platform_types::env::METRICS_NAMESPACE).unwrap_or_else(|_| "Platform".into());
        let svc = std::env::var(platform_types::env::SERVICE_NAME).unwrap_or_else(|_| "platform".into());
        let now = crate::clock::Clock::now_millis(&crate::clock::SystemClock);
        println!("{}", cold_start_metric(&ns, &svc, &ctx.env_config.function_name, now));
    }
    invocation_span(&ctx.request_id, ctx.xray_trace_id.as_deref(), cold)
}

/// Metric units used by the platform (a subset of CloudWatch's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Bytes,
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
            Unit::None => "None",
        }
    }
}

/// EMF allows at most 100 metrics per document.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
pub const MAX_METRICS_PER_DOCUMENT: usize = 100;

/// Metrics of one invocation, rendered as EMF.
///
/// ```
/// use powertools::observability::{Metrics, Unit};
/// let mut m = Metrics::new("Platform", "api");
/// m.dimension("tenant", "acme");
/// m.add("OrdersCreated", Unit::Count, 1.0);
/// let doc: serde_json::Value = serde_json::from_str(&m.render(1_700_000_000_000)[0]).unwrap();
/// assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["service", "tenant"]]));
/// assert_eq!(doc["tenant"], "acme");
/// assert_eq!(doc["OrdersCreated"], 1.0);
/// ```
#[derive(Clone, Debug)]
pub struct Metrics {
    namespace: String,
    dimensions: BTreeMap<String, String>,
    values: BTreeMap<String, (Unit, Vec<f64>)>,
    properties: BTreeMap<String, Value>,
}

impl Metrics {
    /// Metrics with the `service` dimension.
    pub fn new(namespace: &str, service: &str) -> Metrics {
        let mut dimensions = BTreeMap::new();
        dimensions.insert("service".to_string(), service.to_string());
        Metrics { namespace: namespace.into(), dimensions, values: BTreeMap::new(), properties: BTreeMap::new() }
    }

    /// From `POWERTOOLS_METRICS_NAMESPACE` and `POWERTOOLS_SERVICE_NAME` (defaults `Platform`, `platform`).
    pub fn from_env() -> Metrics {
        let ns = std::env::var(platform_types::env::METRICS_NAMESPACE).unwrap_or_else(|_| "Platform".into());
        let svc = std::env::var(platform_types::env::SERVICE_NAME).unwrap_or_else(|_| "platform".into());
        Metrics::new(&ns, &svc)
    }

    /// Adds a dimension (e.g. `tenant`). EMF allows 30 dimensions per set; the platform uses 2.
    pub fn dimension(&mut self, name: &str, value: &str) {
        self.dimensions.insert(name.into(), value.into());
    }

    pub fn add(&mut self, name: &str, unit: Unit, value: f64) {
        self.values.entry(name.into()).or_insert((unit, Vec::new())).1.push(value);
    }

    /// A searchable property that is not a metric (request id, order id).
    pub fn property(&mut self, name: &str, value: impl Into<Value>) {
        self.properties.insert(name.into(), value.into());
    }

    /// The EMF documents (one per 100 metrics); none when there is no metric.
    pub fn render(&self, timestamp_ms: u64) -> Vec<String> {
        let names: Vec<&String> = self.values.keys().collect();
        names
            .chunks(MAX_METRICS_PER_DOCUMENT)
            .map(|chunk| {
                let mut doc = Map::new();
                for (k, v) in &self.properties {
                    doc.insert(k.clone(), v.clone());
                }
                for (k, v) in &self.dimensions {
                    doc.insert(k.clone(), Value::String(v.clone()));
                }
                let mut defs = Vec::new();
                for name in chunk {
                    let (unit, vals) = &self.values[*name];
                    defs.push(json!({ "Name": name, "Unit": unit.as_str() }));
                    let v = if vals.len() == 1 { json!(vals[0]) } else { json!(vals) };
                    doc.insert((*name).clone(), v);
                }
                doc.insert(
                    "_aws".into(),
                    json!({
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{
                            "Namespace": self.namespace,
                            "Dimensions": [self.dimensions.keys().collect::<Vec<_>>()],
                            "Metrics": defs,
                        }]
                    }),
                );
                Value::Object(doc).to_string()
            })
            .collect()
    }

    /// Prints the documents to stdout and clears the values (dimensions stay).
    pub fn flush(&mut self) {
        let now = crate::clock::Clock::now_millis(&crate::clock::SystemClock);
        for line in self.render(now) {
            println!("{line}");
        }
        self.values.clear();
        self.properties.clear();
    }
}

/// The `ColdStart` metric: dimensions `service` and `function_name` (no tenant: a sandbox serves many).
pub fn cold_start_metric(namespace: &str, service: &str, function_name: &str, timestamp_ms: u64) -> String {
    let mut m = Metrics::new(namespace, service);
    m.dimension("function_name", function_name);
    m.add("ColdStart", Unit::Count, 1.0);
    m.render(timestamp_ms).pop().unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_shape() {
        let mut m = Metrics::new("Ns", "svc");
        m.dimension("tenant", "t1");
        m.add("Latency", Unit::Milliseconds, 3.0);
        m.add("Latency", Unit::Milliseconds, 5.0);
        m.property("request_id", "r1");
        let doc: Value = serde_json::from_str(&m.render(42)[0]).unwrap();
        assert_eq!(doc["_aws"]["Timestamp"], 42);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Ns");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "Latency", "Unit": "Milliseconds"}])
        );
        assert_eq!(doc["Latency"], json!([3.0, 5.0]));
        assert_eq!(
            (doc["service"].as_str(), doc["tenant"].as_str(), doc["request_id"].as_str()),
            (Some("svc"), Some("t1"), Some("r1"))
        );
        assert!(Metrics::new("a", "b").render(0).is_empty());
    }

    #[test]
    fn splits_at_100_metrics() {
        let mut m = Metrics::new("Ns", "svc");
        for i in 0..150 {
            m.add(&format!("m{i:03}"), Unit::Count, 1.0);
        }
        let docs = m.render(0);
        assert_eq!(docs.len(), 2);
        let first: Value = serde_json::from_str(&docs[0]).unwrap();
        assert_eq!(first["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().len(), 100);
    }

    #[test]
    fn cold_start_once() {
        let doc: Value = serde_json::from_str(&cold_start_metric("Ns", "svc", "fn", 1)).unwrap();
        assert_eq!(doc["ColdStart"], 1.0);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["function_name", "service"]]));
        let first = take_cold_start();
        assert!(!take_cold_start());
        let _ = first;
    }

    #[test]
    fn trace_header_propagation() {
        assert_eq!(trace_header(Some("Root=1-a;Sampled=1")), Some((TRACE_HEADER, "Root=1-a;Sampled=1".into())));
        assert_eq!(trace_header(None), None);
        assert_eq!(trace_root("Sampled=0;Root=1-x"), Some("1-x"));
    }
}
