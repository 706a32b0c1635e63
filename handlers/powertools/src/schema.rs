//! A JSON Schema validator for the subset API Gateway models use (draft 4 keywords), so the Lambda rejects
//! exactly what the gateway's request validator rejects, from the same `schemars` schema.
//!
//! Supported: `type`, `enum`, `const`, `properties`, `required`, `additionalProperties`, `items`, `minItems`,
//! `maxItems`, `minLength`, `maxLength`, `minimum`, `maximum`, `exclusiveMinimum`/`exclusiveMaximum` (draft 4
//! booleans and draft 6 numbers), `allOf`, `anyOf`, `oneOf`, `not`. Annotations (`title`, `description`,
//! `format`, `$schema`, `default`, `examples`) are ignored. Any other keyword makes [`unsupported_keywords`] name
//! it, and a test over every route model keeps that list empty, so the two validators cannot drift apart silently.

use serde_json::{Map, Value};

const ANNOTATIONS: &[&str] =
    &["title", "description", "format", "$schema", "default", "examples", "readOnly", "writeOnly"];
const KEYWORDS: &[&str] = &[
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
];

/// Keywords of `schema` (recursively) this validator does not implement.
pub fn unsupported_keywords(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_keywords(schema, &mut out);
    out.sort();
    out.dedup();
    out
}

fn walk_keywords(schema: &Value, out: &mut Vec<String>) {
    let Some(obj) = schema.as_object() else { return };
    for (k, v) in obj {
        if !KEYWORDS.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()) {
            out.push(k.clone());
        }
        match k.as_str() {
            "properties" => v.as_object().into_iter().flatten().for_each(|(_, s)| walk_keywords(s, out)),
            "items" | "additionalProperties" | "not" => walk_keywords(v, out),
            "allOf" | "anyOf" | "oneOf" => v.as_array().into_iter().flatten().for_each(|s| walk_keywords(s, out)),
            _ => {}
        }
    }
}

/// Validates `value` against `schema`; returns every violation as `<json pointer>: <message>`.
///
/// ```
/// use serde_json::json;
/// let schema = json!({"type": "object", "required": ["n"], "additionalProperties": false,
///                     "properties": {"n": {"type": "integer", "minimum": 1}}});
/// assert!(powertools::schema::validate(&schema, &json!({"n": 2})).is_empty());
/// assert_eq!(powertools::schema::validate(&schema, &json!({"n": 0, "x": 1})),
///            vec!["/n: 0 is less than the minimum 1", "/x: property not allowed"]);
/// ```
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, value, "", &mut errors);
    errors
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn at(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

fn check(schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let s: &Map<String, Value> = match schema {
        Value::Object(o) => o,
        Value::Bool(false) => {
            errors.push(format!("{}: not allowed", at(path)));
            return;
        }
        _ => return,
    };
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_matches(t, v),
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(|t| type_matches(t, v)),
            _ => true,
        };
        if !ok {
            errors.push(format!("{}: expected {}, got {}", at(path), t, type_name(v)));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = s.get("enum")
        && !allowed.contains(v)
    {
        errors.push(format!("{}: {} is not one of {}", at(path), v, Value::Array(allowed.clone())));
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        errors.push(format!("{}: expected {c}", at(path)));
    }
    match v {
        Value::Object(o) => check_object(s, o, path, errors),
        Value::Array(a) => {
            let n = a.len() as u64;
            if let Some(min) = s.get("minItems").and_then(Value::as_u64)
                && n < min
            {
                errors.push(format!("{}: {n} items, at least {min} required", at(path)));
            }
            if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
                && n > max
            {
                errors.push(format!("{}: {n} items, at most {max} allowed", at(path)));
            }
            if let Some(items) = s.get("items") {
                for (i, x) in a.iter().enumerate() {
                    check(items, x, &format!("{path}/{i}"), errors);
                }
            }
        }
        Value::String(st) => {
            let n = st.chars().count() as u64;
            if let Some(min) = s.get("minLength").and_then(Value::as_u64)
                && n < min
            {
                errors.push(format!("{}: {n} characters, at least {min} required", at(path)));
            }
            if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
                && n > max
            {
                errors.push(format!("{}: {n} characters, at most {max} allowed", at(path)));
            }
        }
        Value::Number(num) => check_number(s, num, path, errors),
        _ => {}
    }
    if let Some(Value::Array(all)) = s.get("allOf") {
        for sub in all {
            check(sub, v, path, errors);
        }
    }
    if let Some(Value::Array(any)) = s.get("anyOf")
        && !any.iter().any(|sub| validate_at(sub, v, path).is_empty())
    {
        errors.push(format!("{}: matches none of anyOf", at(path)));
    }
    if let Some(Value::Array(one)) = s.get("oneOf") {
        let matching = one.iter().filter(|sub| validate_at(sub, v, path).is_empty()).count();
        if matching != 1 {
            errors.push(format!("{}: matches {matching} of oneOf, exactly 1 required", at(path)));
        }
    }
    if let Some(not) = s.get("not")
        && validate_at(not, v, path).is_empty()
    {
        errors.push(format!("{}: matches a schema it must not match", at(path)));
    }
}

fn validate_at(schema: &Value, v: &Value, path: &str) -> Vec<String> {
    let mut e = Vec::new();
    check(schema, v, path, &mut e);
    e
}

fn check_object(s: &Map<String, Value>, o: &Map<String, Value>, path: &str, errors: &mut Vec<String>) {
    if let Some(Value::Array(req)) = s.get("required") {
        for r in req.iter().filter_map(Value::as_str) {
            if !o.contains_key(r) {
                errors.push(format!("{path}/{r}: required property missing"));
            }
        }
    }
    let props = s.get("properties").and_then(Value::as_object);
    let mut keys: Vec<&String> = o.keys().collect();
    keys.sort();
    for k in keys {
        let child = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
        match props.and_then(|p| p.get(k)) {
            Some(ps) => check(ps, &o[k], &child, errors),
            None => match s.get("additionalProperties") {
                Some(Value::Bool(false)) => errors.push(format!("{child}: property not allowed")),
                Some(extra @ Value::Object(_)) => check(extra, &o[k], &child, errors),
                _ => {}
            },
        }
    }
}

fn check_number(s: &Map<String, Value>, num: &serde_json::Number, path: &str, errors: &mut Vec<String>) {
    let Some(x) = num.as_f64() else { return };
    let excl = |k: &str| s.get(k);
    if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
        let exclusive = matches!(excl("exclusiveMinimum"), Some(Value::Bool(true)));
        if x < min || (exclusive && x == min) {
            errors.push(format!("{}: {num} is less than the minimum {}", at(path), s["minimum"]));
        }
    }
    if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
        let exclusive = matches!(excl("exclusiveMaximum"), Some(Value::Bool(true)));
        if x > max || (exclusive && x == max) {
            errors.push(format!("{}: {num} is greater than the maximum {}", at(path), s["maximum"]));
        }
    }
    if let Some(m) = excl("exclusiveMinimum").and_then(Value::as_f64)
        && x <= m
    {
        errors.push(format!("{}: {num} must be greater than {m}", at(path)));
    }
    if let Some(m) = excl("exclusiveMaximum").and_then(Value::as_f64)
        && x >= m
    {
        errors.push(format!("{}: {num} must be less than {m}", at(path)));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use platform_types::api::CreateOrderRequest;
    use platform_types::routes::{request_schema, routes};
    use serde_json::json;

    fn order_schema() -> Value {
        serde_json::to_value(request_schema::<CreateOrderRequest>()).unwrap()
    }

    fn check(body: Value, expected: &[&str]) {
        assert_eq!(validate(&order_schema(), &body), expected, "{body}");
    }

    #[test]
    fn every_route_model_uses_only_supported_keywords() {
        for r in routes() {
            if let Some((name, schema)) = r.request_model {
                let v = serde_json::to_value(schema).unwrap();
                assert_eq!(unsupported_keywords(&v), Vec::<String>::new(), "{name}");
            }
        }
        assert_eq!(
            unsupported_keywords(&json!({"pattern": "x", "properties": {"a": {"$ref": "#"}}})),
            ["$ref", "pattern"]
        );
    }

    #[test]
    fn create_order_cases() {
        let line = json!({"sku": "a", "quantity": 1, "unit_price_cents": 5});
        check(json!({"items": [line], "currency": "EUR"}), &[]);
        check(json!({"items": [line], "currency": "EUR", "customer_ref": null}), &[]);
        check(json!({"items": [], "currency": "EUR"}), &["/items: 0 items, at least 1 required"]);
        check(json!({"items": [line]}), &["/currency: required property missing"]);
        check(
            json!({"items": [line], "currency": "XXX"}),
            &["/currency: \"XXX\" is not one of [\"USD\",\"EUR\",\"GBP\"]"],
        );
        check(json!({"items": [line], "currency": "EUR", "tenant_id": "b"}), &["/tenant_id: property not allowed"]);
        check(
            json!({"items": [{"sku": "", "quantity": 0, "unit_price_cents": -1}], "currency": "EUR"}),
            &[
                "/items/0/quantity: 0 is less than the minimum 1",
                "/items/0/sku: 0 characters, at least 1 required",
                "/items/0/unit_price_cents: -1 is less than the minimum 0",
            ],
        );
        check(
            json!({"items": [{"sku": "a", "quantity": 1.5, "unit_price_cents": 1}], "currency": "EUR"}),
            &["/items/0/quantity: expected \"integer\", got number"],
        );
        check(json!([1]), &["/: expected \"object\", got array"]);
        check(
            json!({"items": "x", "currency": 1}),
            &["/currency: expected \"string\", got number", "/items: expected \"array\", got string"],
        );
    }

    #[test]
    fn combinators_and_exclusive_bounds() {
        let s = json!({"anyOf": [{"type": "string"}, {"type": "integer", "exclusiveMinimum": 0}]});
        assert!(validate(&s, &json!("x")).is_empty());
        assert!(validate(&s, &json!(1)).is_empty());
        assert_eq!(validate(&s, &json!(0)), ["/: matches none of anyOf"]);
        let d4 = json!({"minimum": 0, "exclusiveMinimum": true});
        assert_eq!(validate(&d4, &json!(0)).len(), 1);
    }
}
