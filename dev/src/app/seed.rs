//! A tenant per tier with a ready-made API key, written as `POST /tenants/{tenant}/api-keys` writes it (the
//! platform's own item builder, `powertools::apikeys::item`), so the banner's curl line works at once.

use anyhow::{Result, anyhow};
use aws_types::SdkConfig;
use platform_types::api::ApiKeyInfo;
use powertools::clock::{Clock, SystemClock, rfc3339};
use powertools::tenant::{EntityId, EntityKind, TenantId, Tier};

/// A seeded tenant: its tier and the plaintext key of its API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededTenant {
    pub tier: Tier,
    pub tenant: String,
    pub key_id: String,
    pub api_key: String,
}

/// The tiers seeded, with the tenant of each: `<tier>-tenant`.
pub const TIERS: [Tier; 3] = [Tier::Free, Tier::Pro, Tier::Enterprise];

/// Writes one active API key per tier into the entity `table`.
pub async fn seed(config: &SdkConfig, table: &str) -> Result<Vec<SeededTenant>> {
    let ddb = aws_sdk_dynamodb::Client::new(config);
    let mut out = Vec::new();
    for tier in TIERS {
        let tenant = format!("{}-tenant", tier.as_str());
        let (key_id, api_key) = powertools::apikeys::generate(&SystemClock);
        let info = ApiKeyInfo {
            key_id: key_id.clone(),
            name: "cargo xtask dev".into(),
            status: "active".into(),
            created_at: rfc3339(SystemClock.now_millis()),
        };
        let bad = |what: &str| anyhow!("seeding tenant {tenant}: invalid {what}");
        let id = EntityId::parse(&key_id).map_err(|_| bad("key id"))?;
        let key = TenantId::parse(&tenant).map_err(|_| bad("tenant id"))?.entity_key(EntityKind::ApiKey, &id);
        let item = powertools::apikeys::item(&key, &info, &powertools::apikeys::hash(&api_key), tier)
            .map_err(|e| anyhow!("seeding tenant {tenant}: {e}"))?;
        ddb.put_item().table_name(table).set_item(Some(item)).send().await.map_err(|e| {
            anyhow!("seeding tenant {tenant} into {table}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e))
        })?;
        out.push(SeededTenant { tier, tenant, key_id, api_key });
    }
    Ok(out)
}
