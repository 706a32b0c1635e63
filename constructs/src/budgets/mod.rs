//! AWS Budgets: the generated CloudFormation types and [`Budget`] (a monthly cost budget that notifies on actual and
//! forecasted spend).

mod generated;

pub use generated::*;

use synth::{Scope, Val};

use crate::error::ConstructError;
use crate::sns::{Subscriber, Topic};

/// Budgets takes at most 5 notifications per budget and 10 email subscribers (plus one SNS topic) per notification
/// (<https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-controls.html>).
const MAX_NOTIFICATIONS: usize = 5;
const MAX_EMAILS: usize = 10;

/// Optional settings of a [`Budget`].
#[derive(Clone, Debug)]
pub struct BudgetProps {
    /// Percentages of the limit whose actual spend notifies. Default: 80 and 100, a warning before the limit and the
    /// limit itself.
    pub actual_percent: Vec<f64>,
    /// Percentages of the limit whose forecast spend (Budgets' month-end forecast) notifies. Default: 100, the month
    /// is heading over the limit while there is time to act.
    pub forecast_percent: Vec<f64>,
    /// Only costs carrying these cost allocation tags (key, value) count. Default: none, the whole account's costs
    /// (a tag counts only once it is activated as a cost allocation tag in the Billing console).
    pub tags: Vec<(String, String)>,
    /// Tags of the budget itself (`ResourceTags`): set explicitly, since whether CloudFormation copies stack tags
    /// onto a budget is not documented. Default: none.
    pub resource_tags: Vec<(String, String)>,
    /// The topic notified besides the email subscribers (HTTPS endpoints subscribe to it: Budgets sends only to
    /// email addresses and SNS topics). Default: none.
    pub topic: Option<Topic>,
}

impl Default for BudgetProps {
    fn default() -> Self {
        BudgetProps {
            actual_percent: vec![80.0, 100.0],
            forecast_percent: vec![100.0],
            tags: Vec::new(),
            resource_tags: Vec::new(),
            topic: None,
        }
    }
}

/// A monthly cost budget.
#[derive(Clone, Debug)]
pub struct Budget {
    path: String,
}

impl Budget {
    /// A budget of `limit_usd` a month named `name`, notifying the email addresses among `subscribers` (HTTPS ones are
    /// reached through `props.topic`).
    pub fn new(
        scope: &mut Scope,
        id: &str,
        name: &str,
        limit_usd: f64,
        subscribers: &[Subscriber],
        props: BudgetProps,
    ) -> Result<Budget, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        if limit_usd.is_nan() || limit_usd <= 0.0 {
            return Err(ConstructError::OutOfRange {
                path,
                what: "monthly limit (USD)",
                value: limit_usd.to_string(),
                allowed: "more than 0".into(),
            });
        }
        let notifications: Vec<(&str, f64)> = props
            .actual_percent
            .iter()
            .map(|p| ("ACTUAL", *p))
            .chain(props.forecast_percent.iter().map(|p| ("FORECASTED", *p)))
            .collect();
        if notifications.len() > MAX_NOTIFICATIONS {
            return Err(ConstructError::OutOfRange {
                path,
                what: "notifications",
                value: notifications.len().to_string(),
                allowed: format!("at most {MAX_NOTIFICATIONS} (actual and forecast thresholds together)"),
            });
        }
        if let Some((_, p)) = notifications.iter().find(|(_, p)| !(*p > 0.0 && *p <= 1000.0)) {
            return Err(ConstructError::OutOfRange {
                path,
                what: "notification threshold (percent of the limit)",
                value: p.to_string(),
                allowed: "more than 0, at most 1000".into(),
            });
        }
        let emails: Vec<&str> = subscribers
            .iter()
            .filter_map(|s| match s {
                Subscriber::Email(a) => Some(a.as_str()),
                Subscriber::Https(_) | Subscriber::Slack(_) => None,
            })
            .collect();
        if emails.len() > MAX_EMAILS {
            return Err(ConstructError::OutOfRange {
                path,
                what: "email subscribers",
                value: emails.len().to_string(),
                allowed: format!("at most {MAX_EMAILS}"),
            });
        }
        let mut to: Vec<cfn_budget::Subscriber> =
            emails.iter().map(|a| cfn_budget::Subscriber::new(*a, "EMAIL")).collect();
        if let Some(topic) = &props.topic {
            topic.allow_budgets(&mut scope);
            to.push(cfn_budget::Subscriber::new(topic.arn(), "SNS"));
        }
        let mut data = cfn_budget::BudgetData::new("COST", "MONTHLY");
        data.budget_name = Some(name.into());
        data.budget_limit = Some(cfn_budget::Spend::new(limit_usd, "USD").into());
        if !props.tags.is_empty() {
            // Budgets' tag filter values are `user:<key>$<value>`.
            let values: Vec<String> = props.tags.iter().map(|(k, v)| format!("user:{k}${v}")).collect();
            data.cost_filters = Some(serde_json::json!({ "TagKeyValue": values }).into());
        }
        let mut budget = CfnBudget::new(data);
        if !props.resource_tags.is_empty() {
            budget.resource_tags = Some(Val::list(props.resource_tags.iter().map(|(k, v)| {
                let mut tag = cfn_budget::ResourceTag::new(k.as_str());
                tag.value = Some(v.as_str().into());
                tag
            })));
        }
        if !to.is_empty() {
            budget.notifications_with_subscribers = Some(Val::list(notifications.iter().map(|(kind, percent)| {
                let mut n = cfn_budget::Notification::new("GREATER_THAN", *kind, *percent);
                n.threshold_type = Some("PERCENTAGE".into());
                cfn_budget::NotificationWithSubscribers::new(n, Val::list(to.clone()))
            })));
        }
        scope.add("Resource", budget);
        Ok(Budget { path })
    }

    /// The construct path.
    pub fn path(&self) -> &str {
        &self.path
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use synth::{App, Stack, StackProps};

    use super::*;
    use crate::kms::{Key, KeyProps};

    /// The template of a stack holding one budget (and a topic for it when `with_topic`).
    fn budget(
        limit: f64,
        subscribers: &[Subscriber],
        props: BudgetProps,
        with_topic: bool,
    ) -> Result<String, ConstructError> {
        let mut app = App::new("t");
        let stack = app.add_stack(Stack::new(StackProps::new("Main", "t-main", "us-east-1", "dev")));
        let mut root = stack.root();
        let topic = if with_topic {
            let key = Key::new(&mut root, "Key", KeyProps::default()).unwrap_or_else(|e| panic!("{e}"));
            Some(Topic::new(&mut root, "Alarms", &key).unwrap_or_else(|e| panic!("{e}")))
        } else {
            None
        };
        Budget::new(&mut root, "Budget", "t-dev", limit, subscribers, BudgetProps { topic, ..props })?;
        let assembly = app.synth().unwrap_or_else(|e| panic!("{e}"));
        Ok(assembly.stacks[0].template.clone())
    }

    #[test]
    fn notifies_actual_and_forecast_spend_by_email_and_topic() {
        let subscribers =
            [Subscriber::Email("oncall@example.com".into()), Subscriber::Https("https://hooks.example.com/x".into())];
        let props = BudgetProps { tags: vec![("stage".into(), "dev".into())], ..Default::default() };
        let t: serde_json::Value = serde_json::from_str(&budget(200.0, &subscribers, props, true).unwrap()).unwrap();
        let b = &t["Resources"]["Budget"]["Properties"];
        assert_eq!(b["Budget"]["BudgetLimit"], serde_json::json!({"Amount": 200, "Unit": "USD"}));
        assert_eq!(b["Budget"]["CostFilters"], serde_json::json!({"TagKeyValue": ["user:stage$dev"]}));
        assert_eq!(b["Budget"]["TimeUnit"], "MONTHLY");
        let n = b["NotificationsWithSubscribers"].as_array().unwrap();
        let kinds: Vec<(String, f64)> = n
            .iter()
            .map(|n| {
                (
                    n["Notification"]["NotificationType"].as_str().unwrap().to_owned(),
                    n["Notification"]["Threshold"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [("ACTUAL".to_owned(), 80.0), ("ACTUAL".to_owned(), 100.0), ("FORECASTED".to_owned(), 100.0)]
        );
        // The email subscriber directly, the HTTPS one through the topic.
        let to: Vec<&str> =
            n[0]["Subscribers"].as_array().unwrap().iter().map(|s| s["SubscriptionType"].as_str().unwrap()).collect();
        assert_eq!(to, ["EMAIL", "SNS"]);
        // The topic lets Budgets publish.
        assert!(t.to_string().contains("budgets.amazonaws.com"));
    }

    #[test]
    fn bad_limits_and_thresholds_are_named() {
        let e = budget(0.0, &[], BudgetProps::default(), false).unwrap_err();
        assert_eq!(e.to_string(), "Budget: monthly limit (USD) 0 is out of range: allowed more than 0");
        let props = BudgetProps { actual_percent: vec![50.0, 80.0, 90.0, 100.0, 120.0], ..Default::default() };
        let e = budget(10.0, &[], props, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Budget: notifications 6 is out of range: allowed at most 5 (actual and forecast thresholds together)"
        );
        let props = BudgetProps { forecast_percent: vec![-1.0], ..Default::default() };
        let e = budget(10.0, &[], props, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Budget: notification threshold (percent of the limit) -1 is out of range: allowed more than 0, at most 1000"
        );
    }
}
