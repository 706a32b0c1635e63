//! `ec2::Vpc`, `ec2::SecurityGroup`, `elasticache::ServerlessCache`, `opensearchservice::Domain`.

use constructs::ec2::{SecurityGroup, Vpc, VpcProps};
use constructs::elasticache::{ServerlessCache, ServerlessCacheProps};
use constructs::iam::{Principal, Role, RoleProps};
use constructs::opensearchservice::{DedicatedMasters, Domain, DomainProps, TLS_POLICY};
use serde_json::json;
use synth::{Stack, StackProps, Val};

use super::support::*;

#[test]
fn vpc_is_private_with_endpoints_and_flow_logs() {
    let t = template(|s| {
        let vpc = Vpc::new(s, "Vpc", VpcProps::default()).unwrap();
        assert_eq!(vpc.subnet_ids().len(), 2);
    });
    assert_eq!(props(&t, "Vpc")["CidrBlock"], "10.0.0.0/16");
    assert_eq!(of_type(&t, "AWS::EC2::Subnet"), ["VpcPrivate1", "VpcPrivate2"]);
    assert_eq!(props(&t, "VpcPrivate1")["MapPublicIpOnLaunch"], false);
    assert!(of_type(&t, "AWS::EC2::InternetGateway").is_empty(), "no route to the internet");
    assert!(of_type(&t, "AWS::EC2::NatGateway").is_empty());
    assert_eq!(props(&t, "VpcS3Endpoint")["VpcEndpointType"], "Gateway");
    assert_eq!(
        props(&t, "VpcDynamoDbEndpoint")["ServiceName"],
        json!({"Fn::Sub": "com.amazonaws.${AWS::Region}.dynamodb"})
    );
    assert_eq!(props(&t, "VpcSqsEndpoint")["VpcEndpointType"], "Interface");
    assert_eq!(props(&t, "VpcSqsEndpoint")["PrivateDnsEnabled"], true);
    assert_eq!(
        props(&t, "VpcEventsEndpoint")["ServiceName"],
        json!({"Fn::Sub": "com.amazonaws.${AWS::Region}.events"})
    );
    assert_eq!(props(&t, "VpcFlowLog")["TrafficType"], "ALL");
    assert_eq!(props(&t, "VpcEndpointSecurityGroupFromVpc")["FromPort"], 443);
    assert_eq!(props(&t, "VpcEndpointSecurityGroup")["SecurityGroupEgress"][0]["Description"], "Disallow all traffic");
}

#[test]
fn cache_is_encrypted_snapshotted_capped_and_closed() {
    let t = template(|s| {
        let vpc = Vpc::new(s, "Vpc", VpcProps::default()).unwrap();
        let clients = SecurityGroup::new(s, "Functions", &vpc, "API functions", false).unwrap();
        let key = constructs::kms::Key::new(s, "Key", constructs::kms::KeyProps::default()).unwrap();
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

#[test]
fn search_domain_is_encrypted_https_only_fine_grained_and_logged() {
    let t = template(|s| {
        let vpc = Vpc::new(s, "Vpc", VpcProps::default()).unwrap();
        let admin = Role::new(s, "SearchAdmin", Principal::AccountRoot, RoleProps::default()).unwrap();
        let indexer =
            Role::new(s, "Indexer", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap();
        let clients = SecurityGroup::new(s, "IndexerSg", &vpc, "Indexer", false).unwrap();
        let d = Domain::new(
            s,
            "Search",
            &vpc,
            admin.arn(),
            DomainProps {
                zones: Some(2),
                dedicated_masters: Some(DedicatedMasters { instance_type: "m6g.large.search".into(), count: 3 }),
                ..DomainProps::default()
            },
        )
        .unwrap();
        d.grant_http(&indexer, s, &["es:ESHttpPost"], &clients);
    });
    let p = props(&t, "Search");
    assert_eq!(p["EncryptionAtRestOptions"]["Enabled"], true);
    assert_eq!(p["NodeToNodeEncryptionOptions"]["Enabled"], true);
    assert_eq!(p["DomainEndpointOptions"], json!({"EnforceHTTPS": true, "TLSSecurityPolicy": TLS_POLICY}));
    assert_eq!(p["AdvancedSecurityOptions"]["Enabled"], true);
    assert_eq!(p["AdvancedSecurityOptions"]["MasterUserOptions"]["MasterUserARN"], get_att("SearchAdmin", "Arn"));
    assert_eq!(p["ClusterConfig"]["ZoneAwarenessEnabled"], true);
    assert_eq!(p["ClusterConfig"]["DedicatedMasterCount"], 3);
    let logs: Vec<&String> = p["LogPublishingOptions"].as_object().unwrap().keys().collect();
    assert_eq!(logs, ["AUDIT_LOGS", "ES_APPLICATION_LOGS", "INDEX_SLOW_LOGS", "SEARCH_SLOW_LOGS"]);
    let principals: Vec<Value> =
        p["AccessPolicies"]["Statement"].as_array().unwrap().iter().map(|s| s["Principal"].clone()).collect();
    assert_eq!(
        principals,
        [json!({"AWS": get_att("SearchAdmin", "Arn")}), json!({"AWS": get_att("Indexer", "Arn")})],
        "named principals only"
    );
    assert_eq!(role_actions(&t, "Indexer"), ["es:ESHttpPost"]);
    assert_eq!(p["VPCOptions"]["SubnetIds"], json!([ref_("VpcPrivate1"), ref_("VpcPrivate2")]));
}

use serde_json::Value;

#[test]
fn network_errors() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let mut s = stack.root();
    let e = Vpc::new(&mut s, "V", VpcProps { cidr: Some("10.0.0.0/24".into()), ..VpcProps::default() }).unwrap_err();
    assert_eq!(
        e.to_string(),
        "V: invalid VPC CIDR \"10.0.0.0/24\": an IPv4 block from /16 to /18 (each subnet is a /20)"
    );
    let vpc = Vpc::new(&mut s, "Vpc", VpcProps::default()).unwrap();
    let e = Domain::new(
        &mut s,
        "D",
        &vpc,
        Val::from("arn:aws:iam::1:role/a"),
        DomainProps { zones: Some(2), instance_count: Some(3), ..DomainProps::default() },
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "D: 3 data nodes cannot spread evenly over 2 zones");
    let e = SecurityGroup::new(&mut s, "G", &vpc, "", false).unwrap_err();
    assert_eq!(e.to_string(), "G: invalid security group description \"\": 1 to 255 ASCII characters");
}
