//! Deploy plans and results: per stack, what is done (create, update, nothing), the typed diff, and what is
//! refused. Both [`std::fmt::Display`] (`--output text`) and [`serde::Serialize`] (`--output json`), so a script
//! reads the same facts a person does. SDK-free: the refusal and approval rules are unit-tested here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use constructs::diff::{StackDiff, Statefulness};
use serde::Serialize;

/// What happens to one stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackAction {
    Create,
    Update,
    /// Nothing to do: the deployed template is the synthesized one (no CloudFormation write), or the change set
    /// came back empty (deleted, not executed).
    NoChanges,
}

/// A stateful resource this deploy would replace or delete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub stack: String,
    pub logical_id: String,
    pub type_name: String,
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({}) {}; pass --allow-replace {} to accept the data loss",
            self.stack, self.logical_id, self.type_name, self.reason, self.logical_id
        )
    }
}

/// The stateful resources `diff` would destroy, unless named in `allowed`.
///
/// `service_replaces` are the logical ids the change set says it replaces (`Replacement: True | Conditional`):
/// the generated create-only tables come first, and the service's answer can only add to them. A queue counts
/// only when `queue_holds_messages` says it holds messages.
pub fn refusals(
    diff: &StackDiff,
    service_replaces: &BTreeSet<String>,
    allowed: &BTreeSet<String>,
    queue_holds_messages: &dyn Fn(&str) -> bool,
) -> Vec<Refusal> {
    let mut out = Vec::new();
    for r in &diff.resources {
        let Some(kind) = r.stateful else { continue };
        let replaced_by_service = service_replaces.contains(&r.logical_id);
        if !(r.destroys_state() || replaced_by_service) || allowed.contains(&r.logical_id) {
            continue;
        }
        if kind == Statefulness::WhenNotEmpty && !queue_holds_messages(&r.logical_id) {
            continue;
        }
        let verb = match r.action {
            constructs::diff::Action::Remove => "would be deleted",
            _ if r.impact == Some(constructs::diff::Impact::Replace) => "would be replaced",
            _ if replaced_by_service => "would be replaced (the change set says so)",
            _ => "may be replaced",
        };
        let cause: Vec<&str> = r
            .changes
            .iter()
            .filter(|c| c.impact.is_some_and(|i| i >= constructs::diff::Impact::MayReplace))
            .map(|c| c.path.as_str())
            .collect();
        let reason = if cause.is_empty() { verb.to_owned() } else { format!("{verb} by {}", cause.join(", ")) };
        out.push(Refusal {
            stack: diff.name.clone(),
            logical_id: r.logical_id.clone(),
            type_name: r.type_name.clone(),
            reason,
        });
    }
    out
}

/// `--require-approval`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RequireApproval {
    Never,
    /// Only changes that broaden access (IAM statements, security-group rules, resource policies).
    #[default]
    Broadening,
    /// Every change.
    Any,
}

impl RequireApproval {
    /// Whether `diff` needs a person's yes before it is executed.
    pub fn needed(self, diff: &StackDiff) -> bool {
        match self {
            RequireApproval::Never => false,
            RequireApproval::Broadening => diff.broadening().next().is_some(),
            RequireApproval::Any => diff.has_changes(),
        }
    }
}

/// The plan and outcome of one stack.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackReport {
    pub id: String,
    pub name: String,
    pub region: String,
    pub action: StackAction,
    pub diff: StackDiff,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<Refusal>,
    /// The final stack status (`CREATE_COMPLETE` ...); absent when nothing was executed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub seconds: f64,
}

/// What a deploy did, stack by stack in the order they were deployed.
#[derive(Debug, Default, Serialize)]
pub struct DeployReport {
    pub stacks: Vec<StackReport>,
    /// Stacks changed by `--hotswap` outside CloudFormation (they have drifted).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drifted: Vec<String>,
}

impl DeployReport {
    /// Every stack's outputs: stack name → output → value (what `<out>/outputs.json` holds).
    pub fn outputs(&self) -> BTreeMap<&str, &BTreeMap<String, String>> {
        self.stacks.iter().map(|s| (s.name.as_str(), &s.outputs)).collect()
    }
}

impl fmt::Display for DeployReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.stacks {
            let what = match s.action {
                StackAction::Create => "created",
                StackAction::Update => "updated",
                StackAction::NoChanges => "no changes",
            };
            writeln!(f, "{} ({}, {}): {what} in {:.1} s", s.name, s.id, s.region, s.seconds)?;
            if s.action != StackAction::NoChanges {
                for r in &s.diff.resources {
                    write!(f, "{}", indent(&r.to_string()))?;
                }
            }
            for (k, v) in &s.outputs {
                writeln!(f, "  {k} = {v}")?;
            }
        }
        for d in &self.drifted {
            writeln!(f, "{d}: hotswapped outside CloudFormation, the stack has drifted (a full deploy reconciles it)")?;
        }
        Ok(())
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use constructs::diff::diff_stack;
    use serde_json::json;

    fn diff(old: serde_json::Value, new: serde_json::Value) -> StackDiff {
        diff_stack("Data", "data", Some(&json!({"Resources": old})), &json!({"Resources": new}))
    }

    #[test]
    fn replacing_a_table_is_refused_unless_allowed() {
        let d = diff(
            json!({"T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "a"}}}),
            json!({"T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "b"}}}),
        );
        let none = BTreeSet::new();
        let r = refusals(&d, &none, &none, &|_| true);
        assert_eq!(
            r[0].to_string(),
            "data: T (AWS::DynamoDB::Table) would be replaced by Properties.TableName; pass --allow-replace T to accept the data loss"
        );
        assert!(refusals(&d, &none, &BTreeSet::from(["T".to_owned()]), &|_| true).is_empty());
    }

    #[test]
    fn the_service_answer_adds_to_the_tables() {
        // A property the tables call in-place, which the change set says replaces.
        let d = diff(
            json!({"B": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": []}}}),
            json!({"B": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": [{"Key": "a", "Value": "b"}]}}}),
        );
        let none = BTreeSet::new();
        assert!(refusals(&d, &none, &none, &|_| true).is_empty());
        let r = refusals(&d, &BTreeSet::from(["B".to_owned()]), &none, &|_| true);
        assert_eq!(r[0].reason, "would be replaced (the change set says so)");
    }

    #[test]
    fn an_empty_queue_may_go_a_queue_holding_messages_may_not() {
        let d = diff(json!({"Q": {"Type": "AWS::SQS::Queue"}}), json!({}));
        let none = BTreeSet::new();
        assert!(refusals(&d, &none, &none, &|_| false).is_empty());
        assert_eq!(refusals(&d, &none, &none, &|_| true)[0].reason, "would be deleted");
    }

    #[test]
    fn approval_rules() {
        let role = |a: &str| {
            json!({"R": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": a, "Resource": "*"}]}}]}}})
        };
        let broad = diff(role("s3:GetObject"), role("s3:*"));
        let plain = diff(json!({}), json!({"Q": {"Type": "AWS::SQS::Queue"}}));
        assert!(RequireApproval::Broadening.needed(&broad) && !RequireApproval::Broadening.needed(&plain));
        assert!(RequireApproval::Any.needed(&plain) && !RequireApproval::Never.needed(&broad));
    }
}
