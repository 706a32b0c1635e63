//! The Lambda proxy integration: the REST (v1) event a function receives and the mapping of its output to the
//! HTTP response.
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html>

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::throttle::civil_from_days;

/// What the event is built from: the request and what the gateway found out about it.
pub struct EventInput<'a> {
    pub resource: &'a str,
    pub path: &'a str,
    pub http_method: &'a str,
    /// Header names and values in request order (repeated names included).
    pub headers: &'a [(String, String)],
    /// Query pairs, decoded, in request order.
    pub query: &'a [(String, String)],
    pub path_parameters: &'a BTreeMap<String, String>,
    pub stage_variables: &'a BTreeMap<String, String>,
    pub body: &'a Bytes,
    /// The body goes base64-encoded (a binary media type).
    pub binary: bool,
    pub api_id: &'a str,
    pub resource_id: &'a str,
    pub stage: &'a str,
    pub request_id: &'a str,
    pub source_ip: &'a str,
    pub api_key: Option<&'a str>,
    pub api_key_id: Option<&'a str>,
    pub operation_name: Option<&'a str>,
    /// `requestContext.authorizer`: `principalId` and the authorizer's context; none without an authorizer.
    pub authorizer: Option<Map<String, Value>>,
    pub epoch_ms: u64,
}

/// The proxy event (`aws_lambda_events::apigw::ApiGatewayProxyRequest`'s shape).
pub fn proxy_event(i: &EventInput<'_>) -> Value {
    let mut headers = Map::new();
    let mut multi_headers: Map<String, Value> = Map::new();
    for (name, value) in i.headers {
        // The last value wins in `headers`, as API Gateway does; all are in `multiValueHeaders`.
        headers.insert(name.clone(), Value::String(value.clone()));
        push(&mut multi_headers, name, value);
    }
    let mut query = Map::new();
    let mut multi_query: Map<String, Value> = Map::new();
    for (name, value) in i.query {
        query.insert(name.clone(), Value::String(value.clone()));
        push(&mut multi_query, name, value);
    }
    let or_null = |m: Map<String, Value>| if m.is_empty() { Value::Null } else { Value::Object(m) };
    let strings = |m: &BTreeMap<String, String>| {
        if m.is_empty() {
            Value::Null
        } else {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
        }
    };
    let user_agent = i.headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case("user-agent")).map(|(_, v)| v.clone());
    let body = if i.body.is_empty() {
        Value::Null
    } else if i.binary {
        Value::String(STANDARD.encode(i.body))
    } else {
        Value::String(String::from_utf8_lossy(i.body).into_owned())
    };
    let mut context = json!({
        "accountId": crate::assembly::LOCAL_ACCOUNT,
        "apiId": i.api_id,
        "resourceId": i.resource_id,
        "resourcePath": i.resource,
        "httpMethod": i.http_method,
        "path": format!("/{}{}", i.stage, i.path),
        "stage": i.stage,
        "requestId": i.request_id,
        "extendedRequestId": i.request_id,
        "protocol": "HTTP/1.1",
        "requestTime": request_time(i.epoch_ms),
        "requestTimeEpoch": i.epoch_ms,
        "domainName": "localhost",
        "domainPrefix": "localhost",
        "identity": {
            "sourceIp": i.source_ip,
            "userAgent": user_agent,
            "apiKey": i.api_key,
            "apiKeyId": i.api_key_id,
            "accountId": null, "caller": null, "user": null, "userArn": null, "accessKey": null,
            "cognitoIdentityPoolId": null, "cognitoIdentityId": null,
            "cognitoAuthenticationType": null, "cognitoAuthenticationProvider": null,
        },
    });
    if let Some(op) = i.operation_name {
        context["operationName"] = json!(op);
    }
    if let Some(a) = &i.authorizer {
        context["authorizer"] = Value::Object(a.clone());
    }
    json!({
        "resource": i.resource,
        "path": i.path,
        "httpMethod": i.http_method,
        "headers": or_null(headers),
        "multiValueHeaders": or_null(multi_headers),
        "queryStringParameters": or_null(query),
        "multiValueQueryStringParameters": or_null(multi_query),
        "pathParameters": strings(i.path_parameters),
        "stageVariables": strings(i.stage_variables),
        "requestContext": context,
        "body": body,
        "isBase64Encoded": i.binary && !i.body.is_empty(),
    })
}

fn push(map: &mut Map<String, Value>, name: &str, value: &str) {
    match map.entry(name.to_owned()).or_insert_with(|| Value::Array(Vec::new())) {
        Value::Array(a) => a.push(Value::String(value.to_owned())),
        other => *other = Value::Array(vec![Value::String(value.to_owned())]),
    }
}

/// `$context.requestTime`: `30/Nov/2026:11:28:08 +0000`.
pub fn request_time(epoch_ms: u64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = epoch_ms / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    let month = MONTHS[(m as usize).saturating_sub(1) % 12];
    format!("{d:02}/{month}/{y}:{:02}:{:02}:{:02} +0000", s / 3600, (s / 60) % 60, s % 60)
}

/// A function's answer mapped to HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyResponse {
    pub status: u16,
    /// `multiValueHeaders` then `headers` (a name in both: the `headers` value replaces the others).
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// Maps a proxy integration output; `Err` says why it is malformed (API Gateway answers 502 then). A base64 body
/// is decoded only when `binary_accepted` (the client's first `Accept` type is a binary media type of the API);
/// otherwise the client gets the base64 text, as from API Gateway.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html>
pub fn map_response(output: &Value, binary_accepted: bool) -> Result<ProxyResponse, String> {
    let Value::Object(o) = output else { return Err(format!("the output is {output}, not an object")) };
    // API Gateway rejects a proxy response with other keys ("Malformed Lambda proxy response").
    if let Some(k) = o.keys().find(|k| {
        !["statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"].contains(&k.as_str())
    }) {
        return Err(format!("unexpected key {k}"));
    }
    let status = match o.get("statusCode") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .filter(|s| (100..=599).contains(s))
    .ok_or_else(|| format!("statusCode {:?} is not an HTTP status", o.get("statusCode")))? as u16;
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(m) = o.get("multiValueHeaders").filter(|v| !v.is_null()) {
        let m = m.as_object().ok_or("multiValueHeaders is not an object")?;
        for (name, values) in m {
            let values = values.as_array().ok_or_else(|| format!("multiValueHeaders.{name} is not a list"))?;
            for v in values {
                headers.push((name.clone(), scalar(v).ok_or_else(|| format!("multiValueHeaders.{name} holds {v}"))?));
            }
        }
    }
    if let Some(m) = o.get("headers").filter(|v| !v.is_null()) {
        let m = m.as_object().ok_or("headers is not an object")?;
        for (name, v) in m {
            let v = scalar(v).ok_or_else(|| format!("headers.{name} is {v}, not a string"))?;
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.clone(), v));
        }
    }
    let base64 = match o.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(format!("isBase64Encoded is {other}, not a boolean")),
    };
    let body = match o.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if base64 && binary_accepted => {
            Bytes::from(STANDARD.decode(s).map_err(|e| format!("body is not base64: {e}"))?)
        }
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(other) => return Err(format!("body is {other}, not a string")),
    };
    Ok(ProxyResponse { status, headers, body })
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};

    use super::*;

    fn input<'a>(
        headers: &'a [(String, String)],
        query: &'a [(String, String)],
        params: &'a BTreeMap<String, String>,
        body: &'a Bytes,
        binary: bool,
    ) -> EventInput<'a> {
        EventInput {
            resource: "/tenants/{tenant_id}/orders",
            path: "/tenants/acme/orders",
            http_method: "POST",
            headers,
            query,
            path_parameters: params,
            stage_variables: params,
            body,
            binary,
            api_id: "Api",
            resource_id: "ApiTenantsTenantIdOrders",
            stage: "local",
            request_id: "req-1",
            source_ip: "127.0.0.1",
            api_key: Some("k"),
            api_key_id: Some("FreeApiKey"),
            operation_name: Some("createOrder"),
            authorizer: Some(Map::from_iter([("principalId".into(), json!("u")), ("tenantId".into(), json!("acme"))])),
            epoch_ms: 1_796_038_088_000,
        }
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect()
    }

    #[test]
    fn the_event_deserializes_as_a_rest_proxy_request() {
        let headers = pairs(&[("content-type", "application/json"), ("x-multi", "a"), ("x-multi", "b")]);
        let query = pairs(&[("limit", "10"), ("tag", "x"), ("tag", "y")]);
        let params = BTreeMap::from([("tenant_id".to_string(), "acme".to_string())]);
        let body = Bytes::from_static(b"{\"a\":1}");
        let event = proxy_event(&input(&headers, &query, &params, &body, false));
        let req: ApiGatewayProxyRequest = serde_json::from_value(event.clone()).unwrap();
        assert_eq!(req.resource.as_deref(), Some("/tenants/{tenant_id}/orders"));
        assert_eq!(req.path.as_deref(), Some("/tenants/acme/orders"));
        assert_eq!(req.http_method, http::Method::POST);
        assert_eq!(req.headers.get("x-multi").unwrap(), "b");
        let multi: Vec<_> = req.multi_value_headers.get_all("x-multi").iter().collect();
        assert_eq!(multi, ["a", "b"]);
        assert_eq!(req.query_string_parameters.first("tag"), Some("y"));
        assert_eq!(req.multi_value_query_string_parameters.all("tag"), Some(vec!["x", "y"]));
        assert_eq!(req.path_parameters["tenant_id"], "acme");
        assert_eq!(req.stage_variables["tenant_id"], "acme");
        assert_eq!(req.body.as_deref(), Some("{\"a\":1}"));
        assert!(!req.is_base64_encoded);
        let ctx = &req.request_context;
        assert_eq!(ctx.stage.as_deref(), Some("local"));
        assert_eq!(ctx.request_id.as_deref(), Some("req-1"));
        assert_eq!(ctx.resource_path.as_deref(), Some("/tenants/{tenant_id}/orders"));
        assert_eq!(ctx.path.as_deref(), Some("/local/tenants/acme/orders"));
        assert_eq!(ctx.identity.source_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(ctx.identity.api_key.as_deref(), Some("k"));
        assert_eq!(ctx.authorizer.fields["tenantId"], json!("acme"));
        assert_eq!(event["requestContext"]["requestTime"], json!("30/Nov/2026:11:28:08 +0000"));
    }

    #[test]
    fn empty_parts_are_null_and_binary_bodies_base64() {
        let params = BTreeMap::new();
        let body = Bytes::from_static(&[0xff, 0x00, 0x01]);
        let event = proxy_event(&input(&[], &[], &params, &body, true));
        for key in ["headers", "multiValueHeaders", "queryStringParameters", "pathParameters", "stageVariables"] {
            assert_eq!(event[key], Value::Null, "{key}");
        }
        assert_eq!(event["body"], json!("/wAB"));
        assert_eq!(event["isBase64Encoded"], json!(true));
        let req: ApiGatewayProxyRequest = serde_json::from_value(event).unwrap();
        assert!(req.is_base64_encoded);
    }

    type Expected<'a> = Result<(u16, &'a [(&'a str, &'a str)], &'a [u8]), &'a str>;

    fn check(output: Value, expected: Expected<'_>) {
        let got = map_response(&output, true);
        match expected {
            Ok((status, headers, body)) => {
                let r = got.unwrap();
                assert_eq!((r.status, r.headers, r.body.as_ref()), (status, pairs(headers), body));
            }
            Err(e) => assert_eq!(got.unwrap_err(), e),
        }
    }

    #[test]
    fn responses_map_as_api_gateway_maps_them() {
        // What aws_lambda_events serializes is what the gateway reads.
        let mut typed = ApiGatewayProxyResponse::default();
        typed.status_code = 201;
        typed.headers.insert("content-type", "application/json".parse().unwrap());
        typed.body = Some("{}".into());
        check(serde_json::to_value(&typed).unwrap(), Ok((201, &[("content-type", "application/json")], b"{}")));
        check(
            json!({"statusCode": 200, "multiValueHeaders": {"set-cookie": ["a=1", "b=2"], "x": ["old"]}, "headers": {"x": "new"}}),
            Ok((200, &[("set-cookie", "a=1"), ("set-cookie", "b=2"), ("x", "new")], b"")),
        );
        check(json!({"statusCode": 200, "body": "/wAB", "isBase64Encoded": true}), Ok((200, &[], &[0xff, 0, 1])));
        check(json!({"statusCode": "204"}), Ok((204, &[], b"")));
        let text = map_response(&json!({"statusCode": 200, "body": "/wAB", "isBase64Encoded": true}), false).unwrap();
        assert_eq!(text.body.as_ref(), b"/wAB", "without a binary Accept type the client gets the base64 text");
    }

    #[test]
    fn malformed_responses_say_why() {
        check(json!("hello"), Err("the output is \"hello\", not an object"));
        check(json!({"statusCode": 200, "extra": 1}), Err("unexpected key extra"));
        check(json!({"body": "x"}), Err("statusCode None is not an HTTP status"));
        check(json!({"statusCode": 200, "body": {"a": 1}}), Err("body is {\"a\":1}, not a string"));
        check(json!({"statusCode": 200, "headers": {"x": ["a"]}}), Err("headers.x is [\"a\"], not a string"));
        check(
            json!({"statusCode": 200, "body": "!", "isBase64Encoded": true}),
            Err("body is not base64: Invalid symbol 33, offset 0."),
        );
    }
}
