//! Real AWS event payloads, one copy for every handler crate: the fixtures shipped with the `aws_lambda_events`
//! crate (its `src/fixtures/`, version 1.2), byte for byte. Tests parse them and set the fields a case needs, so
//! an event's shape is always the one AWS sends.

/// API Gateway REST API, Lambda proxy integration (`example-apigw-request.json`).
pub const APIGW_PROXY_REQUEST: &str = include_str!("../fixtures/apigw-proxy-request.json");

/// API Gateway TOKEN authorizer request (`example-apigw-custom-auth-request.json`).
pub const APIGW_TOKEN_AUTHORIZER_REQUEST: &str = include_str!("../fixtures/apigw-token-authorizer-request.json");

/// DynamoDB stream event with two records (`example-dynamodb-event.json`).
pub const DYNAMODB_STREAM_EVENT: &str = include_str!("../fixtures/dynamodb-stream-event.json");

/// EventBridge event envelope (`example-eventbridge-event-obj.json`).
pub const EVENTBRIDGE_EVENT: &str = include_str!("../fixtures/eventbridge-event.json");

/// SQS event with one message (`example-sqs-event.json`).
pub const SQS_EVENT: &str = include_str!("../fixtures/sqs-event.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_is_json() {
        for (name, text) in [
            ("apigw-proxy-request", APIGW_PROXY_REQUEST),
            ("apigw-token-authorizer-request", APIGW_TOKEN_AUTHORIZER_REQUEST),
            ("dynamodb-stream-event", DYNAMODB_STREAM_EVENT),
            ("eventbridge-event", EVENTBRIDGE_EVENT),
            ("sqs-event", SQS_EVENT),
        ] {
            let v: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(v.is_object(), "{name}");
        }
    }
}
