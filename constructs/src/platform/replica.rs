//! The `Replica<Region>` stacks: the key each replica of the entity table (and, in a serving region, of the signing
//! secrets) is encrypted with, in the replica's own region (a KMS key is used only in its region). A stack of its
//! own, first of its region, because the global table and the secrets (in the primary's Regional stack) name it, and
//! that region's Regional stack (when it serves) comes after. Its key policy leaves use to IAM (the account
//! administers it), so Secrets Manager encrypts the replicas with the deploying principal's permissions.

use synth::Scope;

use super::context::{Context, capitalize};
use super::error::PlatformError;
use crate::dynamodb::Replica;
use crate::kms::{Key, KeyProps};

/// `us-west-2` → `ReplicaUsWest2`.
pub(super) fn stack_id(region: &str) -> String {
    format!("Replica{}", capitalize_region(region))
}

/// `us-west-2` → `UsWest2`: the suffix of a region's stack ids.
pub(super) fn capitalize_region(region: &str) -> String {
    region.split('-').map(capitalize).collect()
}

/// What a replica stack made: the replica the entity table lists and its key (grants in the region name it).
pub(super) struct ReplicaKey {
    pub replica: Replica,
    pub key: Key,
}

/// The replica's key, into `scope` (a stack in `region`).
pub(super) fn build(scope: &mut Scope, ctx: &Context, region: &str) -> Result<ReplicaKey, PlatformError> {
    let prefix = &ctx.prefix;
    let key = Key::new(
        scope,
        "DataKey",
        KeyProps {
            description: Some(format!("{prefix}: entity table replica in {region}")),
            alias: Some(format!("alias/{prefix}-entities")),
            ..KeyProps::default()
        },
    )?;
    Ok(ReplicaKey { replica: Replica { region: region.to_owned(), encryption_key_arn: key.arn() }, key })
}
