//! Deployment and [`Stage`] of a [`RestApi`], usage plans and API keys, the account's logging role, and custom
//! domains.

use std::collections::BTreeMap;

use synth::{Handle, Scope, Val};

use super::generated::{
    CfnAccount, CfnApiKey, CfnBasePathMapping, CfnDeployment, CfnDomainName, CfnStage, CfnUsagePlan, CfnUsagePlanKey,
    cfn_domain_name, cfn_stage, cfn_usage_plan, cfn_usage_plan_key,
};
use super::rest_api::{RestApi, Throttle};
use crate::cloudwatch::{Metric, Stat};
use crate::common::{Check, at_path, suppress};
use crate::error::{ConstructError, check_range};
use crate::iam::{PolicyStatement, Principal, Role, RoleProps};
use crate::kms::Key;
use crate::logs::{LogGroup, LogGroupProps};

/// The access log line: one JSON object per request, with the ids that join it to traces and function logs, and
/// the tenant (the authorizer's context) and API key id the Contributor Insights rules count requests by.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html#context-variable-reference>
pub const ACCESS_LOG_FORMAT: &str = concat!(
    r#"{"requestId":"$context.requestId","extendedRequestId":"$context.extendedRequestId","#,
    r#""traceId":"$context.xrayTraceId","ip":"$context.identity.sourceIp","#,
    r#""requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","#,
    r#""resourcePath":"$context.resourcePath","path":"$context.path","status":"$context.status","#,
    r#""protocol":"$context.protocol","responseLength":"$context.responseLength","#,
    r#""responseLatency":"$context.responseLatency","integrationLatency":"$context.integrationLatency","#,
    r#""tenantId":"$context.authorizer.tenantId","apiKeyId":"$context.identity.apiKeyId","#,
    r#""errorMessage":"$context.error.message","#,
    r#""authorizerError":"$context.authorizer.error","wafStatus":"$context.waf.status"}"#
);

/// Execution log level of every method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoggingLevel {
    /// Errors only. The default: access logs already record every request; INFO execution logs add a line per
    /// step of every request, at a cost, and cdk-nag `AwsSolutions-APIG6` is met by either.
    #[default]
    Error,
    Info,
}

/// Canary: a share of the stage's traffic goes to the canary's own deployment (`<api>/CanaryDeployment<fingerprint>`,
/// made by [`RestApi::deploy`]) with its stage variable overrides (e.g. the alias integrations invoke,
/// [`super::RestApiProps::alias_stage_variable`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Canary {
    /// Percent of requests, 0 to 100.
    pub percent_traffic: f64,
    pub stage_variable_overrides: BTreeMap<String, String>,
}

/// What API Gateway does with the account's logging role to write execution logs to its
/// `API-Gateway-Execution-Logs_*` log groups.
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html#set-up-access-logging-permissions>
pub const EXECUTION_LOG_ACTIONS: &[&str] =
    &["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"];
/// What it does with the role on `"*"`: listing log groups has no resource-level permissions.
pub const EXECUTION_LOG_LIST_ACTIONS: &[&str] = &["logs:DescribeLogGroups"];

/// The account-level logging role of API Gateway (`AWS::ApiGateway::Account`): required for execution logs.
#[derive(Clone, Debug)]
pub struct ApiGatewayAccount {
    handle: Handle<CfnAccount>,
}

impl ApiGatewayAccount {
    /// The role API Gateway writes execution logs with, and the account setting that names it (one per account
    /// and region: the last stack to deploy it wins, so every stack that declares it declares the same).
    pub fn new(scope: &mut Scope, id: &str) -> Result<ApiGatewayAccount, ConstructError> {
        let mut scope = scope.child(id);
        let role = Role::new(
            &mut scope,
            "Role",
            Principal::service("apigateway.amazonaws.com"),
            RoleProps { description: Some("API Gateway execution logging".into()), ..RoleProps::default() },
        )?;
        let groups = crate::common::arn("logs", "log-group:API-Gateway-Execution-Logs_*");
        let streams = crate::common::arn("logs", "log-group:API-Gateway-Execution-Logs_*:*");
        role.add_to_policy(
            &mut scope,
            PolicyStatement::allow(EXECUTION_LOG_ACTIONS.iter().copied(), [groups, streams]),
        );
        role.add_to_policy(
            &mut scope,
            PolicyStatement::any_resource(
                EXECUTION_LOG_LIST_ACTIONS.iter().copied(),
                "DescribeLogGroups lists log groups and has no resource-level permissions (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html)",
            ),
        );
        let handle = scope.add("Resource", CfnAccount { cloud_watch_role_arn: Some(role.arn()) });
        Ok(ApiGatewayAccount { handle })
    }

    pub fn logical_id(&self) -> &str {
        self.handle.logical_id()
    }
}

/// Optional settings of a [`Stage`].
#[derive(Clone, Debug, Default)]
pub struct StageProps {
    /// Stage throttling. Default: 1000 requests per second, burst 2000: explicit (cdk-nag
    /// `Serverless-APIGWDefaultThrottling`) and below the account's 10,000, so one API cannot take them all.
    pub throttle: Option<Throttle>,
    /// Default: [`LoggingLevel::Error`].
    pub logging_level: LoggingLevel,
    /// Per-method CloudWatch metrics (billed per metric). Default: off: stage metrics cover the alarms.
    pub detailed_metrics: bool,
    /// Default: none.
    pub canary: Option<Canary>,
    /// Stage variables. Default: none.
    pub variables: BTreeMap<String, String>,
    /// Key of the access and execution log groups. Default: none.
    pub log_key: Option<Key>,
    /// Retention of the log groups. Default: one year.
    pub log_retention_days: Option<u32>,
    /// The account logging role to wait for (execution logs need it). Default: none.
    pub account: Option<ApiGatewayAccount>,
}

/// A deployed stage.
#[derive(Clone, Debug)]
pub struct Stage {
    handle: Handle<CfnStage>,
    name: String,
    api_name: String,
    api_id: Val<String>,
    access_logs: LogGroup,
}

/// How long quotas are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaPeriod {
    Day,
    Week,
    Month,
}

/// Requests allowed per period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub period: QuotaPeriod,
}

/// Optional settings of a [`UsagePlan`].
#[derive(Clone, Debug, Default)]
pub struct UsagePlanProps {
    /// Default: none (the stage's).
    pub throttle: Option<Throttle>,
    /// Default: none (unlimited).
    pub quota: Option<Quota>,
    /// Default: none.
    pub description: Option<String>,
}

/// A usage plan of a stage.
#[derive(Clone, Debug)]
pub struct UsagePlan {
    handle: Handle<CfnUsagePlan>,
    path: String,
}

impl UsagePlan {
    pub fn path(&self) -> &str {
        &self.path
    }
    /// `Ref`: the plan id.
    pub fn id(&self) -> Val<String> {
        self.handle.ref_()
    }

    /// An API key (value generated by API Gateway, never in the template) attached to this plan, at
    /// `<plan>/<id>`; returns its id.
    pub fn add_api_key(&self, scope: &mut Scope, id: &str) -> Val<String> {
        let plan = self.id();
        at_path(scope, self.path(), |s| {
            let key = s.add(
                id,
                CfnApiKey {
                    enabled: Some(true.into()),
                    description: Some(format!("{id} key").into()),
                    ..CfnApiKey::new()
                },
            );
            s.add(
                &format!("{id}Attachment"),
                CfnUsagePlanKey::new(key.ref_(), cfn_usage_plan_key::KeyType::ApiKey, plan),
            );
            key.ref_()
        })
    }
}

impl RestApi {
    /// Deploys every method added so far as stage `stage_name`, at `<api>/Deployment<fingerprint>` and
    /// `<api>/<stage name>`. The deployment's logical id carries a fingerprint of the methods, so a change of routes
    /// creates a new deployment (CloudFormation never redeploys an unchanged `AWS::ApiGateway::Deployment`).
    /// Methods in other stacks are named in the deployment's description, which makes this stack depend on
    /// theirs (a `DependsOn` cannot cross stacks).
    pub fn deploy(&self, scope: &mut Scope, stage_name: &str, props: StageProps) -> Result<Stage, ConstructError> {
        let path = format!("{}/{stage_name}", self.path());
        let name_ok = !stage_name.is_empty()
            && stage_name.len() <= 128
            && stage_name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
        if !name_ok {
            return Err(ConstructError::Invalid {
                path,
                what: "stage name",
                value: stage_name.to_owned(),
                allowed: "1 to 128 characters from A-Z a-z 0-9 - _".into(),
            });
        }
        if self.methods.is_empty() {
            return Err(ConstructError::Conflict { path, problem: "the API has no methods to deploy".into() });
        }
        let throttle = props.throttle.unwrap_or(Throttle { rate_limit: 1000.0, burst_limit: 2000 });
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html (10,000 rps per account)
        if throttle.rate_limit <= 0.0 || throttle.rate_limit > 10_000.0 {
            return Err(ConstructError::OutOfRange {
                path,
                what: "stage rate limit (requests/s)",
                value: throttle.rate_limit.to_string(),
                allowed: "more than 0, at most 10000".into(),
            });
        }
        if let Some(c) = &props.canary
            && !(0.0..=100.0).contains(&c.percent_traffic)
        {
            return Err(ConstructError::OutOfRange {
                path,
                what: "canary traffic (%)",
                value: c.percent_traffic.to_string(),
                allowed: "0 to 100".into(),
            });
        }
        if let Some(variable) = self.alias_variable().filter(|_| self.uses_alias_variable)
            && !props.variables.contains_key(variable)
        {
            return Err(ConstructError::Conflict {
                path,
                problem: format!(
                    "integrations invoke the alias named by stage variable {variable:?}, which the stage does not set; set it in StageProps::variables (e.g. to \"live\")"
                ),
            });
        }
        let here = scope.stack().id().to_owned();
        let local: Vec<String> =
            self.methods.iter().filter(|m| m.stack == here).map(|m| m.logical_id.clone()).collect();
        let mut foreign: BTreeMap<String, Val<String>> = BTreeMap::new();
        for m in self.methods.iter().filter(|m| m.stack != here) {
            foreign.entry(m.stack.clone()).or_insert_with(|| m.reference.clone());
        }
        let mut description = vec![Val::from(format!("{} methods", self.methods.len()).as_str())];
        for (stack, reference) in &foreign {
            description.push(Val::from(format!("; after stack {stack}: ").as_str()));
            description.push(reference.clone());
        }
        let api_id = self.id();
        let fingerprint = self.fingerprint();
        let deployment = |s: &mut Scope, id: &str| {
            let d = s.add(
                &format!("{id}{fingerprint}"),
                CfnDeployment {
                    description: Some(Val::join("", description.clone())),
                    ..CfnDeployment::new(api_id.clone())
                },
            );
            let entry = s.stack_mut().entry_mut(&d);
            for id in &local {
                entry.add_depends_on(id.clone());
            }
            d
        };
        let (deployment, canary_deployment) = at_path(scope, self.path(), |s| {
            // The canary's own deployment: promoting it (README) copies its id to the stage's; until then the stage
            // keeps its own, and the canary can be dropped without touching it.
            let canary = props.canary.as_ref().map(|_| deployment(s, "CanaryDeployment"));
            (deployment(s, "Deployment"), canary)
        });
        let (access_logs, execution_logs) = at_path(scope, self.path(), |s| {
            let mut s = s.child(stage_name);
            let access = LogGroup::new(
                &mut s,
                "AccessLogs",
                LogGroupProps {
                    retention_days: props.log_retention_days,
                    encryption_key: props.log_key.clone(),
                    ..LogGroupProps::default()
                },
            )?;
            // API Gateway creates this group on first use, without retention or encryption: create it first.
            let execution = LogGroup::new(
                &mut s,
                "ExecutionLogs",
                LogGroupProps {
                    retention_days: props.log_retention_days,
                    encryption_key: props.log_key.clone(),
                    name: Some(Val::sub_with(
                        format!("API-Gateway-Execution-Logs_${{Api}}/{stage_name}"),
                        [("Api", api_id.clone())],
                    )),
                    ..LogGroupProps::default()
                },
            )?;
            Ok::<_, ConstructError>((access, execution))
        })?;
        let mut settings = vec![cfn_stage::MethodSetting {
            resource_path: Some("/*".into()),
            http_method: Some("*".into()),
            logging_level: Some(
                match props.logging_level {
                    LoggingLevel::Error => "ERROR",
                    LoggingLevel::Info => "INFO",
                }
                .into(),
            ),
            // Data traces log full request and response bodies: tenant data in logs.
            data_trace_enabled: Some(false.into()),
            metrics_enabled: Some(props.detailed_metrics.into()),
            throttling_rate_limit: Some(Val::raw(synth::ToNode::to_node(&throttle.rate_limit))),
            throttling_burst_limit: Some(throttle.burst_limit.into()),
            ..Default::default()
        }];
        for m in &self.methods {
            if let Some(t) = m.throttle {
                // Method settings address a resource path with `/` escaped as `~1`.
                settings.push(cfn_stage::MethodSetting {
                    resource_path: Some(format!("/{}", m.path.replace('/', "~1")).as_str().into()),
                    http_method: Some(m.http_method.as_str().into()),
                    throttling_rate_limit: Some(Val::raw(synth::ToNode::to_node(&t.rate_limit))),
                    throttling_burst_limit: Some(t.burst_limit.into()),
                    metrics_enabled: Some(props.detailed_metrics.into()),
                    ..Default::default()
                });
            }
        }
        let cfn = CfnStage {
            stage_name: Some(stage_name.into()),
            deployment_id: Some(deployment.attr_deployment_id()),
            description: Some(format!("{} stage", stage_name).into()),
            tracing_enabled: Some(true.into()),
            access_log_setting: Some(
                cfn_stage::AccessLogSetting {
                    destination_arn: Some(access_logs.arn_without_streams()),
                    format: Some(ACCESS_LOG_FORMAT.into()),
                }
                .into(),
            ),
            method_settings: Some(Val::list(settings)),
            canary_setting: props.canary.as_ref().map(|c| {
                cfn_stage::CanarySetting {
                    deployment_id: canary_deployment.as_ref().map(|d| d.attr_deployment_id()),
                    percent_traffic: Some(Val::raw(synth::ToNode::to_node(&c.percent_traffic))),
                    use_stage_cache: Some(false.into()),
                    stage_variable_overrides: (!c.stage_variable_overrides.is_empty()).then(|| {
                        Val::map(c.stage_variable_overrides.iter().map(|(k, v)| (k.clone(), Val::from(v.as_str()))))
                    }),
                }
                .into()
            }),
            variables: (!props.variables.is_empty())
                .then(|| Val::map(props.variables.iter().map(|(k, v)| (k.clone(), Val::from(v.as_str()))))),
            ..CfnStage::new(api_id.clone())
        };
        let handle = at_path(scope, self.path(), |s| {
            let st = s.add(stage_name, cfn);
            let entry = s.stack_mut().entry_mut(&st);
            entry.add_depends_on(execution_logs.handle().logical_id());
            if let Some(a) = &props.account {
                entry.add_depends_on(a.logical_id());
            }
            suppress(
                entry,
                Check::API_GATEWAY_CACHE,
                "no stage cache: responses depend on the caller's tenant; GETs are cached at the edge (CloudFront, keyed by the credentials), where a hit also saves the API Gateway request",
            );
            st
        });
        Ok(Stage {
            handle,
            name: stage_name.to_owned(),
            api_name: self.name().to_owned(),
            api_id: self.id(),
            access_logs,
        })
    }
}

impl Stage {
    /// The stage name.
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn logical_id(&self) -> &str {
        self.handle.logical_id()
    }
    /// `arn:<partition>:apigateway:<region>::/restapis/<id>/stages/<name>`: what a WAF web ACL is associated with.
    pub fn arn(&self) -> Val<String> {
        Val::sub_with(
            format!("arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/${{Api}}/stages/{}", self.name),
            [("Api", self.api_id.clone())],
        )
    }
    pub fn access_logs(&self) -> &LogGroup {
        &self.access_logs
    }

    fn metric(&self, name: &str) -> Metric {
        Metric::new("AWS/ApiGateway", name)
            .with_dimension("ApiName", Val::from(self.api_name.as_str()))
            .with_dimension("Stage", Val::from(self.name.as_str()))
    }
    /// Server errors (Sum per minute).
    pub fn metric_5xx(&self) -> Metric {
        self.metric("5XXError")
    }
    /// Client errors (Sum per minute).
    pub fn metric_4xx(&self) -> Metric {
        self.metric("4XXError")
    }
    /// p99 latency in milliseconds, from request to response.
    pub fn metric_latency_p99(&self) -> Metric {
        self.metric("Latency").with_stat(Stat::Percentile(99.0))
    }
    /// Requests (Sum per minute; `Count` is sampled as SampleCount by default, Sum is the same number).
    pub fn metric_count(&self) -> Metric {
        self.metric("Count")
    }
    /// Latency in milliseconds, from request to response (Average: pick a percentile or rank with `with_stat`).
    pub fn metric_latency(&self) -> Metric {
        self.metric("Latency").with_stat(Stat::Average)
    }
    /// Metric `name` of one method of the stage (`GET`, `/tenants/{tenant_id}/orders`): only emitted with the
    /// stage's detailed metrics on
    /// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html>).
    pub fn metric_of_method(api_name: &str, stage: &str, method: &str, resource: &str, name: &str) -> Metric {
        Metric::new("AWS/ApiGateway", name)
            .with_dimension("ApiName", Val::from(api_name))
            .with_dimension("Method", Val::from(method))
            .with_dimension("Resource", Val::from(resource))
            .with_dimension("Stage", Val::from(stage))
    }

    /// A usage plan for this stage at `<scope>/<id>`.
    pub fn add_usage_plan(
        &self,
        scope: &mut Scope,
        id: &str,
        props: UsagePlanProps,
    ) -> Result<UsagePlan, ConstructError> {
        let path = if scope.path().is_empty() { id.to_owned() } else { format!("{}/{id}", scope.path()) };
        if let Some(q) = props.quota {
            check_range(&path, "quota limit", q.limit.into(), 1, i64::from(i32::MAX))?;
        }
        let handle = scope.add(
            id,
            CfnUsagePlan {
                usage_plan_name: Some(Val::sub(format!("${{AWS::StackName}}-{id}"))),
                description: props.description.as_deref().map(Val::from),
                api_stages: Some(Val::list([cfn_usage_plan::ApiStage {
                    api_id: Some(self.api_id.clone()),
                    stage: Some(self.name.as_str().into()),
                    ..Default::default()
                }])),
                throttle: props.throttle.map(|t| {
                    cfn_usage_plan::ThrottleSettings {
                        rate_limit: Some(Val::raw(synth::ToNode::to_node(&t.rate_limit))),
                        burst_limit: Some(t.burst_limit.into()),
                    }
                    .into()
                }),
                quota: props.quota.map(|q| {
                    cfn_usage_plan::QuotaSettings {
                        limit: Some(q.limit.into()),
                        period: Some(
                            match q.period {
                                QuotaPeriod::Day => "DAY",
                                QuotaPeriod::Week => "WEEK",
                                QuotaPeriod::Month => "MONTH",
                            }
                            .into(),
                        ),
                        ..Default::default()
                    }
                    .into()
                }),
                ..CfnUsagePlan::new()
            },
        );
        // The plan names the stage by name, which CloudFormation cannot see.
        if scope.stack().resource(self.handle.logical_id()).is_some() {
            scope.stack_mut().entry_mut(&handle).add_depends_on(self.handle.logical_id());
        }
        Ok(UsagePlan { handle, path })
    }
}

/// A regional custom domain name with TLS 1.2.
#[derive(Clone, Debug)]
pub struct DomainName {
    handle: Handle<CfnDomainName>,
    path: String,
}

impl DomainName {
    /// Custom domain `domain` served with the certificate `certificate_arn` (of this region).
    pub fn new(
        scope: &mut Scope,
        id: &str,
        domain: &str,
        certificate_arn: Val<String>,
    ) -> Result<DomainName, ConstructError> {
        let mut scope = scope.child(id);
        let path = scope.path().to_owned();
        crate::certificatemanager::check_domain(&path, domain)?;
        let handle = scope.add(
            "Resource",
            CfnDomainName {
                domain_name: Some(domain.into()),
                regional_certificate_arn: Some(certificate_arn),
                endpoint_configuration: Some(
                    cfn_domain_name::EndpointConfiguration {
                        types: Some(Val::list(["REGIONAL"])),
                        ..Default::default()
                    }
                    .into(),
                ),
                security_policy: Some("TLS_1_2".into()),
                ..CfnDomainName::new()
            },
        );
        Ok(DomainName { handle, path })
    }

    pub fn path(&self) -> &str {
        &self.path
    }
    /// `Fn::GetAtt RegionalDomainName`: the target of the DNS alias.
    pub fn regional_domain_name(&self) -> Val<String> {
        self.handle.attr_regional_domain_name()
    }
    /// `Fn::GetAtt RegionalHostedZoneId`.
    pub fn regional_hosted_zone_id(&self) -> Val<String> {
        self.handle.attr_regional_hosted_zone_id()
    }

    /// Maps `base_path` (none: the root) of this domain to `stage`, at `<domain>/<id>`.
    pub fn map(&self, scope: &mut Scope, id: &str, api: &RestApi, stage: &Stage, base_path: Option<&str>) {
        let domain = self.handle.ref_();
        at_path(scope, self.path(), |s| {
            let m = s.add(
                id,
                CfnBasePathMapping {
                    base_path: base_path.map(Val::from),
                    rest_api_id: Some(api.id()),
                    stage: Some(stage.name().into()),
                    ..CfnBasePathMapping::new(domain)
                },
            );
            if s.stack().resource(stage.logical_id()).is_some() {
                s.stack_mut().entry_mut(&m).add_depends_on(stage.logical_id());
            }
        });
    }
}
