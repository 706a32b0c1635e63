//! AWS WAF: the generated CloudFormation types and [`WebAcl`]: AWS managed rule groups, a rate-based rule per IP,
//! metrics, and logging to CloudWatch Logs with the credentials redacted. A `CLOUDFRONT` web ACL must be in
//! us-east-1 (<https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html>): the
//! constructor refuses any other region.

mod generated;

pub use generated::*;

use synth::{Handle, Json, Node, Scope, Val};

use crate::error::{ConstructError, check_range};
use crate::kms::Key;
use crate::logs::{LogGroup, LogGroupProps};

/// What the web ACL protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WafScope {
    /// An API Gateway stage (or a load balancer) in the stack's region.
    Regional,
    /// A CloudFront distribution; the ACL must be in us-east-1.
    CloudFront,
}

/// The AWS managed rule groups used by default: OWASP-style common rules, known bad inputs (includes the Log4j
/// `Log4JRCE` rule, checkov `CKV_AWS_192`), SQL injection, and Amazon's IP reputation list.
/// <https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html>
pub const DEFAULT_MANAGED_GROUPS: &[&str] = &[
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
];

/// Optional settings of a [`WebAcl`].
#[derive(Clone, Debug, Default)]
pub struct WebAclProps {
    /// AWS managed rule groups, in priority order. Default (empty): [`DEFAULT_MANAGED_GROUPS`].
    pub managed_groups: Vec<String>,
    /// Add the Bot Control rule group (common level). Default: off: it is billed per request on top of WAF.
    pub bot_control: bool,
    /// Requests per IP per 5 minutes before the IP is blocked, 10 to 2000000000. Default: 2000 (about 7 per
    /// second sustained, far above one client and far below a flood).
    pub rate_limit_per_ip: Option<u32>,
    /// Key of the log group. Default: none.
    pub log_key: Option<Key>,
    /// Retention of the log group. Default: one year.
    pub log_retention_days: Option<u32>,
}

/// A WAFv2 web ACL.
#[derive(Clone, Debug)]
pub struct WebAcl {
    handle: Handle<CfnWebACL>,
    path: String,
}

impl WebAcl {
    pub fn new(scope: &mut Scope, id: &str, waf_scope: WafScope, props: WebAclProps) -> Result<WebAcl, ConstructError> {
        let stack_name = scope.stack().name().to_owned();
        let region = scope.stack().region().to_owned();
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        if waf_scope == WafScope::CloudFront && region != "us-east-1" {
            return Err(ConstructError::WrongRegion {
                path,
                what: "a CLOUDFRONT-scope web acl".into(),
                region,
                required: "us-east-1".into(),
            });
        }
        let limit = props.rate_limit_per_ip.unwrap_or(2000);
        // https://docs.aws.amazon.com/waf/latest/APIReference/API_RateBasedStatement.html
        check_range(&path, "rate limit per IP", limit.into(), 10, 2_000_000_000)?;
        let metric =
            |name: &str| cfn_web_acl::VisibilityConfig::new(true, format!("{stack_name}-{id}-{name}").as_str(), true);
        let empty = || Json(Node::Map(Vec::new()));
        let mut groups: Vec<String> = if props.managed_groups.is_empty() {
            DEFAULT_MANAGED_GROUPS.iter().map(|s| (*s).to_owned()).collect()
        } else {
            props.managed_groups.clone()
        };
        if props.bot_control {
            groups.push("AWSManagedRulesBotControlRuleSet".into());
        }
        let mut rules = vec![cfn_web_acl::Rule {
            action: Some(
                cfn_web_acl::RuleAction {
                    block: Some(cfn_web_acl::BlockAction::default().into()),
                    ..Default::default()
                }
                .into(),
            ),
            ..cfn_web_acl::Rule::new(
                "RateLimitPerIp",
                0,
                cfn_web_acl::Statement {
                    rate_based_statement: Some(Val::from(cfn_web_acl::RateBasedStatement {
                        evaluation_window_sec: Some(300.into()),
                        ..cfn_web_acl::RateBasedStatement::new(cfn_web_acl::AggregateKeyType::Ip, limit)
                    })),
                    ..Default::default()
                },
                metric("RateLimitPerIp"),
            )
        }];
        for (i, g) in groups.iter().enumerate() {
            rules.push(cfn_web_acl::Rule {
                override_action: Some(
                    cfn_web_acl::OverrideAction { none: Some(empty().into()), ..Default::default() }.into(),
                ),
                ..cfn_web_acl::Rule::new(
                    g.as_str(),
                    (i + 1) as i64,
                    cfn_web_acl::Statement {
                        managed_rule_group_statement: Some(Val::from(cfn_web_acl::ManagedRuleGroupStatement::new(
                            g.as_str(),
                            "AWS",
                        ))),
                        ..Default::default()
                    },
                    metric(g),
                )
            });
        }
        let handle = scope.add(
            "Resource",
            CfnWebACL {
                rules: Some(Val::list(rules)),
                // WAF's description pattern has no parentheses.
                description: Some(
                    format!(
                        "{path}, {} scope",
                        if waf_scope == WafScope::CloudFront { "CloudFront" } else { "regional" }
                    )
                    .into(),
                ),
                ..CfnWebACL::new(
                    cfn_web_acl::DefaultAction {
                        allow: Some(cfn_web_acl::AllowAction::default().into()),
                        ..Default::default()
                    },
                    match waf_scope {
                        WafScope::Regional => cfn_web_acl::Scope::Regional,
                        WafScope::CloudFront => cfn_web_acl::Scope::Cloudfront,
                    },
                    metric("WebAcl"),
                )
            },
        );
        // WAF logs only to log groups named aws-waf-logs-*.
        // https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html
        let logs = LogGroup::new(
            &mut scope,
            "Logs",
            LogGroupProps {
                name: Some(Val::sub(format!("aws-waf-logs-${{AWS::StackName}}-{id}"))),
                encryption_key: props.log_key.clone(),
                retention_days: props.log_retention_days,
                ..LogGroupProps::default()
            },
        )?;
        scope.add(
            "Logging",
            CfnLoggingConfiguration {
                // The credentials a tenant sends must not end up in logs.
                redacted_fields: Some(Val::list([cfn_logging_configuration::FieldToMatch {
                    single_header: Some(
                        cfn_logging_configuration::FieldToMatchSingleHeader::new("authorization").into(),
                    ),
                    ..Default::default()
                }])),
                ..CfnLoggingConfiguration::new(Val::list([logs.arn_without_streams()]), handle.attr_arn())
            },
        );
        Ok(WebAcl { handle, path })
    }

    /// `Fn::GetAtt Arn`.
    pub fn arn(&self) -> Val<String> {
        self.handle.attr_arn()
    }
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Associates the (regional) web ACL with `resource_arn` (an API Gateway stage), at `<scope>/<id>`.
    /// `after` names resources the association must wait for (the stage, when in the same stack).
    pub fn associate(&self, scope: &mut Scope, id: &str, resource_arn: Val<String>, after: &[&str]) {
        let a = scope.add(id, CfnWebACLAssociation::new(resource_arn, self.arn()));
        let stack = scope.stack_mut();
        for l in after {
            if stack.resource(l).is_some() {
                stack.entry_mut(&a).add_depends_on(*l);
            }
        }
    }
}
