//! The rotation sequence against moto: the four steps (each run twice: idempotent), the staging labels after
//! each, and the verifiers mid-rotation: a JWT signed with the old value and one signed with the pending value
//! both pass the authorizer; a webhook delivery's signature header verifies with either value's tenant key.
//!
//! What moto lacks, and how the test stands in for it:
//! - moto's `RotateSecret` invokes a rotation function only through moto's own Lambda backend (Docker), so the
//!   test plays Secrets Manager: it picks the `ClientRequestToken` and sends the four steps itself.
//! - Secrets Manager creates the new version (labelled `AWSPENDING`, no value) before it invokes
//!   `createSecret`; no API lets the test do that, so `createSecret` runs against a token with no version yet
//!   (the rotator accepts that for `createSecret` only, and `PutSecretValue` creates the version).
//! - moto's `UpdateSecretVersionStage` moves the labels but not the version `GetSecretValue` returns when no
//!   stage is given; the rotator and the verifiers always name the stage (`VersionStage=AWSCURRENT`), which is
//!   what this test relies on. `GetSecretValue` with `VersionStage=AWSPENDING` (with and without a version id)
//!   and `AWSPREVIOUS` behave as in Secrets Manager.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use authorizer::{Deps as AuthDeps, TokenEvent, handle as authorize, sign_jwt};
use powertools::aws::dynamodb_client;
use powertools::clock::{Clock, ManualClock, SharedClock, SystemClock};
use powertools::secrets::{CURRENT, PENDING, PREVIOUS, SigningSecret};
use secret_rotator::{Deps, Done, RotationError, RotationEvent, handle};
use serde_json::json;
use testkit::Moto;
use testkit::tables::Tables;

/// The values CloudFormation would have generated (64 characters).
const OLD_JWT: &str = "0ldJwtSigningKey0ldJwtSigningKey0ldJwtSigningKey0ldJwtSigningKey";
const OLD_WEBHOOK: &str = "0ldWebhookMasterKey0ldWebhookMasterKey0ldWebhookMasterKey0ldWebh";

struct Env {
    deps: Deps,
    jwt: String,
    webhook: String,
    entity_table: String,
}

async fn env() -> Env {
    let moto = Moto::shared();
    let tables = Tables::create(&dynamodb_client(&moto.sdk_config(), None)).await;
    let jwt = moto.secret("jwt", OLD_JWT).await;
    let webhook = moto.secret("webhook", OLD_WEBHOOK).await;
    let deps = Deps { secrets: moto.secrets(), rotated: vec![jwt.clone(), webhook.clone()] };
    Env { deps, jwt, webhook, entity_table: tables.entity }
}

/// A fresh version id, as Secrets Manager makes them (a UUID; moto wants 32 to 64 characters).
fn token() -> String {
    let h = powertools::ids::random_hex(16);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

async fn step(deps: &Deps, arn: &str, token: &str, step: &str) -> Result<Done, RotationError> {
    let event = RotationEvent { step: step.into(), secret_id: arn.into(), client_request_token: token.into() };
    handle(deps, &event).await
}

/// Version id to labels, as `DescribeSecret` reports them.
async fn labels(deps: &Deps, arn: &str) -> HashMap<String, Vec<String>> {
    let out = deps.secrets.describe_secret().secret_id(arn).send().await.unwrap();
    out.version_ids_to_stages().cloned().unwrap_or_default()
}

async fn value(deps: &Deps, arn: &str, stage: &str) -> String {
    let out = deps.secrets.get_secret_value().secret_id(arn).version_stage(stage).send().await.unwrap();
    out.secret_string().unwrap().to_owned()
}

/// A new authorizer sandbox (nothing cached) for the JWT secret, on `clock`.
fn authorizer(env: &Env, clock: SharedClock) -> AuthDeps {
    let moto = Moto::shared();
    let ddb = dynamodb_client(&moto.sdk_config(), None);
    AuthDeps::new(ddb, &env.entity_table, moto.secrets(), &env.jwt, clock)
}

fn jwt(key: &str) -> String {
    let exp = SystemClock.now_millis() / 1000 + 300;
    sign_jwt(key.as_bytes(), &json!({"sub": "u1", "tenant_id": "acme", "exp": exp}))
}

/// The policy effect the authorizer answers for `Bearer <token>`.
async fn effect(deps: &AuthDeps, token: &str) -> String {
    let event: TokenEvent = serde_json::from_value(json!({
        "type": "TOKEN",
        "authorizationToken": format!("Bearer {token}"),
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/tenants/acme/orders"
    }))
    .unwrap();
    let answer = authorize(deps, event).await.unwrap();
    answer.policy_document.statement[0].effect.clone()
}

#[tokio::test]
async fn the_jwt_secret_rotates_and_both_values_verify_mid_rotation() {
    let env = env().await;
    let (deps, arn) = (&env.deps, env.jwt.as_str());
    let old_token = jwt(OLD_JWT);
    // A sandbox that fetched the keys before the rotation began, on a clock the test moves.
    let clock = ManualClock::new(SystemClock.now_millis());
    let before = authorizer(&env, clock.clone());
    assert_eq!(effect(&before, &old_token).await, "Allow");
    let old_version = labels(deps, arn).await.into_iter().find(|(_, s)| s.contains(&CURRENT.into())).unwrap().0;

    // createSecret: a new AWSPENDING value; a retried step finds it and changes nothing.
    let new = token();
    assert_eq!(step(deps, arn, &new, "createSecret").await, Ok(Done::Created));
    let pending = value(deps, arn, PENDING).await;
    assert_eq!(step(deps, arn, &new, "createSecret").await, Ok(Done::AlreadyPending));
    assert_eq!(value(deps, arn, PENDING).await, pending, "a retried createSecret keeps the value");
    assert_eq!((pending.len(), pending.chars().all(|c| c.is_ascii_hexdigit())), (64, true));
    assert_eq!(value(deps, arn, CURRENT).await, OLD_JWT, "AWSCURRENT does not move before finishSecret");
    let out = deps.secrets.get_secret_value().secret_id(arn).version_id(&new).version_stage(PENDING).send().await;
    assert_eq!(out.unwrap().secret_string(), Some(pending.as_str()), "VersionId with VersionStage=AWSPENDING");

    // setSecret and testSecret, twice each.
    for _ in 0..2 {
        assert_eq!(step(deps, arn, &new, "setSecret").await, Ok(Done::NothingToSet));
        assert_eq!(step(deps, arn, &new, "testSecret").await, Ok(Done::Tested));
    }

    // Mid-rotation: a token signed with the old value and one signed with the pending value both verify in a new
    // sandbox, which reads both labels.
    let pending_token = jwt(&pending);
    let during = authorizer(&env, powertools::clock::system());
    assert_eq!(effect(&during, &old_token).await, "Allow", "old value mid-rotation");
    assert_eq!(effect(&during, &pending_token).await, "Allow", "pending value mid-rotation");
    assert_eq!(effect(&during, &jwt("some-other-key-entirely-0123456789abcdef")).await, "Deny");
    // The sandbox that cached the old value alone refetches on a bad signature once its keys are older than
    // 30 s (the refresh guard, which bounds the calls a stream of bad tokens causes); before that the pending
    // value's tokens are refused there. That window is why issuers sign with AWSCURRENT only.
    assert_eq!(effect(&before, &pending_token).await, "Deny", "keys cached less than 30 s ago");
    clock.advance(std::time::Duration::from_secs(31));
    assert_eq!(effect(&before, &pending_token).await, "Allow", "refetched on the bad signature");
    assert_eq!(effect(&before, &old_token).await, "Allow");

    // finishSecret: AWSCURRENT moves to the new version, the old one is AWSPREVIOUS; a retry changes nothing.
    assert_eq!(step(deps, arn, &new, "finishSecret").await, Ok(Done::Finished));
    assert_eq!(step(deps, arn, &new, "finishSecret").await, Ok(Done::AlreadyCurrent));
    let after = labels(deps, arn).await;
    assert!(after[&new].contains(&CURRENT.to_owned()), "{after:?}");
    assert_eq!(after[&old_version], [PREVIOUS], "{after:?}");
    assert_eq!(value(deps, arn, CURRENT).await, pending);
    assert_eq!(value(deps, arn, PREVIOUS).await, OLD_JWT);
    // Every step of a finished rotation is a no-op.
    assert_eq!(step(deps, arn, &new, "createSecret").await, Ok(Done::AlreadyCurrent));

    // After the rotation a new sandbox knows the new value only: new tokens verify, the old value's do not.
    let later = authorizer(&env, powertools::clock::system());
    assert_eq!(effect(&later, &pending_token).await, "Allow");
    assert_eq!(effect(&later, &old_token).await, "Deny", "the old value is AWSPREVIOUS: no longer accepted");
}

#[tokio::test]
async fn webhook_signatures_verify_with_either_value_mid_rotation() {
    let env = env().await;
    let (deps, arn) = (&env.deps, env.webhook.as_str());
    let master = SigningSecret::new(deps.secrets.clone(), arn, powertools::clock::system());
    let (body, ts) = (br#"{"id":"evt_1"}"#.as_slice(), 1_700_000_000u64);
    let verifies = |header: &str, master_value: &str| {
        let key = webhook_worker::tenant_key(master_value.as_bytes(), "acme");
        webhook_worker::verify(&key, &ts.to_string(), body, header, ts, 300)
    };
    let before = webhook_worker::signatures(&master.keys(false).await.unwrap(), "acme", ts, body);
    assert_eq!(before.split(' ').count(), 1, "one signature outside a rotation: {before}");

    let new = token();
    assert_eq!(step(deps, arn, &new, "createSecret").await, Ok(Done::Created));
    let pending = value(deps, arn, PENDING).await;
    let fresh = SigningSecret::new(deps.secrets.clone(), arn, powertools::clock::system());
    let keys = fresh.keys(false).await.unwrap();
    assert_eq!((keys.current.as_slice(), keys.pending.as_deref()), (OLD_WEBHOOK.as_bytes(), Some(pending.as_bytes())));
    let during = webhook_worker::signatures(&keys, "acme", ts, body);
    assert!(during.starts_with(&before), "the current value signs first: {during}");
    assert!(verifies(&during, OLD_WEBHOOK) && verifies(&during, &pending), "{during}");
    assert!(!verifies(&during, "another-master-key"));

    for s in ["setSecret", "testSecret", "finishSecret"] {
        step(deps, arn, &new, s).await.unwrap();
    }
    let after = SigningSecret::new(deps.secrets.clone(), arn, powertools::clock::system());
    let keys = after.keys(false).await.unwrap();
    assert_eq!((keys.current.as_slice(), keys.pending.as_deref()), (pending.as_bytes(), None));
    let signed = webhook_worker::signatures(&keys, "acme", ts, body);
    assert!(verifies(&signed, &pending) && !verifies(&signed, OLD_WEBHOOK), "new signatures use AWSCURRENT only");
}

#[tokio::test]
async fn refuses_other_secrets_unknown_steps_and_versions_it_did_not_create() {
    let env = env().await;
    let deps = &env.deps;
    let other = Moto::shared().secret("other", OLD_JWT).await;
    assert_eq!(step(deps, &other, &token(), "createSecret").await, Err(RotationError::NotOurs(other.clone())));
    assert_eq!(
        step(deps, &env.jwt, &token(), "rotateSecret").await,
        Err(RotationError::UnknownStep("rotateSecret".into()))
    );
    let unknown = token();
    assert_eq!(
        step(deps, &env.jwt, &unknown, "finishSecret").await,
        Err(RotationError::NoSuchVersion { arn: env.jwt.clone(), token: unknown })
    );
    // The old AWSPREVIOUS version of a finished rotation is neither pending nor current.
    let first = token();
    for s in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        step(deps, &env.jwt, &first, s).await.unwrap();
    }
    let previous = labels(deps, &env.jwt).await.into_iter().find(|(_, s)| s == &[PREVIOUS]).unwrap().0;
    assert_eq!(
        step(deps, &env.jwt, &previous, "testSecret").await,
        Err(RotationError::NotPending { arn: env.jwt.clone(), token: previous, stages: vec![PREVIOUS.into()] })
    );
    assert!(value(deps, &env.jwt, CURRENT).await != OLD_JWT);
}
