//! Signing keys from Secrets Manager that survive a rotation: the `AWSCURRENT` value and, while a rotation is in
//! progress, the `AWSPENDING` one, cached together.
//!
//! A rotation (the `secret-rotator` function) first stores the new value as `AWSPENDING` (`createSecret`), then
//! moves `AWSCURRENT` to it (`finishSecret`); the old value becomes `AWSPREVIOUS`. Between the two steps, and for
//! as long as a sandbox holds a cached pair, both values are in use somewhere: a token issuer may already sign
//! with the new one, a verifier may still hold the old one. So verifiers accept a credential made with either
//! key ([`SigningKeys::all`]) and signers sign with [`SigningKeys::current`].
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html>

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;

use crate::clock::SharedClock;
use crate::retry::{RetryPolicy, classify, retry};

/// The staging label of the value in use.
pub const CURRENT: &str = "AWSCURRENT";
/// The staging label of the value a rotation is introducing.
pub const PENDING: &str = "AWSPENDING";
/// The staging label Secrets Manager moves to the value `AWSCURRENT` left.
pub const PREVIOUS: &str = "AWSPREVIOUS";

/// Why the signing keys could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// `GetSecretValue` failed (after retries).
    #[error("secret {arn} ({stage}): {message}")]
    Read { arn: String, stage: &'static str, message: String },
    /// The value is empty or binary-only where a string is expected.
    #[error("secret {arn} ({stage}) has no value")]
    Empty { arn: String, stage: &'static str },
}

/// The keys of one secret at one moment: the current value and the pending one (only when it differs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningKeys {
    /// `AWSCURRENT`: what new signatures use.
    pub current: Vec<u8>,
    /// `AWSPENDING` during a rotation, when it is another value than `current`.
    pub pending: Option<Vec<u8>>,
}

impl SigningKeys {
    /// The keys a credential may have been made with: the current one first (the likelier), then the pending one.
    pub fn all(&self) -> impl Iterator<Item = &[u8]> {
        std::iter::once(self.current.as_slice()).chain(self.pending.as_deref())
    }
}

/// The value of `arn` at staging label `stage`; `Ok(None)` when no version carries the label (no rotation in
/// progress, for `AWSPENDING`), or it carries no value. A missing `AWSCURRENT` is an error: every secret has one.
/// Retried on throttling and transient errors.
pub async fn value_at(
    client: &aws_sdk_secretsmanager::Client,
    arn: &str,
    stage: &'static str,
) -> Result<Option<Vec<u8>>, SecretError> {
    let got = retry(&RetryPolicy::default(), classify, || {
        client.get_secret_value().secret_id(arn).version_stage(stage).send()
    })
    .await;
    let out = match got {
        Ok(out) => out,
        Err(e) => {
            let e = e.into_inner();
            // No version carries the label: ResourceNotFoundException. A rotation that failed in createSecret
            // can leave the label on a version without a value, which reads as the same "no value" here.
            if e.code() == Some("ResourceNotFoundException") && stage != CURRENT {
                return Ok(None);
            }
            return Err(SecretError::Read { arn: arn.into(), stage, message: crate::idempotency::error_message(&e) });
        }
    };
    let value = out
        .secret_string()
        .map(|s| s.as_bytes().to_vec())
        .or_else(|| out.secret_binary().map(|b| b.as_ref().to_vec()))
        .filter(|v| !v.is_empty());
    Ok(value)
}

/// A signing secret's keys, fetched on first use and cached for [`SigningSecret::ttl`].
#[derive(Debug)]
pub struct SigningSecret {
    client: aws_sdk_secretsmanager::Client,
    arn: String,
    clock: SharedClock,
    /// How long fetched keys are used before they are fetched again. Default 5 minutes: a rotation's new value
    /// reaches every sandbox within that time after `createSecret`.
    pub ttl: Duration,
    cached: Mutex<Option<(Arc<SigningKeys>, u64)>>,
}

impl SigningSecret {
    pub fn new(client: aws_sdk_secretsmanager::Client, arn: &str, clock: SharedClock) -> SigningSecret {
        SigningSecret { client, arn: arn.into(), clock, ttl: Duration::from_secs(300), cached: Mutex::new(None) }
    }

    /// The same, with keys cached for `ttl`.
    pub fn with_ttl(mut self, ttl: Duration) -> SigningSecret {
        self.ttl = ttl;
        self
    }

    /// The secret's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The keys: cached, or both stages read concurrently (2 `GetSecretValue`). `refresh` refetches when the
    /// cached pair is older than 30 s (a credential that verifies with neither key may have been made with a
    /// value this sandbox has not seen yet; 30 s bounds the calls a stream of bad credentials can cause).
    pub async fn keys(&self, refresh: bool) -> Result<Arc<SigningKeys>, SecretError> {
        let now = self.clock.now_millis();
        if let Ok(guard) = self.cached.lock()
            && let Some((keys, at)) = guard.as_ref()
        {
            let age = now.saturating_sub(*at);
            if age < self.ttl.as_millis() as u64 && !(refresh && age > 30_000) {
                return Ok(keys.clone());
            }
        }
        let (current, pending) =
            tokio::join!(value_at(&self.client, &self.arn, CURRENT), value_at(&self.client, &self.arn, PENDING));
        let current = current?.ok_or_else(|| SecretError::Empty { arn: self.arn.clone(), stage: CURRENT })?;
        // A pending value that cannot be read only narrows what verifies; the current value still works.
        let pending = pending.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "pending signing key unreadable, using the current one only");
            None
        });
        let keys = Arc::new(SigningKeys { pending: pending.filter(|p| *p != current), current });
        if let Ok(mut guard) = self.cached.lock() {
            *guard = Some((keys.clone(), now));
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_the_current_key_first_and_the_pending_one_when_there_is_one() {
        let keys = SigningKeys { current: b"new".to_vec(), pending: None };
        assert_eq!(keys.all().collect::<Vec<_>>(), [b"new".as_slice()]);
        let keys = SigningKeys { current: b"old".to_vec(), pending: Some(b"new".to_vec()) };
        assert_eq!(keys.all().collect::<Vec<_>>(), [b"old".as_slice(), b"new".as_slice()]);
    }
}
