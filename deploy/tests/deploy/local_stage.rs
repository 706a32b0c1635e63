//! The platform's real `local` stage deployed to moto as `cargo xtask deploy --stage local` does, checked through
//! the services' APIs: the tables with their keys and stream, the webhook queue's redrive, the exports bucket,
//! every function with its environment, the stack outputs; then a second deploy that writes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_types::region::Region;
use deploy::engine::{Capabilities, DeployOptions, Engine};
use deploy::package::BuildTarget;
use deploy::plan::{RequireApproval, StackAction};
use deploy::progress::Progress;
use serde_json::Value;

use crate::{Calls, writes};

/// The stack's resources: logical id → physical id, as CloudFormation reports them.
async fn physical_ids(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> BTreeMap<String, String> {
    let out = cfn.describe_stack_resources().stack_name(stack).send().await.unwrap();
    out.stack_resources()
        .iter()
        .filter_map(|r| Some((r.logical_resource_id()?.to_owned(), r.physical_resource_id()?.to_owned())))
        .collect()
}

/// The resources of `template` of CloudFormation type `type_name`: logical id → resource.
fn of_type<'t>(template: &'t Value, type_name: &str) -> Vec<(&'t String, &'t Value)> {
    template["Resources"].as_object().unwrap().iter().filter(|(_, r)| r["Type"] == type_name).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn local_stage_deploys_and_redeploys_without_writes() {
    let moto = testkit::Moto::start().unwrap();
    let base = moto.sdk_config();
    let root = deploy::cli::project_root();
    // The assembly `cargo xtask deploy --stage local` deploys: the default app on `stages/local.toml`.
    let app = constructs::app::build(&root, None, "local", &[]).unwrap();
    let assembly = constructs::app::synthesize(&app).unwrap();
    let regions = deploy::cli::regions(&assembly);
    assert_eq!(regions, vec!["us-east-1"], "the local stage is one region");
    let region = regions[0].clone();

    let account = deploy::aws::account(&base).await.unwrap();
    let calls = Calls::default();
    let mut clients = deploy::aws::clients(&base, regions.clone(), &account);
    for (r, c) in clients.iter_mut() {
        let conf = base.to_builder().region(Region::new(r.clone())).build();
        let cfn = aws_sdk_cloudformation::config::Builder::from(&conf).interceptor(calls.clone()).build();
        c.cfn = aws_sdk_cloudformation::Client::from_conf(cfn);
    }
    let engine = Arc::new(Engine::new(clients, Capabilities::MOTO, Progress::hidden()));

    // Each asset's host zip already in place, so `package` builds nothing: a `bootstrap` that is only a shell
    // script. Moto stores a function's code but never runs it, so the test needs no compiled handler.
    let out = std::env::temp_dir().join(testkit::unique("rcdk-local-stage-test"));
    for asset in &assembly.manifest.assets {
        let zip = deploy::package::zip_path(&out, asset, BuildTarget::Host);
        std::fs::create_dir_all(zip.parent().unwrap()).unwrap();
        deploy::package::write_bootstrap_zip(&zip, b"#!/bin/sh\n").unwrap();
    }
    // As the CLI on the local stage: no approval asked; `deploy_assembly` bootstraps first on moto.
    let opts = DeployOptions { require_approval: RequireApproval::Never, concurrency: 4, ..DeployOptions::default() };

    // 1. First deploy: every stack created.
    let first = deploy::cli::deploy_assembly(&engine, BuildTarget::Host, &out, &assembly, &opts, false).await.unwrap();
    let created: BTreeSet<&str> =
        first.stacks.iter().filter(|s| s.action == StackAction::Create).map(|s| s.name.as_str()).collect();
    let all: BTreeSet<&str> = assembly.stacks.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(created, all, "{first}");

    // The outputs the README and outputs.json promise.
    let outputs: BTreeMap<&str, &str> =
        first.stacks.iter().flat_map(|s| s.outputs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).collect();
    for name in ["ApiUrl", "EntityTableName", "ControlTableName"] {
        assert!(outputs.contains_key(name), "no output {name}: {outputs:?}");
    }

    let regional = base.to_builder().region(Region::new(region.clone())).build();
    let cfn = aws_sdk_cloudformation::Client::new(&regional);

    // 2. The tables: keys as `platform_types::table` names them (`pk`, `sk`), the entity table's stream.
    let ddb = aws_sdk_dynamodb::Client::new(&regional);
    for output in ["EntityTableName", "ControlTableName"] {
        let table = ddb.describe_table().table_name(outputs[output]).send().await.unwrap().table.unwrap();
        let keys: Vec<(&str, &str)> =
            table.key_schema().iter().map(|k| (k.attribute_name(), k.key_type().as_str())).collect();
        assert_eq!(keys, vec![("pk", "HASH"), ("sk", "RANGE")], "{output}");
        if output == "EntityTableName" {
            let stream = table.stream_specification().expect("the entity table's stream");
            assert!(stream.stream_enabled());
            assert_eq!(stream.stream_view_type(), Some(&aws_sdk_dynamodb::types::StreamViewType::NewAndOldImages));
        }
    }

    // 3. Per stack, against its own template: the webhook queue's redrive, the exports bucket, every function.
    let sqs = aws_sdk_sqs::Client::new(&regional);
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&regional).force_path_style(true).build());
    let lambda = aws_sdk_lambda::Client::new(&regional);
    let (mut queues, mut buckets, mut functions) = (0, 0, 0);
    for stack in &assembly.stacks {
        let template: Value = serde_json::from_str(&stack.template).unwrap();
        let ids = physical_ids(&cfn, &stack.name).await;
        let url_of = async |logical: &str| {
            let physical = &ids[logical];
            if physical.starts_with("http") {
                physical.clone()
            } else {
                sqs.get_queue_url().queue_name(physical).send().await.unwrap().queue_url().unwrap().to_owned()
            }
        };
        for (logical, queue) in of_type(&template, "AWS::SQS::Queue") {
            if !logical.starts_with("WebhookDeliveries") || queue["Properties"]["RedrivePolicy"].is_null() {
                continue;
            }
            let redrive = &queue["Properties"]["RedrivePolicy"];
            let dlq = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0].as_str().expect("a GetAtt of the DLQ");
            let attrs = sqs
                .get_queue_attributes()
                .queue_url(url_of(logical).await)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
                .send()
                .await
                .unwrap();
            let live: Value = serde_json::from_str(
                &attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy],
            )
            .unwrap();
            let dlq_arn = sqs
                .get_queue_attributes()
                .queue_url(url_of(dlq).await)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .send()
                .await
                .unwrap();
            let dlq_arn = &dlq_arn.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn];
            assert_eq!(live["deadLetterTargetArn"], dlq_arn.as_str(), "{logical}: {live}");
            // SQS may answer the count as a number or a string.
            let count = live["maxReceiveCount"].as_u64().or_else(|| live["maxReceiveCount"].as_str()?.parse().ok());
            assert_eq!(count, redrive["maxReceiveCount"].as_u64(), "{logical}: {live}");
            queues += 1;
        }
        for (logical, _) in of_type(&template, "AWS::S3::Bucket") {
            if logical.starts_with("Exports") {
                s3.head_bucket().bucket(&ids[logical]).send().await.unwrap();
                buckets += 1;
            }
        }
        for (logical, function) in of_type(&template, "AWS::Lambda::Function") {
            let name = ids.get(logical).unwrap_or_else(|| panic!("{}: no function {logical}", stack.name));
            let live = lambda.get_function_configuration().function_name(name).send().await.unwrap();
            let live_env: BTreeMap<&str, &str> = live
                .environment()
                .and_then(|e| e.variables())
                .map(|v| v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
                .unwrap_or_default();
            let empty = serde_json::Map::new();
            let env = function["Properties"]["Environment"]["Variables"].as_object().unwrap_or(&empty);
            let keys: BTreeSet<&str> = env.keys().map(String::as_str).collect();
            assert_eq!(live_env.keys().copied().collect::<BTreeSet<_>>(), keys, "{logical}");
            for (key, value) in env {
                // Literal values must arrive as written; intrinsics (Ref, GetAtt...) resolve to moto's ids.
                if let Some(literal) = value.as_str() {
                    assert_eq!(live_env[key.as_str()], literal, "{logical}: {key}");
                }
            }
            functions += 1;
        }
    }
    assert_eq!((queues, buckets), (1, 1), "the webhook deliveries queue and the exports bucket");
    let in_templates: usize =
        assembly.stacks.iter().map(|s| s.resources_by_type.get("AWS::Lambda::Function").copied().unwrap_or(0)).sum();
    assert!(functions > 0 && functions == in_templates, "{functions} of {in_templates} functions checked");
    eprintln!("local stage: {} stacks, {functions} functions, {queues} queue, {buckets} bucket checked", all.len());

    // 4. The same assembly again: no changes, and no CloudFormation write at all.
    calls.take();
    let again = deploy::cli::deploy_assembly(&engine, BuildTarget::Host, &out, &assembly, &opts, false).await.unwrap();
    assert!(again.stacks.iter().all(|s| s.action == StackAction::NoChanges), "{again}");
    let calls = calls.take();
    assert!(writes(&calls).is_empty(), "a no-op deploy wrote: {calls:?}");
    let _ = std::fs::remove_dir_all(&out);
}
