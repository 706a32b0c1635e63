//! The functions' output, readable: one line per log record with the function, level, request id, tenant and
//! message (colour on a terminal), and Embedded Metric Format documents summarized as `metric=value`.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use serde_json::{Map, Value};

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One line a function printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub function: String,
    pub stream: Stream,
    pub text: String,
}

/// Where function output goes.
pub trait LogSink: Send + Sync + 'static {
    fn line(&self, line: LogLine);
}

/// Prints formatted lines to stderr, in colour when stderr is a terminal.
#[derive(Debug)]
pub struct Terminal {
    colour: bool,
    lock: Mutex<()>,
}

impl Default for Terminal {
    fn default() -> Terminal {
        Terminal { colour: std::io::stderr().is_terminal(), lock: Mutex::new(()) }
    }
}

impl LogSink for Terminal {
    fn line(&self, line: LogLine) {
        let text = format_line(&line, self.colour);
        let _guard = self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = writeln!(std::io::stderr(), "{text}");
    }
}

/// Keeps lines in memory (tests).
#[derive(Debug, Default)]
pub struct Memory(pub Mutex<Vec<LogLine>>);

impl Memory {
    pub fn lines(&self) -> Vec<LogLine> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl LogSink for Memory {
    fn line(&self, line: LogLine) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(line);
    }
}

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";

fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour { format!("{code}{text}{RESET}") } else { text.to_owned() }
}

/// `Function | LEVEL req=<first 8> tenant=<id> message key=value...`, or the EMF summary, or the raw text.
pub fn format_line(line: &LogLine, colour: bool) -> String {
    let name = paint(colour, "\x1b[36m", &line.function);
    let Ok(Value::Object(record)) = serde_json::from_str::<Value>(&line.text) else {
        let text =
            if line.stream == Stream::Stderr { paint(colour, "\x1b[31m", &line.text) } else { line.text.clone() };
        return format!("{name} | {text}");
    };
    if let Some(summary) = emf_summary(&record) {
        return format!("{name} | {}", paint(colour, "\x1b[35m", &format!("metrics {summary}")));
    }
    let span = record.get("span").and_then(Value::as_object);
    let field = |keys: &[&str]| -> Option<String> {
        for k in keys {
            for source in [Some(&record), span] {
                if let Some(v) = source.and_then(|s| s.get(*k)) {
                    match v {
                        Value::String(s) if !s.is_empty() => return Some(s.clone()),
                        Value::Number(n) => return Some(n.to_string()),
                        _ => {}
                    }
                }
            }
        }
        None
    };
    let level = field(&["level", "levelname", "severity"]).unwrap_or_else(|| "INFO".into()).to_ascii_uppercase();
    let level_colour = match level.as_str() {
        "ERROR" | "FATAL" => "\x1b[31m",
        "WARN" | "WARNING" => "\x1b[33m",
        "DEBUG" | "TRACE" => DIM,
        _ => "\x1b[32m",
    };
    let mut out = format!("{name} | {}", paint(colour, level_colour, &format!("{level:<5}")));
    if let Some(id) = field(&["requestId", "request_id", "AWSRequestId"]) {
        let short: String = id.chars().take(8).collect();
        out.push_str(&paint(colour, DIM, &format!(" req={short}")));
    }
    if let Some(t) = field(&["tenant_id", "tenantId", "tenant"]) {
        out.push_str(&format!(" tenant={t}"));
    }
    let message = field(&["message", "msg"]).unwrap_or_default();
    out.push(' ');
    out.push_str(&message);
    const SHOWN: &[&str] = &[
        "level",
        "levelname",
        "severity",
        "requestId",
        "request_id",
        "AWSRequestId",
        "tenant_id",
        "tenantId",
        "tenant",
        "message",
        "msg",
        "timestamp",
        "time",
        "span",
        "spans",
        "target",
    ];
    for (k, v) in &record {
        if !SHOWN.contains(&k.as_str()) {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&paint(colour, DIM, &format!(" {k}={v}")));
        }
    }
    out
}

/// `Orders=1 LatencyMs=12 (service=api, tenant=acme)` for an EMF document, none for any other record.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>
pub fn emf_summary(record: &Map<String, Value>) -> Option<String> {
    let directives = record.get("_aws")?.get("CloudWatchMetrics")?.as_array()?;
    let mut metrics = Vec::new();
    let mut dimensions = Vec::new();
    for d in directives {
        for m in d.get("Metrics").and_then(Value::as_array).into_iter().flatten() {
            let Some(name) = m.get("Name").and_then(Value::as_str) else { continue };
            let value = record.get(name).map_or_else(|| "?".to_owned(), |v| v.to_string());
            metrics.push(format!("{name}={value}"));
        }
        for set in d.get("Dimensions").and_then(Value::as_array).into_iter().flatten() {
            for dim in set.as_array().into_iter().flatten().filter_map(Value::as_str) {
                let value = record.get(dim).and_then(Value::as_str).unwrap_or("?");
                let pair = format!("{dim}={value}");
                if !dimensions.contains(&pair) {
                    dimensions.push(pair);
                }
            }
        }
    }
    let mut out = metrics.join(" ");
    if !dimensions.is_empty() {
        out.push_str(&format!(" ({})", dimensions.join(", ")));
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(stream: Stream, text: &str, expected: &str) {
        let line = LogLine { function: "ApiWrite".into(), stream, text: text.into() };
        assert_eq!(format_line(&line, false), expected);
    }

    #[test]
    fn json_records_show_level_request_tenant_and_message() {
        let record = json!({
            "timestamp": "2026-11-30T11:00:00Z", "level": "INFO", "message": "order created", "order_id": "o-1",
            "span": {"request_id": "8f2c1a9e-1111-2222-3333-444455556666", "tenant_id": "acme", "name": "invocation"}
        });
        check(
            Stream::Stdout,
            &record.to_string(),
            "ApiWrite | INFO  req=8f2c1a9e tenant=acme order created order_id=o-1",
        );
        check(Stream::Stdout, r#"{"level":"warn","msg":"slow"}"#, "ApiWrite | WARN  slow");
        check(
            Stream::Stderr,
            "thread 'main' panicked at src/main.rs:3:5",
            "ApiWrite | thread 'main' panicked at src/main.rs:3:5",
        );
    }

    #[test]
    fn emf_lines_are_summarized() {
        let emf = json!({
            "_aws": {"Timestamp": 1, "CloudWatchMetrics": [{"Namespace": "Platform",
                "Dimensions": [["service", "tenant"]],
                "Metrics": [{"Name": "OrdersCreated", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}]}]},
            "service": "api", "tenant": "acme", "OrdersCreated": 1, "Latency": 12.5
        });
        check(
            Stream::Stdout,
            &emf.to_string(),
            "ApiWrite | metrics OrdersCreated=1 Latency=12.5 (service=api, tenant=acme)",
        );
    }

    #[test]
    fn colour_marks_the_level() {
        let line =
            LogLine { function: "F".into(), stream: Stream::Stdout, text: r#"{"level":"ERROR","message":"x"}"#.into() };
        assert_eq!(format_line(&line, true), "\x1b[36mF\x1b[0m | \x1b[31mERROR\x1b[0m x");
    }
}
