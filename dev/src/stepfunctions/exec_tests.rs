//! Tests of the interpreter: small definitions run with fake integrations on a virtual clock.

#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};

use super::*;
use crate::stepfunctions::time::FakeClock;

/// What the fake function does on one call.
pub enum Reply {
    Ok(Value),
    Err(TaskFailure),
    /// Never answers (a hung function).
    Hang,
}

/// Scripted integrations: each call takes the next reply (an empty script answers `{}`); events are accepted
/// with ids `ev-0`, `ev-1`... unless `put_replies` says otherwise.
#[derive(Default)]
pub struct Fake {
    pub replies: Mutex<VecDeque<Reply>>,
    pub calls: Mutex<Vec<(String, Value)>>,
    pub put_replies: Mutex<VecDeque<Result<Vec<EntryResult>, TaskFailure>>>,
    pub events: Mutex<Vec<PutEventsEntry>>,
}

impl Fake {
    pub fn with(replies: Vec<Reply>) -> Self {
        Fake { replies: Mutex::new(replies.into()), ..Fake::default() }
    }
}

impl Integrations for Fake {
    fn invoke_function(
        &self,
        function: &str,
        payload: Value,
    ) -> impl Future<Output = Result<Value, TaskFailure>> + Send {
        self.calls.lock().unwrap().push((function.to_owned(), payload));
        let reply = self.replies.lock().unwrap().pop_front().unwrap_or(Reply::Ok(json!({})));
        async move {
            match reply {
                Reply::Ok(v) => Ok(v),
                Reply::Err(e) => Err(e),
                Reply::Hang => std::future::pending().await,
            }
        }
    }

    fn put_events(
        &self,
        entries: Vec<PutEventsEntry>,
    ) -> impl Future<Output = Result<Vec<EntryResult>, TaskFailure>> + Send {
        let reply = self.put_replies.lock().unwrap().pop_front();
        let mut events = self.events.lock().unwrap();
        let reply = reply.unwrap_or_else(|| {
            Ok((0..entries.len())
                .map(|i| EntryResult::Accepted { event_id: format!("ev-{}", events.len() + i) })
                .collect())
        });
        events.extend(entries);
        async move { reply }
    }
}

pub fn options() -> ExecutionOptions {
    ExecutionOptions {
        state_machine_arn: "arn:aws:states:eu-west-1:000000000000:stateMachine:Wf".into(),
        name: "run-1".into(),
    }
}

pub fn clock() -> FakeClock {
    FakeClock::new(UNIX_EPOCH + Duration::from_secs(1_767_225_600), 0.5)
}

fn run(def: Value, input: Value, fake: &Fake, clock: &FakeClock) -> Execution {
    let def = Definition::parse(&def).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(execute(&def, input, fake, clock, &options()))
}

fn output(e: &Execution) -> Value {
    match &e.status {
        Status::Succeeded { output } => output.clone(),
        other => panic!("expected success, got {other:?}\n{}", e.history_text()),
    }
}

fn failure(e: &Execution) -> (String, String) {
    match &e.status {
        Status::Failed { error, cause } => (error.clone(), cause.clone()),
        other => panic!("expected failure, got {other:?}\n{}", e.history_text()),
    }
}

fn lambda(extra: Value) -> Value {
    let mut s = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "fn-arn", "Payload.$": "$"}, "End": true});
    s.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    s
}

fn single(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

fn secs(v: &[u64]) -> Vec<Duration> {
    v.iter().map(|s| Duration::from_secs(*s)).collect()
}

#[test]
fn input_and_output_processing_as_documented() {
    // The data flow of the AWS guide: InputPath, Parameters, ResultSelector, ResultPath, OutputPath.
    let fake = Fake::with(vec![Reply::Ok(json!({"total": 30, "items": 2}))]);
    let state = lambda(json!({
        "InputPath": "$.order",
        "Parameters": {"FunctionName": "fn-arn", "Payload": {"id.$": "$.id", "kind": "order"}},
        "ResultSelector": {"sum.$": "$.Payload.total", "status.$": "$.StatusCode"},
        "ResultPath": "$.result",
        "OutputPath": "$.result"
    }));
    let e = run(single(state), json!({"order": {"id": "o-1"}, "other": 1}), &fake, &clock());
    assert_eq!(output(&e), json!({"sum": 30, "status": 200}));
    assert_eq!(fake.calls.lock().unwrap()[0], ("fn-arn".to_owned(), json!({"id": "o-1", "kind": "order"})));
}

#[test]
fn lambda_invoke_result_shape_and_legacy_resource() {
    let fake = Fake::with(vec![Reply::Ok(json!({"url": "u"})), Reply::Ok(json!({"direct": true}))]);
    let def = json!({"StartAt": "A", "States": {
        "A": lambda(json!({"End": null, "Next": "B", "ResultPath": "$.a"})),
        "B": {"Type": "Task", "Resource": "arn:aws:lambda:eu-west-1:1:function:f", "ResultPath": "$.b", "End": true}
    }});
    let mut def = def;
    def["States"]["A"].as_object_mut().unwrap().remove("End");
    let out = output(&run(def, json!({"x": 1}), &fake, &clock()));
    assert_eq!(out["a"]["Payload"], json!({"url": "u"}));
    assert_eq!(out["a"]["StatusCode"], 200);
    assert_eq!(out["a"]["ExecutedVersion"], "$LATEST");
    assert!(out["a"]["SdkResponseMetadata"]["RequestId"].is_string());
    assert_eq!(out["b"], json!({"direct": true}));
    assert_eq!(
        fake.calls.lock().unwrap()[1],
        ("arn:aws:lambda:eu-west-1:1:function:f".to_owned(), json!({"x": 1, "a": out["a"]}))
    );
}

#[test]
fn pass_result_parameters_and_result_path_null() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"k": 1}, "ResultPath": "$.fixed", "Next": "B"},
        "B": {"Type": "Pass", "Parameters": {"copy.$": "$.fixed.k", "exec.$": "$$.Execution.Name", "start.$": "$$.Execution.StartTime"}, "ResultPath": "$.p", "Next": "C"},
        "C": {"Type": "Pass", "Result": "dropped", "ResultPath": null, "Next": "D"},
        "D": {"Type": "Pass", "InputPath": null, "End": true, "ResultPath": "$.empty"}
    }});
    // ResultPath places the result into the raw input: InputPath null only empties what the state sees.
    let out = output(&run(def, json!({"in": true}), &Fake::default(), &clock()));
    assert_eq!(
        out,
        json!({"in": true, "fixed": {"k": 1}, "p": {"copy": 1, "exec": "run-1", "start": "2026-01-01T00:00:00.000Z"}, "empty": {}})
    );
}

#[test]
fn retries_back_off_then_succeed() {
    let err = || Reply::Err(TaskFailure::function_error("Retryable", "s3 busy"));
    let fake = Fake::with(vec![err(), err(), err(), Reply::Ok(json!({"ok": true}))]);
    let state = lambda(json!({"Retry": [
        {"ErrorEquals": ["Other"], "MaxAttempts": 9},
        {"ErrorEquals": ["Retryable"], "IntervalSeconds": 1, "MaxAttempts": 4, "BackoffRate": 2}
    ]}));
    let c = clock();
    let e = run(single(state), json!({}), &fake, &c);
    assert_eq!(output(&e)["Payload"], json!({"ok": true}));
    assert_eq!(c.slept(), secs(&[1, 2, 4]));
    let retries: Vec<(usize, u64, Duration)> = e
        .history
        .iter()
        .filter_map(|h| match &h.event {
            Event::RetryScheduled { retrier, attempt, delay, .. } => Some((*retrier, *attempt, *delay)),
            _ => None,
        })
        .collect();
    assert_eq!(retries, [(1, 1, secs(&[1])[0]), (1, 2, secs(&[2])[0]), (1, 3, secs(&[4])[0])]);
    assert_eq!(e.history.last().unwrap().elapsed, Duration::from_secs(7));
}

#[test]
fn backoff_caps_and_jitters() {
    let r = |max: Option<u64>, jitter: bool| Retrier {
        errors: vec!["X".into()],
        interval_seconds: 3,
        max_attempts: 10,
        backoff_rate: 3.0,
        max_delay_seconds: max,
        full_jitter: jitter,
    };
    assert_eq!(backoff(&r(None, false), 1, 0.5), Duration::from_secs(3));
    assert_eq!(backoff(&r(None, false), 3, 0.5), Duration::from_secs(27));
    assert_eq!(backoff(&r(Some(10), false), 3, 0.5), Duration::from_secs(10));
    assert_eq!(backoff(&r(Some(10), true), 3, 0.5), Duration::from_secs(5));
    assert_eq!(backoff(&r(None, true), 1, 0.0), Duration::ZERO);
    // With full jitter, the virtual clock draws 0.5: the 1, 2 s delays become 0.5, 1 s.
    let fake = Fake::with(vec![
        Reply::Err(TaskFailure::function_error("X", "")),
        Reply::Err(TaskFailure::function_error("X", "")),
    ]);
    let c = clock();
    run(single(lambda(json!({"Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "FULL"}]}))), json!({}), &fake, &c);
    assert_eq!(c.slept(), [Duration::from_millis(500), Duration::from_secs(1)]);
}

#[test]
fn exhausted_retries_are_caught_with_the_error_in_result_path() {
    let err = || Reply::Err(TaskFailure::function_error("Retryable", "s3 busy"));
    let fake = Fake::with(vec![err(), err(), err()]);
    let def = json!({"StartAt": "T", "States": {
        "T": lambda(json!({"End": null, "Retry": [{"ErrorEquals": ["Retryable"], "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["Nope"], "Next": "Other"}, {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handle"}],
            "Next": "Done"})),
        "Done": {"Type": "Succeed"},
        "Other": {"Type": "Succeed"},
        "Handle": {"Type": "Pass", "End": true}
    }});
    let mut def = def;
    def["States"]["T"].as_object_mut().unwrap().remove("End");
    let e = run(def, json!({"tenant_id": "t1"}), &fake, &clock());
    let out = output(&e);
    assert_eq!(out["tenant_id"], "t1");
    assert_eq!(out["error"]["Error"], "Retryable");
    let cause: Value = serde_json::from_str(out["error"]["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause, json!({"errorType": "Retryable", "errorMessage": "s3 busy"}));
    assert_eq!(fake.calls.lock().unwrap().len(), 3);
    assert!(
        e.history.iter().any(|h| matches!(&h.event, Event::ErrorCaught { catcher: 1, next, .. } if next == "Handle"))
    );
}

#[test]
fn uncaught_errors_fail_the_execution() {
    let fake =
        Fake::with(vec![Reply::Err(TaskFailure { error: "Lambda.ServiceException".into(), cause: "boom".into() })]);
    let e =
        run(single(lambda(json!({"Catch": [{"ErrorEquals": ["Other"], "Next": "S"}]}))), json!({}), &fake, &clock());
    assert_eq!(failure(&e), ("Lambda.ServiceException".into(), "boom".into()));
}

#[test]
fn runtime_errors_are_neither_retried_nor_caught() {
    let def = json!({"StartAt": "T", "States": {
        "T": lambda(json!({"InputPath": "$.missing", "Retry": [{"ErrorEquals": ["States.ALL"]}], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}]})),
        "H": {"Type": "Succeed"}
    }});
    let fake = Fake::default();
    let e = run(def, json!({}), &fake, &clock());
    let (error, cause) = failure(&e);
    assert_eq!(error, "States.Runtime");
    assert_eq!(cause, "state T: InputPath: the JSONPath $.missing could not be found in the input");
    assert!(fake.calls.lock().unwrap().is_empty());
    let e = run(
        single(lambda(json!({"Parameters": {"FunctionName": "f", "Payload.$": "$.nope"}}))),
        json!({}),
        &fake,
        &clock(),
    );
    assert_eq!(failure(&e).0, "States.Runtime");
}

#[test]
fn task_timeouts_are_states_timeout_which_task_failed_does_not_match() {
    let def = json!({"StartAt": "T", "States": {
        "T": lambda(json!({"TimeoutSeconds": 330,
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 5}],
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"}, {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.err", "Next": "Late"}]})),
        "Wrong": {"Type": "Succeed"},
        "Late": {"Type": "Pass", "End": true}
    }});
    let fake = Fake::with(vec![Reply::Hang]);
    let c = clock();
    let e = run(def, json!({}), &fake, &c);
    assert_eq!(output(&e)["err"]["Error"], "States.Timeout");
    assert_eq!(c.slept(), secs(&[330]));
    assert!(e.history.iter().any(|h| matches!(h.event, Event::TaskTimedOut { seconds: 330, .. })));
    // The timeout from the input (TimeoutSecondsPath), retried by States.ALL.
    let fake = Fake::with(vec![Reply::Hang, Reply::Ok(json!(1))]);
    let c = clock();
    let state = lambda(
        json!({"TimeoutSecondsPath": "$.limit", "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2}]}),
    );
    let e = run(single(state), json!({"limit": 5}), &fake, &c);
    assert_eq!(output(&e)["Payload"], 1);
    assert_eq!(c.slept(), secs(&[5, 2]));
}

#[test]
fn the_execution_times_out_in_a_wait_or_a_task_and_nothing_catches_it() {
    let def = json!({"StartAt": "W", "TimeoutSeconds": 10, "States": {
        "W": {"Type": "Wait", "Seconds": 100, "Next": "T"},
        "T": lambda(json!({}))
    }});
    let c = clock();
    let e = run(def, json!({}), &Fake::default(), &c);
    assert_eq!(e.status, Status::TimedOut);
    assert_eq!(c.slept(), secs(&[10]));
    assert_eq!(e.history.last().unwrap().elapsed, Duration::from_secs(10));
    let def = json!({"StartAt": "T", "TimeoutSeconds": 60, "States": {
        "T": lambda(json!({"TimeoutSeconds": 330, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}]})),
        "H": {"Type": "Succeed"}
    }});
    let c = clock();
    let e = run(def, json!({}), &Fake::with(vec![Reply::Hang]), &c);
    assert_eq!(e.status, Status::TimedOut);
    assert_eq!(c.slept(), secs(&[60]));
}

#[test]
fn waits() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Wait", "Seconds": 3, "Next": "B"},
        "B": {"Type": "Wait", "SecondsPath": "$.s", "Next": "C"},
        "C": {"Type": "Wait", "Timestamp": "2026-01-01T00:01:00Z", "Next": "D"},
        "D": {"Type": "Wait", "TimestampPath": "$.t", "Next": "E"},
        "E": {"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z", "End": true}
    }});
    let c = clock();
    let input = json!({"s": 7, "t": "2026-01-01T00:02:00Z"});
    let e = run(def, input.clone(), &Fake::default(), &c);
    assert_eq!(output(&e), input);
    // 3 s, 7 s, then until 00:01:00 (50 s), until 00:02:00 (60 s), and a past timestamp waits 0.
    assert_eq!(c.slept(), secs(&[3, 7, 50, 60, 0]));
    let e = run(
        single(json!({"Type": "Wait", "SecondsPath": "$.s", "End": true})),
        json!({"s": "x"}),
        &Fake::default(),
        &clock(),
    );
    assert_eq!(failure(&e).0, "States.Runtime");
}

#[test]
fn choices_and_their_failures() {
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "OutputPath": "$.v", "Choices": [
            {"Variable": "$.v.n", "IsPresent": false, "Next": "None"},
            {"And": [{"Variable": "$.v.n", "NumericGreaterThan": 10}, {"Variable": "$.v.s", "StringEquals": "x"}], "Next": "Big"}
        ], "Default": "Small"},
        "Big": {"Type": "Pass", "Result": "big", "End": true},
        "Small": {"Type": "Pass", "Result": "small", "End": true},
        "None": {"Type": "Pass", "Result": "none", "End": true}
    }});
    let go = |input: Value| output(&run(def.clone(), input, &Fake::default(), &clock()));
    assert_eq!(go(json!({"v": {"n": 11, "s": "x"}})), "big");
    assert_eq!(go(json!({"v": {"n": 11, "s": "y"}})), "small");
    // The wrong type compares false: And stops at its first false condition.
    assert_eq!(go(json!({"v": {"n": "11"}})), "small");
    assert_eq!(go(json!({"v": {}})), "none");
    let no_default = json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "D"}]}, "D": {"Type": "Succeed"}}});
    assert_eq!(failure(&run(no_default, json!({}), &Fake::default(), &clock())).0, "States.NoChoiceMatched");
    // A compared variable that is missing is a runtime error.
    let e = run(def, json!({"v": {"n": 11}}), &Fake::default(), &clock());
    let (error, cause) = failure(&e);
    assert_eq!(error, "States.Runtime");
    assert!(cause.contains("$.v.s"), "{cause}");
}

#[test]
fn fail_states() {
    let e = run(
        single(json!({"Type": "Fail", "Error": "ExportFailed", "Cause": "gave up"})),
        json!({}),
        &Fake::default(),
        &clock(),
    );
    assert_eq!(failure(&e), ("ExportFailed".into(), "gave up".into()));
    let e = run(
        single(json!({"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"})),
        json!({"e": "E", "c": "C"}),
        &Fake::default(),
        &clock(),
    );
    assert_eq!(failure(&e), ("E".into(), "C".into()));
}

#[test]
fn map_and_parallel() {
    let fake = Fake::with(vec![Reply::Ok(json!("r0")), Reply::Ok(json!("r1"))]);
    let def = json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ResultPath": "$.results", "Next": "P",
              "ItemSelector": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value", "tenant.$": "$.tenant"},
              "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Call", "States": {
                  "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                           "ResultSelector": {"p.$": "$.Payload"}, "End": true}}}},
        "P": {"Type": "Parallel", "ResultPath": "$.branches", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "InputPath": "$.tenant", "End": true}}}
        ]}
    }});
    let e = run(def, json!({"tenant": "t1", "items": ["a", "b"]}), &fake, &clock());
    let out = output(&e);
    assert_eq!(out["results"], json!([{"p": "r0"}, {"p": "r1"}]));
    assert_eq!(out["branches"], json!([1, "t1"]));
    let calls: Vec<Value> = fake.calls.lock().unwrap().iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(calls, [json!({"i": 0, "v": "a", "tenant": "t1"}), json!({"i": 1, "v": "b", "tenant": "t1"})]);
    // A failing iteration fails the Map with its error, which the Map's catcher sees.
    let def = json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "Catch": [{"ErrorEquals": ["Bad"], "ResultPath": "$.err", "Next": "H"}], "End": true,
              "ItemProcessor": {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "item"}}}},
        "H": {"Type": "Pass", "End": true}
    }});
    let def = {
        let mut d = def;
        d["States"]["M"]["ItemsPath"] = json!("$.items");
        d
    };
    let out = output(&run(def, json!({"items": [1]}), &Fake::default(), &clock()));
    assert_eq!(out["err"], json!({"Error": "Bad", "Cause": "item"}));
}

#[test]
fn put_events_entries_and_failed_entries() {
    let state = json!({"Type": "Task", "Resource": "arn:aws:states:::events:putEvents", "ResultPath": "$.put", "End": true,
        "Parameters": {"Entries": [{"EventBusName": "bus", "Source": "platform.exports", "DetailType": "ExportCompleted", "Detail.$": "$.d"}]}});
    let fake = Fake::default();
    let out = output(&run(single(state.clone()), json!({"d": {"url": "u"}}), &fake, &clock()));
    assert_eq!(out["put"], json!({"Entries": [{"EventId": "ev-0"}], "FailedEntryCount": 0}));
    let sent = fake.events.lock().unwrap()[0].clone();
    assert_eq!(sent.bus_name(), "bus");
    assert_eq!(sent.detail, json!({"url": "u"}));
    assert_eq!(sent.resources, [options().execution_arn(), options().state_machine_arn]);
    assert_eq!(options().execution_arn(), "arn:aws:states:eu-west-1:000000000000:execution:Wf:run-1");
    let fake = Fake::default();
    fake.put_replies
        .lock()
        .unwrap()
        .push_back(Ok(vec![EntryResult::Failed { error_code: "InternalFailure".into(), error_message: "x".into() }]));
    let (error, cause) = failure(&run(single(state), json!({"d": {}}), &fake, &clock()));
    assert_eq!(error, "EventBridge.FailedEntry");
    assert_eq!(serde_json::from_str::<Value>(&cause).unwrap()["FailedEntryCount"], 1);
}

#[test]
fn context_object_counts_retries() {
    let fake = Fake::with(vec![Reply::Err(TaskFailure::function_error("X", "")), Reply::Ok(json!({}))]);
    let state = lambda(
        json!({"Parameters": {"FunctionName": "f", "Payload": {"n.$": "$$.State.RetryCount", "s.$": "$$.State.Name", "id.$": "$$.Execution.Id"}},
        "Retry": [{"ErrorEquals": ["X"]}]}),
    );
    run(single(state), json!({}), &fake, &clock());
    let calls = fake.calls.lock().unwrap();
    assert_eq!(calls[0].1["n"], 0);
    assert_eq!(calls[1].1["n"], 1);
    assert_eq!(calls[1].1["s"], "S");
    assert_eq!(calls[1].1["id"], options().execution_arn());
}

#[test]
fn history_prints_one_event_a_line() {
    let fake = Fake::with(vec![
        Reply::Err(TaskFailure { error: "Retryable".into(), cause: "busy".into() }),
        Reply::Ok(json!({"ok": 1})),
    ]);
    let e = run(
        single(lambda(json!({"Retry": [{"ErrorEquals": ["Retryable"], "IntervalSeconds": 2}]}))),
        json!({"t": 1}),
        &fake,
        &clock(),
    );
    let text = e.history_text();
    let kinds: Vec<&str> = text.lines().map(|l| l.split_whitespace().nth(1).unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "StateEntered",
            "TaskScheduled",
            "TaskFailed",
            "RetryScheduled",
            "TaskScheduled",
            "TaskSucceeded",
            "StateExited",
            "ExecutionSucceeded"
        ]
    );
    assert!(text.contains("    2.000s  TaskScheduled         S  arn:aws:states:::lambda:invoke {\"FunctionName\":\"fn-arn\",\"Payload\":{\"t\":1}}"), "{text}");
    assert!(text.contains("RetryScheduled        S  Retryable: retry 1 of retrier 0 in 2.000 s"), "{text}");
    assert!(text.contains("TaskFailed            S  Retryable: busy"), "{text}");
}

#[test]
fn outputs_over_256_kib_end_the_execution_uncaught() {
    let big = "x".repeat(MAX_PAYLOAD_BYTES);
    let fake = Fake::with(vec![Reply::Ok(json!(big))]);
    let e = run(
        single(lambda(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S"}]}))),
        json!({}),
        &fake,
        &clock(),
    );
    let (error, cause) = failure(&e);
    assert_eq!(error, "States.DataLimitExceeded");
    assert!(cause.starts_with("the output of state S is 262"), "{cause}");
}
