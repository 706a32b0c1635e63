//! The rule pack's Secrets Manager rule: cdk-nag `AwsSolutions-SMG4`.

use crate::rules::{declare_rules, referred_by, require};

const SECRET: &str = "AWS::SecretsManager::Secret";

declare_rules! {
    Smg4 {
        id: "AwsSolutions-SMG4",
        description: "Secrets rotate",
        applies_to: [SECRET],
        check: |doc, r| require(
            referred_by(doc, "AWS::SecretsManager::RotationSchedule", "SecretId", &r.logical_id, |_| true),
            "the secret has no rotation schedule",
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::SECRET;
    use crate::rules::testing::rule_tests;

    rule_tests! {
        smg4_secrets_rotate: Smg4 {
            flags [("Bad", SECRET, json!({}))] => "the secret has no rotation schedule";
            passes [
                ("Good", SECRET, json!({})),
                ("Rotation", "AWS::SecretsManager::RotationSchedule", json!({
                    "SecretId": {"Ref": "Good"}, "RotationLambdaARN": "arn:rotate",
                    "RotationRules": {"AutomaticallyAfterDays": 30}
                })),
            ];
        }
    }
}
