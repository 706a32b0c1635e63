//! The rule pack: the cdk-nag `AwsSolutions` and `Serverless` rules that apply to the platform's services, plus a
//! few of our own, as `synth::Rule`s. [`all`] returns every rule; `Platform` synthesizes with it, so a finding
//! fails synth with the construct path, unless the resource declares a suppression with a reason.
//!
//! Each rule is declared once, beside the service it checks (`sqs/rules.rs`, `lambda/rules.rs` ...), with
//! `declare_rules!`: the declaration names the rule ([`RuleId::Sqs2`]), gives the id written in suppressions and
//! findings, the description, the resource types and the check. This module holds what every rule uses: the ids,
//! the `RuleDef` a declaration makes, the list of services in [`all`], and helpers that read rendered resources.
//!
//! Where a rule needs another resource (a queue's policy, a VPC's flow log), it looks in the same template: a
//! reference to another stack is a `Fn::GetStackOutput` by then and cannot be followed, so such a rule only sees
//! what its stack holds. The platform keeps each resource's policies, logs and rotations in its own stack.

mod read;
#[cfg(test)]
pub(crate) mod testing;

pub(crate) use read::*;

use synth::{Doc, DocResource, Rule};

/// The id of a rule of the pack, as written in suppressions and findings: cdk-nag's id where the rule is cdk-nag's
/// (same meaning, so a team that knows cdk-nag knows these), `Rcdk-*` for ours. Each rule's constant
/// (`RuleId::Smg4`) is declared beside the rule, in its service's `rules.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(&'static str);

impl RuleId {
    /// Only [`declare_rules!`] makes ids, so every id has its rule.
    pub(crate) const fn new(id: &'static str) -> RuleId {
        RuleId(id)
    }

    /// The id as written in suppressions and findings (`AwsSolutions-SMG4`).
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// One rule: what [`declare_rules!`] makes of a declaration.
pub(crate) struct RuleDef {
    pub(crate) id: RuleId,
    pub(crate) description: &'static str,
    pub(crate) applies_to: &'static [&'static str],
    pub(crate) check: fn(&Doc, &DocResource) -> Option<String>,
}

impl Rule for RuleDef {
    fn id(&self) -> &'static str {
        self.id.as_str()
    }
    fn description(&self) -> &'static str {
        self.description
    }
    fn applies_to(&self) -> &'static [&'static str] {
        self.applies_to
    }
    fn check(&self, template: &Doc, resource: &DocResource) -> Option<String> {
        (self.check)(template, resource)
    }
}

/// Declares the rules of a service, each once:
///
/// ```text
/// declare_rules! {
///     Sqs2 {
///         id: "AwsSolutions-SQS2",
///         description: "SQS queues are encrypted",
///         applies_to: [QUEUE],
///         check: |_, r| require(..., "the queue is not encrypted"),
///     }
/// }
/// ```
///
/// makes the constant `RuleId::Sqs2` and the service's `RULES`, which [`all`] gathers. `check` is a function of
/// the template (for rules that look at other resources) and the resource, returning the finding's message.
macro_rules! declare_rules {
    ($(
        $name:ident {
            id: $id:literal,
            description: $description:literal,
            applies_to: [$($type_name:expr),* $(,)?],
            check: $check:expr $(,)?
        }
    )*) => {
        // Named like enum variants (`RuleId::Smg4`): a rule is one of a closed set, and reads as one.
        #[allow(non_upper_case_globals)]
        impl $crate::rules::RuleId {
            $(
                #[doc = concat!("`", $id, "`: ", $description, ".")]
                pub const $name: $crate::rules::RuleId = $crate::rules::RuleId::new($id);
            )*
        }

        /// The rules of this service, in declaration order.
        pub(crate) static RULES: &[$crate::rules::RuleDef] = &[$(
            $crate::rules::RuleDef {
                id: $crate::rules::RuleId::$name,
                description: $description,
                applies_to: &[$($type_name),*],
                check: $check,
            },
        )*];
    };
}
pub(crate) use declare_rules;

/// The rules of every service.
fn services() -> [&'static [RuleDef]; 16] {
    [
        crate::apigateway::rules::RULES,
        crate::cloudfront::rules::RULES,
        crate::dynamodb::rules::RULES,
        crate::ec2::rules::RULES,
        crate::elasticache::rules::RULES,
        crate::events::rules::RULES,
        crate::iam::rules::RULES,
        crate::kms::rules::RULES,
        crate::lambda::rules::RULES,
        crate::logs::rules::RULES,
        crate::opensearchservice::rules::RULES,
        crate::s3::rules::RULES,
        crate::secretsmanager::rules::RULES,
        crate::sns::rules::RULES,
        crate::sqs::rules::RULES,
        crate::stepfunctions::rules::RULES,
    ]
}

/// Every rule of the pack, service by service (the order does not matter: findings are sorted).
pub fn all() -> Vec<&'static dyn Rule> {
    services().into_iter().flatten().map(|r| r as &dyn Rule).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// A `RuleId` exists only with its `RULES` entry (one macro arm makes both), and every rule's own test runs
    /// it through [`all`]; what is left to check is that no id is declared twice.
    #[test]
    fn every_rule_is_in_the_pack_once() {
        let ids: Vec<&str> = all().iter().map(|r| r.id()).collect();
        let unique: BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "an id is declared twice: {ids:?}");
    }

    #[test]
    fn ids_are_cdk_nag_shaped_and_every_rule_says_what_it_wants() {
        for d in services().into_iter().flatten() {
            let id = d.id.as_str();
            assert!(
                id.starts_with("AwsSolutions-") || id.starts_with("Serverless-") || id.starts_with("Rcdk-"),
                "{id}"
            );
            assert!(!d.description.is_empty() && !d.description.ends_with('.'), "{id}: {:?}", d.description);
            assert!(!d.applies_to.is_empty(), "{id} applies to no type");
        }
    }
}
