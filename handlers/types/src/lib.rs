//! The contract between the platform's handlers and its infrastructure.
//!
//! Both sides compile against this crate: the handlers read the env vars and key layout named here, and the
//! constructs set those env vars, create the tables with this key layout and generate the API Gateway request
//! models from the same request types (`schemars`): one type, two uses. It depends on serde and schemars only,
//! so the template crates can use it without the AWS SDK.

/// Environment variable names that the constructs set and the handlers read.
pub mod env {
    /// Name of the entity table (tenant-scoped items, stream on).
    pub const TABLE_NAME: &str = "TABLE_NAME";
    /// Name of the control table (idempotency records, rate-limit counters; no stream).
    pub const CONTROL_TABLE_NAME: &str = "CONTROL_TABLE_NAME";
    /// Name of the custom EventBridge bus that domain events go to.
    pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
    /// Bucket that exports are written to.
    pub const EXPORT_BUCKET_NAME: &str = "EXPORT_BUCKET_NAME";
    /// ARN of the Secrets Manager secret holding the JWT HMAC signing key.
    pub const JWT_SECRET_ARN: &str = "JWT_SECRET_ARN";
    /// ARN of the Secrets Manager secret holding the webhook signing key.
    pub const WEBHOOK_SECRET_ARN: &str = "WEBHOOK_SECRET_ARN";
    /// HTTPS endpoint of the OpenSearch domain.
    pub const OPENSEARCH_ENDPOINT: &str = "OPENSEARCH_ENDPOINT";
    /// Service name used in logs and metrics (Powertools convention).
    pub const SERVICE_NAME: &str = "POWERTOOLS_SERVICE_NAME";
    /// CloudWatch namespace of the EMF metrics (Powertools convention).
    pub const METRICS_NAMESPACE: &str = "POWERTOOLS_METRICS_NAMESPACE";
}

/// Key layout of the two DynamoDB tables. Both use a string partition key and a string sort key.
pub mod table {
    /// Partition key attribute of both tables. Entity items use `TENANT#<tenant id>`.
    pub const PARTITION_KEY: &str = "pk";
    /// Sort key attribute of both tables.
    pub const SORT_KEY: &str = "sk";
    /// TTL attribute (epoch seconds) of both tables.
    pub const TTL_ATTRIBUTE: &str = "ttl";
    /// Global secondary index of the entity table (lookups not scoped to one partition, e.g. API key hashes).
    pub const GSI1: &str = "gsi1";
    pub const GSI1_PARTITION_KEY: &str = "gsi1pk";
    pub const GSI1_SORT_KEY: &str = "gsi1sk";
}
