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

mod oidc;

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

const STAGE: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod";

/// The answer API Gateway reads, as JSON: an Allow of every method under the tenant's paths of the stage.
fn allowed(principal: &str, context: Value) -> Value {
    json!({
        "principalId": principal,
        "policyDocument": {"Version": "2012-10-17", "Statement": [{
            "Action": "execute-api:Invoke", "Effect": "Allow",
            "Resource": [format!("{STAGE}/*/tenants/acme"), format!("{STAGE}/*/tenants/acme/*")],
        }]},
        "context": context,
    })
}

/// A Deny of the whole stage, with no context (API Gateway caches it for the token).
fn denied() -> Value {
    json!({
        "principalId": "anonymous",
        "policyDocument": {"Version": "2012-10-17", "Statement": [{
            "Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [format!("{STAGE}/*")],
        }]},
        "context": {},
    })
}

/// The authorizer's answer to a token, as JSON.
async fn answer(deps: &Deps, token: &str) -> Value {
    serde_json::to_value(handle(deps, token_event(token)).await.unwrap()).unwrap()
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

    assert_eq!(
        answer(&env.deps, &format!("ApiKey {key}")).await,
        allowed(
            &format!("apikey:{key_id}"),
            json!({"tenantId": "acme", "tier": "pro", "authType": "apikey", "keyId": key_id})
        )
    );

    // A key of the right shape that was never issued, and a tampered key: Deny.
    let (_, forged) = powertools::apikeys::generate(&SystemClock);
    assert_eq!(answer(&env.deps, &format!("ApiKey {forged}")).await, denied());
    let mut tampered = key.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(answer(&env.deps, &format!("ApiKey {tampered}")).await, denied());

    env.seed.revoke("acme", &key_id).await;
    assert_eq!(answer(&env.deps, &format!("ApiKey {key}")).await, denied(), "a revoked key is denied");
}

#[tokio::test]
async fn jwt_from_secrets_manager_key() {
    let env = env().await;
    let now = SystemClock.now_millis() / 1000;
    let good =
        sign_jwt(SECRET.as_bytes(), &json!({"sub": "u1", "tenant_id": "acme", "tier": "enterprise", "exp": now + 300}));
    assert_eq!(
        answer(&env.deps, &format!("Bearer {good}")).await,
        allowed("u1", json!({"tenantId": "acme", "tier": "enterprise", "authType": "jwt"}))
    );

    let cases = [
        sign_jwt(b"wrong-key", &json!({"sub": "u1", "tenant_id": "acme", "exp": now + 300})),
        sign_jwt(SECRET.as_bytes(), &json!({"sub": "u1", "tenant_id": "acme", "exp": now - 1})),
        sign_jwt(SECRET.as_bytes(), &json!({"sub": "u1", "tenant_id": "a#b", "exp": now + 300})),
        sign_jwt(SECRET.as_bytes(), &json!({"sub": "u1", "tenant_id": "acme", "tier": "gold", "exp": now + 300})),
        sign_jwt(SECRET.as_bytes(), &json!({"sub": "u1", "exp": now + 300})),
    ];
    for t in cases {
        assert_eq!(answer(&env.deps, &format!("Bearer {t}")).await, denied(), "{t}");
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
    assert_eq!(
        handle(&deps, token_event(&format!("ApiKey {key}"))).await,
        Err(AuthError::Internal("api key lookup: ResourceNotFoundException: Requested resource not found".into()))
    );
    let jwt = sign_jwt(SECRET.as_bytes(), &json!({"sub": "u", "tenant_id": "acme", "exp": 4_000_000_000u64}));
    assert_eq!(
        handle(&deps, token_event(&format!("Bearer {jwt}"))).await,
        Err(AuthError::Internal(
            "jwt secret: secret arn:aws:secretsmanager:us-east-1:123456789012:secret:missing (AWSCURRENT): \
             ResourceNotFoundException: Secrets Manager can't find the specified secret."
                .into()
        ))
    );
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
    let mut pro = allowed("u", json!({"tenantId": "acme", "tier": "pro", "authType": "jwt"}));
    pro["usageIdentifierKey"] = json!("pro-usage-plan-key-value");
    for _ in 0..2 {
        assert_eq!(answer(&env.deps, &format!("Bearer {}", token("pro"))).await, pro);
    }
    let got = apigw.received();
    assert_eq!(got.len(), 1, "the value is fetched once and cached");
    assert_eq!(got[0].path, "/apikeys/prokey1?includeValue=true");
    let scope = got[0].headers["authorization"].split_once(", SignedHeaders=").unwrap().0.to_string();
    let day = &got[0].headers["x-amz-date"][..8];
    assert_eq!(scope, format!("AWS4-HMAC-SHA256 Credential=AKID/{day}/us-east-1/apigateway/aws4_request"));
    // A tier without a usage plan key: no key; a key that cannot be read: an error, never an Allow without it.
    assert_eq!(
        answer(&env.deps, &format!("Bearer {}", token("free"))).await,
        allowed("u", json!({"tenantId": "acme", "tier": "free", "authType": "jwt"}))
    );
    assert_eq!(
        handle(&env.deps, token_event(&format!("Bearer {}", token("enterprise")))).await,
        Err(AuthError::Internal("usage plan key entkey9: GetApiKey answered 404".into()))
    );
    // Denials carry no key.
    let bad = sign_jwt(b"wrong", &json!({"sub": "u", "tenant_id": "acme", "tier": "pro", "exp": now + 60}));
    assert_eq!(answer(&env.deps, &format!("Bearer {bad}")).await, denied());
}

#[tokio::test]
async fn a_key_with_its_own_usage_plan_key_names_it_instead_of_the_tiers() {
    use std::sync::Arc;
    let mut env = env().await;
    let apigw = testkit::http::Receiver::start(Arc::new(|_: &testkit::http::Received, _| {
        (200, r#"{"id":"prokey1","value":"pro-usage-plan-key-value","enabled":true}"#.into())
    }))
    .await;
    let creds = aws_credential_types::Credentials::new("AKID", "SECRET", None, None, "test");
    env.deps.usage_keys =
        Some(authorizer::UsageKeys::parse("pro=prokey1", &apigw.url(""), "us-east-1", creds).unwrap());
    let own = env.seed.api_key("acme", Tier::Pro, "own").await;
    let shared = env.seed.api_key("acme", Tier::Pro, "shared").await;
    // What the API writes on a stage with per-tenant usage plan keys.
    env.deps
        .ddb
        .update_item()
        .table_name(&env.deps.entity_table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("TENANT#acme".into()))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S(format!("APIKEY#{}", own.key_id)))
        .update_expression("SET usage_key = :t")
        .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::S("tenant".into()))
        .send()
        .await
        .unwrap();
    let a = answer(&env.deps, &format!("ApiKey {}", own.api_key)).await;
    assert_eq!(a["usageIdentifierKey"], json!(powertools::apikeys::hash(&own.api_key)));
    assert_eq!(apigw.received().len(), 0, "no GetApiKey for a key with its own usage plan key");
    let b = answer(&env.deps, &format!("ApiKey {}", shared.api_key)).await;
    assert_eq!(b["usageIdentifierKey"], "pro-usage-plan-key-value", "a key made before per-tenant keys");
}

#[tokio::test]
async fn api_key_lookups_read_through_the_cache() {
    use powertools::cache::{Cache, CacheConfig, api_key_key};
    let mut redis = testkit::Redis::start().unwrap();
    let moto = Moto::shared();
    let counter = powertools::aws::CallCounter::new();
    let ddb = dynamodb_client(&moto.sdk_config(), Some(&counter));
    let tables = Tables::create(&ddb).await;
    let arn = moto.secret("jwt", SECRET).await;
    let mut deps = Deps::new(ddb.clone(), &tables.entity, moto.secrets(), &arn, powertools::clock::system());
    let cache = Cache::new(&redis.url(), CacheConfig::default()).unwrap();
    deps.cache = Some(cache.clone());
    let seed = Seed::new(&ddb, &tables.entity);
    let created = seed.api_key("acme", Tier::Pro, "ci").await;
    let (key, key_id) = (created.api_key, created.key_id);
    let token = format!("ApiKey {key}");
    let allow = allowed(
        &format!("apikey:{key_id}"),
        json!({"tenantId": "acme", "tier": "pro", "authType": "apikey", "keyId": key_id}),
    );
    let queries = |c: &powertools::aws::CallCounter| c.take().get("Query").copied().unwrap_or(0);
    counter.take();

    assert_eq!(answer(&deps, &token).await, allow);
    assert_eq!(queries(&counter), 1, "a miss queries GSI1");
    assert_eq!(answer(&deps, &token).await, allow);
    assert_eq!(queries(&counter), 0, "a hit does not");

    // Unknown keys are not cached: each is a Query.
    let (_, forged) = powertools::apikeys::generate(&SystemClock);
    for _ in 0..2 {
        assert_eq!(answer(&deps, &format!("ApiKey {forged}")).await, denied());
        assert_eq!(queries(&counter), 1);
    }

    // Revoked: until the stream processor deletes the entry (simulated here), the cached lookup still allows;
    // after it, the key is denied.
    seed.revoke("acme", &key_id).await;
    counter.take();
    assert_eq!(answer(&deps, &token).await, allow, "the invalidation lag");
    let gsi1_pk = powertools::apikeys::gsi1_pk(&powertools::apikeys::hash(&key));
    cache.invalidate(&[api_key_key(&gsi1_pk)]).await.unwrap();
    assert_eq!(answer(&deps, &token).await, denied());

    // Outage: the lookup answers from DynamoDB.
    let other = seed.api_key("acme", Tier::Pro, "other").await;
    let other_token = format!("ApiKey {}", other.api_key);
    assert_eq!(answer(&deps, &other_token).await["principalId"], format!("apikey:{}", other.key_id));
    redis.kill();
    counter.take();
    for _ in 0..2 {
        assert_eq!(answer(&deps, &other_token).await["principalId"], format!("apikey:{}", other.key_id));
        assert_eq!(queries(&counter), 1);
    }
}
