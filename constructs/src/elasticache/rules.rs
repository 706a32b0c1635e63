//! The rule pack's ElastiCache rule: serverless caches in chosen subnets behind a security group.

use crate::rules::{declare_rules, prop, require};

const SERVERLESS_CACHE: &str = "AWS::ElastiCache::ServerlessCache";

declare_rules! {
    CacheInVpc {
        id: "Rcdk-AEC-VPC",
        description: "ElastiCache serverless caches are in chosen subnets behind a security group",
        applies_to: [SERVERLESS_CACHE],
        check: |_, r| require(
            prop(r, "SubnetIds").is_some() && prop(r, "SecurityGroupIds").is_some(),
            "the cache uses the default VPC and security group",
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::SERVERLESS_CACHE;
    use crate::rules::testing::rule_tests;

    rule_tests! {
        caches_are_in_chosen_subnets: CacheInVpc {
            flags [("Bad", SERVERLESS_CACHE, json!({"Engine": "redis"}))]
                => "the cache uses the default VPC and security group";
            flags [("Bad", SERVERLESS_CACHE, json!({"Engine": "redis", "SubnetIds": ["a", "b"]}))]
                => "the cache uses the default VPC and security group";
            passes [("Good", SERVERLESS_CACHE, json!({
                "Engine": "redis", "SubnetIds": ["a", "b"], "SecurityGroupIds": ["sg"]
            }))];
        }
    }
}
