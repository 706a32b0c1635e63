//! Registry schema → pinned, trimmed spec.
//!
//! The CloudFormation registry schemas (as shipped, and patched for linting, by cfn-lint) are JSON Schema with
//! extras. The trimmed spec keeps structure only, in a small normal form the generator can read without
//! guessing:
//! - every object with properties is a named definition, referenced with `$ref` (inline objects are hoisted and
//!   named after where they appear; identical shapes share one name);
//! - `type` is one of `string`, `integer`, `number`, `boolean`, `array`, `map` (an object with arbitrary keys, its
//!   values under `values`), `json` (free-form: `format: json`, `["object","string"]`, objects without properties);
//! - `oneOf`/`anyOf`: the typed `$ref` branch is taken and `format: json` string alternatives are ignored;
//!   `allOf`, `if`/`then`, `prefixItems`, `dependentRequired` and similar are dropped;
//! - constraints kept: `enum` (`const` becomes a one-value enum), `minimum`, `maximum`, `minLength`, `maxLength`,
//!   `pattern`, `minItems`, `maxItems`, `required`, `additionalProperties` (as a boolean);
//! - read-only properties leave `properties` and become `attributes` (name → kind), which is what `Fn::GetAtt`
//!   reads; `primaryIdentifier`, `createOnlyProperties`, `conditionalCreateOnlyProperties` and
//!   `writeOnlyProperties` are kept as property paths without the `/properties/` prefix.
//!
//! No description prose is copied.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

pub struct Normalizer<'a> {
    raw_defs: &'a Map<String, Value>,
    out_defs: BTreeMap<String, Value>,
    /// canonical JSON of a hoisted shape → its name
    shapes: BTreeMap<String, String>,
    /// hoisted name → every name hint it was hoisted under (the shortest names it in the end)
    hints: BTreeMap<String, BTreeSet<String>>,
    in_progress: BTreeSet<String>,
}

/// Trims one registry schema.
pub fn normalize(raw: &Value) -> Result<Value> {
    let type_name = raw["typeName"].as_str().context("schema has no typeName")?;
    let empty = Map::new();
    let raw_defs = raw.get("definitions").and_then(Value::as_object).unwrap_or(&empty);
    let mut n = Normalizer {
        raw_defs,
        out_defs: BTreeMap::new(),
        shapes: BTreeMap::new(),
        hints: BTreeMap::new(),
        in_progress: BTreeSet::new(),
    };

    let read_only: Vec<String> = paths(raw, "readOnlyProperties");
    let props = raw.get("properties").and_then(Value::as_object).context("schema has no properties")?;

    // A top-level property is settable unless it, or every one of its sub-properties, is read-only.
    let settable = |name: &str, schema: &Value| -> bool {
        if read_only.iter().any(|p| p == name) {
            return false;
        }
        let subs: Vec<&String> = read_only.iter().filter(|p| p.starts_with(&format!("{name}/"))).collect();
        if subs.is_empty() {
            return true;
        }
        let obj = n_resolve_object(raw_defs, schema);
        match obj.and_then(|o| o.get("properties")).and_then(Value::as_object) {
            Some(sub_props) => !sub_props.keys().all(|k| subs.iter().any(|p| **p == format!("{name}/{k}"))),
            None => false,
        }
    };

    let mut out_props = Map::new();
    for (name, schema) in props {
        if settable(name, schema) {
            out_props.insert(name.clone(), n.schema(schema, name)?);
        }
    }
    let required: Vec<Value> = raw
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter(|v| v.as_str().is_some_and(|s| out_props.contains_key(s))).cloned().collect())
        .unwrap_or_default();

    let mut attributes = Map::new();
    for p in &read_only {
        let kind = attribute_kind(raw_defs, props, p);
        attributes.insert(p.replace('/', "."), Value::String(kind.to_owned()));
    }

    let (service, short) = split_type(type_name)?;
    let doc = format!(
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-{}-{}.html",
        service.to_lowercase(),
        short.to_lowercase()
    );
    let renames = n.best_names();
    let mut out = Map::new();
    out.insert("typeName".into(), json!(type_name));
    out.insert("documentationUrl".into(), json!(doc));
    out.insert(
        "additionalProperties".into(),
        json!(raw.get("additionalProperties").and_then(Value::as_bool).unwrap_or(false)),
    );
    out.insert("properties".into(), Value::Object(out_props));
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    let defs: Map<String, Value> =
        n.out_defs.into_iter().map(|(k, v)| (renames.get(&k).cloned().unwrap_or(k), v)).collect();
    out.insert("definitions".into(), Value::Object(defs));
    out.insert("attributes".into(), Value::Object(attributes));
    for key in ["primaryIdentifier", "createOnlyProperties", "conditionalCreateOnlyProperties", "writeOnlyProperties"] {
        let p = paths(raw, key);
        if !p.is_empty() {
            out.insert(key.into(), json!(p));
        }
    }
    let mut out = Value::Object(out);
    rename_refs(&mut out, &renames);
    Ok(out)
}

/// Rewrites `$ref`s to renamed definitions.
fn rename_refs(v: &mut Value, renames: &BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && let Some(new) = renames.get(r.trim_start_matches("#/definitions/"))
            {
                *r = format!("#/definitions/{new}");
            }
            m.values_mut().for_each(|v| rename_refs(v, renames));
        }
        Value::Array(a) => a.iter_mut().for_each(|v| rename_refs(v, renames)),
        _ => {}
    }
}

pub fn split_type(type_name: &str) -> Result<(&str, &str)> {
    let parts: Vec<&str> = type_name.split("::").collect();
    match parts.as_slice() {
        ["AWS", service, short] => Ok((service, short)),
        _ => bail!("type name {type_name:?} is not of the form AWS::Service::Type"),
    }
}

fn paths(raw: &Value, key: &str) -> Vec<String> {
    raw.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(|s| s.trim_start_matches("/properties/").to_owned()).collect())
        .unwrap_or_default()
}

/// The object schema behind `schema` (following `$ref` and the typed branch of `oneOf`/`anyOf`), if any.
fn n_resolve_object<'a>(defs: &'a Map<String, Value>, schema: &'a Value) -> Option<&'a Value> {
    let s = pick_branch(schema).unwrap_or(schema);
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/");
        return defs.get(name).and_then(|d| n_resolve_object(defs, d));
    }
    s.get("properties").is_some().then_some(s)
}

fn attribute_kind(defs: &Map<String, Value>, props: &Map<String, Value>, path: &str) -> &'static str {
    let mut segs = path.split('/');
    let Some(first) = segs.next() else { return "string" };
    let mut cur = match props.get(first) {
        Some(s) => s,
        None => return "string",
    };
    for seg in segs {
        let Some(obj) = n_resolve_object(defs, cur) else { return "string" };
        match obj.get("properties").and_then(|p| p.get(seg)) {
            Some(s) => cur = s,
            None => return "string",
        }
    }
    let mut s = pick_branch(cur).unwrap_or(cur);
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        match defs.get(r.trim_start_matches("#/definitions/")) {
            Some(d) => s = d,
            None => return "string",
        }
    }
    match type_of(s) {
        "integer" => "integer",
        "number" => "number",
        "boolean" => "boolean",
        "array" => "list",
        "object" | "json" => "json",
        _ => "string",
    }
}

/// For `oneOf`/`anyOf`: the branch with a `$ref`, else one with a type that is not a `format: json` string.
fn pick_branch(s: &Value) -> Option<&Value> {
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = s.get(key).and_then(Value::as_array) {
            if let Some(b) = branches.iter().find(|b| b.get("$ref").is_some()) {
                return Some(b);
            }
            if let Some(b) = branches
                .iter()
                .find(|b| b.get("type").is_some() && b.get("format").and_then(Value::as_str) != Some("json"))
            {
                return Some(b);
            }
        }
    }
    None
}

/// The JSON type of a raw schema, collapsed to one word.
fn type_of(s: &Value) -> &'static str {
    if s.get("format").and_then(Value::as_str) == Some("json") {
        return "json";
    }
    match s.get("type") {
        Some(Value::String(t)) => match t.as_str() {
            "string" => "string",
            "integer" => "integer",
            "number" => "number",
            "boolean" => "boolean",
            "array" => "array",
            "object" => "object",
            _ => "json",
        },
        Some(Value::Array(ts)) => {
            let ts: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
            // cfn-lint widens some scalar properties (Lambda environment variables) to every JSON type: they are
            // strings to CloudFormation.
            if ts.len() >= 4 && ts.contains(&"string") {
                return "string";
            }
            if ts.contains(&"object") || ts.contains(&"array") {
                "json"
            } else {
                match ts.first().copied() {
                    Some("string") => "string",
                    Some("integer") => "integer",
                    Some("number") => "number",
                    Some("boolean") => "boolean",
                    _ => "json",
                }
            }
        }
        _ => {
            if s.get("properties").is_some() {
                "object"
            } else if s.get("items").is_some() {
                "array"
            } else if s.get("enum").is_some() || s.get("const").is_some() || s.get("pattern").is_some() {
                "string"
            } else {
                "json"
            }
        }
    }
}

const RESERVED_TYPE_NAMES: &[&str] = &[
    "Option", "String", "Box", "Vec", "Val", "Node", "List", "Map", "Json", "Target", "Default", "Some", "None",
    "Self", "Result",
];

impl Normalizer<'_> {
    /// Normalizes a property schema; `hint` names a hoisted object.
    fn schema(&mut self, raw: &Value, hint: &str) -> Result<Value> {
        // Merge the chosen branch of oneOf/anyOf into the schema.
        let mut s: Map<String, Value> = raw.as_object().cloned().unwrap_or_default();
        if let Some(branch) = pick_branch(raw) {
            for (k, v) in branch.as_object().into_iter().flatten() {
                s.insert(k.clone(), v.clone());
            }
        }
        for k in [
            "oneOf",
            "anyOf",
            "allOf",
            "if",
            "then",
            "else",
            "prefixItems",
            "dependencies",
            "dependentRequired",
            "dependentExcluded",
        ] {
            s.remove(k);
        }
        if let Some(r) = s.get("$ref").and_then(Value::as_str).map(str::to_owned) {
            let name = r.trim_start_matches("#/definitions/").to_owned();
            let def = self.raw_defs.get(&name).with_context(|| format!("$ref to missing definition {name}"))?.clone();
            let is_object = type_of(&def) == "object"
                && def.get("properties").and_then(Value::as_object).is_some_and(|p| !p.is_empty());
            if is_object {
                let out_name = def_name(&name);
                if !self.out_defs.contains_key(&out_name) && !self.in_progress.contains(&out_name) {
                    self.in_progress.insert(out_name.clone());
                    let obj = self.object(&def, &out_name)?;
                    self.in_progress.remove(&out_name);
                    self.out_defs.insert(out_name.clone(), obj);
                }
                return Ok(json!({ "$ref": format!("#/definitions/{out_name}") }));
            }
            // A definition that is not an object with properties is inlined where it is used.
            let mut merged: Map<String, Value> = def.as_object().cloned().unwrap_or_default();
            s.remove("$ref");
            for (k, v) in s {
                merged.insert(k, v);
            }
            return self.schema(&Value::Object(merged), &name);
        }
        let s = Value::Object(s);
        let mut out = Map::new();
        match type_of(&s) {
            "string" => {
                out.insert("type".into(), json!("string"));
                if let Some(c) = s.get("const") {
                    out.insert("enum".into(), json!([c]));
                } else if let Some(e) = s.get("enum").and_then(Value::as_array) {
                    let mut vals: Vec<&str> = e.iter().filter_map(Value::as_str).collect();
                    vals.sort();
                    vals.dedup();
                    if !vals.is_empty() {
                        out.insert("enum".into(), json!(vals));
                    }
                }
                copy(&s, &mut out, &["minLength", "maxLength", "pattern"]);
            }
            t @ ("integer" | "number") => {
                out.insert("type".into(), json!(t));
                copy(&s, &mut out, &["minimum", "maximum"]);
            }
            "boolean" => {
                out.insert("type".into(), json!("boolean"));
            }
            "array" => {
                out.insert("type".into(), json!("array"));
                let item_hint = singular(hint);
                let items = match s.get("items") {
                    Some(i) => self.schema(i, &item_hint)?,
                    None => json!({"type": "json"}),
                };
                out.insert("items".into(), items);
                copy(&s, &mut out, &["minItems", "maxItems"]);
            }
            "object" => {
                let has_props = s.get("properties").and_then(Value::as_object).is_some_and(|p| !p.is_empty());
                if has_props {
                    let obj = self.object(&s, hint)?;
                    let name = self.hoist(hint, obj);
                    return Ok(json!({ "$ref": format!("#/definitions/{name}") }));
                }
                let value_schema = s
                    .get("patternProperties")
                    .and_then(Value::as_object)
                    .and_then(|pp| {
                        let vals: Vec<&Value> = pp.values().collect();
                        (vals.len() == 1).then(|| vals[0].clone())
                    })
                    .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()).cloned());
                match value_schema {
                    Some(v) => {
                        out.insert("type".into(), json!("map"));
                        out.insert("values".into(), self.schema(&v, &format!("{hint}Value"))?);
                    }
                    None => {
                        out.insert("type".into(), json!("json"));
                    }
                }
            }
            _ => {
                out.insert("type".into(), json!("json"));
            }
        }
        Ok(Value::Object(out))
    }

    /// Normalizes an object schema (its properties and required list).
    fn object(&mut self, s: &Value, name: &str) -> Result<Value> {
        let mut props = Map::new();
        for (k, v) in s.get("properties").and_then(Value::as_object).into_iter().flatten() {
            props.insert(k.clone(), self.schema(v, &format!("{name}{k}"))?);
        }
        let mut out = Map::new();
        out.insert("type".into(), json!("object"));
        out.insert("properties".into(), Value::Object(props));
        if let Some(req) = s.get("required").and_then(Value::as_array) {
            let mut r: Vec<&str> = req.iter().filter_map(Value::as_str).collect();
            r.sort();
            r.dedup();
            if !r.is_empty() {
                out.insert("required".into(), json!(r));
            }
        }
        let open = s.get("additionalProperties").map(|a| a.as_bool() != Some(false)).unwrap_or(true)
            || s.get("patternProperties").is_some();
        out.insert("additionalProperties".into(), json!(open));
        Ok(Value::Object(out))
    }

    /// Gives an inline object a definition name; identical shapes share a name.
    fn hoist(&mut self, hint: &str, obj: Value) -> String {
        let canon = obj.to_string();
        if let Some(n) = self.shapes.get(&canon) {
            self.hints.entry(n.clone()).or_default().insert(def_name(hint));
            return n.clone();
        }
        let base = def_name(hint);
        let mut name = base.clone();
        let mut i = 2;
        while self.out_defs.contains_key(&name) || self.raw_defs.contains_key(&name) || self.in_progress.contains(&name)
        {
            name = format!("{base}{i}");
            i += 1;
        }
        self.shapes.insert(canon, name.clone());
        self.hints.entry(name.clone()).or_default().insert(name.clone());
        self.out_defs.insert(name.clone(), obj);
        name
    }

    /// For each shared hoisted shape, the shortest free hint (ties: alphabetical) when shorter than its name.
    fn best_names(&self) -> BTreeMap<String, String> {
        let mut renames = BTreeMap::new();
        let mut taken: BTreeSet<String> = self.out_defs.keys().cloned().collect();
        taken.extend(self.raw_defs.keys().cloned());
        for (name, hints) in &self.hints {
            let best =
                hints.iter().filter(|h| *h == name || !taken.contains(*h)).min_by_key(|h| (h.len(), (*h).clone()));
            if let Some(best) = best
                && best != name
            {
                taken.insert(best.clone());
                renames.insert(name.clone(), best.clone());
            }
        }
        renames
    }
}

fn def_name(raw: &str) -> String {
    let clean: String = raw.chars().filter(char::is_ascii_alphanumeric).collect();
    let mut name = match clean.chars().next() {
        Some(c) if c.is_ascii_digit() => format!("T{clean}"),
        Some(c) => format!("{}{}", c.to_ascii_uppercase(), &clean[1..]),
        None => "Unnamed".to_owned(),
    };
    if RESERVED_TYPE_NAMES.contains(&name.as_str()) {
        name.push_str("Property");
    }
    name
}

/// A name for the items of a list property: `Rules` → `Rule`, `KeySchema` → `KeySchemaItem`.
fn singular(hint: &str) -> String {
    if let Some(stem) = hint.strip_suffix("ies") {
        format!("{stem}y")
    } else if hint.ends_with("ss") || hint.ends_with("us") {
        format!("{hint}Item")
    } else if let Some(stem) = hint.strip_suffix('s') {
        stem.to_owned()
    } else {
        format!("{hint}Item")
    }
}

fn copy(from: &Value, to: &mut Map<String, Value>, keys: &[&str]) {
    for k in keys {
        if let Some(v) = from.get(*k) {
            to.insert((*k).to_owned(), v.clone());
        }
    }
}
