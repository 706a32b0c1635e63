//! The sample app end to end: exact template bytes (snapshot), determinism, manifest, and the cfn-lint gate.

use tests::{cfn_lint, redact_assets, scratch_dir, workspace_root, write_assembly};

fn sample(stage: &str) -> synth::Assembly {
    let worker =
        constructs::assets::rust_lambda(&workspace_root(), "handlers/webhook-worker").expect("hash the worker crate");
    constructs::sample::app(stage, worker).synth().unwrap_or_else(|e| panic!("{e}"))
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
