//! The rules themselves.

use synth::Rule;

/// Every rule of the pack.
pub fn all() -> Vec<&'static dyn Rule> {
    Vec::new()
}
