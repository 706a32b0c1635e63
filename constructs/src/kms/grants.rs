//! Who may use a [`Key`]: the one way a construct grants a key to a role ([`Key::grant_use`]: a service, and
//! whether the grantee reads or writes through it), and the key policy statements for AWS services that use the
//! key with their own identity.
//!
//! A service that keeps data encrypted under a customer managed key calls KMS with its caller's permissions, so
//! the caller's role needs the KMS actions of that service, limited to calls made through it (`kms:ViaService`).
//! Which actions differs between services; [`ViaService::actions`] lists them, each with the page that says so.
//! Which of its own actions read or write encrypted data is each service's to say, against its named action
//! constants (`sqs::MESSAGE_WRITE_ACTIONS` ...), with [`KeyUse::of`].

use synth::{Scope, Val};

use super::Key;
use crate::common::via_service;
use crate::iam::{Grant, Grantable, PolicyStatement, Principal, grant};

/// How a grantee uses the data a service keeps encrypted under the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyUse {
    /// Reading: the service decrypts for the grantee.
    Read,
    /// Writing, and reading back: the service also encrypts for the grantee.
    Write,
}

impl KeyUse {
    /// How a grant of `actions` uses the key: [`KeyUse::Write`] when one of them is in `writes`, else
    /// [`KeyUse::Read`] when one is in `reads`, else not at all (an action that touches no encrypted data).
    pub fn of(actions: &[&str], reads: &[&str], writes: &[&str]) -> Option<KeyUse> {
        if actions.iter().any(|a| writes.contains(a)) {
            Some(KeyUse::Write)
        } else if actions.iter().any(|a| reads.contains(a)) {
            Some(KeyUse::Read)
        } else {
            None
        }
    }
}

/// A service that uses a customer managed key on its callers' behalf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViaService {
    DynamoDb,
    S3,
    SecretsManager,
    Sqs,
    StepFunctions,
}

impl ViaService {
    /// The service's name in `kms:ViaService` (`sqs` for `sqs.<region>.amazonaws.com`).
    pub fn name(self) -> &'static str {
        match self {
            ViaService::DynamoDb => "dynamodb",
            ViaService::S3 => "s3",
            ViaService::SecretsManager => "secretsmanager",
            ViaService::Sqs => "sqs",
            ViaService::StepFunctions => "states",
        }
    }

    /// The KMS actions the service calls with the grantee's permissions for `usage`, sorted.
    /// `GenerateDataKeyWithoutPlaintext` and the `ReEncrypt*` pair are never granted: none of these services
    /// calls them for a caller.
    pub fn actions(self, usage: KeyUse) -> &'static [&'static str] {
        match (self, usage) {
            // The actions DynamoDB's key policy example allows its callers, split as aws-cdk-lib's table grants
            // split them (`perms.ts`): readers decrypt and describe the key, writers also encrypt under it.
            // <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html>
            (ViaService::DynamoDb, KeyUse::Read) => &["kms:Decrypt", "kms:DescribeKey"],
            (ViaService::DynamoDb, KeyUse::Write) => {
                &["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
            }
            // GetObject decrypts; PutObject generates a data key (with S3 bucket keys too, a bucket key per
            // period instead of a data key per object), and a multipart upload also decrypts it for each part.
            // <https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html>
            (ViaService::S3, KeyUse::Read) => &["kms:Decrypt"],
            (ViaService::S3, KeyUse::Write) => &["kms:Decrypt", "kms:GenerateDataKey"],
            // GetSecretValue decrypts; PutSecretValue and UpdateSecret generate a data key for the new version.
            // <https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html>
            (ViaService::SecretsManager, KeyUse::Read) => &["kms:Decrypt"],
            (ViaService::SecretsManager, KeyUse::Write) => &["kms:Decrypt", "kms:GenerateDataKey"],
            // Consumers decrypt; producers generate data keys and decrypt the reused ones.
            // <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html>
            (ViaService::Sqs, KeyUse::Read) => &["kms:Decrypt"],
            (ViaService::Sqs, KeyUse::Write) => &["kms:Decrypt", "kms:GenerateDataKey"],
            // The execution role of a state machine encrypted with the key: Step Functions generates data keys
            // for the execution data and decrypts them; it never calls Encrypt or DescribeKey for the role.
            // <https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html>
            (ViaService::StepFunctions, KeyUse::Read) => &["kms:Decrypt"],
            (ViaService::StepFunctions, KeyUse::Write) => &["kms:Decrypt", "kms:GenerateDataKey"],
        }
    }
}

/// What CloudWatch Logs does with the key for the log groups it encrypts.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html>
pub const CLOUDWATCH_LOGS_ACTIONS: &[&str] =
    &["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"];

/// What an AWS service delivering to an encrypted resource (EventBridge to a queue, CloudWatch alarms to a topic)
/// does with the resource's key, with its own identity.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html>
pub const SERVICE_USE_ACTIONS: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey"];

impl Key {
    /// Grants `grantee` what `service` needs of the key for `usage` of the data it keeps encrypted under it, used
    /// through that service only (`kms:ViaService`). Resources grant their key with this when they grant
    /// themselves (see [`Key::use_statement`]).
    pub fn grant_use(&self, grantee: &dyn Grantable, scope: &mut Scope, service: ViaService, usage: KeyUse) -> Grant {
        grant(grantee, scope, vec![self.use_statement(service, usage)])
    }

    /// The statement [`Key::grant_use`] adds, without adding it: for a resource's grant that returns its own
    /// statement and the key's together.
    pub fn use_statement(&self, service: ViaService, usage: KeyUse) -> PolicyStatement {
        PolicyStatement::allow(service.actions(usage).iter().copied(), [self.arn()]).with_condition(
            "StringEquals",
            "kms:ViaService",
            via_service(service.name()),
        )
    }

    /// Lets CloudWatch Logs of this stack's region encrypt log groups of this account with the key. Nothing to do
    /// when the key was created with [`super::KeyProps::cloudwatch_logs`] (then `scope` may be in any stack).
    /// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html>
    pub fn allow_cloudwatch_logs(&self, scope: &mut Scope) {
        if !self.logs_allowed {
            self.add_logs_statement(scope);
        }
    }

    pub(super) fn add_logs_statement(&self, scope: &mut Scope) {
        let statement = PolicyStatement::allow(CLOUDWATCH_LOGS_ACTIONS.iter().copied(), [Val::from("*")])
            .with_principal(Principal::Service(Val::sub("logs.${AWS::Region}.amazonaws.com")))
            .with_sid("CloudWatchLogs")
            .with_condition(
                "ArnLike",
                "kms:EncryptionContext:aws:logs:arn",
                Val::sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"),
            );
        self.add_to_key_policy(scope, statement);
    }

    /// Lets AWS service `service` (`events.amazonaws.com`) use the key for data it sends to a resource of this
    /// account (EventBridge delivering to an encrypted queue), limited to this account by `aws:SourceAccount`.
    /// One statement per service, whatever the number of resources it serves.
    pub fn allow_service_use(&self, scope: &mut Scope, service: &str) {
        let name = service.split('.').next().unwrap_or(service);
        let mut sid: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
        if let Some(first) = sid.get(..1) {
            sid = format!("{}{}", first.to_ascii_uppercase(), &sid[1..]);
        }
        let statement = PolicyStatement::allow(SERVICE_USE_ACTIONS.iter().copied(), [Val::from("*")])
            .with_principal(Principal::service(service))
            .with_sid(&format!("{sid}UsesKey"))
            .with_condition("StringEquals", "aws:SourceAccount", synth::account_id());
        self.add_to_key_policy(scope, statement);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READS: &[&str] = &["x:Get"];
    const WRITES: &[&str] = &["x:Put"];

    #[test]
    fn a_write_wins_over_a_read_and_other_actions_use_no_key() {
        assert_eq!(KeyUse::of(&["x:Get", "x:Put"], READS, WRITES), Some(KeyUse::Write));
        assert_eq!(KeyUse::of(&["x:Describe", "x:Get"], READS, WRITES), Some(KeyUse::Read));
        assert_eq!(KeyUse::of(&["x:Describe", "x:Delete"], READS, WRITES), None);
        assert_eq!(KeyUse::of(&[], READS, WRITES), None);
    }

    #[test]
    fn writing_grants_what_reading_does_and_more_sorted() {
        let services = [
            ViaService::DynamoDb,
            ViaService::S3,
            ViaService::SecretsManager,
            ViaService::Sqs,
            ViaService::StepFunctions,
        ];
        for s in services {
            let (read, write) = (s.actions(KeyUse::Read), s.actions(KeyUse::Write));
            assert!(read.iter().all(|a| write.contains(a)), "{s:?}");
            assert!(read.contains(&"kms:Decrypt"), "{s:?}");
            for list in [read, write] {
                assert!(list.windows(2).all(|w| w[0] < w[1]), "{s:?}: {list:?} is not sorted");
            }
        }
    }
}
