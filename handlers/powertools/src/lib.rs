//! Powertools for AWS Lambda in Rust: the runtime library of the platform's handlers.
//!
//! Each module stands alone:
//!
//! | module | what |
//! |---|---|
//! | [`idempotency`] | `Idempotency-Key` handling over DynamoDB, 1 round trip on the happy path of a create |
//! | [`ratelimit`] | per-tenant, per-route fixed-window counters in DynamoDB, sharded for hot tenants, 429 headers |
//! | [`tenant`] | tenant context from the authorizer only; key types that carry the tenant |
//! | [`batch`] | SQS partial batch responses (standard and FIFO), DynamoDB stream checkpoints |
//! | [`router`] | API Gateway REST proxy routing, typed extraction, schema validation, problem+json errors |
//! | [`observability`] | JSON logs with request/trace/tenant ids, EMF metrics, cold start, X-Ray header |
//! | [`retry`] | exponential backoff with full jitter, throttling classification |
//! | [`http`] | a small HTTPS client (rustls) for webhooks and OpenSearch |
//! | [`aws`] | SDK config with one TLS stack, DynamoDB client, call counter |
//! | [`config`] | settings from environment variables: required, optional, parsed, one error type |
//! | [`apikeys`] | API key format and hashing |
//! | [`signed`] | S3 put and presigned get, Step Functions calls: SigV4-signed requests without SDK clients |
//! | [`cache`] | the hot-read cache over Redis: cache-aside reads, pipelined invalidation, a circuit for outages |
//! | [`secrets`] | signing keys from Secrets Manager that survive a rotation (`AWSCURRENT` and `AWSPENDING`) |

pub mod apikeys;
pub mod aws;
pub mod batch;
pub mod cache;
pub mod clock;
pub mod config;
pub mod dynamo;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod observability;
pub mod problem;
pub mod ratelimit;
pub mod retry;
pub mod router;
pub mod schema;
pub mod secrets;
pub mod signed;
pub mod tenant;
