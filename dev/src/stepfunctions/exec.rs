//! Runs a [`Definition`]: input and output processing (`InputPath`, `Parameters`, `ResultSelector`,
//! `ResultPath`, `OutputPath`), every state type, retries with backoff, jitter and maximum delay, catchers,
//! task and execution timeouts, recording a history. Calls go through [`Integrations`]; time through a
//! [`Clock`].
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::definition::{
    Catcher, Definition, Filter, Kind, Resource, ResultPath, Retrier, State, Timeout, Transition, WaitFor,
};
use super::history::{Event, HistoryEvent};
use super::time::{Clock, format_rfc3339, millis, parse_rfc3339};
use crate::events::PutEventsEntry;

/// A failed call, as the state sees it: an error name (`Retryable`, `Lambda.ServiceException`) and a cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    pub error: String,
    pub cause: String,
}

impl TaskFailure {
    /// An error the function returned (its `errorType` and `errorMessage`). `lambda:invoke` names the task's
    /// error after `errorType` and carries the error document, as JSON text, as the cause.
    /// <https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html>
    pub fn function_error(error_type: &str, error_message: &str) -> TaskFailure {
        let error = if error_type.is_empty() { "Lambda.Unknown" } else { error_type };
        TaskFailure {
            error: error.to_owned(),
            cause: json!({"errorType": error_type, "errorMessage": error_message}).to_string(),
        }
    }
}

/// The result of one entry of a `PutEvents` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryResult {
    Accepted { event_id: String },
    Failed { error_code: String, error_message: String },
}

/// The calls tasks make; `dev` wires the local Lambda runtime and bus, tests wire fakes.
pub trait Integrations: Sync {
    /// Invokes `function` (an ARN, a name or a logical id: what `FunctionName` resolved to) synchronously with
    /// `payload`; the function's response, or why it failed.
    fn invoke_function(
        &self,
        function: &str,
        payload: Value,
    ) -> impl Future<Output = Result<Value, TaskFailure>> + Send;
    /// Puts `entries`; one result per entry, in order.
    fn put_events(
        &self,
        entries: Vec<PutEventsEntry>,
    ) -> impl Future<Output = Result<Vec<EntryResult>, TaskFailure>> + Send;
}

/// What names the execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionOptions {
    pub state_machine_arn: String,
    pub name: String,
}

impl ExecutionOptions {
    /// The execution ARN (`arn:...:execution:<machine>:<name>`).
    pub fn execution_arn(&self) -> String {
        format!("{}:{}", self.state_machine_arn.replacen(":stateMachine:", ":execution:", 1), self.name)
    }
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Succeeded { output: Value },
    Failed { error: String, cause: String },
    TimedOut,
}

/// A finished execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub status: Status,
    pub history: Vec<HistoryEvent>,
}

impl Execution {
    /// The history, one event a line.
    pub fn history_text(&self) -> String {
        super::history::render(&self.history)
    }
}

/// The most a state may pass to the next: 256 KiB, as UTF-8 JSON.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html#service-limits-task-executions>
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Why a state (or a graph) stopped.
#[derive(Debug, Clone, PartialEq)]
enum Stop {
    Failed {
        error: String,
        cause: String,
    },
    /// The execution's own `TimeoutSeconds` passed: nothing catches it.
    TimedOut,
}

fn fail(error: &str, cause: impl Into<String>) -> Stop {
    Stop::Failed { error: error.to_owned(), cause: cause.into() }
}

/// `States.Runtime`: a path that selects nothing, a bad type. Not retried, not caught.
fn runtime(cause: impl Into<String>) -> Stop {
    fail("States.Runtime", cause)
}

/// Whether `States.ALL` matches `error`: every error but the terminal ones.
fn catchable(error: &str) -> bool {
    !matches!(error, "States.Runtime" | "States.DataLimitExceeded")
}

fn matches(list: &[String], error: &str) -> bool {
    catchable(error)
        && list
            .iter()
            .any(|e| e == error || e == "States.ALL" || (e == "States.TaskFailed" && error != "States.Timeout"))
}

/// Runs `definition` on `input` to its end.
pub async fn execute<I: Integrations, C: Clock>(
    definition: &Definition,
    input: Value,
    integrations: &I,
    clock: &C,
    options: &ExecutionOptions,
) -> Execution {
    let start = clock.now();
    let run = Run {
        integrations,
        clock,
        start,
        deadline: definition.timeout_seconds.map(|s| start + Duration::from_secs(s)),
        history: Mutex::new(Vec::new()),
        options,
        input: input.clone(),
        requests: AtomicU64::new(0),
    };
    run.record(Event::ExecutionStarted { input: input.clone() });
    let status = match run.graph(definition, input, None).await {
        Ok(output) => {
            run.record(Event::ExecutionSucceeded { output: output.clone() });
            Status::Succeeded { output }
        }
        Err(Stop::Failed { error, cause }) => {
            run.record(Event::ExecutionFailed { error: error.clone(), cause: cause.clone() });
            Status::Failed { error, cause }
        }
        Err(Stop::TimedOut) => {
            run.record(Event::ExecutionTimedOut);
            Status::TimedOut
        }
    };
    Execution { status, history: run.history.into_inner().unwrap_or_default() }
}

struct Run<'a, I, C> {
    integrations: &'a I,
    clock: &'a C,
    start: SystemTime,
    deadline: Option<SystemTime>,
    history: Mutex<Vec<HistoryEvent>>,
    options: &'a ExecutionOptions,
    input: Value,
    requests: AtomicU64,
}

/// Polls `work` first, then `timer`: `None` when the timer won. Work that is ready at once always wins, which
/// is what makes a virtual clock (whose sleeps end at once) usable.
async fn race<T>(work: impl Future<Output = T>, timer: impl Future<Output = ()>) -> Option<T> {
    let mut work = pin!(work);
    let mut timer = pin!(timer);
    poll_fn(|cx| {
        if let Poll::Ready(v) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

type Boxed<'s, T> = Pin<Box<dyn Future<Output = T> + Send + 's>>;

impl<I: Integrations, C: Clock> Run<'_, I, C> {
    fn record(&self, event: Event) {
        let elapsed = self.clock.now().duration_since(self.start).unwrap_or_default();
        if let Ok(mut h) = self.history.lock() {
            h.push(HistoryEvent { elapsed, event });
        }
    }

    /// Time left before the execution times out (`None`: no execution timeout).
    fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| d.duration_since(self.clock.now()).unwrap_or_default())
    }

    /// Sleeps `d`, or until the execution times out.
    async fn sleep(&self, d: Duration) -> Result<(), Stop> {
        match self.remaining() {
            Some(left) if left <= d => {
                self.clock.sleep(left).await;
                Err(Stop::TimedOut)
            }
            _ => {
                self.clock.sleep(d).await;
                Ok(())
            }
        }
    }

    fn context(&self, state: &str, entered: SystemTime, retry_count: u64, item: Option<&Value>) -> Value {
        let mut c = json!({
            "Execution": {
                "Id": self.options.execution_arn(),
                "Input": self.input,
                "Name": self.options.name,
                "StartTime": format_rfc3339(self.start),
            },
            "State": {"Name": state, "EnteredTime": format_rfc3339(entered), "RetryCount": retry_count},
            "StateMachine": {
                "Id": self.options.state_machine_arn,
                "Name": self.options.state_machine_arn.rsplit(':').next().unwrap_or_default(),
            },
        });
        if let Some(item) = item {
            c["Map"] = json!({"Item": item});
        }
        c
    }

    /// Runs a graph from its start state; `item` is the Map item (`{Index, Value}`) of an iteration.
    fn graph<'s>(&'s self, def: &'s Definition, input: Value, item: Option<Value>) -> Boxed<'s, Result<Value, Stop>> {
        Box::pin(async move {
            let mut name = def.start_at.as_str();
            let mut input = input;
            loop {
                if self.remaining() == Some(Duration::ZERO) {
                    return Err(Stop::TimedOut);
                }
                let Some(state) = def.states.get(name) else {
                    return Err(runtime(format!("no state named {name:?}")));
                };
                self.record(Event::StateEntered { state: name.to_owned(), input: input.clone() });
                let outcome = self.state(name, state, input.clone(), item.as_ref()).await;
                let (output, next) = match outcome {
                    Ok(ok) => ok,
                    Err(Stop::Failed { error, cause }) => {
                        let caught = state.catch.iter().enumerate().find(|(_, c)| matches(&c.errors, &error));
                        let Some((i, Catcher { next, result_path, .. })) = caught else {
                            return Err(Stop::Failed { error, cause });
                        };
                        self.record(Event::ErrorCaught {
                            state: name.to_owned(),
                            error: error.clone(),
                            catcher: i,
                            next: next.clone(),
                        });
                        let err = json!({"Error": error, "Cause": cause});
                        let output = place(result_path, input, err)
                            .map_err(|e| runtime(format!("state {name}: catcher ResultPath: {e}")))?;
                        (output, Some(next.as_str()))
                    }
                    Err(stop) => return Err(stop),
                };
                let size = output.to_string().len();
                if size > MAX_PAYLOAD_BYTES {
                    return Err(fail(
                        "States.DataLimitExceeded",
                        format!(
                            "the output of state {name} is {size} bytes, over the {MAX_PAYLOAD_BYTES} bytes a state may pass on"
                        ),
                    ));
                }
                self.record(Event::StateExited { state: name.to_owned(), output: output.clone() });
                match next {
                    Some(n) => {
                        name = n;
                        input = output;
                    }
                    None => return Ok(output),
                }
            }
        })
    }

    /// One state: its output and the next state (`None`: the graph ends).
    async fn state<'s>(
        &'s self,
        name: &'s str,
        state: &'s State,
        raw: Value,
        item: Option<&Value>,
    ) -> Result<(Value, Option<&'s str>), Stop> {
        let entered = self.clock.now();
        let next = match &state.transition {
            Transition::Next(n) => Some(n.as_str()),
            Transition::End => None,
        };
        let at = |what: &str, e: String| runtime(format!("state {name}: {what}: {e}"));
        let effective = filter(&state.input_path, &raw).map_err(|e| at("InputPath", e))?;
        match &state.kind {
            Kind::Succeed => Ok((filter(&state.output_path, &effective).map_err(|e| at("OutputPath", e))?, None)),
            Kind::Fail { error, cause, error_path, cause_path } => {
                let pick = |lit: &Option<String>, path: &Option<super::path::Path>| -> String {
                    match (lit, path) {
                        (Some(s), _) => s.clone(),
                        (None, Some(p)) => p
                            .select(&raw)
                            .map(|v| match v {
                                Value::String(s) => s,
                                other => other.to_string(),
                            })
                            .unwrap_or_default(),
                        (None, None) => String::new(),
                    }
                };
                Err(fail(&pick(error, error_path), pick(cause, cause_path)))
            }
            Kind::Choice { choices, default } => {
                for (cond, to) in choices {
                    if cond.eval(&effective).map_err(|e| at("Choices", e))? {
                        self.record(Event::ChoiceMade { state: name.to_owned(), next: to.clone() });
                        return Ok((
                            filter(&state.output_path, &effective).map_err(|e| at("OutputPath", e))?,
                            Some(to),
                        ));
                    }
                }
                match default {
                    Some(d) => {
                        self.record(Event::ChoiceMade { state: name.to_owned(), next: d.clone() });
                        Ok((filter(&state.output_path, &effective).map_err(|e| at("OutputPath", e))?, Some(d)))
                    }
                    None => Err(fail(
                        "States.NoChoiceMatched",
                        format!("no choice rule of state {name} matched and it has no Default"),
                    )),
                }
            }
            Kind::Wait(w) => {
                let delay = match w {
                    WaitFor::Seconds(s) => Duration::from_secs(*s),
                    WaitFor::SecondsPath(p) => {
                        let v =
                            p.select(&effective).ok_or_else(|| at("SecondsPath", format!("{p} selects nothing")))?;
                        Duration::from_secs(
                            v.as_u64().ok_or_else(|| at("SecondsPath", format!("{v} is not a number of seconds")))?,
                        )
                    }
                    WaitFor::Timestamp(t) => until(t, self.clock.now()).ok_or_else(|| at("Timestamp", t.clone()))?,
                    WaitFor::TimestampPath(p) => {
                        let v =
                            p.select(&effective).ok_or_else(|| at("TimestampPath", format!("{p} selects nothing")))?;
                        let t = v.as_str().unwrap_or_default();
                        until(t, self.clock.now())
                            .ok_or_else(|| at("TimestampPath", format!("{v} is not an RFC 3339 timestamp")))?
                    }
                };
                self.record(Event::WaitStarted { state: name.to_owned(), delay });
                self.sleep(delay).await?;
                Ok((filter(&state.output_path, &effective).map_err(|e| at("OutputPath", e))?, next))
            }
            Kind::Pass { result } => {
                let ctx = self.context(name, entered, 0, item);
                let params = match &state.parameters {
                    Some(t) => t.eval(&effective, &ctx).map_err(|e| at("Parameters", e))?,
                    None => effective,
                };
                let result = result.clone().unwrap_or(params);
                let out = place(&state.result_path, raw, result)
                    .map_err(|e| fail("States.ResultPathMatchFailure", format!("state {name}: {e}")))?;
                Ok((filter(&state.output_path, &out).map_err(|e| at("OutputPath", e))?, next))
            }
            Kind::Task { .. } | Kind::Parallel { .. } | Kind::Map { .. } => {
                let result = self.with_retries(name, state, &effective, entered, item).await?;
                let ctx = self.context(name, entered, 0, item);
                let result = match &state.result_selector {
                    Some(t) => t.eval(&result, &ctx).map_err(|e| at("ResultSelector", e))?,
                    None => result,
                };
                let out = place(&state.result_path, raw, result)
                    .map_err(|e| fail("States.ResultPathMatchFailure", format!("state {name}: {e}")))?;
                Ok((filter(&state.output_path, &out).map_err(|e| at("OutputPath", e))?, next))
            }
        }
    }

    /// Runs the work of a Task, Parallel or Map state, retrying as its retriers say.
    async fn with_retries(
        &self,
        name: &str,
        state: &State,
        effective: &Value,
        entered: SystemTime,
        item: Option<&Value>,
    ) -> Result<Value, Stop> {
        let mut counts = vec![0_u64; state.retry.len()];
        let mut retry_count = 0;
        loop {
            let ctx = self.context(name, entered, retry_count, item);
            let err = match self.work(name, state, effective, &ctx).await {
                Ok(v) => return Ok(v),
                Err(Stop::Failed { error, cause }) => (error, cause),
                Err(stop) => return Err(stop),
            };
            let retrier = state.retry.iter().enumerate().find(|(_, r)| matches(&r.errors, &err.0));
            match retrier {
                Some((i, r)) if counts[i] < r.max_attempts => {
                    counts[i] += 1;
                    retry_count += 1;
                    let delay = backoff(r, counts[i], self.clock.random());
                    self.record(Event::RetryScheduled {
                        state: name.to_owned(),
                        error: err.0.clone(),
                        retrier: i,
                        attempt: counts[i],
                        delay,
                    });
                    self.sleep(delay).await?;
                }
                _ => return Err(Stop::Failed { error: err.0, cause: err.1 }),
            }
        }
    }

    /// One attempt of a state's work.
    async fn work(&self, name: &str, state: &State, effective: &Value, ctx: &Value) -> Result<Value, Stop> {
        let at = |what: &str, e: String| runtime(format!("state {name}: {what}: {e}"));
        match &state.kind {
            Kind::Task { resource, timeout } => {
                let params = match &state.parameters {
                    Some(t) => t.eval(effective, ctx).map_err(|e| at("Parameters", e))?,
                    None => effective.clone(),
                };
                let seconds = match timeout {
                    None => None,
                    Some(Timeout::Seconds(s)) => Some(*s),
                    Some(Timeout::Path(p)) => Some(
                        p.select(effective)
                            .and_then(|v| v.as_u64())
                            .ok_or_else(|| at("TimeoutSecondsPath", format!("{p} is not a number of seconds")))?,
                    ),
                };
                self.task(name, resource, params, seconds).await
            }
            Kind::Parallel { branches } => {
                let mut out = Vec::new();
                for (i, b) in branches.iter().enumerate() {
                    self.record(Event::ParallelBranchStarted { state: name.to_owned(), index: i });
                    out.push(self.graph(b, effective.clone(), None).await?);
                }
                Ok(Value::Array(out))
            }
            Kind::Map { items_path, item_selector, processor, .. } => {
                let items = match items_path {
                    Some(p) => p.select(effective).ok_or_else(|| at("ItemsPath", format!("{p} selects nothing")))?,
                    None => effective.clone(),
                };
                let Value::Array(items) = items else {
                    return Err(at(
                        "ItemsPath",
                        format!("the items must be an array, found {}", super::path::kind(&items)),
                    ));
                };
                // Items run one after another: the history reads in order and a local run needs no parallelism;
                // MaxConcurrency only bounds how many run at once, so the results are the same.
                let mut out = Vec::new();
                for (i, v) in items.into_iter().enumerate() {
                    let item = json!({"Index": i, "Value": v});
                    let mut c = ctx.clone();
                    c["Map"] = json!({"Item": item});
                    let input = match item_selector {
                        Some(t) => t.eval(effective, &c).map_err(|e| at("ItemSelector", e))?,
                        None => v,
                    };
                    self.record(Event::MapIterationStarted { state: name.to_owned(), index: i });
                    out.push(self.graph(processor, input, Some(item)).await?);
                }
                Ok(Value::Array(out))
            }
            _ => Err(runtime(format!("state {name} has no work to retry"))),
        }
    }

    /// A task call, with the task timeout (and the execution's) raced against it.
    async fn task(&self, name: &str, resource: &Resource, params: Value, seconds: Option<u64>) -> Result<Value, Stop> {
        let label = match resource {
            Resource::LambdaInvoke => "arn:aws:states:::lambda:invoke".to_owned(),
            Resource::PutEvents => "arn:aws:states:::events:putEvents".to_owned(),
            Resource::LambdaFunction(arn) => arn.clone(),
        };
        self.record(Event::TaskScheduled { state: name.to_owned(), resource: label, parameters: params.clone() });
        let task_limit = seconds.map(Duration::from_secs);
        let limit = match (task_limit, self.remaining()) {
            (Some(t), Some(r)) => Some(t.min(r)),
            (t, r) => t.or(r),
        };
        let call = self.call(resource, params);
        let outcome = match limit {
            // No limit at all: Step Functions' default task timeout is 99999999 s, which nothing local reaches.
            None => Some(call.await),
            Some(l) => race(call, self.clock.sleep(l)).await,
        };
        match outcome {
            Some(Ok(v)) => {
                self.record(Event::TaskSucceeded { state: name.to_owned(), output: v.clone() });
                Ok(v)
            }
            Some(Err(f)) => {
                self.record(Event::TaskFailed {
                    state: name.to_owned(),
                    error: f.error.clone(),
                    cause: f.cause.clone(),
                });
                Err(Stop::Failed { error: f.error, cause: f.cause })
            }
            None if self.remaining() == Some(Duration::ZERO) && limit != task_limit => Err(Stop::TimedOut),
            None => {
                let s = seconds.unwrap_or_default();
                self.record(Event::TaskTimedOut { state: name.to_owned(), seconds: s });
                Err(fail("States.Timeout", format!("the task did not finish within {s} s")))
            }
        }
    }

    async fn call(&self, resource: &Resource, params: Value) -> Result<Value, TaskFailure> {
        let bad = |cause: String| TaskFailure { error: "States.Runtime".into(), cause };
        match resource {
            Resource::LambdaFunction(arn) => self.integrations.invoke_function(arn, params).await,
            Resource::LambdaInvoke => {
                let function = params
                    .get("FunctionName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("FunctionName must be a string".into()))?;
                let function = match params.get("Qualifier").and_then(Value::as_str) {
                    Some(q) => format!("{function}:{q}"),
                    None => function.to_owned(),
                };
                let payload = params.get("Payload").cloned().unwrap_or(json!({}));
                let response = self.integrations.invoke_function(&function, payload).await?;
                let n = self.requests.fetch_add(1, Ordering::Relaxed);
                let request_id = format!("local-{}-{n}", self.options.name);
                Ok(json!({
                    "ExecutedVersion": "$LATEST",
                    "Payload": response,
                    "SdkHttpMetadata": {"HttpHeaders": {"x-amzn-RequestId": request_id}, "HttpStatusCode": 200},
                    "SdkResponseMetadata": {"RequestId": request_id},
                    "StatusCode": 200
                }))
            }
            Resource::PutEvents => {
                let entries = params
                    .get("Entries")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("Entries must be a list".into()))?;
                // The optimized integration adds the execution and state machine ARNs to each entry's resources.
                let extra = [self.options.execution_arn(), self.options.state_machine_arn.clone()];
                let entries = entries
                    .iter()
                    .map(|e| {
                        let s = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_owned);
                        let detail = match e.get("Detail") {
                            Some(Value::String(text)) => {
                                serde_json::from_str(text).unwrap_or(Value::String(text.clone()))
                            }
                            Some(v) => v.clone(),
                            None => json!({}),
                        };
                        let mut resources: Vec<String> = e
                            .get("Resources")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|r| r.as_str().map(str::to_owned))
                            .collect();
                        resources.extend(extra.iter().cloned());
                        Ok(PutEventsEntry {
                            event_bus_name: s("EventBusName"),
                            source: s("Source").ok_or_else(|| bad("an entry needs Source".into()))?,
                            detail_type: s("DetailType").ok_or_else(|| bad("an entry needs DetailType".into()))?,
                            detail,
                            resources,
                        })
                    })
                    .collect::<Result<Vec<_>, TaskFailure>>()?;
                let results = self.integrations.put_events(entries).await?;
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
                let out = json!({"Entries": entries, "FailedEntryCount": failed});
                if failed > 0 {
                    // https://docs.aws.amazon.com/step-functions/latest/dg/connect-eventbridge.html
                    return Err(TaskFailure { error: "EventBridge.FailedEntry".into(), cause: out.to_string() });
                }
                Ok(out)
            }
        }
    }
}

/// The delay before retry `attempt` (1-based) of `r`: `IntervalSeconds × BackoffRate^(attempt-1)`, at most
/// `MaxDelaySeconds`, then a `random` fraction of it under full jitter.
pub fn backoff(r: &Retrier, attempt: u64, random: f64) -> Duration {
    let exp = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
    let mut secs = r.interval_seconds as f64 * r.backoff_rate.powi(exp);
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max as f64);
    }
    if r.full_jitter {
        secs *= random.clamp(0.0, 1.0);
    }
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

/// `InputPath` / `OutputPath`.
fn filter(f: &Filter, v: &Value) -> Result<Value, String> {
    match f {
        Filter::All => Ok(v.clone()),
        Filter::Nothing => Ok(json!({})),
        Filter::Path(p) => p.select(v).ok_or_else(|| format!("the JSONPath {p} could not be found in the input")),
    }
}

/// `ResultPath`: the result placed into the raw input.
fn place(rp: &ResultPath, raw: Value, result: Value) -> Result<Value, String> {
    match rp {
        ResultPath::Replace => Ok(result),
        ResultPath::Discard => Ok(raw),
        ResultPath::Path(p) => p.write(raw, result),
    }
}

fn until(timestamp: &str, now: SystemTime) -> Option<Duration> {
    let t = parse_rfc3339(timestamp)?;
    Some(Duration::from_millis(u64::try_from(t - millis(now)).unwrap_or(0)))
}

#[cfg(test)]
#[path = "exec_tests.rs"]
mod tests;
