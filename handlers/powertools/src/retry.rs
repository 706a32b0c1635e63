//! Retries with exponential backoff and full jitter, for DynamoDB throttling and transient errors.
//!
//! Full jitter (`sleep = random(0, min(cap, base * 2^attempt))`) spreads retries of many clients throttled at
//! the same moment, which is what throttling needs (AWS Architecture Blog, "Exponential Backoff And Jitter").
//! When attempts are exhausted the caller gets [`RetryError::Exhausted`], which the API maps to 503 with
//! `Retry-After` (throttling is the server's state, not a server bug: 500 would be wrong).
//!
//! The handlers build their DynamoDB clients with the SDK's own retries off ([`crate::aws::dynamodb_client`]), so
//! this is the only retry layer and attempts are countable.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Backoff settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, first included. Default 4.
    pub max_attempts: u32,
    /// Backoff base. Default 25 ms.
    pub base: Duration,
    /// Longest single sleep. Default 1 s: the API answers within API Gateway's 29 s anyway, and a longer wait
    /// is better spent by the client that gets the 503's `Retry-After`.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 4, base: Duration::from_millis(25), cap: Duration::from_secs(1) }
    }
}

impl RetryPolicy {
    /// No retries (one attempt).
    pub fn none() -> RetryPolicy {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// The sleep before retry number `attempt` (0-based): uniform in `[0, min(cap, base * 2^attempt)]`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let p = powertools::retry::RetryPolicy::default();
    /// for attempt in 0..10 {
    ///     let ceiling = p.cap.min(p.base * 2u32.pow(attempt));
    ///     assert!(p.backoff(attempt) <= ceiling);
    /// }
    /// ```
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(2u32.saturating_pow(attempt.min(20)));
        let ceiling = exp.min(self.cap).as_millis() as u64;
        Duration::from_millis(fastrand::u64(0..=ceiling))
    }
}

/// How an error should be treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Throttled: retry with backoff; 503 when exhausted.
    Throttling,
    /// Timeout, connection error, 5xx: retry with backoff; 503 when exhausted.
    Transient,
    /// Anything else (validation, conditional check, access denied): do not retry.
    Permanent,
}

/// DynamoDB error codes that mean "slow down".
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>
pub const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
];

/// Classifies an SDK error.
pub fn classify<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> ErrorClass {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => ErrorClass::Transient,
        SdkError::ServiceError(se) => classify_code(se.err().code()),
        _ => ErrorClass::Permanent,
    }
}

/// Classifies an error code.
pub fn classify_code(code: Option<&str>) -> ErrorClass {
    match code {
        Some(c) if THROTTLING_CODES.contains(&c) => ErrorClass::Throttling,
        Some("InternalServerError" | "ServiceUnavailable" | "InternalFailure") => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

/// The result of a retried operation that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RetryError<E> {
    /// Every attempt failed with a retryable error; carries the last one.
    #[error("gave up after {attempts} attempts: {last}")]
    Exhausted { attempts: u32, last: E },
    /// A non-retryable error.
    #[error("{0}")]
    Permanent(E),
}

impl<E> RetryError<E> {
    pub fn into_inner(self) -> E {
        match self {
            RetryError::Exhausted { last, .. } => last,
            RetryError::Permanent(e) => e,
        }
    }
}

/// Runs `op` until it succeeds, fails permanently, or `policy.max_attempts` is reached.
///
/// ```
/// # tokio_test_block(async {
/// use powertools::retry::{retry, ErrorClass, RetryError, RetryPolicy};
/// let mut calls = 0;
/// let r: Result<u32, RetryError<&str>> = retry(
///     &RetryPolicy { base: std::time::Duration::from_millis(1), ..RetryPolicy::default() },
///     |_e: &&str| ErrorClass::Throttling,
///     || { calls += 1; let n = calls; async move { if n < 3 { Err("throttled") } else { Ok(n) } } },
/// ).await;
/// assert_eq!(r.unwrap(), 3);
/// # });
/// # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(f)
/// # }
/// ```
pub async fn retry<T, E, F, Fut, C>(policy: &RetryPolicy, classify: C, mut op: F) -> Result<T, RetryError<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: Fn(&E) -> ErrorClass,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                attempt += 1;
                if classify(&e) == ErrorClass::Permanent {
                    return Err(RetryError::Permanent(e));
                }
                if attempt >= policy.max_attempts.max(1) {
                    tracing::warn!(attempts = attempt, "retries exhausted");
                    return Err(RetryError::Exhausted { attempts: attempt, last: e });
                }
                tokio::time::sleep(policy.backoff(attempt - 1)).await;
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exhausts_then_reports_last_error() {
        let policy = RetryPolicy { max_attempts: 3, base: Duration::from_millis(1), cap: Duration::from_millis(2) };
        let mut calls = 0;
        let r: Result<(), _> = retry(
            &policy,
            |_: &u32| ErrorClass::Throttling,
            || {
                calls += 1;
                let n = calls;
                async move { Err(n) }
            },
        )
        .await;
        match r {
            Err(RetryError::Exhausted { attempts: 3, last: 3 }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let mut calls = 0;
        let r: Result<(), _> = retry(
            &RetryPolicy::default(),
            |_: &()| ErrorClass::Permanent,
            || {
                calls += 1;
                async { Err(()) }
            },
        )
        .await;
        assert!(matches!(r, Err(RetryError::Permanent(()))));
        assert_eq!(calls, 1);
    }

    #[test]
    fn codes_classify() {
        assert_eq!(classify_code(Some("ProvisionedThroughputExceededException")), ErrorClass::Throttling);
        assert_eq!(classify_code(Some("InternalServerError")), ErrorClass::Transient);
        assert_eq!(classify_code(Some("ConditionalCheckFailedException")), ErrorClass::Permanent);
        assert_eq!(classify_code(None), ErrorClass::Permanent);
    }

    #[test]
    fn jitter_stays_under_the_ceiling_and_varies() {
        let p = RetryPolicy::default();
        let samples: Vec<Duration> = (0..200).map(|_| p.backoff(3)).collect();
        assert!(samples.iter().all(|d| *d <= Duration::from_millis(200)));
        assert!(samples.iter().any(|d| *d != samples[0]), "no jitter");
    }
}
