//! The rule pack's EventBridge rules: cdk-nag `AwsSolutions-EVB1` and `Serverless-EventBusDLQ`.

use crate::rules::{at, declare_rules, items, open_statement, prop, require};

const BUS: &str = "AWS::Events::EventBus";
const BUS_POLICY: &str = "AWS::Events::EventBusPolicy";
const RULE: &str = "AWS::Events::Rule";

declare_rules! {
    Evb1 {
        id: "AwsSolutions-EVB1",
        description: "Event bus policies do not allow everyone",
        applies_to: [BUS, BUS_POLICY],
        check: |_, r| {
            let statements = if r.type_name == BUS {
                items(prop(r, "Policy").and_then(|p| p.get("Statement")))
            } else {
                // An `EventBusPolicy` holds either a `Statement` or the statement's own properties.
                let mut s = items(prop(r, "Statement"));
                if s.is_empty() {
                    s = vec![&r.properties];
                }
                s
            };
            let open = statements.into_iter().any(open_statement);
            require(!open, "the bus policy allows any principal without a condition")
        },
    }
    EventBusDlq {
        id: "Serverless-EventBusDLQ",
        description: "EventBridge rule targets have a dead-letter queue",
        applies_to: [RULE],
        check: |_, r| {
            let bad = items(prop(r, "Targets")).iter().any(|t| at(t, "DeadLetterConfig.Arn").is_none());
            require(!bad, "a target has no dead-letter queue (DeadLetterConfig.Arn)")
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{BUS, BUS_POLICY, RULE};
    use crate::rules::testing::rule_tests;

    rule_tests! {
        evb1_bus_policies_do_not_allow_everyone: Evb1 {
            flags [("Bad", BUS, json!({
                "Name": "b",
                "Policy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "events:PutEvents"}]}
            }))] => "the bus policy allows any principal without a condition";
            flags [("Bad", BUS_POLICY, json!({
                "StatementId": "s", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "events:PutEvents"
            }))] => "the bus policy allows any principal without a condition";
            passes [("Good", BUS, json!({
                "Name": "b",
                "Policy": {"Statement": [{
                    "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}
                }]}
            }))];
        }
        rule_targets_have_a_dead_letter_queue: EventBusDlq {
            flags [("Bad", RULE, json!({"Targets": [{"Arn": "a", "Id": "t"}]}))]
                => "a target has no dead-letter queue (DeadLetterConfig.Arn)";
            passes [("Good", RULE, json!({"Targets": [
                {"Arn": "a", "Id": "t", "DeadLetterConfig": {"Arn": "arn:dlq"}}
            ]}))];
        }
    }
}
