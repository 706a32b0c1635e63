//! The rendered template: every section as plain [`Node`]s, after overrides and before JSON.
//!
//! Synth renders each stack to a [`Doc`], rewrites references across stacks, validates the docs and only then
//! writes JSON. Keeping this step separate lets the validator see exactly what will be written.

use std::collections::BTreeMap;

use crate::diag::Diagnostic;
use crate::schema::ResourceSchema;
use crate::stack::Stack;
use crate::template::{Mapping, Output, Override, Parameter, Policy};
use crate::value::{Cond, Node, ToNode};

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
    /// The rendered `UpdatePolicy` attribute.
    pub update_policy: Option<Node>,
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
                    update_policy: e.update_policy.as_ref().map(ToNode::to_node),
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
            if let Some(p) = &r.update_policy {
                out.push((r.path.clone(), p));
            }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Applies an override of `path` (to `value`, or a deletion) to `props`; `Ok` holds the properties after it.
    fn check(
        props: serde_json::Value,
        path: &str,
        value: Option<serde_json::Value>,
        expected: Result<serde_json::Value, &str>,
    ) {
        let mut node = Node::from_json(props.clone());
        let o = Override { path: path.to_owned(), value: value.map(Node::from_json) };
        let got = apply_override(&mut node, &o).map(|()| node.to_json());
        assert_eq!(got, expected.map_err(str::to_owned), "override {path:?} of {props}");
    }

    #[test]
    fn overrides_set_values_at_dotted_paths() {
        check(json!({}), "A", Some(json!(1)), Ok(json!({"A": 1})));
        check(json!(null), "A", Some(json!(1)), Ok(json!({"A": 1})));
        check(json!({"A": {"B": 1, "C": 2}}), "A.B", Some(json!(9)), Ok(json!({"A": {"B": 9, "C": 2}})));
        check(json!({}), "A.B.C", Some(json!("x")), Ok(json!({"A": {"B": {"C": "x"}}})));
        check(json!({"A": 1}), "A", Some(json!({"Ref": "B"})), Ok(json!({"A": {"Ref": "B"}})));
        check(json!({"L": [1, 2]}), "L.0", Some(json!(9)), Ok(json!({"L": [9, 2]})));
        check(json!({"L": [1, 2]}), "L.2", Some(json!(3)), Ok(json!({"L": [1, 2, 3]})));
        check(json!({"L": [{"K": 1}]}), "L.0.K", Some(json!(2)), Ok(json!({"L": [{"K": 2}]})));
        check(json!({"M": {"0": "a"}}), "M.0", Some(json!("b")), Ok(json!({"M": {"0": "b"}})));
    }

    #[test]
    fn deletion_overrides_remove_keys_and_items() {
        check(json!({"A": {"B": 1, "C": 2}}), "A.B", None, Ok(json!({"A": {"C": 2}})));
        check(json!({"A": 1}), "B", None, Ok(json!({"A": 1})));
        check(json!({"L": [1, 2]}), "L.0", None, Ok(json!({"L": [2]})));
        check(json!({"L": [1]}), "L.5", None, Ok(json!({"L": [1]})));
    }

    #[test]
    fn bad_override_paths_are_errors() {
        check(
            json!({}),
            "A..B",
            Some(json!(1)),
            Err("property override path \"A..B\" has an empty segment; write it as \"A.B.0.C\""),
        );
        check(
            json!({}),
            "",
            Some(json!(1)),
            Err("property override path \"\" has an empty segment; write it as \"A.B.0.C\""),
        );
        check(
            json!({"L": [1, 2]}),
            "L.3",
            Some(json!(3)),
            Err("property override \"L.3\": index 3 is past the end of a list of 2"),
        );
        check(json!({"L": [1]}), "L.x", Some(json!(3)), Err("property override \"L.x\": \"x\" is not a list index"));
        check(json!({"L": [1]}), "L.x", None, Err("property override \"L.x\": \"x\" is not a list index"));
        check(
            json!({"A": "s"}),
            "A.B",
            Some(json!(1)),
            Err("cannot apply property override \"A.B\": its parent is not an object or list"),
        );
        check(
            json!({"A": "s"}),
            "A.B.C",
            Some(json!(1)),
            Err("cannot apply property override \"A.B.C\": Properties.A.B is not an object or list"),
        );
        check(
            json!({"A": 1}),
            "X.Y",
            None,
            Err("cannot apply property override \"X.Y\": Properties.X is not an object or list"),
        );
        check(
            json!({"L": [1]}),
            "L.4.K",
            Some(json!(1)),
            Err("cannot apply property override \"L.4.K\": Properties.L.4 is not an object or list"),
        );
    }
}
