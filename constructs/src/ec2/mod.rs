//! Amazon EC2 networking: the generated CloudFormation types, [`Vpc`] (private subnets only, flow logs, gateway
//! endpoints for S3 and DynamoDB, interface endpoints for the AWS APIs the functions call) and [`SecurityGroup`]
//! with described, narrow rules.

mod generated;
pub(crate) mod rules;

pub use generated::*;

use synth::{Handle, Scope, Val};

use crate::common::RemovalPolicy;
use crate::error::{ConstructError, check_range};
use crate::iam::{PolicyStatement, Principal, Role, RoleProps};
use crate::kms::Key;
use crate::logs::{LogGroup, LogGroupProps};

/// Interface endpoints created by default: the AWS APIs the platform's functions call from inside the VPC.
pub const DEFAULT_INTERFACE_ENDPOINTS: &[&str] = &["sqs", "events"];

/// What VPC Flow Logs does with the delivery role to publish to a log group.
/// <https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html>
pub const FLOW_LOG_DELIVERY_ACTIONS: &[&str] =
    &["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"];

/// Optional settings of a [`Vpc`].
#[derive(Clone, Debug, Default)]
pub struct VpcProps {
    /// IPv4 range. Default: `10.0.0.0/16`.
    pub cidr: Option<String>,
    /// Availability zones (one private subnet each), 2 to 3. Default: 2: enough for a cache and a search domain to
    /// survive a zone, and every interface endpoint is billed per zone.
    pub zones: Option<u32>,
    /// Services with an interface endpoint (`sqs`, `events`, `secretsmanager`...). Default (empty):
    /// [`DEFAULT_INTERFACE_ENDPOINTS`]. S3 and DynamoDB always get (free) gateway endpoints.
    pub interface_endpoints: Vec<String>,
    /// Key of the flow log group. Default: none.
    pub log_key: Option<Key>,
    /// Retention of the flow logs. Default: one year.
    pub log_retention_days: Option<u32>,
}

/// A VPC without internet access: private subnets, reaching AWS services through endpoints only.
#[derive(Clone, Debug)]
pub struct Vpc {
    handle: Handle<CfnVPC>,
    subnets: Vec<Val<String>>,
    path: String,
    cidr: String,
}

/// A /20 per subnet (4096 addresses): Lambda takes one address per network interface.
const SUBNET_BITS: u32 = 12;

impl Vpc {
    pub fn new(scope: &mut Scope, id: &str, props: VpcProps) -> Result<Vpc, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        let (zones, cidr, interface) = validate(&path, &props)?;
        let vpc = scope.add(
            "Resource",
            CfnVPC {
                cidr_block: Some(cidr.as_str().into()),
                // Interface endpoints with private DNS need both.
                enable_dns_hostnames: Some(true.into()),
                enable_dns_support: Some(true.into()),
                ..CfnVPC::new()
            },
        );
        let table = scope.add("PrivateRoutes", CfnRouteTable::new(vpc.ref_()));
        let mut subnets = Vec::new();
        for i in 0..zones {
            let subnet = scope.add(
                &format!("Private{}", i + 1),
                CfnSubnet {
                    cidr_block: Some(Val::select(i as usize, Val::cidr(cidr.as_str(), zones, SUBNET_BITS))),
                    availability_zone: Some(Val::select(i as usize, Val::get_azs(""))),
                    map_public_ip_on_launch: Some(false.into()),
                    ..CfnSubnet::new(vpc.ref_())
                },
            );
            scope.add(
                &format!("Private{}Routes", i + 1),
                CfnSubnetRouteTableAssociation::new(table.ref_(), subnet.ref_()),
            );
            subnets.push(subnet.ref_());
        }
        for service in ["s3", "dynamodb"] {
            scope.add(
                &format!("{}Endpoint", if service == "s3" { "S3" } else { "DynamoDb" }),
                CfnVPCEndpoint {
                    vpc_endpoint_type: Some(cfn_vpc_endpoint::VpcEndpointType::Gateway.into()),
                    service_name: Some(Val::sub(format!("com.amazonaws.${{AWS::Region}}.{service}"))),
                    route_table_ids: Some(Val::list([table.ref_()])),
                    ..CfnVPCEndpoint::new(vpc.ref_())
                },
            );
        }
        let v = Vpc { handle: vpc, subnets, path, cidr };
        v.add_interface_endpoints(&mut scope, &interface)?;
        v.add_flow_logs(&mut scope, &props)?;
        Ok(v)
    }

    /// An interface endpoint of each of `services` in every subnet, behind a security group that lets the VPC
    /// in on HTTPS.
    fn add_interface_endpoints(&self, scope: &mut Scope, services: &[String]) -> Result<(), ConstructError> {
        if services.is_empty() {
            return Ok(());
        }
        let sg = SecurityGroup::new(
            scope,
            "EndpointSecurityGroup",
            self,
            "HTTPS from the VPC to the interface endpoints",
            false,
        )?;
        sg.allow_ingress_cidr(scope, "FromVpc", self.cidr(), 443, "HTTPS from resources in the VPC");
        for service in services {
            let id: String = service.split(['-', '.']).map(capitalize).collect();
            scope.add(
                &format!("{id}Endpoint"),
                CfnVPCEndpoint {
                    vpc_endpoint_type: Some(cfn_vpc_endpoint::VpcEndpointType::Interface.into()),
                    service_name: Some(Val::sub(format!("com.amazonaws.${{AWS::Region}}.{service}"))),
                    private_dns_enabled: Some(true.into()),
                    subnet_ids: Some(Val::list(self.subnets.clone())),
                    security_group_ids: Some(Val::list([sg.id()])),
                    ..CfnVPCEndpoint::new(self.handle.ref_())
                },
            );
        }
        Ok(())
    }

    /// Flow logs of every accepted and rejected connection (cdk-nag `AwsSolutions-VPC7`), delivered by a role of
    /// their own.
    fn add_flow_logs(&self, scope: &mut Scope, props: &VpcProps) -> Result<(), ConstructError> {
        let logs = LogGroup::new(
            scope,
            "FlowLogs",
            LogGroupProps {
                retention_days: props.log_retention_days,
                encryption_key: props.log_key.clone(),
                removal: RemovalPolicy::Retain,
                ..LogGroupProps::default()
            },
        )?;
        let role = Role::new(
            scope,
            "FlowLogsRole",
            Principal::service("vpc-flow-logs.amazonaws.com"),
            RoleProps { description: Some(format!("Delivers the flow logs of {}", self.path)), ..RoleProps::default() },
        )?;
        role.add_to_policy(scope, PolicyStatement::allow(FLOW_LOG_DELIVERY_ACTIONS.iter().copied(), [logs.arn()]));
        scope.add(
            "FlowLog",
            CfnFlowLog {
                log_destination_type: Some(cfn_flow_log::LogDestinationType::CloudWatchLogs.into()),
                log_group_name: Some(logs.name()),
                deliver_logs_permission_arn: Some(role.arn()),
                traffic_type: Some(cfn_flow_log::TrafficType::All.into()),
                ..CfnFlowLog::new(self.handle.ref_(), cfn_flow_log::ResourceType::Vpc)
            },
        );
        Ok(())
    }

    /// `Ref`: the VPC id.
    pub fn id(&self) -> Val<String> {
        self.handle.ref_()
    }
    /// The IPv4 range (a literal: it is known at synth).
    pub fn cidr(&self) -> Val<String> {
        Val::from(self.cidr.as_str())
    }
    /// The private subnet ids, one per zone.
    pub fn subnet_ids(&self) -> Vec<Val<String>> {
        self.subnets.clone()
    }
    pub fn path(&self) -> &str {
        &self.path
    }
}

/// Checks the zones, the CIDR block and the endpoint services; returns the zones, the CIDR block and the services
/// of the interface endpoints, with their defaults filled in.
fn validate(path: &str, props: &VpcProps) -> Result<(u32, String, Vec<String>), ConstructError> {
    let zones = props.zones.unwrap_or(2);
    check_range(path, "availability zones", zones.into(), 2, 3)?;
    let cidr = props.cidr.clone().unwrap_or_else(|| "10.0.0.0/16".into());
    let prefix: Option<u32> = cidr.split_once('/').and_then(|(ip, p)| {
        (ip.split('.').count() == 4 && ip.split('.').all(|o| o.parse::<u8>().is_ok())).then_some(())?;
        p.parse().ok()
    });
    // Room for the subnets: at most /20 minus the bits the zones need.
    if !prefix.is_some_and(|p| (16..=18).contains(&p)) {
        return Err(ConstructError::Invalid {
            path: path.to_owned(),
            what: "VPC CIDR",
            value: cidr,
            allowed: "an IPv4 block from /16 to /18 (each subnet is a /20)".into(),
        });
    }
    let interface: Vec<String> = if props.interface_endpoints.is_empty() {
        DEFAULT_INTERFACE_ENDPOINTS.iter().map(|s| (*s).to_owned()).collect()
    } else {
        props.interface_endpoints.clone()
    };
    for service in &interface {
        if service.is_empty()
            || !service.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        {
            return Err(ConstructError::Invalid {
                path: path.to_owned(),
                what: "endpoint service",
                value: service.clone(),
                allowed: "a service name such as sqs or secretsmanager".into(),
            });
        }
    }
    Ok((zones, cidr, interface))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// A security group whose every rule has a description (cdk-nag `AwsSolutions-EC27`, checkov `CKV_AWS_23`).
#[derive(Clone, Debug)]
pub struct SecurityGroup {
    handle: Handle<CfnSecurityGroup>,
    path: String,
}

impl SecurityGroup {
    /// A security group in `vpc`. Without `allow_all_outbound` it allows no outbound traffic until rules are
    /// added (CloudFormation would otherwise add "all traffic anywhere": the group gets a rule that matches
    /// nothing instead).
    pub fn new(
        scope: &mut Scope,
        id: &str,
        vpc: &Vpc,
        description: &str,
        allow_all_outbound: bool,
    ) -> Result<SecurityGroup, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html (GroupDescription)
        if description.is_empty() || description.len() > 255 || !description.is_ascii() {
            return Err(ConstructError::Invalid {
                path,
                what: "security group description",
                value: description.to_owned(),
                allowed: "1 to 255 ASCII characters".into(),
            });
        }
        let egress = if allow_all_outbound {
            cfn_security_group::Egress {
                cidr_ip: Some("0.0.0.0/0".into()),
                description: Some("All outbound traffic".into()),
                ..cfn_security_group::Egress::new("-1")
            }
        } else {
            cfn_security_group::Egress {
                cidr_ip: Some("255.255.255.255/32".into()),
                description: Some("Disallow all traffic".into()),
                from_port: Some(252.into()),
                to_port: Some(86.into()),
                ..cfn_security_group::Egress::new("icmp")
            }
        };
        let handle = scope.add(
            "Resource",
            CfnSecurityGroup {
                vpc_id: Some(vpc.id()),
                security_group_egress: Some(Val::list([egress])),
                ..CfnSecurityGroup::new(description)
            },
        );
        Ok(SecurityGroup { handle, path })
    }

    /// `Fn::GetAtt GroupId`.
    pub fn id(&self) -> Val<String> {
        self.handle.attr_group_id()
    }
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Allows TCP `port` in from members of `source`, at `<group>/<id>`.
    pub fn allow_ingress_from(
        &self,
        scope: &mut Scope,
        id: &str,
        source: &SecurityGroup,
        port: u16,
        description: &str,
    ) {
        let group = self.id();
        crate::common::at_path(scope, &self.path.clone(), |s| {
            s.add(
                id,
                CfnSecurityGroupIngress {
                    group_id: Some(group),
                    source_security_group_id: Some(source.id()),
                    from_port: Some(i64::from(port).into()),
                    to_port: Some(i64::from(port).into()),
                    description: Some(description.into()),
                    ..CfnSecurityGroupIngress::new("tcp")
                },
            );
        });
    }

    /// Allows TCP `port` in from `cidr`, at `<group>/<id>`.
    pub fn allow_ingress_cidr(&self, scope: &mut Scope, id: &str, cidr: Val<String>, port: u16, description: &str) {
        let group = self.id();
        crate::common::at_path(scope, &self.path.clone(), |s| {
            s.add(
                id,
                CfnSecurityGroupIngress {
                    group_id: Some(group),
                    cidr_ip: Some(cidr),
                    from_port: Some(i64::from(port).into()),
                    to_port: Some(i64::from(port).into()),
                    description: Some(description.into()),
                    ..CfnSecurityGroupIngress::new("tcp")
                },
            );
        });
    }

    /// Allows TCP `port` out to members of `target`, at `<group>/<id>`.
    pub fn allow_egress_to(&self, scope: &mut Scope, id: &str, target: &SecurityGroup, port: u16, description: &str) {
        let group = self.id();
        crate::common::at_path(scope, &self.path.clone(), |s| {
            s.add(
                id,
                CfnSecurityGroupEgress {
                    destination_security_group_id: Some(target.id()),
                    from_port: Some(i64::from(port).into()),
                    to_port: Some(i64::from(port).into()),
                    description: Some(description.into()),
                    ..CfnSecurityGroupEgress::new(group, "tcp")
                },
            );
        });
    }

    /// Allows TCP `port` out to `cidr`, at `<group>/<id>`.
    pub fn allow_egress_cidr(&self, scope: &mut Scope, id: &str, cidr: Val<String>, port: u16, description: &str) {
        let group = self.id();
        crate::common::at_path(scope, &self.path.clone(), |s| {
            s.add(
                id,
                CfnSecurityGroupEgress {
                    cidr_ip: Some(cidr),
                    from_port: Some(i64::from(port).into()),
                    to_port: Some(i64::from(port).into()),
                    description: Some(description.into()),
                    ..CfnSecurityGroupEgress::new(group, "tcp")
                },
            );
        });
    }
}
