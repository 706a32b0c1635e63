//! [`Table`]: a DynamoDB table (or a global table when replicas are asked for) with safe defaults.

use std::collections::BTreeMap;

use synth::{Handle, Scope, Val};

use super::generated::{CfnGlobalTable, CfnTable, cfn_global_table as gt, cfn_table as t};
use crate::applicationautoscaling::{CfnScalableTarget, CfnScalingPolicy, cfn_scalable_target, cfn_scaling_policy};
use crate::common::RemovalPolicy;
use crate::error::{ConstructError, check_range};
use crate::kms::{Key, KeyProps};

/// The type of a key attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttributeKind {
    String,
    Number,
    Binary,
}

impl AttributeKind {
    fn letter(self) -> &'static str {
        match self {
            AttributeKind::String => "S",
            AttributeKind::Number => "N",
            AttributeKind::Binary => "B",
        }
    }
}

/// A key attribute: name and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub kind: AttributeKind,
}

impl Attribute {
    pub fn string(name: &str) -> Self {
        Attribute { name: name.to_owned(), kind: AttributeKind::String }
    }
    pub fn number(name: &str) -> Self {
        Attribute { name: name.to_owned(), kind: AttributeKind::Number }
    }
    pub fn binary(name: &str) -> Self {
        Attribute { name: name.to_owned(), kind: AttributeKind::Binary }
    }
}

/// Which attributes an index copies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Projection {
    /// Every attribute. The default: an index query then never needs a second read of the table.
    #[default]
    All,
    KeysOnly,
    /// The keys plus these attributes.
    Include(Vec<String>),
}

/// A global secondary index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobalSecondaryIndex {
    pub name: String,
    pub partition_key: Attribute,
    pub sort_key: Option<Attribute>,
    pub projection: Projection,
}

/// What the stream records carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamView {
    NewAndOldImages,
    NewImage,
    OldImage,
    KeysOnly,
}

/// Auto scaling bounds of provisioned capacity (read or write units).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    /// Fewest units auto scaling provisions (at least 1).
    #[schemars(range(min = 1))]
    pub min: u32,
    /// Most units auto scaling provisions.
    #[schemars(range(min = 1))]
    pub max: u32,
    /// Consumed/provisioned ratio auto scaling aims for, 20 to 90 percent
    /// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html>).
    #[schemars(range(min = 20, max = 90))]
    pub target_utilization_percent: u32,
}

/// How capacity is paid for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Billing {
    /// Pay per request. The default: no capacity planning, no throttling from a forgotten limit, and no cost when
    /// idle; switch hot, steady tables to provisioned when the bill says so.
    #[default]
    OnDemand,
    /// Provisioned capacity with target-tracking auto scaling of reads and writes (of the table and each index).
    Provisioned { read: Capacity, write: Capacity },
}

/// A replica of a global table in another region, with the ARN of a key of that region.
#[derive(Clone, Debug, PartialEq)]
pub struct Replica {
    pub region: String,
    /// A customer managed key in `region` (KMS keys are regional), typically an output of a stack there.
    pub encryption_key_arn: Val<String>,
}

/// Optional settings of a [`Table`].
#[derive(Clone, Debug, Default)]
pub struct TableProps {
    /// Sort key. Default: none (a table of single items per partition).
    pub sort_key: Option<Attribute>,
    /// Global secondary indexes (at most 20). Default: none. Grants then add `<arn>/index/*` for reads.
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    /// Attribute holding the expiry time (epoch seconds, a number). Default: none (items never expire).
    pub time_to_live_attribute: Option<String>,
    /// Stream of item changes. Default: none: a stream is a contract with its consumers; turn it on where
    /// something reads it. Replicas need `NewAndOldImages`.
    pub stream: Option<StreamView>,
    /// Default: on demand (see [`Billing::OnDemand`]).
    pub billing: Billing,
    /// The customer managed key. Default: a new key for this table (rotation on), so the table can be cut off by
    /// disabling one key, and checkov `CKV_AWS_119` holds. Pass one to share a key between stores.
    pub encryption_key: Option<Key>,
    /// Point-in-time recovery (35 days of restores to any second). Default (`None`): on (cdk-nag
    /// `AwsSolutions-DDB3`): the only protection against a bad write that replicates everywhere.
    pub point_in_time_recovery: Option<bool>,
    /// Deletion protection. Default (`None`): on: a retained table can still be deleted by hand; this stops that
    /// too, until someone turns it off on purpose.
    pub deletion_protection: Option<bool>,
    /// Default: retain (on delete and on replace).
    pub removal: RemovalPolicy,
    /// Replicas in other regions. Default: none. When given, the table is an `AWS::DynamoDB::GlobalTable` with a
    /// replica in this stack's region plus these.
    pub replicas: Vec<Replica>,
    /// CloudWatch Contributor Insights (most accessed keys). Default: off: it is billed per event, turn it on to
    /// find a hot partition.
    pub contributor_insights: bool,
    /// The table name. Default: generated by CloudFormation, so stages and stacks never collide and a replacement
    /// is possible.
    pub table_name: Option<String>,
}

#[derive(Clone, Debug)]
enum Inner {
    Single(Handle<CfnTable>),
    Global(Handle<CfnGlobalTable>),
    /// A global table's replica in `region`, seen from a stack of that region: the table is the global table's
    /// (`Ref`: the same name in every region), no resource of its own.
    Replica {
        of: Handle<CfnGlobalTable>,
        region: String,
    },
}

/// A DynamoDB table.
#[derive(Clone, Debug)]
pub struct Table {
    inner: Inner,
    path: String,
    key: Option<Key>,
    indexes: Vec<String>,
    stream: Option<StreamView>,
}

/// DynamoDB's limits: <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html>.
const MAX_GSIS: usize = 20;
const MAX_PROJECTED: usize = 100;
/// Default per-table capacity quota (reads or writes), the ceiling auto scaling may reach.
const MAX_CAPACITY: u32 = 40_000;

impl Table {
    /// A table keyed by `partition_key`.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        partition_key: Attribute,
        props: TableProps,
    ) -> Result<Table, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        let attributes = validate(&path, &partition_key, &props, scope.stack().region())?;

        let key = match props.encryption_key.clone() {
            Some(k) => k,
            None => Key::new(
                &mut scope,
                "Key",
                KeyProps { description: Some(format!("DynamoDB table {path}")), ..KeyProps::default() },
            )?,
        };
        let pitr = props.point_in_time_recovery.unwrap_or(true);
        let protection = props.deletion_protection.unwrap_or(true);
        let inner = if props.replicas.is_empty() {
            Inner::Single(single(&mut scope, &partition_key, &props, &attributes, &key, pitr, protection))
        } else {
            Inner::Global(global(&mut scope, &partition_key, &props, &attributes, &key, pitr, protection))
        };
        match &inner {
            Inner::Single(h) => props.removal.apply(scope.stack_mut().entry_mut(h)),
            Inner::Global(h) => props.removal.apply(scope.stack_mut().entry_mut(h)),
            Inner::Replica { .. } => {}
        }
        if let (Inner::Single(h), Billing::Provisioned { read, write }) = (&inner, props.billing) {
            autoscaling(&mut scope, h, &props.global_secondary_indexes, read, write);
        }
        Ok(Table {
            inner,
            path,
            key: Some(key),
            indexes: props.global_secondary_indexes.iter().map(|i| i.name.clone()).collect(),
            stream: props.stream,
        })
    }

    /// The replica of this global table in `region` (one of its replicas), encrypted with `key` (the replica's key
    /// in that region): for grants, environment and metrics in a stack of `region`. `None` when the table is not
    /// global.
    pub fn replica_in(&self, region: &str, key: Key) -> Option<Table> {
        let Inner::Global(of) = &self.inner else { return None };
        Some(Table {
            inner: Inner::Replica { of: of.clone(), region: region.to_owned() },
            path: self.path.clone(),
            key: Some(key),
            indexes: self.indexes.clone(),
            stream: self.stream,
        })
    }

    /// `Fn::GetAtt Arn` (for a replica: the table's ARN in the replica's region).
    pub fn arn(&self) -> Val<String> {
        match &self.inner {
            Inner::Single(h) => h.attr_arn(),
            Inner::Global(h) => h.attr_arn(),
            Inner::Replica { of, region } => Val::sub_with(
                format!("arn:${{AWS::Partition}}:dynamodb:{region}:${{AWS::AccountId}}:table/${{Name}}"),
                [("Name", of.ref_())],
            ),
        }
    }
    /// `Ref`: the table name (a global table's replicas share it).
    pub fn name(&self) -> Val<String> {
        match &self.inner {
            Inner::Single(h) => h.ref_(),
            Inner::Global(h) => h.ref_(),
            Inner::Replica { of, .. } => of.ref_(),
        }
    }
    /// `Fn::GetAtt StreamArn` (the stream of this region's replica). For a replica seen from its own region,
    /// `<arn>/stream/*`: CloudFormation gives the stream's ARN of the global table's own region only, so this is
    /// good for a grant, not for an event source (see [`Table::is_replica`]).
    pub fn stream_arn(&self) -> Val<String> {
        match &self.inner {
            Inner::Single(h) => h.attr_stream_arn(),
            Inner::Global(h) => h.attr_stream_arn(),
            Inner::Replica { .. } => Val::join("", [self.arn(), Val::from("/stream/*")]),
        }
    }
    /// True for a replica made by [`Table::replica_in`]: its stream's ARN is not known to the template.
    pub fn is_replica(&self) -> bool {
        matches!(self.inner, Inner::Replica { .. })
    }
    /// ARN of index `name`: `<arn>/index/<name>`.
    pub fn index_arn(&self, name: &str) -> Val<String> {
        Val::join("", [self.arn(), Val::from(format!("/index/{name}").as_str())])
    }
    pub fn path(&self) -> &str {
        &self.path
    }
    /// The logical id of the table resource.
    pub fn logical_id(&self) -> &str {
        match &self.inner {
            Inner::Single(h) => h.logical_id(),
            Inner::Global(h) | Inner::Replica { of: h, .. } => h.logical_id(),
        }
    }
    /// True when the table is an `AWS::DynamoDB::GlobalTable` (or a replica of one).
    pub fn is_global(&self) -> bool {
        matches!(self.inner, Inner::Global(_) | Inner::Replica { .. })
    }
    pub fn has_indexes(&self) -> bool {
        !self.indexes.is_empty()
    }
    pub fn stream(&self) -> Option<StreamView> {
        self.stream
    }
    /// The key the table is encrypted with.
    pub fn encryption_key(&self) -> Option<&Key> {
        self.key.as_ref()
    }
}

fn key_error(path: &str, problem: String) -> ConstructError {
    ConstructError::KeySchema { path: path.to_owned(), problem }
}

/// Checks names and types of every key; returns the attribute definitions (name → type), sorted by name.
fn validate(
    path: &str,
    pk: &Attribute,
    props: &TableProps,
    region: &str,
) -> Result<BTreeMap<String, AttributeKind>, ConstructError> {
    let mut attrs: BTreeMap<String, AttributeKind> = BTreeMap::new();
    let mut declare = |a: &Attribute, what: &str| -> Result<(), ConstructError> {
        // Key attribute names: 1 to 255 bytes.
        if a.name.is_empty() || a.name.len() > 255 {
            return Err(key_error(path, format!("{what} name {:?} must be 1 to 255 characters", a.name)));
        }
        match attrs.get(&a.name) {
            Some(k) if *k != a.kind => Err(key_error(
                path,
                format!(
                    "attribute {:?} is declared as {} and as {}; an attribute has one type",
                    a.name,
                    k.letter(),
                    a.kind.letter()
                ),
            )),
            _ => {
                attrs.insert(a.name.clone(), a.kind);
                Ok(())
            }
        }
    };
    declare(pk, "partition key")?;
    if let Some(sk) = &props.sort_key {
        if sk.name == pk.name {
            return Err(key_error(
                path,
                format!("partition key and sort key are both {:?}; use two attributes", pk.name),
            ));
        }
        declare(sk, "sort key")?;
    }
    if props.global_secondary_indexes.len() > MAX_GSIS {
        return Err(ConstructError::OutOfRange {
            path: path.to_owned(),
            what: "number of global secondary indexes",
            value: props.global_secondary_indexes.len().to_string(),
            allowed: format!("0 to {MAX_GSIS}"),
        });
    }
    let mut names = std::collections::BTreeSet::new();
    let mut projected = 0;
    for gsi in &props.global_secondary_indexes {
        let ok = (3..=255).contains(&gsi.name.len())
            && gsi.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok {
            return Err(ConstructError::Invalid {
                path: path.to_owned(),
                what: "index name",
                value: gsi.name.clone(),
                allowed: "3 to 255 characters from A-Z a-z 0-9 _ - .".into(),
            });
        }
        if !names.insert(gsi.name.as_str()) {
            return Err(ConstructError::Duplicate {
                path: path.to_owned(),
                what: "index name",
                value: gsi.name.clone(),
            });
        }
        declare(&gsi.partition_key, "index partition key")?;
        if let Some(sk) = &gsi.sort_key {
            if sk.name == gsi.partition_key.name {
                return Err(key_error(
                    path,
                    format!("index {:?}: partition key and sort key are both {:?}", gsi.name, sk.name),
                ));
            }
            declare(sk, "index sort key")?;
        }
        if let Projection::Include(a) = &gsi.projection {
            if a.is_empty() {
                return Err(ConstructError::Invalid {
                    path: path.to_owned(),
                    what: "projection of index",
                    value: gsi.name.clone(),
                    allowed: "Include needs at least one attribute; use KeysOnly for none".into(),
                });
            }
            projected += a.len();
        }
    }
    if projected > MAX_PROJECTED {
        return Err(ConstructError::OutOfRange {
            path: path.to_owned(),
            what: "number of projected attributes over all indexes",
            value: projected.to_string(),
            allowed: format!("at most {MAX_PROJECTED}"),
        });
    }
    if let Some(ttl) = &props.time_to_live_attribute {
        if let Some(kind) = attrs.get(ttl)
            && *kind != AttributeKind::Number
        {
            return Err(key_error(
                path,
                format!(
                    "time to live attribute {ttl:?} is a key attribute of type {}; it must hold a number (epoch seconds)",
                    kind.letter()
                ),
            ));
        }
        if ttl.is_empty() {
            return Err(ConstructError::Invalid {
                path: path.to_owned(),
                what: "time to live attribute",
                value: ttl.clone(),
                allowed: "a non-empty attribute name".into(),
            });
        }
    }
    if let Billing::Provisioned { read, write } = props.billing {
        for (what, c) in [("read", read), ("write", write)] {
            let label: &'static str = if what == "read" { "minimum read capacity" } else { "minimum write capacity" };
            check_range(path, label, c.min.into(), 1, MAX_CAPACITY.into())?;
            if c.max < c.min || c.max > MAX_CAPACITY {
                return Err(ConstructError::OutOfRange {
                    path: path.to_owned(),
                    what: if what == "read" { "maximum read capacity" } else { "maximum write capacity" },
                    value: c.max.to_string(),
                    allowed: format!("{} (the minimum) to {MAX_CAPACITY}", c.min),
                });
            }
            check_range(path, "target utilization (%)", c.target_utilization_percent.into(), 20, 90)?;
        }
    }
    if !props.replicas.is_empty() && props.stream != Some(StreamView::NewAndOldImages) {
        return Err(ConstructError::Conflict {
            path: path.to_owned(),
            problem: "replicas need stream NewAndOldImages (global tables replicate through the stream)".into(),
        });
    }
    let mut regions = std::collections::BTreeSet::new();
    for r in &props.replicas {
        let shape_ok = r.region.split('-').count() >= 3
            && r.region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !shape_ok {
            return Err(ConstructError::Invalid {
                path: path.to_owned(),
                what: "replica region",
                value: r.region.clone(),
                allowed: "a region name such as us-west-2".into(),
            });
        }
        if r.region == region {
            return Err(ConstructError::Conflict {
                path: path.to_owned(),
                problem: format!("replica region {} is the table's own region; list only other regions", r.region),
            });
        }
        if !regions.insert(r.region.as_str()) {
            return Err(ConstructError::Duplicate {
                path: path.to_owned(),
                what: "replica region",
                value: r.region.clone(),
            });
        }
    }
    Ok(attrs)
}

fn single(
    scope: &mut Scope,
    pk: &Attribute,
    props: &TableProps,
    attributes: &BTreeMap<String, AttributeKind>,
    key: &Key,
    pitr: bool,
    protection: bool,
) -> Handle<CfnTable> {
    let kind = |k: AttributeKind| match k {
        AttributeKind::String => t::AttributeType::S,
        AttributeKind::Number => t::AttributeType::N,
        AttributeKind::Binary => t::AttributeType::B,
    };
    let schema = |pk: &Attribute, sk: &Option<Attribute>| {
        let mut v = vec![t::KeySchemaItem::new(pk.name.as_str(), "HASH")];
        if let Some(sk) = sk {
            v.push(t::KeySchemaItem::new(sk.name.as_str(), "RANGE"));
        }
        Val::list(v)
    };
    let provisioned = match props.billing {
        Billing::OnDemand => None,
        Billing::Provisioned { read, write } => Some(t::ProvisionedThroughput::new(read.min, write.min)),
    };
    let gsis: Vec<t::GlobalSecondaryIndex> = props
        .global_secondary_indexes
        .iter()
        .map(|g| t::GlobalSecondaryIndex {
            provisioned_throughput: provisioned.clone().map(Val::from),
            ..t::GlobalSecondaryIndex::new(
                g.name.as_str(),
                schema(&g.partition_key, &g.sort_key),
                projection_t(&g.projection),
            )
        })
        .collect();
    let cfn = CfnTable {
        attribute_definitions: Some(Val::list(
            attributes.iter().map(|(n, k)| t::AttributeDefinition::new(n.as_str(), kind(*k))),
        )),
        billing_mode: Some(
            match props.billing {
                Billing::OnDemand => t::BillingMode::PayPerRequest,
                Billing::Provisioned { .. } => t::BillingMode::Provisioned,
            }
            .into(),
        ),
        provisioned_throughput: provisioned.map(Val::from),
        global_secondary_indexes: (!gsis.is_empty()).then(|| Val::list(gsis)),
        point_in_time_recovery_specification: Some(
            t::PointInTimeRecoverySpecification {
                point_in_time_recovery_enabled: Some(pitr.into()),
                ..Default::default()
            }
            .into(),
        ),
        sse_specification: Some(
            t::SSESpecification {
                kms_master_key_id: Some(key.arn()),
                sse_type: Some(t::SSEType::Kms.into()),
                ..t::SSESpecification::new(true)
            }
            .into(),
        ),
        stream_specification: props.stream.map(|s| t::StreamSpecification::new(stream_t(s)).into()),
        time_to_live_specification: props.time_to_live_attribute.as_ref().map(|a| {
            t::TimeToLiveSpecification {
                attribute_name: Some(a.as_str().into()),
                ..t::TimeToLiveSpecification::new(true)
            }
            .into()
        }),
        deletion_protection_enabled: Some(protection.into()),
        contributor_insights_specification: props
            .contributor_insights
            .then(|| t::ContributorInsightsSpecification::new(true).into()),
        table_name: props.table_name.as_deref().map(Val::from),
        ..CfnTable::new(schema(pk, &props.sort_key))
    };
    scope.add("Resource", cfn)
}

fn projection_t(p: &Projection) -> t::Projection {
    match p {
        Projection::All => t::Projection { projection_type: Some(t::ProjectionType::All.into()), ..Default::default() },
        Projection::KeysOnly => {
            t::Projection { projection_type: Some(t::ProjectionType::KeysOnly.into()), ..Default::default() }
        }
        Projection::Include(a) => t::Projection {
            projection_type: Some(t::ProjectionType::Include.into()),
            non_key_attributes: Some(Val::list(a.iter().map(String::as_str))),
        },
    }
}

fn stream_t(s: StreamView) -> t::StreamViewType {
    match s {
        StreamView::NewAndOldImages => t::StreamViewType::NewAndOldImages,
        StreamView::NewImage => t::StreamViewType::NewImage,
        StreamView::OldImage => t::StreamViewType::OldImage,
        StreamView::KeysOnly => t::StreamViewType::KeysOnly,
    }
}

fn global(
    scope: &mut Scope,
    pk: &Attribute,
    props: &TableProps,
    attributes: &BTreeMap<String, AttributeKind>,
    key: &Key,
    pitr: bool,
    protection: bool,
) -> Handle<CfnGlobalTable> {
    let kind = |k: AttributeKind| match k {
        AttributeKind::String => gt::AttributeType::S,
        AttributeKind::Number => gt::AttributeType::N,
        AttributeKind::Binary => gt::AttributeType::B,
    };
    let schema = |pk: &Attribute, sk: &Option<Attribute>| {
        let mut v = vec![gt::KeySchemaItem::new(pk.name.as_str(), gt::KeyType::Hash)];
        if let Some(sk) = sk {
            v.push(gt::KeySchemaItem::new(sk.name.as_str(), gt::KeyType::Range));
        }
        Val::list(v)
    };
    let scaling = |c: Capacity| {
        gt::CapacityAutoScalingSettings::new(
            c.max,
            c.min,
            gt::TargetTrackingScalingPolicyConfiguration::new(f64::from(c.target_utilization_percent)),
        )
    };
    let write_settings = match props.billing {
        Billing::OnDemand => None,
        Billing::Provisioned { write, .. } => Some(gt::WriteProvisionedThroughputSettings {
            write_capacity_auto_scaling_settings: Some(scaling(write).into()),
        }),
    };
    let read_settings = match props.billing {
        Billing::OnDemand => None,
        Billing::Provisioned { read, .. } => Some(gt::ReadProvisionedThroughputSettings {
            read_capacity_auto_scaling_settings: Some(scaling(read).into()),
            ..Default::default()
        }),
    };
    let gsis: Vec<gt::GlobalSecondaryIndex> = props
        .global_secondary_indexes
        .iter()
        .map(|g| gt::GlobalSecondaryIndex {
            write_provisioned_throughput_settings: write_settings.clone().map(Val::from),
            ..gt::GlobalSecondaryIndex::new(
                g.name.as_str(),
                schema(&g.partition_key, &g.sort_key),
                projection_gt(&g.projection),
            )
        })
        .collect();
    let replica = |region: Val<String>, key_arn: Val<String>| gt::ReplicaSpecification {
        point_in_time_recovery_specification: Some(
            gt::PointInTimeRecoverySpecification {
                point_in_time_recovery_enabled: Some(pitr.into()),
                ..Default::default()
            }
            .into(),
        ),
        sse_specification: Some(gt::ReplicaSSESpecification::new(key_arn).into()),
        deletion_protection_enabled: Some(protection.into()),
        read_provisioned_throughput_settings: read_settings.clone().map(Val::from),
        global_secondary_indexes: (!props.global_secondary_indexes.is_empty() && read_settings.is_some()).then(|| {
            Val::list(props.global_secondary_indexes.iter().map(|g| gt::ReplicaGlobalSecondaryIndexSpecification {
                read_provisioned_throughput_settings: read_settings.clone().map(Val::from),
                ..gt::ReplicaGlobalSecondaryIndexSpecification::new(g.name.as_str())
            }))
        }),
        contributor_insights_specification: props
            .contributor_insights
            .then(|| gt::ContributorInsightsSpecification::new(true).into()),
        ..gt::ReplicaSpecification::new(region)
    };
    let mut replicas = vec![replica(synth::region(), key.arn())];
    replicas.extend(props.replicas.iter().map(|r| replica(Val::from(r.region.as_str()), r.encryption_key_arn.clone())));
    let cfn = CfnGlobalTable {
        attribute_definitions: Some(Val::list(
            attributes.iter().map(|(n, k)| gt::AttributeDefinition::new(n.as_str(), kind(*k))),
        )),
        key_schema: Some(schema(pk, &props.sort_key)),
        billing_mode: Some(
            match props.billing {
                Billing::OnDemand => gt::BillingMode::PayPerRequest,
                Billing::Provisioned { .. } => gt::BillingMode::Provisioned,
            }
            .into(),
        ),
        write_provisioned_throughput_settings: write_settings.map(Val::from),
        global_secondary_indexes: (!gsis.is_empty()).then(|| Val::list(gsis)),
        sse_specification: Some(
            gt::SSESpecification { sse_type: Some(gt::SSEType::Kms.into()), ..gt::SSESpecification::new(true) }.into(),
        ),
        stream_specification: props.stream.map(|s| gt::StreamSpecification::new(stream_gt(s)).into()),
        time_to_live_specification: props.time_to_live_attribute.as_ref().map(|a| {
            gt::TimeToLiveSpecification {
                attribute_name: Some(a.as_str().into()),
                ..gt::TimeToLiveSpecification::new(true)
            }
            .into()
        }),
        table_name: props.table_name.as_deref().map(Val::from),
        ..CfnGlobalTable::new(Val::list(replicas))
    };
    scope.add("Resource", cfn)
}

fn projection_gt(p: &Projection) -> gt::Projection {
    match p {
        Projection::All => {
            gt::Projection { projection_type: Some(gt::ProjectionType::All.into()), ..Default::default() }
        }
        Projection::KeysOnly => {
            gt::Projection { projection_type: Some(gt::ProjectionType::KeysOnly.into()), ..Default::default() }
        }
        Projection::Include(a) => gt::Projection {
            projection_type: Some(gt::ProjectionType::Include.into()),
            non_key_attributes: Some(Val::list(a.iter().map(String::as_str))),
        },
    }
}

fn stream_gt(s: StreamView) -> gt::StreamViewType {
    match s {
        StreamView::NewAndOldImages => gt::StreamViewType::NewAndOldImages,
        StreamView::NewImage => gt::StreamViewType::NewImage,
        StreamView::OldImage => gt::StreamViewType::OldImage,
        StreamView::KeysOnly => gt::StreamViewType::KeysOnly,
    }
}

/// Target-tracking auto scaling of reads and writes of the table and each index, through Application Auto Scaling
/// (with its service-linked role, created by AWS on first use).
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.CloudFormation.html>
fn autoscaling(
    scope: &mut Scope,
    table: &Handle<CfnTable>,
    gsis: &[GlobalSecondaryIndex],
    read: Capacity,
    write: Capacity,
) {
    use cfn_scalable_target::{ScalableDimension as D, ServiceNamespace as Ns};
    use cfn_scaling_policy as p;
    let mut targets: Vec<(String, Val<String>, D, p::PredefinedMetricType, Capacity)> = vec![
        (
            "Read".into(),
            Val::join("", [Val::from("table/"), table.ref_()]),
            D::DynamodbTableReadCapacityUnits,
            p::PredefinedMetricType::DynamoDBReadCapacityUtilization,
            read,
        ),
        (
            "Write".into(),
            Val::join("", [Val::from("table/"), table.ref_()]),
            D::DynamodbTableWriteCapacityUnits,
            p::PredefinedMetricType::DynamoDBWriteCapacityUtilization,
            write,
        ),
    ];
    for g in gsis {
        let id = Val::join("", [Val::from("table/"), table.ref_(), Val::from(format!("/index/{}", g.name).as_str())]);
        let label: String = g.name.chars().filter(char::is_ascii_alphanumeric).collect();
        targets.push((
            format!("{label}Read"),
            id.clone(),
            D::DynamodbIndexReadCapacityUnits,
            p::PredefinedMetricType::DynamoDBReadCapacityUtilization,
            read,
        ));
        targets.push((
            format!("{label}Write"),
            id,
            D::DynamodbIndexWriteCapacityUnits,
            p::PredefinedMetricType::DynamoDBWriteCapacityUtilization,
            write,
        ));
    }
    for (label, resource_id, dimension, metric, c) in targets {
        let target = scope.add(
            &format!("{label}Scaling"),
            CfnScalableTarget::new(c.max, c.min, resource_id, dimension, Ns::Dynamodb),
        );
        scope.add(
            &format!("{label}ScalingPolicy"),
            CfnScalingPolicy {
                scaling_target_id: Some(target.ref_()),
                target_tracking_scaling_policy_configuration: Some(
                    p::TargetTrackingScalingPolicyConfiguration {
                        predefined_metric_specification: Some(p::PredefinedMetricSpecification::new(metric).into()),
                        ..p::TargetTrackingScalingPolicyConfiguration::new(f64::from(c.target_utilization_percent))
                    }
                    .into(),
                ),
                ..CfnScalingPolicy::new(format!("{label}Utilization"), p::PolicyType::TargetTrackingScaling)
            },
        );
    }
}
