//! Writes a [`Doc`] as template JSON: fixed section order, resources sorted by logical id, one-space indent,
//! `\n`-terminated. Nothing here depends on time, hashing or iteration order of a hash map.
//!
//! The text is written straight from the borrowed tree into one pre-sized `String`: no intermediate JSON value, no
//! copies of keys or strings (issue 12: a profile of the 1,546-resource synth spent about a third of its samples in
//! the allocator).

use std::fmt::Write;

use crate::doc::{Doc, DocResource};
use crate::template::{Output, Parameter};
use crate::value::{Cond, Intrinsic, Node};

/// Bytes a rendered resource takes on average (the platform's templates: 154,418 bytes for 145 resources, the
/// 1,546-resource platform 1,960,668): sizing the buffer once saves the doublings of a growing `String`.
const BYTES_PER_RESOURCE: usize = 1_300;

pub(crate) fn render(doc: &Doc) -> String {
    let mut w = Writer { out: String::with_capacity(1_024 + BYTES_PER_RESOURCE * doc.resources.len()) };
    let mut top = w.object(0);
    top.str_field(&mut w, "AWSTemplateFormatVersion", "2010-09-09");
    if let Some(d) = &doc.description {
        top.str_field(&mut w, "Description", d);
    }
    if !doc.metadata.is_empty() {
        top.key(&mut w, "Metadata");
        w.node_map(doc.metadata.iter(), 1);
    }
    if !doc.parameters.is_empty() {
        top.key(&mut w, "Parameters");
        let mut o = w.object(1);
        for (k, p) in &doc.parameters {
            o.key(&mut w, k);
            parameter(&mut w, p, 2);
        }
        o.end(&mut w);
    }
    if !doc.mappings.is_empty() {
        top.key(&mut w, "Mappings");
        let mut o = w.object(1);
        for (k, m) in &doc.mappings {
            o.key(&mut w, k);
            let mut inner = w.object(2);
            for (k2, second) in m {
                inner.key(&mut w, k2);
                w.node_map(second.iter(), 3);
            }
            inner.end(&mut w);
        }
        o.end(&mut w);
    }
    if !doc.conditions.is_empty() {
        top.key(&mut w, "Conditions");
        let mut o = w.object(1);
        for (k, c) in &doc.conditions {
            o.key(&mut w, k);
            w.cond(c, 2);
        }
        o.end(&mut w);
    }
    let mut resources: Vec<&DocResource> = doc.resources.iter().collect();
    resources.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    top.key(&mut w, "Resources");
    let mut o = w.object(1);
    for r in resources {
        o.key(&mut w, &r.logical_id);
        resource(&mut w, r, 2);
    }
    o.end(&mut w);
    if !doc.outputs.is_empty() {
        top.key(&mut w, "Outputs");
        let mut o = w.object(1);
        for (k, out) in &doc.outputs {
            o.key(&mut w, k);
            output(&mut w, out, 2);
        }
        o.end(&mut w);
    }
    top.end(&mut w);
    w.out.push('\n');
    w.out
}

fn resource(w: &mut Writer, r: &DocResource, level: usize) {
    let mut o = w.object(level);
    o.str_field(w, "Type", &r.type_name);
    if !matches!(&r.properties, Node::Map(m) if m.is_empty()) && !matches!(r.properties, Node::Null) {
        o.key(w, "Properties");
        w.node(&r.properties, level + 1, Keys::AsGiven);
    }
    if !r.depends_on.is_empty() {
        let mut d: Vec<&str> = r.depends_on.iter().map(String::as_str).collect();
        d.sort_unstable();
        d.dedup();
        o.key(w, "DependsOn");
        w.str_list(d.into_iter(), level + 1);
    }
    if let Some(c) = &r.condition {
        o.str_field(w, "Condition", c);
    }
    if let Some(p) = r.deletion_policy {
        o.str_field(w, "DeletionPolicy", p.as_str());
    }
    if let Some(p) = &r.update_policy {
        o.key(w, "UpdatePolicy");
        w.node(p, level + 1, Keys::AsGiven);
    }
    if let Some(p) = r.update_replace_policy {
        o.str_field(w, "UpdateReplacePolicy", p.as_str());
    }
    if !r.metadata.is_empty() {
        o.key(w, "Metadata");
        w.node_map(r.metadata.iter(), level + 1);
    }
    o.end(w);
}

fn parameter(w: &mut Writer, p: &Parameter, level: usize) {
    let mut o = w.object(level);
    o.str_field(w, "Type", &p.kind);
    if let Some(d) = &p.default {
        o.key(w, "Default");
        w.node(d, level + 1, Keys::AsGiven);
    }
    if let Some(d) = &p.description {
        o.str_field(w, "Description", d);
    }
    if !p.allowed_values.is_empty() {
        o.key(w, "AllowedValues");
        w.str_list(p.allowed_values.iter().map(String::as_str), level + 1);
    }
    if let Some(v) = &p.allowed_pattern {
        o.str_field(w, "AllowedPattern", v);
    }
    if let Some(v) = p.min_length {
        o.key(w, "MinLength");
        w.int(v.into());
    }
    if let Some(v) = p.max_length {
        o.key(w, "MaxLength");
        w.int(v.into());
    }
    if let Some(v) = p.min_value {
        o.key(w, "MinValue");
        w.num(v);
    }
    if let Some(v) = p.max_value {
        o.key(w, "MaxValue");
        w.num(v);
    }
    if p.no_echo {
        o.key(w, "NoEcho");
        w.out.push_str("true");
    }
    if let Some(v) = &p.constraint_description {
        o.str_field(w, "ConstraintDescription", v);
    }
    o.end(w);
}

fn output(w: &mut Writer, out: &Output, level: usize) {
    let mut o = w.object(level);
    if let Some(d) = &out.description {
        o.str_field(w, "Description", d);
    }
    o.key(w, "Value");
    w.node(&out.value, level + 1, Keys::AsGiven);
    if let Some(e) = &out.export_name {
        o.key(w, "Export");
        let mut x = w.object(level + 1);
        x.key(w, "Name");
        w.node(e, level + 2, Keys::AsGiven);
        x.end(w);
    }
    if let Some(c) = &out.condition {
        o.str_field(w, "Condition", c);
    }
    o.end(w);
}

/// How the keys of an object are ordered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// In the order the typed layers gave them.
    AsGiven,
    /// Sorted, a repeated key written once with its last value: what a function's arguments looked like when they
    /// went through `serde_json::Value` (a `BTreeMap` without the `preserve_order` feature). Kept so the
    /// templates stay byte for byte what they were.
    Sorted,
}

struct Writer {
    out: String,
}

/// An object being written: its indent level and whether a field was written yet.
struct Object {
    level: usize,
    empty: bool,
}

impl Object {
    /// Starts a field: the separator, the indent and the key.
    fn key(&mut self, w: &mut Writer, k: &str) {
        if !self.empty {
            w.out.push(',');
        }
        self.empty = false;
        w.indent(self.level + 1);
        w.str(k);
        w.out.push_str(": ");
    }
    fn str_field(&mut self, w: &mut Writer, k: &str, v: &str) {
        self.key(w, k);
        w.str(v);
    }
    fn end(self, w: &mut Writer) {
        if self.empty {
            w.out.push('}');
        } else {
            w.indent(self.level);
            w.out.push('}');
        }
    }
}

/// A list being written, like [`Object`].
struct List {
    level: usize,
    empty: bool,
}

impl List {
    fn item(&mut self, w: &mut Writer) {
        if !self.empty {
            w.out.push(',');
        }
        self.empty = false;
        w.indent(self.level + 1);
    }
    fn end(self, w: &mut Writer) {
        if self.empty {
            w.out.push(']');
        } else {
            w.indent(self.level);
            w.out.push(']');
        }
    }
}

impl Writer {
    fn object(&mut self, level: usize) -> Object {
        self.out.push('{');
        Object { level, empty: true }
    }

    fn list(&mut self, level: usize) -> List {
        self.out.push('[');
        List { level, empty: true }
    }

    fn indent(&mut self, level: usize) {
        const SPACES: &str = "\n                                                                ";
        match SPACES.get(..level + 1) {
            Some(s) => self.out.push_str(s),
            None => {
                self.out.push('\n');
                self.out.extend(std::iter::repeat_n(' ', level));
            }
        }
    }

    /// A JSON string with serde_json's escaping (`"`, `\` and control characters; `\u00XX` in lowercase hex), so
    /// the bytes are the ones `serde_json::to_string` writes.
    fn str(&mut self, s: &str) {
        self.out.push('"');
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0x00..=0x1f => "",
                _ => continue,
            };
            // Escaped bytes are ASCII, so `start..i` is at char boundaries.
            self.out.push_str(&s[start..i]);
            if escape.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.out.push_str("\\u00");
                self.out.push(char::from(HEX[usize::from(b >> 4)]));
                self.out.push(char::from(HEX[usize::from(b & 0xf)]));
            } else {
                self.out.push_str(escape);
            }
            start = i + 1;
        }
        self.out.push_str(&s[start..]);
        self.out.push('"');
    }

    fn int(&mut self, i: i64) {
        let _ = write!(self.out, "{i}");
    }

    fn float(&mut self, f: f64) {
        // serde_json's formatting of a float, and `null` for what JSON cannot hold (NaN, infinities).
        match serde_json::Number::from_f64(f) {
            Some(num) => {
                let _ = write!(self.out, "{num}");
            }
            None => self.out.push_str("null"),
        }
    }

    /// A parameter's number bound: an integer when it is one.
    fn num(&mut self, v: f64) {
        if v.fract() == 0.0 && v.abs() < 9.0e15 { self.int(v as i64) } else { self.float(v) }
    }

    fn str_list<'a>(&mut self, items: impl Iterator<Item = &'a str>, level: usize) {
        let mut l = self.list(level);
        for s in items {
            l.item(self);
            self.str(s);
        }
        l.end(self);
    }

    /// A section whose values are nodes (`Metadata`, a mapping's second level).
    fn node_map<'a>(&mut self, entries: impl Iterator<Item = (&'a String, &'a Node)>, level: usize) {
        let mut o = self.object(level);
        for (k, v) in entries {
            o.key(self, k);
            self.node(v, level + 1, Keys::AsGiven);
        }
        o.end(self);
    }

    fn node(&mut self, n: &Node, level: usize, keys: Keys) {
        match n {
            Node::Null => self.out.push_str("null"),
            Node::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Node::Int(i) => self.int(*i),
            Node::Float(f) => self.float(*f),
            Node::Str(s) | Node::Unchecked(s) => self.str(s),
            Node::List(items) => self.nodes(items.iter(), level, keys),
            Node::Map(m) => {
                let mut o = self.object(level);
                match keys {
                    Keys::AsGiven => {
                        for (k, v) in m {
                            o.key(self, k);
                            self.node(v, level + 1, keys);
                        }
                    }
                    Keys::Sorted => {
                        for (k, v) in sorted(m) {
                            o.key(self, k);
                            self.node(v, level + 1, keys);
                        }
                    }
                }
                o.end(self);
            }
            Node::Fn(f) => self.intrinsic(f, level),
        }
    }

    fn nodes<'a>(&mut self, items: impl Iterator<Item = &'a Node>, level: usize, keys: Keys) {
        let mut l = self.list(level);
        for item in items {
            l.item(self);
            self.node(item, level + 1, keys);
        }
        l.end(self);
    }

    /// `{"Fn::Name": body}`.
    fn intrinsic(&mut self, f: &Intrinsic, level: usize) {
        const K: Keys = Keys::Sorted;
        let mut o = self.object(level);
        o.key(self, f.name());
        let at = level + 1;
        match f {
            Intrinsic::Ref(t) => self.str(&t.logical_id),
            Intrinsic::GetAtt(t, a) => self.str_list([t.logical_id.as_str(), a.as_str()].into_iter(), at),
            Intrinsic::Sub(s, vars) if vars.is_empty() => self.str(s),
            Intrinsic::Sub(s, vars) => {
                let mut l = self.list(at);
                l.item(self);
                self.str(s);
                l.item(self);
                let mut m = self.object(at + 1);
                for (k, v) in sorted(vars) {
                    m.key(self, k);
                    self.node(v, at + 2, K);
                }
                m.end(self);
                l.end(self);
            }
            Intrinsic::Join(sep, v) | Intrinsic::Split(sep, v) => self.str_then(sep, [v], at),
            Intrinsic::If(c, a, b) => self.str_then(c, [a, b], at),
            Intrinsic::FindInMap(m, a, b) => self.str_then(m, [a, b], at),
            Intrinsic::Select(i, v) => self.nodes([i, v].into_iter(), at, K),
            Intrinsic::Cidr(a, b, c) => self.nodes([a, b, c].into_iter(), at, K),
            Intrinsic::GetAZs(v) | Intrinsic::ImportValue(v) | Intrinsic::Base64(v) => self.node(v, at, K),
            Intrinsic::GetStackOutput { stack_name, output_name, region, role_arn } => {
                // In key order (see `Keys::Sorted`).
                let mut m = self.object(at);
                m.key(self, "OutputName");
                self.node(output_name, at + 1, K);
                if let Some(r) = region {
                    m.key(self, "Region");
                    self.node(r, at + 1, K);
                }
                if let Some(r) = role_arn {
                    m.key(self, "RoleArn");
                    self.node(r, at + 1, K);
                }
                m.key(self, "StackName");
                self.node(stack_name, at + 1, K);
                m.end(self);
            }
        }
        o.end(self);
    }

    /// `[name, args...]`: the list form of the functions whose first argument is a plain string.
    fn str_then<const N: usize>(&mut self, first: &str, rest: [&Node; N], level: usize) {
        let mut l = self.list(level);
        l.item(self);
        self.str(first);
        for n in rest {
            l.item(self);
            self.node(n, level + 1, Keys::Sorted);
        }
        l.end(self);
    }

    fn cond(&mut self, c: &Cond, level: usize) {
        const K: Keys = Keys::Sorted;
        let mut o = self.object(level);
        let at = level + 1;
        match c {
            Cond::Equals(a, b) => {
                o.key(self, "Fn::Equals");
                self.nodes([a, b].into_iter(), at, K);
            }
            Cond::And(items) | Cond::Or(items) => {
                o.key(self, if matches!(c, Cond::And(_)) { "Fn::And" } else { "Fn::Or" });
                let mut l = self.list(at);
                for item in items {
                    l.item(self);
                    self.cond(item, at + 1);
                }
                l.end(self);
            }
            Cond::Not(inner) => {
                o.key(self, "Fn::Not");
                let mut l = self.list(at);
                l.item(self);
                self.cond(inner, at + 1);
                l.end(self);
            }
            Cond::Named(n) => o.str_field(self, "Condition", n),
        }
        o.end(self);
    }
}

/// The entries of an object by key, a repeated key once with its last value (see [`Keys::Sorted`]).
fn sorted(m: &[(String, Node)]) -> Vec<(&str, &Node)> {
    let mut v: Vec<(&str, &Node)> = m.iter().map(|(k, v)| (k.as_str(), v)).collect();
    // Stable, so among equal keys the last given stays last, and is the one kept.
    v.sort_by(|a, b| a.0.cmp(b.0));
    let mut out: Vec<(&str, &Node)> = Vec::with_capacity(v.len());
    for (k, n) in v {
        match out.last_mut() {
            Some(last) if last.0 == k => last.1 = n,
            _ => out.push((k, n)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::value::Target;

    /// What the renderer wrote before issue 12: the node through `serde_json::Value` and back, then printed.
    fn via_json(n: &Node) -> String {
        fn plain(v: &serde_json::Value) -> Node {
            use serde_json::Value as V;
            match v {
                V::Null => Node::Null,
                V::Bool(b) => Node::Bool(*b),
                V::Number(n) => match n.as_i64() {
                    Some(i) => Node::Int(i),
                    None => Node::Float(n.as_f64().unwrap_or(0.0)),
                },
                V::String(s) => Node::Str(s.clone()),
                V::Array(a) => Node::List(a.iter().map(plain).collect()),
                V::Object(m) => Node::Map(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
            }
        }
        let mut w = Writer { out: String::new() };
        w.node(&plain(&n.to_json()), 3, Keys::AsGiven);
        w.out
    }

    fn written(n: &Node) -> String {
        let mut w = Writer { out: String::new() };
        w.node(n, 3, Keys::AsGiven);
        w.out
    }

    fn func(i: Intrinsic) -> Node {
        Node::Fn(Box::new(i))
    }

    fn map(fields: &[(&str, Node)]) -> Node {
        Node::Map(fields.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
    }

    #[test]
    fn intrinsics_are_written_as_they_were_through_serde_json() {
        fn check(n: Node) {
            assert_eq!(written(&n), via_json(&n), "{n:?}");
        }
        let s = |v: &str| Node::Str(v.to_owned());
        let unsorted = map(&[("Zeta", s("z")), ("Alpha", Node::Int(1)), ("Mid", Node::List(vec![]))]);
        let repeated = map(&[("B", s("first")), ("A", s("a")), ("B", s("last"))]);
        let r = func(Intrinsic::Ref(Target::local("Table")));
        check(r.clone());
        check(func(Intrinsic::GetAtt(Target::local("Table"), "Arn".into())));
        check(func(Intrinsic::Sub("${A}".into(), vec![])));
        check(func(Intrinsic::Sub("${B}-${A}".into(), vec![("B".into(), r.clone()), ("A".into(), s("a"))])));
        check(func(Intrinsic::Join(",".into(), Node::List(vec![s("a"), r.clone(), unsorted.clone()]))));
        check(func(Intrinsic::Split(",".into(), s("a,b"))));
        check(func(Intrinsic::Select(Node::Int(1), func(Intrinsic::Split(",".into(), s("a,b"))))));
        check(func(Intrinsic::GetAZs(s(""))));
        check(func(Intrinsic::Cidr(s("10.0.0.0/16"), Node::Int(4), Node::Int(8))));
        check(func(Intrinsic::If("IsProd".into(), unsorted.clone(), r.clone())));
        check(func(Intrinsic::If("C".into(), repeated.clone(), map(&[]))));
        check(func(Intrinsic::ImportValue(s("export"))));
        check(func(Intrinsic::Base64(func(Intrinsic::Sub("#!/bin/sh\n\t\"x\"\u{1}".into(), vec![])))));
        check(func(Intrinsic::FindInMap("M".into(), s("k"), r.clone())));
        for (region, role_arn) in [(None, None), (Some(s("us-east-1")), None), (Some(s("r")), Some(s("arn")))] {
            check(func(Intrinsic::GetStackOutput { stack_name: s("stack"), output_name: s("out"), region, role_arn }));
        }
        check(Node::List(vec![func(Intrinsic::If("C".into(), unsorted.clone(), unsorted.clone())), Node::Float(1.5)]));
        check(Node::List(vec![Node::Null, Node::Bool(true), Node::Float(f64::NAN), Node::Unchecked("u".into())]));
        // Objects outside functions keep their order.
        assert_eq!(written(&unsorted), "{\n    \"Zeta\": \"z\",\n    \"Alpha\": 1,\n    \"Mid\": []\n   }");
    }

    #[test]
    fn conditions_are_written_as_they_were_through_serde_json() {
        fn check(c: Cond) {
            let mut w = Writer { out: String::new() };
            w.cond(&c, 3);
            let mut expected = Writer { out: String::new() };
            expected.node(&Node::from_json(c.to_json()), 3, Keys::Sorted);
            assert_eq!(w.out, via_json(&Node::from_json(c.to_json())), "{c:?}");
            assert_eq!(w.out, expected.out, "{c:?}");
        }
        let r = Node::Fn(Box::new(Intrinsic::Ref(Target::local("Stage"))));
        check(Cond::Equals(r.clone(), Node::Str("prod".into())));
        check(Cond::Not(Box::new(Cond::Equals(r.clone(), Node::Str("".into())))));
        check(Cond::And(vec![
            Cond::Named("A".into()),
            Cond::Or(vec![Cond::Named("B".into()), Cond::Named("C".into())]),
        ]));
        check(Cond::Or(vec![]));
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é€😀\u{2028}/");
        for s in [all.as_str(), "", "plain", "\"", "\\", "a\u{7f}b", "\u{0}"] {
            let mut w = Writer { out: String::new() };
            w.str(s);
            assert_eq!(w.out, serde_json::to_string(s).unwrap_or_default(), "{s:?}");
        }
    }

    #[test]
    fn a_template_is_written_in_section_order_with_one_space_indents() {
        let doc = Doc {
            stack_id: "S".into(),
            description: Some("d".into()),
            metadata: Default::default(),
            parameters: Default::default(),
            mappings: Default::default(),
            conditions: Default::default(),
            resources: vec![],
            outputs: Default::default(),
        };
        let expected = json!({"AWSTemplateFormatVersion": "2010-09-09", "Description": "d", "Resources": {}});
        assert_eq!(
            render(&doc),
            "{\n \"AWSTemplateFormatVersion\": \"2010-09-09\",\n \"Description\": \"d\",\n \"Resources\": {}\n}\n"
        );
        assert_eq!(serde_json::from_str::<serde_json::Value>(&render(&doc)).ok(), Some(expected));
    }
}
