//! CloudWatch Contributor Insights rules on a JSON log group: who contributes the most log events (the top tenants,
//! the top API keys), optionally only the events a filter keeps (errors).
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContributorInsights-RuleSyntax.html>

use synth::{Handle, Scope, Val};

use super::generated::{CfnInsightRule, cfn_insight_rule};
use crate::error::{ConstructError, check_range};
use crate::logs::LogGroup;

/// A filter of a rule: events whose JSON field `field` (`$.status`) starts with one of `prefixes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContributorFilter {
    pub field: String,
    pub prefixes: Vec<String>,
}

/// A Contributor Insights rule counting log events by `keys`.
#[derive(Clone, Debug)]
pub struct ContributorRule {
    handle: Handle<CfnInsightRule>,
    name: Val<String>,
}

impl ContributorRule {
    /// A rule at `<scope>/<id>` named `<stack name>-<id>` counting the events of `log_group` (JSON) by the JSON
    /// fields `keys` (`$.tenantId`), among the events every filter keeps.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        log_group: &LogGroup,
        keys: &[&str],
        filters: &[ContributorFilter],
    ) -> Result<ContributorRule, ConstructError> {
        let path = if scope.path().is_empty() { id.to_owned() } else { format!("{}/{id}", scope.path()) };
        // 1 to 4 keys, at most 4 filters of at most 10 values
        // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContributorInsights-RuleSyntax.html).
        check_range(&path, "keys of a contributor rule", keys.len() as i64, 1, 4)?;
        check_range(&path, "filters of a contributor rule", filters.len() as i64, 0, 4)?;
        for f in filters {
            check_range(&path, "values of a contributor filter", f.prefixes.len() as i64, 1, 10)?;
        }
        let mut fields = keys.iter().copied().chain(filters.iter().map(|f| f.field.as_str()));
        if let Some(bad) = fields.find(|k| !k.starts_with("$.")) {
            return Err(ConstructError::Invalid {
                path,
                what: "contributor rule field",
                value: bad.to_owned(),
                allowed: "a JSON path starting with $. (the log group's events are JSON)".into(),
            });
        }
        let body = rule_body(keys, filters);
        let name = Val::sub(format!("${{AWS::StackName}}-{id}"));
        let cfn = CfnInsightRule::new(
            Val::sub_with(body, [("LogGroup", log_group.name())]),
            name.clone(),
            cfn_insight_rule::RuleState::Enabled,
        );
        Ok(ContributorRule { handle: scope.add(id, cfn), name })
    }

    /// The rule's name: what a dashboard's contributor widget and `INSIGHT_RULE_METRIC` name it by.
    pub fn name(&self) -> Val<String> {
        self.name.clone()
    }
    pub fn handle(&self) -> &Handle<CfnInsightRule> {
        &self.handle
    }
}

/// The rule body, with `${LogGroup}` for the log group's name.
pub(crate) fn rule_body(keys: &[&str], filters: &[ContributorFilter]) -> String {
    let filters: Vec<serde_json::Value> =
        filters.iter().map(|f| serde_json::json!({"Match": f.field, "StartsWith": f.prefixes})).collect();
    serde_json::json!({
        "Schema": {"Name": "CloudWatchLogRule", "Version": 1},
        "LogGroupNames": ["${LogGroup}"],
        "LogFormat": "JSON",
        "Contribution": {"Keys": keys, "Filters": filters},
        "AggregateOn": "Count",
    })
    .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_body_counts_events_by_key_among_the_filtered() {
        let errors = ContributorFilter { field: "$.status".into(), prefixes: vec!["4".into(), "5".into()] };
        let body: serde_json::Value = serde_json::from_str(&rule_body(&["$.tenantId"], &[errors])).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "Schema": {"Name": "CloudWatchLogRule", "Version": 1},
                "LogGroupNames": ["${LogGroup}"],
                "LogFormat": "JSON",
                "Contribution": {"Keys": ["$.tenantId"], "Filters": [{"Match": "$.status", "StartsWith": ["4", "5"]}]},
                "AggregateOn": "Count",
            })
        );
    }
}
