//! The rule pack's Step Functions rules: cdk-nag `AwsSolutions-SF1` and `SF2`.

use crate::rules::{declare_rules, is_true, prop, require, str_of};

const STATE_MACHINE: &str = "AWS::StepFunctions::StateMachine";

declare_rules! {
    Sf1 {
        id: "AwsSolutions-SF1",
        description: "State machines log every event",
        applies_to: [STATE_MACHINE],
        check: |_, r| require(str_of(prop(r, "LoggingConfiguration.Level")) == Some("ALL"), "logging level is not ALL"),
    }
    Sf2 {
        id: "AwsSolutions-SF2",
        description: "State machines trace with X-Ray",
        applies_to: [STATE_MACHINE],
        check: |_, r| require(is_true(prop(r, "TracingConfiguration.Enabled")), "X-Ray tracing is off"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::STATE_MACHINE;
    use crate::rules::testing::rule_tests;

    rule_tests! {
        sf1_state_machines_log_every_event: Sf1 {
            flags [("Bad", STATE_MACHINE, json!({"RoleArn": "r"}))] => "logging level is not ALL";
            flags [("Bad", STATE_MACHINE, json!({"RoleArn": "r", "LoggingConfiguration": {"Level": "ERROR"}}))]
                => "logging level is not ALL";
            passes [("Good", STATE_MACHINE, json!({"RoleArn": "r", "LoggingConfiguration": {"Level": "ALL"}}))];
        }
        sf2_state_machines_trace_with_x_ray: Sf2 {
            flags [("Bad", STATE_MACHINE, json!({"RoleArn": "r"}))] => "X-Ray tracing is off";
            passes [("Good", STATE_MACHINE, json!({"RoleArn": "r", "TracingConfiguration": {"Enabled": true}}))];
        }
    }
}
