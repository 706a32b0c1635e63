//! The `Edge` stack, in us-east-1: what CloudFront and the billing metrics accept only there. The CloudFront web
//! ACL, the distribution's certificate, the billing alarm.

use synth::{Scope, Val};

use super::context::Context;
use super::error::PlatformError;
use crate::certificatemanager::Certificate;
use crate::cloudwatch::{Alarm, AlarmProps, Comparison, Metric, Stat};
use crate::kms::{Key, KeyProps};
use crate::sns::Topic;
use crate::wafv2::{WafScope, WebAcl, WebAclProps};

/// The only region of CloudFront web ACLs and certificates, and of the billing metrics
/// (<https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html>,
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/monitor_estimated_charges_with_cloudwatch.html>).
pub(super) const REGION: &str = "us-east-1";

/// What the edge stack made for the distribution.
pub(super) struct Edge {
    pub web_acl: WebAcl,
    /// The certificate of the custom domain's edge name, when there is a custom domain.
    pub certificate: Option<Certificate>,
}

/// The web ACL, the certificate and the billing alarm, into `scope` (a stack in [`REGION`]).
pub(super) fn build(scope: &mut Scope, ctx: &Context) -> Result<Edge, PlatformError> {
    let prefix = &ctx.prefix;
    let key = Key::new(
        scope,
        "Key",
        KeyProps {
            description: Some(format!("{prefix}: edge logs and alarms")),
            alias: Some(format!("alias/{prefix}-edge")),
            cloudwatch_logs: true,
            ..KeyProps::default()
        },
    )?;
    let web_acl = WebAcl::new(
        scope,
        "WebAcl",
        WafScope::CloudFront,
        WebAclProps {
            bot_control: ctx.config.features.bot_control,
            log_key: Some(key.clone()),
            ..WebAclProps::default()
        },
    )?;
    let certificate = match &ctx.config.features.domain {
        Some(d) => Some(Certificate::new(scope, "Certificate", &d.edge_domain, &d.hosted_zone_id)?),
        None => None,
    };
    billing_alarm(scope, ctx, &key)?;
    Ok(Edge { web_acl, certificate })
}

/// Month-to-date charges above the budget notify a topic of their own.
fn billing_alarm(scope: &mut Scope, ctx: &Context, key: &Key) -> Result<Alarm, PlatformError> {
    let budget = ctx.config.monthly_budget_usd;
    let topic = Topic::new(scope, "BillingAlarms", key)?;
    topic.allow_cloudwatch_alarms(scope);
    super::observability::subscribe(scope, ctx, &topic)?;
    Ok(Alarm::new(
        scope,
        "EstimatedCharges",
        &Metric::new("AWS/Billing", "EstimatedCharges")
            .with_dimension("Currency", Val::from("USD"))
            .with_stat(Stat::Maximum)
            // Six hours: the charges are computed and sent several times a day (the page above).
            .with_period(21_600),
        budget,
        AlarmProps {
            comparison: Comparison::GreaterThan,
            description: Some(format!("Month-to-date charges above {budget} USD")),
            actions: vec![topic.arn()],
            ..AlarmProps::default()
        },
    )?)
}
