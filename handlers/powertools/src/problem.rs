//! `application/problem+json` errors (RFC 9457): every 4xx/5xx the API returns has this body.

use std::collections::BTreeMap;

use serde::Serialize;

/// A problem response. `type` is `about:blank` (RFC 9457 §4.2: the title is the HTTP status phrase) unless a
/// more specific URI is given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: &'static str,
    /// The status's reason phrase (`&'static str` keeps `Problem` small: it is the error type of every request
    /// path, returned by value).
    pub title: &'static str,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Extension members (RFC 9457 §3.2), e.g. `errors` of a validation failure.
    #[serde(flatten)]
    pub extensions: BTreeMap<String, serde_json::Value>,
    /// Response headers that come with the problem (`Retry-After`, `RateLimit-*`), not part of the body.
    #[serde(skip)]
    pub headers: BTreeMap<String, String>,
}

impl Problem {
    /// A problem with the status's standard title.
    ///
    /// ```
    /// let p = powertools::problem::Problem::new(404).with_detail("no order 42");
    /// assert_eq!(p.title, "Not Found");
    /// assert_eq!(serde_json::to_value(&p).unwrap()["detail"], "no order 42");
    /// ```
    pub fn new(status: u16) -> Problem {
        Problem {
            type_uri: "about:blank",
            title: title(status),
            status,
            detail: None,
            extensions: BTreeMap::new(),
            headers: BTreeMap::new(),
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Problem {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Problem {
        self.headers.insert(name.to_string(), value.into());
        self
    }

    pub fn with_extension(mut self, name: &str, value: serde_json::Value) -> Problem {
        self.extensions.insert(name.to_string(), value);
        self
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| format!("{{\"status\":{}}}", self.status))
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.title)?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// Standard reason phrase of the statuses the platform uses.
pub fn title(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}
