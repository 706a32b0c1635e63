//! State machine grants, and their IAM actions as named constants.
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html>

use synth::Scope;

use super::StateMachine;
use crate::iam::{Grant, Grantable, PolicyStatement, grant};

/// Starting executions.
pub const START_EXECUTION_ACTIONS: &[&str] = &["states:StartExecution"];

impl StateMachine {
    /// Grants starting executions.
    pub fn grant_start_execution(&self, grantee: &dyn Grantable, scope: &mut Scope) -> Grant {
        grant(grantee, scope, vec![PolicyStatement::allow(START_EXECUTION_ACTIONS.iter().copied(), [self.arn()])])
    }
}
