//! The region's data: its key, the tables, buckets, secrets, event bus and queues. Everything stateful but the
//! cache and search domain (see `network`); it never leaves the Regional stack. The primary region's holds the
//! entity global table and the signing secrets; another serving region's reads and writes that table's replica in
//! its region, and reads the secrets' replicas there.

use platform_types::routes::{EventSource, Handler, timeout_seconds};
use platform_types::table;
use synth::{Output, Scope};

use super::context::Context;
use super::error::PlatformError;
use crate::common::{Check, suppress};
use crate::dynamodb::{Attribute, GlobalSecondaryIndex, Projection, Replica, StreamView, Table, TableProps};
use crate::error::ConstructError;
use crate::events::{Archive, EventBus, EventBusProps};
use crate::kms::{Key, KeyProps};
use crate::s3::{AccessLogs, Bucket, BucketProps, Encryption, LifecycleRule, ObjectOwnership};
use crate::secretsmanager::{Secret, SecretProps, SecretReplica};
use crate::sqs::{DeadLetter, Queue, QueueProps};

/// What the data step made.
pub(super) struct Data {
    /// The key of everything the region stores: tables, queues, buckets, secrets, logs, events.
    pub key: Key,
    /// The system of record (tenant-scoped keys, GSI1, the stream), with its replicas.
    pub entities: Table,
    /// Idempotency records and rate-limit counters.
    pub control: Table,
    /// Where S3 and CloudFront write their access logs.
    pub logs: Bucket,
    /// The exporter's output and the invoice PDFs (`invoices/<tenant>/`), downloaded through presigned URLs.
    pub exports: Bucket,
    /// The HMAC key of the JWTs: the primary region's secret, another serving region's replica of it (so a token
    /// signed with the primary's key is accepted in every region).
    pub jwt_secret: Secret,
    /// The root of the webhook signing keys, like `jwt_secret`: one key in every region.
    pub webhook_secret: Secret,
    /// The platform's domain events.
    pub bus: EventBus,
    /// The webhook worker's queue.
    pub webhook_deliveries: Queue,
    /// The invoice renderer's queue: the Billing rule's `InvoiceGenerated` events, one PDF job each.
    pub pdf_jobs: Queue,
    /// The indexer's queue, when search is on.
    pub audit_indexing: Option<Queue>,
    /// The stream processor's failed batches, in the primary region only: there the processor reads the entity
    /// table's stream, where every write arrives wherever it was made, and publishes each event once. Another
    /// serving region's processor has no stream source (a second reader would publish every event again, and
    /// CloudFormation knows the stream of the global table's own region only); events of writes made there are
    /// published when they replicate to the primary (within seconds; after a primary outage, when it is back).
    pub stream_failures: Option<Queue>,
    /// The uploads bucket and the upload scanner's queue.
    pub uploads: super::uploads::Uploads,
}

/// Where a region's entity table and signing secrets come from.
pub(super) enum Entities {
    /// The primary region: the global table itself, with replicas in `tables` (one per other serving region and
    /// data-only replica region), and the signing secrets, with replicas in `secrets` (one per other serving
    /// region: a data-only region runs no function that reads them).
    Global { tables: Vec<Replica>, secrets: Vec<SecretReplica> },
    /// Another serving region: the primary's global table and secrets, whose replicas here are encrypted with the
    /// key of the region's `Replica<Region>` stack.
    ReplicaOf(Box<Replicated>, Key),
}

/// What the primary region replicates to the other serving regions.
#[derive(Clone)]
pub(super) struct Replicated {
    pub entities: Table,
    pub jwt_secret: Secret,
    pub webhook_secret: Secret,
}

/// The key, tables, buckets, secrets, bus and queues, into `scope`; `source` says whether the region holds the
/// entity table and signing secrets or their replicas.
pub(super) fn build(scope: &mut Scope, ctx: &Context, source: Entities) -> Result<Data, PlatformError> {
    let prefix = &ctx.prefix;
    let key = Key::new(
        scope,
        "DataKey",
        KeyProps {
            description: Some(format!("{prefix}: data, queues, logs and secrets")),
            alias: Some(format!("alias/{prefix}-data")),
            cloudwatch_logs: true,
            ..KeyProps::default()
        },
    )?;
    let (entities, control) = tables(scope, ctx, &key, &source)?;
    let (logs, exports) = buckets(scope, &key)?;
    let (jwt_secret, webhook_secret) = secrets(scope, ctx, &key, &source)?;
    let bus = EventBus::new(
        scope,
        "Events",
        EventBusProps {
            name: Some(format!("{prefix}-events")),
            encryption_key: Some(key.clone()),
            archive: Archive::Days(if ctx.config.production() { 365 } else { 30 }),
            description: Some("Domain events of the platform".into()),
        },
    )?;
    let webhook_deliveries = worker_queue(scope, "WebhookDeliveries", Handler::WebhookWorker, &key)?;
    let pdf_jobs = worker_queue(scope, "PdfJobs", Handler::InvoiceRenderer, &key)?;
    let audit_indexing = if ctx.config.features.search {
        Some(worker_queue(scope, "AuditIndexing", Handler::Indexer, &key)?)
    } else {
        None
    };
    let stream_failures =
        if entities.is_replica() { None } else { Some(dead_letter_queue(scope, "StreamFailures", &key)?) };
    let uploads = super::uploads::build(scope, ctx, &key, &logs)?;
    let stack = scope.stack_mut();
    stack.add_output("EntityTableName", Output::new(entities.name()).with_description("The system of record"));
    stack.add_output(
        "ControlTableName",
        Output::new(control.name()).with_description("Idempotency records and rate-limit counters"),
    );
    Ok(Data {
        key,
        entities,
        control,
        logs,
        exports,
        jwt_secret,
        webhook_secret,
        bus,
        webhook_deliveries,
        pdf_jobs,
        audit_indexing,
        stream_failures,
        uploads,
    })
}

/// The signing secrets: the primary region's, with a replica in each other serving region (the same key
/// everywhere: a token signed with it passes every region's authorizer, and a webhook's signature does not depend
/// on the region that sent it); in another serving region, the replicas of the primary's, which rotate with it.
fn secrets(
    scope: &mut Scope,
    ctx: &Context,
    key: &Key,
    entities: &Entities,
) -> Result<(Secret, Secret), PlatformError> {
    let replicas = match entities {
        Entities::Global { secrets, .. } => secrets.clone(),
        Entities::ReplicaOf(primary, replica_key) => {
            let region = scope.stack().region().to_owned();
            let replica = |secret: &Secret| {
                secret.replica_in(&region, replica_key.clone()).ok_or_else(|| {
                    PlatformError::Wiring(format!("the secret {} has no replica in {region}", secret.path()))
                })
            };
            return Ok((replica(&primary.jwt_secret)?, replica(&primary.webhook_secret)?));
        }
    };
    let prefix = &ctx.prefix;
    let mut secret = |id: &str, what: &str| {
        Secret::new(
            scope,
            id,
            SecretProps {
                description: Some(format!("{prefix}: {what}")),
                encryption_key: Some(key.clone()),
                replicas: replicas.clone(),
                ..SecretProps::default()
            },
        )
    };
    let jwt_secret = secret("JwtSigningKey", "HMAC key of the JWTs the authorizer accepts")?;
    let webhook_secret = secret("WebhookSigningKey", "root of the per-tenant webhook signing keys")?;
    Ok((jwt_secret, webhook_secret))
}

/// The entity table (replicated; in another serving region its replica there) and the control table (per region).
fn tables(scope: &mut Scope, ctx: &Context, key: &Key, entities: &Entities) -> Result<(Table, Table), PlatformError> {
    let partition_key = Attribute::string(table::PARTITION_KEY);
    let sort_key = Some(Attribute::string(table::SORT_KEY));
    let replicas = match entities {
        Entities::Global { tables, .. } => tables.clone(),
        Entities::ReplicaOf(primary, replica_key) => {
            let (region, table) = (scope.stack().region().to_owned(), &primary.entities);
            let replica = table.replica_in(&region, replica_key.clone()).ok_or_else(|| {
                PlatformError::Wiring(format!("the entity table {} is not a global table", table.path()))
            })?;
            return Ok((replica, control_table(scope, ctx, key, partition_key, sort_key)?));
        }
    };
    let entities = Table::new(
        scope,
        "Entities",
        partition_key.clone(),
        TableProps {
            sort_key: sort_key.clone(),
            global_secondary_indexes: vec![GlobalSecondaryIndex {
                name: table::GSI1.into(),
                partition_key: Attribute::string(table::GSI1_PARTITION_KEY),
                sort_key: Some(Attribute::string(table::GSI1_SORT_KEY)),
                projection: Projection::All,
            }],
            time_to_live_attribute: Some(table::TTL_ATTRIBUTE.into()),
            stream: Some(StreamView::NewAndOldImages),
            billing: ctx.config.billing,
            encryption_key: Some(key.clone()),
            replicas,
            ..TableProps::default()
        },
    )?;
    Ok((entities, control_table(scope, ctx, key, partition_key, sort_key)?))
}

/// Idempotency records and rate-limit counters: per region by design, so never replicated. A rate window is the
/// region's (a tenant spread over two regions gets each region's limit), and an idempotency record is the
/// region's: a retry that lands in another region finds no record there, and is answered correctly by the
/// conditional create on the replicated entity item instead (ARCHITECTURE.md, "Regions").
fn control_table(
    scope: &mut Scope,
    ctx: &Context,
    key: &Key,
    partition_key: Attribute,
    sort_key: Option<Attribute>,
) -> Result<Table, PlatformError> {
    Ok(Table::new(
        scope,
        "Control",
        partition_key,
        TableProps {
            sort_key,
            time_to_live_attribute: Some(table::TTL_ATTRIBUTE.into()),
            billing: ctx.config.billing,
            encryption_key: Some(key.clone()),
            ..TableProps::default()
        },
    )?)
}

/// The log bucket, the exports and the configuration snapshots; the last two log to the first.
fn buckets(scope: &mut Scope, key: &Key) -> Result<(Bucket, Bucket), PlatformError> {
    let logs = log_bucket(scope)?;
    let logs_to = |prefix: &str| Some(AccessLogs { bucket: Box::new(logs.clone()), prefix: prefix.into() });
    let exports = Bucket::new(
        scope,
        "Exports",
        BucketProps {
            encryption: Encryption::Kms(key.clone()),
            access_logs: logs_to("s3/exports/"),
            lifecycle_rules: vec![LifecycleRule {
                id: "ExpireExports".into(),
                prefix: Some("exports/".into()),
                // Presigned URLs live at most 7 days; the object need not outlive them.
                expiration_days: Some(7),
                noncurrent_expiration_days: Some(1),
                infrequent_access_after_days: None,
            }],
            ..BucketProps::default()
        },
    )?;
    declare_bucket(
        scope,
        &exports,
        "an export is derived data: the exporter writes it on request from the Entities table, a global table already replicated to the replica regions; after a regional failure the tenant asks again, and the presigned URL it holds was regional anyway",
        "exports are deleted after 7 days by design (the presigned URLs' lifetime): a lock would keep tenant data longer than the platform promises",
    )?;
    let snapshots = Bucket::new(
        scope,
        "ConfigSnapshots",
        BucketProps {
            encryption: Encryption::Kms(key.clone()),
            access_logs: logs_to("s3/config/"),
            lifecycle_rules: vec![LifecycleRule {
                id: "KeepSnapshotsAYear".into(),
                prefix: None,
                expiration_days: None,
                noncurrent_expiration_days: Some(365),
                infrequent_access_after_days: Some(30),
            }],
            ..BucketProps::default()
        },
    )?;
    declare_bucket(
        scope,
        &snapshots,
        "nothing writes here yet (no function or service is granted this bucket): there is no data for a regional failure to lose; the change that gives it a writer of data kept nowhere else decides its replication",
        "versioned, with old versions kept a year: an overwrite or delete is recoverable without a lock, and a lock would also stop deleting a snapshot written by mistake",
    )?;
    Ok((logs, exports))
}

/// Declares the Well-Architected bucket checks a platform bucket is exempt from, for the reasons given: its
/// replication to another region (`S3_BUCKET_REPLICATION_ENABLED`) and a default Object Lock
/// (`S3_BUCKET_DEFAULT_LOCK_ENABLED`).
pub(super) fn declare_bucket(
    scope: &mut Scope,
    bucket: &Bucket,
    no_replication: &str,
    no_lock: &str,
) -> Result<(), PlatformError> {
    let logical_id = synth::logical_id_of(bucket.path());
    let entry = scope
        .stack_mut()
        .resource_mut(&logical_id)
        .ok_or_else(|| PlatformError::Wiring(format!("the bucket {logical_id} is not in its stack")))?;
    suppress(entry, Check::S3_REPLICATION, no_replication);
    suppress(entry, Check::S3_OBJECT_LOCK, no_lock);
    Ok(())
}

/// The bucket S3 and CloudFront write access logs to; it has no access logs of its own (declared).
fn log_bucket(scope: &mut Scope) -> Result<Bucket, PlatformError> {
    let logs = Bucket::new(
        scope,
        "Logs",
        BucketProps {
            object_ownership: ObjectOwnership::BucketOwnerPreferred,
            lifecycle_rules: vec![LifecycleRule {
                id: "ExpireLogs".into(),
                prefix: None,
                // A little over a year, like the log groups.
                expiration_days: Some(400),
                noncurrent_expiration_days: None,
                infrequent_access_after_days: Some(30),
            }],
            ..BucketProps::default()
        },
    )?;
    let logical_id = synth::logical_id_of(logs.path());
    let entry = scope
        .stack_mut()
        .resource_mut(&logical_id)
        .ok_or_else(|| PlatformError::Wiring(format!("the log bucket {logical_id} is not in its stack")))?;
    let why = "this is the log bucket: its own access logs would be written to itself, one log per log";
    suppress(entry, Check::S3_ACCESS_LOGGING, why);
    declare_bucket(
        scope,
        &logs,
        "access logs of this region's buckets and of CloudFront: operational records, not customer data; a regional failure loses the logs of a region that is down, and nothing a tenant stored",
        "logs expire after 400 days by lifecycle and only the log delivery services write them; a default retention lock would keep every object and version past that for no reader",
    )?;
    Ok(logs)
}

/// The queue of worker `handler`, with the visibility timeout and receive count its event source asks for.
pub(super) fn worker_queue(scope: &mut Scope, id: &str, handler: Handler, key: &Key) -> Result<Queue, ConstructError> {
    let (visibility, receives) = match platform_types::routes::event_source(handler) {
        EventSource::Sqs { visibility_timeout_seconds, max_receive_count, .. } => {
            (visibility_timeout_seconds, max_receive_count)
        }
        // Six times the function's timeout, as Lambda's SQS guide asks
        // (<https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html>).
        _ => (6 * timeout_seconds(handler), crate::sqs::DEFAULT_MAX_RECEIVE_COUNT),
    };
    Queue::new(
        scope,
        id,
        QueueProps {
            visibility_timeout_seconds: Some(visibility),
            dead_letter: DeadLetter::Create { max_receive_count: receives },
            encryption_key: Some(key.clone()),
            ..QueueProps::default()
        },
    )
}

/// A queue of failed work: kept as long as SQS allows, with no dead-letter queue of its own.
pub(super) fn dead_letter_queue(scope: &mut Scope, id: &str, key: &Key) -> Result<Queue, ConstructError> {
    Queue::new(
        scope,
        id,
        QueueProps {
            encryption_key: Some(key.clone()),
            dead_letter: DeadLetter::None,
            retention_seconds: Some(crate::sqs::DEAD_LETTER_RETENTION_SECONDS),
            ..QueueProps::default()
        },
    )
}
