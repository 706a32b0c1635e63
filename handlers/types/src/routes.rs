//! What the infrastructure needs to know about each handler: the API routes, the env vars each Lambda reads,
//! the AWS actions it performs on which resource (so grants are exact), and how its event source is set up.
//!
//! **Invariant:** every function here is deterministic (same order, same values on every call): the constructs
//! derive logical ids and templates from it.

use schemars::{JsonSchema, Schema, generate::SchemaSettings};

use crate::api::{
    CreateApiKeyRequest, CreateExportRequest, CreateInvoiceRequest, CreateOrderRequest, CreateSubscriptionRequest,
    CreateUploadRequest, SetWebhookRequest, UpgradeSubscriptionRequest,
};
use crate::env;

/// The platform's Lambdas. `ApiRead` and `ApiWrite` are the same `api` binary deployed twice with different
/// grants and [`env::API_ROLE`], so the read path (provisioned concurrency, cacheable) cannot write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Handler {
    ApiWrite,
    ApiRead,
    Authorizer,
    StreamProcessor,
    WebhookWorker,
    Exporter,
    Indexer,
    /// `GET /tenants/{tenant_id}/events`: the audit read model in OpenSearch. A function of its own, not a route
    /// of [`Handler::ApiRead`], so only its role is in the search domain's access policy (read-only, one index).
    EventSearch,
    /// The Secrets Manager rotation function of the two signing secrets (JWT and webhook).
    SecretRotator,
    InvoiceRenderer,
    /// Checks each object a presigned upload stored (size, magic number) and quarantines what fails.
    UploadScanner,
}

impl Handler {
    /// Every handler, in a fixed order.
    pub const ALL: [Handler; 11] = [
        Handler::ApiWrite,
        Handler::ApiRead,
        Handler::Authorizer,
        Handler::StreamProcessor,
        Handler::WebhookWorker,
        Handler::Exporter,
        Handler::Indexer,
        Handler::EventSearch,
        Handler::SecretRotator,
        Handler::InvoiceRenderer,
        Handler::UploadScanner,
    ];

    /// Stable name (PascalCase, usable in logical ids).
    pub fn name(self) -> &'static str {
        match self {
            Handler::ApiWrite => "ApiWrite",
            Handler::ApiRead => "ApiRead",
            Handler::Authorizer => "Authorizer",
            Handler::StreamProcessor => "StreamProcessor",
            Handler::WebhookWorker => "WebhookWorker",
            Handler::Exporter => "Exporter",
            Handler::Indexer => "Indexer",
            Handler::EventSearch => "EventSearch",
            Handler::SecretRotator => "SecretRotator",
            Handler::InvoiceRenderer => "InvoiceRenderer",
            Handler::UploadScanner => "UploadScanner",
        }
    }

    /// Cargo package = binary name = `cargo lambda build` output folder (`target/lambda/<binary>/bootstrap.zip`).
    pub fn binary(self) -> &'static str {
        match self {
            Handler::ApiWrite | Handler::ApiRead => "api",
            Handler::Authorizer => "authorizer",
            Handler::StreamProcessor => "stream-processor",
            Handler::WebhookWorker => "webhook-worker",
            Handler::Exporter => "exporter",
            Handler::Indexer => "indexer",
            Handler::EventSearch => "search",
            Handler::SecretRotator => "secret-rotator",
            Handler::InvoiceRenderer => "invoice-renderer",
            Handler::UploadScanner => "upload-scanner",
        }
    }

    /// Value of [`env::API_ROLE`] for the two API deployments.
    pub fn api_role(self) -> Option<&'static str> {
        match self {
            Handler::ApiWrite => Some("write"),
            Handler::ApiRead => Some("read"),
            _ => None,
        }
    }
}

/// One API Gateway method.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// HTTP method, upper case.
    pub method: &'static str,
    /// API Gateway resource path, e.g. `/tenants/{tenant_id}/orders`.
    pub path: &'static str,
    /// Which Lambda serves it (through the Lambda proxy integration).
    pub handler: Handler,
    /// Stable operation name (camelCase): the API Gateway `OperationName`, the metrics dimension and the
    /// idempotency scope.
    pub operation: &'static str,
    /// Request model: name (alphanumeric, API Gateway's rule) and JSON Schema (draft 4, inlined, as API Gateway
    /// models require). Set the method's request validator to validate the body when present.
    pub request_model: Option<(&'static str, Schema)>,
    /// The method requires an `Idempotency-Key` header (set it as a required request parameter).
    pub idempotent: bool,
}

/// Header carrying the idempotency key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// Response header marking a replayed response.
pub const IDEMPOTENCY_REPLAYED_HEADER: &str = "Idempotency-Replayed";

/// JSON Schema of a request type as an API Gateway model: draft 4 meta-schema, every subschema inlined (API
/// Gateway resolves `$ref` only to other models by URL). <https://docs.aws.amazon.com/apigateway/latest/developerguide/models-mappings-models.html>
pub fn request_schema<T: JsonSchema>() -> Schema {
    let settings = SchemaSettings::draft07().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = Some("http://json-schema.org/draft-04/schema#".into());
    });
    settings.into_generator().into_root_schema_for::<T>()
}

fn model<T: JsonSchema>(name: &'static str) -> Option<(&'static str, Schema)> {
    Some((name, request_schema::<T>()))
}

/// The API, in a fixed order (grouped by resource, then method).
pub fn routes() -> Vec<Route> {
    use Handler::{ApiRead, ApiWrite};
    let r = |method, path, handler, operation, request_model, idempotent| Route {
        method,
        path,
        handler,
        operation,
        request_model,
        idempotent,
    };
    vec![
        r("GET", "/tenants/{tenant_id}/orders", ApiRead, "listOrders", None, false),
        r(
            "POST",
            "/tenants/{tenant_id}/orders",
            ApiWrite,
            "createOrder",
            model::<CreateOrderRequest>("CreateOrderRequest"),
            true,
        ),
        r("GET", "/tenants/{tenant_id}/orders/{order_id}", ApiRead, "getOrder", None, false),
        r("GET", "/tenants/{tenant_id}/subscriptions", ApiRead, "listSubscriptions", None, false),
        r(
            "POST",
            "/tenants/{tenant_id}/subscriptions",
            ApiWrite,
            "createSubscription",
            model::<CreateSubscriptionRequest>("CreateSubscriptionRequest"),
            true,
        ),
        r("GET", "/tenants/{tenant_id}/subscriptions/{subscription_id}", ApiRead, "getSubscription", None, false),
        r(
            "POST",
            "/tenants/{tenant_id}/subscriptions/{subscription_id}/upgrade",
            ApiWrite,
            "upgradeSubscription",
            model::<UpgradeSubscriptionRequest>("UpgradeSubscriptionRequest"),
            true,
        ),
        r("GET", "/tenants/{tenant_id}/api-keys", ApiRead, "listApiKeys", None, false),
        // Not idempotent on purpose: a replay would have to store the plaintext key in the idempotency record.
        r(
            "POST",
            "/tenants/{tenant_id}/api-keys",
            ApiWrite,
            "createApiKey",
            model::<CreateApiKeyRequest>("CreateApiKeyRequest"),
            false,
        ),
        // DELETE is idempotent by nature (revoking a revoked key is a no-op), no key needed.
        r("DELETE", "/tenants/{tenant_id}/api-keys/{key_id}", ApiWrite, "revokeApiKey", None, false),
        r("GET", "/tenants/{tenant_id}/webhook", ApiRead, "getWebhook", None, false),
        // Naturally idempotent, no Idempotency-Key: the PUT replaces the one configuration item with the body's
        // URL, so a repeated PUT leaves the same state and answers the same body (only `updated_at` moves).
        r(
            "PUT",
            "/tenants/{tenant_id}/webhook",
            ApiWrite,
            "setWebhook",
            model::<SetWebhookRequest>("SetWebhookRequest"),
            false,
        ),
        // Idempotent by nature: deleting a deleted configuration is a 204 too.
        r("DELETE", "/tenants/{tenant_id}/webhook", ApiWrite, "deleteWebhook", None, false),
        // Query parameters q, type, from, to, limit, cursor, all optional, checked by the handler (a REST API
        // validates only that required parameters are present).
        r("GET", "/tenants/{tenant_id}/events", Handler::EventSearch, "searchEvents", None, false),
        r(
            "POST",
            "/tenants/{tenant_id}/invoices",
            ApiWrite,
            "createInvoice",
            model::<CreateInvoiceRequest>("CreateInvoiceRequest"),
            true,
        ),
        r("GET", "/tenants/{tenant_id}/invoices/{invoice_id}", ApiRead, "getInvoice", None, false),
        // Idempotent through the execution name: the export id is derived from the tenant and the key, and
        // StartExecution of a running or finished execution of that name and input answers the same execution.
        r(
            "POST",
            "/tenants/{tenant_id}/exports",
            ApiWrite,
            "createExport",
            model::<CreateExportRequest>("CreateExportRequest"),
            true,
        ),
        r("GET", "/tenants/{tenant_id}/exports/{export_id}", ApiRead, "getExport", None, false),
        r(
            "POST",
            "/tenants/{tenant_id}/uploads",
            ApiWrite,
            "createUpload",
            model::<CreateUploadRequest>("CreateUploadRequest"),
            true,
        ),
        r("GET", "/tenants/{tenant_id}/uploads/{upload_id}", ApiRead, "getUpload", None, false),
    ]
}

/// Env vars a handler reads. Required ones first; the optional ones have documented defaults in [`env`].
pub fn handler_env(h: Handler) -> &'static [&'static str] {
    const API: &[&str] = &[
        env::TABLE_NAME,
        env::CONTROL_TABLE_NAME,
        env::API_ROLE,
        env::SERVICE_NAME,
        env::METRICS_NAMESPACE,
        env::LOG_LEVEL,
        env::RATE_LIMITS,
        env::RATE_LIMIT_WINDOW_SECONDS,
        env::EXPORT_WORKFLOW_ARN,
        env::EXPORT_BUCKET_NAME,
        env::IDEMPOTENCY_TTL_SECONDS,
        env::REDIS_ENDPOINT,
        env::INVOICE_URL_TTL_SECONDS,
    ];
    const API_WRITE: &[&str] = &[
        env::TABLE_NAME,
        env::CONTROL_TABLE_NAME,
        env::API_ROLE,
        env::SERVICE_NAME,
        env::METRICS_NAMESPACE,
        env::LOG_LEVEL,
        env::RATE_LIMITS,
        env::RATE_LIMIT_WINDOW_SECONDS,
        env::IDEMPOTENCY_TTL_SECONDS,
        env::REDIS_ENDPOINT,
        env::USAGE_PLAN_NAMES,
        // The export routes: `POST .../exports` starts the workflow; the API's settings read both at start.
        env::EXPORT_WORKFLOW_ARN,
        env::EXPORT_BUCKET_NAME,
        env::INVOICE_URL_TTL_SECONDS,
        // `POST .../uploads` presigns a PUT into it.
        env::UPLOAD_BUCKET_NAME,
    ];
    match h {
        Handler::ApiWrite => API_WRITE,
        Handler::ApiRead => API,
        Handler::Authorizer => &[
            env::TABLE_NAME,
            env::JWT_SECRET_ARN,
            env::SERVICE_NAME,
            env::METRICS_NAMESPACE,
            env::LOG_LEVEL,
            env::JWT_ISSUER,
            env::JWT_AUDIENCE,
            env::USAGE_PLAN_KEY_IDS,
            env::REDIS_ENDPOINT,
            env::OIDC_ISSUER,
            env::OIDC_AUDIENCE,
            env::OIDC_JWKS_URL,
        ],
        Handler::StreamProcessor => {
            &[env::EVENT_BUS_NAME, env::SERVICE_NAME, env::METRICS_NAMESPACE, env::LOG_LEVEL, env::REDIS_ENDPOINT]
        }
        Handler::WebhookWorker => &[
            env::TABLE_NAME,
            env::WEBHOOK_SECRET_ARN,
            env::QUEUE_URL,
            env::SERVICE_NAME,
            env::METRICS_NAMESPACE,
            env::LOG_LEVEL,
            env::WEBHOOK_ALLOWED_ADDRESSES,
        ],
        Handler::Exporter => &[
            env::TABLE_NAME,
            env::EXPORT_BUCKET_NAME,
            env::SERVICE_NAME,
            env::METRICS_NAMESPACE,
            env::LOG_LEVEL,
            env::EXPORT_URL_TTL_SECONDS,
        ],
        Handler::Indexer => &[
            env::OPENSEARCH_ENDPOINT,
            env::SERVICE_NAME,
            env::METRICS_NAMESPACE,
            env::LOG_LEVEL,
            env::OPENSEARCH_INDEX,
        ],
        // OPENSEARCH_ENDPOINT is optional here: without a search domain the route answers 501.
        Handler::EventSearch => &[
            env::SERVICE_NAME,
            env::METRICS_NAMESPACE,
            env::LOG_LEVEL,
            env::OPENSEARCH_ENDPOINT,
            env::OPENSEARCH_INDEX,
        ],
        // The two secrets it may rotate: a rotation request for any other secret is refused.
        Handler::SecretRotator => {
            &[env::JWT_SECRET_ARN, env::WEBHOOK_SECRET_ARN, env::SERVICE_NAME, env::METRICS_NAMESPACE, env::LOG_LEVEL]
        }
        Handler::InvoiceRenderer => &[
            env::TABLE_NAME,
            env::EXPORT_BUCKET_NAME,
            env::EVENT_BUS_NAME,
            env::SERVICE_NAME,
            env::METRICS_NAMESPACE,
            env::LOG_LEVEL,
        ],
        Handler::UploadScanner => {
            &[env::TABLE_NAME, env::UPLOAD_BUCKET_NAME, env::SERVICE_NAME, env::METRICS_NAMESPACE, env::LOG_LEVEL]
        }
    }
}

/// A resource the handlers act on. The constructs resolve each to ARNs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceRef {
    /// The entity table (`<table arn>`).
    EntityTable,
    /// The entity table's [`crate::table::GSI1`] (`<table arn>/index/gsi1`).
    EntityTableGsi1,
    /// The entity table's stream (`<stream arn>`).
    EntityTableStream,
    /// The control table (idempotency records, rate-limit counters).
    ControlTable,
    /// The custom event bus.
    EventBus,
    /// Objects of the export bucket (`<bucket arn>/exports/*`).
    ExportBucketObjects,
    /// The webhook delivery queue.
    WebhookQueue,
    /// The queue of events the indexer consumes.
    IndexerQueue,
    /// The JWT signing secret.
    JwtSecret,
    /// The webhook signing secret.
    WebhookSecret,
    /// Paths of the OpenSearch domain (`<domain arn>/*`).
    OpenSearchDomain,
    /// The region's API Gateway API keys (`arn:<partition>:apigateway:<region>::/apikeys` and `/apikeys/*`):
    /// the tenants' own usage plan keys. API keys are regional, not children of a REST API.
    GatewayApiKeys,
    /// The region's usage plans and their keys (`/usageplans` to resolve the stage's plan names,
    /// `/usageplans/*/keys` to add a key: the plan ids are known only after the stage's stack is deployed).
    GatewayUsagePlans,
    /// The search path of the audit index only (`<domain arn>/`[`AUDIT_INDEX`]`/_search`). Absent when the stage has no
    /// search domain: the search function is deployed anyway and answers 501, with no OpenSearch grant.
    OpenSearchIndexSearch,
    /// Invoice PDFs in the export bucket (`<bucket arn>/invoices/*`, one prefix per tenant below it).
    InvoiceObjects,
    /// The invoice renderer's queue (PDF jobs).
    PdfJobQueue,
    /// The export workflow (`<state machine arn>`).
    ExportWorkflow,
    /// Uploaded objects in the uploads bucket (`<bucket arn>/uploads/*`, one prefix per tenant below it).
    UploadObjects,
    /// Quarantined uploads (`<uploads bucket arn>/quarantine/*`).
    QuarantineObjects,
    /// The upload scanner's queue (the uploads bucket's `ObjectCreated` notifications).
    UploadQueue,
    /// The export workflow's executions (`arn:<partition>:states:<region>:<account>:execution:<name>:*`).
    ExportWorkflowExecutions,
}

/// The OpenSearch index of the audit read model: the indexer's default `OPENSEARCH_INDEX`, and the only index the
/// search function's grant names.
pub const AUDIT_INDEX: &str = "audit-events";

/// AWS actions on one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    pub resource: ResourceRef,
    pub actions: &'static [&'static str],
}

/// Exactly the AWS actions a handler performs (no wildcard actions). `TransactWriteItems` is not an IAM action:
/// a transaction needs the per-item actions (PutItem, UpdateItem, ConditionCheckItem) on every table it touches.
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html>
pub fn permissions(h: Handler) -> &'static [Permission] {
    use ResourceRef::*;
    // A macro, not a `const fn`: struct literals are promoted to `'static`, function calls are not.
    macro_rules! p {
        ($r:expr, $a:expr $(,)?) => {
            Permission { resource: $r, actions: $a }
        };
    }
    // Rate-limit counters are one conditional UpdateItem; idempotency records are Put/Update/Delete/Get.
    const CONTROL_RW: &[&str] = &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"];
    const SQS_CONSUME: &[&str] = &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"];
    // The four rotation steps: DescribeSecret (the versions and their stages), GetSecretValue (AWSCURRENT and
    // AWSPENDING), PutSecretValue (the new AWSPENDING version), UpdateSecretVersionStage (AWSCURRENT moves to it).
    // No GetRandomPassword: it has no resource-level permissions (it would need `*`), and the function makes the
    // value from the OS RNG itself.
    // https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
    const ROTATE: &[&str] = &[
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
    ];
    match h {
        Handler::ApiWrite => &[
            // Creates are Put in a transaction; upgrades and revocations are conditional UpdateItem after a read;
            // DeleteItem removes the webhook configuration (the only item the API deletes).
            p!(EntityTable, &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
            p!(ControlTable, CONTROL_RW),
            // A tenant's own usage plan key (with `USAGE_PLAN_NAMES`): CreateApiKey is a POST, GetApiKeys (find the
            // key by name on revoke) a GET, DeleteApiKey a DELETE; GetUsagePlans a GET, CreateUsagePlanKey a POST.
            // The grant is made only on stages that set the variable.
            p!(GatewayApiKeys, &["apigateway:DELETE", "apigateway:GET", "apigateway:POST"]),
            p!(GatewayUsagePlans, &["apigateway:GET", "apigateway:POST"]),
            // POST exports; nothing else of Step Functions (no stop, no list).
            p!(ExportWorkflow, &["states:StartExecution"]),
            // POST uploads presigns a PUT: the URL is signed with the function's credentials, so the role must be
            // allowed what it signs (the function itself sends no S3 request).
            p!(UploadObjects, &["s3:PutObject"]),
        ],
        Handler::ApiRead => &[
            p!(EntityTable, &["dynamodb:GetItem", "dynamodb:Query"]),
            // Only the rate-limit counter.
            p!(ControlTable, &["dynamodb:UpdateItem"]),
            // GET exports reads the execution's status and output.
            p!(ExportWorkflowExecutions, &["states:DescribeExecution"]),
            // GetObject: the invoice PDF's presigned URL is signed with the function's credentials, so the role
            // must be allowed to read what it signs (no S3 request is sent by the function itself).
            p!(InvoiceObjects, &["s3:GetObject"]),
        ],
        Handler::Authorizer => {
            &[p!(EntityTableGsi1, &["dynamodb:Query"]), p!(JwtSecret, &["secretsmanager:GetSecretValue"])]
        }
        Handler::StreamProcessor => &[
            // What the event source mapping needs (it polls with the function's role).
            p!(
                EntityTableStream,
                &[
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams"
                ],
            ),
            p!(EventBus, &["events:PutEvents"]),
        ],
        Handler::WebhookWorker => &[
            // ChangeMessageVisibility: backoff of a failed delivery through the visibility timeout.
            p!(
                WebhookQueue,
                &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
            ),
            // The tenant's webhook configuration item.
            p!(EntityTable, &["dynamodb:GetItem"]),
            p!(WebhookSecret, &["secretsmanager:GetSecretValue"]),
        ],
        Handler::Exporter => &[
            p!(EntityTable, &["dynamodb:Query"]),
            // GetObject: the presigned URL is signed with the function's credentials, so the role must be allowed
            // to read what it signs. PutObject covers the multipart calls except the abort.
            p!(ExportBucketObjects, &["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]),
        ],
        Handler::Indexer => &[
            p!(IndexerQueue, SQS_CONSUME),
            // The bulk API is a POST to /_bulk.
            p!(OpenSearchDomain, &["es:ESHttpPost"]),
        ],
        // GET <index>/_search with a JSON body: ESHttpGet on that one path cannot index, delete or read another
        // index (ESHttpPost on the domain, the indexer's, could write through _bulk).
        Handler::EventSearch => &[p!(OpenSearchIndexSearch, &["es:ESHttpGet"])],
        Handler::SecretRotator => &[p!(JwtSecret, ROTATE), p!(WebhookSecret, ROTATE)],
        Handler::InvoiceRenderer => &[
            p!(PdfJobQueue, SQS_CONSUME),
            // GetItem: the invoice; UpdateItem: mark it ready with the PDF's key.
            p!(EntityTable, &["dynamodb:GetItem", "dynamodb:UpdateItem"]),
            p!(InvoiceObjects, &["s3:PutObject"]),
            p!(EventBus, &["events:PutEvents"]),
        ],
        Handler::UploadScanner => &[
            p!(UploadQueue, SQS_CONSUME),
            // GetItem: the pending upload; UpdateItem: its status and metadata.
            p!(EntityTable, &["dynamodb:GetItem", "dynamodb:UpdateItem"]),
            // GetObject(Version): the first bytes of the version the event names, and the source of the
            // quarantine copy; DeleteObjectVersion removes that version for good (a plain DeleteObject in a
            // versioned bucket only adds a delete marker, the bytes would stay); DeleteObject when the event names
            // no version (an unversioned bucket, moto).
            p!(UploadObjects, &["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion"],),
            // The destination of the quarantine copy.
            p!(QuarantineObjects, &["s3:PutObject"]),
        ],
    }
}

/// How a handler is invoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventSource {
    /// API Gateway REST API, Lambda proxy integration.
    ApiGateway,
    /// API Gateway Lambda authorizer, TOKEN type. Identity source `method.request.header.Authorization`
    /// (`Bearer <jwt>` or `ApiKey <key>`); cache the result (TTL [`AUTHORIZER_CACHE_TTL_SECONDS`]): the policy
    /// covers every method under the tenant's path, so a cached answer is right for the next route too.
    Authorizer,
    /// DynamoDB stream of the entity table (view type NEW_AND_OLD_IMAGES).
    DynamoDbStream {
        batch_size: u32,
        /// Retries of a failing batch before it goes to the on-failure destination.
        maximum_retry_attempts: u32,
        /// Split a failing batch in two to isolate a poison record.
        bisect_batch_on_function_error: bool,
        /// `FunctionResponseTypes: [ReportBatchItemFailures]`.
        report_batch_item_failures: bool,
    },
    /// SQS queue with a dead-letter queue (`RedrivePolicy.maxReceiveCount`).
    Sqs {
        batch_size: u32,
        maximum_batching_window_seconds: u32,
        report_batch_item_failures: bool,
        /// Queue visibility timeout; at least 6 times the function timeout (AWS guidance for SQS event sources,
        /// <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html>).
        visibility_timeout_seconds: u32,
        max_receive_count: u32,
    },
    /// A Step Functions `Task` state (`arn:aws:states:::lambda:invoke`).
    StepFunctionsTask,
    /// Secrets Manager, on each signing secret's rotation schedule: one invocation per rotation step
    /// (`createSecret`, `setSecret`, `testSecret`, `finishSecret`), allowed by a resource policy naming the secret.
    SecretsManagerRotation,
}

/// Authorizer result cache TTL: how long a revoked key can still pass (API Gateway allows 0 to 3600 s).
pub const AUTHORIZER_CACHE_TTL_SECONDS: u32 = 60;

/// Recommended function timeout in seconds (the constructs may use it as the default).
pub fn timeout_seconds(h: Handler) -> u32 {
    match h {
        // API Gateway's integration timeout is 29 s; the handlers answer in well under a second.
        Handler::ApiWrite | Handler::ApiRead | Handler::Authorizer => 10,
        // Its OpenSearch request times out after 5 s (well within API Gateway's 29 s).
        Handler::EventSearch => 10,
        Handler::StreamProcessor => 30,
        // Per-delivery HTTP timeout 5 s, batch of 10 delivered concurrently.
        Handler::WebhookWorker => 30,
        Handler::Exporter => 300,
        Handler::Indexer => 30,
        // A step is two or three Secrets Manager calls; Secrets Manager retries a step that fails or times out.
        Handler::SecretRotator => 30,
        // One PDF of at most 50 lines renders in microseconds; the rest is three AWS calls per job.
        Handler::InvoiceRenderer => 30,
        // Per object: a ranged GET of 16 bytes, at most a copy of 10 MiB and a delete, and one or two DynamoDB
        // calls.
        Handler::UploadScanner => 30,
    }
}

/// Event source settings the handler's behaviour relies on.
pub fn event_source(h: Handler) -> EventSource {
    match h {
        Handler::ApiWrite | Handler::ApiRead | Handler::EventSearch => EventSource::ApiGateway,
        Handler::Authorizer => EventSource::Authorizer,
        Handler::StreamProcessor => EventSource::DynamoDbStream {
            // 100 records = 10 PutEvents calls of 10 entries (PutEvents takes at most 10 entries,
            // https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html).
            batch_size: 100,
            maximum_retry_attempts: 5,
            bisect_batch_on_function_error: true,
            report_batch_item_failures: true,
        },
        Handler::WebhookWorker => EventSource::Sqs {
            batch_size: 10,
            maximum_batching_window_seconds: 1,
            report_batch_item_failures: true,
            visibility_timeout_seconds: 6 * timeout_seconds(Handler::WebhookWorker),
            max_receive_count: 8,
        },
        Handler::Indexer => EventSource::Sqs {
            // The bulk API takes many documents per request; 100 keeps a request well under 10 MB.
            batch_size: 100,
            maximum_batching_window_seconds: 5,
            report_batch_item_failures: true,
            visibility_timeout_seconds: 6 * timeout_seconds(Handler::Indexer),
            max_receive_count: 5,
        },
        Handler::Exporter => EventSource::StepFunctionsTask,
        Handler::SecretRotator => EventSource::SecretsManagerRotation,
        Handler::InvoiceRenderer => EventSource::Sqs {
            batch_size: 10,
            maximum_batching_window_seconds: 1,
            report_batch_item_failures: true,
            visibility_timeout_seconds: 6 * timeout_seconds(Handler::InvoiceRenderer),
            max_receive_count: 5,
        },
        Handler::UploadScanner => EventSource::Sqs {
            batch_size: 10,
            maximum_batching_window_seconds: 1,
            report_batch_item_failures: true,
            visibility_timeout_seconds: 6 * timeout_seconds(Handler::UploadScanner),
            max_receive_count: 5,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_unique_and_stable() {
        let routes = routes();
        let mut seen = std::collections::BTreeSet::new();
        for r in &routes {
            assert!(seen.insert((r.method, r.path)), "duplicate route {} {}", r.method, r.path);
            assert!(r.path.starts_with("/tenants/{tenant_id}"), "{} is not tenant-scoped", r.path);
            if let Some((name, _)) = &r.request_model {
                assert!(name.chars().all(|c| c.is_ascii_alphanumeric()), "model name {name}");
            }
            assert!(matches!(r.handler, Handler::ApiRead | Handler::ApiWrite | Handler::EventSearch));
            assert_eq!(r.handler == Handler::ApiWrite, r.method != "GET", "{} {}", r.method, r.path);
        }
        assert_eq!(routes, super::routes());
    }

    #[test]
    fn request_models_are_draft4_and_inlined() {
        for r in routes() {
            let Some((name, schema)) = r.request_model else {
                continue;
            };
            let json = serde_json::to_string(&schema).unwrap_or_default();
            assert!(json.contains("draft-04"), "{name}: {json}");
            assert!(!json.contains("$ref"), "{name} has a $ref: {json}");
            assert!(!json.contains("$defs") && !json.contains("definitions"), "{name}: {json}");
            assert_eq!(schema.get("additionalProperties"), Some(&serde_json::Value::Bool(false)), "{name}");
        }
    }

    #[test]
    fn create_order_schema_carries_constraints() {
        let s = serde_json::to_value(request_schema::<CreateOrderRequest>()).unwrap_or_default();
        assert_eq!(s["properties"]["items"]["maxItems"], 100);
        assert_eq!(s["properties"]["items"]["items"]["properties"]["quantity"]["minimum"], 1);
        assert_eq!(s["required"], serde_json::json!(["items", "currency"]));
    }

    #[test]
    fn create_upload_schema_binds_the_allow_list_and_the_size() {
        let s = serde_json::to_value(request_schema::<CreateUploadRequest>()).unwrap_or_default();
        assert_eq!(
            s["properties"]["content_type"]["enum"],
            serde_json::json!(["image/png", "image/jpeg", "application/pdf"])
        );
        assert_eq!(s["properties"]["content_length"]["minimum"], 1);
        assert_eq!(s["properties"]["content_length"]["maximum"], crate::api::MAX_UPLOAD_BYTES);
        assert_eq!(s["properties"]["file_name"]["maxLength"], 255);
        assert_eq!(s["required"], serde_json::json!(["content_type", "content_length", "file_name"]));
        for t in crate::api::UploadContentType::ALL {
            assert_eq!(crate::api::UploadContentType::sniff(t.magic()), Some(t));
        }
        assert_eq!(crate::api::UploadContentType::sniff(b"GIF89a"), None);
    }

    #[test]
    fn every_handler_has_env_and_permissions() {
        for h in Handler::ALL {
            assert!(!handler_env(h).is_empty(), "{h:?}");
            for p in permissions(h) {
                for a in p.actions {
                    assert!(!a.contains('*'), "{h:?} has a wildcard action {a}");
                }
            }
        }
        assert!(handler_env(Handler::ApiWrite).contains(&env::CONTROL_TABLE_NAME));
    }

    /// What touches uploaded bytes: the write function may only sign a `PUT` under `uploads/`; the scanner reads and
    /// deletes there and writes only under `quarantine/`; nothing else is granted either prefix.
    #[test]
    fn uploads_are_written_by_signed_puts_and_moved_by_the_scanner_only() {
        for h in Handler::ALL {
            for p in permissions(h) {
                match (h, p.resource) {
                    (Handler::ApiWrite, ResourceRef::UploadObjects) => assert_eq!(p.actions, ["s3:PutObject"]),
                    (Handler::UploadScanner, ResourceRef::UploadObjects) => assert!(
                        p.actions.iter().all(|a| a.starts_with("s3:GetObject") || a.starts_with("s3:DeleteObject")),
                        "{p:?}"
                    ),
                    (Handler::UploadScanner, ResourceRef::QuarantineObjects) => {
                        assert_eq!(p.actions, ["s3:PutObject"])
                    }
                    (_, ResourceRef::UploadObjects | ResourceRef::QuarantineObjects | ResourceRef::UploadQueue) => {
                        assert_eq!(h, Handler::UploadScanner, "{h:?} is granted {p:?}")
                    }
                    _ => {}
                }
            }
        }
        assert!(handler_env(Handler::ApiWrite).contains(&env::UPLOAD_BUCKET_NAME));
        assert!(!handler_env(Handler::ApiRead).contains(&env::UPLOAD_BUCKET_NAME), "GET never needs the bucket");
    }

    #[test]
    fn the_rotator_touches_the_two_signing_secrets_only() {
        let resources: Vec<ResourceRef> = permissions(Handler::SecretRotator).iter().map(|p| p.resource).collect();
        assert_eq!(resources, [ResourceRef::JwtSecret, ResourceRef::WebhookSecret]);
        for p in permissions(Handler::SecretRotator) {
            assert!(p.actions.iter().all(|a| a.starts_with("secretsmanager:")), "{p:?}");
            assert!(!p.actions.contains(&"secretsmanager:GetRandomPassword"), "needs resource *: {p:?}");
        }
    }
}
