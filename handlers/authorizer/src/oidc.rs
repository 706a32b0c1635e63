//! RS256 and ES256 JWTs of an OpenID Connect issuer, verified with the keys of its JWKS (`OIDC_ISSUER`,
//! `OIDC_AUDIENCE`, `OIDC_JWKS_URL`).
//!
//! **The key decides the algorithm, not the token.** A key is looked up by the token's `kid`; an RSA key verifies
//! RS256 only, a P-256 key ES256 only, and a JWK's own `alg`, when present, must agree. So a token cannot choose
//! a weaker check: `alg: none`, HS256 (handled by the shared-secret path, never with a JWKS key, so an HS256 token
//! MACed with an RSA public key is a bad signature) and a `kid`/`alg` mismatch are refused.
//!
//! **The JWKS cache is bounded.** Fetched on first use (not at start-up: nothing delays the sandbox's start), kept
//! [`Limits::max_age`], refetched when a token names an unknown `kid` (a key rotation), but never more often than
//! [`Limits::min_refresh`], so tokens with random `kid`s cannot make the authorizer hammer the issuer; each fetch
//! has a timeout and a body size limit, and at most [`Limits::max_keys`] keys are kept. A failed refetch keeps the
//! keys it has; with no keys at all a fetch failure is an error (500, not cached), never an Allow.
//!
//! Signatures are checked with `ring` (already linked for TLS): RSASSA-PKCS1-v1_5 with SHA-256 and a 2048 to
//! 8192-bit modulus, ECDSA P-256 with SHA-256 in the fixed `r || s` form JWS uses (RFC 7518 §3.4).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use powertools::clock::SharedClock;
use powertools::config::{ConfigError, Env};
use powertools::http::HttpClient;
use serde_json::Value;

use crate::{AuthError, Denied};

/// The bounds of the JWKS cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Keys kept from one JWKS (the rest are ignored). Issuers publish two or three (current, next, previous).
    pub max_keys: usize,
    /// Least time between two fetches: an unknown `kid` within it is denied without a fetch.
    pub min_refresh: Duration,
    /// How long fetched keys are used before they are fetched again.
    pub max_age: Duration,
    /// Timeout of one fetch (connect, send, read).
    pub fetch_timeout: Duration,
    /// Largest JWKS body read, bytes.
    pub max_body: usize,
}

impl Default for Limits {
    /// 16 keys, 30 s between fetches, 1 h cache, 2 s timeout, 64 KiB.
    fn default() -> Limits {
        Limits {
            max_keys: 16,
            min_refresh: Duration::from_secs(30),
            max_age: Duration::from_secs(3600),
            fetch_timeout: Duration::from_secs(2),
            max_body: 64 * 1024,
        }
    }
}

/// A verification key of the JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// `kty: RSA`: modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// `kty: EC`, `crv: P-256`: the uncompressed point `04 || x || y`.
    P256 { point: Vec<u8> },
}

impl Key {
    /// The one JWS algorithm this key verifies.
    pub fn alg(&self) -> &'static str {
        match self {
            Key::Rsa { .. } => "RS256",
            Key::P256 { .. } => "ES256",
        }
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        use ring::signature::{ECDSA_P256_SHA256_FIXED, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
        match self {
            Key::Rsa { n, e } => {
                RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature).is_ok()
            }
            Key::P256 { point } => ring::signature::UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                .verify(message, signature)
                .is_ok(),
        }
    }
}

fn b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

/// The usable keys of a JWKS document, by `kid`, at most `max_keys`. A key is skipped (not an error: the set may
/// hold encryption keys or algorithms this authorizer does not take) without a `kid`, with `use` other than
/// `sig`, with an `alg` other than its type's, or with malformed or unsupported parameters.
pub fn parse_jwks(doc: &Value, max_keys: usize) -> BTreeMap<String, Key> {
    let mut keys = BTreeMap::new();
    for jwk in doc["keys"].as_array().map(Vec::as_slice).unwrap_or_default() {
        if keys.len() >= max_keys {
            break;
        }
        let Some(kid) = jwk["kid"].as_str().filter(|k| !k.is_empty()) else { continue };
        if jwk.get("use").is_some_and(|u| u != "sig") {
            continue;
        }
        let key = match jwk["kty"].as_str() {
            Some("RSA") => match (jwk["n"].as_str().and_then(b64), jwk["e"].as_str().and_then(b64)) {
                (Some(n), Some(e)) if !n.is_empty() && !e.is_empty() => {
                    let strip = |v: Vec<u8>| v.into_iter().skip_while(|b| *b == 0).collect::<Vec<u8>>();
                    Key::Rsa { n: strip(n), e: strip(e) }
                }
                _ => continue,
            },
            Some("EC") if jwk["crv"] == "P-256" => {
                match (jwk["x"].as_str().and_then(b64), jwk["y"].as_str().and_then(b64)) {
                    (Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => {
                        let mut point = vec![4u8];
                        point.extend(x);
                        point.extend(y);
                        Key::P256 { point }
                    }
                    _ => continue,
                }
            }
            _ => continue,
        };
        if jwk.get("alg").is_some_and(|a| a.as_str() != Some(key.alg())) {
            continue;
        }
        keys.insert(kid.to_string(), key);
    }
    keys
}

/// The issuer, its JWKS and the cache.
#[derive(Debug)]
pub struct Oidc {
    pub issuer: String,
    pub audience: String,
    pub jwks_url: String,
    pub limits: Limits,
    clock: SharedClock,
    http: tokio::sync::OnceCell<HttpClient>,
    /// The keys and when they were fetched (ms); a fetch holds the lock, so concurrent unknown `kid`s make one.
    cache: tokio::sync::Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    keys: BTreeMap<String, Key>,
    fetched_at: Option<u64>,
    /// When the last fetch was tried (success or not): the refresh bound counts failures too.
    tried_at: Option<u64>,
}

impl Oidc {
    /// From `OIDC_ISSUER`, `OIDC_AUDIENCE` and `OIDC_JWKS_URL`: all three or none (`None`). The JWKS URL must be
    /// `https://`, but `http://127.0.0.1` and `http://localhost` for local tests.
    pub fn from_env(vars: &Env<'_>, clock: SharedClock) -> Result<Option<Oidc>, ConfigError> {
        use platform_types::env::{OIDC_AUDIENCE, OIDC_ISSUER, OIDC_JWKS_URL};
        let (issuer, audience, url) =
            (vars.optional(OIDC_ISSUER), vars.optional(OIDC_AUDIENCE), vars.optional(OIDC_JWKS_URL));
        let (issuer, audience, url) = match (issuer, audience, url) {
            (None, None, None) => return Ok(None),
            (Some(i), Some(a), Some(u)) => (i, a, u),
            (None, ..) => return Err(ConfigError::Missing(OIDC_ISSUER)),
            (_, None, _) => return Err(ConfigError::Missing(OIDC_AUDIENCE)),
            (_, _, None) => return Err(ConfigError::Missing(OIDC_JWKS_URL)),
        };
        let local = url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:");
        if !(url.starts_with("https://") || local) {
            return Err(ConfigError::Invalid {
                var: OIDC_JWKS_URL,
                value: url,
                expected: "an https:// URL (http:// only on 127.0.0.1 or localhost)",
            });
        }
        Ok(Some(Oidc::new(&issuer, &audience, &url, clock)))
    }

    pub fn new(issuer: &str, audience: &str, jwks_url: &str, clock: SharedClock) -> Oidc {
        Oidc {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks_url: jwks_url.into(),
            limits: Limits::default(),
            clock,
            http: tokio::sync::OnceCell::new(),
            cache: tokio::sync::Mutex::new(Cache::default()),
        }
    }

    /// The key `kid`: from the cache while it is fresh; otherwise, or when `kid` is unknown, after a fetch if
    /// the last one was at least [`Limits::min_refresh`] ago. `Ok(None)`: no such key (a Deny).
    pub async fn key(&self, kid: &str) -> Result<Option<Key>, AuthError> {
        let now = self.clock.now_millis();
        let mut cache = self.cache.lock().await;
        let fresh = cache.fetched_at.is_some_and(|at| now.saturating_sub(at) < self.limits.max_age.as_millis() as u64);
        if fresh && let Some(k) = cache.keys.get(kid) {
            return Ok(Some(k.clone()));
        }
        let may_fetch =
            cache.tried_at.is_none_or(|at| now.saturating_sub(at) >= self.limits.min_refresh.as_millis() as u64);
        if may_fetch {
            cache.tried_at = Some(now);
            match self.fetch().await {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched_at = Some(now);
                }
                Err(e) if cache.keys.is_empty() => return Err(e),
                // Keep what we have: an issuer outage must not lock out every user of a known key.
                Err(e) => tracing::warn!(error = %e, "jwks refresh failed, keeping the cached keys"),
            }
        }
        Ok(cache.keys.get(kid).cloned())
    }

    async fn fetch(&self) -> Result<BTreeMap<String, Key>, AuthError> {
        let fail = |m: String| AuthError::Internal(format!("jwks {}: {m}", self.jwks_url));
        let client = self
            .http
            .get_or_try_init(|| async { HttpClient::new(self.limits.fetch_timeout) })
            .await
            .map_err(|e| fail(e.to_string()))?;
        let req = http::Request::get(&self.jwks_url)
            .header("accept", "application/json")
            .body(Bytes::new())
            .map_err(|e| fail(e.to_string()))?;
        let resp = client.send(req).await.map_err(|e| fail(e.to_string()))?;
        if resp.status != 200 {
            return Err(fail(format!("answered {}", resp.status)));
        }
        if resp.body.len() > self.limits.max_body {
            return Err(fail(format!("{} bytes, more than {}", resp.body.len(), self.limits.max_body)));
        }
        let doc: Value = serde_json::from_slice(&resp.body).map_err(|e| fail(format!("not JSON: {e}")))?;
        let keys = parse_jwks(&doc, self.limits.max_keys);
        tracing::info!(keys = keys.len(), "jwks fetched");
        Ok(keys)
    }

    /// Verifies an RS256/ES256 token's signature with the JWKS key its `kid` names; answers the payload segment's
    /// bytes (the claims are checked by the caller).
    pub async fn verify_signature(&self, token: &str) -> Result<Result<Vec<u8>, Denied>, AuthError> {
        let deny = |m: String| Ok(Err(Denied::Jwt(m)));
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return deny("not three segments".into());
        };
        let Some(header) = b64(h).and_then(|b| serde_json::from_slice::<Value>(&b).ok()) else {
            return deny("header is not base64url JSON".into());
        };
        let alg = header["alg"].as_str().unwrap_or_default();
        if alg != "RS256" && alg != "ES256" {
            return deny(format!("alg {} not allowed for the oidc issuer, only RS256 and ES256", header["alg"]));
        }
        // RFC 7515 §4.1.11: extensions the recipient does not understand make the token invalid.
        if header.get("crit").is_some() {
            return deny("crit header parameters are not supported".into());
        }
        let Some(kid) = header["kid"].as_str() else { return deny("no kid".into()) };
        let Some(key) = self.key(kid).await? else { return deny(format!("unknown kid {kid:?}")) };
        if key.alg() != alg {
            return deny(format!("kid {kid:?} is a {} key, the token says {alg}", key.alg()));
        }
        let (Some(signature), Some(payload)) = (b64(sig), b64(p)) else { return deny("not base64url".into()) };
        if !key.verify(format!("{h}.{p}").as_bytes(), &signature) {
            return deny("bad signature".into());
        }
        Ok(Ok(payload))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jwks_keys_are_filtered_and_bounded() {
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([1u8; 32]);
        let doc = json!({"keys": [
            {"kty": "RSA", "kid": "r1", "n": "AQAB", "e": "AQAB", "use": "sig", "alg": "RS256"},
            {"kty": "EC", "kid": "e1", "crv": "P-256", "x": x, "y": x},
            {"kty": "RSA", "kid": "enc", "n": "AQAB", "e": "AQAB", "use": "enc"},
            {"kty": "RSA", "kid": "mismatch", "n": "AQAB", "e": "AQAB", "alg": "ES256"},
            {"kty": "RSA", "kid": "hs", "n": "AQAB", "e": "AQAB", "alg": "HS256"},
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": x, "y": x},
            {"kty": "EC", "kid": "short", "crv": "P-256", "x": "AQAB", "y": x},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        ]});
        let keys = parse_jwks(&doc, 16);
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["e1", "r1"]);
        assert_eq!(keys["r1"], Key::Rsa { n: vec![1, 0, 1], e: vec![1, 0, 1] });
        assert_eq!(keys["e1"].alg(), "ES256");
        assert_eq!(parse_jwks(&doc, 1).len(), 1);
        assert!(parse_jwks(&json!({"keys": "no"}), 16).is_empty());
    }

    fn from_env(vars: &[(&str, &str)]) -> Result<Option<Oidc>, ConfigError> {
        Oidc::from_env(&Env::from_pairs(vars), powertools::clock::system())
    }

    #[test]
    fn config_is_all_or_nothing_and_https() {
        assert!(from_env(&[]).unwrap().is_none());
        let all = [
            ("OIDC_ISSUER", "https://login.example.com/"),
            ("OIDC_AUDIENCE", "api"),
            ("OIDC_JWKS_URL", "https://login.example.com/jwks"),
        ];
        let o = from_env(&all).unwrap().unwrap();
        assert_eq!(
            (o.issuer.as_str(), o.audience.as_str(), o.limits),
            ("https://login.example.com/", "api", Limits::default())
        );
        assert_eq!(from_env(&all[..2]).unwrap_err(), ConfigError::Missing("OIDC_JWKS_URL"));
        assert_eq!(from_env(&all[1..]).unwrap_err(), ConfigError::Missing("OIDC_ISSUER"));
        let plain = [all[0], all[1], ("OIDC_JWKS_URL", "http://login.example.com/jwks")];
        assert_eq!(
            from_env(&plain).unwrap_err(),
            ConfigError::Invalid {
                var: "OIDC_JWKS_URL",
                value: "http://login.example.com/jwks".into(),
                expected: "an https:// URL (http:// only on 127.0.0.1 or localhost)"
            }
        );
    }
}
