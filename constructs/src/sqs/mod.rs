//! Amazon SQS: the generated CloudFormation types and [`Queue`]: a dead-letter queue by default, encryption with a
//! customer managed key, long polling, and a queue policy that denies every request not made over TLS.

mod generated;
mod grants;
pub(crate) mod rules;

pub use generated::*;
pub use grants::{CONSUME_ACTIONS, MESSAGE_READ_ACTIONS, MESSAGE_WRITE_ACTIONS, SEND_ACTIONS, SERVICE_SEND_ACTIONS};

use synth::{Handle, Json, Node, Scope, Val};

use crate::common::RemovalPolicy;
use crate::error::{ConstructError, check_range};
use crate::iam::{PolicyResource, PolicyStatement, Principal};
use crate::kms::{Key, KeyProps};

/// SQS limits: <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html>.
const MAX_VISIBILITY: u32 = 43_200;
const MIN_RETENTION: u32 = 60;
const MAX_RETENTION: u32 = 1_209_600;
/// Default retention of a source queue: SQS's own default, 4 days.
pub const DEFAULT_RETENTION_SECONDS: u32 = 345_600;
/// Retention of a created dead-letter queue: the maximum, 14 days, so a failure found after a long weekend can
/// still be redriven. It must exceed the source's: a standard queue keeps a message's original enqueue time when
/// it moves to the dead-letter queue.
pub const DEAD_LETTER_RETENTION_SECONDS: u32 = MAX_RETENTION;
/// Default `maxReceiveCount`: five receives, enough for transient failures with backoff, few enough that a
/// poison message leaves the queue within minutes.
pub const DEFAULT_MAX_RECEIVE_COUNT: u32 = 5;

/// Where messages go after too many receives.
#[derive(Clone, Debug)]
pub enum DeadLetter {
    /// A new queue next to this one (`<id>Dlq`), same key, 14 days retention.
    Create { max_receive_count: u32 },
    /// An existing queue.
    Existing { queue: Box<Queue>, max_receive_count: u32 },
    /// No redrive: this queue is itself a dead-letter queue or a destination (cdk-nag `AwsSolutions-SQS3` accepts a
    /// queue used as a dead-letter queue; anything else without redrive is a finding). Declares the exemption from
    /// cfn-lint-serverless's `ES6000`, which does not tell a dead-letter queue from another queue.
    None,
}

impl Default for DeadLetter {
    fn default() -> Self {
        DeadLetter::Create { max_receive_count: DEFAULT_MAX_RECEIVE_COUNT }
    }
}

/// Optional settings of a [`Queue`].
#[derive(Clone, Debug, Default)]
pub struct QueueProps {
    /// Seconds a received message stays hidden, 0 to 43200. Default: 30 (SQS's). For a Lambda consumer it must be
    /// at least 6 × the function timeout; the event source checks.
    pub visibility_timeout_seconds: Option<u32>,
    /// Seconds a message is kept, 60 to 1209600. Default: [`DEFAULT_RETENTION_SECONDS`].
    pub retention_seconds: Option<u32>,
    /// Default: a new dead-letter queue with [`DEFAULT_MAX_RECEIVE_COUNT`] (cdk-nag `AwsSolutions-SQS3`): a message
    /// that keeps failing must leave the queue, intact, instead of blocking it or expiring unseen.
    pub dead_letter: DeadLetter,
    /// Customer managed key. Default: a new key, shared with the created dead-letter queue.
    pub encryption_key: Option<Key>,
    /// Seconds a receive waits for messages, 0 to 20. Default: 20 (long polling: fewer empty, billed receives).
    pub receive_wait_seconds: Option<u32>,
    /// Default: retain. Messages are work not yet done.
    pub removal: RemovalPolicy,
}

/// An SQS queue.
#[derive(Clone, Debug)]
pub struct Queue {
    handle: Handle<CfnQueue>,
    policy: Handle<PolicyResource<CfnQueuePolicy>>,
    path: String,
    key: Key,
    dead_letter: Option<(Box<Queue>, u32)>,
    visibility_timeout: u32,
}

impl Queue {
    pub fn new(scope: &mut Scope, id: &str, props: QueueProps) -> Result<Queue, ConstructError> {
        let key = match props.encryption_key.clone() {
            Some(k) => k,
            None => {
                let mut s = scope.child(id);
                let path = s.path().to_owned();
                Key::new(
                    &mut s,
                    "Key",
                    KeyProps { description: Some(format!("SQS queue {path}")), ..Default::default() },
                )?
            }
        };
        let dead_letter = match props.dead_letter {
            DeadLetter::Create { max_receive_count } => {
                let dlq = Queue::new(
                    scope,
                    &format!("{id}Dlq"),
                    QueueProps {
                        retention_seconds: Some(DEAD_LETTER_RETENTION_SECONDS),
                        dead_letter: DeadLetter::None,
                        encryption_key: Some(key.clone()),
                        removal: props.removal,
                        ..QueueProps::default()
                    },
                )?;
                Some((Box::new(dlq), max_receive_count))
            }
            DeadLetter::Existing { queue, max_receive_count } => Some((queue, max_receive_count)),
            DeadLetter::None => None,
        };
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        let visibility = props.visibility_timeout_seconds.unwrap_or(30);
        check_range(&path, "visibility timeout (s)", visibility.into(), 0, MAX_VISIBILITY.into())?;
        let retention = props.retention_seconds.unwrap_or(DEFAULT_RETENTION_SECONDS);
        check_range(&path, "retention (s)", retention.into(), MIN_RETENTION.into(), MAX_RETENTION.into())?;
        let wait = props.receive_wait_seconds.unwrap_or(20);
        check_range(&path, "receive wait (s)", wait.into(), 0, 20)?;
        let redrive = match &dead_letter {
            Some((dlq, count)) => {
                // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
                check_range(&path, "max receive count", (*count).into(), 1, 1000)?;
                Some(Json::obj([
                    ("deadLetterTargetArn", Node::from(dlq.arn())),
                    ("maxReceiveCount", Node::Int((*count).into())),
                ]))
            }
            None => None,
        };
        let cfn = CfnQueue {
            visibility_timeout: Some(visibility.into()),
            message_retention_period: Some(retention.into()),
            receive_message_wait_time_seconds: Some(wait.into()),
            kms_master_key_id: Some(key.arn()),
            // Reuse a data key for 5 minutes (SQS's default), written out so the cost/security trade-off is visible.
            kms_data_key_reuse_period_seconds: Some(300.into()),
            redrive_policy: redrive.map(Val::from),
            ..CfnQueue::new()
        };
        let handle = scope.add("Resource", cfn);
        let entry = scope.stack_mut().entry_mut(&handle);
        props.removal.apply(entry);
        if dead_letter.is_none() {
            crate::common::suppress(
                entry,
                crate::common::Check::SQS_REDRIVE,
                "a dead-letter queue or failure destination: the last stop of a failed message, with nothing to redrive it to; its depth alarm says when it holds anything",
            );
        }
        let mut policy = PolicyResource::new(
            CfnQueuePolicy::new(Json::obj([] as [(&str, Node); 0]), Val::list([handle.ref_()])),
            |p, d| p.policy_document = d.into(),
        );
        // Deny anything not sent over TLS (cdk-nag `AwsSolutions-SQS4`).
        policy.policy.add(
            PolicyStatement::deny(["sqs:*"], [handle.attr_arn()])
                .with_principal(Principal::Anyone)
                .with_sid("DenyInsecureTransport")
                .with_condition("Bool", "aws:SecureTransport", "false"),
        );
        let policy = scope.add("Policy", policy);
        Ok(Queue { handle, policy, path, key, dead_letter, visibility_timeout: visibility })
    }

    /// `Fn::GetAtt Arn`.
    pub fn arn(&self) -> Val<String> {
        self.handle.attr_arn()
    }
    /// `Ref`: the queue URL.
    pub fn url(&self) -> Val<String> {
        self.handle.ref_()
    }
    /// The queue name: the last part of the ARN (`AWS::SQS::Queue` has no `QueueName` attribute).
    pub fn name(&self) -> Val<String> {
        Val::select(5, Val::split(":", self.arn()))
    }
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn handle(&self) -> &Handle<CfnQueue> {
        &self.handle
    }
    pub fn encryption_key(&self) -> &Key {
        &self.key
    }
    pub fn visibility_timeout_seconds(&self) -> u32 {
        self.visibility_timeout
    }
    /// The dead-letter queue, if any.
    pub fn dead_letter_queue(&self) -> Option<&Queue> {
        self.dead_letter.as_ref().map(|(q, _)| &**q)
    }
    /// `maxReceiveCount` of the redrive policy, if any.
    pub fn max_receive_count(&self) -> Option<u32> {
        self.dead_letter.as_ref().map(|(_, c)| *c)
    }
}
