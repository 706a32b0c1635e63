//! The two tables of the platform, created in moto with the key layout of `platform_types::table`.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use platform_types::table;

/// Names of a freshly created entity table and control table.
#[derive(Clone, Debug)]
pub struct Tables {
    pub entity: String,
    pub control: String,
}

fn attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build().unwrap()
}

fn key(name: &str, t: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder().attribute_name(name).key_type(t).build().unwrap()
}

impl Tables {
    /// Creates both tables with unique names: the entity table with GSI1 and a NEW_AND_OLD_IMAGES stream, the
    /// control table without a stream; TTL on both.
    pub async fn create(ddb: &Client) -> Tables {
        let t = Tables { entity: crate::unique("entity"), control: crate::unique("control") };
        create_entity_table(ddb, &t.entity).await;
        create_control_table(ddb, &t.control).await;
        t
    }

    /// Number of items in a table (a full scan; test tables are small).
    pub async fn count(ddb: &Client, table: &str) -> usize {
        let mut n = 0;
        let mut start = None;
        loop {
            let out = ddb.scan().table_name(table).set_exclusive_start_key(start).send().await.unwrap();
            n += out.items().len();
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return n,
            }
        }
    }
}

pub async fn create_entity_table(ddb: &Client, name: &str) {
    ddb.create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(table::PARTITION_KEY))
        .attribute_definitions(attr(table::SORT_KEY))
        .attribute_definitions(attr(table::GSI1_PARTITION_KEY))
        .attribute_definitions(attr(table::GSI1_SORT_KEY))
        .key_schema(key(table::PARTITION_KEY, KeyType::Hash))
        .key_schema(key(table::SORT_KEY, KeyType::Range))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(table::GSI1)
                .key_schema(key(table::GSI1_PARTITION_KEY, KeyType::Hash))
                .key_schema(key(table::GSI1_SORT_KEY, KeyType::Range))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .unwrap(),
        )
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    enable_ttl(ddb, name).await;
}

pub async fn create_control_table(ddb: &Client, name: &str) {
    ddb.create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(table::PARTITION_KEY))
        .attribute_definitions(attr(table::SORT_KEY))
        .key_schema(key(table::PARTITION_KEY, KeyType::Hash))
        .key_schema(key(table::SORT_KEY, KeyType::Range))
        .send()
        .await
        .unwrap();
    enable_ttl(ddb, name).await;
}

async fn enable_ttl(ddb: &Client, name: &str) {
    ddb.update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder().enabled(true).attribute_name(table::TTL_ATTRIBUTE).build().unwrap(),
        )
        .send()
        .await
        .unwrap();
}
