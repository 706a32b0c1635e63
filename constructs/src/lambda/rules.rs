//! The rule pack's Lambda rules: cdk-nag `AwsSolutions-L1` and the `Serverless-Lambda*` rules on functions and
//! event source mappings.

use super::INVOCATION_METADATA_KEY;
use crate::rules::{declare_rules, int, prop, referred_by, require, str_of, target_id};

const FUNCTION: &str = "AWS::Lambda::Function";
const EVENT_SOURCE_MAPPING: &str = "AWS::Lambda::EventSourceMapping";

/// The newest runtime of each family (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html>).
const LATEST_RUNTIMES: &[&str] = &[
    "provided.al2023",
    "nodejs22.x",
    "nodejs24.x",
    "python3.13",
    "python3.14",
    "java21",
    "java25",
    "dotnet8",
    "dotnet10",
    "ruby3.4",
];

declare_rules! {
    L1 {
        id: "AwsSolutions-L1",
        description: "Lambda functions use the latest runtime of their family",
        applies_to: [FUNCTION],
        check: |_, r| match str_of(prop(r, "Runtime")) {
            Some(rt) if !LATEST_RUNTIMES.contains(&rt) => {
                Some(format!("runtime {rt:?} is not the latest of its family"))
            }
            _ => None,
        },
    }
    LambdaTracing {
        id: "Serverless-LambdaTracing",
        description: "Lambda functions trace with X-Ray",
        applies_to: [FUNCTION],
        check: |_, r| require(
            str_of(prop(r, "TracingConfig.Mode")) == Some("Active"),
            "X-Ray tracing is not active (TracingConfig.Mode)",
        ),
    }
    LambdaDlq {
        id: "Serverless-LambdaDLQ",
        description: "Lambda functions invoked asynchronously keep failed events",
        applies_to: [FUNCTION],
        check: |doc, r| {
            if prop(r, "DeadLetterConfig.TargetArn").is_some() {
                return None;
            }
            let destination = referred_by(doc, "AWS::Lambda::EventInvokeConfig", "FunctionName", &r.logical_id, |c| {
                prop(c, "DestinationConfig.OnFailure.Destination").is_some()
            });
            let declared = r.metadata.get(INVOCATION_METADATA_KEY).is_some_and(|m| {
                str_of(m.get("type")) == Some("synchronous")
                    && str_of(m.get("reason")).is_some_and(|s| !s.trim().is_empty())
            });
            require(
                destination || declared,
                "no dead-letter queue or on-failure destination, and not declared synchronous (Metadata.rcdk:invocation)",
            )
        },
    }
    LambdaDefaultMemorySize {
        id: "Serverless-LambdaDefaultMemorySize",
        description: "Lambda functions set their memory",
        applies_to: [FUNCTION],
        check: |_, r| require(prop(r, "MemorySize").is_some(), "memory is the 128 MB default (MemorySize)"),
    }
    LambdaDefaultTimeout {
        id: "Serverless-LambdaDefaultTimeout",
        description: "Lambda functions set their timeout",
        applies_to: [FUNCTION],
        check: |_, r| require(prop(r, "Timeout").is_some(), "the timeout is the 3 s default (Timeout)"),
    }
    LambdaEventSourceMappingDestination {
        id: "Serverless-LambdaEventSourceMappingDestination",
        description: "Stream event sources send failed batches to a destination",
        applies_to: [EVENT_SOURCE_MAPPING],
        check: |_, r| {
            // Stream sources (DynamoDB, Kinesis) have a starting position; queues keep failures in their own redrive.
            prop(r, "StartingPosition")?;
            require(
                prop(r, "DestinationConfig.OnFailure.Destination").is_some(),
                "failed batches are dropped (DestinationConfig.OnFailure)",
            )
        },
    }
    LambdaEventSourceSqsVisibilityTimeout {
        id: "Serverless-LambdaEventSourceSQSVisibilityTimeout",
        description: "SQS queues hide messages for at least 6 x the consumer's timeout",
        applies_to: [EVENT_SOURCE_MAPPING],
        check: |doc, r| {
            let queue = doc.resource(target_id(prop(r, "EventSourceArn"))?)?;
            if queue.type_name != "AWS::SQS::Queue" {
                return None;
            }
            let mut f = doc.resource(target_id(prop(r, "FunctionName"))?)?;
            if f.type_name == "AWS::Lambda::Alias" {
                f = doc.resource(target_id(prop(f, "FunctionName"))?)?;
            }
            // CloudFormation's defaults when unset: 3 s timeout, 30 s visibility.
            let timeout = int(prop(f, "Timeout")).unwrap_or(3);
            let visibility = int(prop(queue, "VisibilityTimeout")).unwrap_or(30);
            if visibility < 6 * timeout {
                Some(format!(
                    "queue {} hides messages for {visibility} s, less than 6 x the timeout {timeout} s of {}",
                    queue.logical_id, f.logical_id
                ))
            } else {
                None
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{EVENT_SOURCE_MAPPING, FUNCTION};
    use crate::rules::testing::{Resource, rule_tests};

    /// A function with nothing but what CloudFormation requires, on an old runtime.
    fn bare() -> Value {
        json!({"Runtime": "nodejs16.x", "Role": "r", "Code": {}})
    }

    /// A function with everything the rules ask for.
    fn complete() -> Value {
        json!({
            "Runtime": "provided.al2023", "Role": "r", "Code": {}, "MemorySize": 256, "Timeout": 10,
            "TracingConfig": {"Mode": "Active"}, "DeadLetterConfig": {"TargetArn": "arn:dlq"}
        })
    }

    /// Queue `Queue` hiding messages `visibility` seconds, consumed by function `Worker` (timeout 10 s) through
    /// its alias `Live`, by event source mapping `id`.
    fn queue_consumer(id: &'static str, visibility: u32) -> [Resource; 4] {
        [
            ("Queue", "AWS::SQS::Queue", json!({"VisibilityTimeout": visibility})),
            ("Worker", FUNCTION, complete()),
            (
                "Live",
                "AWS::Lambda::Alias",
                json!({"FunctionName": {"Ref": "Worker"}, "FunctionVersion": "1", "Name": "live"}),
            ),
            (
                id,
                EVENT_SOURCE_MAPPING,
                json!({"EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]}, "FunctionName": {"Ref": "Live"}}),
            ),
        ]
    }

    rule_tests! {
        l1_functions_use_the_latest_runtime: L1 {
            flags [("Bad", FUNCTION, bare())] => "runtime \"nodejs16.x\" is not the latest of its family";
            passes [("Good", FUNCTION, complete())];
        }
        functions_trace_with_x_ray: LambdaTracing {
            flags [("Bad", FUNCTION, bare())] => "X-Ray tracing is not active (TracingConfig.Mode)";
            passes [("Good", FUNCTION, complete())];
        }
        functions_keep_failed_asynchronous_events: LambdaDlq {
            flags [("Bad", FUNCTION, bare())]
                => "no dead-letter queue or on-failure destination, and not declared synchronous (Metadata.rcdk:invocation)";
            passes [("Good", FUNCTION, complete())];
            passes [
                ("Good", FUNCTION, bare()),
                ("AsyncConfig", "AWS::Lambda::EventInvokeConfig", json!({
                    "FunctionName": {"Ref": "Good"}, "Qualifier": "$LATEST",
                    "DestinationConfig": {"OnFailure": {"Destination": "arn:queue"}}
                })),
            ];
        }
        functions_set_their_memory: LambdaDefaultMemorySize {
            flags [("Bad", FUNCTION, bare())] => "memory is the 128 MB default (MemorySize)";
            passes [("Good", FUNCTION, complete())];
        }
        functions_set_their_timeout: LambdaDefaultTimeout {
            flags [("Bad", FUNCTION, bare())] => "the timeout is the 3 s default (Timeout)";
            passes [("Good", FUNCTION, complete())];
        }
        stream_sources_keep_failed_batches: LambdaEventSourceMappingDestination {
            flags [("Bad", EVENT_SOURCE_MAPPING, json!({"FunctionName": "f", "StartingPosition": "LATEST"}))]
                => "failed batches are dropped (DestinationConfig.OnFailure)";
            passes [("Good", EVENT_SOURCE_MAPPING, json!({
                "FunctionName": "f", "StartingPosition": "LATEST",
                "DestinationConfig": {"OnFailure": {"Destination": "arn:queue"}}
            }))];
            passes [("Queue", EVENT_SOURCE_MAPPING, json!({"FunctionName": "f", "EventSourceArn": "arn:queue"}))];
        }
        queues_hide_messages_for_six_timeouts: LambdaEventSourceSqsVisibilityTimeout {
            flags queue_consumer("Bad", 59)
                => "queue Queue hides messages for 59 s, less than 6 x the timeout 10 s of Worker";
            passes queue_consumer("Good", 60);
        }
    }
}
