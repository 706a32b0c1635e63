//! The uploads bucket and its scan queue: presigned `PUT`s land under `uploads/<tenant>/`, the bucket's
//! `ObjectCreated` notification queues each object for the upload scanner, which quarantines what fails under
//! `quarantine/<tenant>/`.
//!
//! A bucket of its own, not a prefix of the exports bucket: what clients upload is untrusted until scanned, and
//! the exports are the platform's own output that tenants download; separate buckets keep the notification, the
//! lifecycle rules and every grant on one kind of data. It is secure by default like the others (KMS with the
//! data key, versioned, public access blocked, TLS only, access logs).
//!
//! The notification's cycle: S3 checks that it may send to the queue when the notification is created, so the
//! bucket depends on the queue policy; the policy's `aws:SourceArn` names the bucket, which would depend on the
//! bucket. The bucket therefore has a fixed name and the policy builds its ARN from that name
//! (<https://repost.aws/knowledge-center/unable-validate-destination-s3>).

use platform_types::api::UPLOADS_PREFIX;
use platform_types::routes::Handler;
use synth::{Scope, Val};

use super::context::Context;
use super::data::{declare_bucket, worker_queue};
use super::error::{ConfigProblem, PlatformError};
use crate::kms::Key;
use crate::s3::{AccessLogs, Bucket, BucketProps, Encryption, LifecycleRule, cfn_bucket};
use crate::sqs::Queue;

/// What the uploads step made.
pub(super) struct Uploads {
    /// Where presigned uploads land (`uploads/<tenant>/<id>`) and failures go (`quarantine/<tenant>/<id>`).
    pub bucket: Bucket,
    /// The upload scanner's queue: the bucket's `ObjectCreated` notifications under `uploads/`.
    pub scans: Queue,
}

/// The suffix of the bucket's name after the prefix: `-uploads-<account>-<region>` (names are global).
const NAME_SUFFIX: &str = "-uploads-${AWS::AccountId}-${AWS::Region}";

/// The longest prefix that keeps the name within S3's 63 characters: 63 - 9 (`-uploads-`) - 12 (account) - 1
/// (`-`) - 14 (the longest region names, `ap-southeast-2`).
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>
const MAX_PREFIX_LEN: usize = 63 - 9 - 12 - 1 - 14;

/// Days a quarantined upload is kept: time for the tenant or an operator to look at it, then it goes.
pub(super) const QUARANTINE_DAYS: u32 = 30;

/// The uploads bucket (logging to `logs`) and its scan queue, into `scope`.
pub(super) fn build(scope: &mut Scope, ctx: &Context, key: &Key, logs: &Bucket) -> Result<Uploads, PlatformError> {
    if ctx.prefix.len() > MAX_PREFIX_LEN {
        return Err(PlatformError::Config(vec![ConfigProblem::new(
            "name",
            &ctx.prefix,
            format!(
                "a name and stage of at most {MAX_PREFIX_LEN} characters together with the dash (they name the uploads bucket, <name>-<stage>{}, at most 63 characters)",
                "-uploads-<account>-<region>"
            ),
        )]));
    }
    let scans = worker_queue(scope, "UploadScans", Handler::UploadScanner, key)?;
    let name = format!("{}{NAME_SUFFIX}", ctx.prefix);
    let bucket = Bucket::new(
        scope,
        "Uploads",
        BucketProps {
            name: Some(Val::sub(name.clone())),
            encryption: Encryption::Kms(key.clone()),
            access_logs: Some(AccessLogs { bucket: Box::new(logs.clone()), prefix: "s3/uploads/".into() }),
            lifecycle_rules: vec![LifecycleRule {
                id: "ExpireQuarantine".into(),
                prefix: Some(platform_types::api::QUARANTINE_PREFIX.into()),
                expiration_days: Some(QUARANTINE_DAYS),
                noncurrent_expiration_days: Some(1),
                infrequent_access_after_days: None,
            }],
            ..BucketProps::default()
        },
    )?;
    declare_bucket(
        scope,
        &bucket,
        "uploads are checked and recorded in this region; the upload item is in the global table, and after a regional failure the tenant uploads again through a new presigned URL (a URL was regional anyway)",
        "the scanner deletes the versions it quarantines and quarantined objects expire: a default retention lock would keep every rejected file for no reader",
    )?;
    // The queue policy: S3 may send for this bucket of this account only (a bucket name can be taken by another
    // account once deleted, hence the account condition too); and S3 uses the queue's key to encrypt messages.
    let bucket_arn = Val::sub(format!("arn:${{AWS::Partition}}:s3:::{name}"));
    scans.allow_service_send_from_account(scope, "s3.amazonaws.com", "S3UploadNotifications", bucket_arn);
    let filter =
        cfn_bucket::NotificationFilter::new(cfn_bucket::S3KeyFilter::new(Val::list([cfn_bucket::FilterRule::new(
            "prefix",
            UPLOADS_PREFIX,
        )])));
    let queue = cfn_bucket::QueueConfiguration {
        filter: Some(filter.into()),
        ..cfn_bucket::QueueConfiguration::new("s3:ObjectCreated:*", scans.arn())
    };
    let stack = scope.stack_mut();
    stack.get_mut(bucket.handle()).notification_configuration = Some(
        cfn_bucket::NotificationConfiguration {
            queue_configurations: Some(Val::list([queue])),
            ..cfn_bucket::NotificationConfiguration::new()
        }
        .into(),
    );
    let policy = synth::logical_id_of(&format!("{}/Policy", scans.path()));
    stack.entry_mut(bucket.handle()).add_depends_on(policy);
    Ok(Uploads { bucket, scans })
}
