//! What a rule's target receives: the whole event, the part at `InputPath`, a constant `Input`, or an
//! `InputTransformer`'s template filled from the event.
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html>

use serde_json::Value;

use super::EventsError;
use crate::stepfunctions::path::Path;

/// How a target's input is made from the event.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetInput {
    /// The event as EventBridge delivers it (no `Input*` field on the target).
    Event,
    /// `InputPath`: the value at this path.
    Path(Path),
    /// `Input`: this JSON text, whatever the event.
    Constant(String),
    /// `InputTransformer`.
    Transformer { paths: Vec<(String, Path)>, template: String },
}

/// What the rule knows of itself, for the transformer's predefined variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleInfo {
    pub name: String,
    pub arn: String,
}

/// Variables every template can use without declaring them; they cannot be declared.
const PREDEFINED: &[&str] = &[
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event.ingestion-time",
    "aws.events.event",
    "aws.events.event.json",
];

impl TargetInput {
    /// The transformer form, checking its variables: at most 100, none predefined, every path valid.
    pub fn transformer(paths: &[(String, String)], template: &str, at: &str) -> Result<TargetInput, EventsError> {
        // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html: up to 100 pairs.
        if paths.len() > 100 {
            return Err(EventsError::Target {
                at: at.to_owned(),
                problem: format!("InputPathsMap has {} variables, at most 100 are allowed", paths.len()),
            });
        }
        let mut parsed = Vec::new();
        for (name, p) in paths {
            if PREDEFINED.contains(&name.as_str()) || name.starts_with("aws.") {
                return Err(EventsError::Target {
                    at: at.to_owned(),
                    problem: format!("InputPathsMap variable {name:?} is reserved (names starting with aws.)"),
                });
            }
            let path = Path::parse(p).map_err(|e| EventsError::Target { at: at.to_owned(), problem: e.to_string() })?;
            parsed.push((name.clone(), path));
        }
        Ok(TargetInput::Transformer { paths: parsed, template: template.to_owned() })
    }

    /// The body the target receives for `event` (JSON text, or plain text from a string template).
    /// `ingestion_time` is the event's `time` when absent.
    pub fn render(&self, event: &Value, rule: &RuleInfo) -> String {
        match self {
            TargetInput::Event => event.to_string(),
            // A path that selects nothing sends nothing: EventBridge delivers an empty input, which JSON
            // consumers see as null.
            TargetInput::Path(p) => p.select(event).unwrap_or(Value::Null).to_string(),
            TargetInput::Constant(c) => c.clone(),
            TargetInput::Transformer { paths, template } => {
                let lookup = |name: &str| -> Option<Value> {
                    if let Some((_, p)) = paths.iter().find(|(n, _)| n == name) {
                        // A path that selects nothing fills its placeholder with null (or nothing, in quotes).
                        return Some(p.select(event).unwrap_or(Value::Null));
                    }
                    match name {
                        "aws.events.rule-arn" => Some(Value::String(rule.arn.clone())),
                        "aws.events.rule-name" => Some(Value::String(rule.name.clone())),
                        "aws.events.event.ingestion-time" => Some(event.get("time").cloned().unwrap_or(Value::Null)),
                        "aws.events.event" => {
                            let mut e = event.clone();
                            if let Value::Object(m) = &mut e {
                                m.remove("detail");
                            }
                            Some(e)
                        }
                        "aws.events.event.json" => Some(event.clone()),
                        _ => None,
                    }
                };
                fill(template, &lookup)
            }
        }
    }
}

/// Replaces each `<name>` that `lookup` knows. Inside a JSON string literal a value goes in as string content (a
/// string without its quotes, anything else as its escaped JSON text); outside, as JSON (a string quoted). An
/// unknown `<name>` is left as written, as EventBridge does with text that is not a declared variable.
fn fill(template: &str, lookup: &dyn Fn(&str) -> Option<Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        // A placeholder: `<name>` with a name `lookup` knows.
        let placeholder = (c == '<')
            .then(|| rest.find('>'))
            .flatten()
            .map(|end| (end, &rest[1..end]))
            .filter(|(_, name)| !name.is_empty() && !name.contains(['<', ' ', '"']))
            .and_then(|(end, name)| Some((end, lookup(name)?)));
        if let Some((end, v)) = placeholder {
            if in_string {
                let text = match &v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                // JSON-escape, without the quotes serde adds.
                let quoted = Value::String(text).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            } else {
                out.push_str(&v.to_string());
            }
            rest = &rest[end + 1..];
            escaped = false;
            continue;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "version": "0", "id": "e-1", "source": "platform.entities", "detail-type": "OrderCreated",
            "time": "2026-01-02T03:04:05Z",
            "detail": {"tenant_id": "t-1", "order_id": "o-1", "total_cents": 1250, "note": "say \"hi\"", "tags": ["a"]}
        })
    }

    fn transform(paths: &[(&str, &str)], template: &str) -> String {
        let paths: Vec<(String, String)> = paths.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
        let t = TargetInput::transformer(&paths, template, "Rule/Target0").unwrap();
        t.render(&event(), &RuleInfo { name: "Billing".into(), arn: "arn:aws:events:::rule/Billing".into() })
    }

    #[test]
    fn whole_event_path_and_constant() {
        let info = RuleInfo::default();
        assert_eq!(TargetInput::Event.render(&event(), &info), event().to_string());
        let p = TargetInput::Path(Path::parse("$.detail").unwrap());
        assert_eq!(serde_json::from_str::<Value>(&p.render(&event(), &info)).unwrap(), event()["detail"]);
        assert_eq!(TargetInput::Path(Path::parse("$.nope").unwrap()).render(&event(), &info), "null");
        assert_eq!(TargetInput::Constant("{\"a\":1}".into()).render(&event(), &info), "{\"a\":1}");
    }

    #[test]
    fn json_template_quotes_by_position() {
        let out = transform(
            &[("tenant", "$.detail.tenant_id"), ("total", "$.detail.total_cents"), ("tags", "$.detail.tags")],
            r#"{"tenant": <tenant>, "msg": "tenant <tenant> paid <total>", "total": <total>, "tags": <tags>}"#,
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v, json!({"tenant": "t-1", "msg": "tenant t-1 paid 1250", "total": 1250, "tags": ["a"]}));
    }

    #[test]
    fn values_with_quotes_are_escaped_inside_strings() {
        let out = transform(&[("note", "$.detail.note")], r#"{"n": "<note>", "raw": <note>}"#);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v, json!({"n": "say \"hi\"", "raw": "say \"hi\""}));
    }

    #[test]
    fn string_templates_and_predefined_variables() {
        assert_eq!(
            transform(&[("o", "$.detail.order_id")], r#""order <o> by rule <aws.events.rule-name>""#),
            r#""order o-1 by rule Billing""#
        );
        assert_eq!(transform(&[("o", "$.detail.order_id")], "order <o>"), "order \"o-1\"");
        let v: Value = serde_json::from_str(&transform(
            &[],
            r#"{"e": <aws.events.event>, "t": "<aws.events.event.ingestion-time>"}"#,
        ))
        .unwrap();
        assert_eq!(v["t"], "2026-01-02T03:04:05Z");
        assert_eq!(v["e"]["id"], "e-1");
        assert!(v["e"].get("detail").is_none());
        let v: Value = serde_json::from_str(&transform(&[], r#"{"e": <aws.events.event.json>}"#)).unwrap();
        assert_eq!(v["e"]["detail"]["order_id"], "o-1");
    }

    #[test]
    fn missing_paths_and_unknown_names() {
        let out = transform(&[("x", "$.detail.missing")], r#"{"a": <x>, "b": "<x>", "c": "<unknown>"}"#);
        assert_eq!(out, r#"{"a": null, "b": "", "c": "<unknown>"}"#);
    }

    #[test]
    fn bad_transformers() {
        let e = TargetInput::transformer(&[("aws.events.rule-name".into(), "$.a".into())], "x", "R/T0").unwrap_err();
        assert_eq!(
            e.to_string(),
            "target R/T0: InputPathsMap variable \"aws.events.rule-name\" is reserved (names starting with aws.)"
        );
        let e = TargetInput::transformer(&[("a".into(), "detail".into())], "x", "R/T0").unwrap_err();
        assert!(e.to_string().contains("a path starts with $"));
        let many: Vec<(String, String)> = (0..101).map(|i| (format!("v{i}"), "$.a".to_owned())).collect();
        assert!(TargetInput::transformer(&many, "x", "R/T0").unwrap_err().to_string().contains("at most 100"));
    }
}
