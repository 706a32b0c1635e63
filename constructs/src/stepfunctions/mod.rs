//! AWS Step Functions: the generated CloudFormation types and [`StateMachine`], built from typed states
//! ([`Graph`], [`State`]): tasks with retries, catches and timeouts, choices, maps; logging of every event and X-Ray
//! tracing on.

mod generated;
mod grants;
pub(crate) mod rules;
mod states;

pub use generated::*;
pub use grants::START_EXECUTION_ACTIONS;
pub use states::{Catch, Choice, Condition, Fail, Graph, Map, Next, Retry, State, Task, TaskResource, Wait};

use synth::{Handle, Scope, Val};

use crate::common::RemovalPolicy;
use crate::error::{ConstructError, check_range};
use crate::iam::{Grantable, PolicyStatement, Principal, Role, RoleProps};
use crate::kms::{Key, KeyUse, ViaService};
use crate::logs::{LogGroup, LogGroupProps};

/// What CloudWatch Logs delivery needs from the role of a state machine that logs; CloudWatch vended logs
/// accept only `"*"` for these.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy>
pub const LOG_DELIVERY_ACTIONS: &[&str] = &[
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
];
/// X-Ray actions of a traced state machine.
pub const XRAY_ACTIONS: &[&str] =
    &["xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"];

/// Standard or Express.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    /// Exactly-once, up to a year, full history. The default: workflows with side effects (an export) must not
    /// run twice.
    #[default]
    Standard,
    Express,
}

/// Optional settings of a [`StateMachine`].
#[derive(Clone, Debug, Default)]
pub struct StateMachineProps {
    /// `StateMachineName`. Default: none (CloudFormation generates one). Name it when something must know the ARN
    /// before the state machine exists (an environment variable of a function the workflow invokes); renaming
    /// replaces the state machine.
    pub name: Option<String>,
    /// Seconds an execution may run before it fails (`TimeoutSeconds`). Default: none (Standard's one year),
    /// but every task has its own timeout.
    pub timeout_seconds: Option<u32>,
    /// Default: [`Kind::Standard`].
    pub kind: Kind,
    /// Key for the execution data and the log group. Default: none (AWS owned key, CloudWatch Logs' own).
    pub encryption_key: Option<Key>,
    /// Retention of the log group. Default: one year.
    pub log_retention_days: Option<u32>,
    /// Log the input and output of each state. Default (`None`): off: inputs carry tenant data and the log keeps
    /// it for a year; turn it on to debug.
    pub include_execution_data: Option<bool>,
}

/// A Step Functions state machine.
#[derive(Clone, Debug)]
pub struct StateMachine {
    handle: Handle<CfnStateMachine>,
    role: Role,
    path: String,
}

impl StateMachine {
    /// A state machine running `graph`. Fails when a transition names an unknown state, a state is unreachable,
    /// or a retrier or catcher is malformed.
    pub fn new(
        scope: &mut Scope,
        id: &str,
        graph: Graph,
        props: StateMachineProps,
    ) -> Result<StateMachine, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        if let Some(t) = props.timeout_seconds {
            check_range(&path, "execution timeout (s)", t.into(), 1, 31_536_000)?;
        }
        graph.validate(&path)?;
        let role = Role::new(
            &mut scope,
            "Role",
            Principal::service("states.amazonaws.com"),
            RoleProps { description: Some(format!("Execution role of {path}")), ..RoleProps::default() },
        )?;
        let logs = LogGroup::new(
            &mut scope,
            "Logs",
            LogGroupProps {
                retention_days: props.log_retention_days,
                encryption_key: props.encryption_key.clone(),
                // Vended logs: CloudWatch Logs recommends this prefix so resource policies stay small.
                name: Some(Val::sub(format!("/aws/vendedlogs/states/${{AWS::StackName}}-{}", id))),
                removal: RemovalPolicy::Retain,
            },
        )?;
        role.add_to_policy(
            &mut scope,
            PolicyStatement::any_resource(
                LOG_DELIVERY_ACTIONS.iter().copied(),
                "CloudWatch Logs log delivery (vended logs) has no resource-level permissions (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy)",
            ),
        );
        role.add_to_policy(
            &mut scope,
            PolicyStatement::any_resource(
                XRAY_ACTIONS.iter().copied(),
                "X-Ray has no resource-level permissions (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html)",
            ),
        );
        let mut subs = std::collections::BTreeMap::new();
        let definition = graph.render(&mut subs, &props.timeout_seconds);
        graph.grant(&role, &mut scope);
        if let Some(k) = &props.encryption_key {
            // The execution role writes and reads the execution data Step Functions encrypts with the key.
            k.grant_use(&role, &mut scope, ViaService::StepFunctions, KeyUse::Write);
        }
        let cfn = CfnStateMachine {
            definition: Some(Val::raw(definition)),
            definition_substitutions: (!subs.is_empty()).then(|| Val::map(subs)),
            state_machine_type: Some(
                match props.kind {
                    Kind::Standard => cfn_state_machine::StateMachineType::Standard,
                    Kind::Express => cfn_state_machine::StateMachineType::Express,
                }
                .into(),
            ),
            logging_configuration: Some(
                cfn_state_machine::LoggingConfiguration {
                    level: Some(cfn_state_machine::Level::All.into()),
                    include_execution_data: Some(props.include_execution_data.unwrap_or(false).into()),
                    destinations: Some(Val::list([cfn_state_machine::LogDestination {
                        cloud_watch_logs_log_group: Some(
                            cfn_state_machine::CloudWatchLogsLogGroup { log_group_arn: Some(logs.arn()) }.into(),
                        ),
                    }])),
                }
                .into(),
            ),
            tracing_configuration: Some(cfn_state_machine::TracingConfiguration { enabled: Some(true.into()) }.into()),
            state_machine_name: props.name.as_deref().map(Val::from),
            encryption_configuration: props.encryption_key.as_ref().map(|k| {
                cfn_state_machine::EncryptionConfiguration {
                    kms_key_id: Some(k.arn()),
                    kms_data_key_reuse_period_seconds: Some(300.into()),
                    ..cfn_state_machine::EncryptionConfiguration::new(cfn_state_machine::Type::CustomerManagedKmsKey)
                }
                .into()
            }),
            ..CfnStateMachine::new(role.arn())
        };
        let handle = scope.add("Resource", cfn);
        Ok(StateMachine { handle, role, path })
    }

    /// `Ref`: the state machine ARN.
    pub fn arn(&self) -> Val<String> {
        self.handle.ref_()
    }
    pub fn role(&self) -> &Role {
        &self.role
    }
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Executions that failed (Sum per minute).
    pub fn metric_failed(&self) -> crate::cloudwatch::Metric {
        crate::cloudwatch::Metric::new("AWS/States", "ExecutionsFailed").with_dimension("StateMachineArn", self.arn())
    }
}

impl Grantable for StateMachine {
    fn grant_role(&self) -> &Role {
        &self.role
    }
}
