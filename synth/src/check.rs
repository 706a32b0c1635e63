//! Rules checked at synth (a rule pack like cdk-nag's), and their typed suppressions.
//!
//! A [`Rule`] looks at one rendered resource (with the whole template at hand) and returns a finding or nothing.
//! A finding fails synth with the construct path, unless the resource carries a suppression of that rule: a rule
//! id and a reason, written into the resource's `Metadata` under [`SUPPRESSIONS_METADATA_KEY`] so it shows in the
//! template and its snapshot. A suppression without a reason, of an unknown rule, or that suppresses nothing is
//! itself an error, so suppressions cannot rot. [`Suppression`] and its key belong to the template model, which
//! writes them; this module only reads them. An id with [`SCANNER_SUPPRESSION_PREFIX`] is a decision for the other
//! scanners (cfn-lint, checkov, cfn-guard, cfn-nag): it needs a reason like any other, but only the scanner can say
//! whether it is used, so the pack checks nothing else about it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::diag::Diagnostic;
use crate::doc::{Doc, DocResource};
use crate::template::{SCANNER_SUPPRESSION_PREFIX, SUPPRESSIONS_METADATA_KEY, Suppression};
use crate::value::Node;

/// A check run on every resource of the types it applies to.
pub trait Rule: Send + Sync {
    /// Stable id, used in suppressions (`RCDK-DDB3`).
    fn id(&self) -> &'static str;
    /// One line on what the rule wants and why.
    fn description(&self) -> &'static str;
    /// Resource types the rule applies to; empty for all.
    fn applies_to(&self) -> &'static [&'static str];
    /// `Some(message)` when `resource` breaks the rule.
    fn check(&self, template: &Doc, resource: &DocResource) -> Option<String>;
}

/// The suppressions declared on a resource.
fn suppressions(r: &DocResource) -> Vec<Suppression> {
    let Some(Node::List(items)) = r.metadata.get(SUPPRESSIONS_METADATA_KEY) else { return Vec::new() };
    items.iter().map(Suppression::from_node).collect()
}

/// A rule pack indexed by the resource types its rules apply to, built once per synth: the pass over a template
/// then looks up each resource's rules instead of asking every rule about every resource.
pub(crate) struct Pack<'r> {
    known: BTreeSet<&'static str>,
    /// Rules by type, each list in the pack's order (rules for every type included).
    by_type: HashMap<&'static str, Vec<&'r dyn Rule>>,
    /// Rules for every type, for resources of a type no rule names.
    any_type: Vec<&'r dyn Rule>,
}

impl<'r> Pack<'r> {
    pub(crate) fn new(rules: &[&'r dyn Rule]) -> Self {
        let any_type: Vec<&dyn Rule> = rules.iter().copied().filter(|r| r.applies_to().is_empty()).collect();
        let mut by_type: HashMap<&'static str, Vec<&dyn Rule>> = HashMap::new();
        for t in rules.iter().flat_map(|r| r.applies_to().iter().copied()) {
            by_type.entry(t).or_insert_with(|| {
                rules.iter().copied().filter(|r| r.applies_to().is_empty() || r.applies_to().contains(&t)).collect()
            });
        }
        Pack { known: rules.iter().map(|r| r.id()).collect(), by_type, any_type }
    }

    fn for_type(&self, type_name: &str) -> &[&'r dyn Rule] {
        self.by_type.get(type_name).unwrap_or(&self.any_type)
    }
}

/// Runs a rule pack over a template; findings and suppression problems go to `diags`.
pub(crate) fn run(doc: &Doc, pack: &Pack, diags: &mut Vec<Diagnostic>) {
    // Without a rule pack there is nothing to suppress, so suppressions are neither checked nor reported: an app
    // synthesized with `App::synth` keeps the suppressions its constructs declare for the pack.
    if pack.known.is_empty() {
        return;
    }
    let known = &pack.known;
    for r in &doc.resources {
        let declared = suppressions(r);
        let mut used: BTreeMap<&str, bool> = BTreeMap::new();
        for s in &declared {
            if s.reason.trim().is_empty() {
                diags.push(Diagnostic::error(
                    &doc.stack_id,
                    &r.path,
                    format!("suppression of {} has no reason; say why the rule does not apply", s.id),
                ));
            }
            if s.id.starts_with(SCANNER_SUPPRESSION_PREFIX) {
                continue;
            }
            if !known.contains(s.id.as_str()) {
                diags.push(Diagnostic::error(
                    &doc.stack_id,
                    &r.path,
                    format!("suppression of unknown rule {:?}", s.id),
                ));
            }
            used.insert(&s.id, false);
        }
        for rule in pack.for_type(&r.type_name) {
            if let Some(msg) = rule.check(doc, r) {
                match used.get_mut(rule.id()) {
                    Some(u) => *u = true,
                    None => diags.push(Diagnostic::error(&doc.stack_id, &r.path, format!("{}: {msg}", rule.id()))),
                }
            }
        }
        for (id, was_used) in used {
            if !was_used && known.contains(id) {
                diags.push(Diagnostic::error(
                    &doc.stack_id,
                    &r.path,
                    format!("suppression of {id} is unused: the rule finds nothing here; remove the suppression"),
                ));
            }
        }
    }
}
