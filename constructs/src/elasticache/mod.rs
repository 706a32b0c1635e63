//! Amazon ElastiCache: the generated CloudFormation types and [`ServerlessCache`]: Redis in private subnets,
//! reachable only from the security groups it is opened to, encrypted at rest with a customer managed key and in
//! transit (serverless caches always use TLS), with daily snapshots and usage limits that cap the bill.

mod generated;
pub(crate) mod rules;

pub use generated::*;

use synth::{Handle, Scope, Val};

use crate::common::RemovalPolicy;
use crate::ec2::{SecurityGroup, Vpc};
use crate::error::{ConstructError, check_range};
use crate::kms::Key;

/// Redis' port; serverless caches also serve reads on the next port.
/// <https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/serverless-connecting.html>
pub const PORT: u16 = 6379;
pub const READER_PORT: u16 = 6380;

/// Optional settings of a [`ServerlessCache`].
#[derive(Clone, Debug, Default)]
pub struct ServerlessCacheProps {
    /// Default: none (an AWS owned key); the platform passes its key.
    pub encryption_key: Option<Key>,
    /// Most data stored, in GB (1 to 5000). Default: 10: a hot-key cache, and a ceiling on the bill.
    pub max_data_gb: Option<u32>,
    /// Daily snapshots kept, 0 to 35. Default: 7: a week to notice a bad write before the last good copy goes.
    pub snapshot_retention_days: Option<u32>,
    /// Redis major version. Default: `7`.
    pub major_version: Option<String>,
    /// Default: retain (a final snapshot is the cache's only way to survive a deletion).
    pub removal: RemovalPolicy,
}

/// A serverless Redis cache.
#[derive(Clone, Debug)]
pub struct ServerlessCache {
    handle: Handle<CfnServerlessCache>,
    security_group: SecurityGroup,
}

impl ServerlessCache {
    /// A cache in the private subnets of `vpc`, with its own security group (no rule until [`Self::allow_from`]).
    pub fn new(
        scope: &mut Scope,
        id: &str,
        vpc: &Vpc,
        props: ServerlessCacheProps,
    ) -> Result<ServerlessCache, ConstructError> {
        let name = format!("{}-{}", scope.stack().name(), id).to_ascii_lowercase();
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        // https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateServerlessCache.html
        if name.len() > 40 || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(ConstructError::Invalid {
                path,
                what: "cache name",
                value: name,
                allowed: "at most 40 characters from a-z 0-9 - (the stack name and the construct id)".into(),
            });
        }
        let max_gb = props.max_data_gb.unwrap_or(10);
        check_range(&path, "maximum data (GB)", max_gb.into(), 1, 5000)?;
        let snapshots = props.snapshot_retention_days.unwrap_or(7);
        check_range(&path, "snapshot retention (days)", snapshots.into(), 0, 35)?;
        let security_group = SecurityGroup::new(&mut scope, "SecurityGroup", vpc, "Redis clients only", false)?;
        let handle = scope.add(
            "Resource",
            CfnServerlessCache {
                description: Some(format!("{path}: hot-key cache").into()),
                major_engine_version: Some(props.major_version.as_deref().unwrap_or("7").into()),
                kms_key_id: props.encryption_key.as_ref().map(Key::arn),
                subnet_ids: Some(Val::list(vpc.subnet_ids())),
                security_group_ids: Some(Val::list([security_group.id()])),
                snapshot_retention_limit: Some(snapshots.into()),
                daily_snapshot_time: Some("03:00".into()),
                cache_usage_limits: Some(
                    cfn_serverless_cache::CacheUsageLimits {
                        data_storage: Some(
                            cfn_serverless_cache::DataStorage {
                                maximum: Some(max_gb.into()),
                                ..cfn_serverless_cache::DataStorage::new("GB")
                            }
                            .into(),
                        ),
                        ..Default::default()
                    }
                    .into(),
                ),
                ..CfnServerlessCache::new("redis", name.as_str())
            },
        );
        props.removal.apply(scope.stack_mut().entry_mut(&handle));
        Ok(ServerlessCache { handle, security_group })
    }

    /// `Fn::GetAtt Endpoint.Address`.
    pub fn endpoint(&self) -> Val<String> {
        self.handle.attr_endpoint_address()
    }
    /// `Fn::GetAtt Arn`.
    pub fn arn(&self) -> Val<String> {
        self.handle.attr_arn()
    }
    pub fn security_group(&self) -> &SecurityGroup {
        &self.security_group
    }

    /// Opens the cache (both ports) to members of `clients`, and `clients` to the cache, at `<id>...`.
    pub fn allow_from(&self, scope: &mut Scope, id: &str, clients: &SecurityGroup) {
        for (suffix, port) in [("", PORT), ("Reader", READER_PORT)] {
            self.security_group.allow_ingress_from(
                scope,
                &format!("{id}{suffix}"),
                clients,
                port,
                "Redis from the functions that use the cache",
            );
            clients.allow_egress_to(
                scope,
                &format!("ToCache{suffix}"),
                &self.security_group,
                port,
                "Redis to the cache",
            );
        }
    }
}
