//! [`Function`]: a Lambda function from a handler crate asset.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use synth::{Asset, Handle, List, ResourceEntry, Scope, Val};

use super::generated::{
    CfnAlias, CfnEventInvokeConfig, CfnFunction, CfnVersion, cfn_alias, cfn_event_invoke_config, cfn_function,
};
use crate::common::{Check, suppress};
use crate::error::{ConstructError, check_range};
use crate::iam::{Grantable, PolicyStatement, Principal, Role, RoleProps};
use crate::kms::Key;
use crate::logs::{LogGroup, LogGroupProps};
use crate::sqs::Queue;

/// The bucket deploy uploads assets to (one per account and region, content-addressed keys).
pub const ASSET_BUCKET: &str = "rcdk-assets-${AWS::AccountId}-${AWS::Region}";
/// The alias callers invoke when the function has one, moved by provisioned concurrency's and deployments' rules.
pub const LIVE_ALIAS: &str = "live";
/// The alias [`FunctionProps::canary_alias`] adds: the newest version, at once.
pub const CANARY_ALIAS: &str = "canary";
/// Default memory: 256 MB. A Rust binary needs little memory, but Lambda gives CPU in proportion to memory and
/// 256 MB halves cold start and TLS handshake time against 128 MB for a few cents.
pub const DEFAULT_MEMORY_MB: u32 = 256;
/// Default timeout: 10 s, well under API Gateway's 29 s integration timeout; set it explicitly for workers.
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 10;
/// Metadata key declaring how a function is invoked (`{type: synchronous, reason}`): the rule pack's
/// `Serverless-LambdaDLQ` asks synchronously invoked functions for no failure destination.
pub const INVOCATION_METADATA_KEY: &str = "rcdk:invocation";
/// X-Ray actions of active tracing.
pub const XRAY_ACTIONS: &[&str] = &["xray:PutTelemetryRecords", "xray:PutTraceSegments"];
/// Why the X-Ray statement names `"*"`.
pub const XRAY_REASON: &str = "X-Ray has no resource-level permissions: PutTraceSegments and PutTelemetryRecords accept only \"*\" (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html)";

/// What Lambda does with the execution role to attach a VPC function to its subnets.
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#vpc-permissions>
pub const ENI_ACTIONS: &[&str] = &[
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
];
/// Why a VPC function's role manages network interfaces on `"*"`.
const ENI_REASON: &str = "Lambda creates and deletes the function's network interfaces with the execution role; their ids are not known in advance and ec2:Describe* have no resource-level permissions (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#vpc-permissions)";

/// How the function is invoked, which decides where failures go.
#[derive(Clone, Debug, Default)]
pub enum Invocation {
    /// By a caller that waits for the result: API Gateway, an event source mapping, Step Functions, Secrets
    /// Manager's rotation steps (<https://docs.aws.amazon.com/lambda/latest/dg/with-secrets-manager.html>). Failures go
    /// back to the caller (or to the event source's on-failure destination), so a function-level dead-letter
    /// queue would never receive anything; the construct declares that as the reason on the rules that ask for
    /// one. The default, because it is how every handler of the platform is invoked.
    #[default]
    Synchronous,
    /// Asynchronously (EventBridge, S3, SNS): failed events, after `retry_attempts` retries (0 to 2) or
    /// `max_event_age_seconds` (60 to 21600), go to the on-failure destination queue.
    Asynchronous { on_failure: Box<Queue>, retry_attempts: u32, max_event_age_seconds: u32 },
}

/// Subnets and security groups of a function that reaches resources in a VPC.
#[derive(Clone, Debug)]
pub struct VpcPlacement {
    pub subnet_ids: Val<List<String>>,
    pub security_group_ids: Val<List<String>>,
}

/// Optional settings of a [`Function`].
#[derive(Clone, Debug, Default)]
pub struct FunctionProps {
    /// 128 to 10240 MB. Default: [`DEFAULT_MEMORY_MB`] (always written: cdk-nag `Serverless-LambdaDefaultMemorySize`).
    pub memory_mb: Option<u32>,
    /// 1 to 900 s. Default: [`DEFAULT_TIMEOUT_SECONDS`] (always written: `Serverless-LambdaDefaultTimeout`).
    pub timeout_seconds: Option<u32>,
    /// Environment variables. Default: none. Secrets never go here: pass a secret's ARN and read it at runtime.
    pub environment: BTreeMap<String, Val<String>>,
    /// Key encrypting the environment at rest. Default: none (Lambda's AWS managed key); the platform passes its
    /// customer managed key (checkov `CKV_AWS_173`).
    pub environment_key: Option<Key>,
    /// Retention of the function's log group. Default: one year ([`crate::logs::DEFAULT_RETENTION_DAYS`]).
    pub log_retention_days: Option<u32>,
    /// Key encrypting the log group. Default: none (CloudWatch Logs' own encryption).
    pub log_key: Option<Key>,
    /// Reserved concurrency: the function's own slice of the account's concurrency, and its cap. Default: none (the
    /// shared pool): capping the request path below the account limit turns a spike into errors; set it on
    /// background workers so a backlog cannot starve the API (checkov `CKV_AWS_115` is skipped with that reason
    /// otherwise).
    pub reserved_concurrency: Option<u32>,
    /// Provisioned concurrency of the `live` alias. Default: none (no alias unless [`FunctionProps::alias`]). When set, the construct publishes a
    /// version whenever code or configuration changes, points the `live` alias at it, and callers invoke the
    /// alias ([`Function::invoke_arn`]), so cold starts on the critical path are paid before traffic arrives.
    pub provisioned_concurrency: Option<u32>,
    /// Publish versions and invoke through the `live` alias even without provisioned concurrency. Default: false
    /// (callers invoke the function): an alias is what a traffic-shifting deployment moves
    /// ([`crate::codedeploy::LambdaDeploymentGroup`]), and costs nothing by itself.
    pub alias: bool,
    /// A second alias, [`CANARY_ALIAS`], always on the newest version (CloudFormation moves it at once, no traffic
    /// shifting, no provisioned concurrency), beside `live` (implied): what an API Gateway canary's stage-variable
    /// override invokes, so the canary's share reaches a new version first. Default: false.
    pub canary_alias: bool,
    /// Default: [`Invocation::Synchronous`].
    pub invocation: Invocation,
    /// Default: none (Lambda's own network, with internet access). Set it for functions that reach VPC-only
    /// resources (Redis, an OpenSearch domain in a VPC).
    pub vpc: Option<VpcPlacement>,
    /// Default: none.
    pub description: Option<String>,
    /// Tags of the function (cost allocation per function). Default: none (stack tags still apply).
    pub tags: BTreeMap<String, String>,
}

/// A Lambda function running a Rust handler crate.
#[derive(Clone, Debug)]
pub struct Function {
    handle: Handle<CfnFunction>,
    role: Role,
    log_group: LogGroup,
    alias: Option<Handle<CfnAlias>>,
    /// Boxed: rare, and a `Function` is held in enums (event targets, task resources) whose variants should stay
    /// close in size.
    canary_alias: Option<Box<Handle<CfnAlias>>>,
    path: String,
    timeout: u32,
    memory_mb: u32,
}

impl Function {
    /// A function running the crate of `asset` (built by deploy with `cargo lambda build --release --arm64`;
    /// never during synth).
    pub fn new(scope: &mut Scope, id: &str, asset: &Asset, props: FunctionProps) -> Result<Function, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        let (memory, timeout) = validate(&path, &props)?;
        let (role, log_group) = role_and_logs(&mut scope, &path, &props)?;
        let mut cfn = function_properties(asset, &props, memory, timeout, &role, &log_group);
        // The hash of the configuration without the code location: the version's description changes (and a new
        // version is published) when either the code (asset hash) or the configuration changes.
        let config_hash = {
            let mut c = cfn.clone();
            c.code = cfn_function::Code::default().into();
            let json = synth::ToNode::to_node(&c).to_json().to_string();
            let digest = Sha256::digest(json.as_bytes());
            digest.iter().take(6).map(|b| format!("{b:02x}")).collect::<String>()
        };
        if cfn.description.is_none() {
            cfn.description = Some(format!("{} ({})", asset.id, path).into());
        }
        scope.stack_mut().use_asset(&asset.id);
        let handle = scope.add("Resource", cfn);

        let versioned = props.alias || props.canary_alias || props.provisioned_concurrency.is_some();
        let aliases = versioned.then(|| {
            let version = scope.add(
                "Version",
                CfnVersion {
                    description: Some(format!("asset {} config {config_hash}", asset.hash).into()),
                    ..CfnVersion::new(handle.ref_())
                },
            );
            let live = scope.add(
                "Live",
                CfnAlias {
                    provisioned_concurrency_config: props
                        .provisioned_concurrency
                        .map(|p| cfn_alias::ProvisionedConcurrencyConfiguration::new(p).into()),
                    ..CfnAlias::new(handle.ref_(), version.attr_version(), LIVE_ALIAS)
                },
            );
            let canary = props
                .canary_alias
                .then(|| scope.add("Canary", CfnAlias::new(handle.ref_(), version.attr_version(), CANARY_ALIAS)));
            (live, canary)
        });
        let (alias, canary_alias) = match aliases {
            Some((live, canary)) => (Some(live), canary.map(Box::new)),
            None => (None, None),
        };
        declare_exemptions(scope.stack_mut().entry_mut(&handle), &props);

        let function = Function { handle, role, log_group, alias, canary_alias, path, timeout, memory_mb: memory };
        if let Invocation::Asynchronous { on_failure, retry_attempts, max_event_age_seconds } = props.invocation {
            on_failure.grant_send_messages(&function, &mut scope);
            scope.add(
                "AsyncConfig",
                CfnEventInvokeConfig {
                    destination_config: Some(
                        cfn_event_invoke_config::DestinationConfig {
                            on_failure: Some(cfn_event_invoke_config::OnFailure::new(on_failure.arn()).into()),
                            ..Default::default()
                        }
                        .into(),
                    ),
                    maximum_retry_attempts: Some(retry_attempts.into()),
                    maximum_event_age_in_seconds: Some(max_event_age_seconds.into()),
                    ..CfnEventInvokeConfig::new(function.handle.ref_(), function.qualifier())
                },
            );
        }
        Ok(function)
    }

    /// `Fn::GetAtt Arn` of the function (unqualified).
    pub fn arn(&self) -> Val<String> {
        self.handle.attr_arn()
    }
    /// `Ref`: the function name.
    pub fn name(&self) -> Val<String> {
        self.handle.ref_()
    }
    /// What callers invoke: the `live` alias when the function has provisioned concurrency, else the function.
    pub fn invoke_arn(&self) -> Val<String> {
        match &self.alias {
            Some(a) => a.ref_(),
            None => self.arn(),
        }
    }
    /// The qualifier callers use: `live` or `$LATEST`.
    pub fn qualifier(&self) -> &'static str {
        if self.alias.is_some() { LIVE_ALIAS } else { "$LATEST" }
    }
    pub fn role(&self) -> &Role {
        &self.role
    }
    pub fn log_group(&self) -> &LogGroup {
        &self.log_group
    }
    pub fn handle(&self) -> &Handle<CfnFunction> {
        &self.handle
    }
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn timeout_seconds(&self) -> u32 {
        self.timeout
    }
    pub fn has_alias(&self) -> bool {
        self.alias.is_some()
    }
    /// The `live` alias, when the function has one.
    pub fn alias(&self) -> Option<&Handle<CfnAlias>> {
        self.alias.as_ref()
    }
    /// The [`CANARY_ALIAS`] alias, when the function has one ([`FunctionProps::canary_alias`]).
    pub fn canary_alias(&self) -> Option<&Handle<CfnAlias>> {
        self.canary_alias.as_deref()
    }
}

impl Function {
    /// The memory (MB) the function is billed for.
    pub fn memory_mb(&self) -> u32 {
        self.memory_mb
    }
}

impl Grantable for Function {
    fn grant_role(&self) -> &Role {
        &self.role
    }
}

/// Checks the limits of the props; returns the memory (MB) and timeout (s) with their defaults filled in.
fn validate(path: &str, props: &FunctionProps) -> Result<(u32, u32), ConstructError> {
    // https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    let memory = props.memory_mb.unwrap_or(DEFAULT_MEMORY_MB);
    check_range(path, "memory (MB)", memory.into(), 128, 10_240)?;
    let timeout = props.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
    check_range(path, "timeout (s)", timeout.into(), 1, 900)?;
    if let Some(r) = props.reserved_concurrency {
        check_range(path, "reserved concurrency", r.into(), 1, 1000)?;
    }
    if let Some(p) = props.provisioned_concurrency {
        check_range(path, "provisioned concurrency", p.into(), 1, 1000)?;
        if let Some(r) = props.reserved_concurrency
            && p > r
        {
            return Err(ConstructError::Conflict {
                path: path.to_owned(),
                problem: format!(
                    "provisioned concurrency {p} exceeds reserved concurrency {r}; provisioned instances count against the reservation"
                ),
            });
        }
    }
    for name in props.environment.keys() {
        // https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html (keys start with a letter)
        let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with("AWS_");
        if !ok {
            return Err(ConstructError::Invalid {
                path: path.to_owned(),
                what: "environment variable name",
                value: name.clone(),
                allowed: "a letter followed by A-Z a-z 0-9 _, not starting with AWS_ (reserved by Lambda)".into(),
            });
        }
    }
    if let Invocation::Asynchronous { retry_attempts, max_event_age_seconds, .. } = &props.invocation {
        // https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-configuring.html
        check_range(path, "async retry attempts", (*retry_attempts).into(), 0, 2)?;
        check_range(path, "async max event age (s)", (*max_event_age_seconds).into(), 60, 21_600)?;
    }
    Ok((memory, timeout))
}

/// The execution role and the log group, with what the runtime needs: writing logs, X-Ray, and (in a VPC) the
/// network interfaces.
fn role_and_logs(scope: &mut Scope, path: &str, props: &FunctionProps) -> Result<(Role, LogGroup), ConstructError> {
    let role = Role::new(
        scope,
        "Role",
        Principal::service("lambda.amazonaws.com"),
        RoleProps { description: Some(format!("Execution role of {path}")), ..RoleProps::default() },
    )?;
    let log_group = LogGroup::new(
        scope,
        "Logs",
        LogGroupProps {
            retention_days: props.log_retention_days,
            encryption_key: props.log_key.clone(),
            ..LogGroupProps::default()
        },
    )?;
    log_group.grant_write(&role, scope);
    role.add_to_policy(scope, PolicyStatement::any_resource(XRAY_ACTIONS.iter().copied(), XRAY_REASON));
    if props.vpc.is_some() {
        // The ENI actions Lambda calls with the execution role to attach the function to the subnets.
        role.add_to_policy(scope, PolicyStatement::any_resource(ENI_ACTIONS.iter().copied(), ENI_REASON));
        suppress(scope.stack_mut().entry_mut(role.handle()), Check::IAM_WRITE_WITHOUT_CONSTRAINTS, ENI_REASON);
    }
    Ok((role, log_group))
}

/// The function's properties: an arm64 `provided.al2023` function of `asset`, with the props' settings.
fn function_properties(
    asset: &Asset,
    props: &FunctionProps,
    memory: u32,
    timeout: u32,
    role: &Role,
    log_group: &LogGroup,
) -> CfnFunction {
    CfnFunction {
        architectures: Some(Val::list([cfn_function::Architectures::Arm64])),
        runtime: Some(cfn_function::Runtime::ProvidedAl2023.into()),
        handler: Some("bootstrap".into()),
        memory_size: Some(memory.into()),
        timeout: Some(timeout.into()),
        reserved_concurrent_executions: props.reserved_concurrency.map(Val::from),
        tracing_config: Some(cfn_function::TracingConfig { mode: Some(cfn_function::Mode::Active.into()) }.into()),
        logging_config: Some(
            cfn_function::LoggingConfig {
                log_group: Some(log_group.name()),
                log_format: Some(cfn_function::LogFormat::Json.into()),
                ..Default::default()
            }
            .into(),
        ),
        environment: (!props.environment.is_empty())
            .then(|| cfn_function::Environment { variables: Some(Val::map(props.environment.clone())) }.into()),
        kms_key_arn: props.environment_key.as_ref().map(Key::arn),
        vpc_config: props.vpc.as_ref().map(|v| {
            cfn_function::VpcConfig {
                subnet_ids: Some(v.subnet_ids.clone()),
                security_group_ids: Some(v.security_group_ids.clone()),
                ..Default::default()
            }
            .into()
        }),
        description: props.description.as_deref().map(Val::from),
        tags: (!props.tags.is_empty()).then(|| {
            Val::list(props.tags.iter().map(|(k, v)| cfn_function::Tag {
                value: Some(v.as_str().into()),
                ..cfn_function::Tag::new(k.as_str())
            }))
        }),
        // Stop a function that re-triggers itself (through a queue it writes to) after 16 loops.
        recursive_loop: Some(cfn_function::RecursiveLoop::Terminate.into()),
        ..CfnFunction::new(
            cfn_function::Code {
                s3_bucket: Some(Val::sub(ASSET_BUCKET)),
                s3_key: Some(asset.s3_key().into()),
                ..Default::default()
            },
            role.arn(),
        )
    }
}

/// The scanners' checks the function is exempt from and how it is invoked (for the rule pack's
/// `Serverless-LambdaDLQ`), each with its reason.
fn declare_exemptions(entry: &mut ResourceEntry, props: &FunctionProps) {
    suppress(
        entry,
        Check::LAMBDA_LOG_GROUP_BY_NAME,
        "the function logs to its own log group, named in LoggingConfig.LogGroup, which has a retention (the pack's Serverless-CloudWatchLogGroupRetentionPeriod checks it); cfn-lint-serverless only finds log groups named /aws/lambda/<function name>",
    );
    if props.reserved_concurrency.is_none() {
        suppress(
            entry,
            Check::LAMBDA_CONCURRENCY,
            "request path: a reserved-concurrency cap below the account pool would turn traffic spikes into throttles; API Gateway usage plans and stage throttling bound it",
        );
    }
    match &props.invocation {
        Invocation::Synchronous => {
            let why = "invoked synchronously (API Gateway, event source mapping, Step Functions or Secrets Manager rotation): failures return to the caller or go to the event source's on-failure destination; a function dead-letter queue only receives failed asynchronous invocations";
            suppress(entry, Check::LAMBDA_DEAD_LETTER_QUEUE, why);
            entry.set_metadata(
                INVOCATION_METADATA_KEY,
                synth::Node::Map(vec![
                    ("type".into(), synth::Node::Str("synchronous".into())),
                    ("reason".into(), synth::Node::Str(why.into())),
                ]),
            );
        }
        Invocation::Asynchronous { .. } => {
            suppress(
                entry,
                Check::LAMBDA_DEAD_LETTER_QUEUE,
                "asynchronous failures go to the on-failure destination (EventInvokeConfig), which records the request and the error; a dead-letter queue would receive the same events without them",
            );
        }
    }
    if props.vpc.is_none() {
        suppress(
            entry,
            Check::LAMBDA_IN_VPC,
            "reaches only AWS APIs over TLS with IAM authentication; a VPC adds network interfaces and NAT or endpoint cost without protecting anything",
        );
    }
}
