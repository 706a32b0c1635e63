//! `GET` order / subscription through the hot-read cache, against a real `redis-server`: a miss fills it, a hit
//! saves the `GetItem`, an invalidated key is read again, and an outage answers from DynamoDB with `X-Cache: miss`.

use std::time::Duration;

use powertools::cache::{Cache, CacheConfig, entity_key};
use testkit::Redis;

use crate::{Harness, create_order, event, get, ops};

async fn harness(redis: &Redis, config: CacheConfig) -> Harness {
    let url = redis.url();
    Harness::with(move |d| d.cache = Some(Cache::new(&url, config).unwrap())).await
}

#[tokio::test]
async fn a_miss_fills_the_cache_and_a_hit_saves_the_get_item() {
    let redis = Redis::start().unwrap();
    let h = harness(&redis, CacheConfig::default()).await;
    let created = h.call(create_order("acme", "k1", crate::ORDER)).await;
    let id = created.body["order_id"].as_str().unwrap().to_string();
    let path = format!("/tenants/acme/orders/{id}");
    h.calls();

    let miss = h.call(get(&path, "acme")).await;
    assert_eq!((miss.status, miss.headers["x-cache"].as_str()), (200, "miss"));
    assert_eq!(miss.body, created.body);
    assert_eq!(h.calls(), ops(&[("GetItem", 1), ("UpdateItem", 1)]));

    let hit = h.call(get(&path, "acme")).await;
    assert_eq!((hit.status, hit.headers["x-cache"].as_str()), (200, "hit"));
    assert_eq!((&hit.body, &hit.headers["etag"]), (&miss.body, &miss.headers["etag"]));
    assert_eq!(hit.headers["ratelimit-limit"], "1000");
    assert_eq!(h.calls(), ops(&[("UpdateItem", 1)]), "a hit is the rate counter only");
    // The ETag of a hit still answers If-None-Match.
    let etag = hit.headers["etag"].clone();
    let not_modified = h.call(event("GET", &path, Some(("acme", "pro")), None, &[("If-None-Match", &etag)])).await;
    assert_eq!((not_modified.status, not_modified.headers["x-cache"].as_str()), (304, "hit"));

    // Another tenant never reaches the cache (403 at the gate), and an unknown id is not cached.
    assert_eq!(h.call(get(&path, "globex")).await.status, 403);
    let unknown = format!("/tenants/acme/orders/{}", "0".repeat(26));
    for _ in 0..2 {
        let r = h.call(get(&unknown, "acme")).await;
        assert_eq!((r.status, r.headers.get("x-cache")), (404, None));
    }
}

#[tokio::test]
async fn an_invalidated_subscription_is_read_again() {
    let redis = Redis::start().unwrap();
    let h = harness(&redis, CacheConfig::default()).await;
    let sub = h
        .call(event(
            "POST",
            "/tenants/acme/subscriptions",
            Some(("acme", "pro")),
            Some(r#"{"plan":"free","seats":5}"#),
            &[("Idempotency-Key", "c")],
        ))
        .await;
    let id = sub.body["subscription_id"].as_str().unwrap().to_string();
    let path = format!("/tenants/acme/subscriptions/{id}");
    assert_eq!(h.call(get(&path, "acme")).await.headers["x-cache"], "miss");
    assert_eq!(h.call(get(&path, "acme")).await.headers["x-cache"], "hit");
    let up = event(
        "POST",
        &format!("{path}/upgrade"),
        Some(("acme", "pro")),
        Some(r#"{"plan":"pro"}"#),
        &[("Idempotency-Key", "u")],
    );
    assert_eq!(h.call(up).await.status, 202);
    // The API does not invalidate: the stream processor does, on the MODIFY (its tests cover that side). Until
    // then the cached copy is served; this is the invalidation lag the cache's staleness is bounded by.
    let stale = h.call(get(&path, "acme")).await;
    assert_eq!((stale.headers["x-cache"].as_str(), stale.body["plan"].as_str()), ("hit", Some("free")));
    let key = entity_key("TENANT#acme", &format!("SUB#{id}"));
    h.deps.cache.as_ref().unwrap().invalidate(&[key]).await.unwrap();
    let fresh = h.call(get(&path, "acme")).await;
    assert_eq!((fresh.headers["x-cache"].as_str(), fresh.body["plan"].as_str()), ("miss", Some("pro")));
}

#[tokio::test]
async fn an_outage_answers_from_dynamodb() {
    let mut redis = Redis::start().unwrap();
    let config = CacheConfig { open_for: Duration::from_secs(30), ..CacheConfig::default() };
    let h = harness(&redis, config).await;
    let created = h.call(create_order("acme", "k1", crate::ORDER)).await;
    let path = format!("/tenants/acme/orders/{}", created.body["order_id"].as_str().unwrap());
    h.call(get(&path, "acme")).await;
    assert_eq!(h.call(get(&path, "acme")).await.headers["x-cache"], "hit");
    h.calls();

    redis.kill();
    for _ in 0..3 {
        let r = h.call(get(&path, "acme")).await;
        assert_eq!((r.status, r.headers["x-cache"].as_str()), (200, "miss"), "{:?}", r.body);
        assert_eq!(r.body, created.body);
        assert_eq!(h.calls(), ops(&[("GetItem", 1), ("UpdateItem", 1)]));
    }
    assert!(h.deps.cache.as_ref().unwrap().open_for().is_some(), "the first failure opened the circuit");
}
