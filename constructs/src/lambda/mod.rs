//! AWS Lambda: the generated CloudFormation types and [`Function`], a Rust handler crate deployed as an arm64
//! `provided.al2023` function with its own role, log group and X-Ray tracing, plus its event sources
//! ([`Function::add_sqs_source`], [`Function::add_dynamodb_stream_source`]).

mod event_sources;
mod function;
mod generated;
mod grants;
pub(crate) mod rules;

pub use event_sources::{ON_FAILURE_ACTIONS, SQS_POLL_ACTIONS, SqsSourceProps, StartingPosition, StreamSourceProps};
pub use function::{
    ASSET_BUCKET, CANARY_ALIAS, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_SECONDS, ENI_ACTIONS, Function, FunctionProps,
    INVOCATION_METADATA_KEY, Invocation, LIVE_ALIAS, VpcPlacement, XRAY_ACTIONS, XRAY_REASON,
};
pub use generated::*;
pub use grants::INVOKE_ACTION;
