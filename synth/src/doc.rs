//! The rendered template: every section as plain [`Node`]s, after overrides and before JSON.
//!
//! Synth renders each stack to a [`Doc`], rewrites references across stacks, validates the docs and only then
//! writes JSON. Keeping this step separate lets the validator see exactly what will be written.

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::schema::ResourceSchema;
use crate::stack::Stack;
use crate::template::{Mapping, Output, Override, Parameter, Policy};
use crate::value::{Cond, Node};

/// Metadata key listing the property overrides applied to a resource.
pub const OVERRIDES_METADATA_KEY: &str = "rcdk:overrides";

#[derive(Debug)]
pub struct Doc {
    pub stack_id: String,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, Node>,
    pub parameters: BTreeMap<String, Parameter>,
    pub mappings: BTreeMap<String, Mapping>,
    pub conditions: BTreeMap<String, Cond>,
    pub resources: Vec<DocResource>,
    pub outputs: BTreeMap<String, Output>,
}

#[derive(Debug)]
pub struct DocResource {
    pub logical_id: String,
    pub path: String,
    pub type_name: String,
    pub schema: Option<&'static ResourceSchema>,
    pub properties: Node,
    pub depends_on: Vec<String>,
    pub deletion_policy: Option<Policy>,
    pub update_replace_policy: Option<Policy>,
    pub condition: Option<String>,
    pub metadata: BTreeMap<String, Node>,
}

impl Doc {
    /// Renders a stack; problems applying overrides go to `diags`.
    pub fn render(stack: &Stack, diags: &mut Vec<Diagnostic>) -> Doc {
        let resources = stack
            .resources
            .iter()
            .map(|e| {
                let mut properties = e.props.to_properties();
                let mut metadata = e.metadata.clone();
                if !e.overrides.is_empty() {
                    for o in &e.overrides {
                        if let Err(msg) = apply_override(&mut properties, o) {
                            diags.push(Diagnostic::error(&stack.props.id, &e.path, msg));
                        }
                    }
                    let paths = e.overrides.iter().map(|o| Node::Str(format!("Properties.{}", o.path))).collect();
                    metadata.insert(OVERRIDES_METADATA_KEY.to_owned(), Node::List(paths));
                }
                DocResource {
                    logical_id: e.logical_id.clone(),
                    path: e.path.clone(),
                    type_name: e.props.type_name().to_owned(),
                    schema: e.props.schema(),
                    properties,
                    depends_on: e.depends_on.clone(),
                    deletion_policy: e.deletion_policy,
                    update_replace_policy: e.update_replace_policy,
                    condition: e.condition.clone(),
                    metadata,
                }
            })
            .collect();
        Doc {
            stack_id: stack.props.id.clone(),
            description: stack.props.description.clone(),
            metadata: stack.metadata.clone(),
            parameters: stack.parameters.clone(),
            mappings: stack.mappings.clone(),
            conditions: stack.conditions.clone(),
            resources,
            outputs: stack.outputs.clone(),
        }
    }

    /// The resource with logical id `id`.
    pub fn resource(&self, id: &str) -> Option<&DocResource> {
        self.resources.iter().find(|r| r.logical_id == id)
    }
    /// The resources of one type.
    pub fn of_type<'a>(&'a self, type_name: &'a str) -> impl Iterator<Item = &'a DocResource> + 'a {
        self.resources.iter().filter(move |r| r.type_name == type_name)
    }
    /// The resources whose properties refer to `id` (by `Ref`, `Fn::GetAtt` or `Fn::Sub`).
    pub fn referrers<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a DocResource> + 'a {
        self.resources.iter().filter(move |r| r.properties.refers_to(id))
    }

    /// Every value node of the template with where it is: (construct path or section path, node).
    pub fn value_nodes(&self) -> Vec<(String, &Node)> {
        let mut out = Vec::new();
        for r in &self.resources {
            out.push((r.path.clone(), &r.properties));
        }
        for (name, o) in &self.outputs {
            out.push((format!("Outputs/{name}"), &o.value));
            if let Some(e) = &o.export_name {
                out.push((format!("Outputs/{name}"), e));
            }
        }
        out
    }
}

/// Sets or deletes `path` (dot-separated, numeric segments index lists) in `props`.
fn apply_override(props: &mut Node, o: &Override) -> Result<(), String> {
    let segments: Vec<&str> = o.path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(format!("property override path {:?} has an empty segment; write it as \"A.B.0.C\"", o.path));
    }
    if matches!(props, Node::Null) {
        *props = Node::Map(Vec::new());
    }
    let (last, parents) = segments.split_last().ok_or_else(|| "empty property override path".to_owned())?;
    let mut cur = props;
    for (depth, seg) in parents.iter().enumerate() {
        cur = step(cur, seg, o.value.is_some()).ok_or_else(|| {
            format!(
                "cannot apply property override {:?}: Properties.{} is not an object or list",
                o.path,
                segments[..=depth].join(".")
            )
        })?;
    }
    match (&o.value, cur) {
        (Some(v), Node::List(l)) => {
            let i: usize =
                last.parse().map_err(|_| format!("property override {:?}: {last:?} is not a list index", o.path))?;
            match i.cmp(&l.len()) {
                std::cmp::Ordering::Less => l[i] = v.clone(),
                std::cmp::Ordering::Equal => l.push(v.clone()),
                std::cmp::Ordering::Greater => {
                    return Err(format!(
                        "property override {:?}: index {i} is past the end of a list of {}",
                        o.path,
                        l.len()
                    ));
                }
            }
        }
        (Some(v), m @ Node::Map(_)) => {
            if let Some(slot) = m.entry(last) {
                *slot = v.clone();
            }
        }
        (None, Node::List(l)) => {
            let i: usize =
                last.parse().map_err(|_| format!("property override {:?}: {last:?} is not a list index", o.path))?;
            if i < l.len() {
                l.remove(i);
            }
        }
        (None, m @ Node::Map(_)) => {
            m.remove(last);
        }
        _ => {
            return Err(format!("cannot apply property override {:?}: its parent is not an object or list", o.path));
        }
    }
    Ok(())
}

fn step<'a>(cur: &'a mut Node, seg: &str, create: bool) -> Option<&'a mut Node> {
    match cur {
        Node::Map(_) => {
            if cur.get(seg).is_none() && !create {
                return None;
            }
            let next = cur.entry(seg)?;
            if matches!(next, Node::Null) {
                *next = Node::Map(Vec::new());
            }
            Some(next)
        }
        Node::List(l) => {
            let i: usize = seg.parse().ok()?;
            l.get_mut(i)
        }
        _ => None,
    }
}
