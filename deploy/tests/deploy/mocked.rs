//! What moto cannot do, against canned CloudFormation responses (`canned`): a failed update that rolls
//! back (each failed resource's reason printed, DescribeStackEvents throttled on the way), a change set whose
//! `Replacement` answer adds a replacement the tables do not know, and a stack stuck in UPDATE_ROLLBACK_FAILED.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::{DescribeStackEventsError, DescribeStackEventsOutput};
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, Replacement, ResourceChange, ResourceStatus, Stack, StackEvent, StackStatus,
};
use aws_smithy_types::error::ErrorMetadata;
use deploy::aws::Clients;
use deploy::engine::{Capabilities, DeployError, DeployOptions, Engine};
use deploy::plan::RequireApproval;
use deploy::progress::Progress;
use serde_json::json;

use crate::canned::{Canned, err, ok};
use synth::{Assembly, Manifest, StackArtifact};

const REGION: &str = "eu-west-1";

fn conf() -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(REGION))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("a", "b", None, None, "test"),
        ))
        .build()
}

/// An engine whose CloudFormation answers from `canned`; the other clients are never called.
fn engine(canned: &Canned) -> Arc<Engine> {
    let base = conf();
    let cfn = aws_sdk_cloudformation::config::Builder::from(&base)
        .http_client(crate::canned::Offline)
        .interceptor(canned.clone())
        .build();
    let mut clients = Clients::from_config(&base, REGION, "123456789012");
    clients.cfn = aws_sdk_cloudformation::Client::from_conf(cfn);
    Arc::new(Engine::new(BTreeMap::from([(REGION.to_owned(), clients)]), Capabilities::AWS, Progress::hidden()))
}

fn assembly(template: serde_json::Value) -> Assembly {
    let template = template.to_string();
    Assembly {
        stacks: vec![StackArtifact {
            id: "Data".into(),
            name: "data".into(),
            region: REGION.into(),
            account: None,
            stage: "t".into(),
            template_file: "Data.template.json".into(),
            bytes: template.len(),
            template,
            resources: 1,
            resources_by_type: Default::default(),
            dependencies: vec![],
            assets: vec![],
            tags: Default::default(),
            termination_protection: false,
        }],
        manifest: Manifest { version: synth::MANIFEST_VERSION, app: "t".into(), stacks: vec![], assets: vec![] },
        notes: vec![],
    }
}

fn stack(status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name("data")
                .stack_status(status)
                .creation_time(aws_smithy_types::DateTime::from_secs(0))
                .build(),
        )
        .build()
}

fn event(id: &str, logical: &str, status: ResourceStatus, reason: &str) -> StackEvent {
    StackEvent::builder()
        .stack_id("arn:stack/data")
        .stack_name("data")
        .event_id(id)
        .logical_resource_id(logical)
        .resource_type(if logical == "data" { "AWS::CloudFormation::Stack" } else { "AWS::Lambda::Function" })
        .resource_status(status)
        .resource_status_reason(reason)
        .timestamp(aws_smithy_types::DateTime::from(std::time::SystemTime::now() + std::time::Duration::from_secs(5)))
        .build()
}

fn fun(memory: i64) -> serde_json::Value {
    json!({"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {"MemorySize": memory}}}})
}

fn never() -> DeployOptions {
    DeployOptions { require_approval: RequireApproval::Never, concurrency: 1, ..DeployOptions::default() }
}

fn one_change(logical_id: &str, replacement: Replacement) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .status(ChangeSetStatus::CreateComplete)
        .changes(
            Change::builder()
                .resource_change(
                    ResourceChange::builder()
                        .action(ChangeAction::Modify)
                        .logical_resource_id(logical_id)
                        .replacement(replacement)
                        .build(),
                )
                .build(),
        )
        .build()
}

#[tokio::test]
async fn a_failed_update_prints_each_reason_and_the_rollback_outcome() {
    let events = DescribeStackEventsOutput::builder()
        // newest first, as CloudFormation lists them
        .stack_events(event("4", "data", ResourceStatus::UpdateRollbackComplete, ""))
        .stack_events(event("3", "Fn", ResourceStatus::UpdateComplete, ""))
        .stack_events(event("2", "Fn", ResourceStatus::UpdateFailed, "MemorySize 99999 is not within 128..10240"))
        .stack_events(event("1", "data", ResourceStatus::UpdateInProgress, "User Initiated"))
        .build();
    let canned = Canned::default()
        .on(
            "DescribeStacks",
            vec![ok(stack(StackStatus::UpdateComplete)), ok(stack(StackStatus::UpdateRollbackComplete))],
        )
        .on("GetTemplate", vec![ok(GetTemplateOutput::builder().template_body(fun(128).to_string()).build())])
        .on("CreateChangeSet", vec![ok(CreateChangeSetOutput::builder().id("cs").build())])
        .on("DescribeChangeSet", vec![ok(one_change("Fn", Replacement::False))])
        .on("ExecuteChangeSet", vec![ok(ExecuteChangeSetOutput::builder().build())])
        .on(
            "DescribeStackEvents",
            vec![
                err(|| {
                    DescribeStackEventsError::generic(
                        ErrorMetadata::builder().code("Throttling").message("Rate exceeded").build(),
                    )
                }),
                ok(events),
            ],
        );
    let e = engine(&canned);
    let err = e.deploy(&assembly(fun(99_999)), &never()).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, DeployError::Failed { .. }), "{text}");
    assert!(text.starts_with("data: UPDATE_ROLLBACK_COMPLETE (the rollback succeeded)"), "{text}");
    assert!(
        text.contains("Fn AWS::Lambda::Function UPDATE_FAILED: MemorySize 99999 is not within 128..10240"),
        "{text}"
    );
    assert_eq!(canned.count("ExecuteChangeSet"), 1);
    assert!(canned.count("DescribeStackEvents") >= 2, "the throttled call was retried");
}

#[tokio::test]
async fn the_change_set_replacement_answer_is_refused_for_stateful_resources() {
    let bucket = |tags: serde_json::Value| json!({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": tags}}}});
    let canned = Canned::default()
        .on("DescribeStacks", vec![ok(stack(StackStatus::UpdateComplete))])
        .on("GetTemplate", vec![ok(GetTemplateOutput::builder().template_body(bucket(json!([])).to_string()).build())])
        .on("CreateChangeSet", vec![ok(CreateChangeSetOutput::builder().id("cs").build())])
        .on("DescribeChangeSet", vec![ok(one_change("B", Replacement::True))])
        .on("DeleteChangeSet", vec![ok(DeleteChangeSetOutput::builder().build())])
        .on("ExecuteChangeSet", vec![ok(ExecuteChangeSetOutput::builder().build())]);
    let e = engine(&canned);
    let new = bucket(json!([{"Key": "k", "Value": "v"}]));
    let err = e.deploy(&assembly(new), &never()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "refused, nothing executed:\n  data: B (AWS::S3::Bucket) would be replaced (the change set says so); pass --allow-replace B to accept the data loss"
    );
    assert_eq!((canned.count("ExecuteChangeSet"), canned.count("DeleteChangeSet")), (0, 1));
}

#[tokio::test]
async fn a_stack_in_update_rollback_failed_says_how_to_get_out() {
    let canned = Canned::default()
        .on("DescribeStacks", vec![ok(stack(StackStatus::UpdateRollbackFailed))])
        .on("DeleteStack", vec![ok(DeleteStackOutput::builder().build())]);
    let e = engine(&canned);
    let err = e.deploy(&assembly(fun(128)), &never()).await.unwrap_err();
    assert!(err.to_string().starts_with("data is UPDATE_ROLLBACK_FAILED: continue the rollback"), "{err}");
    assert_eq!(canned.count("DeleteStack"), 0, "nothing is deleted on the user's behalf");
}
