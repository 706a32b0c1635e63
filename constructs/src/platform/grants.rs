//! What each handler's function may do: exactly the permissions `platform_types::routes::permissions` lists, on
//! the platform's resources.

use platform_types::routes::{Handler, ResourceRef, permissions};
use platform_types::table;
use synth::{Scope, Val};

use super::context::Context;
use super::error::PlatformError;
use super::regional::Resources;
use crate::iam::PolicyStatement;
use crate::kms::{KeyUse, ViaService};
use crate::lambda::Function;

/// Grants `function` of `handler` exactly what `platform_types::routes::permissions(handler)` lists; the
/// authorizer also reads the usage plan keys when usage plans are enforced.
pub(super) fn grant(
    scope: &mut Scope,
    ctx: &Context,
    handler: Handler,
    function: &Function,
    resources: &Resources,
) -> Result<(), PlatformError> {
    let (data, network) = (&resources.data, &resources.network);
    for permission in permissions(handler) {
        let missing = || {
            PlatformError::Wiring(format!(
                "{handler:?} needs {:?}, which this configuration does not create",
                permission.resource
            ))
        };
        let actions = permission.actions;
        match permission.resource {
            ResourceRef::EntityTable => data.entities.grant(function, scope, actions),
            ResourceRef::EntityTableGsi1 => data.entities.grant_index(function, scope, table::GSI1, actions),
            ResourceRef::EntityTableStream => data.entities.grant_stream_read(function, scope),
            ResourceRef::ControlTable => data.control.grant(function, scope, actions),
            ResourceRef::EventBus => data.bus.grant_put_events(function, scope),
            ResourceRef::ExportBucketObjects => data.exports.grant(function, scope, "exports/", actions),
            ResourceRef::WebhookQueue => data.webhook_deliveries.grant(function, scope, actions),
            ResourceRef::IndexerQueue => {
                data.audit_indexing.as_ref().ok_or_else(missing)?.grant(function, scope, actions)
            }
            ResourceRef::JwtSecret => data.jwt_secret.grant(function, scope, actions),
            ResourceRef::WebhookSecret => data.webhook_secret.grant(function, scope, actions),
            ResourceRef::InvoiceObjects => data.exports.grant(function, scope, "invoices/", actions),
            ResourceRef::PdfJobQueue => data.pdf_jobs.grant(function, scope, actions),
            ResourceRef::UploadObjects => {
                data.uploads.bucket.grant(function, scope, platform_types::api::UPLOADS_PREFIX, actions)
            }
            ResourceRef::QuarantineObjects => {
                data.uploads.bucket.grant(function, scope, platform_types::api::QUARANTINE_PREFIX, actions)
            }
            ResourceRef::UploadQueue => data.uploads.scans.grant(function, scope, actions),
            ResourceRef::ExportWorkflow | ResourceRef::ExportWorkflowExecutions => {
                let arn = match permission.resource {
                    ResourceRef::ExportWorkflow => super::workflow::export_workflow_arn(ctx),
                    _ => super::workflow::export_executions_arn(ctx),
                };
                function.role().add_to_policy(scope, PolicyStatement::allow(actions.iter().copied(), [arn]));
                // The workflow's execution data is encrypted with the data key: starting an execution encrypts
                // its input, describing one decrypts its input and output, both through Step Functions
                // (https://docs.aws.amazon.com/step-functions/latest/dg/encryption-at-rest.html).
                let usage = if actions.contains(&"states:StartExecution") { KeyUse::Write } else { KeyUse::Read };
                data.key.grant_use(function, scope, ViaService::StepFunctions, usage);
                continue;
            }
            ResourceRef::OpenSearchDomain => {
                let domain = network.search.as_ref().ok_or_else(missing)?;
                let functions_vpc = network.vpc.as_ref().ok_or_else(missing)?;
                domain.grant_http(function, scope, actions, &functions_vpc.security_group)
            }
            ResourceRef::GatewayApiKeys | ResourceRef::GatewayUsagePlans => {
                // Only where the function is told the plans (`USAGE_PLAN_NAMES`): elsewhere it makes no such call.
                if super::environment::tenant_usage_keys(ctx.config) {
                    let paths: &[&str] = match permission.resource {
                        ResourceRef::GatewayApiKeys => &["/apikeys", "/apikeys/*"],
                        // The plan ids exist only once the Api stack (deployed after this one) is: any plan's keys,
                        // and the function adds keys only to the plans `USAGE_PLAN_NAMES` names.
                        _ => &["/usageplans", "/usageplans/*/keys"],
                    };
                    function
                        .role()
                        .add_to_policy(scope, PolicyStatement::allow(actions.iter().copied(), gateway(paths)));
                }
                continue;
            }
            // Without a search domain the search function is deployed with no OpenSearch grant and answers 501.
            ResourceRef::OpenSearchIndexSearch => match (&network.search, &network.vpc) {
                (Some(domain), Some(functions_vpc)) => domain.grant_http_on(
                    function,
                    scope,
                    actions,
                    &format!("{}/_search", platform_types::routes::AUDIT_INDEX),
                    &functions_vpc.security_group,
                ),
                _ => continue,
            },
        };
    }
    if handler == Handler::Authorizer && ctx.config.features.enforce_usage_plans {
        let keys: Vec<Val<String>> = resources
            .api_key_ids
            .values()
            .map(|id| {
                Val::sub_with("arn:${AWS::Partition}:apigateway:${AWS::Region}::/apikeys/${Key}", [("Key", id.clone())])
            })
            .collect();
        function.role().add_to_policy(scope, PolicyStatement::allow(["apigateway:GET"], keys));
    }
    Ok(())
}

/// The ARNs of API Gateway management paths of the region (`arn:<partition>:apigateway:<region>::<path>`).
fn gateway(paths: &[&str]) -> Vec<Val<String>> {
    paths.iter().map(|p| Val::sub(format!("arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::{p}"))).collect()
}
