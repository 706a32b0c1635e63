//! `deploy --hotswap`: when the only change of every selected stack is handler code (`Properties.Code.*` of
//! `AWS::Lambda::Function`s), update the functions directly (`UpdateFunctionCode`, `PublishVersion`, and the
//! aliases pointing at them moved to the new version) instead of a CloudFormation update: seconds instead of
//! minutes in the edit loop. The stacks then differ from their templates (drift), which the report says; the next
//! full deploy reconciles them. Any other change falls back to a full deploy. Refused on production stages by the
//! command line.

use std::sync::Arc;

use anyhow::{Context, Result};
use constructs::diff::{Action, StackDiff};
use serde_json::Value;
use synth::Assembly;

use crate::engine::{DeployOptions, Engine, select};
use crate::plan::{DeployReport, StackAction, StackReport};

/// Whether `diff` is only handler code: the logical ids of the functions to update, or `None`.
pub fn code_only(diff: &StackDiff) -> Option<Vec<String>> {
    if diff.new_stack || !diff.outputs.is_empty() {
        return None;
    }
    diff.resources
        .iter()
        .map(|r| {
            let code = r.action == Action::Modify
                && r.type_name == "AWS::Lambda::Function"
                && r.changes.iter().all(|c| c.path.starts_with("Properties.Code."));
            code.then(|| r.logical_id.clone())
        })
        .collect()
}

/// Hotswaps when every selected stack allows it; otherwise deploys through CloudFormation.
pub async fn deploy(engine: &Arc<Engine>, assembly: &Assembly, opts: &DeployOptions) -> Result<DeployReport> {
    let selected = select(assembly, &opts.only)?;
    let mut plans = Vec::new();
    for s in &selected {
        let diff = engine.live_diff(s).await?;
        match code_only(&diff) {
            Some(functions) => plans.push((*s, diff, functions)),
            None => {
                eprintln!("hotswap: {} has changes other than handler code; deploying through CloudFormation", s.name);
                return Ok(engine.deploy(assembly, opts).await?);
            }
        }
    }
    let mut report = DeployReport::default();
    for (s, diff, functions) in plans {
        let started = std::time::Instant::now();
        let clients = engine.clients.get(&s.region).context("no clients for the region")?;
        let template: Value = serde_json::from_str(&s.template)?;
        for lid in &functions {
            let physical = engine
                .physical_id(&s.region, &s.name, lid)
                .await?
                .with_context(|| format!("{}: function {lid} has no physical id", s.name))?;
            let key = template
                .pointer(&format!("/Resources/{lid}/Properties/Code/S3Key"))
                .and_then(Value::as_str)
                .with_context(|| format!("{}: function {lid} has no literal Code.S3Key", s.name))?;
            clients
                .lambda
                .update_function_code()
                .function_name(&physical)
                .s3_bucket(clients.assets_bucket(&s.region))
                .s3_key(key)
                .send()
                .await
                .with_context(|| format!("{}: UpdateFunctionCode {physical}", s.name))?;
            let version = publish_when_ready(clients, &physical).await?;
            for alias in aliases_of(&template, lid) {
                clients
                    .lambda
                    .update_alias()
                    .function_name(&physical)
                    .name(&alias)
                    .function_version(&version)
                    .send()
                    .await
                    .with_context(|| format!("{}: UpdateAlias {physical}:{alias}", s.name))?;
            }
        }
        report.drifted.push(s.name.clone());
        report.stacks.push(StackReport {
            id: s.id.clone(),
            name: s.name.clone(),
            region: s.region.clone(),
            action: if functions.is_empty() { StackAction::NoChanges } else { StackAction::Update },
            diff,
            refusals: Vec::new(),
            status: Some("HOTSWAPPED".into()),
            outputs: Default::default(),
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    report.drifted.retain(|d| report.stacks.iter().any(|s| &s.name == d && s.action == StackAction::Update));
    Ok(report)
}

/// Publishes a version once the code update has finished (`PublishVersion` fails while it is in progress).
async fn publish_when_ready(clients: &crate::aws::Clients, function: &str) -> Result<String> {
    let mut delay = std::time::Duration::from_millis(100);
    for _ in 0..60 {
        let conf = clients.lambda.get_function_configuration().function_name(function).send().await?;
        let done = conf.last_update_status().is_none_or(|s| s.as_str() != "InProgress");
        if done {
            let v = clients.lambda.publish_version().function_name(function).send().await?;
            return v.version().map(str::to_owned).context("PublishVersion returned no version");
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(std::time::Duration::from_secs(2));
    }
    anyhow::bail!("{function}: the code update did not finish in time")
}

/// Names of the `AWS::Lambda::Alias`es of function `lid` in `template`.
fn aliases_of(template: &Value, lid: &str) -> Vec<String> {
    let Some(res) = template.get("Resources").and_then(Value::as_object) else { return Vec::new() };
    res.values()
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::Lambda::Alias"))
        .filter(|r| r.pointer("/Properties/FunctionName/Ref").and_then(Value::as_str) == Some(lid))
        .filter_map(|r| r.pointer("/Properties/Name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use constructs::diff::diff_stack;
    use serde_json::json;

    fn f(key: &str, mem: i64) -> Value {
        json!({"Resources": {"F": {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": {"S3Bucket": "b", "S3Key": key}, "MemorySize": mem}}}})
    }

    #[test]
    fn only_code_changes_hotswap() {
        let d = diff_stack("S", "s", Some(&f("a.zip", 128)), &f("b.zip", 128));
        assert_eq!(code_only(&d), Some(vec!["F".to_owned()]));
        let d = diff_stack("S", "s", Some(&f("a.zip", 128)), &f("b.zip", 256));
        assert_eq!(code_only(&d), None);
        let d = diff_stack("S", "s", None, &f("b.zip", 256));
        assert_eq!(code_only(&d), None);
    }

    #[test]
    fn aliases_are_found_by_function() {
        let t = json!({"Resources": {
            "A": {"Type": "AWS::Lambda::Alias", "Properties": {"FunctionName": {"Ref": "F"}, "Name": "live"}},
            "B": {"Type": "AWS::Lambda::Alias", "Properties": {"FunctionName": {"Ref": "G"}, "Name": "live"}}}});
        assert_eq!(aliases_of(&t, "F"), vec!["live"]);
    }
}
