//! `secretsmanager::Secret` with rotation.

use constructs::iam::{Principal, Role, RoleProps};
use constructs::kms::{Key, KeyProps};
use constructs::lambda::{Function, FunctionProps};
use constructs::secretsmanager::{Secret, SecretProps};
use serde_json::json;
use synth::{Stack, StackProps};

use super::support::*;

#[test]
fn generated_value_kms_and_rotation() {
    let t = template(|s| {
        let key = Key::new(s, "Key", KeyProps::default()).unwrap();
        let secret =
            Secret::new(s, "JwtKey", SecretProps { encryption_key: Some(key), ..SecretProps::default() }).unwrap();
        let rotator = Function::new(s, "Rotator", &asset(), FunctionProps::default()).unwrap();
        secret.add_rotation(s, &rotator, 30).unwrap();
        let reader = Role::new(s, "Reader", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
        secret.grant_read(&reader, s);
    });
    let r = resource(&t, "JwtKey");
    assert_eq!(r["DeletionPolicy"], "Retain");
    assert_eq!(
        r["Properties"]["GenerateSecretString"],
        json!({"ExcludePunctuation": true, "PasswordLength": 64}),
        "never a literal"
    );
    assert_eq!(r["Properties"]["KmsKeyId"], get_att("Key", "Arn"));
    let rotation = resource(&t, "JwtKeyRotation");
    assert_eq!(rotation["Properties"]["RotationRules"], json!({"AutomaticallyAfterDays": 30}));
    assert_eq!(rotation["Properties"]["RotationLambdaARN"], get_att("Rotator", "Arn"));
    assert_eq!(rotation["DependsOn"], json!(["JwtKeyRotates"]));
    assert_eq!(props(&t, "JwtKeyRotates")["Principal"], "secretsmanager.amazonaws.com");
    assert_eq!(props(&t, "JwtKeyRotates")["SourceArn"], ref_("JwtKey"));
    let rotation = [
        json!({
            "Effect": "Allow",
            "Action": [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage"
            ],
            "Resource": ref_("JwtKey")
        }),
        json!({
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": get_att("Key", "Arn"),
            "Condition": via("secretsmanager")
        }),
        json!({"Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"}),
    ];
    assert_eq!(role_statements(&t, "RotatorRole"), [runtime_statements("Rotator"), rotation.to_vec()].concat());
    assert_eq!(
        role_statements(&t, "Reader"),
        [
            json!({
                "Effect": "Allow",
                "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                "Resource": ref_("JwtKey")
            }),
            json!({
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": get_att("Key", "Arn"),
                "Condition": via("secretsmanager")
            }),
        ]
    );
}

#[test]
fn describing_a_secret_needs_no_key() {
    let t = template_unchecked(|s| {
        let key = Key::new(s, "Key", KeyProps::default()).unwrap();
        let secret =
            Secret::new(s, "JwtKey", SecretProps { encryption_key: Some(key), ..SecretProps::default() }).unwrap();
        let r = Role::new(s, "Auditor", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
        secret.grant(&r, s, &["secretsmanager:DescribeSecret"]);
    });
    assert_eq!(
        role_statements(&t, "Auditor"),
        [json!({"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": ref_("JwtKey")})]
    );
}

#[test]
fn secret_errors() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let mut s = stack.root();
    let e = Secret::new(&mut s, "S", SecretProps { length: Some(8), ..SecretProps::default() }).unwrap_err();
    assert_eq!(e.to_string(), "S: secret length 8 is out of range: allowed 32 to 4096");
    let secret = Secret::new(&mut s, "T", SecretProps::default()).unwrap();
    let f = Function::new(&mut s, "R", &asset(), FunctionProps::default()).unwrap();
    assert_eq!(
        secret.add_rotation(&mut s, &f, 0).unwrap_err().to_string(),
        "T: rotation interval (days) 0 is out of range: allowed 1 to 1000"
    );
}
