//! Per-tenant, per-route rate limits with counters in DynamoDB.
//!
//! **Fixed window**, not token bucket: a fixed window is one atomic conditional `UpdateItem`
//! (`ADD count :1` if `count < :limit`) per request, so the check is exact under any concurrency and costs
//! **1 round trip**. A token bucket in DynamoDB needs the last refill time and level, i.e. a read then a
//! conditional write (2 round trips, and retries under contention). The known cost of fixed windows, up to 2x the
//! limit across a window boundary, is bounded by API Gateway's usage-plan throttling (a token bucket at the edge)
//! in front; this layer enforces the per-tenant quota per route.
//!
//! Counters: control table, `pk = TENANT#<tenant>#SHARD#<n>`, `sk = RATE#<route>#<window start>`, `ttl` = window
//! end + 60 s (TTL deletion lags; the window start in the key makes stale counters harmless anyway).
//!
//! **Hot tenants** get `shards > 1`: the limit is split over `shards` counters in different partitions (a single
//! partition takes at most 1,000 writes per second,
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html>). A request
//! picks a random shard; when that shard is full it probes one other shard (2 round trips), then answers 429.
//! The sum of shard limits equals the limit, so the limit is never exceeded; it can deny slightly early when
//! shards fill unevenly.
//!
//! | path | round trips |
//! |---|---|
//! | allowed | 1 (`UpdateItem`) |
//! | denied, 1 shard | 1 |
//! | denied or allowed after probing, n shards | 2 |
//! | inside the caller's transaction ([`RateLimiter::transact_item`]) | 0 extra |

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValue;

use crate::clock::{self, SharedClock};
use crate::dynamo::{get_n, n, s};
use crate::idempotency::error_message;
use crate::problem::Problem;
use crate::retry::{RetryError, RetryPolicy, classify, retry};
use crate::tenant::TenantId;
use platform_types::table;

/// A limit: `requests` per window, spread over `shards` counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub requests: u32,
    pub shards: u32,
}

impl Limit {
    pub fn new(requests: u32) -> Limit {
        Limit { requests, shards: 1 }
    }
    pub fn sharded(requests: u32, shards: u32) -> Limit {
        Limit { requests, shards: shards.max(1) }
    }
    /// Shards that get a non-zero share (a limit of 3 over 8 shards uses 3).
    fn effective_shards(&self) -> u32 {
        self.shards.clamp(1, self.requests.max(1))
    }
    /// Share of shard `i`: the limit divided evenly, the remainder to the first shards.
    fn shard_limit(&self, i: u32) -> u32 {
        let k = self.effective_shards();
        self.requests / k + u32::from(i < self.requests % k)
    }
}

/// Settings. Required: the table.
#[derive(Clone, Debug)]
pub struct RateLimitConfig {
    pub table: String,
    /// Window length. Default 60 s.
    pub window: Duration,
    pub retry: RetryPolicy,
}

impl RateLimitConfig {
    pub fn new(table: impl Into<String>) -> RateLimitConfig {
        RateLimitConfig { table: table.into(), window: Duration::from_secs(60), retry: RetryPolicy::default() }
    }
}

/// Errors of the limiter.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RateLimitError {
    /// Throttled or unavailable after retries (503).
    #[error("rate-limit counters unavailable after {attempts} attempts: {message}")]
    Unavailable { attempts: u32, message: String },
    /// Any other DynamoDB error (500).
    #[error("rate-limit counter error: {0}")]
    Dynamo(String),
}

impl RateLimitError {
    pub fn to_problem(&self) -> Problem {
        match self {
            RateLimitError::Unavailable { .. } => {
                Problem::new(503).with_detail("the service is busy, retry later").with_header("Retry-After", "1")
            }
            RateLimitError::Dynamo(_) => Problem::new(500).with_detail("internal error"),
        }
    }
}

/// The answer for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    /// Requests left in the window (an estimate when sharded; unknown after a transactional increment, which
    /// returns no values).
    pub remaining: Option<u32>,
    /// Seconds until the window resets.
    pub reset_s: u64,
    pub window_s: u64,
}

impl RateDecision {
    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (IETF httpapi draft "RateLimit header
    /// fields") and `RateLimit-Policy` (`<limit>;w=<window>`): sent on every response of a limited route.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = vec![("RateLimit-Limit", self.limit.to_string())];
        if let Some(r) = self.remaining {
            h.push(("RateLimit-Remaining", r.to_string()));
        }
        h.push(("RateLimit-Reset", self.reset_s.to_string()));
        h.push(("RateLimit-Policy", format!("{};w={}", self.limit, self.window_s)));
        h
    }

    /// The 429 for a denied request (with `Retry-After`), `None` when allowed.
    pub fn to_problem(&self) -> Option<Problem> {
        if self.allowed {
            return None;
        }
        let mut p = Problem::new(429)
            .with_detail(format!("rate limit of {} requests per {} s exceeded", self.limit, self.window_s))
            .with_header("Retry-After", self.reset_s.max(1).to_string());
        for (k, v) in self.headers() {
            p = p.with_header(k, v);
        }
        Some(p)
    }
}

/// A counter increment to include in a transaction ([`RateLimiter::transact_item`]).
#[derive(Clone, Debug)]
pub struct CounterWrite {
    pub item: aws_sdk_dynamodb::types::TransactWriteItem,
    /// The decision to report when the transaction succeeds.
    pub allowed: RateDecision,
    /// The decision to report when the counter's condition cancels the transaction.
    pub denied: RateDecision,
}

/// The limiter. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    ddb: Client,
    config: RateLimitConfig,
    clock: SharedClock,
}

enum ShardResult {
    Allowed(u32),
    Full,
}

impl RateLimiter {
    pub fn new(ddb: Client, config: RateLimitConfig) -> RateLimiter {
        RateLimiter { ddb, config, clock: clock::system() }
    }

    pub fn with_clock(mut self, clock: SharedClock) -> RateLimiter {
        self.clock = clock;
        self
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Counts one request of `tenant` on `route` against `limit`.
    pub async fn check(&self, tenant: &TenantId, route: &str, limit: Limit) -> Result<RateDecision, RateLimitError> {
        let now_s = self.clock.now_millis() / 1000;
        let window_s = self.config.window.as_secs().max(1);
        let start = now_s - now_s % window_s;
        let reset_s = start + window_s - now_s;
        let decision = |allowed, remaining| RateDecision {
            allowed,
            limit: limit.requests,
            remaining: Some(remaining),
            reset_s,
            window_s,
        };
        if limit.requests == 0 {
            return Ok(decision(false, 0));
        }
        let shards = limit.effective_shards();
        let first = if shards > 1 { fastrand::u32(0..shards) } else { 0 };
        let probes = if shards > 1 { 2 } else { 1 };
        for p in 0..probes {
            let shard = (first + p) % shards;
            let shard_limit = limit.shard_limit(shard);
            match self.increment(tenant, route, start, window_s, shard, shard_limit).await? {
                ShardResult::Allowed(count) => {
                    // Sharded: scale this shard's headroom to an estimate of the whole.
                    let remaining = shard_limit.saturating_sub(count).saturating_mul(shards).min(limit.requests);
                    return Ok(decision(true, remaining));
                }
                ShardResult::Full => continue,
            }
        }
        Ok(decision(false, 0))
    }

    /// The counter increment as a `TransactWriteItem`, to put in the same transaction as the write it limits
    /// (then a limited, idempotent create is still 1 round trip in total). When its condition fails the
    /// transaction is cancelled and the caller answers `denied`. One shard is tried (no probing inside a
    /// transaction). A limit of 0 is denied at once (`Err`, nothing to write).
    pub fn transact_item(&self, tenant: &TenantId, route: &str, limit: Limit) -> Result<CounterWrite, RateDecision> {
        let now_s = self.clock.now_millis() / 1000;
        let window_s = self.config.window.as_secs().max(1);
        let start = now_s - now_s % window_s;
        let reset_s = start + window_s - now_s;
        let d = RateDecision { allowed: true, limit: limit.requests, remaining: None, reset_s, window_s };
        let denied = RateDecision { allowed: false, remaining: Some(0), ..d.clone() };
        if limit.requests == 0 {
            return Err(denied);
        }
        let shards = limit.effective_shards();
        let shard = if shards > 1 { fastrand::u32(0..shards) } else { 0 };
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.config.table)
            .key(table::PARTITION_KEY, s(format!("{}#SHARD#{shard}", tenant.partition_key())))
            .key(table::SORT_KEY, s(format!("{}{route}#{start}", table::RATE_PREFIX)))
            .update_expression("ADD #c :one SET #ttl = if_not_exists(#ttl, :ttl)")
            .condition_expression("attribute_not_exists(#c) OR #c < :max")
            .expression_attribute_names("#c", "count")
            .expression_attribute_names("#ttl", table::TTL_ATTRIBUTE)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(limit.shard_limit(shard)))
            .expression_attribute_values(":ttl", n(start + window_s + 60))
            .build()
            // Only fails when a required field is unset, and all are set above.
            .map_err(|_| denied.clone())?;
        Ok(CounterWrite {
            item: aws_sdk_dynamodb::types::TransactWriteItem::builder().update(update).build(),
            denied,
            allowed: d,
        })
    }

    async fn increment(
        &self,
        tenant: &TenantId,
        route: &str,
        start: u64,
        window_s: u64,
        shard: u32,
        shard_limit: u32,
    ) -> Result<ShardResult, RateLimitError> {
        let pk = format!("{}#SHARD#{shard}", tenant.partition_key());
        let sk = format!("{}{route}#{start}", table::RATE_PREFIX);
        let r = retry(&self.config.retry, classify, || {
            self.ddb
                .update_item()
                .table_name(&self.config.table)
                .key(table::PARTITION_KEY, s(pk.clone()))
                .key(table::SORT_KEY, s(sk.clone()))
                .update_expression("ADD #c :one SET #ttl = if_not_exists(#ttl, :ttl)")
                .condition_expression("attribute_not_exists(#c) OR #c < :max")
                .expression_attribute_names("#c", "count")
                .expression_attribute_names("#ttl", table::TTL_ATTRIBUTE)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":max", n(shard_limit))
                .expression_attribute_values(":ttl", n(start + window_s + 60))
                .return_values(ReturnValue::UpdatedNew)
                .send()
        })
        .await;
        match r {
            Ok(out) => {
                let count = out.attributes.as_ref().and_then(|a| get_n::<u32>(a, "count").ok()).unwrap_or(shard_limit);
                Ok(ShardResult::Allowed(count))
            }
            Err(RetryError::Permanent(e))
                if e.as_service_error().map(|se| se.is_conditional_check_failed_exception()).unwrap_or(false) =>
            {
                Ok(ShardResult::Full)
            }
            Err(RetryError::Exhausted { attempts, last }) => {
                Err(RateLimitError::Unavailable { attempts, message: error_message(&last) })
            }
            Err(RetryError::Permanent(e)) => Err(RateLimitError::Dynamo(error_message(&e))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shard_limits_sum_to_the_limit() {
        let cases: [(u32, u32, &[u32]); 5] = [
            (10, 1, &[10]),
            (10, 3, &[4, 3, 3]),
            // More shards than requests: only as many shards as requests, one each.
            (3, 8, &[1, 1, 1]),
            (1000, 7, &[143, 143, 143, 143, 143, 143, 142]),
            (1, 1, &[1]),
        ];
        for (requests, shards, expected) in cases {
            let l = Limit::sharded(requests, shards);
            let limits: Vec<u32> = (0..l.effective_shards()).map(|i| l.shard_limit(i)).collect();
            assert_eq!(limits, expected, "{requests} over {shards}");
        }
    }

    #[test]
    fn denied_decision_is_a_429_with_headers() {
        let d = RateDecision { allowed: false, limit: 5, remaining: Some(0), reset_s: 17, window_s: 60 };
        let p = d.to_problem().unwrap();
        assert_eq!(p.status, 429);
        assert_eq!(p.headers["Retry-After"], "17");
        assert_eq!(p.headers["RateLimit-Limit"], "5");
        assert_eq!(p.headers["RateLimit-Remaining"], "0");
        assert_eq!(p.headers["RateLimit-Policy"], "5;w=60");
        assert_eq!(RateDecision { allowed: true, ..d }.to_problem(), None);
    }
}
