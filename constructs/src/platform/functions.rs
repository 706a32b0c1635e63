//! The functions: one per platform handler (its code, memory, timeout, concurrency, placement, environment and
//! grants), their event sources, and the rotation schedules of the signing secrets.

use std::collections::BTreeMap;

use platform_types::routes::{EventSource, Handler, timeout_seconds};
use synth::{Scope, Val};

use super::context::Context;
use super::data::Data;
use super::environment::environment;
use super::error::PlatformError;
use super::grants::grant;
use super::observability::Alarms;
use super::regional::Resources;
use crate::lambda::{Function, FunctionProps, SqsSourceProps, StreamSourceProps, VpcPlacement};

/// What the functions step made: the function of each handler the configuration deploys.
pub(super) struct Functions {
    by_handler: BTreeMap<Handler, Function>,
}

impl Functions {
    /// The function of `handler`, or a wiring error when the configuration deploys none.
    pub fn get(&self, handler: Handler) -> Result<&Function, PlatformError> {
        self.by_handler
            .get(&handler)
            .ok_or_else(|| PlatformError::Wiring(format!("no function of handler {handler:?} is deployed")))
    }

    /// Every function, in handler order.
    pub fn iter(&self) -> impl Iterator<Item = (&Handler, &Function)> {
        self.by_handler.iter()
    }
}

/// Whom a function serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Serves {
    /// Every route of its handler, or its worker's events: the shared function.
    Shared,
    /// One route, with a function of its own (`RouteConfig::dedicated_function`).
    OneRoute,
}

/// The handlers' functions with their event sources, and the secrets' rotation, into `scope`.
pub(super) fn build(scope: &mut Scope, ctx: &Context, resources: &Resources) -> Result<Functions, PlatformError> {
    let mut by_handler = BTreeMap::new();
    for handler in Handler::ALL {
        if handler == Handler::Indexer && resources.network.search.is_none() {
            continue;
        }
        // Another serving region reads the replicas of the primary's secrets, which rotate with the primary and
        // cannot be written: that region has nothing to rotate.
        if handler == Handler::SecretRotator && resources.data.jwt_secret.is_replica() {
            continue;
        }
        by_handler.insert(handler, function(scope, ctx, resources, handler.name(), handler, Serves::Shared)?);
    }
    let functions = Functions { by_handler };
    event_sources(scope, &functions, &resources.data)?;
    if !resources.data.jwt_secret.is_replica() {
        secret_rotation(scope, &functions, &resources.data)?;
    }
    Ok(functions)
}

/// A function of `handler` at `<scope>/<id>`, with its environment, grants, placement and (serving one route) its
/// error alarm.
pub(super) fn function(
    scope: &mut Scope,
    ctx: &Context,
    resources: &Resources,
    id: &str,
    handler: Handler,
    serves: Serves,
) -> Result<Function, PlatformError> {
    let request_path =
        matches!(handler, Handler::ApiRead | Handler::ApiWrite | Handler::Authorizer | Handler::EventSearch);
    // Background workers get a slice of the account's concurrency, so a backlog cannot starve the API.
    let reserved = match handler {
        Handler::StreamProcessor => Some(20),
        Handler::WebhookWorker => Some(50),
        Handler::Exporter => Some(5),
        Handler::Indexer => Some(10),
        // Searches are the one request whose cost lands on a small shared domain: at most 10 at once; beyond
        // that the invocation is throttled and fails fast instead of queueing more work on the domain.
        Handler::EventSearch => Some(10),
        // Two secrets, one rotation step each at a time; Secrets Manager retries a throttled step.
        Handler::SecretRotator => Some(2),
        Handler::InvoiceRenderer => Some(10),
        // Scans are a ranged GET and at most a copy each: 10 at once keep up with uploads in bursts.
        Handler::UploadScanner => Some(10),
        _ => None,
    };
    let features = &ctx.config.features;
    // The shared functions of the request path get the warm pool and the alias; not search: a rare request, where a
    // cold start (under 6 ms to ready) costs less than a warm pool.
    let rolled_out = serves == Serves::Shared && super::rollout::ROLLED_OUT.contains(&handler);
    let function = Function::new(
        scope,
        id,
        ctx.assets.for_handler(handler),
        FunctionProps {
            // The request path gets more CPU (memory) for lower latency; workers are I/O bound.
            memory_mb: Some(if request_path { 512 } else { 256 }),
            timeout_seconds: Some(timeout_seconds(handler)),
            environment: environment(handler, ctx, resources),
            environment_key: Some(resources.data.key.clone()),
            log_key: Some(resources.data.key.clone()),
            reserved_concurrency: reserved,
            provisioned_concurrency: if rolled_out { features.provisioned_concurrency } else { None },
            // The alias CodeDeploy shifts (`rollout`).
            alias: rolled_out && features.lambda_deployment.is_some(),
            // What the API canary's share invokes (`api::ALIAS_VARIABLE`); the authorizer is not behind the canary
            // (an authorizer's URI is the stage's, whatever the share), so it needs none.
            canary_alias: rolled_out && handler != Handler::Authorizer && features.canary_percent.is_some(),
            vpc: placement(handler, resources),
            description: Some(format!("{} ({})", handler.name(), handler.binary())),
            tags: BTreeMap::from([("cost-center".to_owned(), format!("{}-{}", ctx.config.name, handler.binary()))]),
            ..FunctionProps::default()
        },
    )?;
    grant(scope, ctx, handler, &function, resources)?;
    if serves == Serves::OneRoute {
        let alarms = Alarms::to(&resources.alarm_topic);
        alarms.on_any(scope, &format!("{id}Errors"), &function.metric_errors(), "invocations failed")?;
    }
    Ok(function)
}

/// The VPC placement of the handlers that reach the cache (the API and the authorizer read it, the stream
/// processor invalidates it) or the search domain (the indexer writes it, the search function reads it).
fn placement(handler: Handler, resources: &Resources) -> Option<VpcPlacement> {
    let network = &resources.network;
    let in_vpc = match handler {
        Handler::ApiRead | Handler::ApiWrite | Handler::Authorizer | Handler::StreamProcessor => {
            network.cache.is_some()
        }
        Handler::Indexer | Handler::EventSearch => network.search.is_some(),
        _ => false,
    };
    let functions_vpc = network.vpc.as_ref().filter(|_| in_vpc)?;
    Some(VpcPlacement {
        subnet_ids: Val::list(functions_vpc.vpc.subnet_ids()),
        security_group_ids: Val::list([functions_vpc.security_group.id()]),
    })
}

/// The event sources of the workers, as `platform_types::routes::event_source` describes them.
fn event_sources(scope: &mut Scope, functions: &Functions, data: &Data) -> Result<(), PlatformError> {
    for (handler, function) in functions.iter() {
        match platform_types::routes::event_source(*handler) {
            EventSource::Sqs { batch_size, maximum_batching_window_seconds, report_batch_item_failures, .. } => {
                let queue = match handler {
                    Handler::WebhookWorker => &data.webhook_deliveries,
                    Handler::InvoiceRenderer => &data.pdf_jobs,
                    Handler::UploadScanner => &data.uploads.scans,
                    Handler::Indexer => data
                        .audit_indexing
                        .as_ref()
                        .ok_or_else(|| PlatformError::Wiring("the indexer is deployed without its queue".into()))?,
                    _ => continue,
                };
                let props = SqsSourceProps {
                    batch_size: Some(batch_size),
                    max_batching_window_seconds: Some(maximum_batching_window_seconds),
                    report_batch_item_failures: Some(report_batch_item_failures),
                    ..SqsSourceProps::default()
                };
                function.add_sqs_source(scope, "Source", queue, props)?;
            }
            EventSource::DynamoDbStream {
                batch_size,
                maximum_retry_attempts,
                bisect_batch_on_function_error,
                report_batch_item_failures,
            } => {
                let props = StreamSourceProps {
                    batch_size: Some(batch_size),
                    retry_attempts: Some(maximum_retry_attempts),
                    bisect_batch_on_function_error: Some(bisect_batch_on_function_error),
                    report_batch_item_failures: Some(report_batch_item_failures),
                    ..StreamSourceProps::default()
                };
                // Another serving region reads no stream and has no failures queue (`data::Data::stream_failures`).
                let Some(failures) = &data.stream_failures else { continue };
                function.add_dynamodb_stream_source(scope, "Changes", &data.entities, failures, props)?;
            }
            // The rotator's schedules are `secret_rotation`'s: they belong to the secrets.
            EventSource::ApiGateway
            | EventSource::Authorizer
            | EventSource::StepFunctionsTask
            | EventSource::SecretsManagerRotation => {}
        }
    }
    Ok(())
}

/// The signing secrets rotate every thirty days with the rotator's function, whose grants (the rotation actions
/// on the two secrets) come from `platform_types::routes::permissions` like every handler's.
fn secret_rotation(scope: &mut Scope, functions: &Functions, data: &Data) -> Result<(), PlatformError> {
    let rotator = functions.get(Handler::SecretRotator)?;
    for secret in [&data.jwt_secret, &data.webhook_secret] {
        // Thirty days: a leaked signing key is useful for a month at most.
        secret.add_rotation_schedule(scope, rotator, ROTATION_DAYS)?;
    }
    Ok(())
}

/// Days between rotations of the signing secrets.
pub(super) const ROTATION_DAYS: u32 = 30;
