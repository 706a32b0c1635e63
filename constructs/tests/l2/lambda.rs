//! `lambda::Function` and its event sources.

use std::collections::BTreeMap;

use constructs::dynamodb::{Attribute, StreamView, Table, TableProps};
use constructs::lambda::{Function, FunctionProps, Invocation, SqsSourceProps, StreamSourceProps, XRAY_REASON};
use constructs::sqs::{Queue, QueueProps};
use serde_json::json;
use synth::{Stack, StackProps, Val};

use super::support::*;

#[test]
fn safe_defaults() {
    let t = template(|s| {
        Function::new(s, "Worker", &asset(), FunctionProps::default()).unwrap();
    });
    let p = props(&t, "Worker");
    assert_eq!(p["Architectures"], json!(["arm64"]));
    assert_eq!(p["Runtime"], "provided.al2023");
    assert_eq!(p["Handler"], "bootstrap");
    assert_eq!(p["MemorySize"], 256, "explicit memory");
    assert_eq!(p["Timeout"], 10, "explicit timeout");
    assert_eq!(p["TracingConfig"], json!({"Mode": "Active"}), "X-Ray active");
    assert_eq!(
        p["LoggingConfig"],
        json!({"LogFormat": "JSON", "LogGroup": ref_("WorkerLogs")}),
        "own log group, JSON logs"
    );
    assert_eq!(p["RecursiveLoop"], "Terminate");
    assert_eq!(
        p["Code"],
        json!({"S3Bucket": {"Fn::Sub": "rcdk-assets-${AWS::AccountId}-${AWS::Region}"}, "S3Key": "assets/0123abcd.zip"})
    );
    assert_eq!(p["Role"], get_att("WorkerRole", "Arn"));
    assert!(p.get("ReservedConcurrentExecutions").is_none(), "the request path is not capped by default");
    assert_eq!(props(&t, "WorkerLogs")["RetentionInDays"], 365, "log retention");
    assert_eq!(
        role_statements(&t, "WorkerRole"),
        runtime_statements("Worker"),
        "logs only to its own group, and X-Ray"
    );
    assert_eq!(resource(&t, "WorkerRole")["Metadata"]["rcdk:iam-wildcards"][0]["reason"], XRAY_REASON);
    assert_eq!(checkov_skips(&t, "Worker"), ["CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"]);
    // The same decisions for cfn-guard and cfn-nag, and the log group cfn-lint-serverless cannot follow.
    let m = &resource(&t, "Worker")["Metadata"];
    assert_eq!(
        m["guard"]["SuppressedRules"],
        json!(["LAMBDA_CONCURRENCY_CHECK", "LAMBDA_DLQ_CHECK", "LAMBDA_INSIDE_VPC"])
    );
    assert_eq!(m["cfn_nag"]["rules_to_suppress"].as_array().map(Vec::len), Some(2), "W92 and W89");
    assert_eq!(cfn_lint_ignores(&t, "Worker"), ["WS1004"]);
    assert_eq!(resource(&t, "Worker")["Metadata"]["rcdk:invocation"]["type"], "synchronous");
    assert!(of_type(&t, "AWS::Lambda::Alias").is_empty());
}

#[test]
fn provisioned_concurrency_publishes_a_version_behind_an_alias() {
    let t = template(|s| {
        let f = Function::new(
            s,
            "Api",
            &asset(),
            FunctionProps {
                provisioned_concurrency: Some(5),
                reserved_concurrency: Some(50),
                ..FunctionProps::default()
            },
        )
        .unwrap();
        assert_eq!(f.qualifier(), "live");
        assert_eq!(f.invoke_arn().node().to_json(), ref_("ApiLive"));
    });
    let alias = props(&t, "ApiLive");
    assert_eq!(alias["Name"], "live");
    assert_eq!(alias["ProvisionedConcurrencyConfig"], json!({"ProvisionedConcurrentExecutions": 5}));
    assert_eq!(alias["FunctionVersion"], get_att("ApiVersion", "Version"));
    let description = props(&t, "ApiVersion")["Description"].as_str().unwrap().to_owned();
    assert!(description.starts_with("asset 0123abcd config "), "{description}");
    assert_eq!(props(&t, "Api")["ReservedConcurrentExecutions"], 50);
    assert_eq!(checkov_skips(&t, "Api"), ["CKV_AWS_116", "CKV_AWS_117"]);
}

#[test]
fn async_invocation_has_a_failure_destination() {
    let t = template(|s| {
        let failures = Queue::new(s, "Failures", QueueProps::default()).unwrap();
        Function::new(
            s,
            "Handler",
            &asset(),
            FunctionProps {
                invocation: Invocation::Asynchronous {
                    on_failure: Box::new(failures),
                    retry_attempts: 2,
                    max_event_age_seconds: 3600,
                },
                ..FunctionProps::default()
            },
        )
        .unwrap();
    });
    let c = props(&t, "HandlerAsyncConfig");
    assert_eq!(c["DestinationConfig"], json!({"OnFailure": {"Destination": get_att("Failures", "Arn")}}));
    assert_eq!(c["MaximumRetryAttempts"], 2);
    assert_eq!(c["Qualifier"], "$LATEST");
    let failures = [
        json!({
            "Effect": "Allow",
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Resource": get_att("Failures", "Arn")
        }),
        json!({
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": get_att("FailuresKey", "Arn"),
            "Condition": via("sqs")
        }),
    ];
    assert_eq!(role_statements(&t, "HandlerRole"), [runtime_statements("Handler"), failures.to_vec()].concat());
}

#[test]
fn sqs_source_reports_item_failures_and_grants_consume() {
    let t = template(|s| {
        let q = Queue::new(s, "Jobs", QueueProps { visibility_timeout_seconds: Some(180), ..QueueProps::default() })
            .unwrap();
        let f = Function::new(
            s,
            "Worker",
            &asset(),
            FunctionProps { timeout_seconds: Some(30), reserved_concurrency: Some(10), ..FunctionProps::default() },
        )
        .unwrap();
        f.add_sqs_source(s, "JobsSource", &q, SqsSourceProps::default()).unwrap();
    });
    let m = props(&t, "WorkerJobsSource");
    assert_eq!(cfn_lint_ignores(&t, "WorkerJobsSource"), ["ES1001"], "SQS sources take no on-failure destination");
    assert_eq!(m["EventSourceArn"], get_att("Jobs", "Arn"));
    assert_eq!(m["FunctionResponseTypes"], json!(["ReportBatchItemFailures"]));
    assert_eq!(m["BatchSize"], 10);
    let consume = [
        json!({
            "Effect": "Allow",
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
            "Resource": get_att("Jobs", "Arn")
        }),
        json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": get_att("JobsKey", "Arn"), "Condition": via("sqs")}),
    ];
    assert_eq!(role_statements(&t, "WorkerRole"), [runtime_statements("Worker"), consume.to_vec()].concat());
}

#[test]
fn visibility_timeout_too_short() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let mut s = stack.root();
    let q = Queue::new(&mut s, "Jobs", QueueProps { visibility_timeout_seconds: Some(60), ..QueueProps::default() })
        .unwrap();
    let f = Function::new(
        &mut s,
        "Worker",
        &asset(),
        FunctionProps { timeout_seconds: Some(30), ..FunctionProps::default() },
    )
    .unwrap();
    let e = f.add_sqs_source(&mut s, "JobsSource", &q, SqsSourceProps::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Worker/JobsSource: queue Jobs has a visibility timeout of 60 s, less than 6 x the function timeout of 30 s: set it to at least 180 s"
    );
    let e = f
        .add_sqs_source(&mut s, "Big", &q, SqsSourceProps { batch_size: Some(100), ..SqsSourceProps::default() })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Worker/Big: batch size 100 needs a batching window of at least 1 s (more than 10 messages)"
    );
}

#[test]
fn stream_source_bisects_retries_and_has_an_on_failure_destination() {
    let t = template(|s| {
        let table = Table::new(
            s,
            "Entities",
            Attribute::string("pk"),
            TableProps { stream: Some(StreamView::NewAndOldImages), ..TableProps::default() },
        )
        .unwrap();
        let failures = Queue::new(s, "StreamFailures", QueueProps::default()).unwrap();
        let f = Function::new(
            s,
            "Processor",
            &asset(),
            FunctionProps { timeout_seconds: Some(30), reserved_concurrency: Some(10), ..FunctionProps::default() },
        )
        .unwrap();
        f.add_dynamodb_stream_source(s, "Changes", &table, &failures, StreamSourceProps::default()).unwrap();
    });
    let m = props(&t, "ProcessorChanges");
    assert_eq!(m["EventSourceArn"], get_att("Entities", "StreamArn"));
    assert_eq!(m["BisectBatchOnFunctionError"], true);
    assert_eq!(m["MaximumRetryAttempts"], 5);
    assert_eq!(m["MaximumRecordAgeInSeconds"], 3600);
    assert_eq!(m["StartingPosition"], "TRIM_HORIZON");
    assert_eq!(m["DestinationConfig"], json!({"OnFailure": {"Destination": get_att("StreamFailures", "Arn")}}));
    assert_eq!(m["FunctionResponseTypes"], json!(["ReportBatchItemFailures"]));
    let stream_and_destination = [
        json!({
            "Effect": "Allow",
            "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
            "Resource": get_att("Entities", "StreamArn")
        }),
        json!({
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": get_att("EntitiesKey", "Arn"),
            "Condition": via("dynamodb")
        }),
        json!({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": get_att("StreamFailures", "Arn")}),
        json!({
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": get_att("StreamFailuresKey", "Arn"),
            "Condition": via("sqs")
        }),
    ];
    assert_eq!(
        role_statements(&t, "ProcessorRole"),
        [runtime_statements("Processor"), stream_and_destination.to_vec()].concat()
    );
}

#[test]
fn function_errors() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let mut s = stack.root();
    let err =
        |s: &mut synth::Scope, props: FunctionProps| Function::new(s, "F", &asset(), props).unwrap_err().to_string();
    assert_eq!(
        err(&mut s, FunctionProps { memory_mb: Some(64), ..FunctionProps::default() }),
        "F: memory (MB) 64 is out of range: allowed 128 to 10240"
    );
    assert_eq!(
        err(&mut s, FunctionProps { timeout_seconds: Some(901), ..FunctionProps::default() }),
        "F: timeout (s) 901 is out of range: allowed 1 to 900"
    );
    assert_eq!(
        err(
            &mut s,
            FunctionProps {
                provisioned_concurrency: Some(10),
                reserved_concurrency: Some(5),
                ..FunctionProps::default()
            }
        ),
        "F: provisioned concurrency 10 exceeds reserved concurrency 5; provisioned instances count against the reservation"
    );
    let env = BTreeMap::from([("AWS_REGION".to_owned(), Val::from("x"))]);
    assert_eq!(
        err(&mut s, FunctionProps { environment: env, ..FunctionProps::default() }),
        "F: invalid environment variable name \"AWS_REGION\": a letter followed by A-Z a-z 0-9 _, not starting with AWS_ (reserved by Lambda)"
    );
    let table = Table::new(&mut s, "T", Attribute::string("pk"), TableProps::default()).unwrap();
    let q = Queue::new(&mut s, "Q", QueueProps::default()).unwrap();
    let f = Function::new(&mut s, "G", &asset(), FunctionProps::default()).unwrap();
    let e = f.add_dynamodb_stream_source(&mut s, "Changes", &table, &q, StreamSourceProps::default()).unwrap_err();
    assert_eq!(e.to_string(), "G/Changes: table T has no stream; set TableProps::stream");
}
