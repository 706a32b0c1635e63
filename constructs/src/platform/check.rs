//! What the constructs cannot see: the configuration's own consistency, every problem at once.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use platform_types::routes::Handler;

use super::config::PlatformConfig;
use super::error::{ConfigProblem, PlatformError};

/// Checks `config` before anything is built; the error holds every problem found, in field order.
pub fn check(config: &PlatformConfig) -> Result<(), PlatformError> {
    let mut problems = Vec::new();
    stage(config, &mut problems);
    tiers(config, &mut problems);
    routes(config, &mut problems);
    edge(config, &mut problems);
    slo(config, &mut problems);
    if problems.is_empty() { Ok(()) } else { Err(PlatformError::Config(problems)) }
}

fn stage(config: &PlatformConfig, problems: &mut Vec<ConfigProblem>) {
    let s = &config.stage;
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        problems.push(ConfigProblem::new(
            "stage",
            s,
            "lowercase letters and digits, at least one (it names stacks and the API stage)",
        ));
    }
}

fn tiers(config: &PlatformConfig, problems: &mut Vec<ConfigProblem>) {
    if config.tiers.is_empty() {
        problems.push(ConfigProblem::new(
            "tiers",
            &config.tiers,
            "at least one tenant tier (every tenant's usage plan and rate limit come from its tier)",
        ));
    }
    let mut first_with: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, tier) in config.tiers.iter().enumerate() {
        let field = format!("tiers[{i}].name");
        if tier.name.is_empty() || !tier.name.chars().all(|c| c.is_ascii_lowercase()) {
            problems.push(ConfigProblem::new(
                field,
                &tier.name,
                "lowercase letters, at least one (the tier names the authorizer puts in the request context)",
            ));
        } else {
            match first_with.entry(tier.name.as_str()) {
                Entry::Occupied(first) => problems.push(ConfigProblem::new(
                    field,
                    &tier.name,
                    format!("a name of its own (tiers[{}] has this one)", first.get()),
                )),
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
        }
    }
}

fn routes(config: &PlatformConfig, problems: &mut Vec<ConfigProblem>) {
    if config.routes.is_empty() {
        problems.push(ConfigProblem::new(
            "routes",
            &config.routes,
            "at least one route (an API without methods cannot be deployed)",
        ));
    }
    for (i, route) in config.routes.iter().enumerate() {
        if !matches!(route.handler, Handler::ApiRead | Handler::ApiWrite | Handler::EventSearch) {
            problems.push(ConfigProblem::new(
                format!("routes[{i}].handler"),
                route.handler,
                format!(
                    "ApiRead, ApiWrite or EventSearch, the handlers that serve routes (routes[{i}] is {} {})",
                    route.method, route.path
                ),
            ));
        }
    }
}

/// What lives in the `Edge` stack needs the CDN.
fn edge(config: &PlatformConfig, problems: &mut Vec<ConfigProblem>) {
    if config.features.cdn {
        return;
    }
    if config.features.bot_control {
        problems.push(ConfigProblem::new(
            "features.bot_control",
            true,
            "false when features.cdn is false (Bot Control runs in the CloudFront web ACL)",
        ));
    }
    if let Some(domain) = &config.features.domain {
        problems.push(ConfigProblem::new(
            "features.domain",
            &domain.edge_domain,
            "no domain when features.cdn is false (the edge domain is CloudFront's; serve the regional API's own name behind a CDN)",
        ));
    }
}

/// A route objective names a route of the table: a typo would otherwise leave the route on the stage's objective,
/// silently.
fn slo(config: &PlatformConfig, problems: &mut Vec<ConfigProblem>) {
    let routes: Vec<String> = config.routes.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    for key in config.slo.routes.keys() {
        if !routes.contains(key) {
            let hint = synth::suggest(key, routes.iter().map(String::as_str));
            problems.push(ConfigProblem::new(
                format!("slo.routes[{key:?}]"),
                key,
                format!("a route as METHOD /path, one of the route table's{hint}"),
            ));
        }
    }
}
