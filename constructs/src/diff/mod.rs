//! The typed template diff: what changes between two CloudFormation templates, resource by resource, with the
//! update behaviour CloudFormation applies (in place, may replace, replace) taken from the generated create-only
//! tables, whether the resource holds state, and whether a change broadens access (IAM, security groups, resource
//! policies).
//!
//! Pure logic over JSON, without the AWS SDK: `cargo xtask diff` (offline, against a directory of templates) and
//! the deploy engine (against `GetTemplate` and before executing a change set) both use it, so the refusal rules
//! are one piece of code with its own unit tests.

mod classify;
mod render;

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

pub use classify::{Statefulness, broadening, statefulness};

/// The changes of every stack: printable as text ([`std::fmt::Display`]) or markdown ([`Report::to_markdown`]),
/// serializable as JSON.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub stacks: Vec<StackDiff>,
}

impl Report {
    pub fn has_changes(&self) -> bool {
        self.stacks.iter().any(StackDiff::has_changes)
    }
}

/// One stack's changes.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackDiff {
    pub id: String,
    pub name: String,
    /// No previous template: everything is added.
    pub new_stack: bool,
    pub resources: Vec<ResourceDiff>,
    pub outputs: Vec<Change>,
}

impl StackDiff {
    pub fn has_changes(&self) -> bool {
        self.new_stack || !self.resources.is_empty() || !self.outputs.is_empty()
    }

    /// Resources whose state this change destroys: a stateful resource removed or replaced (or possibly
    /// replaced: a conditional create-only property changed).
    pub fn destroys_state(&self) -> impl Iterator<Item = &ResourceDiff> {
        self.resources.iter().filter(|r| r.destroys_state())
    }

    /// Resources whose change broadens access.
    pub fn broadening(&self) -> impl Iterator<Item = &ResourceDiff> {
        self.resources.iter().filter(|r| !r.broadening.is_empty())
    }
}

/// One resource's change.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDiff {
    pub logical_id: String,
    pub type_name: String,
    pub action: Action,
    /// The strongest update behaviour among the changed properties (`Modify` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
    /// Whether the resource holds data that a replacement or deletion loses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stateful: Option<Statefulness>,
    /// The resource's `DeletionPolicy` is `Retain` (or `RetainExceptOnCreate`): a removal keeps it in the account.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retained: bool,
    /// What this change opens, one line each (`allow s3:GetObject on *`, `ingress tcp 22 from 0.0.0.0/0`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub broadening: Vec<String>,
    pub changes: Vec<Change>,
}

impl ResourceDiff {
    /// The resource is (or may be) replaced by this change.
    pub fn replaces(&self) -> bool {
        self.action == Action::Modify && self.impact.is_some_and(|i| i >= Impact::MayReplace)
    }

    /// A stateful resource removed, replaced or possibly replaced. A retained resource that is removed keeps its
    /// data in the account, so it destroys nothing (the stack just lets go of it).
    pub fn destroys_state(&self) -> bool {
        self.stateful.is_some() && (self.replaces() || (self.action == Action::Remove && !self.retained))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Add,
    Remove,
    Modify,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Impact {
    InPlace,
    MayReplace,
    Replace,
}

/// A changed leaf: `Properties.KeySchema[0].AttributeName`, `DeletionPolicy`, `Outputs.ApiUrl`.
#[derive(Debug, PartialEq, Serialize)]
pub struct Change {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
}

/// The diff of one stack's templates; `old` is `None` for a stack not deployed (or synthesized) before.
pub fn diff_stack(id: &str, name: &str, old: Option<&Value>, new: &Value) -> StackDiff {
    let (old_res, new_res) = (section(old, "Resources"), section(Some(new), "Resources"));
    let ids: BTreeSet<&String> = old_res.keys().chain(new_res.keys()).collect();
    let mut resources = Vec::new();
    for lid in ids {
        let (o, n) = (old_res.get(lid), new_res.get(lid));
        let Some(r) = o.or(n) else { continue };
        let action = match (o, n) {
            (None, Some(_)) => Action::Add,
            (Some(_), None) => Action::Remove,
            (Some(o), Some(n)) if o != n => Action::Modify,
            _ => continue,
        };
        let type_name = type_of(n.unwrap_or(r));
        let changes = match (o, n) {
            (Some(o), Some(n)) => resource_changes(o, n),
            _ => Vec::new(),
        };
        let impact = if action == Action::Modify { changes.iter().filter_map(|c| c.impact).max() } else { None };
        let retained =
            matches!(r.get("DeletionPolicy").and_then(Value::as_str), Some("Retain" | "RetainExceptOnCreate"))
                && action == Action::Remove;
        resources.push(ResourceDiff {
            logical_id: lid.clone(),
            stateful: statefulness(&type_name),
            broadening: broadening(&type_name, o, n),
            type_name,
            action,
            impact,
            retained,
            changes,
        });
    }
    let (oo, no) = (section(old, "Outputs"), section(Some(new), "Outputs"));
    let names: BTreeSet<&String> = oo.keys().chain(no.keys()).collect();
    let outputs = names
        .into_iter()
        .filter(|k| oo.get(*k) != no.get(*k))
        .map(|k| Change {
            path: format!("Outputs.{k}"),
            old: oo.get(k).cloned(),
            new: no.get(k).cloned(),
            impact: None,
        })
        .collect();
    StackDiff { id: id.to_owned(), name: name.to_owned(), new_stack: old.is_none(), resources, outputs }
}

fn section(t: Option<&Value>, key: &str) -> Map<String, Value> {
    t.and_then(|t| t.get(key)).and_then(Value::as_object).cloned().unwrap_or_default()
}

fn type_of(r: &Value) -> String {
    r.get("Type").and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The changed leaves of one resource, each with the update behaviour of its property path.
fn resource_changes(o: &Value, n: &Value) -> Vec<Change> {
    let type_name = type_of(n);
    let mut changes = Vec::new();
    if type_of(o) != type_name {
        changes.push(Change {
            path: "Type".into(),
            old: o.get("Type").cloned(),
            new: n.get("Type").cloned(),
            impact: Some(Impact::Replace),
        });
    }
    let empty = Value::Object(Map::new());
    let (op, np) = (o.get("Properties").unwrap_or(&empty), n.get("Properties").unwrap_or(&empty));
    let mut leaf = Vec::new();
    leaves("Properties", op, np, &mut leaf);
    for (path, old, new) in leaf {
        changes.push(Change { impact: Some(impact_of(&type_name, &path)), path, old, new });
    }
    for attr in ["DependsOn", "Condition", "DeletionPolicy", "UpdatePolicy", "UpdateReplacePolicy", "Metadata"] {
        if o.get(attr) != n.get(attr) {
            changes.push(Change {
                path: attr.into(),
                old: o.get(attr).cloned(),
                new: n.get(attr).cloned(),
                impact: None,
            });
        }
    }
    changes
}

/// The update behaviour of a change at `path` (`Properties.A.B[2].C`), from the type's create-only tables
/// (schema paths `A` or `A/B`, list indices dropped). A type without a generated schema is assumed updated in
/// place: the change set's own `Replacement` answer still applies at deploy.
pub fn impact_of(type_name: &str, path: &str) -> Impact {
    let Some(schema) = crate::registry::schema(type_name) else { return Impact::InPlace };
    let bare: String = {
        let mut s = String::new();
        let mut depth = 0;
        for ch in path.trim_start_matches("Properties.").chars() {
            match ch {
                '[' => depth += 1,
                ']' => depth -= 1,
                '.' if depth == 0 => s.push('/'),
                c if depth == 0 => s.push(c),
                _ => {}
            }
        }
        s
    };
    // A change at `A/B` hits a create-only `A` (its parent) and a create-only `A/B/C` (a part of it).
    let hit = |paths: &[&str]| {
        paths.iter().any(|p| *p == bare || bare.starts_with(&format!("{p}/")) || p.starts_with(&format!("{bare}/")))
    };
    if hit(schema.create_only) {
        Impact::Replace
    } else if hit(schema.conditional_create_only) {
        Impact::MayReplace
    } else {
        Impact::InPlace
    }
}

type Leaf = (String, Option<Value>, Option<Value>);

/// The changed leaves between two JSON values: (path, old, new). Objects are compared key by key; lists of the
/// same length element by element; lists of different lengths by membership (what was removed, what was added,
/// each at its own index), since a rule appended to a list is one change, not a rewrite of the whole list.
/// Intrinsic functions (`{"Ref": ..}`, `{"Fn::...": ..}`) are leaves.
fn leaves(path: &str, old: &Value, new: &Value, out: &mut Vec<Leaf>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) if !is_function(a) && !is_function(b) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = format!("{path}.{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => leaves(&p, x, y, out),
                    (x, y) => out.push((p, x.cloned(), y.cloned())),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                leaves(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, x) in a.iter().enumerate().filter(|(_, x)| !b.contains(x)) {
                out.push((format!("{path}[{i}]"), Some(x.clone()), None));
            }
            for (i, y) in b.iter().enumerate().filter(|(_, y)| !a.contains(y)) {
                out.push((format!("{path}[{i}]"), None, Some(y.clone())));
            }
            if a.iter().all(|x| b.contains(x)) && b.iter().all(|y| a.contains(y)) {
                // Same members, different multiplicity: say so as a whole.
                out.push((path.to_owned(), Some(old.clone()), Some(new.clone())));
            }
        }
        (a, b) if a != b => out.push((path.to_owned(), Some(a.clone()), Some(b.clone()))),
        _ => {}
    }
}

fn is_function(m: &Map<String, Value>) -> bool {
    m.len() == 1 && m.keys().next().is_some_and(|k| k == "Ref" || k.starts_with("Fn::"))
}

#[cfg(test)]
mod tests;
