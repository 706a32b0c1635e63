//! What moto cannot do, against canned CloudFormation responses (aws-smithy-mocks): a failed update that rolls
//! back (each failed resource's reason printed, DescribeStackEvents throttled on the way), a change set whose
//! `Replacement` answer adds a replacement the tables do not know, and a stack stuck in UPDATE_ROLLBACK_FAILED.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_cloudformation::Client;
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
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, mock};
use aws_smithy_types::error::ErrorMetadata;
use deploy::aws::Clients;
use deploy::engine::{Capabilities, DeployError, DeployOptions, Engine};
use deploy::plan::RequireApproval;
use deploy::progress::Progress;
use serde_json::json;
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

/// An engine whose CloudFormation answers from `rules`; the other clients are never called.
fn engine(rules: &[&Rule]) -> Arc<Engine> {
    let mut mock = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
        mock = mock.with_rule(r);
    }
    let base = conf();
    let cfn = aws_sdk_cloudformation::config::Builder::from(&base)
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .interceptor(mock)
        .build();
    let mut clients = Clients::from_config(&base, REGION, "123456789012");
    clients.cfn = Client::from_conf(cfn);
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

#[tokio::test]
async fn a_failed_update_prints_each_reason_and_the_rollback_outcome() {
    let describe = mock!(Client::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::UpdateComplete))
        .output(|| stack(StackStatus::UpdateRollbackComplete))
        .repeatedly()
        .build();
    let old = fun(128).to_string();
    let template =
        mock!(Client::get_template).then_output(move || GetTemplateOutput::builder().template_body(&old).build());
    let create = mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let change_set = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .changes(
                Change::builder()
                    .resource_change(
                        ResourceChange::builder()
                            .action(ChangeAction::Modify)
                            .logical_resource_id("Fn")
                            .replacement(Replacement::False)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .error(|| {
            DescribeStackEventsError::generic(
                ErrorMetadata::builder().code("Throttling").message("Rate exceeded").build(),
            )
        })
        .output(|| {
            DescribeStackEventsOutput::builder()
                // newest first, as CloudFormation lists them
                .stack_events(event("4", "data", ResourceStatus::UpdateRollbackComplete, ""))
                .stack_events(event("3", "Fn", ResourceStatus::UpdateComplete, ""))
                .stack_events(event(
                    "2",
                    "Fn",
                    ResourceStatus::UpdateFailed,
                    "MemorySize 99999 is not within 128..10240",
                ))
                .stack_events(event("1", "data", ResourceStatus::UpdateInProgress, "User Initiated"))
                .build()
        })
        .repeatedly()
        .build();
    let e = engine(&[&describe, &template, &create, &change_set, &execute, &events]);
    let err = e.deploy(&assembly(fun(99_999)), &never()).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, DeployError::Failed { .. }), "{text}");
    assert!(text.starts_with("data: UPDATE_ROLLBACK_COMPLETE (the rollback succeeded)"), "{text}");
    assert!(
        text.contains("Fn AWS::Lambda::Function UPDATE_FAILED: MemorySize 99999 is not within 128..10240"),
        "{text}"
    );
    assert_eq!(execute.num_calls(), 1);
    assert!(events.num_calls() >= 2, "the throttled call was retried");
}

#[tokio::test]
async fn the_change_set_replacement_answer_is_refused_for_stateful_resources() {
    let bucket = |tags: serde_json::Value| json!({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": tags}}}});
    let describe = mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateComplete));
    let old = bucket(json!([])).to_string();
    let template =
        mock!(Client::get_template).then_output(move || GetTemplateOutput::builder().template_body(&old).build());
    let create = mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let change_set = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::CreateComplete)
            .changes(
                Change::builder()
                    .resource_change(
                        ResourceChange::builder()
                            .action(ChangeAction::Modify)
                            .logical_resource_id("B")
                            .replacement(Replacement::True)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let delete = mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let e = engine(&[&describe, &template, &create, &change_set, &delete, &execute]);
    let new = bucket(json!([{"Key": "k", "Value": "v"}]));
    let err = e.deploy(&assembly(new.clone()), &never()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "refused, nothing executed:\n  data: B (AWS::S3::Bucket) would be replaced (the change set says so); pass --allow-replace B to accept the data loss"
    );
    assert_eq!((execute.num_calls(), delete.num_calls()), (0, 1));
}

#[tokio::test]
async fn a_stack_in_update_rollback_failed_says_how_to_get_out() {
    let describe = mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateRollbackFailed));
    let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let e = engine(&[&describe, &delete]);
    let err = e.deploy(&assembly(fun(128)), &never()).await.unwrap_err();
    assert!(err.to_string().starts_with("data is UPDATE_ROLLBACK_FAILED: continue the rollback"), "{err}");
    assert_eq!(delete.num_calls(), 0, "nothing is deleted on the user's behalf");
}
