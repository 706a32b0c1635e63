//! `cloudfront::Distribution`, with its web ACL and certificate in the edge stack.

use constructs::certificatemanager::Certificate;
use constructs::cloudfront::{Distribution, DistributionLogs, DistributionProps, Origin, ViewerCertificate};
use constructs::s3::{Bucket, BucketProps, ObjectOwnership};
use constructs::wafv2::{WafScope, WebAcl, WebAclProps};
use serde_json::json;
use synth::{App, Stack, StackProps, Val};

use super::support::*;

#[test]
fn distribution_uses_the_edge_stack_through_get_stack_output() {
    let mut app = App::new("t");
    let mut edge = Stack::new(StackProps::new("Edge", "t-edge", "us-east-1", "prod"));
    let (acl, cert) = {
        let mut r = edge.root();
        (
            WebAcl::new(&mut r, "WebAcl", WafScope::CloudFront, WebAclProps::default()).unwrap(),
            Certificate::new(&mut r, "Certificate", "api.example.com", "Z0123456789ABC").unwrap(),
        )
    };
    let mut regional = Stack::new(StackProps::new("Regional", "t-regional", "eu-west-1", "prod"));
    {
        let mut r = regional.root();
        let logs = Bucket::new(
            &mut r,
            "Logs",
            BucketProps { object_ownership: ObjectOwnership::BucketOwnerPreferred, ..BucketProps::default() },
        )
        .unwrap();
        let assets = Bucket::new(&mut r, "Assets", BucketProps::default()).unwrap();
        Distribution::new(
            &mut r,
            "Cdn",
            Origin::Api { domain: Val::from("abc.execute-api.eu-west-1.amazonaws.com"), path: "/prod".into() },
            DistributionProps {
                web_acl_arn: Some(acl.arn()),
                certificate: Some(ViewerCertificate {
                    certificate_arn: cert.arn(),
                    aliases: vec!["api.example.com".into()],
                }),
                logs: Some(DistributionLogs { bucket: logs, prefix: "cloudfront/".into() }),
                behaviors: vec![("/static/*".into(), Origin::Bucket(Box::new(assets)))],
                ..DistributionProps::default()
            },
        )
        .unwrap();
    }
    app.add_stack(edge);
    app.add_stack(regional);
    let out = app.synth().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.stack("Regional").unwrap().dependencies, ["Edge"]);
    let t: serde_json::Value = serde_json::from_str(&out.stack("Regional").unwrap().template).unwrap();
    let c = &props(&t, "Cdn")["DistributionConfig"];
    assert_eq!(
        c["WebACLId"],
        json!({"Fn::GetStackOutput": {"OutputName": "WebAclArn", "Region": "us-east-1", "StackName": "t-edge"}})
    );
    assert_eq!(
        c["ViewerCertificate"],
        json!({
            "AcmCertificateArn": {"Fn::GetStackOutput": {"OutputName": "CertificateRef", "Region": "us-east-1", "StackName": "t-edge"}},
            "MinimumProtocolVersion": "TLSv1.2_2021",
            "SslSupportMethod": "sni-only"
        }),
        "TLS 1.2+"
    );
    let d = &c["DefaultCacheBehavior"];
    assert_eq!(d["ViewerProtocolPolicy"], "redirect-to-https");
    assert_eq!(d["CachedMethods"], json!(["GET", "HEAD"]));
    let api_origin = &c["Origins"][0];
    assert_eq!(api_origin["CustomOriginConfig"]["OriginProtocolPolicy"], "https-only");
    assert_eq!(api_origin["CustomOriginConfig"]["OriginSSLProtocols"], json!(["TLSv1.2"]));
    assert_eq!(api_origin["OriginShield"], json!({"Enabled": true, "OriginShieldRegion": "eu-west-1"}));
    assert_eq!(c["Origins"][1]["OriginAccessControlId"], get_att("CdnOriginAccessControl", "Id"), "OAC for S3");
    assert_eq!(c["Logging"]["Bucket"], get_att("Logs", "DomainName"));
    let key = &props(&t, "CdnCachePolicy")["CachePolicyConfig"];
    assert_eq!(
        key["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"],
        json!({"HeaderBehavior": "whitelist", "Headers": ["Authorization"]}),
        "keyed by the tenant's credentials"
    );
    assert_eq!(key["DefaultTTL"], 5);
    let headers = &props(&t, "CdnResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"];
    assert_eq!(headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"], 63_072_000);
    assert_eq!(headers["FrameOptions"]["FrameOption"], "DENY");
    let oac = &props(&t, "AssetsPolicy")["PolicyDocument"]["Statement"][2];
    assert_eq!(oac["Principal"], json!({"Service": "cloudfront.amazonaws.com"}));
}

/// An origin group serves a behavior (GET, HEAD, OPTIONS); as the default behavior's origin (which allows writes) it
/// is refused, with the path and what is allowed.
#[test]
fn an_origin_group_serves_reads_only() {
    let api = |host: &str| Origin::Api { domain: Val::from(host), path: String::new() };
    let group =
        || Origin::Failover { primary: Box::new(api("a.example.com")), secondary: Box::new(api("b.example.com")) };
    let mut stack = Stack::new(StackProps::new("Regional", "t-regional", "eu-west-1", "prod"));
    let mut r = stack.root();
    let e = Distribution::new(&mut r, "Refused", group(), DistributionProps::default()).map(|_| ()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Refused: invalid default behavior's origin \"an origin group\": an API or a bucket (the default behavior allows writes, which origin groups do not serve)"
    );
    let behaviors = vec![("/a/*".to_owned(), group()), ("/b/*".to_owned(), group())];
    let d = Distribution::new(
        &mut r,
        "Cdn",
        api("api.example.com"),
        DistributionProps { behaviors, ..DistributionProps::default() },
    );
    assert!(d.is_ok());
    let mut app = App::new("t");
    app.add_stack(stack);
    let out = app.synth().unwrap_or_else(|e| panic!("{e}"));
    let t: serde_json::Value = serde_json::from_str(&out.stack("Regional").unwrap().template).unwrap();
    let c = &props(&t, "Cdn")["DistributionConfig"];
    // One group with its two members, shared by both behaviors, failing over on server errors.
    assert_eq!(c["OriginGroups"]["Quantity"], 1);
    assert_eq!(
        c["OriginGroups"]["Items"][0]["Members"],
        json!({"Items": [{"OriginId": "Behavior0Primary"}, {"OriginId": "Behavior0Secondary"}], "Quantity": 2})
    );
    assert_eq!(c["OriginGroups"]["Items"][0]["FailoverCriteria"]["StatusCodes"]["Items"], json!([500, 502, 503, 504]));
    let targets: Vec<&str> =
        c["CacheBehaviors"].as_array().unwrap().iter().map(|b| b["TargetOriginId"].as_str().unwrap()).collect();
    assert_eq!(targets, ["Behavior0", "Behavior0"]);
    assert_eq!(c["CacheBehaviors"][0]["AllowedMethods"], json!(["GET", "HEAD", "OPTIONS"]));
}
