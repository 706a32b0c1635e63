//! The API Gateway Lambda authorizer (TOKEN type, identity source `Authorization`).
//!
//! - `Authorization: ApiKey <key>`: the key's SHA-256 is looked up on the entity table's GSI1 (1 `Query`); the
//!   item must be `active`. A revoked key has left the index. With a hot-read cache (`REDIS_ENDPOINT`) the
//!   lookup reads through it (`k:APIKEY#<sha256>`, active keys only; the stream processor deletes the entry
//!   when the key is revoked or removed): a hit is no DynamoDB round trip.
//! - `Authorization: Bearer <jwt>`: HS256, signature checked in constant time with the keys from Secrets Manager
//!   (`powertools::secrets`: `AWSCURRENT` and, during a rotation, `AWSPENDING`; a token signed with either
//!   verifies; cached 5 minutes, refetched once on a signature failure so a rotation does not lock users out),
//!   `exp` required, `nbf`, `iss`, `aud` checked when present/configured; or, with an OIDC issuer configured
//!   ([`oidc`]), RS256/ES256 with a key of the issuer's JWKS, `iss` and `aud` required. Any other `alg`, `none`
//!   included, is refused. Claims `sub`, `tenant_id`, `tier`.
//!
//! **Deny by default.** A missing or malformed header is `Unauthorized` (401, not cached); a well-formed but
//! invalid credential gets a Deny policy (403, cached); an internal error is an error (500, not cached), never an
//! Allow. The Allow policy covers every method under `/tenants/<tenant>` of the stage and nothing else, so a
//! cached policy is right for the tenant's next route, and a request for another tenant's path is refused by
//! API Gateway itself (the API checks again: 403).
//!
//! Context (`requestContext.authorizer` in the API's events): `tenantId`, `tier`, `authType`
//! (`apikey`/`jwt`/`oidc`), `keyId` (API keys).
//!
//! **Usage plans** ([`UsageKeys`], env `USAGE_PLAN_KEY_IDS` = `free=<api key id>,pro=<api key id>`): with the
//! API's key source `AUTHORIZER`, an Allow carries `usageIdentifierKey`, the value of the API Gateway API key of
//! the caller's tier, so API Gateway applies that tier's usage plan. The value is read once per key id with a
//! SigV4-signed `GET /apikeys/<id>?includeValue=true` (no API Gateway SDK client: one call per sandbox does not
//! justify its size) and cached. If it cannot be read the request fails (500, not cached): an Allow without the
//! key would be refused by API Gateway anyway. An API key with its own usage plan key (the item's `usage_key`
//! attribute, written by the API on stages with per-tenant keys) gets that instead: its SHA-256, the value the
//! API gave the gateway key, so API Gateway throttles and counts quotas per tenant key, with no extra call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use platform_types::{env, table};
use powertools::apikeys;
use powertools::aws::SdkConfig;
use powertools::cache::{Cache, Lookup};
use powertools::clock::SharedClock;
use powertools::config::{ConfigError, Env};
use powertools::dynamo::{get_s, s};
use powertools::retry::{RetryPolicy, classify, retry};
use powertools::secrets::{SigningKeys, SigningSecret};
use powertools::tenant::{TenantId, Tier, context_keys};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub mod oidc;

/// How long fetched signing keys are used before they are fetched again.
pub const SECRET_CACHE: Duration = Duration::from_secs(300);

/// Why a request was not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credential or a malformed one: API Gateway answers 401 when the error message is exactly
    /// `Unauthorized`. <https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html>
    #[error("Unauthorized")]
    Unauthorized,
    /// A dependency failed (500, not cached). Never turned into an Allow.
    #[error("authorizer error: {0}")]
    Internal(String),
}

impl From<AuthError> for lambda_runtime::Diagnostic {
    fn from(e: AuthError) -> Self {
        let error_type = match e {
            AuthError::Unauthorized => "Unauthorized",
            AuthError::Internal(_) => "AuthorizerError",
        };
        lambda_runtime::Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

/// A credential that is well-formed but not valid; becomes a Deny policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("unknown or revoked api key")]
    UnknownKey,
    #[error("jwt: {0}")]
    Jwt(String),
}

/// The authorizer's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    pub principal_id: String,
    pub policy_document: PolicyDocument,
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    /// The API Gateway API key value of the caller's usage plan (key source `AUTHORIZER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_identifier_key: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDocument {
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "Statement")]
    pub statement: Vec<Statement>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Effect")]
    pub effect: String,
    #[serde(rename = "Resource")]
    pub resource: Vec<String>,
}

impl AuthorizerResponse {
    pub fn is_allow(&self) -> bool {
        self.policy_document.statement.iter().all(|s| s.effect == "Allow")
    }
}

/// The stage's ARN prefix (`arn:aws:execute-api:<region>:<account>:<api id>/<stage>`) of a method ARN.
pub fn stage_arn(method_arn: &str) -> Option<String> {
    let (prefix, path) = method_arn.split_once('/')?;
    let stage = path.split('/').next().filter(|s| !s.is_empty())?;
    prefix.starts_with("arn:aws").then(|| format!("{prefix}/{stage}"))
}

fn policy(effect: &str, resources: Vec<String>) -> PolicyDocument {
    PolicyDocument {
        version: "2012-10-17".into(),
        statement: vec![Statement { action: "execute-api:Invoke".into(), effect: effect.into(), resource: resources }],
    }
}

/// Allow every method under the tenant's paths of this stage.
pub fn allow(
    method_arn: &str,
    principal: &str,
    tenant: &TenantId,
    tier: Tier,
    extra: &[(&str, &str)],
) -> AuthorizerResponse {
    let stage = stage_arn(method_arn).unwrap_or_else(|| method_arn.to_string());
    let mut context = BTreeMap::from([
        (context_keys::TENANT_ID.to_string(), tenant.to_string()),
        (context_keys::TIER.to_string(), tier.as_str().to_string()),
    ]);
    for (k, v) in extra {
        context.insert((*k).into(), (*v).into());
    }
    AuthorizerResponse {
        principal_id: principal.into(),
        policy_document: policy(
            "Allow",
            vec![format!("{stage}/*/tenants/{tenant}"), format!("{stage}/*/tenants/{tenant}/*")],
        ),
        context,
        usage_identifier_key: None,
    }
}

/// Deny everything on the stage.
pub fn deny(method_arn: &str) -> AuthorizerResponse {
    let stage = stage_arn(method_arn).unwrap_or_else(|| method_arn.to_string());
    AuthorizerResponse {
        principal_id: "anonymous".into(),
        policy_document: policy("Deny", vec![format!("{stage}/*")]),
        context: BTreeMap::new(),
        usage_identifier_key: None,
    }
}

/// Dependencies, built once per sandbox.
#[derive(Debug)]
pub struct Deps {
    pub ddb: aws_sdk_dynamodb::Client,
    pub entity_table: String,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub jwt_secret_arn: String,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub clock: SharedClock,
    /// Usage plan keys per tier; `None`: usage plans not enforced.
    pub usage_keys: Option<UsageKeys>,
    /// The hot-read cache of API key lookups (`REDIS_ENDPOINT`), `None` when the stage has none.
    pub cache: Option<Cache>,
    /// The OIDC issuer whose RS256/ES256 tokens are accepted, `None`: HS256 only.
    pub oidc: Option<oidc::Oidc>,
    jwt_keys: SigningSecret,
}

/// The API Gateway API keys of the tiers' usage plans, resolved to their values on first use.
#[derive(Debug)]
pub struct UsageKeys {
    /// Tier to API key id.
    pub ids: BTreeMap<Tier, String>,
    /// `https://apigateway.<region>.amazonaws.com`, or `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    pub region: String,
    pub credentials: aws_credential_types::Credentials,
    http: tokio::sync::OnceCell<powertools::http::HttpClient>,
    values: Mutex<BTreeMap<String, String>>,
}

impl UsageKeys {
    /// Parses `USAGE_PLAN_KEY_IDS` (`free=abc123,pro=def456`).
    pub fn parse(
        spec: &str,
        endpoint: &str,
        region: &str,
        credentials: aws_credential_types::Credentials,
    ) -> Result<UsageKeys, ConfigError> {
        let bad = || ConfigError::Invalid {
            var: env::USAGE_PLAN_KEY_IDS,
            value: spec.into(),
            expected: "comma-separated tier=<api key id> pairs, tiers free, pro, enterprise, ids alphanumeric",
        };
        let mut ids = BTreeMap::new();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (tier, id) = pair.split_once('=').ok_or_else(bad)?;
            let tier = Tier::parse(tier.trim()).map_err(|_| bad())?;
            let id = id.trim();
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(bad());
            }
            ids.insert(tier, id.to_string());
        }
        Ok(UsageKeys {
            ids,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.into(),
            credentials,
            http: tokio::sync::OnceCell::new(),
            values: Mutex::new(BTreeMap::new()),
        })
    }

    /// The key value for a tier (`None` when the tier has no usage plan key).
    pub async fn value(&self, tier: Tier) -> Result<Option<String>, AuthError> {
        let Some(id) = self.ids.get(&tier) else { return Ok(None) };
        if let Some(v) = self.values.lock().ok().and_then(|m| m.get(id).cloned()) {
            return Ok(Some(v));
        }
        let internal = |e: String| AuthError::Internal(format!("usage plan key {id}: {e}"));
        let url = format!("{}/apikeys/{id}?includeValue=true", self.endpoint);
        let host = url.split("://").nth(1).and_then(|r| r.split('/').next()).unwrap_or("").to_string();
        let mut req = http::Request::get(&url)
            .header("host", host)
            .header("accept", "application/json")
            .body(bytes::Bytes::new())
            .map_err(|e| internal(e.to_string()))?;
        powertools::http::sign_sigv4(
            &mut req,
            &self.credentials,
            &self.region,
            "apigateway",
            std::time::SystemTime::now(),
        )
        .map_err(|e| internal(e.to_string()))?;
        let client = self
            .http
            .get_or_try_init(|| async { powertools::http::HttpClient::new(Duration::from_secs(3)) })
            .await
            .map_err(|e| internal(e.to_string()))?;
        let resp = client.send(req).await.map_err(|e| internal(e.to_string()))?;
        if resp.status != 200 {
            return Err(internal(format!("GetApiKey answered {}", resp.status)));
        }
        let v: serde_json::Value = serde_json::from_slice(&resp.body).map_err(|e| internal(e.to_string()))?;
        let value =
            v["value"].as_str().filter(|s| !s.is_empty()).ok_or_else(|| internal("no value in GetApiKey".into()))?;
        if let Ok(mut m) = self.values.lock() {
            m.insert(id.clone(), value.to_string());
        }
        Ok(Some(value.to_string()))
    }
}

impl Deps {
    /// From the SDK config and the env vars listed in `platform_types::routes::handler_env(Handler::Authorizer)`;
    /// with `USAGE_PLAN_KEY_IDS`, the function's credentials sign the `GetApiKey` calls, sent to
    /// `AWS_ENDPOINT_URL` when set (local runs), else to the region's API Gateway endpoint.
    pub fn from_env(config: &SdkConfig, vars: &Env<'_>) -> Result<Deps, ConfigError> {
        let mut deps = Deps::new(
            powertools::aws::dynamodb_client(config, None),
            &vars.required(env::TABLE_NAME)?,
            aws_sdk_secretsmanager::Client::new(config),
            &vars.required(env::JWT_SECRET_ARN)?,
            powertools::clock::system(),
        );
        deps.issuer = vars.optional(env::JWT_ISSUER);
        deps.audience = vars.optional(env::JWT_AUDIENCE);
        deps.cache = Cache::from_env(vars)?;
        deps.oidc = oidc::Oidc::from_env(vars, deps.clock.clone())?;
        if let Some(spec) = vars.optional(env::USAGE_PLAN_KEY_IDS) {
            let region = config.region().map(|r| r.to_string()).ok_or(ConfigError::Missing(env::AWS_REGION))?;
            let endpoint = vars
                .optional("AWS_ENDPOINT_URL")
                .unwrap_or_else(|| format!("https://apigateway.{region}.amazonaws.com"));
            let credentials = powertools::aws::credentials_from(vars)?;
            deps.usage_keys = Some(UsageKeys::parse(&spec, &endpoint, &region, credentials)?);
        }
        Ok(deps)
    }

    pub fn new(
        ddb: aws_sdk_dynamodb::Client,
        entity_table: &str,
        secrets: aws_sdk_secretsmanager::Client,
        jwt_secret_arn: &str,
        clock: SharedClock,
    ) -> Deps {
        Deps {
            ddb,
            entity_table: entity_table.into(),
            jwt_keys: SigningSecret::new(secrets.clone(), jwt_secret_arn, clock.clone()).with_ttl(SECRET_CACHE),
            secrets,
            jwt_secret_arn: jwt_secret_arn.into(),
            issuer: None,
            audience: None,
            clock,
            usage_keys: None,
            cache: None,
            oidc: None,
        }
    }

    /// The JWT signing keys (current, and pending during a rotation); cached, `refresh` forces a fetch when the
    /// cached pair is older than 30 s.
    async fn jwt_keys(&self, refresh: bool) -> Result<Arc<SigningKeys>, AuthError> {
        self.jwt_keys.keys(refresh).await.map_err(|e| AuthError::Internal(format!("jwt secret: {e}")))
    }
}

/// The TOKEN authorizer event (`type`, `authorizationToken`, `methodArn`).
pub type TokenEvent = aws_lambda_events::event::apigw::ApiGatewayCustomAuthorizerRequest;

/// Authorizes one request.
pub async fn handle(deps: &Deps, event: TokenEvent) -> Result<AuthorizerResponse, AuthError> {
    let method_arn = event.method_arn.as_deref().ok_or(AuthError::Unauthorized)?;
    if stage_arn(method_arn).is_none() {
        return Err(AuthError::Unauthorized);
    }
    let token = event.authorization_token.as_deref().unwrap_or("").trim();
    let (scheme, credential) = token.split_once(' ').ok_or(AuthError::Unauthorized)?;
    let credential = credential.trim();
    let verdict = match scheme {
        s if s.eq_ignore_ascii_case("apikey") => api_key(deps, method_arn, credential).await?,
        s if s.eq_ignore_ascii_case("bearer") => jwt(deps, method_arn, credential).await?,
        _ => return Err(AuthError::Unauthorized),
    };
    Ok(match verdict {
        Ok(mut allow) => {
            // A key with its own usage plan key named it already; the others get their tier's.
            if let Some(keys) = &deps.usage_keys
                && allow.usage_identifier_key.is_none()
            {
                let tier =
                    allow.context.get(context_keys::TIER).and_then(|t| Tier::parse(t).ok()).unwrap_or(Tier::Free);
                allow.usage_identifier_key = keys.value(tier).await?;
            }
            allow
        }
        Err(denied) => {
            tracing::info!(reason = %denied, "denied");
            deny(method_arn)
        }
    })
}

/// What the authorizer needs of an API key item; what the hot-read cache holds for its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct KeyRecord {
    sk: String,
    status: String,
    tenant_id: String,
    tier: String,
    /// `tenant` when the key has its own API Gateway usage plan key ([`table::USAGE_KEY_ATTRIBUTE`]). Absent in
    /// entries cached before the attribute existed: they get the tier's key until they expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    usage_key: Option<String>,
}

/// The key item of `hash` on GSI1 (1 `Query`), through the cache when the stage has one: only an active key is
/// cached (an unknown key is not: creating it is an INSERT, which does not invalidate), and the stream processor
/// deletes the entry when the key is revoked or removed. A cache outage is a miss.
async fn key_record(deps: &Deps, hash: &str) -> Result<Option<KeyRecord>, AuthError> {
    let gsi1_pk = apikeys::gsi1_pk(hash);
    let cache_key = powertools::cache::api_key_key(&gsi1_pk);
    if let Some(cache) = &deps.cache
        && let Lookup::Hit(v) = cache.get(&cache_key).await
    {
        match serde_json::from_str::<KeyRecord>(&v) {
            Ok(r) => return Ok(Some(r)),
            Err(e) => tracing::warn!(error = %e, "unreadable cached api key record, reading dynamodb"),
        }
    }
    let out = retry(&RetryPolicy::default(), classify, || {
        deps.ddb
            .query()
            .table_name(&deps.entity_table)
            .index_name(table::GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", table::GSI1_PARTITION_KEY)
            .expression_attribute_values(":pk", s(&gsi1_pk))
            .limit(1)
            .send()
    })
    .await
    .map_err(|e| {
        AuthError::Internal(format!("api key lookup: {}", powertools::idempotency::error_message(&e.into_inner())))
    })?;
    let Some(item) = out.items().first() else { return Ok(None) };
    let attr = |name: &str| get_s(item, name).map(String::from).unwrap_or_default();
    let record = KeyRecord {
        sk: attr(table::SORT_KEY),
        status: attr("status"),
        tenant_id: attr("tenant_id"),
        tier: attr("tier"),
        usage_key: get_s(item, table::USAGE_KEY_ATTRIBUTE).ok().map(String::from),
    };
    if let Some(cache) = &deps.cache
        && record.status == "active"
        && let Ok(v) = serde_json::to_string(&record)
    {
        cache.put(&cache_key, &v).await;
    }
    Ok(Some(record))
}

async fn api_key(deps: &Deps, method_arn: &str, key: &str) -> Result<Result<AuthorizerResponse, Denied>, AuthError> {
    let Some(key_id) = apikeys::key_id(key) else { return Err(AuthError::Unauthorized) };
    let hash = apikeys::hash(key);
    let Some(item) = key_record(deps, &hash).await? else { return Ok(Err(Denied::UnknownKey)) };
    let active = item.status == "active";
    let same_key = item.sk.strip_prefix(table::API_KEY_PREFIX) == Some(key_id);
    if !active || !same_key {
        return Ok(Err(Denied::UnknownKey));
    }
    let Ok(tenant) = TenantId::parse(&item.tenant_id) else {
        return Err(AuthError::Internal("api key item without a valid tenant_id".into()));
    };
    let tier = Tier::parse(&item.tier).unwrap_or(Tier::Free);
    let mut allowed = allow(
        method_arn,
        &format!("apikey:{key_id}"),
        &tenant,
        tier,
        &[(context_keys::AUTH_TYPE, "apikey"), ("keyId", key_id)],
    );
    if item.usage_key.as_deref() == Some(apikeys::USAGE_KEY_TENANT) {
        allowed.usage_identifier_key = Some(hash);
    }
    Ok(Ok(allowed))
}

/// JWT claims the platform uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// A string or an array of strings (RFC 7519 §4.1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
}

fn b64(s: &str) -> Result<Vec<u8>, Denied> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| Denied::Jwt("not base64url".into()))
}

/// Signs claims as an HS256 JWT (for tests and for operators issuing tokens).
pub fn sign_jwt(key: &[u8], claims: &serde_json::Value) -> String {
    let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let signing_input = format!("{}.{}", enc(br#"{"alg":"HS256","typ":"JWT"}"#), enc(claims.to_string().as_bytes()));
    let sig = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(signing_input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    };
    format!("{signing_input}.{}", enc(&sig))
}

/// Verifies an HS256 JWT and returns its claims.
pub fn verify_jwt(
    key: &[u8],
    token: &str,
    now_s: u64,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<Claims, Denied> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(Denied::Jwt("not three segments".into()));
    };
    let header: serde_json::Value =
        serde_json::from_slice(&b64(h)?).map_err(|_| Denied::Jwt("header is not JSON".into()))?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err(Denied::Jwt(format!(
            "alg {} not allowed, only HS256",
            header.get("alg").unwrap_or(&serde_json::Value::Null)
        )));
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| Denied::Jwt("bad key".into()))?;
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&b64(sig)?).map_err(|_| Denied::Jwt("bad signature".into()))?;
    check_claims(&b64(p)?, now_s, issuer, audience)
}

/// The claims of a verified token's payload, checked: `exp` (required), `nbf`, `iss` and `aud` when expected.
pub fn check_claims(
    payload: &[u8],
    now_s: u64,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<Claims, Denied> {
    let claims: Claims = serde_json::from_slice(payload).map_err(|e| Denied::Jwt(format!("claims: {e}")))?;
    if claims.exp <= now_s {
        return Err(Denied::Jwt("expired".into()));
    }
    if claims.nbf.is_some_and(|nbf| nbf > now_s) {
        return Err(Denied::Jwt("not yet valid".into()));
    }
    if let Some(iss) = issuer
        && claims.iss.as_deref() != Some(iss)
    {
        return Err(Denied::Jwt("wrong issuer".into()));
    }
    if let Some(aud) = audience {
        let ok = match &claims.aud {
            Some(serde_json::Value::String(a)) => a == aud,
            Some(serde_json::Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(aud)),
            _ => false,
        };
        if !ok {
            return Err(Denied::Jwt("wrong audience".into()));
        }
    }
    Ok(claims)
}

/// Verifies `token` with each key in turn (current first): during a rotation a token signed with the old or the
/// new value verifies. Only a bad signature moves on to the next key; any other verdict is final.
fn verify_with_any(
    keys: &SigningKeys,
    token: &str,
    now_s: u64,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<Claims, Denied> {
    let mut verdict = Err(Denied::Jwt("bad signature".into()));
    for key in keys.all() {
        verdict = verify_jwt(key, token, now_s, issuer, audience);
        if !matches!(&verdict, Err(Denied::Jwt(m)) if m == "bad signature") {
            break;
        }
    }
    verdict
}

async fn jwt(deps: &Deps, method_arn: &str, token: &str) -> Result<Result<AuthorizerResponse, Denied>, AuthError> {
    if token.split('.').count() != 3 {
        return Err(AuthError::Unauthorized);
    }
    let now_s = deps.clock.now_millis() / 1000;
    let (verified, auth_type) = match header_alg(token).as_deref() {
        // The issuer's keys; never the shared secret, and the HS256 path never sees a JWKS key.
        Some("RS256" | "ES256") => {
            let Some(oidc) = &deps.oidc else {
                return Ok(Err(Denied::Jwt("RS256/ES256 tokens need an oidc issuer; none is configured".into())));
            };
            let verified = match oidc.verify_signature(token).await? {
                Ok(payload) => check_claims(&payload, now_s, Some(&oidc.issuer), Some(&oidc.audience)),
                Err(d) => Err(d),
            };
            (verified, "oidc")
        }
        // HS256, and every other alg, which `verify_jwt` refuses by name.
        _ => {
            let (iss, aud) = (deps.issuer.as_deref(), deps.audience.as_deref());
            let mut verified = verify_with_any(&*deps.jwt_keys(false).await?, token, now_s, iss, aud);
            if matches!(&verified, Err(Denied::Jwt(m)) if m == "bad signature") {
                // A rotation may have started or finished since the keys were cached.
                verified = verify_with_any(&*deps.jwt_keys(true).await?, token, now_s, iss, aud);
            }
            (verified, "jwt")
        }
    };
    let claims = match verified {
        Ok(c) => c,
        Err(d) => return Ok(Err(d)),
    };
    let Ok(tenant) = TenantId::parse(&claims.tenant_id) else {
        return Ok(Err(Denied::Jwt(format!("invalid tenant_id {:?}", claims.tenant_id))));
    };
    let tier = match claims.tier.as_deref().map(Tier::parse) {
        None => Tier::Free,
        Some(Ok(t)) => t,
        Some(Err(e)) => return Ok(Err(Denied::Jwt(e.to_string()))),
    };
    Ok(Ok(allow(method_arn, &claims.sub, &tenant, tier, &[(context_keys::AUTH_TYPE, auth_type)])))
}

/// The `alg` of a token's header, if it has a readable one.
fn header_alg(token: &str) -> Option<String> {
    let header: serde_json::Value = serde_json::from_slice(&b64(token.split('.').next()?).ok()?).ok()?;
    header.get("alg")?.as_str().map(str::to_string)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &[u8] = b"test-signing-key";

    fn from_env(vars: &[(&str, &str)]) -> Result<Deps, ConfigError> {
        testkit::from_lambda_env(vars, Deps::from_env)
    }

    #[test]
    fn deps_from_env() {
        let required = [("TABLE_NAME", "entities"), ("JWT_SECRET_ARN", "arn:jwt")];
        let d = from_env(&required).unwrap();
        assert_eq!((d.entity_table.as_str(), d.jwt_secret_arn.as_str()), ("entities", "arn:jwt"));
        assert_eq!((d.issuer.as_deref(), d.audience.as_deref(), d.usage_keys.is_none()), (None, None, true));
        assert_eq!(from_env(&required[1..]).unwrap_err(), ConfigError::Missing("TABLE_NAME"));
        assert_eq!(from_env(&required[..1]).unwrap_err(), ConfigError::Missing("JWT_SECRET_ARN"));

        let mut all = required.to_vec();
        all.extend([("JWT_ISSUER", "iss"), ("JWT_AUDIENCE", "aud"), ("USAGE_PLAN_KEY_IDS", "pro=abc1, free=def2")]);
        let d = from_env(&all).unwrap();
        assert_eq!((d.issuer.as_deref(), d.audience.as_deref()), (Some("iss"), Some("aud")));
        let keys = d.usage_keys.unwrap();
        assert_eq!(keys.ids, BTreeMap::from([(Tier::Free, "def2".to_string()), (Tier::Pro, "abc1".to_string())]));
        assert_eq!(
            (keys.endpoint.as_str(), keys.region.as_str(), keys.credentials.access_key_id()),
            ("https://apigateway.eu-west-1.amazonaws.com", "eu-west-1", "AKID")
        );
        all.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/"));
        assert_eq!(from_env(&all).unwrap().usage_keys.unwrap().endpoint, "http://127.0.0.1:5000");

        for bad in ["gold=abc", "pro", "pro=", "pro=a-b"] {
            let mut vars = required.to_vec();
            vars.push(("USAGE_PLAN_KEY_IDS", bad));
            assert_eq!(
                from_env(&vars).unwrap_err(),
                ConfigError::Invalid {
                    var: "USAGE_PLAN_KEY_IDS",
                    value: bad.into(),
                    expected: "comma-separated tier=<api key id> pairs, tiers free, pro, enterprise, ids alphanumeric"
                }
            );
        }
    }

    fn token(claims: serde_json::Value) -> String {
        sign_jwt(KEY, &claims)
    }

    #[test]
    fn jwt_cases() {
        let now = 1_700_000_000;
        let good =
            json!({"sub": "u1", "tenant_id": "acme", "tier": "pro", "exp": now + 60, "iss": "me", "aud": ["api"]});
        let c = verify_jwt(KEY, &token(good.clone()), now, Some("me"), Some("api")).unwrap();
        assert_eq!((c.tenant_id.as_str(), c.tier.as_deref()), ("acme", Some("pro")));
        let check = |t: String, iss: Option<&str>, aud: Option<&str>, expected: &str| {
            assert_eq!(verify_jwt(KEY, &t, now, iss, aud).unwrap_err(), Denied::Jwt(expected.into()));
        };
        check(token(json!({"sub": "u", "tenant_id": "a", "exp": now})), None, None, "expired");
        check(
            token(json!({"sub": "u", "tenant_id": "a", "exp": now + 9, "nbf": now + 5})),
            None,
            None,
            "not yet valid",
        );
        check(token(good.clone()), Some("other"), None, "wrong issuer");
        check(token(good.clone()), None, Some("web"), "wrong audience");
        check(sign_jwt(b"another key", &good), None, None, "bad signature");
        // alg=none with an empty signature: refused before any signature check.
        let enc = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let none = format!("{}.{}.", enc(br#"{"alg":"none"}"#), enc(good.to_string().as_bytes()));
        check(none, None, None, "alg \"none\" not allowed, only HS256");
        // A tampered payload keeps the old signature.
        let t = token(good);
        let mut parts: Vec<&str> = t.split('.').collect();
        let evil = enc(json!({"sub": "u1", "tenant_id": "victim", "exp": now + 60}).to_string().as_bytes());
        parts[1] = &evil;
        check(parts.join("."), None, None, "bad signature");
    }

    #[test]
    fn policies_are_tenant_scoped() {
        let arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/tenants/acme/orders";
        assert_eq!(stage_arn(arn).as_deref(), Some("arn:aws:execute-api:us-east-1:123456789012:abc123/prod"));
        let a = allow(arn, "u1", &TenantId::parse("acme").unwrap(), Tier::Pro, &[]);
        assert_eq!(
            a.policy_document.statement[0].resource,
            vec![
                "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/tenants/acme",
                "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*/tenants/acme/*",
            ]
        );
        assert_eq!(a.context["tenantId"], "acme");
        assert!(a.is_allow());
        let d = deny(arn);
        assert!(!d.is_allow());
        assert_eq!(
            d.policy_document.statement[0].resource,
            vec!["arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"]
        );
        assert_eq!(stage_arn("not-an-arn"), None);
    }
}
