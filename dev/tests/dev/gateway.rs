//! The gateway on the fixture assembly: routing, authorizer, keys and plans, throttling, validation, the proxy
//! event and the response mapping, each answered as API Gateway answers.

use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use dev::gateway::Response;
use dev::gateway::model::{Authorization, RestApi, Unsupported};
use dev::invoke::InvokeError;
use serde_json::{Value, json};

use crate::fixtures::{Fake, allow, api, assembly, gateway, ok, request, templates};

const TOKEN: (&str, &str) = ("Authorization", "Bearer abc123");

/// A fake where the authorizer allows (with `key` as usage identifier key) and the handler answers 200.
fn allowing(key: Option<&'static str>) -> Fake {
    Fake::new(move |f, _| if f == "Auth" { Ok(allow("user-1", key)) } else { Ok(ok()) })
}

fn check(response: &Response, status: u16, body: Value) {
    assert_eq!((response.status, response.json()), (status, body), "{response:?}");
}

#[test]
fn the_model_follows_the_templates_across_stacks() {
    let api = api("HEADER");
    let paths: Vec<_> = api.resources.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/",
            "/files",
            "/files/{proxy+}",
            "/health",
            "/tenants",
            "/tenants/{tenant_id}",
            "/tenants/me",
            "/tenants/{tenant_id}/orders"
        ]
    );
    let orders = api.resource("/tenants/{tenant_id}/orders").unwrap();
    let post = &orders.methods["POST"];
    assert_eq!(post.function, "Handler");
    assert_eq!(post.authorization, Authorization::Custom("ApiAuthorizer".into()));
    assert!(post.validate_body && post.validate_parameters);
    assert_eq!(post.request_models["application/json"], "Order");
    assert!(orders.methods["GET"].api_key_required);
    assert_eq!(api.authorizers["ApiAuthorizer"].function, "Auth");
    assert_eq!(api.authorizers["ApiAuthorizer"].ttl_seconds, 60);
    assert_eq!(api.stage.name, "local");
    assert_eq!(api.stage.throttle.map(|t| (t.rate, t.burst)), Some((100.0, 200.0)));
    assert_eq!(api.api_keys["ProKey"].value, "local-ProKey");
    assert_eq!(api.usage_plans.iter().map(|p| p.keys.len()).sum::<usize>(), 3);
    assert!(api.unsupported.is_empty(), "{:?}", api.unsupported);
}

#[test]
fn features_the_emulator_lacks_are_listed_by_logical_id() {
    let out = json!({"Fn::GetStackOutput": {"StackName": "app-core", "OutputName": "ApiRef"}});
    let (core, routes) = templates(
        "HEADER",
        json!({
            "PoolAuth": {"Type": "AWS::ApiGateway::Authorizer", "Properties": {
                "RestApiId": {"Ref": "Api"}, "Type": "COGNITO_USER_POOLS", "ProviderARNs": ["x"]}},
            "Domain": {"Type": "AWS::ApiGateway::DomainName", "Properties": {"DomainName": "api.example.com"}}
        }),
        json!({
            "HttpGET": {"Type": "AWS::ApiGateway::Method", "Properties": {
                "RestApiId": out, "ResourceId": {"Fn::GetAtt": ["Health", "ResourceId"]}, "HttpMethod": "PUT",
                "AuthorizationType": "NONE", "Integration": {"Type": "HTTP_PROXY", "Uri": "https://example.com"}}},
            "IamGET": {"Type": "AWS::ApiGateway::Method", "Properties": {
                "RestApiId": out, "ResourceId": {"Fn::GetAtt": ["Health", "ResourceId"]}, "HttpMethod": "DELETE",
                "AuthorizationType": "AWS_IAM", "Integration": {"Type": "AWS_PROXY", "Uri": "x"}}}
        }),
    );
    let api = RestApi::from_assembly(&assembly(&core, &routes), None).unwrap();
    let listed: Vec<(String, String)> = api
        .unsupported
        .iter()
        .map(|Unsupported { logical_id, feature, .. }| (logical_id.clone(), feature.clone()))
        .collect();
    assert_eq!(
        listed,
        [
            ("PoolAuth".to_string(), "authorizer type COGNITO_USER_POOLS".to_string()),
            ("HttpGET".into(), "integration type HTTP_PROXY".into()),
            ("IamGET".into(), "authorization type AWS_IAM".into()),
            ("Domain".into(), "resource type not emulated".into()),
        ]
    );
}

#[test]
fn bad_templates_are_errors_naming_the_resource() {
    let (mut core, routes) = templates("HEADER", json!({}), json!({}));
    core["Resources"]["OrderModel"]["Properties"]["Schema"] = json!({"type": 12});
    let err = RestApi::from_assembly(&assembly(&core, &routes), None).unwrap_err();
    assert!(
        err.to_string().starts_with("AWS::ApiGateway::Model OrderModel: Schema is not a valid draft 4 schema"),
        "{err}"
    );
    let (core, mut routes) = templates("HEADER", json!({}), json!({}));
    routes["Resources"]["Tenant"]["Properties"]["ParentId"] = json!({"Fn::GetAtt": ["Nowhere", "ResourceId"]});
    let err = RestApi::from_assembly(&assembly(&core, &routes), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "stack Routes, resource Tenant: cannot resolve {\"Fn::GetAtt\":[\"Nowhere\",\"ResourceId\"]}: no resource Nowhere in the stack"
    );
}

#[tokio::test]
async fn routing_prefers_literals_then_parameters_then_greedy_paths() {
    let fake = allowing(None);
    let (gw, _) = gateway("HEADER", fake.clone());
    check(&gw.handle(request("GET", "/health", &[], "")).await, 200, json!({"ok": true}));
    check(&gw.handle(request("GET", "/tenants/me/", &[], "")).await, 200, json!({"ok": true}));
    check(&gw.handle(request("GET", "/tenants/acme%20co", &[TOKEN], "")).await, 200, json!({"ok": true}));
    check(&gw.handle(request("PATCH", "/files/a/b%2Fc.txt", &[], "")).await, 200, json!({"ok": true}));
    let events = fake.calls_to("Handler");
    let resources: Vec<_> = events.iter().map(|e| e["resource"].as_str().unwrap()).collect();
    assert_eq!(resources, ["/health", "/tenants/me", "/tenants/{tenant_id}", "/files/{proxy+}"]);
    assert_eq!(events[2]["pathParameters"], json!({"tenant_id": "acme co"}));
    assert_eq!(events[3]["pathParameters"], json!({"proxy": "a/b/c.txt"}));
    assert_eq!(events[3]["httpMethod"], json!("PATCH"));

    let missing = json!({"message": "Missing Authentication Token"});
    for (method, path) in [("GET", "/nope"), ("DELETE", "/health"), ("GET", "/files"), ("GET", "/tenants//orders")] {
        let r = gw.handle(request(method, path, &[], "")).await;
        check(&r, 403, missing.clone());
        assert_eq!(r.header("x-amzn-ErrorType"), Some("MissingAuthenticationTokenException"));
    }
    assert_eq!(fake.calls_to("Handler").len(), 4, "no function runs for an unknown route");
}

#[tokio::test]
async fn the_authorizer_is_invoked_as_api_gateway_does() {
    let fake = allowing(None);
    let (gw, clock) = gateway("HEADER", fake.clone());
    let unauthorized = json!({"message": "Unauthorized"});
    check(&gw.handle(request("GET", "/tenants/acme", &[], "")).await, 401, unauthorized.clone());
    check(&gw.handle(request("GET", "/tenants/acme", &[("Authorization", "Basic xyz")], "")).await, 401, unauthorized);
    assert!(fake.calls_to("Auth").is_empty(), "a missing or malformed token never reaches the authorizer");

    check(&gw.handle(request("GET", "/tenants/acme", &[TOKEN], "")).await, 200, json!({"ok": true}));
    assert_eq!(
        fake.calls_to("Auth"),
        [json!({
            "type": "TOKEN",
            "authorizationToken": "Bearer abc123",
            "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:Api/local/GET/tenants/acme"
        })]
    );
    let event = &fake.calls_to("Handler")[0];
    assert_eq!(
        event["requestContext"]["authorizer"],
        json!({"principalId": "user-1", "tenantId": "acme", "tier": "free", "n": "3"})
    );
    // Cached per token for the TTL, for every method the token calls.
    check(
        &gw.handle(request("POST", "/tenants/acme/orders", &[TOKEN, ("Idempotency-Key", "k")], r#"{"sku":"a"}"#)).await,
        200,
        json!({"ok": true}),
    );
    assert_eq!(fake.calls_to("Auth").len(), 1);
    clock.advance(61_000);
    gw.handle(request("GET", "/tenants/acme", &[TOKEN], "")).await;
    assert_eq!(fake.calls_to("Auth").len(), 2, "the cache entry expired after 60 s");
}

#[tokio::test]
async fn authorizer_denials_and_failures() {
    let deny = Fake::new(|f, _| {
        let mut policy = allow("u", None);
        policy["policyDocument"]["Statement"] = json!([
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"},
            {"Action": "execute-api:*", "Effect": "Deny", "Resource": "arn:aws:execute-api:*:*:Api/local/POST/*"}
        ]);
        if f == "Auth" { Ok(policy) } else { Ok(ok()) }
    });
    let (gw, _) = gateway("HEADER", deny.clone());
    let explicit = json!({"message": "User is not authorized to access this resource with an explicit deny"});
    let r =
        gw.handle(request("POST", "/tenants/acme/orders", &[TOKEN, ("Idempotency-Key", "k")], r#"{"sku":"a"}"#)).await;
    check(&r, 403, explicit);
    assert_eq!(r.header("x-amzn-ErrorType"), Some("AccessDeniedException"));
    check(&gw.handle(request("GET", "/tenants/acme", &[TOKEN], "")).await, 200, json!({"ok": true}));

    let other_api = Fake::new(|f, _| {
        let mut policy = allow("u", None);
        policy["policyDocument"]["Statement"][0]["Resource"] = json!("arn:aws:execute-api:*:*:Other/*");
        if f == "Auth" { Ok(policy) } else { Ok(ok()) }
    });
    let (gw, _) = gateway("HEADER", other_api);
    check(
        &gw.handle(request("GET", "/tenants/acme", &[TOKEN], "")).await,
        403,
        json!({"message": "User is not authorized to access this resource"}),
    );

    let error = |message: &'static str| {
        Fake::new(move |_, _| {
            Err(InvokeError::Function { function: "Auth".into(), error_type: "Error".into(), message: message.into() })
        })
    };
    let (gw, _) = gateway("HEADER", error("Unauthorized"));
    check(&gw.handle(request("GET", "/tenants/acme", &[TOKEN], "")).await, 401, json!({"message": "Unauthorized"}));
    let (gw, _) = gateway("HEADER", error("boom"));
    check(&gw.handle(request("GET", "/tenants/acme", &[TOKEN], "")).await, 500, json!({"message": null}));
    let (gw, _) = gateway("HEADER", Fake::new(|_, _| Ok(json!({"nope": 1}))));
    check(&gw.handle(request("GET", "/tenants/acme", &[TOKEN], "")).await, 500, json!({"message": null}));
}

#[tokio::test]
async fn validation_answers_400_before_any_function_runs() {
    let fake = allowing(None);
    let (gw, _) = gateway("HEADER", fake.clone());
    let post = |headers: &[(&str, &str)], body: &str| request("POST", "/tenants/acme/orders", headers, body);
    check(
        &gw.handle(post(&[TOKEN], r#"{"sku":"a"}"#)).await,
        400,
        json!({"message": "Missing required request parameters: [Idempotency-Key]"}),
    );
    let invalid = json!({"message": "Invalid request body"});
    let idem = ("idempotency-key", "k-1");
    for body in [r#"{"qty":1}"#, r#"{"sku":"a","extra":1}"#, r#"{"sku":"a","qty":0}"#, "not json", ""] {
        let r = gw.handle(post(&[TOKEN, idem], body)).await;
        check(&r, 400, invalid.clone());
        assert_eq!(r.header("x-amzn-ErrorType"), Some("BadRequestException"));
    }
    assert!(fake.calls_to("Handler").is_empty());
    check(
        &gw.handle(post(&[TOKEN, idem, ("Content-Type", "application/json; charset=utf-8")], r#"{"sku":"a","qty":2}"#))
            .await,
        200,
        json!({"ok": true}),
    );
    // A content type without a model is not validated, as in API Gateway.
    check(
        &gw.handle(post(&[TOKEN, idem, ("Content-Type", "text/plain")], "free text")).await,
        200,
        json!({"ok": true}),
    );
    assert_eq!(fake.calls_to("Handler").len(), 2);
}

#[tokio::test]
async fn api_keys_usage_plans_and_quotas() {
    let fake = allowing(None);
    let (gw, clock) = gateway("HEADER", fake.clone());
    let get = |key: Option<&str>| {
        let mut headers = vec![TOKEN];
        if let Some(k) = key {
            headers.push(("x-api-key", k));
        }
        request("GET", "/tenants/acme/orders", &headers, "")
    };
    let forbidden = json!({"message": "Forbidden"});
    for key in [None, Some("unknown"), Some("off-key")] {
        check(&gw.handle(get(key)).await, 403, forbidden.clone());
    }
    // Free: 3 a day.
    for _ in 0..3 {
        check(&gw.handle(get(Some("free-key-value"))).await, 200, json!({"ok": true}));
    }
    let r = gw.handle(get(Some("free-key-value"))).await;
    check(&r, 429, json!({"message": "Limit Exceeded"}));
    assert_eq!(r.header("x-amzn-ErrorType"), Some("LimitExceededException"));
    // Pro: 1 request/s, burst 2.
    check(&gw.handle(get(Some("local-ProKey"))).await, 200, json!({"ok": true}));
    check(&gw.handle(get(Some("local-ProKey"))).await, 200, json!({"ok": true}));
    check(&gw.handle(get(Some("local-ProKey"))).await, 429, json!({"message": "Too Many Requests"}));
    clock.advance(1000);
    check(&gw.handle(get(Some("local-ProKey"))).await, 200, json!({"ok": true}));
    clock.advance(86_400_000);
    check(&gw.handle(get(Some("free-key-value"))).await, 200, json!({"ok": true}));
    let event: ApiGatewayProxyRequest = serde_json::from_value(fake.calls_to("Handler").pop().unwrap()).unwrap();
    assert_eq!(event.request_context.identity.api_key.as_deref(), Some("free-key-value"));
    assert_eq!(event.request_context.identity.api_key_id.as_deref(), Some("FreeKey"));
}

#[tokio::test]
async fn the_key_comes_from_the_authorizer_when_the_api_says_so() {
    use std::sync::{Arc, Mutex};
    let records = Arc::new(Mutex::new(Vec::new()));
    let sink = records.clone();
    let (gw, _) = gateway("AUTHORIZER", allowing(Some("free-key-value")));
    let gw = gw.with_access_log(move |r| sink.lock().unwrap().push(r.clone()));
    let get = request("GET", "/tenants/acme/orders", &[TOKEN, ("x-api-key", "ignored")], "");
    check(&gw.handle(get).await, 200, json!({"ok": true}));
    // The access log names the key's id, as the stage's `$context.identity.apiKeyId` (the Contributor Insights
    // rules count requests by it).
    let record = records.lock().unwrap()[0].clone();
    assert_eq!(record.api_key_id.as_deref(), Some("FreeKey"));
    assert!(record.to_string().contains(" key=FreeKey "), "{record}");
    let (gw, _) = gateway("AUTHORIZER", allowing(None));
    let get = request("GET", "/tenants/acme/orders", &[TOKEN, ("x-api-key", "free-key-value")], "");
    check(&gw.handle(get).await, 403, json!({"message": "Forbidden"}));
}

#[tokio::test]
async fn stage_and_method_throttling() {
    let (gw, clock) = gateway("HEADER", allowing(None));
    // `/health GET` has its own limit: 1/s, burst 2.
    check(&gw.handle(request("GET", "/health", &[], "")).await, 200, json!({"ok": true}));
    check(&gw.handle(request("GET", "/health", &[], "")).await, 200, json!({"ok": true}));
    let r = gw.handle(request("GET", "/health", &[], "")).await;
    check(&r, 429, json!({"message": "Too Many Requests"}));
    assert_eq!(r.header("x-amzn-ErrorType"), Some("TooManyRequestsException"));
    // Other routes use the stage's 100/s, burst 200.
    check(&gw.handle(request("GET", "/tenants/me", &[], "")).await, 200, json!({"ok": true}));
    clock.advance(1000);
    check(&gw.handle(request("GET", "/health", &[], "")).await, 200, json!({"ok": true}));
    let mut limited = 0;
    for _ in 0..250 {
        if gw.handle(request("GET", "/tenants/me", &[], "")).await.status == 429 {
            limited += 1;
        }
    }
    // The bucket refilled to its burst of 200 during the second.
    assert_eq!(limited, 50);
}

#[tokio::test]
async fn the_proxy_event_has_the_rest_v1_shape() {
    let fake = allowing(None);
    let (gw, _) = gateway("HEADER", fake.clone());
    let r = gw
        .handle(request(
            "POST",
            "/tenants/acme/orders?dry=1&tag=a&tag=b",
            &[TOKEN, ("Idempotency-Key", "k"), ("X-Multi", "1"), ("X-Multi", "2"), ("User-Agent", "curl/8")],
            r#"{"sku":"a"}"#,
        ))
        .await;
    assert_eq!(r.status, 200);
    let request_id = r.header("x-amzn-RequestId").unwrap().to_owned();
    assert!(r.header("X-Amzn-Trace-Id").unwrap().starts_with("Root=1-"));
    let raw = fake.calls_to("Handler").pop().unwrap();
    let event: ApiGatewayProxyRequest = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(event.resource.as_deref(), Some("/tenants/{tenant_id}/orders"));
    assert_eq!(event.path.as_deref(), Some("/tenants/acme/orders"));
    assert_eq!(event.headers.get("x-multi").unwrap(), "2");
    assert_eq!(event.multi_value_headers.get_all("x-multi").iter().count(), 2);
    assert!(event.headers.get("x-amzn-trace-id").is_some(), "the X-Ray header reaches the function");
    assert_eq!(event.query_string_parameters.first("tag"), Some("b"));
    assert_eq!(event.multi_value_query_string_parameters.all("tag"), Some(vec!["a", "b"]));
    assert_eq!(event.path_parameters["tenant_id"], "acme");
    assert_eq!(event.stage_variables["color"], "blue");
    assert_eq!(event.body.as_deref(), Some(r#"{"sku":"a"}"#));
    let ctx = &event.request_context;
    assert_eq!(ctx.request_id.as_deref(), Some(request_id.as_str()));
    assert_eq!(ctx.stage.as_deref(), Some("local"));
    assert_eq!(ctx.resource_path.as_deref(), Some("/tenants/{tenant_id}/orders"));
    assert_eq!(ctx.identity.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(ctx.identity.user_agent.as_deref(), Some("curl/8"));
    assert_eq!(ctx.authorizer.fields["tenantId"], json!("acme"));
    assert_eq!(raw["requestContext"]["apiId"], json!("Api"));

    let png = [0x89u8, b'P', b'N', b'G'];
    let mut binary = request("PUT", "/files/logo.png", &[("Content-Type", "image/png")], "");
    binary.body = bytes::Bytes::copy_from_slice(&png);
    assert_eq!(gw.handle(binary).await.status, 200);
    let raw = fake.calls_to("Handler").pop().unwrap();
    assert_eq!((raw["body"].clone(), raw["isBase64Encoded"].clone()), (json!("iVBORw=="), json!(true)));
}

#[tokio::test]
async fn responses_errors_and_timeouts_map_as_api_gateway_maps_them() {
    let fake = Fake::new(|_, event| {
        Ok(match event["pathParameters"]["proxy"].as_str() {
            Some("multi") => json!({"statusCode": 201, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
                "headers": {"Content-Type": "text/plain"}, "body": "made"}),
            Some("binary") => {
                json!({"statusCode": 200, "headers": {"content-type": "image/png"}, "body": "iVBORw==", "isBase64Encoded": true})
            }
            Some("malformed") => json!({"status": 200}),
            _ => return Err(InvokeError::Crashed { function: "Handler".into(), detail: "panicked".into() }),
        })
    });
    let (gw, _) = gateway("HEADER", fake);
    let r = gw.handle(request("GET", "/files/multi", &[], "")).await;
    assert_eq!((r.status, r.body.as_ref()), (201, b"made".as_ref()));
    let cookies: Vec<_> = r.headers.iter().filter(|(n, _)| n == "Set-Cookie").map(|(_, v)| v.as_str()).collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let r = gw.handle(request("GET", "/files/binary", &[("Accept", "image/png, */*")], "")).await;
    assert_eq!(r.body.as_ref(), [0x89, b'P', b'N', b'G']);
    let r = gw.handle(request("GET", "/files/binary", &[("Accept", "*/*, image/png")], "")).await;
    assert_eq!(r.body.as_ref(), b"iVBORw==", "only the first Accept type counts");
    let internal = json!({"message": "Internal server error"});
    check(&gw.handle(request("GET", "/files/malformed", &[], "")).await, 502, internal.clone());
    check(&gw.handle(request("GET", "/files/crash", &[], "")).await, 502, internal);

    // `/files/{proxy+}` has a 100 ms integration timeout.
    let (gw, _) = gateway("HEADER", Fake::new(|_, _| Ok(ok())).slow(Duration::from_millis(300)));
    let r = gw.handle(request("GET", "/files/slow", &[], "")).await;
    check(&r, 504, json!({"message": "Endpoint request timed out"}));
}

#[tokio::test]
async fn a_canary_sees_its_stage_variable_overrides() {
    let (core, mut routes) = templates("HEADER", json!({}), json!({}));
    routes["Resources"]["Stage"]["Properties"]["CanarySetting"] =
        json!({"PercentTraffic": 100, "StageVariableOverrides": {"color": "green"}});
    let api = RestApi::from_assembly(&assembly(&core, &routes), None).unwrap();
    let fake = allowing(None);
    let gw = dev::gateway::Gateway::new(api, fake.clone()).unwrap();
    gw.handle(request("GET", "/health", &[], "")).await;
    assert_eq!(fake.calls_to("Handler")[0]["stageVariables"], json!({"color": "green"}));
}

#[tokio::test]
async fn every_request_is_recorded_in_the_access_log() {
    use std::sync::{Arc, Mutex};
    let records = Arc::new(Mutex::new(Vec::new()));
    let sink = records.clone();
    let fake = Fake::new(|f, e| match (f, e["httpMethod"].as_str()) {
        ("Auth", _) => Ok(allow("u", None)),
        (_, Some("DELETE")) => Err(InvokeError::Crashed { function: "Handler".into(), detail: "exit 3".into() }),
        _ => Ok(ok()),
    });
    let gw = dev::gateway::Gateway::new(api("HEADER"), fake)
        .unwrap()
        .with_access_log(move |r| sink.lock().unwrap().push(r.clone()));
    gw.handle(request("GET", "/tenants/acme", &[TOKEN], "")).await;
    gw.handle(request("GET", "/nope", &[], "")).await;
    gw.handle(request("DELETE", "/files/x", &[], "")).await;
    let post = [TOKEN, ("Idempotency-Key", "k")];
    gw.handle(request("POST", "/tenants/acme/orders", &post, r#"{"sku":"","n":1}"#)).await;
    let records = records.lock().unwrap();
    assert_eq!(
        records[3].detail.as_deref(),
        Some(
            r#"model Order: /sku: "" is shorter than 1 character; /: Additional properties are not allowed ('n' was unexpected)"#
        )
    );
    let ok = &records[0];
    assert_eq!(
        (ok.status, ok.resource_path.as_deref(), ok.function.as_deref(), ok.tenant.as_deref()),
        (200, Some("/tenants/{tenant_id}"), Some("Handler"), Some("acme"))
    );
    assert!(ok.to_string().starts_with("GET /tenants/acme 200 "), "{}", ok);
    assert!(ok.to_string().contains(" -> Handler "), "{}", ok);
    assert_eq!(
        (records[1].status, records[1].error_type.as_deref()),
        (403, Some("MissingAuthenticationTokenException"))
    );
    assert_eq!(records[2].detail.as_deref(), Some("function Handler crashed: exit 3"));
    assert!(records[2].to_string().ends_with("(function Handler crashed: exit 3)"), "{}", records[2]);
}

#[tokio::test]
async fn a_request_authorizer_gets_the_request_and_caches_per_identity() {
    let out = |name: &str| json!({"Fn::GetStackOutput": {"StackName": "app-core", "OutputName": name}});
    let (core, routes) = templates(
        "HEADER",
        json!({
            "ReqAuth": {"Type": "AWS::ApiGateway::Authorizer", "Properties": {
                "RestApiId": {"Ref": "Api"}, "Type": "REQUEST", "AuthorizerResultTtlInSeconds": 60,
                "IdentitySource": "method.request.header.X-Tenant, method.request.querystring.sig, context.httpMethod",
                "AuthorizerUri": {"Fn::Sub": ["arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${F}/invocations",
                    {"F": {"Fn::GetAtt": ["Auth", "Arn"]}}]}}}
        }),
        json!({
            "Things": {"Type": "AWS::ApiGateway::Resource", "Properties": {
                "RestApiId": out("ApiRef"), "ParentId": out("Root"), "PathPart": "things"}},
            "ThingsGET": {"Type": "AWS::ApiGateway::Method", "Properties": {
                "RestApiId": out("ApiRef"), "ResourceId": {"Fn::GetAtt": ["Things", "ResourceId"]}, "HttpMethod": "GET",
                "AuthorizationType": "CUSTOM", "AuthorizerId": out("ReqAuthId"),
                "Integration": {"Type": "AWS_PROXY", "Uri": {"Fn::Sub": ["arn:aws:apigateway:r:lambda:path/2015-03-31/functions/${F}/invocations", {"F": out("HandlerArn")}]}}}}
        }),
    );
    let mut core = core;
    core["Outputs"]["ReqAuthId"] = json!({"Value": {"Fn::GetAtt": ["ReqAuth", "AuthorizerId"]}});
    let api = RestApi::from_assembly(&assembly(&core, &routes), None).unwrap();
    assert!(api.unsupported.is_empty(), "{:?}", api.unsupported);
    let fake = allowing(None);
    let gw = dev::gateway::Gateway::new(api, fake.clone()).unwrap();
    let unauthorized = json!({"message": "Unauthorized"});
    check(&gw.handle(request("GET", "/things", &[("X-Tenant", "acme")], "")).await, 401, unauthorized.clone());
    check(&gw.handle(request("GET", "/things?sig=", &[("X-Tenant", "acme")], "")).await, 401, unauthorized);
    assert!(fake.calls_to("Auth").is_empty(), "a missing identity source never reaches the authorizer");
    check(&gw.handle(request("GET", "/things?sig=s1", &[("X-Tenant", "acme")], "")).await, 200, json!({"ok": true}));
    check(&gw.handle(request("GET", "/things?sig=s1", &[("X-Tenant", "acme")], "")).await, 200, json!({"ok": true}));
    assert_eq!(fake.calls_to("Auth").len(), 1, "cached per identity");
    gw.handle(request("GET", "/things?sig=s2", &[("X-Tenant", "acme")], "")).await;
    let calls = fake.calls_to("Auth");
    assert_eq!(calls.len(), 2, "another identity, another call");
    let event: aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest =
        serde_json::from_value(calls[0].clone()).unwrap();
    assert_eq!(event.type_.as_deref(), Some("REQUEST"));
    assert_eq!(event.method_arn.as_deref(), Some("arn:aws:execute-api:eu-west-1:123456789012:Api/local/GET/things"));
    assert_eq!(event.resource.as_deref(), Some("/things"));
    assert_eq!(event.headers.get("x-tenant").unwrap(), "acme");
    assert_eq!(event.query_string_parameters.first("sig"), Some("s1"));
    assert_eq!(event.stage_variables["color"], "blue");
    assert!(calls[0].get("body").is_none());
}
