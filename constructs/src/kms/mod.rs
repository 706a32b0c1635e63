//! AWS KMS: the generated CloudFormation types and [`Key`], a customer managed key with rotation on, a key policy
//! that grows with the services that use the key, and grants limited to one service with `kms:ViaService`.

mod generated;
mod grants;
pub(crate) mod rules;

pub use generated::*;
pub use grants::{CLOUDWATCH_LOGS_ACTIONS, KeyUse, SERVICE_USE_ACTIONS, ViaService};

use synth::{Handle, Scope, Val};

use crate::common::RemovalPolicy;
use crate::error::ConstructError;
use crate::iam::{PolicyResource, PolicyStatement, Principal, add_resource_statement};

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
}
