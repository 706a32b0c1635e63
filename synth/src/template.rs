//! Template sections other than values: resources (as trait objects until synth), parameters, outputs,
//! mappings, and the per-resource attributes (`DependsOn`, `DeletionPolicy`, `UpdatePolicy`, `Condition`,
//! `Metadata`, rule suppressions).

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt::Debug;

use crate::schema::ResourceSchema;
use crate::value::{Intrinsic, Json, Node, Target, ToNode, Val};

/// A resource type: implemented by every generated L1 struct, and by [`RawResource`].
pub trait Resource: Any + Debug + Send + Sync {
    /// The typed attribute accessors of this type (`Arn`, `StreamArn` ...), built from a reference target.
    type Attrs: From<Target>;
    /// `AWS::Service::Type`.
    fn type_name(&self) -> &str;
    /// The generated schema, when the type is one codegen knows.
    fn schema(&self) -> Option<&'static ResourceSchema>;
    /// The `Properties` object.
    fn to_properties(&self) -> Node;
}

/// Object-safe view of a [`Resource`], so a stack can hold resources of every type.
pub(crate) trait ResourceObject: Any + Debug + Send + Sync {
    fn type_name(&self) -> &str;
    fn schema(&self) -> Option<&'static ResourceSchema>;
    fn to_properties(&self) -> Node;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn as_any(&self) -> &dyn Any;
}

impl<R: Resource> ResourceObject for R {
    fn type_name(&self) -> &str {
        Resource::type_name(self)
    }
    fn schema(&self) -> Option<&'static ResourceSchema> {
        Resource::schema(self)
    }
    fn to_properties(&self) -> Node {
        Resource::to_properties(self)
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A resource of any type with untyped properties: for types codegen does not cover (custom resources, new
/// services). Nothing of it is checked but references and the template limits.
#[derive(Clone, Debug)]
pub struct RawResource {
    pub type_name: String,
    pub properties: Node,
}

impl RawResource {
    pub fn new(type_name: impl Into<String>, properties: impl Into<Json>) -> Self {
        RawResource { type_name: type_name.into(), properties: properties.into().0 }
    }
}

/// Attribute accessor of a [`RawResource`]: any name, typed by the caller.
#[derive(Clone, Debug)]
pub struct RawAttrs(Target);

impl From<Target> for RawAttrs {
    fn from(t: Target) -> Self {
        RawAttrs(t)
    }
}

impl RawAttrs {
    pub fn get_att<T>(&self, attribute: &str) -> Val<T> {
        Val::func(Intrinsic::GetAtt(self.0.clone(), attribute.to_owned()))
    }
}

impl Resource for RawResource {
    type Attrs = RawAttrs;
    fn type_name(&self) -> &str {
        &self.type_name
    }
    fn schema(&self) -> Option<&'static ResourceSchema> {
        None
    }
    fn to_properties(&self) -> Node {
        self.properties.clone()
    }
}

/// `DeletionPolicy` / `UpdateReplacePolicy` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Delete,
    Retain,
    RetainExceptOnCreate,
    Snapshot,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Delete => "Delete",
            Policy::Retain => "Retain",
            Policy::RetainExceptOnCreate => "RetainExceptOnCreate",
            Policy::Snapshot => "Snapshot",
        }
    }
}

/// A resource's `UpdatePolicy`: how CloudFormation carries out an update of it
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-updatepolicy.html>). Only the
/// policy the templates use is modelled; the other forms (Auto Scaling, ElastiCache, OpenSearch) are left out until
/// something needs them.
#[derive(Clone, Debug, PartialEq)]
pub enum UpdatePolicy {
    /// `CodeDeployLambdaAliasUpdate` of an `AWS::Lambda::Alias`: a change of the alias's version is carried out as
    /// a CodeDeploy deployment of the group (traffic shifted by its deployment configuration, rolled back on its
    /// alarms) instead of moving all traffic at once.
    CodeDeployLambdaAliasUpdate {
        application_name: Val<String>,
        deployment_group_name: Val<String>,
        /// A function CodeDeploy invokes before any traffic shifts (its result can stop the deployment).
        before_allow_traffic_hook: Option<Val<String>>,
        /// A function CodeDeploy invokes after all traffic has shifted.
        after_allow_traffic_hook: Option<Val<String>>,
    },
}

impl ToNode for UpdatePolicy {
    fn to_node(&self) -> Node {
        match self {
            UpdatePolicy::CodeDeployLambdaAliasUpdate {
                application_name,
                deployment_group_name,
                before_allow_traffic_hook,
                after_allow_traffic_hook,
            } => {
                // The keys in CloudFormation's documented order.
                let mut fields = Vec::new();
                if let Some(h) = after_allow_traffic_hook {
                    fields.push(("AfterAllowTrafficHook".to_owned(), h.to_node()));
                }
                fields.push(("ApplicationName".to_owned(), application_name.to_node()));
                if let Some(h) = before_allow_traffic_hook {
                    fields.push(("BeforeAllowTrafficHook".to_owned(), h.to_node()));
                }
                fields.push(("DeploymentGroupName".to_owned(), deployment_group_name.to_node()));
                Node::Map(vec![("CodeDeployLambdaAliasUpdate".to_owned(), Node::Map(fields))])
            }
        }
    }
}

/// A raw property override (CDK's `addPropertyOverride`): a dotted path below `Properties` and the value to put
/// there, or `None` to delete it. Synth applies overrides last and lists their paths in the resource's metadata,
/// so an override is visible as such in the template.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub path: String,
    pub value: Option<Node>,
}

/// Metadata key holding a resource's rule suppressions: a list of `{"id": .., "reason": ..}`.
///
/// Written here by [`ResourceEntry::suppress`] and read by the rule pass at synth; it lives beside the template
/// model rather than the rules so that adding a suppression does not depend on the code that checks them.
pub const SUPPRESSIONS_METADATA_KEY: &str = "rcdk:suppressions";

/// Prefix of a suppression id that names a decision for other scanners only (cfn-lint, checkov, cfn-guard,
/// cfn-nag: `scanner:LambdaConcurrency`), not a rule of the pack. The rule pass checks that it has a reason, but
/// neither that the pack knows it nor that it suppresses a finding: only the scanner that reads it can tell.
pub const SCANNER_SUPPRESSION_PREFIX: &str = "scanner:";

/// A rule id and the reason it does not apply, as written into metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    pub id: String,
    pub reason: String,
}

impl Suppression {
    pub fn to_node(&self) -> Node {
        Node::Map(vec![("id".into(), Node::Str(self.id.clone())), ("reason".into(), Node::Str(self.reason.clone()))])
    }
    /// Reads one entry of the metadata list; a missing or non-string field reads as empty (which the rule pass
    /// reports: a suppression without a reason, or of an unknown rule).
    pub fn from_node(n: &Node) -> Suppression {
        Suppression {
            id: n.get("id").and_then(Node::as_str).unwrap_or_default().to_owned(),
            reason: n.get("reason").and_then(Node::as_str).unwrap_or_default().to_owned(),
        }
    }
}

/// A resource in a stack: its properties (still typed) and its template attributes.
#[derive(Debug)]
pub struct ResourceEntry {
    pub(crate) logical_id: String,
    pub(crate) path: String,
    pub(crate) props: Box<dyn ResourceObject>,
    pub(crate) depends_on: Vec<String>,
    pub(crate) deletion_policy: Option<Policy>,
    pub(crate) update_replace_policy: Option<Policy>,
    pub(crate) update_policy: Option<UpdatePolicy>,
    pub(crate) condition: Option<String>,
    pub(crate) metadata: BTreeMap<String, Node>,
    pub(crate) overrides: Vec<Override>,
}

impl ResourceEntry {
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }
    /// The construct path the resource was added at.
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn type_name(&self) -> &str {
        self.props.type_name()
    }
    pub fn schema(&self) -> Option<&'static ResourceSchema> {
        self.props.schema()
    }
    /// The properties as they would render now (before overrides).
    pub fn properties(&self) -> Node {
        self.props.to_properties()
    }
    /// Adds a `DependsOn` entry (kept sorted and unique).
    pub fn add_depends_on(&mut self, logical_id: impl Into<String>) -> &mut Self {
        let id = logical_id.into();
        if let Err(i) = self.depends_on.binary_search(&id) {
            self.depends_on.insert(i, id);
        }
        self
    }
    pub fn depends_on(&self) -> &[String] {
        &self.depends_on
    }
    pub fn set_deletion_policy(&mut self, p: Policy) -> &mut Self {
        self.deletion_policy = Some(p);
        self
    }
    pub fn deletion_policy(&self) -> Option<Policy> {
        self.deletion_policy
    }
    pub fn set_update_replace_policy(&mut self, p: Policy) -> &mut Self {
        self.update_replace_policy = Some(p);
        self
    }
    pub fn update_replace_policy(&self) -> Option<Policy> {
        self.update_replace_policy
    }
    /// Sets the `UpdatePolicy` attribute. Its references must be to resources of the same stack (synth validates
    /// them with the properties' but links only properties across stacks).
    pub fn set_update_policy(&mut self, p: UpdatePolicy) -> &mut Self {
        self.update_policy = Some(p);
        self
    }
    pub fn update_policy(&self) -> Option<&UpdatePolicy> {
        self.update_policy.as_ref()
    }
    /// Creates the resource only when the named condition holds.
    pub fn set_condition(&mut self, name: impl Into<String>) -> &mut Self {
        self.condition = Some(name.into());
        self
    }
    /// Sets a `Metadata` key (sorted in the output).
    pub fn set_metadata(&mut self, key: impl Into<String>, value: impl ToNode) -> &mut Self {
        self.metadata.insert(key.into(), value.to_node());
        self
    }
    pub fn metadata(&self) -> &BTreeMap<String, Node> {
        &self.metadata
    }
    /// Mutable access to a metadata key, created as an empty list when absent.
    pub fn metadata_list_mut(&mut self, key: &str) -> &mut Vec<Node> {
        let slot = self.metadata.entry(key.to_owned()).or_insert_with(|| Node::List(Vec::new()));
        if !matches!(slot, Node::List(_)) {
            *slot = Node::List(Vec::new());
        }
        match slot {
            Node::List(l) => l,
            _ => unreachable!("just set to a list"),
        }
    }
    /// Suppresses rule `id` on this resource, for `reason` (written to the template's metadata).
    pub fn suppress(&mut self, id: impl Into<String>, reason: impl Into<String>) -> &mut Self {
        let s = Suppression { id: id.into(), reason: reason.into() };
        let list = self.metadata_list_mut(SUPPRESSIONS_METADATA_KEY);
        let node = s.to_node();
        if !list.contains(&node) {
            list.push(node);
        }
        self
    }
    /// Sets `Properties.<path>` (dot-separated; a numeric segment indexes a list) to `value` at synth, whatever
    /// the typed properties say. The escape hatch for properties the spec lacks or gets wrong.
    pub fn add_property_override(&mut self, path: impl Into<String>, value: impl ToNode) -> &mut Self {
        self.overrides.push(Override { path: path.into(), value: Some(value.to_node()) });
        self
    }
    /// Removes `Properties.<path>` at synth.
    pub fn add_property_deletion_override(&mut self, path: impl Into<String>) -> &mut Self {
        self.overrides.push(Override { path: path.into(), value: None });
        self
    }
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }
}

/// A template parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    /// `String`, `Number`, `CommaDelimitedList`, `List<Number>`, `AWS::SSM::Parameter::Value<String>` ...
    pub kind: String,
    pub default: Option<Node>,
    pub description: Option<String>,
    pub allowed_values: Vec<String>,
    pub allowed_pattern: Option<String>,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub no_echo: bool,
    pub constraint_description: Option<String>,
}

impl Parameter {
    pub fn string() -> Self {
        Parameter::of_kind("String")
    }
    pub fn number() -> Self {
        Parameter::of_kind("Number")
    }
    pub fn of_kind(kind: impl Into<String>) -> Self {
        Parameter {
            kind: kind.into(),
            default: None,
            description: None,
            allowed_values: Vec::new(),
            allowed_pattern: None,
            min_length: None,
            max_length: None,
            min_value: None,
            max_value: None,
            no_echo: false,
            constraint_description: None,
        }
    }
    pub fn with_default(mut self, v: impl Into<Node>) -> Self {
        self.default = Some(v.into());
        self
    }
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    pub fn with_allowed_values<S: Into<String>>(mut self, v: impl IntoIterator<Item = S>) -> Self {
        self.allowed_values = v.into_iter().map(Into::into).collect();
        self
    }
}

/// A template output, optionally exported.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    pub value: Node,
    pub description: Option<String>,
    pub export_name: Option<Node>,
    pub condition: Option<String>,
}

impl Output {
    pub fn new<T>(value: Val<T>) -> Self {
        Output { value: value.into_node(), description: None, export_name: None, condition: None }
    }
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }
    /// Exports the output under `name` for `Fn::ImportValue` (prefer `Fn::GetStackOutput`, which does not lock
    /// the exporting stack).
    pub fn with_export(mut self, name: impl Into<Val<String>>) -> Self {
        self.export_name = Some(name.into().into_node());
        self
    }
}

/// A mapping: top-level key → second-level key → value.
pub type Mapping = BTreeMap<String, BTreeMap<String, Node>>;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn suppressions_read_back_from_metadata() {
        fn check(entry: serde_json::Value, id: &str, reason: &str) {
            let got = Suppression::from_node(&Node::from_json(entry.clone()));
            assert_eq!(got, Suppression { id: id.into(), reason: reason.into() }, "{entry}");
        }
        check(json!({"id": "RCDK-DDB3", "reason": "a cache"}), "RCDK-DDB3", "a cache");
        check(json!({"reason": "a cache", "id": "RCDK-DDB3"}), "RCDK-DDB3", "a cache");
        // A missing or non-string field reads as empty, which the rule pass reports.
        check(json!({"id": "RCDK-DDB3"}), "RCDK-DDB3", "");
        check(json!({"id": 3, "reason": "r"}), "", "r");
        check(json!("RCDK-DDB3"), "", "");
        check(json!(null), "", "");
    }

    #[test]
    fn suppressions_write_what_they_read() {
        let s = Suppression { id: "RCDK-DDB3".into(), reason: "a cache".into() };
        assert_eq!(s.to_node().to_json(), json!({"id": "RCDK-DDB3", "reason": "a cache"}));
        assert_eq!(Suppression::from_node(&s.to_node()), s);
    }
}
