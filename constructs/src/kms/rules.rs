//! The rule pack's KMS rule: cdk-nag `AwsSolutions-KMS5`.

use crate::rules::{declare_rules, is_true, prop, require, str_of};

const KEY: &str = "AWS::KMS::Key";

declare_rules! {
    Kms5 {
        id: "AwsSolutions-KMS5",
        description: "KMS keys rotate",
        applies_to: [KEY],
        check: |_, r| {
            // Only symmetric keys can rotate automatically.
            let symmetric = str_of(prop(r, "KeySpec")).is_none_or(|s| s == "SYMMETRIC_DEFAULT");
            require(!symmetric || is_true(prop(r, "EnableKeyRotation")), "key rotation is off (EnableKeyRotation)")
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::KEY;
    use crate::rules::testing::rule_tests;

    rule_tests! {
        kms5_keys_rotate: Kms5 {
            flags [("Bad", KEY, json!({}))] => "key rotation is off (EnableKeyRotation)";
            passes [("Good", KEY, json!({"EnableKeyRotation": true}))];
            passes [("Good", KEY, json!({"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}))];
        }
    }
}
