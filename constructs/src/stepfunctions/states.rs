//! Typed states of the Amazon States Language: what a [`super::StateMachine`] is built from.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html>

use std::collections::{BTreeMap, BTreeSet};

use synth::{Node, Scope, Val};

use crate::error::ConstructError;
use crate::events::EventBus;
use crate::iam::Role;
use crate::lambda::Function;

/// States and where execution starts.
#[derive(Clone, Debug)]
pub struct Graph {
    pub start_at: String,
    pub states: Vec<(String, State)>,
}

impl Graph {
    /// A graph starting at `start_at` (add the states with [`Graph::state`]).
    pub fn new(start_at: &str) -> Self {
        Graph { start_at: start_at.to_owned(), states: Vec::new() }
    }
    /// Adds state `name`.
    pub fn state(mut self, name: &str, state: State) -> Self {
        self.states.push((name.to_owned(), state));
        self
    }
}

/// One state.
// A task holds the function it invokes; boxing it would only make the typed states noisier to write, and a state
// machine has a handful of states.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum State {
    Task(Task),
    Choice(Choice),
    Map(Map),
    Wait(Wait),
    Succeed,
    Fail(Fail),
}

/// Where a state goes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    State(String),
    End,
}

impl Next {
    pub fn to(name: &str) -> Self {
        Next::State(name.to_owned())
    }
}

/// What a task does.
#[derive(Clone, Debug)]
pub enum TaskResource {
    /// Invoke a Lambda function with the state's input (`arn:aws:states:::lambda:invoke`); the result is the
    /// function's response under `Payload`. Service integration ARNs are written with the `aws` partition, the
    /// form Step Functions documents and cfn-lint accepts.
    InvokeFunction(Function),
    /// Put one event on a bus (`arn:aws:states:::events:putEvents`) with the state's input (or the value at
    /// `detail_path`) as detail.
    PutEvents { bus: EventBus, source: String, detail_type: String, detail_path: String },
}

/// A retrier: errors it applies to, and the backoff.
#[derive(Clone, Debug, PartialEq)]
pub struct Retry {
    /// Error names (`States.Timeout`, `Lambda.TooManyRequestsException`); `States.ALL` only alone, in the last
    /// retrier.
    pub errors: Vec<String>,
    pub interval_seconds: u32,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    /// Full jitter on the backoff, so retries of many executions do not arrive together.
    pub jitter: bool,
}

impl Retry {
    /// `max_attempts` retries of `errors`, from 1 s doubling, with full jitter.
    pub fn backoff(errors: &[&str], max_attempts: u32) -> Self {
        Retry {
            errors: errors.iter().map(|e| (*e).to_owned()).collect(),
            interval_seconds: 1,
            max_attempts,
            backoff_rate: 2.0,
            jitter: true,
        }
    }
}

/// A catcher: errors it applies to and the state that handles them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catch {
    pub errors: Vec<String>,
    pub next: String,
    /// Where the error goes in the input of `next`. Default: `$.error`, so the input is kept.
    pub result_path: Option<String>,
}

/// A task state.
#[derive(Clone, Debug)]
pub struct Task {
    pub resource: TaskResource,
    pub next: Next,
    pub retry: Vec<Retry>,
    pub catch: Vec<Catch>,
    /// Seconds before the task fails with `States.Timeout`. Required: a task without a timeout can wait forever.
    pub timeout_seconds: u32,
    /// Where the result goes (`$.export`). Default: none (the result replaces the input).
    pub result_path: Option<String>,
}

/// A choice rule's condition on the input.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    StringEquals(String, String),
    NumericGreaterThan(String, f64),
    BooleanEquals(String, bool),
    IsPresent(String, bool),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    fn render(&self) -> Vec<(String, Node)> {
        let var = |v: &str| ("Variable".to_owned(), Node::Str(v.to_owned()));
        match self {
            Condition::StringEquals(v, x) => vec![var(v), ("StringEquals".into(), Node::Str(x.clone()))],
            Condition::NumericGreaterThan(v, x) => {
                vec![var(v), ("NumericGreaterThan".into(), synth::ToNode::to_node(x))]
            }
            Condition::BooleanEquals(v, x) => vec![var(v), ("BooleanEquals".into(), Node::Bool(*x))],
            Condition::IsPresent(v, x) => vec![var(v), ("IsPresent".into(), Node::Bool(*x))],
            Condition::And(c) => vec![("And".into(), Node::List(c.iter().map(|c| Node::Map(c.render())).collect()))],
            Condition::Or(c) => vec![("Or".into(), Node::List(c.iter().map(|c| Node::Map(c.render())).collect()))],
            Condition::Not(c) => vec![("Not".into(), Node::Map(c.render()))],
        }
    }
}

/// A choice state: the first rule whose condition holds decides the next state.
#[derive(Clone, Debug)]
pub struct Choice {
    pub rules: Vec<(Condition, String)>,
    /// When no rule holds. Required in practice: without it an unmatched input fails the execution.
    pub default: String,
}

/// A map state: runs `processor` for each item of the array at `items_path`.
#[derive(Clone, Debug)]
pub struct Map {
    pub items_path: String,
    pub processor: Graph,
    /// Items processed at once (0 = as many as possible).
    pub max_concurrency: u32,
    pub next: Next,
    pub retry: Vec<Retry>,
    pub catch: Vec<Catch>,
    pub result_path: Option<String>,
}

/// A wait state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wait {
    pub seconds: u32,
    pub next: String,
}

/// A failing end state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fail {
    pub error: String,
    pub cause: String,
}

fn err(path: &str, problem: String) -> ConstructError {
    ConstructError::Conflict { path: path.to_owned(), problem }
}

impl Graph {
    /// Checks names, transitions, reachability, retriers and catchers (recursively into maps).
    pub(crate) fn validate(&self, path: &str) -> Result<(), ConstructError> {
        let mut names = BTreeSet::new();
        for (name, _) in &self.states {
            // State names: at most 80 characters (https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html)
            if name.is_empty() || name.chars().count() > 80 {
                return Err(ConstructError::Invalid {
                    path: path.to_owned(),
                    what: "state name",
                    value: name.clone(),
                    allowed: "1 to 80 characters".into(),
                });
            }
            if !names.insert(name.as_str()) {
                return Err(ConstructError::Duplicate {
                    path: path.to_owned(),
                    what: "state name",
                    value: name.clone(),
                });
            }
        }
        if !names.contains(self.start_at.as_str()) {
            return Err(err(path, format!("the graph starts at {:?}, which is not one of its states", self.start_at)));
        }
        let known = |from: &str, to: &str| -> Result<(), ConstructError> {
            if names.contains(to) {
                Ok(())
            } else {
                Err(err(path, format!("state {from:?} goes to {to:?}, which is not a state of this graph")))
            }
        };
        let mut terminal = false;
        for (name, state) in &self.states {
            for t in state.targets() {
                known(name, t)?;
            }
            terminal |= state.is_terminal();
            match state {
                State::Task(t) => {
                    check_retries(path, name, &t.retry)?;
                    check_catches(path, name, &t.catch)?;
                    crate::error::check_range(path, "task timeout (s)", t.timeout_seconds.into(), 1, 99_999_999)?;
                }
                State::Map(m) => {
                    check_retries(path, name, &m.retry)?;
                    check_catches(path, name, &m.catch)?;
                    if !m.items_path.starts_with('$') {
                        return Err(ConstructError::Invalid {
                            path: path.to_owned(),
                            what: "items path",
                            value: m.items_path.clone(),
                            allowed: "a JSONPath starting with $".into(),
                        });
                    }
                    m.processor.validate(&format!("{path}/{name}"))?;
                }
                State::Choice(c) if c.rules.is_empty() => {
                    return Err(err(path, format!("choice {name:?} has no rules")));
                }
                _ => {}
            }
        }
        if !terminal {
            return Err(err(path, "no state ends the execution (End, Succeed or Fail)".into()));
        }
        // Reachability from the start state.
        let by_name: BTreeMap<&str, &State> = self.states.iter().map(|(n, s)| (n.as_str(), s)).collect();
        let mut seen = BTreeSet::new();
        let mut todo = vec![self.start_at.as_str()];
        while let Some(n) = todo.pop() {
            if seen.insert(n) {
                todo.extend(by_name.get(n).map(|s| s.targets()).unwrap_or_default());
            }
        }
        if let Some((unreached, _)) = self.states.iter().find(|(n, _)| !seen.contains(n.as_str())) {
            return Err(err(path, format!("state {unreached:?} cannot be reached from {:?}", self.start_at)));
        }
        Ok(())
    }

    /// The ASL document; values known only at deploy time go through `DefinitionSubstitutions` (`subs`).
    pub(crate) fn render(&self, subs: &mut BTreeMap<String, Val<String>>, timeout: &Option<u32>) -> Node {
        let mut m = vec![("StartAt".to_owned(), Node::Str(self.start_at.clone()))];
        m.push(("States".into(), Node::Map(self.states.iter().map(|(n, s)| (n.clone(), s.render(subs))).collect())));
        if let Some(t) = timeout {
            m.push(("TimeoutSeconds".into(), Node::Int((*t).into())));
        }
        Node::Map(m)
    }

    /// Grants the role what the tasks do.
    pub(crate) fn grant(&self, role: &Role, scope: &mut Scope) {
        for (_, s) in &self.states {
            match s {
                State::Task(t) => match &t.resource {
                    TaskResource::InvokeFunction(f) => {
                        f.grant_invoke(role, scope);
                    }
                    TaskResource::PutEvents { bus, .. } => {
                        bus.grant_put_events(role, scope);
                    }
                },
                State::Map(m) => m.processor.grant(role, scope),
                _ => {}
            }
        }
    }
}

fn check_retries(path: &str, state: &str, retries: &[Retry]) -> Result<(), ConstructError> {
    for (i, r) in retries.iter().enumerate() {
        check_error_list(path, state, "retrier", &r.errors, i + 1 == retries.len())?;
        crate::error::check_range(path, "retry interval (s)", r.interval_seconds.into(), 1, 99_999_999)?;
        crate::error::check_range(path, "retry attempts", r.max_attempts.into(), 0, 99_999_999)?;
        if r.backoff_rate < 1.0 {
            return Err(ConstructError::OutOfRange {
                path: path.to_owned(),
                what: "backoff rate",
                value: r.backoff_rate.to_string(),
                allowed: "1.0 or more".into(),
            });
        }
    }
    Ok(())
}

fn check_catches(path: &str, state: &str, catches: &[Catch]) -> Result<(), ConstructError> {
    for (i, c) in catches.iter().enumerate() {
        check_error_list(path, state, "catcher", &c.errors, i + 1 == catches.len())?;
    }
    Ok(())
}

fn check_error_list(path: &str, state: &str, what: &str, errors: &[String], last: bool) -> Result<(), ConstructError> {
    if errors.is_empty() {
        return Err(err(path, format!("a {what} of state {state:?} names no errors")));
    }
    if errors.iter().any(|e| e == "States.ALL") && (errors.len() > 1 || !last) {
        return Err(err(path, format!("States.ALL must be alone in the last {what} of state {state:?}")));
    }
    Ok(())
}

impl State {
    /// Names of the states this one can go to.
    fn targets(&self) -> Vec<&str> {
        fn next(n: &Next) -> Vec<&str> {
            match n {
                Next::State(s) => vec![s.as_str()],
                Next::End => vec![],
            }
        }
        match self {
            State::Task(t) => next(&t.next).into_iter().chain(t.catch.iter().map(|c| c.next.as_str())).collect(),
            State::Map(m) => next(&m.next).into_iter().chain(m.catch.iter().map(|c| c.next.as_str())).collect(),
            State::Choice(c) => c.rules.iter().map(|(_, n)| n.as_str()).chain([c.default.as_str()]).collect(),
            State::Wait(w) => vec![w.next.as_str()],
            State::Succeed | State::Fail(_) => vec![],
        }
    }

    fn is_terminal(&self) -> bool {
        match self {
            State::Task(t) => t.next == Next::End,
            State::Map(m) => m.next == Next::End,
            State::Succeed | State::Fail(_) => true,
            State::Choice(_) | State::Wait(_) => false,
        }
    }

    fn render(&self, subs: &mut BTreeMap<String, Val<String>>) -> Node {
        let s = |v: &str| Node::Str(v.to_owned());
        let mut m: Vec<(String, Node)> = Vec::new();
        let next = |m: &mut Vec<(String, Node)>, n: &Next| match n {
            Next::State(to) => m.push(("Next".into(), s(to))),
            Next::End => m.push(("End".into(), Node::Bool(true))),
        };
        match self {
            State::Task(t) => {
                m.push(("Type".into(), s("Task")));
                match &t.resource {
                    TaskResource::InvokeFunction(f) => {
                        let var = format!("Function{}", subs.len());
                        let var = match subs.iter().find(|(_, v)| **v == f.invoke_arn()) {
                            Some((k, _)) => k.clone(),
                            None => {
                                subs.insert(var.clone(), f.invoke_arn());
                                var
                            }
                        };
                        m.push(("Resource".into(), s("arn:aws:states:::lambda:invoke")));
                        m.push((
                            "Parameters".into(),
                            Node::Map(vec![
                                ("FunctionName".into(), s(&format!("${{{var}}}"))),
                                ("Payload.$".into(), s("$")),
                            ]),
                        ));
                    }
                    TaskResource::PutEvents { bus, source, detail_type, detail_path } => {
                        m.push(("Resource".into(), s("arn:aws:states:::events:putEvents")));
                        m.push((
                            "Parameters".into(),
                            Node::Map(vec![(
                                "Entries".into(),
                                Node::List(vec![Node::Map(vec![
                                    ("EventBusName".into(), s(bus.name())),
                                    ("Source".into(), s(source)),
                                    ("DetailType".into(), s(detail_type)),
                                    ("Detail.$".into(), s(detail_path)),
                                ])]),
                            )]),
                        ));
                    }
                }
                m.push(("TimeoutSeconds".into(), Node::Int(t.timeout_seconds.into())));
                if let Some(p) = &t.result_path {
                    m.push(("ResultPath".into(), s(p)));
                }
                retry_catch(&mut m, &t.retry, &t.catch);
                next(&mut m, &t.next);
            }
            State::Choice(c) => {
                m.push(("Type".into(), s("Choice")));
                let rules = c
                    .rules
                    .iter()
                    .map(|(cond, to)| {
                        let mut r = cond.render();
                        r.push(("Next".into(), s(to)));
                        Node::Map(r)
                    })
                    .collect();
                m.push(("Choices".into(), Node::List(rules)));
                m.push(("Default".into(), s(&c.default)));
            }
            State::Map(map) => {
                m.push(("Type".into(), s("Map")));
                m.push(("ItemsPath".into(), s(&map.items_path)));
                m.push(("MaxConcurrency".into(), Node::Int(map.max_concurrency.into())));
                let mut processor = match map.processor.render(subs, &None) {
                    Node::Map(p) => p,
                    _ => Vec::new(),
                };
                processor.insert(0, ("ProcessorConfig".into(), Node::Map(vec![("Mode".into(), s("INLINE"))])));
                m.push(("ItemProcessor".into(), Node::Map(processor)));
                if let Some(p) = &map.result_path {
                    m.push(("ResultPath".into(), s(p)));
                }
                retry_catch(&mut m, &map.retry, &map.catch);
                next(&mut m, &map.next);
            }
            State::Wait(w) => {
                m.push(("Type".into(), s("Wait")));
                m.push(("Seconds".into(), Node::Int(w.seconds.into())));
                m.push(("Next".into(), s(&w.next)));
            }
            State::Succeed => m.push(("Type".into(), s("Succeed"))),
            State::Fail(f) => {
                m.push(("Type".into(), s("Fail")));
                m.push(("Error".into(), s(&f.error)));
                m.push(("Cause".into(), s(&f.cause)));
            }
        }
        Node::Map(m)
    }
}

fn retry_catch(m: &mut Vec<(String, Node)>, retry: &[Retry], catch: &[Catch]) {
    let errors = |e: &[String]| Node::List(e.iter().map(|x| Node::Str(x.clone())).collect());
    if !retry.is_empty() {
        let r = retry
            .iter()
            .map(|r| {
                let mut f = vec![
                    ("ErrorEquals".to_owned(), errors(&r.errors)),
                    ("IntervalSeconds".into(), Node::Int(r.interval_seconds.into())),
                    ("MaxAttempts".into(), Node::Int(r.max_attempts.into())),
                    ("BackoffRate".into(), synth::ToNode::to_node(&r.backoff_rate)),
                ];
                if r.jitter {
                    f.push(("JitterStrategy".into(), Node::Str("FULL".into())));
                }
                Node::Map(f)
            })
            .collect();
        m.push(("Retry".into(), Node::List(r)));
    }
    if !catch.is_empty() {
        let c = catch
            .iter()
            .map(|c| {
                Node::Map(vec![
                    ("ErrorEquals".to_owned(), errors(&c.errors)),
                    ("ResultPath".into(), Node::Str(c.result_path.clone().unwrap_or_else(|| "$.error".into()))),
                    ("Next".into(), Node::Str(c.next.clone())),
                ])
            })
            .collect();
        m.push(("Catch".into(), Node::List(c)));
    }
}
