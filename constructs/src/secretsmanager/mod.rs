//! AWS Secrets Manager: the generated CloudFormation types and [`Secret`]: a generated value (never a literal in
//! the template), a customer managed key, rotation by a Lambda function, and replicas in other regions.

mod generated;
mod grants;
pub(crate) mod rules;

pub use generated::*;
pub use grants::{RANDOM_PASSWORD_ACTIONS, READ_ACTIONS, ROTATION_ACTIONS, SECRET_READ_ACTIONS, SECRET_WRITE_ACTIONS};

use synth::{Handle, Output, Scope, Val};

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
    /// Read-only copies in other regions, which Secrets Manager keeps in step with this secret (its rotations
    /// included). Default: none (the secret is read in its own region only).
    /// <https://docs.aws.amazon.com/secretsmanager/latest/userguide/create-manage-multi-region-secrets.html>
    pub replicas: Vec<SecretReplica>,
}

/// A replica of a [`Secret`] in another region.
#[derive(Clone, Debug)]
pub struct SecretReplica {
    pub region: String,
    /// The replica's key, in `region` (a KMS key is used only in its region); it must exist before the secret is
    /// created, so it lives in a stack deployed earlier.
    pub encryption_key: Key,
}

/// A Secrets Manager secret with a generated value, or (from [`Secret::replica_in`]) its replica in another region.
#[derive(Clone, Debug)]
pub struct Secret {
    inner: Inner,
    path: String,
    key: Option<Key>,
    /// The regions of the replicas (none for a replica).
    replicas: Vec<String>,
    /// For a secret with replicas: the stack output that holds its name and suffix, as a replica reads it.
    name_output: Option<Val<String>>,
}

#[derive(Clone, Debug)]
enum Inner {
    Primary(Handle<CfnSecret>),
    /// The replica of the primary secret in `region`: read-only, rotated with the primary. `name` is the
    /// primary's name and suffix, read from its stack's output (see [`Secret::replica_in`]).
    Replica {
        name: Val<String>,
        region: String,
    },
}

impl Secret {
    pub fn new(scope: &mut Scope, id: &str, props: SecretProps) -> Result<Secret, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        let length = props.length.unwrap_or(64);
        check_range(&path, "secret length", length.into(), 32, 4096)?;
        let here = scope.stack().region().to_owned();
        for (i, r) in props.replicas.iter().enumerate() {
            if r.region == here {
                return Err(ConstructError::Conflict {
                    path,
                    problem: format!("replica region {} is the secret's own region: list other regions only", r.region),
                });
            }
            if props.replicas[..i].iter().any(|o| o.region == r.region) {
                return Err(ConstructError::Duplicate { path, what: "replica region", value: r.region.clone() });
            }
        }
        let replica_regions = (!props.replicas.is_empty()).then(|| {
            Val::list(props.replicas.iter().map(|r| cfn_secret::ReplicaRegion {
                kms_key_id: Some(r.encryption_key.arn()),
                ..cfn_secret::ReplicaRegion::new(r.region.as_str())
            }))
        });
        let cfn = CfnSecret {
            description: props.description.as_deref().map(Val::from),
            kms_key_id: props.encryption_key.as_ref().map(Key::arn),
            replica_regions,
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
        let regions: Vec<String> = props.replicas.iter().map(|r| r.region.clone()).collect();
        // A replica's ARN is the primary's with the region swapped: its seventh `:`-separated field (name and
        // random suffix) is cut from the ARN here and read in the replica's region as a plain string output, since
        // cfn-lint refuses `Fn::Split` over `Fn::GetStackOutput`. The replicas' stacks already follow this one
        // (they read the entity table's output too), which `Fn::GetStackOutput` needs.
        let name_output = (!regions.is_empty()).then(|| {
            let output = format!("{}Name", handle.logical_id());
            let stack = scope.stack_mut();
            stack.add_output(
                output.as_str(),
                Output::new(Val::select(6, Val::split(":", handle.ref_())))
                    .with_description("name and suffix of the secret, which its replicas share: read by other regions' stacks with Fn::GetStackOutput"),
            );
            let (name, region) = (stack.name().to_owned(), stack.region().to_owned());
            Val::get_stack_output(name.as_str(), output.as_str(), Some(Val::from(region.as_str())))
        });
        Ok(Secret { inner: Inner::Primary(handle), path, key: props.encryption_key, replicas: regions, name_output })
    }

    /// The replica of this secret in `region` (one of its [`SecretProps::replicas`]), encrypted with `key` (the
    /// replica's key there): for grants and environment in a stack of `region`. `None` when the secret has no
    /// replica there, or is itself a replica. Its ARN reads an output of the secret's stack with a written
    /// `Fn::GetStackOutput`, which adds no dependency between the stacks: the reading stack must follow the
    /// secret's for another reason (the platform's second region reads the entity table's name from it too).
    pub fn replica_in(&self, region: &str, key: Key) -> Option<Secret> {
        let name = self.name_output.clone().filter(|_| self.replicas.iter().any(|r| r == region))?;
        Some(Secret {
            inner: Inner::Replica { name, region: region.to_owned() },
            path: self.path.clone(),
            key: Some(key),
            replicas: Vec::new(),
            name_output: None,
        })
    }

    /// The secret ARN: `Ref` of the secret, or for a replica the same ARN in the replica's region (a replica keeps
    /// the secret's name and random suffix: `arn:<partition>:secretsmanager:<region>:<account>:secret:<name-suffix>`).
    /// <https://docs.aws.amazon.com/secretsmanager/latest/userguide/replicate-secrets.html>
    pub fn arn(&self) -> Val<String> {
        match &self.inner {
            Inner::Primary(h) => h.ref_(),
            Inner::Replica { name, region } => Val::sub_with(
                format!("arn:${{AWS::Partition}}:secretsmanager:{region}:${{AWS::AccountId}}:secret:${{Name}}"),
                [("Name", name.clone())],
            ),
        }
    }
    /// True for a replica made by [`Secret::replica_in`]: read-only, so it cannot rotate or be written.
    pub fn is_replica(&self) -> bool {
        matches!(self.inner, Inner::Replica { .. })
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
        if self.is_replica() {
            return Err(ConstructError::Conflict {
                path: self.path.clone(),
                problem: "a replica secret cannot rotate: it follows the rotations of its primary".into(),
            });
        }
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
