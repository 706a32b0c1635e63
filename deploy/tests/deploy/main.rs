//! The deploy engine end to end: against moto started by the test (testkit), a small app built with the
//! project's constructs; against canned responses (`canned`) what moto cannot do; and the command line
//! through the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests

mod canned;
mod cli;
mod local_stage;
mod mocked;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use constructs::dynamodb::{Attribute, StreamView, Table, TableProps};
use constructs::lambda::{Function, FunctionProps};
use constructs::rules::RuleId;
use constructs::s3::{Bucket, BucketProps};
use constructs::sqs::{Queue, QueueProps};
use constructs::ssm::CfnParameter;
use deploy::engine::{Capabilities, DeployError, DeployOptions, Engine};
use deploy::package::BuildTarget;
use deploy::plan::{RequireApproval, StackAction};
use deploy::progress::Progress;
use synth::{App, Asset, AssetKind, Output, Stack, StackProps};

const REGION: &str = "eu-west-1";

/// Records the name of every CloudFormation operation called.
#[derive(Clone, Debug, Default)]
struct Calls(Arc<Mutex<Vec<String>>>);

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "calls"
    }
    fn read_before_serialization(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg.load::<Metadata>().map(|m| m.name().to_owned()).unwrap_or_else(|| "unknown".into());
        self.0.lock().unwrap().push(name);
        Ok(())
    }
}

impl Calls {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Operations that change something.
fn writes(calls: &[String]) -> Vec<&String> {
    calls.iter().filter(|c| !["Describe", "Get", "List"].iter().any(|p| c.starts_with(p))).collect()
}

/// The app under test: a data stack (table with a stream, queue with a dead-letter queue, bucket, function from a
/// host-built asset) and a consumer stack reading the table's name from it. `key` is the table's partition key
/// and `memory` the function's memory: the knobs the tests turn.
fn app(stage: &str, asset: &Asset, key: &str, memory: u32) -> App {
    let mut app = App::new("deploytest");
    let mut data = Stack::new(StackProps::new("Data", format!("{stage}-data"), REGION, stage));
    data.use_asset(&asset.id);
    let table = {
        let mut root = data.root();
        let table = Table::new(
            &mut root,
            "Items",
            Attribute::string(key),
            TableProps {
                stream: Some(StreamView::NewAndOldImages),
                // a fixed name: the test finds the table by it
                table_name: Some(format!("{stage}-items")),
                ..TableProps::default()
            },
        )
        .unwrap();
        Queue::new(&mut root, "Work", QueueProps::default()).unwrap();
        let files = Bucket::new(&mut root, "Files", BucketProps::default()).unwrap();
        let entry = root.stack_mut().entry_mut(files.handle());
        constructs::common::suppress(entry, RuleId::S1, "a test bucket: nothing to audit");
        let mut props = FunctionProps { memory_mb: Some(memory), ..FunctionProps::default() };
        props.environment.insert("TABLE_NAME".into(), table.name());
        Function::new(&mut root, "Worker", asset, props).unwrap();
        table
    };
    let mut consumer = Stack::new(StackProps::new("Consumer", format!("{stage}-consumer"), REGION, stage));
    {
        let mut root = consumer.root();
        // moto fails a parameter without a name (deploy/MOTO.md)
        let param = CfnParameter {
            name: Some(format!("/{stage}/table").into()),
            ..CfnParameter::new(constructs::ssm::cfn_parameter::Type::String, table.name())
        };
        root.add("TableParam", param);
    }
    consumer.add_output("TableName", Output::new(table.name()));
    // Over CloudFormation's 51,200-byte limit for a template body: this stack goes through the assets bucket.
    consumer.set_metadata("Padding", synth::Node::Str("x".repeat(60_000)));
    app.add_stack(data);
    app.add_stack(consumer);
    app.add_asset(asset.clone());
    app
}

struct Fixture {
    _moto: testkit::Moto,
    base: aws_types::SdkConfig,
    engine: Arc<Engine>,
    calls: Calls,
    out: std::path::PathBuf,
    asset: Asset,
}

async fn fixture() -> Fixture {
    let moto = testkit::Moto::start().unwrap();
    let base = moto.sdk_config();
    let account = deploy::aws::account(&base).await.unwrap();
    let calls = Calls::default();
    let mut clients = deploy::aws::clients(&base, [REGION.to_owned()], &account);
    for (region, c) in clients.iter_mut() {
        let conf = base.to_builder().region(aws_types::region::Region::new(region.clone())).build();
        let cfn = aws_sdk_cloudformation::config::Builder::from(&conf).interceptor(calls.clone()).build();
        c.cfn = aws_sdk_cloudformation::Client::from_conf(cfn);
    }
    let engine = Arc::new(Engine::new(clients, Capabilities::MOTO, Progress::hidden()));
    let out = std::env::temp_dir().join(testkit::unique("rcdk-deploy-test"));
    // The function's code: a host zip already in place, so `package` has nothing to build.
    let asset = Asset {
        id: "worker".into(),
        kind: AssetKind::RustLambda { package: "webhook-worker".into(), path: "handlers/webhook-worker".into() },
        hash: "0".repeat(63) + "1",
    };
    let zip = deploy::package::zip_path(&out, &asset, BuildTarget::Host);
    std::fs::create_dir_all(zip.parent().unwrap()).unwrap();
    deploy::package::write_bootstrap_zip(&zip, b"#!/bin/sh\n").unwrap();
    Fixture { _moto: moto, base, engine, calls, out, asset }
}

fn opts() -> DeployOptions {
    DeployOptions { require_approval: RequireApproval::Never, concurrency: 2, ..DeployOptions::default() }
}

async fn deploy(f: &Fixture, app: &App, opts: &DeployOptions) -> Result<deploy::plan::DeployReport, anyhow::Error> {
    let assembly = constructs::app::synthesize(app).unwrap();
    deploy::cli::deploy_assembly(&f.engine, BuildTarget::Host, &f.out, &assembly, opts, false).await
}

/// One scenario, in order, on one moto: first deploy, no-op redeploy, a property change, a refused key-schema
/// change, destroy.
#[tokio::test(flavor = "multi_thread")]
async fn deploy_redeploy_change_refuse_destroy() {
    let f = fixture().await;
    let stage = "dt";

    // 1. First deploy: both stacks created, everything there, checked through the services' APIs.
    let first = deploy(&f, &app(stage, &f.asset, "pk", 256), &opts()).await.unwrap();
    let actions: Vec<(&str, StackAction)> = first.stacks.iter().map(|s| (s.name.as_str(), s.action)).collect();
    assert_eq!(actions, vec![("dt-data", StackAction::Create), ("dt-consumer", StackAction::Create)]);
    let ddb =
        aws_sdk_dynamodb::Client::new(&f.base.to_builder().region(aws_types::region::Region::new(REGION)).build());
    let table = ddb.describe_table().table_name("dt-items").send().await.unwrap().table.unwrap();
    assert_eq!(table.key_schema()[0].attribute_name(), "pk");
    assert!(table.stream_specification().is_some_and(|s| s.stream_enabled()));
    let regional = f.base.to_builder().region(aws_types::region::Region::new(REGION)).build();
    let sqs = aws_sdk_sqs::Client::new(&regional);
    let queues = sqs.list_queues().send().await.unwrap();
    let urls = queues.queue_urls();
    let work = urls.iter().find(|u| u.contains("Work") && !u.contains("Dlq")).expect("the work queue");
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(work)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    assert!(attrs.attributes().unwrap().values().next().unwrap().contains("maxReceiveCount"), "{attrs:?}");
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&regional).force_path_style(true).build());
    let buckets = s3.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().iter().any(|b| b.name().is_some_and(|n| n.starts_with("rcdk-assets-"))));
    assert!(
        s3.head_object()
            .bucket(format!("rcdk-assets-123456789012-{REGION}"))
            .key(f.asset.s3_key())
            .send()
            .await
            .is_ok()
    );
    let lambda = aws_sdk_lambda::Client::new(&regional);
    let functions = lambda.list_functions().send().await.unwrap();
    let worker = functions.functions().iter().find(|fun| fun.function_name().is_some_and(|n| n.contains("Worker")));
    let worker = worker.expect("the worker function");
    assert_eq!(worker.memory_size(), Some(256));
    assert_eq!(worker.environment().unwrap().variables().unwrap()["TABLE_NAME"], "dt-items");
    // The consumer read the producer's output (resolved client-side: moto has no Fn::GetStackOutput).
    assert_eq!(first.stacks[1].outputs["TableName"], "dt-items");
    let outputs_json = first.outputs();
    assert_eq!(outputs_json["dt-consumer"]["TableName"], "dt-items");
    let uploaded =
        s3.list_objects_v2().bucket(format!("rcdk-assets-123456789012-{REGION}")).prefix("templates/").send();
    assert_eq!(uploaded.await.unwrap().key_count(), Some(1), "the large template went through S3");

    // 2. The same app again: no changes, and no CloudFormation write at all.
    f.calls.take();
    let started = std::time::Instant::now();
    let again = deploy(&f, &app(stage, &f.asset, "pk", 256), &opts()).await.unwrap();
    let elapsed = started.elapsed();
    assert!(again.stacks.iter().all(|s| s.action == StackAction::NoChanges), "{again}");
    let calls = f.calls.take();
    assert!(calls.iter().any(|c| c == "GetTemplate"), "{calls:?}");
    assert!(writes(&calls).is_empty(), "a no-op deploy wrote: {calls:?}");
    assert!(again.to_string().contains("dt-data (Data, eu-west-1): no changes"), "{again}");
    eprintln!("no-op redeploy: {elapsed:?}, {} CloudFormation calls", calls.len());
    // diff --live agrees: nothing differs from the deployed templates; a changed memory size shows.
    let same = constructs::app::synthesize(&app(stage, &f.asset, "pk", 256)).unwrap();
    for st in &same.stacks {
        let live = f.engine.live_diff(st).await.unwrap();
        assert!(!live.has_changes(), "{live}");
    }
    let other = constructs::app::synthesize(&app(stage, &f.asset, "pk", 1024)).unwrap();
    let live = f.engine.live_diff(&other.stacks[0]).await.unwrap();
    assert!(live.to_string().contains("Properties.MemorySize: 256 -> 1024"), "{live}");

    // 3. A property change: the typed diff names the property with its old and new value, and it is applied.
    let changed = deploy(&f, &app(stage, &f.asset, "pk", 512), &opts()).await.unwrap();
    let data = &changed.stacks.iter().find(|s| s.name == "dt-data").unwrap();
    assert_eq!(data.action, StackAction::Update);
    let fun = data.diff.resources.iter().find(|r| r.type_name == "AWS::Lambda::Function").unwrap();
    let change = fun.changes.iter().find(|c| c.path == "Properties.MemorySize").unwrap();
    assert_eq!((change.old.clone(), change.new.clone()), (Some(256.into()), Some(512.into())));
    assert_eq!(change.impact, Some(constructs::diff::Impact::InPlace));
    let worker =
        lambda.get_function_configuration().function_name(worker.function_name().unwrap()).send().await.unwrap();
    assert_eq!(worker.memory_size(), Some(512), "the update was applied");

    // 3b. Only handler code changed, with --hotswap: the function is updated directly, the stack has drifted.
    let mut new_code = f.asset.clone();
    new_code.hash = "0".repeat(63) + "2";
    let zip = deploy::package::zip_path(&f.out, &new_code, BuildTarget::Host);
    deploy::package::write_bootstrap_zip(&zip, b"#!/bin/sh\necho v2\n").unwrap();
    let before = lambda.get_function_configuration().function_name(worker.function_name().unwrap()).send().await;
    let assembly = constructs::app::synthesize(&app(stage, &new_code, "pk", 512)).unwrap();
    f.calls.take();
    let hot =
        deploy::cli::deploy_assembly(&f.engine, BuildTarget::Host, &f.out, &assembly, &opts(), true).await.unwrap();
    assert_eq!(hot.drifted, vec!["dt-data"], "{hot}");
    assert!(hot.to_string().contains("the stack has drifted"), "{hot}");
    let calls = f.calls.take();
    assert!(!calls.iter().any(|c| c == "UpdateStack" || c == "ExecuteChangeSet"), "{calls:?}");
    let after = lambda.get_function_configuration().function_name(worker.function_name().unwrap()).send().await;
    assert_ne!(before.unwrap().code_sha256(), after.unwrap().code_sha256(), "the code was swapped");
    // A full deploy reconciles the stack with its template.
    let full = deploy(&f, &app(stage, &new_code, "pk", 512), &opts()).await.unwrap();
    assert_eq!(full.stacks.iter().find(|s| s.name == "dt-data").unwrap().action, StackAction::Update);

    // 4. A key-schema change replaces the table: refused, nothing executed; allowed with --allow-replace.
    f.calls.take();
    let err = deploy(&f, &app(stage, &new_code, "id", 512), &opts()).await.unwrap_err();
    let refused = err.downcast_ref::<DeployError>().expect("a deploy error");
    assert!(
        matches!(refused, DeployError::Refused(r) if r.len() == 1 && r[0].logical_id.starts_with("Items")),
        "{err}"
    );
    assert!(err.to_string().contains("may be replaced by Properties.KeySchema[0].AttributeName"), "{err}");
    assert!(err.to_string().contains("pass --allow-replace Items"), "{err}");
    let calls = f.calls.take();
    assert!(!calls.iter().any(|c| c == "ExecuteChangeSet" || c == "UpdateStack"), "{calls:?}");
    let table = ddb.describe_table().table_name("dt-items").send().await.unwrap().table.unwrap();
    assert_eq!(table.key_schema()[0].attribute_name(), "pk", "the table is untouched");

    // 5. Destroy: reverse order, both stacks gone, the retained resources listed.
    let assembly = constructs::app::synthesize(&app(stage, &new_code, "pk", 512)).unwrap();
    let retained = f.engine.destroy(&assembly, &[]).await.unwrap();
    let order: Vec<&str> = retained.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(order, vec!["dt-consumer", "dt-data"]);
    let kept: BTreeSet<&str> =
        retained[1].1.iter().map(|r| r.split_once(' ').map(|(t, _)| t).unwrap_or_default()).collect();
    assert!(kept.contains("AWS::DynamoDB::Table") && kept.contains("AWS::S3::Bucket"), "{retained:?}");
    let cfn = aws_sdk_cloudformation::Client::new(&regional);
    let left = cfn.describe_stacks().stack_name("dt-data").send().await;
    assert!(
        left.is_err() || left.unwrap().stacks().iter().all(|s| s.stack_status().unwrap().as_str() == "DELETE_COMPLETE")
    );
    let _ = std::fs::remove_dir_all(&f.out);
}
