//! The rule pack's SQS rules: cdk-nag `AwsSolutions-SQS2`, `SQS3` and `SQS4`.

use crate::rules::{at, declare_rules, denies_insecure_transport, is_true, items, prop, referred_by, require};

const QUEUE: &str = "AWS::SQS::Queue";

declare_rules! {
    Sqs2 {
        id: "AwsSolutions-SQS2",
        description: "SQS queues are encrypted",
        applies_to: [QUEUE],
        check: |_, r| require(
            prop(r, "KmsMasterKeyId").is_some() || is_true(prop(r, "SqsManagedSseEnabled")),
            "the queue is not encrypted",
        ),
    }
    Sqs3 {
        id: "AwsSolutions-SQS3",
        description: "SQS queues have a dead-letter queue, or are one",
        applies_to: [QUEUE],
        check: |doc, r| {
            if prop(r, "RedrivePolicy").is_some() {
                return None;
            }
            // A queue is "one" when something sends its failures there: another queue's redrive, an event
            // source's or a function's on-failure destination, a function's or an EventBridge target's
            // dead-letter config.
            let id = &r.logical_id;
            let used = doc.resources.iter().any(|o| {
                let p = &o.properties;
                let refers = |path: &str| at(p, path).is_some_and(|n| n.refers_to(id));
                (o.type_name == QUEUE && refers("RedrivePolicy.deadLetterTargetArn"))
                    || refers("DestinationConfig.OnFailure.Destination")
                    || refers("DeadLetterConfig.TargetArn")
                    || items(p.get("Targets"))
                        .iter()
                        .any(|t| at(t, "DeadLetterConfig.Arn").is_some_and(|n| n.refers_to(id)))
            });
            require(used, "the queue has no dead-letter queue (RedrivePolicy) and is not one")
        },
    }
    Sqs4 {
        id: "AwsSolutions-SQS4",
        description: "SQS queues deny requests without TLS",
        applies_to: [QUEUE],
        check: |doc, r| {
            let ok = referred_by(doc, "AWS::SQS::QueuePolicy", "Queues", &r.logical_id, |p| {
                denies_insecure_transport(prop(p, "PolicyDocument"))
            });
            require(ok, "no queue policy denies requests without TLS")
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::QUEUE;
    use crate::rules::testing::rule_tests;

    rule_tests! {
        sqs2_queues_are_encrypted: Sqs2 {
            flags [("Bad", QUEUE, json!({}))] => "the queue is not encrypted";
            passes [("Good", QUEUE, json!({"KmsMasterKeyId": "arn:key"}))];
            passes [("Good", QUEUE, json!({"SqsManagedSseEnabled": true}))];
        }
        sqs3_queues_have_a_dead_letter_queue_or_are_one: Sqs3 {
            flags [("Bad", QUEUE, json!({}))] => "the queue has no dead-letter queue (RedrivePolicy) and is not one";
            passes [
                ("Good", QUEUE, json!({"RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["Dlq", "Arn"]}, "maxReceiveCount": 5
                }})),
                ("Dlq", QUEUE, json!({})),
            ];
            passes [
                ("Destination", QUEUE, json!({})),
                ("Rule", "AWS::Events::Rule", json!({"Targets": [{
                    "Arn": "arn:target", "Id": "t", "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["Destination", "Arn"]}}
                }]})),
            ];
        }
        sqs4_queues_deny_requests_without_tls: Sqs4 {
            flags [("Bad", QUEUE, json!({}))] => "no queue policy denies requests without TLS";
            passes [
                ("Good", QUEUE, json!({})),
                ("Policy", "AWS::SQS::QueuePolicy", json!({
                    "Queues": [{"Ref": "Good"}],
                    "PolicyDocument": {"Statement": [{
                        "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
                        "Resource": {"Fn::GetAtt": ["Good", "Arn"]},
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
                    }]}
                })),
            ];
        }
    }
}
