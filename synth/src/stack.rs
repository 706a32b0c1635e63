//! Stacks, construct scopes, resource handles and the logical ids derived from construct paths.
//!
//! A construct lives at a path of explicit ids (`Orders/Table`); the logical id of a resource is its path with
//! the separators dropped (`OrdersTable`). Ids named `Resource` or `Default` are left out, so an L2 construct's
//! main resource takes the construct's own name. No hash is appended: renaming a construct is a visible change in
//! the template, and two paths that map to one logical id are reported as an error, never silently suffixed.

use std::collections::{BTreeMap, HashMap};
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use crate::diag::Diagnostic;
use crate::template::{Mapping, Output, Parameter, Resource, ResourceEntry};
use crate::value::{Cond, Intrinsic, Node, Target, Val};

/// Where and how a stack is deployed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackProps {
    /// The id of the stack in the app (`Regional`, `Edge`); also its file name.
    pub id: String,
    /// The CloudFormation stack name (`platform-prod-regional`).
    pub name: String,
    pub region: String,
    /// The account, when pinned. `None` deploys to whatever account the credentials belong to.
    pub account: Option<String>,
    /// The stage (`dev`, `prod` ...).
    pub stage: String,
    pub description: Option<String>,
    /// Stack-level tags, applied by CloudFormation to every resource that supports tags.
    pub tags: BTreeMap<String, String>,
    /// Deny stack deletion (turned on for production stages by the platform).
    pub termination_protection: bool,
}

impl StackProps {
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        region: impl Into<String>,
        stage: impl Into<String>,
    ) -> Self {
        StackProps {
            id: id.into(),
            name: name.into(),
            region: region.into(),
            account: None,
            stage: stage.into(),
            description: None,
            tags: BTreeMap::new(),
            termination_protection: false,
        }
    }
}

/// One CloudFormation stack under construction.
#[derive(Debug)]
pub struct Stack {
    pub(crate) props: StackProps,
    pub(crate) stack_tag: Arc<str>,
    pub(crate) resources: Vec<ResourceEntry>,
    pub(crate) parameters: BTreeMap<String, Parameter>,
    pub(crate) conditions: BTreeMap<String, Cond>,
    pub(crate) mappings: BTreeMap<String, Mapping>,
    pub(crate) outputs: BTreeMap<String, Output>,
    pub(crate) metadata: BTreeMap<String, Node>,
    pub(crate) assets: Vec<String>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    by_logical_id: HashMap<String, usize>,
}

impl Stack {
    pub fn new(props: StackProps) -> Self {
        let stack_tag = Arc::from(props.id.as_str());
        Stack {
            props,
            stack_tag,
            resources: Vec::new(),
            parameters: BTreeMap::new(),
            conditions: BTreeMap::new(),
            mappings: BTreeMap::new(),
            outputs: BTreeMap::new(),
            metadata: BTreeMap::new(),
            assets: Vec::new(),
            diagnostics: Vec::new(),
            by_logical_id: HashMap::new(),
        }
    }

    pub fn props(&self) -> &StackProps {
        &self.props
    }
    pub fn id(&self) -> &str {
        &self.props.id
    }
    pub fn name(&self) -> &str {
        &self.props.name
    }
    pub fn region(&self) -> &str {
        &self.props.region
    }

    /// The root scope of the stack's construct tree.
    pub fn root(&mut self) -> Scope<'_> {
        Scope { stack: self, path: String::new() }
    }

    pub fn resources(&self) -> &[ResourceEntry] {
        &self.resources
    }

    /// The entry of a resource by logical id.
    pub fn resource(&self, logical_id: &str) -> Option<&ResourceEntry> {
        self.by_logical_id.get(logical_id).map(|&i| &self.resources[i])
    }
    pub fn resource_mut(&mut self, logical_id: &str) -> Option<&mut ResourceEntry> {
        self.by_logical_id.get(logical_id).map(|&i| &mut self.resources[i])
    }

    /// The entry of the resource a handle points at.
    ///
    /// # Panics
    /// When `h` was made by another stack: a handle is only valid with the stack that created it, and mixing
    /// them up is a bug in the construct code, not bad input (which synth reports as diagnostics).
    pub fn entry<R: Resource>(&self, h: &Handle<R>) -> &ResourceEntry {
        &self.resources[self.index_of(h)]
    }
    /// Mutable [`Stack::entry`]; panics likewise.
    pub fn entry_mut<R: Resource>(&mut self, h: &Handle<R>) -> &mut ResourceEntry {
        let i = self.index_of(h);
        &mut self.resources[i]
    }

    /// The typed properties of a resource, for changes after it was added (e.g. a grant adding a statement).
    /// Panics like [`Stack::entry`].
    pub fn get<R: Resource>(&self, h: &Handle<R>) -> &R {
        let i = self.index_of(h);
        match self.resources[i].props.as_any().downcast_ref::<R>() {
            Some(r) => r,
            None => panic!("{}", self.foreign(h)),
        }
    }
    /// Mutable [`Stack::get`]; panics likewise.
    pub fn get_mut<R: Resource>(&mut self, h: &Handle<R>) -> &mut R {
        let i = self.index_of(h);
        let msg = self.foreign(h);
        match self.resources[i].props.as_any_mut().downcast_mut::<R>() {
            Some(r) => r,
            None => panic!("{msg}"),
        }
    }

    fn index_of<R: Resource>(&self, h: &Handle<R>) -> usize {
        let mine = h.target.stack.as_deref() == Some(&*self.stack_tag);
        if !mine || h.index >= self.resources.len() || self.resources[h.index].logical_id != h.target.logical_id {
            panic!("{}", self.foreign(h));
        }
        h.index
    }

    fn foreign<R: Resource>(&self, h: &Handle<R>) -> String {
        format!(
            "handle of {:?} (stack {:?}) used with stack {:?}: a handle is only valid with the stack that created it",
            h.target.logical_id,
            h.target.stack.as_deref().unwrap_or(""),
            self.props.id
        )
    }

    /// Declares a parameter; returns a `Ref` to it.
    pub fn add_parameter<T>(&mut self, name: impl Into<String>, p: Parameter) -> Val<T> {
        let name = name.into();
        self.parameters.insert(name.clone(), p);
        Val::func(Intrinsic::Ref(Target { logical_id: name, stack: Some(self.stack_tag.clone()) }))
    }
    /// Declares a condition; returns its name for `Fn::If` and `ResourceEntry::set_condition`.
    pub fn add_condition(&mut self, name: impl Into<String>, c: Cond) -> String {
        let name = name.into();
        self.conditions.insert(name.clone(), c);
        name
    }
    pub fn add_mapping(&mut self, name: impl Into<String>, m: Mapping) -> String {
        let name = name.into();
        self.mappings.insert(name.clone(), m);
        name
    }
    pub fn add_output(&mut self, name: impl Into<String>, o: Output) {
        self.outputs.insert(name.into(), o);
    }
    pub fn outputs(&self) -> &BTreeMap<String, Output> {
        &self.outputs
    }
    /// Sets a template-level `Metadata` key.
    pub fn set_metadata(&mut self, key: impl Into<String>, value: Node) {
        self.metadata.insert(key.into(), value);
    }
    /// Records that the stack's template refers to an asset of the app (by asset id).
    pub fn use_asset(&mut self, asset_id: impl Into<String>) {
        let id = asset_id.into();
        if !self.assets.contains(&id) {
            self.assets.push(id);
            self.assets.sort();
        }
    }
    /// Records a problem found while building, reported with the validation errors at synth.
    pub fn report(&mut self, path: &str, message: impl Into<String>) {
        let d = Diagnostic::error(&self.props.id, path, message);
        self.diagnostics.push(d);
    }
}

/// A place in a stack's construct tree: the stack and a path.
pub struct Scope<'s> {
    stack: &'s mut Stack,
    path: String,
}

impl<'s> Scope<'s> {
    /// The scope of child construct `id`. An invalid id is reported at synth and used as given.
    pub fn child(&mut self, id: &str) -> Scope<'_> {
        let path = self.join(id);
        Scope { stack: self.stack, path }
    }

    /// Adds a resource with construct id `id`; its logical id comes from the path (see the module docs).
    pub fn add<R: Resource>(&mut self, id: &str, props: R) -> Handle<R> {
        let path = self.join(id);
        let logical_id = logical_id_of(&path);
        let index = self.stack.resources.len();
        self.stack.by_logical_id.entry(logical_id.clone()).or_insert(index);
        self.stack.resources.push(ResourceEntry {
            logical_id: logical_id.clone(),
            path,
            props: Box::new(props),
            depends_on: Vec::new(),
            deletion_policy: None,
            update_replace_policy: None,
            update_policy: None,
            condition: None,
            metadata: BTreeMap::new(),
            overrides: Vec::new(),
        });
        let target = Target { logical_id, stack: Some(self.stack.stack_tag.clone()) };
        Handle { attrs: R::Attrs::from(target.clone()), target, index, _type: PhantomData }
    }

    /// The construct path of this scope (`Orders/Table`).
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The logical id a resource with construct id `id` would get here.
    pub fn logical_id_for(&self, id: &str) -> String {
        logical_id_of(&self.joined(id))
    }
    pub fn stack(&self) -> &Stack {
        self.stack
    }
    pub fn stack_mut(&mut self) -> &mut Stack {
        self.stack
    }
    /// Records a problem at this scope's path, reported with the validation errors at synth.
    pub fn report(&mut self, message: impl Into<String>) {
        let path = self.path.clone();
        self.stack.report(&path, message);
    }

    fn joined(&self, id: &str) -> String {
        if self.path.is_empty() { id.to_owned() } else { format!("{}/{id}", self.path) }
    }

    fn join(&mut self, id: &str) -> String {
        let at = self.joined(id);
        if !valid_construct_id(id) {
            self.stack.diagnostics.push(Diagnostic::error(
                &self.stack.props.id,
                &at,
                format!(
                    "invalid construct id {id:?}: use 1 to 64 characters from A-Z a-z 0-9 and '-', starting with a letter"
                ),
            ));
        }
        at
    }
}

fn valid_construct_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The logical id of construct path `path`: each id with `-` removed and its first letter upper-cased, joined,
/// with ids named `Resource` or `Default` left out.
pub fn logical_id_of(path: &str) -> String {
    let mut out = String::new();
    for part in path.split('/').filter(|p| !matches!(*p, "Resource" | "Default" | "")) {
        let mut upper_next = true;
        for c in part.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(if upper_next { c.to_ascii_uppercase() } else { c });
                upper_next = false;
            } else {
                upper_next = true;
            }
        }
    }
    out
}

/// A resource added to a stack: its reference target, and its typed attributes through `Deref`.
pub struct Handle<R: Resource> {
    target: Target,
    attrs: R::Attrs,
    index: usize,
    _type: PhantomData<fn() -> R>,
}

impl<R: Resource> Clone for Handle<R>
where
    R::Attrs: Clone,
{
    fn clone(&self) -> Self {
        Handle { target: self.target.clone(), attrs: self.attrs.clone(), index: self.index, _type: PhantomData }
    }
}

impl<R: Resource> std::fmt::Debug for Handle<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Handle({})", self.target.logical_id)
    }
}

impl<R: Resource> Handle<R> {
    pub fn logical_id(&self) -> &str {
        &self.target.logical_id
    }
    /// The id of the stack the resource is in.
    pub fn stack_id(&self) -> &str {
        self.target.stack.as_deref().unwrap_or("")
    }
    pub fn target(&self) -> &Target {
        &self.target
    }
    /// `Ref` to the resource (its primary identifier: a name, id or ARN depending on the type).
    pub fn ref_(&self) -> Val<String> {
        Val::func(Intrinsic::Ref(self.target.clone()))
    }
    /// `Fn::GetAtt` by attribute name, for attributes the typed accessors lack.
    pub fn get_att<T>(&self, attribute: &str) -> Val<T> {
        Val::func(Intrinsic::GetAtt(self.target.clone(), attribute.to_owned()))
    }
}

impl<R: Resource> Deref for Handle<R> {
    type Target = R::Attrs;
    fn deref(&self) -> &R::Attrs {
        &self.attrs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids_come_from_construct_paths() {
        fn check(path: &str, expected: &str) {
            assert_eq!(logical_id_of(path), expected, "path {path:?}");
        }
        check("Table", "Table");
        check("Orders/Table", "OrdersTable");
        check("orders/table", "OrdersTable");
        check("Orders/Table/Resource", "OrdersTable");
        check("Orders/Default/Role", "OrdersRole");
        check("Resource", "");
        check("", "");
        check("Orders//Table", "OrdersTable");
        check("Orders/Resources", "OrdersResources");
        check("get-user/Handler", "GetUserHandler");
        check("Api-v2", "ApiV2");
        check("a--b", "AB");
        check("x_y", "XY");
        check("DDBTable9x", "DDBTable9x");
        check("Orders-/Table", "OrdersTable");
    }

    #[test]
    fn construct_ids_are_short_ascii_names() {
        fn check(id: &str, expected: bool) {
            assert_eq!(valid_construct_id(id), expected, "construct id {id:?}");
        }
        check("Table", true);
        check("t", true);
        check("Api-v2", true);
        check("a-", true);
        check(&"a".repeat(64), true);
        check(&"a".repeat(65), false);
        check("", false);
        check("9lives", false);
        check("-table", false);
        check("a_b", false);
        check("a/b", false);
        check("a b", false);
        check("Tábla", false);
    }
}
