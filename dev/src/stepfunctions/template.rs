//! CloudFormation intrinsics in template values (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Select`),
//! resolved through a caller's [`Resolver`]: the local cloud knows what each logical id became.
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html>

use serde_json::{Map, Value};

/// What the template's references became where it was deployed.
pub trait Resolver {
    /// `Ref` of a logical id or a pseudo parameter (`AWS::Region`); `None` when unknown.
    fn reference(&self, name: &str) -> Option<String>;
    /// `Fn::GetAtt` of a logical id; `None` when unknown.
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String>;
}

/// A value that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot resolve {what}: {problem}")]
pub struct ResolveError {
    pub what: String,
    pub problem: String,
}

fn err(what: impl std::fmt::Display, problem: &str) -> ResolveError {
    ResolveError { what: what.to_string(), problem: problem.to_owned() }
}

/// `v` with every intrinsic replaced by its value (recursively through objects and arrays).
pub fn resolve(v: &Value, r: &dyn Resolver) -> Result<Value, ResolveError> {
    match v {
        Value::Array(a) => Ok(Value::Array(a.iter().map(|x| resolve(x, r)).collect::<Result<_, _>>()?)),
        Value::Object(m) if m.len() == 1 => {
            let Some((k, arg)) = m.iter().next() else { return Ok(v.clone()) };
            match k.as_str() {
                "Ref" => {
                    let name = arg.as_str().ok_or_else(|| err(v, "Ref takes a name"))?;
                    r.reference(name).map(Value::String).ok_or_else(|| err(v, "unknown reference"))
                }
                "Fn::GetAtt" => {
                    let (id, attr) = match arg {
                        Value::String(s) => s.split_once('.').ok_or_else(|| err(v, "expected \"Id.Attribute\""))?,
                        Value::Array(a) if a.len() == 2 => (
                            a[0].as_str().ok_or_else(|| err(v, "expected [id, attribute]"))?,
                            a[1].as_str().ok_or_else(|| err(v, "expected [id, attribute]"))?,
                        ),
                        _ => return Err(err(v, "expected [id, attribute]")),
                    };
                    r.attribute(id, attr).map(Value::String).ok_or_else(|| err(v, "unknown attribute"))
                }
                "Fn::Sub" => {
                    let (text, vars) = match arg {
                        Value::String(s) => (s.as_str(), Map::new()),
                        Value::Array(a) if a.len() == 2 => {
                            let text = a[0].as_str().ok_or_else(|| err(v, "expected [string, variables]"))?;
                            let Value::Object(vars) = resolve(&a[1], r)? else {
                                return Err(err(v, "expected [string, variables]"));
                            };
                            (text, vars)
                        }
                        _ => return Err(err(v, "expected a string or [string, variables]")),
                    };
                    sub(text, &vars, r).map(Value::String)
                }
                "Fn::Join" => {
                    let (sep, items) = match arg {
                        Value::Array(a) if a.len() == 2 => (a[0].as_str(), resolve(&a[1], r)?),
                        _ => (None, Value::Null),
                    };
                    let (Some(sep), Value::Array(items)) = (sep, items) else {
                        return Err(err(v, "expected [separator, [values]]"));
                    };
                    let parts: Vec<String> = items
                        .iter()
                        .map(|i| scalar(i).ok_or_else(|| err(i, "Fn::Join joins strings")))
                        .collect::<Result<_, _>>()?;
                    Ok(Value::String(parts.join(sep)))
                }
                "Fn::Select" => {
                    let (index, list) = match arg {
                        Value::Array(a) if a.len() == 2 => (resolve(&a[0], r)?, resolve(&a[1], r)?),
                        _ => return Err(err(v, "expected [index, list]")),
                    };
                    let i = scalar(&index).and_then(|s| s.parse::<usize>().ok());
                    match (i, list) {
                        (Some(i), Value::Array(l)) => l.get(i).cloned().ok_or_else(|| err(v, "index out of range")),
                        _ => Err(err(v, "expected [index, list]")),
                    }
                }
                other if other.starts_with("Fn::") => Err(err(other, "not supported by the local emulator")),
                _ => {
                    Ok(Value::Object(m.iter().map(|(k, x)| Ok((k.clone(), resolve(x, r)?))).collect::<Result<_, _>>()?))
                }
            }
        }
        Value::Object(m) => {
            Ok(Value::Object(m.iter().map(|(k, x)| Ok((k.clone(), resolve(x, r)?))).collect::<Result<_, _>>()?))
        }
        other => Ok(other.clone()),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `Fn::Sub`'s `${Name}`, `${Id.Attribute}` and `${!Literal}`.
fn sub(text: &str, vars: &Map<String, Value>, r: &dyn Resolver) -> Result<String, ResolveError> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { return Err(err(text, "${ without }")) };
        let name = &after[..end];
        if let Some(lit) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(lit);
            out.push('}');
        } else if let Some(v) = vars.get(name) {
            out.push_str(&scalar(v).ok_or_else(|| err(name, "a Fn::Sub variable must be a string"))?);
        } else if let Some(v) = r.reference(name) {
            out.push_str(&v);
        } else if let Some(v) = name.split_once('.').and_then(|(id, a)| r.attribute(id, a)) {
            out.push_str(&v);
        } else {
            return Err(err(format!("${{{name}}} in {text:?}"), "unknown reference"));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A resolver from a fixed table, for tests and for values known up front: `refs` maps names (and pseudo
/// parameters) and `attrs` maps `Id.Attribute`.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub refs: std::collections::BTreeMap<String, String>,
    pub attrs: std::collections::BTreeMap<String, String>,
}

impl Resolver for Table {
    fn reference(&self, name: &str) -> Option<String> {
        self.refs.get(name).cloned()
    }
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
        self.attrs.get(&format!("{logical_id}.{attribute}")).cloned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn table() -> Table {
        let mut t = Table::default();
        t.refs.insert("AWS::Region".into(), "eu-west-1".into());
        t.refs.insert("Queue".into(), "https://q".into());
        t.attrs.insert("Fn.Arn".into(), "arn:aws:lambda:eu-west-1:1:function:f".into());
        t
    }

    #[test]
    fn resolves_each_intrinsic() {
        let r = table();
        let check = |v: Value, want: Value| assert_eq!(resolve(&v, &r).unwrap(), want, "{v}");
        check(json!({"Ref": "Queue"}), json!("https://q"));
        check(json!({"Fn::GetAtt": ["Fn", "Arn"]}), json!("arn:aws:lambda:eu-west-1:1:function:f"));
        check(json!({"Fn::GetAtt": "Fn.Arn"}), json!("arn:aws:lambda:eu-west-1:1:function:f"));
        check(
            json!({"Fn::Sub": "r=${AWS::Region} f=${Fn.Arn} ${!Lit}"}),
            json!("r=eu-west-1 f=arn:aws:lambda:eu-west-1:1:function:f ${Lit}"),
        );
        check(json!({"Fn::Sub": ["log-group:${Name}", {"Name": {"Ref": "Queue"}}]}), json!("log-group:https://q"));
        check(json!({"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}, 3]]}), json!("a-eu-west-1-3"));
        check(json!({"Fn::Select": [1, ["a", "b"]]}), json!("b"));
        check(
            json!({"a": [{"Ref": "Queue"}], "b": {"c": 1, "d": 2}}),
            json!({"a": ["https://q"], "b": {"c": 1, "d": 2}}),
        );
    }

    #[test]
    fn unknown_references_are_errors() {
        let r = table();
        assert_eq!(
            resolve(&json!({"Ref": "Nope"}), &r).unwrap_err().to_string(),
            "cannot resolve {\"Ref\":\"Nope\"}: unknown reference"
        );
        assert!(resolve(&json!({"Fn::Sub": "${Nope}"}), &r).unwrap_err().to_string().contains("${Nope}"));
        assert!(resolve(&json!({"Fn::ImportValue": "x"}), &r).unwrap_err().to_string().contains("not supported"));
    }
}
