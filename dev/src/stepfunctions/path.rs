//! JSONPath as Step Functions and EventBridge use it: `$`, `$$` (the context object), `.field`, `['field']`,
//! `[index]` and the `*` / `[*]` wildcards; selecting values and, for `ResultPath`, writing one.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html>

use std::fmt;

use serde_json::{Map, Value};

/// A JSONPath that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath {path:?}: {problem}")]
pub struct PathSyntaxError {
    pub path: String,
    pub problem: String,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Field(String),
    Index(usize),
    /// `*` or `[*]`: every member of an object or element of an array.
    Wildcard,
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    raw: String,
    /// `$$`: the path reads the context object, not the state's input.
    context: bool,
    segments: Vec<Segment>,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Path {
    /// Parses `raw`, which starts with `$` (or `$$`).
    pub fn parse(raw: &str) -> Result<Path, PathSyntaxError> {
        let bad = |problem: &str| PathSyntaxError { path: raw.to_owned(), problem: problem.to_owned() };
        let (context, rest) = if let Some(r) = raw.strip_prefix("$$") {
            (true, r)
        } else if let Some(r) = raw.strip_prefix('$') {
            (false, r)
        } else {
            return Err(bad("a path starts with $"));
        };
        let chars: Vec<char> = rest.chars().collect();
        let mut segments = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    let start = i + 1;
                    let mut end = start;
                    while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                        end += 1;
                    }
                    let name: String = chars[start..end].iter().collect();
                    if name.is_empty() {
                        return Err(bad("empty field name after ."));
                    }
                    segments.push(if name == "*" { Segment::Wildcard } else { Segment::Field(name) });
                    i = end;
                }
                '[' => {
                    let close = chars[i..].iter().position(|c| *c == ']').map(|p| p + i);
                    let Some(close) = close else { return Err(bad("[ without ]")) };
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim();
                    if inner == "*" {
                        segments.push(Segment::Wildcard);
                    } else if let Some(q) = inner
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                    {
                        segments.push(Segment::Field(q.to_owned()));
                    } else if let Ok(n) = inner.parse::<usize>() {
                        segments.push(Segment::Index(n));
                    } else {
                        return Err(bad(
                            "brackets hold an index, a quoted name or *; filters and slices are not supported",
                        ));
                    }
                    i = close + 1;
                }
                _ => return Err(bad("expected . or [ after $")),
            }
        }
        Ok(Path { raw: raw.to_owned(), context, segments })
    }

    /// Reads the context object (`$$.Execution.Id`) rather than the input.
    pub fn is_context(&self) -> bool {
        self.context
    }

    /// Has no wildcard: names at most one value (what `ResultPath` requires).
    pub fn is_reference(&self) -> bool {
        !self.segments.contains(&Segment::Wildcard)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The value at this path, `None` when nothing is there. A path with a wildcard yields the array of every
    /// match (possibly empty).
    pub fn select(&self, root: &Value) -> Option<Value> {
        if self.is_reference() {
            let mut v = root;
            for s in &self.segments {
                v = match (s, v) {
                    (Segment::Field(f), Value::Object(m)) => m.get(f)?,
                    (Segment::Index(n), Value::Array(a)) => a.get(*n)?,
                    _ => return None,
                };
            }
            return Some(v.clone());
        }
        let mut out = Vec::new();
        collect(root, &self.segments, &mut out);
        Some(Value::Array(out))
    }

    /// `root` with `value` written at this path (a reference path), creating missing objects on the way; how
    /// `ResultPath` places a result. Fails when a step meets something that is not an object (or an array, for
    /// an index that exists).
    pub fn write(&self, root: Value, value: Value) -> Result<Value, String> {
        if !self.is_reference() || self.context {
            return Err(format!("{} is not a reference path into the input", self.raw));
        }
        fn put(node: Value, segs: &[Segment], value: Value, raw: &str) -> Result<Value, String> {
            let Some((first, rest)) = segs.split_first() else { return Ok(value) };
            match (first, node) {
                (Segment::Field(f), Value::Object(mut m)) => {
                    let child = m.remove(f).unwrap_or_else(|| Value::Object(Map::new()));
                    let child = put(child, rest, value, raw)?;
                    m.insert(f.clone(), child);
                    Ok(Value::Object(m))
                }
                (Segment::Index(n), Value::Array(mut a)) if *n < a.len() => {
                    let child = std::mem::take(&mut a[*n]);
                    a[*n] = put(child, rest, value, raw)?;
                    Ok(Value::Array(a))
                }
                (_, other) => Err(format!("{raw}: cannot write into {}", kind(&other))),
            }
        }
        put(root, &self.segments, value, &self.raw)
    }
}

fn collect(v: &Value, segs: &[Segment], out: &mut Vec<Value>) {
    let Some((first, rest)) = segs.split_first() else {
        out.push(v.clone());
        return;
    };
    match (first, v) {
        (Segment::Field(f), Value::Object(m)) => {
            if let Some(c) = m.get(f) {
                collect(c, rest, out);
            }
        }
        (Segment::Index(n), Value::Array(a)) => {
            if let Some(c) = a.get(*n) {
                collect(c, rest, out);
            }
        }
        (Segment::Wildcard, Value::Object(m)) => m.values().for_each(|c| collect(c, rest, out)),
        (Segment::Wildcard, Value::Array(a)) => a.iter().for_each(|c| collect(c, rest, out)),
        _ => {}
    }
}

/// The JSON type of `v`, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn check(path: &str, input: Value, expected: Option<Value>) {
        assert_eq!(Path::parse(path).unwrap().select(&input), expected, "{path}");
    }

    #[test]
    fn selects() {
        let doc = json!({"a": {"b": [10, {"c": "x"}]}, "d-e": 1, "f.g": 2});
        check("$", doc.clone(), Some(doc.clone()));
        check("$.a.b[0]", doc.clone(), Some(json!(10)));
        check("$.a.b[1].c", doc.clone(), Some(json!("x")));
        check("$['f.g']", doc.clone(), Some(json!(2)));
        check("$.d-e", doc.clone(), Some(json!(1)));
        check("$.a.missing", doc.clone(), None);
        check("$.a.b[5]", doc.clone(), None);
        check("$.d-e.x", doc.clone(), None);
        check("$.a.b[*]", doc.clone(), Some(json!([10, {"c": "x"}])));
        check("$.a.b[*].c", doc, Some(json!(["x"])));
    }

    #[test]
    fn parse_errors_name_the_path() {
        assert_eq!(Path::parse("a.b").unwrap_err().to_string(), "invalid JSONPath \"a.b\": a path starts with $");
        assert!(Path::parse("$.a[?(@.x)]").unwrap_err().problem.contains("filters"));
        assert!(Path::parse("$.").is_err());
        assert!(Path::parse("$.a[0").is_err());
        assert!(Path::parse("$$.Execution.Id").unwrap().is_context());
    }

    #[test]
    fn writes_create_objects_and_refuse_scalars() {
        let p = Path::parse("$.a.b").unwrap();
        assert_eq!(p.write(json!({"x": 1}), json!(2)).unwrap(), json!({"x": 1, "a": {"b": 2}}));
        assert_eq!(p.write(json!({"a": {"b": 1, "c": 3}}), json!(2)).unwrap(), json!({"a": {"b": 2, "c": 3}}));
        assert_eq!(Path::parse("$").unwrap().write(json!({"x": 1}), json!(7)).unwrap(), json!(7));
        assert_eq!(p.write(json!({"a": 5}), json!(2)).unwrap_err(), "$.a.b: cannot write into a number");
        assert!(p.write(json!("s"), json!(2)).is_err());
    }
}
