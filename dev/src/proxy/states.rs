//! AWS Step Functions, answered locally: `StartExecution` runs the templates' state machines on the local
//! interpreter ([`crate::stepfunctions`]), Lambda tasks through the invoker and `events:putEvents` tasks
//! through the local bus; `DescribeExecution` and `StopExecution` read and end them. The history is printed
//! when an execution ends. Other actions on state machines (`DescribeStateMachine`...) go to the local cloud,
//! which holds the machines its CloudFormation created.
//! <https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html>

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::task::AbortHandle;

use super::{Aliases, Answer, Shared, bus, uuid};
use crate::assembly::{Assembly, PhysicalIds, Stack};
use crate::invoke::{Invoke, InvokeError};
use crate::stepfunctions::template::Resolver;
use crate::stepfunctions::{
    Definition, EntryResult, ExecutionOptions, Integrations, Status, SystemClock, TaskFailure, execute, from_properties,
};

const JSON_1_0: &str = "application/x-amz-json-1.0";

/// Actions the local Step Functions refuses by name rather than letting the local cloud answer them about
/// executions it never ran. Task tokens (`SendTask*`) need `.waitForTaskToken` tasks, which the platform's
/// workflow does not emit and the interpreter does not run.
const UNSUPPORTED: &[&str] = &[
    "GetExecutionHistory",
    "ListExecutions",
    "RedriveExecution",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "SendTaskSuccess",
    "StartSyncExecution",
    "DescribeStateMachineForExecution",
];

/// The state machines of the templates.
pub(crate) struct Machines {
    /// Definition by state machine ARN.
    definitions: BTreeMap<String, Arc<Definition>>,
    /// State machine ARN by ARN, name and logical id.
    aliases: Aliases,
}

/// Every execution since the proxy started, by execution ARN (kept across reloads of the templates).
#[derive(Default)]
pub(crate) struct Executions(Mutex<BTreeMap<String, Record>>);

impl Executions {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Record>> {
        // A poisoned map only means a panic elsewhere mid-update; the records stay readable.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One execution.
struct Record {
    machine: String,
    name: String,
    input: Value,
    start: SystemTime,
    stop: Option<SystemTime>,
    /// `None` while running.
    outcome: Option<Outcome>,
    abort: Option<AbortHandle>,
}

enum Outcome {
    Ended(Status),
    Aborted,
}

/// Resolves a machine's `DefinitionSubstitutions` against the local cloud's ids.
struct Ids<'a> {
    assembly: &'a Assembly,
    stack: &'a Stack,
    logical_id: &'a str,
    ids: &'a dyn PhysicalIds,
}

impl Resolver for Ids<'_> {
    fn reference(&self, name: &str) -> Option<String> {
        self.assembly.resolve_str(self.stack, self.logical_id, &json!({"Ref": name}), self.ids).ok()
    }
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
        let v = json!({"Fn::GetAtt": [logical_id, attribute]});
        self.assembly.resolve_str(self.stack, self.logical_id, &v, self.ids).ok()
    }
}

impl Machines {
    /// Every `AWS::StepFunctions::StateMachine` of the assembly, named by the ARN the local cloud gave it; one
    /// the interpreter cannot run is left out and listed.
    pub(crate) fn from_assembly(
        assembly: &Assembly,
        ids: &dyn PhysicalIds,
        region: &str,
        account: &str,
    ) -> (Machines, Vec<String>) {
        let mut definitions = BTreeMap::new();
        let mut aliases = Aliases::new();
        let mut unsupported = Vec::new();
        for (stack, r) in assembly.resources_of("AWS::StepFunctions::StateMachine") {
            let resolver = Ids { assembly, stack, logical_id: &r.logical_id, ids };
            let definition = match from_properties(&Value::Object(r.properties.clone()), &resolver) {
                Ok(d) => d,
                Err(e) => {
                    unsupported.push(format!("stack {}, state machine {}: {e} (left out)", stack.id, r.logical_id));
                    continue;
                }
            };
            // `Ref` of a state machine is its ARN; ids that are not (the logical id) get the ARN AWS would give.
            let reference = ids.reference(stack, r).unwrap_or_else(|_| r.logical_id.clone());
            let arn = if reference.starts_with("arn:") {
                reference
            } else {
                format!("arn:aws:states:{region}:{account}:stateMachine:{reference}")
            };
            if let Some((_, name)) = arn.split_once(":stateMachine:") {
                aliases.insert(name.to_owned(), arn.clone());
            }
            aliases.insert(r.logical_id.clone(), arn.clone());
            aliases.insert(arn.clone(), arn.clone());
            definitions.insert(arn, Arc::new(definition));
        }
        (Machines { definitions, aliases }, unsupported)
    }
}

/// Starts an execution of `machine` (an ARN, a name or a logical id) on `input`; its ARN, or the error the
/// API answers.
pub(crate) fn start<I: Invoke>(
    shared: &Arc<Shared<I>>,
    machine: &str,
    name: Option<String>,
    input: Value,
) -> Result<String, Answer> {
    let routes = shared.routes();
    let machines = &routes.machines;
    let Some(arn) = machines.aliases.get(machine).cloned() else {
        let known: Vec<&str> = machines.definitions.keys().map(String::as_str).collect();
        return Err(Answer::error(
            JSON_1_0,
            "StateMachineDoesNotExist",
            format!("state machine {machine} does not exist locally; the templates have {}", known.join(", ")),
        ));
    };
    let Some(definition) = machines.definitions.get(&arn).cloned() else {
        return Err(Answer::error(
            JSON_1_0,
            "StateMachineDoesNotExist",
            format!("state machine {arn} has no definition"),
        ));
    };
    let options = ExecutionOptions { state_machine_arn: arn.clone(), name: name.unwrap_or_else(uuid) };
    let execution = options.execution_arn();
    {
        let mut records = shared.executions.lock();
        if records.contains_key(&execution) {
            return Err(Answer::error(
                JSON_1_0,
                "ExecutionAlreadyExists",
                format!("execution {execution} already exists: names are unique per state machine"),
            ));
        }
        records.insert(
            execution.clone(),
            Record {
                machine: arn,
                name: options.name.clone(),
                input: input.clone(),
                start: SystemTime::now(),
                stop: None,
                outcome: None,
                abort: None,
            },
        );
    }
    let runner = shared.clone();
    let key = execution.clone();
    let abort = shared.tasks.spawn(async move {
        let integrations = Local(runner.clone());
        let done = execute(&definition, input, &integrations, &SystemClock, &options).await;
        let status = match &done.status {
            Status::Succeeded { .. } => "SUCCEEDED",
            Status::Failed { .. } => "FAILED",
            Status::TimedOut => "TIMED_OUT",
        };
        (runner.log)(&format!("states: execution {key} {status}\n{}", done.history_text()));
        if let Some(r) = runner.executions.lock().get_mut(&key) {
            r.stop = Some(SystemTime::now());
            r.outcome = Some(Outcome::Ended(done.status));
        }
    });
    if let Some(r) = shared.executions.lock().get_mut(&execution) {
        r.abort = Some(abort);
    }
    Ok(execution)
}

/// The Step Functions action `action`, answered locally; `None` for the actions the local cloud answers.
pub(crate) fn api<I: Invoke>(shared: &Arc<Shared<I>>, action: &str, body: &[u8]) -> Option<Answer> {
    if UNSUPPORTED.contains(&action) {
        return Some(Answer::error(
            JSON_1_0,
            "UnsupportedOperation",
            format!(
                "{action} is not supported by the local Step Functions (StartExecution, DescribeExecution and StopExecution are)"
            ),
        ));
    }
    if !matches!(action, "StartExecution" | "DescribeExecution" | "StopExecution") {
        return None;
    }
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return Some(Answer::error(JSON_1_0, "ValidationException", format!("the request is not JSON: {e}"))),
    };
    let field = |k: &str| request.get(k).and_then(Value::as_str);
    Some(match action {
        "StartExecution" => {
            let Some(machine) = field("stateMachineArn") else {
                return Some(Answer::error(JSON_1_0, "ValidationException", "stateMachineArn is required"));
            };
            let input = match serde_json::from_str(field("input").unwrap_or("{}")) {
                Ok(v) => v,
                Err(e) => {
                    return Some(Answer::error(
                        JSON_1_0,
                        "InvalidExecutionInput",
                        format!("input is not JSON text: {e}"),
                    ));
                }
            };
            match start(shared, machine, field("name").map(str::to_owned), input) {
                Ok(arn) => Answer::ok(JSON_1_0, json!({"executionArn": arn, "startDate": epoch(SystemTime::now())})),
                Err(e) => e,
            }
        }
        "DescribeExecution" => match field("executionArn").and_then(|a| describe(shared, a)) {
            Some(v) => Answer::ok(JSON_1_0, v),
            None => not_found(field("executionArn")),
        },
        _ => {
            let mut records = shared.executions.lock();
            match field("executionArn").and_then(|a| records.get_mut(a)) {
                Some(r) => {
                    if r.outcome.is_none() {
                        if let Some(h) = &r.abort {
                            h.abort();
                        }
                        r.outcome = Some(Outcome::Aborted);
                        r.stop = Some(SystemTime::now());
                    }
                    Answer::ok(JSON_1_0, json!({"stopDate": epoch(r.stop.unwrap_or_else(SystemTime::now))}))
                }
                None => not_found(field("executionArn")),
            }
        }
    })
}

fn not_found(arn: Option<&str>) -> Answer {
    Answer::error(
        JSON_1_0,
        "ExecutionDoesNotExist",
        format!("execution {} does not exist locally", arn.unwrap_or("(no executionArn)")),
    )
}

/// `DescribeExecution`'s answer.
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html>
fn describe<I>(shared: &Shared<I>, arn: &str) -> Option<Value> {
    let records = shared.executions.lock();
    let r = records.get(arn)?;
    let mut out = json!({
        "executionArn": arn,
        "stateMachineArn": r.machine,
        "name": r.name,
        "startDate": epoch(r.start),
        "input": r.input.to_string(),
        "status": "RUNNING",
    });
    if let Some(stop) = r.stop {
        out["stopDate"] = json!(epoch(stop));
    }
    match &r.outcome {
        None => {}
        Some(Outcome::Aborted) => out["status"] = json!("ABORTED"),
        Some(Outcome::Ended(Status::Succeeded { output })) => {
            out["status"] = json!("SUCCEEDED");
            out["output"] = json!(output.to_string());
        }
        Some(Outcome::Ended(Status::Failed { error, cause })) => {
            out["status"] = json!("FAILED");
            out["error"] = json!(error);
            out["cause"] = json!(cause);
        }
        Some(Outcome::Ended(Status::TimedOut)) => out["status"] = json!("TIMED_OUT"),
    }
    Some(out)
}

/// Seconds since the epoch, as the JSON protocols carry timestamps.
fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

/// The workflow's calls: functions through the invoker, events through the local bus.
struct Local<I>(Arc<Shared<I>>);

impl<I: Invoke> Integrations for Local<I> {
    fn invoke_function(
        &self,
        function: &str,
        payload: Value,
    ) -> impl Future<Output = Result<Value, TaskFailure>> + Send {
        let shared = self.0.clone();
        let function = shared.routes().targets.function(function);
        async move { shared.invoker.invoke(&function, payload).await.map_err(|e| task_failure(&e)) }
    }

    fn put_events(
        &self,
        entries: Vec<crate::events::PutEventsEntry>,
    ) -> impl Future<Output = Result<Vec<EntryResult>, TaskFailure>> + Send {
        let shared = self.0.clone();
        async move {
            let mut results = Vec::new();
            for e in entries {
                results.push(bus::put(&shared, e, None).await);
            }
            Ok(results)
        }
    }
}

/// The error a Lambda task sees for each way an invocation fails.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html>
fn task_failure(e: &InvokeError) -> TaskFailure {
    match e {
        InvokeError::Function { error_type, message, .. } => TaskFailure::function_error(error_type, message),
        // What Lambda reports for a function past its timeout.
        InvokeError::Timeout { .. } => TaskFailure::function_error("Sandbox.Timedout", &e.to_string()),
        InvokeError::Crashed { .. } => TaskFailure::function_error("Runtime.ExitError", &e.to_string()),
        InvokeError::UnknownFunction(_) => {
            TaskFailure { error: "Lambda.ResourceNotFoundException".into(), cause: e.to_string() }
        }
        InvokeError::Unavailable { .. } => {
            TaskFailure { error: "Lambda.ServiceException".into(), cause: e.to_string() }
        }
    }
}
