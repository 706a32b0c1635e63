//! `GET /tenants/{tenant_id}/events`: the audit read model (the documents the `indexer` writes to OpenSearch),
//! one SigV4-signed `GET <endpoint>/<index>/_search` per request.
//!
//! A function of its own rather than a route of the `api` read function: only this role is in the search domain's
//! access policy and its security group, with `es:ESHttpGet` on `<domain>/<index>/_search` alone (no write path of
//! OpenSearch, no other index), and the API's read function keeps no OpenSearch grant and stays out of the VPC
//! when the stage has no cache. The binary links no AWS SDK client (the credentials come from the Lambda
//! environment, the request is signed with `aws-sigv4`), so its zip is smaller than the API's.
//!
//! Order of checks: the tenant from the authorizer (401) and the path's tenant (403), then the stage's search
//! domain (501 without one: `features.search = false`, as in the local stage), then the query parameters (400,
//! [`query::parse`]), then OpenSearch (502 on an error answer, 504 on a timeout).

pub mod query;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use bytes::Bytes;
use platform_types::env;
use platform_types::routes::{Handler, routes};
use powertools::aws::SdkConfig;
use powertools::config::{ConfigError, Env};
use powertools::http::{HttpClient, HttpError};
use powertools::problem::Problem;
use powertools::router::{Request, Response, Router};
use powertools::tenant::TenantId;
use serde_json::Value;
use tokio::sync::OnceCell;

/// The index searched when `OPENSEARCH_INDEX` is not set: the indexer's default.
pub const DEFAULT_INDEX: &str = platform_types::routes::AUDIT_INDEX;

/// The stage's search domain.
#[derive(Debug)]
pub struct Backend {
    /// `https://<domain endpoint>` (no trailing slash).
    pub endpoint: String,
    pub index: String,
    pub region: String,
    /// SigV4 service name: `es` (managed domains).
    pub service: String,
    pub credentials: SharedCredentialsProvider,
    /// Within API Gateway's 29 s integration timeout with room to answer 504.
    pub timeout: Duration,
    http: OnceCell<HttpClient>,
}

impl Backend {
    pub fn new(endpoint: &str, index: &str, region: &str, credentials: SharedCredentialsProvider) -> Backend {
        Backend {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            index: index.into(),
            region: region.into(),
            service: "es".into(),
            credentials,
            timeout: Duration::from_secs(5),
            http: OnceCell::new(),
        }
    }
}

/// Dependencies, built once per sandbox.
#[derive(Debug)]
pub struct Deps {
    /// `None` when the stage has no search domain: the route answers 501.
    pub backend: Option<Backend>,
}

impl Deps {
    /// From the SDK config (region, credentials) and the env vars listed in
    /// `platform_types::routes::handler_env(Handler::EventSearch)`. Without `OPENSEARCH_ENDPOINT` the stage has no
    /// search domain, which is a valid configuration (501), not a start-up error. The endpoint may be given
    /// without its scheme (a domain's `DomainEndpoint` has none); it is always HTTPS.
    pub fn from_env(config: &SdkConfig, vars: &Env<'_>) -> Result<Deps, ConfigError> {
        let Some(endpoint) = vars.optional(env::OPENSEARCH_ENDPOINT) else {
            return Ok(Deps { backend: None });
        };
        let endpoint = if endpoint.starts_with("https://") { endpoint } else { format!("https://{endpoint}") };
        let index = vars.optional(env::OPENSEARCH_INDEX).unwrap_or_else(|| DEFAULT_INDEX.into());
        let region = config.region().map(|r| r.to_string()).ok_or(ConfigError::Missing(env::AWS_REGION))?;
        let credentials = config.credentials_provider().ok_or(ConfigError::Missing("AWS_ACCESS_KEY_ID"))?;
        Ok(Deps { backend: Some(Backend::new(&endpoint, &index, &region, credentials)) })
    }
}

/// What a request handler gets: the dependencies and the invocation's X-Ray header.
#[derive(Clone, Debug)]
pub struct State {
    pub deps: Arc<Deps>,
    pub trace_header: Option<String>,
}

/// The routes of `platform_types::routes()` served by this handler.
pub fn router() -> Router<State> {
    let mut r = Router::new();
    for route in routes().into_iter().filter(|r| r.handler == Handler::EventSearch) {
        r = r.route(route.method, route.path, route.operation, search);
    }
    r
}

/// One proxy event in, one proxy response out. Never fails: every error is a problem response.
pub async fn handle(state: State, router: &Router<State>, event: ApiGatewayProxyRequest) -> Response {
    match Request::from_apigw(event) {
        Ok(req) => router.handle(state, req).await,
        Err(p) => Response::problem(&p),
    }
}

/// `GET /tenants/{tenant_id}/events?q=&type=&from=&to=&limit=&cursor=`.
pub async fn search(state: State, req: Request) -> Result<Response, Problem> {
    let context = req.tenant()?;
    tracing::Span::current().record("tenant_id", context.tenant().as_str());
    let path_tenant: String = req.path_param("tenant_id")?;
    context.authorize_path_tenant(&path_tenant)?;
    let backend = state.deps.backend.as_ref().ok_or_else(|| {
        Problem::new(501)
            .with_detail("event search is not enabled in this stage: it has no search domain (features.search = false)")
    })?;
    let tenant = context.tenant();
    let params = query::parse(&req.query, tenant)?;
    let body = query::build(tenant, &params);
    let answer = send(backend, &body, state.trace_header.as_deref()).await?;
    let page = query::page(&answer, tenant, &params).map_err(|e| {
        tracing::error!(error = %e, "unreadable search answer");
        Problem::new(502).with_detail("the search backend's answer was unreadable")
    })?;
    Ok(Response::json(200, &page).with_header("cache-control", "no-store"))
}

/// The signed `_search` request: `GET` with a JSON body (OpenSearch takes either method; `GET` is what lets the
/// role's grant be `es:ESHttpGet`, which cannot write).
pub fn request(backend: &Backend, body: &Value, trace_header: Option<&str>) -> Result<http::Request<Bytes>, String> {
    let url = format!("{}/{}/_search", backend.endpoint, backend.index);
    let mut builder = http::Request::get(&url).header("content-type", "application/json");
    if let Some(host) = url.split("://").nth(1).and_then(|r| r.split('/').next()) {
        builder = builder.header("host", host);
    }
    if let Some((name, value)) = powertools::observability::trace_header(trace_header) {
        builder = builder.header(name, value);
    }
    builder.body(Bytes::from(body.to_string())).map_err(|e| e.to_string())
}

async fn send(backend: &Backend, body: &Value, trace_header: Option<&str>) -> Result<Value, Problem> {
    let unavailable = |what: &str, e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "{what}");
        Problem::new(502).with_detail("the search backend could not be reached")
    };
    let credentials = backend.credentials.provide_credentials().await.map_err(|e| unavailable("credentials", &e))?;
    let mut req = request(backend, body, trace_header).map_err(|e| unavailable("request", &e))?;
    powertools::http::sign_sigv4(&mut req, &credentials, &backend.region, &backend.service, SystemTime::now())
        .map_err(|e| unavailable("signing", &e))?;
    let client = backend
        .http
        .get_or_try_init(|| async { HttpClient::new(backend.timeout) })
        .await
        .map_err(|e| unavailable("tls setup", &e))?;
    let resp = match client.send(req).await {
        Ok(r) => r,
        Err(e @ HttpError::Timeout(_)) => {
            tracing::error!(error = %e, "search timed out");
            return Err(Problem::new(504).with_detail("the search backend did not answer in time"));
        }
        Err(e) => return Err(unavailable("search request", &e)),
    };
    if !(200..300).contains(&resp.status) {
        let text: String = String::from_utf8_lossy(&resp.body).chars().take(500).collect();
        tracing::error!(status = resp.status, body = %text, "search failed");
        return Err(Problem::new(502).with_detail(format!("the search backend answered {}", resp.status)));
    }
    serde_json::from_slice(&resp.body).map_err(|e| unavailable("search answer", &e))
}

/// The tenant the authorizer put in a proxy event, for logs and metrics.
pub fn tenant_of(event: &ApiGatewayProxyRequest) -> Option<TenantId> {
    event
        .request_context
        .authorizer
        .fields
        .get(powertools::tenant::context_keys::TENANT_ID)
        .and_then(|v| v.as_str())
        .and_then(|t| TenantId::parse(t).ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn deps_from_env() {
        let from_env = |vars: &[(&str, &str)]| testkit::from_lambda_env(vars, Deps::from_env);
        assert!(from_env(&[]).unwrap().backend.is_none(), "no search domain: 501, not a start-up error");
        let d = from_env(&[("OPENSEARCH_ENDPOINT", "search-audit.eu-west-1.es.amazonaws.com")]).unwrap();
        let b = d.backend.unwrap();
        assert_eq!(
            (b.endpoint.as_str(), b.index.as_str(), b.region.as_str(), b.service.as_str()),
            ("https://search-audit.eu-west-1.es.amazonaws.com", "audit-events", "eu-west-1", "es")
        );
        let d = from_env(&[("OPENSEARCH_ENDPOINT", "https://search.example/"), ("OPENSEARCH_INDEX", "audit")]).unwrap();
        let b = d.backend.unwrap();
        assert_eq!((b.endpoint.as_str(), b.index.as_str()), ("https://search.example", "audit"));
    }

    #[test]
    fn serves_exactly_its_contract_routes() {
        let contract: Vec<_> = routes()
            .into_iter()
            .filter(|r| r.handler == Handler::EventSearch)
            .map(|r| (r.method, r.path, r.operation))
            .collect();
        assert_eq!(router().routes(), contract);
        assert_eq!(contract, vec![("GET", "/tenants/{tenant_id}/events", "searchEvents")]);
    }
}
