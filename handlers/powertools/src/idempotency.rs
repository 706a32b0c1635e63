//! Idempotency over DynamoDB: a retried request gets the first response instead of running twice.
//!
//! A record per tenant-scoped key lives in the control table: `pk = TENANT#<tenant>`,
//! `sk = IDEMPOTENCY#<operation>#<key>`, with the payload [`Fingerprint`] (SHA-256 of the canonical JSON), a
//! status (`IN_PROGRESS` or `COMPLETED`), the stored response, and `ttl` (epoch seconds). TTL deletion lags by up
//! to days, so expiry is also checked in code and in every condition expression (`#ttl < :now`).
//!
//! Two ways to use it:
//!
//! - [`Idempotency::commit`] (**transactional**, for creates whose effect is a DynamoDB write): the business
//!   write(s) and the `COMPLETED` record go in **one `TransactWriteItems`**, the record `Put` conditioned on the
//!   key being free (absent or expired) and asking for `ReturnValuesOnConditionCheckFailure = ALL_OLD`. Either
//!   both are written or neither: a crash can never leave a done write without its record, and a duplicate
//!   learns the stored response from the cancellation reason itself, without another read.
//! - [`Idempotency::run`] (**lock**, for side effects outside DynamoDB): a conditional `PutItem` of an
//!   `IN_PROGRESS` record with its own lock TTL ([`IdempotencyConfig::lock_ttl`], independent of the Lambda's
//!   remaining time, so a timed-out first attempt keeps duplicates out until the lock expires), then the closure,
//!   then an `UpdateItem` to `COMPLETED` (or a `DeleteItem` releasing the key when the closure fails).
//!
//! ## Regions
//!
//! The control table is per region (rate windows and locks stay local), so a retry that lands in another region
//! finds no record there. With [`IdempotencyConfig::replicated_table`] (the entity global table), a transactional
//! commit also writes a claim of the key there (the same item as the record, conditioned the same way, in the same
//! transaction): the claim replicates with the entity, and the retry's transaction fails on it and replays the
//! stored response from its cancellation reason, still in one round trip. A retry faster than replication (usually
//! under a second) can still run again; the lock mode's records stay regional.
//!
//! Same key with another payload: 422. Key in progress: 409 with `Retry-After`, or a bounded wait
//! ([`InProgressPolicy::Wait`]). A replay carries the header `Idempotency-Replayed: true`.
//!
//! ## DynamoDB round trips
//!
//! | path | transactional ([`Idempotency::commit`]) | lock ([`Idempotency::run`]) |
//! |---|---|---|
//! | first request, success | **1** (`TransactWriteItems`) | 2 (`PutItem`, `UpdateItem`) |
//! | first request, handler fails | 0 (nothing to undo: the transaction is never sent) | 2 (`PutItem`, `DeleteItem`) |
//! | replay of a completed key | 1 (old record in the cancellation reason) | 1 (old record from `ALL_OLD`) |
//! | same key, other payload (422) | 1 | 1 |
//! | key in progress, reject (409) | 1 | 1 |
//! | key in progress, wait | 1 + 1 per poll | 1 + 1 per poll |
//! | transaction conflict / throttling | 1 + 1 per retry (backoff with full jitter) | 1 + 1 per retry |
//!
//! Powertools for Python/TypeScript need 3 on the happy path (put in-progress, handler write, update completed)
//! plus a `GetItem` on conflict. The tests count the calls with [`crate::aws::CallCounter`].

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::{self, SharedClock};
use crate::dynamo::{Item, get_n, get_s, n, s};
use crate::problem::Problem;
use crate::retry::{ErrorClass, RetryPolicy, classify, retry};
use crate::tenant::TenantId;
use platform_types::routes::IDEMPOTENCY_REPLAYED_HEADER;
use platform_types::table;

const STATUS: &str = "status";
const FINGERPRINT: &str = "fingerprint";
const RESPONSE: &str = "response";
const LOCK_EXPIRES: &str = "lock_expires_at";
const LOCK_TOKEN: &str = "lock_token";
const IN_PROGRESS: &str = "IN_PROGRESS";
const COMPLETED: &str = "COMPLETED";

/// The key is free: absent, expired (TTL not yet applied), or an in-progress lock that expired.
const FREE_CONDITION: &str = "attribute_not_exists(#pk) OR #ttl < :now_s OR (#st = :inprog AND #lock < :now_ms)";

/// What a duplicate does while the first request still runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InProgressPolicy {
    /// Answer 409 with `Retry-After` at once.
    Reject,
    /// Poll (one round trip per poll) until the first completes, its lock expires, or `max` passes (then 409).
    Wait { max: Duration, poll: Duration },
}

/// Settings. Required: the table; the rest has defaults.
#[derive(Clone, Debug)]
pub struct IdempotencyConfig {
    /// Control table name.
    pub table: String,
    /// How long a completed key replays. Default 24 h (Stripe's window; clients retry within minutes).
    pub record_ttl: Duration,
    /// How long an in-progress lock keeps duplicates out. Default 60 s: longer than the API's 10 s function
    /// timeout, so a request that timed out cannot be re-run by a duplicate while it might still be writing.
    pub lock_ttl: Duration,
    /// Default [`InProgressPolicy::Reject`].
    pub in_progress: InProgressPolicy,
    /// Retries on throttling and transaction conflicts.
    pub retry: RetryPolicy,
    /// The replicated (global) table transactional commits also claim the key in, so a retry in another region
    /// replays (see "Regions" in the module docs). Default: none (one region: the control table answers).
    pub replicated_table: Option<String>,
}

impl IdempotencyConfig {
    pub fn new(table: impl Into<String>) -> IdempotencyConfig {
        IdempotencyConfig {
            table: table.into(),
            record_ttl: Duration::from_secs(24 * 3600),
            lock_ttl: Duration::from_secs(60),
            in_progress: InProgressPolicy::Reject,
            retry: RetryPolicy::default(),
            replicated_table: None,
        }
    }
}

/// Errors of the idempotency layer; [`IdempotencyError::to_problem`] maps each to its HTTP answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IdempotencyError {
    /// Bad `Idempotency-Key` (400).
    #[error("invalid idempotency key {0:?}: expected 1 to 255 printable ASCII characters")]
    InvalidKey(String),
    /// Same key, different payload (422).
    #[error("idempotency key {key:?} was used with a different payload")]
    PayloadMismatch { key: String },
    /// The first request with this key is still running (409 with `Retry-After`).
    #[error("a request with idempotency key {key:?} is still in progress, retry after {retry_after_ms} ms")]
    InProgress { key: String, retry_after_ms: u64 },
    /// A business write of a transactional commit failed its own condition (the caller decides: 409, 404...).
    #[error("business write {index} of the transaction failed its condition")]
    BusinessCondition { index: usize, item: Option<Item> },
    /// More business writes than a transaction holds.
    #[error("{0} business writes, at most 99 (TransactWriteItems takes 100 items, one is the record)")]
    TooManyWrites(usize),
    /// Throttled or unavailable after retries (503).
    #[error("dynamodb unavailable after {attempts} attempts: {message}")]
    Unavailable { attempts: u32, message: String },
    /// Any other DynamoDB error (500).
    #[error("dynamodb error: {0}")]
    Dynamo(String),
    /// A record that does not parse (500).
    #[error("corrupt idempotency record: {0}")]
    CorruptRecord(String),
}

impl IdempotencyError {
    /// The HTTP problem for this error.
    pub fn to_problem(&self) -> Problem {
        match self {
            IdempotencyError::InvalidKey(_) => Problem::new(400).with_detail(self.to_string()),
            IdempotencyError::PayloadMismatch { .. } => Problem::new(422).with_detail(self.to_string()),
            IdempotencyError::InProgress { retry_after_ms, .. } => Problem::new(409)
                .with_detail(self.to_string())
                .with_header("Retry-After", retry_after_ms.div_ceil(1000).max(1).to_string()),
            IdempotencyError::BusinessCondition { .. } => Problem::new(409).with_detail(self.to_string()),
            IdempotencyError::Unavailable { .. } => {
                Problem::new(503).with_detail("the service is busy, retry later").with_header("Retry-After", "1")
            }
            IdempotencyError::TooManyWrites(_) | IdempotencyError::Dynamo(_) | IdempotencyError::CorruptRecord(_) => {
                Problem::new(500).with_detail("internal error")
            }
        }
    }
}

/// A tenant-scoped idempotency key: the tenant and operation are part of it, so two tenants (or two operations)
/// using the same header value never collide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    tenant: TenantId,
    operation: String,
    key: String,
}

impl IdempotencyKey {
    /// Validates the client's key (1 to 255 printable ASCII characters).
    pub fn new(tenant: &TenantId, operation: &str, key: &str) -> Result<IdempotencyKey, IdempotencyError> {
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(IdempotencyError::InvalidKey(key.chars().take(300).collect()));
        }
        Ok(IdempotencyKey { tenant: tenant.clone(), operation: operation.to_string(), key: key.to_string() })
    }
    pub fn pk(&self) -> String {
        self.tenant.partition_key()
    }
    pub fn sk(&self) -> String {
        format!("{}{}#{}", table::IDEMPOTENCY_PREFIX, self.operation, self.key)
    }
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// SHA-256 (hex) of the canonical JSON of a payload: object keys sorted, no whitespace. Include everything
/// that makes two requests different (path parameters as well as the body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// ```
    /// use powertools::idempotency::Fingerprint;
    /// use serde_json::json;
    /// assert_eq!(Fingerprint::of_json(&json!({"a": 1, "b": [true]})), Fingerprint::of_json(&json!({"b": [true], "a": 1})));
    /// assert_ne!(Fingerprint::of_json(&json!({"a": 1})), Fingerprint::of_json(&json!({"a": 2})));
    /// ```
    pub fn of_json(v: &serde_json::Value) -> Fingerprint {
        let mut canonical = String::new();
        write_canonical(v, &mut canonical);
        Fingerprint(hex::encode(Sha256::digest(canonical.as_bytes())))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Canonical JSON: sorted keys regardless of the map type serde_json was built with.
fn write_canonical(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A response as stored and replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// This request ran; its response is stored.
    Executed(StoredResponse),
    /// A previous request with the same key and payload ran; this is its response.
    Replayed(StoredResponse),
}

impl Outcome {
    /// The response to send: a replay gets `Idempotency-Replayed: true`.
    pub fn into_response(self) -> StoredResponse {
        match self {
            Outcome::Executed(r) => r,
            Outcome::Replayed(mut r) => {
                r.headers.insert(IDEMPOTENCY_REPLAYED_HEADER.to_string(), "true".to_string());
                r
            }
        }
    }
    pub fn is_replay(&self) -> bool {
        matches!(self, Outcome::Replayed(_))
    }
}

/// Error of [`Idempotency::run`]: the layer's own, or the closure's.
#[derive(Debug, thiserror::Error)]
pub enum RunError<E> {
    #[error(transparent)]
    Idempotency(#[from] IdempotencyError),
    /// The closure failed; the key was released so a retry runs again.
    #[error("handler failed: {0}")]
    Handler(E),
}

/// A parsed record.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    status: String,
    fingerprint: String,
    expires_at_s: u64,
    lock_expires_at_ms: Option<u64>,
    response: Option<StoredResponse>,
}

impl Record {
    fn parse(item: &Item) -> Result<Record, IdempotencyError> {
        let corrupt = |e: crate::dynamo::ConvertError| IdempotencyError::CorruptRecord(e.to_string());
        let response = match item.get(RESPONSE) {
            Some(AttributeValue::S(r)) => {
                Some(serde_json::from_str(r).map_err(|e| IdempotencyError::CorruptRecord(e.to_string()))?)
            }
            _ => None,
        };
        Ok(Record {
            status: get_s(item, STATUS).map_err(corrupt)?.to_string(),
            fingerprint: get_s(item, FINGERPRINT).map_err(corrupt)?.to_string(),
            expires_at_s: get_n(item, table::TTL_ATTRIBUTE).map_err(corrupt)?,
            lock_expires_at_ms: get_n(item, LOCK_EXPIRES).ok(),
            response,
        })
    }
}

/// What an existing record means for this request.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Decision {
    Replay(StoredResponse),
    Mismatch,
    InProgress {
        retry_after_ms: u64,
    },
    /// Expired (TTL lag) or a stale lock: the key is free, try again.
    Free,
}

fn decide(rec: &Record, fp: &Fingerprint, now_ms: u64) -> Decision {
    if rec.expires_at_s.saturating_mul(1000) <= now_ms {
        return Decision::Free;
    }
    if rec.fingerprint != fp.0 {
        return Decision::Mismatch;
    }
    match (rec.status.as_str(), &rec.response, rec.lock_expires_at_ms) {
        (COMPLETED, Some(r), _) => Decision::Replay(r.clone()),
        (IN_PROGRESS, _, Some(lock)) if lock > now_ms => Decision::InProgress { retry_after_ms: lock - now_ms },
        _ => Decision::Free,
    }
}

/// How one attempt at writing ended, short of success.
enum Attempt {
    /// The key is taken; the old record if DynamoDB returned it.
    Taken(Option<Item>),
    /// Concurrent transaction on the same item, throttling or a transient error: retry.
    Retryable(String),
    /// A business write's condition failed.
    Business {
        index: usize,
        item: Option<Item>,
    },
    Fatal(String),
}

/// The idempotency layer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Idempotency {
    ddb: Client,
    config: IdempotencyConfig,
    clock: SharedClock,
}

impl Idempotency {
    pub fn new(ddb: Client, config: IdempotencyConfig) -> Idempotency {
        Idempotency { ddb, config, clock: clock::system() }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: SharedClock) -> Idempotency {
        self.clock = clock;
        self
    }

    pub fn config(&self) -> &IdempotencyConfig {
        &self.config
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_millis()
    }

    fn names() -> HashMap<String, String> {
        [("#pk", table::PARTITION_KEY), ("#ttl", table::TTL_ATTRIBUTE), ("#st", STATUS), ("#lock", LOCK_EXPIRES)]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn free_values(now_ms: u64) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (":now_s".to_string(), n(now_ms / 1000)),
            (":now_ms".to_string(), n(now_ms)),
            (":inprog".to_string(), s(IN_PROGRESS)),
        ])
    }

    fn base_item(&self, key: &IdempotencyKey, fp: &Fingerprint, status: &str, now_ms: u64) -> Item {
        HashMap::from([
            (table::PARTITION_KEY.to_string(), s(key.pk())),
            (table::SORT_KEY.to_string(), s(key.sk())),
            (STATUS.to_string(), s(status)),
            (FINGERPRINT.to_string(), s(fp.0.clone())),
            (table::TTL_ATTRIBUTE.to_string(), n(now_ms / 1000 + self.config.record_ttl.as_secs())),
        ])
    }

    /// Transactional mode: writes `writes` and the `COMPLETED` record with `response` in one `TransactWriteItems`
    /// (1 round trip), or replays/rejects according to the existing record. See the module docs.
    pub async fn commit(
        &self,
        key: &IdempotencyKey,
        fp: &Fingerprint,
        response: &StoredResponse,
        writes: Vec<TransactWriteItem>,
    ) -> Result<Outcome, IdempotencyError> {
        // TransactWriteItems: at most 100 items per transaction, one of them the record (and one the claim).
        // https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
        let room = if self.config.replicated_table.is_some() { 98 } else { 99 };
        if writes.len() > room {
            return Err(IdempotencyError::TooManyWrites(writes.len()));
        }
        let body = serde_json::to_string(response).map_err(|e| IdempotencyError::Dynamo(e.to_string()))?;
        let record_index = writes.len();
        // The claim in the replicated table, when there is one, right after the record.
        let key_indexes: &[usize] =
            if self.config.replicated_table.is_some() { &[record_index, record_index + 1] } else { &[record_index] };
        let mut retries = 0;
        let started = self.now_ms();
        loop {
            let now = self.now_ms();
            let mut item = self.base_item(key, fp, COMPLETED, now);
            item.insert(RESPONSE.to_string(), s(body.clone()));
            let put = |table: &str| {
                Put::builder()
                    .table_name(table)
                    .set_item(Some(item.clone()))
                    .condition_expression(FREE_CONDITION)
                    .set_expression_attribute_names(Some(Self::names()))
                    .set_expression_attribute_values(Some(Self::free_values(now)))
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .build()
                    .map_err(|e| IdempotencyError::Dynamo(e.to_string()))
            };
            let mut items = writes.clone();
            items.push(TransactWriteItem::builder().put(put(&self.config.table)?).build());
            if let Some(replicated) = &self.config.replicated_table {
                items.push(TransactWriteItem::builder().put(put(replicated)?).build());
            }
            let attempt = match self.ddb.transact_write_items().set_transact_items(Some(items)).send().await {
                Ok(_) => return Ok(Outcome::Executed(response.clone())),
                Err(e) => transaction_failure(e, key_indexes),
            };
            match self.resolve(key, fp, attempt, started, &mut retries).await? {
                Some(outcome) => return Ok(outcome),
                None => continue,
            }
        }
    }

    /// Lock mode: takes the key (`IN_PROGRESS`, 1 round trip), runs `f`, stores its response (`COMPLETED`,
    /// 1 round trip) or releases the key when `f` fails (1 round trip). See the module docs.
    pub async fn run<F, Fut, E>(&self, key: &IdempotencyKey, fp: &Fingerprint, f: F) -> Result<Outcome, RunError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<StoredResponse, E>>,
    {
        let token = crate::ids::random_hex(16);
        let mut retries = 0;
        let started = self.now_ms();
        loop {
            let now = self.now_ms();
            let mut item = self.base_item(key, fp, IN_PROGRESS, now);
            item.insert(LOCK_EXPIRES.to_string(), n(now + self.config.lock_ttl.as_millis() as u64));
            item.insert(LOCK_TOKEN.to_string(), s(token.clone()));
            let sent = self
                .ddb
                .put_item()
                .table_name(&self.config.table)
                .set_item(Some(item))
                .condition_expression(FREE_CONDITION)
                .set_expression_attribute_names(Some(Self::names()))
                .set_expression_attribute_values(Some(Self::free_values(now)))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let attempt = match sent {
                Ok(_) => break,
                Err(e) => put_failure(e),
            };
            if let Some(outcome) = self.resolve(key, fp, attempt, started, &mut retries).await? {
                return Ok(outcome);
            }
        }
        match f().await {
            Ok(response) => {
                self.complete(key, &token, &response).await?;
                Ok(Outcome::Executed(response))
            }
            Err(e) => {
                self.release(key, &token).await;
                Err(RunError::Handler(e))
            }
        }
    }

    /// Turns a failed attempt into an outcome, an error, or `None` (try again, after a sleep when needed).
    async fn resolve(
        &self,
        key: &IdempotencyKey,
        fp: &Fingerprint,
        attempt: Attempt,
        started_ms: u64,
        retries: &mut u32,
    ) -> Result<Option<Outcome>, IdempotencyError> {
        let policy = self.config.retry;
        match attempt {
            Attempt::Taken(item) => {
                // DynamoDB returns the old item with ALL_OLD; read it only if it did not (1 extra round trip).
                let item = match item {
                    Some(i) => Some(i),
                    None => self.read(key).await?,
                };
                let decision = match &item {
                    Some(i) => decide(&Record::parse(i)?, fp, self.now_ms()),
                    None => Decision::Free,
                };
                match decision {
                    Decision::Replay(r) => Ok(Some(Outcome::Replayed(r))),
                    Decision::Mismatch => Err(IdempotencyError::PayloadMismatch { key: key.key.clone() }),
                    Decision::InProgress { retry_after_ms } => match self.config.in_progress {
                        InProgressPolicy::Wait { max, poll }
                            if self.now_ms().saturating_sub(started_ms) + (poll.as_millis() as u64)
                                <= max.as_millis() as u64 =>
                        {
                            tokio::time::sleep(poll.min(Duration::from_millis(retry_after_ms))).await;
                            Ok(None)
                        }
                        _ => Err(IdempotencyError::InProgress { key: key.key.clone(), retry_after_ms }),
                    },
                    Decision::Free => self.backoff(retries, "record expired between check and write").await,
                }
            }
            Attempt::Retryable(msg) => match self.backoff(retries, &msg).await {
                Ok(v) => Ok(v),
                // Conflicts that never clear mean a duplicate is committing right now.
                Err(_) if msg.contains("TransactionConflict") => {
                    Err(IdempotencyError::InProgress { key: key.key.clone(), retry_after_ms: 1000 })
                }
                Err(e) => Err(e),
            },
            Attempt::Business { index, item } => Err(IdempotencyError::BusinessCondition { index, item }),
            Attempt::Fatal(msg) => {
                let _ = policy;
                Err(IdempotencyError::Dynamo(msg))
            }
        }
    }

    async fn backoff(&self, retries: &mut u32, why: &str) -> Result<Option<Outcome>, IdempotencyError> {
        *retries += 1;
        if *retries >= self.config.retry.max_attempts {
            return Err(IdempotencyError::Unavailable { attempts: *retries, message: why.to_string() });
        }
        tracing::debug!(retry = *retries, why, "idempotency write retried");
        tokio::time::sleep(self.config.retry.backoff(*retries - 1)).await;
        Ok(None)
    }

    /// The stored outcome of a key for this payload, read without writing (1 round trip, strongly consistent):
    /// a replay for a completed key, 422 for another payload, 409 while in progress, `None` when free. For
    /// callers that validate against current state before committing, and must not turn the replay of an applied
    /// change into a validation error (an upgrade that is already done).
    pub async fn lookup(&self, key: &IdempotencyKey, fp: &Fingerprint) -> Result<Option<Outcome>, IdempotencyError> {
        let Some(item) = self.read(key).await? else { return Ok(None) };
        match decide(&Record::parse(&item)?, fp, self.now_ms()) {
            Decision::Replay(r) => Ok(Some(Outcome::Replayed(r))),
            Decision::Mismatch => Err(IdempotencyError::PayloadMismatch { key: key.key.clone() }),
            Decision::InProgress { retry_after_ms } => {
                Err(IdempotencyError::InProgress { key: key.key.clone(), retry_after_ms })
            }
            Decision::Free => Ok(None),
        }
    }

    /// The current record of a key (strongly consistent read), if any.
    async fn read(&self, key: &IdempotencyKey) -> Result<Option<Item>, IdempotencyError> {
        let out = retry(&self.config.retry, classify, || {
            self.ddb
                .get_item()
                .table_name(&self.config.table)
                .key(table::PARTITION_KEY, s(key.pk()))
                .key(table::SORT_KEY, s(key.sk()))
                .consistent_read(true)
                .send()
        })
        .await
        .map_err(sdk_error)?;
        Ok(out.item)
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        token: &str,
        response: &StoredResponse,
    ) -> Result<(), IdempotencyError> {
        let body = serde_json::to_string(response).map_err(|e| IdempotencyError::Dynamo(e.to_string()))?;
        let expires = self.now_ms() / 1000 + self.config.record_ttl.as_secs();
        let r = retry(&self.config.retry, classify, || {
            self.ddb
                .update_item()
                .table_name(&self.config.table)
                .key(table::PARTITION_KEY, s(key.pk()))
                .key(table::SORT_KEY, s(key.sk()))
                .update_expression("SET #st = :done, #resp = :resp, #ttl = :ttl REMOVE #lock, #tok")
                .condition_expression("#tok = :tok")
                .expression_attribute_names("#st", STATUS)
                .expression_attribute_names("#resp", RESPONSE)
                .expression_attribute_names("#ttl", table::TTL_ATTRIBUTE)
                .expression_attribute_names("#lock", LOCK_EXPIRES)
                .expression_attribute_names("#tok", LOCK_TOKEN)
                .expression_attribute_values(":done", s(COMPLETED))
                .expression_attribute_values(":resp", s(body.clone()))
                .expression_attribute_values(":ttl", n(expires))
                .expression_attribute_values(":tok", s(token))
                .send()
        })
        .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = e.into_inner();
                if e.as_service_error().map(|se| se.is_conditional_check_failed_exception()).unwrap_or(false) {
                    // Our lock expired and another request took the key: the side effect may have run twice.
                    // The lock TTL is too short for this operation; say so loudly, keep our response.
                    tracing::error!(key = key.key(), "idempotency lock lost before completion: raise lock_ttl");
                    Ok(())
                } else {
                    Err(sdk_error(crate::retry::RetryError::Permanent(e)))
                }
            }
        }
    }

    /// Releases the key after a failure so a retry runs. Best effort: if it fails the lock expires anyway.
    async fn release(&self, key: &IdempotencyKey, token: &str) {
        let r = retry(&self.config.retry, classify, || {
            self.ddb
                .delete_item()
                .table_name(&self.config.table)
                .key(table::PARTITION_KEY, s(key.pk()))
                .key(table::SORT_KEY, s(key.sk()))
                .condition_expression("#tok = :tok")
                .expression_attribute_names("#tok", LOCK_TOKEN)
                .expression_attribute_values(":tok", s(token))
                .send()
        })
        .await;
        if let Err(e) = r {
            tracing::warn!(key = key.key(), error = %e.into_inner(), "could not release idempotency key");
        }
    }
}

fn sdk_error<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: crate::retry::RetryError<SdkError<E, R>>,
) -> IdempotencyError {
    match e {
        crate::retry::RetryError::Exhausted { attempts, last } => {
            IdempotencyError::Unavailable { attempts, message: error_message(&last) }
        }
        crate::retry::RetryError::Permanent(e) => IdempotencyError::Dynamo(error_message(&e)),
    }
}

/// `code: message` of an SDK error, or its debug form.
pub fn error_message<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(e: &SdkError<E, R>) -> String {
    match e {
        SdkError::ServiceError(se) => {
            format!("{}: {}", se.err().code().unwrap_or("unknown"), se.err().message().unwrap_or(""))
        }
        other => format!("{other:?}"),
    }
}

/// How a transaction whose items at `key_indexes` hold the key (the record, then any claim) failed: the first of
/// them whose condition failed means the key is taken (its old item says by whom).
fn transaction_failure<R: std::fmt::Debug>(e: SdkError<TransactWriteItemsError, R>, key_indexes: &[usize]) -> Attempt {
    if let Some(TransactWriteItemsError::TransactionCanceledException(tc)) = e.as_service_error() {
        let reasons = tc.cancellation_reasons();
        let code = |i: usize| reasons.get(i).and_then(|r| r.code()).unwrap_or("None");
        if let Some(&i) = key_indexes.iter().find(|&&i| code(i) == "ConditionalCheckFailed") {
            return Attempt::Taken(reasons.get(i).and_then(|r| r.item().cloned()));
        }
        for (i, r) in reasons.iter().enumerate() {
            match r.code().unwrap_or("None") {
                "None" => {}
                "ConditionalCheckFailed" => return Attempt::Business { index: i, item: r.item().cloned() },
                c @ ("TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded") => {
                    return Attempt::Retryable(c.to_string());
                }
                other => return Attempt::Fatal(format!("transaction cancelled: {other}")),
            }
        }
        return Attempt::Fatal("transaction cancelled without a reason".into());
    }
    match classify(&e) {
        ErrorClass::Permanent => Attempt::Fatal(error_message(&e)),
        _ => Attempt::Retryable(error_message(&e)),
    }
}

fn put_failure<R: std::fmt::Debug>(e: SdkError<PutItemError, R>) -> Attempt {
    if let Some(PutItemError::ConditionalCheckFailedException(c)) = e.as_service_error() {
        return Attempt::Taken(c.item().cloned());
    }
    match classify(&e) {
        ErrorClass::Permanent => Attempt::Fatal(error_message(&e)),
        _ => Attempt::Retryable(error_message(&e)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(status: &str, fp: &Fingerprint, expires_s: u64, lock: Option<u64>) -> Record {
        Record {
            status: status.into(),
            fingerprint: fp.0.clone(),
            expires_at_s: expires_s,
            lock_expires_at_ms: lock,
            response: (status == COMPLETED).then(|| StoredResponse {
                status: 201,
                headers: BTreeMap::new(),
                body: "{}".into(),
            }),
        }
    }

    #[test]
    fn decisions() {
        let fp = Fingerprint::of_json(&json!({"a": 1}));
        let other = Fingerprint::of_json(&json!({"a": 2}));
        let now = 1_000_000;
        let check = |r: Record, f: &Fingerprint, expected: Decision| assert_eq!(decide(&r, f, now), expected);
        check(rec(COMPLETED, &fp, 2000, None), &fp, Decision::Replay(rec(COMPLETED, &fp, 0, None).response.unwrap()));
        check(rec(COMPLETED, &fp, 2000, None), &other, Decision::Mismatch);
        check(rec(COMPLETED, &fp, 999, None), &other, Decision::Free); // expired: TTL lag
        check(rec(IN_PROGRESS, &fp, 2000, Some(now + 500)), &fp, Decision::InProgress { retry_after_ms: 500 });
        check(rec(IN_PROGRESS, &fp, 2000, Some(now - 1)), &fp, Decision::Free); // stale lock
        check(rec(IN_PROGRESS, &fp, 2000, Some(now + 500)), &other, Decision::Mismatch);
    }

    #[test]
    fn keys_are_tenant_and_operation_scoped() {
        let t = TenantId::parse("acme").unwrap();
        let k = IdempotencyKey::new(&t, "createOrder", "abc-1").unwrap();
        assert_eq!(k.pk(), "TENANT#acme");
        assert_eq!(k.sk(), "IDEMPOTENCY#createOrder#abc-1");
        for bad in ["", "has space", &"x".repeat(256), "tab\t"] {
            let err = IdempotencyKey::new(&t, "op", bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("invalid idempotency key {bad:?}: expected 1 to 255 printable ASCII characters")
            );
        }
    }

    #[test]
    fn problems() {
        let p = IdempotencyError::InProgress { key: "k".into(), retry_after_ms: 1500 }.to_problem();
        assert_eq!((p.status, p.headers.get("Retry-After").map(String::as_str)), (409, Some("2")));
        assert_eq!(IdempotencyError::PayloadMismatch { key: "k".into() }.to_problem().status, 422);
        assert_eq!(IdempotencyError::Unavailable { attempts: 4, message: String::new() }.to_problem().status, 503);
    }

    #[test]
    fn replay_is_marked() {
        let r = StoredResponse { status: 201, headers: BTreeMap::new(), body: "{}".into() };
        assert!(Outcome::Executed(r.clone()).into_response().headers.is_empty());
        assert_eq!(Outcome::Replayed(r).into_response().headers[IDEMPOTENCY_REPLAYED_HEADER], "true");
    }
}
