//! Amazon States Language documents as a typed model, read from a template's `AWS::StepFunctions::StateMachine`
//! (`Definition` or `DefinitionString`, with `DefinitionSubstitutions`). Everything the interpreter cannot run
//! is refused here, with the state's name, so `dev` lists it at start instead of failing mid-execution.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html>

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::StatesError;
use super::choice::Condition;
use super::data::Template;
use super::path::Path;
use super::template::{Resolver, resolve};

/// A state machine's graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub start_at: String,
    pub states: BTreeMap<String, State>,
    /// Execution timeout (`TimeoutSeconds` at the top level).
    pub timeout_seconds: Option<u64>,
}

/// `InputPath` / `OutputPath`: absent (`$`), `null` (`{}`) or a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    All,
    Nothing,
    Path(Path),
}

/// `ResultPath`: absent (the result replaces the input), `null` (the result is discarded) or a path.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultPath {
    Replace,
    Discard,
    Path(Path),
}

/// Where a state goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Next(String),
    End,
}

/// One state, with the input and output processing fields it may have.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub kind: Kind,
    pub input_path: Filter,
    pub output_path: Filter,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultPath,
    /// `Next` / `End` (Task, Pass, Wait, Parallel, Map); `End` for the others.
    pub transition: Transition,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

/// What a task calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `arn:aws:states:::lambda:invoke`: `Parameters` carry `FunctionName` and `Payload`; the result is
    /// `{Payload, StatusCode, ...}`.
    LambdaInvoke,
    /// A function ARN as the resource (the older form): the input is the payload, the result the response.
    LambdaFunction(String),
    /// `arn:aws:states:::events:putEvents`: `Parameters.Entries`.
    PutEvents,
}

/// How long a state may take: seconds, or a path to them in the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Timeout {
    Seconds(u64),
    Path(Path),
}

/// How long a wait state waits.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(String),
    TimestampPath(Path),
}

/// The state types.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Task { resource: Resource, timeout: Option<Timeout> },
    Pass { result: Option<Value> },
    Choice { choices: Vec<(Condition, String)>, default: Option<String> },
    Wait(WaitFor),
    Succeed,
    Fail { error: Option<String>, cause: Option<String>, error_path: Option<Path>, cause_path: Option<Path> },
    Parallel { branches: Vec<Definition> },
    Map { items_path: Option<Path>, item_selector: Option<Template>, processor: Box<Definition>, max_concurrency: u64 },
}

/// A `Retry` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    pub errors: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub full_jitter: bool,
}

/// A `Catch` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    pub errors: Vec<String>,
    pub next: String,
    pub result_path: ResultPath,
}

/// Reads the definition of an `AWS::StepFunctions::StateMachine` resource's `Properties`: `Definition` (an
/// object) or `DefinitionString` (text, possibly built with `Fn::Sub`/`Fn::Join`), then
/// `DefinitionSubstitutions` (`${Name}` in every string of the document) resolved with `resolver`.
pub fn from_properties(properties: &Value, resolver: &dyn Resolver) -> Result<Definition, StatesError> {
    let res = |e: super::template::ResolveError| StatesError::Definition {
        at: "StateMachine".into(),
        problem: e.to_string(),
    };
    let mut doc = match (properties.get("Definition"), properties.get("DefinitionString")) {
        (Some(d), None) => d.clone(),
        (None, Some(s)) => match resolve(s, resolver).map_err(res)? {
            Value::String(text) => serde_json::from_str(&text).map_err(|e| StatesError::Definition {
                at: "DefinitionString".into(),
                problem: format!("not JSON: {e}"),
            })?,
            other => other,
        },
        _ => {
            return Err(StatesError::Definition {
                at: "StateMachine".into(),
                problem:
                    "expected exactly one of Definition and DefinitionString (DefinitionS3Location is not supported)"
                        .into(),
            });
        }
    };
    if let Some(subs) = properties.get("DefinitionSubstitutions") {
        let Value::Object(subs) = resolve(subs, resolver).map_err(res)? else {
            return Err(StatesError::Definition {
                at: "DefinitionSubstitutions".into(),
                problem: "expected an object".into(),
            });
        };
        let subs: BTreeMap<String, String> = subs
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    },
                )
            })
            .collect();
        substitute(&mut doc, &subs);
    }
    Definition::parse(&doc)
}

fn substitute(v: &mut Value, subs: &BTreeMap<String, String>) {
    match v {
        Value::String(s) if s.contains("${") => {
            for (k, x) in subs {
                *s = s.replace(&format!("${{{k}}}"), x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| substitute(x, subs)),
        Value::Object(m) => m.values_mut().for_each(|x| substitute(x, subs)),
        _ => {}
    }
}

struct Ctx<'a> {
    state: &'a str,
    m: &'a Map<String, Value>,
}

impl Ctx<'_> {
    fn err(&self, problem: impl Into<String>) -> StatesError {
        StatesError::Definition { at: self.state.to_owned(), problem: problem.into() }
    }
    fn str(&self, k: &str) -> Result<Option<String>, StatesError> {
        match self.m.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.err(format!("{k} must be a string, found {v}"))),
        }
    }
    fn uint(&self, k: &str) -> Result<Option<u64>, StatesError> {
        match self.m.get(k) {
            None => Ok(None),
            Some(v) => {
                v.as_u64().map(Some).ok_or_else(|| self.err(format!("{k} must be a non-negative integer, found {v}")))
            }
        }
    }
    fn path(&self, k: &str) -> Result<Option<Path>, StatesError> {
        self.str(k)?.map(|p| Path::parse(&p).map_err(|e| self.err(format!("{k}: {e}")))).transpose()
    }
    fn filter(&self, k: &str) -> Result<Filter, StatesError> {
        match self.m.get(k) {
            None => Ok(Filter::All),
            Some(Value::Null) => Ok(Filter::Nothing),
            Some(_) => Ok(self.path(k)?.map_or(Filter::All, Filter::Path)),
        }
    }
    fn result_path(&self, k: &str) -> Result<ResultPath, StatesError> {
        match self.m.get(k) {
            None => Ok(ResultPath::Replace),
            Some(Value::Null) => Ok(ResultPath::Discard),
            Some(_) => {
                let p = self.path(k)?.ok_or_else(|| self.err(format!("{k} is missing")))?;
                if !p.is_reference() || p.is_context() {
                    return Err(
                        self.err(format!("{k} {p} must be a reference path into the input (no wildcard, not $$)"))
                    );
                }
                Ok(if p.segments().is_empty() { ResultPath::Replace } else { ResultPath::Path(p) })
            }
        }
    }
    fn template(&self, k: &str) -> Result<Option<Template>, StatesError> {
        self.m.get(k).map(|v| Template::parse(v).map_err(|e| self.err(format!("{k}: {e}")))).transpose()
    }
    fn errors(&self, v: &Value, what: &str) -> Result<Vec<String>, StatesError> {
        let list = v
            .get("ErrorEquals")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|e| e.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
            .unwrap_or_default()
            .unwrap_or_default();
        if list.is_empty() {
            return Err(self.err(format!("a {what} needs ErrorEquals, a non-empty list of error names")));
        }
        Ok(list)
    }
}

/// Fields each state type may carry besides `Type` and `Comment`. `HeartbeatSeconds` is accepted and has no
/// effect: only activities and callback tasks send heartbeats, and neither is supported.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html>
fn allowed(ty: &str) -> &'static [&'static str] {
    match ty {
        "Task" => &[
            "Resource",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
        ],
        "Pass" => &["Result", "ResultPath", "Parameters", "InputPath", "OutputPath", "Next", "End"],
        "Choice" => &["Choices", "Default", "InputPath", "OutputPath"],
        "Wait" => &["Seconds", "SecondsPath", "Timestamp", "TimestampPath", "InputPath", "OutputPath", "Next", "End"],
        "Succeed" => &["InputPath", "OutputPath"],
        "Fail" => &["Error", "Cause", "ErrorPath", "CausePath"],
        "Parallel" => &[
            "Branches",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Retry",
            "Catch",
        ],
        "Map" => &[
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "MaxConcurrency",
            "ResultSelector",
            "ResultPath",
            "InputPath",
            "OutputPath",
            "Next",
            "End",
            "Retry",
            "Catch",
        ],
        _ => &[],
    }
}

impl Definition {
    /// Parses an ASL document and checks its transitions.
    pub fn parse(doc: &Value) -> Result<Definition, StatesError> {
        let top = |p: &str| StatesError::Definition { at: "(top level)".into(), problem: p.to_owned() };
        let start_at = doc.get("StartAt").and_then(Value::as_str).ok_or_else(|| top("StartAt must be a state name"))?;
        let states = doc.get("States").and_then(Value::as_object).ok_or_else(|| top("States must be an object"))?;
        let timeout_seconds = match doc.get("TimeoutSeconds") {
            None => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| top("TimeoutSeconds must be a positive integer"))?),
        };
        if let Some(v) = doc.get("QueryLanguage").and_then(Value::as_str).filter(|v| *v != "JSONPath") {
            return Err(top(&format!("QueryLanguage {v} is not supported, only JSONPath")));
        }
        let mut out = BTreeMap::new();
        for (name, s) in states {
            out.insert(name.clone(), parse_state(name, s)?);
        }
        let def = Definition { start_at: start_at.to_owned(), states: out, timeout_seconds };
        def.check()?;
        Ok(def)
    }

    fn check(&self) -> Result<(), StatesError> {
        let known = |from: &str, to: &str| {
            if self.states.contains_key(to) {
                Ok(())
            } else {
                Err(StatesError::Definition {
                    at: from.to_owned(),
                    problem: format!("goes to {to:?}, which is not a state"),
                })
            }
        };
        known("StartAt", &self.start_at)?;
        for (name, s) in &self.states {
            if let Transition::Next(n) = &s.transition {
                known(name, n)?;
            }
            for c in &s.catch {
                known(name, &c.next)?;
            }
            if let Kind::Choice { choices, default } = &s.kind {
                for (_, n) in choices {
                    known(name, n)?;
                }
                if let Some(d) = default {
                    known(name, d)?;
                }
            }
        }
        Ok(())
    }
}

fn parse_state(name: &str, v: &Value) -> Result<State, StatesError> {
    let Value::Object(m) = v else {
        return Err(StatesError::Definition { at: name.to_owned(), problem: "a state must be an object".into() });
    };
    let c = Ctx { state: name, m };
    let ty = c.str("Type")?.ok_or_else(|| c.err("Type is missing"))?;
    let fields = allowed(&ty);
    if fields.is_empty() {
        return Err(c.err(format!("Type {ty:?} is not a state type")));
    }
    for k in m.keys() {
        if k != "Type" && k != "Comment" && !fields.contains(&k.as_str()) {
            return Err(c.err(format!("field {k} is not supported on a {ty} state")));
        }
    }
    let transition = match (c.str("Next")?, m.get("End")) {
        (Some(n), None) => Transition::Next(n),
        (None, Some(Value::Bool(true))) => Transition::End,
        (None, None) if matches!(ty.as_str(), "Choice" | "Succeed" | "Fail") => Transition::End,
        _ => return Err(c.err("needs exactly one of Next and \"End\": true")),
    };
    let retry = match m.get("Retry") {
        None => Vec::new(),
        Some(Value::Array(rs)) => rs.iter().map(|r| retrier(&c, r)).collect::<Result<_, _>>()?,
        Some(_) => return Err(c.err("Retry must be a list")),
    };
    let catch = match m.get("Catch") {
        None => Vec::new(),
        Some(Value::Array(cs)) => cs
            .iter()
            .map(|x| {
                let Value::Object(cm) = x else { return Err(c.err("a catcher must be an object")) };
                let cc = Ctx { state: name, m: cm };
                Ok(Catcher {
                    errors: c.errors(x, "catcher")?,
                    next: cc.str("Next")?.ok_or_else(|| c.err("a catcher needs Next"))?,
                    result_path: cc.result_path("ResultPath")?,
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(c.err("Catch must be a list")),
    };
    for (what, lists) in [
        ("retrier", retry.iter().map(|r| &r.errors).collect::<Vec<_>>()),
        ("catcher", catch.iter().map(|x| &x.errors).collect()),
    ] {
        for (i, errs) in lists.iter().enumerate() {
            if errs.iter().any(|e| e == "States.ALL") && (errs.len() > 1 || i + 1 != lists.len()) {
                return Err(c.err(format!("States.ALL must be alone in the last {what}")));
            }
        }
    }
    let kind = match ty.as_str() {
        "Task" => {
            let r = c.str("Resource")?.ok_or_else(|| c.err("Resource is missing"))?;
            let resource = parse_resource(&r).ok_or_else(|| {
                c.err(format!(
                    "Resource {r:?} is not supported: expected arn:aws:states:::lambda:invoke, arn:aws:states:::events:putEvents or a Lambda function ARN"
                ))
            })?;
            let timeout = match (c.uint("TimeoutSeconds")?, c.path("TimeoutSecondsPath")?) {
                (Some(s), None) => Some(Timeout::Seconds(s)),
                (None, Some(p)) => Some(Timeout::Path(p)),
                (None, None) => None,
                _ => return Err(c.err("TimeoutSeconds and TimeoutSecondsPath are exclusive")),
            };
            if resource == Resource::LambdaInvoke && m.get("Parameters").and_then(|p| p.get("FunctionName")).is_none() {
                return Err(c.err("a lambda:invoke task needs Parameters.FunctionName"));
            }
            Kind::Task { resource, timeout }
        }
        "Pass" => Kind::Pass { result: m.get("Result").cloned() },
        "Choice" => {
            let list = m.get("Choices").and_then(Value::as_array).filter(|a| !a.is_empty());
            let list = list.ok_or_else(|| c.err("Choices must be a non-empty list"))?;
            let choices = list
                .iter()
                .map(|r| {
                    let next =
                        r.get("Next").and_then(Value::as_str).ok_or_else(|| c.err("a choice rule needs Next"))?;
                    Ok((Condition::parse(r, true).map_err(|e| c.err(e))?, next.to_owned()))
                })
                .collect::<Result<_, StatesError>>()?;
            Kind::Choice { choices, default: c.str("Default")? }
        }
        "Wait" => {
            let w = [
                c.uint("Seconds")?.map(WaitFor::Seconds),
                c.path("SecondsPath")?.map(WaitFor::SecondsPath),
                c.str("Timestamp")?.map(WaitFor::Timestamp),
                c.path("TimestampPath")?.map(WaitFor::TimestampPath),
            ];
            let mut w = w.into_iter().flatten();
            match (w.next(), w.next()) {
                (Some(WaitFor::Timestamp(t)), None) if super::time::parse_rfc3339(&t).is_none() => {
                    return Err(c.err(format!("Timestamp {t:?} is not an RFC 3339 timestamp")));
                }
                (Some(x), None) => Kind::Wait(x),
                _ => return Err(c.err("needs exactly one of Seconds, SecondsPath, Timestamp and TimestampPath")),
            }
        }
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: c.str("Error")?,
            cause: c.str("Cause")?,
            error_path: c.path("ErrorPath")?,
            cause_path: c.path("CausePath")?,
        },
        "Parallel" => {
            let bs = m.get("Branches").and_then(Value::as_array).filter(|b| !b.is_empty());
            let bs = bs.ok_or_else(|| c.err("Branches must be a non-empty list"))?;
            Kind::Parallel { branches: bs.iter().map(Definition::parse).collect::<Result<_, _>>()? }
        }
        "Map" => {
            let processor = m
                .get("ItemProcessor")
                .or_else(|| m.get("Iterator"))
                .ok_or_else(|| c.err("ItemProcessor is missing"))?;
            if let Some(mode) = processor.get("ProcessorConfig").and_then(|p| p.get("Mode")).and_then(Value::as_str)
                && mode != "INLINE"
            {
                return Err(c.err(format!("ProcessorConfig.Mode {mode} is not supported, only INLINE")));
            }
            let item_selector = match (c.template("ItemSelector")?, c.template("Parameters")?) {
                (Some(t), None) | (None, Some(t)) => Some(t),
                (None, None) => None,
                _ => return Err(c.err("ItemSelector and Parameters are exclusive")),
            };
            Kind::Map {
                items_path: c.path("ItemsPath")?,
                item_selector,
                processor: Box::new(Definition::parse(processor)?),
                max_concurrency: c.uint("MaxConcurrency")?.unwrap_or(0),
            }
        }
        _ => return Err(c.err(format!("Type {ty:?} is not a state type"))),
    };
    let parameters = if ty == "Map" { None } else { c.template("Parameters")? };
    Ok(State {
        kind,
        input_path: c.filter("InputPath")?,
        output_path: c.filter("OutputPath")?,
        parameters,
        result_selector: c.template("ResultSelector")?,
        result_path: c.result_path("ResultPath")?,
        transition,
        retry,
        catch,
    })
}

fn retrier(c: &Ctx<'_>, v: &Value) -> Result<Retrier, StatesError> {
    let Value::Object(m) = v else { return Err(c.err("a retrier must be an object")) };
    let r = Ctx { state: c.state, m };
    let backoff_rate = match m.get("BackoffRate") {
        None => 2.0,
        Some(x) => x
            .as_f64()
            .filter(|b| *b >= 1.0)
            .ok_or_else(|| c.err(format!("BackoffRate {x} must be a number of at least 1.0")))?,
    };
    let full_jitter = match r.str("JitterStrategy")?.as_deref() {
        None | Some("NONE") => false,
        Some("FULL") => true,
        Some(other) => return Err(c.err(format!("JitterStrategy {other:?} must be FULL or NONE"))),
    };
    // Defaults: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-retrying-after-an-error
    Ok(Retrier {
        errors: c.errors(v, "retrier")?,
        interval_seconds: r.uint("IntervalSeconds")?.unwrap_or(1),
        max_attempts: r.uint("MaxAttempts")?.unwrap_or(3),
        backoff_rate,
        max_delay_seconds: r.uint("MaxDelaySeconds")?,
        full_jitter,
    })
}

fn parse_resource(r: &str) -> Option<Resource> {
    // The partition may be aws, aws-cn, aws-us-gov: integrations are named by service and action.
    let parts: Vec<&str> = r.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "states", "", "", "lambda", "invoke"] => Some(Resource::LambdaInvoke),
        ["arn", _, "states", "", "", "events", "putEvents"] => Some(Resource::PutEvents),
        ["arn", _, "lambda", _, _, "function", _] => Some(Resource::LambdaFunction(r.to_owned())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::stepfunctions::template::Table;
    use serde_json::json;

    fn err(doc: Value) -> String {
        Definition::parse(&doc).unwrap_err().to_string()
    }

    fn one(state: Value) -> Value {
        json!({"StartAt": "S", "States": {"S": state, "E": {"Type": "Succeed"}}})
    }

    #[test]
    fn refuses_what_it_cannot_run_naming_the_state() {
        assert_eq!(
            err(one(json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}))),
            "state machine definition, at S: Resource \"arn:aws:states:::sqs:sendMessage\" is not supported: expected arn:aws:states:::lambda:invoke, arn:aws:states:::events:putEvents or a Lambda function ARN"
        );
        assert!(
            err(one(
                json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "End": true})
            ))
            .contains("not supported")
        );
        assert!(
            err(one(json!({"Type": "Pass", "Next": "Nowhere"}))).contains("goes to \"Nowhere\", which is not a state")
        );
        assert!(err(one(json!({"Type": "Pass"}))).contains("exactly one of Next"));
        assert!(
            err(one(json!({"Type": "Pass", "End": true, "Credentials": {}})))
                .contains("field Credentials is not supported on a Pass state")
        );
        assert!(err(one(json!({"Type": "Loop", "End": true}))).contains("not a state type"));
        assert!(err(one(json!({"Type": "Wait", "End": true}))).contains("exactly one of Seconds"));
        assert!(err(one(json!({"Type": "Wait", "Timestamp": "tomorrow", "End": true}))).contains("RFC 3339"));
        assert!(err(one(json!({"Type": "Pass", "End": true, "ResultPath": "$.a[*]"}))).contains("reference path"));
        assert!(
            err(one(json!({"Type": "Pass", "End": true, "Parameters": {"a.$": "nope"}})))
                .contains("Parameters: field \"a.$\"")
        );
        assert!(
            err(one(json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true})))
                .contains("FunctionName")
        );
        let all_first = json!({"Type": "Task", "Resource": "arn:aws:lambda:eu-west-1:1:function:f", "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]});
        assert!(err(one(all_first)).contains("States.ALL must be alone in the last retrier"));
        assert!(
            err(one(json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "StringEquals": 1, "Next": "E"}]})))
                .contains("StringEquals")
        );
        assert!(err(json!({"StartAt": "S", "States": {}})).contains("StartAt: goes to \"S\""));
        assert!(err(json!({"States": {}})).contains("StartAt"));
    }

    #[test]
    fn reads_retriers_with_defaults() {
        let d = Definition::parse(&one(json!({"Type": "Task", "Resource": "arn:aws:lambda:eu-west-1:1:function:f", "End": true,
            "Retry": [{"ErrorEquals": ["A"]}, {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 0, "BackoffRate": 1.5, "MaxDelaySeconds": 10, "JitterStrategy": "FULL"}]})))
        .unwrap();
        let r = &d.states["S"].retry;
        assert_eq!(
            r[0],
            Retrier {
                errors: vec!["A".into()],
                interval_seconds: 1,
                max_attempts: 3,
                backoff_rate: 2.0,
                max_delay_seconds: None,
                full_jitter: false
            }
        );
        assert_eq!(r[1].max_delay_seconds, Some(10));
        assert!(r[1].full_jitter);
    }

    #[test]
    fn definition_string_with_substitutions() {
        let mut t = Table::default();
        t.attrs.insert("Fn.Arn".into(), "arn:aws:lambda:eu-west-1:1:function:f".into());
        t.refs.insert("AWS::Region".into(), "eu-west-1".into());
        let props = json!({
            "DefinitionString": {"Fn::Join": ["", [
                "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Task\",\"Resource\":\"arn:aws:states:::lambda:invoke\",",
                "\"Parameters\":{\"FunctionName\":\"${F}\",\"Payload.$\":\"$\",\"Region\":\"", {"Ref": "AWS::Region"}, "\"},\"End\":true}}}"
            ]]},
            "DefinitionSubstitutions": {"F": {"Fn::GetAtt": ["Fn", "Arn"]}}
        });
        let d = from_properties(&props, &t).unwrap();
        let Some(Template::Object(fields)) = &d.states["A"].parameters else { panic!("parameters") };
        assert_eq!(
            fields[0],
            ("FunctionName".into(), Template::Literal(json!("arn:aws:lambda:eu-west-1:1:function:f")))
        );
        assert_eq!(fields[2], ("Region".into(), Template::Literal(json!("eu-west-1"))));
        let e = from_properties(&json!({"DefinitionS3Location": {}}), &t).unwrap_err().to_string();
        assert!(e.contains("DefinitionS3Location is not supported"));
        let e =
            from_properties(&json!({"DefinitionString": {"Fn::GetAtt": ["Nope", "Arn"]}}), &t).unwrap_err().to_string();
        assert!(e.contains("unknown attribute"));
    }
}
