//! `apigateway::RestApi`, authorizers, models, methods, stage, usage plans and domains.

use constructs::apigateway::{
    ACCESS_LOG_FORMAT, ApiGatewayAccount, ApiKeySource, Authorization, AuthorizerKind, Canary, DomainName, MethodProps,
    Quota, QuotaPeriod, RestApi, RestApiProps, StageProps, Throttle, UsagePlanProps,
};
use constructs::lambda::{Function, FunctionProps};
use constructs::wafv2::{WafScope, WebAcl, WebAclProps};
use serde_json::json;
use synth::{App, Scope, Stack, StackProps, Val};

use super::support::*;

fn api(s: &mut Scope) -> (RestApi, Function) {
    let f = Function::new(s, "Handler", &asset(), FunctionProps::default()).unwrap();
    let auth = Function::new(s, "AuthFn", &asset(), FunctionProps::default()).unwrap();
    let mut api =
        RestApi::new(s, "Api", RestApiProps { api_key_source: ApiKeySource::Authorizer, ..RestApiProps::default() })
            .unwrap();
    let a = api
        .add_authorizer(
            s,
            "Authorizer",
            &auth,
            AuthorizerKind::Token { header: "Authorization".into(), validation_regex: None },
            60,
        )
        .unwrap();
    let model = api
        .add_model(
            s,
            "CreateOrderRequest",
            json!({"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}),
        )
        .unwrap();
    api.add_method(
        s,
        "GET",
        "/tenants/{tenant_id}/orders",
        &f,
        Authorization::Custom(a.clone()),
        MethodProps { api_key_required: true, ..MethodProps::default() },
    )
    .unwrap();
    api.add_method(
        s,
        "POST",
        "/tenants/{tenant_id}/orders",
        &f,
        Authorization::Custom(a),
        MethodProps {
            request_model: Some(model),
            required_headers: vec!["Idempotency-Key".into()],
            api_key_required: true,
            operation_name: Some("createOrder".into()),
            throttle: Some(Throttle { rate_limit: 50.0, burst_limit: 100 }),
        },
    )
    .unwrap();
    (api, f)
}

#[test]
fn methods_are_proxied_authorized_validated_and_exactly_permitted() {
    let t = template(|s| {
        let (api, _) = api(s);
        assert_eq!(api.method_count(), 2);
    });
    let r = props(&t, "Api");
    assert_eq!(r["EndpointConfiguration"], json!({"Types": ["REGIONAL"]}));
    assert_eq!(r["ApiKeySourceType"], "AUTHORIZER");
    assert_eq!(props(&t, "ApiValidator")["ValidateRequestBody"], true);
    assert_eq!(props(&t, "ApiTenants")["ParentId"], get_att("Api", "RootResourceId"));
    assert_eq!(props(&t, "ApiTenantsTenantId")["PathPart"], "{tenant_id}");
    let post = props(&t, "ApiTenantsTenantIdOrdersPOST");
    assert_eq!(post["AuthorizationType"], "CUSTOM");
    assert_eq!(post["AuthorizerId"], get_att("ApiAuthorizer", "AuthorizerId"));
    assert_eq!(post["RequestValidatorId"], get_att("ApiValidator", "RequestValidatorId"));
    assert_eq!(post["RequestModels"], json!({"application/json": "CreateOrderRequest"}));
    assert_eq!(
        post["RequestParameters"],
        json!({"method.request.header.Idempotency-Key": true, "method.request.path.tenant_id": true})
    );
    assert_eq!(post["Integration"]["Type"], "AWS_PROXY");
    assert_eq!(resource(&t, "ApiTenantsTenantIdOrdersPOST")["DependsOn"], json!(["ApiModelsCreateOrderRequest"]));
    let perm = props(&t, "ApiTenantsTenantIdOrdersPOSTInvoke");
    assert_eq!(perm["Principal"], "apigateway.amazonaws.com");
    assert_eq!(
        perm["SourceArn"]["Fn::Sub"][0],
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/POST/tenants/*/orders"
    );
    let auth = props(&t, "ApiAuthorizer");
    assert_eq!(auth["Type"], "TOKEN");
    assert_eq!(auth["IdentitySource"], "method.request.header.Authorization");
    assert_eq!(auth["AuthorizerResultTtlInSeconds"], 60);
    assert_eq!(
        props(&t, "ApiAuthorizerInvoke")["SourceArn"]["Fn::Sub"][0],
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/authorizers/${Authorizer}"
    );
}

#[test]
fn stage_logs_json_traces_throttles_and_redeploys_on_change() {
    let t = template(|s| {
        let (api, _) = api(s);
        let account = ApiGatewayAccount::new(s, "ApiGatewayAccount").unwrap();
        let stage = api
            .deploy(
                s,
                "prod",
                StageProps {
                    account: Some(account),
                    canary: Some(Canary { percent_traffic: 10.0, stage_variable_overrides: Default::default() }),
                    ..StageProps::default()
                },
            )
            .unwrap();
        let waf = WebAcl::new(s, "Waf", WafScope::Regional, WebAclProps::default()).unwrap();
        waf.associate(s, "WafAssociation", stage.arn(), &[stage.logical_id()]);
        let plan = stage
            .add_usage_plan(
                s,
                "Pro",
                UsagePlanProps {
                    throttle: Some(Throttle { rate_limit: 100.0, burst_limit: 200 }),
                    quota: Some(Quota { limit: 100_000, period: QuotaPeriod::Day }),
                    description: None,
                },
            )
            .unwrap();
        plan.add_api_key(s, "Key");
    });
    // The stage's deployment and the canary's own, both after every method.
    let deployments = of_type(&t, "AWS::ApiGateway::Deployment");
    assert_eq!(deployments.len(), 2);
    assert!(deployments[0].starts_with("ApiCanaryDeployment") && deployments[1].starts_with("ApiDeployment"));
    for d in &deployments {
        assert_eq!(
            resource(&t, d)["DependsOn"],
            json!(["ApiTenantsTenantIdOrdersGET", "ApiTenantsTenantIdOrdersPOST"])
        );
    }
    let st = resource(&t, "ApiProd");
    let p = &st["Properties"];
    assert_eq!(p["StageName"], "prod");
    assert_eq!(p["TracingEnabled"], true, "X-Ray");
    assert_eq!(p["AccessLogSetting"]["Format"], ACCESS_LOG_FORMAT, "JSON access logs");
    assert!(serde_json::from_str::<serde_json::Value>(ACCESS_LOG_FORMAT).is_ok());
    let all = &p["MethodSettings"][0];
    assert_eq!(all["ResourcePath"], "/*");
    assert_eq!(all["LoggingLevel"], "ERROR");
    assert_eq!(all["DataTraceEnabled"], false, "no bodies in logs");
    assert_eq!(all["ThrottlingRateLimit"], 1000);
    assert_eq!(all["ThrottlingBurstLimit"], 2000);
    assert_eq!(p["MethodSettings"][1]["ResourcePath"], "/~1tenants~1{tenant_id}~1orders");
    assert_eq!(p["MethodSettings"][1]["ThrottlingRateLimit"], 50);
    assert_eq!(p["DeploymentId"], get_att(&deployments[1], "DeploymentId"));
    assert_eq!(
        p["CanarySetting"],
        json!({"DeploymentId": get_att(&deployments[0], "DeploymentId"), "PercentTraffic": 10, "UseStageCache": false})
    );
    assert_eq!(st["DependsOn"], json!(["ApiGatewayAccount", "ApiProdExecutionLogs"]));
    assert_eq!(checkov_skips(&t, "ApiProd"), ["CKV_AWS_120"]);
    assert_eq!(
        props(&t, "ApiProdExecutionLogs")["LogGroupName"]["Fn::Sub"][0],
        "API-Gateway-Execution-Logs_${Api}/prod"
    );
    let plan = props(&t, "Pro");
    assert_eq!(plan["Quota"], json!({"Limit": 100000, "Period": "DAY"}));
    assert_eq!(plan["Throttle"], json!({"BurstLimit": 200, "RateLimit": 100}));
    assert_eq!(resource(&t, "Pro")["DependsOn"], json!(["ApiProd"]));
    assert_eq!(props(&t, "ProKeyAttachment")["KeyType"], "API_KEY");
    assert_eq!(resource(&t, "WafAssociation")["DependsOn"], json!(["ApiProd"]));
    assert!(props(&t, "ProKey").get("Value").is_none(), "value generated by API Gateway");
}

/// With an alias stage variable, a function with a canary alias is invoked at the alias the variable names, with a
/// permission for each alias; the stage must set the variable, and the canary overrides it.
#[test]
fn the_canary_invokes_the_alias_its_stage_variable_override_names() {
    let stage_props = |variables: &[(&str, &str)]| StageProps {
        canary: Some(Canary {
            percent_traffic: 10.0,
            stage_variable_overrides: [("lambdaAlias".to_owned(), "canary".to_owned())].into(),
        }),
        variables: variables.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..StageProps::default()
    };
    let build = |s: &mut Scope| {
        let f = Function::new(s, "Handler", &asset(), FunctionProps { canary_alias: true, ..FunctionProps::default() })
            .unwrap();
        let props = RestApiProps { alias_stage_variable: Some("lambdaAlias".into()), ..RestApiProps::default() };
        let mut api = RestApi::new(s, "Api", props).unwrap();
        api.add_method(s, "GET", "/orders", &f, Authorization::Iam, MethodProps::default()).unwrap();
        api
    };
    let t = template_unchecked(|s| {
        let api = build(s);
        api.deploy(s, "prod", stage_props(&[("lambdaAlias", "live")])).unwrap();
    });
    assert_eq!(
        props(&t, "ApiOrdersGET")["Integration"]["Uri"],
        json!({"Fn::Sub": [
            "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Function}:${!stageVariables.lambdaAlias}/invocations",
            {"Function": get_att("Handler", "Arn")}
        ]})
    );
    assert_eq!(props(&t, "ApiOrdersGETInvoke")["FunctionName"], ref_("HandlerLive"));
    assert_eq!(props(&t, "ApiOrdersGETInvokeCanary")["FunctionName"], ref_("HandlerCanary"));
    assert_eq!(props(&t, "ApiOrdersGETInvoke")["SourceArn"], props(&t, "ApiOrdersGETInvokeCanary")["SourceArn"]);
    assert_eq!(props(&t, "HandlerCanary")["Name"], "canary");
    assert_eq!(props(&t, "HandlerCanary")["FunctionVersion"], get_att("HandlerVersion", "Version"));
    assert_eq!(props(&t, "HandlerLive")["FunctionVersion"], get_att("HandlerVersion", "Version"));
    let stage = props(&t, "ApiProd");
    assert_eq!(stage["Variables"], json!({"lambdaAlias": "live"}));
    assert_eq!(stage["CanarySetting"]["StageVariableOverrides"], json!({"lambdaAlias": "canary"}));

    template_unchecked(|s| {
        let api = build(s);
        let e = api.deploy(s, "prod", stage_props(&[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Api/prod: integrations invoke the alias named by stage variable \"lambdaAlias\", which the stage does not set; set it in StageProps::variables (e.g. to \"live\")"
        );
        let bad = RestApiProps { alias_stage_variable: Some("lambda-alias".into()), ..RestApiProps::default() };
        let e = RestApi::new(s, "Bad", bad).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Bad: invalid stage variable name \"lambda-alias\": 1 to 64 characters from A-Z a-z 0-9 _"
        );
    });
}

#[test]
fn deployment_id_changes_with_the_routes() {
    let logical = |extra: bool| {
        let t = template_unchecked(|s| {
            let (mut api, f) = api(s);
            if extra {
                api.add_method(s, "GET", "/health", &f, Authorization::Iam, MethodProps::default()).unwrap();
            }
            api.deploy(s, "prod", StageProps::default()).unwrap();
        });
        of_type(&t, "AWS::ApiGateway::Deployment")
    };
    assert_ne!(logical(false), logical(true));
    assert_eq!(logical(false), logical(false));
}

#[test]
fn deployment_waits_for_methods_in_other_stacks() {
    let mut app = App::new("t");
    app.add_asset(asset());
    let mut a = Stack::new(StackProps::new("A", "t-a", "eu-west-1", "dev"));
    let mut b = Stack::new(StackProps::new("B", "t-b", "eu-west-1", "dev"));
    let mut c = Stack::new(StackProps::new("C", "t-c", "eu-west-1", "dev"));
    let (mut api, f) = {
        let mut r = a.root();
        let f = Function::new(&mut r, "Handler", &asset(), FunctionProps::default()).unwrap();
        (RestApi::new(&mut r, "Api", RestApiProps::default()).unwrap(), f)
    };
    api.add_method(&mut a.root(), "GET", "/a", &f, Authorization::Iam, MethodProps::default()).unwrap();
    api.add_method(&mut b.root(), "GET", "/b", &f, Authorization::Iam, MethodProps::default()).unwrap();
    api.deploy(&mut c.root(), "prod", StageProps::default()).unwrap();
    app.add_stack(a);
    app.add_stack(b);
    app.add_stack(c);
    let out = app.synth().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.stack("C").unwrap().dependencies, ["A", "B"], "the stage stack comes after every route stack");
    assert_eq!(out.stack("B").unwrap().dependencies, ["A"]);
    let t: serde_json::Value = serde_json::from_str(&out.stack("C").unwrap().template).unwrap();
    let d = &of_type(&t, "AWS::ApiGateway::Deployment")[0];
    let description = resource(&t, d)["Properties"]["Description"].to_string();
    assert!(description.contains("Fn::GetStackOutput"), "{description}");
}

#[test]
fn custom_domain_is_regional_tls12() {
    let t = template_unchecked(|s| {
        let (api, _) = api(s);
        let stage = api.deploy(s, "prod", StageProps::default()).unwrap();
        let d = DomainName::new(s, "Domain", "api.example.com", Val::from("arn:aws:acm:eu-west-1:1:certificate/c"))
            .unwrap();
        d.map(s, "Root", &api, &stage, None);
    });
    let d = props(&t, "Domain");
    assert_eq!(d["SecurityPolicy"], "TLS_1_2");
    assert_eq!(d["EndpointConfiguration"], json!({"Types": ["REGIONAL"]}));
    assert_eq!(props(&t, "DomainRoot")["Stage"], "prod");
    assert_eq!(resource(&t, "DomainRoot")["DependsOn"], json!(["ApiProd"]));
}

#[test]
fn api_errors() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let mut s = stack.root();
    let (mut api, f) = api(&mut s);
    fn e<T: std::fmt::Debug>(r: Result<T, constructs::ConstructError>) -> String {
        r.unwrap_err().to_string()
    }
    assert_eq!(
        e(api.add_method(&mut s, "GET", "/tenants/{tenant_id}/orders", &f, Authorization::Iam, MethodProps::default())),
        "Api: duplicate method \"GET /tenants/{tenant_id}/orders\""
    );
    assert_eq!(
        e(api.add_method(&mut s, "FETCH", "/x", &f, Authorization::Iam, MethodProps::default())),
        "Api: invalid HTTP method \"FETCH\": GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY"
    );
    assert_eq!(
        e(api.add_method(&mut s, "GET", "/a//b", &f, Authorization::Iam, MethodProps::default())),
        "Api: invalid resource path \"/a//b\": segments of A-Z a-z 0-9 - _ . or {parameter} (letters, digits, _), each parameter once, no empty segment"
    );
    assert_eq!(
        e(api.add_authorizer(
            &mut s,
            "Slow",
            &f,
            AuthorizerKind::Token { header: "Authorization".into(), validation_regex: None },
            7200
        )),
        "Api/Slow: authorizer cache TTL (s) 7200 is out of range: allowed 0 to 3600"
    );
    assert_eq!(
        e(api.add_model(&mut s, "Create-Order", json!({}))),
        "Api/Models: invalid model name \"Create-Order\": letters and digits only"
    );
    assert_eq!(
        e(api.deploy(&mut s, "prod stage", StageProps::default())),
        "Api/prod stage: invalid stage name \"prod stage\": 1 to 128 characters from A-Z a-z 0-9 - _"
    );
    let empty = RestApi::new(&mut s, "Empty", RestApiProps::default()).unwrap();
    assert_eq!(e(empty.deploy(&mut s, "prod", StageProps::default())), "Empty/prod: the API has no methods to deploy");
}
