//! `s3::Bucket`.

use constructs::iam::{Principal, Role, RoleProps};
use constructs::kms::{Key, KeyProps};
use constructs::s3::{AccessLogs, Bucket, BucketProps, Encryption, LifecycleRule};
use serde_json::json;
use synth::{Stack, StackProps};

use super::support::*;

#[test]
fn safe_defaults() {
    let build = |s: &mut synth::Scope| {
        Bucket::new(s, "Exports", BucketProps::default()).unwrap();
    };
    let e = try_template(build).unwrap_err();
    assert_eq!(
        e.messages(),
        [
            "error: Main/Exports/Resource: AwsSolutions-S1: the bucket writes no server access logs (LoggingConfiguration)"
        ],
        "a bucket alone has nowhere to log: the rule pack says so"
    );
    let t = template_unchecked(build);
    let r = resource(&t, "Exports");
    assert_eq!(r["DeletionPolicy"], "Retain");
    let p = &r["Properties"];
    assert_eq!(
        p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"],
        json!({"SSEAlgorithm": "AES256"}),
        "encrypted"
    );
    assert_eq!(p["VersioningConfiguration"], json!({"Status": "Enabled"}), "versioned");
    assert_eq!(
        p["PublicAccessBlockConfiguration"],
        json!({"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}),
        "no public access"
    );
    assert_eq!(p["OwnershipControls"]["Rules"][0]["ObjectOwnership"], "BucketOwnerEnforced", "ACLs off");
    let rules = p["LifecycleConfiguration"]["Rules"].as_array().unwrap();
    assert_eq!(rules[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"], 7);
    assert_eq!(rules[1]["NoncurrentVersionExpiration"]["NoncurrentDays"], 90, "versioning has a bounded cost");
    let policy = &props(&t, "ExportsPolicy")["PolicyDocument"]["Statement"];
    assert_eq!(policy[0]["Sid"], "DenyInsecureTransport");
    assert_eq!(policy[0]["Condition"], json!({"Bool": {"aws:SecureTransport": "false"}}), "TLS only");
    assert_eq!(policy[1]["Condition"], json!({"NumericLessThan": {"s3:TlsVersion": 1.2}}), "TLS 1.2+");
}

#[test]
fn kms_access_logs_lifecycle_and_grants() {
    let t = template_unchecked(|s| {
        let key = Key::new(s, "Key", KeyProps::default()).unwrap();
        let logs = Bucket::new(s, "Logs", BucketProps::default()).unwrap();
        let b = Bucket::new(
            s,
            "Exports",
            BucketProps {
                encryption: Encryption::Kms(key),
                access_logs: Some(AccessLogs { bucket: Box::new(logs), prefix: "s3/exports/".into() }),
                lifecycle_rules: vec![LifecycleRule {
                    id: "ExpireExports".into(),
                    prefix: Some("exports/".into()),
                    expiration_days: Some(30),
                    noncurrent_expiration_days: None,
                    infrequent_access_after_days: None,
                }],
                ..BucketProps::default()
            },
        )
        .unwrap();
        let r = Role::new(s, "Exporter", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
        b.grant(&r, s, "exports/", &["s3:PutObject", "s3:GetObject"]);
    });
    let p = props(&t, "Exports");
    assert_eq!(p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["BucketKeyEnabled"], true);
    assert_eq!(
        p["LoggingConfiguration"],
        json!({"DestinationBucketName": ref_("Logs"), "LogFilePrefix": "s3/exports/"})
    );
    assert_eq!(
        p["LifecycleConfiguration"]["Rules"][2],
        json!({"ExpirationInDays": 30, "Id": "ExpireExports", "Prefix": "exports/", "Status": "Enabled"})
    );
    let delivery = &props(&t, "LogsPolicy")["PolicyDocument"]["Statement"][2];
    assert_eq!(delivery["Principal"], json!({"Service": "logging.s3.amazonaws.com"}));
    assert_eq!(
        role_statements(&t, "Exporter"),
        [
            json!({
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": {"Fn::Join": ["", [get_att("Exports", "Arn"), "/exports/*"]]}
            }),
            json!({
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": get_att("Key", "Arn"),
                "Condition": via("s3")
            }),
        ],
        "objects under the prefix only; the key through S3 only"
    );
}

#[test]
fn readers_decrypt_only_and_other_object_actions_get_no_key() {
    let t = template_unchecked(|s| {
        let key = Key::new(s, "Key", KeyProps::default()).unwrap();
        let b = Bucket::new(s, "Exports", BucketProps { encryption: Encryption::Kms(key), ..BucketProps::default() })
            .unwrap();
        let reader = Role::new(s, "Reader", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
        b.grant_read(&reader, s, "");
        let tagger = Role::new(s, "Tagger", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
        b.grant(&tagger, s, "", &["s3:PutObjectTagging"]);
    });
    let objects = json!({"Fn::Join": ["", [get_att("Exports", "Arn"), "/*"]]});
    assert_eq!(
        role_statements(&t, "Reader"),
        [
            json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": objects}),
            json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": get_att("Key", "Arn"), "Condition": via("s3")}),
        ]
    );
    assert_eq!(
        role_statements(&t, "Tagger"),
        [json!({"Effect": "Allow", "Action": "s3:PutObjectTagging", "Resource": objects})],
        "tags are not object data"
    );
}

#[test]
fn lifecycle_rule_must_do_something() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let rule = LifecycleRule {
        id: "Nothing".into(),
        prefix: None,
        expiration_days: None,
        noncurrent_expiration_days: None,
        infrequent_access_after_days: None,
    };
    let e = Bucket::new(&mut stack.root(), "B", BucketProps { lifecycle_rules: vec![rule], ..BucketProps::default() })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "B: invalid lifecycle rule \"Nothing\": set an expiration, a noncurrent expiration or a transition"
    );
}
