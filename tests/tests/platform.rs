//! The platform end to end: snapshots of every stack, the cfn-lint and checkov gates on every stage and with every
//! optional feature, the declared suppressions, the split into route stacks, safe defaults, exact grants and
//! environments, and configuration errors.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use constructs::platform::types::routes::{Handler, handler_env, permissions};
use constructs::platform::{PlatformConfig, PlatformError, ROUTES_PER_STACK};
use serde_json::{Value, json};
use synth::Assembly;
use tests::*;

fn templates(a: &Assembly) -> BTreeMap<String, Value> {
    a.stacks.iter().map(|s| (s.id.clone(), serde_json::from_str(&s.template).unwrap())).collect()
}

/// The gate matrix: every stage, with and without every optional feature.
fn gate_configs() -> Vec<(&'static str, PlatformConfig)> {
    vec![
        ("default-dev", PlatformConfig::default_for("dev")),
        ("default-prod", PlatformConfig::default_for("prod")),
        ("all-dev", PlatformConfig::all_features("dev")),
        ("all-prod", PlatformConfig::all_features("prod")),
    ]
}

#[test]
fn snapshots_default_dev() {
    let a = platform(&PlatformConfig::default_for("dev"));
    assert_eq!(a.stacks.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["Edge", "Regional", "Routes1", "Api"]);
    for s in &a.stacks {
        insta::assert_snapshot!(format!("default_dev_{}", s.id), redact_assets(&a, &s.template));
    }
    insta::assert_snapshot!("default_dev_manifest", redact_assets(&a, &a.manifest_json()));
}

#[test]
fn snapshots_all_features_prod() {
    let a = platform(&PlatformConfig::all_features("prod"));
    assert_eq!(
        a.stacks.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["Edge", "ReplicaUsWest2", "Regional", "Routes1", "Api"]
    );
    for s in &a.stacks {
        insta::assert_snapshot!(format!("all_prod_{}", s.id), redact_assets(&a, &s.template));
    }
    insta::assert_snapshot!("all_prod_manifest", redact_assets(&a, &a.manifest_json()));
}

#[test]
fn synth_is_deterministic() {
    let config = PlatformConfig::all_features("prod");
    let (a, b) = (platform(&config), platform(&config));
    for (x, y) in a.stacks.iter().zip(&b.stacks) {
        assert_eq!(x.template, y.template, "{}", x.id);
    }
    assert_eq!(a.manifest_json(), b.manifest_json());
}

#[test]
fn cfn_lint_is_clean_on_every_stage_and_feature() {
    let dir = scratch_dir("platform-cfn-lint");
    let mut files = Vec::new();
    for (name, config) in
        gate_configs().into_iter().chain([("extra-200", PlatformConfig::default_for("dev").with_extra_routes(200))])
    {
        let sub = dir.join(name);
        std::fs::create_dir_all(&sub).unwrap();
        files.extend(
            write_assembly(&platform(&config), &sub)
                .into_iter()
                .filter(|p| p.to_string_lossy().ends_with(".template.json")),
        );
    }
    let findings = cfn_lint(&files).unwrap_or_else(|e| panic!("{e}"));
    assert!(findings.is_empty(), "cfn-lint findings:\n{}", findings.join("\n"));
}

#[test]
fn checkov_fails_nothing_and_skips_exactly_what_is_declared() {
    let dir = scratch_dir("platform-checkov");
    let mut declared = BTreeSet::new();
    for (name, config) in gate_configs() {
        let sub = dir.join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let a = platform(&config);
        for s in &a.stacks {
            std::fs::write(sub.join(&s.template_file), &s.template).unwrap();
        }
        for (file, resource, check) in declared_checkov_skips(&a) {
            declared.insert((format!("{name}/{file}"), resource, check));
        }
    }
    let report = checkov(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.parsing_errors, 0);
    assert!(report.failed.is_empty(), "checkov failed checks:\n{:#?}", report.failed);
    let skipped: BTreeSet<(String, String, String)> =
        report.skipped.iter().map(|s| (s.file.clone(), s.resource.clone(), s.check_id.clone())).collect();
    assert_eq!(skipped, declared, "checkov's skips must be exactly the ones declared in code");
    // Every skip checkov applied carries the reason written in code (checkov reads it from the metadata).
    for skip in &report.skipped {
        let comment = skip.comment.as_deref().unwrap_or_default();
        assert!(
            comment.len() > 40,
            "{}/{} {}: checkov shows no reason: {comment:?}",
            skip.file,
            skip.resource,
            skip.check_id
        );
    }
    assert!(report.passed > 900, "checkov ran the checks: {} passed", report.passed);
}

#[test]
fn suppressions_are_the_declared_ones() {
    let ids = |a: &Assembly| -> Vec<(String, String, String)> {
        declared_suppressions(a)
            .into_iter()
            .map(|(s, r, id, reason)| {
                assert!(reason.len() > 40, "{s}/{r} {id}: the reason must say why: {reason:?}");
                (s, r, id)
            })
            .collect()
    };
    let t = |s: &str, r: &str, id: &str| (s.to_owned(), r.to_owned(), id.to_owned());
    assert_eq!(
        ids(&platform(&PlatformConfig::default_for("dev"))),
        [
            t("Regional", "Cdn", "AwsSolutions-CFR4"),
            t("Regional", "JwtSigningKey", "AwsSolutions-SMG4"),
            t("Regional", "Logs", "AwsSolutions-S1"),
            t("Regional", "WebhookSigningKey", "AwsSolutions-SMG4"),
        ]
    );
    assert_eq!(
        ids(&platform(&PlatformConfig::all_features("dev"))),
        [
            t("Regional", "JwtSigningKey", "AwsSolutions-SMG4"),
            t("Regional", "Logs", "AwsSolutions-S1"),
            t("Regional", "Search", "AwsSolutions-OS4"),
            t("Regional", "Search", "AwsSolutions-OS7"),
            t("Regional", "WebhookSigningKey", "AwsSolutions-SMG4"),
        ]
    );
    // Production with a domain: a real certificate and a production search domain leave only what has no fix yet.
    assert_eq!(
        ids(&platform(&PlatformConfig::all_features("prod"))),
        [
            t("Regional", "JwtSigningKey", "AwsSolutions-SMG4"),
            t("Regional", "Logs", "AwsSolutions-S1"),
            t("Regional", "WebhookSigningKey", "AwsSolutions-SMG4"),
        ]
    );
}

#[test]
fn secrets_rotate_when_a_rotation_function_is_given() {
    let mut assets = platform_assets();
    assets.rotator = Some(synth::Asset { id: "rotator".into(), ..assets.exporter.clone() });
    let a = constructs::platform::synth(&PlatformConfig::default_for("dev"), &assets).unwrap_or_else(|e| panic!("{e}"));
    let regional = &templates(&a)["Regional"];
    for secret in ["JwtSigningKey", "WebhookSigningKey"] {
        assert_eq!(
            regional["Resources"][format!("{secret}Rotation")]["Properties"]["RotationRules"],
            json!({"AutomaticallyAfterDays": 30})
        );
    }
    assert!(declared_suppressions(&a).iter().all(|(_, _, id, _)| id != "AwsSolutions-SMG4"));
}

#[test]
fn two_hundred_extra_routes_split_into_route_stacks() {
    let config = PlatformConfig::default_for("dev").with_extra_routes(200);
    let started = std::time::Instant::now();
    let a = platform(&config);
    let elapsed = started.elapsed();
    let ids: Vec<&str> = a.stacks.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["Edge", "Regional", "Routes1", "Routes2", "Routes3", "Routes4", "Routes5", "Api"]);
    assert_eq!(config.routes.len().div_ceil(ROUTES_PER_STACK), 5);
    for s in &a.stacks {
        assert!(s.resources <= synth::MAX_RESOURCES, "{}: {} resources", s.id, s.resources);
    }
    let total: usize = a.stacks.iter().map(|s| s.resources).sum();
    assert!((1400..=1800).contains(&total), "{total} resources");
    let api = a.stack("Api").unwrap();
    assert_eq!(
        api.dependencies,
        ["Regional", "Routes1", "Routes2", "Routes3", "Routes4", "Routes5"],
        "the stage waits for every route stack"
    );
    eprintln!("200 extra routes: {total} resources in {} stacks, synth {elapsed:?}", a.stacks.len());
}

#[test]
fn adding_routes_moves_nothing() {
    let before = platform(&PlatformConfig::default_for("dev").with_extra_routes(60));
    let after = platform(&PlatformConfig::default_for("dev").with_extra_routes(61));
    for id in ["Edge", "Regional", "Routes1"] {
        assert_eq!(before.stack(id).unwrap().template, after.stack(id).unwrap().template, "{id} must not change");
    }
    let (b, a) = (templates(&before), templates(&after));
    let keys = |t: &Value| t["Resources"].as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>();
    assert!(keys(&b["Routes2"]).is_subset(&keys(&a["Routes2"])), "route stacks only grow");
}

#[test]
fn stateful_resources_live_in_regional() {
    const STATEFUL: &[&str] = &[
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::SQS::Queue",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
        "AWS::OpenSearchService::Domain",
        "AWS::ElastiCache::ServerlessCache",
        "AWS::Events::EventBus",
    ];
    for config in [PlatformConfig::all_features("prod"), PlatformConfig::default_for("dev").with_extra_routes(120)] {
        let a = platform(&config);
        for s in &a.stacks {
            for t in STATEFUL {
                if s.resources_by_type.contains_key(*t) {
                    assert_eq!(s.id, "Regional", "{t} in {}", s.id);
                }
            }
        }
    }
}

/// Every resource of `type_name` in every stack: (stack, logical id, resource).
fn all_of<'a>(t: &'a BTreeMap<String, Value>, type_name: &str) -> Vec<(&'a str, &'a str, &'a Value)> {
    t.iter()
        .flat_map(|(s, t)| {
            t["Resources"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, r)| r["Type"] == type_name)
                .map(move |(id, r)| (s.as_str(), id.as_str(), r))
        })
        .collect()
}

#[test]
fn safe_defaults_hold_everywhere() {
    for (name, config) in gate_configs() {
        let t = templates(&platform(&config));
        for (s, id, r) in all_of(&t, "AWS::DynamoDB::Table").into_iter().chain(all_of(&t, "AWS::DynamoDB::GlobalTable"))
        {
            assert_eq!(r["DeletionPolicy"], "Retain", "{name} {s}/{id}");
            assert_eq!(r["UpdateReplacePolicy"], "Retain", "{name} {s}/{id}");
        }
        for (s, id, r) in all_of(&t, "AWS::Lambda::Function") {
            let p = &r["Properties"];
            assert_eq!(p["Architectures"], json!(["arm64"]), "{name} {s}/{id}");
            assert_eq!(p["Runtime"], "provided.al2023", "{name} {s}/{id}");
            assert_eq!(p["TracingConfig"]["Mode"], "Active", "{name} {s}/{id}");
            assert!(p["KmsKeyArn"].is_object(), "{name} {s}/{id}: environment encrypted with the platform key");
        }
        for (s, id, r) in all_of(&t, "AWS::Logs::LogGroup") {
            assert!(r["Properties"]["RetentionInDays"].is_number(), "{name} {s}/{id}");
            assert!(r["Properties"]["KmsKeyId"].is_object(), "{name} {s}/{id}: encrypted with a customer key");
        }
        for (s, id, r) in all_of(&t, "AWS::SQS::Queue") {
            assert!(r["Properties"]["KmsMasterKeyId"].is_object(), "{name} {s}/{id}");
        }
        for (s, id, r) in all_of(&t, "AWS::S3::Bucket") {
            assert_eq!(
                r["Properties"]["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"], true,
                "{name} {s}/{id}"
            );
        }
        for (s, id, r) in all_of(&t, "AWS::KMS::Key") {
            assert_eq!(r["Properties"]["EnableKeyRotation"], true, "{name} {s}/{id}");
        }
        for (s, id, r) in all_of(&t, "AWS::ApiGateway::Method") {
            assert_eq!(r["Properties"]["AuthorizationType"], "CUSTOM", "{name} {s}/{id}");
            assert_eq!(
                r["Properties"]["ApiKeyRequired"],
                json!(config.features.enforce_usage_plans),
                "{name} {s}/{id}"
            );
        }
        let prod = name.ends_with("prod");
        let a = platform(&config);
        assert!(
            a.stacks.iter().all(|s| s.termination_protection == prod),
            "{name}: termination protection on prod only"
        );
        let edge = a.stack("Edge").unwrap();
        assert_eq!(edge.region, "us-east-1");
    }
}

#[test]
fn the_distribution_uses_the_edge_stack() {
    let a = platform(&PlatformConfig::all_features("prod"));
    let t = templates(&a);
    let cdn = &t["Regional"]["Resources"]["Cdn"]["Properties"]["DistributionConfig"];
    assert_eq!(
        cdn["WebACLId"],
        json!({"Fn::GetStackOutput": {"OutputName": "WebAclArn", "Region": "us-east-1", "StackName": "platform-prod-edge"}})
    );
    assert_eq!(cdn["ViewerCertificate"]["MinimumProtocolVersion"], "TLSv1.2_2021");
    assert_eq!(cdn["Aliases"], json!(["api.example.com"]));
    assert_eq!(a.stack("Regional").unwrap().dependencies, ["Edge", "ReplicaUsWest2"]);
    let replicas = t["Regional"]["Resources"]["Entities"]["Properties"]["Replicas"].as_array().unwrap().clone();
    assert_eq!(replicas[1]["SSESpecification"]["KMSMasterKeyId"]["Fn::GetStackOutput"]["Region"], "us-west-2");
}

/// The actions of a role that are not plumbing (logs, traces, keys, network interfaces).
fn data_actions(role: &Value) -> BTreeSet<String> {
    role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
            _ => vec![],
        })
        .filter(|a| !["logs:", "xray:", "kms:", "ec2:", "apigateway:"].iter().any(|p| a.starts_with(p)))
        .collect()
}

#[test]
fn grants_are_exactly_the_handlers_permissions() {
    let t = templates(&platform(&PlatformConfig::all_features("dev")));
    let regional = &t["Regional"]["Resources"];
    for h in Handler::ALL {
        let mut expected: BTreeSet<String> =
            permissions(h).iter().flat_map(|p| p.actions.iter().map(|a| (*a).to_owned())).collect();
        if h == Handler::StreamProcessor {
            // The stream event source sends failed batches to its on-failure queue with the function's role.
            expected.insert("sqs:SendMessage".into());
        }
        assert_eq!(data_actions(&regional[format!("{}Role", h.name())]), expected, "{h:?}");
    }
}

#[test]
fn handlers_get_the_environment_they_read() {
    let t = templates(&platform(&PlatformConfig::all_features("dev")));
    let regional = &t["Regional"]["Resources"];
    for h in Handler::ALL {
        let vars: BTreeSet<String> =
            regional[h.name()]["Properties"]["Environment"]["Variables"].as_object().unwrap().keys().cloned().collect();
        let known: BTreeSet<String> = handler_env(h)
            .iter()
            .map(|s| (*s).to_owned())
            .chain([
                constructs::platform::types::env::REDIS_ENDPOINT.to_owned(),
                constructs::platform::types::env::USAGE_PLAN_KEY_IDS.to_owned(),
            ])
            .collect();
        assert!(
            vars.is_subset(&known),
            "{h:?} gets variables it does not read: {:?}",
            vars.difference(&known).collect::<Vec<_>>()
        );
        // The required ones (resource names and ARNs) are always there.
        for required in handler_env(h)
            .iter()
            .filter(|v| v.ends_with("_NAME") || v.ends_with("_ARN") || v.ends_with("_URL") || v.ends_with("_ENDPOINT"))
        {
            assert!(vars.contains(*required), "{h:?} misses {required}");
        }
    }
    assert_eq!(regional["ApiRead"]["Properties"]["Environment"]["Variables"]["API_ROLE"], "read");
    assert!(
        regional["Authorizer"]["Properties"]["Environment"]["Variables"]["USAGE_PLAN_KEY_IDS"]["Fn::Join"].is_array()
    );
}

#[test]
fn configuration_errors() {
    let e = |c: PlatformConfig| match constructs::platform::build(&c, &platform_assets()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("expected an error"),
    };
    let mut c = PlatformConfig::default_for("dev");
    c.tiers[1].name = "Pro".into();
    assert_eq!(
        e(c),
        "platform configuration: tier name \"Pro\" must be unique lowercase letters (the authorizer's tier names)"
    );
    let mut c = PlatformConfig::default_for("dev");
    c.routes[0].handler = Handler::Exporter;
    assert_eq!(
        e(c),
        "platform configuration: route GET /tenants/{tenant_id}/orders is served by Exporter; routes are served by ApiRead or ApiWrite"
    );
    let mut c = PlatformConfig::all_features("dev");
    c.features.replica_regions = vec!["eu-west-1".into()];
    assert_eq!(e(c), "Entities: replica region eu-west-1 is the table's own region; list only other regions");
    let mut c = PlatformConfig::default_for("Dev");
    c.stage = "Dev".into();
    assert_eq!(
        e(c),
        "platform configuration: stage \"Dev\" must be lowercase letters and digits (it names stacks and the API stage)"
    );
    let mut c = PlatformConfig::default_for("dev");
    c.routes.push(c.routes[0].clone());
    assert!(matches!(constructs::platform::build(&c, &platform_assets()), Err(PlatformError::Construct(_))));
    assert_eq!(e(c), "Api: duplicate method \"GET /tenants/{tenant_id}/orders\"");
}
