//! The validation pass: every problem of a rendered template, all at once, each with its construct path.
//!
//! Checks, in order: logical ids (format, duplicates), template limits, references (`Ref`, `Fn::GetAtt`,
//! `Fn::Sub`, `Fn::If`, `Fn::FindInMap`, `DependsOn`, `Condition`), dependency cycles, and properties against the
//! resource schema (required, unknown keys, types, enums, ranges, lengths, patterns). Limits are CloudFormation's
//! quotas: <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html>.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::diag::Diagnostic;
use crate::doc::{Doc, DocResource};
use crate::schema::{Kind, Shape, StringRules};
use crate::value::{Cond, Intrinsic, Node, Pseudo, split_sub_token, sub_tokens};

/// Most resources a stack may declare.
pub const MAX_RESOURCES: usize = 500;
/// Most parameters, outputs and mappings a template may declare.
pub const MAX_PARAMETERS: usize = 200;
pub const MAX_OUTPUTS: usize = 200;
pub const MAX_MAPPINGS: usize = 200;
/// Largest template body CloudFormation accepts inline (`TemplateBody`).
pub const MAX_INLINE_BYTES: usize = 51_200;
/// Largest template CloudFormation accepts from S3 (`TemplateURL`).
pub const MAX_TEMPLATE_BYTES: usize = 1_000_000;
/// Longest logical id.
pub const MAX_LOGICAL_ID: usize = 255;

/// The schemas' patterns compiled, each once per synth (not once per stack): `None` for a pattern the
/// `regex-lite` dialect does not accept.
pub(crate) type Patterns = HashMap<&'static str, Option<regex_lite::Regex>>;

struct Ctx<'a> {
    doc: &'a Doc,
    stack: &'a str,
    diags: &'a mut Vec<Diagnostic>,
    resources: HashMap<&'a str, &'a DocResource>,
    regexes: &'a mut Patterns,
}

impl Ctx<'_> {
    fn error(&mut self, path: &str, msg: String) {
        self.diags.push(Diagnostic::error(self.stack, path, msg));
    }
}

/// Validates one rendered template; appends what it finds to `diags`.
pub(crate) fn validate(doc: &Doc, diags: &mut Vec<Diagnostic>, regexes: &mut Patterns) {
    let mut resources = HashMap::with_capacity(doc.resources.len());
    for r in &doc.resources {
        resources.entry(r.logical_id.as_str()).or_insert(r);
    }
    let mut cx = Ctx { doc, stack: &doc.stack_id, diags, resources, regexes };
    logical_ids(&mut cx);
    limits(&mut cx);
    let deps = references(&mut cx);
    cycles(&mut cx, &deps);
    conditions(&mut cx);
    for r in &doc.resources {
        if let Some(schema) = r.schema {
            let mut at = PropPath::root();
            check_object(&mut cx, r, &r.properties, schema.properties, &mut at, schema.type_name);
        }
    }
}

// ---- logical ids and limits --------------------------------------------------------------------------------------

fn valid_logical_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LOGICAL_ID && id.chars().all(|c| c.is_ascii_alphanumeric())
}

fn logical_ids(cx: &mut Ctx) {
    let doc = cx.doc;
    let mut first: HashMap<&str, &str> = HashMap::new();
    for r in &doc.resources {
        if !valid_logical_id(&r.logical_id) {
            cx.error(
                &r.path,
                format!("logical id {:?} is not valid: use 1 to 255 characters from A-Z a-z 0-9", r.logical_id),
            );
        }
        match first.get(r.logical_id.as_str()) {
            Some(other) => {
                let msg = if *other == r.path {
                    format!(
                        "duplicate logical id {:?}: two resources were added at construct path {:?}",
                        r.logical_id, r.path
                    )
                } else {
                    format!(
                        "duplicate logical id {:?}: construct paths {:?} and {:?} both map to it; give one of them another id",
                        r.logical_id, other, r.path
                    )
                };
                cx.error(&r.path, msg);
            }
            None => {
                first.insert(&r.logical_id, &r.path);
            }
        }
    }
    for name in doc.parameters.keys() {
        if !valid_logical_id(name) {
            cx.error(
                &format!("Parameters/{name}"),
                format!("parameter name {name:?} is not valid: use 1 to 255 characters from A-Z a-z 0-9"),
            );
        }
        if let Some(path) = first.get(name.as_str()) {
            cx.error(
                &format!("Parameters/{name}"),
                format!("parameter {name:?} has the logical id of the resource at {path:?}; rename one of them"),
            );
        }
    }
    for name in doc.outputs.keys() {
        if !valid_logical_id(name) {
            cx.error(
                &format!("Outputs/{name}"),
                format!("output name {name:?} is not valid: use 1 to 255 characters from A-Z a-z 0-9"),
            );
        }
    }
    for name in doc.conditions.keys() {
        if !valid_logical_id(name) {
            cx.error(
                &format!("Conditions/{name}"),
                format!("condition name {name:?} is not valid: use 1 to 255 characters from A-Z a-z 0-9"),
            );
        }
    }
}

fn limits(cx: &mut Ctx) {
    let doc = cx.doc;
    let n = doc.resources.len();
    if n > MAX_RESOURCES {
        cx.error("", format!("stack has {n} resources; CloudFormation allows at most {MAX_RESOURCES} per stack: move stateless parts to another stack"));
    }
    for (what, n, max) in [
        ("parameters", doc.parameters.len(), MAX_PARAMETERS),
        ("outputs", doc.outputs.len(), MAX_OUTPUTS),
        ("mappings", doc.mappings.len(), MAX_MAPPINGS),
    ] {
        if n > max {
            cx.error("", format!("stack has {n} {what}; CloudFormation allows at most {max}"));
        }
    }
}

/// Checks the sizes of the written template: an error over 1,000,000 bytes, a note over 51,200.
pub(crate) fn template_size(stack: &str, bytes: usize, diags: &mut Vec<Diagnostic>) {
    if bytes > MAX_TEMPLATE_BYTES {
        diags.push(Diagnostic::error(
            stack,
            "",
            format!(
                "template is {bytes} bytes; CloudFormation accepts at most {MAX_TEMPLATE_BYTES} bytes: split the stack"
            ),
        ));
    } else if bytes > MAX_INLINE_BYTES {
        diags.push(Diagnostic::note(
            stack,
            "",
            format!("template is {bytes} bytes, over the {MAX_INLINE_BYTES} bytes CloudFormation takes inline: deploy uploads it to S3 first"),
        ));
    }
}

// ---- references --------------------------------------------------------------------------------------------------

/// What a name refers to in this template.
enum Referent<'a> {
    Resource(&'a DocResource),
    Parameter,
    Pseudo,
}

fn lookup<'a>(cx: &Ctx<'a>, name: &str) -> Option<Referent<'a>> {
    if let Some(r) = cx.resources.get(name) {
        return Some(Referent::Resource(r));
    }
    if cx.doc.parameters.contains_key(name) {
        return Some(Referent::Parameter);
    }
    Pseudo::is_pseudo(name).then_some(Referent::Pseudo)
}

/// `"; did you mean \"X\"?"` for the candidate closest to `name` when it is close enough to be a typo (case-insensitive
/// edit distance, a swap of neighbours counting once), else the empty string: the suffix of an "unknown name"
/// message.
pub fn suggest<'b>(name: &str, candidates: impl Iterator<Item = &'b str>) -> String {
    let best = candidates
        .map(|c| (edit_distance(&name.to_ascii_lowercase(), &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| {
            let longer = c.len().max(name.len());
            let allowed = if longer >= 5 { (longer / 3).max(2) } else { 1 };
            *d <= allowed && *d < name.len()
        })
        .min();
    match best {
        Some((_, c)) => format!("; did you mean {c:?}?"),
        None => String::new(),
    }
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment), so typos like
/// `Tabel` for `Table` are one edit away.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

fn unknown_name(cx: &Ctx, func: &str, name: &str) -> String {
    let names = cx.resources.keys().copied().chain(cx.doc.parameters.keys().map(String::as_str));
    format!("{func} to unknown resource or parameter {name:?}{}", suggest(name, names))
}

/// Checks every reference of the template and returns what each resource depends on (`DependsOn` plus every
/// reference in its properties), both from one walk of each resource's properties.
fn references<'a>(cx: &mut Ctx<'a>) -> Dependencies<'a> {
    let doc = cx.doc;
    let mut deps: Dependencies<'a> = BTreeMap::new();
    // One buffer for the functions of every resource in turn.
    let mut found: Vec<&'a Intrinsic> = Vec::new();
    for r in &doc.resources {
        found.clear();
        let mut collect = |n: &'a Node| {
            if let Node::Fn(f) = n {
                found.push(&**f);
            }
        };
        r.properties.walk(&mut collect);
        // The UpdatePolicy's references (a CodeDeploy application and group) are checked like the properties'.
        if let Some(p) = &r.update_policy {
            p.walk(&mut collect);
        }
        for f in &found {
            check_intrinsic(cx, &r.path, f);
        }
        let set = deps.entry(r.logical_id.as_str()).or_default();
        add_dependencies(cx, r, &found, set);
        for d in &r.depends_on {
            if d == &r.logical_id {
                cx.error(&r.path, format!("DependsOn names the resource itself ({d:?})"));
            } else if !cx.resources.contains_key(d.as_str()) {
                let msg = format!("DependsOn names unknown resource {d:?}{}", suggest(d, cx.resources.keys().copied()));
                cx.error(&r.path, msg);
            }
        }
        if let Some(c) = &r.condition
            && !doc.conditions.contains_key(c)
        {
            cx.error(&r.path, format!("resource condition {c:?} is not declared in Conditions"));
        }
    }
    for (name, o) in &doc.outputs {
        found.clear();
        let mut push = |n: &'a Node| {
            if let Node::Fn(f) = n {
                found.push(&**f);
            }
        };
        o.value.walk(&mut push);
        if let Some(e) = &o.export_name {
            e.walk(&mut push);
        }
        if found.is_empty() && o.condition.is_none() {
            continue;
        }
        let path = format!("Outputs/{name}");
        for f in &found {
            check_intrinsic(cx, &path, f);
        }
        if let Some(c) = &o.condition
            && !doc.conditions.contains_key(c)
        {
            cx.error(&path, format!("output condition {c:?} is not declared in Conditions"));
        }
    }
    deps
}

fn check_intrinsic(cx: &mut Ctx, path: &str, f: &Intrinsic) {
    match f {
        // A reference into another stack that synth could not link was reported there.
        Intrinsic::Ref(t) | Intrinsic::GetAtt(t, _) if t.stack.as_deref().is_some_and(|s| s != cx.stack) => {}
        Intrinsic::Ref(t) if lookup(cx, &t.logical_id).is_none() => {
            let m = unknown_name(cx, "Ref", &t.logical_id);
            cx.error(path, m);
        }
        Intrinsic::GetAtt(t, attr) => check_get_att(cx, path, "Fn::GetAtt", &t.logical_id, attr),
        Intrinsic::Sub(template, vars) => {
            let vars: BTreeSet<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
            for token in sub_tokens(template) {
                let (head, attr) = split_sub_token(token);
                if vars.contains(token) || vars.contains(head) {
                    continue;
                }
                match attr {
                    Some(a) if !Pseudo::is_pseudo(token) => check_get_att(cx, path, "Fn::Sub", head, a),
                    _ => {
                        if lookup(cx, token).is_none() {
                            let m = unknown_name(cx, "Fn::Sub", token);
                            cx.error(path, m);
                        }
                    }
                }
            }
        }
        Intrinsic::If(c, ..) if !cx.doc.conditions.contains_key(c) => {
            let m = format!(
                "Fn::If names unknown condition {c:?}{}",
                suggest(c, cx.doc.conditions.keys().map(String::as_str))
            );
            cx.error(path, m);
        }
        Intrinsic::FindInMap(m, top, second) => match cx.doc.mappings.get(m) {
            None => {
                let msg = format!(
                    "Fn::FindInMap names unknown mapping {m:?}{}",
                    suggest(m, cx.doc.mappings.keys().map(String::as_str))
                );
                cx.error(path, msg);
            }
            Some(map) => {
                if let Some(k) = top.as_str() {
                    match map.get(k) {
                        None => cx.error(path, format!("Fn::FindInMap: mapping {m:?} has no top-level key {k:?}")),
                        Some(inner) => {
                            if let Some(k2) = second.as_str()
                                && !inner.contains_key(k2)
                            {
                                cx.error(path, format!("Fn::FindInMap: mapping {m:?} has no key {k2:?} under {k:?}"));
                            }
                        }
                    }
                }
            }
        },
        Intrinsic::Select(i, l) => {
            if let (Node::Int(i), Node::List(l)) = (i, l)
                && (*i < 0 || *i as usize >= l.len())
            {
                cx.error(path, format!("Fn::Select index {i} is outside the list of {} items", l.len()));
            }
        }
        _ => {}
    }
}

fn check_get_att(cx: &mut Ctx, path: &str, func: &str, id: &str, attr: &str) {
    match lookup(cx, id) {
        None => {
            let names = cx.resources.keys().copied();
            let m = format!("{func} to unknown resource {id:?}{}", suggest(id, names));
            cx.error(path, m);
        }
        Some(Referent::Parameter | Referent::Pseudo) => {
            cx.error(path, format!("{func} of {id:?}.{attr}: {id:?} is a parameter, not a resource; use Ref"));
        }
        Some(Referent::Resource(r)) => {
            if let Some(schema) = r.schema
                && schema.attribute(attr).is_none()
            {
                let have: Vec<&str> = schema.attributes.iter().map(|a| a.name).collect();
                let allowed = if have.is_empty() { "none".to_owned() } else { have.join(", ") };
                let m = format!(
                    "{func} of {id:?}.{attr}: {} has no attribute {attr:?}; it has: {allowed}",
                    schema.type_name
                );
                cx.error(path, m);
            }
        }
    }
}

// ---- dependency cycles -------------------------------------------------------------------------------------------

/// Resources each resource depends on: `DependsOn` plus every reference in its properties.
type Dependencies<'a> = BTreeMap<&'a str, BTreeSet<&'a str>>;

/// Adds to `set` the resources `r` depends on, given the functions of its properties.
fn add_dependencies<'a>(cx: &Ctx<'a>, r: &'a DocResource, functions: &[&'a Intrinsic], set: &mut BTreeSet<&'a str>) {
    let mut add = |name: &str| {
        if let Some((k, _)) = cx.resources.get_key_value(name) {
            set.insert(k);
        }
    };
    // Self-dependencies are reported on their own, not as a cycle.
    for d in r.depends_on.iter().filter(|d| **d != r.logical_id) {
        add(d);
    }
    for f in functions {
        match f {
            Intrinsic::Ref(t) | Intrinsic::GetAtt(t, _) => add(&t.logical_id),
            Intrinsic::Sub(s, vars) => {
                for tok in sub_tokens(s) {
                    let (head, _) = split_sub_token(tok);
                    if !vars.iter().any(|(k, _)| k == tok || k == head) {
                        add(head);
                    }
                }
            }
            _ => {}
        }
    }
}

fn cycles(cx: &mut Ctx, deps: &Dependencies) {
    // Iterative DFS with colours; each cycle reported once, from its smallest logical id, in sorted order.
    let mut colour: HashMap<&str, u8> = HashMap::new(); // 0 new, 1 on stack, 2 done
    let mut reported: BTreeSet<Vec<&str>> = BTreeSet::new();
    for &start in deps.keys() {
        if colour.get(start).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, deps[start].iter().copied().collect())];
        colour.insert(start, 1);
        while let Some((node, pending)) = stack.last_mut() {
            let node = *node;
            match pending.pop() {
                Some(next) => match colour.get(next).copied().unwrap_or(0) {
                    0 => {
                        colour.insert(next, 1);
                        let nd = deps.get(next).map(|s| s.iter().copied().collect()).unwrap_or_default();
                        stack.push((next, nd));
                    }
                    1 => {
                        let pos = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                        let mut cyc: Vec<&str> = stack[pos..].iter().map(|(n, _)| *n).collect();
                        let min = cyc.iter().enumerate().min_by_key(|(_, n)| **n).map(|(i, _)| i).unwrap_or(0);
                        cyc.rotate_left(min);
                        reported.insert(cyc);
                    }
                    _ => {}
                },
                None => {
                    colour.insert(node, 2);
                    stack.pop();
                }
            }
        }
    }
    for cyc in reported {
        let first = cx.resources[cyc[0]];
        let explicit = cyc.iter().enumerate().all(|(i, a)| {
            let b = cyc[(i + 1) % cyc.len()];
            cx.resources[a].depends_on.iter().any(|d| d == b)
        });
        let mut chain: Vec<&str> = cyc.clone();
        chain.push(cyc[0]);
        let kind = if explicit { "DependsOn cycle" } else { "dependency cycle (DependsOn and references)" };
        let path = first.path.clone();
        cx.error(&path, format!("{kind}: {}", chain.join(" -> ")));
    }
}

// ---- conditions --------------------------------------------------------------------------------------------------

fn conditions(cx: &mut Ctx) {
    let doc = cx.doc;
    for (name, c) in &doc.conditions {
        let at = format!("Conditions/{name}");
        let mut named = Vec::new();
        c.named_refs(&mut named);
        for n in named {
            if !doc.conditions.contains_key(&n) {
                cx.error(&at, format!("condition {name:?} uses unknown condition {n:?}"));
            }
        }
        let mut refs = Vec::new();
        c.walk_nodes(&mut |n| {
            if let Node::Fn(f) = n
                && let Intrinsic::Ref(t) = &**f
            {
                refs.push(t.logical_id.clone());
            }
        });
        for r in refs {
            match lookup(cx, &r) {
                None => {
                    let m = format!("condition {name:?}: Ref to unknown parameter {r:?}");
                    cx.error(&at, m);
                }
                Some(Referent::Resource(_)) => {
                    cx.error(&at, format!("condition {name:?} refers to resource {r:?}; conditions may refer only to parameters and pseudo parameters"));
                }
                Some(_) => {}
            }
        }
    }
    // Cycles among conditions.
    fn visit<'a>(c: &'a str, all: &'a BTreeMap<String, Cond>, seen: &mut Vec<&'a str>) -> Option<Vec<&'a str>> {
        if let Some(i) = seen.iter().position(|s| *s == c) {
            return Some(seen[i..].to_vec());
        }
        seen.push(c);
        let mut named = Vec::new();
        if let Some(cond) = all.get(c) {
            cond.named_refs(&mut named);
        }
        for n in named {
            if let Some((k, _)) = all.get_key_value(&n)
                && let Some(cyc) = visit(k, all, seen)
            {
                return Some(cyc);
            }
        }
        seen.pop();
        None
    }
    let mut reported = BTreeSet::new();
    for name in doc.conditions.keys() {
        if let Some(mut cyc) = visit(name, &doc.conditions, &mut Vec::new()) {
            let min = cyc.iter().enumerate().min_by_key(|(_, n)| **n).map(|(i, _)| i).unwrap_or(0);
            cyc.rotate_left(min);
            if reported.insert(cyc.clone()) {
                let mut chain = cyc.clone();
                chain.push(cyc[0]);
                cx.error(&format!("Conditions/{}", cyc[0]), format!("condition cycle: {}", chain.join(" -> ")));
            }
        }
    }
}

// ---- properties against the schema -------------------------------------------------------------------------------

/// A property path for messages: `Properties.KeySchema[0].KeyType`.
struct PropPath(String);

impl PropPath {
    fn root() -> Self {
        PropPath("Properties".to_owned())
    }
    fn with<T>(&mut self, seg: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.0.len();
        self.0.push('.');
        self.0.push_str(seg);
        let r = f(self);
        self.0.truncate(len);
        r
    }
    fn index<T>(&mut self, i: usize, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.0.len();
        self.0.push_str(&format!("[{i}]"));
        let r = f(self);
        self.0.truncate(len);
        r
    }
}

fn describe(n: &Node) -> &'static str {
    match n {
        Node::Null => "null",
        Node::Bool(_) => "a boolean",
        Node::Int(_) | Node::Float(_) => "a number",
        Node::Str(_) | Node::Unchecked(_) => "a string",
        Node::List(_) => "a list",
        Node::Map(_) => "an object",
        Node::Fn(_) => "a function",
    }
}

fn check_object(cx: &mut Ctx, r: &DocResource, n: &Node, shape: &'static Shape, at: &mut PropPath, type_name: &str) {
    let entries = match n {
        Node::Map(m) => m,
        Node::Null if at.0 == "Properties" => {
            for p in shape.props.iter().filter(|p| p.required) {
                cx.error(&r.path, format!("missing required property \"Properties.{}\" of {type_name}", p.name));
            }
            return;
        }
        Node::Fn(f) => {
            return check_fn_branches(cx, r, f, at, |cx, r, n, at| check_object(cx, r, n, shape, at, type_name));
        }
        other => {
            cx.error(
                &r.path,
                format!("property \"{}\" must be an object ({}), got {}", at.0, shape.name, describe(other)),
            );
            return;
        }
    };
    for p in shape.props.iter().filter(|p| p.required) {
        if !entries.iter().any(|(k, _)| k == p.name) {
            let what = if at.0 == "Properties" { type_name.to_owned() } else { shape.name.to_owned() };
            cx.error(&r.path, format!("missing required property \"{}.{}\" of {what}", at.0, p.name));
        }
    }
    for (k, v) in entries {
        match shape.prop(k) {
            Some(p) => at.with(k, |at| check_value(cx, r, v, &p.kind, at)),
            None if !shape.open => {
                let names = shape.props.iter().map(|p| p.name);
                let msg = format!(
                    "unknown property \"{}.{k}\" of {}{}",
                    at.0,
                    if at.0 == "Properties" { type_name } else { shape.name },
                    suggest(k, names)
                );
                cx.error(&r.path, msg);
            }
            None => {}
        }
    }
}

/// A function value: the branches of `Fn::If` are checked like the value itself; other functions are trusted.
fn check_fn_branches(
    cx: &mut Ctx,
    r: &DocResource,
    f: &Intrinsic,
    at: &mut PropPath,
    check: impl Fn(&mut Ctx, &DocResource, &Node, &mut PropPath),
) {
    if let Intrinsic::If(_, a, b) = f {
        for branch in [a, b] {
            let is_no_value =
                matches!(branch, Node::Fn(g) if matches!(&**g, Intrinsic::Ref(t) if t.logical_id == "AWS::NoValue"));
            if !is_no_value {
                check(cx, r, branch, at);
            }
        }
    }
}

fn check_value(cx: &mut Ctx, r: &DocResource, n: &Node, kind: &'static Kind, at: &mut PropPath) {
    if let Node::Fn(f) = n {
        return check_fn_branches(cx, r, f, at, |cx, r, n, at| check_value(cx, r, n, kind, at));
    }
    if let Node::Null = n {
        cx.error(&r.path, format!("property \"{}\" is null; leave it out instead", at.0));
        return;
    }
    match kind {
        Kind::Json => {}
        Kind::Object(shape) => check_object(cx, r, n, shape, at, shape.name),
        Kind::String(rules) => check_string(cx, r, n, rules, at),
        Kind::Boolean => match n {
            Node::Bool(_) => {}
            Node::Str(s) if s == "true" || s == "false" => {}
            other => cx.error(&r.path, format!("property \"{}\" must be a boolean, got {}", at.0, describe(other))),
        },
        Kind::Integer { min, max } => {
            let v = match n {
                Node::Int(i) => Some(*i as f64),
                Node::Str(s) => s.parse::<i64>().ok().map(|i| i as f64),
                _ => None,
            };
            match v {
                Some(v) => range(cx, r, at, v, min.map(|m| m as f64), max.map(|m| m as f64)),
                None => {
                    cx.error(&r.path, format!("property \"{}\" must be an integer, got {}", at.0, describe_value(n)))
                }
            }
        }
        Kind::Number { min, max } => {
            let v = match n {
                Node::Int(i) => Some(*i as f64),
                Node::Float(f) => Some(*f),
                Node::Str(s) => s.parse::<f64>().ok(),
                _ => None,
            };
            match v {
                Some(v) => range(cx, r, at, v, *min, *max),
                None => cx.error(&r.path, format!("property \"{}\" must be a number, got {}", at.0, describe_value(n))),
            }
        }
        Kind::List { item, min_items, max_items } => match n {
            Node::List(l) => {
                if let Some(min) = min_items
                    && l.len() < *min as usize
                {
                    cx.error(&r.path, format!("property \"{}\" has {} items; at least {min} required", at.0, l.len()));
                }
                if let Some(max) = max_items
                    && l.len() > *max as usize
                {
                    cx.error(&r.path, format!("property \"{}\" has {} items; at most {max} allowed", at.0, l.len()));
                }
                for (i, v) in l.iter().enumerate() {
                    at.index(i, |at| check_value(cx, r, v, item, at));
                }
            }
            other => cx.error(&r.path, format!("property \"{}\" must be a list, got {}", at.0, describe(other))),
        },
        Kind::Map { value } => match n {
            Node::Map(m) => {
                for (k, v) in m {
                    at.with(k, |at| check_value(cx, r, v, value, at));
                }
            }
            other => cx.error(&r.path, format!("property \"{}\" must be an object, got {}", at.0, describe(other))),
        },
    }
}

fn describe_value(n: &Node) -> String {
    match n {
        Node::Str(s) => format!("{s:?}"),
        other => describe(other).to_owned(),
    }
}

fn range(cx: &mut Ctx, r: &DocResource, at: &PropPath, v: f64, min: Option<f64>, max: Option<f64>) {
    let below = min.is_some_and(|m| v < m);
    let above = max.is_some_and(|m| v > m);
    if below || above {
        let fmt = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
        cx.error(&r.path, format!("property \"{}\" is {v}; allowed range is {}..={}", at.0, fmt(min), fmt(max)));
    }
}

fn check_string(cx: &mut Ctx, r: &DocResource, n: &Node, rules: &'static StringRules, at: &PropPath) {
    let s = match n {
        Node::Str(s) => s,
        Node::Unchecked(_) | Node::Int(_) | Node::Float(_) | Node::Bool(_) => return,
        other => {
            cx.error(&r.path, format!("property \"{}\" must be a string, got {}", at.0, describe(other)));
            return;
        }
    };
    if !rules.enum_values.is_empty() && !rules.enum_values.contains(&s.as_str()) {
        let allowed: Vec<String> = rules.enum_values.iter().map(|v| format!("{v:?}")).collect();
        cx.error(
            &r.path,
            format!(
                "property \"{}\" is {s:?}; allowed: {} (use Val::unchecked for a value newer than the spec)",
                at.0,
                allowed.join(", ")
            ),
        );
        return;
    }
    let len = s.chars().count();
    if let Some(min) = rules.min_len
        && len < min as usize
    {
        cx.error(&r.path, format!("property \"{}\" is {s:?} ({len} characters); at least {min} required", at.0));
    }
    if let Some(max) = rules.max_len
        && len > max as usize
    {
        let shown: String = s.chars().take(40).collect();
        cx.error(&r.path, format!("property \"{}\" is {shown:?}... ({len} characters); at most {max} allowed", at.0));
    }
    if let Some(p) = rules.pattern {
        let re = cx.regexes.entry(p).or_insert_with(|| regex_lite::Regex::new(p).ok());
        if let Some(re) = re
            && !re.is_match(s)
        {
            cx.error(&r.path, format!("property \"{}\" is {s:?}, which does not match the pattern {p}", at.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids_are_1_to_255_ascii_alphanumerics() {
        fn check(id: &str, expected: bool) {
            assert_eq!(valid_logical_id(id), expected, "logical id {id:?}");
        }
        check("Table", true);
        check("Table1", true);
        check("1", true);
        check(&"a".repeat(MAX_LOGICAL_ID), true);
        check(&"a".repeat(MAX_LOGICAL_ID + 1), false);
        check("", false);
        check("Orders-Table", false);
        check("Orders/Table", false);
        check("Orders_Table", false);
        check("Täble", false);
    }

    #[test]
    fn edit_distance_counts_a_swap_as_one_edit() {
        fn check(a: &str, b: &str, expected: usize) {
            assert_eq!(edit_distance(a, b), expected, "{a:?} to {b:?}");
            assert_eq!(edit_distance(b, a), expected, "{b:?} to {a:?}");
        }
        check("", "", 0);
        check("Table", "Table", 0);
        check("Table", "", 5);
        check("Table", "Tabel", 1);
        check("Table", "Tables", 1);
        check("Table", "Cable", 1);
        check("ab", "ba", 1);
        check("kitten", "sitting", 3);
        // Optimal string alignment: a swapped pair is not edited again (true Damerau-Levenshtein would say 2).
        check("ca", "abc", 3);
        check("Täble", "Table", 1);
    }

    #[test]
    fn suggestions_are_close_names_only() {
        fn check(name: &str, candidates: &[&str], expected: &str) {
            assert_eq!(suggest(name, candidates.iter().copied()), expected, "{name:?} among {candidates:?}");
        }
        check("Tabel", &["Table", "Queue"], "; did you mean \"Table\"?");
        check("table", &["Table"], "; did you mean \"Table\"?");
        check("Tbl", &["Table"], "; did you mean \"Table\"?");
        check("Tabl", &["Tables", "Table"], "; did you mean \"Table\"?");
        check("Ab", &["Ac"], "; did you mean \"Ac\"?");
        // Ties go to the first name in sorted order.
        check("Bx", &["By", "Ba"], "; did you mean \"Ba\"?");
        check("X", &["Y"], "");
        check("Queue", &["Table"], "");
        check("OrdersTable", &["Table"], "");
        check("Tabel", &[], "");
    }
}
