//! The platform, stack by stack: which steps build into which stack, in deployment order.
//!
//! Each step is a function of its own file taking the scope of the stack it builds into, the [`Context`] and what
//! earlier steps made, and returning a small struct of what it made. So a stage without an edge passes no
//! [`Edge`] to the regional steps, and every other serving region runs the same regional steps into stacks of its
//! own, over the entity table's replica there.

use synth::{App, Assembly};

use super::check::check;
use super::config::{PlatformAssets, PlatformConfig, RouteConfig};
use super::context::Context;
use super::data::{Entities, Replicated};
use super::edge::{self, Edge};
use super::error::PlatformError;
use super::regional::{self, Regional};
use super::replica::{self, ReplicaKey};
use super::routes::{self, ROUTES_PER_STACK};
use super::{api, observability};
use crate::secretsmanager::SecretReplica;

/// Builds and synthesizes the platform with the whole rule pack.
pub fn synth(config: &PlatformConfig, assets: &PlatformAssets) -> Result<Assembly, PlatformError> {
    let app = build(config, assets)?;
    Ok(app.synth_with(&crate::rules::all())?)
}

/// Builds the platform's app (not synthesized), after checking the configuration ([`check()`]).
pub fn build(config: &PlatformConfig, assets: &PlatformAssets) -> Result<App, PlatformError> {
    check(config)?;
    let ctx = Context::new(config, assets);
    let mut app = App::new(config.name.as_str());
    for asset in assets.all() {
        app.add_asset(asset.clone());
    }
    let edge = if config.features.cdn { Some(edge_stack(&mut app, &ctx)?) } else { None };
    let regions = config.serving_regions();
    let (primary, others) = regions.split_first().ok_or_else(|| PlatformError::Wiring("no serving region".into()))?;
    let replicas = replica_stacks(&mut app, &ctx, others)?;
    // The signing secrets replicate to the serving regions only: a data-only replica region runs no function.
    let secrets = replicas
        .iter()
        .filter(|r| others.contains(&r.replica.region.as_str()))
        .map(|r| SecretReplica { region: r.replica.region.clone(), encryption_key: r.key.clone() })
        .collect();
    let global = Entities::Global { tables: replicas.iter().map(|r| r.replica.clone()).collect(), secrets };
    let primary_data = region_stacks(&mut app, &ctx, primary, edge.as_ref(), global)?;
    for region in others {
        let key = replicas
            .iter()
            .find(|r| r.replica.region == *region)
            .map(|r| r.key.clone())
            .ok_or_else(|| PlatformError::Wiring(format!("serving region {region} has no replica key stack")))?;
        region_stacks(&mut app, &ctx, region, None, Entities::ReplicaOf(Box::new(primary_data.clone()), key))?;
    }
    Ok(app)
}

/// `Edge`, in us-east-1: the CloudFront web ACL, certificate and billing alarm.
fn edge_stack(app: &mut App, ctx: &Context) -> Result<Edge, PlatformError> {
    let mut stack = ctx.stack("Edge", "edge", edge::REGION, "CloudFront web ACL, certificate, billing alarm");
    let edge = edge::build(&mut stack.root(), ctx)?;
    app.add_stack(stack);
    Ok(edge)
}

/// `Replica<Region>`, one per other serving region (`others`) and then per data-only replica region: the key of the
/// entity table's replica there.
fn replica_stacks(app: &mut App, ctx: &Context, others: &[&str]) -> Result<Vec<ReplicaKey>, PlatformError> {
    let data_only = ctx.config.features.replica_regions.iter().map(String::as_str);
    let mut replicas = Vec::new();
    for region in others.iter().copied().chain(data_only) {
        let name = format!("data-{region}");
        let mut stack = ctx.stack(&replica::stack_id(region), &name, region, "key of the entity table's replica");
        replicas.push(replica::build(&mut stack.root(), ctx, region)?);
        app.add_stack(stack);
    }
    Ok(replicas)
}

/// The stacks of serving region `region`: `Regional`, the route stacks and `Api`, each id suffixed with the
/// region (`RegionalUsWest2`) but in the primary region, whose ids are the one-region ids. Returns what the region
/// replicates to the others (the primary region's global table and signing secrets).
fn region_stacks(
    app: &mut App,
    ctx: &Context,
    region: &str,
    edge: Option<&Edge>,
    entities: Entities,
) -> Result<Replicated, PlatformError> {
    let names = StackNames::of(ctx, region);
    let mut regional = regional_stack(app, ctx, &names, edge, entities)?;
    for (i, routes) in ctx.config.routes.chunks(ROUTES_PER_STACK).enumerate() {
        route_stack(app, ctx, &names, i + 1, routes, &mut regional)?;
    }
    api_stack(app, ctx, &names, &regional)?;
    let data = regional.resources.data;
    Ok(Replicated { entities: data.entities, jwt_secret: data.jwt_secret, webhook_secret: data.webhook_secret })
}

/// How a serving region's stacks are named: ids `<Kind><Region>` and names `<kind>-<region>`, but in the primary
/// region, whose ids and names have no suffix (they are the one-region stacks').
struct StackNames {
    region: String,
    id_suffix: String,
    name_suffix: String,
}

impl StackNames {
    fn of(ctx: &Context, region: &str) -> StackNames {
        if region == ctx.config.region {
            StackNames { region: region.to_owned(), id_suffix: String::new(), name_suffix: String::new() }
        } else {
            StackNames {
                region: region.to_owned(),
                id_suffix: replica::capitalize_region(region),
                name_suffix: format!("-{region}"),
            }
        }
    }

    fn id(&self, kind: &str) -> String {
        format!("{kind}{}", self.id_suffix)
    }

    fn name(&self, kind: &str) -> String {
        format!("{kind}{}", self.name_suffix)
    }
}

/// `Regional`, in the region: everything stateful, the functions, the API's root, the distribution, the alarms.
fn regional_stack(
    app: &mut App,
    ctx: &Context,
    names: &StackNames,
    edge: Option<&Edge>,
    entities: Entities,
) -> Result<Regional, PlatformError> {
    let description = "data, functions, API, distribution";
    let mut stack = ctx.stack(&names.id("Regional"), &names.name("regional"), &names.region, description);
    let regional = regional::build(&mut stack.root(), ctx, edge, entities)?;
    app.add_stack(stack);
    Ok(regional)
}

/// `Routes<n>`: the `n`th slice of [`ROUTES_PER_STACK`] routes, so route *i* always lands in stack
/// *i* / [`ROUTES_PER_STACK`] + 1 and adding routes never moves a method.
fn route_stack(
    app: &mut App,
    ctx: &Context,
    names: &StackNames,
    n: usize,
    routes: &[RouteConfig],
    regional: &mut Regional,
) -> Result<(), PlatformError> {
    let (id, name) = (names.id(&format!("Routes{n}")), names.name(&format!("routes-{n}")));
    let mut stack = ctx.stack(&id, &name, &names.region, "API routes");
    routes::build(&mut stack.root(), ctx, routes, regional)?;
    app.add_stack(stack);
    Ok(())
}

/// `Api`, after every route stack: the deployment and stage with its usage plans, the API alarms, the dashboard,
/// and the mapping of the region's own name.
fn api_stack(app: &mut App, ctx: &Context, names: &StackNames, regional: &Regional) -> Result<(), PlatformError> {
    let description = "API deployment, stage and alarms";
    let mut stack = ctx.stack(&names.id("Api"), &names.name("api"), &names.region, description);
    let mut scope = stack.root();
    let stage = api::stage(&mut scope, ctx, &regional.api, &regional.resources)?;
    if let Some(name) = &regional.region_domain {
        name.map(&mut scope, "Mapping", &regional.api.rest_api, &stage, None);
    }
    observability::api(&mut scope, ctx, &stage, regional)?;
    app.add_stack(stack);
    Ok(())
}
