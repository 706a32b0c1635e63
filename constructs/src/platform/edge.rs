//! The `Edge` stack, in us-east-1: what CloudFront and the billing metrics accept only there. The CloudFront web
//! ACL, the distribution's certificate, the billing alarm and the stage's budget.

use synth::{Scope, Val};

use super::context::Context;
use super::error::PlatformError;
use crate::budgets::{Budget, BudgetProps};
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
    let topic = billing_alarm(scope, ctx, &key)?;
    budget(scope, ctx, &topic)?;
    Ok(Edge { web_acl, certificate })
}

/// The stage's monthly budget: actual spend at 80% and 100% and the month-end forecast at 100% of
/// `monthly_budget_usd` notify the billing topic, which every alarm subscriber (email and HTTPS) is subscribed to.
/// The email addresses are not also given to Budgets directly: they would get every notification twice.
///
/// Here, not in the regional stacks: a budget belongs to the account, not to a region (Budgets is a global service
/// whose endpoint is in us-east-1), so one per stage must live in a stack there is one of per stage; a stage with more
/// regions has more regional stacks and still one Edge stack, beside the billing alarm it complements (the alarm sees
/// the whole account's charges, the budget only this stage's: it counts costs tagged `stage=<stage>`, which needs
/// `stage` activated as a cost allocation tag once per account, in the Billing console or with
/// `aws ce update-cost-allocation-tags-status`).
fn budget(scope: &mut Scope, ctx: &Context, topic: &Topic) -> Result<Budget, PlatformError> {
    let props = BudgetProps {
        tags: vec![("stage".into(), ctx.config.stage.clone())],
        resource_tags: vec![
            ("cost-center".into(), ctx.config.cost_center().to_owned()),
            ("project".into(), ctx.config.name.clone()),
            ("stage".into(), ctx.config.stage.clone()),
        ],
        topic: Some(topic.clone()),
        ..BudgetProps::default()
    };
    Ok(Budget::new(scope, "Budget", &ctx.prefix, ctx.config.monthly_budget_usd, &[], props)?)
}

/// Month-to-date charges above the budget notify a topic of their own (returned: the budget notifies it too).
fn billing_alarm(scope: &mut Scope, ctx: &Context, key: &Key) -> Result<Topic, PlatformError> {
    let budget = ctx.config.monthly_budget_usd;
    let topic = Topic::new(scope, "BillingAlarms", key)?;
    topic.allow_cloudwatch_alarms(scope);
    super::observability::subscribe(scope, ctx, &topic)?;
    Alarm::new(
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
    )?;
    Ok(topic)
}
