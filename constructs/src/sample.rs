//! The sample app, written against the generated layer only: a DynamoDB table with a stream, an SQS queue with a
//! dead-letter queue, and a Lambda worker (with its IAM role, log group and SQS event source mapping) that writes
//! to the table, everything encrypted with one customer-managed KMS key. It shows what the L1 types look like in
//! use, that they can be made as safe as the constructs (it passes cfn-lint and checkov with declared skips), and
//! it is a fixed, small input for tests and benchmarks; [`scaled`] repeats its worker for benchmarks at scale.

use synth::{App, Asset, Handle, Json, Node, Policy, Scope, Stack, StackProps, Val, region};

use crate::common::{Check, suppress};
use crate::dynamodb::{CfnTable, cfn_table};
use crate::iam::WILDCARD_METADATA_KEY;
use crate::iam::{CfnRole, cfn_role};
use crate::kms::CfnKey;
use crate::lambda::INVOCATION_METADATA_KEY;
use crate::lambda::{CfnEventSourceMapping, CfnFunction, cfn_event_source_mapping, cfn_function};
use crate::logs::CfnLogGroup;
use crate::sqs::{CfnQueue, CfnQueuePolicy};

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
    {
        let mut root = stack.root();
        let key = key(&mut root);
        let table = table(&mut root, &key);
        worker_unit(&mut root, &worker, &key, Some(&table));
    }
    app.add_asset(worker);
    app.add_stack(stack);
    app
}

/// A customer-managed key with rotation, usable by the account's principals and by CloudWatch Logs.
fn key(root: &mut Scope<'_>) -> Handle<CfnKey> {
    let statement = |sid: &str, principal: Node, actions: &[&str], condition: Option<Node>| {
        let mut fields = vec![
            ("Sid", Node::from(sid)),
            ("Effect", Node::from("Allow")),
            ("Principal", principal),
            ("Action", Node::List(actions.iter().map(|a| Node::from(*a)).collect())),
            ("Resource", Node::from("*")), // in a key policy, "*" means this key
        ];
        if let Some(c) = condition {
            fields.push(("Condition", c));
        }
        Node::from(Json::obj(fields))
    };
    let policy = Json::obj([
        ("Version", Node::from("2012-10-17")),
        (
            "Statement",
            Node::List(vec![
                statement(
                    "AccountAdministers",
                    Node::from(Json::obj([(
                        "AWS",
                        Val::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root").into(),
                    )])),
                    &["kms:*"],
                    None,
                ),
                // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
                statement(
                    "LogsEncrypt",
                    Node::from(Json::obj([("Service", Val::sub("logs.${AWS::Region}.amazonaws.com").into())])),
                    &["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    Some(Node::from(Json::obj([(
                        "ArnLike",
                        Node::from(Json::obj([(
                            "kms:EncryptionContext:aws:logs:arn",
                            Val::sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*").into(),
                        )])),
                    )]))),
                ),
            ]),
        ),
    ]);
    let key = root.add(
        "Key",
        CfnKey {
            enable_key_rotation: Some(true.into()),
            pending_window_in_days: Some(30.into()),
            key_policy: Some(policy.into()),
            ..CfnKey::new()
        },
    );
    root.stack_mut().entry_mut(&key).set_deletion_policy(Policy::Retain).set_update_replace_policy(Policy::Retain);
    key
}

fn table(root: &mut Scope<'_>, key: &Handle<CfnKey>) -> Handle<CfnTable> {
    let key_item = |name: &str, kind: &str| cfn_table::KeySchemaItem::new(name, kind);
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
            sse_specification: Some(
                cfn_table::SSESpecification {
                    sse_type: Some(cfn_table::SSEType::Kms.into()),
                    kms_master_key_id: Some(key.attr_arn()),
                    ..cfn_table::SSESpecification::new(true)
                }
                .into(),
            ),
            time_to_live_specification: Some(
                cfn_table::TimeToLiveSpecification {
                    attribute_name: Some("ttl".into()),
                    ..cfn_table::TimeToLiveSpecification::new(true)
                }
                .into(),
            ),
            deletion_protection_enabled: Some(true.into()),
            ..CfnTable::new(Val::list([key_item("pk", "HASH"), key_item("sk", "RANGE")]))
        },
    );
    // The table is the system of record: keep it when the stack is deleted or the table replaced.
    root.stack_mut().entry_mut(&table).set_deletion_policy(Policy::Retain).set_update_replace_policy(Policy::Retain);
    table
}

/// Resources one worker unit of [`scaled`] adds: queue, DLQ, queue policy, log group, role, function, event
/// source mapping.
pub const UNIT_RESOURCES: usize = 7;
/// Resources per stack in [`scaled`]: under CloudFormation's 500 with room to grow.
const PER_STACK: usize = 450;

/// A synthetic app of at least `resources` resources (the sample's worker repeated, one key per stack), spread
/// over as many stacks as the 500-resource limit needs: the benchmark input for synth at scale.
pub fn scaled(resources: usize, worker: Asset) -> App {
    let mut app = App::new("scaled");
    let units = resources.div_ceil(UNIT_RESOURCES);
    let per_stack = PER_STACK / UNIT_RESOURCES;
    let stacks = units.div_ceil(per_stack).max(1);
    for s in 0..stacks {
        let id = format!("Scaled{s}");
        let mut stack = Stack::new(StackProps::new(&id, format!("scaled-{s}"), "eu-west-1", "bench"));
        stack.use_asset(&worker.id);
        {
            let mut root = stack.root();
            let key = key(&mut root);
            let first = s * per_stack;
            for u in first..units.min(first + per_stack) {
                let mut scope = root.child(&format!("Unit{u}"));
                worker_unit(&mut scope, &worker, &key, None);
            }
        }
        app.add_stack(stack);
    }
    app.add_asset(worker);
    app
}

/// A queue with its dead-letter queue, and a Lambda worker consuming it (role, log group, event source mapping);
/// with `table`, the worker may write to it and gets its name in `TABLE_NAME`.
fn worker_unit(scope: &mut Scope<'_>, worker: &Asset, key: &Handle<CfnKey>, table: Option<&Handle<CfnTable>>) {
    let dlq = scope.add(
        "DeadLetterQueue",
        CfnQueue {
            message_retention_period: Some(1_209_600.into()), // 14 days, the SQS maximum
            kms_master_key_id: Some(key.attr_arn()),
            ..CfnQueue::new()
        },
    );
    let queue = scope.add(
        "Queue",
        CfnQueue {
            visibility_timeout: Some((6 * WORKER_TIMEOUT).into()),
            kms_master_key_id: Some(key.attr_arn()),
            redrive_policy: Some(
                Json::obj([("deadLetterTargetArn", dlq.attr_arn().into()), ("maxReceiveCount", Node::Int(5))]).into(),
            ),
            ..CfnQueue::new()
        },
    );
    // Both queues refuse requests that do not use TLS.
    let tls_only = Json::obj([
        ("Version", Node::from("2012-10-17")),
        (
            "Statement",
            Node::List(vec![Node::from(Json::obj([
                ("Sid", Node::from("DenyInsecureTransport")),
                ("Effect", Node::from("Deny")),
                ("Principal", Node::from("*")),
                ("Action", Node::from("sqs:*")),
                ("Resource", Node::List(vec![queue.attr_arn().into(), dlq.attr_arn().into()])),
                (
                    "Condition",
                    Node::from(Json::obj([(
                        "Bool",
                        Node::from(Json::obj([("aws:SecureTransport", Node::from("false"))])),
                    )])),
                ),
            ]))]),
        ),
    ]);
    scope.add("QueuePolicy", CfnQueuePolicy::new(tls_only, Val::list([queue.ref_(), dlq.ref_()])));
    let logs = scope.add(
        "WorkerLogs",
        CfnLogGroup { retention_in_days: Some(30.into()), kms_key_id: Some(key.attr_arn()), ..CfnLogGroup::new() },
    );

    let statement = |actions: &[&str], resources: Vec<Node>| {
        Node::from(Json::obj([
            ("Effect", Node::from("Allow")),
            ("Action", Node::List(actions.iter().map(|a| Node::from(*a)).collect())),
            ("Resource", Node::List(resources)),
        ]))
    };
    let mut statements = vec![
        statement(
            &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            vec![queue.attr_arn().into()],
        ),
        statement(&["logs:CreateLogStream", "logs:PutLogEvents"], vec![logs.attr_arn().into()]),
        statement(&["kms:Decrypt", "kms:GenerateDataKey"], vec![key.attr_arn().into()]),
    ];
    if let Some(t) = table {
        statements.push(statement(
            &["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"],
            vec![t.attr_arn().into()],
        ));
    }
    // X-Ray has no resource-level permissions: "*" is the only resource its actions take.
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html
    const XRAY: [&str; 2] = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];
    statements.push(statement(&XRAY, vec![Node::from("*")]));
    let document = Json::obj([("Version", Node::from("2012-10-17")), ("Statement", Node::List(statements))]);
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
        "WorkerRole",
        CfnRole { policies: Some(Val::list([cfn_role::Policy::new(document, "worker")])), ..CfnRole::new(trust) },
    );
    scope.stack_mut().entry_mut(&role).set_metadata(
        WILDCARD_METADATA_KEY,
        Node::List(vec![Node::from(Json::obj([
            ("actions", Node::List(XRAY.iter().map(|a| Node::from(*a)).collect())),
            ("reason", Node::from("X-Ray has no resource-level permissions")),
        ]))]),
    );

    let mut variables = vec![("REGION", region())];
    if let Some(t) = table {
        variables.push(("TABLE_NAME", t.ref_()));
    }
    let function = scope.add(
        "Worker",
        CfnFunction {
            architectures: Some(Val::list([cfn_function::Architectures::Arm64])),
            runtime: Some(cfn_function::Runtime::ProvidedAl2023.into()),
            handler: Some("bootstrap".into()),
            memory_size: Some(256.into()),
            timeout: Some(WORKER_TIMEOUT.into()),
            reserved_concurrent_executions: Some(10.into()),
            kms_key_arn: Some(key.attr_arn()),
            tracing_config: Some(cfn_function::TracingConfig { mode: Some(cfn_function::Mode::Active.into()) }.into()),
            logging_config: Some(
                cfn_function::LoggingConfig {
                    log_group: Some(logs.ref_()),
                    log_format: Some(cfn_function::LogFormat::Json.into()),
                    ..Default::default()
                }
                .into(),
            ),
            environment: Some(cfn_function::Environment { variables: Some(Val::map(variables)) }.into()),
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
    let entry = scope.stack_mut().entry_mut(&function);
    let synchronous = "invoked only by its SQS event source mapping, synchronously: failed messages go to the queue's dead-letter queue";
    suppress(entry, Check::LAMBDA_DEAD_LETTER_QUEUE, synchronous);
    entry.set_metadata(
        INVOCATION_METADATA_KEY,
        Node::from(Json::obj([("type", Node::from("synchronous")), ("reason", Node::from(synchronous))])),
    );
    suppress(entry, Check::LAMBDA_IN_VPC, "reaches only SQS, DynamoDB and CloudWatch through their public endpoints");

    scope.add(
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
