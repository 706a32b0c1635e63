//! The CloudFront distribution in front of the API: the edge stack's web ACL and certificate, static files from a
//! bucket of their own, access logs, and the edge domain's DNS alias.

use synth::{Output, Scope, Val};

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
    let distribution = Distribution::new(
        scope,
        "Cdn",
        Origin::Api { domain: api.domain_name(), path: format!("/{}", config.stage) },
        DistributionProps {
            web_acl_arn: Some(edge.web_acl.arn()),
            certificate: edge.certificate.as_ref().map(|c| ViewerCertificate {
                certificate_arn: c.arn(),
                aliases: config.features.domain.iter().map(|d| d.edge_domain.clone()).collect(),
            }),
            logs: Some(DistributionLogs { bucket: logs.clone(), prefix: "cloudfront/".into() }),
            behaviors: vec![("/static/*".into(), Origin::Bucket(Box::new(static_files)))],
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
