//! The export workflow (`POST /tenants/{tenant_id}/exports` starts it, `GET .../exports/{export_id}` describes
//! it): export, retried and timed out, then notify the result or the failure on the bus.
//!
//! No step waits for an external event (no `.waitForTaskToken`): the export reads what is in DynamoDB when it
//! starts and needs nothing else; the invoice PDFs have their own asynchronous path (a queue with retries and a
//! dead-letter queue, `InvoiceReady` when done), and an export does not bundle them.

use platform_types::routes::{Handler, timeout_seconds};
use synth::{Scope, Val};

use super::context::Context;
use super::data::Data;
use super::error::PlatformError;
use crate::events::EventBus;
use crate::lambda::Function;
use crate::stepfunctions::{
    Catch, Choice, Condition, Fail, Graph, Next, Retry, State, StateMachine, StateMachineProps, Task, TaskResource,
};

/// The export workflow's name: named, so the API functions (built before it) know its ARN
/// ([`export_workflow_arn`]).
pub(super) fn export_workflow_name(ctx: &Context) -> String {
    format!("{}-export", ctx.prefix)
}

/// The export workflow's ARN, from its name.
pub(super) fn export_workflow_arn(ctx: &Context) -> Val<String> {
    Val::sub(format!(
        "arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{}",
        export_workflow_name(ctx)
    ))
}

/// The ARNs of the export workflow's executions.
pub(super) fn export_executions_arn(ctx: &Context) -> Val<String> {
    Val::sub(format!(
        "arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:{}:*",
        export_workflow_name(ctx)
    ))
}

/// The workflow around `exporter`, into `scope`; it notifies on the bus of `data`.
pub(super) fn export(
    scope: &mut Scope,
    ctx: &Context,
    exporter: &Function,
    data: &Data,
) -> Result<StateMachine, PlatformError> {
    Ok(StateMachine::new(
        scope,
        "ExportWorkflow",
        graph(exporter, &data.bus),
        StateMachineProps {
            name: Some(export_workflow_name(ctx)),
            // A day: an export that runs longer is stuck.
            timeout_seconds: Some(86_400),
            encryption_key: Some(data.key.clone()),
            ..StateMachineProps::default()
        },
    )?)
}

/// Export → notify the download, or nothing to notify; a failed export → notify the failure, then fail.
fn graph(exporter: &Function, bus: &EventBus) -> Graph {
    Graph::new("Export")
        .state(
            "Export",
            State::Task(Task {
                resource: TaskResource::InvokeFunction(exporter.clone()),
                next: Next::to("Exported"),
                // Lambda's own transient errors and the handler's retryable ones; InvalidInput is not retried.
                retry: vec![Retry::backoff(
                    &[
                        "Lambda.ServiceException",
                        "Lambda.TooManyRequestsException",
                        "Lambda.SdkClientException",
                        "Retryable",
                    ],
                    4,
                )],
                catch: vec![Catch {
                    errors: vec!["States.ALL".into()],
                    next: "NotifyFailure".into(),
                    result_path: Some("$.error".into()),
                }],
                // The exporter's own timeout plus the cold start.
                timeout_seconds: timeout_seconds(Handler::Exporter) + 30,
                result_path: Some("$.export".into()),
            }),
        )
        .state(
            "Exported",
            State::Choice(Choice {
                rules: vec![(Condition::IsPresent("$.export.Payload.url".into(), true), "NotifyExport".into())],
                default: "NothingToNotify".into(),
            }),
        )
        .state("NotifyExport", notify(bus, "ExportCompleted", "$.export.Payload", Next::End))
        .state("NothingToNotify", State::Succeed)
        .state("NotifyFailure", notify(bus, "ExportFailed", "$.error", Next::to("Failed")))
        .state(
            "Failed",
            State::Fail(Fail {
                error: "ExportFailed".into(),
                cause: "the export task failed after its retries".into(),
            }),
        )
}

/// A task putting the state at `detail_path` on `bus` as a `platform.exports` event of `detail_type`.
fn notify(bus: &EventBus, detail_type: &str, detail_path: &str, next: Next) -> State {
    State::Task(Task {
        resource: TaskResource::PutEvents {
            bus: bus.clone(),
            source: "platform.exports".into(),
            detail_type: detail_type.into(),
            detail_path: detail_path.into(),
        },
        next,
        retry: vec![Retry::backoff(&["States.ALL"], 3)],
        catch: vec![],
        timeout_seconds: 30,
        result_path: Some("$.notified".into()),
    })
}
