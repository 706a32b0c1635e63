//! `ec2::Vpc` and `ec2::SecurityGroup`.

use constructs::ec2::{SecurityGroup, Vpc, VpcProps};
use serde_json::json;
use synth::{Stack, StackProps};

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
fn vpc_and_security_group_errors() {
    let mut stack = Stack::new(StackProps::new("Main", "m", "eu-west-1", "dev"));
    let mut s = stack.root();
    let e = Vpc::new(&mut s, "V", VpcProps { cidr: Some("10.0.0.0/24".into()), ..VpcProps::default() }).unwrap_err();
    assert_eq!(
        e.to_string(),
        "V: invalid VPC CIDR \"10.0.0.0/24\": an IPv4 block from /16 to /18 (each subnet is a /20)"
    );
    let vpc = Vpc::new(&mut s, "Vpc", VpcProps::default()).unwrap();
    let e = SecurityGroup::new(&mut s, "G", &vpc, "", false).unwrap_err();
    assert_eq!(e.to_string(), "G: invalid security group description \"\": 1 to 255 ASCII characters");
}
