//! Client-side resolution of `Fn::GetStackOutput`, for targets whose CloudFormation does not support it (moto
//! answers 500 to a template holding one): every `{"Fn::GetStackOutput": {"StackName", "OutputName", "Region"?}}`
//! is replaced by the output's value, read from the producer stacks deployed before (dependency order makes
//! sure they are).

use std::collections::BTreeMap;

use serde_json::Value;

/// Outputs of deployed stacks: (region, stack name) → output name → value.
pub type StackOutputs = BTreeMap<(String, String), BTreeMap<String, String>>;

/// A reference that could not be resolved.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("Fn::GetStackOutput {0}: malformed (needs StackName and OutputName strings, optional Region)")]
    Malformed(String),
    #[error("Fn::GetStackOutput: stack {stack} in {region} has no output {output} (it has: {known})")]
    Missing { stack: String, region: String, output: String, known: String },
}

/// The producer stacks a template reads with `Fn::GetStackOutput`: (region, stack name), `region` defaulting to
/// the consumer's.
pub fn references(template: &Value, region: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(template, &mut |args| {
        if let Some(r) = parse(args, region) {
            out.push((r.0, r.1));
        }
    });
    out.sort();
    out.dedup();
    out
}

/// Replaces every `Fn::GetStackOutput` of `template` (deployed in `region`) with its value from `outputs`.
pub fn resolve(template: &mut Value, region: &str, outputs: &StackOutputs) -> Result<(), ResolveError> {
    match template {
        Value::Object(m) => {
            if m.len() == 1
                && let Some(args) = m.get("Fn::GetStackOutput")
            {
                let Some((r, stack, output)) = parse(args, region) else {
                    return Err(ResolveError::Malformed(args.to_string()));
                };
                let found = outputs.get(&(r.clone(), stack.clone()));
                let value = found.and_then(|o| o.get(&output)).ok_or_else(|| ResolveError::Missing {
                    known: found.map(|o| o.keys().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default(),
                    stack,
                    region: r,
                    output,
                })?;
                *template = Value::String(value.clone());
                return Ok(());
            }
            m.values_mut().try_for_each(|v| resolve(v, region, outputs))
        }
        Value::Array(a) => a.iter_mut().try_for_each(|v| resolve(v, region, outputs)),
        _ => Ok(()),
    }
}

fn parse(args: &Value, region: &str) -> Option<(String, String, String)> {
    let s = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_owned);
    Some((s("Region").unwrap_or_else(|| region.to_owned()), s("StackName")?, s("OutputName")?))
}

fn walk(v: &Value, f: &mut dyn FnMut(&Value)) {
    match v {
        Value::Object(m) => {
            if let Some(args) = m.get("Fn::GetStackOutput") {
                f(args);
            }
            m.values().for_each(|x| walk(x, f));
        }
        Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_from_the_producer_outputs_in_its_region() {
        let mut t = json!({"Resources": {"A": {"Properties": {
            "X": {"Fn::GetStackOutput": {"StackName": "p", "OutputName": "Arn", "Region": "us-east-1"}},
            "Y": [{"Fn::GetStackOutput": {"StackName": "q", "OutputName": "Id"}}]}}}});
        assert_eq!(
            references(&t, "eu-west-1"),
            vec![("eu-west-1".into(), "q".into()), ("us-east-1".into(), "p".into())]
        );
        let mut outputs = StackOutputs::new();
        outputs.insert(("us-east-1".into(), "p".into()), BTreeMap::from([("Arn".into(), "arn:1".into())]));
        outputs.insert(("eu-west-1".into(), "q".into()), BTreeMap::from([("Id".into(), "id-2".into())]));
        resolve(&mut t, "eu-west-1", &outputs).unwrap();
        assert_eq!(t, json!({"Resources": {"A": {"Properties": {"X": "arn:1", "Y": ["id-2"]}}}}));
    }

    #[test]
    fn a_missing_output_names_the_stack_and_what_it_has() {
        let mut t = json!({"Fn::GetStackOutput": {"StackName": "p", "OutputName": "Nope"}});
        let mut outputs = StackOutputs::new();
        outputs.insert(("r".into(), "p".into()), BTreeMap::from([("Arn".into(), "a".into())]));
        assert_eq!(
            resolve(&mut t, "r", &outputs).unwrap_err().to_string(),
            "Fn::GetStackOutput: stack p in r has no output Nope (it has: Arn)"
        );
    }
}
