//! `elasticache::ServerlessCache`.

use constructs::ec2::{SecurityGroup, Vpc, VpcProps};
use constructs::elasticache::{ServerlessCache, ServerlessCacheProps};
use constructs::kms::{Key, KeyProps};
use serde_json::json;

use super::support::*;

#[test]
fn cache_is_encrypted_snapshotted_capped_and_closed() {
    let t = template(|s| {
        let vpc = Vpc::new(s, "Vpc", VpcProps::default()).unwrap();
        let clients = SecurityGroup::new(s, "Functions", &vpc, "API functions", false).unwrap();
        let key = Key::new(s, "Key", KeyProps::default()).unwrap();
        let cache = ServerlessCache::new(
            s,
            "Cache",
            &vpc,
            ServerlessCacheProps { encryption_key: Some(key), ..ServerlessCacheProps::default() },
        )
        .unwrap();
        cache.allow_from(s, "FromFunctions", &clients);
    });
    let c = resource(&t, "Cache");
    assert_eq!(c["DeletionPolicy"], "Retain");
    let p = &c["Properties"];
    assert_eq!(p["Engine"], "redis");
    assert_eq!(p["ServerlessCacheName"], "test-main-cache");
    assert_eq!(p["KmsKeyId"], get_att("Key", "Arn"));
    assert_eq!(p["SnapshotRetentionLimit"], 7);
    assert_eq!(p["CacheUsageLimits"], json!({"DataStorage": {"Maximum": 10, "Unit": "GB"}}));
    assert_eq!(p["SubnetIds"], json!([ref_("VpcPrivate1"), ref_("VpcPrivate2")]));
    assert_eq!(props(&t, "CacheSecurityGroupFromFunctions")["SourceSecurityGroupId"], get_att("Functions", "GroupId"));
    assert_eq!(props(&t, "CacheSecurityGroupFromFunctions")["FromPort"], 6379);
    assert_eq!(props(&t, "FunctionsToCacheReader")["FromPort"], 6380);
}
