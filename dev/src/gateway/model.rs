//! The REST API as the templates define it: read from the `AWS::ApiGateway::*` resources of an assembly, with
//! every reference resolved and every feature the emulator does not support listed by logical id.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::assembly::{Assembly, AssemblyError, LocalIds, Resource, Stack};

/// Why the templates cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A reference or intrinsic could not be resolved.
    #[error(transparent)]
    Assembly(#[from] AssemblyError),
    /// A resource is not what API Gateway would accept.
    #[error("{kind} {logical_id}: {problem}")]
    Invalid { kind: String, logical_id: String, problem: String },
    /// The assembly has no `AWS::ApiGateway::RestApi`, or more than one and none was chosen.
    #[error("{0}")]
    NoApi(String),
}

/// A feature of the templates the emulator does not emulate: listed at start, never silently ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub logical_id: String,
    pub kind: String,
    pub feature: String,
}

/// Where API keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The `x-api-key` header.
    Header,
    /// The authorizer's `usageIdentifierKey`.
    Authorizer,
}

/// The REST API.
#[derive(Debug, Clone)]
pub struct RestApi {
    pub logical_id: String,
    pub region: String,
    pub key_source: KeySource,
    /// Content types whose bodies reach the function base64-encoded (`*/*` matches every type).
    pub binary_media_types: Vec<String>,
    /// The resource tree; index 0 is the root `/`.
    pub resources: Vec<ApiResource>,
    /// Authorizers by logical id.
    pub authorizers: BTreeMap<String, Authorizer>,
    /// Model schemas by model name.
    pub models: BTreeMap<String, Value>,
    pub stage: Stage,
    pub usage_plans: Vec<UsagePlan>,
    /// API keys by logical id.
    pub api_keys: BTreeMap<String, ApiKey>,
    pub unsupported: Vec<Unsupported>,
}

/// A node of the resource tree.
#[derive(Debug, Clone)]
pub struct ApiResource {
    pub logical_id: String,
    /// `orders`, `{order_id}`, `{proxy+}`; empty for the root.
    pub path_part: String,
    /// `/tenants/{tenant_id}/orders`.
    pub path: String,
    pub children: Vec<usize>,
    /// Methods by HTTP method (`ANY` included).
    pub methods: BTreeMap<String, Method>,
}

/// How a method authorizes callers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    None,
    /// The authorizer with this logical id.
    Custom(String),
}

/// A method and its `AWS_PROXY` integration.
#[derive(Debug, Clone)]
pub struct Method {
    pub logical_id: String,
    pub http_method: String,
    pub authorization: Authorization,
    pub api_key_required: bool,
    pub operation_name: Option<String>,
    /// Required (`true`) and optional request parameters: `method.request.header.Idempotency-Key`...
    pub request_parameters: BTreeMap<String, bool>,
    /// Model name by content type.
    pub request_models: BTreeMap<String, String>,
    pub validate_body: bool,
    pub validate_parameters: bool,
    /// The function the integration invokes (its logical id).
    pub function: String,
    /// `TimeoutInMillis`, API Gateway's default 29 s.
    pub timeout_ms: u64,
}

/// A Lambda authorizer.
#[derive(Debug, Clone)]
pub struct Authorizer {
    pub logical_id: String,
    pub kind: AuthorizerKind,
    pub ttl_seconds: u64,
    /// The authorizer function (logical id).
    pub function: String,
}

/// TOKEN or REQUEST.
#[derive(Debug, Clone)]
pub enum AuthorizerKind {
    /// The function gets one header's value, which must match `validation` when set.
    Token { header: String, validation: Option<regex::Regex> },
    /// The function gets the request; the identity sources must all be present and are the cache key.
    Request { identity_sources: Vec<IdentitySource> },
}

/// Where a REQUEST authorizer's identity comes from.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html>
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// `method.request.header.<name>`
    Header(String),
    /// `method.request.querystring.<name>`
    Query(String),
    /// `stageVariables.<name>`
    StageVariable(String),
    /// `context.<variable>`: one of [`CONTEXT_VARIABLES`].
    Context(String),
}

/// The `$context` variables a REQUEST authorizer's identity source may name here.
pub const CONTEXT_VARIABLES: &[&str] = &["httpMethod", "path", "resourcePath", "stage", "identity.sourceIp"];

impl IdentitySource {
    fn parse(source: &str) -> Option<IdentitySource> {
        let source = source.trim();
        if let Some(h) = source.strip_prefix("method.request.header.") {
            Some(IdentitySource::Header(h.to_owned()))
        } else if let Some(q) = source.strip_prefix("method.request.querystring.") {
            Some(IdentitySource::Query(q.to_owned()))
        } else if let Some(v) = source.strip_prefix("stageVariables.") {
            Some(IdentitySource::StageVariable(v.to_owned()))
        } else {
            source
                .strip_prefix("context.")
                .filter(|c| CONTEXT_VARIABLES.contains(c))
                .map(|c| IdentitySource::Context(c.to_owned()))
        }
    }
}

/// Requests per second and burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    pub rate: f64,
    pub burst: f64,
}

/// The stage the API is served as.
#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    /// The stage-wide limit (`/*` `*` method setting); none: no stage throttling.
    pub throttle: Option<Throttle>,
    /// Method settings with their own limit, by (resource path, HTTP method).
    pub method_throttles: BTreeMap<(String, String), Throttle>,
    pub variables: BTreeMap<String, String>,
    pub canary: Option<Canary>,
}

/// A canary: a share of the requests sees other stage variables.
#[derive(Debug, Clone)]
pub struct Canary {
    pub percent: f64,
    pub variables: BTreeMap<String, String>,
}

/// A usage plan of the stage.
#[derive(Debug, Clone)]
pub struct UsagePlan {
    pub logical_id: String,
    pub throttle: Option<Throttle>,
    pub quota: Option<Quota>,
    /// API keys (logical ids) in the plan.
    pub keys: Vec<String>,
}

/// Requests per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u64,
    pub period: QuotaPeriod,
}

/// The quota's period (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaPeriod {
    Day,
    Week,
    Month,
}

/// An API key.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub logical_id: String,
    /// The key's `Value`; when the template leaves it to API Gateway, `local-<logical id>` (stable, so a banner
    /// can print it and the local cloud can seed it).
    pub value: String,
    pub enabled: bool,
}

/// API Gateway's integration timeout: 29 s unless the method says otherwise.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>
pub const DEFAULT_TIMEOUT_MS: u64 = 29_000;

/// Properties with no effect on how requests are answered: accepted without a report.
const INERT: &[&str] = &[
    "Name",
    "Description",
    "Tags",
    "EndpointConfiguration",
    "DisableExecuteApiEndpoint",
    "RestApiId",
    "ContentType",
    "AccessLogSetting",
    "TracingEnabled",
    "DeploymentId",
    "UsagePlanName",
    "ApiStages",
    "OperationName",
    "StageName",
];

impl RestApi {
    /// The REST API of `assembly`: `api` names its logical id when the assembly has more than one.
    pub fn from_assembly(assembly: &Assembly, api: Option<&str>) -> Result<RestApi, ModelError> {
        let apis: Vec<_> = assembly
            .resources_of("AWS::ApiGateway::RestApi")
            .filter(|(_, r)| api.is_none_or(|a| r.logical_id == a))
            .collect();
        let (stack, api) = match apis.as_slice() {
            [one] => *one,
            [] => return Err(ModelError::NoApi("the assembly has no AWS::ApiGateway::RestApi".into())),
            many => {
                let ids: Vec<_> = many.iter().map(|(_, r)| r.logical_id.as_str()).collect();
                return Err(ModelError::NoApi(format!(
                    "the assembly has {} REST APIs ({}): name the one to serve",
                    ids.len(),
                    ids.join(", ")
                )));
            }
        };
        Builder { assembly, api_id: api.logical_id.clone(), unsupported: Vec::new() }.build(stack, api)
    }

    /// The resource at `path` (`/tenants/{tenant_id}`).
    pub fn resource(&self, path: &str) -> Option<&ApiResource> {
        self.resources.iter().find(|r| r.path == path)
    }

    /// Sets the value of API key `logical_id`: the value the local cloud generated for it (a template rarely sets
    /// `Value`), which an AUTHORIZER key source's authorizer returns as `usageIdentifierKey`.
    pub fn set_api_key_value(&mut self, logical_id: &str, value: &str) -> Result<(), ModelError> {
        let known = self.api_keys.keys().cloned().collect::<Vec<_>>().join(", ");
        let key = self.api_keys.get_mut(logical_id).ok_or_else(|| ModelError::Invalid {
            kind: "AWS::ApiGateway::ApiKey".into(),
            logical_id: logical_id.to_owned(),
            problem: format!("no such API key; the API has {known}"),
        })?;
        key.value = value.to_owned();
        Ok(())
    }
}

struct Builder<'a> {
    assembly: &'a Assembly,
    api_id: String,
    unsupported: Vec<Unsupported>,
}

/// A resource with its stack and its resolved properties.
struct Resolved<'a> {
    resource: &'a Resource,
    props: Map<String, Value>,
}

impl Resolved<'_> {
    fn str(&self, name: &str) -> Option<&str> {
        self.props.get(name).and_then(Value::as_str)
    }
    fn bool(&self, name: &str) -> Option<bool> {
        match self.props.get(name)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
    fn invalid(&self, problem: impl Into<String>) -> ModelError {
        ModelError::Invalid {
            kind: self.resource.kind.clone(),
            logical_id: self.resource.logical_id.clone(),
            problem: problem.into(),
        }
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `X.Attribute` (a [`LocalIds`] attribute) to `X` when the attribute is `attribute`.
/// The node of the resource a `ParentId` / `ResourceId` names: `Fn::GetAtt [R, ResourceId]` resolves to
/// `R.ResourceId`, `Ref R` (the same id, what the constructs write) to `R`.
fn resource_index(value: &str, by_id: &BTreeMap<String, usize>) -> Option<usize> {
    let id = target(value, "ResourceId").unwrap_or(value);
    by_id.get(id).copied()
}

fn target<'v>(value: &'v str, attribute: &str) -> Option<&'v str> {
    value.strip_suffix(attribute)?.strip_suffix('.')
}

impl<'a> Builder<'a> {
    fn resolve(&self, stack: &'a Stack, resource: &'a Resource) -> Result<Resolved<'a>, ModelError> {
        let props = resource
            .properties
            .iter()
            .map(|(k, v)| Ok((k.clone(), self.assembly.resolve(stack, &resource.logical_id, v, &LocalIds)?)))
            .collect::<Result<Map<_, _>, AssemblyError>>()?;
        Ok(Resolved { resource, props })
    }

    fn report(&mut self, resource: &Resource, feature: impl Into<String>) {
        self.unsupported.push(Unsupported {
            logical_id: resource.logical_id.clone(),
            kind: resource.kind.clone(),
            feature: feature.into(),
        });
    }

    /// Reports every property of `r` that is neither handled nor inert.
    fn report_unknown(&mut self, r: &Resolved<'_>, handled: &[&str]) {
        for key in r.props.keys() {
            if !handled.contains(&key.as_str()) && !INERT.contains(&key.as_str()) {
                self.report(r.resource, format!("property {key}"));
            }
        }
    }

    /// The resources of this API, of type `kind`, resolved.
    fn of_api(&self, kind: &'a str) -> Result<Vec<Resolved<'a>>, ModelError> {
        let mut out = Vec::new();
        for (stack, resource) in self.assembly.resources_of(kind) {
            let r = self.resolve(stack, resource)?;
            let api = r.str("RestApiId").map(str::to_owned);
            let in_stages = r
                .props
                .get("ApiStages")
                .and_then(Value::as_array)
                .is_some_and(|s| s.iter().any(|s| s.get("ApiId").and_then(Value::as_str) == Some(&self.api_id)));
            if api.as_deref() == Some(&self.api_id)
                || in_stages
                || (api.is_none() && kind != "AWS::ApiGateway::UsagePlan")
            {
                out.push(r);
            }
        }
        Ok(out)
    }

    fn build(mut self, stack: &'a Stack, api: &'a Resource) -> Result<RestApi, ModelError> {
        let root = self.resolve(stack, api)?;
        let key_source = match root.str("ApiKeySourceType") {
            None | Some("HEADER") => KeySource::Header,
            Some("AUTHORIZER") => KeySource::Authorizer,
            Some(other) => return Err(root.invalid(format!("ApiKeySourceType {other}: HEADER or AUTHORIZER"))),
        };
        let binary_media_types = root
            .props
            .get("BinaryMediaTypes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(|s| s.replace("~1", "/")).collect())
            .unwrap_or_default();
        self.report_unknown(&root, &["ApiKeySourceType", "BinaryMediaTypes"]);

        let models = self.models()?;
        let authorizers = self.authorizers()?;
        let validators = self.validators()?;
        let resources = self.resources(&validators)?;
        let stage = self.stage()?;
        let (usage_plans, api_keys) = self.usage_plans(&stage.name)?;
        for (_, r) in self.assembly.stacks.iter().flat_map(|s| s.resources.values().map(move |r| (s, r))) {
            if r.kind.starts_with("AWS::ApiGateway::") && !HANDLED.contains(&r.kind.as_str()) {
                self.report(r, "resource type not emulated");
            }
        }
        for plan in &usage_plans {
            for key in &plan.keys {
                if !api_keys.contains_key(key) {
                    return Err(ModelError::Invalid {
                        kind: "AWS::ApiGateway::UsagePlanKey".into(),
                        logical_id: plan.logical_id.clone(),
                        problem: format!("key {key} is not an AWS::ApiGateway::ApiKey of the assembly"),
                    });
                }
            }
        }
        for resource in &resources {
            for m in resource.methods.values() {
                if let Authorization::Custom(a) = &m.authorization
                    && !authorizers.contains_key(a)
                {
                    return Err(ModelError::Invalid {
                        kind: "AWS::ApiGateway::Method".into(),
                        logical_id: m.logical_id.clone(),
                        problem: format!("authorizer {a} is not a supported authorizer of the API"),
                    });
                }
                for model in m.request_models.values() {
                    if !models.contains_key(model) {
                        return Err(ModelError::Invalid {
                            kind: "AWS::ApiGateway::Method".into(),
                            logical_id: m.logical_id.clone(),
                            problem: format!("request model {model} is not a model of the API"),
                        });
                    }
                }
            }
        }
        Ok(RestApi {
            logical_id: api.logical_id.clone(),
            region: stack.region.clone(),
            key_source,
            binary_media_types,
            resources,
            authorizers,
            models,
            stage,
            usage_plans,
            api_keys,
            unsupported: self.unsupported,
        })
    }

    fn models(&mut self) -> Result<BTreeMap<String, Value>, ModelError> {
        let mut out = BTreeMap::new();
        for m in self.of_api("AWS::ApiGateway::Model")? {
            let name = m.str("Name").unwrap_or(&m.resource.logical_id).to_owned();
            let schema = m.props.get("Schema").cloned().ok_or_else(|| m.invalid("no Schema"))?;
            let schema = match schema {
                // CloudFormation takes the schema as an object or as a JSON string.
                Value::String(s) => serde_json::from_str(&s).map_err(|e| m.invalid(format!("Schema: {e}")))?,
                other => other,
            };
            if let Err(e) = jsonschema::draft4::new(&schema) {
                return Err(m.invalid(format!("Schema is not a valid draft 4 schema: {e}")));
            }
            self.report_unknown(&m, &["Schema"]);
            out.insert(name, schema);
        }
        Ok(out)
    }

    fn authorizers(&mut self) -> Result<BTreeMap<String, Authorizer>, ModelError> {
        let mut out = BTreeMap::new();
        for a in self.of_api("AWS::ApiGateway::Authorizer")? {
            let kind = match a.str("Type") {
                Some("TOKEN") => {
                    let source = a.str("IdentitySource").unwrap_or("method.request.header.Authorization");
                    let header = source.strip_prefix("method.request.header.").ok_or_else(|| {
                        a.invalid(format!("IdentitySource {source}: a TOKEN authorizer reads a header"))
                    })?;
                    let validation = match a.str("IdentityValidationExpression") {
                        // The whole token must match, as API Gateway does.
                        Some(re) => Some(
                            regex::Regex::new(&format!("^(?:{re})$"))
                                .map_err(|e| a.invalid(format!("IdentityValidationExpression {re}: {e}")))?,
                        ),
                        None => None,
                    };
                    AuthorizerKind::Token { header: header.to_owned(), validation }
                }
                Some("REQUEST") => {
                    let mut identity_sources = Vec::new();
                    for source in a.str("IdentitySource").unwrap_or("").split(',').filter(|s| !s.trim().is_empty()) {
                        match IdentitySource::parse(source) {
                            Some(s) => identity_sources.push(s),
                            None => self.report(a.resource, format!("identity source {}", source.trim())),
                        }
                    }
                    AuthorizerKind::Request { identity_sources }
                }
                other => {
                    self.report(a.resource, format!("authorizer type {}", other.unwrap_or("(none)")));
                    continue;
                }
            };
            let uri = a.str("AuthorizerUri").ok_or_else(|| a.invalid("no AuthorizerUri"))?;
            let function =
                function_of_uri(uri).ok_or_else(|| a.invalid(format!("AuthorizerUri {uri} names no function")))?;
            // https://docs.aws.amazon.com/apigateway/latest/api/API_CreateAuthorizer.html: 300 s when unset.
            let ttl_seconds = number(a.props.get("AuthorizerResultTtlInSeconds")).unwrap_or(300.0) as u64;
            self.report_unknown(
                &a,
                &[
                    "Type",
                    "IdentitySource",
                    "IdentityValidationExpression",
                    "AuthorizerUri",
                    "AuthorizerResultTtlInSeconds",
                ],
            );
            out.insert(
                a.resource.logical_id.clone(),
                Authorizer { logical_id: a.resource.logical_id.clone(), kind, ttl_seconds, function },
            );
        }
        Ok(out)
    }

    fn validators(&mut self) -> Result<BTreeMap<String, (bool, bool)>, ModelError> {
        let mut out = BTreeMap::new();
        for v in self.of_api("AWS::ApiGateway::RequestValidator")? {
            let body = v.bool("ValidateRequestBody").unwrap_or(false);
            let params = v.bool("ValidateRequestParameters").unwrap_or(false);
            self.report_unknown(&v, &["ValidateRequestBody", "ValidateRequestParameters"]);
            out.insert(v.resource.logical_id.clone(), (body, params));
        }
        Ok(out)
    }

    fn resources(&mut self, validators: &BTreeMap<String, (bool, bool)>) -> Result<Vec<ApiResource>, ModelError> {
        let root = ApiResource {
            logical_id: self.api_id.clone(),
            path_part: String::new(),
            path: "/".into(),
            children: Vec::new(),
            methods: BTreeMap::new(),
        };
        let mut nodes = vec![root];
        let mut pending = self.of_api("AWS::ApiGateway::Resource")?;
        let root_ref = format!("{}.RootResourceId", self.api_id);
        let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
        // Parents may come later in the list (or in another stack): attach until nothing moves.
        while !pending.is_empty() {
            let before = pending.len();
            let mut rest = Vec::new();
            for r in pending {
                let parent = r.str("ParentId").ok_or_else(|| r.invalid("no ParentId"))?;
                let parent_index = if parent == root_ref { Some(0) } else { resource_index(parent, &by_id) };
                let Some(parent_index) = parent_index else {
                    rest.push(r);
                    continue;
                };
                let part = r.str("PathPart").ok_or_else(|| r.invalid("no PathPart"))?.to_owned();
                let parent_path = &nodes[parent_index].path;
                let path = if parent_path == "/" { format!("/{part}") } else { format!("{parent_path}/{part}") };
                self.report_unknown(&r, &["ParentId", "PathPart"]);
                let index = nodes.len();
                nodes.push(ApiResource {
                    logical_id: r.resource.logical_id.clone(),
                    path_part: part,
                    path,
                    children: Vec::new(),
                    methods: BTreeMap::new(),
                });
                nodes[parent_index].children.push(index);
                by_id.insert(r.resource.logical_id.clone(), index);
            }
            if rest.len() == before {
                let ids: Vec<_> = rest.iter().map(|r| r.resource.logical_id.as_str()).collect();
                return Err(ModelError::Invalid {
                    kind: "AWS::ApiGateway::Resource".into(),
                    logical_id: ids.join(", "),
                    problem: "parent is not a resource of the API".into(),
                });
            }
            pending = rest;
        }
        for m in self.of_api("AWS::ApiGateway::Method")? {
            let resource_ref = m.str("ResourceId").ok_or_else(|| m.invalid("no ResourceId"))?;
            let index = if resource_ref == root_ref { Some(0) } else { resource_index(resource_ref, &by_id) };
            let index =
                index.ok_or_else(|| m.invalid(format!("ResourceId {resource_ref} is not a resource of the API")))?;
            if let Some(method) = self.method(&m, validators)? {
                nodes[index].methods.insert(method.http_method.clone(), method);
            }
        }
        Ok(nodes)
    }

    fn method(
        &mut self,
        m: &Resolved<'_>,
        validators: &BTreeMap<String, (bool, bool)>,
    ) -> Result<Option<Method>, ModelError> {
        let http_method = m.str("HttpMethod").ok_or_else(|| m.invalid("no HttpMethod"))?.to_ascii_uppercase();
        let authorization = match m.str("AuthorizationType").unwrap_or("NONE") {
            "NONE" => Authorization::None,
            "CUSTOM" => {
                let id = m.str("AuthorizerId").ok_or_else(|| m.invalid("CUSTOM authorization without AuthorizerId"))?;
                Authorization::Custom(target(id, "AuthorizerId").unwrap_or(id).to_owned())
            }
            other => {
                self.report(m.resource, format!("authorization type {other}"));
                return Ok(None);
            }
        };
        let integration = m.props.get("Integration").and_then(Value::as_object);
        let kind = integration.and_then(|i| i.get("Type")).and_then(Value::as_str);
        if kind != Some("AWS_PROXY") {
            self.report(m.resource, format!("integration type {}", kind.unwrap_or("(none)")));
            return Ok(None);
        }
        let integration = integration.cloned().unwrap_or_default();
        let uri = integration.get("Uri").and_then(Value::as_str).ok_or_else(|| m.invalid("integration without Uri"))?;
        let function =
            function_of_uri(uri).ok_or_else(|| m.invalid(format!("integration Uri {uri} names no Lambda function")))?;
        for key in integration.keys() {
            if !["Type", "Uri", "IntegrationHttpMethod", "TimeoutInMillis"].contains(&key.as_str()) {
                self.report(m.resource, format!("integration property {key}"));
            }
        }
        let timeout_ms = number(integration.get("TimeoutInMillis")).map_or(DEFAULT_TIMEOUT_MS, |t| t as u64);
        let (validate_body, validate_parameters) = match m.str("RequestValidatorId") {
            None => (false, false),
            Some(v) => {
                let id = target(v, "RequestValidatorId").unwrap_or(v);
                *validators
                    .get(id)
                    .ok_or_else(|| m.invalid(format!("RequestValidatorId {v} is not a validator of the API")))?
            }
        };
        let request_parameters = m
            .props
            .get("RequestParameters")
            .and_then(Value::as_object)
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.as_bool().unwrap_or(v.as_str() == Some("true")))).collect())
            .unwrap_or_default();
        let request_models = m
            .props
            .get("RequestModels")
            .and_then(Value::as_object)
            .map(|p| p.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
            .unwrap_or_default();
        self.report_unknown(
            m,
            &[
                "HttpMethod",
                "AuthorizationType",
                "AuthorizerId",
                "Integration",
                "RequestValidatorId",
                "RequestParameters",
                "RequestModels",
                "ApiKeyRequired",
                "ResourceId",
            ],
        );
        Ok(Some(Method {
            logical_id: m.resource.logical_id.clone(),
            http_method,
            authorization,
            api_key_required: m.bool("ApiKeyRequired").unwrap_or(false),
            operation_name: m.str("OperationName").map(str::to_owned),
            request_parameters,
            request_models,
            validate_body,
            validate_parameters,
            function,
            timeout_ms,
        }))
    }

    fn stage(&mut self) -> Result<Stage, ModelError> {
        let stages = self.of_api("AWS::ApiGateway::Stage")?;
        let Some(s) = stages.first() else {
            return Err(ModelError::NoApi(format!("REST API {} has no AWS::ApiGateway::Stage", self.api_id)));
        };
        for extra in &stages[1..] {
            self.report(extra.resource, "a second stage (the first one is served)");
        }
        let name = s.str("StageName").ok_or_else(|| s.invalid("no StageName"))?.to_owned();
        let mut throttle = None;
        let mut method_throttles = BTreeMap::new();
        for setting in s.props.get("MethodSettings").and_then(Value::as_array).into_iter().flatten() {
            let rate = number(setting.get("ThrottlingRateLimit"));
            let burst = number(setting.get("ThrottlingBurstLimit"));
            let t = match (rate, burst) {
                (Some(rate), Some(burst)) => Some(Throttle { rate, burst }),
                (Some(rate), None) => Some(Throttle { rate, burst: rate }),
                _ => None,
            };
            let path = setting.get("ResourcePath").and_then(Value::as_str).unwrap_or("/*");
            let method = setting.get("HttpMethod").and_then(Value::as_str).unwrap_or("*");
            if let Some(t) = t {
                if path == "/*" && method == "*" {
                    throttle = Some(t);
                } else {
                    // `/~1tenants~1{id}`: a `/`, then the resource path with `/` escaped as `~1`.
                    let resource = path.strip_prefix('/').unwrap_or(path).replace("~1", "/");
                    method_throttles.insert((resource, method.to_owned()), t);
                }
            }
            if setting.get("CachingEnabled").and_then(Value::as_bool) == Some(true) {
                self.report(s.resource, format!("caching of {method} {path}"));
            }
        }
        let strings = |v: Option<&Value>| -> BTreeMap<String, String> {
            v.and_then(Value::as_object)
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                .unwrap_or_default()
        };
        let variables = strings(s.props.get("Variables"));
        let canary = s.props.get("CanarySetting").map(|c| Canary {
            percent: number(c.get("PercentTraffic")).unwrap_or(0.0),
            variables: strings(c.get("StageVariableOverrides")),
        });
        if s.bool("CacheClusterEnabled") == Some(true) {
            self.report(s.resource, "stage cache cluster");
        }
        self.report_unknown(s, &["MethodSettings", "Variables", "CanarySetting", "CacheClusterEnabled"]);
        Ok(Stage { name, throttle, method_throttles, variables, canary })
    }

    fn usage_plans(&mut self, stage: &str) -> Result<(Vec<UsagePlan>, BTreeMap<String, ApiKey>), ModelError> {
        let mut plans = Vec::new();
        for p in self.of_api("AWS::ApiGateway::UsagePlan")? {
            let stages = p.props.get("ApiStages").and_then(Value::as_array).cloned().unwrap_or_default();
            let ours = stages.iter().any(|s| {
                s.get("ApiId").and_then(Value::as_str) == Some(&self.api_id)
                    && s.get("Stage").and_then(Value::as_str) == Some(stage)
            });
            if !ours {
                continue;
            }
            if stages.iter().any(|s| s.get("Throttle").is_some()) {
                self.report(p.resource, "per-method throttling in ApiStages");
            }
            let throttle = p.props.get("Throttle").and_then(|t| {
                let rate = number(t.get("RateLimit"))?;
                Some(Throttle { rate, burst: number(t.get("BurstLimit")).unwrap_or(rate) })
            });
            let quota = match p.props.get("Quota") {
                None => None,
                Some(q) => {
                    if number(q.get("Offset")).is_some_and(|o| o != 0.0) {
                        self.report(p.resource, "quota Offset");
                    }
                    let limit = number(q.get("Limit")).ok_or_else(|| p.invalid("Quota without Limit"))? as u64;
                    let period = match q.get("Period").and_then(Value::as_str) {
                        Some("DAY") => QuotaPeriod::Day,
                        Some("WEEK") => QuotaPeriod::Week,
                        Some("MONTH") => QuotaPeriod::Month,
                        other => return Err(p.invalid(format!("Quota Period {other:?}: DAY, WEEK or MONTH"))),
                    };
                    Some(Quota { limit, period })
                }
            };
            self.report_unknown(&p, &["Throttle", "Quota"]);
            plans.push(UsagePlan { logical_id: p.resource.logical_id.clone(), throttle, quota, keys: Vec::new() });
        }
        for k in self.of_api("AWS::ApiGateway::UsagePlanKey")? {
            let plan = k.str("UsagePlanId").ok_or_else(|| k.invalid("no UsagePlanId"))?;
            let key = k.str("KeyId").ok_or_else(|| k.invalid("no KeyId"))?.to_owned();
            if let Some(p) = plans.iter_mut().find(|p| p.logical_id == plan) {
                p.keys.push(key);
            }
            self.report_unknown(&k, &["UsagePlanId", "KeyId", "KeyType"]);
        }
        let mut keys = BTreeMap::new();
        for k in self.of_api("AWS::ApiGateway::ApiKey")? {
            let id = k.resource.logical_id.clone();
            let value = k.str("Value").map_or_else(|| format!("local-{id}"), str::to_owned);
            let enabled = k.bool("Enabled").unwrap_or(false);
            self.report_unknown(&k, &["Value", "Enabled", "StageKeys", "GenerateDistinctId"]);
            keys.insert(id.clone(), ApiKey { logical_id: id, value, enabled });
        }
        Ok((plans, keys))
    }
}

/// Resource types the model reads.
const HANDLED: &[&str] = &[
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGateway::Model",
    "AWS::ApiGateway::RequestValidator",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::UsagePlanKey",
    "AWS::ApiGateway::ApiKey",
    // The account's CloudWatch role: no effect on requests.
    "AWS::ApiGateway::Account",
];

/// The function (logical id) of a Lambda integration URI
/// `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function arn>/invocations`.
pub fn function_of_uri(uri: &str) -> Option<String> {
    let arn = uri.split_once("/functions/")?.1.strip_suffix("/invocations")?;
    let name = arn.split_once(":function:")?.1;
    // A qualified ARN (`name:alias`) invokes the same local function.
    Some(name.split(':').next()?.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn function_of_uri_reads_the_function_name() {
        let uri = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:ApiRead/invocations";
        assert_eq!(function_of_uri(uri).as_deref(), Some("ApiRead"));
        assert_eq!(
            function_of_uri(
                "arn:aws:apigateway:r:lambda:path/2015-03-31/functions/arn:aws:lambda:r:1:function:F:live/invocations"
            )
            .as_deref(),
            Some("F")
        );
        // An alias named by a stage variable (a stage with a canary): the same local function, whichever alias.
        assert_eq!(
            function_of_uri(
                "arn:aws:apigateway:r:lambda:path/2015-03-31/functions/arn:aws:lambda:r:1:function:F:${stageVariables.lambdaAlias}/invocations"
            )
            .as_deref(),
            Some("F")
        );
        assert_eq!(function_of_uri("https://example.com"), None);
    }
}
