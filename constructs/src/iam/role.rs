//! `Role`: an IAM role whose permissions come from grants, collected into one inline policy.
//!
//! The role is a resource type of its own ([`RoleResource`]: the generated `CfnRole` plus a [`PolicyDocument`]),
//! so grants made after the role was added change its typed properties in place, and the policy is rendered at
//! synth. One inline policy instead of an `AWS::IAM::Policy` per grant: the role and its permissions are created
//! together (no window in which the function runs without them) and the template has one place to read.

use synth::{Handle, Node, Resource, ResourceSchema, Scope, Val};

use super::generated::{CFN_ROLE_SCHEMA, CfnRole, CfnRoleAttrs, cfn_role};
use super::policy::{PolicyDocument, PolicyStatement, Principal, WILDCARD_METADATA_KEY};
use crate::error::ConstructError;

/// `AWS::IAM::Role` with its inline policy still open to grants.
#[derive(Clone, Debug)]
pub struct RoleResource {
    pub cfn: CfnRole,
    /// The inline policy; rendered as `Policies[0]` named [`RoleResource::POLICY_NAME`] when not empty.
    pub policy: PolicyDocument,
}

impl RoleResource {
    /// Name of the one inline policy.
    pub const POLICY_NAME: &'static str = "grants";
}

impl Resource for RoleResource {
    type Attrs = CfnRoleAttrs;
    fn type_name(&self) -> &str {
        CfnRole::TYPE
    }
    fn schema(&self) -> Option<&'static ResourceSchema> {
        Some(&CFN_ROLE_SCHEMA)
    }
    fn to_properties(&self) -> Node {
        let mut cfn = self.cfn.clone();
        if !self.policy.is_empty() {
            cfn.policies = Some(Val::list([cfn_role::Policy::new(self.policy.to_json(), Self::POLICY_NAME)]));
        }
        synth::ToNode::to_node(&cfn)
    }
}

/// Optional settings of a [`Role`].
#[derive(Clone, Debug, Default)]
pub struct RoleProps {
    /// Shown in the console. Default: none.
    pub description: Option<String>,
    /// ARN of a permissions boundary. Default: none, because every permission comes from a grant with exact ARNs;
    /// set one where an organisation requires it.
    pub permissions_boundary: Option<Val<String>>,
    /// Longest session in seconds, 3600 to 43200. Default: none (IAM's 3600), enough for any Lambda invocation.
    pub max_session_duration_seconds: Option<u32>,
}

/// An IAM role assumed by one principal, with permissions only from grants.
///
/// There is no way to attach AWS managed policies: they are broader than any one function needs (cdk-nag
/// `AwsSolutions-IAM4`). Statements on `"*"` need a reason ([`PolicyStatement::any_resource`]), which is written to
/// the role's metadata under [`WILDCARD_METADATA_KEY`].
#[derive(Clone, Debug)]
pub struct Role {
    handle: Handle<RoleResource>,
    path: String,
}

impl Role {
    /// A role that `assumed_by` may assume (`Principal::service("lambda.amazonaws.com")`).
    pub fn new(scope: &mut Scope, id: &str, assumed_by: Principal, props: RoleProps) -> Result<Role, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        if let Some(s) = props.max_session_duration_seconds {
            // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html (MaxSessionDuration)
            crate::error::check_range(&path, "max session duration (s)", s.into(), 3600, 43_200)?;
        }
        if let Principal::Anyone = assumed_by {
            return Err(ConstructError::Invalid {
                path,
                what: "trusted principal",
                value: "*".into(),
                allowed: "a service, an account or a role; a role anyone may assume is not a role".into(),
            });
        }
        let mut trust = PolicyDocument::new();
        trust.add(PolicyStatement::allow(["sts:AssumeRole"], []).with_principal(assumed_by));
        let cfn = CfnRole {
            description: props.description.map(Val::from),
            permissions_boundary: props.permissions_boundary,
            max_session_duration: props.max_session_duration_seconds.map(Val::from),
            ..CfnRole::new(trust.to_json())
        };
        let handle = scope.add("Resource", RoleResource { cfn, policy: PolicyDocument::new() });
        crate::common::suppress(
            scope.stack_mut().entry_mut(&handle),
            crate::common::Check::IAM_INLINE_POLICY,
            "one role per principal, its grants in its own inline policy: the policy lives and dies with the role and cannot be attached to anything else, which a managed policy would allow",
        );
        Ok(Role { handle, path })
    }

    /// `Fn::GetAtt Arn`.
    pub fn arn(&self) -> Val<String> {
        self.handle.attr_arn()
    }
    /// `Ref`: the role name.
    pub fn name(&self) -> Val<String> {
        self.handle.ref_()
    }
    pub fn handle(&self) -> &Handle<RoleResource> {
        &self.handle
    }
    /// The construct path of the role (`Api/Write/Role`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Adds a statement to the role's inline policy. `scope` must be in the role's stack: a policy is part of its
    /// role, so a grant from another stack is reported as an error at synth.
    pub fn add_to_policy(&self, scope: &mut Scope, statement: PolicyStatement) {
        let stack = scope.stack_mut();
        if stack.id() != self.handle.stack_id() {
            let (here, there) = (stack.id().to_owned(), self.handle.stack_id().to_owned());
            stack.report(
                &self.path,
                format!(
                    "grant to role {} of stack {there} made from stack {here}: make grants with a scope of the role's stack",
                    self.path
                ),
            );
            return;
        }
        let policy = &mut stack.get_mut(&self.handle).policy;
        policy.add(statement);
        let reasons = policy.wildcard_reasons();
        if matches!(&reasons, Node::List(l) if !l.is_empty()) {
            stack.entry_mut(&self.handle).set_metadata(WILDCARD_METADATA_KEY, reasons);
        }
    }
}
