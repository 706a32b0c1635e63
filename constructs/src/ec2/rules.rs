//! The rule pack's EC2 networking rules: cdk-nag `AwsSolutions-EC23`, `EC27` and `VPC7`.

use synth::Node;

use crate::rules::{declare_rules, items, prop, referred_by, require, str_of};

const SECURITY_GROUP: &str = "AWS::EC2::SecurityGroup";
const INGRESS: &str = "AWS::EC2::SecurityGroupIngress";
const EGRESS: &str = "AWS::EC2::SecurityGroupEgress";

declare_rules! {
    Ec23 {
        id: "AwsSolutions-EC23",
        description: "Security groups allow no inbound traffic from anywhere",
        applies_to: [SECURITY_GROUP, INGRESS],
        check: |_, r| {
            let open = |n: &Node| {
                str_of(n.get("CidrIp")) == Some("0.0.0.0/0") || str_of(n.get("CidrIpv6")) == Some("::/0")
            };
            let bad = if r.type_name == SECURITY_GROUP {
                items(prop(r, "SecurityGroupIngress")).into_iter().any(open)
            } else {
                open(&r.properties)
            };
            require(!bad, "inbound traffic from 0.0.0.0/0 or ::/0 is allowed")
        },
    }
    Ec27 {
        id: "AwsSolutions-EC27",
        description: "Security groups and their rules have descriptions",
        applies_to: [SECURITY_GROUP, INGRESS, EGRESS],
        check: |_, r| {
            let ok = if r.type_name == SECURITY_GROUP {
                prop(r, "GroupDescription").is_some()
                    && items(prop(r, "SecurityGroupIngress"))
                        .iter()
                        .chain(items(prop(r, "SecurityGroupEgress")).iter())
                        .all(|x| x.get("Description").is_some())
            } else {
                prop(r, "Description").is_some()
            };
            require(ok, "a security group or rule has no description")
        },
    }
    Vpc7 {
        id: "AwsSolutions-VPC7",
        description: "VPCs have flow logs",
        applies_to: ["AWS::EC2::VPC"],
        check: |doc, r| require(
            referred_by(doc, "AWS::EC2::FlowLog", "ResourceId", &r.logical_id, |_| true),
            "the VPC has no flow log (AWS::EC2::FlowLog)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{INGRESS, SECURITY_GROUP};
    use crate::rules::testing::rule_tests;

    rule_tests! {
        ec23_no_inbound_traffic_from_anywhere: Ec23 {
            flags [("Bad", SECURITY_GROUP, json!({
                "GroupDescription": "g",
                "SecurityGroupIngress": [{"IpProtocol": "tcp", "CidrIp": "0.0.0.0/0"}]
            }))] => "inbound traffic from 0.0.0.0/0 or ::/0 is allowed";
            flags [("Bad", INGRESS, json!({"GroupId": "sg", "IpProtocol": "tcp", "CidrIpv6": "::/0"}))]
                => "inbound traffic from 0.0.0.0/0 or ::/0 is allowed";
            passes [("Good", SECURITY_GROUP, json!({
                "GroupDescription": "g",
                "SecurityGroupIngress": [{"IpProtocol": "tcp", "CidrIp": "10.0.0.0/8", "Description": "vpc"}]
            }))];
        }
        ec27_groups_and_rules_have_descriptions: Ec27 {
            flags [("Bad", SECURITY_GROUP, json!({
                "GroupDescription": "g",
                "SecurityGroupIngress": [{"IpProtocol": "tcp", "CidrIp": "10.0.0.0/8"}]
            }))] => "a security group or rule has no description";
            passes [
                ("Good", SECURITY_GROUP, json!({
                    "GroupDescription": "g",
                    "SecurityGroupIngress": [{"IpProtocol": "tcp", "CidrIp": "10.0.0.0/8", "Description": "vpc"}]
                })),
                ("Rule", INGRESS, json!({
                    "GroupId": "sg", "IpProtocol": "tcp", "CidrIp": "10.0.0.0/8", "Description": "vpc"
                })),
            ];
        }
        vpc7_vpcs_have_flow_logs: Vpc7 {
            flags [("Bad", "AWS::EC2::VPC", json!({"CidrBlock": "10.0.0.0/16"}))]
                => "the VPC has no flow log (AWS::EC2::FlowLog)";
            passes [
                ("Good", "AWS::EC2::VPC", json!({"CidrBlock": "10.0.0.0/16"})),
                ("FlowLog", "AWS::EC2::FlowLog", json!({"ResourceId": {"Ref": "Good"}, "ResourceType": "VPC"})),
            ];
        }
    }
}
