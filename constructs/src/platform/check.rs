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
    regions(config, &mut problems);
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

/// The serving regions: the primary first, each once, none also a data-only replica; more than one needs the
/// custom domain (the latency records live in its zone) and the CDN (the origin group).
fn regions(config: &PlatformConfig, problems: &mut Vec<ConfigProblem>) {
    let regions = &config.regions;
    if let Some(first) = regions.first()
        && first != &config.region
    {
        problems.push(ConfigProblem::new(
            "regions[0]",
            first,
            format!(
                "the primary region {} first (the region whose stacks hold the entity global table)",
                config.region
            ),
        ));
    }
    for (i, region) in regions.iter().enumerate() {
        let field = format!("regions[{i}]");
        if !valid_region(region) {
            problems.push(ConfigProblem::new(field, region, "a region name such as us-west-2"));
        } else if let Some(first) = regions[..i].iter().position(|r| r == region) {
            problems.push(ConfigProblem::new(
                field,
                region,
                format!("a region of its own (regions[{first}] is this one)"),
            ));
        } else if config.features.replica_regions.contains(region) {
            problems.push(ConfigProblem::new(
                field,
                region,
                "a region not also in features.replica_regions (a serving region has its replica already)",
            ));
        }
    }
    if regions.len() > 1 {
        if config.features.domain.is_none() {
            problems.push(ConfigProblem::new(
                "features.domain",
                "none",
                format!(
                    "a custom domain when more than one region serves ({}): the latency records of the API's name live in its hosted zone",
                    regions.join(", ")
                ),
            ));
        }
        if !config.features.cdn {
            problems.push(ConfigProblem::new(
                "features.cdn",
                false,
                "true when more than one region serves (the distribution fails reads over between the regions)",
            ));
        }
    }
}

/// `us-west-2`, `us-gov-west-1`: two letters, an optional `-gov`, a word, a digit.
fn valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let word = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    let (area, rest) = match parts.as_slice() {
        [area, "gov", rest @ ..] | [area, rest @ ..] => (*area, rest),
        [] => return false,
    };
    area.len() == 2
        && word(area)
        && matches!(rest, [name, digit] if word(name) && digit.len() == 1 && digit.chars().all(|c| c.is_ascii_digit()))
}
