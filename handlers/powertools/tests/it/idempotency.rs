//! Idempotency against moto: round trips counted, concurrent duplicates, failures, expiry.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use powertools::aws::{CallCounter, dynamodb_client};
use powertools::clock::{Clock, ManualClock, SystemClock};
use powertools::dynamo::s;
use powertools::idempotency::{
    Fingerprint, Idempotency, IdempotencyConfig, IdempotencyError, IdempotencyKey, InProgressPolicy, Outcome, RunError,
    StoredResponse,
};
use powertools::tenant::TenantId;
use serde_json::json;
use testkit::Moto;
use testkit::tables::Tables;

struct Env {
    ddb: aws_sdk_dynamodb::Client,
    counter: CallCounter,
    tables: Tables,
}

async fn env() -> Env {
    let moto = Moto::shared();
    let counter = CallCounter::new();
    let ddb = dynamodb_client(&moto.sdk_config(), Some(&counter));
    let tables = Tables::create(&ddb).await;
    counter.take();
    Env { ddb, counter, tables }
}

fn response(id: &str) -> StoredResponse {
    StoredResponse { status: 201, headers: BTreeMap::new(), body: json!({ "order_id": id }).to_string() }
}

fn business_put(table: &str, tenant: &TenantId, id: &str) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .item("pk", s(tenant.partition_key()))
        .item("sk", s(format!("ORDER#{id}")))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .unwrap();
    TransactWriteItem::builder().put(put).build()
}

fn tenant() -> TenantId {
    TenantId::parse("acme").unwrap()
}

fn calls(c: &CallCounter) -> Vec<(String, u32)> {
    c.take().into_iter().collect()
}

#[tokio::test]
async fn commit_is_one_round_trip_and_replays_in_one() {
    let e = env().await;
    let idem = Idempotency::new(e.ddb.clone(), IdempotencyConfig::new(&e.tables.control));
    let key = IdempotencyKey::new(&tenant(), "createOrder", "k-1").unwrap();
    let fp = Fingerprint::of_json(&json!({"items": [1]}));

    let first = idem.commit(&key, &fp, &response("o1"), vec![business_put(&e.tables.entity, &tenant(), "o1")]).await;
    assert_eq!(first.unwrap(), Outcome::Executed(response("o1")));
    assert_eq!(calls(&e.counter), vec![("TransactWriteItems".to_string(), 1)]);

    // The retry carries another generated id; it must replay the first response and write nothing.
    let again = idem.commit(&key, &fp, &response("o2"), vec![business_put(&e.tables.entity, &tenant(), "o2")]).await;
    assert_eq!(again.unwrap(), Outcome::Replayed(response("o1")));
    assert_eq!(calls(&e.counter), vec![("TransactWriteItems".to_string(), 1)]);

    let other = Fingerprint::of_json(&json!({"items": [2]}));
    let mismatch =
        idem.commit(&key, &other, &response("o3"), vec![business_put(&e.tables.entity, &tenant(), "o3")]).await;
    let problem = mismatch.unwrap_err().to_problem();
    assert_eq!(
        (problem.status, problem.detail.as_deref()),
        (422, Some(r#"idempotency key "k-1" was used with a different payload"#))
    );
    assert_eq!(calls(&e.counter), vec![("TransactWriteItems".to_string(), 1)]);

    assert_eq!(Tables::count(&e.ddb, &e.tables.entity).await, 1);
}

#[tokio::test]
async fn same_key_in_another_tenant_is_another_key() {
    let e = env().await;
    let idem = Idempotency::new(e.ddb.clone(), IdempotencyConfig::new(&e.tables.control));
    let fp = Fingerprint::of_json(&json!({}));
    for t in ["a", "b"] {
        let t = TenantId::parse(t).unwrap();
        let key = IdempotencyKey::new(&t, "createOrder", "same").unwrap();
        let out = idem.commit(&key, &fp, &response(t.as_str()), vec![business_put(&e.tables.entity, &t, "1")]).await;
        assert_eq!(out.unwrap(), Outcome::Executed(response(t.as_str())));
    }
    assert_eq!(Tables::count(&e.ddb, &e.tables.entity).await, 2);
}

#[tokio::test]
async fn sixty_four_concurrent_duplicates_write_exactly_one_item() {
    let e = env().await;
    let idem = Idempotency::new(e.ddb.clone(), IdempotencyConfig::new(&e.tables.control));
    let key = IdempotencyKey::new(&tenant(), "createOrder", "dup").unwrap();
    let fp = Fingerprint::of_json(&json!({"same": "body"}));
    let mut tasks = Vec::new();
    for i in 0..64 {
        let (idem, key, fp, table) = (idem.clone(), key.clone(), fp.clone(), e.tables.entity.clone());
        tasks.push(tokio::spawn(async move {
            let id = format!("o{i}");
            idem.commit(&key, &fp, &response(&id), vec![business_put(&table, &tenant(), &id)]).await
        }));
    }
    let mut executed = Vec::new();
    let mut replayed = Vec::new();
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Outcome::Executed(r) => executed.push(r),
            Outcome::Replayed(r) => replayed.push(r),
        }
    }
    // The record is written with the business write, so there is never an in-progress record: every other
    // request is a replay of the one that ran.
    assert_eq!(executed.len(), 1, "exactly one request runs");
    assert_eq!(replayed, vec![executed[0].clone(); 63], "replays carry the first response");
    assert_eq!(Tables::count(&e.ddb, &e.tables.entity).await, 1, "exactly one item written");
}

#[tokio::test]
async fn business_condition_failure_writes_nothing_and_leaves_key_free() {
    let e = env().await;
    let idem = Idempotency::new(e.ddb.clone(), IdempotencyConfig::new(&e.tables.control));
    // An item that makes the business condition fail.
    e.ddb
        .put_item()
        .table_name(&e.tables.entity)
        .item("pk", s("TENANT#acme"))
        .item("sk", s("ORDER#taken"))
        .send()
        .await
        .unwrap();
    let key = IdempotencyKey::new(&tenant(), "createOrder", "k").unwrap();
    let fp = Fingerprint::of_json(&json!(1));
    let r = idem.commit(&key, &fp, &response("taken"), vec![business_put(&e.tables.entity, &tenant(), "taken")]).await;
    match r {
        // No item: the business write does not ask for ALL_OLD on a failed condition.
        Err(IdempotencyError::BusinessCondition { index, item }) => assert_eq!((index, item), (0, None)),
        other => panic!("expected the business condition to fail, got {other:?}"),
    }
    assert_eq!(Tables::count(&e.ddb, &e.tables.control).await, 0, "no idempotency record without the write");
    // The retry (with a fresh id) succeeds.
    let r = idem.commit(&key, &fp, &response("fresh"), vec![business_put(&e.tables.entity, &tenant(), "fresh")]).await;
    assert_eq!(r.unwrap(), Outcome::Executed(response("fresh")));
}

#[tokio::test]
async fn lock_mode_round_trips_and_failure_releases_the_key() {
    let e = env().await;
    let idem = Idempotency::new(e.ddb.clone(), IdempotencyConfig::new(&e.tables.control));
    let key = IdempotencyKey::new(&tenant(), "upgrade", "k").unwrap();
    let fp = Fingerprint::of_json(&json!({"plan": "pro"}));
    let runs = AtomicU32::new(0);

    // First attempt fails: PutItem + DeleteItem.
    let r: Result<Outcome, RunError<&str>> = idem
        .run(&key, &fp, || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Err("downstream failed")
        })
        .await;
    assert!(matches!(r, Err(RunError::Handler("downstream failed"))));
    assert_eq!(calls(&e.counter), vec![("DeleteItem".into(), 1), ("PutItem".into(), 1)]);

    // The retry runs again and succeeds: PutItem + UpdateItem.
    let r: Result<Outcome, RunError<&str>> = idem
        .run(&key, &fp, || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(response("s1"))
        })
        .await;
    assert_eq!(r.unwrap(), Outcome::Executed(response("s1")));
    assert_eq!(calls(&e.counter), vec![("PutItem".into(), 1), ("UpdateItem".into(), 1)]);

    // A duplicate replays without running: one PutItem whose ALL_OLD carries the record.
    let r: Result<Outcome, RunError<&str>> = idem
        .run(&key, &fp, || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(response("never"))
        })
        .await;
    assert_eq!(r.unwrap().into_response().headers.get("Idempotency-Replayed").map(String::as_str), Some("true"));
    assert_eq!(calls(&e.counter), vec![("PutItem".into(), 1)]);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn lock_mode_concurrent_duplicates_run_once() {
    let e = env().await;
    let clock = ManualClock::new(SystemClock.now_millis());
    let idem = Idempotency::new(e.ddb.clone(), IdempotencyConfig::new(&e.tables.control)).with_clock(clock);
    let key = IdempotencyKey::new(&tenant(), "upgrade", "conc").unwrap();
    let fp = Fingerprint::of_json(&json!({"x": 1}));
    let runs = Arc::new(AtomicU32::new(0));
    // The request that takes the lock holds it until every duplicate has been answered, so all 15 find it.
    let answered = Arc::new(AtomicU32::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (idem, key, fp, runs, answered) = (idem.clone(), key.clone(), fp.clone(), runs.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            let holder = answered.clone();
            let outcome = idem
                .run(&key, &fp, || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    let deadline = std::time::Instant::now() + Duration::from_secs(10);
                    while holder.load(Ordering::SeqCst) < 15 && std::time::Instant::now() < deadline {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Ok::<_, ()>(response("once"))
                })
                .await;
            answered.fetch_add(1, Ordering::SeqCst);
            outcome
        }));
    }
    let (mut executed, mut conflicts) = (Vec::new(), Vec::new());
    for t in tasks {
        match t.await.unwrap() {
            Ok(o) => executed.push(o),
            Err(RunError::Idempotency(IdempotencyError::InProgress { retry_after_ms, .. })) => {
                conflicts.push(retry_after_ms)
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(executed, vec![Outcome::Executed(response("once"))]);
    // The clock stands still: every duplicate is told to retry after the whole lock TTL (60 s).
    assert_eq!(conflicts, vec![60_000; 15], "duplicates during the run get 409");
}

#[tokio::test]
async fn waiting_duplicate_gets_the_replay() {
    let e = env().await;
    let mut config = IdempotencyConfig::new(&e.tables.control);
    config.in_progress = InProgressPolicy::Wait { max: Duration::from_secs(5), poll: Duration::from_millis(50) };
    let idem = Idempotency::new(e.ddb.clone(), config);
    let key = IdempotencyKey::new(&tenant(), "upgrade", "wait").unwrap();
    let fp = Fingerprint::of_json(&json!({}));
    let first = {
        let (idem, key, fp) = (idem.clone(), key.clone(), fp.clone());
        tokio::spawn(async move {
            idem.run(&key, &fp, || async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                Ok::<_, ()>(response("slow"))
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = idem.run(&key, &fp, || async { Ok::<_, ()>(response("second")) }).await.unwrap();
    assert_eq!(second, Outcome::Replayed(response("slow")));
    assert_eq!(first.await.unwrap().unwrap(), Outcome::Executed(response("slow")));
}

#[tokio::test]
async fn crashed_attempt_blocks_until_its_lock_expires() {
    let e = env().await;
    let clock = ManualClock::new(SystemClock.now_millis());
    let mut config = IdempotencyConfig::new(&e.tables.control);
    config.lock_ttl = Duration::from_secs(30);
    let idem = Idempotency::new(e.ddb.clone(), config).with_clock(clock.clone());
    let key = IdempotencyKey::new(&tenant(), "upgrade", "crash").unwrap();
    let fp = Fingerprint::of_json(&json!({}));
    // A Lambda timeout: the future is dropped after the lock is taken.
    let crashed = tokio::time::timeout(
        Duration::from_millis(300),
        idem.run(&key, &fp, || async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<_, ()>(response("never"))
        }),
    )
    .await;
    assert!(crashed.is_err());
    let r = idem.run(&key, &fp, || async { Ok::<_, ()>(response("retry")) }).await;
    match r {
        Err(RunError::Idempotency(e)) => {
            let p = e.to_problem();
            assert_eq!(p.status, 409);
            let retry_after: u64 = p.headers["Retry-After"].parse().unwrap();
            assert_eq!(retry_after, 30, "the lock's 30 s, the clock has not moved");
        }
        other => panic!("expected 409, got {other:?}"),
    }
    clock.advance(Duration::from_secs(31));
    let r = idem.run(&key, &fp, || async { Ok::<_, ()>(response("retry")) }).await;
    assert_eq!(r.unwrap(), Outcome::Executed(response("retry")));
}

#[tokio::test]
async fn expired_record_is_ignored_although_ttl_has_not_deleted_it() {
    let e = env().await;
    let clock = ManualClock::new(SystemClock.now_millis());
    let mut config = IdempotencyConfig::new(&e.tables.control);
    config.record_ttl = Duration::from_secs(60);
    let idem = Idempotency::new(e.ddb.clone(), config).with_clock(clock.clone());
    let key = IdempotencyKey::new(&tenant(), "createOrder", "old").unwrap();
    let fp = Fingerprint::of_json(&json!({"v": 1}));
    let first = idem.commit(&key, &fp, &response("a"), vec![business_put(&e.tables.entity, &tenant(), "a")]).await;
    assert_eq!(first.unwrap(), Outcome::Executed(response("a")));
    clock.advance(Duration::from_secs(61));
    // Still in the table (TTL deletion lags; moto never deletes), but expired: a new request runs, even with
    // another payload.
    assert_eq!(Tables::count(&e.ddb, &e.tables.control).await, 1);
    let other = Fingerprint::of_json(&json!({"v": 2}));
    let second = idem.commit(&key, &other, &response("b"), vec![business_put(&e.tables.entity, &tenant(), "b")]).await;
    assert_eq!(second.unwrap(), Outcome::Executed(response("b")));
}

/// Two regions: each with its own control table, both over one replicated table. A commit in the first claims the
/// key in the replicated table; the retry in the second (whose control table is empty) replays from the claim in
/// one round trip, and another payload there is 422. Without the claim, the second region runs the write again.
#[tokio::test]
async fn a_retry_in_another_region_replays_from_the_replicated_claim() {
    let e = env().await;
    let regional = |control: &str| {
        let config =
            IdempotencyConfig { replicated_table: Some(e.tables.entity.clone()), ..IdempotencyConfig::new(control) };
        Idempotency::new(e.ddb.clone(), config)
    };
    let other_control = testkit::unique("control");
    testkit::tables::create_control_table(&e.ddb, &other_control).await;
    let (first, second) = (regional(&e.tables.control), regional(&other_control));
    let key = IdempotencyKey::new(&tenant(), "createOrder", "k-regions").unwrap();
    let fp = Fingerprint::of_json(&json!({"items": [1]}));
    let out = first.commit(&key, &fp, &response("o1"), vec![business_put(&e.tables.entity, &tenant(), "o1")]).await;
    assert_eq!(out.unwrap(), Outcome::Executed(response("o1")));
    e.counter.take();

    let again = second.commit(&key, &fp, &response("o2"), vec![business_put(&e.tables.entity, &tenant(), "o2")]).await;
    assert_eq!(again.unwrap(), Outcome::Replayed(response("o1")));
    assert_eq!(calls(&e.counter), vec![("TransactWriteItems".to_string(), 1)]);
    let other = Fingerprint::of_json(&json!({"items": [2]}));
    let mismatch = second.commit(&key, &other, &response("o3"), vec![]).await;
    assert_eq!(mismatch.unwrap_err().to_problem().status, 422);
    // The order and the claim; nothing in the second region's control table.
    assert_eq!(Tables::count(&e.ddb, &e.tables.entity).await, 2);
    assert_eq!(Tables::count(&e.ddb, &other_control).await, 0);

    // The control table alone cannot tell: a third region without the claim runs the write again.
    let third_control = testkit::unique("control");
    testkit::tables::create_control_table(&e.ddb, &third_control).await;
    let unclaimed = Idempotency::new(e.ddb.clone(), IdempotencyConfig::new(&third_control));
    let twice =
        unclaimed.commit(&key, &fp, &response("o4"), vec![business_put(&e.tables.entity, &tenant(), "o4")]).await;
    assert_eq!(twice.unwrap(), Outcome::Executed(response("o4")));
}
