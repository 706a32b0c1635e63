//! The rule pack's CloudFront rules: cdk-nag `AwsSolutions-CFR*`.

use crate::rules::{declare_rules, is_true, items, missing, prop, require, str_of};

const DISTRIBUTION: &str = "AWS::CloudFront::Distribution";

declare_rules! {
    Cfr2 {
        id: "AwsSolutions-CFR2",
        description: "CloudFront distributions are protected by a WAFv2 web ACL",
        applies_to: [DISTRIBUTION],
        check: |_, r| require(
            prop(r, "DistributionConfig.WebACLId").is_some(),
            "the distribution has no web ACL (WebACLId)",
        ),
    }
    Cfr3 {
        id: "AwsSolutions-CFR3",
        description: "CloudFront distributions write access logs",
        applies_to: [DISTRIBUTION],
        check: |_, r| require(
            prop(r, "DistributionConfig.Logging.Bucket").is_some(),
            "the distribution writes no access logs (Logging)",
        ),
    }
    Cfr4 {
        id: "AwsSolutions-CFR4",
        description: "CloudFront viewers connect with TLS 1.2 or later",
        applies_to: [DISTRIBUTION],
        check: |_, r| {
            let v = prop(r, "DistributionConfig.ViewerCertificate");
            let default_cert = v.is_none() || is_true(v.and_then(|v| v.get("CloudFrontDefaultCertificate")));
            let version = str_of(v.and_then(|v| v.get("MinimumProtocolVersion"))).unwrap_or("");
            require(
                !default_cert && version.starts_with("TLSv1.2"),
                "viewers may use TLS 1.0 or 1.1 (the default certificate, or MinimumProtocolVersion below TLSv1.2)",
            )
        },
    }
    Cfr5 {
        id: "AwsSolutions-CFR5",
        description: "CloudFront talks to origins with TLS 1.2 only",
        applies_to: [DISTRIBUTION],
        check: |_, r| {
            for o in items(prop(r, "DistributionConfig.Origins")) {
                if let Some(c) = o.get("CustomOriginConfig") {
                    let protocols = items(c.get("OriginSSLProtocols"));
                    let weak = protocols.iter().any(|p| matches!(p.as_str(), Some("SSLv3" | "TLSv1" | "TLSv1.1")));
                    if protocols.is_empty() || weak {
                        return missing("an origin accepts SSLv3, TLSv1 or TLSv1.1 (OriginSSLProtocols)");
                    }
                    if str_of(c.get("OriginProtocolPolicy")) != Some("https-only") {
                        return missing("an origin is reached over HTTP (OriginProtocolPolicy https-only)");
                    }
                }
            }
            None
        },
    }
    Cfr7 {
        id: "AwsSolutions-CFR7",
        description: "CloudFront reads S3 origins through origin access control",
        applies_to: [DISTRIBUTION],
        check: |_, r| {
            let bad = items(prop(r, "DistributionConfig.Origins"))
                .iter()
                .any(|o| o.get("S3OriginConfig").is_some() && o.get("OriginAccessControlId").is_none());
            require(!bad, "an S3 origin has no origin access control (OriginAccessControlId)")
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::DISTRIBUTION;
    use crate::rules::testing::rule_tests;

    /// A distribution that breaks every rule: default certificate, an API origin accepting TLSv1, an S3 origin
    /// without origin access control, no web ACL, no logs.
    fn weak() -> Value {
        json!({"DistributionConfig": {
            "ViewerCertificate": {"CloudFrontDefaultCertificate": true},
            "Origins": [
                {"Id": "a", "DomainName": "x", "CustomOriginConfig": {
                    "OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1", "TLSv1.2"]
                }},
                {"Id": "b", "DomainName": "y", "S3OriginConfig": {}}
            ]
        }})
    }

    /// The same distribution with each of those fixed.
    fn strong() -> Value {
        json!({"DistributionConfig": {
            "WebACLId": "arn:waf",
            "Logging": {"Bucket": "logs.s3.amazonaws.com"},
            "ViewerCertificate": {
                "AcmCertificateArn": "arn:cert",
                "SslSupportMethod": "sni-only",
                "MinimumProtocolVersion": "TLSv1.2_2021"
            },
            "Origins": [
                {"Id": "a", "DomainName": "x", "CustomOriginConfig": {
                    "OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]
                }},
                {"Id": "b", "DomainName": "y", "S3OriginConfig": {}, "OriginAccessControlId": "oac"}
            ]
        }})
    }

    rule_tests! {
        cfr2_distributions_have_a_web_acl: Cfr2 {
            flags [("Bad", DISTRIBUTION, weak())] => "the distribution has no web ACL (WebACLId)";
            passes [("Good", DISTRIBUTION, strong())];
        }
        cfr3_distributions_write_access_logs: Cfr3 {
            flags [("Bad", DISTRIBUTION, weak())] => "the distribution writes no access logs (Logging)";
            passes [("Good", DISTRIBUTION, strong())];
        }
        cfr4_viewers_use_tls_1_2: Cfr4 {
            flags [("Bad", DISTRIBUTION, weak())]
                => "viewers may use TLS 1.0 or 1.1 (the default certificate, or MinimumProtocolVersion below TLSv1.2)";
            passes [("Good", DISTRIBUTION, strong())];
        }
        cfr5_origins_use_tls_1_2_only: Cfr5 {
            flags [("Bad", DISTRIBUTION, weak())]
                => "an origin accepts SSLv3, TLSv1 or TLSv1.1 (OriginSSLProtocols)";
            flags [("Bad", DISTRIBUTION, json!({"DistributionConfig": {"Origins": [
                {"Id": "a", "DomainName": "x", "CustomOriginConfig": {
                    "OriginProtocolPolicy": "match-viewer", "OriginSSLProtocols": ["TLSv1.2"]
                }}
            ]}}))] => "an origin is reached over HTTP (OriginProtocolPolicy https-only)";
            passes [("Good", DISTRIBUTION, strong())];
        }
        cfr7_s3_origins_use_origin_access_control: Cfr7 {
            flags [("Bad", DISTRIBUTION, weak())]
                => "an S3 origin has no origin access control (OriginAccessControlId)";
            passes [("Good", DISTRIBUTION, strong())];
        }
    }
}
