//! The CloudFront distribution in front of the API: the edge stack's web ACL and certificate, static files from a
//! bucket of their own, access logs, and the edge domain's DNS alias. With more than one serving region, writes go
//! to the API's latency-routed name (the nearest healthy region) and the reads that can fail over go to an origin
//! group of the first two regions' own names, which retries a server error on the second.

use synth::{Output, Scope, Val};

use super::config::RouteConfig;
use super::context::Context;
use super::edge::Edge;
use super::error::PlatformError;
use crate::apigateway::RestApi;
use crate::cloudfront::{Distribution, DistributionLogs, DistributionProps, Origin, ViewerCertificate};
use crate::common::{Check, suppress};
use crate::s3::{AccessLogs, Bucket, BucketProps};

/// The distribution of `api` (its stage's path) and the static files, into `scope`, protected by `edge`; access
/// logs go to `logs`.
pub(super) fn build(
    scope: &mut Scope,
    ctx: &Context,
    edge: &Edge,
    api: &RestApi,
    logs: &Bucket,
) -> Result<Distribution, PlatformError> {
    let config = ctx.config;
    let static_files = Bucket::new(
        scope,
        "StaticAssets",
        BucketProps {
            access_logs: Some(AccessLogs { bucket: Box::new(logs.clone()), prefix: "s3/static/".into() }),
            ..BucketProps::default()
        },
    )?;
    super::data::declare_bucket(
        scope,
        &static_files,
        "build output deployed from the repository to every stage: a lost bucket is deployed again, and CloudFront serves it from its edge caches meanwhile",
        "deployments replace the files on purpose; versioning keeps what a deployment overwrote",
    )?;
    let regions = config.serving_regions();
    let (default, mut behaviors) = match (&config.features.domain, regions.as_slice()) {
        (Some(domain), [first, second, ..]) => {
            // Each name's base path mapping is the stage: no origin path.
            let named = |name: String| Origin::Api { domain: Val::from(name.as_str()), path: String::new() };
            let group = || Origin::Failover {
                primary: Box::new(named(super::failover::region_name(first, domain))),
                secondary: Box::new(named(super::failover::region_name(second, domain))),
            };
            let reads = failover_read_patterns(&config.routes).into_iter().map(|p| (p, group())).collect();
            (named(domain.api_domain.clone()), reads)
        }
        _ => (Origin::Api { domain: api.domain_name(), path: format!("/{}", config.stage) }, Vec::new()),
    };
    behaviors.push(("/static/*".into(), Origin::Bucket(Box::new(static_files))));
    let distribution = Distribution::new(
        scope,
        "Cdn",
        default,
        DistributionProps {
            web_acl_arn: Some(edge.web_acl.arn()),
            certificate: edge.certificate.as_ref().map(|c| ViewerCertificate {
                certificate_arn: c.arn(),
                aliases: config.features.domain.iter().map(|d| d.edge_domain.clone()).collect(),
            }),
            logs: Some(DistributionLogs { bucket: logs.clone(), prefix: "cloudfront/".into() }),
            behaviors,
            comment: Some(format!("{}: API and static files", ctx.prefix)),
            ..DistributionProps::default()
        },
    )?;
    if edge.certificate.is_none() {
        let entry = scope.stack_mut().entry_mut(distribution.handle());
        let why = "no custom domain configured: the default *.cloudfront.net certificate fixes the viewer security policy at TLSv1; set Features::domain for TLS 1.2+";
        suppress(entry, Check::CLOUDFRONT_TLS_1_2, why);
    }
    if let Some(d) = &config.features.domain {
        crate::route53::alias_records(
            scope,
            "EdgeDns",
            &d.hosted_zone_id,
            &d.edge_domain,
            distribution.domain_name(),
            Val::from(crate::route53::CLOUDFRONT_ZONE_ID),
        );
    }
    scope.stack_mut().add_output(
        "CdnDomainName",
        Output::new(distribution.domain_name()).with_description("Where clients call the API"),
    );
    Ok(distribution)
}

/// The path patterns of the GET routes a behavior of GET, HEAD and OPTIONS can serve through the origin group: the
/// route's path with each `{parameter}` as `*`, when no route of another method matches it (a CloudFront `*` also
/// matches `/`, and a POST matching a read-only behavior would be refused at the edge). In route order, each once.
fn failover_read_patterns(routes: &[RouteConfig]) -> Vec<String> {
    let pattern = |path: &str| {
        path.split('/').map(|seg| if seg.starts_with('{') { "*" } else { seg }).collect::<Vec<_>>().join("/")
    };
    let mut patterns: Vec<String> = Vec::new();
    for route in routes.iter().filter(|r| r.method == "GET") {
        let p = pattern(&route.path);
        let writes_match = routes.iter().any(|w| w.method != "GET" && glob_matches(&p, &w.path));
        if !writes_match && !patterns.contains(&p) {
            patterns.push(p);
        }
    }
    patterns
}

/// CloudFront's path pattern match: `*` is any run of characters (`/` included), `?` any one character.
fn glob_matches(pattern: &str, path: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), path.chars().collect());
    // matched[i][j]: the first i pattern characters match the first j path characters.
    let mut matched = vec![vec![false; s.len() + 1]; p.len() + 1];
    matched[0][0] = true;
    for i in 1..=p.len() {
        for j in 0..=s.len() {
            matched[i][j] = match p[i - 1] {
                '*' => matched[i - 1][j] || (j > 0 && matched[i][j - 1]),
                '?' => j > 0 && matched[i - 1][j - 1],
                c => j > 0 && s[j - 1] == c && matched[i - 1][j - 1],
            };
        }
    }
    matched[p.len()][s.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fail_over_where_no_write_shares_the_pattern() {
        let patterns = failover_read_patterns(&RouteConfig::platform_routes());
        assert_eq!(
            patterns,
            [
                "/tenants/*/orders/*",
                "/tenants/*/events",
                "/tenants/*/invoices/*",
                "/tenants/*/exports/*",
                "/tenants/*/uploads/*",
            ]
        );
    }

    #[test]
    fn globs_match_like_cloudfront() {
        for (pattern, path, expected) in [
            ("/tenants/*/orders/*", "/tenants/{tenant_id}/orders/{order_id}", true),
            ("/tenants/*/orders", "/tenants/{tenant_id}/orders", true),
            ("/tenants/*/subscriptions/*", "/tenants/{t}/subscriptions/{s}/upgrade", true),
            ("/tenants/*/orders/*", "/tenants/{tenant_id}/orders", false),
            ("/a?c", "/abc", true),
            ("/a?c", "/ac", false),
        ] {
            assert_eq!(glob_matches(pattern, path), expected, "{pattern} on {path}");
        }
    }
}
