//! A tiny Lambda function for the runtime's tests, speaking the Runtime API through `lambda_runtime`: its event's
//! `action` says what to do (`echo`, `sleep`, `fail`, `panic`, `exit`, `log`). As a TOKEN authorizer it allows
//! every token but `deny` (with `DEV_TEST_USAGE_KEY` as `usageIdentifierKey`); behind the gateway it answers the proxy event with its echo as the body.

use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    if std::env::var("DEV_TEST_FAIL_INIT").is_ok() {
        eprintln!("init: configuration missing");
        std::process::exit(2);
    }
    lambda_runtime::run(service_fn(handle)).await
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, ctx) = event.into_parts();
    if payload.get("type").and_then(Value::as_str) == Some("TOKEN") {
        let token = payload["authorizationToken"].as_str().unwrap_or_default();
        let effect = if token == "deny" { "Deny" } else { "Allow" };
        // The whole stage: the result is cached per token for every method (`<api>/<stage>/*`).
        let arn = payload["methodArn"].as_str().unwrap_or_default();
        let stage: Vec<&str> = arn.splitn(3, '/').take(2).collect();
        let resource = format!("{}/*", stage.join("/"));
        return Ok(json!({
            "principalId": "test-user",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
            ]},
            "context": {"tenantId": "acme", "tier": "free"},
            "usageIdentifierKey": std::env::var("DEV_TEST_USAGE_KEY").ok()
        }));
    }
    if payload.get("httpMethod").is_some() {
        let body = json!({"resource": payload["resource"], "path": payload["path"],
            "tenant": payload["requestContext"]["authorizer"]["tenantId"], "pid": std::process::id(), "trace": ctx.xray_trace_id});
        return Ok(
            json!({"statusCode": 200, "headers": {"content-type": "application/json"}, "body": body.to_string()}),
        );
    }
    let action = payload.get("action").and_then(Value::as_str).unwrap_or("echo");
    match action {
        "sleep" => {
            let ms = payload.get("ms").and_then(Value::as_u64).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        "fail" => return Err("the event asked to fail".into()),
        "panic" => panic!("the event asked to panic"),
        "exit" => {
            eprintln!("fatal: the event asked to exit");
            std::process::exit(3);
        }
        "log" => {
            println!(
                "{}",
                json!({"level": "INFO", "message": "hello", "span": {"request_id": ctx.request_id, "tenant_id": "acme"}})
            );
            println!(
                "{}",
                json!({"_aws": {"Timestamp": 0, "CloudWatchMetrics": [{"Namespace": "T", "Dimensions": [["service"]],
                    "Metrics": [{"Name": "Things", "Unit": "Count"}]}]}, "service": "test", "Things": 2})
            );
            eprintln!("plain stderr line");
        }
        _ => {}
    }
    let env = |k: &str| std::env::var(k).ok();
    Ok(json!({
        "event": payload,
        "pid": std::process::id(),
        "exe": std::env::current_exe().ok().map(|p| p.display().to_string()),
        "request_id": ctx.request_id,
        "deadline": ctx.deadline,
        "arn": ctx.invoked_function_arn,
        "trace": ctx.xray_trace_id,
        "env": {
            "AWS_LAMBDA_FUNCTION_NAME": env("AWS_LAMBDA_FUNCTION_NAME"),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
            "AWS_REGION": env("AWS_REGION"),
            "_HANDLER": env("_HANDLER"),
            "AWS_LAMBDA_LOG_GROUP_NAME": env("AWS_LAMBDA_LOG_GROUP_NAME"),
            "TABLE_NAME": env("TABLE_NAME"),
            "EXTRA": env("EXTRA"),
        },
    }))
}
