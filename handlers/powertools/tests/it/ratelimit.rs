//! Rate limiting against moto: the N+1th request of a window is a 429; windows, routes and tenants are separate;
//! shards never admit more than the limit.

use std::time::Duration;

use powertools::aws::{CallCounter, dynamodb_client};
use powertools::clock::ManualClock;
use powertools::dynamo::{get_n, get_s};
use powertools::ratelimit::{Limit, RateLimitConfig, RateLimiter};
use powertools::tenant::TenantId;
use testkit::Moto;
use testkit::tables::Tables;

async fn limiter(start_ms: u64) -> (RateLimiter, std::sync::Arc<ManualClock>, CallCounter) {
    let moto = Moto::shared();
    let counter = CallCounter::new();
    let ddb = dynamodb_client(&moto.sdk_config(), Some(&counter));
    let tables = Tables::create(&ddb).await;
    counter.take();
    let clock = ManualClock::new(start_ms);
    let l = RateLimiter::new(ddb, RateLimitConfig::new(&tables.control)).with_clock(clock.clone());
    (l, clock, counter)
}

/// The counters of the limiter's table: `(pk, count)` per shard counter, sorted.
async fn counters(l: &RateLimiter) -> Vec<(String, u32)> {
    let moto = Moto::shared();
    let scan = moto.dynamodb().scan().table_name(&l.config().table).send().await.unwrap();
    let mut counters: Vec<(String, u32)> =
        scan.items().iter().map(|i| (get_s(i, "pk").unwrap().to_string(), get_n::<u32>(i, "count").unwrap())).collect();
    counters.sort();
    counters
}

#[tokio::test]
async fn n_plus_first_request_in_a_window_is_429() {
    // 10 s into a 60 s window.
    let (l, clock, counter) = limiter(1_700_000_010_000 - 1_700_000_010_000 % 60_000 + 10_000).await;
    let t = TenantId::parse("acme").unwrap();
    for i in 0..5 {
        let d = l.check(&t, "createOrder", Limit::new(5)).await.unwrap();
        assert!(d.allowed, "request {i}");
        assert_eq!(d.remaining, Some(4 - i));
        assert_eq!(d.reset_s, 50);
    }
    assert_eq!(counter.take().get("UpdateItem"), Some(&5), "one round trip per request");
    let denied = l.check(&t, "createOrder", Limit::new(5)).await.unwrap();
    assert!(!denied.allowed);
    let p = denied.to_problem().unwrap();
    assert_eq!(p.status, 429);
    assert_eq!(p.headers["Retry-After"], "50");
    assert_eq!(p.headers["RateLimit-Remaining"], "0");

    // Another route and another tenant have their own counters.
    assert!(l.check(&t, "listOrders", Limit::new(5)).await.unwrap().allowed);
    assert!(l.check(&TenantId::parse("other").unwrap(), "createOrder", Limit::new(5)).await.unwrap().allowed);

    // The next window starts fresh.
    clock.advance(Duration::from_secs(50));
    let d = l.check(&t, "createOrder", Limit::new(5)).await.unwrap();
    assert!(d.allowed);
    assert_eq!(d.reset_s, 60);
}

#[tokio::test]
async fn concurrent_requests_never_exceed_the_limit() {
    let (l, _clock, _) = limiter(1_800_000_000_000).await;
    let t = TenantId::parse("hot").unwrap();
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (l, t) = (l.clone(), t.clone());
        tasks.push(tokio::spawn(
            async move { l.check(&t, "createOrder", Limit::sharded(25, 4)).await.unwrap().allowed },
        ));
    }
    let mut allowed = 0;
    for task in tasks {
        allowed += u32::from(task.await.unwrap());
    }
    // Which shards fill first depends on the random shard choice, so the number admitted varies (a request is
    // denied when its shard and the one it probes are full). The accounting does not: every admitted request is
    // one increment of one shard counter, and no shard counts past its share of 25 over 4 shards (7, 6, 6, 6).
    let counted = counters(&l).await;
    assert_eq!(counted.iter().map(|(_, n)| n).sum::<u32>(), allowed, "{counted:?}");
    let shares = [7, 6, 6, 6];
    for (pk, n) in &counted {
        let shard: usize = pk.rsplit('#').next().unwrap().parse().unwrap();
        assert!(*n <= shares[shard], "{pk} counted {n}, over its share {}", shares[shard]);
    }
    assert!(allowed <= 25, "{allowed} admitted over a limit of 25");
}

#[tokio::test]
async fn zero_limit_denies_without_a_call() {
    let (l, _clock, counter) = limiter(1_800_000_000_000).await;
    let d = l.check(&TenantId::parse("x").unwrap(), "r", Limit::new(0)).await.unwrap();
    assert!(!d.allowed);
    assert_eq!(counter.total(), 0);
}
