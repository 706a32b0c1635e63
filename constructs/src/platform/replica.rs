//! The `Replica<Region>` stacks: the key each replica of the entity table is encrypted with, in the replica's own
//! region (a KMS key is used only in its region).

use synth::Scope;

use super::context::{Context, capitalize};
use super::error::PlatformError;
use crate::dynamodb::Replica;
use crate::kms::{Key, KeyProps};

/// `us-west-2` → `ReplicaUsWest2`.
pub(super) fn stack_id(region: &str) -> String {
    format!("Replica{}", region.split('-').map(capitalize).collect::<String>())
}

/// The replica's key, into `scope` (a stack in `region`); the replica the entity table lists.
pub(super) fn build(scope: &mut Scope, ctx: &Context, region: &str) -> Result<Replica, PlatformError> {
    let prefix = &ctx.prefix;
    let key = Key::new(
        scope,
        "DataKey",
        KeyProps {
            description: Some(format!("{prefix}: entity table replica in {region}")),
            alias: Some(format!("alias/{prefix}-data")),
            ..KeyProps::default()
        },
    )?;
    Ok(Replica { region: region.to_owned(), encryption_key_arn: key.arn() })
}
