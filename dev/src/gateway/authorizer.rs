//! The output of a Lambda authorizer and how API Gateway judges it: the policy's statements matched against the
//! method ARN, explicit Deny first.
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html>

use serde_json::{Map, Value};

/// What an authorizer returned, kept in the cache for its TTL. The policy is judged per request: a cached
/// policy applies to every method the caller calls with the same token, as in API Gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizerOutput {
    pub principal_id: String,
    statements: Vec<Statement>,
    /// `context`: string, number and boolean values only.
    pub context: Map<String, Value>,
    pub usage_identifier_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Statement {
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
}

/// The verdict on one method ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// A Deny statement matched.
    ExplicitDeny,
    /// No statement matched.
    ImplicitDeny,
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) => a.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => None,
    }
}

impl AuthorizerOutput {
    /// Parses the function's output; `Err` says what is malformed (API Gateway answers 500 then).
    pub fn parse(output: &Value) -> Result<AuthorizerOutput, String> {
        let principal_id = match output.get("principalId") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err("no principalId".into()),
        };
        let document = output.get("policyDocument").ok_or("no policyDocument")?;
        let statements = match document.get("Statement") {
            Some(Value::Array(a)) => a.clone(),
            Some(s @ Value::Object(_)) => vec![s.clone()],
            _ => return Err("policyDocument without Statement".into()),
        };
        let statements = statements
            .iter()
            .map(|s| {
                let allow = match s.get("Effect").and_then(Value::as_str) {
                    Some("Allow") => true,
                    Some("Deny") => false,
                    other => return Err(format!("statement Effect {other:?}: Allow or Deny")),
                };
                let actions = strings(s.get("Action")).ok_or("statement without Action")?;
                let resources = strings(s.get("Resource")).ok_or("statement without Resource")?;
                Ok(Statement { allow, actions, resources })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let context = match output.get("context") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => {
                if let Some((k, _)) = m.iter().find(|(_, v)| v.is_object() || v.is_array()) {
                    return Err(format!("context value {k} is not a string, number or boolean"));
                }
                m.clone()
            }
            Some(_) => return Err("context is not an object".into()),
        };
        let usage_identifier_key = output.get("usageIdentifierKey").and_then(Value::as_str).map(str::to_owned);
        Ok(AuthorizerOutput { principal_id, statements, context, usage_identifier_key })
    }

    /// Judges `method_arn` (`arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>`).
    pub fn verdict(&self, method_arn: &str) -> Verdict {
        let applies = |s: &&Statement| {
            s.actions.iter().any(|a| wildcard_match(a, "execute-api:Invoke"))
                && s.resources.iter().any(|r| wildcard_match(r, method_arn))
        };
        let matching: Vec<&Statement> = self.statements.iter().filter(applies).collect();
        if matching.iter().any(|s| !s.allow) {
            Verdict::ExplicitDeny
        } else if matching.iter().any(|s| s.allow) {
            Verdict::Allow
        } else {
            Verdict::ImplicitDeny
        }
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` one character.
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    // Greedy matching with backtracking to the last `*`.
    let (mut i, mut j) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while j < v.len() {
        if i < p.len() && (p[i] == '?' || p[i] == v[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:Api/local/GET/tenants/acme/orders";

    fn output(effect: &str, resource: Value) -> AuthorizerOutput {
        AuthorizerOutput::parse(&json!({
            "principalId": "user",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
            ]},
            "context": {"tenantId": "acme", "n": 1, "b": true},
            "usageIdentifierKey": "key"
        }))
        .unwrap()
    }

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(wildcard_match("arn:aws:execute-api:*:*:Api/*", ARN));
        assert!(wildcard_match("arn:aws:execute-api:eu-west-1:123456789012:Api/local/GET/tenants/*/orders", ARN));
        assert!(wildcard_match("arn:aws:execute-api:eu-west-1:123456789012:Api/local/GE?/*", ARN));
        assert!(!wildcard_match("arn:aws:execute-api:eu-west-1:123456789012:Api/local/POST/*", ARN));
        assert!(!wildcard_match("arn:aws:execute-api:eu-west-1:123456789012:Api/local/GET/tenants", ARN));
        assert!(wildcard_match("*", ""));
    }

    #[test]
    fn verdicts() {
        assert_eq!(output("Allow", json!("arn:aws:execute-api:*:*:Api/*")).verdict(ARN), Verdict::Allow);
        assert_eq!(output("Deny", json!(["arn:aws:execute-api:*:*:Api/*"])).verdict(ARN), Verdict::ExplicitDeny);
        assert_eq!(output("Allow", json!("arn:aws:execute-api:*:*:Other/*")).verdict(ARN), Verdict::ImplicitDeny);
        let o = output("Allow", json!("*"));
        assert_eq!(o.principal_id, "user");
        assert_eq!(o.context["n"], json!(1));
        assert_eq!(o.usage_identifier_key.as_deref(), Some("key"));
    }

    #[test]
    fn malformed_outputs_say_what_is_wrong() {
        assert_eq!(AuthorizerOutput::parse(&json!({"policyDocument": {}})).unwrap_err(), "no principalId");
        let nested = json!({"principalId": "p", "policyDocument": {"Statement": []}, "context": {"a": {"b": 1}}});
        assert_eq!(AuthorizerOutput::parse(&nested).unwrap_err(), "context value a is not a string, number or boolean");
    }
}
