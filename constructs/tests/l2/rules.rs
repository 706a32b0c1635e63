//! The rule pack as a whole: the rules it holds, and how suppressions behave. Each rule's own test (resources it
//! flags, with the exact message, and resources it must not flag) is beside the rule, in its service's `rules.rs`.

use constructs::rules::{RuleId, all};
use serde_json::json;
use synth::{App, RawResource, Stack, StackProps};

/// The ids are a contract: suppressions in templates and in users' code name them.
#[test]
fn the_pack_holds_exactly_these_rules_once_each() {
    let mut ids: Vec<&str> = all().iter().map(|r| r.id()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "AwsSolutions-APIG1",
            "AwsSolutions-APIG2",
            "AwsSolutions-APIG3",
            "AwsSolutions-APIG4",
            "AwsSolutions-APIG6",
            "AwsSolutions-CFR2",
            "AwsSolutions-CFR3",
            "AwsSolutions-CFR4",
            "AwsSolutions-CFR5",
            "AwsSolutions-CFR7",
            "AwsSolutions-DDB3",
            "AwsSolutions-EC23",
            "AwsSolutions-EC27",
            "AwsSolutions-EVB1",
            "AwsSolutions-IAM4",
            "AwsSolutions-IAM5",
            "AwsSolutions-KMS5",
            "AwsSolutions-L1",
            "AwsSolutions-OS1",
            "AwsSolutions-OS2",
            "AwsSolutions-OS3",
            "AwsSolutions-OS4",
            "AwsSolutions-OS5",
            "AwsSolutions-OS7",
            "AwsSolutions-OS8",
            "AwsSolutions-OS9",
            "AwsSolutions-S1",
            "AwsSolutions-S10",
            "AwsSolutions-S2",
            "AwsSolutions-SF1",
            "AwsSolutions-SF2",
            "AwsSolutions-SMG4",
            "AwsSolutions-SNS2",
            "AwsSolutions-SNS3",
            "AwsSolutions-SQS2",
            "AwsSolutions-SQS3",
            "AwsSolutions-SQS4",
            "AwsSolutions-VPC7",
            "Rcdk-AEC-VPC",
            "Rcdk-APIG-TLS",
            "Rcdk-DDB-CMK",
            "Rcdk-OS-TLS",
            "Serverless-APIGWDefaultThrottling",
            "Serverless-APIGWStructuredLogging",
            "Serverless-APIGWXrayEnabled",
            "Serverless-CloudWatchLogGroupRetentionPeriod",
            "Serverless-EventBusDLQ",
            "Serverless-LambdaDLQ",
            "Serverless-LambdaDefaultMemorySize",
            "Serverless-LambdaDefaultTimeout",
            "Serverless-LambdaEventSourceMappingDestination",
            "Serverless-LambdaEventSourceSQSVisibilityTimeout",
            "Serverless-LambdaTracing",
        ]
    );
    assert!(all().iter().all(|r| !r.description().is_empty() && !r.applies_to().is_empty()));
}

#[test]
fn suppressions_need_a_reason_and_must_be_used() {
    let mut app = App::new("t");
    let stack = app.add_stack(Stack::new(StackProps::new("Main", "t-main", "eu-west-1", "dev")));
    let h = stack.root().add("Topic", RawResource::new("AWS::SNS::Topic", json!({"KmsMasterKeyId": "k"})));
    constructs::common::suppress(stack.entry_mut(&h), RuleId::Sns3, "the topic only receives from inside the account");
    constructs::common::suppress(stack.entry_mut(&h), RuleId::Sqs2, "not a queue");
    let e = app.synth_with(&all()).unwrap_err();
    assert_eq!(
        e.messages(),
        [
            "error: Main/Topic: suppression of AwsSolutions-SQS2 is unused: the rule finds nothing here; remove the suppression"
        ]
    );
}
