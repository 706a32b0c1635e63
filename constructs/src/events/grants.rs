//! Event bus grants, and their IAM actions as named constants.
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html>

use synth::Scope;

use super::EventBus;
use crate::iam::{Grant, Grantable, PolicyStatement, grant};

/// Putting events on a bus.
pub const PUT_EVENTS_ACTIONS: &[&str] = &["events:PutEvents"];

impl EventBus {
    /// Grants putting events on the bus.
    pub fn grant_put_events(&self, grantee: &dyn Grantable, scope: &mut Scope) -> Grant {
        grant(grantee, scope, vec![PolicyStatement::allow(PUT_EVENTS_ACTIONS.iter().copied(), [self.arn()])])
    }
}
