//! The rule pack's CloudWatch Logs rule: `Serverless-CloudWatchLogGroupRetentionPeriod`.

use crate::rules::{declare_rules, prop, require};

const LOG_GROUP: &str = "AWS::Logs::LogGroup";

declare_rules! {
    LogGroupRetention {
        id: "Serverless-CloudWatchLogGroupRetentionPeriod",
        description: "Log groups have a retention period",
        applies_to: [LOG_GROUP],
        check: |_, r| require(prop(r, "RetentionInDays").is_some(), "events are kept forever (RetentionInDays)"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::LOG_GROUP;
    use crate::rules::testing::rule_tests;

    rule_tests! {
        log_groups_have_a_retention_period: LogGroupRetention {
            flags [("Bad", LOG_GROUP, json!({}))] => "events are kept forever (RetentionInDays)";
            passes [("Good", LOG_GROUP, json!({"RetentionInDays": 365}))];
        }
    }
}
