//! The platform, stack by stack: which steps build into which stack, in deployment order.
//!
//! Each step is a function of its own file taking the scope of the stack it builds into, the [`Context`] and what
//! earlier steps made, and returning a small struct of what it made. So a stage without an edge passes no
//! [`Edge`] to the regional steps, and a second region runs the same regional steps into a stack of its own.

use synth::{App, Assembly};

use super::check::check;
use super::config::{PlatformAssets, PlatformConfig, RouteConfig};
use super::context::Context;
use super::edge::{self, Edge};
use super::error::PlatformError;
use super::regional::{self, Regional};
use super::routes::{self, ROUTES_PER_STACK};
use super::{api, observability, replica};
use crate::dynamodb::Replica;

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
    let replicas = replica_stacks(&mut app, &ctx)?;
    let mut regional = regional_stack(&mut app, &ctx, &config.region, edge.as_ref(), replicas)?;
    for (i, routes) in config.routes.chunks(ROUTES_PER_STACK).enumerate() {
        route_stack(&mut app, &ctx, i + 1, routes, &mut regional)?;
    }
    api_stack(&mut app, &ctx, &regional)?;
    Ok(app)
}

/// `Edge`, in us-east-1: the CloudFront web ACL, certificate and billing alarm.
fn edge_stack(app: &mut App, ctx: &Context) -> Result<Edge, PlatformError> {
    let mut stack = ctx.stack("Edge", "edge", edge::REGION, "CloudFront web ACL, certificate, billing alarm");
    let edge = edge::build(&mut stack.root(), ctx)?;
    app.add_stack(stack);
    Ok(edge)
}

/// `Replica<Region>`, one per replica region: the key of the entity table's replica there.
fn replica_stacks(app: &mut App, ctx: &Context) -> Result<Vec<Replica>, PlatformError> {
    let mut replicas = Vec::new();
    for region in &ctx.config.features.replica_regions {
        let name = format!("data-{region}");
        let mut stack = ctx.stack(&replica::stack_id(region), &name, region, "key of the entity table's replica");
        replicas.push(replica::build(&mut stack.root(), ctx, region)?);
        app.add_stack(stack);
    }
    Ok(replicas)
}

/// `Regional`, in `region`: everything stateful, the functions, the API's root, the distribution, the alarms.
fn regional_stack(
    app: &mut App,
    ctx: &Context,
    region: &str,
    edge: Option<&Edge>,
    replicas: Vec<Replica>,
) -> Result<Regional, PlatformError> {
    let mut stack = ctx.stack("Regional", "regional", region, "data, functions, API, distribution");
    let regional = regional::build(&mut stack.root(), ctx, edge, replicas)?;
    app.add_stack(stack);
    Ok(regional)
}

/// `Routes<n>`: the `n`th slice of [`ROUTES_PER_STACK`] routes, so route *i* always lands in stack
/// *i* / [`ROUTES_PER_STACK`] + 1 and adding routes never moves a method.
fn route_stack(
    app: &mut App,
    ctx: &Context,
    n: usize,
    routes: &[RouteConfig],
    regional: &mut Regional,
) -> Result<(), PlatformError> {
    let region = ctx.config.region.as_str();
    let mut stack = ctx.stack(&format!("Routes{n}"), &format!("routes-{n}"), region, "API routes");
    routes::build(&mut stack.root(), ctx, routes, regional)?;
    app.add_stack(stack);
    Ok(())
}

/// `Api`, after every route stack: the deployment and stage with its usage plans, the API alarms, the dashboard.
fn api_stack(app: &mut App, ctx: &Context, regional: &Regional) -> Result<(), PlatformError> {
    let region = ctx.config.region.as_str();
    let mut stack = ctx.stack("Api", "api", region, "API deployment, stage and alarms");
    let mut scope = stack.root();
    let stage = api::stage(&mut scope, ctx, &regional.api, &regional.resources)?;
    observability::api(&mut scope, ctx, &stage, regional)?;
    app.add_stack(stack);
    Ok(())
}
