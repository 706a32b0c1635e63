//! What the templates' resources became in the local cloud ([`LocalCloudIds`]), and the reverse: which
//! function or queue an ARN, a name or a URL names ([`Targets`]).

use std::collections::BTreeMap;

use super::Aliases;
use crate::assembly::{Assembly, LocalIds, PhysicalIds, Resource, Stack};

/// Physical ids read from the local cloud, per stack name and logical id: `Ref` values (a queue's URL, a
/// function's name, a state machine's ARN: the `PhysicalResourceId` of `DescribeStackResources`) and
/// attributes (`Arn` of a queue or function, `StreamArn` of a table). Anything not recorded reads as
/// [`LocalIds`] gives it.
#[derive(Debug, Clone, Default)]
pub struct LocalCloudIds {
    references: BTreeMap<(String, String), String>,
    attributes: BTreeMap<(String, String, String), String>,
}

impl LocalCloudIds {
    /// Records `Ref` of `logical_id` in the stack named `stack` (`platform-local-regional`).
    pub fn set_reference(&mut self, stack: &str, logical_id: &str, value: impl Into<String>) {
        self.references.insert((stack.to_owned(), logical_id.to_owned()), value.into());
    }

    /// Records `Fn::GetAtt [logical_id, attribute]` in the stack named `stack`.
    pub fn set_attribute(&mut self, stack: &str, logical_id: &str, attribute: &str, value: impl Into<String>) {
        self.attributes.insert((stack.to_owned(), logical_id.to_owned(), attribute.to_owned()), value.into());
    }
}

impl PhysicalIds for LocalCloudIds {
    fn reference(&self, stack: &Stack, resource: &Resource) -> Result<String, String> {
        match self.references.get(&(stack.name.clone(), resource.logical_id.clone())) {
            Some(v) => Ok(v.clone()),
            None => LocalIds.reference(stack, resource),
        }
    }
    fn attribute(&self, stack: &Stack, resource: &Resource, attribute: &str) -> Result<String, String> {
        let key = (stack.name.clone(), resource.logical_id.clone(), attribute.to_owned());
        match self.attributes.get(&key) {
            Some(v) => Ok(v.clone()),
            None => LocalIds.attribute(stack, resource, attribute),
        }
    }
}

/// Functions and queues by every name they are known by.
pub(crate) struct Targets {
    /// Function logical id by logical id, name (`Ref`) and ARN (`GetAtt Arn`).
    functions: Aliases,
    /// Queue URL by (stack name, logical id).
    queues: BTreeMap<(String, String), String>,
    /// Queue URL by queue name (the last part of its URL or ARN).
    queue_names: Aliases,
    /// Where a queue known only by name lives: `<upstream>/<account>/<name>`, as moto builds queue URLs.
    queue_base: String,
}

impl Targets {
    pub(crate) fn new(assembly: &Assembly, ids: &dyn PhysicalIds, upstream: &str, account: &str) -> Targets {
        let mut functions = Aliases::new();
        for (stack, f) in assembly.resources_of("AWS::Lambda::Function") {
            let id = f.logical_id.clone();
            for alias in [ids.reference(stack, f), ids.attribute(stack, f, "Arn")].into_iter().flatten() {
                functions.insert(function_name(&alias).to_owned(), id.clone());
                functions.insert(alias, id.clone());
            }
            functions.insert(id.clone(), id);
        }
        let mut queues = BTreeMap::new();
        let mut queue_names = Aliases::new();
        for (stack, q) in assembly.resources_of("AWS::SQS::Queue") {
            // A queue's `Ref` is its URL.
            let Ok(url) = ids.reference(stack, q) else { continue };
            let name = url.rsplit('/').next().unwrap_or(&url).to_owned();
            queue_names.insert(name, url.clone());
            if let Ok(arn) = ids.attribute(stack, q, "Arn") {
                queue_names.insert(arn.rsplit(':').next().unwrap_or(&arn).to_owned(), url.clone());
            }
            queues.insert((stack.name.clone(), q.logical_id.clone()), url);
        }
        Targets { functions, queues, queue_names, queue_base: format!("{}/{account}", upstream.trim_end_matches('/')) }
    }

    /// The logical id of the function `name` names (a logical id, a name, an ARN with or without qualifier);
    /// the name itself when no function of the templates has it (the invoker then says so).
    pub(crate) fn function(&self, name: &str) -> String {
        let bare = function_name(name);
        self.functions.get(name).or_else(|| self.functions.get(bare)).cloned().unwrap_or_else(|| bare.to_owned())
    }

    /// The URL of the queue with `logical_id` in the stack named `stack`.
    pub(crate) fn queue(&self, stack: &str, logical_id: &str) -> Option<&str> {
        self.queues.get(&(stack.to_owned(), logical_id.to_owned())).map(String::as_str)
    }

    /// The URL of the queue named `name` (a rule's literal ARN).
    pub(crate) fn queue_named(&self, name: &str) -> String {
        self.queue_names.get(name).cloned().unwrap_or_else(|| format!("{}/{name}", self.queue_base))
    }
}

/// `name` of `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`; anything else as it is.
fn function_name(s: &str) -> &str {
    match s.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => s,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn functions_and_queues_by_every_name() {
        let stack = Stack::from_template(
            "Regional".into(),
            "app-regional".into(),
            "eu-west-1".into(),
            &json!({"Resources": {
                "Exporter": {"Type": "AWS::Lambda::Function"},
                "Jobs": {"Type": "AWS::SQS::Queue"}
            }}),
        )
        .unwrap();
        let assembly = Assembly { stacks: vec![stack] };
        let mut ids = LocalCloudIds::default();
        ids.set_reference("app-regional", "Exporter", "app-regional-Exporter-X1");
        ids.set_attribute(
            "app-regional",
            "Exporter",
            "Arn",
            "arn:aws:lambda:eu-west-1:1:function:app-regional-Exporter-X1",
        );
        ids.set_reference("app-regional", "Jobs", "http://127.0.0.1:5000/1/app-regional-Jobs-Y2");
        let t = Targets::new(&assembly, &ids, "http://127.0.0.1:5000/", "1");
        for name in [
            "Exporter",
            "app-regional-Exporter-X1",
            "arn:aws:lambda:eu-west-1:1:function:app-regional-Exporter-X1",
            "arn:aws:lambda:eu-west-1:1:function:app-regional-Exporter-X1:$LATEST",
        ] {
            assert_eq!(t.function(name), "Exporter", "{name}");
        }
        assert_eq!(t.function("arn:aws:lambda:eu-west-1:1:function:Other:1"), "Other");
        assert_eq!(t.queue("app-regional", "Jobs"), Some("http://127.0.0.1:5000/1/app-regional-Jobs-Y2"));
        assert_eq!(t.queue_named("app-regional-Jobs-Y2"), "http://127.0.0.1:5000/1/app-regional-Jobs-Y2");
        assert_eq!(t.queue_named("elsewhere"), "http://127.0.0.1:5000/1/elsewhere");
    }
}
