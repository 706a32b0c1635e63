//! `secretsmanager::Secret` with rotation.

use constructs::iam::{Principal, Role, RoleProps};
use constructs::kms::{Key, KeyProps};
use constructs::lambda::{Function, FunctionProps};
use constructs::secretsmanager::{Secret, SecretProps, SecretReplica};
use serde_json::json;
use synth::{App, Stack, StackProps};

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

#[test]
fn replicas_and_reading_a_replica_in_its_region() {
    let mut app = App::new("t");
    let mut keys = Stack::new(StackProps::new("Keys", "t-keys", "us-west-2", "dev"));
    let mut primary = Stack::new(StackProps::new("Main", "t-main", "eu-west-1", "dev"));
    let mut second = Stack::new(StackProps::new("Second", "t-second", "us-west-2", "dev"));
    let replica_key = Key::new(&mut keys.root(), "ReplicaKey", KeyProps::default()).unwrap();
    let replicas = vec![SecretReplica { region: "us-west-2".into(), encryption_key: replica_key.clone() }];
    let secret =
        Secret::new(&mut primary.root(), "JwtKey", SecretProps { replicas, ..SecretProps::default() }).unwrap();
    assert!(secret.replica_in("eu-central-1", replica_key.clone()).is_none(), "no replica there");
    let replica = secret.replica_in("us-west-2", replica_key.clone()).unwrap();
    assert!(replica.is_replica() && replica.replica_in("us-west-2", replica_key).is_none());
    let mut s = second.root();
    let reader = Role::new(&mut s, "Reader", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
    replica.grant(&reader, &mut s, &["secretsmanager:GetSecretValue"]);
    let f = Function::new(&mut s, "R", &asset(), FunctionProps::default()).unwrap();
    assert_eq!(
        replica.add_rotation_schedule(&mut s, &f, 30).unwrap_err().to_string(),
        "JwtKey: a replica secret cannot rotate: it follows the rotations of its primary"
    );
    app.add_asset(asset());
    app.add_stack(keys);
    app.add_stack(primary);
    app.add_stack(second);
    let out = app.synth().unwrap_or_else(|e| panic!("{e}"));
    let template = |id: &str| -> serde_json::Value { serde_json::from_str(&out.stack(id).unwrap().template).unwrap() };
    let main = template("Main");
    let key_arn =
        json!({"Fn::GetStackOutput": {"StackName": "t-keys", "OutputName": "ReplicaKeyArn", "Region": "us-west-2"}});
    assert_eq!(
        main["Resources"]["JwtKey"]["Properties"]["ReplicaRegions"],
        json!([{"Region": "us-west-2", "KmsKeyId": key_arn}])
    );
    assert_eq!(
        main["Outputs"]["JwtKeyName"]["Value"],
        json!({"Fn::Select": [6, {"Fn::Split": [":", ref_("JwtKey")]}]})
    );
    let replica_arn = json!({"Fn::Sub": [
        "arn:${AWS::Partition}:secretsmanager:us-west-2:${AWS::AccountId}:secret:${Name}",
        {"Name": {"Fn::GetStackOutput": {"StackName": "t-main", "OutputName": "JwtKeyName", "Region": "eu-west-1"}}}
    ]});
    assert_eq!(
        role_statements(&template("Second"), "Reader"),
        [
            json!({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": replica_arn}),
            json!({
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": {"Fn::GetStackOutput": {"StackName": "t-keys", "OutputName": "ReplicaKeyArn"}},
                "Condition": via("secretsmanager")
            }),
        ]
    );
}

#[test]
fn replica_region_errors() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let key = Key::new(&mut stack.root(), "Key", KeyProps::default()).unwrap();
    let mut s = stack.root();
    let replica = |region: &str| SecretReplica { region: region.into(), encryption_key: key.clone() };
    let own = SecretProps { replicas: vec![replica("eu-west-1")], ..SecretProps::default() };
    assert_eq!(
        Secret::new(&mut s, "S", own).unwrap_err().to_string(),
        "S: replica region eu-west-1 is the secret's own region: list other regions only"
    );
    let twice = SecretProps { replicas: vec![replica("us-west-2"), replica("us-west-2")], ..SecretProps::default() };
    assert_eq!(Secret::new(&mut s, "T", twice).unwrap_err().to_string(), "T: duplicate replica region \"us-west-2\"");
}
