//! AWS KMS: the generated CloudFormation types and [`Key`], a customer managed key with rotation on, a key policy
//! that grows with the services that use the key, and grants limited to one service with `kms:ViaService`.

mod generated;
pub(crate) mod rules;

pub use generated::*;

use synth::{Handle, Scope, Val};

use crate::common::{RemovalPolicy, via_service};
use crate::error::ConstructError;
use crate::iam::{Grant, Grantable, PolicyResource, PolicyStatement, Principal, add_resource_statement, grant};

/// Actions to read data a service encrypted with the key.
pub const DECRYPT_ACTIONS: &[&str] = &["kms:Decrypt", "kms:DescribeKey"];
/// Actions to write data a service encrypts with the key (envelope encryption: a data key per object or item).
/// `GenerateDataKeyWithoutPlaintext` and the `ReEncrypt*` pair are left out: the services the platform uses do not
/// call them on behalf of a caller.
pub const ENCRYPT_ACTIONS: &[&str] = &["kms:Encrypt", "kms:GenerateDataKey"];

/// Optional settings of a [`Key`].
#[derive(Clone, Debug, Default)]
pub struct KeyProps {
    /// Shown in the console. Default: none.
    pub description: Option<String>,
    /// An alias (`alias/platform-data`). Default: none: constructs refer to the key by ARN; an alias is for people.
    pub alias: Option<String>,
    /// Days between automatic rotations, 90 to 2560. Default: none, KMS's 365 days. Rotation itself is always on
    /// (cdk-nag `AwsSolutions-KMS5`, checkov `CKV_AWS_7`): old key material stays available for decryption, so it
    /// costs nothing in availability.
    pub rotation_period_days: Option<u32>,
    /// Days between scheduling deletion and deletion, 7 to 30. Default: 30, the longest: a key deleted by mistake
    /// makes everything encrypted under it unreadable.
    pub pending_window_days: Option<u32>,
    /// Default: retain. A key outlives the data it protects (backups, retained tables).
    pub removal: RemovalPolicy,
    /// Let CloudWatch Logs of the stack's region use the key from the start (see [`Key::allow_cloudwatch_logs`]).
    /// Default: off, added by the first encrypted log group of the key's stack; turn it on for a key that
    /// encrypts log groups of other stacks, whose constructs cannot change this key's policy.
    pub cloudwatch_logs: bool,
}

/// A customer managed symmetric key.
#[derive(Clone, Debug)]
pub struct Key {
    handle: Handle<PolicyResource<CfnKey>>,
    path: String,
    logs_allowed: bool,
}

impl Key {
    pub fn new(scope: &mut Scope, id: &str, props: KeyProps) -> Result<Key, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        // https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html (RotationPeriodInDays)
        if let Some(d) = props.rotation_period_days {
            crate::error::check_range(&path, "rotation period (days)", d.into(), 90, 2560)?;
        }
        // https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html (PendingWindowInDays)
        let pending = props.pending_window_days.unwrap_or(30);
        crate::error::check_range(&path, "pending window (days)", pending.into(), 7, 30)?;
        if let Some(a) = &props.alias {
            let rest = a.strip_prefix("alias/").unwrap_or("");
            let ok = !rest.is_empty()
                && !rest.starts_with("aws/")
                && a.len() <= 256
                && rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'));
            if !ok {
                return Err(ConstructError::Invalid {
                    path,
                    what: "key alias",
                    value: a.clone(),
                    allowed: "alias/ followed by A-Z a-z 0-9 / _ -, at most 256 characters, not alias/aws/".into(),
                });
            }
        }
        let cfn = CfnKey {
            description: props.description.map(Val::from),
            enable_key_rotation: Some(true.into()),
            rotation_period_in_days: props.rotation_period_days.map(Val::from),
            pending_window_in_days: Some(pending.into()),
            ..CfnKey::new()
        };
        let mut resource = PolicyResource::new(cfn, |k, d| k.key_policy = Some(d.into()));
        // The account root may use and manage the key: this delegates access to IAM policies (the grants), and
        // without it nobody could ever change the key again.
        // https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
        resource.policy.add(
            PolicyStatement::allow(["kms:*"], [Val::from("*")])
                .with_principal(Principal::AccountRoot)
                .with_sid("AccountAdministers"),
        );
        let handle = scope.add("Resource", resource);
        props.removal.apply(scope.stack_mut().entry_mut(&handle));
        if let Some(alias) = props.alias {
            scope.add("Alias", CfnAlias::new(alias, handle.ref_()));
        }
        let key = Key { handle, path, logs_allowed: props.cloudwatch_logs };
        if props.cloudwatch_logs {
            key.add_logs_statement(&mut scope);
        }
        Ok(key)
    }

    /// `Fn::GetAtt Arn`.
    pub fn arn(&self) -> Val<String> {
        self.handle.attr_arn()
    }
    /// `Ref`: the key id.
    pub fn key_id(&self) -> Val<String> {
        self.handle.ref_()
    }
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn handle(&self) -> &Handle<PolicyResource<CfnKey>> {
        &self.handle
    }

    /// Adds a statement to the key policy (for AWS services that use the key with their own identity).
    pub fn add_to_key_policy(&self, scope: &mut Scope, statement: PolicyStatement) {
        add_resource_statement(scope, &self.handle, &self.path, statement);
    }

    /// Lets CloudWatch Logs of this stack's region encrypt log groups of this account with the key. Nothing to do
    /// when the key was created with [`KeyProps::cloudwatch_logs`] (then `scope` may be in any stack).
    /// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html>
    pub fn allow_cloudwatch_logs(&self, scope: &mut Scope) {
        if !self.logs_allowed {
            self.add_logs_statement(scope);
        }
    }

    fn add_logs_statement(&self, scope: &mut Scope) {
        let statement = PolicyStatement::allow(
            [
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
            ],
            [Val::from("*")],
        )
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
        let statement = PolicyStatement::allow(["kms:Decrypt", "kms:GenerateDataKey"], [Val::from("*")])
            .with_principal(Principal::service(service))
            .with_sid(&format!("{sid}UsesKey"))
            .with_condition("StringEquals", "aws:SourceAccount", synth::account_id());
        self.add_to_key_policy(scope, statement);
    }

    /// Grants `actions` on the key, used through `service` only (`kms:ViaService`) when given.
    pub fn grant(&self, grantee: &dyn Grantable, scope: &mut Scope, actions: &[&str], service: Option<&str>) -> Grant {
        grant(grantee, scope, vec![self.statement(actions, service)])
    }

    /// Grants decryption (reading what `service` encrypted).
    pub fn grant_decrypt(&self, grantee: &dyn Grantable, scope: &mut Scope, service: Option<&str>) -> Grant {
        self.grant(grantee, scope, DECRYPT_ACTIONS, service)
    }

    /// Grants encryption and decryption (writing and reading through `service`).
    pub fn grant_encrypt_decrypt(&self, grantee: &dyn Grantable, scope: &mut Scope, service: Option<&str>) -> Grant {
        let actions: Vec<&str> = DECRYPT_ACTIONS.iter().chain(ENCRYPT_ACTIONS).copied().collect();
        self.grant(grantee, scope, &actions, service)
    }

    /// The statement a grant of `actions` adds (without adding it): for grants that bundle key and resource.
    pub fn statement(&self, actions: &[&str], service: Option<&str>) -> PolicyStatement {
        let s = PolicyStatement::allow(actions.iter().copied(), [self.arn()]);
        match service {
            Some(svc) => s.with_condition("StringEquals", "kms:ViaService", via_service(svc)),
            None => s,
        }
    }
}
