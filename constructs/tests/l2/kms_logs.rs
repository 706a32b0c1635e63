//! `kms::Key` and `logs::LogGroup`.

use constructs::kms::{Key, KeyProps};
use constructs::logs::{LogGroup, LogGroupProps};
use serde_json::json;
use synth::{Stack, StackProps};

use super::support::*;

#[test]
fn key_rotates_waits_30_days_and_is_retained() {
    let t = template(|s| {
        Key::new(s, "Data", KeyProps { alias: Some("alias/platform-data".into()), ..KeyProps::default() }).unwrap();
    });
    let r = resource(&t, "Data");
    assert_eq!(r["Properties"]["EnableKeyRotation"], true, "rotation on");
    assert_eq!(r["Properties"]["PendingWindowInDays"], 30, "longest deletion window");
    assert_eq!(r["DeletionPolicy"], "Retain");
    let policy = &r["Properties"]["KeyPolicy"]["Statement"];
    assert_eq!(policy.as_array().unwrap().len(), 1, "only the account delegation: {policy}");
    assert_eq!(
        policy[0]["Principal"],
        json!({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}})
    );
    assert_eq!(props(&t, "DataAlias"), &json!({"AliasName": "alias/platform-data", "TargetKeyId": ref_("Data")}));
}

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

fn stack() -> Stack {
    Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"))
}

#[test]
fn key_errors() {
    let mut s = stack();
    let e =
        Key::new(&mut s.root(), "K", KeyProps { alias: Some("platform".into()), ..KeyProps::default() }).unwrap_err();
    assert_eq!(
        e.to_string(),
        "K: invalid key alias \"platform\": alias/ followed by A-Z a-z 0-9 / _ -, at most 256 characters, not alias/aws/"
    );
    let e = Key::new(&mut s.root(), "K", KeyProps { pending_window_days: Some(3), ..KeyProps::default() }).unwrap_err();
    assert_eq!(e.to_string(), "K: pending window (days) 3 is out of range: allowed 7 to 30");
    let e =
        Key::new(&mut s.root(), "K", KeyProps { rotation_period_days: Some(30), ..KeyProps::default() }).unwrap_err();
    assert_eq!(e.to_string(), "K: rotation period (days) 30 is out of range: allowed 90 to 2560");
}

#[test]
fn log_retention_must_be_a_value_cloudwatch_accepts() {
    let mut s = stack();
    let e = LogGroup::new(&mut s.root(), "L", LogGroupProps { retention_days: Some(42), ..LogGroupProps::default() })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "L: invalid log retention (days) \"42\": one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"
    );
}
