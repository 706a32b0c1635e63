//! Amazon Route 53: the generated CloudFormation types and [`alias_records`], the A and AAAA alias records of a
//! custom domain.

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
