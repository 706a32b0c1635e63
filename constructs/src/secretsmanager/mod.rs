//! AWS Secrets Manager: the generated CloudFormation types and [`Secret`]: a generated value (never a literal in
//! the template), a customer managed key, and rotation by a Lambda function.

mod generated;
mod grants;
pub(crate) mod rules;

pub use generated::*;
pub use grants::{RANDOM_PASSWORD_ACTIONS, READ_ACTIONS, ROTATION_ACTIONS, SECRET_READ_ACTIONS, SECRET_WRITE_ACTIONS};

use synth::{Handle, Scope, Val};

use crate::common::RemovalPolicy;
use crate::error::{ConstructError, check_range};
use crate::iam::PolicyStatement;
use crate::kms::Key;
use crate::lambda::Function;

/// Optional settings of a [`Secret`].
#[derive(Clone, Debug, Default)]
pub struct SecretProps {
    /// Default: none.
    pub description: Option<String>,
    /// Customer managed key. Default: none (the `aws/secretsmanager` key); the platform passes its key (checkov
    /// `CKV_AWS_149`).
    pub encryption_key: Option<Key>,
    /// Length of the generated value, 32 to 4096. Default: 64 characters (a 64-character random string is more
    /// than the 256 bits an HMAC-SHA256 key needs).
    pub length: Option<u32>,
    /// Default: retain. Deleting a signing key breaks every token signed with it.
    pub removal: RemovalPolicy,
}

/// A Secrets Manager secret with a generated value.
#[derive(Clone, Debug)]
pub struct Secret {
    handle: Handle<CfnSecret>,
    path: String,
    key: Option<Key>,
}

impl Secret {
    pub fn new(scope: &mut Scope, id: &str, props: SecretProps) -> Result<Secret, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        let length = props.length.unwrap_or(64);
        check_range(&path, "secret length", length.into(), 32, 4096)?;
        let cfn = CfnSecret {
            description: props.description.as_deref().map(Val::from),
            kms_key_id: props.encryption_key.as_ref().map(Key::arn),
            generate_secret_string: Some(
                cfn_secret::GenerateSecretString {
                    password_length: Some(length.into()),
                    exclude_punctuation: Some(true.into()),
                    ..Default::default()
                }
                .into(),
            ),
            ..CfnSecret::new()
        };
        let handle = scope.add("Resource", cfn);
        props.removal.apply(scope.stack_mut().entry_mut(&handle));
        Ok(Secret { handle, path, key: props.encryption_key })
    }

    /// `Ref`: the secret ARN.
    pub fn arn(&self) -> Val<String> {
        self.handle.ref_()
    }
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Rotates the secret every `after_days` days (1 to 1000) with `function`, at `<secret>/Rotation`: adds the
    /// schedule, lets Secrets Manager invoke the function for this secret only, and grants the function what a
    /// rotation does (cdk-nag `AwsSolutions-SMG4`), `GetRandomPassword` included.
    pub fn add_rotation(&self, scope: &mut Scope, function: &Function, after_days: u32) -> Result<(), ConstructError> {
        check_range(&self.path, "rotation interval (days)", after_days.into(), 1, 1000)?;
        self.grant(function, scope, ROTATION_ACTIONS);
        function.role().add_to_policy(
            scope,
            PolicyStatement::any_resource(
                RANDOM_PASSWORD_ACTIONS.iter().copied(),
                "GetRandomPassword generates a value and touches no secret: it has no resource-level permissions (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html)",
            ),
        );
        self.add_rotation_schedule(scope, function, after_days)
    }

    /// The schedule and the invoke permission of [`Secret::add_rotation`] without its grants, for a function
    /// whose grants are declared elsewhere (the platform's rotator: `platform_types::routes::permissions`).
    pub fn add_rotation_schedule(
        &self,
        scope: &mut Scope,
        function: &Function,
        after_days: u32,
    ) -> Result<(), ConstructError> {
        check_range(&self.path, "rotation interval (days)", after_days.into(), 1, 1000)?;
        let path = self.path.clone();
        let permission_id = format!("{}Rotates", path.rsplit('/').next().unwrap_or("Secret"));
        let permission = function.allow_invoke(scope, &permission_id, "secretsmanager.amazonaws.com", self.arn());
        crate::common::at_path(scope, &path, |s| {
            let schedule = s.add(
                "Rotation",
                CfnRotationSchedule {
                    rotation_lambda_arn: Some(function.invoke_arn()),
                    rotation_rules: Some(
                        cfn_rotation_schedule::RotationRules {
                            automatically_after_days: Some(after_days.into()),
                            ..Default::default()
                        }
                        .into(),
                    ),
                    ..CfnRotationSchedule::new(self.arn())
                },
            );
            // The first rotation starts when the schedule is created: the permission must exist by then.
            s.stack_mut().entry_mut(&schedule).add_depends_on(permission.logical_id());
        });
        Ok(())
    }
}
