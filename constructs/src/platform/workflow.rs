//! The export workflow (billing: an invoice triggers an export of the tenant's data): export, retried and timed
//! out, then notify the result or the failure on the bus.

use platform_types::routes::{Handler, timeout_seconds};
use synth::Scope;

use super::data::Data;
use super::error::PlatformError;
use crate::events::EventBus;
use crate::lambda::Function;
use crate::stepfunctions::{
    Catch, Choice, Condition, Fail, Graph, Next, Retry, State, StateMachine, StateMachineProps, Task, TaskResource,
};

/// The workflow around `exporter`, into `scope`; it notifies on the bus of `data`.
pub(super) fn export(scope: &mut Scope, exporter: &Function, data: &Data) -> Result<StateMachine, PlatformError> {
    Ok(StateMachine::new(
        scope,
        "ExportWorkflow",
        graph(exporter, &data.bus),
        StateMachineProps {
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
