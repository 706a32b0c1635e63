//! EventBridge event patterns: parsed once, then matched against events as EventBridge does.
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html>,
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html>
//!
//! Semantics kept: a pattern's fields must all match (AND); a field's list of matchers matches when any matcher
//! does (OR); an array in the event matches when any element does; nested objects recurse; `$or` holds
//! alternatives of which one must match; `exists: false` matches only an absent field and every other matcher
//! (`anything-but` included) needs the field present.

use std::net::IpAddr;

use serde_json::Value;

use super::EventsError;

/// A parsed event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPattern {
    root: Object,
}

#[derive(Debug, Clone, PartialEq)]
struct Object {
    fields: Vec<(String, Field)>,
    /// Each `$or` is a list of alternatives.
    any_of: Vec<Vec<Object>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Nested(Object),
    Leaf(Vec<Matcher>),
}

/// One matcher of a leaf's list.
#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    /// A string, number, boolean or null, matched exactly (numbers by value).
    Exact(Value),
    Prefix(String, bool),
    Suffix(String, bool),
    EqualsIgnoreCase(String),
    Wildcard(String),
    AnythingBut(AnythingBut),
    /// Pairs of operator and bound, all of which must hold.
    Numeric(Vec<(NumOp, f64)>),
    Exists(bool),
    Cidr(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Values(Vec<Value>),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(Vec<String>),
    Wildcard(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl EventPattern {
    /// Parses a pattern given as JSON (CloudFormation's `EventPattern`, an object or its JSON text).
    pub fn parse(pattern: &Value) -> Result<EventPattern, EventsError> {
        let owned;
        let pattern = match pattern {
            Value::String(text) => {
                owned =
                    serde_json::from_str::<Value>(text).map_err(|e| bad("$", text, &format!("a JSON object ({e})")))?;
                &owned
            }
            other => other,
        };
        Ok(EventPattern { root: object(pattern, "$")? })
    }

    /// Whether `event` (an EventBridge event: `source`, `detail-type`, `detail`...) matches.
    pub fn matches(&self, event: &Value) -> bool {
        self.root.matches(event)
    }
}

fn bad(at: &str, value: impl std::fmt::Display, allowed: &str) -> EventsError {
    EventsError::Pattern { at: at.to_owned(), value: value.to_string(), allowed: allowed.to_owned() }
}

fn object(v: &Value, at: &str) -> Result<Object, EventsError> {
    let Value::Object(m) = v else { return Err(bad(at, v, "an object")) };
    let mut o = Object { fields: Vec::new(), any_of: Vec::new() };
    for (k, v) in m {
        let here = format!("{at}.{k}");
        if k == "$or" {
            let Value::Array(alts) = v else { return Err(bad(&here, v, "an array of patterns")) };
            if alts.len() < 2 {
                return Err(bad(&here, v, "at least two alternatives"));
            }
            o.any_of.push(alts.iter().map(|a| object(a, &here)).collect::<Result<_, _>>()?);
            continue;
        }
        let field = match v {
            Value::Object(_) => Field::Nested(object(v, &here)?),
            Value::Array(ms) => Field::Leaf(ms.iter().map(|m| matcher(m, &here)).collect::<Result<_, _>>()?),
            _ => return Err(bad(&here, v, "an array of values or matchers, or a nested object")),
        };
        o.fields.push((k.clone(), field));
    }
    Ok(o)
}

fn string(v: &Value, at: &str, what: &str) -> Result<String, EventsError> {
    v.as_str().map(str::to_owned).ok_or_else(|| bad(at, v, what))
}

fn matcher(v: &Value, at: &str) -> Result<Matcher, EventsError> {
    let Value::Object(m) = v else {
        return match v {
            Value::Array(_) => Err(bad(at, v, "a value or a matcher object, not a nested array")),
            _ => Ok(Matcher::Exact(v.clone())),
        };
    };
    let mut it = m.iter();
    let (Some((op, arg)), None) = (it.next(), it.next()) else {
        return Err(bad(at, v, "an object with exactly one operator"));
    };
    let text = |what| string(arg, at, what);
    Ok(match op.as_str() {
        "prefix" | "suffix" => {
            let (s, ci) = match arg {
                Value::Object(o) if o.len() == 1 && o.contains_key("equals-ignore-case") => {
                    (string(&o["equals-ignore-case"], at, "a string")?, true)
                }
                _ => (text("a string or {\"equals-ignore-case\": string}")?, false),
            };
            if op == "prefix" { Matcher::Prefix(s, ci) } else { Matcher::Suffix(s, ci) }
        }
        "equals-ignore-case" => Matcher::EqualsIgnoreCase(text("a string")?),
        "wildcard" => Matcher::Wildcard(text("a string")?),
        "exists" => Matcher::Exists(arg.as_bool().ok_or_else(|| bad(at, arg, "true or false"))?),
        "numeric" => {
            let Value::Array(items) = arg else { return Err(bad(at, arg, "[operator, number, ...]")) };
            if items.is_empty() || items.len() % 2 != 0 {
                return Err(bad(at, arg, "pairs of operator and number"));
            }
            let mut ops = Vec::new();
            for pair in items.chunks(2) {
                let op = match pair[0].as_str() {
                    Some("=") => NumOp::Eq,
                    Some("<") => NumOp::Lt,
                    Some("<=") => NumOp::Le,
                    Some(">") => NumOp::Gt,
                    Some(">=") => NumOp::Ge,
                    _ => return Err(bad(at, &pair[0], "one of = < <= > >=")),
                };
                ops.push((op, pair[1].as_f64().ok_or_else(|| bad(at, &pair[1], "a number"))?));
            }
            Matcher::Numeric(ops)
        }
        "cidr" => {
            let s = text("an IPv4 or IPv6 CIDR block")?;
            let cidr = s.split_once('/').and_then(|(ip, bits)| Some((ip.parse::<IpAddr>().ok()?, bits.parse().ok()?)));
            match cidr {
                Some((ip, bits)) if bits <= if ip.is_ipv4() { 32 } else { 128 } => Matcher::Cidr(ip, bits),
                _ => return Err(bad(at, &s, "an IPv4 or IPv6 CIDR block (10.0.0.0/24)")),
            }
        }
        "anything-but" => Matcher::AnythingBut(match arg {
            Value::Object(o) if o.len() == 1 => {
                let (k, x) = o.iter().next().ok_or_else(|| bad(at, arg, "one operator"))?;
                let list = |x: &Value| -> Result<Vec<String>, EventsError> {
                    match x {
                        Value::Array(a) => a.iter().map(|s| string(s, at, "strings")).collect(),
                        _ => Ok(vec![string(x, at, "a string or an array of strings")?]),
                    }
                };
                match k.as_str() {
                    "prefix" => AnythingBut::Prefix(string(x, at, "a string")?),
                    "suffix" => AnythingBut::Suffix(string(x, at, "a string")?),
                    "equals-ignore-case" => AnythingBut::EqualsIgnoreCase(list(x)?),
                    "wildcard" => AnythingBut::Wildcard(list(x)?),
                    _ => return Err(bad(at, k, "prefix, suffix, equals-ignore-case or wildcard inside anything-but")),
                }
            }
            Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => AnythingBut::Values(a.clone()),
            Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => {
                AnythingBut::Values(vec![arg.clone()])
            }
            _ => return Err(bad(at, arg, "a value, a list of values or one operator")),
        }),
        other => {
            return Err(bad(
                at,
                other,
                "prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists or cidr",
            ));
        }
    })
}

impl Object {
    fn matches(&self, event: &Value) -> bool {
        let fields = self.fields.iter().all(|(k, f)| {
            let v = event.get(k);
            match f {
                Field::Nested(o) => match v {
                    Some(Value::Array(items)) => items.iter().any(|i| o.matches(i)),
                    Some(v) => o.matches(v),
                    // Absent: only `exists: false` leaves below can match.
                    None => o.matches(&Value::Object(serde_json::Map::new())),
                },
                Field::Leaf(ms) => ms.iter().any(|m| m.matches(v)),
            }
        });
        fields && self.any_of.iter().all(|alts| alts.iter().any(|a| a.matches(event)))
    }
}

/// The leaf values of a field: an array matches through its elements (nested arrays flattened).
fn leaves(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| leaves(x, out)),
        other => out.push(other.clone()),
    }
}

fn eq_values(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

/// `*` matches any run of characters; `\*` is a literal star.
pub(crate) fn wildcard(pattern: &str, s: &str) -> bool {
    let mut parts: Vec<String> = vec![String::new()];
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'*') => {
                chars.next();
                if let Some(p) = parts.last_mut() {
                    p.push('*');
                }
            }
            '*' => parts.push(String::new()),
            c => {
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
        }
    }
    if parts.len() == 1 {
        return parts[0] == s;
    }
    let (first, rest) = (&parts[0], &parts[1..]);
    let Some(mut tail) = s.strip_prefix(first.as_str()) else { return false };
    let (last, middle) = rest.split_last().map(|(l, m)| (l.as_str(), m)).unwrap_or(("", &[]));
    for m in middle {
        match tail.find(m.as_str()) {
            Some(i) => tail = &tail[i + m.len()..],
            None => return false,
        }
    }
    tail.len() >= last.len() && tail.ends_with(last)
}

fn in_cidr(ip: &str, net: &IpAddr, bits: u8) -> bool {
    let Ok(ip) = ip.parse::<IpAddr>() else { return false };
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(*b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(*b), 128),
        _ => return false,
    };
    if bits == 0 {
        return true;
    }
    let shift = width - u32::from(bits);
    (a >> shift) == (b >> shift)
}

impl Matcher {
    fn matches(&self, value: Option<&Value>) -> bool {
        let Some(value) = value else { return *self == Matcher::Exists(false) };
        // `exists` looks at leaves: an object field is not a leaf value.
        if let Matcher::Exists(want) = self {
            return *want && !value.is_object();
        }
        let mut vs = Vec::new();
        leaves(value, &mut vs);
        vs.iter().any(|v| self.matches_leaf(v))
    }

    fn matches_leaf(&self, v: &Value) -> bool {
        let s = v.as_str();
        match self {
            Matcher::Exact(x) => eq_values(x, v),
            Matcher::Prefix(p, false) => s.is_some_and(|s| s.starts_with(p.as_str())),
            Matcher::Prefix(p, true) => s.is_some_and(|s| lower(s).starts_with(&lower(p))),
            Matcher::Suffix(p, false) => s.is_some_and(|s| s.ends_with(p.as_str())),
            Matcher::Suffix(p, true) => s.is_some_and(|s| lower(s).ends_with(&lower(p))),
            Matcher::EqualsIgnoreCase(x) => s.is_some_and(|s| lower(s) == lower(x)),
            Matcher::Wildcard(p) => s.is_some_and(|s| wildcard(p, s)),
            Matcher::Numeric(ops) => v.as_f64().is_some_and(|n| {
                ops.iter().all(|(op, b)| match op {
                    NumOp::Eq => n == *b,
                    NumOp::Lt => n < *b,
                    NumOp::Le => n <= *b,
                    NumOp::Gt => n > *b,
                    NumOp::Ge => n >= *b,
                })
            }),
            Matcher::Cidr(net, bits) => s.is_some_and(|s| in_cidr(s, net, *bits)),
            Matcher::AnythingBut(ab) => ab.admits(v),
            Matcher::Exists(_) => true,
        }
    }
}

impl AnythingBut {
    fn admits(&self, v: &Value) -> bool {
        let s = v.as_str();
        match self {
            AnythingBut::Values(xs) => !xs.iter().any(|x| eq_values(x, v)),
            AnythingBut::Prefix(p) => s.is_some_and(|s| !s.starts_with(p.as_str())),
            AnythingBut::Suffix(p) => s.is_some_and(|s| !s.ends_with(p.as_str())),
            AnythingBut::EqualsIgnoreCase(xs) => s.is_some_and(|s| !xs.iter().any(|x| lower(x) == lower(s))),
            AnythingBut::Wildcard(ps) => s.is_some_and(|s| !ps.iter().any(|p| wildcard(p, s))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn check(pattern: Value, event: Value, expected: bool) {
        let p = EventPattern::parse(&pattern).unwrap();
        assert_eq!(p.matches(&event), expected, "pattern {pattern} on event {event}");
    }

    fn ev(detail: Value) -> Value {
        json!({"source": "platform.entities", "detail-type": "OrderCreated", "detail": detail})
    }

    #[test]
    fn exact_values_and_lists() {
        let p = json!({"source": ["platform.entities"], "detail-type": ["OrderCreated", "InvoiceGenerated"]});
        check(p.clone(), ev(json!({})), true);
        check(p.clone(), json!({"source": "platform.entities", "detail-type": "ApiKeyRevoked"}), false);
        check(p.clone(), json!({"source": "other", "detail-type": "OrderCreated"}), false);
        check(p, json!({"detail-type": "OrderCreated"}), false);
        // Numbers by value, booleans and null exactly, a missing field is not null.
        check(json!({"detail": {"n": [300]}}), ev(json!({"n": 300.0})), true);
        check(json!({"detail": {"n": [300]}}), ev(json!({"n": "300"})), false);
        check(json!({"detail": {"b": [true]}}), ev(json!({"b": true})), true);
        check(json!({"detail": {"x": [null]}}), ev(json!({"x": null})), true);
        check(json!({"detail": {"x": [null]}}), ev(json!({})), false);
        check(json!({"detail": {"x": [""]}}), ev(json!({"x": ""})), true);
        check(json!({}), ev(json!({})), true);
    }

    #[test]
    fn arrays_in_the_event_match_by_any_element() {
        check(json!({"resources": ["arn:b"]}), json!({"resources": ["arn:a", "arn:b"]}), true);
        check(json!({"resources": ["arn:c"]}), json!({"resources": ["arn:a", "arn:b"]}), false);
        check(json!({"detail": {"items": {"sku": ["x"]}}}), ev(json!({"items": [{"sku": "y"}, {"sku": "x"}]})), true);
    }

    #[test]
    fn nested_fields() {
        let p = json!({"detail": {"order": {"currency": ["EUR"]}}});
        check(p.clone(), ev(json!({"order": {"currency": "EUR"}})), true);
        check(p.clone(), ev(json!({"order": {"currency": "USD"}})), false);
        check(p.clone(), ev(json!({"order": "EUR"})), false);
        check(p, ev(json!({})), false);
    }

    #[test]
    fn prefix_suffix_and_case() {
        check(json!({"detail": {"k": [{"prefix": "ten-"}]}}), ev(json!({"k": "ten-1"})), true);
        check(json!({"detail": {"k": [{"prefix": "ten-"}]}}), ev(json!({"k": "TEN-1"})), false);
        check(json!({"detail": {"k": [{"prefix": {"equals-ignore-case": "ten-"}}]}}), ev(json!({"k": "TEN-1"})), true);
        check(json!({"detail": {"k": [{"suffix": ".png"}]}}), ev(json!({"k": "a.png"})), true);
        check(json!({"detail": {"k": [{"suffix": ".png"}]}}), ev(json!({"k": 5})), false);
        check(json!({"detail": {"k": [{"suffix": {"equals-ignore-case": ".PNG"}}]}}), ev(json!({"k": "a.png"})), true);
        check(json!({"detail": {"k": [{"equals-ignore-case": "eur"}]}}), ev(json!({"k": "EuR"})), true);
    }

    #[test]
    fn anything_but() {
        let p = json!({"detail": {"state": [{"anything-but": ["a", "b"]}]}});
        check(p.clone(), ev(json!({"state": "c"})), true);
        check(p.clone(), ev(json!({"state": "a"})), false);
        check(p.clone(), ev(json!({})), false);
        // An array matches when any element does, for anything-but too.
        check(p.clone(), ev(json!({"state": ["c", "a"]})), true);
        check(p, ev(json!({"state": ["b", "a"]})), false);
        check(json!({"detail": {"n": [{"anything-but": 0}]}}), ev(json!({"n": 1})), true);
        check(json!({"detail": {"s": [{"anything-but": {"prefix": "tmp"}}]}}), ev(json!({"s": "tmp1"})), false);
        check(json!({"detail": {"s": [{"anything-but": {"prefix": "tmp"}}]}}), ev(json!({"s": "x"})), true);
        check(json!({"detail": {"s": [{"anything-but": {"suffix": ".tmp"}}]}}), ev(json!({"s": "a.tmp"})), false);
        check(
            json!({"detail": {"s": [{"anything-but": {"equals-ignore-case": ["X"]}}]}}),
            ev(json!({"s": "x"})),
            false,
        );
        check(json!({"detail": {"s": [{"anything-but": {"wildcard": "*.tmp"}}]}}), ev(json!({"s": "a.txt"})), true);
    }

    #[test]
    fn numeric_ranges() {
        let p = json!({"detail": {"total_cents": [{"numeric": [">", 0, "<=", 10000]}]}});
        check(p.clone(), ev(json!({"total_cents": 500})), true);
        check(p.clone(), ev(json!({"total_cents": 0})), false);
        check(p.clone(), ev(json!({"total_cents": 10000})), true);
        check(p.clone(), ev(json!({"total_cents": 10001})), false);
        check(p, ev(json!({"total_cents": "500"})), false);
        check(json!({"detail": {"n": [{"numeric": ["=", 3]}]}}), ev(json!({"n": 3.0})), true);
        check(json!({"detail": {"n": [{"numeric": [">=", 3, "<", 4]}]}}), ev(json!({"n": 3})), true);
    }

    #[test]
    fn exists() {
        check(json!({"detail": {"url": [{"exists": true}]}}), ev(json!({"url": "x"})), true);
        check(json!({"detail": {"url": [{"exists": true}]}}), ev(json!({"url": null})), true);
        check(json!({"detail": {"url": [{"exists": true}]}}), ev(json!({})), false);
        check(json!({"detail": {"url": [{"exists": false}]}}), ev(json!({})), true);
        check(json!({"detail": {"url": [{"exists": false}]}}), ev(json!({"url": 1})), false);
        check(json!({"detail": {"o": [{"exists": true}]}}), ev(json!({"o": {"a": 1}})), false);
        check(json!({"detail": {"a": {"b": [{"exists": false}]}}}), ev(json!({})), true);
    }

    #[test]
    fn wildcards() {
        check(
            json!({"detail": {"k": [{"wildcard": "exports/*/*.jsonl"}]}}),
            ev(json!({"k": "exports/t1/e.jsonl"})),
            true,
        );
        check(json!({"detail": {"k": [{"wildcard": "exports/*.jsonl"}]}}), ev(json!({"k": "exports/a.json"})), false);
        check(json!({"detail": {"k": [{"wildcard": "a\\*b"}]}}), ev(json!({"k": "a*b"})), true);
        check(json!({"detail": {"k": [{"wildcard": "a\\*b"}]}}), ev(json!({"k": "axb"})), false);
        check(json!({"detail": {"k": [{"wildcard": "*"}]}}), ev(json!({"k": ""})), true);
        check(json!({"detail": {"k": [{"wildcard": "ab*ba"}]}}), ev(json!({"k": "aba"})), false);
    }

    #[test]
    fn cidr() {
        check(json!({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}), ev(json!({"ip": "10.0.0.255"})), true);
        check(json!({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}), ev(json!({"ip": "10.0.1.0"})), false);
        check(json!({"detail": {"ip": [{"cidr": "2001:db8::/32"}]}}), ev(json!({"ip": "2001:db8::1"})), true);
        check(json!({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}), ev(json!({"ip": "nope"})), false);
    }

    #[test]
    fn or_alternatives() {
        let p = json!({
            "source": ["platform.entities"],
            "$or": [{"detail": {"currency": ["EUR"]}}, {"detail": {"total_cents": [{"numeric": [">", 100]}]}}]
        });
        check(p.clone(), ev(json!({"currency": "EUR", "total_cents": 1})), true);
        check(p.clone(), ev(json!({"currency": "USD", "total_cents": 101})), true);
        check(p.clone(), ev(json!({"currency": "USD", "total_cents": 1})), false);
        check(p, json!({"source": "x", "detail": {"currency": "EUR"}}), false);
    }

    #[test]
    fn pattern_as_json_text() {
        let p = EventPattern::parse(&json!("{\"source\":[\"a\"]}")).unwrap();
        assert!(p.matches(&json!({"source": "a"})));
    }

    #[test]
    fn bad_patterns_say_where_and_what_is_allowed() {
        let e = |p: Value| EventPattern::parse(&p).unwrap_err().to_string();
        assert_eq!(
            e(json!({"source": "a"})),
            "event pattern at $.source: \"a\" is not allowed: expected an array of values or matchers, or a nested object"
        );
        assert!(e(json!({"detail": {"n": [{"numeric": [">"]}]}})).contains("pairs of operator and number"));
        assert!(e(json!({"detail": {"n": [{"regex": "x"}]}})).contains("prefix, suffix"));
        assert!(e(json!({"detail": {"ip": [{"cidr": "10.0.0.0/33"}]}})).contains("CIDR"));
        assert!(e(json!({"$or": [{"a": ["x"]}]})).contains("at least two"));
        assert!(e(json!("{not json")).contains("a JSON object"));
    }
}
