//! Amazon OpenSearch Service: the generated CloudFormation types and [`Domain`]: encrypted at rest and between
//! nodes, HTTPS only with TLS 1.2, fine-grained access control with an IAM master, every log type published, in a
//! VPC, and an access policy naming its principals.

mod generated;
mod grants;
pub(crate) mod rules;

pub use generated::*;
pub use grants::MASTER_ACTIONS;

use synth::{Handle, Scope, Val};

use crate::common::RemovalPolicy;
use crate::ec2::{SecurityGroup, Vpc};
use crate::error::{ConstructError, check_range};
use crate::iam::{PolicyResource, PolicyStatement, Principal};
use crate::kms::Key;
use crate::logs::{LogGroup, LogGroupProps};

/// The TLS policy: TLS 1.2 minimum.
/// <https://docs.aws.amazon.com/opensearch-service/latest/developerguide/infrastructure-security.html>
pub const TLS_POLICY: &str = "Policy-Min-TLS-1-2-2019-07";

/// Default GB of gp3 storage per data node.
const DEFAULT_VOLUME_GB: u32 = 20;

/// Dedicated master nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DedicatedMasters {
    pub instance_type: String,
    /// 3 or 5 (an odd quorum).
    pub count: u32,
}

/// Optional settings of a [`Domain`].
#[derive(Clone, Debug, Default)]
pub struct DomainProps {
    /// Default: `OpenSearch_2.13`.
    pub engine_version: Option<String>,
    /// Data node type. Default: `t3.small.search`, the smallest that supports fine-grained access control and
    /// encryption at rest; size up for production.
    pub instance_type: Option<String>,
    /// Data nodes. Default: one per zone (1 without zone awareness).
    pub instance_count: Option<u32>,
    /// Default: none (cdk-nag `AwsSolutions-OS4` finds it; production stages should set 3).
    pub dedicated_masters: Option<DedicatedMasters>,
    /// Zones the data nodes spread over (2 or 3). Default: none (one zone; cdk-nag `AwsSolutions-OS7` finds it).
    pub zones: Option<u32>,
    /// GB of gp3 storage per data node. Default: 20.
    pub volume_gb: Option<u32>,
    /// Key for data at rest and the logs. Default: none (the AWS managed key for OpenSearch).
    pub encryption_key: Option<Key>,
    /// Retention of the log group. Default: one year.
    pub log_retention_days: Option<u32>,
    /// Default: retain.
    pub removal: RemovalPolicy,
    /// The domain name, 3 to 28 characters (a-z 0-9 -, starting with a letter). Default: `<stage>-<id>` in lower
    /// case. The name is set so that the access policy and grants can name the domain without referring to it (a
    /// policy of the domain that refers to the domain, or to a role that refers to it, is a cycle).
    pub name: Option<String>,
}

/// An OpenSearch Service domain.
#[derive(Clone, Debug)]
pub struct Domain {
    handle: Handle<PolicyResource<CfnDomain>>,
    path: String,
    name: String,
    security_group: SecurityGroup,
}

impl Domain {
    /// A domain in `vpc` whose fine-grained access control master is the IAM principal `master_arn`.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        vpc: &Vpc,
        master_arn: Val<String>,
        props: DomainProps,
    ) -> Result<Domain, ConstructError> {
        let default_name = format!("{}-{id}", scope.stack().props().stage).to_ascii_lowercase();
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        let name = props.name.clone().unwrap_or(default_name);
        let count = validate(&path, &name, &props)?;
        let security_group = SecurityGroup::new(&mut scope, "SecurityGroup", vpc, "OpenSearch clients only", false)?;
        let logs = LogGroup::new(
            &mut scope,
            "Logs",
            LogGroupProps {
                retention_days: props.log_retention_days,
                encryption_key: props.encryption_key.clone(),
                // Named, so its own resource policy can name it without referring to it.
                name: Some(Val::from(format!("/aws/opensearch/{name}").as_str())),
                ..LogGroupProps::default()
            },
        )?;
        let streams = Val::join("", [logs.arn_without_streams(), Val::from(":*")]);
        logs.add_to_resource_policy(
            &mut scope,
            // https://docs.aws.amazon.com/opensearch-service/latest/developerguide/createdomain-configure-slow-logs.html
            PolicyStatement::allow(crate::logs::WRITE_ACTIONS.iter().copied(), [streams])
                .with_principal(Principal::service("es.amazonaws.com"))
                .with_sid("OpenSearchPublishes")
                .with_condition("StringEquals", "aws:SourceAccount", synth::account_id()),
        );
        let subnets: Vec<Val<String>> = vpc.subnet_ids().into_iter().take(props.zones.unwrap_or(1) as usize).collect();
        let cfn = CfnDomain {
            vpc_options: Some(
                cfn_domain::VPCOptions {
                    subnet_ids: Some(Val::list(subnets)),
                    security_group_ids: Some(Val::list([security_group.id()])),
                    ..Default::default()
                }
                .into(),
            ),
            ..domain_properties(&name, &props, count, &logs, master_arn.clone())
        };
        let mut resource = PolicyResource::new(cfn, |d, p| d.access_policies = Some(p.into()));
        resource.policy.add(
            PolicyStatement::allow(MASTER_ACTIONS.iter().copied(), [domain_paths(&name)])
                .with_principal(Principal::Aws(master_arn))
                .with_sid("Master"),
        );
        let handle = scope.add("Resource", resource);
        props.removal.apply(scope.stack_mut().entry_mut(&handle));
        Ok(Domain { handle, path, name, security_group })
    }

    /// `Fn::GetAtt DomainEndpoint`: the host name (no scheme).
    pub fn endpoint(&self) -> Val<String> {
        self.handle.attr_domain_endpoint()
    }
    /// `Fn::GetAtt Arn`.
    pub fn arn(&self) -> Val<String> {
        self.handle.attr_arn()
    }
    /// The domain name.
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn security_group(&self) -> &SecurityGroup {
        &self.security_group
    }
}

/// Checks the name, the zones and node counts and the volume; returns the number of data nodes.
fn validate(path: &str, name: &str, props: &DomainProps) -> Result<u32, ConstructError> {
    // https://docs.aws.amazon.com/opensearch-service/latest/developerguide/createupdatedomains.html#createdomains
    let name_ok = (3..=28).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !name_ok {
        return Err(ConstructError::Invalid {
            path: path.to_owned(),
            what: "domain name",
            value: name.to_owned(),
            allowed: "3 to 28 characters from a-z 0-9 -, starting with a letter".into(),
        });
    }
    if let Some(z) = props.zones {
        check_range(path, "zones", z.into(), 2, 3)?;
    }
    let count = props.instance_count.unwrap_or(props.zones.unwrap_or(1));
    check_range(path, "data nodes", count.into(), 1, 80)?;
    if let Some(z) = props.zones
        && count / z * z != count
    {
        return Err(ConstructError::Conflict {
            path: path.to_owned(),
            problem: format!("{count} data nodes cannot spread evenly over {z} zones"),
        });
    }
    if let Some(m) = &props.dedicated_masters
        && !matches!(m.count, 3 | 5)
    {
        return Err(ConstructError::Invalid {
            path: path.to_owned(),
            what: "dedicated master count",
            value: m.count.to_string(),
            allowed: "3 or 5".into(),
        });
    }
    check_range(path, "volume (GB)", props.volume_gb.unwrap_or(DEFAULT_VOLUME_GB).into(), 10, 16_384)?;
    Ok(count)
}

/// The domain's properties but its network: `count` data nodes, encrypted, HTTPS with TLS 1.2 only,
/// fine-grained access control with `master_arn` as master, every log type published to `logs`.
fn domain_properties(
    name: &str,
    props: &DomainProps,
    count: u32,
    logs: &LogGroup,
    master_arn: Val<String>,
) -> CfnDomain {
    let log_options = ["SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS", "ES_APPLICATION_LOGS", "AUDIT_LOGS"].map(|kind| {
        (
            kind,
            Val::from(cfn_domain::LogPublishingOption {
                cloud_watch_logs_log_group_arn: Some(logs.arn_without_streams()),
                enabled: Some(true.into()),
            }),
        )
    });
    CfnDomain {
        domain_name: Some(name.into()),
        engine_version: Some(props.engine_version.as_deref().unwrap_or("OpenSearch_2.13").into()),
        cluster_config: Some(
            cfn_domain::ClusterConfig {
                instance_type: Some(props.instance_type.as_deref().unwrap_or("t3.small.search").into()),
                instance_count: Some(count.into()),
                dedicated_master_enabled: Some(props.dedicated_masters.is_some().into()),
                dedicated_master_type: props.dedicated_masters.as_ref().map(|m| m.instance_type.as_str().into()),
                dedicated_master_count: props.dedicated_masters.as_ref().map(|m| m.count.into()),
                zone_awareness_enabled: Some(props.zones.is_some().into()),
                zone_awareness_config: props
                    .zones
                    .map(|z| cfn_domain::ZoneAwarenessConfig { availability_zone_count: Some(z.into()) }.into()),
                ..Default::default()
            }
            .into(),
        ),
        ebs_options: Some(
            cfn_domain::EBSOptions {
                ebs_enabled: Some(true.into()),
                volume_size: Some(props.volume_gb.unwrap_or(DEFAULT_VOLUME_GB).into()),
                volume_type: Some("gp3".into()),
                ..Default::default()
            }
            .into(),
        ),
        encryption_at_rest_options: Some(
            cfn_domain::EncryptionAtRestOptions {
                enabled: Some(true.into()),
                kms_key_id: props.encryption_key.as_ref().map(Key::arn),
            }
            .into(),
        ),
        node_to_node_encryption_options: Some(
            cfn_domain::NodeToNodeEncryptionOptions { enabled: Some(true.into()) }.into(),
        ),
        domain_endpoint_options: Some(
            cfn_domain::DomainEndpointOptions {
                enforce_https: Some(true.into()),
                tls_security_policy: Some(TLS_POLICY.into()),
                ..Default::default()
            }
            .into(),
        ),
        advanced_security_options: Some(
            cfn_domain::AdvancedSecurityOptionsInput {
                enabled: Some(true.into()),
                internal_user_database_enabled: Some(false.into()),
                anonymous_auth_enabled: Some(false.into()),
                master_user_options: Some(
                    cfn_domain::MasterUserOptions { master_user_arn: Some(master_arn), ..Default::default() }.into(),
                ),
                ..Default::default()
            }
            .into(),
        ),
        log_publishing_options: Some(Val::map(log_options)),
        ..CfnDomain::new()
    }
}

/// The domain's paths, by name rather than by reference: `arn:...:es:<region>:<account>:domain/<name>/*`.
fn domain_paths(name: &str) -> Val<String> {
    domain_path(name, "*")
}

/// Paths `paths` of the domain: `arn:...:es:<region>:<account>:domain/<name>/<paths>`.
fn domain_path(name: &str, paths: &str) -> Val<String> {
    crate::common::arn("es", &format!("domain/{name}/{paths}"))
}
