//! Unit tests of the diff over template pairs: paths, update behaviour, stateful classification, broadening.

use serde_json::{Value, json};

use super::*;

fn one(r_old: Option<Value>, r_new: Option<Value>) -> StackDiff {
    let t = |r: Option<Value>| json!({"Resources": r.map(|r| json!({"R": r})).unwrap_or(json!({}))});
    diff_stack("Main", "main", Some(&t(r_old)), &t(r_new))
}

#[test]
fn replacement_comes_from_the_schema() {
    let old = json!({"Resources": {
        "T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "a", "BillingMode": "PROVISIONED"}},
        "Gone": {"Type": "AWS::SQS::Queue"}
    }});
    let new = json!({"Resources": {
        "T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "b", "BillingMode": "PAY_PER_REQUEST"}, "DeletionPolicy": "Retain"},
        "New": {"Type": "AWS::SQS::Queue"}
    }, "Outputs": {"X": {"Value": "1"}}});
    let report = Report { stacks: vec![diff_stack("Main", "main", Some(&old), &new)] };
    assert_eq!(
        report.to_string(),
        "Stack Main (main)\n[-] AWS::SQS::Queue Gone  [destroys data]\n[+] AWS::SQS::Queue New\n[~] AWS::DynamoDB::Table T  (REPLACEMENT)  [destroys data]\n    Properties.BillingMode: \"PROVISIONED\" -> \"PAY_PER_REQUEST\"\n    Properties.TableName: \"a\" -> \"b\"  [replacement]\n    DeletionPolicy: (absent) -> \"Retain\"\n[+] Outputs.X\n"
    );
    assert!(report.has_changes());
}

#[test]
fn identical_templates_have_no_changes() {
    let t = json!({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}}}});
    let report = Report { stacks: vec![diff_stack("Main", "main", Some(&t), &t)] };
    assert!(!report.has_changes());
    assert_eq!(report.to_string(), "Stack Main (main): no changes\n");
}

#[test]
fn nested_list_changes_show_their_own_paths_and_values() {
    let rule = |action: &str| json!({"Action": action, "Priority": 1});
    let d = one(
        Some(json!({"Type": "AWS::WAFv2::WebACL", "Properties": {"Rules": [rule("a"), rule("b")]}})),
        Some(json!({"Type": "AWS::WAFv2::WebACL", "Properties": {"Rules": [rule("a"), rule("c")]}})),
    );
    assert_eq!(
        d.resources[0].changes,
        vec![Change {
            path: "Properties.Rules[1].Action".into(),
            old: Some(json!("b")),
            new: Some(json!("c")),
            impact: Some(Impact::InPlace)
        }]
    );
    // An appended element is one change at its own index, not the whole list twice.
    let d = one(
        Some(json!({"Type": "AWS::WAFv2::WebACL", "Properties": {"Rules": [rule("a")]}})),
        Some(json!({"Type": "AWS::WAFv2::WebACL", "Properties": {"Rules": [rule("a"), rule("z")]}})),
    );
    assert_eq!(
        d.resources[0].changes,
        vec![Change {
            path: "Properties.Rules[1]".into(),
            old: None,
            new: Some(rule("z")),
            impact: Some(Impact::InPlace)
        }]
    );
}

#[test]
fn a_key_schema_change_replaces_the_table_and_destroys_data() {
    let table = |key: &str| {
        json!({"Type": "AWS::DynamoDB::Table", "Properties": {
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}]}})
    };
    let d = one(Some(table("pk")), Some(table("id")));
    let r = &d.resources[0];
    // The registry lists KeySchema as conditionally create-only: a possible replacement counts as one.
    assert_eq!(r.impact, Some(Impact::MayReplace));
    assert!(r.replaces() && r.destroys_state());
    assert!(
        r.changes
            .iter()
            .any(|c| c.path == "Properties.KeySchema[0].AttributeName" && c.impact == Some(Impact::MayReplace))
    );
    assert_eq!(d.destroys_state().count(), 1);
}

#[test]
fn every_stateful_type_removed_destroys_data_unless_retained() {
    let types = [
        ("AWS::DynamoDB::Table", Statefulness::Always),
        ("AWS::DynamoDB::GlobalTable", Statefulness::Always),
        ("AWS::S3::Bucket", Statefulness::Always),
        ("AWS::KMS::Key", Statefulness::Always),
        ("AWS::Logs::LogGroup", Statefulness::Always),
        ("AWS::SecretsManager::Secret", Statefulness::Always),
        ("AWS::OpenSearchService::Domain", Statefulness::Always),
        ("AWS::ElastiCache::ReplicationGroup", Statefulness::Always),
        ("AWS::ElastiCache::CacheCluster", Statefulness::Always),
        ("AWS::ElastiCache::ServerlessCache", Statefulness::Always),
        ("AWS::SQS::Queue", Statefulness::WhenNotEmpty),
    ];
    for (t, kind) in types {
        let d = one(Some(json!({"Type": t})), None);
        assert_eq!(d.resources[0].stateful, Some(kind), "{t}");
        assert!(d.resources[0].destroys_state(), "{t} removed");
        let d = one(Some(json!({"Type": t, "DeletionPolicy": "Retain"})), None);
        assert!(d.resources[0].retained && !d.resources[0].destroys_state(), "{t} retained");
        // Added: nothing to lose.
        assert!(!one(None, Some(json!({"Type": t}))).resources[0].destroys_state(), "{t} added");
    }
    for t in ["AWS::Lambda::Function", "AWS::IAM::Role", "AWS::ApiGateway::RestApi", "AWS::Events::Rule"] {
        let d = one(Some(json!({"Type": t})), None);
        assert_eq!(d.resources[0].stateful, None, "{t}");
        assert!(!d.resources[0].destroys_state(), "{t}");
    }
}

#[test]
fn every_stateful_type_replaced_destroys_data() {
    // One create-only property per type, from the generated tables.
    let cases = [
        ("AWS::DynamoDB::Table", "TableName"),
        ("AWS::DynamoDB::GlobalTable", "TableName"),
        ("AWS::S3::Bucket", "BucketName"),
        ("AWS::Logs::LogGroup", "LogGroupName"),
        ("AWS::SecretsManager::Secret", "Name"),
        ("AWS::OpenSearchService::Domain", "DomainName"),
        ("AWS::ElastiCache::ServerlessCache", "ServerlessCacheName"),
        ("AWS::SQS::Queue", "QueueName"),
    ];
    for (t, prop) in cases {
        let d = one(
            Some(json!({"Type": t, "Properties": {prop: "a"}})),
            Some(json!({"Type": t, "Properties": {prop: "b"}})),
        );
        let r = &d.resources[0];
        assert!(r.replaces(), "{t}.{prop}: {:?}", r.impact);
        assert!(r.destroys_state(), "{t}.{prop}");
    }
    // An in-place change of a stateful resource is not a loss.
    let d = one(
        Some(json!({"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}})),
        Some(json!({"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 60}})),
    );
    assert!(!d.resources[0].destroys_state());
    // Changing the type replaces.
    let d = one(Some(json!({"Type": "AWS::KMS::Key"})), Some(json!({"Type": "AWS::KMS::ReplicaKey"})));
    assert_eq!(d.resources[0].impact, Some(Impact::Replace));
}

#[test]
fn new_allow_statements_broaden() {
    let role = |actions: Value| {
        json!({"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyName": "p", "PolicyDocument": {
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}}]}})
    };
    let d = one(Some(role(json!("s3:GetObject"))), Some(role(json!(["s3:GetObject", "s3:PutObject"]))));
    assert_eq!(d.resources[0].broadening, vec!["allow [\"s3:GetObject\",\"s3:PutObject\"] on *"]);
    // Narrowing is not broadening.
    let d = one(Some(role(json!(["s3:GetObject", "s3:PutObject"]))), Some(role(json!("s3:GetObject"))));
    assert_eq!(d.resources[0].broadening, vec!["allow s3:GetObject on *"]);
    let d = one(Some(role(json!("s3:GetObject"))), None);
    assert!(d.resources[0].broadening.is_empty());
    // Resource policies: a new principal on a bucket policy.
    let bp = json!({"Type": "AWS::S3::BucketPolicy", "Properties": {"PolicyDocument": {"Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn"}]}}});
    assert_eq!(one(None, Some(bp)).resources[0].broadening, vec!["allow s3:GetObject on arn to *"]);
    // Deny statements never broaden.
    let deny = json!({"Type": "AWS::SQS::QueuePolicy", "Properties": {"PolicyDocument": {"Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "sqs:*"}]}}});
    assert!(one(None, Some(deny)).resources[0].broadening.is_empty());
}

#[test]
fn security_group_rules_and_permissions_broaden() {
    let sg = |rules: Value| json!({"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupIngress": rules}});
    let ssh = json!({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"});
    let d = one(Some(sg(json!([]))), Some(sg(json!([ssh]))));
    assert_eq!(d.resources[0].broadening, vec!["ingress tcp 22 from 0.0.0.0/0"]);
    let perm = json!({"Type": "AWS::Lambda::Permission", "Properties": {
        "Action": "lambda:InvokeFunction", "Principal": "apigateway.amazonaws.com", "FunctionName": "f"}});
    assert_eq!(
        one(None, Some(perm)).resources[0].broadening,
        vec!["invoke permission lambda:InvokeFunction for apigateway.amazonaws.com"]
    );
}

#[test]
fn markdown_puts_what_needs_review_first() {
    let old = json!({"Resources": {"T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "a"}}}});
    let new = json!({"Resources": {
        "T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "b"}},
        "P": {"Type": "AWS::Lambda::Permission", "Properties": {"Action": "lambda:InvokeFunction", "Principal": "*"}}
    }});
    let md = Report { stacks: vec![diff_stack("Main", "main", Some(&old), &new)] }.to_markdown();
    assert_eq!(
        md,
        "## Infrastructure diff\n\n| Stack | Added | Modified | Removed | Replaced |\n| --- | ---: | ---: | ---: | ---: |\n\
         | `main` | 1 | 1 | 0 | 1 |\n\n### Needs review\n\n\
         - `main` `P` (AWS::Lambda::Permission): broadens: invoke permission lambda:InvokeFunction for *\n\
         - `main` `T` (AWS::DynamoDB::Table): **destroys data**; replacement\n\n\
         <details><summary>main (Main)</summary>\n\n```diff\n\
         +[+] AWS::Lambda::Permission P\n     broadens: invoke permission lambda:InvokeFunction for *\n\
         ![~] AWS::DynamoDB::Table T  (REPLACEMENT)  [destroys data]\n     Properties.TableName: \"a\" -> \"b\"  [replacement]\n\
         ```\n\n</details>\n"
    );
}
