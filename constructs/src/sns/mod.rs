//! Amazon SNS: the generated CloudFormation types and [`Topic`] (encrypted with a customer managed key, TLS-only
//! topic policy): the platform's alarm topic.

mod generated;
mod grants;
pub(crate) mod rules;

pub use generated::*;
pub use grants::PUBLISH_ACTIONS;

use synth::{Handle, Json, Node, Scope, Val};

use crate::error::ConstructError;
use crate::iam::{PolicyResource, PolicyStatement, Principal};
use crate::kms::Key;

/// Who a topic's messages reach: a person's mailbox or an HTTPS endpoint (a paging service's webhook). Both confirm
/// the subscription before anything is delivered (SNS sends a confirmation message first).
/// <https://docs.aws.amazon.com/sns/latest/dg/sns-create-subscribe-endpoint-to-topic.html>
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
}

impl Subscriber {
    fn protocol_and_endpoint(&self) -> (&'static str, &str) {
        match self {
            Subscriber::Email(a) => ("email", a),
            Subscriber::Https(u) => ("https", u),
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
    pub fn subscribe(&self, scope: &mut Scope, id: &str, subscriber: &Subscriber) -> Result<(), ConstructError> {
        let (protocol, endpoint) = subscriber.protocol_and_endpoint();
        let valid = match subscriber {
            Subscriber::Email(a) => {
                a.split_once('@').is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
                    && !a.contains(char::is_whitespace)
            }
            Subscriber::Https(u) => {
                u.len() > "https://".len() && u.starts_with("https://") && !u.contains(char::is_whitespace)
            }
        };
        if !valid {
            return Err(ConstructError::Invalid {
                path: format!("{}/{id}", self.path),
                what: "subscription endpoint",
                value: endpoint.to_owned(),
                allowed: match subscriber {
                    Subscriber::Email(_) => "an email address such as oncall@example.com".into(),
                    Subscriber::Https(_) => "an https:// URL".into(),
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
}
