//! The sample app, written against the generated layer only: a DynamoDB table with a stream, an SQS queue with a
//! dead-letter queue, and a Lambda worker (with its IAM role, log group and SQS event source mapping) that writes
//! to the table. It shows what the L1 types look like in use and is a fixed, small input for tests and
//! benchmarks.

use synth::{App, Asset, Json, Node, Policy, Stack, StackProps, Val, region};

use crate::dynamodb::{CfnTable, cfn_table};
use crate::iam::{CfnRole, cfn_role};
use crate::lambda::{CfnEventSourceMapping, CfnFunction, cfn_event_source_mapping, cfn_function};
use crate::logs::CfnLogGroup;
use crate::sqs::CfnQueue;

/// Seconds the worker may run. The queue's visibility timeout is 6 × this, as AWS advises for Lambda consumers
/// (<https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html>).
const WORKER_TIMEOUT: i64 = 30;

/// The sample app for `stage`, with the worker's code from `worker` (a handler crate asset).
pub fn app(stage: &str, worker: Asset) -> App {
    let mut app = App::new("sample");
    let mut props = StackProps::new("Sample", format!("sample-{stage}"), "eu-west-1", stage);
    props.description = Some("Sample app: table with stream, queue with DLQ, Lambda worker".to_owned());
    let mut stack = Stack::new(props);
    stack.use_asset(&worker.id);
    build(&mut stack, &worker);
    app.add_asset(worker);
    app.add_stack(stack);
    app
}

fn build(stack: &mut Stack, worker: &Asset) {
    let mut root = stack.root();

    let key = |name: &str, kind: &str| cfn_table::KeySchemaItem::new(name, kind);
    let attr = |name: &str| cfn_table::AttributeDefinition::new(name, cfn_table::AttributeType::S);
    let table = root.add(
        "Table",
        CfnTable {
            attribute_definitions: Some(Val::list([attr("pk"), attr("sk")])),
            billing_mode: Some(cfn_table::BillingMode::PayPerRequest.into()),
            stream_specification: Some(
                cfn_table::StreamSpecification::new(cfn_table::StreamViewType::NewAndOldImages).into(),
            ),
            point_in_time_recovery_specification: Some(
                cfn_table::PointInTimeRecoverySpecification {
                    point_in_time_recovery_enabled: Some(true.into()),
                    ..Default::default()
                }
                .into(),
            ),
            sse_specification: Some(cfn_table::SSESpecification::new(true).into()),
            time_to_live_specification: Some(
                cfn_table::TimeToLiveSpecification {
                    attribute_name: Some("ttl".into()),
                    ..cfn_table::TimeToLiveSpecification::new(true)
                }
                .into(),
            ),
            ..CfnTable::new(Val::list([key("pk", "HASH"), key("sk", "RANGE")]))
        },
    );
    // The table is the system of record: keep it when the stack is deleted or the table replaced.
    root.stack_mut().entry_mut(&table).set_deletion_policy(Policy::Retain).set_update_replace_policy(Policy::Retain);

    let dlq = root.add(
        "DeadLetterQueue",
        CfnQueue {
            message_retention_period: Some(1_209_600.into()), // 14 days, the SQS maximum
            sqs_managed_sse_enabled: Some(true.into()),
            ..CfnQueue::new()
        },
    );
    let queue = root.add(
        "Queue",
        CfnQueue {
            visibility_timeout: Some((6 * WORKER_TIMEOUT).into()),
            sqs_managed_sse_enabled: Some(true.into()),
            redrive_policy: Some(
                Json::obj([("deadLetterTargetArn", dlq.attr_arn().into()), ("maxReceiveCount", Node::Int(5))]).into(),
            ),
            ..CfnQueue::new()
        },
    );

    let logs = root.add("WorkerLogs", CfnLogGroup { retention_in_days: Some(30.into()), ..CfnLogGroup::new() });

    let statement = |actions: &[&str], resources: Vec<Node>| {
        Node::from(Json::obj([
            ("Effect", Node::from("Allow")),
            ("Action", Node::List(actions.iter().map(|a| Node::from(*a)).collect())),
            ("Resource", Node::List(resources)),
        ]))
    };
    let document = Json::obj([
        ("Version", Node::from("2012-10-17")),
        (
            "Statement",
            Node::List(vec![
                statement(
                    &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                    vec![queue.attr_arn().into()],
                ),
                statement(
                    &["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"],
                    vec![table.attr_arn().into()],
                ),
                statement(&["logs:CreateLogStream", "logs:PutLogEvents"], vec![logs.attr_arn().into()]),
            ]),
        ),
    ]);
    let trust = Json::obj([
        ("Version", Node::from("2012-10-17")),
        (
            "Statement",
            Node::List(vec![Node::from(Json::obj([
                ("Effect", Node::from("Allow")),
                ("Principal", Node::from(Json::obj([("Service", Node::from("lambda.amazonaws.com"))]))),
                ("Action", Node::from("sts:AssumeRole")),
            ]))]),
        ),
    ]);
    let role = root.add(
        "WorkerRole",
        CfnRole {
            policies: Some(Val::list([cfn_role::Policy::new(document, "worker")])),
            // X-Ray has no resource-level permissions, so its actions come from the AWS managed policy.
            managed_policy_arns: Some(Val::list([Val::sub(
                "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess",
            )])),
            ..CfnRole::new(trust)
        },
    );

    let function = root.add(
        "Worker",
        CfnFunction {
            architectures: Some(Val::list([cfn_function::Architectures::Arm64])),
            runtime: Some(cfn_function::Runtime::ProvidedAl2023.into()),
            handler: Some("bootstrap".into()),
            memory_size: Some(256.into()),
            timeout: Some(WORKER_TIMEOUT.into()),
            reserved_concurrent_executions: Some(10.into()),
            tracing_config: Some(cfn_function::TracingConfig { mode: Some(cfn_function::Mode::Active.into()) }.into()),
            logging_config: Some(
                cfn_function::LoggingConfig {
                    log_group: Some(logs.ref_()),
                    log_format: Some(cfn_function::LogFormat::Json.into()),
                    ..Default::default()
                }
                .into(),
            ),
            environment: Some(
                cfn_function::Environment {
                    variables: Some(Val::map([("TABLE_NAME", table.ref_()), ("REGION", region())])),
                }
                .into(),
            ),
            ..CfnFunction::new(
                cfn_function::Code {
                    s3_bucket: Some(Val::sub("rcdk-assets-${AWS::AccountId}-${AWS::Region}")),
                    s3_key: Some(worker.s3_key().into()),
                    ..Default::default()
                },
                role.attr_arn(),
            )
        },
    );

    root.add(
        "WorkerQueueSource",
        CfnEventSourceMapping {
            event_source_arn: Some(queue.attr_arn()),
            batch_size: Some(10.into()),
            function_response_types: Some(Val::list([
                cfn_event_source_mapping::FunctionResponseTypes::ReportBatchItemFailures,
            ])),
            ..CfnEventSourceMapping::new(function.ref_())
        },
    );
}

/// Resources one worker unit of [`scaled`] adds: queue, DLQ, log group, role, function, event source mapping.
pub const UNIT_RESOURCES: usize = 6;
/// Resources per stack in [`scaled`]: under CloudFormation's 500 with room to grow.
const PER_STACK: usize = 450;

/// A synthetic app of at least `resources` resources (the sample's worker shape repeated), spread over as many
/// stacks as the 500-resource limit needs: the benchmark input for synth at scale.
pub fn scaled(resources: usize, worker: Asset) -> App {
    let mut app = App::new("scaled");
    let units = resources.div_ceil(UNIT_RESOURCES);
    let per_stack = PER_STACK / UNIT_RESOURCES;
    let stacks = units.div_ceil(per_stack).max(1);
    for s in 0..stacks {
        let id = format!("Scaled{s}");
        let mut stack = Stack::new(StackProps::new(&id, format!("scaled-{s}"), "eu-west-1", "bench"));
        stack.use_asset(&worker.id);
        let mut root = stack.root();
        let first = s * per_stack;
        for u in first..units.min(first + per_stack) {
            let mut scope = root.child(&format!("Unit{u}"));
            worker_unit(&mut scope, &worker);
        }
        app.add_stack(stack);
    }
    app.add_asset(worker);
    app
}

fn worker_unit(scope: &mut synth::Scope<'_>, worker: &Asset) {
    let dlq = scope.add("Dlq", CfnQueue { sqs_managed_sse_enabled: Some(true.into()), ..CfnQueue::new() });
    let queue = scope.add(
        "Queue",
        CfnQueue {
            visibility_timeout: Some((6 * WORKER_TIMEOUT).into()),
            sqs_managed_sse_enabled: Some(true.into()),
            redrive_policy: Some(
                Json::obj([("deadLetterTargetArn", dlq.attr_arn().into()), ("maxReceiveCount", Node::Int(5))]).into(),
            ),
            ..CfnQueue::new()
        },
    );
    let logs = scope.add("Logs", CfnLogGroup { retention_in_days: Some(30.into()), ..CfnLogGroup::new() });
    let statement = |actions: &[&str], resource: Node| {
        Node::from(Json::obj([
            ("Effect", Node::from("Allow")),
            ("Action", Node::List(actions.iter().map(|a| Node::from(*a)).collect())),
            ("Resource", resource),
        ]))
    };
    let document = Json::obj([
        ("Version", Node::from("2012-10-17")),
        (
            "Statement",
            Node::List(vec![
                statement(
                    &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                    queue.attr_arn().into(),
                ),
                statement(&["logs:CreateLogStream", "logs:PutLogEvents"], logs.attr_arn().into()),
            ]),
        ),
    ]);
    let trust = Json::obj([
        ("Version", Node::from("2012-10-17")),
        (
            "Statement",
            Node::List(vec![Node::from(Json::obj([
                ("Effect", Node::from("Allow")),
                ("Principal", Node::from(Json::obj([("Service", Node::from("lambda.amazonaws.com"))]))),
                ("Action", Node::from("sts:AssumeRole")),
            ]))]),
        ),
    ]);
    let role = scope.add(
        "Role",
        CfnRole { policies: Some(Val::list([cfn_role::Policy::new(document, "worker")])), ..CfnRole::new(trust) },
    );
    let function = scope.add(
        "Function",
        CfnFunction {
            architectures: Some(Val::list([cfn_function::Architectures::Arm64])),
            runtime: Some(cfn_function::Runtime::ProvidedAl2023.into()),
            handler: Some("bootstrap".into()),
            timeout: Some(WORKER_TIMEOUT.into()),
            logging_config: Some(
                cfn_function::LoggingConfig { log_group: Some(logs.ref_()), ..Default::default() }.into(),
            ),
            ..CfnFunction::new(
                cfn_function::Code {
                    s3_bucket: Some(Val::sub("rcdk-assets-${AWS::AccountId}-${AWS::Region}")),
                    s3_key: Some(worker.s3_key().into()),
                    ..Default::default()
                },
                role.attr_arn(),
            )
        },
    );
    scope.add(
        "Source",
        CfnEventSourceMapping {
            event_source_arn: Some(queue.attr_arn()),
            function_response_types: Some(Val::list([
                cfn_event_source_mapping::FunctionResponseTypes::ReportBatchItemFailures,
            ])),
            ..CfnEventSourceMapping::new(function.ref_())
        },
    );
}
