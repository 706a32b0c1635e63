//! Safe rollouts of the request path: with `features.lambda_deployment` set, each shared request-path function's
//! `live` alias moves to a new version through a CodeDeploy deployment (the stage's configuration: canary, linear
//! or all at once), rolled back when it fails or when the function's error or latency alarm goes off.

use std::collections::BTreeMap;

use platform_types::routes::Handler;
use synth::Scope;

use super::context::Context;
use super::error::PlatformError;
use super::functions::Functions;
use super::observability::Alarms;
use super::regional::Resources;
use crate::cloudwatch::Alarm;
use crate::codedeploy::{LambdaApplication, LambdaDeploymentGroup, LambdaDeploymentGroupProps};

/// The functions whose versions are rolled out through CodeDeploy: the request path's shared functions (the ones
/// with the warm pool; a route's dedicated function and search are invoked unqualified).
pub(super) const ROLLED_OUT: [Handler; 3] = [Handler::ApiRead, Handler::ApiWrite, Handler::Authorizer];

/// p99 duration (ms) above which a new version is rolled back: the default p99 latency objective of a stage's SLO
/// (`SloConfig::latency_p99_ms`, 1 s) for a whole request. A function that alone takes the whole request's budget
/// is a regression.
pub(super) const LATENCY_P99_MS: f64 = 1000.0;
/// Minutes the latency alarm evaluates (it alarms on 2 of them): within the shortest canary interval (5 minutes),
/// and not on one slow minute of cold starts.
const LATENCY_PERIODS: u32 = 3;

/// The CodeDeploy application and one deployment group per rolled-out function, into `scope` (the Regional stack,
/// beside the functions' aliases and alarms). Nothing without `features.lambda_deployment`.
pub(super) fn build(
    scope: &mut Scope,
    ctx: &Context,
    resources: &Resources,
    functions: &Functions,
    error_alarms: &BTreeMap<Handler, Alarm>,
) -> Result<(), PlatformError> {
    let Some(config) = ctx.config.features.lambda_deployment else { return Ok(()) };
    let application = LambdaApplication::new(scope, "Deployments")?;
    let alarms = Alarms::to(&resources.alarm_topic);
    for handler in ROLLED_OUT {
        let function = functions.get(handler)?;
        let name = handler.name();
        let errors = error_alarms
            .get(&handler)
            .ok_or_else(|| PlatformError::Wiring(format!("function {name} has no error alarm")))?;
        let latency = alarms.add(
            scope,
            &format!("{name}LatencyP99"),
            &function.metric_duration_p99(),
            LATENCY_P99_MS,
            LATENCY_PERIODS,
            "p99 duration above 1 s in 2 of 3 minutes (rolls a deployment back)",
        )?;
        LambdaDeploymentGroup::new(
            scope,
            &format!("{name}Deployment"),
            &application,
            function,
            LambdaDeploymentGroupProps { config, alarms: vec![errors.clone(), latency] },
        )?;
    }
    Ok(())
}
