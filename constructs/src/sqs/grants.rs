//! Queue grants, and their IAM actions as named constants: sending and consuming messages (with the queue's key
//! through SQS), and the queue policy statements that let AWS services send.
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html>

use synth::{Scope, Val};

use super::Queue;
use crate::iam::{Grant, Grantable, PolicyStatement, Principal, add_resource_statement, grant};
use crate::kms::{KeyUse, ViaService};

/// Sending: `GetQueueUrl` and `GetQueueAttributes` are what SDK senders call before the first send.
pub const SEND_ACTIONS: &[&str] = &["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"];
/// Consuming: receive, delete and extend visibility (a worker backing off a failed message).
pub const CONSUME_ACTIONS: &[&str] = &[
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
];
/// The action that puts messages on the queue (`SendMessageBatch` is authorized by it too): SQS encrypts them
/// with the queue's key.
pub const MESSAGE_WRITE_ACTIONS: &[&str] = &["sqs:SendMessage"];
/// The action that returns messages: SQS decrypts them. Deleting a message or changing its visibility takes a
/// receipt handle and touches no message body.
pub const MESSAGE_READ_ACTIONS: &[&str] = &["sqs:ReceiveMessage"];
/// What an AWS service (EventBridge, SNS) is allowed in the queue policy when it delivers to the queue.
pub const SERVICE_SEND_ACTIONS: &[&str] = &["sqs:SendMessage"];

impl Queue {
    /// Grants sending messages (and the key's actions a sender needs, through SQS).
    pub fn grant_send_messages(&self, grantee: &dyn Grantable, scope: &mut Scope) -> Grant {
        self.grant(grantee, scope, SEND_ACTIONS)
    }

    /// Grants receiving, deleting and changing the visibility of messages (and decrypting them).
    pub fn grant_consume_messages(&self, grantee: &dyn Grantable, scope: &mut Scope) -> Grant {
        self.grant(grantee, scope, CONSUME_ACTIONS)
    }

    /// Grants exactly `actions` on the queue, plus the key's actions through SQS when they send or receive
    /// messages.
    pub fn grant(&self, grantee: &dyn Grantable, scope: &mut Scope, actions: &[&str]) -> Grant {
        let mut statements = vec![PolicyStatement::allow(actions.iter().copied(), [self.arn()])];
        if let Some(usage) = KeyUse::of(actions, MESSAGE_READ_ACTIONS, MESSAGE_WRITE_ACTIONS) {
            statements.push(self.key.use_statement(ViaService::Sqs, usage));
        }
        grant(grantee, scope, statements)
    }

    /// Lets AWS service `service` (`events.amazonaws.com`) send to the queue on behalf of `source_arn` only (the
    /// rule or topic), through the queue policy and the key policy. `scope` must be in the queue's stack.
    pub fn allow_service_send(&self, scope: &mut Scope, service: &str, sid: &str, source_arn: Val<String>) {
        let statement = PolicyStatement::allow(SERVICE_SEND_ACTIONS.iter().copied(), [self.arn()])
            .with_principal(Principal::service(service))
            .with_sid(sid)
            .with_condition("ArnEquals", "aws:SourceArn", source_arn);
        add_resource_statement(scope, &self.policy, &self.path, statement);
        self.key.allow_service_use(scope, service);
    }

    /// [`Queue::allow_service_send`] for a source whose ARN names no account (an S3 bucket's): the statement also
    /// requires `aws:SourceAccount` to be this stack's account, so a bucket of the same name in another account
    /// cannot send.
    /// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html>
    pub fn allow_service_send_from_account(
        &self,
        scope: &mut Scope,
        service: &str,
        sid: &str,
        source_arn: Val<String>,
    ) {
        let statement = PolicyStatement::allow(SERVICE_SEND_ACTIONS.iter().copied(), [self.arn()])
            .with_principal(Principal::service(service))
            .with_sid(sid)
            .with_condition("ArnEquals", "aws:SourceArn", source_arn)
            .with_condition("StringEquals", "aws:SourceAccount", synth::account_id());
        add_resource_statement(scope, &self.policy, &self.path, statement);
        self.key.allow_service_use(scope, service);
    }
}
