//! Amazon EventBridge: the generated CloudFormation types, [`EventBus`] (with an archive for replay), [`Rule`] with
//! a typed [`EventPattern`] and typed [`Target`]s, each with retries and a dead-letter queue.

mod generated;
mod grants;
pub(crate) mod rules;

pub use generated::*;
pub use grants::PUT_EVENTS_ACTIONS;

use std::collections::BTreeMap;

use synth::{Handle, Json, Node, Scope, Val};

use crate::error::{ConstructError, check_range};
use crate::iam::{PolicyStatement, Principal, Role, RoleProps};
use crate::kms::Key;
use crate::lambda::Function;
use crate::logs::LogGroup;
use crate::sqs::Queue;
use crate::stepfunctions::StateMachine;

/// Whether the bus keeps its events for replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Archive {
    /// Keep every event for this many days (1 to 3650) in an archive, replayable into the bus.
    Days(u32),
    Off,
}

impl Default for Archive {
    /// 30 days: a consumer broken for up to a month can be repaired and fed the events it missed.
    fn default() -> Self {
        Archive::Days(30)
    }
}

/// Optional settings of an [`EventBus`].
#[derive(Clone, Debug, Default)]
pub struct EventBusProps {
    /// Default: `<stack name>-<id>`, unique per stage and region.
    pub name: Option<String>,
    /// Customer managed key for events at rest (on the bus and in its archive). Default: none (an AWS owned key).
    pub encryption_key: Option<Key>,
    /// Default: [`Archive::default`] (30 days).
    pub archive: Archive,
    /// Default: none.
    pub description: Option<String>,
}

/// A custom event bus.
#[derive(Clone, Debug)]
pub struct EventBus {
    handle: Handle<CfnEventBus>,
    name: String,
    path: String,
    archive: Option<Handle<CfnArchive>>,
}

impl EventBus {
    pub fn new(scope: &mut Scope, id: &str, props: EventBusProps) -> Result<EventBus, ConstructError> {
        let default_name = format!("{}-{id}", scope.stack().name());
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        let name = props.name.unwrap_or(default_name);
        // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateEventBus.html
        let ok = !name.is_empty()
            && name.len() <= 256
            && name != "default"
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_'));
        if !ok {
            return Err(ConstructError::Invalid {
                path,
                what: "event bus name",
                value: name,
                allowed: "1 to 256 characters from A-Z a-z 0-9 / . - _, not \"default\"".into(),
            });
        }
        if let Some(k) = &props.encryption_key {
            k.allow_service_use(&mut scope, "events.amazonaws.com");
        }
        let handle = scope.add(
            "Resource",
            CfnEventBus {
                kms_key_identifier: props.encryption_key.as_ref().map(Key::arn),
                description: props.description.as_deref().map(Val::from),
                ..CfnEventBus::new(name.as_str())
            },
        );
        let archive = match props.archive {
            Archive::Days(days) => {
                check_range(&path, "archive retention (days)", days.into(), 1, 3650)?;
                Some(scope.add(
                    "Archive",
                    CfnArchive {
                        retention_days: Some(days.into()),
                        kms_key_identifier: props.encryption_key.as_ref().map(Key::arn),
                        description: Some(format!("Every event of {name}, for replay").into()),
                        ..CfnArchive::new(handle.attr_arn())
                    },
                ))
            }
            Archive::Off => None,
        };
        Ok(EventBus { handle, name, path, archive })
    }

    /// `Fn::GetAtt Arn`.
    pub fn arn(&self) -> Val<String> {
        self.handle.attr_arn()
    }
    /// The bus name (a literal: it is known at synth).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// `Ref`: the bus name, as a reference, so what names the bus is created after it.
    pub fn name_ref(&self) -> Val<String> {
        self.handle.ref_()
    }
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The archive's ARN, if the bus has one.
    pub fn archive_arn(&self) -> Option<Val<String>> {
        self.archive.as_ref().map(|a| a.attr_arn())
    }
}

/// What a rule matches. Every list matches any of its values; an empty list matches anything.
/// <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html>
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventPattern {
    pub source: Vec<String>,
    pub detail_type: Vec<String>,
    /// Top-level fields of `detail` → accepted values.
    pub detail: BTreeMap<String, Vec<String>>,
}

impl EventPattern {
    /// Events of `source` with one of `detail_types`.
    pub fn new(source: &str, detail_types: &[&str]) -> Self {
        EventPattern {
            source: vec![source.to_owned()],
            detail_type: detail_types.iter().map(|s| (*s).to_owned()).collect(),
            detail: BTreeMap::new(),
        }
    }

    pub fn to_json(&self) -> Json {
        let list = |v: &[String]| Node::List(v.iter().map(|s| Node::Str(s.clone())).collect());
        let mut m: Vec<(String, Node)> = Vec::new();
        if !self.source.is_empty() {
            m.push(("source".into(), list(&self.source)));
        }
        if !self.detail_type.is_empty() {
            m.push(("detail-type".into(), list(&self.detail_type)));
        }
        if !self.detail.is_empty() {
            m.push(("detail".into(), Node::Map(self.detail.iter().map(|(k, v)| (k.clone(), list(v))).collect())));
        }
        Json(Node::Map(m))
    }
}

/// Where a rule sends matching events.
#[derive(Clone, Debug)]
pub enum Target {
    /// An SQS queue (the queue policy and key policy let this rule send).
    Queue(Queue),
    /// A Lambda function invoked asynchronously (a permission for this rule is added).
    Function(Function),
    /// A Step Functions state machine (an execution per event, with a role allowed to start it).
    StateMachine(StateMachine),
    /// A CloudWatch Logs log group (its resource policy lets EventBridge write).
    LogGroup(LogGroup),
}

/// Optional settings of a [`Rule`].
#[derive(Clone, Debug, Default)]
pub struct RuleProps {
    /// Default: none.
    pub description: Option<String>,
    /// Retries of a failed delivery, 0 to 185. Default: 185 (EventBridge's own, about 24 hours with backoff).
    pub retry_attempts: Option<u32>,
    /// Seconds an event may wait for delivery, 60 to 86400. Default: 86400.
    pub max_event_age_seconds: Option<u32>,
    /// JSONPath of the part of the event each target receives (`$.detail`). Default: none (the whole event).
    pub input_path: Option<String>,
}

/// A rule on a bus.
#[derive(Clone, Debug)]
pub struct Rule {
    handle: Handle<CfnRule>,
}

impl Rule {
    /// A rule on `bus` sending events matching `pattern` to `targets`; events that cannot be delivered after the
    /// retries go to `dead_letter` (cdk-nag `Serverless-EventBusDLQ`). Resource policies of queue and log group
    /// targets and of `dead_letter` change, so they must be in `scope`'s stack.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        bus: &EventBus,
        pattern: EventPattern,
        targets: Vec<Target>,
        dead_letter: &Queue,
        props: RuleProps,
    ) -> Result<Rule, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        if pattern.source.is_empty() && pattern.detail_type.is_empty() {
            return Err(ConstructError::Invalid {
                path,
                what: "event pattern",
                value: "{}".into(),
                allowed: "name a source or a detail-type: a rule matching every event is a firehose".into(),
            });
        }
        // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quotas.html (5 targets per rule)
        check_range(&path, "number of targets", targets.len() as i64, 1, 5)?;
        let retries = props.retry_attempts.unwrap_or(185);
        check_range(&path, "retry attempts", retries.into(), 0, 185)?;
        let age = props.max_event_age_seconds.unwrap_or(86_400);
        check_range(&path, "maximum event age (s)", age.into(), 60, 86_400)?;

        let handle = scope.add(
            "Resource",
            CfnRule {
                // A reference, not the literal name: CloudFormation then creates the rule after its bus (a
                // literal name lets it try both at once, and the rule fails when it wins the race).
                event_bus_name: Some(bus.name_ref()),
                event_pattern: Some(pattern.to_json().into()),
                description: props.description.as_deref().map(Val::from),
                state: Some(cfn_rule::State::Enabled.into()),
                ..CfnRule::new()
            },
        );
        let rule_arn = handle.attr_arn();
        dead_letter.allow_service_send(&mut scope, "events.amazonaws.com", "EventBridgeDeadLetters", rule_arn.clone());
        let mut cfn_targets = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            let target_id = format!("Target{i}");
            let (arn, role) = match t {
                Target::Queue(q) => {
                    q.allow_service_send(&mut scope, "events.amazonaws.com", "EventBridgeSends", rule_arn.clone());
                    (q.arn(), None)
                }
                Target::Function(f) => {
                    f.allow_invoke(&mut scope, &format!("{target_id}Invoke"), "events.amazonaws.com", rule_arn.clone());
                    (f.invoke_arn(), None)
                }
                Target::StateMachine(m) => {
                    let role = Role::new(
                        &mut scope,
                        &format!("{target_id}Role"),
                        Principal::service("events.amazonaws.com"),
                        RoleProps {
                            description: Some(format!("Lets rule {path} start executions")),
                            ..RoleProps::default()
                        },
                    )?;
                    m.grant_start_execution(&role, &mut scope);
                    (m.arn(), Some(role.arn()))
                }
                Target::LogGroup(g) => {
                    // The policy is part of the group, and the rule names the group: the statement can name
                    // neither by reference (a cycle), so the group needs a name and the source is the account.
                    if g.given_name().is_none() {
                        return Err(ConstructError::Conflict {
                            path,
                            problem: format!(
                                "log group {} is a rule target and needs a name (LogGroupProps::name)",
                                g.path()
                            ),
                        });
                    }
                    let streams = Val::join("", [g.arn_without_streams(), Val::from(":*")]);
                    g.add_to_resource_policy(
                        &mut scope,
                        PolicyStatement::allow(crate::logs::WRITE_ACTIONS.iter().copied(), [streams])
                            .with_principal(Principal::service("events.amazonaws.com"))
                            .with_principal(Principal::service("delivery.logs.amazonaws.com"))
                            .with_sid("EventBridgeWrites")
                            .with_condition("StringEquals", "aws:SourceAccount", synth::account_id()),
                    );
                    (g.arn_without_streams(), None)
                }
            };
            cfn_targets.push(cfn_rule::TargetProperty {
                role_arn: role,
                input_path: props.input_path.as_deref().map(Val::from),
                dead_letter_config: Some(cfn_rule::DeadLetterConfig { arn: Some(dead_letter.arn()) }.into()),
                retry_policy: Some(
                    cfn_rule::RetryPolicy {
                        maximum_retry_attempts: Some(retries.into()),
                        maximum_event_age_in_seconds: Some(age.into()),
                    }
                    .into(),
                ),
                ..cfn_rule::TargetProperty::new(arn, target_id.as_str())
            });
        }
        scope.stack_mut().get_mut(&handle).targets = Some(Val::list(cfn_targets));
        Ok(Rule { handle })
    }

    /// `Fn::GetAtt Arn`.
    pub fn arn(&self) -> Val<String> {
        self.handle.attr_arn()
    }
}
