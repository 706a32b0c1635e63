//! Rotation of the platform's signing secrets (the JWT key and the webhook master key) by the four-step Secrets
//! Manager protocol. Secrets Manager invokes the function once per step with the secret's ARN and the new
//! version's id (`ClientRequestToken`), and retries a step that fails:
//!
//! 1. `createSecret`: a new random value is stored as the token's version with the label `AWSPENDING`
//!    (`PutSecretValue`). Skipped when that version already has a value (a retry).
//! 2. `setSecret`: nothing. The value is the key itself; no database or service holds a copy to update.
//! 3. `testSecret`: the pending value must be a usable key: at least [`MIN_KEY_BYTES`] bytes, not the current one.
//! 4. `finishSecret`: `AWSCURRENT` moves to the token's version (`UpdateSecretVersionStage`); Secrets Manager
//!    moves `AWSPREVIOUS` to the version it left.
//!
//! Every step first checks the version's labels (`DescribeSecret`), as AWS's rotation templates do: a version
//! that is already `AWSCURRENT` means the rotation is done and the step succeeds without a change; a version
//! without `AWSPENDING` is an error. So each step can run twice. Between `createSecret` and `finishSecret` the
//! verifiers (the authorizer, webhook receivers) accept both values (`powertools::secrets`).
//! <https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html>
//!
//! The function rotates only the two secrets the platform names in its environment ([`env::JWT_SECRET_ARN`],
//! [`env::WEBHOOK_SECRET_ARN`]); its role can touch no other (`platform_types::routes::permissions`).

use std::collections::HashMap;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use platform_types::env;
use powertools::aws::SdkConfig;
use powertools::config::{ConfigError, Env};
use powertools::retry::{RetryPolicy, classify, retry};
use powertools::secrets::{CURRENT, PENDING};
use serde::{Deserialize, Serialize};

/// Bytes of randomness in a new value (written as hex: 64 characters, the length of the values CloudFormation
/// generates for these secrets): 256 bits, the size of an HMAC-SHA256 key.
pub const NEW_KEY_BYTES: usize = 32;
/// The shortest value `testSecret` accepts: 32 bytes, as the secrets' `GenerateSecretString` minimum.
pub const MIN_KEY_BYTES: usize = 32;

/// What Secrets Manager sends for each step.
/// <https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html>
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationEvent {
    /// `createSecret`, `setSecret`, `testSecret` or `finishSecret`.
    pub step: String,
    /// The secret's ARN.
    pub secret_id: String,
    /// The id of the version the rotation creates.
    pub client_request_token: String,
}

/// A rotation step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Create,
    Set,
    Test,
    Finish,
}

impl Step {
    /// The step named `name`, as Secrets Manager spells it.
    pub fn parse(name: &str) -> Result<Step, RotationError> {
        match name {
            "createSecret" => Ok(Step::Create),
            "setSecret" => Ok(Step::Set),
            "testSecret" => Ok(Step::Test),
            "finishSecret" => Ok(Step::Finish),
            other => Err(RotationError::UnknownStep(other.into())),
        }
    }
}

/// What a step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Done {
    /// `createSecret` stored a new `AWSPENDING` value.
    Created,
    /// `createSecret` found the pending version already holding a value (a retried step).
    AlreadyPending,
    /// `setSecret`: nothing holds a copy of the value.
    NothingToSet,
    /// `testSecret`: the pending value is a usable key.
    Tested,
    /// `finishSecret` moved `AWSCURRENT` to the new version.
    Finished,
    /// The token's version is already `AWSCURRENT`: the rotation is done, the step changes nothing.
    AlreadyCurrent,
}

/// Why a step failed. Secrets Manager retries the step; the function's error alarm tells the operators.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    /// `Step` is none of the four.
    #[error("unknown rotation step {0:?}: expected createSecret, setSecret, testSecret or finishSecret")]
    UnknownStep(String),
    /// The secret is not one of the two this function rotates.
    #[error("secret {0} is not rotated by this function: only the secrets of JWT_SECRET_ARN and WEBHOOK_SECRET_ARN")]
    NotOurs(String),
    /// The token names a version that does not exist (a step after `createSecret`).
    #[error("secret {arn} has no version {token}: the rotation was not started by secrets manager")]
    NoSuchVersion { arn: String, token: String },
    /// The token's version is neither `AWSPENDING` nor `AWSCURRENT`.
    #[error("version {token} of secret {arn} is not AWSPENDING (its labels: {stages:?})")]
    NotPending { arn: String, token: String, stages: Vec<String> },
    /// `testSecret` found an unusable value.
    #[error("pending value of secret {arn} is unusable: {why}")]
    BadValue { arn: String, why: String },
    /// A Secrets Manager call failed (after retries).
    #[error("secrets manager {call} on {arn}: {message}")]
    Aws { call: &'static str, arn: String, message: String },
}

/// Dependencies.
#[derive(Clone, Debug)]
pub struct Deps {
    pub secrets: aws_sdk_secretsmanager::Client,
    /// The ARNs of the secrets this function rotates.
    pub rotated: Vec<String>,
}

impl Deps {
    /// From the SDK config and the env vars of `platform_types::routes::handler_env(Handler::SecretRotator)`.
    pub fn from_env(config: &SdkConfig, vars: &Env<'_>) -> Result<Deps, ConfigError> {
        Ok(Deps {
            secrets: aws_sdk_secretsmanager::Client::new(config),
            rotated: vec![vars.required(env::JWT_SECRET_ARN)?, vars.required(env::WEBHOOK_SECRET_ARN)?],
        })
    }
}

/// Runs one rotation step.
pub async fn handle(deps: &Deps, event: &RotationEvent) -> Result<Done, RotationError> {
    let step = Step::parse(&event.step)?;
    let (arn, token) = (event.secret_id.as_str(), event.client_request_token.as_str());
    if !deps.rotated.iter().any(|r| r == arn) {
        return Err(RotationError::NotOurs(arn.into()));
    }
    let versions = versions(deps, arn).await?;
    match versions.get(token) {
        Some(stages) if stages.iter().any(|s| s == CURRENT) => {
            tracing::info!(step = event.step, version = token, "version already AWSCURRENT: nothing to do");
            return Ok(Done::AlreadyCurrent);
        }
        Some(stages) if !stages.iter().any(|s| s == PENDING) => {
            return Err(RotationError::NotPending { arn: arn.into(), token: token.into(), stages: stages.clone() });
        }
        Some(_) => {}
        // Secrets Manager creates the version (labelled AWSPENDING, without a value) before it invokes
        // createSecret; a later step without it was not started by a rotation. createSecret tolerates its
        // absence: PutSecretValue creates it with the same id.
        None if step == Step::Create => {}
        None => return Err(RotationError::NoSuchVersion { arn: arn.into(), token: token.into() }),
    }
    let done = match step {
        Step::Create => create(deps, arn, token).await?,
        Step::Set => Done::NothingToSet,
        Step::Test => test(deps, arn, token).await?,
        Step::Finish => finish(deps, arn, token, &versions).await?,
    };
    tracing::info!(step = event.step, version = token, done = ?done, "rotation step done");
    Ok(done)
}

/// The secret's version ids and their staging labels.
async fn versions(deps: &Deps, arn: &str) -> Result<HashMap<String, Vec<String>>, RotationError> {
    let out = retry(&RetryPolicy::default(), classify, || deps.secrets.describe_secret().secret_id(arn).send())
        .await
        .map_err(|e| aws("DescribeSecret", arn, &e.into_inner()))?;
    Ok(out.version_ids_to_stages().cloned().unwrap_or_default())
}

/// The value of version `token` labelled `AWSPENDING`, `None` when it has none yet.
async fn pending_value(deps: &Deps, arn: &str, token: &str) -> Result<Option<String>, RotationError> {
    let got = retry(&RetryPolicy::default(), classify, || {
        deps.secrets.get_secret_value().secret_id(arn).version_id(token).version_stage(PENDING).send()
    })
    .await;
    match got {
        Ok(out) => Ok(out.secret_string().map(str::to_owned)),
        Err(e) => {
            let e = e.into_inner();
            if e.code() == Some("ResourceNotFoundException") { Ok(None) } else { Err(aws("GetSecretValue", arn, &e)) }
        }
    }
}

/// The `AWSCURRENT` value.
async fn current_value(deps: &Deps, arn: &str) -> Result<String, RotationError> {
    let out = retry(&RetryPolicy::default(), classify, || {
        deps.secrets.get_secret_value().secret_id(arn).version_stage(CURRENT).send()
    })
    .await
    .map_err(|e| aws("GetSecretValue", arn, &e.into_inner()))?;
    out.secret_string()
        .map(str::to_owned)
        .ok_or_else(|| RotationError::BadValue { arn: arn.into(), why: "AWSCURRENT has no string value".into() })
}

async fn create(deps: &Deps, arn: &str, token: &str) -> Result<Done, RotationError> {
    // The current value must exist: a rotation never makes the first value.
    current_value(deps, arn).await?;
    if pending_value(deps, arn, token).await?.is_some() {
        return Ok(Done::AlreadyPending);
    }
    // The OS RNG, not GetRandomPassword: that call has no resource-level permissions (it needs `*`).
    let value = powertools::ids::random_hex(NEW_KEY_BYTES);
    // The same token twice is idempotent in Secrets Manager; a different value under it is refused, so a
    // concurrent retry cannot replace a value a verifier may already hold.
    retry(&RetryPolicy::default(), classify, || {
        deps.secrets
            .put_secret_value()
            .secret_id(arn)
            .client_request_token(token)
            .secret_string(&value)
            .version_stages(PENDING)
            .send()
    })
    .await
    .map_err(|e| aws("PutSecretValue", arn, &e.into_inner()))?;
    Ok(Done::Created)
}

async fn test(deps: &Deps, arn: &str, token: &str) -> Result<Done, RotationError> {
    let bad = |why: &str| RotationError::BadValue { arn: arn.into(), why: why.into() };
    let pending = pending_value(deps, arn, token).await?.ok_or_else(|| bad("AWSPENDING has no value"))?;
    if pending.len() < MIN_KEY_BYTES {
        return Err(bad(&format!("{} bytes, at least {MIN_KEY_BYTES} are required", pending.len())));
    }
    if pending == current_value(deps, arn).await? {
        return Err(bad("it is the current value"));
    }
    Ok(Done::Tested)
}

async fn finish(
    deps: &Deps,
    arn: &str,
    token: &str,
    versions: &HashMap<String, Vec<String>>,
) -> Result<Done, RotationError> {
    let current = versions.iter().find(|(_, stages)| stages.iter().any(|s| s == CURRENT)).map(|(id, _)| id.as_str());
    let mut update = deps.secrets.update_secret_version_stage().secret_id(arn).version_stage(CURRENT);
    update = update.move_to_version_id(token);
    if let Some(current) = current {
        update = update.remove_from_version_id(current);
    }
    retry(&RetryPolicy::default(), classify, || update.clone().send())
        .await
        .map_err(|e| aws("UpdateSecretVersionStage", arn, &e.into_inner()))?;
    Ok(Done::Finished)
}

fn aws<E: ProvideErrorMetadata>(call: &'static str, arn: &str, e: &E) -> RotationError {
    RotationError::Aws {
        call,
        arn: arn.into(),
        message: format!("{}: {}", e.code().unwrap_or("unknown"), e.message().unwrap_or("")),
    }
}

impl From<RotationError> for lambda_runtime::Diagnostic {
    fn from(e: RotationError) -> Self {
        let error_type = match e {
            RotationError::Aws { .. } => "Retryable",
            _ => "RotationRefused",
        };
        lambda_runtime::Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_by_their_secrets_manager_names() {
        assert_eq!(Step::parse("createSecret"), Ok(Step::Create));
        assert_eq!(Step::parse("setSecret"), Ok(Step::Set));
        assert_eq!(Step::parse("testSecret"), Ok(Step::Test));
        assert_eq!(Step::parse("finishSecret"), Ok(Step::Finish));
        assert_eq!(
            Step::parse("rotate").unwrap_err().to_string(),
            "unknown rotation step \"rotate\": expected createSecret, setSecret, testSecret or finishSecret"
        );
    }

    #[test]
    fn the_event_is_what_secrets_manager_sends() {
        let event: RotationEvent = serde_json::from_str(
            r#"{"Step": "createSecret", "SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-a1b2c3",
                "ClientRequestToken": "0b7f1d2e-6a1c-4f8e-9d3b-2c5a7e9f1b3d",
                "RotationToken": "b3f2e1d0-1111-2222-3333-444455556666"}"#,
        )
        .unwrap();
        assert_eq!(event.step, "createSecret");
        assert_eq!(event.client_request_token, "0b7f1d2e-6a1c-4f8e-9d3b-2c5a7e9f1b3d");
    }

    #[test]
    fn new_values_are_long_enough_to_pass_the_test_step() {
        assert!(powertools::ids::random_hex(NEW_KEY_BYTES).len() >= MIN_KEY_BYTES);
    }
}
