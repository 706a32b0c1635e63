//! Helpers: build one stack, synthesize it (with the rule pack), and look at the template as JSON.

use serde_json::Value;
use synth::{App, Asset, AssetKind, Scope, Stack, StackProps};

/// A handler asset with a fixed hash.
pub fn asset() -> Asset {
    Asset {
        id: "worker".into(),
        kind: AssetKind::RustLambda { package: "worker".into(), path: "handlers/worker".into() },
        hash: "0123abcd".into(),
    }
}

/// Builds a stack `Main` in eu-west-1 with `build`, synthesizes it with the whole rule pack and returns the
/// template as JSON. Panics with synth's message when synth fails.
pub fn template(build: impl FnOnce(&mut Scope)) -> Value {
    try_template(build).unwrap_or_else(|e| panic!("{e}"))
}

/// Like [`template`], returning synth's error.
pub fn try_template(build: impl FnOnce(&mut Scope)) -> Result<Value, synth::SynthError> {
    synthesize(build, true)
}

/// Like [`template`] without the rule pack: for a construct that needs a companion to pass it (a bucket without a
/// log bucket, a stage without a web ACL).
pub fn template_unchecked(build: impl FnOnce(&mut Scope)) -> Value {
    synthesize(build, false).unwrap_or_else(|e| panic!("{e}"))
}

fn synthesize(build: impl FnOnce(&mut Scope), with_rules: bool) -> Result<Value, synth::SynthError> {
    let mut app = App::new("test");
    app.add_asset(asset());
    let stack = app.add_stack(Stack::new(StackProps::new("Main", "test-main", "eu-west-1", "dev")));
    build(&mut stack.root());
    let rules = if with_rules { constructs::rules::all() } else { Vec::new() };
    let a = app.synth_with(&rules)?;
    Ok(serde_json::from_str(&a.stacks[0].template).unwrap())
}

/// Resource `id` of a template.
pub fn resource<'a>(t: &'a Value, id: &str) -> &'a Value {
    let r = &t["Resources"][id];
    assert!(
        !r.is_null(),
        "no resource {id}; have: {:?}",
        t["Resources"].as_object().map(|m| m.keys().collect::<Vec<_>>())
    );
    r
}

/// Properties of resource `id`.
pub fn props<'a>(t: &'a Value, id: &str) -> &'a Value {
    &resource(t, id)["Properties"]
}

/// Logical ids of the resources of type `type_name`, sorted.
pub fn of_type(t: &Value, type_name: &str) -> Vec<String> {
    t["Resources"].as_object().unwrap().iter().filter(|(_, r)| r["Type"] == type_name).map(|(k, _)| k.clone()).collect()
}

/// The statements of a role's inline policy.
pub fn role_statements(t: &Value, role: &str) -> Vec<Value> {
    props(t, role)["Policies"][0]["PolicyDocument"]["Statement"].as_array().cloned().unwrap_or_default()
}

/// The checkov check ids a resource skips.
pub fn checkov_skips(t: &Value, id: &str) -> Vec<String> {
    resource(t, id)["Metadata"]["checkov"]["skip"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// The cfn-lint rule ids a resource declares ignored (`Metadata.cfn-lint.config.ignore_checks`).
pub fn cfn_lint_ignores(t: &Value, id: &str) -> Vec<String> {
    resource(t, id)["Metadata"]["cfn-lint"]["config"]["ignore_checks"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// `{"Fn::GetAtt": [id, attr]}`.
pub fn get_att(id: &str, attr: &str) -> Value {
    serde_json::json!({"Fn::GetAtt": [id, attr]})
}

/// `{"Ref": id}`.
pub fn ref_(id: &str) -> Value {
    serde_json::json!({"Ref": id})
}

/// The statements a function's role starts with: writing to its own log group (`<function>Logs`), and X-Ray.
pub fn runtime_statements(function: &str) -> Vec<Value> {
    vec![
        serde_json::json!({
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": get_att(&format!("{function}Logs"), "Arn")
        }),
        serde_json::json!({
            "Effect": "Allow",
            "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            "Resource": "*"
        }),
    ]
}

/// `kms:ViaService` of `service` in the stack's region.
pub fn via(service: &str) -> Value {
    serde_json::json!({"StringEquals": {"kms:ViaService": {"Fn::Sub": format!("{service}.${{AWS::Region}}.amazonaws.com")}}})
}
