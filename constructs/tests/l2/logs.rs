//! `logs::LogGroup`.

use constructs::kms::{Key, KeyProps};
use constructs::logs::{LogGroup, LogGroupProps};
use serde_json::json;
use synth::{Stack, StackProps};

use super::support::*;

#[test]
fn encrypted_log_group_extends_the_key_policy_once() {
    let t = template(|s| {
        let key = Key::new(s, "Data", KeyProps::default()).unwrap();
        for id in ["A", "B"] {
            LogGroup::new(s, id, LogGroupProps { encryption_key: Some(key.clone()), ..LogGroupProps::default() })
                .unwrap();
        }
    });
    assert_eq!(props(&t, "A")["KmsKeyId"], get_att("Data", "Arn"));
    assert_eq!(props(&t, "A")["RetentionInDays"], 365, "one year by default");
    let statements = props(&t, "Data")["KeyPolicy"]["Statement"].as_array().unwrap().clone();
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[1]["Sid"], "CloudWatchLogs");
    assert_eq!(statements[1]["Principal"], json!({"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}));
    assert_eq!(
        statements[1]["Condition"],
        json!({"ArnLike": {"kms:EncryptionContext:aws:logs:arn": {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}}})
    );
}

#[test]
fn log_retention_must_be_a_value_cloudwatch_accepts() {
    let mut s = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let e = LogGroup::new(&mut s.root(), "L", LogGroupProps { retention_days: Some(42), ..LogGroupProps::default() })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "L: invalid log retention (days) \"42\": one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"
    );
}
