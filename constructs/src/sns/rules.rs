//! The rule pack's SNS rules: cdk-nag `AwsSolutions-SNS2` and `SNS3`.

use crate::rules::{declare_rules, denies_insecure_transport, prop, referred_by, require};

const TOPIC: &str = "AWS::SNS::Topic";

declare_rules! {
    Sns2 {
        id: "AwsSolutions-SNS2",
        description: "SNS topics are encrypted",
        applies_to: [TOPIC],
        check: |_, r| require(prop(r, "KmsMasterKeyId").is_some(), "the topic is not encrypted (KmsMasterKeyId)"),
    }
    Sns3 {
        id: "AwsSolutions-SNS3",
        description: "SNS topics deny publishing without TLS",
        applies_to: [TOPIC],
        check: |doc, r| {
            let ok = referred_by(doc, "AWS::SNS::TopicPolicy", "Topics", &r.logical_id, |p| {
                denies_insecure_transport(prop(p, "PolicyDocument"))
            });
            require(ok, "no topic policy denies requests without TLS")
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::TOPIC;
    use crate::rules::testing::rule_tests;

    rule_tests! {
        sns2_topics_are_encrypted: Sns2 {
            flags [("Bad", TOPIC, json!({}))] => "the topic is not encrypted (KmsMasterKeyId)";
            passes [("Good", TOPIC, json!({"KmsMasterKeyId": "arn:key"}))];
        }
        sns3_topics_deny_publishing_without_tls: Sns3 {
            flags [("Bad", TOPIC, json!({}))] => "no topic policy denies requests without TLS";
            passes [
                ("Good", TOPIC, json!({})),
                ("Policy", "AWS::SNS::TopicPolicy", json!({
                    "Topics": [{"Ref": "Good"}],
                    "PolicyDocument": {"Statement": [{
                        "Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": {"Ref": "Good"},
                        "Condition": {"Bool": {"aws:SecureTransport": false}}
                    }]}
                })),
            ];
        }
    }
}
