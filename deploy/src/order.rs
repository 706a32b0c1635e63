//! Dependency order: stacks in waves, each wave depending only on earlier ones, so a wave deploys in parallel (up
//! to `--concurrency`) and destroy walks the waves backwards. Synth already refuses dependency cycles; this checks
//! again because a selection (`deploy STACK...`) must still be ordered and a cycle must not loop forever.

use std::collections::{BTreeMap, BTreeSet};

/// A dependency cycle (or a dependency on an unknown stack) among the given stacks.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("stacks {0:?} depend on each other or on stacks the app does not have")]
pub struct CycleError(pub Vec<String>);

/// Waves of stack ids: `deps` maps each stack id to the ids it depends on. Dependencies outside `deps` (stacks not
/// selected) are taken as already deployed.
pub fn waves(deps: &BTreeMap<String, Vec<String>>) -> Result<Vec<Vec<String>>, CycleError> {
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut left: BTreeSet<&str> = deps.keys().map(String::as_str).collect();
    let mut out = Vec::new();
    while !left.is_empty() {
        let ready: Vec<&str> = left
            .iter()
            .copied()
            .filter(|id| deps[*id].iter().all(|d| done.contains(d.as_str()) || !deps.contains_key(d)))
            .collect();
        if ready.is_empty() {
            return Err(CycleError(left.iter().map(|s| s.to_string()).collect()));
        }
        for id in &ready {
            left.remove(id);
            done.insert(id);
        }
        out.push(ready.into_iter().map(str::to_owned).collect());
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn deps(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn independent_stacks_share_a_wave() {
        let d = deps(&[("Api", &["Regional"]), ("Edge", &[]), ("Regional", &["Edge"]), ("Routes1", &["Regional"])]);
        assert_eq!(waves(&d).unwrap(), vec![vec!["Edge"], vec!["Regional"], vec!["Api", "Routes1"]]);
    }

    /// A stage serving from two regions (the prod stage's dependencies): the second region's stacks follow the
    /// primary's Regional stack (they read the global table's name) and its key stack, in waves of their own.
    #[test]
    fn a_second_region_follows_the_primary() {
        let d = deps(&[
            ("Edge", &[]),
            ("ReplicaUsWest2", &[]),
            ("Regional", &["Edge", "ReplicaUsWest2"]),
            ("Routes1", &["Regional"]),
            ("Api", &["Regional", "Routes1"]),
            ("RegionalUsWest2", &["Regional", "ReplicaUsWest2"]),
            ("Routes1UsWest2", &["RegionalUsWest2"]),
            ("ApiUsWest2", &["RegionalUsWest2", "Routes1UsWest2"]),
        ]);
        assert_eq!(
            waves(&d).unwrap(),
            vec![
                vec!["Edge", "ReplicaUsWest2"],
                vec!["Regional"],
                vec!["RegionalUsWest2", "Routes1"],
                vec!["Api", "Routes1UsWest2"],
                vec!["ApiUsWest2"],
            ]
        );
    }

    #[test]
    fn unselected_dependencies_count_as_deployed_and_cycles_fail() {
        assert_eq!(waves(&deps(&[("Api", &["Regional"])])).unwrap(), vec![vec!["Api"]]);
        assert_eq!(
            waves(&deps(&[("A", &["B"]), ("B", &["A"])])).unwrap_err(),
            CycleError(vec!["A".into(), "B".into()])
        );
    }
}
