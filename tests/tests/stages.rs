//! The shipped stage files (`stages/*.toml`): each reads into the configuration the snapshots and the cfn-lint and
//! checkov gates of `platform.rs` cover, the prod file names the keys only its user can fill in, and the schema
//! editors use is the one the Rust type derives.

#![allow(clippy::unwrap_used)]

use constructs::platform::PlatformConfig;
use constructs::platform::stage;
use tests::{platform, redact_assets, stage_config, workspace_root};

fn read(stage: &str, overrides: &[&str]) -> Result<PlatformConfig, stage::StageError> {
    stage_config(stage, overrides)
}

/// What a prod user fills in: the domain (here the example values the gates use), the JWT issuer, the OIDC
/// identity provider and who the alarms reach.
const PROD_USER_KEYS: &[&str] = &[
    r#"alarm_subscriptions=[{ email = "oncall@example.com" }, { https = "https://events.pagerduty.com/integration/example/enqueue" }, { slack = { workspace_id = "T0123ABCD", channel_id = "C0123ABCD" } }]"#,
    "features.domain.hosted_zone_id=Z0123456789EXAMPLE",
    "features.domain.edge_domain=api.example.com",
    "features.domain.api_domain=origin.api.example.com",
    "jwt_issuer=https://auth.example.com/",
    r#"oidc={ issuer = "https://login.example.com/", audience = "platform-api", jwks_url = "https://login.example.com/.well-known/jwks.json" }"#,
];

#[test]
fn the_stage_files_are_the_ones_shipped() {
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join("stages"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.strip_suffix(".toml").map(str::to_owned))
        .collect();
    names.sort();
    assert_eq!(names, ["dev", "local", "prod"]);
}

/// The local stage (`platform.rs` runs the cfn-lint and checkov gates on it with the other configurations).
#[test]
fn snapshots_local() {
    let a = platform(&read("local", &[]).unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(a.stacks.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["Regional", "Routes1", "Api"]);
    for s in &a.stacks {
        insta::assert_snapshot!(format!("local_{}", s.id), redact_assets(&a, &s.template));
    }
    insta::assert_snapshot!("local_manifest", redact_assets(&a, &a.manifest_json()));
}

#[test]
fn dev_is_the_embedded_default() {
    assert_eq!(read("dev", &[]).unwrap_or_else(|e| panic!("{e}")), PlatformConfig::default_for("dev"));
}

#[test]
fn prod_is_the_whole_platform_once_its_user_keys_are_set() {
    let prod = read("prod", PROD_USER_KEYS).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(prod, PlatformConfig::all_features("prod"));
}

#[test]
fn prod_names_each_key_its_user_must_set() {
    let e = read("prod", &[]).map(|_| ()).unwrap_err();
    assert_eq!(
        e.to_string().lines().collect::<Vec<_>>(),
        [
            "stages/prod.toml: features.domain.api_domain: missing: The regional API's own name, CloudFront's origin (e.g. `origin.api.example.com`)",
            "stages/prod.toml: features.domain.edge_domain: missing: The name clients use: served by CloudFront (e.g. `api.example.com`)",
            "stages/prod.toml: features.domain.hosted_zone_id: missing: The Route 53 hosted zone holding both names (`Z` and 1 to 31 more letters and digits)",
        ]
    );
}

#[test]
fn each_stage_rolls_the_request_path_out_with_its_deployment_configuration() {
    use constructs::codedeploy::LambdaDeploymentConfig;
    let config =
        |stage: &str, keys: &[&str]| read(stage, keys).unwrap_or_else(|e| panic!("{e}")).features.lambda_deployment;
    assert_eq!(config("dev", &[]), Some(LambdaDeploymentConfig::AllAtOnce));
    assert_eq!(config("prod", PROD_USER_KEYS), Some(LambdaDeploymentConfig::Canary10Percent5Minutes));
    // The local cloud has no CodeDeploy: no alias to shift, no deployment group.
    assert_eq!(config("local", &[]), None);
    let linear = ["features.lambda_deployment=CodeDeployDefault.LambdaLinear10PercentEvery1Minute"];
    assert_eq!(config("dev", &linear), Some(LambdaDeploymentConfig::Linear10PercentEvery1Minute));
}

#[test]
fn an_unknown_deployment_configuration_is_named_with_the_allowed_ones() {
    let e = read("dev", &["features.lambda_deployment=CodeDeployDefault.LambdaCanary50Percent1Minute"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "stages/dev.toml: features.lambda_deployment: \"CodeDeployDefault.LambdaCanary50Percent1Minute\" is not allowed; \
         allowed: \"CodeDeployDefault.LambdaAllAtOnce\", \"CodeDeployDefault.LambdaCanary10Percent5Minutes\", \
         \"CodeDeployDefault.LambdaCanary10Percent10Minutes\", \"CodeDeployDefault.LambdaCanary10Percent15Minutes\", \
         \"CodeDeployDefault.LambdaCanary10Percent30Minutes\", \"CodeDeployDefault.LambdaLinear10PercentEvery1Minute\", \
         \"CodeDeployDefault.LambdaLinear10PercentEvery2Minutes\", \"CodeDeployDefault.LambdaLinear10PercentEvery3Minutes\", \
         \"CodeDeployDefault.LambdaLinear10PercentEvery10Minutes\""
    );
}

#[test]
fn the_schema_file_is_the_types_schema() {
    let on_disk = std::fs::read_to_string(workspace_root().join("stages/stage.schema.json")).unwrap();
    assert!(on_disk == stage::schema_text(), "stages/stage.schema.json is stale: run `cargo xtask codegen`");
}
