//! The rule pack's DynamoDB rules: cdk-nag `AwsSolutions-DDB3` and a customer managed key.

use crate::rules::{at, declare_rules, is_true, items, prop, require, str_of};

const TABLE: &str = "AWS::DynamoDB::Table";
const GLOBAL_TABLE: &str = "AWS::DynamoDB::GlobalTable";

declare_rules! {
    Ddb3 {
        id: "AwsSolutions-DDB3",
        description: "DynamoDB tables have point-in-time recovery",
        applies_to: [TABLE, GLOBAL_TABLE],
        check: |_, r| {
            let ok = if r.type_name == TABLE {
                is_true(prop(r, "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled"))
            } else {
                let replicas = items(prop(r, "Replicas"));
                !replicas.is_empty()
                    && replicas
                        .iter()
                        .all(|x| is_true(at(x, "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled")))
            };
            require(ok, "point-in-time recovery is off (PointInTimeRecoverySpecification)")
        },
    }
    DdbCustomerKey {
        id: "Rcdk-DDB-CMK",
        description: "DynamoDB tables are encrypted with a customer managed key",
        applies_to: [TABLE, GLOBAL_TABLE],
        check: |_, r| {
            let ok = if r.type_name == TABLE {
                is_true(prop(r, "SSESpecification.SSEEnabled")) && prop(r, "SSESpecification.KMSMasterKeyId").is_some()
            } else {
                str_of(prop(r, "SSESpecification.SSEType")) == Some("KMS")
                    && items(prop(r, "Replicas")).iter().all(|x| at(x, "SSESpecification.KMSMasterKeyId").is_some())
            };
            require(ok, "the table is not encrypted with a customer managed key (SSESpecification.KMSMasterKeyId)")
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{GLOBAL_TABLE, TABLE};
    use crate::rules::testing::rule_tests;

    rule_tests! {
        ddb3_tables_have_point_in_time_recovery: Ddb3 {
            flags [("Bad", TABLE, json!({"KeySchema": []}))]
                => "point-in-time recovery is off (PointInTimeRecoverySpecification)";
            flags [("Bad", GLOBAL_TABLE, json!({"Replicas": [{"Region": "a"}]}))]
                => "point-in-time recovery is off (PointInTimeRecoverySpecification)";
            passes [("Good", TABLE, json!({
                "KeySchema": [],
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}
            }))];
            passes [("Good", GLOBAL_TABLE, json!({"Replicas": [
                {"Region": "a", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}},
                {"Region": "b", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}
            ]}))];
        }
        tables_use_a_customer_managed_key: DdbCustomerKey {
            flags [("Bad", TABLE, json!({"KeySchema": []}))]
                => "the table is not encrypted with a customer managed key (SSESpecification.KMSMasterKeyId)";
            flags [("Bad", GLOBAL_TABLE, json!({
                "SSESpecification": {"SSEEnabled": true, "SSEType": "KMS"},
                "Replicas": [{"Region": "a", "SSESpecification": {"KMSMasterKeyId": "arn:a"}}, {"Region": "b"}]
            }))] => "the table is not encrypted with a customer managed key (SSESpecification.KMSMasterKeyId)";
            passes [("Good", TABLE, json!({
                "KeySchema": [],
                "SSESpecification": {"SSEEnabled": true, "SSEType": "KMS", "KMSMasterKeyId": "arn:key"}
            }))];
            passes [("Good", GLOBAL_TABLE, json!({
                "SSESpecification": {"SSEEnabled": true, "SSEType": "KMS"},
                "Replicas": [{"Region": "a", "SSESpecification": {"KMSMasterKeyId": "arn:a"}}]
            }))];
        }
    }
}
