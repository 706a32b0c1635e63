//! A router for API Gateway REST API proxy events, with typed extraction and `application/problem+json` errors.
//!
//! Routes are API Gateway resource templates (`/tenants/{tenant_id}/orders/{order_id}`), the same strings as
//! `platform_types::routes()`. The event's `resource` is matched first (API Gateway already routed the request);
//! the concrete `path` is matched against the templates otherwise (direct invocations, `{proxy+}` resources).
//!
//! Bodies are checked in the order API Gateway would: media type (415), size (413), JSON syntax (400), the
//! request type's JSON Schema (400, every violation listed under `errors`), then deserialized. A handler never
//! sees an invalid body, and a panic in a handler is a 500 problem, not a crashed runtime.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use powertools::router::{Request, Response, Router};
//! let router: Router<()> = Router::new()
//!     .route("GET", "/tenants/{tenant_id}/orders/{order_id}", "getOrder", |_state, req: Request| async move {
//!         let id: String = req.path_param("order_id")?;
//!         Ok(Response::json(200, &serde_json::json!({ "order_id": id })))
//!     });
//! let event = serde_json::from_value(serde_json::json!({
//!     "httpMethod": "GET", "path": "/tenants/t1/orders/42", "requestContext": {"httpMethod": "GET"}
//! })).unwrap();
//! let response = router.handle((), Request::from_apigw(event).unwrap()).await;
//! assert_eq!(response.status_code, 200);
//! assert_eq!(response.body.as_deref(), Some(r#"{"order_id":"42"}"#));
//! # });
//! ```

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, OnceLock, RwLock};

use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use base64::Engine;
use futures_util::FutureExt;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::problem::Problem;
use crate::tenant::TenantContext;

/// Largest body accepted. API Gateway allows 10 MB; the platform's requests are small, and a smaller bound keeps
/// parsing cost and idempotency records bounded.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request, decoded from the proxy event.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub resource: Option<String>,
    /// Path parameters (from the event, or from matching the template).
    pub path_params: HashMap<String, String>,
    /// Query parameters (first value of each).
    pub query: HashMap<String, String>,
    /// Headers, names lower case.
    pub headers: HashMap<String, String>,
    pub body: Option<Vec<u8>>,
    pub request_id: Option<String>,
    /// `requestContext.authorizer` fields.
    pub authorizer: HashMap<String, serde_json::Value>,
    /// The matched route's operation name (set by the router).
    pub operation: &'static str,
}

impl Request {
    /// Decodes a REST API proxy event. A base64 body that does not decode is a 400.
    pub fn from_apigw(e: ApiGatewayProxyRequest) -> Result<Request, Problem> {
        let body = match e.body {
            None => None,
            Some(b) if e.is_base64_encoded => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b.as_bytes())
                    .map_err(|_| Problem::new(400).with_detail("body is not valid base64"))?,
            ),
            Some(b) => Some(b.into_bytes()),
        };
        let headers = e
            .headers
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_ascii_lowercase(), v.to_string())))
            .collect();
        let query = e.query_string_parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Ok(Request {
            method: e.http_method.as_str().to_string(),
            path: e.path.unwrap_or_default(),
            resource: e.resource,
            path_params: e.path_parameters,
            query,
            headers,
            body,
            request_id: e.request_context.request_id,
            authorizer: e.request_context.authorizer.fields,
            operation: "",
        })
    }

    /// A header by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// The tenant from the authorizer context (401 when absent or malformed: the caller is not authenticated as
    /// a tenant).
    pub fn tenant(&self) -> Result<TenantContext, Problem> {
        TenantContext::from_authorizer(&self.authorizer).map_err(|e| Problem::new(401).with_detail(e.to_string()))
    }

    /// A path parameter, parsed. Missing or unparsable: 400.
    pub fn path_param<T: FromStr>(&self, name: &str) -> Result<T, Problem> {
        let raw = self
            .path_params
            .get(name)
            .ok_or_else(|| Problem::new(400).with_detail(format!("missing path parameter {name}")))?;
        raw.parse().map_err(|_| Problem::new(400).with_detail(format!("invalid path parameter {name}: {raw:?}")))
    }

    /// An optional query parameter, parsed. Unparsable: 400.
    pub fn query_param<T: FromStr>(&self, name: &str) -> Result<Option<T>, Problem> {
        match self.query.get(name) {
            None => Ok(None),
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|_| Problem::new(400).with_detail(format!("invalid query parameter {name}: {raw:?}"))),
        }
    }

    /// The JSON body as `T`, validated against `T`'s JSON Schema first. Returns the value and the parsed JSON
    /// (for fingerprints).
    pub fn json<T: DeserializeOwned + JsonSchema>(&self) -> Result<(T, serde_json::Value), Problem> {
        let media = self.header("content-type").unwrap_or("");
        let essence = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(Problem::new(415).with_detail(format!("content-type {media:?}, expected application/json")));
        }
        let body = self.body.as_deref().unwrap_or_default();
        if body.is_empty() {
            return Err(Problem::new(400).with_detail("a JSON body is required"));
        }
        if body.len() > MAX_BODY_BYTES {
            return Err(
                Problem::new(413).with_detail(format!("body of {} bytes, at most {MAX_BODY_BYTES}", body.len()))
            );
        }
        // serde_json bounds nesting at 128 levels, so deep input is an error, not a stack overflow.
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| Problem::new(400).with_detail(format!("body is not valid JSON: {e}")))?;
        let schema = schema_of::<T>();
        let errors = crate::schema::validate(&schema, &value);
        if !errors.is_empty() {
            return Err(Problem::new(400)
                .with_detail("body does not match the request schema")
                .with_extension("errors", serde_json::json!(errors)));
        }
        let typed = T::deserialize(&value)
            .map_err(|e| Problem::new(400).with_detail(format!("body does not match the request type: {e}")))?;
        Ok((typed, value))
    }
}

/// The JSON Schema of `T`, generated once per type and cached (generating it costs more than validating).
fn schema_of<T: JsonSchema>() -> Arc<serde_json::Value> {
    static CACHE: OnceLock<RwLock<HashMap<&'static str, Arc<serde_json::Value>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let name = std::any::type_name::<T>();
    if let Some(s) = cache.read().ok().and_then(|c| c.get(name).cloned()) {
        return s;
    }
    let schema = Arc::new(serde_json::to_value(platform_types::routes::request_schema::<T>()).unwrap_or_default());
    if let Ok(mut c) = cache.write() {
        c.insert(name, schema.clone());
    }
    schema
}

/// A proxy integration response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    pub is_base64_encoded: bool,
}

impl Response {
    /// A JSON response.
    pub fn json<T: Serialize>(status: u16, body: &T) -> Response {
        match serde_json::to_string(body) {
            Ok(b) => Response::raw(status, "application/json", b),
            Err(e) => Response::problem(&Problem::new(500).with_detail(format!("response serialization: {e}"))),
        }
    }

    pub fn raw(status: u16, content_type: &str, body: String) -> Response {
        let mut headers = BTreeMap::new();
        headers.insert("content-type".to_string(), content_type.to_string());
        Response { status_code: status, headers, body: Some(body), is_base64_encoded: false }
    }

    /// An empty response (204, 304).
    pub fn empty(status: u16) -> Response {
        Response { status_code: status, ..Response::default() }
    }

    /// A problem as `application/problem+json`, with its headers.
    pub fn problem(p: &Problem) -> Response {
        let mut r = Response::raw(p.status, "application/problem+json", p.body());
        for (k, v) in &p.headers {
            r.headers.insert(k.to_ascii_lowercase(), v.clone());
        }
        r
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.insert(name.to_ascii_lowercase(), value.into());
        self
    }
}

impl From<Problem> for Response {
    fn from(p: Problem) -> Response {
        Response::problem(&p)
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<Response, Problem>> + Send>>;
type HandlerFn<S> = Arc<dyn Fn(S, Request) -> BoxFuture + Send + Sync>;

struct Entry<S> {
    method: &'static str,
    template: &'static str,
    segments: Vec<&'static str>,
    operation: &'static str,
    handler: HandlerFn<S>,
}

/// Routes requests to async handlers taking a state `S` (cloned per request) and the [`Request`].
pub struct Router<S> {
    entries: Vec<Entry<S>>,
}

impl<S> Default for Router<S> {
    fn default() -> Self {
        Router { entries: Vec::new() }
    }
}

fn segments(p: &str) -> Vec<&str> {
    p.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect()
}

fn match_template(template: &[&'static str], path: &str) -> Option<HashMap<String, String>> {
    let parts = segments(path);
    if parts.len() != template.len() {
        return None;
    }
    let mut params = HashMap::new();
    for (t, p) in template.iter().zip(parts) {
        match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            Some(name) => {
                params.insert(name.to_string(), p.to_string());
            }
            None if *t == p => {}
            None => return None,
        }
    }
    Some(params)
}

impl<S: Clone + Send + 'static> Router<S> {
    pub fn new() -> Router<S> {
        Router::default()
    }

    /// Adds a route. `path` is an API Gateway resource template.
    pub fn route<F, Fut>(mut self, method: &'static str, path: &'static str, operation: &'static str, f: F) -> Self
    where
        F: Fn(S, Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response, Problem>> + Send + 'static,
    {
        let handler: HandlerFn<S> = Arc::new(move |s, r| Box::pin(f(s, r)));
        self.entries.push(Entry { method, template: path, segments: segments(path), operation, handler });
        self
    }

    /// The (method, template, operation) of every route, in insertion order.
    pub fn routes(&self) -> Vec<(&'static str, &'static str, &'static str)> {
        self.entries.iter().map(|e| (e.method, e.template, e.operation)).collect()
    }

    /// Finds the route: 404 when no template matches the path, 405 (with `Allow`) when only the method differs.
    fn find(&self, req: &Request) -> Result<(&Entry<S>, HashMap<String, String>), Problem> {
        let mut allowed = Vec::new();
        for e in &self.entries {
            let params = match &req.resource {
                Some(r) if r == e.template => Some(req.path_params.clone()),
                _ => match_template(&e.segments, &req.path),
            };
            let Some(params) = params else { continue };
            if e.method.eq_ignore_ascii_case(&req.method) {
                return Ok((e, params));
            }
            allowed.push(e.method);
        }
        if allowed.is_empty() {
            Err(Problem::new(404).with_detail(format!("no route for {}", req.path)))
        } else {
            Err(Problem::new(405).with_header("Allow", allowed.join(", ")))
        }
    }

    /// The operation a request would be routed to, if any.
    pub fn operation_of(&self, req: &Request) -> Option<&'static str> {
        self.find(req).ok().map(|(e, _)| e.operation)
    }

    /// Routes and runs the request; every error and panic becomes a problem response.
    pub async fn handle(&self, state: S, mut req: Request) -> Response {
        let (entry, params) = match self.find(&req) {
            Ok(x) => x,
            Err(p) => return Response::problem(&p),
        };
        for (k, v) in params {
            req.path_params.entry(k).or_insert(v);
        }
        req.operation = entry.operation;
        let fut = (entry.handler)(state, req);
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(Ok(r)) => r,
            Ok(Err(p)) => Response::problem(&p),
            Err(_) => {
                tracing::error!(operation = entry.operation, "handler panicked");
                Response::problem(&Problem::new(500).with_detail("internal error"))
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use platform_types::api::CreateSubscriptionRequest;
    use serde_json::json;

    fn router() -> Router<u32> {
        Router::new()
            .route("GET", "/tenants/{tenant_id}/orders/{order_id}", "getOrder", |n, req: Request| async move {
                Ok(Response::json(200, &json!({"n": n, "id": req.path_param::<String>("order_id")?})))
            })
            .route("POST", "/tenants/{tenant_id}/subscriptions", "createSubscription", |_, req: Request| async move {
                let (s, _) = req.json::<CreateSubscriptionRequest>()?;
                Ok(Response::json(201, &json!({"seats": s.seats})))
            })
            .route("GET", "/panic", "panic", |_, _| async move {
                if true {
                    panic!("boom");
                }
                Ok(Response::empty(204))
            })
    }

    fn req(method: &str, path: &str, body: Option<&str>, content_type: Option<&str>) -> Request {
        let mut headers = HashMap::new();
        if let Some(ct) = content_type {
            headers.insert("content-type".into(), ct.into());
        }
        Request {
            method: method.into(),
            path: path.into(),
            body: body.map(|b| b.as_bytes().to_vec()),
            headers,
            ..Request::default()
        }
    }

    async fn check(r: Request, status: u16, body: serde_json::Value) {
        let resp = router().handle(7, r).await;
        let got: serde_json::Value = serde_json::from_str(resp.body.as_deref().unwrap_or("null")).unwrap();
        assert_eq!((resp.status_code, got), (status, body));
        if status >= 400 {
            assert_eq!(resp.headers["content-type"], "application/problem+json");
        }
    }

    /// An `application/problem+json` body (RFC 9457).
    fn problem(status: u16, title: &str, detail: &str) -> serde_json::Value {
        json!({"type": "about:blank", "title": title, "status": status, "detail": detail})
    }

    #[tokio::test]
    async fn routing() {
        check(req("GET", "/tenants/a/orders/9", None, None), 200, json!({"id": "9", "n": 7})).await;
        let not_found = problem(404, "Not Found", "no route for /tenants/a/orders");
        check(req("GET", "/tenants/a/orders", None, None), 404, not_found).await;
        let not_allowed = json!({"type": "about:blank", "title": "Method Not Allowed", "status": 405});
        check(req("DELETE", "/tenants/a/orders/9", None, None), 405, not_allowed).await;
        let resp = router().handle(0, req("DELETE", "/tenants/a/orders/9", None, None)).await;
        assert_eq!(resp.headers["allow"], "GET");
        check(req("GET", "/panic", None, None), 500, problem(500, "Internal Server Error", "internal error")).await;
    }

    #[tokio::test]
    async fn body_extraction() {
        let json = Some("application/json");
        let p = "/tenants/a/subscriptions";
        let body = Some(r#"{"plan":"pro","seats":3}"#);
        check(req("POST", p, body, json), 201, json!({"seats": 3})).await;
        check(req("POST", p, body, Some("application/json; charset=utf-8")), 201, json!({"seats": 3})).await;
        let media = problem(415, "Unsupported Media Type", r#"content-type "text/plain", expected application/json"#);
        check(req("POST", p, body, Some("text/plain")), 415, media).await;
        check(req("POST", p, None, json), 400, problem(400, "Bad Request", "a JSON body is required")).await;
        let syntax = "body is not valid JSON: EOF while parsing an object at line 1 column 1";
        check(req("POST", p, Some("{"), json), 400, problem(400, "Bad Request", syntax)).await;
        // Every schema violation is listed, not only the first.
        let mut schema = problem(400, "Bad Request", "body does not match the request schema");
        schema["errors"] = json!([
            r#"/plan: "gold" is not one of ["free","pro","enterprise"]"#,
            "/seats: 0 is less than the minimum 1"
        ]);
        check(req("POST", p, Some(r#"{"plan":"gold","seats":0}"#), json), 400, schema).await;
        let big = format!(r#"{{"plan":"pro","seats":1,"x":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        let too_large = problem(413, "Content Too Large", "body of 65567 bytes, at most 65536");
        check(req("POST", p, Some(&big), json), 413, too_large).await;
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let recursion = "body is not valid JSON: recursion limit exceeded at line 1 column 128";
        check(req("POST", p, Some(&deep), json), 400, problem(400, "Bad Request", recursion)).await;
    }

    #[test]
    fn decodes_the_real_fixture() {
        let raw = testkit::fixtures::APIGW_PROXY_REQUEST;
        let event: ApiGatewayProxyRequest = serde_json::from_str(raw).unwrap();
        let r = Request::from_apigw(event).unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.resource.as_deref(), Some("/{proxy+}"));
        assert_eq!(r.header("Accept-Encoding"), Some("gzip, deflate"));
        assert_eq!(r.query.get("name").map(String::as_str), Some("me"));
        assert_eq!(r.request_id.as_deref(), Some("deef4878-7910-11e6-8f14-25afc3e9ae33"));
        assert_eq!(r.authorizer["principalId"], "admin");
        assert_eq!(r.tenant().unwrap_err().status, 401, "the fixture has no tenant in its authorizer context");
        // The body is JSON with CRLF and tabs; extraction parses it.
        let v: serde_json::Value = serde_json::from_slice(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(v["a"], 1);
    }
}
