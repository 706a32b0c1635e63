//! Log group grants, and their IAM actions as named constants.
//! <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html>

use synth::Scope;

use super::LogGroup;
use crate::iam::{Grant, Grantable, PolicyStatement, grant};

/// Writing events: creating a stream and putting events into it (what a Lambda function's runtime does, and what
/// services delivering to a log group are allowed in its resource policy).
pub const WRITE_ACTIONS: &[&str] = &["logs:CreateLogStream", "logs:PutLogEvents"];

impl LogGroup {
    /// Grants writing events to the group.
    pub fn grant_write(&self, grantee: &dyn Grantable, scope: &mut Scope) -> Grant {
        grant(grantee, scope, vec![PolicyStatement::allow(WRITE_ACTIONS.iter().copied(), [self.arn()])])
    }
}
