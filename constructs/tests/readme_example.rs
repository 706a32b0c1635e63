//! The README's example: a small stack defined with the constructs, synthesized with the rule pack.

#[test]
fn readme_example() -> Result<(), Box<dyn std::error::Error>> {
    use constructs::dynamodb::{Attribute, StreamView, Table, TableProps};
    use constructs::kms::{Key, KeyProps};
    use constructs::lambda::{Function, FunctionProps, SqsSourceProps};
    use constructs::sqs::{Queue, QueueProps};
    use synth::{App, Asset, AssetKind, Stack, StackProps};

    // The handler crate, identified by the hash of its sources (normally `constructs::assets::rust_lambda`).
    let worker = Asset {
        id: "worker".into(),
        kind: AssetKind::RustLambda { package: "worker".into(), path: "handlers/worker".into() },
        hash: "3f1c0ffee".into(),
    };
    let mut app = App::new("orders");
    app.add_asset(worker.clone());
    let stack = app.add_stack(Stack::new(StackProps::new("Main", "orders-dev", "eu-west-1", "dev")));
    let mut s = stack.root();

    let key = Key::new(&mut s, "Key", KeyProps { cloudwatch_logs: true, ..KeyProps::default() })?;
    let table = Table::new(
        &mut s,
        "Orders",
        Attribute::string("pk"),
        TableProps {
            sort_key: Some(Attribute::string("sk")),
            stream: Some(StreamView::NewAndOldImages),
            encryption_key: Some(key.clone()),
            ..TableProps::default()
        },
    )?; // PITR, retained, customer managed key: by default
    let jobs = Queue::new(
        &mut s,
        "Jobs",
        QueueProps {
            visibility_timeout_seconds: Some(180), // at least 6 x the function timeout, or add_sqs_source refuses
            encryption_key: Some(key.clone()),
            ..QueueProps::default()
        },
    )?; // with a dead-letter queue and a TLS-only policy
    let f = Function::new(
        &mut s,
        "Worker",
        &worker,
        FunctionProps {
            timeout_seconds: Some(30),
            reserved_concurrency: Some(10),
            log_key: Some(key),
            ..FunctionProps::default()
        },
    )?; // arm64, provided.al2023, X-Ray, its own log group
    f.add_sqs_source(&mut s, "Jobs", &jobs, SqsSourceProps::default())?;
    table.grant_read_write_data(&f, &mut s); // exact ARNs, plus the key's actions through DynamoDB

    let assembly = app.synth_with(&constructs::rules::all())?; // validation and the rule pack
    assert!(assembly.stacks[0].template.contains("\"ReportBatchItemFailures\""));
    Ok(())
}
