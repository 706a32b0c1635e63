//! `cargo xtask diff [--against DIR] [--output text|json] [--fail]`: what a synth of the current code changes
//! compared with a directory of templates (by default the last `cargo xtask synth` output), resource by resource,
//! with the update behaviour CloudFormation will apply to each changed property (in place, may replace, replace)
//! taken from the generated schemas.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;
use synth::UpdateBehavior;

use crate::project_root;

#[derive(clap::Args, Debug)]
pub struct Diff {
    /// Directory of previously synthesized templates (`<stack id>.template.json`).
    #[arg(long, default_value = "rcdk.out")]
    pub against: PathBuf,
    /// Stage to synthesize.
    #[arg(long, default_value = "dev")]
    pub stage: String,
    /// Another app than the default (see `synth --app`).
    #[arg(long)]
    pub app: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub output: Output,
    /// Exit with an error when anything changed.
    #[arg(long)]
    pub fail: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

impl Diff {
    pub fn run(self) -> Result<()> {
        let app = match &self.app {
            None => crate::synth::build_app(&self.stage)?,
            Some(name) => crate::synth::build_named(name, &self.stage, &[])?,
        };
        let assembly = crate::synth::synthesize(&app)?;
        let against = project_root().join(&self.against);
        let mut plan = Plan { stacks: Vec::new() };
        for s in &assembly.stacks {
            let old = read_template(&against.join(&s.template_file))?;
            let new: Value = serde_json::from_str(&s.template)?;
            plan.stacks.push(diff_stack(&s.id, &s.name, old.as_ref(), &new));
        }
        match self.output {
            Output::Text => print!("{plan}"),
            Output::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        }
        if self.fail && plan.has_changes() {
            bail!("templates changed");
        }
        Ok(())
    }
}

fn read_template(path: &Path) -> Result<Option<Value>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The changes of every stack: printable as text and serializable as JSON.
#[derive(Debug, Serialize)]
pub struct Plan {
    pub stacks: Vec<StackDiff>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.stacks.iter().any(|s| s.new_stack || !s.resources.is_empty() || !s.outputs.is_empty())
    }
}

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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDiff {
    pub logical_id: String,
    pub type_name: String,
    pub action: Action,
    /// The strongest update behaviour among the changed properties (`Modify` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
    pub changes: Vec<Change>,
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

#[derive(Debug, Serialize)]
pub struct Change {
    /// `Properties.TableName`, `DeletionPolicy` ...
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
}

fn diff_stack(id: &str, name: &str, old: Option<&Value>, new: &Value) -> StackDiff {
    let empty = serde_json::Map::new();
    let res = |t: Option<&Value>| {
        t.and_then(|t| t.get("Resources")).and_then(Value::as_object).cloned().unwrap_or_else(|| empty.clone())
    };
    let (old_res, new_res) = (res(old), res(Some(new)));
    let ids: BTreeSet<&String> = old_res.keys().chain(new_res.keys()).collect();
    let mut resources = Vec::new();
    for lid in ids {
        let type_of = |r: &Value| r.get("Type").and_then(Value::as_str).unwrap_or_default().to_owned();
        match (old_res.get(lid), new_res.get(lid)) {
            (None, Some(n)) => resources.push(ResourceDiff {
                logical_id: lid.clone(),
                type_name: type_of(n),
                action: Action::Add,
                impact: None,
                changes: vec![],
            }),
            (Some(o), None) => resources.push(ResourceDiff {
                logical_id: lid.clone(),
                type_name: type_of(o),
                action: Action::Remove,
                impact: None,
                changes: vec![],
            }),
            (Some(o), Some(n)) if o != n => {
                let type_name = type_of(n);
                let schema = constructs::registry::schema(&type_name);
                let mut changes = Vec::new();
                if type_of(o) != type_name {
                    changes.push(Change {
                        path: "Type".into(),
                        old: o.get("Type").cloned(),
                        new: n.get("Type").cloned(),
                        impact: Some(Impact::Replace),
                    });
                }
                let op = o.get("Properties").cloned().unwrap_or(Value::Object(Default::default()));
                let np = n.get("Properties").cloned().unwrap_or(Value::Object(Default::default()));
                let mut leaf = Vec::new();
                leaves("Properties", &op, &np, &mut leaf);
                for (path, old, new) in leaf {
                    let top =
                        path.trim_start_matches("Properties.").split(['.', '[']).next().unwrap_or_default().to_owned();
                    let impact = schema.map(|s| match s.update_behavior(&top) {
                        UpdateBehavior::InPlace => Impact::InPlace,
                        UpdateBehavior::MayReplace => Impact::MayReplace,
                        UpdateBehavior::Replacement => Impact::Replace,
                    });
                    changes.push(Change { path, old, new, impact });
                }
                for attr in ["DependsOn", "Condition", "DeletionPolicy", "UpdateReplacePolicy", "Metadata"] {
                    if o.get(attr) != n.get(attr) {
                        changes.push(Change {
                            path: attr.into(),
                            old: o.get(attr).cloned(),
                            new: n.get(attr).cloned(),
                            impact: None,
                        });
                    }
                }
                let impact = changes.iter().filter_map(|c| c.impact).max();
                resources.push(ResourceDiff {
                    logical_id: lid.clone(),
                    type_name,
                    action: Action::Modify,
                    impact,
                    changes,
                });
            }
            _ => {}
        }
    }
    let outs =
        |t: Option<&Value>| t.and_then(|t| t.get("Outputs")).and_then(Value::as_object).cloned().unwrap_or_default();
    let (oo, no) = (outs(old), outs(Some(new)));
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

/// The changed leaves between two JSON values: (path, old, new). Objects are compared key by key; lists and
/// scalars as wholes (a list's order matters to CloudFormation).
fn leaves(path: &str, old: &Value, new: &Value, out: &mut Vec<(String, Option<Value>, Option<Value>)>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) if !is_function(a) && !is_function(b) => {
            let keys: BTreeMap<&String, ()> = a.keys().chain(b.keys()).map(|k| (k, ())).collect();
            for k in keys.keys() {
                let p = format!("{path}.{k}");
                match (a.get(*k), b.get(*k)) {
                    (Some(x), Some(y)) => leaves(&p, x, y, out),
                    (x, y) => out.push((p, x.cloned(), y.cloned())),
                }
            }
        }
        (a, b) if a != b => out.push((path.to_owned(), Some(a.clone()), Some(b.clone()))),
        _ => {}
    }
}

fn is_function(m: &serde_json::Map<String, Value>) -> bool {
    m.len() == 1 && m.keys().next().is_some_and(|k| k == "Ref" || k.starts_with("Fn::"))
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.stacks {
            let changed = s.new_stack || !s.resources.is_empty() || !s.outputs.is_empty();
            writeln!(
                f,
                "Stack {} ({}){}",
                s.id,
                s.name,
                if s.new_stack {
                    ": new stack"
                } else if changed {
                    ""
                } else {
                    ": no changes"
                }
            )?;
            for r in &s.resources {
                let sign = match r.action {
                    Action::Add => "[+]",
                    Action::Remove => "[-]",
                    Action::Modify => "[~]",
                };
                let impact = match r.impact {
                    Some(Impact::Replace) => "  (REPLACEMENT)",
                    Some(Impact::MayReplace) => "  (may replace)",
                    _ => "",
                };
                writeln!(f, "{sign} {} {}{impact}", r.type_name, r.logical_id)?;
                for c in &r.changes {
                    let show = |v: &Option<Value>| v.as_ref().map(short).unwrap_or_else(|| "(absent)".into());
                    let note = match c.impact {
                        Some(Impact::Replace) => "  [replacement]",
                        Some(Impact::MayReplace) => "  [may replace]",
                        _ => "",
                    };
                    writeln!(f, "    {}: {} -> {}{note}", c.path, show(&c.old), show(&c.new))?;
                }
            }
            for c in &s.outputs {
                let sign = match (&c.old, &c.new) {
                    (None, _) => "[+]",
                    (_, None) => "[-]",
                    _ => "[~]",
                };
                writeln!(f, "{sign} {}", c.path)?;
            }
        }
        Ok(())
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 { format!("{}...", s.chars().take(77).collect::<String>()) } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replacement_comes_from_the_schema() {
        let old = json!({"Resources": {
            "T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "a", "BillingMode": "PROVISIONED"}},
            "Gone": {"Type": "AWS::SQS::Queue"}
        }});
        let new = json!({"Resources": {
            "T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "b", "BillingMode": "PAY_PER_REQUEST"}, "DeletionPolicy": "Retain"},
            "New": {"Type": "AWS::SQS::Queue"}
        }, "Outputs": {"X": {"Value": "1"}}});
        let d = diff_stack("Main", "main", Some(&old), &new);
        let plan = Plan { stacks: vec![d] };
        assert_eq!(
            plan.to_string(),
            "Stack Main (main)\n[-] AWS::SQS::Queue Gone\n[+] AWS::SQS::Queue New\n[~] AWS::DynamoDB::Table T  (REPLACEMENT)\n    Properties.BillingMode: \"PROVISIONED\" -> \"PAY_PER_REQUEST\"\n    Properties.TableName: \"a\" -> \"b\"  [replacement]\n    DeletionPolicy: (absent) -> \"Retain\"\n[+] Outputs.X\n"
        );
        assert!(plan.has_changes());
    }

    #[test]
    fn identical_templates_have_no_changes() {
        let t = json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}}}});
        let plan = Plan { stacks: vec![diff_stack("Main", "main", Some(&t), &t)] };
        assert!(!plan.has_changes());
        assert_eq!(plan.to_string(), "Stack Main (main): no changes\n");
    }
}
