//! `stepfunctions::StateMachine` from typed states.

use constructs::events::{EventBus, EventBusProps};
use constructs::kms::{Key, KeyProps};
use constructs::lambda::{Function, FunctionProps};
use constructs::stepfunctions::{
    Catch, Choice, Condition, Fail, Graph, Map, Next, Retry, State, StateMachine, StateMachineProps, Task, TaskResource,
};
use serde_json::json;
use synth::{Scope, Stack, StackProps};

use super::support::*;

fn invoke(f: &Function, next: Next, catch_to: Option<&str>) -> State {
    State::Task(Task {
        resource: TaskResource::InvokeFunction(f.clone()),
        next,
        retry: vec![Retry::backoff(&["Lambda.TooManyRequestsException"], 3)],
        catch: catch_to
            .map(|n| vec![Catch { errors: vec!["States.ALL".into()], next: n.into(), result_path: None }])
            .unwrap_or_default(),
        timeout_seconds: 60,
        result_path: Some("$.result".into()),
    })
}

fn export_graph(s: &mut Scope) -> Graph {
    let f = Function::new(s, "Exporter", &asset(), FunctionProps::default()).unwrap();
    let bus = EventBus::new(s, "Bus", EventBusProps::default()).unwrap();
    let item = Graph::new("Export").state("Export", invoke(&f, Next::End, None));
    Graph::new("ForEachTenant")
        .state(
            "ForEachTenant",
            State::Map(Map {
                items_path: "$.tenants".into(),
                processor: item,
                max_concurrency: 5,
                next: Next::to("AnyRows"),
                retry: vec![],
                catch: vec![Catch { errors: vec!["States.ALL".into()], next: "Failed".into(), result_path: None }],
                result_path: Some("$.exports".into()),
            }),
        )
        .state(
            "AnyRows",
            State::Choice(Choice {
                rules: vec![(Condition::IsPresent("$.exports[0]".into(), true), "Notify".into())],
                default: "Done".into(),
            }),
        )
        .state(
            "Notify",
            State::Task(Task {
                resource: TaskResource::PutEvents {
                    bus,
                    source: "platform.exports".into(),
                    detail_type: "ExportCompleted".into(),
                    detail_path: "$.exports".into(),
                },
                next: Next::End,
                retry: vec![],
                catch: vec![],
                timeout_seconds: 30,
                result_path: None,
            }),
        )
        .state("Done", State::Succeed)
        .state("Failed", State::Fail(Fail { error: "ExportFailed".into(), cause: "an export failed".into() }))
}

#[test]
fn logs_everything_traces_and_grants_its_tasks() {
    let t = template(|s| {
        let g = export_graph(s);
        StateMachine::new(s, "Workflow", g, StateMachineProps::default()).unwrap();
    });
    let p = props(&t, "Workflow");
    assert_eq!(p["StateMachineType"], "STANDARD");
    assert_eq!(p["LoggingConfiguration"]["Level"], "ALL", "logs every event");
    assert_eq!(p["LoggingConfiguration"]["IncludeExecutionData"], false);
    assert_eq!(p["TracingConfiguration"], json!({"Enabled": true}), "X-Ray");
    let d = &p["Definition"];
    assert_eq!(d["StartAt"], "ForEachTenant");
    let map = &d["States"]["ForEachTenant"];
    assert_eq!(map["ItemProcessor"]["ProcessorConfig"], json!({"Mode": "INLINE"}));
    let task = &map["ItemProcessor"]["States"]["Export"];
    assert_eq!(task["Resource"], "arn:aws:states:::lambda:invoke");
    assert_eq!(task["Parameters"]["FunctionName"], "${Function0}");
    assert_eq!(task["TimeoutSeconds"], 60);
    assert_eq!(task["Retry"][0]["JitterStrategy"], "FULL");
    assert_eq!(p["DefinitionSubstitutions"], json!({"Function0": get_att("Exporter", "Arn")}));
    assert_eq!(d["States"]["Notify"]["Parameters"]["Entries"][0]["EventBusName"], "test-main-Bus");
    assert_eq!(
        role_statements(&t, "WorkflowRole"),
        [
            json!({
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:DescribeLogGroups",
                    "logs:DescribeResourcePolicies",
                    "logs:GetLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:UpdateLogDelivery"
                ],
                "Resource": "*"
            }),
            json!({
                "Effect": "Allow",
                "Action": ["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                "Resource": "*"
            }),
            json!({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": get_att("Exporter", "Arn")}),
            json!({"Effect": "Allow", "Action": "events:PutEvents", "Resource": get_att("Bus", "Arn")}),
        ]
    );
    assert_eq!(resource(&t, "WorkflowRole")["Metadata"]["rcdk:iam-wildcards"].as_array().unwrap().len(), 2);
}

#[test]
fn an_encrypted_state_machine_s_role_generates_data_keys_and_decrypts_through_step_functions() {
    let t = template(|s| {
        let key = Key::new(s, "Key", KeyProps::default()).unwrap();
        let g = Graph::new("Done").state("Done", State::Succeed);
        StateMachine::new(
            s,
            "Workflow",
            g,
            StateMachineProps { encryption_key: Some(key), ..StateMachineProps::default() },
        )
        .unwrap();
    });
    assert_eq!(
        props(&t, "Workflow")["EncryptionConfiguration"],
        json!({"KmsDataKeyReusePeriodSeconds": 300, "KmsKeyId": get_att("Key", "Arn"), "Type": "CUSTOMER_MANAGED_KMS_KEY"})
    );
    let statements = role_statements(&t, "WorkflowRole");
    assert_eq!(
        statements.last().unwrap(),
        &json!({
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": get_att("Key", "Arn"),
            "Condition": via("states")
        }),
        "no kms:Encrypt, no kms:DescribeKey"
    );
    assert_eq!(statements.len(), 3, "log delivery, X-Ray, the key: {statements:#?}");
}

fn error(g: impl FnOnce(&mut Scope) -> Graph) -> String {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let mut s = stack.root();
    let g = g(&mut s);
    StateMachine::new(&mut s, "Workflow", g, StateMachineProps::default()).unwrap_err().to_string()
}

#[test]
fn graph_errors() {
    assert_eq!(
        error(|s| {
            let f = Function::new(s, "F", &asset(), FunctionProps::default()).unwrap();
            Graph::new("A").state("A", invoke(&f, Next::to("Nowhere"), None))
        }),
        "Workflow: state \"A\" goes to \"Nowhere\", which is not a state of this graph"
    );
    assert_eq!(
        error(|_| Graph::new("Start").state("Done", State::Succeed)),
        "Workflow: the graph starts at \"Start\", which is not one of its states"
    );
    assert_eq!(
        error(|_| Graph::new("Done").state("Done", State::Succeed).state("Orphan", State::Succeed)),
        "Workflow: state \"Orphan\" cannot be reached from \"Done\""
    );
    assert_eq!(
        error(|_| Graph::new("Done").state("Done", State::Succeed).state("Done", State::Succeed)),
        "Workflow: duplicate state name \"Done\""
    );
    assert_eq!(
        error(|s| {
            let f = Function::new(s, "F", &asset(), FunctionProps::default()).unwrap();
            let mut t = match invoke(&f, Next::End, Some("Failed")) {
                State::Task(t) => t,
                _ => unreachable!(),
            };
            t.catch.push(Catch { errors: vec!["Other".into()], next: "Failed".into(), result_path: None });
            Graph::new("A")
                .state("A", State::Task(t))
                .state("Failed", State::Fail(Fail { error: "E".into(), cause: "c".into() }))
        }),
        "Workflow: States.ALL must be alone in the last catcher of state \"A\""
    );
    assert_eq!(
        error(|s| {
            let f = Function::new(s, "F", &asset(), FunctionProps::default()).unwrap();
            let mut t = match invoke(&f, Next::End, None) {
                State::Task(t) => t,
                _ => unreachable!(),
            };
            t.timeout_seconds = 0;
            Graph::new("A").state("A", State::Task(t))
        }),
        "Workflow: task timeout (s) 0 is out of range: allowed 1 to 99999999"
    );
}
