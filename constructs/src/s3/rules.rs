//! The rule pack's S3 rules: cdk-nag `AwsSolutions-S1`, `S2` and `S10`.

use crate::rules::{declare_rules, denies_insecure_transport, is_true, prop, referred_by, require};

const BUCKET: &str = "AWS::S3::Bucket";

declare_rules! {
    S1 {
        id: "AwsSolutions-S1",
        description: "S3 buckets write server access logs",
        applies_to: [BUCKET],
        check: |_, r| require(
            prop(r, "LoggingConfiguration.DestinationBucketName").is_some(),
            "the bucket writes no server access logs (LoggingConfiguration)",
        ),
    }
    S2 {
        id: "AwsSolutions-S2",
        description: "S3 buckets block public access",
        applies_to: [BUCKET],
        check: |_, r| {
            let all = ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"]
                .iter()
                .all(|k| is_true(prop(r, &format!("PublicAccessBlockConfiguration.{k}"))));
            require(all, "public access is not fully blocked (PublicAccessBlockConfiguration)")
        },
    }
    S10 {
        id: "AwsSolutions-S10",
        description: "S3 buckets deny requests without TLS",
        applies_to: [BUCKET],
        check: |doc, r| {
            let ok = referred_by(doc, "AWS::S3::BucketPolicy", "Bucket", &r.logical_id, |p| {
                denies_insecure_transport(prop(p, "PolicyDocument"))
            });
            require(ok, "no bucket policy denies requests without TLS (aws:SecureTransport)")
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::BUCKET;
    use crate::rules::testing::rule_tests;

    rule_tests! {
        s1_buckets_write_access_logs: S1 {
            flags [("Bad", BUCKET, json!({}))] => "the bucket writes no server access logs (LoggingConfiguration)";
            passes [("Good", BUCKET, json!({"LoggingConfiguration": {"DestinationBucketName": "logs"}}))];
        }
        s2_buckets_block_public_access: S2 {
            flags [("Bad", BUCKET, json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true}}))]
                => "public access is not fully blocked (PublicAccessBlockConfiguration)";
            passes [("Good", BUCKET, json!({"PublicAccessBlockConfiguration": {
                "BlockPublicAcls": true, "BlockPublicPolicy": true,
                "IgnorePublicAcls": true, "RestrictPublicBuckets": true
            }}))];
        }
        s10_buckets_deny_requests_without_tls: S10 {
            flags [("Bad", BUCKET, json!({}))] => "no bucket policy denies requests without TLS (aws:SecureTransport)";
            passes [
                ("Good", BUCKET, json!({})),
                ("Policy", "AWS::S3::BucketPolicy", json!({"Bucket": {"Ref": "Good"}, "PolicyDocument": {"Statement": [{
                    "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}
                }]}})),
            ];
        }
    }
}
