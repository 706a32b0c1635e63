//! The generated layer used directly: recursive WAFv2 statements, enums, typed attributes and escape hatches
//! render to templates cfn-lint accepts.

use constructs::wafv2::{CfnWebACL, cfn_web_acl as w};
use synth::{App, Stack, StackProps, Val};
use tests::{cfn_lint, scratch_dir, write_assembly};

fn web_acl_app() -> App {
    let mut app = App::new("l1");
    let stack = app.add_stack(Stack::new(StackProps::new("Edge", "l1-edge", "us-east-1", "dev")));
    let mut root = stack.root();
    let visibility = |name: &str| w::VisibilityConfig::new(true, name, true);
    // A statement nested three deep: Not(RateBased(scope-down: ByteMatch)).
    let byte_match = w::ByteMatchStatement {
        search_string: Some("/admin".into()),
        ..w::ByteMatchStatement::new(
            w::FieldToMatch { uri_path: Some(synth::Json::obj::<&str>([]).into()), ..Default::default() },
            w::PositionalConstraint::StartsWith,
            Val::list([w::TextTransformation::new(0, w::TextTransformationType::None)]),
        )
    };
    let rate = w::RateBasedStatement {
        scope_down_statement: Some(
            w::Statement { byte_match_statement: Some(byte_match.into()), ..Default::default() }.into(),
        ),
        ..w::RateBasedStatement::new(w::AggregateKeyType::Ip, 100)
    };
    let not = w::NotStatement::new(w::Statement { rate_based_statement: Some(rate.into()), ..Default::default() });
    let rule = w::Rule {
        action: Some(w::RuleAction { block: Some(w::BlockAction::default().into()), ..Default::default() }.into()),
        ..w::Rule::new(
            "not-rate",
            1,
            w::Statement { not_statement: Some(not.into()), ..Default::default() },
            visibility("rule"),
        )
    };
    let acl = root.add(
        "Acl",
        CfnWebACL {
            rules: Some(Val::list([rule])),
            ..CfnWebACL::new(
                w::DefaultAction { allow: Some(w::AllowAction::default().into()), ..Default::default() },
                w::Scope::Cloudfront,
                visibility("acl"),
            )
        },
    );
    stack.add_output("AclArn", synth::Output::new(acl.attr_arn()));
    app
}

#[test]
fn nested_waf_statements_render_and_lint_clean() {
    let out = web_acl_app().synth().unwrap_or_else(|e| panic!("{e}"));
    let t: serde_json::Value = serde_json::from_str(&out.stacks[0].template).expect("json");
    let stmt = &t["Resources"]["Acl"]["Properties"]["Rules"][0]["Statement"];
    assert_eq!(
        stmt["NotStatement"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]["ByteMatchStatement"]["SearchString"],
        "/admin"
    );
    assert_eq!(t["Outputs"]["AclArn"]["Value"], serde_json::json!({"Fn::GetAtt": ["Acl", "Arn"]}));
    let dir = scratch_dir("l1-waf");
    let findings = cfn_lint(&write_assembly(&out, &dir)).unwrap_or_else(|e| panic!("{e}"));
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

#[test]
fn scaled_app_splits_into_stacks_under_the_limit_and_lints_clean() {
    let worker = constructs::assets::rust_lambda(&tests::workspace_root(), "handlers/webhook-worker").expect("hash");
    let out =
        constructs::sample::scaled(600, worker).synth_with(&constructs::rules::all()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.stacks.len(), 2);
    assert!(out.stacks.iter().all(|s| s.resources <= 500));
    // 86 worker units of 7 resources, and one key per stack.
    assert_eq!(out.stacks.iter().map(|s| s.resources).sum::<usize>(), 86 * 7 + 2);
    let dir = scratch_dir("l1-scaled");
    let findings = cfn_lint(&write_assembly(&out, &dir)).unwrap_or_else(|e| panic!("{e}"));
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}
