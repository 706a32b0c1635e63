//! `events::EventBus`, `Rule` and targets.

use constructs::events::{Archive, EventBus, EventBusProps, EventPattern, Rule, RuleProps, Target};
use constructs::kms::{Key, KeyProps};
use constructs::logs::{LogGroup, LogGroupProps};
use constructs::sqs::{DeadLetter, Queue, QueueProps};
use serde_json::json;
use synth::{Stack, StackProps, Val};

use super::support::*;

#[test]
fn bus_has_an_archive_by_default() {
    let t = template(|s| {
        let b = EventBus::new(s, "Bus", EventBusProps::default()).unwrap();
        assert_eq!(b.name(), "test-main-Bus");
    });
    assert_eq!(props(&t, "Bus")["Name"], "test-main-Bus");
    let a = props(&t, "BusArchive");
    assert_eq!(a["SourceArn"], get_att("Bus", "Arn"));
    assert_eq!(a["RetentionDays"], 30, "30 days of replay");
}

#[test]
fn rule_targets_have_retries_and_a_dead_letter_queue() {
    let t = template(|s| {
        let key = Key::new(s, "Key", KeyProps::default()).unwrap();
        let bus = EventBus::new(
            s,
            "Bus",
            EventBusProps { encryption_key: Some(key.clone()), archive: Archive::Off, ..EventBusProps::default() },
        )
        .unwrap();
        let q = Queue::new(s, "Webhooks", QueueProps { encryption_key: Some(key.clone()), ..QueueProps::default() })
            .unwrap();
        let dlq = Queue::new(
            s,
            "EventsDlq",
            QueueProps { encryption_key: Some(key.clone()), dead_letter: DeadLetter::None, ..QueueProps::default() },
        )
        .unwrap();
        let logs = LogGroup::new(
            s,
            "Analytics",
            LogGroupProps { name: Some(Val::from("/aws/events/analytics")), ..LogGroupProps::default() },
        )
        .unwrap();
        Rule::new(
            s,
            "Notify",
            &bus,
            EventPattern::new("platform.entities", &["OrderCreated", "ApiKeyRevoked"]),
            vec![Target::Queue(q)],
            &dlq,
            RuleProps::default(),
        )
        .unwrap();
        Rule::new(
            s,
            "Analyze",
            &bus,
            EventPattern::new("platform.entities", &["OrderCreated"]),
            vec![Target::LogGroup(logs)],
            &dlq,
            RuleProps::default(),
        )
        .unwrap();
    });
    assert!(of_type(&t, "AWS::Events::Archive").is_empty());
    let r = props(&t, "Notify");
    assert_eq!(r["EventBusName"], json!({"Ref": "Bus"}), "a reference, so the rule is created after its bus");
    assert_eq!(
        r["EventPattern"],
        json!({"source": ["platform.entities"], "detail-type": ["OrderCreated", "ApiKeyRevoked"]})
    );
    assert_eq!(
        r["Targets"][0],
        json!({
            "Arn": get_att("Webhooks", "Arn"),
            "DeadLetterConfig": {"Arn": get_att("EventsDlq", "Arn")},
            "Id": "Target0",
            "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
        })
    );
    let send = &props(&t, "WebhooksPolicy")["PolicyDocument"]["Statement"][1];
    assert_eq!(send["Principal"], json!({"Service": "events.amazonaws.com"}));
    assert_eq!(send["Condition"], json!({"ArnEquals": {"aws:SourceArn": get_att("Notify", "Arn")}}));
    let dead = &props(&t, "EventsDlqPolicy")["PolicyDocument"]["Statement"][1];
    assert_eq!(
        dead["Condition"],
        json!({"ArnEquals": {"aws:SourceArn": [get_att("Notify", "Arn"), get_att("Analyze", "Arn")]}}),
        "one statement for both rules"
    );
    let key_sids: Vec<Value> =
        props(&t, "Key")["KeyPolicy"]["Statement"].as_array().unwrap().iter().map(|s| s["Sid"].clone()).collect();
    assert_eq!(key_sids, [json!("AccountAdministers"), json!("EventsUsesKey")]);
    assert_eq!(
        props(&t, "Analyze")["Targets"][0]["Arn"],
        json!({"Fn::Sub": ["arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Name}", {"Name": "/aws/events/analytics"}]})
    );
    assert_eq!(props(&t, "Analytics")["ResourcePolicyDocument"]["Statement"][0]["Sid"], "EventBridgeWrites");
}

use serde_json::Value;

#[test]
fn rule_errors() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let mut s = stack.root();
    let bus = EventBus::new(&mut s, "Bus", EventBusProps::default()).unwrap();
    let dlq = Queue::new(&mut s, "Dlq", QueueProps { dead_letter: DeadLetter::None, ..QueueProps::default() }).unwrap();
    let e = Rule::new(
        &mut s,
        "All",
        &bus,
        EventPattern::default(),
        vec![Target::Queue(dlq.clone())],
        &dlq,
        RuleProps::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "All: invalid event pattern \"{}\": name a source or a detail-type: a rule matching every event is a firehose"
    );
    let logs = LogGroup::new(&mut s, "Unnamed", LogGroupProps::default()).unwrap();
    let e = Rule::new(
        &mut s,
        "ToLogs",
        &bus,
        EventPattern::new("x", &[]),
        vec![Target::LogGroup(logs)],
        &dlq,
        RuleProps::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "ToLogs: log group Unnamed is a rule target and needs a name (LogGroupProps::name)");
    let e =
        EventBus::new(&mut s, "Default", EventBusProps { name: Some("default".into()), ..EventBusProps::default() })
            .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Default: invalid event bus name \"default\": 1 to 256 characters from A-Z a-z 0-9 / . - _, not \"default\""
    );
}
