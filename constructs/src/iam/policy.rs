//! IAM policy documents built from typed statements: deterministic (actions sorted, resources and statements in
//! the order they were granted, equal statements merged) and exact (resources are ARNs, never patterns the caller
//! did not ask for).

use std::collections::{BTreeMap, BTreeSet};

use synth::{Json, Node, Val};

/// `Allow` or `Deny`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// Who a resource policy or trust policy statement is about.
#[derive(Clone, Debug, PartialEq)]
pub enum Principal {
    /// An AWS service (`lambda.amazonaws.com`); an intrinsic for regional principals (`logs.<region>.amazonaws.com`).
    Service(Val<String>),
    /// An IAM principal by ARN (a role, an account root).
    Aws(Val<String>),
    /// This stack's account (`arn:<partition>:iam::<account>:root`): delegates to the account's IAM policies.
    AccountRoot,
    /// Anyone. Only for `Deny` statements (the TLS-only policies); an `Allow` to `*` is what the rule pack forbids.
    Anyone,
}

impl Principal {
    /// A service principal (`Principal::service("events.amazonaws.com")`).
    pub fn service(name: &str) -> Self {
        Principal::Service(Val::from(name))
    }

    fn key(&self) -> &'static str {
        match self {
            Principal::Service(_) => "Service",
            Principal::Aws(_) | Principal::AccountRoot => "AWS",
            Principal::Anyone => "*",
        }
    }

    fn value(&self) -> Node {
        match self {
            Principal::Service(v) | Principal::Aws(v) => v.node().clone(),
            Principal::AccountRoot => Val::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root").into_node(),
            Principal::Anyone => Node::Str("*".into()),
        }
    }
}

/// One statement of a policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyStatement {
    pub sid: Option<String>,
    pub effect: Effect,
    /// Principals (resource and trust policies only; empty in identity policies).
    pub principals: Vec<Principal>,
    /// Actions, sorted (`dynamodb:GetItem`); never a wildcard unless built with [`PolicyStatement::any_resource`]
    /// on purpose.
    pub actions: BTreeSet<String>,
    /// Resource ARNs in the order they were given, without duplicates.
    pub resources: Vec<Val<String>>,
    /// `Condition`: operator → key → value(s).
    pub conditions: BTreeMap<String, BTreeMap<String, Node>>,
    /// Why the statement names `"*"` as resource: required for such statements, written to the policy's metadata
    /// (`rcdk:iam-wildcards`), where the rule pack looks for it.
    pub wildcard_reason: Option<String>,
}

/// The metadata key listing the reasons for `"*"` resources of a role's policy.
pub const WILDCARD_METADATA_KEY: &str = "rcdk:iam-wildcards";

impl PolicyStatement {
    /// `Allow` of `actions` on `resources` (exact ARNs).
    pub fn allow<'a>(
        actions: impl IntoIterator<Item = &'a str>,
        resources: impl IntoIterator<Item = Val<String>>,
    ) -> Self {
        Self::new(Effect::Allow, actions, resources)
    }

    /// `Deny` of `actions` on `resources`.
    pub fn deny<'a>(
        actions: impl IntoIterator<Item = &'a str>,
        resources: impl IntoIterator<Item = Val<String>>,
    ) -> Self {
        Self::new(Effect::Deny, actions, resources)
    }

    /// `Allow` of `actions` on `"*"`: only for actions AWS does not scope to a resource (X-Ray's
    /// `PutTraceSegments`, <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html>),
    /// and only with the reason, which ends up in the template.
    pub fn any_resource<'a>(actions: impl IntoIterator<Item = &'a str>, reason: &str) -> Self {
        let mut s = Self::new(Effect::Allow, actions, [Val::from("*")]);
        s.wildcard_reason = Some(reason.to_owned());
        s
    }

    fn new<'a>(
        effect: Effect,
        actions: impl IntoIterator<Item = &'a str>,
        resources: impl IntoIterator<Item = Val<String>>,
    ) -> Self {
        let mut s = PolicyStatement {
            sid: None,
            effect,
            principals: Vec::new(),
            actions: actions.into_iter().map(str::to_owned).collect(),
            resources: Vec::new(),
            conditions: BTreeMap::new(),
            wildcard_reason: None,
        };
        for r in resources {
            s.add_resource(r);
        }
        s
    }

    /// Adds a principal (resource and trust policies).
    pub fn with_principal(mut self, p: Principal) -> Self {
        if !self.principals.contains(&p) {
            self.principals.push(p);
        }
        self
    }

    /// Adds a condition (`StringEquals`, `aws:SourceArn`, value). A list value matches any of its items.
    pub fn with_condition(mut self, operator: &str, key: &str, value: impl Into<Node>) -> Self {
        self.conditions.entry(operator.to_owned()).or_default().insert(key.to_owned(), value.into());
        self
    }

    /// Sets the statement id.
    pub fn with_sid(mut self, sid: &str) -> Self {
        self.sid = Some(sid.to_owned());
        self
    }

    fn add_resource(&mut self, r: Val<String>) {
        if !self.resources.contains(&r) {
            self.resources.push(r);
        }
    }

    /// True when a resource is `"*"`.
    pub fn has_wildcard_resource(&self) -> bool {
        self.resources.iter().any(|r| r.node().as_str() == Some("*"))
    }

    /// The statement as template JSON: keys in the order IAM documents them; a single action or resource is a
    /// string, several are a list.
    pub fn to_node(&self) -> Node {
        let mut m: Vec<(String, Node)> = Vec::new();
        if let Some(sid) = &self.sid {
            m.push(("Sid".into(), Node::Str(sid.clone())));
        }
        m.push(("Effect".into(), Node::Str(self.effect.as_str().into())));
        if !self.principals.is_empty() {
            if self.principals.iter().any(|p| matches!(p, Principal::Anyone)) {
                m.push(("Principal".into(), Node::Str("*".into())));
            } else {
                let mut by_key: BTreeMap<&str, Vec<Node>> = BTreeMap::new();
                for p in &self.principals {
                    by_key.entry(p.key()).or_default().push(p.value());
                }
                let fields = by_key.into_iter().map(|(k, v)| (k.to_owned(), one_or_list(v))).collect();
                m.push(("Principal".into(), Node::Map(fields)));
            }
        }
        m.push(("Action".into(), one_or_list(self.actions.iter().map(|a| Node::Str(a.clone())).collect())));
        if !self.resources.is_empty() {
            m.push(("Resource".into(), one_or_list(self.resources.iter().map(|r| r.node().clone()).collect())));
        }
        if !self.conditions.is_empty() {
            let ops = self
                .conditions
                .iter()
                .map(|(op, keys)| (op.clone(), Node::Map(keys.iter().map(|(k, v)| (k.clone(), v.clone())).collect())))
                .collect();
            m.push(("Condition".into(), Node::Map(ops)));
        }
        Node::Map(m)
    }

    /// `(operator, key)` when `other` equals this statement except for the value of that one condition key.
    fn differs_in_one_condition_value(&self, other: &PolicyStatement) -> Option<(String, String)> {
        if self.effect != other.effect
            || self.principals != other.principals
            || self.actions != other.actions
            || self.resources != other.resources
            || self.sid != other.sid
            || self.wildcard_reason != other.wildcard_reason
            || self.conditions.len() != other.conditions.len()
        {
            return None;
        }
        let mut diff = None;
        for (op, keys) in &self.conditions {
            let theirs = other.conditions.get(op)?;
            if keys.len() != theirs.len() {
                return None;
            }
            for (k, v) in keys {
                let t = theirs.get(k)?;
                if t != v {
                    if diff.is_some() {
                        return None;
                    }
                    diff = Some((op.clone(), k.clone()));
                }
            }
        }
        diff
    }

    /// Same effect, principals, conditions and sid: the statements differ only in actions and resources.
    fn same_scope(&self, other: &PolicyStatement) -> bool {
        self.effect == other.effect
            && self.principals == other.principals
            && self.conditions == other.conditions
            && self.sid == other.sid
            && self.wildcard_reason == other.wildcard_reason
    }
}

fn one_or_list(mut v: Vec<Node>) -> Node {
    if v.len() == 1 { v.remove(0) } else { Node::List(v) }
}

/// A policy document: statements in grant order, merged where that changes nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyDocument {
    statements: Vec<PolicyStatement>,
}

impl PolicyDocument {
    pub fn new() -> Self {
        PolicyDocument::default()
    }

    /// Adds a statement. A statement that only adds actions to an existing one's resources (or resources to an
    /// existing one's actions) is merged into it, so repeated grants do not grow the document.
    pub fn add(&mut self, s: PolicyStatement) {
        for e in &mut self.statements {
            // Same statement but for the value of one condition key (a second rule allowed to send to a queue):
            // one statement whose condition accepts either value.
            if let Some((op, key)) = e.differs_in_one_condition_value(&s) {
                let mut values = match e.conditions[&op][&key].clone() {
                    Node::List(l) => l,
                    one => vec![one],
                };
                let new = match &s.conditions[&op][&key] {
                    Node::List(l) => l.clone(),
                    one => vec![one.clone()],
                };
                for v in new {
                    if !values.contains(&v) {
                        values.push(v);
                    }
                }
                if let Some(keys) = e.conditions.get_mut(&op) {
                    keys.insert(key, Node::List(values));
                }
                return;
            }
            if !e.same_scope(&s) {
                continue;
            }
            if e.resources == s.resources {
                e.actions.extend(s.actions);
                return;
            }
            if e.actions == s.actions {
                for r in s.resources {
                    e.add_resource(r);
                }
                return;
            }
        }
        self.statements.push(s);
    }

    pub fn statements(&self) -> &[PolicyStatement] {
        &self.statements
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The document as template JSON (`Version` 2012-10-17, the current policy language).
    pub fn to_json(&self) -> Json {
        Json::obj([
            ("Version", Node::from("2012-10-17")),
            ("Statement", Node::List(self.statements.iter().map(PolicyStatement::to_node).collect())),
        ])
    }

    /// The reasons given for `"*"` resources, as written to metadata: `[{actions, reason}]`.
    pub fn wildcard_reasons(&self) -> Node {
        let items = self
            .statements
            .iter()
            .filter_map(|s| {
                let reason = s.wildcard_reason.as_ref()?;
                Some(Node::Map(vec![
                    ("actions".into(), Node::List(s.actions.iter().map(|a| Node::Str(a.clone())).collect())),
                    ("reason".into(), Node::Str(reason.clone())),
                ]))
            })
            .collect();
        Node::List(items)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_sorted_and_single_values_are_strings() {
        let s = PolicyStatement::allow(["sqs:SendMessage", "sqs:GetQueueUrl"], [Val::from("arn:q")]);
        assert_eq!(
            s.to_node().to_json(),
            serde_json::json!({"Effect": "Allow", "Action": ["sqs:GetQueueUrl", "sqs:SendMessage"], "Resource": "arn:q"})
        );
    }

    #[test]
    fn grants_on_the_same_resources_merge() {
        let mut d = PolicyDocument::new();
        d.add(PolicyStatement::allow(["dynamodb:GetItem"], [Val::from("arn:t")]));
        d.add(PolicyStatement::allow(["dynamodb:Query"], [Val::from("arn:t")]));
        d.add(PolicyStatement::allow(["dynamodb:Query"], [Val::from("arn:t"), Val::from("arn:t/index/*")]));
        assert_eq!(d.statements().len(), 2);
        assert_eq!(d.statements()[0].actions.len(), 2);
    }

    #[test]
    fn same_actions_on_other_resources_merge() {
        let mut d = PolicyDocument::new();
        d.add(PolicyStatement::allow(["sqs:SendMessage"], [Val::from("arn:a")]));
        d.add(PolicyStatement::allow(["sqs:SendMessage"], [Val::from("arn:b")]));
        assert_eq!(d.statements().len(), 1);
        assert_eq!(d.statements()[0].resources.len(), 2);
    }

    #[test]
    fn conditions_keep_statements_apart() {
        let mut d = PolicyDocument::new();
        d.add(PolicyStatement::allow(["kms:Decrypt"], [Val::from("arn:k")]));
        d.add(PolicyStatement::allow(["kms:Encrypt"], [Val::from("arn:k")]).with_condition(
            "StringEquals",
            "kms:ViaService",
            "sqs.eu-west-1.amazonaws.com",
        ));
        assert_eq!(d.statements().len(), 2);
    }

    #[test]
    fn a_second_source_widens_the_condition() {
        let mut d = PolicyDocument::new();
        let s = |src: &str| {
            PolicyStatement::allow(["sqs:SendMessage"], [Val::from("arn:q")])
                .with_principal(Principal::service("events.amazonaws.com"))
                .with_condition("ArnEquals", "aws:SourceArn", src)
        };
        d.add(s("arn:rule/a"));
        d.add(s("arn:rule/b"));
        d.add(s("arn:rule/a"));
        assert_eq!(d.statements().len(), 1);
        assert_eq!(
            d.statements()[0].to_node().to_json()["Condition"],
            serde_json::json!({"ArnEquals": {"aws:SourceArn": ["arn:rule/a", "arn:rule/b"]}})
        );
    }

    #[test]
    fn wildcard_statements_carry_their_reason() {
        let mut d = PolicyDocument::new();
        d.add(PolicyStatement::any_resource(["xray:PutTraceSegments"], "no resource-level permissions"));
        assert!(d.statements()[0].has_wildcard_resource());
        assert_eq!(
            d.wildcard_reasons().to_json(),
            serde_json::json!([{"actions": ["xray:PutTraceSegments"], "reason": "no resource-level permissions"}])
        );
    }

    #[test]
    fn anyone_principal_is_a_plain_star() {
        let s = PolicyStatement::deny(["sqs:*"], [Val::from("arn:q")]).with_principal(Principal::Anyone);
        assert_eq!(s.to_node().to_json()["Principal"], serde_json::json!("*"));
    }
}
