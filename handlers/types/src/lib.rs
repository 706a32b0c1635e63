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
    /// Log level of the JSON logs (`error`, `warn`, `info`, `debug`, `trace`); default `info`.
    pub const LOG_LEVEL: &str = "POWERTOOLS_LOG_LEVEL";
    /// Which half of the API a deployment of the `api` binary serves: `read` or `write`. The same binary is
    /// deployed twice (see [`crate::routes::Handler::ApiRead`] / [`crate::routes::Handler::ApiWrite`]) so each
    /// function gets only the IAM actions of its routes; a route of the other half answers 404.
    pub const API_ROLE: &str = "API_ROLE";
    /// Optional per-tier rate limits, requests per window per tenant per route:
    /// `free=100,pro=1000,enterprise=10000` (the default). The window is [`RATE_LIMIT_WINDOW_SECONDS`].
    pub const RATE_LIMITS: &str = "RATE_LIMITS";
    /// Optional rate-limit window in seconds; default 60.
    pub const RATE_LIMIT_WINDOW_SECONDS: &str = "RATE_LIMIT_WINDOW_SECONDS";
    /// Optional lifetime of a completed idempotency record in seconds; default 86400 (24 h).
    pub const IDEMPOTENCY_TTL_SECONDS: &str = "IDEMPOTENCY_TTL_SECONDS";
    /// Optional expected `iss` claim of the JWTs the authorizer accepts; unset: not checked.
    pub const JWT_ISSUER: &str = "JWT_ISSUER";
    /// Optional expected `aud` claim of the JWTs the authorizer accepts; unset: not checked.
    pub const JWT_AUDIENCE: &str = "JWT_AUDIENCE";
    /// URL of the SQS queue a worker consumes (the webhook worker changes message visibility for backoff).
    pub const QUEUE_URL: &str = "QUEUE_URL";
    /// Optional OpenSearch index the indexer writes to; default `audit-events`.
    pub const OPENSEARCH_INDEX: &str = "OPENSEARCH_INDEX";
    /// Optional lifetime of the exporter's presigned URL in seconds; default 900, at most 604800 (7 days, the
    /// SigV4 presigning limit).
    pub const EXPORT_URL_TTL_SECONDS: &str = "EXPORT_URL_TTL_SECONDS";
    /// Optional, set by the infrastructure when the Redis feature is on: host of the ElastiCache serverless Redis
    /// endpoint (TLS, port 6379) the API functions may use for hot reads. Unset: no cache. (No handler reads it
    /// yet; the API functions run in the cache's VPC when it is set.)
    pub const REDIS_ENDPOINT: &str = "REDIS_ENDPOINT";
    /// Optional, set on the authorizer when usage plans are enforced: `tier=<API Gateway API key id>` pairs,
    /// comma-separated (`free=abc123,pro=def456`). The API's key source is `AUTHORIZER`: the authorizer reads the
    /// value of the caller's tier key once (`apigateway:GET` on `/apikeys/<id>`, granted by the infrastructure)
    /// and returns it as `usageIdentifierKey`, so API Gateway applies that tier's usage plan (throttle and quota).
    /// Unset: usage plans are not enforced and the authorizer returns no key.
    pub const USAGE_PLAN_KEY_IDS: &str = "USAGE_PLAN_KEY_IDS";
    /// Optional, set on the API's write function when the stage gives tenants their own usage plan keys:
    /// `tier=<usage plan name>` pairs, comma-separated (`free=platform-prod-api-FreePlan,...`). Creating a tenant's
    /// API key then also creates its API Gateway API key (value: the key's SHA-256, what the authorizer returns as
    /// `usageIdentifierKey` for it) in the usage plan of the tenant's tier; revoking deletes it. Names, not ids:
    /// the plans are in the stage's stack, which is deployed after the functions' stack (an id would be a cycle);
    /// the function resolves them once per sandbox (`GET /usageplans`). Unset: no per-tenant keys.
    pub const USAGE_PLAN_NAMES: &str = "USAGE_PLAN_NAMES";
    /// Optional: the OIDC issuer whose RS256/ES256 JWTs the authorizer accepts (the exact `iss` claim). Set
    /// together with [`OIDC_AUDIENCE`] and [`OIDC_JWKS_URL`]; unset: only HS256 tokens.
    pub const OIDC_ISSUER: &str = "OIDC_ISSUER";
    /// Optional: the `aud` claim an OIDC token must carry (a string equal to it or an array containing it).
    pub const OIDC_AUDIENCE: &str = "OIDC_AUDIENCE";
    /// Optional: the `https://` URL of the issuer's JWKS (its signing keys by `kid`).
    pub const OIDC_JWKS_URL: &str = "OIDC_JWKS_URL";
    /// Optional, tests only: comma-separated IP addresses the webhook worker may deliver to although they are in a
    /// refused range (loopback, private, link-local, metadata...), e.g. `127.0.0.1` for a local receiver. Default
    /// empty: every refused range stays refused. Never set by the infrastructure.
    pub const WEBHOOK_ALLOWED_ADDRESSES: &str = "WEBHOOK_ALLOWED_ADDRESSES";
    /// Optional, local only: `true` lets the API accept, and the webhook worker call, plain `http://` webhook URLs
    /// on `127.0.0.1` / `localhost` (a local receiver such as `cargo xtask dev --webhook-sink`). Default `false`:
    /// only `https://`. No template sets it (`routes::handler_env` does not list it, and a test checks every
    /// function's exact variables); `cargo xtask dev` sets it on its host processes when the sink is on.
    pub const WEBHOOK_ALLOW_HTTP_LOOPBACK: &str = "WEBHOOK_ALLOW_HTTP_LOOPBACK";
    /// ARN of the export workflow (Step Functions state machine) that `POST /tenants/{tenant_id}/exports` starts
    /// and `GET /tenants/{tenant_id}/exports/{export_id}` describes the executions of.
    pub const EXPORT_WORKFLOW_ARN: &str = "EXPORT_WORKFLOW_ARN";
    /// Optional lifetime of the invoice PDF's presigned URL (`GET` of an invoice) in seconds; default 900, at most
    /// 604800 (7 days, the SigV4 presigning limit).
    pub const INVOICE_URL_TTL_SECONDS: &str = "INVOICE_URL_TTL_SECONDS";
    /// Name of the uploads bucket: the API's write function presigns `PUT`s into it (`uploads/<tenant>/<id>`), the
    /// upload scanner checks what arrives there and moves what fails to `quarantine/<tenant>/<id>`.
    pub const UPLOAD_BUCKET_NAME: &str = "UPLOAD_BUCKET_NAME";
    /// Set by the Lambda service: the region. The handlers also honour `AWS_ENDPOINT_URL` (`powertools::aws::config_from`)
    /// so tests can point them at a local moto server.
    pub const AWS_REGION: &str = "AWS_REGION";
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
    /// Partition key of [`GSI1`]: `APIKEY#<sha-256 hex of the key>` on API key items (sparse: removed on revoke).
    pub const GSI1_PARTITION_KEY: &str = "gsi1pk";
    /// Sort key of [`GSI1`]: `APIKEY` on API key items.
    pub const GSI1_SORT_KEY: &str = "gsi1sk";
    /// Type name of an entity item (`Order`, `Subscription`, `ApiKey`).
    pub const ENTITY_ATTRIBUTE: &str = "entity";
    /// The attributes of an entity item that are storage, not domain: the keys, the index keys, the TTL and the
    /// type name. Reads and exports leave them out.
    pub const STORAGE_ATTRIBUTES: &[&str] =
        &[PARTITION_KEY, SORT_KEY, GSI1_PARTITION_KEY, GSI1_SORT_KEY, TTL_ATTRIBUTE, ENTITY_ATTRIBUTE];

    /// Prefix of every entity partition key: `TENANT#<tenant id>`.
    pub const TENANT_PREFIX: &str = "TENANT#";
    /// Sort key prefixes of the entity kinds (`<PREFIX><id>`). The stream processor maps items to domain events
    /// by these prefixes, so they are part of the contract.
    pub const ORDER_PREFIX: &str = "ORDER#";
    pub const SUBSCRIPTION_PREFIX: &str = "SUB#";
    pub const API_KEY_PREFIX: &str = "APIKEY#";
    pub const INVOICE_PREFIX: &str = "INVOICE#";
    pub const UPLOAD_PREFIX: &str = "UPLOAD#";
    /// Attribute of an API key item whose key has its own API Gateway API key (value `tenant`): the authorizer
    /// returns the key's SHA-256 as `usageIdentifierKey` for it, else the usage plan key of the tenant's tier.
    pub const USAGE_KEY_ATTRIBUTE: &str = "usage_key";
    /// Sort key of a tenant's webhook configuration item (`url` attribute).
    pub const WEBHOOK_CONFIG_SORT_KEY: &str = "WEBHOOK#CONFIG";
    /// Sort key prefix of idempotency records in the control table: `IDEMPOTENCY#<operation>#<key>`.
    pub const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";
    /// Sort key prefix of rate-limit counters in the control table: `RATE#<route>#<window start>`. Their partition
    /// key is `TENANT#<tenant id>#SHARD#<n>` so a hot tenant's counters spread over partitions.
    pub const RATE_PREFIX: &str = "RATE#";
}

pub mod api;
pub mod events;
pub mod routes;
