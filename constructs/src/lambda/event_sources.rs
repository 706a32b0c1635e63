//! Event sources of a [`Function`]: an SQS queue (partial batch failures, the visibility timeout check) and a
//! DynamoDB stream (bisect on error, bounded retries and record age, an on-failure destination).
//! <https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html>

use synth::{Handle, Scope, Val};

use super::Function;
use super::generated::{CfnEventSourceMapping, cfn_event_source_mapping as esm};
use crate::dynamodb::Table;
use crate::error::{ConstructError, check_range};
use crate::sqs::Queue;

/// What the event source mapping does with the function's role: poll, delete, read the queue's attributes.
/// Visibility changes are the function's own business (grant them separately).
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-permissions>
pub const SQS_POLL_ACTIONS: &[&str] = &["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"];
/// What Lambda does with the function's role to send a failed batch's description to a stream source's
/// on-failure queue.
/// <https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html>
pub const ON_FAILURE_ACTIONS: &[&str] = &["sqs:SendMessage"];

/// Optional settings of an SQS event source.
#[derive(Clone, Debug, Default)]
pub struct SqsSourceProps {
    /// Messages per invocation, 1 to 10000. Default: 10 (one `ReceiveMessage` call; more needs a batching window).
    pub batch_size: Option<u32>,
    /// Seconds to gather a batch, 0 to 300. Default: none (invoke as soon as messages arrive).
    pub max_batching_window_seconds: Option<u32>,
    /// Most concurrent invocations this source drives, 2 to 1000. Default: none (up to the function's reserved
    /// concurrency, which background workers should set).
    pub max_concurrency: Option<u32>,
    /// `ReportBatchItemFailures`: the function returns the ids of failed messages and only those are retried.
    /// Default (`None`): on, so one bad message never fails, and re-delivers, the whole batch.
    pub report_batch_item_failures: Option<bool>,
}

/// Where a stream source starts reading when it is created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StartingPosition {
    /// The oldest record still in the stream (24 hours). The default: records written between the table's and the
    /// mapping's creation are processed too.
    #[default]
    TrimHorizon,
    Latest,
}

/// Optional settings of a DynamoDB stream source.
#[derive(Clone, Debug, Default)]
pub struct StreamSourceProps {
    /// Records per invocation, 1 to 10000. Default: 100.
    pub batch_size: Option<u32>,
    /// Default: [`StartingPosition::TrimHorizon`].
    pub starting_position: StartingPosition,
    /// Split a failing batch in two and retry the halves, isolating a poison record. Default (`None`): on.
    pub bisect_batch_on_function_error: Option<bool>,
    /// Retries of a failing batch, 0 to 10000. Default: 5. (Lambda's own default is to retry until the record
    /// expires, blocking the shard for up to a day.)
    pub retry_attempts: Option<u32>,
    /// Oldest record age in seconds before it goes to the on-failure destination, 60 to 604800. Default: 3600.
    pub max_record_age_seconds: Option<u32>,
    /// Concurrent batches per shard, 1 to 10. Default: 1 (records of one item stay in order).
    pub parallelization_factor: Option<u32>,
    /// Default (`None`): on: the function reports the first failed record and the batch resumes from it.
    pub report_batch_item_failures: Option<bool>,
    /// Seconds to gather a batch, 0 to 300. Default: none.
    pub max_batching_window_seconds: Option<u32>,
}

impl Function {
    /// Invokes the function with messages of `queue`, at `<function>/<id>`. Fails when the queue's visibility
    /// timeout is shorter than 6 × the function timeout: a message would reappear (and be processed twice) while
    /// the first invocation still runs. Grants the function consuming the queue.
    pub fn add_sqs_source(
        &self,
        scope: &mut Scope,
        id: &str,
        queue: &Queue,
        props: SqsSourceProps,
    ) -> Result<Handle<CfnEventSourceMapping>, ConstructError> {
        let path = format!("{}/{id}", self.path());
        let batch = props.batch_size.unwrap_or(10);
        check_range(&path, "batch size", batch.into(), 1, 10_000)?;
        if let Some(w) = props.max_batching_window_seconds {
            check_range(&path, "batching window (s)", w.into(), 0, 300)?;
        }
        if batch > 10 && props.max_batching_window_seconds.unwrap_or(0) == 0 {
            return Err(ConstructError::Conflict {
                path,
                problem: format!("batch size {batch} needs a batching window of at least 1 s (more than 10 messages)"),
            });
        }
        if let Some(c) = props.max_concurrency {
            check_range(&path, "maximum concurrency", c.into(), 2, 1000)?;
        }
        let required = 6 * self.timeout_seconds();
        if queue.visibility_timeout_seconds() < required {
            return Err(ConstructError::VisibilityTimeout {
                path,
                queue: queue.path().to_owned(),
                visibility: queue.visibility_timeout_seconds(),
                timeout: self.timeout_seconds(),
                required,
            });
        }
        queue.grant(self, scope, SQS_POLL_ACTIONS);
        let report = props.report_batch_item_failures.unwrap_or(true);
        let path = self.path().to_owned();
        Ok(crate::common::at_path(scope, &path, |s| {
            let handle = s.add(
                id,
                CfnEventSourceMapping {
                    event_source_arn: Some(queue.arn()),
                    batch_size: Some(batch.into()),
                    maximum_batching_window_in_seconds: props.max_batching_window_seconds.map(Val::from),
                    scaling_config: props
                        .max_concurrency
                        .map(|c| esm::ScalingConfig { maximum_concurrency: Some(c.into()) }.into()),
                    function_response_types: report
                        .then(|| Val::list([esm::FunctionResponseTypes::ReportBatchItemFailures])),
                    ..CfnEventSourceMapping::new(self.invoke_arn())
                },
            );
            let why = "an SQS event source takes no on-failure destination (DestinationConfig is for stream and Kafka sources): a message that keeps failing goes to the queue's dead-letter queue through its redrive policy";
            crate::common::suppress(
                s.stack_mut().entry_mut(&handle),
                crate::common::Check::EVENT_SOURCE_ON_FAILURE,
                why,
            );
            handle
        }))
    }

    /// Invokes the function with the change records of `table`'s stream, at `<function>/<id>`; batches that keep
    /// failing go to `on_failure` (cdk-nag `Serverless-LambdaEventSourceMappingDestination`). Grants the function
    /// reading the stream and sending to `on_failure`.
    pub fn add_dynamodb_stream_source(
        &self,
        scope: &mut Scope,
        id: &str,
        table: &Table,
        on_failure: &Queue,
        props: StreamSourceProps,
    ) -> Result<Handle<CfnEventSourceMapping>, ConstructError> {
        let path = format!("{}/{id}", self.path());
        if table.stream().is_none() {
            return Err(ConstructError::Conflict {
                path,
                problem: format!("table {} has no stream; set TableProps::stream", table.path()),
            });
        }
        let batch = props.batch_size.unwrap_or(100);
        check_range(&path, "batch size", batch.into(), 1, 10_000)?;
        let retries = props.retry_attempts.unwrap_or(5);
        check_range(&path, "retry attempts", retries.into(), 0, 10_000)?;
        let age = props.max_record_age_seconds.unwrap_or(3600);
        check_range(&path, "maximum record age (s)", age.into(), 60, 604_800)?;
        let parallel = props.parallelization_factor.unwrap_or(1);
        check_range(&path, "parallelization factor", parallel.into(), 1, 10)?;
        if let Some(w) = props.max_batching_window_seconds {
            check_range(&path, "batching window (s)", w.into(), 0, 300)?;
        }
        table.grant_stream_read(self, scope);
        // Lambda sends the failed batch's description to the destination with the function's role.
        on_failure.grant(self, scope, ON_FAILURE_ACTIONS);
        let path = self.path().to_owned();
        Ok(crate::common::at_path(scope, &path, |s| {
            s.add(
                id,
                CfnEventSourceMapping {
                    event_source_arn: Some(table.stream_arn()),
                    batch_size: Some(batch.into()),
                    starting_position: Some(
                        match props.starting_position {
                            StartingPosition::TrimHorizon => "TRIM_HORIZON",
                            StartingPosition::Latest => "LATEST",
                        }
                        .into(),
                    ),
                    bisect_batch_on_function_error: Some(props.bisect_batch_on_function_error.unwrap_or(true).into()),
                    maximum_retry_attempts: Some(retries.into()),
                    maximum_record_age_in_seconds: Some(age.into()),
                    parallelization_factor: Some(parallel.into()),
                    maximum_batching_window_in_seconds: props.max_batching_window_seconds.map(Val::from),
                    destination_config: Some(
                        esm::DestinationConfig {
                            on_failure: Some(esm::OnFailure { destination: Some(on_failure.arn()) }.into()),
                        }
                        .into(),
                    ),
                    function_response_types: props
                        .report_batch_item_failures
                        .unwrap_or(true)
                        .then(|| Val::list([esm::FunctionResponseTypes::ReportBatchItemFailures])),
                    ..CfnEventSourceMapping::new(self.invoke_arn())
                },
            )
        }))
    }
}
