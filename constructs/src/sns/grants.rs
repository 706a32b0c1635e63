//! Topic grants, and their IAM actions as named constants: the topic policy statements that let AWS services
//! publish.
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html>

use synth::Scope;

use super::Topic;
use crate::iam::{PolicyStatement, Principal, add_resource_statement};

/// Publishing to a topic.
pub const PUBLISH_ACTIONS: &[&str] = &["sns:Publish"];

impl Topic {
    /// Lets CloudWatch alarms of this account publish (through the topic policy and the key policy: an alarm
    /// publishing to an encrypted topic uses the key as `cloudwatch.amazonaws.com`).
    /// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html>
    pub fn allow_cloudwatch_alarms(&self, scope: &mut Scope) {
        let statement = PolicyStatement::allow(PUBLISH_ACTIONS.iter().copied(), [self.arn()])
            .with_principal(Principal::service("cloudwatch.amazonaws.com"))
            .with_sid("CloudWatchAlarmsPublish")
            .with_condition("StringEquals", "aws:SourceAccount", synth::account_id());
        add_resource_statement(scope, &self.policy, &self.path, statement);
        self.key.allow_service_use(scope, "cloudwatch.amazonaws.com");
    }

    /// Lets AWS Budgets of this account publish its notifications (and use the topic's key)
    /// (<https://docs.aws.amazon.com/cost-management/latest/userguide/budgets-sns-policy.html>).
    pub fn allow_budgets(&self, scope: &mut Scope) {
        let statement = PolicyStatement::allow(PUBLISH_ACTIONS.iter().copied(), [self.arn()])
            .with_principal(Principal::service("budgets.amazonaws.com"))
            .with_sid("BudgetsPublish")
            .with_condition("StringEquals", "aws:SourceAccount", synth::account_id());
        add_resource_statement(scope, &self.policy, &self.path, statement);
        self.key.allow_service_use(scope, "budgets.amazonaws.com");
    }
}
