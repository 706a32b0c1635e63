//! A tenant API key's own API Gateway API key (`USAGE_PLAN_NAMES`): created in the usage plan of the tenant's
//! tier when the key is created, deleted when it is revoked, so API Gateway throttles and counts quotas per
//! tenant key instead of per tier.
//!
//! The gateway key's value is the tenant key's SHA-256 (what the authorizer computes from the presented key and
//! returns as `usageIdentifierKey`), never the plaintext: API Gateway stores key values readable with
//! `apigateway:GET`, and the plaintext must exist only with the client. Its name is `tenant/<tenant>/<key id>`,
//! so a revocation finds it without storing the gateway's id.
//!
//! Calls are SigV4-signed REST requests on the `powertools::http` client (the authorizer's `GetApiKey` does the
//! same): five operations do not justify the API Gateway SDK crate's build time and size in the `api` zip.
//! <https://docs.aws.amazon.com/apigateway/latest/api/API_Operations.html>

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use platform_types::env;
use powertools::config::{ConfigError, Env};
use powertools::http::HttpClient;
use powertools::tenant::{TenantId, Tier};
use serde_json::{Value, json};

/// Timeout of one management call: API Gateway answers in tens of milliseconds; the API's own timeout is 10 s.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a gateway call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The request could not be built, signed or sent, or the answer read.
    #[error("api gateway {operation}: {message}")]
    Call { operation: &'static str, message: String },
    /// API Gateway answered with an error status.
    #[error("api gateway {operation} answered {status}: {body}")]
    Status { operation: &'static str, status: u16, body: String },
    /// `USAGE_PLAN_NAMES` names a plan the region does not have.
    #[error("no usage plan named {name:?} (tier {tier}) in the region: is the stage's Api stack deployed?")]
    NoPlan { tier: &'static str, name: String },
}

/// The usage plans of the tiers and how to reach API Gateway.
#[derive(Debug)]
pub struct GatewayKeys {
    /// Tier to usage plan name.
    pub plans: BTreeMap<Tier, String>,
    /// `https://apigateway.<region>.amazonaws.com`, or `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    pub region: String,
    credentials: aws_credential_types::Credentials,
    http: tokio::sync::OnceCell<HttpClient>,
    /// Plan name to id (`GetUsagePlans`): read on first use, read again only when a name is missing (the Api
    /// stack was not deployed yet when it was read).
    plan_ids: tokio::sync::Mutex<BTreeMap<String, String>>,
}

impl GatewayKeys {
    /// From `USAGE_PLAN_NAMES` (`free=<plan name>,pro=...`), `AWS_REGION`, `AWS_ENDPOINT_URL` and the function's
    /// credentials; `None` when the variable is unset.
    pub fn from_env(vars: &Env<'_>) -> Result<Option<GatewayKeys>, ConfigError> {
        let Some(spec) = vars.optional(env::USAGE_PLAN_NAMES) else { return Ok(None) };
        let region = vars.required(env::AWS_REGION)?;
        let endpoint = vars
            .optional("AWS_ENDPOINT_URL")
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| format!("https://apigateway.{region}.amazonaws.com"));
        let credentials = powertools::aws::credentials_from(vars)?;
        Ok(Some(GatewayKeys::new(parse_plans(&spec)?, &endpoint, &region, credentials)))
    }

    pub fn new(
        plans: BTreeMap<Tier, String>,
        endpoint: &str,
        region: &str,
        credentials: aws_credential_types::Credentials,
    ) -> GatewayKeys {
        GatewayKeys {
            plans,
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: region.into(),
            credentials,
            http: tokio::sync::OnceCell::new(),
            plan_ids: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// One signed call; `body` as JSON. Answers the status and the parsed body (`null` when empty).
    pub async fn call(
        &self,
        operation: &'static str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), GatewayError> {
        let fail = |message: String| GatewayError::Call { operation, message };
        let url = format!("{}{path}", self.endpoint);
        let host = url.split("://").nth(1).and_then(|r| r.split('/').next()).unwrap_or("").to_string();
        let payload = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let mut req = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("host", host)
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .body(payload)
            .map_err(|e| fail(e.to_string()))?;
        powertools::http::sign_sigv4(
            &mut req,
            &self.credentials,
            &self.region,
            "apigateway",
            std::time::SystemTime::now(),
        )
        .map_err(|e| fail(e.to_string()))?;
        let client = self
            .http
            .get_or_try_init(|| async { HttpClient::new(CALL_TIMEOUT) })
            .await
            .map_err(|e| fail(e.to_string()))?;
        let resp = client.send(req).await.map_err(|e| fail(e.to_string()))?;
        let value =
            if resp.body.is_empty() { Value::Null } else { serde_json::from_slice(&resp.body).unwrap_or(Value::Null) };
        Ok((resp.status, value))
    }

    /// Like [`GatewayKeys::call`], an error unless the status is 2xx.
    async fn ok(
        &self,
        operation: &'static str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, GatewayError> {
        match self.call(operation, method, path, body).await? {
            (200..=299, v) => Ok(v),
            (status, v) => Err(GatewayError::Status { operation, status, body: v.to_string() }),
        }
    }

    /// The id of `tier`'s usage plan; `None` when the tier has no plan in `USAGE_PLAN_NAMES`.
    async fn plan_id(&self, tier: Tier) -> Result<Option<String>, GatewayError> {
        let Some(name) = self.plans.get(&tier) else { return Ok(None) };
        let mut ids = self.plan_ids.lock().await;
        if !ids.contains_key(name) {
            // 500 is the page maximum; a region has a few plans per stage.
            let v = self.ok("GetUsagePlans", "GET", "/usageplans?limit=500", None).await?;
            let items = v["item"].as_array().cloned().unwrap_or_default();
            *ids = items
                .iter()
                .filter_map(|p| Some((p["name"].as_str()?.to_string(), p["id"].as_str()?.to_string())))
                .collect();
        }
        match ids.get(name) {
            Some(id) => Ok(Some(id.clone())),
            None => Err(GatewayError::NoPlan { tier: tier.as_str(), name: name.clone() }),
        }
    }

    /// Whether keys of `tier` get a gateway key (the tier has a usage plan in `USAGE_PLAN_NAMES`).
    pub fn covers(&self, tier: Tier) -> bool {
        self.plans.contains_key(&tier)
    }

    /// Creates the gateway key of tenant key `key_id` with `value` (its SHA-256) in `tier`'s usage plan; answers
    /// the gateway key's id. A tier without a plan gets no key (`None`). Safe to repeat: an existing key of that
    /// name is reused, and a key already in the plan is success.
    pub async fn create(
        &self,
        tenant: &TenantId,
        key_id: &str,
        value: &str,
        tier: Tier,
    ) -> Result<Option<String>, GatewayError> {
        let Some(plan) = self.plan_id(tier).await? else { return Ok(None) };
        let name = key_name(tenant, key_id);
        let body = json!({"name": name, "value": value, "enabled": true,
            "description": format!("usage plan key of tenant {tenant}, api key {key_id}")});
        let id = match self.call("CreateApiKey", "POST", "/apikeys", Some(&body)).await? {
            (200..=299, v) => v["id"].as_str().map(str::to_string),
            // 409: a key with this value exists (values are unique): a repeated call; reuse the key of that name.
            (409, _) => self.find(&name).await?.into_iter().next(),
            (status, v) => {
                return Err(GatewayError::Status { operation: "CreateApiKey", status, body: v.to_string() });
            }
        }
        .ok_or_else(|| GatewayError::Call { operation: "CreateApiKey", message: format!("no key named {name}") })?;
        let body = json!({"keyId": id, "keyType": "API_KEY"});
        match self.call("CreateUsagePlanKey", "POST", &format!("/usageplans/{plan}/keys"), Some(&body)).await? {
            // 409: the key is already in the plan (a repeated call).
            (200..=299 | 409, _) => Ok(Some(id)),
            (status, v) => Err(GatewayError::Status { operation: "CreateUsagePlanKey", status, body: v.to_string() }),
        }
    }

    /// Deletes the gateway key of tenant key `key_id` (which also takes it out of its plan); answers how many were
    /// deleted. None found is success: a repeated revocation, or a key made before the stage had per-tenant keys.
    pub async fn delete(&self, tenant: &TenantId, key_id: &str) -> Result<usize, GatewayError> {
        let ids = self.find(&key_name(tenant, key_id)).await?;
        for id in &ids {
            match self.call("DeleteApiKey", "DELETE", &format!("/apikeys/{id}"), None).await? {
                (200..=299 | 404, _) => {}
                (status, v) => {
                    return Err(GatewayError::Status { operation: "DeleteApiKey", status, body: v.to_string() });
                }
            }
        }
        Ok(ids.len())
    }

    /// The ids of the gateway keys named exactly `name` (`GetApiKeys` matches a name prefix).
    async fn find(&self, name: &str) -> Result<Vec<String>, GatewayError> {
        let v = self.ok("GetApiKeys", "GET", &format!("/apikeys?name={}&limit=500", encode(name)), None).await?;
        Ok(v["item"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|k| k["name"].as_str() == Some(name))
                    .filter_map(|k| k["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// The gateway key's name: `tenant/<tenant>/<key id>`.
pub fn key_name(tenant: &TenantId, key_id: &str) -> String {
    format!("tenant/{tenant}/{key_id}")
}

/// Percent-encodes a query value (tenant ids and key ids are `[A-Za-z0-9_-]`; the `/` separators are encoded).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Parses `free=<plan name>,pro=<plan name>`.
pub fn parse_plans(spec: &str) -> Result<BTreeMap<Tier, String>, ConfigError> {
    let bad = || ConfigError::Invalid {
        var: env::USAGE_PLAN_NAMES,
        value: spec.into(),
        expected: "comma-separated tier=<usage plan name> pairs, tiers free, pro, enterprise",
    };
    let mut plans = BTreeMap::new();
    for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (tier, name) = pair.split_once('=').ok_or_else(bad)?;
        let tier = Tier::parse(tier.trim()).map_err(|_| bad())?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad());
        }
        plans.insert(tier, name.to_string());
    }
    if plans.is_empty() {
        return Err(bad());
    }
    Ok(plans)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn plans_parse() {
        assert_eq!(
            parse_plans("free=p-api-FreePlan, pro=p-api-ProPlan").unwrap(),
            BTreeMap::from([(Tier::Free, "p-api-FreePlan".to_string()), (Tier::Pro, "p-api-ProPlan".to_string())])
        );
        for bad in ["", "gold=x", "free", "free="] {
            assert_eq!(
                parse_plans(bad).unwrap_err(),
                ConfigError::Invalid {
                    var: "USAGE_PLAN_NAMES",
                    value: bad.into(),
                    expected: "comma-separated tier=<usage plan name> pairs, tiers free, pro, enterprise"
                }
            );
        }
        assert_eq!(encode("tenant/acme/01J"), "tenant%2Facme%2F01J");
    }
}
