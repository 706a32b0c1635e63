//! Test doubles: an in-process function invoker, a clock moved by hand, and a small two-stack assembly that
//! uses every API Gateway feature the emulator reads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dev::assembly::Assembly;
use dev::gateway::model::RestApi;
use dev::gateway::{Clock, Gateway, Request};
use dev::invoke::{Invoke, InvokeError};
use serde_json::{Value, json};

type Behaviour = dyn Fn(&str, &Value) -> Result<Value, InvokeError> + Send + Sync;

/// Functions answered by a closure; every call is recorded.
#[derive(Clone)]
pub struct Fake {
    pub calls: Arc<Mutex<Vec<(String, Value)>>>,
    behaviour: Arc<Behaviour>,
    delay: Option<Duration>,
}

impl Fake {
    pub fn new(f: impl Fn(&str, &Value) -> Result<Value, InvokeError> + Send + Sync + 'static) -> Fake {
        Fake { calls: Arc::default(), behaviour: Arc::new(f), delay: None }
    }
    pub fn slow(mut self, delay: Duration) -> Fake {
        self.delay = Some(delay);
        self
    }
    pub fn calls_to(&self, function: &str) -> Vec<Value> {
        self.calls.lock().unwrap().iter().filter(|(f, _)| f == function).map(|(_, p)| p.clone()).collect()
    }
}

impl Invoke for Fake {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError> {
        self.calls.lock().unwrap().push((function.to_owned(), payload.clone()));
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        (self.behaviour)(function, &payload)
    }
}

/// A clock moved by hand.
#[derive(Clone)]
pub struct ManualClock(pub Arc<AtomicU64>);

impl ManualClock {
    pub fn at(ms: u64) -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(ms)))
    }
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// An Allow policy for everything, with a context and a usage identifier key.
pub fn allow(principal: &str, key: Option<&str>) -> Value {
    json!({
        "principalId": principal,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:*:*:Api/*"}
        ]},
        "context": {"tenantId": "acme", "tier": "free", "n": 3},
        "usageIdentifierKey": key,
    })
}

/// The proxy response `{"ok": true}` with status 200.
pub fn ok() -> Value {
    json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{\"ok\":true}"})
}

fn uri(function: Value) -> Value {
    json!({"Fn::Sub": [
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Function}/invocations",
        {"Function": function}
    ]})
}

/// Stack `Core` (API, authorizer, models, validator, functions, keys) and stack `Routes` (resources, methods,
/// stage, usage plans), joined by `Fn::GetStackOutput` as the platform's stacks are.
pub fn templates(key_source: &str, extra_core: Value, extra_routes: Value) -> (Value, Value) {
    let out = |name: &str| json!({"Fn::GetStackOutput": {"StackName": "app-core", "OutputName": name}});
    let mut core = json!({
        "Resources": {
            "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {
                "Name": "api", "ApiKeySourceType": key_source, "BinaryMediaTypes": ["image~1png"]}},
            "Auth": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "Handler": {"Type": "AWS::Lambda::Function", "Properties": {}},
            "ApiAuthorizer": {"Type": "AWS::ApiGateway::Authorizer", "Properties": {
                "Name": "Authorizer", "RestApiId": {"Ref": "Api"}, "Type": "TOKEN",
                "IdentitySource": "method.request.header.Authorization",
                "IdentityValidationExpression": "Bearer [a-z0-9]+",
                "AuthorizerResultTtlInSeconds": 60,
                "AuthorizerUri": uri(json!({"Fn::GetAtt": ["Auth", "Arn"]}))}},
            "ApiValidator": {"Type": "AWS::ApiGateway::RequestValidator", "Properties": {
                "RestApiId": {"Ref": "Api"}, "ValidateRequestBody": true, "ValidateRequestParameters": true}},
            "OrderModel": {"Type": "AWS::ApiGateway::Model", "Properties": {
                "RestApiId": {"Ref": "Api"}, "Name": "Order", "ContentType": "application/json",
                "Schema": {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
                    "required": ["sku"], "additionalProperties": false,
                    "properties": {"sku": {"type": "string", "minLength": 1}, "qty": {"type": "integer", "minimum": 1}}}}},
            "FreeKey": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Enabled": true, "Value": "free-key-value"}},
            "ProKey": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Enabled": true}},
            "OffKey": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Enabled": false, "Value": "off-key"}}
        },
        "Outputs": {
            "ApiRef": {"Value": {"Ref": "Api"}},
            "Root": {"Value": {"Fn::GetAtt": ["Api", "RootResourceId"]}},
            "AuthorizerId": {"Value": {"Fn::GetAtt": ["ApiAuthorizer", "AuthorizerId"]}},
            "ValidatorId": {"Value": {"Fn::GetAtt": ["ApiValidator", "RequestValidatorId"]}},
            "HandlerArn": {"Value": {"Fn::GetAtt": ["Handler", "Arn"]}},
            "FreeKeyRef": {"Value": {"Ref": "FreeKey"}},
            "ProKeyRef": {"Value": {"Ref": "ProKey"}},
            "OffKeyRef": {"Value": {"Ref": "OffKey"}}
        }
    });
    let resource = |parent: Value, part: &str| {
        json!({"Type": "AWS::ApiGateway::Resource", "Properties": {
            "RestApiId": out("ApiRef"), "ParentId": parent, "PathPart": part}})
    };
    let att = |id: &str| json!({"Fn::GetAtt": [id, "ResourceId"]});
    let method = |resource: Value, verb: &str, auth: bool, extra: Value| {
        let mut props = json!({
            "RestApiId": out("ApiRef"), "ResourceId": resource, "HttpMethod": verb,
            "AuthorizationType": if auth { "CUSTOM" } else { "NONE" },
            "RequestValidatorId": out("ValidatorId"),
            "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri(out("HandlerArn"))}
        });
        if auth {
            props["AuthorizerId"] = out("AuthorizerId");
        }
        for (k, v) in extra.as_object().unwrap() {
            props[k] = v.clone();
        }
        json!({"Type": "AWS::ApiGateway::Method", "Properties": props})
    };
    let mut routes = json!({
        "Resources": {
            "Health": resource(out("Root"), "health"),
            "HealthGET": method(att("Health"), "GET", false, json!({})),
            "Tenants": resource(out("Root"), "tenants"),
            // Declared before its parent: the model attaches in any order.
            "TenantOrders": resource(att("Tenant"), "orders"),
            "Tenant": resource(att("Tenants"), "{tenant_id}"),
            "TenantMe": resource(att("Tenants"), "me"),
            "TenantMeGET": method(att("TenantMe"), "GET", false, json!({})),
            "TenantGET": method(att("Tenant"), "GET", true, json!({"OperationName": "getTenant"})),
            "TenantOrdersPOST": method(att("TenantOrders"), "POST", true, json!({
                "RequestParameters": {"method.request.header.Idempotency-Key": true, "method.request.querystring.dry": false,
                    "method.request.path.tenant_id": true},
                "RequestModels": {"application/json": "Order"}})),
            "TenantOrdersGET": method(att("TenantOrders"), "GET", true, json!({"ApiKeyRequired": true})),
            "Files": resource(out("Root"), "files"),
            "FilesProxy": resource(att("Files"), "{proxy+}"),
            "FilesProxyANY": method(att("FilesProxy"), "ANY", false, json!({"Integration": {
                "Type": "AWS_PROXY", "Uri": uri(out("HandlerArn")), "TimeoutInMillis": 100}})),
            "Deployment": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": out("ApiRef")}},
            "Stage": {"Type": "AWS::ApiGateway::Stage", "Properties": {
                "RestApiId": out("ApiRef"), "StageName": "local", "DeploymentId": {"Ref": "Deployment"},
                "Variables": {"color": "blue"},
                "MethodSettings": [
                    {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200},
                    {"ResourcePath": "/~1health", "HttpMethod": "GET", "ThrottlingRateLimit": 1, "ThrottlingBurstLimit": 2}
                ]}},
            "FreePlan": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": {
                "ApiStages": [{"ApiId": out("ApiRef"), "Stage": "local"}],
                "Throttle": {"RateLimit": 1000, "BurstLimit": 1000},
                "Quota": {"Limit": 3, "Period": "DAY"}}},
            "ProPlan": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": {
                "ApiStages": [{"ApiId": out("ApiRef"), "Stage": "local"}],
                "Throttle": {"RateLimit": 1, "BurstLimit": 2}}},
            "FreePlanKey": {"Type": "AWS::ApiGateway::UsagePlanKey", "Properties": {
                "KeyId": out("FreeKeyRef"), "KeyType": "API_KEY", "UsagePlanId": {"Ref": "FreePlan"}}},
            "ProPlanKey": {"Type": "AWS::ApiGateway::UsagePlanKey", "Properties": {
                "KeyId": out("ProKeyRef"), "KeyType": "API_KEY", "UsagePlanId": {"Ref": "ProPlan"}}},
            "OffPlanKey": {"Type": "AWS::ApiGateway::UsagePlanKey", "Properties": {
                "KeyId": out("OffKeyRef"), "KeyType": "API_KEY", "UsagePlanId": {"Ref": "ProPlan"}}}
        }
    });
    for (target, extra) in [(&mut core, extra_core), (&mut routes, extra_routes)] {
        for (k, v) in extra.as_object().unwrap() {
            target["Resources"][k] = v.clone();
        }
    }
    (core, routes)
}

/// Writes the two stacks and a manifest to a temporary directory and reads them back as an assembly.
pub fn assembly(core: &Value, routes: &Value) -> Assembly {
    let dir = tempfile::tempdir().unwrap();
    let manifest = json!({"version": 1, "stacks": [
        {"id": "Core", "name": "app-core", "region": "eu-west-1", "templateFile": "Core.template.json"},
        {"id": "Routes", "name": "app-routes", "region": "eu-west-1", "templateFile": "Routes.template.json"}
    ]});
    std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
    std::fs::write(dir.path().join("Core.template.json"), core.to_string()).unwrap();
    std::fs::write(dir.path().join("Routes.template.json"), routes.to_string()).unwrap();
    Assembly::load(dir.path()).unwrap()
}

pub fn api(key_source: &str) -> RestApi {
    let (core, routes) = templates(key_source, json!({}), json!({}));
    RestApi::from_assembly(&assembly(&core, &routes), None).unwrap()
}

pub fn gateway(key_source: &str, fake: Fake) -> (Gateway<Fake, ManualClock>, ManualClock) {
    let clock = ManualClock::at(1_796_038_088_000);
    (Gateway::with_clock(api(key_source), fake, clock.clone()).unwrap(), clock)
}

/// A request with headers.
pub fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Request {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Request {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        headers: headers.iter().map(|(n, v)| ((*n).into(), (*v).into())).collect(),
        body: body.to_owned().into(),
        source_ip: "127.0.0.1".into(),
    }
}
