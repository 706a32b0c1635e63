//! Amazon SNS: the generated CloudFormation types and [`Topic`] (encrypted with a customer managed key, TLS-only
//! topic policy): the platform's alarm topic.

mod generated;

pub use generated::*;

use synth::{Handle, Json, Node, Scope, Val};

use crate::error::ConstructError;
use crate::iam::{PolicyResource, PolicyStatement, Principal, add_resource_statement};
use crate::kms::Key;

/// An SNS topic.
#[derive(Clone, Debug)]
pub struct Topic {
    handle: Handle<CfnTopic>,
    policy: Handle<PolicyResource<CfnTopicPolicy>>,
    key: Key,
    path: String,
}

impl Topic {
    /// A topic encrypted with `key` (cdk-nag `AwsSolutions-SNS2`), whose policy denies publishing without TLS
    /// (`AwsSolutions-SNS3`).
    pub fn new(scope: &mut Scope, id: &str, key: &Key) -> Result<Topic, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        let handle = scope.add("Resource", CfnTopic { kms_master_key_id: Some(key.arn()), ..CfnTopic::new() });
        let mut policy = PolicyResource::new(
            CfnTopicPolicy::new(Json::obj([] as [(&str, Node); 0]), Val::list([handle.ref_()])),
            |p, d| p.policy_document = d.into(),
        );
        policy.policy.add(
            PolicyStatement::deny(["sns:Publish"], [handle.ref_()])
                .with_principal(Principal::Anyone)
                .with_sid("DenyInsecureTransport")
                .with_condition("Bool", "aws:SecureTransport", "false"),
        );
        let policy = scope.add("Policy", policy);
        Ok(Topic { handle, policy, key: key.clone(), path })
    }

    /// `Ref`: the topic ARN.
    pub fn arn(&self) -> Val<String> {
        self.handle.ref_()
    }
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Lets CloudWatch alarms of this account publish (through the topic policy and the key policy: an alarm
    /// publishing to an encrypted topic uses the key as `cloudwatch.amazonaws.com`).
    /// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html>
    pub fn allow_cloudwatch_alarms(&self, scope: &mut Scope) {
        let statement = PolicyStatement::allow(["sns:Publish"], [self.arn()])
            .with_principal(Principal::service("cloudwatch.amazonaws.com"))
            .with_sid("CloudWatchAlarmsPublish")
            .with_condition("StringEquals", "aws:SourceAccount", synth::account_id());
        add_resource_statement(scope, &self.policy, &self.path, statement);
        self.key.allow_service_use(scope, "cloudwatch.amazonaws.com");
    }
}
