//! Why the platform could not be built: the configuration's problems (every one at once), a construct that refused
//! its input, synth's findings, or the platform's own wiring.

use std::fmt;

use synth::SynthError;

use crate::error::ConstructError;

/// Why the platform could not be built or synthesized.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The configuration contradicts itself: every problem [`check`](super::check()) found, in the order of the
    /// configuration's fields, one per line.
    #[error("{}", lines(.0))]
    Config(Vec<ConfigProblem>),
    /// A construct refused its input.
    #[error(transparent)]
    Construct(#[from] ConstructError),
    /// Synth found problems (validation or the rule pack).
    #[error(transparent)]
    Synth(#[from] SynthError),
    /// A step needs something an earlier step did not make. A bug of the platform (or of the tables of
    /// `platform_types` it follows), never of the configuration: `check` accepted it.
    #[error("platform wiring: {0}")]
    Wiring(String),
}

/// One problem of the configuration: which field, its value, and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The field's path in [`PlatformConfig`](super::PlatformConfig): `stage`, `tiers[1].name`.
    pub field: String,
    /// The bad value as Rust writes it (`"Pro"`, `Exporter`, `[]`).
    pub value: String,
    /// What is allowed, and why.
    pub allowed: String,
}

impl ConfigProblem {
    pub fn new(field: impl Into<String>, value: impl fmt::Debug, allowed: impl Into<String>) -> ConfigProblem {
        ConfigProblem { field: field.into(), value: format!("{value:?}"), allowed: allowed.into() }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "platform configuration: {} is {}; allowed: {}", self.field, self.value, self.allowed)
    }
}

fn lines(problems: &[ConfigProblem]) -> String {
    problems.iter().map(ConfigProblem::to_string).collect::<Vec<_>>().join("\n")
}
