//! Test support for the rules: each rule's test synthesizes a small stack of raw resources with the whole pack
//! ([`super::all`]), so a rule missing from the pack fails its own test.

use serde_json::Value;
use synth::{App, RawResource, Stack, StackProps};

use super::{RuleDef, RuleId, all};

/// A resource of a fixture stack: logical id, type, properties (plain JSON; `{"Ref": ..}` is a reference).
pub(crate) type Resource = (&'static str, &'static str, Value);

/// Every error of synthesizing `resources` in stack `Main` with the pack.
fn errors(resources: &[Resource]) -> Vec<String> {
    let mut app = App::new("t");
    let stack = app.add_stack(Stack::new(StackProps::new("Main", "t-main", "eu-west-1", "dev")));
    let mut root = stack.root();
    for (id, type_name, properties) in resources {
        root.add(id, RawResource::new(*type_name, properties.clone()));
    }
    match app.synth_with(&all()) {
        Ok(_) => Vec::new(),
        Err(e) => e.messages(),
    }
}

/// The findings of `rule` on `resources`. Panics on an error that is no rule's finding: a fixture that fails
/// validation would let a test pass without the rule having seen what the test meant.
fn findings(rule: RuleId, resources: &[Resource]) -> Vec<String> {
    let ids: Vec<&str> = all().iter().map(|r| r.id()).collect();
    let errors = errors(resources);
    for e in &errors {
        assert!(ids.iter().any(|id| e.contains(&format!(": {id}: "))), "the fixture itself is wrong: {e}");
    }
    errors.into_iter().filter(|e| e.contains(&format!(": {}: ", rule.as_str()))).collect()
}

/// `rule` flags resource `Bad` of `resources` with exactly `message`, and flags nothing else.
pub(crate) fn flags(rule: RuleId, resources: &[Resource], message: &str) {
    let want = format!("error: Main/Bad: {}: {message}", rule.as_str());
    assert_eq!(findings(rule, resources), [want], "{} on {resources:#?}", rule.as_str());
}

/// `rule` flags nothing in `resources`.
pub(crate) fn passes(rule: RuleId, resources: &[Resource]) {
    assert_eq!(findings(rule, resources), Vec::<String>::new(), "{} on {resources:#?}", rule.as_str());
}

/// The rules a service's tests cover are exactly the rules it declares, each once.
pub(crate) fn tested_exactly(declared: &[RuleDef], tested: &[RuleId]) {
    let declared: Vec<&str> = declared.iter().map(|d| d.id.as_str()).collect();
    let tested: Vec<&str> = tested.iter().map(|t| t.as_str()).collect();
    assert_eq!(tested, declared, "one test per rule, in declaration order");
}

/// One `#[test]` per rule, each with resources (an array of [`Resource`]) the rule must flag, at logical id `Bad`
/// with the exact message, and resources it must not flag; plus a test that the service's rules are exactly the
/// ones tested:
///
/// ```text
/// rule_tests! {
///     sqs2_queues_are_encrypted: Sqs2 {
///         flags [("Bad", QUEUE, json!({}))] => "the queue is not encrypted";
///         passes [("Good", QUEUE, json!({"SqsManagedSseEnabled": true}))];
///     }
/// }
/// ```
macro_rules! rule_tests {
    ($(
        $test:ident: $rule:ident {
            $(flags $bad:expr => $message:expr;)+
            $(passes $good:expr;)+
        }
    )*) => {
        $(
            #[test]
            fn $test() {
                $($crate::rules::testing::flags($crate::rules::RuleId::$rule, &$bad, $message);)+
                $($crate::rules::testing::passes($crate::rules::RuleId::$rule, &$good);)+
            }
        )*

        #[test]
        fn every_rule_of_the_service_has_a_test() {
            $crate::rules::testing::tested_exactly(super::RULES, &[$($crate::rules::RuleId::$rule),*]);
        }
    };
}
pub(crate) use rule_tests;
