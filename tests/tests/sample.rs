//! The sample app end to end: exact template bytes (snapshot), determinism, manifest, the rule pack, and the
//! cfn-lint and checkov gates. It is written with the generated layer only, and is as safe as the constructs.

use tests::{cfn_lint, checkov, redact_assets, scratch_dir, workspace_root, write_assembly};

fn sample(stage: &str) -> synth::Assembly {
    let worker =
        constructs::assets::rust_lambda(&workspace_root(), "handlers/webhook-worker").expect("hash the worker crate");
    constructs::sample::app(stage, worker).synth_with(&constructs::rules::all()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn template_bytes() {
    let a = sample("dev");
    assert_eq!(a.stacks.len(), 1);
    insta::assert_snapshot!("sample_dev_template", redact_assets(&a, &a.stacks[0].template));
    insta::assert_snapshot!("sample_dev_manifest", redact_assets(&a, &a.manifest_json()));
}

#[test]
fn synth_is_deterministic_and_newline_terminated() {
    let a = sample("dev");
    let b = sample("dev");
    assert_eq!(a.stacks[0].template, b.stacks[0].template);
    assert_eq!(a.manifest_json(), b.manifest_json());
    assert!(a.stacks[0].template.ends_with("}\n"));
    assert!(!a.stacks[0].template.ends_with("\n\n"));
}

#[test]
fn stage_names_the_stack() {
    let a = sample("prod");
    assert_eq!(a.stacks[0].name, "sample-prod");
    assert_eq!(a.manifest.stacks[0].stage, "prod");
}

#[test]
fn cfn_lint_is_clean() {
    let dir = scratch_dir("sample-cfn-lint");
    let files = write_assembly(&sample("dev"), &dir);
    let findings = cfn_lint(&files).unwrap_or_else(|e| panic!("{e}"));
    assert!(findings.is_empty(), "cfn-lint findings:\n{}", findings.join("\n"));
}

#[test]
fn checkov_fails_nothing_and_skips_only_what_is_declared() {
    let dir = scratch_dir("sample-checkov");
    write_assembly(&sample("dev"), &dir);
    let report = checkov(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.parsing_errors, 0);
    assert!(report.failed.is_empty(), "checkov failed checks:\n{:#?}", report.failed);
    let skipped: Vec<(&str, &str)> =
        report.skipped.iter().map(|s| (s.resource.as_str(), s.check_id.as_str())).collect();
    assert_eq!(
        skipped,
        [("AWS::Lambda::Function.Worker", "CKV_AWS_116"), ("AWS::Lambda::Function.Worker", "CKV_AWS_117")]
    );
    assert!(report.skipped.iter().all(|s| s.comment.as_deref().is_some_and(|c| c.len() > 40)), "{:#?}", report.skipped);
    assert!(report.passed >= 20, "checkov ran its checks: {} passed", report.passed);
}
