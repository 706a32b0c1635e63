//! The authorizer against moto: API keys created and revoked as the API does it, JWTs signed with the key in
//! Secrets Manager, the real TOKEN authorizer fixture, and the policy/context contract with the API.

#![allow(clippy::unwrap_used)]

use authorizer::{AuthError, Deps, TokenEvent, handle, sign_jwt};
use powertools::aws::dynamodb_client;
use powertools::clock::{Clock, SystemClock};
use powertools::tenant::Tier;
use serde_json::{Value, json};
use testkit::Moto;
use testkit::seed::Seed;
use testkit::tables::Tables;

const METHOD_ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/tenants/acme/orders";
const SECRET: &str = "jwt-signing-key-for-tests";

struct Env {
    deps: Deps,
    seed: Seed,
}

async fn env() -> Env {
    let moto = Moto::shared();
    let ddb = dynamodb_client(&moto.sdk_config(), None);
    let tables = Tables::create(&ddb).await;
    let arn = moto.secret("jwt", SECRET).await;
    let deps = Deps::new(ddb.clone(), &tables.entity, moto.secrets(), &arn, powertools::clock::system());
    Env { deps, seed: Seed::new(&ddb, &tables.entity) }
}

fn token_event(token: &str) -> TokenEvent {
    let mut v: Value = serde_json::from_str(testkit::fixtures::APIGW_TOKEN_AUTHORIZER_REQUEST).unwrap();
    v["authorizationToken"] = json!(token);
    v["methodArn"] = json!(METHOD_ARN);
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn real_fixture_without_scheme_is_unauthorized() {
    let env = env().await;
    let event: TokenEvent = serde_json::from_str(testkit::fixtures::APIGW_TOKEN_AUTHORIZER_REQUEST).unwrap();
    assert_eq!(event.authorization_token.as_deref(), Some("allow"));
    assert_eq!(handle(&env.deps, event).await, Err(AuthError::Unauthorized));
    let d: lambda_runtime::Diagnostic = AuthError::Unauthorized.into();
    assert_eq!(d.error_message, "Unauthorized", "API Gateway answers 401 only for this exact message");
}

#[tokio::test]
async fn api_key_allows_its_tenant_until_revoked() {
    let env = env().await;
    let created = env.seed.api_key("acme", Tier::Pro, "ci").await;
    let (key, key_id) = (created.api_key, created.key_id);

    let r = handle(&env.deps, token_event(&format!("ApiKey {key}"))).await.unwrap();
    assert!(r.is_allow());
    assert_eq!(r.context["tenantId"], "acme");
    assert_eq!(r.context["tier"], "pro");
    assert_eq!(r.context["authType"], "apikey");
    assert_eq!(r.context["keyId"], key_id);
    assert_eq!(
        r.policy_document.statement[0].resource[1],
        "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/tenants/acme/*"
    );

    // A key of the right shape that was never issued, and a tampered key: Deny.
    let (_, forged) = powertools::apikeys::generate(&SystemClock);
    assert!(!handle(&env.deps, token_event(&format!("ApiKey {forged}"))).await.unwrap().is_allow());
    let mut tampered = key.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert!(!handle(&env.deps, token_event(&format!("ApiKey {tampered}"))).await.unwrap().is_allow());

    env.seed.revoke("acme", &key_id).await;
    let after = handle(&env.deps, token_event(&format!("ApiKey {key}"))).await.unwrap();
    assert!(!after.is_allow(), "a revoked key is denied");
    assert!(after.context.is_empty());
}

#[tokio::test]
async fn jwt_from_secrets_manager_key() {
    let env = env().await;
    let now = SystemClock.now_millis() / 1000;
    let good =
        sign_jwt(SECRET.as_bytes(), &json!({"sub": "u1", "tenant_id": "acme", "tier": "enterprise", "exp": now + 300}));
    let r = handle(&env.deps, token_event(&format!("Bearer {good}"))).await.unwrap();
    assert!(r.is_allow());
    assert_eq!(
        (r.principal_id.as_str(), r.context["tenantId"].as_str(), r.context["tier"].as_str()),
        ("u1", "acme", "enterprise")
    );

    let cases = [
        sign_jwt(b"wrong-key", &json!({"sub": "u1", "tenant_id": "acme", "exp": now + 300})),
        sign_jwt(SECRET.as_bytes(), &json!({"sub": "u1", "tenant_id": "acme", "exp": now - 1})),
        sign_jwt(SECRET.as_bytes(), &json!({"sub": "u1", "tenant_id": "a#b", "exp": now + 300})),
        sign_jwt(SECRET.as_bytes(), &json!({"sub": "u1", "tenant_id": "acme", "tier": "gold", "exp": now + 300})),
        sign_jwt(SECRET.as_bytes(), &json!({"sub": "u1", "exp": now + 300})),
    ];
    for t in cases {
        let r = handle(&env.deps, token_event(&format!("Bearer {t}"))).await.unwrap();
        assert!(!r.is_allow(), "{t}");
    }
    for malformed in ["", "Bearer", "Bearer abc", "Basic dXNlcjpwYXNz", "ApiKey not-a-key", "allow"] {
        assert_eq!(handle(&env.deps, token_event(malformed)).await, Err(AuthError::Unauthorized), "{malformed:?}");
    }
}

#[tokio::test]
async fn dependency_failure_is_an_error_never_an_allow() {
    let env = env().await;
    let mut deps = Deps::new(
        env.deps.ddb.clone(),
        "no-such-table",
        env.deps.secrets.clone(),
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing",
        powertools::clock::system(),
    );
    deps.issuer = None;
    let (_, key) = powertools::apikeys::generate(&SystemClock);
    assert!(matches!(handle(&deps, token_event(&format!("ApiKey {key}"))).await, Err(AuthError::Internal(_))));
    let jwt = sign_jwt(SECRET.as_bytes(), &json!({"sub": "u", "tenant_id": "acme", "exp": 4_000_000_000u64}));
    assert!(matches!(handle(&deps, token_event(&format!("Bearer {jwt}"))).await, Err(AuthError::Internal(_))));
}

#[tokio::test]
async fn context_is_what_the_api_reads() {
    // The authorizer's context, as API Gateway puts it in the proxy event, gives the API its tenant.
    let now = SystemClock.now_millis() / 1000;
    let env = env().await;
    let jwt = sign_jwt(SECRET.as_bytes(), &json!({"sub": "u1", "tenant_id": "acme", "tier": "pro", "exp": now + 60}));
    let r = handle(&env.deps, token_event(&format!("Bearer {jwt}"))).await.unwrap();
    let fields = r.context.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    let t = powertools::tenant::TenantContext::from_authorizer(&fields).unwrap();
    assert_eq!((t.tenant().as_str(), t.tier()), ("acme", powertools::tenant::Tier::Pro));
}

#[tokio::test]
async fn allow_carries_the_usage_plan_key_of_the_tier() {
    use std::sync::Arc;
    let mut env = env().await;
    // API Gateway's GetApiKey, answered locally.
    let apigw = testkit::http::Receiver::start(Arc::new(|r: &testkit::http::Received, _| match r.path.as_str() {
        "/apikeys/prokey1?includeValue=true" => {
            (200, r#"{"id":"prokey1","value":"pro-usage-plan-key-value","enabled":true}"#.into())
        }
        _ => (404, r#"{"message":"Invalid API Key identifier specified"}"#.into()),
    }))
    .await;
    let creds = aws_credential_types::Credentials::new("AKID", "SECRET", None, None, "test");
    env.deps.usage_keys = Some(
        authorizer::UsageKeys::parse("pro=prokey1, enterprise=entkey9", &apigw.url(""), "us-east-1", creds).unwrap(),
    );
    let now = SystemClock.now_millis() / 1000;
    let token = |tier: &str| {
        sign_jwt(SECRET.as_bytes(), &json!({"sub": "u", "tenant_id": "acme", "tier": tier, "exp": now + 60}))
    };
    for _ in 0..2 {
        let r = handle(&env.deps, token_event(&format!("Bearer {}", token("pro")))).await.unwrap();
        assert!(r.is_allow());
        assert_eq!(r.usage_identifier_key.as_deref(), Some("pro-usage-plan-key-value"));
        assert_eq!(serde_json::to_value(&r).unwrap()["usageIdentifierKey"], "pro-usage-plan-key-value");
    }
    let got = apigw.received();
    assert_eq!(got.len(), 1, "the value is fetched once and cached");
    assert!(
        got[0].headers["authorization"].contains("/us-east-1/apigateway/aws4_request"),
        "SigV4-signed for apigateway"
    );
    // A tier without a usage plan key: no key; a key that cannot be read: an error, never an Allow without it.
    let free = handle(&env.deps, token_event(&format!("Bearer {}", token("free")))).await.unwrap();
    assert!(free.is_allow() && free.usage_identifier_key.is_none());
    assert!(serde_json::to_value(&free).unwrap().get("usageIdentifierKey").is_none());
    assert!(matches!(
        handle(&env.deps, token_event(&format!("Bearer {}", token("enterprise")))).await,
        Err(AuthError::Internal(_))
    ));
    // Denials carry no key.
    let bad = sign_jwt(b"wrong", &json!({"sub": "u", "tenant_id": "acme", "tier": "pro", "exp": now + 60}));
    assert!(handle(&env.deps, token_event(&format!("Bearer {bad}"))).await.unwrap().usage_identifier_key.is_none());
    assert!(
        authorizer::UsageKeys::parse(
            "gold=x",
            "http://h",
            "r",
            aws_credential_types::Credentials::new("a", "b", None, None, "t")
        )
        .is_err()
    );
}
