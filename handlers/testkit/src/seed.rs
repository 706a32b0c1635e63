//! Entity items for the handlers' tests, written the way the API writes them: the same item builders
//! (`powertools::dynamo::entity_item`, `powertools::apikeys::item`), the same keys, the same domain types. The
//! stream processor, the authorizer and the exporter read what the API writes; seeding here lets their tests do
//! without the `api` crate, and `api`'s own tests check that a seeded item is the item the API writes.
//!
//! Each write is one `PutItem` or `UpdateItem`, so a table's stream shows what the API's writes show: an
//! `INSERT` per new item, a `MODIFY` per change.

use aws_sdk_dynamodb::Client;
use platform_types::api::{
    ApiKeyCreated, ApiKeyInfo, CreateOrderRequest, Order, Plan, Subscription, WebhookConfig, webhook_secret_id,
};
use platform_types::table;
use powertools::clock::{Clock, SystemClock, rfc3339};
use powertools::dynamo::{Item, s};
use powertools::tenant::{EntityId, EntityKey, EntityKind, TenantId, Tier};

/// Writes entities into one entity table.
#[derive(Clone, Debug)]
pub struct Seed {
    pub ddb: Client,
    pub table: String,
}

fn key(tenant: &str, kind: EntityKind, id: &str) -> EntityKey {
    TenantId::parse(tenant).unwrap().entity_key(kind, &EntityId::parse(id).unwrap())
}

fn now() -> String {
    rfc3339(SystemClock.now_millis())
}

impl Seed {
    pub fn new(ddb: &Client, table: &str) -> Seed {
        Seed { ddb: ddb.clone(), table: table.into() }
    }

    async fn put(&self, item: Item) {
        self.ddb.put_item().table_name(&self.table).set_item(Some(item)).send().await.unwrap();
    }

    /// The order `POST /tenants/{tenant}/orders` creates from `body`.
    pub async fn order(&self, tenant: &str, body: CreateOrderRequest) -> Order {
        let order = Order {
            order_id: powertools::ids::ulid(&SystemClock),
            tenant_id: tenant.into(),
            total_cents: body.items.iter().map(|l| l.unit_price_cents * u64::from(l.quantity)).sum(),
            items: body.items,
            currency: body.currency,
            customer_ref: body.customer_ref,
            created_at: now(),
        };
        let k = key(tenant, EntityKind::Order, &order.order_id);
        self.put(powertools::dynamo::entity_item(&k, &order).unwrap()).await;
        order
    }

    /// The subscription `POST /tenants/{tenant}/subscriptions` creates.
    pub async fn subscription(&self, tenant: &str, plan: Plan, seats: u32) -> Subscription {
        let created_at = now();
        let sub = Subscription {
            subscription_id: powertools::ids::ulid(&SystemClock),
            tenant_id: tenant.into(),
            plan,
            seats,
            version: 1,
            updated_at: created_at.clone(),
            created_at,
        };
        self.put_subscription(&sub).await;
        sub
    }

    /// The subscription after `POST .../subscriptions/{id}/upgrade` to `plan` (seats unchanged): the whole item
    /// written again with the next version, as the API writes it.
    pub async fn upgrade(&self, sub: &Subscription, plan: Plan) -> Subscription {
        let upgraded = Subscription { plan, version: sub.version + 1, updated_at: now(), ..sub.clone() };
        self.put_subscription(&upgraded).await;
        upgraded
    }

    async fn put_subscription(&self, sub: &Subscription) {
        let k = key(&sub.tenant_id, EntityKind::Subscription, &sub.subscription_id);
        self.put(powertools::dynamo::entity_item(&k, sub).unwrap()).await;
    }

    /// The active key `POST /tenants/{tenant}/api-keys` creates for a caller of `tier`, with its plaintext.
    pub async fn api_key(&self, tenant: &str, tier: Tier, name: &str) -> ApiKeyCreated {
        let (key_id, api_key) = powertools::apikeys::generate(&SystemClock);
        let info = ApiKeyInfo { key_id: key_id.clone(), name: name.into(), status: "active".into(), created_at: now() };
        let k = key(tenant, EntityKind::ApiKey, &key_id);
        self.put(powertools::apikeys::item(&k, &info, &powertools::apikeys::hash(&api_key), tier).unwrap()).await;
        ApiKeyCreated { key_id, name: name.into(), api_key, created_at: info.created_at }
    }

    /// A tenant's webhook endpoint: the configuration item `PUT /tenants/{tenant}/webhook` writes and the
    /// webhook worker reads (`powertools::dynamo::webhook_item`).
    pub async fn webhook(&self, tenant: &str, url: &str) -> WebhookConfig {
        let config = WebhookConfig {
            tenant_id: tenant.into(),
            url: url.into(),
            secret_id: webhook_secret_id(tenant),
            updated_at: now(),
        };
        self.put(powertools::dynamo::webhook_item(&TenantId::parse(tenant).unwrap(), &config).unwrap()).await;
        config
    }

    /// What `DELETE /tenants/{tenant}/api-keys/{key_id}` does to an active key: `revoked`, with the time, and out
    /// of the hash index.
    pub async fn revoke(&self, tenant: &str, key_id: &str) {
        let k = key(tenant, EntityKind::ApiKey, key_id);
        self.ddb
            .update_item()
            .table_name(&self.table)
            .key(table::PARTITION_KEY, s(k.pk()))
            .key(table::SORT_KEY, s(k.sk()))
            .update_expression("SET #st = :revoked, revoked_at = :now REMOVE #g1pk, #g1sk")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#g1pk", table::GSI1_PARTITION_KEY)
            .expression_attribute_names("#g1sk", table::GSI1_SORT_KEY)
            .expression_attribute_values(":revoked", s("revoked"))
            .expression_attribute_values(":now", s(now()))
            .send()
            .await
            .unwrap();
    }
}
