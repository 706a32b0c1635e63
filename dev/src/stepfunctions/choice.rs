//! Choice rules: every comparison operator of the States Language (`StringEquals`, `NumericGreaterThanPath`,
//! `TimestampLessThan`, `StringMatches`, `IsPresent`...) and the `And` / `Or` / `Not` combinations.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html>

use serde_json::Value;

use super::path::Path;
use super::time::parse_rfc3339;
use crate::events::pattern::wildcard;

/// A choice rule's condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Test { variable: Path, op: Op, operand: Operand },
}

/// What a comparison compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value(Value),
    /// A `...Path` operator: the value at this path of the input.
    Path(Path),
}

/// The comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Compare(Type, Cmp),
    StringMatches,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

fn op_of(name: &str) -> Option<(Op, bool)> {
    let (base, is_path) = match name.strip_suffix("Path") {
        // `SecondsPath`-like names are not operators; only comparisons have a Path form.
        Some(b) if !b.starts_with("Is") => (b, true),
        _ => (name, false),
    };
    let simple = match base {
        "StringMatches" => Some(Op::StringMatches),
        "IsNull" => Some(Op::IsNull),
        "IsPresent" => Some(Op::IsPresent),
        "IsNumeric" => Some(Op::IsNumeric),
        "IsString" => Some(Op::IsString),
        "IsBoolean" => Some(Op::IsBoolean),
        "IsTimestamp" => Some(Op::IsTimestamp),
        _ => None,
    };
    if let Some(op) = simple {
        // StringMatches has no Path form.
        return (!is_path).then_some((op, false));
    }
    let (ty, rest) = [
        ("String", Type::String),
        ("Numeric", Type::Numeric),
        ("Boolean", Type::Boolean),
        ("Timestamp", Type::Timestamp),
    ]
    .into_iter()
    .find_map(|(p, t)| base.strip_prefix(p).map(|r| (t, r)))?;
    let cmp = match rest {
        "Equals" => Cmp::Equals,
        "LessThan" => Cmp::LessThan,
        "GreaterThan" => Cmp::GreaterThan,
        "LessThanEquals" => Cmp::LessThanEquals,
        "GreaterThanEquals" => Cmp::GreaterThanEquals,
        _ => return None,
    };
    if ty == Type::Boolean && cmp != Cmp::Equals {
        return None;
    }
    Some((Op::Compare(ty, cmp), is_path))
}

impl Condition {
    /// Parses a rule (`top`: it carries `Next`, which nested conditions must not).
    pub fn parse(v: &Value, top: bool) -> Result<Condition, String> {
        let Value::Object(m) = v else { return Err(format!("a choice condition must be an object, found {v}")) };
        let keys: Vec<&str> = m.keys().map(String::as_str).filter(|k| !matches!(*k, "Next" | "Comment")).collect();
        if !top && m.contains_key("Next") {
            return Err("a nested condition cannot have Next".into());
        }
        let list = |k: &str| -> Result<Vec<Condition>, String> {
            match m.get(k) {
                Some(Value::Array(a)) if !a.is_empty() => a.iter().map(|c| Condition::parse(c, false)).collect(),
                _ => Err(format!("{k} must be a non-empty list of conditions")),
            }
        };
        match keys.as_slice() {
            ["And"] => return Ok(Condition::And(list("And")?)),
            ["Or"] => return Ok(Condition::Or(list("Or")?)),
            ["Not"] => return Ok(Condition::Not(Box::new(Condition::parse(&m["Not"], false)?))),
            _ => {}
        }
        let variable = m
            .get("Variable")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("a comparison needs Variable (a path) and one operator, found keys {keys:?}"))?;
        let variable = Path::parse(variable).map_err(|e| e.to_string())?;
        let ops: Vec<&str> = keys.iter().copied().filter(|k| *k != "Variable").collect();
        let [name] = ops.as_slice() else {
            return Err(format!("a comparison needs exactly one operator, found {ops:?}"));
        };
        let (op, is_path) = op_of(name).ok_or_else(|| format!("{name} is not a comparison operator"))?;
        let arg = &m[*name];
        let operand = if is_path {
            let p = arg.as_str().ok_or_else(|| format!("{name} must be a path"))?;
            Operand::Path(Path::parse(p).map_err(|e| e.to_string())?)
        } else {
            let ok = match op {
                Op::Compare(Type::String, _) | Op::StringMatches => arg.is_string(),
                Op::Compare(Type::Numeric, _) => arg.is_number(),
                Op::Compare(Type::Timestamp, _) => arg.as_str().and_then(parse_rfc3339).is_some(),
                Op::Compare(Type::Boolean, _)
                | Op::IsNull
                | Op::IsPresent
                | Op::IsNumeric
                | Op::IsString
                | Op::IsBoolean
                | Op::IsTimestamp => arg.is_boolean(),
            };
            if !ok {
                return Err(format!("{name} {arg} has the wrong type for this operator"));
            }
            Operand::Value(arg.clone())
        };
        Ok(Condition::Test { variable, op, operand })
    }

    /// Whether the condition holds for `input`. A compared variable (or `...Path` operand) missing from the
    /// input is an error (`States.Runtime` for the execution), except for `IsPresent`.
    pub fn eval(&self, input: &Value) -> Result<bool, String> {
        match self {
            Condition::And(cs) => {
                for c in cs {
                    if !c.eval(input)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(cs) => {
                for c in cs {
                    if c.eval(input)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(c) => Ok(!c.eval(input)?),
            Condition::Test { variable, op, operand } => {
                let value = variable.select(input);
                let want = || match operand {
                    Operand::Value(v) => Ok(v.clone()),
                    Operand::Path(p) => p.select(input).ok_or_else(|| {
                        format!("invalid path {p}: the choice state's condition path references an undefined value")
                    }),
                };
                let flag = || want().map(|w| w.as_bool().unwrap_or(false));
                if *op == Op::IsPresent {
                    return Ok(value.is_some() == flag()?);
                }
                let Some(value) = value else {
                    return Err(format!(
                        "invalid path {variable}: the choice state's condition path references an undefined value"
                    ));
                };
                Ok(match op {
                    Op::IsPresent => false,
                    Op::IsNull => value.is_null() == flag()?,
                    Op::IsNumeric => value.is_number() == flag()?,
                    Op::IsString => value.is_string() == flag()?,
                    Op::IsBoolean => value.is_boolean() == flag()?,
                    Op::IsTimestamp => value.as_str().and_then(parse_rfc3339).is_some() == flag()?,
                    Op::StringMatches => match (value.as_str(), want()?.as_str()) {
                        (Some(s), Some(p)) => wildcard(p, s),
                        _ => false,
                    },
                    Op::Compare(ty, cmp) => compare(*ty, *cmp, &value, &want()?),
                })
            }
        }
    }
}

/// Values of the wrong type compare false, as Step Functions does.
fn compare(ty: Type, cmp: Cmp, a: &Value, b: &Value) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match ty {
        Type::String => a.as_str().zip(b.as_str()).map(|(a, b)| a.cmp(b)),
        Type::Numeric => a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b)),
        Type::Boolean => a.as_bool().zip(b.as_bool()).map(|(a, b)| a.cmp(&b)),
        Type::Timestamp => {
            a.as_str().and_then(parse_rfc3339).zip(b.as_str().and_then(parse_rfc3339)).map(|(a, b)| a.cmp(&b))
        }
    };
    let Some(o) = ord else { return false };
    match cmp {
        Cmp::Equals => o == Ordering::Equal,
        Cmp::LessThan => o == Ordering::Less,
        Cmp::GreaterThan => o == Ordering::Greater,
        Cmp::LessThanEquals => o != Ordering::Greater,
        Cmp::GreaterThanEquals => o != Ordering::Less,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn check(rule: Value, input: Value, expected: bool) {
        let c = Condition::parse(&rule, true).unwrap();
        assert_eq!(c.eval(&input).unwrap(), expected, "{rule} on {input}");
    }

    #[test]
    fn every_comparison() {
        let i = json!({"s": "b", "n": 5, "b": true, "t": "2026-01-02T03:04:05Z", "o": "c", "m": 5.0, "nul": null});
        let cases = [
            ("StringEquals", json!("b"), true),
            ("StringLessThan", json!("c"), true),
            ("StringGreaterThan", json!("a"), true),
            ("StringLessThanEquals", json!("b"), true),
            ("StringGreaterThanEquals", json!("c"), false),
        ];
        for (op, arg, want) in cases {
            check(json!({"Variable": "$.s", op: arg, "Next": "X"}), i.clone(), want);
        }
        let cases = [
            ("NumericEquals", json!(5), true),
            ("NumericLessThan", json!(5), false),
            ("NumericGreaterThan", json!(4.5), true),
            ("NumericLessThanEquals", json!(5), true),
            ("NumericGreaterThanEquals", json!(6), false),
        ];
        for (op, arg, want) in cases {
            check(json!({"Variable": "$.n", op: arg}), i.clone(), want);
        }
        check(json!({"Variable": "$.b", "BooleanEquals": true}), i.clone(), true);
        check(json!({"Variable": "$.t", "TimestampEquals": "2026-01-02T04:04:05+01:00"}), i.clone(), true);
        check(json!({"Variable": "$.t", "TimestampLessThan": "2026-01-02T03:04:06Z"}), i.clone(), true);
        check(json!({"Variable": "$.t", "TimestampGreaterThan": "2026-01-02T03:04:06Z"}), i.clone(), false);
        check(json!({"Variable": "$.t", "TimestampLessThanEquals": "2026-01-02T03:04:05Z"}), i.clone(), true);
        check(json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2027-01-01T00:00:00Z"}), i.clone(), false);
        check(json!({"Variable": "$.s", "StringEqualsPath": "$.o"}), i.clone(), false);
        check(json!({"Variable": "$.s", "StringLessThanPath": "$.o"}), i.clone(), true);
        check(json!({"Variable": "$.n", "NumericEqualsPath": "$.m"}), i.clone(), true);
        check(json!({"Variable": "$.b", "BooleanEqualsPath": "$.b"}), i.clone(), true);
        check(json!({"Variable": "$.t", "TimestampEqualsPath": "$.t"}), i.clone(), true);
        // The wrong type compares false.
        check(json!({"Variable": "$.n", "StringEquals": "5"}), i.clone(), false);
        check(json!({"Variable": "$.s", "NumericEquals": 5}), i, false);
    }

    #[test]
    fn type_tests_and_presence() {
        let i = json!({"s": "x", "n": 1, "b": false, "t": "2026-01-02T03:04:05Z", "nul": null, "export": {"Payload": {"url": "u"}}});
        check(json!({"Variable": "$.export.Payload.url", "IsPresent": true}), i.clone(), true);
        check(json!({"Variable": "$.export.Payload.nope", "IsPresent": true}), i.clone(), false);
        check(json!({"Variable": "$.export.Payload.nope", "IsPresent": false}), i.clone(), true);
        check(json!({"Variable": "$.nul", "IsNull": true}), i.clone(), true);
        check(json!({"Variable": "$.s", "IsNull": true}), i.clone(), false);
        check(json!({"Variable": "$.n", "IsNumeric": true}), i.clone(), true);
        check(json!({"Variable": "$.s", "IsString": true}), i.clone(), true);
        check(json!({"Variable": "$.b", "IsBoolean": true}), i.clone(), true);
        check(json!({"Variable": "$.t", "IsTimestamp": true}), i.clone(), true);
        check(json!({"Variable": "$.s", "IsTimestamp": false}), i, true);
    }

    #[test]
    fn string_matches() {
        let i = json!({"k": "exports/t1/e.jsonl", "star": "a*b"});
        check(json!({"Variable": "$.k", "StringMatches": "exports/*.jsonl"}), i.clone(), true);
        check(json!({"Variable": "$.k", "StringMatches": "*.json"}), i.clone(), false);
        check(json!({"Variable": "$.star", "StringMatches": "a\\*b"}), i, true);
    }

    #[test]
    fn combinations() {
        let i = json!({"a": 1, "b": "x"});
        let a = json!({"Variable": "$.a", "NumericEquals": 1});
        let b = json!({"Variable": "$.b", "StringEquals": "y"});
        check(json!({"And": [a, b], "Next": "X"}), i.clone(), false);
        check(json!({"Or": [a, b]}), i.clone(), true);
        check(json!({"Not": b}), i.clone(), true);
        check(json!({"And": [{"Not": b}, {"Or": [b, a]}]}), i, true);
    }

    #[test]
    fn errors() {
        let p = |v: Value| Condition::parse(&v, true).unwrap_err();
        assert_eq!(
            p(json!({"Variable": "$.a", "StringEquals": 1})),
            "StringEquals 1 has the wrong type for this operator"
        );
        assert!(p(json!({"Variable": "$.a", "StringContains": "x"})).contains("not a comparison operator"));
        assert!(p(json!({"Variable": "$.a", "StringMatchesPath": "$.b"})).contains("not a comparison operator"));
        assert!(p(json!({"Variable": "$.a", "BooleanLessThan": true})).contains("not a comparison operator"));
        assert!(
            p(json!({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1})).contains("exactly one operator")
        );
        assert!(p(json!({"And": []})).contains("non-empty"));
        assert!(p(json!({"Not": {"Variable": "$.a", "IsNull": true, "Next": "X"}})).contains("nested"));
        let c = Condition::parse(&json!({"Variable": "$.missing", "StringEquals": "x"}), true).unwrap();
        assert_eq!(
            c.eval(&json!({})).unwrap_err(),
            "invalid path $.missing: the choice state's condition path references an undefined value"
        );
    }
}
