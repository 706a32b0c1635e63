//! Exports: `POST` starts the export workflow (Step Functions `StartExecution`), `GET` reports its status and
//! download URL (`DescribeExecution`).
//!
//! The export id is derived from the tenant and the `Idempotency-Key` (the first 128 bits of their SHA-256, hex)
//! and is the execution's name. That makes the create idempotent without an idempotency record: Step Functions
//! answers a `StartExecution` of a running execution with the same name and input with that execution, and a
//! finished one with `ExecutionAlreadyExists`, which is a replay here (the same tenant and key always give the
//! same name and input). Names are unique per state machine for 90 days after the execution closes
//! (<https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html>).
//!
//! The status comes from `DescribeExecution` rather than an item the workflow writes: the execution is the
//! authority on its own state (a workflow that fails or times out before it could write a status item would
//! report `running` forever), it costs no write and no extra state in the workflow, and its output already
//! carries the exporter's presigned URL. The execution's input names its tenant, checked on every read.

use std::sync::Arc;

use platform_types::api::{CreateExportRequest, Export, ExportStatus, ExportWorkflowInput};
use powertools::problem::Problem;
use powertools::router::{Request, Response};
use powertools::signed::SignedError;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::items::internal;
use crate::orders::idempotency_key;
use crate::{Deps, gate, with_rate_headers};

/// Length of an export id: 32 lowercase hex digits (128 bits).
pub const EXPORT_ID_LEN: usize = 32;

/// The export id (and execution name) of a tenant's `Idempotency-Key`.
pub fn export_id(tenant: &str, key: &str) -> String {
    let digest = Sha256::digest(format!("export\n{tenant}\n{key}").as_bytes());
    hex::encode(digest)[..EXPORT_ID_LEN].to_string()
}

/// The execution ARN of `name` in the state machine `state_machine_arn`
/// (`arn:<p>:states:<r>:<a>:stateMachine:<sm>` → `arn:<p>:states:<r>:<a>:execution:<sm>:<name>`).
pub fn execution_arn(state_machine_arn: &str, name: &str) -> Result<String, Problem> {
    let (head, sm) = state_machine_arn
        .split_once(":stateMachine:")
        .ok_or_else(|| internal(format!("EXPORT_WORKFLOW_ARN {state_machine_arn:?} is not a state machine ARN")))?;
    Ok(format!("{head}:execution:{sm}:{name}"))
}

fn states_problem(e: SignedError) -> Problem {
    if e.is_retryable() {
        tracing::warn!(error = %e, "step functions busy");
        Problem::new(503).with_detail("the service is busy, retry later").with_header("Retry-After", "1")
    } else {
        tracing::error!(error = %e, "step functions error");
        Problem::new(500).with_detail("internal error")
    }
}

fn rfc3339_of_epoch_seconds(v: &Value) -> String {
    let millis = v.as_f64().map(|s| (s * 1000.0) as u64).unwrap_or(0);
    powertools::clock::rfc3339(millis)
}

/// The export of a `DescribeExecution` answer, `None` when the execution is another tenant's.
fn export_of(described: &Value, tenant: &str, export_id: &str) -> Result<Option<Export>, Problem> {
    let input: ExportWorkflowInput = serde_json::from_str(described["input"].as_str().unwrap_or(""))
        .map_err(|e| internal(format!("export {export_id}: execution input: {e}")))?;
    if input.tenant_id != tenant {
        return Ok(None);
    }
    let status = described["status"].as_str().unwrap_or("");
    let status = ExportStatus::from_execution(status)
        .ok_or_else(|| internal(format!("export {export_id}: unknown execution status {status:?}")))?;
    // The workflow's output: its input plus the exporter's result at `$.export.Payload` (see the constructs'
    // `platform::workflow`).
    let download_url = described["output"]
        .as_str()
        .and_then(|o| serde_json::from_str::<Value>(o).ok())
        .and_then(|o| o["export"]["Payload"]["url"].as_str().map(String::from));
    Ok(Some(Export {
        export_id: export_id.into(),
        tenant_id: tenant.into(),
        status,
        started_at: rfc3339_of_epoch_seconds(&described["startDate"]),
        download_url,
    }))
}

async fn describe(deps: &Deps, export_id: &str) -> Result<Option<Value>, Problem> {
    let arn = execution_arn(&deps.aws.export_workflow_arn, export_id)?;
    let http = deps.aws.http().await?;
    match deps.aws.signer()?.states(http, "DescribeExecution", &json!({ "executionArn": arn })).await {
        Ok(v) => Ok(Some(v)),
        Err(SignedError::Service { code, .. }) if code == "ExecutionDoesNotExist" => Ok(None),
        Err(e) => Err(states_problem(e)),
    }
}

/// `POST /tenants/{tenant_id}/exports`: 202 with the export (`running`) and its `Location`. A replay while the
/// export runs gets the same answer (Step Functions answers the start of a running execution with the execution
/// itself); a replay of a finished export answers its current state with `Idempotency-Replayed: true`.
pub async fn create(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    // The body and the key are checked before the rate counter is touched: a malformed request writes nothing.
    let g = gate(&deps, &req, true).await?;
    let (_, _) = req.json::<CreateExportRequest>()?;
    let key = idempotency_key(&req, &g.tenant)?;
    let rate = deps.limiter.check(g.tenant.tenant(), req.operation, g.limit).await.map_err(|e| e.to_problem())?;
    if let Some(p) = rate.to_problem() {
        return Err(p);
    }
    let tenant = g.tenant.tenant().as_str();
    let id = export_id(tenant, key.key());
    let input = ExportWorkflowInput { tenant_id: tenant.into(), export_id: id.clone() };
    let start = json!({
        "stateMachineArn": deps.aws.export_workflow_arn,
        "name": id,
        "input": serde_json::to_string(&input).map_err(internal)?,
    });
    let http = deps.aws.http().await?;
    let location = format!("/tenants/{tenant}/exports/{id}");
    let (export, replayed) = match deps.aws.signer()?.states(http, "StartExecution", &start).await {
        Ok(started) => {
            let export = Export {
                export_id: id.clone(),
                tenant_id: tenant.into(),
                status: ExportStatus::Running,
                started_at: rfc3339_of_epoch_seconds(&started["startDate"]),
                download_url: None,
            };
            (export, false)
        }
        Err(SignedError::Service { code, .. }) if code == "ExecutionAlreadyExists" => {
            let described = describe(&deps, &id).await?.ok_or_else(|| internal("export vanished"))?;
            (export_of(&described, tenant, &id)?.ok_or_else(|| internal("export of another tenant"))?, true)
        }
        Err(e) => return Err(states_problem(e)),
    };
    let mut r = Response::json(202, &export).with_header("Location", location);
    if replayed {
        r = r.with_header(platform_types::routes::IDEMPOTENCY_REPLAYED_HEADER, "true");
    }
    Ok(with_rate_headers(r, Some(&rate)))
}

/// `GET /tenants/{tenant_id}/exports/{export_id}`: the export's status and, once `succeeded`, its download URL.
pub async fn get(deps: Arc<Deps>, req: Request) -> Result<Response, Problem> {
    let g = gate(&deps, &req, false).await?;
    let id: String = req.path_param("export_id")?;
    let not_found = || Problem::new(404).with_detail(format!("no export {id:?}"));
    let well_formed = id.len() == EXPORT_ID_LEN && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !well_formed {
        return Err(not_found());
    }
    let described = describe(&deps, &id).await?.ok_or_else(not_found)?;
    let export = export_of(&described, g.tenant.tenant().as_str(), &id)?.ok_or_else(not_found)?;
    let r = Response::json(200, &export).with_header("Cache-Control", "private, no-store");
    Ok(with_rate_headers(r, g.rate.as_ref()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn export_ids_bind_tenant_and_key() {
        let a = export_id("acme", "k1");
        assert_eq!(a.len(), EXPORT_ID_LEN);
        assert_eq!(a, export_id("acme", "k1"));
        assert_ne!(a, export_id("acme", "k2"));
        assert_ne!(a, export_id("other", "k1"));
    }

    #[test]
    fn execution_arns() {
        let sm = "arn:aws:states:eu-west-1:123456789012:stateMachine:platform-dev-export";
        assert_eq!(
            execution_arn(sm, "abc").unwrap(),
            "arn:aws:states:eu-west-1:123456789012:execution:platform-dev-export:abc"
        );
        assert_eq!(execution_arn("nope", "abc").unwrap_err().status, 500);
    }

    #[test]
    fn exports_of_described_executions() {
        let input = json!({"tenant_id": "acme", "export_id": "e"}).to_string();
        let output = json!({"tenant_id": "acme", "export": {"Payload": {"url": "https://x/y"}}}).to_string();
        let d = json!({"status": "SUCCEEDED", "startDate": 1_700_000_000.5, "input": input, "output": output});
        let e = export_of(&d, "acme", "e").unwrap().unwrap();
        assert_eq!((e.status, e.download_url.as_deref()), (ExportStatus::Succeeded, Some("https://x/y")));
        assert_eq!(e.started_at, "2023-11-14T22:13:20Z");
        assert_eq!(export_of(&d, "other", "e").unwrap(), None, "another tenant's execution is not found");
        let running = json!({"status": "RUNNING", "startDate": 1_700_000_000, "input": input});
        let e = export_of(&running, "acme", "e").unwrap().unwrap();
        assert_eq!((e.status, e.download_url), (ExportStatus::Running, None));
    }
}
