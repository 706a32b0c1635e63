//! The synthesized assembly (`rcdk.out/manifest.json` and one template per stack) and the resolution of
//! CloudFormation intrinsics within it, with the physical ids of the local cloud.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// What can go wrong reading an assembly or resolving a value in it.
#[derive(Debug, thiserror::Error)]
pub enum AssemblyError {
    /// A file of the assembly could not be read.
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// A file of the assembly is not the JSON expected.
    #[error("{path} is not a valid {what}: {problem}")]
    Parse { path: PathBuf, what: &'static str, problem: String },
    /// An intrinsic function or reference could not be resolved.
    #[error("stack {stack}, resource {logical_id}: cannot resolve {value}: {problem}")]
    Resolve { stack: String, logical_id: String, value: String, problem: String },
}

/// One stack of the assembly.
#[derive(Debug, Clone)]
pub struct Stack {
    /// The construct id (`Regional`).
    pub id: String,
    /// The CloudFormation stack name (`platform-local-regional`): what `Fn::GetStackOutput` names.
    pub name: String,
    pub region: String,
    /// The template's `Resources`, by logical id.
    pub resources: BTreeMap<String, Resource>,
    /// The template's `Outputs`: name to the unresolved `Value`.
    pub outputs: BTreeMap<String, Value>,
}

/// One resource of a template.
#[derive(Debug, Clone)]
pub struct Resource {
    pub logical_id: String,
    /// `AWS::ApiGateway::Method`...
    pub kind: String,
    /// `Properties` (an empty object when absent).
    pub properties: Map<String, Value>,
}

impl Resource {
    /// Property `name`, if set.
    pub fn prop(&self, name: &str) -> Option<&Value> {
        self.properties.get(name)
    }
}

/// The physical ids that references resolve to. The local cloud (the deploy issue) knows the real ones; the
/// gateway only needs ids that are stable and name the logical resource, which [`LocalIds`] gives.
pub trait PhysicalIds {
    /// The value of `{"Ref": logical_id}`.
    fn reference(&self, stack: &Stack, resource: &Resource) -> Result<String, String>;
    /// The value of `{"Fn::GetAtt": [logical_id, attribute]}`.
    fn attribute(&self, stack: &Stack, resource: &Resource, attribute: &str) -> Result<String, String>;
}

/// Ids derived from the logical ids: `Ref` is the logical id, `Fn::GetAtt X.Arn` of a function is its ARN in the
/// local account, any other attribute `X.Attribute` (`ApiTenants.ResourceId`, `Api.RootResourceId`). Logical ids
/// are part of the synth contract (STYLE.md), so they are stable across runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalIds;

/// The account of the local cloud: moto's default account.
pub const LOCAL_ACCOUNT: &str = "123456789012";

impl PhysicalIds for LocalIds {
    fn reference(&self, _stack: &Stack, resource: &Resource) -> Result<String, String> {
        Ok(resource.logical_id.clone())
    }
    fn attribute(&self, stack: &Stack, resource: &Resource, attribute: &str) -> Result<String, String> {
        Ok(match (resource.kind.as_str(), attribute) {
            ("AWS::Lambda::Function", "Arn") => function_arn(&stack.region, &resource.logical_id),
            _ => format!("{}.{attribute}", resource.logical_id),
        })
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>`, the ARN of a local function.
pub fn function_arn(region: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{LOCAL_ACCOUNT}:function:{name}")
}

/// Every stack of one synthesized app.
#[derive(Debug, Clone)]
pub struct Assembly {
    pub stacks: Vec<Stack>,
}

impl Assembly {
    /// Reads `dir/manifest.json` and every template it lists.
    pub fn load(dir: &Path) -> Result<Assembly, AssemblyError> {
        let manifest_path = dir.join("manifest.json");
        let manifest = read_json(&manifest_path, "manifest")?;
        let Some(entries) = manifest.get("stacks").and_then(Value::as_array) else {
            return Err(AssemblyError::Parse {
                path: manifest_path,
                what: "manifest",
                problem: "no `stacks` array".into(),
            });
        };
        let mut stacks = Vec::new();
        for entry in entries {
            let field = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_owned);
            let (Some(id), Some(name), Some(region), Some(file)) =
                (field("id"), field("name"), field("region"), field("templateFile"))
            else {
                return Err(AssemblyError::Parse {
                    path: manifest_path,
                    what: "manifest",
                    problem: format!("stack entry {entry} lacks one of id, name, region, templateFile"),
                });
            };
            let path = dir.join(&file);
            let template = read_json(&path, "template")?;
            stacks.push(Stack::from_template(id, name, region, &template).map_err(|problem| AssemblyError::Parse {
                path: path.clone(),
                what: "template",
                problem,
            })?);
        }
        Ok(Assembly { stacks })
    }

    /// The stack with construct id `id`.
    pub fn stack(&self, id: &str) -> Option<&Stack> {
        self.stacks.iter().find(|s| s.id == id)
    }

    /// Every resource of type `kind`, with its stack, in manifest then logical id order.
    pub fn resources_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a Stack, &'a Resource)> + 'a {
        self.stacks.iter().flat_map(move |s| s.resources.values().filter(move |r| r.kind == kind).map(move |r| (s, r)))
    }

    /// `value` (a property of `resource` in `stack`) with every intrinsic resolved.
    pub fn resolve(
        &self,
        stack: &Stack,
        resource: &str,
        value: &Value,
        ids: &dyn PhysicalIds,
    ) -> Result<Value, AssemblyError> {
        Resolver { assembly: self, ids, resource }.resolve(stack, value)
    }

    /// Like [`Assembly::resolve`], for a value that must resolve to a string.
    pub fn resolve_str(
        &self,
        stack: &Stack,
        resource: &str,
        value: &Value,
        ids: &dyn PhysicalIds,
    ) -> Result<String, AssemblyError> {
        match self.resolve(stack, resource, value, ids)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(AssemblyError::Resolve {
                stack: stack.id.clone(),
                logical_id: resource.to_owned(),
                value: value.to_string(),
                problem: format!("resolves to {other}, a string is expected"),
            }),
        }
    }
}

impl Stack {
    /// A stack from its parsed template.
    pub fn from_template(id: String, name: String, region: String, template: &Value) -> Result<Stack, String> {
        let mut resources = BTreeMap::new();
        let entries = template.get("Resources").and_then(Value::as_object).ok_or("no `Resources` object")?;
        for (logical_id, r) in entries {
            let kind = r
                .get("Type")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("resource {logical_id} has no `Type`"))?
                .to_owned();
            let properties = r.get("Properties").and_then(Value::as_object).cloned().unwrap_or_default();
            resources.insert(logical_id.clone(), Resource { logical_id: logical_id.clone(), kind, properties });
        }
        let mut outputs = BTreeMap::new();
        if let Some(o) = template.get("Outputs").and_then(Value::as_object) {
            for (name, output) in o {
                let value = output.get("Value").cloned().ok_or_else(|| format!("output {name} has no `Value`"))?;
                outputs.insert(name.clone(), value);
            }
        }
        Ok(Stack { id, name, region, resources, outputs })
    }
}

fn read_json(path: &Path, what: &'static str) -> Result<Value, AssemblyError> {
    let text = std::fs::read_to_string(path).map_err(|source| AssemblyError::Read { path: path.into(), source })?;
    serde_json::from_str(&text).map_err(|e| AssemblyError::Parse { path: path.into(), what, problem: e.to_string() })
}

struct Resolver<'a> {
    assembly: &'a Assembly,
    ids: &'a dyn PhysicalIds,
    /// The resource whose property is resolved: named in errors.
    resource: &'a str,
}

/// Output chains deeper than this are a cycle (an app has a handful of stacks).
const MAX_DEPTH: usize = 32;

impl Resolver<'_> {
    fn resolve(&self, stack: &Stack, value: &Value) -> Result<Value, AssemblyError> {
        self.resolve_at(stack, value, 0)
    }

    fn error(&self, stack: &Stack, value: &Value, problem: impl Into<String>) -> AssemblyError {
        AssemblyError::Resolve {
            stack: stack.id.clone(),
            logical_id: self.resource.to_owned(),
            value: value.to_string(),
            problem: problem.into(),
        }
    }

    fn resolve_at(&self, stack: &Stack, value: &Value, depth: usize) -> Result<Value, AssemblyError> {
        if depth > MAX_DEPTH {
            return Err(self.error(stack, value, "references nest too deep (a cycle of stack outputs?)"));
        }
        match value {
            Value::Array(items) => {
                Ok(Value::Array(items.iter().map(|v| self.resolve_at(stack, v, depth)).collect::<Result<_, _>>()?))
            }
            Value::Object(map) if map.len() == 1 => {
                let Some((key, arg)) = map.iter().next() else { return Ok(value.clone()) };
                if key == "Ref" || key.starts_with("Fn::") {
                    self.intrinsic(stack, key, arg, value, depth)
                } else {
                    Ok(Value::Object(self.resolve_map(stack, map, depth)?))
                }
            }
            Value::Object(map) => Ok(Value::Object(self.resolve_map(stack, map, depth)?)),
            other => Ok(other.clone()),
        }
    }

    fn resolve_map(
        &self,
        stack: &Stack,
        map: &Map<String, Value>,
        depth: usize,
    ) -> Result<Map<String, Value>, AssemblyError> {
        map.iter().map(|(k, v)| Ok((k.clone(), self.resolve_at(stack, v, depth)?))).collect()
    }

    fn string(&self, stack: &Stack, value: &Value, depth: usize) -> Result<String, AssemblyError> {
        match self.resolve_at(stack, value, depth)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(self.error(stack, value, format!("resolves to {other}, a string is expected"))),
        }
    }

    fn intrinsic(
        &self,
        stack: &Stack,
        key: &str,
        arg: &Value,
        whole: &Value,
        depth: usize,
    ) -> Result<Value, AssemblyError> {
        match key {
            "Ref" => {
                let name = arg.as_str().ok_or_else(|| self.error(stack, whole, "`Ref` takes a name"))?;
                self.reference(stack, name, whole).map(Value::String)
            }
            "Fn::GetAtt" => {
                let (name, attribute) = match arg {
                    Value::Array(a) if a.len() == 2 => (a[0].as_str(), a[1].as_str()),
                    Value::String(s) => match s.split_once('.') {
                        Some((n, a)) => (Some(n), Some(a)),
                        None => (None, None),
                    },
                    _ => (None, None),
                };
                let (Some(name), Some(attribute)) = (name, attribute) else {
                    return Err(self.error(stack, whole, "`Fn::GetAtt` takes [logical id, attribute]"));
                };
                let resource = stack
                    .resources
                    .get(name)
                    .ok_or_else(|| self.error(stack, whole, format!("no resource {name} in the stack")))?;
                self.ids
                    .attribute(stack, resource, attribute)
                    .map(Value::String)
                    .map_err(|p| self.error(stack, whole, p))
            }
            "Fn::Join" => {
                let parts = arg.as_array().filter(|a| a.len() == 2);
                let Some([sep, list]) = parts.map(Vec::as_slice) else {
                    return Err(self.error(stack, whole, "`Fn::Join` takes [separator, list]"));
                };
                let sep = sep.as_str().ok_or_else(|| self.error(stack, whole, "the separator must be a string"))?;
                let list = match self.resolve_at(stack, list, depth)? {
                    Value::Array(items) => items,
                    _ => return Err(self.error(stack, whole, "`Fn::Join` takes a list")),
                };
                let strings = list
                    .iter()
                    .map(|v| self.string(stack, v, depth))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Value::String(strings.join(sep)))
            }
            "Fn::Sub" => {
                let (template, vars) = match arg {
                    Value::String(s) => (s.as_str(), None),
                    Value::Array(a) if a.len() == 2 => match (&a[0], a[1].as_object()) {
                        (Value::String(s), Some(vars)) => (s.as_str(), Some(vars)),
                        _ => return Err(self.error(stack, whole, "`Fn::Sub` takes [template, {variables}]")),
                    },
                    _ => return Err(self.error(stack, whole, "`Fn::Sub` takes a template")),
                };
                self.sub(stack, template, vars, whole, depth).map(Value::String)
            }
            "Fn::Select" => {
                let parts = arg.as_array().filter(|a| a.len() == 2);
                let Some([index, list]) = parts.map(Vec::as_slice) else {
                    return Err(self.error(stack, whole, "`Fn::Select` takes [index, list]"));
                };
                let index: usize = self
                    .string(stack, index, depth)?
                    .parse()
                    .map_err(|_| self.error(stack, whole, "the index must be a number"))?;
                match self.resolve_at(stack, list, depth)? {
                    Value::Array(items) => items
                        .get(index)
                        .cloned()
                        .ok_or_else(|| self.error(stack, whole, format!("index {index} is out of the list"))),
                    _ => Err(self.error(stack, whole, "`Fn::Select` takes a list")),
                }
            }
            "Fn::Split" => {
                let parts = arg.as_array().filter(|a| a.len() == 2);
                let Some([sep, source]) = parts.map(Vec::as_slice) else {
                    return Err(self.error(stack, whole, "`Fn::Split` takes [separator, string]"));
                };
                let sep = sep.as_str().ok_or_else(|| self.error(stack, whole, "the separator must be a string"))?;
                let source = self.string(stack, source, depth)?;
                Ok(Value::Array(source.split(sep).map(|s| Value::String(s.to_owned())).collect()))
            }
            "Fn::GetStackOutput" => {
                let name = arg.get("StackName").and_then(Value::as_str);
                let output = arg.get("OutputName").and_then(Value::as_str);
                let (Some(name), Some(output)) = (name, output) else {
                    return Err(self.error(stack, whole, "`Fn::GetStackOutput` takes StackName and OutputName"));
                };
                let other = self
                    .assembly
                    .stacks
                    .iter()
                    .find(|s| s.name == name)
                    .ok_or_else(|| self.error(stack, whole, format!("no stack named {name} in the assembly")))?;
                let value = other
                    .outputs
                    .get(output)
                    .ok_or_else(|| self.error(stack, whole, format!("stack {name} has no output {output}")))?;
                self.resolve_at(other, value, depth + 1)
            }
            other => Err(self.error(
                stack,
                whole,
                format!(
                    "intrinsic {other} is not supported (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::GetStackOutput are)"
                ),
            )),
        }
    }

    fn reference(&self, stack: &Stack, name: &str, whole: &Value) -> Result<String, AssemblyError> {
        Ok(match name {
            "AWS::Region" => stack.region.clone(),
            "AWS::AccountId" => LOCAL_ACCOUNT.to_owned(),
            "AWS::Partition" => "aws".to_owned(),
            "AWS::URLSuffix" => "amazonaws.com".to_owned(),
            "AWS::StackName" => stack.name.clone(),
            _ => {
                let resource = stack
                    .resources
                    .get(name)
                    .ok_or_else(|| self.error(stack, whole, format!("no resource or parameter {name} in the stack")))?;
                self.ids.reference(stack, resource).map_err(|p| self.error(stack, whole, p))?
            }
        })
    }

    fn sub(
        &self,
        stack: &Stack,
        template: &str,
        vars: Option<&Map<String, Value>>,
        whole: &Value,
        depth: usize,
    ) -> Result<String, AssemblyError> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            // `${!Literal}` is written as `${Literal}`.
            if let Some(literal) = after.strip_prefix('!') {
                out.push_str("${");
                rest = literal;
                continue;
            }
            let end = after.find('}').ok_or_else(|| self.error(stack, whole, "unclosed `${`"))?;
            let name = &after[..end];
            let value = match vars.and_then(|v| v.get(name)) {
                Some(v) => self.string(stack, v, depth)?,
                None => match name.split_once('.') {
                    Some((resource, attribute)) if !name.starts_with("AWS::") => {
                        self.string(stack, &serde_json::json!({"Fn::GetAtt": [resource, attribute]}), depth)?
                    }
                    _ => self.reference(stack, name, whole)?,
                },
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn assembly() -> Assembly {
        let regional = Stack::from_template(
            "Regional".into(),
            "app-regional".into(),
            "eu-west-1".into(),
            &json!({
                "Resources": {
                    "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
                    "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}}
                },
                "Outputs": {"FnArn": {"Value": {"Fn::GetAtt": ["Fn", "Arn"]}}, "ApiRef": {"Value": {"Ref": "Api"}}}
            }),
        )
        .unwrap();
        let routes = Stack::from_template(
            "Routes".into(),
            "app-routes".into(),
            "eu-west-1".into(),
            &json!({"Resources": {"M": {"Type": "AWS::ApiGateway::Method", "Properties": {}}}}),
        )
        .unwrap();
        Assembly { stacks: vec![regional, routes] }
    }

    fn check(stack: &str, value: Value, expected: Value) {
        let a = assembly();
        let s = a.stack(stack).unwrap();
        assert_eq!(a.resolve(s, "M", &value, &LocalIds).unwrap(), expected);
    }

    #[test]
    fn resolves_the_intrinsics_the_platform_emits() {
        check("Regional", json!({"Ref": "Api"}), json!("Api"));
        check("Regional", json!({"Ref": "AWS::Region"}), json!("eu-west-1"));
        check("Regional", json!({"Fn::GetAtt": ["Api", "RootResourceId"]}), json!("Api.RootResourceId"));
        check(
            "Routes",
            json!({"Fn::Sub": [
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Function}/invocations",
                {"Function": {"Fn::GetStackOutput": {"OutputName": "FnArn", "StackName": "app-regional"}}}
            ]}),
            json!(
                "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:Fn/invocations"
            ),
        );
        check("Regional", json!({"Fn::Join": ["-", ["a", {"Ref": "Api"}]]}), json!("a-Api"));
        check("Regional", json!({"Fn::Select": [1, {"Fn::Split": [":", "a:b:c"]}]}), json!("b"));
        check(
            "Regional",
            json!({"Fn::Sub": "${Api.RootResourceId}/${!Literal}"}),
            json!("Api.RootResourceId/${Literal}"),
        );
        check("Regional", json!({"Nested": [{"Ref": "Fn"}]}), json!({"Nested": ["Fn"]}));
    }

    #[test]
    fn unresolvable_values_name_the_resource_and_the_reason() {
        let a = assembly();
        let s = a.stack("Routes").unwrap();
        let err = a.resolve(s, "M", &json!({"Ref": "Missing"}), &LocalIds).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"stack Routes, resource M: cannot resolve {"Ref":"Missing"}: no resource or parameter Missing in the stack"#
        );
        let err = a.resolve(s, "M", &json!({"Fn::If": ["C", 1, 2]}), &LocalIds).unwrap_err();
        assert!(err.to_string().contains("intrinsic Fn::If is not supported"), "{err}");
        let err = a
            .resolve(s, "M", &json!({"Fn::GetStackOutput": {"StackName": "nope", "OutputName": "X"}}), &LocalIds)
            .unwrap_err();
        assert!(err.to_string().ends_with("no stack named nope in the assembly"), "{err}");
    }
}
