//! `opensearchservice::Domain`.

use constructs::ec2::{SecurityGroup, Vpc, VpcProps};
use constructs::iam::{Principal, Role, RoleProps};
use constructs::opensearchservice::{DedicatedMasters, Domain, DomainProps, TLS_POLICY};
use serde_json::{Value, json};
use synth::{Stack, StackProps, Val};

use super::support::*;

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
    assert_eq!(
        role_statements(&t, "Indexer"),
        [json!({
            "Effect": "Allow",
            "Action": "es:ESHttpPost",
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:es:${AWS::Region}:${AWS::AccountId}:domain/dev-search/*"}
        })],
        "only the granted action, on the domain's paths"
    );
    assert_eq!(p["VPCOptions"]["SubnetIds"], json!([ref_("VpcPrivate1"), ref_("VpcPrivate2")]));
}

#[test]
fn a_path_grant_names_those_paths_and_clients_get_one_egress_rule() {
    let t = template(|s| {
        let vpc = Vpc::new(s, "Vpc", VpcProps::default()).unwrap();
        let admin = Role::new(s, "SearchAdmin", Principal::AccountRoot, RoleProps::default()).unwrap();
        let lambda = || Principal::service("lambda.amazonaws.com");
        let indexer = Role::new(s, "Indexer", lambda(), RoleProps::default()).unwrap();
        let search = Role::new(s, "Searcher", lambda(), RoleProps::default()).unwrap();
        let clients = SecurityGroup::new(s, "FunctionsSg", &vpc, "Functions", false).unwrap();
        let props = DomainProps {
            zones: Some(2),
            dedicated_masters: Some(DedicatedMasters { instance_type: "m6g.large.search".into(), count: 3 }),
            ..DomainProps::default()
        };
        let d = Domain::new(s, "Search", &vpc, admin.arn(), props).unwrap();
        d.grant_http(&indexer, s, &["es:ESHttpPost"], &clients);
        d.grant_http_on(&search, s, &["es:ESHttpGet"], "audit-events/_search", &clients);
    });
    let path = json!({"Fn::Sub": "arn:${AWS::Partition}:es:${AWS::Region}:${AWS::AccountId}:domain/dev-search/audit-events/_search"});
    assert_eq!(
        role_statements(&t, "Searcher"),
        [json!({"Effect": "Allow", "Action": "es:ESHttpGet", "Resource": path})]
    );
    let statements = props(&t, "Search")["AccessPolicies"]["Statement"].as_array().unwrap().clone();
    assert_eq!(
        statements.last().unwrap(),
        &json!({"Effect": "Allow", "Principal": {"AWS": get_att("Searcher", "Arn")}, "Action": "es:ESHttpGet", "Resource": path})
    );
    let of_type = |ty: &str| -> Vec<String> {
        t["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(id, r)| r["Type"] == ty && (id.starts_with("Search") || id.starts_with("FunctionsSg")))
            .map(|(id, _)| id.clone())
            .collect()
    };
    // One ingress rule per grantee, one egress rule for the clients' group however many of its roles are granted.
    assert_eq!(
        of_type("AWS::EC2::SecurityGroupIngress"),
        ["SearchSecurityGroupFromIndexer", "SearchSecurityGroupFromSearcher"]
    );
    assert_eq!(of_type("AWS::EC2::SecurityGroupEgress"), ["FunctionsSgToSearch"]);
}

#[test]
fn data_nodes_spread_evenly_over_zones() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let mut s = stack.root();
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
}
