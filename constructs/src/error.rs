//! The error every construct constructor returns: what is wrong, where (the construct path), the bad value and
//! what is allowed.
//!
//! Constructors validate what they can see (a key schema, a timeout against a queue, a WAF scope against the
//! stack's region) and fail early with one of these; everything that needs the whole template is checked again at
//! synth by `synth`'s validator and the rule pack.

/// A construct refused its input.
///
/// Messages are lowercase, without a trailing period, and start with the construct path so that a failure in a
/// large app points at the code that caused it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConstructError {
    /// A number outside the range AWS accepts (or the construct allows).
    #[error("{path}: {what} {value} is out of range: allowed {allowed}")]
    OutOfRange { path: String, what: &'static str, value: String, allowed: String },
    /// A value that does not have an allowed form.
    #[error("{path}: invalid {what} {value:?}: {allowed}")]
    Invalid { path: String, what: &'static str, value: String, allowed: String },
    /// A DynamoDB key schema (of the table or of an index) that DynamoDB would reject.
    #[error("{path}: bad key schema: {problem}")]
    KeySchema { path: String, problem: String },
    /// An SQS event source whose queue hides messages for less time than the function may take to process them
    /// six times over (AWS guidance, <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html>).
    #[error(
        "{path}: queue {queue} has a visibility timeout of {visibility} s, less than 6 x the function timeout of {timeout} s: set it to at least {required} s"
    )]
    VisibilityTimeout { path: String, queue: String, visibility: u32, timeout: u32, required: u32 },
    /// A resource that must live in one region placed in a stack of another.
    #[error("{path}: {what} must be in {required}, not {region}")]
    WrongRegion { path: String, what: String, region: String, required: String },
    /// Two settings that cannot be used together, or a setting that needs another.
    #[error("{path}: {problem}")]
    Conflict { path: String, problem: String },
    /// A name used twice where names must be unique.
    #[error("{path}: duplicate {what} {value:?}")]
    Duplicate { path: String, what: &'static str, value: String },
}

impl ConstructError {
    /// The construct path the error is about.
    pub fn path(&self) -> &str {
        match self {
            ConstructError::OutOfRange { path, .. }
            | ConstructError::Invalid { path, .. }
            | ConstructError::KeySchema { path, .. }
            | ConstructError::VisibilityTimeout { path, .. }
            | ConstructError::WrongRegion { path, .. }
            | ConstructError::Conflict { path, .. }
            | ConstructError::Duplicate { path, .. } => path,
        }
    }
}

/// `Err(OutOfRange)` unless `min <= value <= max`.
pub(crate) fn check_range(
    path: &str,
    what: &'static str,
    value: i64,
    min: i64,
    max: i64,
) -> Result<(), ConstructError> {
    if value < min || value > max {
        return Err(ConstructError::OutOfRange {
            path: path.to_owned(),
            what,
            value: value.to_string(),
            allowed: format!("{min} to {max}"),
        });
    }
    Ok(())
}
