//! `sqs::Queue`.

use constructs::iam::{Principal, Role, RoleProps};
use constructs::sqs::{DeadLetter, Queue, QueueProps};
use serde_json::json;
use synth::{Stack, StackProps, Val};

use super::support::*;

#[test]
fn safe_defaults() {
    let t = template(|s| {
        Queue::new(s, "Jobs", QueueProps::default()).unwrap();
    });
    let q = resource(&t, "Jobs");
    assert_eq!(q["DeletionPolicy"], "Retain");
    let p = &q["Properties"];
    assert_eq!(
        p["RedrivePolicy"],
        json!({"deadLetterTargetArn": get_att("JobsDlq", "Arn"), "maxReceiveCount": 5}),
        "DLQ by default"
    );
    assert_eq!(p["KmsMasterKeyId"], get_att("JobsKey", "Arn"), "customer managed key");
    assert_eq!(p["ReceiveMessageWaitTimeSeconds"], 20, "long polling");
    assert_eq!(p["MessageRetentionPeriod"], 345_600);
    let dlq = props(&t, "JobsDlq");
    assert_eq!(dlq["MessageRetentionPeriod"], 1_209_600, "DLQ keeps 14 days");
    assert_eq!(dlq["KmsMasterKeyId"], get_att("JobsKey", "Arn"), "DLQ shares the key");
    assert!(dlq.get("RedrivePolicy").is_none());
    for policy in ["JobsPolicy", "JobsDlqPolicy"] {
        let st = &props(&t, policy)["PolicyDocument"]["Statement"][0];
        assert_eq!(st["Effect"], "Deny");
        assert_eq!(st["Principal"], "*");
        assert_eq!(st["Condition"], json!({"Bool": {"aws:SecureTransport": "false"}}), "TLS only");
    }
}

/// Only the dead-letter queue says why it has no redrive policy of its own (cfn-lint-serverless ES6000).
#[test]
fn the_dead_letter_queue_declares_why_it_has_no_redrive() {
    let t = template(|s| {
        Queue::new(s, "Jobs", QueueProps::default()).unwrap();
    });
    assert_eq!(cfn_lint_ignores(&t, "JobsDlq"), ["ES6000"]);
    assert!(cfn_lint_ignores(&t, "Jobs").is_empty());
    assert_eq!(resource(&t, "JobsDlq")["Metadata"]["rcdk:suppressions"][0]["id"], "scanner:SqsRedrive");
}

#[test]
fn grants_send_and_consume_with_the_key() {
    let t = template(|s| {
        let q = Queue::new(s, "Jobs", QueueProps::default()).unwrap();
        let r = Role::new(s, "Producer", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
        q.grant_send_messages(&r, s);
        let c = Role::new(s, "Consumer", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
        q.grant_consume_messages(&c, s);
    });
    assert_eq!(
        role_statements(&t, "Producer"),
        [
            json!({
                "Effect": "Allow",
                "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
                "Resource": get_att("Jobs", "Arn")
            }),
            json!({
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": get_att("JobsKey", "Arn"),
                "Condition": via("sqs")
            }),
        ]
    );
    assert_eq!(
        role_statements(&t, "Consumer"),
        [
            json!({
                "Effect": "Allow",
                "Action": [
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage"
                ],
                "Resource": get_att("Jobs", "Arn")
            }),
            json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": get_att("JobsKey", "Arn"), "Condition": via("sqs")}),
        ]
    );
}

#[test]
fn a_grant_that_touches_no_message_gets_no_key() {
    let t = template(|s| {
        let q = Queue::new(s, "Jobs", QueueProps::default()).unwrap();
        let r = Role::new(s, "Monitor", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
        q.grant(&r, s, &["sqs:GetQueueAttributes"]);
    });
    assert_eq!(
        role_statements(&t, "Monitor"),
        [json!({"Effect": "Allow", "Action": "sqs:GetQueueAttributes", "Resource": get_att("Jobs", "Arn")})]
    );
}

#[test]
fn service_send_adds_queue_and_key_policy() {
    let t = template(|s| {
        let q = Queue::new(s, "Jobs", QueueProps::default()).unwrap();
        q.allow_service_send(
            s,
            "events.amazonaws.com",
            "EventBridgeSends",
            Val::from("arn:aws:events:eu-west-1:1:rule/r"),
        );
    });
    let st = &props(&t, "JobsPolicy")["PolicyDocument"]["Statement"][1];
    assert_eq!(st["Principal"], json!({"Service": "events.amazonaws.com"}));
    assert_eq!(st["Condition"], json!({"ArnEquals": {"aws:SourceArn": "arn:aws:events:eu-west-1:1:rule/r"}}));
    let key = props(&t, "JobsKey")["KeyPolicy"]["Statement"].as_array().unwrap().clone();
    assert_eq!(key[1]["Sid"], "EventsUsesKey");
    assert_eq!(key[1]["Action"], json!(["kms:Decrypt", "kms:GenerateDataKey"]));
}

#[test]
fn queue_errors() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let mut root = stack.root();
    let e =
        Queue::new(&mut root, "Q", QueueProps { visibility_timeout_seconds: Some(50_000), ..QueueProps::default() });
    assert_eq!(e.unwrap_err().to_string(), "Q: visibility timeout (s) 50000 is out of range: allowed 0 to 43200");
    let e = Queue::new(
        &mut root,
        "R",
        QueueProps { dead_letter: DeadLetter::Create { max_receive_count: 0 }, ..QueueProps::default() },
    );
    assert_eq!(e.unwrap_err().to_string(), "R: max receive count 0 is out of range: allowed 1 to 1000");
}
