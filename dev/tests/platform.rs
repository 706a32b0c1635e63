//! The emulators on real templates, synthesized in process: the platform's (default dev configuration) EventBridge
//! rules against the domain events the stream processor emits and its export workflow, and a state machine built
//! from every state and field `constructs::stepfunctions` can emit.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use constructs::platform::PlatformConfig;
use dev::events::rule::{ResourceRef, bus_name};
use dev::events::{PutEventsEntry, TargetInput, TargetKind, parse_rules, route};
use platform_types::api::ExportWorkflowInput;
use platform_types::api::{Currency, Plan};
use platform_types::events::{
    ApiKeyRevoked, DomainEvent, EVENT_SOURCE, InvoiceGenerated, InvoiceReady, OrderCreated, SubscriptionUpgraded,
};
use serde_json::Value;

fn templates() -> BTreeMap<String, Value> {
    let a = tests::platform(&PlatformConfig::default_for("dev"));
    a.stacks.iter().map(|s| (s.id.clone(), serde_json::from_str(&s.template).unwrap())).collect()
}

fn domain_events() -> Vec<DomainEvent> {
    vec![
        DomainEvent::OrderCreated(OrderCreated {
            event_id: "e1".into(),
            tenant_id: "t1".into(),
            order_id: "o1".into(),
            total_cents: 1250,
            currency: Currency::EUR,
            created_at: "2026-01-01T00:00:00Z".into(),
        }),
        DomainEvent::SubscriptionUpgraded(SubscriptionUpgraded {
            event_id: "e2".into(),
            tenant_id: "t1".into(),
            subscription_id: "s1".into(),
            from_plan: Plan::Free,
            to_plan: Plan::Pro,
            seats: 3,
            version: 2,
            upgraded_at: "2026-01-01T00:00:00Z".into(),
        }),
        DomainEvent::ApiKeyRevoked(ApiKeyRevoked {
            event_id: "e3".into(),
            tenant_id: "t1".into(),
            key_id: "k1".into(),
            revoked_at: "2026-01-01T00:00:00Z".into(),
        }),
        DomainEvent::InvoiceGenerated(InvoiceGenerated {
            event_id: "e4".into(),
            tenant_id: "t1".into(),
            invoice_id: "i1".into(),
            amount_cents: 990,
            currency: Currency::USD,
            created_at: "2026-01-01T00:00:00Z".into(),
        }),
        DomainEvent::InvoiceReady(InvoiceReady {
            event_id: "InvoiceReady:t1:i1".into(),
            tenant_id: "t1".into(),
            invoice_id: "i1".into(),
            pdf_key: "invoices/t1/i1.pdf".into(),
            ready_at: "2026-01-01T00:00:01Z".into(),
        }),
    ]
}

/// The event EventBridge delivers for what the stream processor puts (source, detail-type, detail as JSON).
fn delivered(e: &DomainEvent, bus: &str) -> Value {
    PutEventsEntry {
        event_bus_name: Some(bus.into()),
        source: EVENT_SOURCE.into(),
        detail_type: e.detail_type().into(),
        detail: serde_json::to_value(e).unwrap(),
        resources: vec![],
    }
    .to_event(e.event_id(), "2026-01-01T00:00:00Z", "000000000000", "eu-west-1")
}

#[test]
fn every_rule_of_the_platform_parses() {
    for (stack, t) in templates() {
        let rules = parse_rules(&t).unwrap_or_else(|e| panic!("{stack}: {e:?}"));
        for r in &rules {
            assert!(r.pattern.is_some() && r.enabled, "{stack}/{}", r.logical_id);
        }
    }
}

#[test]
fn domain_events_reach_the_rules_the_platform_declares() {
    let all = templates();
    let t = &all["Regional"];
    let rules = parse_rules(t).unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r.logical_id.as_str()).collect();
    assert_eq!(ids, ["Analytics", "Billing", "Notifications"]);
    let bus = "platform-dev-events";
    let names = |b: &ResourceRef| bus_name(b, t);
    let mut seen = BTreeMap::new();
    for e in domain_events() {
        let event = delivered(&e, bus);
        let routed = route(&rules, bus, &event, &names);
        let got: Vec<(String, TargetKind)> =
            routed.iter().map(|(r, t, _)| (r.logical_id.clone(), t.kind.clone())).collect();
        seen.insert(e.detail_type(), got);
        for (_, target, body) in &routed {
            let body: Value = serde_json::from_str(body).unwrap();
            // Every target gets the whole event: the renderer reads the invoice from the PDF job's `detail`.
            match &target.input {
                TargetInput::Event => assert_eq!(body, event),
                other => panic!("unexpected input {other:?}"),
            }
            assert_eq!(target.dead_letter, Some(ResourceRef::Logical("UndeliveredEvents".into())));
            assert_eq!(target.retry.maximum_retry_attempts, 185);
        }
        // Not on another bus, not from another source.
        assert!(route(&rules, "default", &event, &names).is_empty());
        let mut forged = event.clone();
        forged["source"] = "someone.else".into();
        assert!(route(&rules, bus, &forged, &names).is_empty());
    }
    let analytics =
        ("Analytics".to_owned(), TargetKind::LogGroup(ResourceRef::Named("/aws/events/platform-dev-analytics".into())));
    let webhooks = ("Notifications".to_owned(), TargetKind::Queue(ResourceRef::Logical("WebhookDeliveries".into())));
    let billing = ("Billing".to_owned(), TargetKind::Queue(ResourceRef::Logical("PdfJobs".into())));
    assert_eq!(seen["OrderCreated"], [analytics.clone(), webhooks.clone()]);
    assert_eq!(seen["SubscriptionUpgraded"], [analytics.clone(), webhooks.clone()]);
    assert_eq!(seen["ApiKeyRevoked"], [analytics.clone(), webhooks.clone()]);
    assert_eq!(seen["InvoiceGenerated"], [analytics.clone(), billing, webhooks.clone()]);
    // The renderer's announcement goes to the webhooks (and analytics), not back to the PDF jobs.
    assert_eq!(seen["InvoiceReady"], [analytics, webhooks]);
}

// ---- The export workflow ----

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use dev::stepfunctions::template::Table;
use dev::stepfunctions::{
    Definition, EntryResult, Event, Execution, ExecutionOptions, FakeClock, Integrations, Status, TaskFailure, execute,
    state_machines,
};

const EXPORTER_ARN: &str = "arn:aws:lambda:eu-west-1:000000000000:function:platform-dev-Exporter";

enum Reply {
    Ok(Value),
    Err(TaskFailure),
    Hang,
}

/// The exporter scripted, the bus recording.
#[derive(Default)]
struct Fake {
    replies: Mutex<VecDeque<Reply>>,
    calls: Mutex<Vec<(String, Value)>>,
    events: Mutex<Vec<PutEventsEntry>>,
}

impl Integrations for Fake {
    fn invoke_function(
        &self,
        function: &str,
        payload: Value,
    ) -> impl std::future::Future<Output = Result<Value, TaskFailure>> + Send {
        self.calls.lock().unwrap().push((function.to_owned(), payload));
        let reply = self.replies.lock().unwrap().pop_front().unwrap_or(Reply::Ok(serde_json::json!({})));
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
    ) -> impl std::future::Future<Output = Result<Vec<EntryResult>, TaskFailure>> + Send {
        let ids = (0..entries.len()).map(|i| EntryResult::Accepted { event_id: format!("ev-{i}") }).collect();
        self.events.lock().unwrap().extend(entries);
        async move { Ok(ids) }
    }
}

fn export_workflow() -> Definition {
    let all = templates();
    let mut resolver = Table::default();
    resolver.attrs.insert("Exporter.Arn".into(), EXPORTER_ARN.into());
    let mut machines = state_machines(&all["Regional"], &resolver).unwrap();
    assert_eq!(machines.keys().collect::<Vec<_>>(), ["ExportWorkflow"]);
    machines.remove("ExportWorkflow").unwrap()
}

/// Runs the workflow on what `POST /tenants/t1/exports` starts it with, the exporter replying `replies`.
fn run_export(replies: Vec<Reply>) -> (Execution, Fake, FakeClock) {
    let input = serde_json::to_value(ExportWorkflowInput { tenant_id: "t1".into(), export_id: "e1".into() }).unwrap();
    let fake = Fake { replies: Mutex::new(replies.into()), ..Fake::default() };
    // Jitter draws 0.5: each backoff delay is half the computed one.
    let clock = FakeClock::new(UNIX_EPOCH + Duration::from_secs(1_767_225_600), 0.5);
    let options = ExecutionOptions {
        state_machine_arn: "arn:aws:states:eu-west-1:000000000000:stateMachine:platform-dev-export".into(),
        name: "e1".into(),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let e = rt.block_on(execute(&export_workflow(), input, &fake, &clock, &options));
    (e, fake, clock)
}

fn exported() -> Value {
    serde_json::json!({
        "bucket": "exports", "key": "exports/t1/i1.jsonl", "url": "https://exports.local/t1/i1.jsonl",
        "url_expires_in_seconds": 900, "items": 3, "bytes": 120, "parts": 0
    })
}

fn states_entered(e: &Execution) -> Vec<String> {
    e.history
        .iter()
        .filter_map(|h| match &h.event {
            Event::StateEntered { state, .. } => Some(state.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn export_workflow_success_notifies_the_tenant() {
    let (e, fake, clock) = run_export(vec![Reply::Ok(exported())]);
    let Status::Succeeded { output } = &e.status else { panic!("{}", e.history_text()) };
    assert_eq!(states_entered(&e), ["Export", "Exported", "NotifyExport"]);
    // The exporter got the API's input, passed whole as the payload.
    let calls = fake.calls.lock().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, EXPORTER_ARN);
    assert_eq!(calls[0].1, serde_json::json!({"tenant_id": "t1", "export_id": "e1"}));
    // ResultPath $.export keeps the input; the Lambda result shape carries the response under Payload.
    assert_eq!(output["tenant_id"], "t1");
    assert_eq!(output["export"]["Payload"], exported());
    assert_eq!(output["export"]["StatusCode"], 200);
    assert_eq!(output["notified"]["FailedEntryCount"], 0);
    let events = fake.events.lock().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].bus_name(), events[0].source.as_str()), ("platform-dev-events", "platform.exports"));
    assert_eq!(events[0].detail_type, "ExportCompleted");
    assert_eq!(events[0].detail, exported());
    assert!(clock.slept().is_empty());
}

#[test]
fn export_workflow_retries_retryable_errors_with_jittered_backoff() {
    let retryable = || Reply::Err(TaskFailure::function_error("Retryable", "dynamodb: throttled"));
    let throttled = Reply::Err(TaskFailure { error: "Lambda.TooManyRequestsException".into(), cause: "rate".into() });
    let (e, fake, clock) = run_export(vec![retryable(), throttled, retryable(), Reply::Ok(exported())]);
    assert!(matches!(e.status, Status::Succeeded { .. }), "{}", e.history_text());
    assert_eq!(fake.calls.lock().unwrap().len(), 4);
    // IntervalSeconds 1, BackoffRate 2, full jitter (0.5 drawn): 0.5 s, 1 s, 2 s.
    assert_eq!(clock.slept(), [Duration::from_millis(500), Duration::from_secs(1), Duration::from_secs(2)]);
    assert_eq!(fake.events.lock().unwrap()[0].detail_type, "ExportCompleted");
}

#[test]
fn export_workflow_catches_and_fails_after_notifying() {
    // Not retried (InvalidInput is no retrier's), caught by States.ALL into $.error.
    let (e, fake, _) = run_export(vec![Reply::Err(TaskFailure::function_error("InvalidInput", "tenant_id is empty"))]);
    assert_eq!(
        e.status,
        Status::Failed { error: "ExportFailed".into(), cause: "the export task failed after its retries".into() }
    );
    assert_eq!(states_entered(&e), ["Export", "NotifyFailure", "Failed"]);
    let events = fake.events.lock().unwrap();
    assert_eq!(events[0].detail_type, "ExportFailed");
    assert_eq!(events[0].detail["Error"], "InvalidInput");
    let cause: Value = serde_json::from_str(events[0].detail["Cause"].as_str().unwrap()).unwrap();
    assert_eq!(cause["errorMessage"], "tenant_id is empty");
    // Five Retryable failures: the first and its four retries, then the catcher.
    let retryable = || Reply::Err(TaskFailure::function_error("Retryable", "s3: slow down"));
    let (e, fake, clock) = run_export((0..5).map(|_| retryable()).collect());
    assert!(matches!(&e.status, Status::Failed { error, .. } if error == "ExportFailed"));
    assert_eq!(fake.calls.lock().unwrap().len(), 5);
    let total: Duration = clock.slept().iter().sum();
    assert_eq!(total, Duration::from_millis(500 + 1000 + 2000 + 4000));
}

#[test]
fn export_workflow_times_out_a_hung_exporter() {
    let (e, fake, clock) = run_export(vec![Reply::Hang]);
    assert!(matches!(&e.status, Status::Failed { error, .. } if error == "ExportFailed"), "{}", e.history_text());
    // The task's TimeoutSeconds (330), States.Timeout is in no retrier: caught at once.
    assert_eq!(clock.slept(), [Duration::from_secs(330)]);
    assert_eq!(fake.events.lock().unwrap()[0].detail["Error"], "States.Timeout");
    let text = e.history_text();
    assert!(text.contains("TaskTimedOut          Export  after 330 s"), "{text}");
    assert!(text.contains("ErrorCaught           Export  States.Timeout by catcher 0, next NotifyFailure"), "{text}");
}

#[test]
fn export_workflow_without_a_url_notifies_nobody() {
    let (e, fake, _) = run_export(vec![Reply::Ok(serde_json::json!({"items": 0}))]);
    assert!(matches!(e.status, Status::Succeeded { .. }));
    assert_eq!(states_entered(&e), ["Export", "Exported", "NothingToNotify"]);
    assert!(fake.events.lock().unwrap().is_empty());
}

// ---- Every state and field constructs::stepfunctions emits ----

mod every_construct_state {
    use super::*;
    use constructs::events::{EventBus, EventBusProps};
    use constructs::lambda::{Function, FunctionProps};
    use constructs::stepfunctions::{
        Catch, Choice, Condition, Fail, Graph, Map, Next, Retry, State, StateMachine, StateMachineProps, Task,
        TaskResource, Wait,
    };
    use serde_json::json;
    use synth::{App, Asset, AssetKind, Stack, StackProps};

    fn invoke(f: &Function, next: Next) -> State {
        State::Task(Task {
            resource: TaskResource::InvokeFunction(f.clone()),
            next,
            retry: vec![Retry::backoff(&["Retryable"], 2)],
            catch: vec![],
            timeout_seconds: 60,
            result_path: Some("$.result".into()),
        })
    }

    /// One state machine with a Map (Task inside, catcher), a Choice with every condition, a Wait, a PutEvents
    /// task with a retrier and a catcher, Succeed and Fail.
    fn template() -> Value {
        let mut app = App::new("test");
        app.add_asset(app_asset());
        let stack = app.add_stack(Stack::new(StackProps::new("Main", "test-main", "eu-west-1", "dev")));
        let mut root = stack.root();
        let s = &mut root;
        let f = Function::new(s, "Worker", &app_asset(), FunctionProps::default()).unwrap();
        let bus = EventBus::new(s, "Bus", EventBusProps::default()).unwrap();
        let all = |c: Vec<Condition>| Condition::And(c);
        let g = Graph::new("Each")
            .state(
                "Each",
                State::Map(Map {
                    items_path: "$.tenants".into(),
                    processor: Graph::new("Work").state("Work", invoke(&f, Next::End)),
                    max_concurrency: 2,
                    next: Next::to("Route"),
                    retry: vec![Retry::backoff(&["States.TaskFailed"], 1)],
                    catch: vec![Catch { errors: vec!["States.ALL".into()], next: "Failed".into(), result_path: None }],
                    result_path: Some("$.done".into()),
                }),
            )
            .state(
                "Route",
                State::Choice(Choice {
                    rules: vec![
                        (
                            all(vec![
                                Condition::StringEquals("$.plan".into(), "pro".into()),
                                Condition::NumericGreaterThan("$.seats".into(), 10.0),
                                Condition::Not(Box::new(Condition::BooleanEquals("$.trial".into(), true))),
                            ]),
                            "Pause".into(),
                        ),
                        (
                            Condition::Or(vec![
                                Condition::IsPresent("$.done[1].result.Payload.skip".into(), true),
                                Condition::StringEquals("$.plan".into(), "free".into()),
                            ]),
                            "Done".into(),
                        ),
                    ],
                    default: "Failed".into(),
                }),
            )
            .state("Pause", State::Wait(Wait { seconds: 30, next: "Notify".into() }))
            .state(
                "Notify",
                State::Task(Task {
                    resource: TaskResource::PutEvents {
                        bus,
                        source: "test.source".into(),
                        detail_type: "Done".into(),
                        detail_path: "$.done".into(),
                    },
                    next: Next::End,
                    retry: vec![Retry::backoff(&["States.ALL"], 3)],
                    catch: vec![Catch {
                        errors: vec!["States.ALL".into()],
                        next: "Failed".into(),
                        result_path: Some("$.err".into()),
                    }],
                    timeout_seconds: 30,
                    result_path: None,
                }),
            )
            .state("Done", State::Succeed)
            .state("Failed", State::Fail(Fail { error: "Broken".into(), cause: "a test path failed".into() }));
        StateMachine::new(s, "Flow", g, StateMachineProps { timeout_seconds: Some(3600), ..Default::default() })
            .unwrap();
        let a = app.synth_with(&[]).unwrap();
        serde_json::from_str(&a.stacks[0].template).unwrap()
    }

    fn app_asset() -> Asset {
        Asset {
            id: "worker".into(),
            kind: AssetKind::RustLambda { package: "worker".into(), path: "handlers/worker".into() },
            hash: "0123abcd".into(),
        }
    }

    fn run(input: Value, replies: Vec<Reply>) -> (Execution, Fake, FakeClock) {
        let t = template();
        let mut resolver = Table::default();
        resolver.attrs.insert("Worker.Arn".into(), "arn:worker".into());
        let machines = state_machines(&t, &resolver).unwrap();
        let def = &machines["Flow"];
        assert_eq!(def.timeout_seconds, Some(3600));
        let fake = Fake { replies: Mutex::new(replies.into()), ..Fake::default() };
        let clock = FakeClock::new(UNIX_EPOCH, 0.5);
        let options = ExecutionOptions {
            state_machine_arn: "arn:aws:states:eu-west-1:0:stateMachine:Flow".into(),
            name: "x".into(),
        };
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let e = rt.block_on(execute(def, input, &fake, &clock, &options));
        (e, fake, clock)
    }

    fn tenants() -> Value {
        json!([{"id": "t1"}, {"id": "t2"}])
    }

    #[test]
    fn pro_plans_wait_then_notify() {
        let input = json!({"tenants": tenants(), "plan": "pro", "seats": 11, "trial": false});
        let (e, fake, clock) = run(input, vec![Reply::Ok(json!("a")), Reply::Ok(json!("b"))]);
        let Status::Succeeded { output } = &e.status else { panic!("{}", e.history_text()) };
        assert_eq!(states_entered(&e), ["Each", "Work", "Work", "Route", "Pause", "Notify"]);
        // Each Map item is the input of its iteration; the invoked function is the substituted ARN.
        let calls = fake.calls.lock().unwrap();
        assert!(calls.iter().all(|(f, _)| f == "arn:worker"));
        assert_eq!(
            calls.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(),
            [json!({"id": "t1"}), json!({"id": "t2"})]
        );
        assert_eq!(clock.slept(), [Duration::from_secs(30)]);
        let events = fake.events.lock().unwrap();
        assert_eq!((events[0].source.as_str(), events[0].detail_type.as_str()), ("test.source", "Done"));
        assert_eq!(events[0].detail[1]["result"]["Payload"], "b");
        assert_eq!(events[0].bus_name(), "test-main-Bus");
        assert_eq!(output["FailedEntryCount"], 0, "no ResultPath: the PutEvents result replaces the input");
    }

    #[test]
    fn or_and_default_branches() {
        let go = |input: Value, replies| {
            let (e, _, _) = run(input, replies);
            (states_entered(&e).last().cloned().unwrap(), e.status)
        };
        let free = json!({"tenants": tenants(), "plan": "free", "seats": 1, "trial": false});
        assert_eq!(go(free, vec![]).0, "Done");
        let skip = json!({"tenants": tenants(), "plan": "pro", "seats": 1, "trial": true});
        assert_eq!(go(skip.clone(), vec![Reply::Ok(json!({})), Reply::Ok(json!({"skip": 1}))]).0, "Done");
        let (last, status) = go(skip, vec![]);
        assert_eq!(last, "Failed");
        assert_eq!(status, Status::Failed { error: "Broken".into(), cause: "a test path failed".into() });
    }

    #[test]
    fn a_failing_item_is_retried_by_the_map_then_caught() {
        // The task retries Retryable twice; the Map retries States.TaskFailed once: 2 × 3 calls, then the catcher.
        let retryable = || Reply::Err(TaskFailure::function_error("Retryable", "x"));
        let input = json!({"tenants": [{"id": "t1"}], "plan": "pro", "seats": 11, "trial": false});
        let (e, fake, clock) = run(input, (0..6).map(|_| retryable()).collect());
        assert_eq!(e.status, Status::Failed { error: "Broken".into(), cause: "a test path failed".into() });
        assert_eq!(fake.calls.lock().unwrap().len(), 6);
        // Task backoff 1 s then 2 s (halved by the 0.5 jitter), the Map's 1 s (halved), the task's again.
        let ms: Vec<u128> = clock.slept().iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [500, 1000, 500, 500, 1000]);
    }
}
