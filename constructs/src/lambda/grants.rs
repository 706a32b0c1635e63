//! Function grants, and their IAM actions as named constants: invoking the function, as a role or as an AWS
//! service (a resource-based permission).
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html>

use synth::{Handle, Scope, Val};

use super::Function;
use super::generated::CfnPermission;
use crate::iam::{Grant, Grantable, PolicyStatement, grant};

/// Invoking a function.
pub const INVOKE_ACTION: &str = "lambda:InvokeFunction";

impl Function {
    /// Lets AWS service `principal` (`apigateway.amazonaws.com`) invoke the function for `source_arn` only
    /// (checkov `CKV_AWS_364`). The permission is added at `scope`/`id`, which may be in another stack.
    pub fn allow_invoke(
        &self,
        scope: &mut Scope,
        id: &str,
        principal: &str,
        source_arn: Val<String>,
    ) -> Handle<CfnPermission> {
        scope.add(
            id,
            CfnPermission {
                source_arn: Some(source_arn),
                ..CfnPermission::new(INVOKE_ACTION, self.invoke_arn(), principal)
            },
        )
    }

    /// Like [`Function::allow_invoke`], for the function's canary alias ([`super::FunctionProps::canary_alias`]):
    /// a caller that picks the alias at request time (an API Gateway stage variable) needs a permission for each
    /// alias it may name. `None` when the function has no canary alias.
    pub fn allow_invoke_canary(
        &self,
        scope: &mut Scope,
        id: &str,
        principal: &str,
        source_arn: Val<String>,
    ) -> Option<Handle<CfnPermission>> {
        let canary = self.canary_alias()?.ref_();
        Some(scope.add(
            id,
            CfnPermission { source_arn: Some(source_arn), ..CfnPermission::new(INVOKE_ACTION, canary, principal) },
        ))
    }

    /// Grants invoking the function (its alias when it has one).
    pub fn grant_invoke(&self, grantee: &dyn Grantable, scope: &mut Scope) -> Grant {
        let mut resources = vec![self.arn()];
        if self.has_alias() {
            resources.push(self.invoke_arn());
        }
        grant(grantee, scope, vec![PolicyStatement::allow([INVOKE_ACTION], resources)])
    }
}
