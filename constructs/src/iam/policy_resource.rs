//! A resource whose policy document stays open to grants until synth: a KMS key policy, a queue or bucket policy.
//!
//! [`PolicyResource`] wraps a generated L1 value and a [`PolicyDocument`]; at synth it writes the document into
//! the L1's policy property. A grant from another construct (EventBridge may send to this queue) changes the
//! document through the handle (`stack.get_mut(&handle).policy`), so the policy is complete whatever the order in
//! which constructs were created.

use synth::{Json, Node, Resource, ResourceSchema};

use super::policy::PolicyDocument;

/// An L1 resource plus the policy document written into it at synth.
#[derive(Clone, Debug)]
pub struct PolicyResource<R> {
    pub cfn: R,
    pub policy: PolicyDocument,
    write: fn(&mut R, Json),
}

impl<R> PolicyResource<R> {
    /// `write` puts the rendered document where `R` takes it (`|k, d| k.key_policy = Some(d.into())`).
    pub fn new(cfn: R, write: fn(&mut R, Json)) -> Self {
        PolicyResource { cfn, policy: PolicyDocument::new(), write }
    }
}

impl<R: Resource + Clone> Resource for PolicyResource<R> {
    type Attrs = R::Attrs;
    fn type_name(&self) -> &str {
        self.cfn.type_name()
    }
    fn schema(&self) -> Option<&'static ResourceSchema> {
        self.cfn.schema()
    }
    fn to_properties(&self) -> Node {
        let mut cfn = self.cfn.clone();
        // An empty document is not valid IAM; a resource whose policy is optional simply has none.
        if !self.policy.is_empty() {
            (self.write)(&mut cfn, self.policy.to_json());
        }
        cfn.to_properties()
    }
}

/// Adds `statement` to the policy of the resource behind `handle`. `scope` must be in that resource's stack (a
/// resource policy is part of its resource); otherwise the mistake is reported at synth with `path`.
pub fn add_resource_statement<R: Resource + Clone>(
    scope: &mut synth::Scope,
    handle: &synth::Handle<PolicyResource<R>>,
    path: &str,
    statement: super::PolicyStatement,
) {
    let stack = scope.stack_mut();
    if stack.id() != handle.stack_id() {
        let (here, there) = (stack.id().to_owned(), handle.stack_id().to_owned());
        stack.report(
            path,
            format!("policy of {path} (stack {there}) changed from stack {here}: use a scope of the resource's stack"),
        );
        return;
    }
    stack.get_mut(handle).policy.add(statement);
}
