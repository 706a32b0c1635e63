//! A handler's settings from environment variables: required and optional values, parsed, with one error type
//! that names the variable, the bad value and what is allowed.
//!
//! Settings are read through an [`Env`]: the process environment in a Lambda ([`Env::process`]), a fixed list in
//! tests ([`Env::from_pairs`]). The handlers' `Deps::from_env` take an `&Env`, so their parsing is tested without
//! touching the process environment (which tests share, and which the workspace's `forbid(unsafe_code)` keeps
//! read-only: `std::env::set_var` is `unsafe` in edition 2024).
//!
//! ```
//! use powertools::config::{ConfigError, Env};
//! let env = Env::from_pairs(&[("TABLE_NAME", "entities"), ("TTL_SECONDS", "x")]);
//! assert_eq!(env.required("TABLE_NAME"), Ok("entities".to_string()));
//! assert_eq!(env.required("QUEUE_URL"), Err(ConfigError::Missing("QUEUE_URL")));
//! assert_eq!(env.optional("QUEUE_URL"), None);
//! assert_eq!(
//!     env.parse::<u64>("TTL_SECONDS", "a number of seconds").unwrap_err().to_string(),
//!     "environment variable TTL_SECONDS=\"x\" is invalid: expected a number of seconds"
//! );
//! ```

use std::str::FromStr;

/// A setting that is missing or does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set (the infrastructure sets every variable a handler requires).
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    /// A variable is set to a value the handler cannot use.
    #[error("environment variable {var}={value:?} is invalid: expected {expected}")]
    Invalid { var: &'static str, value: String, expected: &'static str },
}

/// A variable's value by name, if it is set.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Where settings are read from.
pub struct Env<'a> {
    lookup: Lookup<'a>,
}

impl Env<'static> {
    /// The process environment (what Lambda sets).
    pub fn process() -> Env<'static> {
        Env { lookup: Box::new(|name| std::env::var(name).ok()) }
    }
}

impl<'a> Env<'a> {
    /// A fixed list of `(name, value)` pairs: the first pair with a name wins.
    pub fn from_pairs(pairs: &'a [(&'a str, &'a str)]) -> Env<'a> {
        Env { lookup: Box::new(|name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_string())) }
    }

    /// The value of a variable, if it is set.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// The value of a variable that must be set.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    /// The value of an optional variable parsed with [`FromStr`]; `expected` says what is allowed.
    pub fn parse<T: FromStr>(&self, name: &'static str, expected: &'static str) -> Result<Option<T>, ConfigError> {
        self.parse_with(name, expected, |v| v.parse().ok())
    }

    /// The value of an optional variable parsed by `parse` (`None` from it: the value is invalid).
    pub fn parse_with<T>(
        &self,
        name: &'static str,
        expected: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        match self.optional(name) {
            None => Ok(None),
            Some(value) => match parse(&value) {
                Some(v) => Ok(Some(v)),
                None => Err(ConfigError::Invalid { var: name, value, expected }),
            },
        }
    }
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The values may be secrets (AWS_SECRET_ACCESS_KEY): never printed.
        f.write_str("Env")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn required_optional_and_parsed() {
        let env = Env::from_pairs(&[("A", "1"), ("A", "2"), ("EMPTY", ""), ("N", "0")]);
        assert_eq!(env.required("A"), Ok("1".to_string()));
        assert_eq!(env.required("EMPTY"), Ok(String::new()), "set but empty is set");
        assert_eq!(env.required("B"), Err(ConfigError::Missing("B")));
        assert_eq!(env.optional("B"), None);
        assert_eq!(env.parse::<u64>("A", "a number"), Ok(Some(1)));
        assert_eq!(env.parse::<u64>("B", "a number"), Ok(None));
        assert_eq!(
            env.parse_with("N", "a positive number", |v| v.parse::<u64>().ok().filter(|n| *n > 0)),
            Err(ConfigError::Invalid { var: "N", value: "0".into(), expected: "a positive number" })
        );
        assert_eq!(ConfigError::Missing("B").to_string(), "environment variable B is not set");
    }

    #[test]
    fn process_environment() {
        assert_eq!(Env::process().optional("PATH"), std::env::var("PATH").ok());
        assert_eq!(format!("{:?}", Env::process()), "Env");
    }
}
