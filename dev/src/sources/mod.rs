//! Event source mappings on localhost: the templates' `AWS::Lambda::EventSourceMapping`s ([`model`]) polled
//! against the local cloud, SQS queues ([`sqs`]) and DynamoDB streams ([`stream`]), each batch delivered through
//! [`crate::invoke::Invoke`] as Lambda's pollers deliver it.
//!
//! **Invariant:** a poller never panics on what it reads or on what the function answers: a bad message, an SDK
//! error or a malformed response is logged and polling goes on.

pub mod event;
pub mod model;
pub mod sqs;
pub mod stream;

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use model::{Mapping, MappingError, Mappings, SourceKind, StartingPosition, Target};

/// A call to the local cloud that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// An SQS or DynamoDB Streams request failed.
    #[error("{operation} on {resource} failed: {problem}")]
    Request { operation: &'static str, resource: String, problem: String },
}

impl SourceError {
    fn request(operation: &'static str, resource: &str, e: impl std::error::Error) -> SourceError {
        SourceError::Request {
            operation,
            resource: resource.to_owned(),
            // The whole source chain: the SDK's top-level message alone is "service error".
            problem: aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
        }
    }
}

/// A running poller: a tokio task that stops when asked, between two polls or in the middle of one (a batch
/// cut short is received again, as after a crash of Lambda's poller).
pub struct Poller {
    pub logical_id: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Poller {
    /// Runs `poll` until stopped, sleeping `idle` after a poll that found nothing or failed.
    fn spawn<F, Fut>(logical_id: &str, idle: Duration, mut poll: F) -> Poller
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<usize, SourceError>> + Send,
    {
        let (stop, mut stopped) = watch::channel(false);
        let id = logical_id.to_owned();
        let task = tokio::spawn(async move {
            loop {
                let outcome = tokio::select! {
                    _ = stopped.changed() => return,
                    outcome = poll() => outcome,
                };
                let rest = match outcome {
                    Ok(0) => idle,
                    Ok(_) => continue,
                    Err(e) => {
                        eprintln!("[{id}] {e}");
                        idle
                    }
                };
                tokio::select! {
                    _ = stopped.changed() => return,
                    () = tokio::time::sleep(rest) => {}
                }
            }
        });
        Poller { logical_id: logical_id.to_owned(), stop, task }
    }

    /// Stops the poller and waits for its task to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
