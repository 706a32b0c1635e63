//! Amazon EventBridge, locally: the rules of the templates ([`rule::Rule`], parsed from `AWS::Events::Rule`),
//! their event patterns ([`EventPattern`]) matched as EventBridge does, and each target's input
//! ([`TargetInput`]: `InputPath`, `Input`, `InputTransformer`). No delivery here: `dev` sends what
//! [`rule::route`] returns to the local queues, functions, state machines and log groups.

pub mod input;
pub mod pattern;
pub mod rule;

pub use input::{RuleInfo, TargetInput};
pub use pattern::EventPattern;
pub use rule::{Rule, Target, TargetKind, parse_rules, route};

use serde_json::{Value, json};

/// Why a pattern, rule or target of a template cannot be emulated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventsError {
    /// A pattern field or matcher EventBridge would reject.
    #[error("event pattern at {at}: {value} is not allowed: expected {allowed}")]
    Pattern { at: String, value: String, allowed: String },
    /// A rule (`at` is its logical id) that cannot be emulated.
    #[error("rule {at}: {problem}")]
    Rule { at: String, problem: String },
    /// A target (`at` is `Rule/TargetId`) that cannot be emulated.
    #[error("target {at}: {problem}")]
    Target { at: String, problem: String },
}

/// One entry of a `PutEvents` call (what the stream processor and the workflow send).
/// <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html>
#[derive(Debug, Clone, PartialEq)]
pub struct PutEventsEntry {
    /// Bus name or ARN; `None` is the default bus.
    pub event_bus_name: Option<String>,
    pub source: String,
    pub detail_type: String,
    /// The detail, a JSON object (the API carries it as text).
    pub detail: Value,
    pub resources: Vec<String>,
}

impl PutEventsEntry {
    /// The event EventBridge delivers for this entry, with the fields it adds.
    /// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-structure.html>
    pub fn to_event(&self, id: &str, time: &str, account: &str, region: &str) -> Value {
        json!({
            "version": "0",
            "id": id,
            "detail-type": self.detail_type,
            "source": self.source,
            "account": account,
            "time": time,
            "region": region,
            "resources": self.resources,
            "detail": self.detail,
        })
    }

    /// The bus name this entry goes to (the last part of an ARN; `default` when none).
    pub fn bus_name(&self) -> &str {
        match &self.event_bus_name {
            None => "default",
            Some(n) => n.rsplit_once(":event-bus/").map_or(n.as_str(), |(_, name)| name),
        }
    }
}
