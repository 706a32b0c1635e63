//! API keys: generation, format and hashing. Only the SHA-256 of a key is stored; the plaintext is shown once.
//!
//! Format: `ak_<key id>_<48 hex chars of OS randomness>` (192 bits of secret). The key id is not secret; it
//! names the item so a revocation can address it.
//!
//! ```
//! let (id, key) = powertools::apikeys::generate(&powertools::clock::SystemClock);
//! assert_eq!(powertools::apikeys::key_id(&key), Some(id.as_str()));
//! assert_eq!(powertools::apikeys::hash(&key).len(), 64);
//! assert_eq!(powertools::apikeys::key_id("ak_x"), None);
//! ```

use platform_types::api::ApiKeyInfo;
use platform_types::table;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::dynamo::{ConvertError, Item, entity_item, s};
use crate::tenant::{EntityKey, Tier};

/// A new key id and plaintext key.
pub fn generate(clock: &dyn Clock) -> (String, String) {
    let id = crate::ids::ulid(clock);
    let key = format!("ak_{id}_{}", crate::ids::random_hex(24));
    (id, key)
}

/// The key id of a well-formed key.
pub fn key_id(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("ak_")?;
    let (id, secret) = rest.split_once('_')?;
    let ok = id.len() == 26
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && secret.len() == 48
        && secret.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(id)
}

/// Lowercase hex SHA-256 of the key: what `gsi1pk = APIKEY#<hash>` holds. A fast hash is right here: the key
/// has 192 random bits, so there is nothing to brute-force that a slow hash would protect.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The GSI1 partition key of a key hash.
pub fn gsi1_pk(hash: &str) -> String {
    format!("{}{hash}", platform_types::table::API_KEY_PREFIX)
}

/// The value of [`table::USAGE_KEY_ATTRIBUTE`] on a key with its own API Gateway API key.
pub const USAGE_KEY_TENANT: &str = "tenant";

/// The sort key of an API key item in GSI1.
pub const GSI1_SK: &str = "APIKEY";

/// The stored item of a new API key: `info` under `key`, indexed on GSI1 by the key's `hash` (the authorizer's
/// lookup), with the tenant and its `tier`, which the authorizer puts in its context.
pub fn item(key: &EntityKey, info: &ApiKeyInfo, hash: &str, tier: Tier) -> Result<Item, ConvertError> {
    let mut item = entity_item(key, info)?;
    item.insert(table::GSI1_PARTITION_KEY.into(), s(gsi1_pk(hash)));
    item.insert(table::GSI1_SORT_KEY.into(), s(GSI1_SK));
    item.insert("tenant_id".into(), s(key.tenant().as_str()));
    item.insert("tier".into(), s(tier.as_str()));
    Ok(item)
}
