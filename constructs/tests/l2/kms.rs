//! `kms::Key`.

use constructs::kms::{Key, KeyProps};
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
fn key_errors() {
    let mut s = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
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
