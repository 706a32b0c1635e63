//! The rule pack's API Gateway rules: cdk-nag `AwsSolutions-APIG*` and `Serverless-APIGW*`, and TLS 1.2 on custom
//! domains.

use synth::{DocResource, Node};

use crate::rules::{declare_rules, is_true, items, missing, prop, require, str_of};

const STAGE: &str = "AWS::ApiGateway::Stage";
const METHOD: &str = "AWS::ApiGateway::Method";
const DOMAIN_NAME: &str = "AWS::ApiGateway::DomainName";

/// The stage's method setting for every resource and method (`/*`, `*`).
fn stage_all_methods(r: &DocResource) -> Option<&Node> {
    items(prop(r, "MethodSettings"))
        .into_iter()
        .find(|m| str_of(m.get("ResourcePath")) == Some("/*") && str_of(m.get("HttpMethod")) == Some("*"))
}

/// True for a CORS preflight, which API Gateway answers itself: it needs neither a validator nor an authorizer.
fn is_preflight(r: &DocResource) -> bool {
    str_of(prop(r, "HttpMethod")) == Some("OPTIONS")
}

declare_rules! {
    Apig1 {
        id: "AwsSolutions-APIG1",
        description: "API Gateway stages write access logs",
        applies_to: [STAGE],
        check: |_, r| require(
            prop(r, "AccessLogSetting.DestinationArn").is_some(),
            "the stage writes no access logs (AccessLogSetting.DestinationArn)",
        ),
    }
    Apig2 {
        id: "AwsSolutions-APIG2",
        description: "API Gateway methods validate requests",
        applies_to: [METHOD],
        check: |_, r| {
            if is_preflight(r) {
                return None;
            }
            require(prop(r, "RequestValidatorId").is_some(), "the method has no request validator (RequestValidatorId)")
        },
    }
    Apig3 {
        id: "AwsSolutions-APIG3",
        description: "API Gateway stages are protected by a WAFv2 web ACL",
        applies_to: [STAGE],
        check: |doc, r| {
            let name = str_of(prop(r, "StageName")).unwrap_or_default();
            let api = prop(r, "RestApiId").map(|n| n.to_json().to_string()).unwrap_or_default();
            let associated = doc.of_type("AWS::WAFv2::WebACLAssociation").any(|a| {
                let arn = prop(a, "ResourceArn").map(|n| n.to_json().to_string()).unwrap_or_default();
                arn.contains(&format!("/stages/{name}")) && arn.contains(&api)
            });
            require(associated, "no WAFv2 web ACL is associated with the stage (AWS::WAFv2::WebACLAssociation)")
        },
    }
    Apig4 {
        id: "AwsSolutions-APIG4",
        description: "API Gateway methods authorize callers",
        applies_to: [METHOD],
        check: |_, r| {
            if is_preflight(r) {
                return None;
            }
            match str_of(prop(r, "AuthorizationType")) {
                None | Some("NONE") => missing("the method does not authorize callers (AuthorizationType NONE)"),
                _ => None,
            }
        },
    }
    Apig6 {
        id: "AwsSolutions-APIG6",
        description: "API Gateway stages log execution errors of every method",
        applies_to: [STAGE],
        check: |_, r| {
            let level = stage_all_methods(r).and_then(|m| str_of(m.get("LoggingLevel")));
            require(
                matches!(level, Some("ERROR" | "INFO")),
                "the stage has no execution logging for /* * (MethodSettings LoggingLevel ERROR or INFO)",
            )
        },
    }
    ApigwStructuredLogging {
        id: "Serverless-APIGWStructuredLogging",
        description: "API Gateway access logs are JSON",
        applies_to: [STAGE],
        check: |_, r| {
            let ok = str_of(prop(r, "AccessLogSetting.Format"))
                .is_some_and(|f| serde_json::from_str::<serde_json::Value>(f).is_ok_and(|v| v.is_object()));
            require(ok, "the access log format is not a JSON object")
        },
    }
    ApigwXray {
        id: "Serverless-APIGWXrayEnabled",
        description: "API Gateway stages trace with X-Ray",
        applies_to: [STAGE],
        check: |_, r| require(is_true(prop(r, "TracingEnabled")), "X-Ray tracing is off (TracingEnabled)"),
    }
    ApigwDefaultThrottling {
        id: "Serverless-APIGWDefaultThrottling",
        description: "API Gateway stages set their own throttling",
        applies_to: [STAGE],
        check: |_, r| {
            let ok = stage_all_methods(r)
                .is_some_and(|m| m.get("ThrottlingRateLimit").is_some() && m.get("ThrottlingBurstLimit").is_some());
            require(
                ok,
                "the stage uses the account's default throttling (set ThrottlingRateLimit and ThrottlingBurstLimit for /* *)",
            )
        },
    }
    ApigwDomainTls {
        id: "Rcdk-APIG-TLS",
        description: "API Gateway custom domains require TLS 1.2",
        applies_to: [DOMAIN_NAME],
        check: |_, r| require(
            str_of(prop(r, "SecurityPolicy")).is_some_and(|p| p.starts_with("TLS_1_2") || p.contains("TLS13")),
            "the domain accepts TLS 1.0 (SecurityPolicy TLS_1_2)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{DOMAIN_NAME, METHOD, STAGE};
    use crate::rules::testing::rule_tests;

    rule_tests! {
        apig1_stages_write_access_logs: Apig1 {
            flags [("Bad", STAGE, json!({"RestApiId": "a", "StageName": "prod"}))]
                => "the stage writes no access logs (AccessLogSetting.DestinationArn)";
            passes [("Good", STAGE, json!({"RestApiId": "a", "AccessLogSetting": {"DestinationArn": "arn:logs"}}))];
        }
        apig2_methods_validate_requests: Apig2 {
            flags [("Bad", METHOD, json!({"HttpMethod": "GET"}))]
                => "the method has no request validator (RequestValidatorId)";
            passes [("Good", METHOD, json!({"HttpMethod": "GET", "RequestValidatorId": "v"}))];
            passes [("Preflight", METHOD, json!({"HttpMethod": "OPTIONS"}))];
        }
        apig3_stages_have_a_web_acl: Apig3 {
            flags [("Bad", STAGE, json!({"RestApiId": "a", "StageName": "prod"}))]
                => "no WAFv2 web ACL is associated with the stage (AWS::WAFv2::WebACLAssociation)";
            passes [
                ("Api", "AWS::ApiGateway::RestApi", json!({"Name": "api"})),
                ("Good", STAGE, json!({"RestApiId": {"Ref": "Api"}, "StageName": "prod"})),
                ("Waf", "AWS::WAFv2::WebACLAssociation", json!({
                    "WebACLArn": "arn:waf",
                    "ResourceArn": {"Fn::Join": ["", [
                        "arn:aws:apigateway:eu-west-1::/restapis/", {"Ref": "Api"}, "/stages/prod"
                    ]]}
                })),
            ];
        }
        apig4_methods_authorize_callers: Apig4 {
            flags [("Bad", METHOD, json!({"HttpMethod": "GET", "AuthorizationType": "NONE"}))]
                => "the method does not authorize callers (AuthorizationType NONE)";
            passes [("Good", METHOD, json!({"HttpMethod": "GET", "AuthorizationType": "CUSTOM"}))];
            passes [("Preflight", METHOD, json!({"HttpMethod": "OPTIONS"}))];
        }
        apig6_stages_log_execution_errors: Apig6 {
            flags [("Bad", STAGE, json!({"RestApiId": "a"}))]
                => "the stage has no execution logging for /* * (MethodSettings LoggingLevel ERROR or INFO)";
            passes [("Good", STAGE, json!({
                "RestApiId": "a",
                "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "LoggingLevel": "ERROR"}]
            }))];
        }
        access_logs_are_json: ApigwStructuredLogging {
            flags [("Bad", STAGE, json!({
                "RestApiId": "a",
                "AccessLogSetting": {"DestinationArn": "x", "Format": "$context.requestId"}
            }))] => "the access log format is not a JSON object";
            passes [("Good", STAGE, json!({
                "RestApiId": "a",
                "AccessLogSetting": {"DestinationArn": "x", "Format": "{\"requestId\":\"$context.requestId\"}"}
            }))];
        }
        stages_trace_with_x_ray: ApigwXray {
            flags [("Bad", STAGE, json!({"RestApiId": "a"}))] => "X-Ray tracing is off (TracingEnabled)";
            passes [("Good", STAGE, json!({"RestApiId": "a", "TracingEnabled": true}))];
        }
        stages_set_their_own_throttling: ApigwDefaultThrottling {
            flags [("Bad", STAGE, json!({"RestApiId": "a"}))]
                => "the stage uses the account's default throttling (set ThrottlingRateLimit and ThrottlingBurstLimit for /* *)";
            passes [("Good", STAGE, json!({
                "RestApiId": "a",
                "MethodSettings": [{
                    "ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 50
                }]
            }))];
        }
        custom_domains_require_tls_1_2: ApigwDomainTls {
            flags [("Bad", DOMAIN_NAME, json!({"SecurityPolicy": "TLS_1_0"}))]
                => "the domain accepts TLS 1.0 (SecurityPolicy TLS_1_2)";
            passes [("Good", DOMAIN_NAME, json!({"SecurityPolicy": "TLS_1_2"}))];
        }
    }
}
