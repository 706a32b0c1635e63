//! How the gateway (and anything else local) invokes a function: a trait, so tests drive the gateway with
//! in-process fakes and the local Lambda runtime runs the real binaries.

use std::future::Future;

use serde_json::Value;

/// Why an invocation produced no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The function ran and reported an error (`/invocation/<id>/error`).
    #[error("function {function} failed: {error_type}: {message}")]
    Function { function: String, error_type: String, message: String },
    /// The function ran past its timeout; its sandbox was replaced.
    #[error("function {function} timed out after {seconds} s")]
    Timeout { function: String, seconds: u64 },
    /// The function's process exited or crashed during the invocation.
    #[error("function {function} crashed: {detail}")]
    Crashed { function: String, detail: String },
    /// No function by that logical id.
    #[error("no function {0}")]
    UnknownFunction(String),
    /// The function could not be started (spawn failure, init error).
    #[error("function {function} cannot start: {problem}")]
    Unavailable { function: String, problem: String },
}

/// Invokes a function (by logical id) synchronously with `payload`, returning its JSON result.
pub trait Invoke: Send + Sync + 'static {
    fn invoke(&self, function: &str, payload: Value) -> impl Future<Output = Result<Value, InvokeError>> + Send;
}
