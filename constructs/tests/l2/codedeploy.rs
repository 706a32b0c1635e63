//! `codedeploy::LambdaApplication` and `LambdaDeploymentGroup`: a function's alias shifted by CodeDeploy.

use constructs::cloudwatch::{Alarm, AlarmProps};
use constructs::codedeploy::{
    LambdaApplication, LambdaDeploymentConfig, LambdaDeploymentGroup, LambdaDeploymentGroupProps,
};
use constructs::lambda::{Function, FunctionProps};
use serde_json::json;
use synth::Scope;

use super::support::*;

/// A function with its alias, its error alarm, an application and the function's group with `config`.
fn rollout(s: &mut Scope, config: LambdaDeploymentConfig) {
    let f = Function::new(s, "Api", &asset(), FunctionProps { alias: true, ..FunctionProps::default() }).unwrap();
    let errors = Alarm::new(s, "ApiErrors", &f.metric_errors(), 1.0, AlarmProps::default()).unwrap();
    let app = LambdaApplication::new(s, "Deployments").unwrap();
    let props = LambdaDeploymentGroupProps { config, alarms: vec![errors] };
    LambdaDeploymentGroup::new(s, "ApiDeployment", &app, &f, props).unwrap();
}

#[test]
fn the_alias_update_is_a_deployment_of_the_group_rolled_back_on_failure_and_alarms() {
    let t = template(|s| rollout(s, LambdaDeploymentConfig::Canary10Percent5Minutes));
    assert_eq!(props(&t, "Deployments"), &json!({"ComputePlatform": "Lambda"}));
    assert_eq!(
        props(&t, "ApiDeployment"),
        &json!({
            "AlarmConfiguration": {"Alarms": [{"Name": ref_("ApiErrors")}], "Enabled": true, "IgnorePollAlarmFailure": false},
            "ApplicationName": ref_("Deployments"),
            "AutoRollbackConfiguration": {"Enabled": true, "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
            "DeploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
            "DeploymentStyle": {"DeploymentOption": "WITH_TRAFFIC_CONTROL", "DeploymentType": "BLUE_GREEN"},
            "ServiceRoleArn": get_att("DeploymentsRole", "Arn"),
        })
    );
    assert_eq!(
        resource(&t, "ApiLive")["UpdatePolicy"],
        json!({"CodeDeployLambdaAliasUpdate": {"ApplicationName": ref_("Deployments"), "DeploymentGroupName": ref_("ApiDeployment")}})
    );
    // The alias without provisioned concurrency: an alias costs nothing by itself.
    assert!(props(&t, "ApiLive").get("ProvisionedConcurrencyConfig").is_none());
}

#[test]
fn the_service_role_moves_only_the_function_s_alias_and_reads_only_the_group_s_alarms() {
    let t = template(|s| rollout(s, LambdaDeploymentConfig::AllAtOnce));
    assert_eq!(
        props(&t, "DeploymentsRole")["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
        json!({"Service": "codedeploy.amazonaws.com"})
    );
    assert!(props(&t, "DeploymentsRole").get("ManagedPolicyArns").is_none(), "no AWS managed policy");
    assert_eq!(
        role_statements(&t, "DeploymentsRole"),
        vec![
            json!({
                "Effect": "Allow",
                "Action": ["lambda:GetAlias", "lambda:GetProvisionedConcurrencyConfig", "lambda:UpdateAlias"],
                "Resource": [get_att("Api", "Arn"), {"Fn::Sub": ["${Function}:live", {"Function": get_att("Api", "Arn")}]}],
            }),
            json!({"Effect": "Allow", "Action": "cloudwatch:DescribeAlarms", "Resource": get_att("ApiErrors", "Arn")}),
        ]
    );
    assert_eq!(props(&t, "ApiDeployment")["DeploymentConfigName"], "CodeDeployDefault.LambdaAllAtOnce");
}

#[test]
fn without_alarms_only_a_failed_deployment_rolls_back() {
    let t = template(|s| {
        let f = Function::new(s, "Api", &asset(), FunctionProps { alias: true, ..FunctionProps::default() }).unwrap();
        let app = LambdaApplication::new(s, "Deployments").unwrap();
        LambdaDeploymentGroup::new(s, "ApiDeployment", &app, &f, LambdaDeploymentGroupProps::default()).unwrap();
    });
    let p = props(&t, "ApiDeployment");
    assert!(p.get("AlarmConfiguration").is_none());
    assert_eq!(p["AutoRollbackConfiguration"]["Events"], json!(["DEPLOYMENT_FAILURE"]));
    assert_eq!(p["DeploymentConfigName"], "CodeDeployDefault.LambdaAllAtOnce", "the default");
}

#[test]
fn a_function_without_alias_or_too_many_alarms_is_refused() {
    template_unchecked(|s| {
        let f = Function::new(s, "Api", &asset(), FunctionProps::default()).unwrap();
        let app = LambdaApplication::new(s, "Deployments").unwrap();
        let e = LambdaDeploymentGroup::new(s, "ApiDeployment", &app, &f, LambdaDeploymentGroupProps::default())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "ApiDeployment: function Api has no alias to shift traffic on; give it one (FunctionProps::alias)"
        );
        let f = Function::new(s, "Other", &asset(), FunctionProps { alias: true, ..FunctionProps::default() }).unwrap();
        let alarm = Alarm::new(s, "OtherErrors", &f.metric_errors(), 1.0, AlarmProps::default()).unwrap();
        let props = LambdaDeploymentGroupProps { alarms: vec![alarm; 11], ..LambdaDeploymentGroupProps::default() };
        let e = LambdaDeploymentGroup::new(s, "OtherDeployment", &app, &f, props).unwrap_err();
        assert_eq!(
            e.to_string(),
            "OtherDeployment: invalid number of rollback alarms \"11\": at most 10 (CodeDeploy's limit per deployment group)"
        );
    });
}

#[test]
fn every_predefined_configuration_is_named_as_codedeploy_names_it() {
    let names: Vec<&str> = LambdaDeploymentConfig::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(names.len(), 9);
    for (config, name) in LambdaDeploymentConfig::ALL.iter().zip(&names) {
        assert!(name.starts_with("CodeDeployDefault.Lambda"), "{name}");
        let parsed: LambdaDeploymentConfig = serde_json::from_value(json!(name)).unwrap();
        assert_eq!(&parsed, config);
    }
}
