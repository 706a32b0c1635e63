//! Signed uploads: an idempotent create (one `TransactWriteItems`, like orders) that records the pending upload
//! and answers a presigned `PUT`, and a get of the upload's status.
//!
//! The flow after the create: the client `PUT`s the file to the URL (S3 checks the signature: the bound
//! `Content-Type` and `Content-Length`, the key, the expiry); the uploads bucket's `ObjectCreated` notification
//! (prefix `uploads/`) queues the object; the upload scanner checks its size and magic number against the item
//! and marks it `accepted`, or moves it to `quarantine/<tenant>/<id>` and marks it `quarantined` with the reason.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use platform_types::api::{CreateUploadRequest, Upload, UploadStatus, upload_key};
use platform_types::table;
use powertools::idempotency::Fingerprint;
use powertools::problem::Problem;
use powertools::router::{Request, Response};
use powertools::tenant::{EntityId, EntityKind, TenantContext};
use serde_json::json;

use crate::items::{from_item, internal, to_item};
use crate::orders::{PreparedWrite, collision, commit, idempotency_key};
use crate::{Deps, gate, with_rate_headers};

/// Lifetime of the presigned `PUT`: 5 minutes. The client asks for the URL right before it uploads, and S3 checks
/// the expiry when the request starts (a slow upload that started in time completes), so 5 minutes covers a
/// client's retries with backoff; a URL that leaks (a log, a proxy) can store only the declared type and length
/// under the one key, and only for those 5 minutes. The URL is also bounded by the credentials that signed it
/// (the function's role session), which outlive it.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(300);

/// How long a `pending` upload whose file never arrives is kept: a day (its `ttl`; the scanner removes the `ttl`
/// when it records a result, so checked uploads stay).
pub const PENDING_UPLOAD_TTL: Duration = Duration::from_secs(24 * 3600);

/// Validates the body, presigns the `PUT` (locally, no call) and builds the pending upload item, the response and
/// the idempotency inputs.
pub fn prepare_create(deps: &Deps, req: &Request, tenant: &TenantContext) -> Result<PreparedWrite, Problem> {
    let (body, json) = req.json::<CreateUploadRequest>()?;
    let key = idempotency_key(req, tenant)?;
    let fingerprint = Fingerprint::of_json(&json!({ "path": req.path, "body": json }));
    // The schema bounds it; checked anyway (the schema validator and this type could drift).
    if body.content_length == 0 || body.content_length > platform_types::api::MAX_UPLOAD_BYTES {
        return Err(Problem::new(400).with_detail(format!(
            "content_length {} is out of range, expected 1 to {}",
            body.content_length,
            platform_types::api::MAX_UPLOAD_BYTES
        )));
    }
    let bucket = deps.aws.upload_bucket.as_deref().ok_or_else(|| internal("no uploads bucket configured"))?;
    let id = EntityId::parse(&powertools::ids::ulid(deps.clock.as_ref())).map_err(internal)?;
    let now_ms = deps.clock.now_millis();
    let object_key = upload_key(tenant.tenant().as_str(), id.as_str());
    let presigned = deps
        .aws
        .signer()?
        .presign_put(
            bucket,
            &object_key,
            body.content_type.as_str(),
            body.content_length,
            UPLOAD_URL_TTL,
            UNIX_EPOCH + Duration::from_millis(now_ms),
        )
        .map_err(internal)?;
    let mut upload = Upload {
        upload_id: id.to_string(),
        tenant_id: tenant.tenant().to_string(),
        file_name: body.file_name,
        content_type: body.content_type,
        content_length: body.content_length,
        object_key,
        created_at: powertools::clock::rfc3339(now_ms),
        status: UploadStatus::Pending,
        reason: None,
        size: None,
        detected_type: None,
        etag: None,
        checked_at: None,
        quarantine_key: None,
        upload_url: None,
        upload_headers: None,
        upload_url_expires_in_seconds: None,
    };
    let entity_key = tenant.tenant().entity_key(EntityKind::Upload, &id);
    let mut item = to_item(&entity_key, &upload)?;
    let expires = now_ms / 1000 + PENDING_UPLOAD_TTL.as_secs();
    item.insert(table::TTL_ATTRIBUTE.into(), AttributeValue::N(expires.to_string()));
    let put = Put::builder()
        .table_name(&deps.entity_table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(internal)?;
    upload.upload_url = Some(presigned.url);
    upload.upload_headers = Some(presigned.headers.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    upload.upload_url_expires_in_seconds = Some(UPLOAD_URL_TTL.as_secs());
    let response =
        crate::items::created(format!("/tenants/{}/uploads/{}", upload.tenant_id, upload.upload_id), &upload)?;
    Ok(PreparedWrite { key, fingerprint, response, writes: vec![TransactWriteItem::builder().put(put).build()] })
}

/// `POST /tenants/{tenant_id}/uploads`: 201 with the pending upload and its presigned `PUT`; a replay answers the
/// first response (the same URL, valid until it expires).
pub async fn create(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, true).await?;
    let prepared = prepare_create(&deps, &req, &g.tenant)?;
    commit(&deps, &req, &g.tenant, prepared, collision()).await
}

/// `GET /tenants/{tenant_id}/uploads/{upload_id}`: the upload with its status (`pending`, `accepted`,
/// `quarantined` with the reason). Never a URL to the object: nothing serves an upload from here.
pub async fn get(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, false).await?;
    let id: String = req.path_param("upload_id")?;
    let id = EntityId::parse(&id).map_err(|_| Problem::new(404).with_detail(format!("no upload {id:?}")))?;
    let key = g.tenant.tenant().entity_key(EntityKind::Upload, &id);
    let item = crate::items::get(&deps, &key)
        .await?
        .ok_or_else(|| Problem::new(404).with_detail(format!("no upload {id}")))?;
    let upload: Upload = from_item(&item)?;
    // No-store: the status changes when the scanner is done.
    let r = Response::json(200, &upload).with_header("Cache-Control", "private, no-store");
    Ok(with_rate_headers(r, g.rate.as_ref()))
}
