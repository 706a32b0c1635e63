//! Writes a [`Doc`] as template JSON: fixed section order, resources sorted by logical id, one-space indent,
//! `\n`-terminated. Nothing here depends on time, hashing or iteration order of a hash map.

use std::fmt::Write;

use crate::doc::{Doc, DocResource};
use crate::template::{Output, Parameter};
use crate::value::{Cond, Node};

/// A JSON value being written: either a node or a pre-built object of such values, in order.
enum J<'a> {
    N(&'a Node),
    Owned(Node),
    Raw(serde_json::Value),
    Obj(Vec<(&'a str, J<'a>)>),
    OwnedObj(Vec<(String, J<'a>)>),
}

pub(crate) fn render(doc: &Doc) -> String {
    let mut top: Vec<(&str, J)> = vec![("AWSTemplateFormatVersion", J::Owned(Node::Str("2010-09-09".into())))];
    if let Some(d) = &doc.description {
        top.push(("Description", J::Owned(Node::Str(d.clone()))));
    }
    if !doc.metadata.is_empty() {
        top.push(("Metadata", J::OwnedObj(doc.metadata.iter().map(|(k, v)| (k.clone(), J::N(v))).collect())));
    }
    if !doc.parameters.is_empty() {
        top.push(("Parameters", J::OwnedObj(doc.parameters.iter().map(|(k, p)| (k.clone(), parameter(p))).collect())));
    }
    if !doc.mappings.is_empty() {
        let maps = doc
            .mappings
            .iter()
            .map(|(k, m)| {
                let inner = m
                    .iter()
                    .map(|(k2, second)| {
                        (k2.clone(), J::OwnedObj(second.iter().map(|(k3, v)| (k3.clone(), J::N(v))).collect()))
                    })
                    .collect();
                (k.clone(), J::OwnedObj(inner))
            })
            .collect();
        top.push(("Mappings", J::OwnedObj(maps)));
    }
    if !doc.conditions.is_empty() {
        top.push(("Conditions", J::OwnedObj(doc.conditions.iter().map(|(k, c)| (k.clone(), cond(c))).collect())));
    }
    let mut resources: Vec<&DocResource> = doc.resources.iter().collect();
    resources.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    top.push(("Resources", J::OwnedObj(resources.into_iter().map(|r| (r.logical_id.clone(), resource(r))).collect())));
    if !doc.outputs.is_empty() {
        top.push(("Outputs", J::OwnedObj(doc.outputs.iter().map(|(k, o)| (k.clone(), output(o))).collect())));
    }
    let mut out = String::with_capacity(4096);
    write_value(&mut out, &J::Obj(top), 0);
    out.push('\n');
    out
}

fn resource(r: &DocResource) -> J<'_> {
    let mut f: Vec<(&str, J)> = vec![("Type", J::Owned(Node::Str(r.type_name.clone())))];
    if !matches!(&r.properties, Node::Map(m) if m.is_empty()) && !matches!(r.properties, Node::Null) {
        f.push(("Properties", J::N(&r.properties)));
    }
    if !r.depends_on.is_empty() {
        let mut d = r.depends_on.clone();
        d.sort();
        d.dedup();
        f.push(("DependsOn", J::Owned(Node::List(d.into_iter().map(Node::Str).collect()))));
    }
    if let Some(c) = &r.condition {
        f.push(("Condition", J::Owned(Node::Str(c.clone()))));
    }
    if let Some(p) = r.deletion_policy {
        f.push(("DeletionPolicy", J::Owned(Node::Str(p.as_str().into()))));
    }
    if let Some(p) = r.update_replace_policy {
        f.push(("UpdateReplacePolicy", J::Owned(Node::Str(p.as_str().into()))));
    }
    if !r.metadata.is_empty() {
        f.push(("Metadata", J::OwnedObj(r.metadata.iter().map(|(k, v)| (k.clone(), J::N(v))).collect())));
    }
    J::Obj(f)
}

fn parameter(p: &Parameter) -> J<'_> {
    let mut f: Vec<(&str, J)> = vec![("Type", J::Owned(Node::Str(p.kind.clone())))];
    if let Some(d) = &p.default {
        f.push(("Default", J::N(d)));
    }
    if let Some(d) = &p.description {
        f.push(("Description", J::Owned(Node::Str(d.clone()))));
    }
    if !p.allowed_values.is_empty() {
        f.push(("AllowedValues", J::Owned(Node::List(p.allowed_values.iter().cloned().map(Node::Str).collect()))));
    }
    if let Some(v) = &p.allowed_pattern {
        f.push(("AllowedPattern", J::Owned(Node::Str(v.clone()))));
    }
    if let Some(v) = p.min_length {
        f.push(("MinLength", J::Owned(Node::Int(v.into()))));
    }
    if let Some(v) = p.max_length {
        f.push(("MaxLength", J::Owned(Node::Int(v.into()))));
    }
    if let Some(v) = p.min_value {
        f.push(("MinValue", J::Owned(num(v))));
    }
    if let Some(v) = p.max_value {
        f.push(("MaxValue", J::Owned(num(v))));
    }
    if p.no_echo {
        f.push(("NoEcho", J::Owned(Node::Bool(true))));
    }
    if let Some(v) = &p.constraint_description {
        f.push(("ConstraintDescription", J::Owned(Node::Str(v.clone()))));
    }
    J::Obj(f)
}

fn num(v: f64) -> Node {
    if v.fract() == 0.0 && v.abs() < 9.0e15 { Node::Int(v as i64) } else { Node::Float(v) }
}

fn output(o: &Output) -> J<'_> {
    let mut f: Vec<(&str, J)> = Vec::new();
    if let Some(d) = &o.description {
        f.push(("Description", J::Owned(Node::Str(d.clone()))));
    }
    f.push(("Value", J::N(&o.value)));
    if let Some(e) = &o.export_name {
        f.push(("Export", J::Obj(vec![("Name", J::N(e))])));
    }
    if let Some(c) = &o.condition {
        f.push(("Condition", J::Owned(Node::Str(c.clone()))));
    }
    J::Obj(f)
}

fn cond(c: &Cond) -> J<'static> {
    J::Raw(c.to_json())
}

fn indent(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push(' ');
    }
}

fn write_str(out: &mut String, s: &str) {
    // serde_json's escaping: the same bytes every time, and valid JSON for any string.
    match serde_json::to_string(s) {
        Ok(q) => out.push_str(&q),
        Err(_) => out.push_str("\"\""),
    }
}

fn write_value(out: &mut String, v: &J, level: usize) {
    match v {
        J::N(n) => write_node(out, n, level),
        J::Owned(n) => write_node(out, n, level),
        J::Raw(v) => write_node(out, &Node::from_json_plain(v), level),
        J::Obj(fields) => write_fields(out, fields.iter().map(|(k, v)| (*k, v)), fields.len(), level),
        J::OwnedObj(fields) => write_fields(out, fields.iter().map(|(k, v)| (k.as_str(), v)), fields.len(), level),
    }
}

fn write_fields<'a, 'b: 'a>(
    out: &mut String,
    fields: impl Iterator<Item = (&'a str, &'a J<'b>)>,
    len: usize,
    level: usize,
) {
    if len == 0 {
        out.push_str("{}");
        return;
    }
    out.push('{');
    for (i, (k, v)) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        indent(out, level + 1);
        write_str(out, k);
        out.push_str(": ");
        write_value(out, v, level + 1);
    }
    indent(out, level);
    out.push('}');
}

fn write_node(out: &mut String, n: &Node, level: usize) {
    match n {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Node::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(num) => {
                let _ = write!(out, "{num}");
            }
            None => out.push_str("null"),
        },
        Node::Str(s) | Node::Unchecked(s) => write_str(out, s),
        Node::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, level + 1);
                write_node(out, item, level + 1);
            }
            indent(out, level);
            out.push(']');
        }
        Node::Map(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(out, level + 1);
                write_str(out, k);
                out.push_str(": ");
                write_node(out, v, level + 1);
            }
            indent(out, level);
            out.push('}');
        }
        Node::Fn(f) => write_node(out, &Node::from_json_plain(&f.to_json()), level),
    }
}

impl Node {
    /// Plain JSON to a node without recognising intrinsics (for already-rendered function bodies).
    pub(crate) fn from_json_plain(v: &serde_json::Value) -> Node {
        use serde_json::Value as V;
        match v {
            V::Null => Node::Null,
            V::Bool(b) => Node::Bool(*b),
            V::Number(n) => match n.as_i64() {
                Some(i) => Node::Int(i),
                None => Node::Float(n.as_f64().unwrap_or(0.0)),
            },
            V::String(s) => Node::Str(s.clone()),
            V::Array(a) => Node::List(a.iter().map(Node::from_json_plain).collect()),
            V::Object(m) => Node::Map(m.iter().map(|(k, v)| (k.clone(), Node::from_json_plain(v))).collect()),
        }
    }
}
