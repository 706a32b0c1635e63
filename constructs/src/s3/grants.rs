//! Bucket grants, and their IAM actions as named constants: reading and writing objects under a prefix (with the
//! bucket's key through S3), and the bucket policy statements for S3 log delivery and CloudFront.
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html>

use synth::{Node, Scope, Val};

use super::Bucket;
use crate::iam::{Grant, Grantable, PolicyStatement, Principal, grant};
use crate::kms::{KeyUse, ViaService};

/// Reading objects.
pub const READ_ACTIONS: &[&str] = &["s3:GetObject"];
/// Writing objects: `PutObject` covers multipart uploads except the abort. No `DeleteObject`: versioning keeps
/// what was overwritten, and deletes are for lifecycle rules.
pub const WRITE_ACTIONS: &[&str] = &["s3:AbortMultipartUpload", "s3:PutObject"];
/// The action that stores object data (multipart uploads included): S3 encrypts it with the bucket's key.
pub const OBJECT_WRITE_ACTIONS: &[&str] = &["s3:PutObject"];
/// The actions that return object data: S3 decrypts it.
pub const OBJECT_READ_ACTIONS: &[&str] = &["s3:GetObject", "s3:GetObjectVersion"];
/// What the S3 logging service is allowed in the bucket policy of a log bucket.
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general>
pub const LOG_DELIVERY_ACTIONS: &[&str] = &["s3:PutObject"];
/// What CloudFront does with the bucket's key to read an object through origin access control.
/// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html>
const CLOUDFRONT_KEY_ACTIONS: &[&str] = &["kms:Decrypt"];

impl Bucket {
    /// Grants reading objects under `prefix`.
    pub fn grant_read(&self, grantee: &dyn Grantable, scope: &mut Scope, prefix: &str) -> Grant {
        self.grant(grantee, scope, prefix, READ_ACTIONS)
    }
    /// Grants writing objects under `prefix`.
    pub fn grant_write(&self, grantee: &dyn Grantable, scope: &mut Scope, prefix: &str) -> Grant {
        self.grant(grantee, scope, prefix, WRITE_ACTIONS)
    }
    /// Grants object `actions` under `prefix`, plus the key's actions through S3 when the bucket uses one and the
    /// actions read or write object data.
    pub fn grant(&self, grantee: &dyn Grantable, scope: &mut Scope, prefix: &str, actions: &[&str]) -> Grant {
        let mut statements = vec![PolicyStatement::allow(actions.iter().copied(), [self.objects_arn(prefix)])];
        if let (Some(key), Some(usage)) = (&self.key, KeyUse::of(actions, OBJECT_READ_ACTIONS, OBJECT_WRITE_ACTIONS)) {
            statements.push(key.use_statement(ViaService::S3, usage));
        }
        grant(grantee, scope, statements)
    }

    /// Lets S3 deliver server access logs of `source` (a bucket ARN) under `prefix`.
    /// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general>
    pub fn allow_access_log_delivery(&self, scope: &mut Scope, prefix: &str, source: Val<String>) {
        self.add_to_resource_policy(
            scope,
            PolicyStatement::allow(LOG_DELIVERY_ACTIONS.iter().copied(), [self.objects_arn(prefix)])
                .with_principal(Principal::service("logging.s3.amazonaws.com"))
                .with_sid("S3ServerAccessLogs")
                .with_condition("ArnLike", "aws:SourceArn", Node::List(vec![source.into_node()]))
                .with_condition("StringEquals", "aws:SourceAccount", synth::account_id()),
        );
    }

    /// Lets CloudFront distribution `distribution_arn` read objects through origin access control.
    /// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html>
    pub fn allow_cloudfront_read(&self, scope: &mut Scope, distribution_arn: Val<String>) {
        self.add_to_resource_policy(
            scope,
            PolicyStatement::allow(READ_ACTIONS.iter().copied(), [self.objects_arn("")])
                .with_principal(Principal::service("cloudfront.amazonaws.com"))
                .with_sid("CloudFrontOriginAccessControl")
                .with_condition("StringEquals", "AWS:SourceArn", distribution_arn),
        );
        if let Some(k) = &self.key {
            k.add_to_key_policy(
                scope,
                PolicyStatement::allow(CLOUDFRONT_KEY_ACTIONS.iter().copied(), [Val::from("*")])
                    .with_principal(Principal::service("cloudfront.amazonaws.com"))
                    .with_sid("CloudFrontDecrypts")
                    .with_condition("StringEquals", "aws:SourceAccount", synth::account_id()),
            );
        }
    }
}
