//! Secret grants, and their IAM actions as named constants: reading the value, and what a rotation function does
//! (with the secret's key through Secrets Manager when it has one).
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html>

use synth::Scope;

use super::Secret;
use crate::iam::{Grant, Grantable, PolicyStatement, grant};
use crate::kms::{KeyUse, ViaService};

/// Reading the value.
pub const READ_ACTIONS: &[&str] = &["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"];
/// What a rotation function does with the secret it rotates.
/// <https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html>
pub const ROTATION_ACTIONS: &[&str] = &[
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
];
/// What a rotation function calls to make a new value; it touches no secret.
pub const RANDOM_PASSWORD_ACTIONS: &[&str] = &["secretsmanager:GetRandomPassword"];
/// The actions that store a new value: Secrets Manager encrypts it with the secret's key.
pub const SECRET_WRITE_ACTIONS: &[&str] = &["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"];
/// The action that returns the value: Secrets Manager decrypts it. `DescribeSecret` returns metadata only.
pub const SECRET_READ_ACTIONS: &[&str] = &["secretsmanager:GetSecretValue"];

impl Secret {
    /// Grants reading the value (and decrypting it through Secrets Manager).
    pub fn grant_read(&self, grantee: &dyn Grantable, scope: &mut Scope) -> Grant {
        self.grant(grantee, scope, READ_ACTIONS)
    }

    /// Grants exactly `actions` on the secret, plus the key's actions through Secrets Manager when the secret has
    /// a customer managed key and the actions read or write the value.
    pub fn grant(&self, grantee: &dyn Grantable, scope: &mut Scope, actions: &[&str]) -> Grant {
        let mut statements = vec![PolicyStatement::allow(actions.iter().copied(), [self.arn()])];
        if let (Some(key), Some(usage)) = (&self.key, KeyUse::of(actions, SECRET_READ_ACTIONS, SECRET_WRITE_ACTIONS)) {
            statements.push(key.use_statement(ViaService::SecretsManager, usage));
        }
        grant(grantee, scope, statements)
    }
}
