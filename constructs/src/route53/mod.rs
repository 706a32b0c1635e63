//! Amazon Route 53: the generated CloudFormation types, [`alias_records`] (the A and AAAA alias records of a custom
//! domain), [`latency_alias_records`] (the same, one set per region, answered by latency among the healthy) and
//! [`alarm_health_check`] (a health check that is a CloudWatch alarm's state).

mod generated;

pub use generated::*;

use synth::{Scope, Val};

/// The hosted zone id of every CloudFront distribution, for alias records.
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-route53-recordset-aliastarget.html>
pub const CLOUDFRONT_ZONE_ID: &str = "Z2FDTNDATAQYW2";

/// A and AAAA alias records `name` → `target_dns` (in zone `target_zone_id`), at `<id>A` and `<id>AAAA`.
pub fn alias_records(
    scope: &mut Scope,
    id: &str,
    hosted_zone_id: &str,
    name: &str,
    target_dns: Val<String>,
    target_zone_id: Val<String>,
) {
    for kind in ["A", "AAAA"] {
        scope.add(
            &format!("{id}{kind}"),
            CfnRecordSet {
                hosted_zone_id: Some(hosted_zone_id.into()),
                alias_target: Some(
                    cfn_record_set::AliasTarget {
                        evaluate_target_health: Some(false.into()),
                        ..cfn_record_set::AliasTarget::new(target_dns.clone(), target_zone_id.clone())
                    }
                    .into(),
                ),
                ..CfnRecordSet::new(name, kind)
            },
        );
    }
}

/// A and AAAA latency alias records `name` → `target_dns` (in zone `target_zone_id`), at `<id>A` and `<id>AAAA`: the
/// set of `region` (its `SetIdentifier`), answered while `health_check_id` is healthy. Route 53 answers a resolver
/// with the healthy set of the lowest latency from it
/// (<https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-latency.html>); each region's stack
/// adds its own set, so adding a region adds records and changes none.
#[allow(clippy::too_many_arguments)] // the record's name, target and routing: each a different value
pub fn latency_alias_records(
    scope: &mut Scope,
    id: &str,
    hosted_zone_id: &str,
    name: &str,
    target_dns: Val<String>,
    target_zone_id: Val<String>,
    region: &str,
    health_check_id: Val<String>,
) {
    for kind in ["A", "AAAA"] {
        scope.add(
            &format!("{id}{kind}"),
            CfnRecordSet {
                hosted_zone_id: Some(hosted_zone_id.into()),
                alias_target: Some(
                    cfn_record_set::AliasTarget {
                        // The health check decides; the alias target's own health (API Gateway has none to give)
                        // would add nothing.
                        evaluate_target_health: Some(false.into()),
                        ..cfn_record_set::AliasTarget::new(target_dns.clone(), target_zone_id.clone())
                    }
                    .into(),
                ),
                set_identifier: Some(region.into()),
                region: Some(region.into()),
                health_check_id: Some(health_check_id.clone()),
                ..CfnRecordSet::new(name, kind)
            },
        );
    }
}

/// A health check at `id` whose status is the state of CloudWatch alarm `alarm_name` in `region` (healthy unless
/// in ALARM); without data it keeps its last known status, so a quiet region stays in the rotation
/// (<https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-types.html>). Returns its id.
pub fn alarm_health_check(scope: &mut Scope, id: &str, alarm_name: Val<String>, region: &str) -> Val<String> {
    use cfn_health_check as h;
    let config = h::HealthCheckConfig {
        // A region name is one of the schema's enum values; written as the string the stage file gave.
        alarm_identifier: Some(h::AlarmIdentifier::new(alarm_name, Val::raw(synth::Node::Str(region.into()))).into()),
        insufficient_data_health_status: Some(h::InsufficientDataHealthStatus::LastKnownStatus.into()),
        ..h::HealthCheckConfig::new(h::Type::CloudwatchMetric)
    };
    scope.add(id, CfnHealthCheck::new(config)).attr_health_check_id()
}
