//! `AWS::Events::Rule` resources of a template as a typed model: bus, pattern, state and targets (kind, input,
//! dead-letter queue, retry policy), and routing an event to the targets of the rules it matches.
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-events-rule.html>

use serde_json::{Map, Value};

use super::EventsError;
use super::input::{RuleInfo, TargetInput};
use super::pattern::EventPattern;
use crate::stepfunctions::path::Path;
use crate::stepfunctions::template::{self, Resolver};

/// A resource a rule names: one of the template (by logical id) or one known only by name (from an ARN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceRef {
    Logical(String),
    Named(String),
}

/// What a target is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    Queue(ResourceRef),
    Function(ResourceRef),
    StateMachine(ResourceRef),
    LogGroup(ResourceRef),
}

/// A target's `RetryPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub maximum_retry_attempts: u32,
    pub maximum_event_age_seconds: u32,
}

impl Default for RetryPolicy {
    /// EventBridge's defaults: 185 attempts over up to 24 hours.
    /// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-retry-policy.html>
    fn default() -> Self {
        RetryPolicy { maximum_retry_attempts: 185, maximum_event_age_seconds: 86_400 }
    }
}

/// One target of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub id: String,
    pub kind: TargetKind,
    pub input: TargetInput,
    /// The role EventBridge assumes (state machine targets); the template's value, unresolved.
    pub role_arn: Option<Value>,
    /// Where undeliverable events go.
    pub dead_letter: Option<ResourceRef>,
    pub retry: RetryPolicy,
}

/// A rule of the template.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub logical_id: String,
    /// `Name`, when the template sets one.
    pub name: Option<String>,
    /// The bus: `Named("default")` when the template names none.
    pub bus: ResourceRef,
    pub pattern: Option<EventPattern>,
    /// `ScheduleExpression` (`rate(5 minutes)`), for scheduled rules.
    pub schedule: Option<String>,
    pub enabled: bool,
    pub description: Option<String>,
    pub targets: Vec<Target>,
}

impl Rule {
    /// Whether an event on bus `bus` (a name) goes to this rule's targets.
    pub fn matches(&self, bus: &str, event: &Value, bus_name_of: &dyn Fn(&ResourceRef) -> String) -> bool {
        self.enabled && bus_name_of(&self.bus) == bus && self.pattern.as_ref().is_some_and(|p| p.matches(event))
    }
}

/// Properties of a target the emulator does not support (listed at start, never silently ignored).
const UNSUPPORTED_TARGET_FIELDS: &[&str] = &[
    "AppSyncParameters",
    "BatchParameters",
    "EcsParameters",
    "HttpParameters",
    "KinesisParameters",
    "RedshiftDataParameters",
    "RunCommandParameters",
    "SageMakerPipelineParameters",
    "SqsParameters",
];

/// Every `AWS::Events::Rule` of `template`, or every problem found (all of them, not the first).
pub fn parse_rules(template: &Value) -> Result<Vec<Rule>, Vec<EventsError>> {
    let empty = Map::new();
    let resources = template.get("Resources").and_then(Value::as_object).unwrap_or(&empty);
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (id, r) in resources {
        if r.get("Type").and_then(Value::as_str) != Some("AWS::Events::Rule") {
            continue;
        }
        match parse_rule(id, r.get("Properties").unwrap_or(&Value::Null), resources) {
            Ok(rule) => rules.push(rule),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() { Ok(rules) } else { Err(errors) }
}

fn parse_rule(id: &str, p: &Value, resources: &Map<String, Value>) -> Result<Rule, Vec<EventsError>> {
    let mut errors = Vec::new();
    let rule_err = |problem: String| EventsError::Rule { at: id.to_owned(), problem };
    let str_prop = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
    let bus = match p.get("EventBusName") {
        None => ResourceRef::Named("default".into()),
        Some(v) => match classify(v, resources) {
            Ok(Classified::Logical(lid, ty)) if ty == "AWS::Events::EventBus" => ResourceRef::Logical(lid),
            Ok(Classified::Text(t)) => {
                ResourceRef::Named(t.rsplit_once(":event-bus/").map_or(t.as_str(), |(_, n)| n).to_owned())
            }
            _ => {
                errors.push(rule_err(format!(
                    "EventBusName {v} is neither a bus name, a bus ARN nor a bus of the template"
                )));
                ResourceRef::Named("default".into())
            }
        },
    };
    let pattern = match p.get("EventPattern") {
        None => None,
        Some(v) => EventPattern::parse(v).map_err(|e| errors.push(e)).ok(),
    };
    let schedule = str_prop("ScheduleExpression");
    if pattern.is_none() && schedule.is_none() && errors.is_empty() {
        errors.push(rule_err("has neither EventPattern nor ScheduleExpression".into()));
    }
    let enabled = match p.get("State").and_then(Value::as_str) {
        None | Some("ENABLED") => true,
        Some("DISABLED") => false,
        Some(other) => {
            // ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS concerns AWS service events, which never happen locally.
            errors.push(rule_err(format!("State {other:?} is not supported, expected ENABLED or DISABLED")));
            false
        }
    };
    let mut targets = Vec::new();
    for t in p.get("Targets").and_then(Value::as_array).into_iter().flatten() {
        match parse_target(id, t, resources) {
            Ok(t) => targets.push(t),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(Rule {
            logical_id: id.to_owned(),
            name: str_prop("Name"),
            bus,
            pattern,
            schedule,
            enabled,
            description: str_prop("Description"),
            targets,
        })
    } else {
        Err(errors)
    }
}

fn parse_target(rule: &str, t: &Value, resources: &Map<String, Value>) -> Result<Target, Vec<EventsError>> {
    let tid = t.get("Id").and_then(Value::as_str).unwrap_or("?").to_owned();
    let at = format!("{rule}/{tid}");
    let mut errors = Vec::new();
    let err = |problem: String| EventsError::Target { at: at.clone(), problem };
    for f in UNSUPPORTED_TARGET_FIELDS {
        if t.get(*f).is_some() {
            errors.push(err(format!("{f} is not supported by the local emulator")));
        }
    }
    let arn = t.get("Arn").unwrap_or(&Value::Null);
    let kind = match classify(arn, resources) {
        Ok(Classified::Logical(lid, ty)) => match ty.as_str() {
            "AWS::SQS::Queue" => Some(TargetKind::Queue(ResourceRef::Logical(lid))),
            "AWS::Lambda::Function" => Some(TargetKind::Function(ResourceRef::Logical(lid))),
            "AWS::StepFunctions::StateMachine" => Some(TargetKind::StateMachine(ResourceRef::Logical(lid))),
            "AWS::Logs::LogGroup" => Some(TargetKind::LogGroup(ResourceRef::Logical(lid))),
            other => {
                errors.push(err(format!("a target of type {other} ({lid}) is not supported: expected a queue, function, state machine or log group")));
                None
            }
        },
        Ok(Classified::Text(text)) => match kind_from_arn(&text) {
            Some(k) => Some(k),
            None => {
                errors.push(err(format!("target ARN {text:?} is not a queue, function, state machine or log group")));
                None
            }
        },
        Err(problem) => {
            errors.push(err(format!("Arn {arn}: {problem}")));
            None
        }
    };
    let input = match (t.get("Input"), t.get("InputPath"), t.get("InputTransformer")) {
        (None, None, None) => Some(TargetInput::Event),
        (Some(Value::String(c)), None, None) => Some(TargetInput::Constant(c.clone())),
        (None, Some(Value::String(p)), None) => {
            Path::parse(p).map(TargetInput::Path).map_err(|e| errors.push(err(e.to_string()))).ok()
        }
        (None, None, Some(tr)) => {
            let paths: Vec<(String, String)> = tr
                .get("InputPathsMap")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
            match tr.get("InputTemplate").and_then(Value::as_str) {
                Some(tpl) => TargetInput::transformer(&paths, tpl, &at).map_err(|e| errors.push(e)).ok(),
                None => {
                    errors.push(err("InputTransformer without an InputTemplate string".into()));
                    None
                }
            }
        }
        _ => {
            errors.push(err(
                "Input, InputPath and InputTransformer are exclusive, each a string (the template's)".into()
            ));
            None
        }
    };
    let dead_letter = match t.get("DeadLetterConfig").and_then(|d| d.get("Arn")) {
        None => None,
        Some(a) => match classify(a, resources) {
            Ok(Classified::Logical(lid, ty)) if ty == "AWS::SQS::Queue" => Some(ResourceRef::Logical(lid)),
            Ok(Classified::Text(text)) if matches!(kind_from_arn(&text), Some(TargetKind::Queue(_))) => {
                match kind_from_arn(&text) {
                    Some(TargetKind::Queue(q)) => Some(q),
                    _ => None,
                }
            }
            _ => {
                errors.push(err(format!("DeadLetterConfig.Arn {a} is not an SQS queue")));
                None
            }
        },
    };
    let mut retry = RetryPolicy::default();
    if let Some(rp) = t.get("RetryPolicy") {
        let num = |k: &str, min: u64, max: u64, errors: &mut Vec<EventsError>| -> Option<u32> {
            let v = rp.get(k)?;
            match v.as_u64() {
                Some(n) if (min..=max).contains(&n) => u32::try_from(n).ok(),
                _ => {
                    errors.push(err(format!("RetryPolicy.{k} {v} is out of range, allowed {min} to {max}")));
                    None
                }
            }
        };
        // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html
        if let Some(n) = num("MaximumRetryAttempts", 0, 185, &mut errors) {
            retry.maximum_retry_attempts = n;
        }
        if let Some(n) = num("MaximumEventAgeInSeconds", 60, 86_400, &mut errors) {
            retry.maximum_event_age_seconds = n;
        }
    }
    match (kind, input, errors.is_empty()) {
        (Some(kind), Some(input), true) => {
            Ok(Target { id: tid, kind, input, role_arn: t.get("RoleArn").cloned(), dead_letter, retry })
        }
        _ => Err(errors),
    }
}

enum Classified {
    /// `Ref` / `Fn::GetAtt` of a resource of the template: its logical id and type.
    Logical(String, String),
    /// A literal, or an `Fn::Sub`/`Fn::Join` rendered with `${Name}` placeholders left in.
    Text(String),
}

/// Keeps each reference as `${Name}`: classifying needs the shape of an ARN, not the deployed values. Colons
/// (`AWS::Region`) become underscores so the placeholder does not split the ARN.
struct Placeholders;

impl Resolver for Placeholders {
    fn reference(&self, name: &str) -> Option<String> {
        Some(format!("${{{}}}", name.replace(':', "_")))
    }
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
        Some(format!("${{{logical_id}.{attribute}}}"))
    }
}

fn classify(v: &Value, resources: &Map<String, Value>) -> Result<Classified, String> {
    let target = v.get("Ref").and_then(Value::as_str).or_else(|| match v.get("Fn::GetAtt") {
        Some(Value::Array(a)) => a.first().and_then(Value::as_str),
        Some(Value::String(s)) => s.split('.').next(),
        _ => None,
    });
    // A `Ref` that is no resource of this template (a pseudo parameter) is resolved as text below.
    if let Some(lid) = target
        && let Some(ty) = resources.get(lid).and_then(|r| r.get("Type")).and_then(Value::as_str)
    {
        return Ok(Classified::Logical(lid.to_owned(), ty.to_owned()));
    }
    match template::resolve(v, &Placeholders) {
        Ok(Value::String(s)) => Ok(Classified::Text(s)),
        Ok(other) => Err(format!("expected a string, found {other}")),
        Err(e) => Err(e.to_string()),
    }
}

/// The kind and name of a target from its ARN (`arn:partition:service:region:account:resource`).
fn kind_from_arn(arn: &str) -> Option<TargetKind> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, _, service, _, _, resource] = parts.as_slice() else { return None };
    let named = |s: &str| ResourceRef::Named(s.to_owned());
    match *service {
        "sqs" => Some(TargetKind::Queue(named(resource))),
        "lambda" => {
            resource.strip_prefix("function:").map(|r| TargetKind::Function(named(r.split(':').next().unwrap_or(r))))
        }
        "states" => resource.strip_prefix("stateMachine:").map(|r| TargetKind::StateMachine(named(r))),
        "logs" => {
            resource.strip_prefix("log-group:").map(|r| TargetKind::LogGroup(named(r.strip_suffix(":*").unwrap_or(r))))
        }
        _ => None,
    }
}

/// Where an event goes: each enabled rule on `bus` whose pattern matches, each of its targets, and the body
/// that target receives. `bus_name_of` names a bus given by logical id (what the local cloud deployed).
pub fn route<'a>(
    rules: &'a [Rule],
    bus: &str,
    event: &Value,
    bus_name_of: &dyn Fn(&ResourceRef) -> String,
) -> Vec<(&'a Rule, &'a Target, String)> {
    let mut out = Vec::new();
    for r in rules.iter().filter(|r| r.matches(bus, event, bus_name_of)) {
        let info = RuleInfo { name: r.name.clone().unwrap_or_else(|| r.logical_id.clone()), arn: String::new() };
        for t in &r.targets {
            out.push((r, t, t.input.render(event, &info)));
        }
    }
    out
}

/// The name of a bus reference when the bus is named in the template (`Named`) or by its `Name` property.
pub fn bus_name(bus: &ResourceRef, template: &Value) -> String {
    match bus {
        ResourceRef::Named(n) => n.clone(),
        ResourceRef::Logical(id) => template["Resources"][id]["Properties"]["Name"].as_str().unwrap_or(id).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn template(targets: Value) -> Value {
        json!({"Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "platform-dev-events"}},
            "Q": {"Type": "AWS::SQS::Queue"},
            "Dlq": {"Type": "AWS::SQS::Queue"},
            "Fn": {"Type": "AWS::Lambda::Function"},
            "Sm": {"Type": "AWS::StepFunctions::StateMachine"},
            "Topic": {"Type": "AWS::SNS::Topic"},
            "R": {"Type": "AWS::Events::Rule", "Properties": {
                "EventBusName": {"Ref": "Bus"},
                "EventPattern": {"source": ["platform.entities"]},
                "Targets": targets
            }}
        }})
    }

    fn one(targets: Value) -> Result<Rule, Vec<EventsError>> {
        parse_rules(&template(targets)).map(|mut r| r.remove(0))
    }

    #[test]
    fn targets_of_every_kind() {
        let r = one(json!([
            {"Id": "T0", "Arn": {"Fn::GetAtt": ["Q", "Arn"]}, "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Dlq", "Arn"]}},
             "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 60}},
            {"Id": "T1", "Arn": {"Fn::GetAtt": ["Fn", "Arn"]}, "Input": "{\"a\":1}"},
            {"Id": "T2", "Arn": {"Ref": "Sm"}, "InputPath": "$.detail", "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}},
            {"Id": "T3", "Arn": {"Fn::Sub": ["arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Name}", {"Name": "/aws/events/x"}]},
             "InputTransformer": {"InputPathsMap": {"t": "$.detail.tenant_id"}, "InputTemplate": "{\"tenant\": <t>}"}}
        ]))
        .unwrap();
        assert_eq!(r.bus, ResourceRef::Logical("Bus".into()));
        assert!(r.enabled);
        let kinds: Vec<_> = r.targets.iter().map(|t| t.kind.clone()).collect();
        assert_eq!(
            kinds,
            [
                TargetKind::Queue(ResourceRef::Logical("Q".into())),
                TargetKind::Function(ResourceRef::Logical("Fn".into())),
                TargetKind::StateMachine(ResourceRef::Logical("Sm".into())),
                TargetKind::LogGroup(ResourceRef::Named("/aws/events/x".into())),
            ]
        );
        assert_eq!(r.targets[0].dead_letter, Some(ResourceRef::Logical("Dlq".into())));
        assert_eq!(r.targets[0].retry, RetryPolicy { maximum_retry_attempts: 3, maximum_event_age_seconds: 60 });
        assert_eq!(r.targets[1].retry, RetryPolicy::default());
        assert_eq!(r.targets[1].input, TargetInput::Constant("{\"a\":1}".into()));
        assert_eq!(r.targets[2].input, TargetInput::Path(Path::parse("$.detail").unwrap()));
        assert!(r.targets[2].role_arn.is_some());
        assert!(matches!(r.targets[3].input, TargetInput::Transformer { .. }));
    }

    #[test]
    fn targets_by_literal_arn() {
        let check = |arn: &str, want: TargetKind| {
            assert_eq!(kind_from_arn(arn), Some(want), "{arn}");
        };
        let n = |s: &str| ResourceRef::Named(s.into());
        check("arn:aws:sqs:eu-west-1:1:jobs", TargetKind::Queue(n("jobs")));
        check("arn:aws:lambda:eu-west-1:1:function:f:live", TargetKind::Function(n("f")));
        check("arn:aws:states:eu-west-1:1:stateMachine:sm", TargetKind::StateMachine(n("sm")));
        check("arn:aws:logs:eu-west-1:1:log-group:/a/b:*", TargetKind::LogGroup(n("/a/b")));
        assert_eq!(kind_from_arn("arn:aws:sns:eu-west-1:1:t"), None);
    }

    #[test]
    fn every_problem_is_reported() {
        let errs = one(json!([
            {"Id": "T0", "Arn": {"Ref": "Topic"}},
            {"Id": "T1", "Arn": {"Fn::GetAtt": ["Q", "Arn"]}, "SqsParameters": {"MessageGroupId": "g"}},
            {"Id": "T2", "Arn": {"Fn::GetAtt": ["Q", "Arn"]}, "Input": "{}", "InputPath": "$.a"},
            {"Id": "T3", "Arn": {"Fn::GetAtt": ["Q", "Arn"]}, "RetryPolicy": {"MaximumRetryAttempts": 186}},
            {"Id": "T4", "Arn": {"Fn::GetAtt": ["Q", "Arn"]}, "DeadLetterConfig": {"Arn": {"Ref": "Fn"}}}
        ]))
        .unwrap_err();
        let msgs: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "target R/T0: a target of type AWS::SNS::Topic (Topic) is not supported: expected a queue, function, state machine or log group",
                "target R/T1: SqsParameters is not supported by the local emulator",
                "target R/T2: Input, InputPath and InputTransformer are exclusive, each a string (the template's)",
                "target R/T3: RetryPolicy.MaximumRetryAttempts 186 is out of range, allowed 0 to 185",
                "target R/T4: DeadLetterConfig.Arn {\"Ref\":\"Fn\"} is not an SQS queue",
            ]
        );
    }

    #[test]
    fn rule_level_problems() {
        let t = json!({"Resources": {
            "A": {"Type": "AWS::Events::Rule", "Properties": {"Targets": []}},
            "B": {"Type": "AWS::Events::Rule", "Properties": {"EventPattern": {"source": "x"}}},
            "C": {"Type": "AWS::Events::Rule", "Properties": {"ScheduleExpression": "rate(1 hour)", "State": "DISABLED"}}
        }});
        let errs: Vec<String> = parse_rules(&t).unwrap_err().iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0], "rule A: has neither EventPattern nor ScheduleExpression");
        assert!(errs[1].starts_with("event pattern at $.source"));
        let t = json!({"Resources": {"C": t["Resources"]["C"].clone()}});
        let rules = parse_rules(&t).unwrap();
        assert_eq!(rules[0].schedule.as_deref(), Some("rate(1 hour)"));
        assert!(!rules[0].enabled);
        assert_eq!(rules[0].bus, ResourceRef::Named("default".into()));
    }

    #[test]
    fn routes_to_matching_enabled_rules_on_the_bus() {
        let mut t = template(json!([{"Id": "T0", "Arn": {"Fn::GetAtt": ["Q", "Arn"]}, "InputPath": "$.detail"}]));
        let rules = parse_rules(&t).unwrap();
        let names = |b: &ResourceRef| bus_name(b, &t);
        let event = json!({"source": "platform.entities", "detail": {"a": 1}});
        let routed = route(&rules, "platform-dev-events", &event, &names);
        assert_eq!(routed.len(), 1);
        assert_eq!(routed[0].2, "{\"a\":1}");
        assert!(route(&rules, "default", &event, &names).is_empty());
        assert!(route(&rules, "platform-dev-events", &json!({"source": "x"}), &names).is_empty());
        t["Resources"]["R"]["Properties"]["State"] = json!("DISABLED");
        let rules = parse_rules(&t).unwrap();
        assert!(route(&rules, "platform-dev-events", &event, &|b| bus_name(b, &t)).is_empty());
    }
}
