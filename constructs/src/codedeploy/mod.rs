//! AWS CodeDeploy: the generated CloudFormation types, [`LambdaApplication`] (a Lambda application and the service
//! role of its deployments) and [`LambdaDeploymentGroup`] (a function's alias shifted by a deployment
//! configuration, rolled back on failure and on alarms, through the alias's `CodeDeployLambdaAliasUpdate` policy).

mod generated;

pub use generated::*;

use schemars::JsonSchema;
use serde::Deserialize;
use synth::{Handle, Scope, UpdatePolicy, Val};

use crate::cloudwatch::Alarm;
use crate::error::ConstructError;
use crate::iam::{PolicyStatement, Principal, Role, RoleProps};
use crate::lambda::Function;

/// What CodeDeploy does with its service role during a Lambda deployment: read the alias and its provisioned
/// concurrency, move the alias's routing configuration, and read the group's alarms. The AWS managed
/// `AWSCodeDeployRoleForLambdaLimited` grants the same on `"*"` plus reading `*/CodeDeploy/*` S3 objects (AppSpec
/// files; CloudFormation passes the AppSpec inline) and invoking `CodeDeployHook_*` functions (the groups have no
/// hooks); the statement here names each function and alarm.
/// <https://docs.aws.amazon.com/codedeploy/latest/userguide/getting-started-create-service-role.html>
pub const LAMBDA_ALIAS_ACTIONS: &[&str] =
    &["lambda:GetAlias", "lambda:GetProvisionedConcurrencyConfig", "lambda:UpdateAlias"];
/// CodeDeploy reads the state of the group's alarms before and during the traffic shift. `DescribeAlarms` takes
/// alarm ARNs as resources (<https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html>).
pub const DESCRIBE_ALARMS_ACTION: &str = "cloudwatch:DescribeAlarms";
/// CodeDeploy stops a deployment and rolls back on at most 10 alarms per deployment group
/// (<https://docs.aws.amazon.com/codedeploy/latest/userguide/limits.html>).
pub const MAX_ALARMS_PER_GROUP: usize = 10;

/// How CodeDeploy shifts a Lambda alias to the new version: one of the predefined configurations
/// (<https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html#deployment-configuration-lambda>).
/// A canary sends 10% first and the rest after the interval; a linear configuration adds 10% every interval.
/// The stage file names them as CodeDeploy does; the variants carry no doc comments so that the stage schema lists
/// the names as one `enum` (an unknown name is reported with every allowed one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum LambdaDeploymentConfig {
    // Everything at once: the deployment still records the version and rolls back on failure and alarms.
    #[default]
    #[serde(rename = "CodeDeployDefault.LambdaAllAtOnce")]
    AllAtOnce,
    #[serde(rename = "CodeDeployDefault.LambdaCanary10Percent5Minutes")]
    Canary10Percent5Minutes,
    #[serde(rename = "CodeDeployDefault.LambdaCanary10Percent10Minutes")]
    Canary10Percent10Minutes,
    #[serde(rename = "CodeDeployDefault.LambdaCanary10Percent15Minutes")]
    Canary10Percent15Minutes,
    #[serde(rename = "CodeDeployDefault.LambdaCanary10Percent30Minutes")]
    Canary10Percent30Minutes,
    #[serde(rename = "CodeDeployDefault.LambdaLinear10PercentEvery1Minute")]
    Linear10PercentEvery1Minute,
    #[serde(rename = "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes")]
    Linear10PercentEvery2Minutes,
    #[serde(rename = "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes")]
    Linear10PercentEvery3Minutes,
    #[serde(rename = "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes")]
    Linear10PercentEvery10Minutes,
}

impl LambdaDeploymentConfig {
    /// Every configuration, in the order CodeDeploy's documentation lists them.
    pub const ALL: [LambdaDeploymentConfig; 9] = [
        LambdaDeploymentConfig::AllAtOnce,
        LambdaDeploymentConfig::Canary10Percent5Minutes,
        LambdaDeploymentConfig::Canary10Percent10Minutes,
        LambdaDeploymentConfig::Canary10Percent15Minutes,
        LambdaDeploymentConfig::Canary10Percent30Minutes,
        LambdaDeploymentConfig::Linear10PercentEvery1Minute,
        LambdaDeploymentConfig::Linear10PercentEvery2Minutes,
        LambdaDeploymentConfig::Linear10PercentEvery3Minutes,
        LambdaDeploymentConfig::Linear10PercentEvery10Minutes,
    ];

    /// The configuration's name (`CodeDeployDefault.LambdaCanary10Percent5Minutes`).
    pub const fn name(self) -> &'static str {
        match self {
            LambdaDeploymentConfig::AllAtOnce => "CodeDeployDefault.LambdaAllAtOnce",
            LambdaDeploymentConfig::Canary10Percent5Minutes => "CodeDeployDefault.LambdaCanary10Percent5Minutes",
            LambdaDeploymentConfig::Canary10Percent10Minutes => "CodeDeployDefault.LambdaCanary10Percent10Minutes",
            LambdaDeploymentConfig::Canary10Percent15Minutes => "CodeDeployDefault.LambdaCanary10Percent15Minutes",
            LambdaDeploymentConfig::Canary10Percent30Minutes => "CodeDeployDefault.LambdaCanary10Percent30Minutes",
            LambdaDeploymentConfig::Linear10PercentEvery1Minute => {
                "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"
            }
            LambdaDeploymentConfig::Linear10PercentEvery2Minutes => {
                "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes"
            }
            LambdaDeploymentConfig::Linear10PercentEvery3Minutes => {
                "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes"
            }
            LambdaDeploymentConfig::Linear10PercentEvery10Minutes => {
                "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes"
            }
        }
    }
}

/// A CodeDeploy application for Lambda, with the service role its deployment groups use (each group adds exactly
/// its function and alarms to the role's policy).
#[derive(Clone, Debug)]
pub struct LambdaApplication {
    handle: Handle<CfnApplication>,
    role: Role,
}

impl LambdaApplication {
    /// The application `<scope>/<id>` and its service role `<scope>/<id>/Role`.
    pub fn new(scope: &mut Scope, id: &str) -> Result<LambdaApplication, ConstructError> {
        let handle = scope.add(
            id,
            CfnApplication {
                compute_platform: Some(cfn_application::ComputePlatform::Lambda.into()),
                ..CfnApplication::new()
            },
        );
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        let role = Role::new(
            &mut scope,
            "Role",
            Principal::service("codedeploy.amazonaws.com"),
            RoleProps {
                description: Some(format!(
                    "Service role of CodeDeploy application {path}: shifts its groups' aliases, reads their alarms"
                )),
                ..RoleProps::default()
            },
        )?;
        Ok(LambdaApplication { handle, role })
    }

    /// `Ref`: the application's name.
    pub fn name(&self) -> Val<String> {
        self.handle.ref_()
    }
    pub fn role(&self) -> &Role {
        &self.role
    }
}

/// Optional settings of a [`LambdaDeploymentGroup`].
#[derive(Clone, Debug, Default)]
pub struct LambdaDeploymentGroupProps {
    /// How traffic shifts. Default: [`LambdaDeploymentConfig::AllAtOnce`] (the deployment only adds rollback).
    pub config: LambdaDeploymentConfig,
    /// Alarms that stop the deployment and roll it back while they are in ALARM (at most
    /// [`MAX_ALARMS_PER_GROUP`]). Default: none, only a failed deployment rolls back.
    pub alarms: Vec<Alarm>,
}

/// The deployment group of one function's alias: CloudFormation turns a change of the alias's version into a
/// deployment of this group (the alias's `UpdatePolicy`), which shifts traffic by the configuration and moves the
/// alias back to the old version when the deployment fails or an alarm goes off.
#[derive(Clone, Debug)]
pub struct LambdaDeploymentGroup {
    handle: Handle<CfnDeploymentGroup>,
}

impl LambdaDeploymentGroup {
    /// The group `<scope>/<id>` of `function`'s alias in `application`. The function must have an alias
    /// (`FunctionProps::alias`), and CloudFormation must create the group before it updates the alias (both in
    /// `scope`'s stack: the alias's `UpdatePolicy` refers to the group).
    pub fn new(
        scope: &mut Scope,
        id: &str,
        application: &LambdaApplication,
        function: &Function,
        props: LambdaDeploymentGroupProps,
    ) -> Result<LambdaDeploymentGroup, ConstructError> {
        let path = scope.child(id).path().to_owned();
        let Some(alias) = function.alias() else {
            return Err(ConstructError::Conflict {
                path,
                problem: format!(
                    "function {} has no alias to shift traffic on; give it one (FunctionProps::alias)",
                    function.path()
                ),
            });
        };
        if props.alarms.len() > MAX_ALARMS_PER_GROUP {
            return Err(ConstructError::Invalid {
                path,
                what: "number of rollback alarms",
                value: props.alarms.len().to_string(),
                allowed: format!("at most {MAX_ALARMS_PER_GROUP} (CodeDeploy's limit per deployment group)"),
            });
        }
        let mut rollback_on = vec![cfn_deployment_group::Events::DeploymentFailure];
        let alarm_configuration = (!props.alarms.is_empty()).then(|| {
            rollback_on.push(cfn_deployment_group::Events::DeploymentStopOnAlarm);
            cfn_deployment_group::AlarmConfiguration {
                alarms: Some(Val::list(
                    props.alarms.iter().map(|a| cfn_deployment_group::Alarm { name: Some(a.handle().ref_()) }),
                )),
                enabled: Some(true.into()),
                // An alarm CodeDeploy cannot read stops the deployment: not knowing is not healthy.
                ignore_poll_alarm_failure: Some(false.into()),
            }
            .into()
        });
        let handle = scope.add(
            id,
            CfnDeploymentGroup {
                deployment_config_name: Some(props.config.name().into()),
                // The only style CodeDeploy accepts for Lambda: a new version beside the old one, traffic shifted.
                deployment_style: Some(
                    cfn_deployment_group::DeploymentStyle {
                        deployment_option: Some(cfn_deployment_group::DeploymentOption::WithTrafficControl.into()),
                        deployment_type: Some(cfn_deployment_group::DeploymentType::BlueGreen.into()),
                    }
                    .into(),
                ),
                auto_rollback_configuration: Some(
                    cfn_deployment_group::AutoRollbackConfiguration {
                        enabled: Some(true.into()),
                        events: Some(Val::list(rollback_on)),
                    }
                    .into(),
                ),
                alarm_configuration,
                ..CfnDeploymentGroup::new(application.name(), application.role.arn())
            },
        );
        // The function, unqualified and qualified by the alias (the alias actions accept either form), and nothing
        // else. The qualified ARN is built from the function's, not read from the alias: the alias's UpdatePolicy
        // refers to this group, which refers to the role, so a reference from the role to the alias is a cycle.
        let qualified =
            Val::sub_with(format!("${{Function}}:{}", function.qualifier()), [("Function", function.arn())]);
        application.role.add_to_policy(
            scope,
            PolicyStatement::allow(LAMBDA_ALIAS_ACTIONS.iter().copied(), [function.arn(), qualified]),
        );
        if !props.alarms.is_empty() {
            application.role.add_to_policy(
                scope,
                PolicyStatement::allow([DESCRIBE_ALARMS_ACTION], props.alarms.iter().map(Alarm::arn)),
            );
        }
        let group = LambdaDeploymentGroup { handle };
        scope.stack_mut().entry_mut(alias).set_update_policy(UpdatePolicy::CodeDeployLambdaAliasUpdate {
            application_name: application.name(),
            deployment_group_name: group.name(),
            before_allow_traffic_hook: None,
            after_allow_traffic_hook: None,
        });
        Ok(group)
    }

    /// `Ref`: the group's name.
    pub fn name(&self) -> Val<String> {
        self.handle.ref_()
    }
    pub fn handle(&self) -> &Handle<CfnDeploymentGroup> {
        &self.handle
    }
}
