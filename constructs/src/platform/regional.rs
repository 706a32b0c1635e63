//! The Regional stack of a region, step by step: data, network, alarm topic and usage plan keys, then the
//! functions, the export workflow, event routing, the API's root, the distribution, the alarms, and the request
//! path's deployment groups.

use platform_types::routes::Handler;
use synth::Scope;

use super::api::{self, ApiKeyIds, ApiRoot};
use super::context::Context;
use super::data::{self, Data, Entities};
use super::edge::Edge;
use super::error::PlatformError;
use super::functions::{self, Functions};
use super::network::{self, Network};
use super::observability::{self, QueueOutput};
use super::{distribution, events, failover, rollout, workflow};
use crate::apigateway::DomainName;
use crate::sns::Topic;

/// What the region's first steps made: what its functions are wired to and its alarms watch.
pub(super) struct Resources {
    pub data: Data,
    pub network: Network,
    /// The topic the region's alarms notify.
    pub alarm_topic: Topic,
    pub api_key_ids: ApiKeyIds,
}

/// What the Regional stack made that the route and API stacks use.
pub(super) struct Regional {
    pub resources: Resources,
    pub functions: Functions,
    pub api: ApiRoot,
    /// The queues the dashboard graphs, by the outputs that carry their names.
    pub queue_outputs: Vec<QueueOutput>,
    /// The region's own name (`<region>.<api_domain>`), when there is a custom domain: the Api stack maps it.
    pub region_domain: Option<DomainName>,
}

/// The Regional stack's resources, into `scope` (the region's Regional stack), over `entities` (the global table in
/// the primary region, its replica in another); the distribution is built when there is an `edge` to protect it
/// (the primary region's).
pub(super) fn build(
    scope: &mut Scope,
    ctx: &Context,
    edge: Option<&Edge>,
    entities: Entities,
) -> Result<Regional, PlatformError> {
    let data = data::build(scope, ctx, entities)?;
    let network = network::build(scope, ctx, &data.key)?;
    let alarm_topic = observability::alarm_topic(scope, ctx, &data.key)?;
    let api_key_ids = api::usage_plan_keys(scope, ctx);
    let resources = Resources { data, network, alarm_topic, api_key_ids };

    let functions = functions::build(scope, ctx, &resources)?;
    let export_workflow = workflow::export(scope, ctx, functions.get(Handler::Exporter)?, &resources.data)?;
    let events = events::build(scope, ctx, &resources.data)?;
    let api = api::root(scope, ctx, functions.get(Handler::Authorizer)?, &resources.data.key)?;
    let region_domain = match (&ctx.config.features.domain, &api.domain) {
        (Some(domain), Some(name)) => Some(failover::build(scope, ctx, domain, name)?),
        _ => None,
    };
    if let Some(edge) = edge {
        distribution::build(scope, ctx, edge, &api.rest_api, &resources.data.logs)?;
    }
    let queue_outputs = observability::queue_outputs(scope, &resources.data.webhook_deliveries, &events);
    let error_alarms = observability::regional_alarms(scope, &resources, &functions, &events, &export_workflow)?;
    rollout::build(scope, ctx, &resources, &functions, &error_alarms)?;
    observability::cost_alarms(scope, ctx, &resources, &functions)?;
    Ok(Regional { resources, functions, api, queue_outputs, region_domain })
}
