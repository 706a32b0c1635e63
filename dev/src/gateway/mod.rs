//! The local API Gateway: serves the REST API of the synthesized templates as API Gateway does (routing, TOKEN
//! authorizer with its cache, API keys and usage plans, stage throttling, request validation, the Lambda proxy
//! integration), invoking functions through [`Invoke`].

pub mod authorizer;
pub mod event;
pub mod model;
pub mod routing;
pub mod server;
pub mod throttle;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::assembly::LOCAL_ACCOUNT;
use crate::invoke::{Invoke, InvokeError};
use authorizer::{AuthorizerOutput, Verdict};
use model::{Authorization, AuthorizerKind, IdentitySource, KeySource, Method, RestApi};
use throttle::{Bucket, QuotaCounter};

pub use model::ModelError;

/// An HTTP request as the gateway sees it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    /// The path without the query (`/tenants/acme/orders`).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// Header names and values in order; names may repeat.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub source_ip: String,
}

/// The gateway's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Wall-clock milliseconds since the epoch; a trait so tests move time by hand.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }
}

/// Throttling and cache state, shared by every request.
#[derive(Default)]
struct State {
    stage: Option<Bucket>,
    methods: HashMap<(String, String), Bucket>,
    /// (plan, key) to its bucket and quota.
    plans: HashMap<(String, String), (Option<Bucket>, QuotaCounter)>,
    /// (authorizer, token) to (expiry ms, output).
    authorizations: HashMap<(String, String), (u64, AuthorizerOutput)>,
}

/// One answered request, as the stage's access log records it: what `cargo xtask dev` prints per request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AccessRecord {
    pub request_id: String,
    pub method: String,
    pub path: String,
    /// The resource the path reached (`/tenants/{tenant_id}/orders`); none for an unknown route.
    pub resource_path: Option<String>,
    pub status: u16,
    /// `x-amzn-ErrorType` of a gateway answer (`BadRequestException`...).
    pub error_type: Option<String>,
    /// The integration's function, when it was invoked.
    pub function: Option<String>,
    /// `tenantId` of the authorizer's context.
    pub tenant: Option<String>,
    /// The id of the API key the request was let in with (the stage's `$context.identity.apiKeyId`): none when the
    /// method requires no key.
    pub api_key_id: Option<String>,
    /// Why the gateway answered with an error: the body's schema violations, the authorizer's failure, the
    /// function's error, crash or timeout (API Gateway's execution log, never sent to the client).
    pub detail: Option<String>,
    pub latency: Duration,
    pub integration_latency: Option<Duration>,
}

impl std::fmt::Display for AccessRecord {
    /// `POST /tenants/acme/orders 201 12.3 ms -> ApiWrite 11.9 ms tenant=acme key=FreeApiKey req=8f2c1a9e`: the
    /// fields of the stage's access log the Contributor Insights rules count by (tenant, key) included.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        write!(f, "{} {} {} {:.1} ms", self.method, self.path, self.status, ms(self.latency))?;
        if let Some(e) = &self.error_type {
            write!(f, " {e}")?;
        }
        if let Some(func) = &self.function {
            write!(f, " -> {func}")?;
            if let Some(d) = self.integration_latency {
                write!(f, " {:.1} ms", ms(d))?;
            }
        }
        if let Some(t) = &self.tenant {
            write!(f, " tenant={t}")?;
        }
        if let Some(k) = &self.api_key_id {
            write!(f, " key={k}")?;
        }
        let short: String = self.request_id.chars().take(8).collect();
        write!(f, " req={short}")?;
        if let Some(e) = &self.detail {
            write!(f, " ({e})")?;
        }
        Ok(())
    }
}

/// Receives an [`AccessRecord`] per request.
pub type AccessLog = Box<dyn Fn(&AccessRecord) + Send + Sync>;

/// The gateway: the API model, the functions, the clock and the mutable state.
pub struct Gateway<I, C = SystemClock> {
    api: RestApi,
    invoker: I,
    clock: C,
    schemas: HashMap<String, jsonschema::Validator>,
    state: Mutex<State>,
    access_log: Option<AccessLog>,
}

/// A gateway error response: status, `x-amzn-ErrorType` and message.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html>
struct Refusal {
    status: u16,
    error_type: &'static str,
    message: Value,
    /// Why, for the access log (API Gateway writes it to the execution log, never to the client).
    detail: Option<String>,
}

impl Refusal {
    fn because(mut self, detail: impl Into<String>) -> Refusal {
        self.detail = Some(detail.into());
        self
    }
}

fn refuse(status: u16, error_type: &'static str, message: &str) -> Refusal {
    Refusal { status, error_type, message: Value::String(message.to_owned()), detail: None }
}

/// `MISSING_AUTHENTICATION_TOKEN`: API Gateway's answer for an unknown path or method (403, not 404).
fn missing_token() -> Refusal {
    refuse(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
}
fn unauthorized() -> Refusal {
    refuse(401, "UnauthorizedException", "Unauthorized")
}
/// `AUTHORIZER_FAILURE` / `AUTHORIZER_CONFIGURATION_ERROR`: 500 with a null message.
fn authorizer_failure() -> Refusal {
    Refusal { status: 500, error_type: "AuthorizerConfigurationException", message: Value::Null, detail: None }
}
fn internal_error() -> Refusal {
    refuse(502, "InternalServerErrorException", "Internal server error")
}

/// What the authorizer step hands on.
struct Authorized {
    context: Map<String, Value>,
    usage_identifier_key: Option<String>,
}

impl<I: Invoke> Gateway<I, SystemClock> {
    /// A gateway for `api`, invoking functions with `invoker`.
    pub fn new(api: RestApi, invoker: I) -> Result<Gateway<I, SystemClock>, ModelError> {
        Gateway::with_clock(api, invoker, SystemClock)
    }
}

impl<I: Invoke, C: Clock> Gateway<I, C> {
    /// A gateway with its own clock (tests).
    pub fn with_clock(api: RestApi, invoker: I, clock: C) -> Result<Gateway<I, C>, ModelError> {
        let mut schemas = HashMap::new();
        for (name, schema) in &api.models {
            let v = jsonschema::draft4::new(schema).map_err(|e| ModelError::Invalid {
                kind: "AWS::ApiGateway::Model".into(),
                logical_id: name.clone(),
                problem: format!("Schema is not a valid draft 4 schema: {e}"),
            })?;
            schemas.insert(name.clone(), v);
        }
        Ok(Gateway { api, invoker, clock, schemas, state: Mutex::new(State::default()), access_log: None })
    }

    /// Calls `log` with a record of every request once answered.
    pub fn with_access_log(mut self, log: impl Fn(&AccessRecord) + Send + Sync + 'static) -> Self {
        self.access_log = Some(Box::new(log));
        self
    }

    pub fn api(&self) -> &RestApi {
        &self.api
    }

    pub fn invoker(&self) -> &I {
        &self.invoker
    }

    /// Answers `request` as API Gateway would.
    pub async fn handle(&self, request: Request) -> Response {
        let started = Instant::now();
        let request_id = request_id();
        let trace_id =
            header(&request.headers, "x-amzn-trace-id").map_or_else(|| trace_id(self.clock.now_ms()), str::to_owned);
        let mut record = AccessRecord {
            request_id: request_id.clone(),
            method: request.method.to_ascii_uppercase(),
            path: request.path.clone(),
            ..AccessRecord::default()
        };
        let mut response = match self.answer(&request, &request_id, &trace_id, &mut record).await {
            Ok(r) => r,
            Err(refusal) => {
                record.error_type = Some(refusal.error_type.to_owned());
                record.detail = refusal.detail;
                let body = serde_json::to_vec(&json!({"message": refusal.message})).unwrap_or_default();
                Response {
                    status: refusal.status,
                    headers: vec![
                        ("content-type".into(), "application/json".into()),
                        ("x-amzn-ErrorType".into(), refusal.error_type.into()),
                    ],
                    body: Bytes::from(body),
                }
            }
        };
        response.headers.push(("x-amzn-RequestId".into(), request_id));
        response.headers.push(("X-Amzn-Trace-Id".into(), trace_id));
        if let Some(log) = &self.access_log {
            record.status = response.status;
            record.latency = started.elapsed();
            log(&record);
        }
        response
    }

    async fn answer(
        &self,
        request: &Request,
        request_id: &str,
        trace_id: &str,
        record: &mut AccessRecord,
    ) -> Result<Response, Refusal> {
        let (index, path_parameters) = routing::route(&self.api, &request.path).ok_or_else(missing_token)?;
        let resource = &self.api.resources[index];
        record.resource_path = Some(resource.path.clone());
        let method = resource
            .methods
            .get(&request.method.to_ascii_uppercase())
            .or_else(|| resource.methods.get("ANY"))
            .ok_or_else(missing_token)?;
        let now = self.clock.now_ms();
        self.stage_throttle(&resource.path, method, now)?;
        let method_arn = format!(
            "arn:aws:execute-api:{}:{LOCAL_ACCOUNT}:{}/{}/{}/{}",
            self.api.region,
            self.api.logical_id,
            self.api.stage.name,
            request.method.to_ascii_uppercase(),
            request.path.trim_start_matches('/')
        );
        let mut variables = self.api.stage.variables.clone();
        if let Some(c) = &self.api.stage.canary
            && fastrand::f64() * 100.0 < c.percent
        {
            variables.extend(c.variables.clone());
        }
        let mut headers = request.headers.clone();
        if header(&headers, "x-amzn-trace-id").is_none() {
            headers.push(("X-Amzn-Trace-Id".into(), trace_id.to_owned()));
        }
        if header(&headers, "x-forwarded-for").is_none() {
            headers.push(("X-Forwarded-For".into(), request.source_ip.clone()));
        }
        let query = routing::parse_query(&request.query);
        let binary = self.is_binary(header(&request.headers, "content-type"));
        let http_method = request.method.to_ascii_uppercase();
        let input = |authorizer: Option<Map<String, Value>>| event::EventInput {
            resource: &resource.path,
            path: &request.path,
            http_method: &http_method,
            headers: &headers,
            query: &query,
            path_parameters: &path_parameters,
            stage_variables: &variables,
            body: &request.body,
            binary,
            api_id: &self.api.logical_id,
            resource_id: &resource.logical_id,
            stage: &self.api.stage.name,
            request_id,
            source_ip: &request.source_ip,
            api_key: None,
            api_key_id: None,
            operation_name: method.operation_name.as_deref(),
            authorizer,
            epoch_ms: now,
        };
        let authorized = match &method.authorization {
            Authorization::None => None,
            Authorization::Custom(id) => {
                let identity = |source: &IdentitySource| -> Option<String> {
                    match source {
                        IdentitySource::Header(h) => header(&headers, h).map(str::to_owned),
                        IdentitySource::Query(q) => query.iter().rev().find(|(k, _)| k == q).map(|(_, v)| v.clone()),
                        IdentitySource::StageVariable(v) => variables.get(v).cloned(),
                        IdentitySource::Context(c) => match c.as_str() {
                            "httpMethod" => Some(http_method.clone()),
                            "path" => Some(request.path.clone()),
                            "resourcePath" => Some(resource.path.clone()),
                            "stage" => Some(self.api.stage.name.clone()),
                            "identity.sourceIp" => Some(request.source_ip.clone()),
                            _ => None,
                        },
                    }
                };
                let request_event = || {
                    // The REQUEST authorizer event: the proxy event without the body, plus type and method ARN.
                    let mut e = event::proxy_event(&input(None));
                    if let Value::Object(m) = &mut e {
                        m.remove("body");
                        m.remove("isBase64Encoded");
                        m.insert("type".into(), json!("REQUEST"));
                        m.insert("methodArn".into(), json!(method_arn));
                    }
                    e
                };
                Some(self.authorize(id, &identity, &request_event, &method_arn, now).await?)
            }
        };
        record.tenant = authorized.as_ref().and_then(|a| a.context.get("tenantId")).map(|t| match t {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let api_key = self.api_key(method, &request.headers, authorized.as_ref(), now)?;
        record.api_key_id = api_key.as_ref().map(|(_, id)| id.clone());
        self.validate(method, request)?;

        let authorizer_context = authorized.map(|a| {
            // REST APIs hand the context to the integration with every value as a string.
            a.context
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, Value::String(v))
                })
                .collect::<Map<_, _>>()
        });
        let mut proxy = input(authorizer_context);
        proxy.api_key = api_key.as_ref().map(|(v, _)| v.as_str());
        proxy.api_key_id = api_key.as_ref().map(|(_, id)| id.as_str());
        let event = event::proxy_event(&proxy);
        record.function = Some(method.function.clone());
        let integration_started = Instant::now();
        let invoked = tokio::time::timeout(
            Duration::from_millis(method.timeout_ms),
            self.invoker.invoke(&method.function, event),
        )
        .await;
        record.integration_latency = Some(integration_started.elapsed());
        let output = match invoked {
            Err(_) => {
                return Err(refuse(504, "IntegrationTimeoutException", "Endpoint request timed out")
                    .because(format!("no answer within {} ms", method.timeout_ms)));
            }
            Ok(Err(e)) => return Err(internal_error().because(e.to_string())),
            Ok(Ok(output)) => output,
        };
        // API Gateway looks at the first type of the client's Accept header.
        let accept = header(&request.headers, "accept").map(|a| a.split(',').next().unwrap_or(a));
        let mapped = event::map_response(&output, self.is_binary(accept))
            .map_err(|e| internal_error().because(format!("malformed Lambda proxy response: {e}")))?;
        let mut response = Response { status: mapped.status, headers: mapped.headers, body: mapped.body };
        if response.header("content-type").is_none() {
            response.headers.push(("content-type".into(), "application/json".into()));
        }
        Ok(response)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves counters, not invariants: keep serving.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The method's own limit, else the stage's.
    fn stage_throttle(&self, path: &str, method: &Method, now: u64) -> Result<(), Refusal> {
        let stage = &self.api.stage;
        let own = [method.http_method.as_str(), "*"]
            .into_iter()
            .find_map(|m| stage.method_throttles.get(&(path.to_owned(), m.to_owned())).map(|t| (m, *t)));
        let mut state = self.lock();
        let allowed = match own {
            Some((m, limit)) => state
                .methods
                .entry((path.to_owned(), m.to_owned()))
                .or_insert_with(|| Bucket::new(limit, now))
                .take(now),
            None => match stage.throttle {
                Some(limit) => state.stage.get_or_insert_with(|| Bucket::new(limit, now)).take(now),
                None => true,
            },
        };
        if allowed { Ok(()) } else { Err(refuse(429, "TooManyRequestsException", "Too Many Requests")) }
    }

    /// Runs authorizer `id`: `identity` reads an identity source of the request, `request_event` builds the
    /// REQUEST authorizer's event.
    async fn authorize(
        &self,
        id: &str,
        identity: &(dyn Fn(&IdentitySource) -> Option<String> + Sync),
        request_event: &(dyn Fn() -> Value + Sync),
        method_arn: &str,
        now: u64,
    ) -> Result<Authorized, Refusal> {
        let authorizer = self.api.authorizers.get(id).ok_or_else(authorizer_failure)?;
        // A missing or empty identity is 401 without invoking the function; otherwise it is the cache key.
        let (event, cache_key) = match &authorizer.kind {
            AuthorizerKind::Token { header: name, validation } => {
                let token = identity(&IdentitySource::Header(name.clone()))
                    .filter(|t| !t.is_empty())
                    .ok_or_else(unauthorized)?;
                if let Some(re) = validation
                    && !re.is_match(&token)
                {
                    return Err(unauthorized());
                }
                (json!({"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}), Some(token))
            }
            AuthorizerKind::Request { identity_sources } => {
                let mut values = Vec::new();
                for source in identity_sources {
                    values.push(identity(source).filter(|v| !v.is_empty()).ok_or_else(unauthorized)?);
                }
                // Without identity sources nothing can key a cache entry.
                let key = (!values.is_empty()).then(|| values.join("\u{1f}"));
                (request_event(), key)
            }
        };
        let key = cache_key.filter(|_| authorizer.ttl_seconds > 0).map(|k| (id.to_owned(), k));
        let cached = key.as_ref().and_then(|key| {
            let state = self.lock();
            state.authorizations.get(key).filter(|(expiry, _)| *expiry > now).map(|(_, o)| o.clone())
        });
        let output = match cached {
            Some(o) => o,
            None => {
                let output = match self.invoker.invoke(&authorizer.function, event).await {
                    Ok(v) => v,
                    // The documented way for an authorizer to answer 401.
                    Err(InvokeError::Function { message, .. }) if message == "Unauthorized" => {
                        return Err(unauthorized());
                    }
                    Err(e) => return Err(authorizer_failure().because(format!("authorizer {id}: {e}"))),
                };
                let output = AuthorizerOutput::parse(&output)
                    .map_err(|e| authorizer_failure().because(format!("authorizer {id} answered {output}: {e}")))?;
                if let Some(key) = key {
                    let expiry = now + authorizer.ttl_seconds * 1000;
                    self.lock().authorizations.insert(key, (expiry, output.clone()));
                }
                output
            }
        };
        match output.verdict(method_arn) {
            Verdict::Allow => {}
            Verdict::ExplicitDeny => {
                return Err(refuse(
                    403,
                    "AccessDeniedException",
                    "User is not authorized to access this resource with an explicit deny",
                ));
            }
            Verdict::ImplicitDeny => {
                return Err(refuse(403, "AccessDeniedException", "User is not authorized to access this resource"));
            }
        }
        let mut context = output.context.clone();
        context.insert("principalId".into(), Value::String(output.principal_id.clone()));
        Ok(Authorized { context, usage_identifier_key: output.usage_identifier_key })
    }

    /// For a method that requires a key: the key's value and id, after its plan's throttle and quota.
    fn api_key(
        &self,
        method: &Method,
        headers: &[(String, String)],
        authorized: Option<&Authorized>,
        now: u64,
    ) -> Result<Option<(String, String)>, Refusal> {
        if !method.api_key_required {
            return Ok(None);
        }
        let forbidden = || refuse(403, "ForbiddenException", "Forbidden");
        let value = match self.api.key_source {
            KeySource::Header => header(headers, "x-api-key").map(str::to_owned),
            KeySource::Authorizer => authorized.and_then(|a| a.usage_identifier_key.clone()),
        }
        .ok_or_else(forbidden)?;
        let key = self.api.api_keys.values().find(|k| k.value == value && k.enabled).ok_or_else(forbidden)?;
        let plan = self.api.usage_plans.iter().find(|p| p.keys.contains(&key.logical_id)).ok_or_else(forbidden)?;
        let mut state = self.lock();
        let (bucket, quota) = state
            .plans
            .entry((plan.logical_id.clone(), key.logical_id.clone()))
            .or_insert_with(|| (plan.throttle.map(|t| Bucket::new(t, now)), QuotaCounter::default()));
        if let Some(b) = bucket
            && !b.take(now)
        {
            return Err(refuse(429, "TooManyRequestsException", "Too Many Requests"));
        }
        if let Some(q) = plan.quota
            && !quota.take(q.limit, q.period, now)
        {
            return Err(refuse(429, "LimitExceededException", "Limit Exceeded"));
        }
        Ok(Some((value, key.logical_id.clone())))
    }

    fn validate(&self, method: &Method, request: &Request) -> Result<(), Refusal> {
        if method.validate_parameters {
            let query = routing::parse_query(&request.query);
            let missing: Vec<&str> = method
                .request_parameters
                .iter()
                .filter(|(_, required)| **required)
                .filter_map(|(name, _)| {
                    if let Some(h) = name.strip_prefix("method.request.header.") {
                        header(&request.headers, h).is_none().then_some(h)
                    } else if let Some(q) = name.strip_prefix("method.request.querystring.") {
                        (!query.iter().any(|(k, _)| k == q)).then_some(q)
                    } else {
                        None
                    }
                })
                .collect();
            if !missing.is_empty() {
                return Err(refuse(
                    400,
                    "BadRequestException",
                    &format!("Missing required request parameters: [{}]", missing.join(", ")),
                ));
            }
        }
        if method.validate_body && !method.request_models.is_empty() {
            // Without a Content-Type, API Gateway takes the body as application/json.
            let content_type = header(&request.headers, "content-type")
                .map_or("application/json", |c| c.split(';').next().unwrap_or(c).trim());
            let model = method
                .request_models
                .get(&content_type.to_ascii_lowercase())
                .or_else(|| method.request_models.get("$default"));
            if let Some(model) = model {
                let invalid = || refuse(400, "BadRequestException", "Invalid request body");
                let schema = self.schemas.get(model).ok_or_else(invalid)?;
                let body: Value = serde_json::from_slice(&request.body)
                    .map_err(|e| invalid().because(format!("the body is not JSON: {e}")))?;
                let errors: Vec<String> = schema
                    .iter_errors(&body)
                    .map(|e| format!("{}: {e}", json_pointer(&e.instance_path().to_string())))
                    .collect();
                if !errors.is_empty() {
                    return Err(invalid().because(format!("model {model}: {}", errors.join("; "))));
                }
            }
        }
        Ok(())
    }

    fn is_binary(&self, content_type: Option<&str>) -> bool {
        let Some(ct) = content_type else { return false };
        let ct = ct.split(';').next().unwrap_or(ct).trim().to_ascii_lowercase();
        self.api.binary_media_types.iter().any(|t| authorizer::wildcard_match(&t.to_ascii_lowercase(), &ct))
    }
}

/// A JSON pointer, `/` for the document itself.
fn json_pointer(p: &str) -> &str {
    if p.is_empty() { "/" } else { p }
}

/// The last value of header `name` (case-insensitive).
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// A request id in API Gateway's format (a UUID).
fn request_id() -> String {
    let hex = |n: usize| (0..n).map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0')).collect::<String>();
    format!("{}-{}-{}-{}-{}", hex(8), hex(4), hex(4), hex(4), hex(12))
}

/// An X-Ray trace header: `Root=1-<epoch seconds, hex>-<96 random bits>`.
/// <https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader>
fn trace_id(now_ms: u64) -> String {
    let random = (0..24).map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0')).collect::<String>();
    format!("Root=1-{:08x}-{random};Sampled=1", now_ms / 1000)
}
