//! Amazon S3: the generated CloudFormation types and [`Bucket`]: encrypted, versioned, public access blocked,
//! TLS 1.2+ only, with lifecycle rules that keep versioning from growing forever, and server access logs.

mod generated;
mod grants;
pub(crate) mod rules;

pub use generated::*;
pub use grants::{LOG_DELIVERY_ACTIONS, OBJECT_READ_ACTIONS, OBJECT_WRITE_ACTIONS, READ_ACTIONS, WRITE_ACTIONS};

use synth::{Handle, Json, Node, Scope, Val};

use crate::common::RemovalPolicy;
use crate::error::{ConstructError, check_range};
use crate::iam::{PolicyResource, PolicyStatement, Principal, add_resource_statement};
use crate::kms::Key;

/// How objects are encrypted at rest.
#[derive(Clone, Debug, Default)]
pub enum Encryption {
    /// SSE-S3 (AES-256 with S3's keys). The default: every object is encrypted, and it is the only kind S3 server
    /// access logs and CloudFront standard logs can be delivered to.
    #[default]
    S3Managed,
    /// SSE-KMS with a customer managed key and S3 bucket keys (one KMS call per bucket key, not per object).
    /// Readers and writers also need the key, which the grants add.
    Kms(Key),
}

/// Who owns uploaded objects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ObjectOwnership {
    /// The bucket owner, ACLs disabled. The default: access is decided by policies alone.
    #[default]
    BucketOwnerEnforced,
    /// ACLs enabled, bucket owner preferred: only for a bucket receiving CloudFront standard logs, which are
    /// delivered with an ACL (<https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html>).
    BucketOwnerPreferred,
}

/// A lifecycle rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifecycleRule {
    pub id: String,
    /// Key prefix the rule applies to. Default: none (every object).
    pub prefix: Option<String>,
    /// Days after which current objects expire.
    pub expiration_days: Option<u32>,
    /// Days after which noncurrent versions are deleted.
    pub noncurrent_expiration_days: Option<u32>,
    /// Days after which current objects move to S3 Standard-IA (at least 30).
    pub infrequent_access_after_days: Option<u32>,
}

/// Server access logging of a bucket.
#[derive(Clone, Debug)]
pub struct AccessLogs {
    pub bucket: Box<Bucket>,
    pub prefix: String,
}

/// Optional settings of a [`Bucket`].
#[derive(Clone, Debug, Default)]
pub struct BucketProps {
    /// The bucket's name. Default: none, CloudFormation generates one (names are global, and a fixed name makes a
    /// replacement fail); set only for a bucket others find by name (the deploy engine's assets bucket).
    pub name: Option<Val<String>>,
    /// Default: [`Encryption::S3Managed`].
    pub encryption: Encryption,
    /// Versioning. Default (`None`): on (checkov `CKV_AWS_21`): an overwrite or delete keeps the old version.
    pub versioned: Option<bool>,
    /// Lifecycle rules. Always added: aborting incomplete multipart uploads after 7 days, and (when versioned)
    /// deleting noncurrent versions after 90 days, so versioning has a bounded cost. Default: no other rule.
    pub lifecycle_rules: Vec<LifecycleRule>,
    /// Where server access logs go (cdk-nag `AwsSolutions-S1`). Default: none, because a bucket cannot choose a
    /// log bucket for itself; the platform sends every bucket's logs to its log bucket.
    pub access_logs: Option<AccessLogs>,
    /// Default: [`ObjectOwnership::BucketOwnerEnforced`].
    pub object_ownership: ObjectOwnership,
    /// Default: retain. Objects are data.
    pub removal: RemovalPolicy,
}

/// An S3 bucket.
#[derive(Clone, Debug)]
pub struct Bucket {
    handle: Handle<CfnBucket>,
    policy: Handle<PolicyResource<CfnBucketPolicy>>,
    path: String,
    key: Option<Key>,
}

impl Bucket {
    pub fn new(scope: &mut Scope, id: &str, props: BucketProps) -> Result<Bucket, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        validate(&path, &props)?;
        let handle = scope.add("Resource", bucket_properties(&props));
        props.removal.apply(scope.stack_mut().entry_mut(&handle));
        let policy = scope.add("Policy", tls_only_policy(&handle));
        let key = match props.encryption {
            Encryption::Kms(k) => Some(k),
            Encryption::S3Managed => None,
        };
        let bucket = Bucket { handle, policy, path, key };
        if let Some(l) = &props.access_logs {
            l.bucket.allow_access_log_delivery(&mut scope, &l.prefix, bucket.arn());
        }
        Ok(bucket)
    }

    /// `Fn::GetAtt Arn`.
    pub fn arn(&self) -> Val<String> {
        self.handle.attr_arn()
    }
    /// The bucket's resource (to declare a rule exemption on it, for instance).
    pub fn handle(&self) -> &Handle<CfnBucket> {
        &self.handle
    }
    /// `Ref`: the bucket name.
    pub fn name(&self) -> Val<String> {
        self.handle.ref_()
    }
    /// `Fn::GetAtt RegionalDomainName` (`<name>.s3.<region>.amazonaws.com`), for CloudFront origins.
    pub fn regional_domain_name(&self) -> Val<String> {
        self.handle.attr_regional_domain_name()
    }
    /// `Fn::GetAtt DomainName` (`<name>.s3.amazonaws.com`), what CloudFront standard logging takes.
    pub fn domain_name(&self) -> Val<String> {
        self.handle.attr_domain_name()
    }
    /// ARN of objects under `prefix` (`<arn>/<prefix>*`; all objects when `prefix` is empty).
    pub fn objects_arn(&self, prefix: &str) -> Val<String> {
        Val::join("", [self.arn(), Val::from(format!("/{prefix}*").as_str())])
    }
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn encryption_key(&self) -> Option<&Key> {
        self.key.as_ref()
    }

    /// Adds a statement to the bucket policy.
    pub fn add_to_resource_policy(&self, scope: &mut Scope, statement: PolicyStatement) {
        add_resource_statement(scope, &self.policy, &self.path, statement);
    }
}

/// Checks the lifecycle rules: each does something, and moves objects to Standard-IA after 30 days at the earliest.
fn validate(path: &str, props: &BucketProps) -> Result<(), ConstructError> {
    for r in &props.lifecycle_rules {
        if let Some(d) = r.infrequent_access_after_days {
            // https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html
            check_range(path, "days before Standard-IA", d.into(), 30, 36_500)?;
        }
        if r.expiration_days.is_none()
            && r.noncurrent_expiration_days.is_none()
            && r.infrequent_access_after_days.is_none()
        {
            return Err(ConstructError::Invalid {
                path: path.to_owned(),
                what: "lifecycle rule",
                value: r.id.clone(),
                allowed: "set an expiration, a noncurrent expiration or a transition".into(),
            });
        }
    }
    Ok(())
}

/// The bucket: encrypted, versioned unless told otherwise, public access blocked, with the lifecycle rules, the
/// object ownership and the access logs of the props.
fn bucket_properties(props: &BucketProps) -> CfnBucket {
    let versioned = props.versioned.unwrap_or(true);
    let by_default = match &props.encryption {
        Encryption::S3Managed => cfn_bucket::ServerSideEncryptionByDefault::new(cfn_bucket::SSEAlgorithm::Aes256),
        Encryption::Kms(k) => cfn_bucket::ServerSideEncryptionByDefault {
            kms_master_key_id: Some(k.arn()),
            ..cfn_bucket::ServerSideEncryptionByDefault::new(cfn_bucket::SSEAlgorithm::AwsKms)
        },
    };
    let ownership = match props.object_ownership {
        ObjectOwnership::BucketOwnerEnforced => cfn_bucket::ObjectOwnership::BucketOwnerEnforced,
        ObjectOwnership::BucketOwnerPreferred => cfn_bucket::ObjectOwnership::BucketOwnerPreferred,
    };
    CfnBucket {
        bucket_name: props.name.clone(),
        bucket_encryption: Some(
            cfn_bucket::BucketEncryption::new(Val::list([cfn_bucket::ServerSideEncryptionRule {
                server_side_encryption_by_default: Some(by_default.into()),
                bucket_key_enabled: Some(matches!(props.encryption, Encryption::Kms(_)).into()),
                ..Default::default()
            }]))
            .into(),
        ),
        versioning_configuration: versioned
            .then(|| cfn_bucket::VersioningConfiguration::new(cfn_bucket::AccelerationStatus::Enabled).into()),
        public_access_block_configuration: Some(
            cfn_bucket::PublicAccessBlockConfiguration {
                block_public_acls: Some(true.into()),
                block_public_policy: Some(true.into()),
                ignore_public_acls: Some(true.into()),
                restrict_public_buckets: Some(true.into()),
            }
            .into(),
        ),
        ownership_controls: Some(
            cfn_bucket::OwnershipControls::new(Val::list([cfn_bucket::OwnershipControlsRule {
                object_ownership: Some(ownership.into()),
            }]))
            .into(),
        ),
        lifecycle_configuration: Some(
            cfn_bucket::LifecycleConfiguration::new(Val::list(lifecycle_rules(versioned, &props.lifecycle_rules)))
                .into(),
        ),
        logging_configuration: props.access_logs.as_ref().map(|l| {
            cfn_bucket::LoggingConfiguration {
                destination_bucket_name: Some(l.bucket.name()),
                log_file_prefix: Some(l.prefix.as_str().into()),
                ..Default::default()
            }
            .into()
        }),
        ..CfnBucket::new()
    }
}

/// The lifecycle rules always added (aborting incomplete uploads; deleting noncurrent versions when `versioned`),
/// then `rules`.
fn lifecycle_rules(versioned: bool, rules: &[LifecycleRule]) -> Vec<cfn_bucket::Rule> {
    let mut out = vec![cfn_bucket::Rule {
        id: Some("AbortIncompleteUploads".into()),
        abort_incomplete_multipart_upload: Some(cfn_bucket::AbortIncompleteMultipartUpload::new(7).into()),
        ..cfn_bucket::Rule::new(cfn_bucket::AbacStatus::Enabled)
    }];
    if versioned {
        out.push(cfn_bucket::Rule {
            id: Some("ExpireNoncurrentVersions".into()),
            noncurrent_version_expiration: Some(cfn_bucket::NoncurrentVersionExpiration::new(90).into()),
            ..cfn_bucket::Rule::new(cfn_bucket::AbacStatus::Enabled)
        });
    }
    out.extend(rules.iter().map(|r| cfn_bucket::Rule {
        id: Some(r.id.as_str().into()),
        prefix: r.prefix.as_deref().map(Val::from),
        expiration_in_days: r.expiration_days.map(Val::from),
        noncurrent_version_expiration:
            r.noncurrent_expiration_days.map(|d| cfn_bucket::NoncurrentVersionExpiration::new(d).into()),
        transitions: r.infrequent_access_after_days.map(|d| {
            Val::list([cfn_bucket::Transition {
                transition_in_days: Some(d.into()),
                ..cfn_bucket::Transition::new(cfn_bucket::StorageClass::StandardIa)
            }])
        }),
        ..cfn_bucket::Rule::new(cfn_bucket::AbacStatus::Enabled)
    }));
    out
}

/// The bucket policy: requests without TLS (cdk-nag `AwsSolutions-S10`), or with TLS older than 1.2, are denied.
fn tls_only_policy(bucket: &Handle<CfnBucket>) -> PolicyResource<CfnBucketPolicy> {
    let mut policy =
        PolicyResource::new(CfnBucketPolicy::new(bucket.ref_(), Json::obj([] as [(&str, Node); 0])), |p, d| {
            p.policy_document = d.into()
        });
    let both = || [bucket.attr_arn(), Val::join("", [bucket.attr_arn(), Val::from("/*")])];
    policy.policy.add(
        PolicyStatement::deny(["s3:*"], both())
            .with_principal(Principal::Anyone)
            .with_sid("DenyInsecureTransport")
            .with_condition("Bool", "aws:SecureTransport", "false"),
    );
    policy.policy.add(
        PolicyStatement::deny(["s3:*"], both())
            .with_principal(Principal::Anyone)
            .with_sid("DenyOutdatedTls")
            .with_condition("NumericLessThan", "s3:TlsVersion", Node::Float(1.2)),
    );
    policy
}
