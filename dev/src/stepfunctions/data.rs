//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`): JSON whose `"key.$"` fields take their
//! value from a path into the input (`$.x`), the context object (`$$.Execution.Id`) or an intrinsic function
//! (`States.Format('{}', $.x)`).
//! <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html>

use serde_json::{Map, Value};

use super::path::{Path, kind};

/// A parsed payload template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Literal(Value),
    Path(Path),
    Call(Call),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
}

/// An intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub args: Vec<Arg>,
}

/// An argument of an intrinsic: a literal, a path or a nested call.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Literal(Value),
    Path(Path),
    Call(Call),
}

/// The intrinsics this interpreter runs (the others are refused when the definition is read).
pub const INTRINSICS: &[&str] = &[
    "States.Format",
    "States.StringToJson",
    "States.JsonToString",
    "States.Array",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayUnique",
    "States.JsonMerge",
    "States.MathAdd",
    "States.StringSplit",
];

impl Template {
    /// Parses a template: `"k.$"` keys hold a path or an intrinsic, everything else is literal.
    pub fn parse(v: &Value) -> Result<Template, String> {
        Ok(match v {
            Value::Object(m) => Template::Object(
                m.iter()
                    .map(|(k, v)| match k.strip_suffix(".$") {
                        Some(name) => {
                            let Value::String(expr) = v else {
                                return Err(format!("field {k:?} must be a path or an intrinsic function, found {v}"));
                            };
                            Ok((name.to_owned(), dynamic(expr).map_err(|e| format!("field {k:?}: {e}"))?))
                        }
                        None => Ok((k.clone(), Template::parse(v)?)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Value::Array(a) => Template::Array(a.iter().map(Template::parse).collect::<Result<_, _>>()?),
            other => Template::Literal(other.clone()),
        })
    }

    /// The value for `input` and `context`. Errors say which path selected nothing or which call failed.
    pub fn eval(&self, input: &Value, context: &Value) -> Result<Value, String> {
        Ok(match self {
            Template::Literal(v) => v.clone(),
            Template::Path(p) => select(p, input, context)?,
            Template::Call(c) => c.eval(input, context)?,
            Template::Object(fields) => {
                Value::Object(fields.iter().map(|(k, t)| Ok((k.clone(), t.eval(input, context)?))).collect::<Result<
                    Map<_, _>,
                    String,
                >>(
                )?)
            }
            Template::Array(items) => {
                Value::Array(items.iter().map(|t| t.eval(input, context)).collect::<Result<_, _>>()?)
            }
        })
    }
}

fn select(p: &Path, input: &Value, context: &Value) -> Result<Value, String> {
    let root = if p.is_context() { context } else { input };
    p.select(root).ok_or_else(|| {
        format!(
            "the JSONPath {p} could not be found in the {}",
            if p.is_context() { "context object" } else { "input" }
        )
    })
}

/// A `.$` value: a path or an intrinsic call.
fn dynamic(expr: &str) -> Result<Template, String> {
    let expr = expr.trim();
    if expr.starts_with('$') {
        return Path::parse(expr).map(Template::Path).map_err(|e| e.to_string());
    }
    let mut p = Parser { s: expr, i: 0 };
    let call = p.call()?;
    p.ws();
    if p.i != expr.len() {
        return Err(format!("unexpected {:?} after the call in {expr:?}", &expr[p.i..]));
    }
    Ok(Template::Call(call))
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s[self.i..].starts_with(' ') {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: char) -> bool {
        self.ws();
        if self.s[self.i..].starts_with(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }
    fn call(&mut self) -> Result<Call, String> {
        self.ws();
        let start = self.i;
        while self.s[self.i..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.') {
            self.i += 1;
        }
        let name = self.s[start..self.i].to_owned();
        if !INTRINSICS.contains(&name.as_str()) {
            return Err(format!(
                "intrinsic function {name:?} is not supported, expected one of {}",
                INTRINSICS.join(", ")
            ));
        }
        if !self.eat('(') {
            return Err(format!("expected ( after {name}"));
        }
        let mut args = Vec::new();
        if !self.eat(')') {
            loop {
                args.push(self.arg()?);
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return Err(format!("expected , or ) in the arguments of {name}"));
                }
            }
        }
        Ok(Call { name, args })
    }
    fn arg(&mut self) -> Result<Arg, String> {
        self.ws();
        let rest = &self.s[self.i..];
        if let Some(body) = rest.strip_prefix('\'') {
            // A string literal; \' \{ \} \\ are escapes.
            let mut out = String::new();
            let mut chars = body.char_indices();
            while let Some((j, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '\'' => {
                        self.i += j + 2;
                        return Ok(Arg::Literal(Value::String(out)));
                    }
                    c => out.push(c),
                }
            }
            return Err("unterminated string literal".into());
        }
        if rest.starts_with('$') {
            let end = rest.find([',', ')']).unwrap_or(rest.len());
            self.i += end;
            return Path::parse(rest[..end].trim()).map(Arg::Path).map_err(|e| e.to_string());
        }
        if rest.starts_with("States.") {
            return self.call().map(Arg::Call);
        }
        let end = rest.find([',', ')']).unwrap_or(rest.len());
        let lit = rest[..end].trim();
        self.i += end;
        match lit {
            "null" => Ok(Arg::Literal(Value::Null)),
            "true" => Ok(Arg::Literal(Value::Bool(true))),
            "false" => Ok(Arg::Literal(Value::Bool(false))),
            n => n
                .parse::<serde_json::Number>()
                .map(|n| Arg::Literal(Value::Number(n)))
                .map_err(|_| format!("bad argument {n:?}")),
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Call {
    fn eval(&self, input: &Value, context: &Value) -> Result<Value, String> {
        let args: Vec<Value> = self
            .args
            .iter()
            .map(|a| match a {
                Arg::Literal(v) => Ok(v.clone()),
                Arg::Path(p) => select(p, input, context),
                Arg::Call(c) => c.eval(input, context),
            })
            .collect::<Result<_, _>>()?;
        let n = &self.name;
        let arity = |k: usize| {
            if args.len() == k { Ok(()) } else { Err(format!("{n} takes {k} arguments, got {}", args.len())) }
        };
        let array = |v: &Value| v.as_array().cloned().ok_or_else(|| format!("{n}: expected an array, got {}", kind(v)));
        let int = |v: &Value| v.as_i64().ok_or_else(|| format!("{n}: expected an integer, got {v}"));
        Ok(match n.as_str() {
            "States.Format" => {
                let Some((Value::String(f), rest)) = args.split_first() else {
                    return Err(format!("{n}: the first argument is the format string"));
                };
                let mut out = String::new();
                let mut it = rest.iter();
                let mut parts = f.split("{}");
                out.push_str(parts.next().unwrap_or_default());
                for part in parts {
                    out.push_str(&text(it.next().ok_or_else(|| format!("{n}: more {{}} than arguments"))?));
                    out.push_str(part);
                }
                Value::String(out)
            }
            "States.StringToJson" => {
                arity(1)?;
                let s = args[0].as_str().ok_or_else(|| format!("{n}: expected a string"))?;
                serde_json::from_str(s).map_err(|e| format!("{n}: {e}"))?
            }
            "States.JsonToString" => {
                arity(1)?;
                Value::String(args[0].to_string())
            }
            "States.Array" => Value::Array(args),
            "States.ArrayGetItem" => {
                arity(2)?;
                let i = usize::try_from(int(&args[1])?).map_err(|_| format!("{n}: negative index"))?;
                array(&args[0])?.get(i).cloned().ok_or_else(|| format!("{n}: index {i} out of range"))?
            }
            "States.ArrayLength" => {
                arity(1)?;
                Value::from(array(&args[0])?.len())
            }
            "States.ArrayContains" => {
                arity(2)?;
                Value::Bool(array(&args[0])?.contains(&args[1]))
            }
            "States.ArrayRange" => {
                arity(3)?;
                let (a, b, step) = (int(&args[0])?, int(&args[1])?, int(&args[2])?);
                if step == 0 {
                    return Err(format!("{n}: the step cannot be 0"));
                }
                let mut out = Vec::new();
                let mut x = a;
                while (step > 0 && x <= b) || (step < 0 && x >= b) {
                    out.push(Value::from(x));
                    x += step;
                }
                Value::Array(out)
            }
            "States.ArrayUnique" => {
                arity(1)?;
                let mut out: Vec<Value> = Vec::new();
                for v in array(&args[0])? {
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
                Value::Array(out)
            }
            "States.JsonMerge" => {
                arity(3)?;
                // Only the shallow merge exists (the third argument must be false).
                match (&args[0], &args[1], &args[2]) {
                    (Value::Object(a), Value::Object(b), Value::Bool(false)) => {
                        let mut m = a.clone();
                        m.extend(b.clone());
                        Value::Object(m)
                    }
                    _ => return Err(format!("{n}: expected two objects and false")),
                }
            }
            "States.MathAdd" => {
                arity(2)?;
                Value::from(int(&args[0])? + int(&args[1])?)
            }
            "States.StringSplit" => {
                arity(2)?;
                let (Some(s), Some(d)) = (args[0].as_str(), args[1].as_str()) else {
                    return Err(format!("{n}: expected two strings"));
                };
                // Each character of the delimiter splits.
                Value::Array(
                    s.split(|c| d.contains(c)).filter(|p| !p.is_empty()).map(|p| Value::String(p.to_owned())).collect(),
                )
            }
            other => return Err(format!("intrinsic function {other} is not supported")),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn eval(t: Value, input: Value) -> Result<Value, String> {
        Template::parse(&t)?.eval(&input, &json!({"Execution": {"Id": "exec-1"}}))
    }

    #[test]
    fn paths_context_and_nesting() {
        let out = eval(
            json!({"FunctionName": "f", "Payload.$": "$", "Entries": [{"Detail.$": "$.a", "Source": "s"}], "Id.$": "$$.Execution.Id"}),
            json!({"a": {"b": 1}}),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"FunctionName": "f", "Payload": {"a": {"b": 1}}, "Entries": [{"Detail": {"b": 1}, "Source": "s"}], "Id": "exec-1"})
        );
    }

    #[test]
    fn missing_paths_are_errors() {
        assert_eq!(
            eval(json!({"x.$": "$.nope"}), json!({})).unwrap_err(),
            "the JSONPath $.nope could not be found in the input"
        );
        assert!(eval(json!({"x.$": 3}), json!({})).unwrap_err().contains("must be a path or an intrinsic"));
    }

    #[test]
    fn intrinsics() {
        let input = json!({"name": "t1", "n": 2, "list": [1, 2, 2], "json": "{\"k\": 1}", "o": {"a": 1}});
        let check = |expr: &str, want: Value| {
            assert_eq!(eval(json!({"v.$": expr}), input.clone()).unwrap()["v"], want, "{expr}")
        };
        check("States.Format('tenant {} has {} \\'items\\'', $.name, $.n)", json!("tenant t1 has 2 'items'"));
        check("States.StringToJson($.json)", json!({"k": 1}));
        check("States.JsonToString($.o)", json!("{\"a\":1}"));
        check("States.Array($.n, 'x', true, null)", json!([2, "x", true, null]));
        check("States.ArrayGetItem($.list, 1)", json!(2));
        check("States.ArrayLength($.list)", json!(3));
        check("States.ArrayContains($.list, 2)", json!(true));
        check("States.ArrayRange(1, 9, 4)", json!([1, 5, 9]));
        check("States.ArrayUnique($.list)", json!([1, 2]));
        check("States.JsonMerge($.o, States.StringToJson($.json), false)", json!({"a": 1, "k": 1}));
        check("States.MathAdd($.n, -3)", json!(-1));
        check("States.StringSplit('a,b;c', ',;')", json!(["a", "b", "c"]));
    }

    #[test]
    fn bad_intrinsics() {
        let e = |expr: &str| Template::parse(&json!({"v.$": expr})).unwrap_err();
        assert!(e("States.Hash($.a, 'SHA-1')").contains("is not supported, expected one of States.Format"));
        assert!(e("States.Format('x'").contains("expected , or )"));
        assert!(e("States.Format('x') junk").contains("unexpected"));
        assert!(
            eval(json!({"v.$": "States.ArrayGetItem($.l, 5)"}), json!({"l": [1]}))
                .unwrap_err()
                .contains("out of range")
        );
    }
}
