//! `dynamodb::Table`.

use constructs::common::RemovalPolicy;
use constructs::dynamodb::{
    Attribute, Billing, Capacity, GlobalSecondaryIndex, Projection, Replica, StreamView, Table, TableProps, TenantScope,
};
use constructs::iam::{Principal, Role, RoleProps};
use serde_json::json;
use synth::Val;

use super::support::*;

fn gsi(name: &str) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex {
        name: name.into(),
        partition_key: Attribute::string("gsi1pk"),
        sort_key: Some(Attribute::string("gsi1sk")),
        projection: Projection::All,
    }
}

fn role(scope: &mut synth::Scope) -> Role {
    Role::new(scope, "Reader", Principal::service("lambda.amazonaws.com"), RoleProps::default()).unwrap()
}

#[test]
fn safe_defaults() {
    let t = template(|s| {
        Table::new(s, "Orders", Attribute::string("pk"), TableProps::default()).unwrap();
    });
    let r = resource(&t, "Orders");
    assert_eq!(r["Type"], "AWS::DynamoDB::Table");
    assert_eq!(r["DeletionPolicy"], "Retain", "retained on delete");
    assert_eq!(r["UpdateReplacePolicy"], "Retain", "retained on replace");
    let p = &r["Properties"];
    assert_eq!(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true, "PITR on");
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST", "on demand");
    assert_eq!(p["DeletionProtectionEnabled"], true, "deletion protection on");
    assert_eq!(
        p["SSESpecification"],
        json!({"KMSMasterKeyId": get_att("OrdersKey", "Arn"), "SSEEnabled": true, "SSEType": "KMS"}),
        "own customer managed key"
    );
    assert_eq!(props(&t, "OrdersKey")["EnableKeyRotation"], true, "its key rotates");
    assert!(p.get("StreamSpecification").is_none(), "no stream unless asked");
    assert!(p.get("TableName").is_none(), "generated name");
}

#[test]
fn keys_indexes_ttl_and_stream() {
    let t = template(|s| {
        Table::new(
            s,
            "Entities",
            Attribute::string("pk"),
            TableProps {
                sort_key: Some(Attribute::string("sk")),
                global_secondary_indexes: vec![gsi("gsi1")],
                time_to_live_attribute: Some("ttl".into()),
                stream: Some(StreamView::NewAndOldImages),
                ..TableProps::default()
            },
        )
        .unwrap();
    });
    let p = props(&t, "Entities");
    assert_eq!(
        p["AttributeDefinitions"],
        json!([
            {"AttributeName": "gsi1pk", "AttributeType": "S"},
            {"AttributeName": "gsi1sk", "AttributeType": "S"},
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"}
        ])
    );
    assert_eq!(
        p["KeySchema"],
        json!([{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
    );
    assert_eq!(p["GlobalSecondaryIndexes"][0]["IndexName"], "gsi1");
    assert_eq!(p["GlobalSecondaryIndexes"][0]["Projection"], json!({"ProjectionType": "ALL"}));
    assert_eq!(p["TimeToLiveSpecification"], json!({"AttributeName": "ttl", "Enabled": true}));
    assert_eq!(p["StreamSpecification"], json!({"StreamViewType": "NEW_AND_OLD_IMAGES"}));
}

#[test]
fn provisioned_billing_scales_table_and_indexes() {
    let c = Capacity { min: 5, max: 500, target_utilization_percent: 70 };
    let t = template(|s| {
        Table::new(
            s,
            "Hot",
            Attribute::string("pk"),
            TableProps {
                billing: Billing::Provisioned { read: c, write: c },
                global_secondary_indexes: vec![gsi("gsi1")],
                ..TableProps::default()
            },
        )
        .unwrap();
    });
    assert_eq!(props(&t, "Hot")["BillingMode"], "PROVISIONED");
    assert_eq!(props(&t, "Hot")["ProvisionedThroughput"], json!({"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}));
    assert_eq!(
        of_type(&t, "AWS::ApplicationAutoScaling::ScalableTarget"),
        ["HotGsi1ReadScaling", "HotGsi1WriteScaling", "HotReadScaling", "HotWriteScaling"]
    );
    assert_eq!(props(&t, "HotReadScaling")["ScalableDimension"], "dynamodb:table:ReadCapacityUnits");
    assert_eq!(props(&t, "HotReadScaling")["MaxCapacity"], 500);
    let policy = props(&t, "HotWriteScalingPolicy");
    assert_eq!(policy["PolicyType"], "TargetTrackingScaling");
    assert_eq!(policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"], 70);
    assert_eq!(
        policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"],
        "DynamoDBWriteCapacityUtilization"
    );
}

#[test]
fn replicas_make_a_global_table() {
    let t = template(|s| {
        Table::new(
            s,
            "Entities",
            Attribute::string("pk"),
            TableProps {
                stream: Some(StreamView::NewAndOldImages),
                replicas: vec![Replica {
                    region: "us-west-2".into(),
                    encryption_key_arn: Val::from("arn:aws:kms:us-west-2:1:key/k"),
                }],
                ..TableProps::default()
            },
        )
        .unwrap();
    });
    let r = resource(&t, "Entities");
    assert_eq!(r["Type"], "AWS::DynamoDB::GlobalTable");
    assert_eq!(r["DeletionPolicy"], "Retain");
    let replicas = r["Properties"]["Replicas"].as_array().unwrap();
    assert_eq!(replicas.len(), 2);
    assert_eq!(replicas[0]["Region"], ref_("AWS::Region"));
    assert_eq!(replicas[1]["Region"], "us-west-2");
    for replica in replicas {
        assert_eq!(replica["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
        assert_eq!(replica["DeletionProtectionEnabled"], true);
        assert!(
            replica["SSESpecification"]["KMSMasterKeyId"].is_object()
                || replica["SSESpecification"]["KMSMasterKeyId"].is_string()
        );
    }
    assert_eq!(r["Properties"]["SSESpecification"], json!({"SSEEnabled": true, "SSEType": "KMS"}));
}

#[test]
fn removal_policy_is_a_choice() {
    let t = template(|s| {
        Table::new(
            s,
            "Scratch",
            Attribute::string("pk"),
            TableProps { removal: RemovalPolicy::Delete, ..TableProps::default() },
        )
        .unwrap();
    });
    assert_eq!(resource(&t, "Scratch")["DeletionPolicy"], "Delete");
}

fn error(props: TableProps) -> String {
    let mut stack = synth::Stack::new(synth::StackProps::new("Main", "m", "eu-west-1", "dev"));
    let mut root = stack.root();
    Table::new(&mut root, "Orders", Attribute::string("pk"), props).unwrap_err().to_string()
}

#[test]
fn bad_key_schemas() {
    assert_eq!(
        error(TableProps { sort_key: Some(Attribute::string("pk")), ..TableProps::default() }),
        "Orders: bad key schema: partition key and sort key are both \"pk\"; use two attributes"
    );
    assert_eq!(
        error(TableProps {
            global_secondary_indexes: vec![GlobalSecondaryIndex {
                name: "byPk".into(),
                partition_key: Attribute::number("pk"),
                sort_key: None,
                projection: Projection::KeysOnly
            }],
            ..TableProps::default()
        }),
        "Orders: bad key schema: attribute \"pk\" is declared as S and as N; an attribute has one type"
    );
    assert_eq!(
        error(TableProps { time_to_live_attribute: Some("pk".into()), ..TableProps::default() }),
        "Orders: bad key schema: time to live attribute \"pk\" is a key attribute of type S; it must hold a number (epoch seconds)"
    );
    assert_eq!(
        error(TableProps { sort_key: Some(Attribute::string("")), ..TableProps::default() }),
        "Orders: bad key schema: sort key name \"\" must be 1 to 255 characters"
    );
}

#[test]
fn bad_indexes() {
    assert_eq!(
        error(TableProps { global_secondary_indexes: vec![gsi("x")], ..TableProps::default() }),
        "Orders: invalid index name \"x\": 3 to 255 characters from A-Z a-z 0-9 _ - ."
    );
    assert_eq!(
        error(TableProps { global_secondary_indexes: vec![gsi("gsi1"), gsi("gsi1")], ..TableProps::default() }),
        "Orders: duplicate index name \"gsi1\""
    );
    let mut include = gsi("gsi2");
    include.projection = Projection::Include(vec![]);
    assert_eq!(
        error(TableProps { global_secondary_indexes: vec![include], ..TableProps::default() }),
        "Orders: invalid projection of index \"gsi2\": Include needs at least one attribute; use KeysOnly for none"
    );
}

#[test]
fn bad_capacity_and_replicas() {
    let c = Capacity { min: 10, max: 5, target_utilization_percent: 70 };
    assert_eq!(
        error(TableProps { billing: Billing::Provisioned { read: c, write: c }, ..TableProps::default() }),
        "Orders: maximum read capacity 5 is out of range: allowed 10 (the minimum) to 40000"
    );
    let c = Capacity { min: 1, max: 5, target_utilization_percent: 95 };
    assert_eq!(
        error(TableProps { billing: Billing::Provisioned { read: c, write: c }, ..TableProps::default() }),
        "Orders: target utilization (%) 95 is out of range: allowed 20 to 90"
    );
    let replica = |r: &str| Replica { region: r.into(), encryption_key_arn: Val::from("k") };
    assert_eq!(
        error(TableProps { replicas: vec![replica("us-west-2")], ..TableProps::default() }),
        "Orders: replicas need stream NewAndOldImages (global tables replicate through the stream)"
    );
    let streamed =
        |replicas| TableProps { stream: Some(StreamView::NewAndOldImages), replicas, ..TableProps::default() };
    assert_eq!(
        error(streamed(vec![replica("eu-west-1")])),
        "Orders: replica region eu-west-1 is the table's own region; list only other regions"
    );
    assert_eq!(
        error(streamed(vec![replica("us-west-2"), replica("us-west-2")])),
        "Orders: duplicate replica region \"us-west-2\""
    );
    assert_eq!(
        error(streamed(vec![replica("Mars")])),
        "Orders: invalid replica region \"Mars\": a region name such as us-west-2"
    );
}

#[test]
fn read_grant_covers_indexes_and_the_key_through_dynamodb_only() {
    let t = template(|s| {
        let table = Table::new(
            s,
            "Entities",
            Attribute::string("pk"),
            TableProps { global_secondary_indexes: vec![gsi("gsi1")], ..TableProps::default() },
        )
        .unwrap();
        let r = role(s);
        let g = table.grant_read_data(&r, s);
        assert_eq!(g.role, "Reader");
        assert_eq!(
            g.actions().into_iter().collect::<Vec<_>>(),
            [
                "dynamodb:BatchGetItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:DescribeTable",
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "kms:Decrypt",
                "kms:DescribeKey"
            ]
        );
    });
    let st = role_statements(&t, "Reader");
    assert_eq!(
        st[0],
        json!({
            "Effect": "Allow",
            "Action": ["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"],
            "Resource": [get_att("Entities", "Arn"), {"Fn::Join": ["", [get_att("Entities", "Arn"), "/index/*"]]}]
        })
    );
    assert_eq!(
        st[1],
        json!({
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": get_att("EntitiesKey", "Arn"),
            "Condition": {"StringEquals": {"kms:ViaService": {"Fn::Sub": "dynamodb.${AWS::Region}.amazonaws.com"}}}
        })
    );
}

#[test]
fn write_grant_adds_encrypt_and_no_index_without_indexes() {
    let t = template(|s| {
        let table = Table::new(s, "Control", Attribute::string("pk"), TableProps::default()).unwrap();
        let r = role(s);
        table.grant_write_data(&r, s);
    });
    let st = role_statements(&t, "Reader");
    assert_eq!(st[0]["Resource"], get_att("Control", "Arn"));
    assert_eq!(st[1]["Action"], json!(["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]));
}

#[test]
fn tenant_scoped_grant_conditions_leading_keys() {
    let t = template(|s| {
        let table = Table::new(s, "Entities", Attribute::string("pk"), TableProps::default()).unwrap();
        let r = role(s);
        table.grant_tenant_scoped(
            &r,
            s,
            &["dynamodb:GetItem", "dynamodb:Query"],
            &TenantScope { prefix: "TENANT#".into(), principal_tag: "tenant_id".into() },
        );
    });
    let st = role_statements(&t, "Reader");
    assert_eq!(
        st[0]["Condition"],
        json!({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TENANT#${aws:PrincipalTag/tenant_id}", "TENANT#${aws:PrincipalTag/tenant_id}#*"]}})
    );
}

#[test]
fn stream_and_index_grants_are_exact() {
    let t = template(|s| {
        let table = Table::new(
            s,
            "Entities",
            Attribute::string("pk"),
            TableProps {
                stream: Some(StreamView::NewAndOldImages),
                global_secondary_indexes: vec![gsi("gsi1")],
                ..TableProps::default()
            },
        )
        .unwrap();
        let r = role(s);
        table.grant_stream_read(&r, s);
        table.grant_index(&r, s, "gsi1", &["dynamodb:Query"]);
    });
    let st = role_statements(&t, "Reader");
    assert_eq!(st[0]["Resource"], get_att("Entities", "StreamArn"));
    assert_eq!(
        st[0]["Action"],
        json!(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"])
    );
    assert_eq!(st[2]["Resource"], json!({"Fn::Join": ["", [get_att("Entities", "Arn"), "/index/gsi1"]]}));
    assert_eq!(st[2]["Action"], "dynamodb:Query");
}
