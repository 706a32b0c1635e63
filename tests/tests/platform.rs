//! The platform end to end: snapshots of every stack, the cfn-lint (with the serverless rules), checkov and
//! cfn-guard gates on every stage and with every optional feature, the declared suppressions in every scanner's
//! form, the split into route stacks, safe defaults, exact grants and environments, and configuration errors.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use constructs::platform::types::env;
use constructs::platform::types::routes::{Handler, handler_env, permissions};
use constructs::platform::{ConfigProblem, PlatformConfig, PlatformError, ROUTES_PER_STACK};
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
        ("stage-local", stage_config("local", &[]).unwrap_or_else(|e| panic!("{e}"))),
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
        ["Edge", "ReplicaUsWest2", "Regional", "Routes1", "Api", "RegionalUsWest2", "Routes1UsWest2", "ApiUsWest2"]
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
    // With cfn-lint-serverless's rules: what they flag by design is declared in code and read by cfn-lint from
    // `Metadata.cfn-lint.config.ignore_checks` (see `every_suppression_is_written_in_every_form`).
    let findings = cfn_lint_serverless(&files).unwrap_or_else(|e| panic!("{e}"));
    assert!(findings.is_empty(), "cfn-lint findings:\n{}", findings.join("\n"));
}

/// Writes the templates of every gate configuration under `dir/<config>/`; returns their paths.
fn write_gate_templates(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for (name, config) in gate_configs() {
        let sub = dir.join(name);
        std::fs::create_dir_all(&sub).unwrap();
        for s in &platform(&config).stacks {
            let p = sub.join(&s.template_file);
            std::fs::write(&p, &s.template).unwrap();
            files.push(p);
        }
    }
    files
}

/// The rules of the project's guard gate: `guard/` at the workspace root.
fn guard_rules() -> std::path::PathBuf {
    workspace_root().join("guard")
}

#[test]
fn cfn_guard_passes_every_stage_and_feature() {
    let files = write_gate_templates(&scratch_dir("platform-guard"));
    let report = cfn_guard(&guard_rules(), &files).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.templates.len(), files.len());
    assert!(report.failed.is_empty(), "cfn-guard failures:\n{:#?}", report.failed);
    // Every rule applied somewhere and held (a rule that never applies checks nothing: a typo in a type name).
    let held: BTreeSet<&str> = report.compliant.iter().map(|(_, rule)| rule.as_str()).collect();
    assert_eq!(
        held.into_iter().collect::<Vec<_>>(),
        [
            "LAMBDA_CONCURRENCY_CHECK",
            "LAMBDA_INSIDE_VPC",
            "RCDK_BUCKET_PRIVATE_ENCRYPTED",
            "RCDK_CONCURRENCY_OR_REASON",
            "RCDK_FUNCTION_BASELINE",
            "RCDK_GLOBAL_TABLE_RECOVERABLE_ENCRYPTED",
            "RCDK_LOG_GROUP_RETENTION_KMS",
            "RCDK_QUEUE_ENCRYPTED",
            "RCDK_STATEFUL_RETAINED",
            "RCDK_SUPPRESSIONS_HAVE_REASONS",
            "RCDK_TABLE_RECOVERABLE_ENCRYPTED",
            "S3_BUCKET_LOGGING_ENABLED",
        ],
        "rules that applied and held somewhere (the others apply only to resources that declare them suppressed)"
    );
}

/// The guard form is what cfn-guard reads: without `Metadata.guard`, the Well-Architected rules the platform's
/// decisions trip fail, each on the resources that declare it.
#[test]
fn cfn_guard_reads_the_declared_suppressions() {
    let dir = scratch_dir("platform-guard-unsuppressed");
    let a = platform(&PlatformConfig::all_features("prod"));
    let regional = a.stacks.iter().find(|s| s.id == "Regional").unwrap();
    let mut t: Value = serde_json::from_str(&regional.template).unwrap();
    for r in t["Resources"].as_object_mut().unwrap().values_mut() {
        if let Some(m) = r.get_mut("Metadata").and_then(Value::as_object_mut) {
            m.remove("guard");
        }
    }
    let file = dir.join("Regional.template.json");
    std::fs::write(&file, serde_json::to_string(&t).unwrap()).unwrap();
    let report = cfn_guard(&guard_rules(), &[file]).unwrap_or_else(|e| panic!("{e}"));
    let failed: BTreeMap<&str, usize> = report.failed.iter().map(|f| (f.rule.as_str(), f.paths.len())).collect();
    assert_eq!(
        failed,
        BTreeMap::from([
            // The secret rotator (issue 11, item 5) adds one each to the inline policy, DLQ and VPC rules: a function
            // outside the VPC with an inline-policy role, like the webhook worker. The event search function (issue
            // 10, item 4) one each to the inline policy and DLQ rules (it runs in the VPC on prod). The invoice
            // renderer (issue 10, item 3) one each to the DLQ and VPC rules; its role replaces the Billing rule's.
            // The upload scanner (issue 10, item 5) one each to the inline policy, DLQ and VPC rules (a worker
            // outside the VPC, like the renderer), and the uploads bucket one each to the lock and replication
            // rules (declared with their reasons; it logs to the log bucket, so the logging count stays).
            // The alarm topic's Slack channel (issue 11, item 3): the Chatbot role's inline policy, one more.
            // CodeDeploy's service role for the request path's rollouts (issue 11, item 2) one to the inline policy
            // rule: its exact statements instead of the managed AWSCodeDeployRoleForLambdaLimited.
            ("IAM_NO_INLINE_POLICY_CHECK", 16),
            ("LAMBDA_CONCURRENCY_CHECK", 3),
            ("LAMBDA_DLQ_CHECK", 11),
            ("LAMBDA_INSIDE_VPC", 5),
            ("S3_BUCKET_DEFAULT_LOCK_ENABLED", 5),
            ("S3_BUCKET_LOGGING_ENABLED", 1),
            ("S3_BUCKET_REPLICATION_ENABLED", 5),
        ]),
        "{:#?}",
        report.failed
    );
}

/// One declaration, every scanner: each entry of `rcdk:suppressions` is written, with its reason where the form has
/// room for one, in every form its check has (`checkov.skip`, `cfn-lint.config.ignore_checks`,
/// `guard.SuppressedRules`, `cfn_nag.rules_to_suppress`), and no form holds an id no declaration accounts for.
#[test]
fn every_suppression_is_written_in_every_form() {
    use constructs::common::Check;
    let strings = |v: &Value| -> BTreeSet<String> {
        v.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_owned)).collect()
    };
    let pairs = |v: &Value, text: &str| -> BTreeSet<(String, String)> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|x| (x["id"].as_str().unwrap().to_owned(), x[text].as_str().unwrap().to_owned()))
            .collect()
    };
    let mut declarations = 0;
    for (name, config) in gate_configs() {
        for (stack, t) in templates(&platform(&config)) {
            for (id, r) in t["Resources"].as_object().unwrap() {
                let m = &r["Metadata"];
                let at = format!("{name} {stack}/{id}");
                let (mut checkov, mut cfn_lint, mut guard, mut cfn_nag) =
                    (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
                for s in m["rcdk:suppressions"].as_array().into_iter().flatten() {
                    let (sid, reason) = (s["id"].as_str().unwrap(), s["reason"].as_str().unwrap());
                    assert!(!reason.trim().is_empty(), "{at}: {sid} has no reason");
                    declarations += 1;
                    // A rule only the pack has is written for the pack alone.
                    let Some(check) = Check::by_suppression_id(sid) else {
                        assert!(!sid.starts_with("scanner:"), "{at}: {sid} is in no catalogue");
                        continue;
                    };
                    checkov.extend(check.checkov.map(|c| (c.id().to_owned(), reason.to_owned())));
                    cfn_lint.extend(check.cfn_lint.iter().map(|c| (*c).to_owned()));
                    guard.extend(check.guard.iter().map(|c| (*c).to_owned()));
                    cfn_nag.extend(check.cfn_nag.iter().map(|c| ((*c).to_owned(), reason.to_owned())));
                }
                assert_eq!(pairs(&m["checkov"]["skip"], "comment"), checkov, "{at}: checkov.skip");
                assert_eq!(strings(&m["cfn-lint"]["config"]["ignore_checks"]), cfn_lint, "{at}: cfn-lint");
                assert_eq!(strings(&m["guard"]["SuppressedRules"]), guard, "{at}: guard");
                assert_eq!(pairs(&m["cfn_nag"]["rules_to_suppress"], "reason"), cfn_nag, "{at}: cfn_nag");
            }
        }
    }
    assert!(declarations > 0);
}

/// The decisions declared for the other scanners, by check, on the dev and prod stages: reviewed values, like the
/// checkov count (a new function, bucket or queue adds its declarations here).
#[test]
fn scanner_decisions_by_check() {
    let count = |config: &PlatformConfig| -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for (_, _, id, _) in declared_scanner_suppressions(&platform(config)) {
            *out.entry(id).or_insert(0) += 1;
        }
        out
    };
    let m = |pairs: &[(&str, usize)]| -> BTreeMap<String, usize> {
        pairs.iter().map(|(k, v)| (format!("scanner:{k}"), *v)).collect()
    };
    assert_eq!(
        count(&PlatformConfig::default_for("dev")),
        m(&[
            ("ApiGatewayCache", 1),
            ("EventSourceOnFailure", 3),
            // Ten functions with the event search, the secret rotator, the invoice renderer and the upload
            // scanner: each declares its role's inline policy, its dead-letter queue, its VPC placement and its
            // log group's name. CodeDeploy's service role (the request path's rollouts, issue 11 item 2) declares
            // its inline policy too.
            ("IamInlinePolicy", 13),
            ("LambdaConcurrency", 3),
            ("LambdaDeadLetterQueue", 10),
            ("LambdaInVpc", 10),
            ("LambdaLogGroupByName", 10),
            ("S3ObjectLock", 5),
            ("S3Replication", 5),
            ("SqsRedrive", 5),
        ])
    );
    // The invoices (issue 10 item 3) add the renderer (a function, its queue with its dead-letter queue, its
    // source) and remove the Billing rule's role: +1 on each function's and queue's decisions, inline policies
    // unchanged (the renderer's role for the rule's). The uploads (issue 10 item 5) add the scanner (a function,
    // its source, its scan queue's dead-letter queue: +1 on each function's and queue's decisions) and the uploads
    // bucket (+1 lock, +1 replication).
    // Prod adds the search indexer (a function, its queue and its source), the flow logs' and the search domain's
    // roles, the functions in the VPC (their roles' ENI permissions; only the three outside it say why not) and the
    // alarm subscriptions. The event search function counts on both stages (its role, no DLQ, its log group), and
    // on prod also in the VPC (its ENI permissions). The Slack channel among the alarm subscriptions (issue 11,
    // item 3) adds a Chatbot role with an inline policy to each alarm topic's stack (Regional and Edge): +2.
    // With every feature, a second region (us-west-2) serves (issue 11, item 1): its stacks declare what the first
    // region's do (its Chatbot role too), but the static files bucket (the distribution is the primary's), the stream
    // failures queue (only the primary reads the stream) and the billing topic's two subscriptions (the Edge stack is
    // the stage's, not a region's). Nor the secret rotator (a function and its role): the second region reads the
    // replicas of the primary's signing secrets, which rotate with the primary.
    assert_eq!(
        count(&PlatformConfig::all_features("prod")),
        m(&[
            ("ApiGatewayCache", 2),
            ("EventSourceOnFailure", 8),
            ("IamInlinePolicy", 34),
            ("IamWriteWithoutConstraints", 12),
            ("LambdaConcurrency", 6),
            ("LambdaDeadLetterQueue", 21),
            ("LambdaInVpc", 9),
            ("LambdaLogGroupByName", 21),
            ("S3ObjectLock", 9),
            ("S3Replication", 9),
            ("SnsSubscriptionRedrive", 6),
            ("SqsRedrive", 11),
        ])
    );
}

/// The checks the pinned checkov runs and passes on the gate matrix: a change means the templates or checkov changed,
/// and the new count is reviewed like a snapshot. 1231, plus 98 with the event search function (issue 10, item 4),
/// plus 90 with the secret rotator (issue 11, item 5): 18 checks on its function, role, log group, permissions and
/// schedules in each of the five gate configurations, plus 85 with the invoice renderer, its PDF jobs queue and its
/// dead-letter queue (issue 10, item 3), plus 155 with the uploads (issue 10, item 5): 31 checks on the upload
/// scanner's function, role, log group and source, its scan queue and dead-letter queue with their policies, and the
/// uploads bucket with its policy, in each of the five gate configurations, plus 36 with the alarms that reach people
/// (issue 11, item 3): the Chatbot roles of the Slack subscription, one beside each alarm topic (Regional and Edge) in
/// all-dev and all-prod, 9 IAM checks a role (checkov has no check of alarms, composites or Contributor Insights
/// rules), plus 36 with the request path's CodeDeploy rollouts (issue 11, item 2) in the four configurations that
/// have them (all but the local stage): 9 each, on what the rollouts add (the application and its service role,
/// three deployment groups and latency alarms, the aliases where there were none), plus 38 with the API canary's
/// stage-variable alias (issue 11, item 2) in the two configurations with a canary: a second Lambda permission
/// (`CKV_AWS_364`, scoped to its method) for each of the 19 methods invoking API read or write.
/// Plus 800 with the second serving region of the every-feature configurations (issue 11, item 1: all-dev
/// and all-prod each gain the us-west-2 Regional, Routes1 and Api stacks, 400 checks each, its Chatbot role,
/// CodeDeploy role and the canary's permissions included; the first region's stacks gain the health alarm, health check, latency records and region name, which
/// checkov has no checks for). Minus 40 when the signing secrets replicate to the second region (all-dev and
/// all-prod: its Regional stack loses the secret rotator's 18 checks and its two secrets' 2; the replicas are
/// properties of the primary's secrets, which checkov has no checks for).
const CHECKOV_PASSED: usize = 2529;

/// The checkov skips declared in the templates of `a` with their comments: `(template file, "Type.LogicalId",
/// check id, comment)`.
fn declared_checkov_comments(a: &Assembly) -> BTreeSet<(String, String, String, String)> {
    let mut out = BTreeSet::new();
    for s in &a.stacks {
        let t: Value = serde_json::from_str(&s.template).unwrap();
        for (id, r) in t["Resources"].as_object().unwrap() {
            for skip in r["Metadata"]["checkov"]["skip"].as_array().into_iter().flatten() {
                let (check, comment) = (skip["id"].as_str().unwrap(), skip["comment"].as_str().unwrap());
                let resource = format!("{}.{id}", r["Type"].as_str().unwrap());
                out.insert((s.template_file.clone(), resource, check.to_owned(), comment.to_owned()));
            }
        }
    }
    out
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
        let skips = declared_checkov_comments(&a);
        // The same skips as the shared helper finds, which the sample's gate uses too.
        assert_eq!(
            skips.iter().map(|(f, r, c, _)| (f.clone(), r.clone(), c.clone())).collect::<Vec<_>>(),
            declared_checkov_skips(&a)
        );
        declared
            .extend(skips.into_iter().map(|(file, r, check, comment)| (format!("{name}/{file}"), r, check, comment)));
    }
    let report = checkov(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.parsing_errors, 0);
    assert!(report.failed.is_empty(), "checkov failed checks:\n{:#?}", report.failed);
    // Exactly the skips declared in code, each with the reason written there (checkov reads it from the metadata).
    let skipped: BTreeSet<(String, String, String, String)> = report
        .skipped
        .iter()
        .map(|s| (s.file.clone(), s.resource.clone(), s.check_id.clone(), s.comment.clone().unwrap_or_default()))
        .collect();
    assert_eq!(skipped, declared, "checkov's skips must be exactly the ones declared in code, with their reasons");
    assert_eq!(report.passed, CHECKOV_PASSED, "checks checkov ran and passed");
}

/// The reasons the platform declares for its suppressions, as the templates must carry them.
const NO_DOMAIN: &str = "no custom domain configured: the default *.cloudfront.net certificate fixes the viewer security policy at TLSv1; set Features::domain for TLS 1.2+";
const LOG_BUCKET: &str = "this is the log bucket: its own access logs would be written to itself, one log per log";
const SMALL_SEARCH: &str =
    "non-production stage: one data node in one zone; the prod stage has three dedicated masters and two zones";

/// A suppression as `declared_suppressions` lists it: (stack, logical id, rule id, reason).
fn suppression(s: &str, r: &str, id: &str, reason: &str) -> (String, String, String, String) {
    (s.to_owned(), r.to_owned(), id.to_owned(), reason.to_owned())
}

#[test]
fn suppressions_are_the_declared_ones() {
    let t = suppression;
    assert_eq!(
        declared_suppressions(&platform(&PlatformConfig::default_for("dev"))),
        [t("Regional", "Cdn", "AwsSolutions-CFR4", NO_DOMAIN), t("Regional", "Logs", "AwsSolutions-S1", LOG_BUCKET),]
    );
    // Every feature: two serving regions, each deciding the same for its own log bucket and search domain.
    assert_eq!(
        declared_suppressions(&platform(&PlatformConfig::all_features("dev"))),
        [
            t("Regional", "Logs", "AwsSolutions-S1", LOG_BUCKET),
            t("Regional", "Search", "AwsSolutions-OS4", SMALL_SEARCH),
            t("Regional", "Search", "AwsSolutions-OS7", SMALL_SEARCH),
            t("RegionalUsWest2", "Logs", "AwsSolutions-S1", LOG_BUCKET),
            t("RegionalUsWest2", "Search", "AwsSolutions-OS4", SMALL_SEARCH),
            t("RegionalUsWest2", "Search", "AwsSolutions-OS7", SMALL_SEARCH),
        ]
    );
    // Production with a domain: a real certificate and a production search domain leave only what has no fix yet.
    assert_eq!(
        declared_suppressions(&platform(&PlatformConfig::all_features("prod"))),
        [
            t("Regional", "Logs", "AwsSolutions-S1", LOG_BUCKET),
            t("RegionalUsWest2", "Logs", "AwsSolutions-S1", LOG_BUCKET),
        ]
    );
}

#[test]
fn the_signing_secrets_rotate_with_the_rotator() {
    let a = platform(&PlatformConfig::default_for("dev"));
    let regional = &templates(&a)["Regional"]["Resources"];
    for secret in ["JwtSigningKey", "WebhookSigningKey"] {
        let rotation = &regional[format!("{secret}Rotation")];
        assert_eq!(rotation["Type"], "AWS::SecretsManager::RotationSchedule");
        assert_eq!(rotation["Properties"]["SecretId"], json!({"Ref": secret}));
        assert_eq!(rotation["Properties"]["RotationLambdaARN"], json!({"Fn::GetAtt": ["SecretRotator", "Arn"]}));
        assert_eq!(rotation["Properties"]["RotationRules"], json!({"AutomaticallyAfterDays": 30}));
        // Secrets Manager may invoke the rotator for this secret only, and the permission exists before the
        // schedule starts the first rotation.
        let permission = &regional[format!("{secret}Rotates")];
        assert_eq!(permission["Properties"]["Principal"], "secretsmanager.amazonaws.com");
        assert_eq!(permission["Properties"]["SourceArn"], json!({"Ref": secret}));
        assert_eq!(rotation["DependsOn"], json!([format!("{secret}Rotates")]));
    }
    // The rotator's grants are the two secrets' rotation actions (`grants_are_exactly_the_handlers_permissions`),
    // each statement on one secret: no `*`, no GetRandomPassword.
    let statements: Vec<&Value> = regional["SecretRotatorRole"]["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
        .filter(|s| s["Action"].to_string().contains("secretsmanager:"))
        .collect();
    let resources: Vec<&Value> = statements.iter().map(|s| &s["Resource"]).collect();
    assert_eq!(resources, [&json!([{"Ref": "JwtSigningKey"}, {"Ref": "WebhookSigningKey"}])]);
    for alarm in ["SecretRotatorErrors", "SecretRotatorThrottles", "SecretRotatorDailyCost"] {
        assert_eq!(regional[alarm]["Type"], "AWS::CloudWatch::Alarm", "{alarm}");
    }
}

#[test]
fn two_hundred_extra_routes_split_into_route_stacks() {
    let config = PlatformConfig::default_for("dev").with_extra_routes(200);
    let started = std::time::Instant::now();
    let a = platform(&config);
    let elapsed = started.elapsed();
    let ids: Vec<&str> = a.stacks.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["Edge", "Regional", "Routes1", "Routes2", "Routes3", "Routes4", "Routes5", "Api"]);
    assert_eq!((config.routes.len(), ROUTES_PER_STACK), (220, 50));
    // Routes1 holds the platform's 20 routes and the first 30 extra ones, Routes2-4 50 extra routes each (7
    // resources a route with a function of its own), Routes5 the last 20: every stack well under 500 resources. Edge
    // holds 9: the web ACL and its logging, key and alias, log group, billing topic and policy, alarm, budget.
    // Regional 145: 94, the webhook request model, a daily cost alarm per platform function (8), the event search
    // function's function, role, log group, errors and throttles alarms (5), the secret rotator's other 9:
    // function, role, log group, errors and throttles alarms, a rotation schedule and an invoke permission per
    // signing secret; then the invoices (+13): the invoice and export request models (2), the invoice renderer
    // (function, role, log group, event source, errors, throttles and daily cost alarms: 7), its PDF job queue with
    // its dead-letter queue, their two policies and the dead-letter depth alarm (5), less the Billing rule's role to
    // start the export workflow (the rule targets the queue now); then the uploads (+15): the upload request model
    // (1), the upload scanner (function, role, log group, event source, errors, throttles and daily cost alarms: 7),
    // its scan queue with its dead-letter queue, their two policies and the dead-letter depth alarm (5), the uploads
    // bucket and its policy (2). The 2 new routes move route stacks' boundaries.
    // The SLO alarms (issue 11, item 3) add one burn-rate alarm per route, in the route's stack (8 resources a route
    // with a function of its own: 400 in a full route stack, under 500 with room for one more resource a route), and
    // 13 to Api: 8 window alarms, 2 anomaly alarms, the paging composite and 4 Contributor Insights rules, less
    // the two alarms they replace (Api5xx, ApiLatencyP99).
    // Then the request path's rollouts (+14): a version and a `live` alias per API read, API write and authorizer
    // function (6), their three deployment groups and p99 latency alarms (6), the CodeDeploy application and its
    // service role (2).
    let resources: Vec<(&str, usize)> = a.stacks.iter().map(|s| (s.id.as_str(), s.resources)).collect();
    assert_eq!(
        resources,
        [
            ("Edge", 9),
            ("Regional", 159),
            ("Routes1", 318),
            ("Routes2", 400),
            ("Routes3", 400),
            ("Routes4", 400),
            ("Routes5", 160),
            ("Api", 27)
        ]
    );
    assert!(resources.iter().all(|(_, n)| *n <= synth::MAX_RESOURCES));
    let total: usize = a.stacks.iter().map(|s| s.resources).sum();
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
    let (kept, grown) = (keys(&b["Routes2"]), keys(&a["Routes2"]));
    assert!(kept.is_subset(&grown), "route stacks only grow");
    // The new route's resource, method, permission, function with its role, logs and alarm, its SLO alarm; nothing
    // else.
    assert_eq!(
        grown.difference(&kept).map(String::as_str).collect::<Vec<_>>(),
        [
            "ApiTenantsTenantIdReportsR060",
            "ApiTenantsTenantIdReportsR060GET",
            "ApiTenantsTenantIdReportsR060GETInvoke",
            "FnGetReport060",
            "FnGetReport060Errors",
            "FnGetReport060Logs",
            "FnGetReport060Role",
            "GetReport060Slo",
        ]
    );
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
                // `Regional`, or a serving region's `Regional<Region>`.
                if s.resources_by_type.contains_key(*t) {
                    assert!(s.id.starts_with("Regional"), "{t} in {}", s.id);
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
        match a.stack("Edge") {
            Some(edge) => assert_eq!((edge.region.as_str(), config.features.cdn), ("us-east-1", true), "{name}"),
            None => assert!(!config.features.cdn, "{name}: the CDN needs its Edge stack"),
        }
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
        .filter(|a| !["logs:", "xray:", "kms:", "ec2:"].iter().any(|p| a.starts_with(p)))
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
        if h == Handler::Authorizer {
            // The tiers' usage plan keys' values (`USAGE_PLAN_KEY_IDS`: usage plans are enforced).
            expected.insert("apigateway:GET".into());
        }
        assert_eq!(data_actions(&regional[format!("{}Role", h.name())]), expected, "{h:?}");
    }
}

#[test]
fn handlers_get_the_environment_they_read() {
    let t = templates(&platform(&PlatformConfig::all_features("dev")));
    let regional = &t["Regional"]["Resources"];
    for h in Handler::ALL {
        let vars: BTreeSet<&str> = regional[h.name()]["Properties"]["Environment"]["Variables"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // Every variable the handler reads (the cache's endpoint included: Redis is on), but the tuning knobs the
        // platform leaves at the handler's default.
        let (defaulted, extra): (&[&str], &[&str]) = match h {
            Handler::ApiRead | Handler::ApiWrite => {
                (&[env::IDEMPOTENCY_TTL_SECONDS, env::INVOICE_URL_TTL_SECONDS], &[])
            }
            Handler::Exporter => (&[env::EXPORT_URL_TTL_SECONDS], &[]),
            Handler::Indexer | Handler::EventSearch => (&[env::OPENSEARCH_INDEX], &[]),
            // The SSRF guard's allow-list is for tests only: never set by the platform.
            Handler::WebhookWorker => (&[env::WEBHOOK_ALLOWED_ADDRESSES], &[]),
            _ => (&[], &[]),
        };
        let expected: BTreeSet<&str> =
            handler_env(h).iter().copied().filter(|v| !defaulted.contains(v)).chain(extra.iter().copied()).collect();
        assert_eq!(vars, expected, "{h:?}");
    }
    assert_eq!(regional["ApiRead"]["Properties"]["Environment"]["Variables"]["API_ROLE"], "read");
    // The write function finds the tiers' usage plans by the names the Api stack gives them.
    let a = platform(&PlatformConfig::all_features("dev"));
    let api_stack = a.stacks.iter().find(|s| s.id == "Api").unwrap();
    assert_eq!(api_stack.name, "platform-dev-api");
    assert_eq!(
        t["Api"]["Resources"]["FreePlan"]["Properties"]["UsagePlanName"],
        json!({"Fn::Sub": "${AWS::StackName}-FreePlan"})
    );
    assert_eq!(
        regional["ApiWrite"]["Properties"]["Environment"]["Variables"]["USAGE_PLAN_NAMES"],
        "free=platform-dev-api-FreePlan,pro=platform-dev-api-ProPlan,enterprise=platform-dev-api-EnterprisePlan"
    );
    assert_eq!(
        regional["Authorizer"]["Properties"]["Environment"]["Variables"]["USAGE_PLAN_KEY_IDS"],
        json!({"Fn::Join": ["", [
            "enterprise=", {"Ref": "EnterpriseApiKey"}, ",",
            "free=", {"Ref": "FreeApiKey"}, ",",
            "pro=", {"Ref": "ProApiKey"}
        ]]})
    );
}

/// The message `build` fails with on `config`.
fn build_error(config: &PlatformConfig) -> String {
    match constructs::platform::build(config, &platform_assets()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("expected an error"),
    }
}

#[test]
fn configuration_errors() {
    let mut c = PlatformConfig::default_for("dev");
    c.tiers[1].name = "Pro".into();
    assert_eq!(
        build_error(&c),
        "platform configuration: tiers[1].name is \"Pro\"; allowed: lowercase letters, at least one (the tier names the authorizer puts in the request context)"
    );
    let mut c = PlatformConfig::default_for("dev");
    c.routes[0].handler = Handler::Exporter;
    assert_eq!(
        build_error(&c),
        "platform configuration: routes[0].handler is Exporter; allowed: ApiRead, ApiWrite or EventSearch, the handlers that serve routes (routes[0] is GET /tenants/{tenant_id}/orders)"
    );
    let c = PlatformConfig::default_for("Dev");
    assert_eq!(
        build_error(&c),
        "platform configuration: stage is \"Dev\"; allowed: lowercase letters and digits, at least one (it names stacks and the API stage)"
    );
    // What only the constructs see is theirs to report.
    let mut c = PlatformConfig::all_features("dev");
    c.regions.clear();
    c.features.replica_regions = vec!["eu-west-1".into()];
    assert_eq!(
        build_error(&c),
        "Entities: replica region eu-west-1 is the table's own region; list only other regions"
    );
    let mut c = PlatformConfig::default_for("dev");
    c.routes.push(c.routes[0].clone());
    assert!(matches!(constructs::platform::build(&c, &platform_assets()), Err(PlatformError::Construct(_))));
    assert_eq!(build_error(&c), "Api: duplicate method \"GET /tenants/{tenant_id}/orders\"");
}

#[test]
fn every_configuration_problem_at_once() {
    let mut c = PlatformConfig::default_for("prod");
    c.stage = String::new();
    c.tiers[0].name = "Free tier".into();
    c.tiers[2].name = "pro".into();
    c.tiers.push(c.tiers[1].clone());
    c.routes[1].handler = Handler::Authorizer;
    c.routes[4].handler = Handler::Indexer;
    assert_eq!(
        build_error(&c),
        [
            "platform configuration: stage is \"\"; allowed: lowercase letters and digits, at least one (it names stacks and the API stage)",
            "platform configuration: tiers[0].name is \"Free tier\"; allowed: lowercase letters, at least one (the tier names the authorizer puts in the request context)",
            "platform configuration: tiers[2].name is \"pro\"; allowed: a name of its own (tiers[1] has this one)",
            "platform configuration: tiers[3].name is \"pro\"; allowed: a name of its own (tiers[1] has this one)",
            "platform configuration: routes[1].handler is Authorizer; allowed: ApiRead, ApiWrite or EventSearch, the handlers that serve routes (routes[1] is POST /tenants/{tenant_id}/orders)",
            "platform configuration: routes[4].handler is Indexer; allowed: ApiRead, ApiWrite or EventSearch, the handlers that serve routes (routes[4] is POST /tenants/{tenant_id}/subscriptions)",
        ]
        .join("\n")
    );
    // The same problems, as values: field, bad value, what is allowed.
    let Err(PlatformError::Config(problems)) = constructs::platform::check(&c) else {
        panic!("expected configuration problems")
    };
    assert_eq!(
        problems[2],
        ConfigProblem {
            field: "tiers[2].name".into(),
            value: "\"pro\"".into(),
            allowed: "a name of its own (tiers[1] has this one)".into()
        }
    );

    let mut c = PlatformConfig::default_for("dev");
    c.tiers.clear();
    c.routes.clear();
    assert_eq!(
        build_error(&c),
        [
            "platform configuration: tiers is []; allowed: at least one tenant tier (every tenant's usage plan and rate limit come from its tier)",
            "platform configuration: routes is []; allowed: at least one route (an API without methods cannot be deployed)",
        ]
        .join("\n")
    );
    for (_, config) in gate_configs() {
        assert!(constructs::platform::check(&config).is_ok());
    }
}

/// The stage with every feature, served from `regions` (the first is the primary).
fn served_from(regions: &[&str]) -> PlatformConfig {
    let mut c = PlatformConfig::all_features("prod");
    c.regions = regions.iter().map(|r| r.to_string()).collect();
    c
}

/// From one serving region with a data-only replica in us-west-2 (the prod stage before issue 11) to both regions
/// serving. The entity table is a global table in both, as it must be: a one-region stage without a replica has an
/// `AWS::DynamoDB::Table`, and CloudFormation replaces a resource whose type changes, so such a stage gets a replica
/// region first (README, "Regions").
#[test]
fn adding_a_region_moves_nothing() {
    let mut before = served_from(&["eu-west-1"]);
    before.features.replica_regions = vec!["us-west-2".into()];
    let one = platform(&before);
    let two = platform(&served_from(&["eu-west-1", "us-west-2"]));
    let ids = |a: &Assembly| a.stacks.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&one), ["Edge", "ReplicaUsWest2", "Regional", "Routes1", "Api"]);
    assert_eq!(
        ids(&two),
        ["Edge", "ReplicaUsWest2", "Regional", "Routes1", "Api", "RegionalUsWest2", "Routes1UsWest2", "ApiUsWest2"]
    );
    let (t1, t2) = (templates(&one), templates(&two));
    let resources = |t: &Value| -> BTreeMap<String, Value> {
        t["Resources"].as_object().unwrap().iter().map(|(id, r)| (id.clone(), r["Type"].clone())).collect()
    };
    // Every logical id of the first region's stacks (and its type) is the same: the second region adds stacks, and
    // changes the first region's properties only (the distribution's origins and behaviors).
    for id in ids(&one) {
        assert_eq!(resources(&t1[&id]), resources(&t2[&id]), "{id}: the first region's logical ids");
        let (a, b) = (one.stack(&id).unwrap(), two.stack(&id).unwrap());
        assert_eq!((&a.name, &a.region), (&b.name, &b.region), "{id}: the stack's name and region");
    }
    // Every stack of either stage stays under CloudFormation's 500 resources
    // (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html>).
    for s in one.stacks.iter().chain(&two.stacks) {
        assert!(s.resources < 500, "{}: {} resources", s.id, s.resources);
    }
    let t1_regional = &t1["Regional"]["Resources"]["Entities"];
    assert_eq!(t1_regional, &t2["Regional"]["Resources"]["Entities"], "the global table does not change");
    // The second region's Regional stack has the first's resources but the global table (its replica is the
    // table's), the distribution with its policies and origin access control, the static files bucket and its
    // policy, the edge name's records, the stream source, the stream failures queue with its policy and depth alarm,
    // the signing secrets with their rotation schedules and invoke permissions, and the secret rotator with its
    // role, log group and alarms (26 fewer: the second region reads the primary's secrets' replicas); everything
    // else is the same steps' and nothing is only the second region's.
    let regional = |t: &BTreeMap<String, Value>, id: &str| {
        t[id]["Resources"].as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>()
    };
    assert_eq!(
        regional(&t2, "Regional").difference(&regional(&t2, "RegionalUsWest2")).map(String::as_str).collect::<Vec<_>>(),
        [
            "Cdn",
            "CdnCachePolicy",
            "CdnOriginAccessControl",
            "CdnOriginRequestPolicy",
            "CdnResponseHeadersPolicy",
            "EdgeDnsA",
            "EdgeDnsAAAA",
            "Entities",
            "JwtSigningKey",
            "JwtSigningKeyRotates",
            "JwtSigningKeyRotation",
            "SecretRotator",
            "SecretRotatorDailyCost",
            "SecretRotatorErrors",
            "SecretRotatorLogs",
            "SecretRotatorRole",
            "SecretRotatorThrottles",
            "StaticAssets",
            "StaticAssetsPolicy",
            "StreamFailures",
            "StreamFailuresDepth",
            "StreamFailuresPolicy",
            "StreamProcessorChanges",
            "WebhookSigningKey",
            "WebhookSigningKeyRotates",
            "WebhookSigningKeyRotation",
        ]
    );
    assert!(regional(&t2, "RegionalUsWest2").is_subset(&regional(&t2, "Regional")));
    let per_stack: Vec<(&str, &str, usize)> =
        two.stacks.iter().map(|s| (s.id.as_str(), s.region.as_str(), s.resources)).collect();
    assert_eq!(
        per_stack,
        [
            ("Edge", "us-east-1", 14),
            ("ReplicaUsWest2", "us-west-2", 2),
            ("Regional", "eu-west-1", 227),
            ("Routes1", "eu-west-1", 96),
            ("Api", "eu-west-1", 30),
            ("RegionalUsWest2", "us-west-2", 201),
            ("Routes1UsWest2", "us-west-2", 96),
            ("ApiUsWest2", "us-west-2", 30),
        ]
    );
}

#[test]
fn a_second_region_serves_over_the_replica() {
    let a = platform(&served_from(&["eu-west-1", "us-west-2"]));
    let t = templates(&a);
    let (primary, second) = (&t["Regional"]["Resources"], &t["RegionalUsWest2"]["Resources"]);
    // The global table is the primary's, with its replica in us-west-2 encrypted with that region's key stack's key.
    let replicas = primary["Entities"]["Properties"]["Replicas"].as_array().unwrap();
    assert_eq!(replicas.len(), 2);
    assert_eq!(
        replicas[1]["SSESpecification"]["KMSMasterKeyId"],
        json!({"Fn::GetStackOutput": {"OutputName": "DataKeyArn", "Region": "us-west-2", "StackName": "platform-prod-data-us-west-2"}})
    );
    assert!(all_of(&t, "AWS::DynamoDB::GlobalTable").iter().all(|(s, _, _)| *s == "Regional"));
    // The second region's functions use the replica by the global table's name, read from the primary's stack.
    let entities_name = json!({"Fn::GetStackOutput": {"OutputName": "EntitiesRef", "Region": "eu-west-1", "StackName": "platform-prod-regional"}});
    assert_eq!(second["ApiWrite"]["Properties"]["Environment"]["Variables"][env::TABLE_NAME], entities_name);
    // Its own control table (idempotency records and rate windows stay in the region), no stream source and no
    // stream failures queue: only the primary's processor publishes events.
    assert_eq!(second["Control"]["Type"], "AWS::DynamoDB::Table");
    let stream_sources = |r: &Value| {
        r.as_object()
            .unwrap()
            .values()
            .filter(|v| {
                v["Type"] == "AWS::Lambda::EventSourceMapping" && v["Properties"]["StartingPosition"].is_string()
            })
            .count()
    };
    assert_eq!((stream_sources(primary), stream_sources(second)), (1, 0));
    assert!(second.get("StreamFailures").is_none());
    // One latency record set per region on the API's name, each with its region's health check.
    for (resources, region) in [(primary, "eu-west-1"), (second, "us-west-2")] {
        for kind in ["A", "AAAA"] {
            let record = &resources[format!("ApiDns{kind}")]["Properties"];
            assert_eq!(record["Name"], "origin.api.example.com");
            assert_eq!((&record["SetIdentifier"], &record["Region"]), (&json!(region), &json!(region)));
            assert_eq!(record["HealthCheckId"], json!({"Fn::GetAtt": ["RegionHealthCheck", "HealthCheckId"]}));
        }
        let check = &resources["RegionHealthCheck"]["Properties"]["HealthCheckConfig"];
        assert_eq!(check["Type"], "CLOUDWATCH_METRIC");
        assert_eq!(check["AlarmIdentifier"], json!({"Name": {"Ref": "RegionHealth"}, "Region": region}));
        assert_eq!(resources["RegionDomain"]["Properties"]["DomainName"], format!("{region}.origin.api.example.com"));
    }
    // The distribution: everything to the latency-routed name; the reads no write shares a path pattern with
    // through an origin group of the two regions' own names, failing over on server errors.
    let config = &primary["Cdn"]["Properties"]["DistributionConfig"];
    let origins: Vec<(&str, &str)> = config["Origins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["Id"].as_str().unwrap(), o["DomainName"].as_str().unwrap_or("(bucket)")))
        .collect();
    assert_eq!(
        origins,
        [
            ("Default", "origin.api.example.com"),
            ("Behavior0Primary", "eu-west-1.origin.api.example.com"),
            ("Behavior0Secondary", "us-west-2.origin.api.example.com"),
            ("Behavior5", "(bucket)"),
        ]
    );
    // One group, which every read behavior shares.
    assert_eq!(config["OriginGroups"]["Quantity"], 1);
    let group = &config["OriginGroups"]["Items"][0];
    assert_eq!(group["FailoverCriteria"]["StatusCodes"]["Items"], json!([500, 502, 503, 504]));
    let behaviors: Vec<(&str, &str, usize)> = config["CacheBehaviors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let methods = b["AllowedMethods"].as_array().unwrap().len();
            (b["PathPattern"].as_str().unwrap(), b["TargetOriginId"].as_str().unwrap(), methods)
        })
        .collect();
    assert_eq!(
        behaviors,
        [
            ("/tenants/*/orders/*", "Behavior0", 3),
            ("/tenants/*/events", "Behavior0", 3),
            ("/tenants/*/invoices/*", "Behavior0", 3),
            ("/tenants/*/exports/*", "Behavior0", 3),
            ("/tenants/*/uploads/*", "Behavior0", 3),
            ("/static/*", "Behavior5", 3),
        ]
    );
    assert_eq!(config["DefaultCacheBehavior"]["AllowedMethods"].as_array().unwrap().len(), 7);
    // Only the primary has a distribution; each region maps its own name to its stage.
    assert!(second.get("Cdn").is_none());
    assert_eq!(t["ApiUsWest2"]["Resources"]["RegionDomainMapping"]["Type"], "AWS::ApiGateway::BasePathMapping");
}

#[test]
fn region_problems_are_named() {
    let mut c = served_from(&["us-west-2", "us-west-2", "Europe"]);
    c.features.domain = None;
    c.features.cdn = false;
    c.features.bot_control = false;
    c.features.replica_regions = vec!["Europe".into()];
    assert_eq!(
        build_error(&c).lines().collect::<Vec<_>>(),
        [
            "platform configuration: regions[0] is \"us-west-2\"; allowed: the primary region eu-west-1 first (the region whose stacks hold the entity global table)",
            "platform configuration: regions[1] is \"us-west-2\"; allowed: a region of its own (regions[0] is this one)",
            "platform configuration: regions[2] is \"Europe\"; allowed: a region name such as us-west-2",
            "platform configuration: features.domain is \"none\"; allowed: a custom domain when more than one region serves (us-west-2, us-west-2, Europe): the latency records of the API's name live in its hosted zone",
            "platform configuration: features.cdn is false; allowed: true when more than one region serves (the distribution fails reads over between the regions)",
        ]
    );
}

/// The signing secrets are the primary's, replicated to the second region with that region's key stack's key; the
/// second region's authorizer and webhook worker read the replicas in their own region (the primary's ARN with the
/// region swapped), with exactly `GetSecretValue` on the replica and `kms:Decrypt` through Secrets Manager on its key.
#[test]
fn the_second_region_reads_the_primary_secrets_replicas() {
    let a = platform(&served_from(&["eu-west-1", "us-west-2"]));
    let t = templates(&a);
    let (primary, second) = (&t["Regional"], &t["RegionalUsWest2"]);
    let replica_key =
        json!({"Fn::GetStackOutput": {"OutputName": "DataKeyArn", "StackName": "platform-prod-data-us-west-2"}});
    for (secret, variable, handler) in [
        ("JwtSigningKey", env::JWT_SECRET_ARN, "Authorizer"),
        ("WebhookSigningKey", env::WEBHOOK_SECRET_ARN, "WebhookWorker"),
    ] {
        assert_eq!(
            primary["Resources"][secret]["Properties"]["ReplicaRegions"],
            json!([{"Region": "us-west-2", "KmsKeyId": {"Fn::GetStackOutput": {"OutputName": "DataKeyArn", "Region": "us-west-2", "StackName": "platform-prod-data-us-west-2"}}}]),
            "{secret}"
        );
        // The replica keeps the name and random suffix: the seventh field of the primary's ARN, an output of its stack.
        assert_eq!(
            primary["Outputs"][format!("{secret}Name")]["Value"],
            json!({"Fn::Select": [6, {"Fn::Split": [":", {"Ref": secret}]}]})
        );
        let replica_arn = json!({"Fn::Sub": [
            "arn:${AWS::Partition}:secretsmanager:us-west-2:${AWS::AccountId}:secret:${Name}",
            {"Name": {"Fn::GetStackOutput": {"OutputName": format!("{secret}Name"), "Region": "eu-west-1", "StackName": "platform-prod-regional"}}}
        ]});
        let function = &second["Resources"][handler]["Properties"];
        assert_eq!(function["Environment"]["Variables"][variable], replica_arn, "{handler}");
        let role = &second["Resources"][format!("{handler}Role")]["Properties"];
        let statements: Vec<&Value> = role["Policies"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
            .collect();
        let on_secrets: Vec<&&Value> =
            statements.iter().filter(|s| s["Action"].to_string().contains("secretsmanager:")).collect();
        assert_eq!(on_secrets.len(), 1, "{handler}: one statement on secrets");
        assert_eq!(on_secrets[0]["Action"], "secretsmanager:GetSecretValue");
        assert_eq!(on_secrets[0]["Resource"], replica_arn);
        let via_secrets =
            json!({"StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}});
        let decrypts: Vec<&&Value> = statements.iter().filter(|s| s["Condition"] == via_secrets).collect();
        assert_eq!(decrypts.len(), 1, "{handler}: one key statement through Secrets Manager");
        assert_eq!((&decrypts[0]["Action"], &decrypts[0]["Resource"]), (&json!("kms:Decrypt"), &replica_key));
    }
    // No secret, rotation or rotator in the second region: the replicas rotate with the primary.
    for type_name in ["AWS::SecretsManager::Secret", "AWS::SecretsManager::RotationSchedule"] {
        let stacks: BTreeSet<&str> = all_of(&t, type_name).iter().map(|(s, _, _)| *s).collect();
        assert_eq!(stacks, BTreeSet::from(["Regional"]), "{type_name}");
    }
    assert!(second["Resources"].get("SecretRotator").is_none());
    assert!(primary["Resources"].get("SecretRotator").is_some());
}
