//! Tenant context and tenant-scoped keys: a cross-tenant read or write cannot be expressed.
//!
//! - A [`TenantContext`] is built only from the API Gateway authorizer context ([`TenantContext::from_authorizer`])
//!   (the request body and path never supply the tenant), or by a worker from a record the platform itself wrote
//!   ([`TenantId::from_partition_key`]).
//! - Every key type ([`EntityKey`], [`KindPrefix`]) holds a [`TenantId`] and has no public constructor that takes a
//!   raw partition key: to address tenant B's items you need a `TenantId` for B.
//! - Ids are validated ([`EntityId`]): no `#`, so no id can forge another sort key.
//!
//! ```
//! use powertools::tenant::{EntityId, EntityKind, TenantId};
//! let tenant = TenantId::parse("acme").unwrap();
//! let key = tenant.entity_key(EntityKind::Order, &EntityId::parse("01HX").unwrap());
//! assert_eq!(key.pk(), "TENANT#acme");
//! assert_eq!(key.sk(), "ORDER#01HX");
//! assert!(EntityId::parse("x#TENANT#other").is_err());
//! ```

use std::collections::HashMap;
use std::fmt;

use platform_types::table;

/// Authorizer context keys (the authorizer sets them, the API reads them).
pub mod context_keys {
    pub const TENANT_ID: &str = "tenantId";
    pub const TIER: &str = "tier";
    pub const AUTH_TYPE: &str = "authType";
    pub const PRINCIPAL_ID: &str = "principalId";
}

/// Errors of tenant and id parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    /// The request has no authorizer context with a tenant (the API is misconfigured or called directly).
    #[error("no tenant in the authorizer context (expected a `tenantId` key)")]
    NoTenant,
    /// A tenant id that is empty, too long or has characters outside `[A-Za-z0-9_-]`.
    #[error("invalid tenant id {0:?}: expected 1 to 64 characters of [A-Za-z0-9_-]")]
    InvalidTenant(String),
    /// An entity id that is empty, too long or has characters outside `[A-Za-z0-9_-]`.
    #[error("invalid id {0:?}: expected 1 to 64 characters of [A-Za-z0-9_-]")]
    InvalidId(String),
    /// A partition key that is not `TENANT#<id>`.
    #[error("partition key {0:?} is not a tenant partition (expected TENANT#<id>)")]
    NotTenantPartition(String),
    /// A tier outside the known ones.
    #[error("invalid tier {0:?}: expected free, pro or enterprise")]
    InvalidTier(String),
}

fn valid_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A validated tenant id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(String);

impl TenantId {
    /// Validates a tenant id. Workers use it on ids from trusted sources (their own records, Step Functions input
    /// the platform started); the API gets its tenant from [`TenantContext::from_authorizer`] only.
    pub fn parse(s: &str) -> Result<TenantId, TenantError> {
        if valid_token(s) { Ok(TenantId(s.to_string())) } else { Err(TenantError::InvalidTenant(s.to_string())) }
    }

    /// The tenant of an item the platform wrote, from its partition key.
    pub fn from_partition_key(pk: &str) -> Result<TenantId, TenantError> {
        let id = pk.strip_prefix(table::TENANT_PREFIX).ok_or_else(|| TenantError::NotTenantPartition(pk.into()))?;
        TenantId::parse(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `TENANT#<id>`: the partition key of every entity item of the tenant.
    pub fn partition_key(&self) -> String {
        format!("{}{}", table::TENANT_PREFIX, self.0)
    }

    /// The key of one entity of this tenant.
    pub fn entity_key(&self, kind: EntityKind, id: &EntityId) -> EntityKey {
        EntityKey { tenant: self.clone(), kind, id: id.clone() }
    }

    /// The sort-key prefix of all entities of one kind of this tenant (for `Query ... begins_with`).
    pub fn kind_prefix(&self, kind: EntityKind) -> KindPrefix {
        KindPrefix { tenant: self.clone(), kind }
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated entity id (`[A-Za-z0-9_-]{1,64}`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityId(String);

impl EntityId {
    pub fn parse(s: &str) -> Result<EntityId, TenantError> {
        if valid_token(s) { Ok(EntityId(s.to_string())) } else { Err(TenantError::InvalidId(s.to_string())) }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kinds of entity items; each has its sort-key prefix from `platform_types::table`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntityKind {
    Order,
    Subscription,
    ApiKey,
    Invoice,
    Upload,
}

impl EntityKind {
    pub fn prefix(self) -> &'static str {
        match self {
            EntityKind::Order => table::ORDER_PREFIX,
            EntityKind::Subscription => table::SUBSCRIPTION_PREFIX,
            EntityKind::ApiKey => table::API_KEY_PREFIX,
            EntityKind::Invoice => table::INVOICE_PREFIX,
            EntityKind::Upload => table::UPLOAD_PREFIX,
        }
    }

    /// The type name stored in an entity item's `entity` attribute.
    pub fn name(self) -> &'static str {
        match self {
            EntityKind::Order => "Order",
            EntityKind::Subscription => "Subscription",
            EntityKind::ApiKey => "ApiKey",
            EntityKind::Invoice => "Invoice",
            EntityKind::Upload => "Upload",
        }
    }

    /// The kind and id of a sort key, if it is an entity sort key.
    pub fn parse_sort_key(sk: &str) -> Option<(EntityKind, &str)> {
        [EntityKind::Order, EntityKind::Subscription, EntityKind::ApiKey, EntityKind::Invoice, EntityKind::Upload]
            .into_iter()
            .find_map(|k| sk.strip_prefix(k.prefix()).map(|id| (k, id)))
    }
}

/// The primary key of one entity item of one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EntityKey {
    tenant: TenantId,
    kind: EntityKind,
    id: EntityId,
}

impl EntityKey {
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    pub fn kind(&self) -> EntityKind {
        self.kind
    }
    pub fn id(&self) -> &EntityId {
        &self.id
    }
    pub fn pk(&self) -> String {
        self.tenant.partition_key()
    }
    pub fn sk(&self) -> String {
        format!("{}{}", self.kind.prefix(), self.id)
    }
}

/// All entities of one kind of one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KindPrefix {
    tenant: TenantId,
    kind: EntityKind,
}

impl KindPrefix {
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    pub fn kind(&self) -> EntityKind {
        self.kind
    }
    pub fn pk(&self) -> String {
        self.tenant.partition_key()
    }
    pub fn sk_prefix(&self) -> &'static str {
        self.kind.prefix()
    }
}

/// Service tiers; they pick rate limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Free,
    Pro,
    Enterprise,
}

impl Tier {
    pub fn parse(s: &str) -> Result<Tier, TenantError> {
        match s {
            "free" => Ok(Tier::Free),
            "pro" => Ok(Tier::Pro),
            "enterprise" => Ok(Tier::Enterprise),
            other => Err(TenantError::InvalidTier(other.to_string())),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Pro => "pro",
            Tier::Enterprise => "enterprise",
        }
    }
}

/// Who is calling: set by the authorizer, trusted because API Gateway put it there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantContext {
    tenant: TenantId,
    tier: Tier,
    principal: String,
}

impl TenantContext {
    /// Reads the tenant from the authorizer context of an API Gateway REST proxy request (`requestContext.authorizer`).
    /// Values may arrive as strings or numbers (API Gateway stringifies context values).
    pub fn from_authorizer(fields: &HashMap<String, serde_json::Value>) -> Result<TenantContext, TenantError> {
        let get = |k: &str| fields.get(k).and_then(|v| v.as_str());
        let tenant = get(context_keys::TENANT_ID).ok_or(TenantError::NoTenant)?;
        let tenant = TenantId::parse(tenant)?;
        // A missing tier is the lowest one: deny by default.
        let tier = match get(context_keys::TIER) {
            Some(t) => Tier::parse(t)?,
            None => Tier::Free,
        };
        let principal = get(context_keys::PRINCIPAL_ID).unwrap_or("unknown").to_string();
        Ok(TenantContext { tenant, tier, principal })
    }

    /// A context for a worker acting for a tenant found in the platform's own data.
    pub fn for_worker(tenant: TenantId) -> TenantContext {
        TenantContext { tenant, tier: Tier::Enterprise, principal: "system".into() }
    }

    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    pub fn tier(&self) -> Tier {
        self.tier
    }
    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// Checks a tenant named in a path against the authenticated one: a mismatch is a 403, never a read of the
    /// other tenant.
    pub fn authorize_path_tenant(&self, path_tenant: &str) -> Result<(), crate::problem::Problem> {
        if path_tenant == self.tenant.as_str() {
            Ok(())
        } else {
            Err(crate::problem::Problem::new(403).with_detail("the path names another tenant than the credentials"))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(pairs: &[(&str, serde_json::Value)]) -> Result<TenantContext, TenantError> {
        TenantContext::from_authorizer(&pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn tenant_comes_from_authorizer_only() {
        let c = ctx(&[("tenantId", json!("acme")), ("tier", json!("pro"))]).unwrap();
        assert_eq!(c.tenant().as_str(), "acme");
        assert_eq!(c.tier(), Tier::Pro);
        assert_eq!(ctx(&[]), Err(TenantError::NoTenant));
        assert_eq!(ctx(&[("tenantId", json!("a#b"))]), Err(TenantError::InvalidTenant("a#b".into())));
        assert_eq!(
            ctx(&[("tenantId", json!("a")), ("tier", json!("gold"))]),
            Err(TenantError::InvalidTier("gold".into()))
        );
        assert_eq!(ctx(&[("tenantId", json!("a"))]).unwrap().tier(), Tier::Free);
    }

    #[test]
    fn path_tenant_must_match() {
        let c = ctx(&[("tenantId", json!("acme"))]).unwrap();
        assert!(c.authorize_path_tenant("acme").is_ok());
        assert_eq!(c.authorize_path_tenant("other").unwrap_err().status, 403);
    }

    #[test]
    fn keys_are_tenant_scoped() {
        let a = TenantId::parse("a").unwrap();
        let id = EntityId::parse("x1").unwrap();
        assert_eq!(a.entity_key(EntityKind::Subscription, &id).sk(), "SUB#x1");
        assert_eq!(a.kind_prefix(EntityKind::Order).pk(), "TENANT#a");
        assert_eq!(TenantId::from_partition_key("TENANT#a").unwrap(), a);
        assert!(TenantId::from_partition_key("USER#a").is_err());
        for bad in ["", "a b", "a/b", &"x".repeat(65), "é"] {
            assert!(EntityId::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(EntityKind::parse_sort_key("APIKEY#k1"), Some((EntityKind::ApiKey, "k1")));
        assert_eq!(EntityKind::parse_sort_key("WEBHOOK#CONFIG"), None);
    }
}
