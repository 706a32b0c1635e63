//! `wafv2::WebAcl`.

use constructs::wafv2::{WafScope, WebAcl, WebAclProps};
use serde_json::json;
use synth::{Stack, StackProps};

use super::support::*;

#[test]
fn web_acl_has_managed_groups_rate_limit_metrics_and_redacted_logs() {
    let t = template(|s| {
        WebAcl::new(s, "Waf", WafScope::Regional, WebAclProps::default()).unwrap();
    });
    let p = props(&t, "Waf");
    assert_eq!(p["Scope"], "REGIONAL");
    assert_eq!(p["DefaultAction"], json!({"Allow": {}}));
    let rules = p["Rules"].as_array().unwrap();
    let names: Vec<&str> = rules.iter().map(|r| r["Name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "RateLimitPerIp",
            "AWSManagedRulesCommonRuleSet",
            "AWSManagedRulesKnownBadInputsRuleSet",
            "AWSManagedRulesSQLiRuleSet",
            "AWSManagedRulesAmazonIpReputationList"
        ]
    );
    assert_eq!(
        rules[0]["Statement"]["RateBasedStatement"],
        json!({"AggregateKeyType": "IP", "EvaluationWindowSec": 300, "Limit": 2000})
    );
    assert_eq!(rules[0]["Action"], json!({"Block": {}}));
    assert_eq!(rules[1]["OverrideAction"], json!({"None": {}}));
    for r in rules {
        assert_eq!(r["VisibilityConfig"]["CloudWatchMetricsEnabled"], true, "metrics on");
    }
    let logging = props(&t, "WafLogging");
    assert_eq!(
        logging["RedactedFields"],
        json!([{"SingleHeader": {"Name": "authorization"}}]),
        "credentials never logged"
    );
    assert_eq!(props(&t, "WafLogs")["LogGroupName"], json!({"Fn::Sub": "aws-waf-logs-${AWS::StackName}-Waf"}));
}

#[test]
fn cloudfront_scope_only_in_us_east_1() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let e = WebAcl::new(&mut stack.root(), "EdgeWaf", WafScope::CloudFront, WebAclProps::default()).unwrap_err();
    assert_eq!(e.to_string(), "EdgeWaf: a CLOUDFRONT-scope web acl must be in us-east-1, not eu-west-1");
    let mut edge = Stack::new(StackProps::new("Edge", "m-edge", "us-east-1", "dev"));
    assert!(WebAcl::new(&mut edge.root(), "EdgeWaf", WafScope::CloudFront, WebAclProps::default()).is_ok());
}
