//! A region's place in the stage's active-active routing, with a custom domain: the API's name (`api_domain`) as
//! the region's latency record, health-checked by the state of an alarm on the region's API server errors, and the
//! region's own name (`<region>.<api_domain>`), which the distribution's origin group fails reads over to.

use synth::{Scope, Val};

use super::config::DomainConfig;
use super::context::Context;
use super::error::PlatformError;
use crate::apigateway::DomainName;
use crate::certificatemanager::Certificate;
use crate::cloudwatch::{Alarm, AlarmProps, Comparison, Metric, MissingData, Stat};

/// Share of a minute's API responses that are server errors above which the minute is bad (5%).
const UNHEALTHY_5XX_RATE: f64 = 0.05;
/// Bad minutes in a row that take the region out of the latency rotation: three (a deployment's blip is shorter).
const UNHEALTHY_MINUTES: u32 = 3;

/// `<region>.<api_domain>`: one region's own name, for the origin group and for an operator who must reach one
/// region (e.g. `us-west-2.origin.api.example.com`).
pub(super) fn region_name(region: &str, domain: &DomainConfig) -> String {
    format!("{region}.{}", domain.api_domain)
}

/// Into `scope` (a region's Regional stack), for the API's custom domain `api` (`domain.api_domain` in this
/// region): the health alarm and check, the latency records of `api_domain` (at `ApiDns`, where the one-region
/// alias records were), and the region's own name (returned: the Api stack maps it to the stage).
pub(super) fn build(
    scope: &mut Scope,
    ctx: &Context,
    domain: &DomainConfig,
    api: &DomainName,
) -> Result<DomainName, PlatformError> {
    let region = scope.stack().region().to_owned();
    // The API's name as the stage's API functions name it (`api::root`); its metrics exist before its stage does.
    let errors = Metric::new("AWS/ApiGateway", "5XXError")
        .with_dimension("ApiName", Val::from(format!("{}-api", ctx.prefix).as_str()))
        .with_dimension("Stage", Val::from(ctx.config.stage.as_str()))
        // `5XXError` is 1 per failed request and 0 per other: its average is the error rate.
        .with_stat(Stat::Average)
        .with_period(60);
    let alarm = Alarm::new(
        scope,
        "RegionHealth",
        &errors,
        UNHEALTHY_5XX_RATE,
        AlarmProps {
            comparison: Comparison::GreaterThan,
            evaluation_periods: Some(UNHEALTHY_MINUTES),
            // No requests is no evidence of a failure: a quiet region stays in the rotation.
            missing_data: MissingData::NotBreaching,
            description: Some(format!(
                "More than {}% of the API's responses in {region} are server errors: Route 53 stops answering with this region",
                UNHEALTHY_5XX_RATE * 100.0
            )),
            // The API's own alarms page; this one steers traffic.
            actions: Vec::new(),
            ..AlarmProps::default()
        },
    )?;
    let check = crate::route53::alarm_health_check(scope, "RegionHealthCheck", alarm.handle().ref_(), &region);
    crate::route53::latency_alias_records(
        scope,
        "ApiDns",
        &domain.hosted_zone_id,
        &domain.api_domain,
        api.regional_domain_name(),
        api.regional_hosted_zone_id(),
        &region,
        check,
    );
    let own = region_name(&region, domain);
    let certificate = Certificate::new(scope, "RegionCertificate", &own, &domain.hosted_zone_id)?;
    let name = DomainName::new(scope, "RegionDomain", &own, certificate.arn())?;
    crate::route53::alias_records(
        scope,
        "RegionDns",
        &domain.hosted_zone_id,
        &own,
        name.regional_domain_name(),
        name.regional_hosted_zone_id(),
    );
    Ok(name)
}
