//! EventBridge `PutEvents`, answered locally: each entry becomes the event EventBridge would deliver, goes
//! through the templates' rules of its bus ([`crate::events`]) and reaches their targets: SQS (`SendMessage`
//! to the local cloud), Lambda (invoked asynchronously, as EventBridge does), Step Functions (an execution on
//! the local interpreter) and CloudWatch Logs (printed).
//! <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html>

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::ids::Targets;
use super::{Answer, Shared, uuid};
use crate::assembly::{Assembly, Stack};
use crate::events::rule::{ResourceRef, bus_name};
use crate::events::{PutEventsEntry, Rule, TargetKind, parse_rules, route};
use crate::invoke::Invoke;
use crate::stepfunctions::EntryResult;
use crate::stepfunctions::time::format_rfc3339;

const JSON_1_1: &str = "application/x-amz-json-1.1";

/// At most 10 entries a call. <https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html>
const MAX_ENTRIES: usize = 10;

/// The rules of every stack, with what naming a bus of the stack needs.
pub(crate) struct Bus {
    stacks: Vec<StackRules>,
}

struct StackRules {
    /// The stack name (what the queue ids are keyed by).
    stack: String,
    /// The stack's `Resources` in template form: `bus_name` reads a bus's `Name` there.
    template: Value,
    rules: Vec<Rule>,
}

impl Bus {
    /// The rules of every stack; a rule that cannot be emulated is left out and listed (by its problems).
    pub(crate) fn from_assembly(assembly: &Assembly) -> (Bus, Vec<String>) {
        let mut stacks = Vec::new();
        let mut unsupported = Vec::new();
        for stack in &assembly.stacks {
            let template = template_of(stack);
            let mut rules = Vec::new();
            // One rule at a time, so a rule the emulator refuses leaves the others working.
            for rule in stack.resources.values().filter(|r| r.kind == "AWS::Events::Rule") {
                let mut alone = template.clone();
                if let Some(resources) = alone.get_mut("Resources").and_then(Value::as_object_mut) {
                    resources.retain(|id, r| r["Type"] != "AWS::Events::Rule" || *id == rule.logical_id);
                }
                match parse_rules(&alone) {
                    Ok(mut parsed) => {
                        for r in &parsed {
                            if let Some(schedule) = &r.schedule {
                                unsupported.push(format!(
                                    "stack {}, rule {}: ScheduleExpression {schedule} is not run locally",
                                    stack.id, r.logical_id
                                ));
                            }
                        }
                        rules.append(&mut parsed);
                    }
                    Err(errors) => {
                        unsupported.extend(errors.iter().map(|e| format!("stack {}, {e} (rule left out)", stack.id)))
                    }
                }
            }
            stacks.push(StackRules { stack: stack.name.clone(), template, rules });
        }
        (Bus { stacks }, unsupported)
    }
}

fn template_of(stack: &Stack) -> Value {
    let resources: Map<String, Value> = stack
        .resources
        .values()
        .map(|r| (r.logical_id.clone(), json!({"Type": r.kind, "Properties": r.properties})))
        .collect();
    json!({"Resources": resources})
}

/// The `PutEvents` action: parses the request, routes every entry, answers the result per entry.
pub(crate) async fn put_events_api<I: Invoke>(shared: &Arc<Shared<I>>, body: &[u8]) -> Answer {
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Answer::error(JSON_1_1, "ValidationException", format!("the request is not JSON: {e}")),
    };
    let Some(entries) = request.get("Entries").and_then(Value::as_array) else {
        return Answer::error(JSON_1_1, "ValidationException", "Entries must be a list of 1 to 10 entries");
    };
    if entries.is_empty() || entries.len() > MAX_ENTRIES {
        return Answer::error(
            JSON_1_1,
            "ValidationException",
            format!("Entries has {} entries, 1 to {MAX_ENTRIES} are allowed", entries.len()),
        );
    }
    let mut results = Vec::new();
    for entry in entries {
        let result = match parse_entry(entry) {
            Ok((entry, time)) => put(shared, entry, time).await,
            Err(failed) => failed,
        };
        results.push(result);
    }
    Answer::ok(JSON_1_1, response(&results))
}

/// The response of `PutEvents` for `results`.
pub(crate) fn response(results: &[EntryResult]) -> Value {
    let failed = results.iter().filter(|r| matches!(r, EntryResult::Failed { .. })).count();
    let entries: Vec<Value> = results
        .iter()
        .map(|r| match r {
            EntryResult::Accepted { event_id } => json!({"EventId": event_id}),
            EntryResult::Failed { error_code, error_message } => {
                json!({"ErrorCode": error_code, "ErrorMessage": error_message})
            }
        })
        .collect();
    json!({"FailedEntryCount": failed, "Entries": entries})
}

/// An entry of the request, with its `Time` (epoch seconds, as the SDKs send it) when set; a failed result
/// when it lacks a field or its detail is not a JSON object, as EventBridge answers per entry.
fn parse_entry(e: &Value) -> Result<(PutEventsEntry, Option<SystemTime>), EntryResult> {
    let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(source), Some(detail_type), Some(detail)) = (s("Source"), s("DetailType"), s("Detail")) else {
        return Err(EntryResult::Failed {
            error_code: "InvalidArgument".into(),
            error_message: "Parameters Source, DetailType and Detail must be set".into(),
        });
    };
    let detail = match serde_json::from_str::<Value>(&detail) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return Err(EntryResult::Failed {
                error_code: "MalformedDetail".into(),
                error_message: "Detail is malformed: a JSON object is expected".into(),
            });
        }
    };
    let resources = e
        .get("Resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    let time = e.get("Time").and_then(Value::as_f64).map(|t| UNIX_EPOCH + Duration::from_secs_f64(t.max(0.0)));
    Ok((PutEventsEntry { event_bus_name: s("EventBusName"), source, detail_type, detail, resources }, time))
}

/// Routes one entry to the targets of the rules it matches; accepted whatever the targets do (their failures
/// are EventBridge's to retry, not the caller's).
pub(crate) async fn put<I: Invoke>(
    shared: &Arc<Shared<I>>,
    entry: PutEventsEntry,
    time: Option<SystemTime>,
) -> EntryResult {
    let id = uuid();
    // EventBridge writes whole seconds (`2026-01-02T03:04:05Z`).
    let time = format_rfc3339(time.unwrap_or_else(SystemTime::now));
    let time = match time.split_once('.') {
        Some((secs, _)) => format!("{secs}Z"),
        None => time,
    };
    let event = entry.to_event(&id, &time, &shared.account, &shared.region);
    let bus = entry.bus_name();
    let mut matched = 0;
    let routes = shared.routes();
    for stack in &routes.bus.stacks {
        let names = |b: &ResourceRef| bus_name(b, &stack.template);
        for (rule, target, body) in route(&stack.rules, bus, &event, &names) {
            matched += 1;
            let at = format!("{}/{}", rule.logical_id, target.id);
            deliver(shared, &routes.targets, &stack.stack, &at, &target.kind, target.dead_letter.as_ref(), body).await;
        }
    }
    if matched == 0 {
        (shared.log)(&format!("events: {} {} on bus {bus} matched no rule", entry.source, entry.detail_type));
    }
    EntryResult::Accepted { event_id: id }
}

/// Delivers `body` to one target (`at` is `Rule/TargetId`); a failed SQS send goes to the target's dead-letter
/// queue when it has one, as EventBridge does once its retries are spent.
async fn deliver<I: Invoke>(
    shared: &Arc<Shared<I>>,
    targets: &Targets,
    stack: &str,
    at: &str,
    kind: &TargetKind,
    dead_letter: Option<&ResourceRef>,
    body: String,
) {
    let log = &shared.log;
    let queue_url = |r: &ResourceRef| match r {
        ResourceRef::Logical(id) => targets.queue(stack, id).map(str::to_owned),
        ResourceRef::Named(name) => Some(targets.queue_named(name)),
    };
    let failure = match kind {
        TargetKind::Queue(q) => match queue_url(q) {
            Some(url) => match shared.upstream.send_message(&url, &body, None).await {
                Ok(()) => {
                    log(&format!("events: {at} -> queue {url}"));
                    None
                }
                Err(e) => Some(format!("SendMessage to {url}: {e}")),
            },
            None => Some(format!("queue {q:?} has no URL in the local cloud")),
        },
        TargetKind::Function(f) => {
            let function = match f {
                ResourceRef::Logical(id) | ResourceRef::Named(id) => targets.function(id),
            };
            let payload = serde_json::from_str(&body).unwrap_or(Value::String(body.clone()));
            log(&format!("events: {at} -> function {function} (async)"));
            let (shared2, at) = (shared.clone(), at.to_owned());
            // EventBridge invokes asynchronously: the function's error is Lambda's to retry, logged here.
            shared.tasks.spawn(async move {
                if let Err(e) = shared2.invoker.invoke(&function, payload).await {
                    (shared2.log)(&format!("events: {at}: {e}"));
                }
            });
            None
        }
        TargetKind::StateMachine(m) => {
            let machine = match m {
                ResourceRef::Logical(id) | ResourceRef::Named(id) => id,
            };
            let input = serde_json::from_str(&body).unwrap_or(Value::String(body.clone()));
            match super::states::start(shared, machine, None, input) {
                Ok(arn) => {
                    log(&format!("events: {at} -> execution {arn}"));
                    None
                }
                Err(e) => Some(e.body["message"].as_str().unwrap_or_default().to_owned()),
            }
        }
        TargetKind::LogGroup(group) => {
            let group = match group {
                ResourceRef::Logical(id) | ResourceRef::Named(id) => id,
            };
            log(&format!("logs {group}: {body}"));
            None
        }
    };
    let Some(problem) = failure else { return };
    log(&format!("events: {at}: delivery failed: {problem}"));
    if let Some(url) = dead_letter.and_then(queue_url) {
        match shared.upstream.send_message(&url, &body, None).await {
            Ok(()) => log(&format!("events: {at}: sent to its dead-letter queue {url}")),
            Err(e) => log(&format!("events: {at}: its dead-letter queue {url} refused it too: {e}")),
        }
    }
}
