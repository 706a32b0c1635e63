//! [`RestApi`], its resources, methods, authorizers and models.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use synth::{Handle, Scope, Val};

use super::generated::{
    CfnAuthorizer, CfnMethod, CfnModel, CfnRequestValidator, CfnResource, CfnRestApi, cfn_method, cfn_rest_api,
};
use crate::common::at_path;
use crate::error::{ConstructError, check_range};
use crate::lambda::Function;

/// Where API Gateway reads the API key of a request from (for usage plans).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApiKeySource {
    /// The `x-api-key` header. The default (API Gateway's).
    #[default]
    Header,
    /// The `usageIdentifierKey` the Lambda authorizer returns: clients present one credential (a JWT or the
    /// platform's own API key) and the authorizer maps it to the usage plan key of the tenant's tier.
    Authorizer,
}

/// Optional settings of a [`RestApi`].
#[derive(Clone, Debug, Default)]
pub struct RestApiProps {
    /// Default: `<stack name>-<id>`.
    pub name: Option<String>,
    /// Default: none.
    pub description: Option<String>,
    /// Default: [`ApiKeySource::Header`].
    pub api_key_source: ApiKeySource,
    /// Compress responses larger than this many bytes (0 to 10485760). Default: none (no compression): the
    /// distribution in front compresses.
    pub minimum_compression_bytes: Option<u32>,
    /// Turn off the `execute-api` endpoint. Default: off (the endpoint stays): CloudFront uses it as origin; turn
    /// it off when every client comes through a custom domain.
    pub disable_execute_api_endpoint: bool,
    /// The stage variable naming the alias that integrations invoke on functions with a canary alias
    /// ([`crate::lambda::FunctionProps::canary_alias`]): their URI ends in `:${stageVariables.<name>}`, each such
    /// method gets a permission for both aliases, and a stage must set the variable ([`RestApi::alias_variable`];
    /// a canary overrides it). Default: none (integrations invoke the function's `live` alias or the function).
    pub alias_stage_variable: Option<String>,
}

/// Requests per second and burst.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throttle {
    pub rate_limit: f64,
    pub burst_limit: u32,
}

/// How a method authorizes callers.
#[derive(Clone, Debug)]
pub enum Authorization {
    /// A Lambda authorizer.
    Custom(Authorizer),
    /// SigV4 with IAM credentials.
    Iam,
    /// Nobody is asked (cdk-nag `AwsSolutions-APIG4` finds it; suppress with the reason).
    None,
}

/// Optional settings of a method.
#[derive(Clone, Debug, Default)]
pub struct MethodProps {
    /// JSON body model; the request validator rejects a body that breaks it (400) before the function runs.
    /// Default: none.
    pub request_model: Option<Model>,
    /// Headers that must be present (`Idempotency-Key`). Default: none.
    pub required_headers: Vec<String>,
    /// Require an API key (usage plans apply only to methods that do). Default: off.
    pub api_key_required: bool,
    /// `OperationName`. Default: none.
    pub operation_name: Option<String>,
    /// Method-level throttling in the stage. Default: none (the stage's).
    pub throttle: Option<Throttle>,
}

/// A Lambda authorizer.
#[derive(Clone, Debug)]
pub struct Authorizer {
    handle: Handle<CfnAuthorizer>,
}

impl Authorizer {
    /// `Fn::GetAtt AuthorizerId`.
    pub fn id(&self) -> Val<String> {
        self.handle.attr_authorizer_id()
    }
    pub fn logical_id(&self) -> &str {
        self.handle.logical_id()
    }
}

/// TOKEN or REQUEST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizerKind {
    /// The authorizer gets one header's value; the result is cached per value.
    Token { header: String, validation_regex: Option<String> },
    /// The authorizer gets the whole request; the result is cached per the listed identity sources
    /// (`method.request.header.Authorization`, `context.path`...).
    Request { identity_sources: Vec<String> },
}

/// A request body model.
#[derive(Clone, Debug)]
pub struct Model {
    name: String,
    handle: Handle<CfnModel>,
}

impl Model {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn logical_id(&self) -> &str {
        self.handle.logical_id()
    }
}

/// What a method is, for the deployment fingerprint and the stage's method settings.
#[derive(Clone, Debug)]
pub(crate) struct MethodRecord {
    pub http_method: String,
    pub path: String,
    pub logical_id: String,
    pub stack: String,
    pub reference: Val<String>,
    pub fingerprint: String,
    pub throttle: Option<Throttle>,
}

/// A REST API.
#[derive(Clone, Debug)]
pub struct RestApi {
    handle: Handle<CfnRestApi>,
    validator: Handle<CfnRequestValidator>,
    path: String,
    name: String,
    resources: BTreeMap<String, Val<String>>,
    pub(crate) methods: Vec<MethodRecord>,
    authorizers: BTreeSet<String>,
    alias_variable: Option<String>,
    /// Whether a method's integration reads `alias_variable`.
    pub(crate) uses_alias_variable: bool,
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"];

impl RestApi {
    /// A regional REST API (CloudFront, when used, is in front; an edge-optimized API would add a second
    /// CloudFront distribution that cannot be configured) with a request validator that checks bodies and
    /// parameters of every method.
    pub fn new(scope: &mut Scope, id: &str, props: RestApiProps) -> Result<RestApi, ConstructError> {
        let default_name = format!("{}-{id}", scope.stack().name());
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        let name = props.name.unwrap_or(default_name);
        if let Some(c) = props.minimum_compression_bytes {
            // https://docs.aws.amazon.com/apigateway/latest/api/API_CreateRestApi.html
            check_range(&path, "minimum compression size (bytes)", c.into(), 0, 10_485_760)?;
        }
        if let Some(v) = &props.alias_stage_variable
            // https://docs.aws.amazon.com/apigateway/latest/developerguide/aws-api-gateway-stage-variables-reference.html
            && (v.is_empty() || v.len() > 64 || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(ConstructError::Invalid {
                path,
                what: "stage variable name",
                value: v.clone(),
                allowed: "1 to 64 characters from A-Z a-z 0-9 _".into(),
            });
        }
        let handle = scope.add(
            "Resource",
            CfnRestApi {
                name: Some(name.as_str().into()),
                description: props.description.as_deref().map(Val::from),
                endpoint_configuration: Some(
                    cfn_rest_api::EndpointConfiguration { types: Some(Val::list(["REGIONAL"])), ..Default::default() }
                        .into(),
                ),
                api_key_source_type: Some(
                    match props.api_key_source {
                        ApiKeySource::Header => "HEADER",
                        ApiKeySource::Authorizer => "AUTHORIZER",
                    }
                    .into(),
                ),
                minimum_compression_size: props.minimum_compression_bytes.map(Val::from),
                disable_execute_api_endpoint: props.disable_execute_api_endpoint.then(|| true.into()),
                ..CfnRestApi::new()
            },
        );
        let validator = scope.add(
            "Validator",
            CfnRequestValidator {
                name: Some("body-and-parameters".into()),
                validate_request_body: Some(true.into()),
                validate_request_parameters: Some(true.into()),
                ..CfnRequestValidator::new(handle.ref_())
            },
        );
        let mut resources = BTreeMap::new();
        resources.insert(String::new(), handle.attr_root_resource_id());
        Ok(RestApi {
            handle,
            validator,
            path,
            name,
            resources,
            methods: Vec::new(),
            authorizers: BTreeSet::new(),
            alias_variable: props.alias_stage_variable,
            uses_alias_variable: false,
        })
    }

    /// The stage variable integrations read the alias from ([`RestApiProps::alias_stage_variable`]).
    pub fn alias_variable(&self) -> Option<&str> {
        self.alias_variable.as_deref()
    }

    /// `Ref`: the API id.
    pub fn id(&self) -> Val<String> {
        self.handle.ref_()
    }
    /// The API name (a literal, known at synth): the `ApiName` dimension of its metrics.
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn path(&self) -> &str {
        &self.path
    }
    /// `<api id>.execute-api.<region>.<url suffix>`: the API's own endpoint host (a CloudFront origin).
    pub fn domain_name(&self) -> Val<String> {
        Val::sub_with("${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}", [("Api", self.id())])
    }
    /// `arn:...:execute-api:<region>:<account>:<api id>/<suffix>`: source ARNs of invoke permissions.
    pub fn execute_api_arn(&self, suffix: &str) -> Val<String> {
        Val::sub_with(
            format!("arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{Api}}/{suffix}"),
            [("Api", self.id())],
        )
    }
    /// Number of methods added so far.
    pub fn method_count(&self) -> usize {
        self.methods.len()
    }

    /// A Lambda authorizer at `<api>/<id>`; results are cached for `ttl_seconds` (0 to 3600, API Gateway's
    /// range) per identity. Lets API Gateway invoke `function` for this authorizer only.
    pub fn add_authorizer(
        &mut self,
        scope: &mut Scope,
        id: &str,
        function: &Function,
        kind: AuthorizerKind,
        ttl_seconds: u32,
    ) -> Result<Authorizer, ConstructError> {
        let path = format!("{}/{id}", self.path);
        // https://docs.aws.amazon.com/apigateway/latest/api/API_CreateAuthorizer.html (authorizerResultTtlInSeconds)
        check_range(&path, "authorizer cache TTL (s)", ttl_seconds.into(), 0, 3600)?;
        let (type_, identity, regex) = match &kind {
            AuthorizerKind::Token { header, validation_regex } => {
                ("TOKEN", format!("method.request.header.{header}"), validation_regex.clone())
            }
            AuthorizerKind::Request { identity_sources } => {
                if identity_sources.is_empty() && ttl_seconds > 0 {
                    return Err(ConstructError::Conflict {
                        path,
                        problem: "a cached REQUEST authorizer needs identity sources (the cache key)".into(),
                    });
                }
                ("REQUEST", identity_sources.join(","), None)
            }
        };
        if !self.authorizers.insert(id.to_owned()) {
            return Err(ConstructError::Duplicate {
                path: self.path.clone(),
                what: "authorizer",
                value: id.to_owned(),
            });
        }
        let api_id = self.id();
        let uri = invocation_uri(function);
        let handle = at_path(scope, &self.path.clone(), |s| {
            s.add(
                id,
                CfnAuthorizer {
                    authorizer_uri: Some(uri),
                    authorizer_result_ttl_in_seconds: Some(ttl_seconds.into()),
                    identity_source: (!identity.is_empty()).then(|| identity.as_str().into()),
                    identity_validation_expression: regex.as_deref().map(Val::from),
                    ..CfnAuthorizer::new(id, api_id, type_)
                },
            )
        });
        let source = self.execute_api_arn_with("authorizers/${Authorizer}", handle.attr_authorizer_id());
        at_path(scope, &self.path.clone(), |s| {
            function.allow_invoke(s, &format!("{id}Invoke"), "apigateway.amazonaws.com", source);
        });
        Ok(Authorizer { handle })
    }

    fn execute_api_arn_with(&self, suffix: &str, authorizer: Val<String>) -> Val<String> {
        Val::sub_with(
            format!("arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{Api}}/{suffix}"),
            [("Api", self.id()), ("Authorizer", authorizer)],
        )
    }

    /// A request model named `name` (letters and digits, API Gateway's rule) with JSON Schema `schema` (draft 4,
    /// subschemas inlined), at `<api>/Models/<name>`.
    pub fn add_model(
        &mut self,
        scope: &mut Scope,
        name: &str,
        schema: serde_json::Value,
    ) -> Result<Model, ConstructError> {
        let path = format!("{}/Models", self.path);
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConstructError::Invalid {
                path,
                what: "model name",
                value: name.to_owned(),
                allowed: "letters and digits only".into(),
            });
        }
        if !schema.is_object() {
            return Err(ConstructError::Invalid {
                path,
                what: "model schema",
                value: schema.to_string(),
                allowed: "a JSON Schema object".into(),
            });
        }
        let api_id = self.id();
        let handle = at_path(scope, &path, |s| {
            s.add(
                name,
                CfnModel {
                    name: Some(name.into()),
                    content_type: Some("application/json".into()),
                    schema: Some(schema.into()),
                    ..CfnModel::new(api_id)
                },
            )
        });
        Ok(Model { name: name.to_owned(), handle })
    }

    /// Adds `http_method` `path` (`/tenants/{tenant_id}/orders`), proxied to `function`, with the resources the
    /// path needs (created in `scope`'s stack unless an earlier method created them). Lets API Gateway invoke the
    /// function for this method only. `scope` must be a stack root or the API's own scope.
    pub fn add_method(
        &mut self,
        scope: &mut Scope,
        http_method: &str,
        path: &str,
        function: &Function,
        authorization: Authorization,
        props: MethodProps,
    ) -> Result<Handle<CfnMethod>, ConstructError> {
        let segments = parse_path(&self.path, path)?;
        if !METHODS.contains(&http_method) {
            return Err(ConstructError::Invalid {
                path: self.path.clone(),
                what: "HTTP method",
                value: http_method.to_owned(),
                allowed: METHODS.join(", "),
            });
        }
        if self.methods.iter().any(|m| m.http_method == http_method && m.path == path) {
            return Err(ConstructError::Duplicate {
                path: self.path.clone(),
                what: "method",
                value: format!("{http_method} {path}"),
            });
        }
        let here = scope.stack().id().to_owned();
        // Resources, one per path segment, at `<api>/<Segment>/<Segment>...`.
        let mut construct_path = self.path.clone();
        let mut api_path = String::new();
        for seg in &segments {
            let parent = self.resources[&api_path].clone();
            construct_path = format!("{construct_path}/{}", segment_id(seg));
            api_path = format!("{api_path}/{seg}");
            if !self.resources.contains_key(&api_path) {
                let api_id = self.id();
                let h = at_path(scope, &construct_path, |s| {
                    s.add("Resource", CfnResource::new(parent, seg.as_str(), api_id))
                });
                // `Ref` returns the resource id, as `GetAtt ResourceId` does (aws-cdk-lib's `resourceId` is the
                // `Ref` too); the local cloud (moto 5.2.5) answers only the `Ref` (deploy/MOTO.md).
                self.resources.insert(api_path.clone(), h.ref_());
            }
        }
        let resource_id = self.resources[&api_path].clone();
        let mut params: BTreeMap<String, Val<bool>> = BTreeMap::new();
        for seg in &segments {
            if let Some(p) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                params.insert(format!("method.request.path.{}", p.trim_end_matches('+')), true.into());
            }
        }
        for h in &props.required_headers {
            params.insert(format!("method.request.header.{h}"), true.into());
        }
        let (auth_type, authorizer_id, auth_name) = match &authorization {
            Authorization::Custom(a) => ("CUSTOM", Some(a.id()), a.logical_id().to_owned()),
            Authorization::Iam => ("AWS_IAM", None, "iam".to_owned()),
            Authorization::None => ("NONE", None, "none".to_owned()),
        };
        let by_variable = self.alias_variable.clone().filter(|_| function.canary_alias().is_some());
        let uri = match &by_variable {
            Some(variable) => invocation_uri_by_variable(function, variable),
            None => invocation_uri(function),
        };
        self.uses_alias_variable |= by_variable.is_some();
        let cfn = CfnMethod {
            authorization_type: Some(auth_type.into()),
            authorizer_id,
            api_key_required: Some(props.api_key_required.into()),
            operation_name: props.operation_name.as_deref().map(Val::from),
            request_validator_id: Some(self.validator.attr_request_validator_id()),
            request_parameters: (!params.is_empty()).then(|| Val::map(params)),
            request_models: props.request_model.as_ref().map(|m| Val::map([("application/json", Val::from(m.name()))])),
            integration: Some(
                cfn_method::Integration {
                    integration_http_method: Some("POST".into()),
                    uri: Some(uri),
                    ..cfn_method::Integration::new(cfn_method::Type::AwsProxy)
                }
                .into(),
            ),
            ..CfnMethod::new(http_method, resource_id, self.id())
        };
        let wildcard_path: String = segments
            .iter()
            .map(|s| if s.starts_with('{') { "*".to_owned() } else { s.clone() })
            .collect::<Vec<_>>()
            .join("/");
        let source = self.execute_api_arn(&format!("*/{http_method}/{wildcard_path}"));
        let api_scope_path = construct_path.clone();
        let handle = at_path(scope, &api_scope_path, |s| {
            let m = s.add(http_method, cfn);
            // The model is referred to by name, which CloudFormation cannot see: order it explicitly.
            if let Some(model) = &props.request_model
                && s.stack().resource(model.logical_id()).is_some()
            {
                s.stack_mut().entry_mut(&m).add_depends_on(model.logical_id());
            }
            if by_variable.is_some() {
                // The stage's value (`live`) and the canary's override: each alias the URI may name.
                function.allow_invoke_canary(
                    s,
                    &format!("{http_method}InvokeCanary"),
                    "apigateway.amazonaws.com",
                    source.clone(),
                );
            }
            function.allow_invoke(s, &format!("{http_method}Invoke"), "apigateway.amazonaws.com", source);
            m
        });
        let fingerprint = format!(
            "{http_method} {path} -> {} auth={auth_name} model={} params={:?} key={}",
            function.path(),
            props.request_model.as_ref().map(Model::name).unwrap_or("-"),
            props.required_headers,
            props.api_key_required
        );
        self.methods.push(MethodRecord {
            http_method: http_method.to_owned(),
            path: path.to_owned(),
            logical_id: handle.logical_id().to_owned(),
            stack: here,
            reference: handle.ref_(),
            fingerprint,
            throttle: props.throttle,
        });
        Ok(handle)
    }

    /// Eight hex digits of the SHA-256 of every method's definition, in the order they were added.
    pub(crate) fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for m in &self.methods {
            h.update(m.fingerprint.as_bytes());
            h.update([0]);
        }
        h.finalize().iter().take(4).map(|b| format!("{b:02x}")).collect()
    }
}

/// `arn:...:apigateway:<region>:lambda:path/2015-03-31/functions/<function>/invocations`.
fn invocation_uri(function: &Function) -> Val<String> {
    Val::sub_with(
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Function}/invocations",
        [("Function", function.invoke_arn())],
    )
}

/// The URI of a function invoked at the alias stage variable `variable` names:
/// `...functions/<function arn>:${stageVariables.<variable>}/invocations` (`${!` is Fn::Sub's literal `${`).
fn invocation_uri_by_variable(function: &Function, variable: &str) -> Val<String> {
    Val::sub_with(
        format!(
            "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{Function}}:${{!stageVariables.{variable}}}/invocations"
        ),
        [("Function", function.arn())],
    )
}

/// The segments of an API path, validated.
fn parse_path(api: &str, path: &str) -> Result<Vec<String>, ConstructError> {
    let bad = |allowed: &str| ConstructError::Invalid {
        path: api.to_owned(),
        what: "resource path",
        value: path.to_owned(),
        allowed: allowed.to_owned(),
    };
    let Some(rest) = path.strip_prefix('/') else { return Err(bad("a path starting with /")) };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut params = BTreeSet::new();
    for seg in rest.split('/') {
        let param = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
        let ok = match param {
            Some(p) => {
                let name = p.strip_suffix('+').unwrap_or(p);
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && params.insert(name)
            }
            None => !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
        };
        if !ok {
            return Err(bad(
                "segments of A-Z a-z 0-9 - _ . or {parameter} (letters, digits, _), each parameter once, no empty segment",
            ));
        }
        out.push(seg.to_owned());
    }
    Ok(out)
}

/// Construct id of a path segment: `orders` → `Orders`, `{tenant_id}` → `TenantId`, `api-keys` → `ApiKeys`.
fn segment_id(seg: &str) -> String {
    let trimmed = seg.trim_start_matches('{').trim_end_matches('}').trim_end_matches('+');
    let mut out = String::new();
    let mut upper = true;
    for c in trimmed.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert(0, 'P');
    }
    out
}
