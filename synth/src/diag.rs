//! Diagnostics: what validation reports, each with the stack and construct path it is about.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

/// One problem (or note) found while building or validating an app.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The stack's id in the app.
    pub stack: String,
    /// The construct path (`Orders/Table`), or the template section (`Outputs/TableArn`) when no construct is at
    /// hand; empty for the stack as a whole.
    pub path: String,
    pub message: String,
}

impl Diagnostic {
    pub fn error(stack: &str, path: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            stack: stack.to_owned(),
            path: path.to_owned(),
            message: message.into(),
        }
    }
    pub fn note(stack: &str, path: &str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Note, stack: stack.to_owned(), path: path.to_owned(), message: message.into() }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}: {}", self.severity, self.stack, self.message)
        } else {
            write!(f, "{}: {}/{}: {}", self.severity, self.stack, self.path, self.message)
        }
    }
}

/// Synth failed: every error found, in a stable order (plus the notes and warnings seen on the way).
#[derive(Debug, thiserror::Error)]
#[error("synth found {} error(s):\n{}", self.errors().count(), render(&self.diagnostics))]
pub struct SynthError {
    pub diagnostics: Vec<Diagnostic>,
}

impl SynthError {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.severity == Severity::Error)
    }
    /// The error messages alone, for tests and tools.
    pub fn messages(&self) -> Vec<String> {
        self.errors().map(|d| d.to_string()).collect()
    }
}

fn render(ds: &[Diagnostic]) -> String {
    ds.iter().filter(|d| d.severity == Severity::Error).map(|d| format!("  {d}")).collect::<Vec<_>>().join("\n")
}
