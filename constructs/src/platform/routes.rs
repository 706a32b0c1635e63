//! The route stacks: each route's resources and method with its invoke permission, and a function of its own
//! when the route asks for one.

use synth::Scope;

use super::config::RouteConfig;
use super::context::{Context, capitalize};
use super::error::PlatformError;
use super::functions::{Serves, function};
use super::regional::Regional;
use crate::apigateway::{Authorization, MethodProps};

/// Routes per route stack. The most resources a route adds is 10 (two path segments, the method, its permission,
/// a function of its own with role and log group, two alarms, its SLO alarm): 50 routes stay under the 500 resources
/// CloudFormation allows per stack (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html>)
/// with room to spare.
pub const ROUTES_PER_STACK: usize = 50;

/// `routes` (at most [`ROUTES_PER_STACK`]) into `scope`, a route stack, as methods of the API of `regional`.
pub(super) fn build(
    scope: &mut Scope,
    ctx: &Context,
    routes: &[RouteConfig],
    regional: &mut Regional,
) -> Result<(), PlatformError> {
    for route in routes {
        add(scope, ctx, route, regional)?;
    }
    Ok(())
}

/// One route: a function of its own when asked, the resources, the method and its permission, and its SLO alarm
/// (in the route's stack: the alarms grow with the routes, as the stacks do).
fn add(scope: &mut Scope, ctx: &Context, route: &RouteConfig, regional: &mut Regional) -> Result<(), PlatformError> {
    let own_function;
    let target = if route.dedicated_function {
        let id = format!("Fn{}", capitalize(&route.operation));
        own_function = function(scope, ctx, &regional.resources, &id, route.handler, Serves::OneRoute)?;
        &own_function
    } else {
        regional.functions.get(route.handler)?
    };
    let api = &mut regional.api;
    let request_model = match &route.model {
        Some((name, _)) => Some(api.models.get(name).cloned().ok_or_else(|| {
            PlatformError::Wiring(format!("request model {name} of {} {} was not added", route.method, route.path))
        })?),
        None => None,
    };
    api.rest_api.add_method(
        scope,
        &route.method,
        &route.path,
        target,
        Authorization::Custom(api.authorizer.clone()),
        MethodProps {
            request_model,
            required_headers: route.required_headers(),
            api_key_required: ctx.config.features.enforce_usage_plans,
            operation_name: Some(route.operation.clone()),
            throttle: None,
        },
    )?;
    if ctx.config.slo.per_route_alarms {
        let id = format!("{}Slo", capitalize(&route.operation));
        super::observability::route_alarm(scope, ctx, &id, &route.method, &route.path)?;
    }
    Ok(())
}
