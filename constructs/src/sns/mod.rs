//! Amazon SNS: the generated CloudFormation types and [`Topic`] (encrypted with a customer managed key, TLS-only
//! topic policy): the platform's alarm topic.

mod generated;
mod grants;
pub(crate) mod rules;

pub use generated::*;
pub use grants::PUBLISH_ACTIONS;

use synth::{Handle, Json, Node, Scope, Val};

use crate::chatbot::CfnSlackChannelConfiguration;

use crate::error::ConstructError;
use crate::iam::{PolicyResource, PolicyStatement, Principal};
use crate::kms::Key;

/// Who a topic's messages reach: an email address, an HTTPS endpoint or a Slack channel. A mailbox and an HTTPS
/// endpoint (a paging service's webhook) confirm the subscription before anything is delivered (SNS sends a
/// confirmation message first, <https://docs.aws.amazon.com/sns/latest/dg/sns-create-subscribe-endpoint-to-topic.html>);
/// a Slack channel is reached through AWS Chatbot, its workspace authorized once in the Chatbot console
/// (CloudFormation cannot do the OAuth).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Subscriber {
    /// An email address (`oncall@example.com`).
    Email(#[schemars(regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"))] String),
    /// An HTTPS URL. Plain HTTP is not offered: alarm contents would cross the internet in clear text.
    Https(
        #[schemars(regex(pattern = r"^https://[^\s]+$"))]
        String,
    ),
    /// A Slack channel of a workspace authorized in AWS Chatbot: `{ slack = { workspace_id = "T0123ABCD",
    /// channel_id = "C0123ABCD" } }`.
    Slack(SlackChannel),
}

/// A Slack channel AWS Chatbot posts a topic's messages to.
/// <https://docs.aws.amazon.com/chatbot/latest/adminguide/slack-setup.html>
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackChannel {
    /// The workspace (team) id: `T` (`E` for an Enterprise Grid org) and uppercase letters and digits, as Slack
    /// shows it in the workspace's URL and Chatbot in its console (`T0123ABCD`).
    #[schemars(regex(pattern = r"^[TE][0-9A-Z]{2,30}$"))]
    pub workspace_id: String,
    /// The channel id: `C` (public) or `G` (private) and uppercase letters and digits (`C0123ABCD`, in the channel's
    /// details); a channel's name can change, its id cannot.
    #[schemars(regex(pattern = r"^[CG][0-9A-Z]{2,30}$"))]
    pub channel_id: String,
}

impl SlackChannel {
    fn valid(&self) -> bool {
        let id = |s: &str, first: &[char]| {
            (3..=31).contains(&s.len())
                && s.starts_with(first)
                && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        id(&self.workspace_id, &['T', 'E']) && id(&self.channel_id, &['C', 'G'])
    }
}

/// What the Chatbot role may read to render an alarm's notification (its metric graph): CloudWatch's read actions on
/// alarms and metrics, which take no resource-level permissions
/// (<https://docs.aws.amazon.com/chatbot/latest/adminguide/chatbot-iam-policies.html>, the notifications-only
/// policy).
pub const CHATBOT_NOTIFICATION_ACTIONS: &[&str] = &[
    "cloudwatch:DescribeAlarms",
    "cloudwatch:DescribeAlarmHistory",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricWidgetImage",
];

/// What people in the channel may do through the role, at most: read (the AWS managed `ReadOnlyAccess` as the
/// channel's guardrail; the role itself allows less).
pub const CHATBOT_GUARDRAIL_POLICY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

impl Subscriber {
    /// The SNS protocol and endpoint; none for Slack (Chatbot subscribes itself to the topics it is given).
    fn protocol_and_endpoint(&self) -> Option<(&'static str, &str)> {
        match self {
            Subscriber::Email(a) => Some(("email", a)),
            Subscriber::Https(u) => Some(("https", u)),
            Subscriber::Slack(_) => None,
        }
    }
}

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
            PolicyStatement::deny(PUBLISH_ACTIONS.iter().copied(), [handle.ref_()])
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

    /// Subscribes `subscriber` at `<topic>/<id>`. The address must look like one (an email with `@` and a domain, a
    /// URL starting `https://`): a typo would otherwise surface as a subscription that never confirms.
    /// A Slack channel becomes a Chatbot channel configuration on this topic, with a role that reads CloudWatch
    /// (alarm graphs) and the read-only guardrail.
    pub fn subscribe(&self, scope: &mut Scope, id: &str, subscriber: &Subscriber) -> Result<(), ConstructError> {
        let Some((protocol, endpoint)) = subscriber.protocol_and_endpoint() else {
            return match subscriber {
                Subscriber::Slack(channel) => self.to_slack(scope, id, channel),
                _ => Ok(()),
            };
        };
        let valid = match subscriber {
            Subscriber::Email(a) => {
                a.split_once('@').is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
                    && !a.contains(char::is_whitespace)
            }
            Subscriber::Https(u) => {
                u.len() > "https://".len() && u.starts_with("https://") && !u.contains(char::is_whitespace)
            }
            Subscriber::Slack(_) => false,
        };
        if !valid {
            return Err(ConstructError::Invalid {
                path: format!("{}/{id}", self.path),
                what: "subscription endpoint",
                value: endpoint.to_owned(),
                allowed: match subscriber {
                    Subscriber::Email(_) => "an email address such as oncall@example.com".into(),
                    Subscriber::Https(_) | Subscriber::Slack(_) => "an https:// URL".into(),
                },
            });
        }
        let mut scope = scope.child(&self.path_leaf());
        let handle = scope
            .add(id, CfnSubscription { endpoint: Some(endpoint.into()), ..CfnSubscription::new(protocol, self.arn()) });
        crate::common::suppress(
            scope.stack_mut().entry_mut(&handle),
            crate::common::Check::SNS_SUBSCRIPTION_REDRIVE,
            "a notification to people: SNS retries the delivery under its delivery policy, and the alarm or budget that sent it stays in its state on the dashboard until someone acts; a dead-letter queue would keep a page that nobody reads",
        );
        Ok(())
    }

    /// A Chatbot Slack channel configuration at `<topic>/<id>` and its role at `<topic>/<id>Role`.
    fn to_slack(&self, scope: &mut Scope, id: &str, channel: &SlackChannel) -> Result<(), ConstructError> {
        if !channel.valid() {
            return Err(ConstructError::Invalid {
                path: format!("{}/{id}", self.path),
                what: "slack channel",
                value: format!("workspace {} channel {}", channel.workspace_id, channel.channel_id),
                allowed:
                    "a workspace id T... or E... and a channel id C... or G..., uppercase letters and digits (3 to 31)"
                        .into(),
            });
        }
        let mut scope = scope.child(&self.path_leaf());
        let role = crate::iam::Role::new(
            &mut scope,
            &format!("{id}Role"),
            Principal::service("chatbot.amazonaws.com"),
            crate::iam::RoleProps {
                description: Some("AWS Chatbot: renders alarm notifications in Slack".into()),
                ..crate::iam::RoleProps::default()
            },
        )?;
        role.add_to_policy(
            &mut scope,
            PolicyStatement::any_resource(
                CHATBOT_NOTIFICATION_ACTIONS.iter().copied(),
                "CloudWatch's describe and get actions on alarms and metric data take no resource-level permissions (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html)",
            ),
        );
        scope.add(
            id,
            CfnSlackChannelConfiguration {
                sns_topic_arns: Some(Val::list([self.arn()])),
                guardrail_policies: Some(Val::list([Val::from(CHATBOT_GUARDRAIL_POLICY)])),
                user_role_required: Some(false.into()),
                ..CfnSlackChannelConfiguration::new(
                    Val::sub(format!("${{AWS::StackName}}-{id}")),
                    role.arn(),
                    channel.channel_id.as_str(),
                    channel.workspace_id.as_str(),
                )
            },
        );
        Ok(())
    }

    fn path_leaf(&self) -> String {
        self.path.rsplit('/').next().unwrap_or(&self.path).to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use synth::{App, Stack, StackProps};

    use super::*;
    use crate::kms::KeyProps;

    #[test]
    fn subscribers_are_checked_and_added_under_the_topic() {
        let mut app = App::new("t");
        let stack = app.add_stack(Stack::new(StackProps::new("Main", "t-main", "eu-west-1", "dev")));
        let mut root = stack.root();
        let key = Key::new(&mut root, "Key", KeyProps::default()).unwrap_or_else(|e| panic!("{e}"));
        let topic = Topic::new(&mut root, "Alarms", &key).unwrap_or_else(|e| panic!("{e}"));
        let ok =
            [Subscriber::Email("oncall@example.com".into()), Subscriber::Https("https://hooks.example.com/x".into())];
        for (i, s) in ok.iter().enumerate() {
            topic.subscribe(&mut root, &format!("S{i}"), s).unwrap_or_else(|e| panic!("{e}"));
        }
        let bad = [
            (
                Subscriber::Email("oncall".into()),
                "Alarms/B0: invalid subscription endpoint \"oncall\": an email address such as oncall@example.com",
            ),
            (
                Subscriber::Https("http://hooks.example.com".into()),
                "Alarms/B1: invalid subscription endpoint \"http://hooks.example.com\": an https:// URL",
            ),
        ];
        for (i, (s, message)) in bad.iter().enumerate() {
            let e = topic.subscribe(&mut root, &format!("B{i}"), s).map(|_| ()).unwrap_err();
            assert_eq!(e.to_string(), *message);
        }
        let out = app.synth().unwrap_or_else(|e| panic!("{e}"));
        let t: serde_json::Value = serde_json::from_str(&out.stacks[0].template).unwrap_or_default();
        let subs: Vec<(&str, &str)> = ["AlarmsS0", "AlarmsS1"]
            .iter()
            .map(|id| {
                let p = &t["Resources"][id]["Properties"];
                (p["Protocol"].as_str().unwrap_or_default(), p["Endpoint"].as_str().unwrap_or_default())
            })
            .collect();
        assert_eq!(subs, [("email", "oncall@example.com"), ("https", "https://hooks.example.com/x")]);
        assert!(t["Resources"].get("AlarmsB0").is_none());
    }

    #[test]
    fn a_slack_channel_is_a_chatbot_configuration_with_a_read_only_guardrail() {
        let mut app = App::new("t");
        let stack = app.add_stack(Stack::new(StackProps::new("Main", "t-main", "eu-west-1", "dev")));
        let mut root = stack.root();
        let key = Key::new(&mut root, "Key", KeyProps::default()).unwrap_or_else(|e| panic!("{e}"));
        let topic = Topic::new(&mut root, "Alarms", &key).unwrap_or_else(|e| panic!("{e}"));
        let channel =
            |w: &str, c: &str| Subscriber::Slack(SlackChannel { workspace_id: w.into(), channel_id: c.into() });
        topic.subscribe(&mut root, "Slack", &channel("T0123ABCD", "C0123ABCD")).unwrap_or_else(|e| panic!("{e}"));
        for (i, (w, c)) in
            [("C0123ABCD", "C0123ABCD"), ("T0123ABCD", "#alerts"), ("t0123abcd", "C0123ABCD")].iter().enumerate()
        {
            let e = topic.subscribe(&mut root, &format!("Bad{i}"), &channel(w, c)).map(|_| ()).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "Alarms/Bad{i}: invalid slack channel \"workspace {w} channel {c}\": a workspace id T... or E... and a channel id C... or G..., uppercase letters and digits (3 to 31)"
                )
            );
        }
        let out = app.synth().unwrap_or_else(|e| panic!("{e}"));
        let t: serde_json::Value = serde_json::from_str(&out.stacks[0].template).unwrap_or_default();
        let r = &t["Resources"];
        let p = &r["AlarmsSlack"]["Properties"];
        assert_eq!(r["AlarmsSlack"]["Type"], "AWS::Chatbot::SlackChannelConfiguration");
        assert_eq!(
            (p["SlackWorkspaceId"].as_str(), p["SlackChannelId"].as_str()),
            (Some("T0123ABCD"), Some("C0123ABCD"))
        );
        assert_eq!(p["GuardrailPolicies"], serde_json::json!([CHATBOT_GUARDRAIL_POLICY]));
        assert_eq!(p["SnsTopicArns"], serde_json::json!([{"Ref": "Alarms"}]));
        assert_eq!(p["IamRoleArn"], serde_json::json!({"Fn::GetAtt": ["AlarmsSlackRole", "Arn"]}));
        let role = &r["AlarmsSlackRole"]["Properties"];
        assert_eq!(role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"], "chatbot.amazonaws.com");
        assert!(r.as_object().unwrap().keys().all(|k| !k.starts_with("AlarmsBad")));
    }
}
