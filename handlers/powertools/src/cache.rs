//! The hot-read cache: cache-aside reads over Redis (ElastiCache Serverless, TLS), pipelined invalidation, and a
//! circuit that turns an outage into misses.
//!
//! - **Reads never fail because of the cache.** [`Cache::get`] answers [`Lookup::Miss`] on any error and
//!   [`Cache::put`] drops its error: the caller reads DynamoDB as if there were no cache.
//! - **An outage costs at most one timeout per window.** The first failed request (connect or read, each bounded
//!   by [`CacheConfig`]'s timeouts) opens the circuit for [`CacheConfig::open_for`]; while it is open no request
//!   is sent, and the first request after it closes tries again (reconnecting: a failed connection is dropped).
//! - **Invalidation reports its failure.** [`Cache::invalidate`] deletes a batch of keys in one pipelined round
//!   trip and returns the error, so the stream processor can fail the record and let the stream retry it: a stale
//!   read is bounded by the invalidation lag, not by the TTL.
//!
//! Keys ([`entity_key`], [`api_key_key`]) are built from the item's DynamoDB keys, so the stream processor
//! derives the same key from a stream record as the reader from its request.
//!
//! ```
//! use powertools::cache::{api_key_key, entity_key};
//! assert_eq!(entity_key("TENANT#acme", "ORDER#01J"), "e:TENANT#acme|ORDER#01J");
//! assert_eq!(api_key_key("APIKEY#ab12"), "k:APIKEY#ab12");
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;

use crate::config::{ConfigError, Env};

/// The port of an ElastiCache Serverless cache's primary endpoint
/// (<https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/serverless-connecting.html>); its reader port
/// (6380) is not used: a read right after an invalidation must not see a replica's older copy.
pub const DEFAULT_PORT: u16 = 6379;

/// The cache key of an entity item (`pk`, `sk` of the entity table). `|` cannot occur in either key.
pub fn entity_key(pk: &str, sk: &str) -> String {
    format!("e:{pk}|{sk}")
}

/// The cache key of the authorizer's API key lookup: the key hash's GSI1 partition key (`APIKEY#<sha256>`).
pub fn api_key_key(gsi1_pk: &str) -> String {
    format!("k:{gsi1_pk}")
}

/// Timeouts, TTL and circuit window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// How long an entry lives. Default 60 s: invalidation is what keeps entries fresh, the TTL only bounds what
    /// a lost invalidation race (a read that fills the cache with the old value after the invalidation) leaves
    /// behind, and keeps the cache's memory to the hot set.
    pub ttl: Duration,
    /// Connect (TCP + TLS handshake) timeout. Default 250 ms: inside the VPC a TLS handshake takes a few ms; a
    /// cold sandbox pays it once.
    pub connect_timeout: Duration,
    /// Per-request timeout. Default 50 ms: a GET from ElastiCache takes well under 1 ms in the same AZ; past
    /// 50 ms DynamoDB (a few ms) is the faster answer.
    pub read_timeout: Duration,
    /// How long the circuit stays open after a failure. Default 30 s: one timeout per 30 s per sandbox is noise
    /// next to the requests it serves.
    pub open_for: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl: Duration::from_secs(60),
            connect_timeout: Duration::from_millis(250),
            read_timeout: Duration::from_millis(50),
            open_for: Duration::from_secs(30),
        }
    }
}

/// Why a cache request did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// The endpoint does not parse.
    #[error("cache endpoint {value:?} is invalid: {reason}; expected host, host:port or a redis:// or rediss:// URL")]
    Endpoint { value: String, reason: String },
    /// A recent failure opened the circuit: nothing was sent.
    #[error("cache circuit open after a failure, retrying in at most {0:?}")]
    CircuitOpen(Duration),
    /// The connection or the request failed (timeouts included).
    #[error("cache request failed: {0}")]
    Redis(String),
}

/// The result of a read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Hit(String),
    /// Not cached, or the cache could not answer (the caller cannot tell and need not).
    Miss,
}

impl Lookup {
    /// The `X-Cache` header value.
    pub fn header_value(&self) -> &'static str {
        match self {
            Lookup::Hit(_) => "hit",
            Lookup::Miss => "miss",
        }
    }
}

/// The `X-Cache` response header: `hit` when the body came from the cache, else `miss`.
pub const X_CACHE: &str = "X-Cache";

/// A Redis cache client, shared by the invocations of a sandbox (clones share the connection and the circuit).
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    endpoint: String,
    config: CacheConfig,
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// The circuit: open until this many ms after `born` (0: closed).
    open_until_ms: AtomicU64,
    born: Instant,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache").field("endpoint", &self.inner.endpoint).field("config", &self.inner.config).finish()
    }
}

/// The URL of an endpoint: a bare host (what CloudFormation's `Endpoint.Address` gives) or `host:port` is TLS
/// (`rediss://`, which ElastiCache Serverless requires); a URL is taken as it is (local tests use `redis://`).
pub fn endpoint_url(endpoint: &str) -> Result<String, CacheError> {
    let bad = |reason: &str| CacheError::Endpoint { value: endpoint.into(), reason: reason.into() };
    let e = endpoint.trim();
    if e.is_empty() {
        return Err(bad("empty"));
    }
    if let Some((scheme, _)) = e.split_once("://") {
        return match scheme {
            "redis" | "rediss" => Ok(e.to_string()),
            _ => Err(bad("unsupported scheme")),
        };
    }
    if e.contains(['/', '@', ' ']) {
        return Err(bad("not a host name"));
    }
    Ok(if e.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        format!("rediss://{e}")
    } else {
        format!("rediss://{e}:{DEFAULT_PORT}")
    })
}

impl Cache {
    /// A client for `endpoint` ([`endpoint_url`]). No IO: the connection is opened by the first request.
    pub fn new(endpoint: &str, config: CacheConfig) -> Result<Cache, CacheError> {
        let url = endpoint_url(endpoint)?;
        let client = redis::Client::open(url.as_str())
            .map_err(|e| CacheError::Endpoint { value: endpoint.into(), reason: e.to_string() })?;
        Ok(Cache {
            inner: Arc::new(Inner {
                client,
                endpoint: url,
                config,
                conn: tokio::sync::Mutex::new(None),
                open_until_ms: AtomicU64::new(0),
                born: Instant::now(),
            }),
        })
    }

    /// The cache of `REDIS_ENDPOINT`, `None` when the stage has no cache (the variable is unset or empty).
    pub fn from_env(env: &Env<'_>) -> Result<Option<Cache>, ConfigError> {
        let Some(endpoint) = env.optional(platform_types::env::REDIS_ENDPOINT).filter(|e| !e.trim().is_empty()) else {
            return Ok(None);
        };
        Cache::new(&endpoint, CacheConfig::default()).map(Some).map_err(|_| ConfigError::Invalid {
            var: platform_types::env::REDIS_ENDPOINT,
            value: endpoint,
            expected: "host, host:port or a redis:// or rediss:// URL",
        })
    }

    pub fn config(&self) -> &CacheConfig {
        &self.inner.config
    }

    /// The connection URL.
    pub fn endpoint(&self) -> &str {
        &self.inner.endpoint
    }

    fn now_ms(&self) -> u64 {
        // +1: 0 means closed, and the first instant after `born` is 0 ms.
        self.inner.born.elapsed().as_millis() as u64 + 1
    }

    /// How long the circuit stays open, `None` when closed.
    pub fn open_for(&self) -> Option<Duration> {
        let until = self.inner.open_until_ms.load(Ordering::Relaxed);
        let now = self.now_ms();
        (until > now).then(|| Duration::from_millis(until - now))
    }

    /// Opens the circuit and drops the connection (the next attempt reconnects).
    async fn trip(&self, e: &CacheError) {
        let until = self.now_ms() + self.inner.config.open_for.as_millis() as u64;
        self.inner.open_until_ms.store(until, Ordering::Relaxed);
        *self.inner.conn.lock().await = None;
        tracing::warn!(error = %e, endpoint = %self.inner.endpoint, open_for = ?self.inner.config.open_for, "cache circuit opened");
    }

    /// The shared connection, opened on first use.
    async fn connection(&self) -> Result<MultiplexedConnection, CacheError> {
        if let Some(left) = self.open_for() {
            return Err(CacheError::CircuitOpen(left));
        }
        let mut guard = self.inner.conn.lock().await;
        if let Some(c) = guard.as_ref() {
            return Ok(c.clone());
        }
        let c = &self.inner.config;
        let conf = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(c.connect_timeout))
            .set_response_timeout(Some(c.read_timeout));
        // The connect timeout bounds each address; the outer one bounds DNS and all addresses together.
        let conn = tokio::time::timeout(
            c.connect_timeout,
            self.inner.client.get_multiplexed_async_connection_with_config(&conf),
        )
        .await
        .map_err(|_| CacheError::Redis(format!("connect timed out after {:?}", c.connect_timeout)))?
        .map_err(|e| CacheError::Redis(e.to_string()))?;
        *guard = Some(conn.clone());
        Ok(conn)
    }

    /// Runs `cmd` (or a pipeline) with the read timeout; any failure trips the circuit.
    async fn run<T: redis::FromRedisValue>(&self, cmd: Command) -> Result<T, CacheError> {
        let result = async {
            let mut conn = self.connection().await?;
            let timeout = self.inner.config.read_timeout;
            let fut = async {
                match &cmd {
                    Command::One(c) => c.query_async::<T>(&mut conn).await,
                    Command::Pipe(p) => p.query_async::<T>(&mut conn).await,
                }
            };
            tokio::time::timeout(timeout, fut)
                .await
                .map_err(|_| CacheError::Redis(format!("request timed out after {timeout:?}")))?
                .map_err(|e| CacheError::Redis(e.to_string()))
        }
        .await;
        if let Err(e) = &result
            && !matches!(e, CacheError::CircuitOpen(_))
        {
            self.trip(e).await;
        }
        result
    }

    /// The cached value of `key`; [`Lookup::Miss`] when absent or when the cache cannot answer.
    pub async fn get(&self, key: &str) -> Lookup {
        match self.run::<Option<String>>(Command::One(redis::cmd("GET").arg(key).clone())).await {
            Ok(Some(v)) => Lookup::Hit(v),
            Ok(None) | Err(_) => Lookup::Miss,
        }
    }

    /// Stores `value` under `key` for the TTL. Best effort: a failure is logged (and trips the circuit), never
    /// returned, since the value is already on its way to the caller.
    pub async fn put(&self, key: &str, value: &str) {
        let ttl = self.inner.config.ttl.as_secs().max(1);
        let cmd = redis::cmd("SET").arg(key).arg(value).arg("EX").arg(ttl).clone();
        let _ = self.run::<()>(Command::One(cmd)).await;
    }

    /// Deletes `keys` in one pipelined round trip (one `DEL` per key, so it also works where keys hash to
    /// different slots). No keys: no request.
    pub async fn invalidate(&self, keys: &[String]) -> Result<(), CacheError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for k in keys {
            pipe.cmd("DEL").arg(k).ignore();
        }
        self.run::<()>(Command::Pipe(pipe)).await
    }
}

enum Command {
    One(redis::Cmd),
    Pipe(redis::Pipeline),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let ok = |e: &str| endpoint_url(e).unwrap();
        assert_eq!(
            ok("c-abc.serverless.use1.cache.amazonaws.com"),
            "rediss://c-abc.serverless.use1.cache.amazonaws.com:6379"
        );
        assert_eq!(ok("cache.local:6380"), "rediss://cache.local:6380");
        assert_eq!(ok("redis://127.0.0.1:7000"), "redis://127.0.0.1:7000");
        assert_eq!(
            endpoint_url("http://x").unwrap_err().to_string(),
            "cache endpoint \"http://x\" is invalid: unsupported scheme; expected host, host:port or a redis:// or \
             rediss:// URL"
        );
        assert_eq!(endpoint_url(" ").unwrap_err(), CacheError::Endpoint { value: " ".into(), reason: "empty".into() });
        assert_eq!(
            endpoint_url("a/b").unwrap_err(),
            CacheError::Endpoint { value: "a/b".into(), reason: "not a host name".into() }
        );
    }

    #[test]
    fn from_env() {
        assert!(Cache::from_env(&Env::from_pairs(&[])).unwrap().is_none());
        assert!(Cache::from_env(&Env::from_pairs(&[("REDIS_ENDPOINT", "")])).unwrap().is_none());
        let c = Cache::from_env(&Env::from_pairs(&[("REDIS_ENDPOINT", "h")])).unwrap().unwrap();
        assert_eq!((c.endpoint(), *c.config()), ("rediss://h:6379", CacheConfig::default()));
        assert_eq!(
            Cache::from_env(&Env::from_pairs(&[("REDIS_ENDPOINT", "ftp://h")])).unwrap_err(),
            ConfigError::Invalid {
                var: "REDIS_ENDPOINT",
                value: "ftp://h".into(),
                expected: "host, host:port or a redis:// or rediss:// URL"
            }
        );
    }
}
