//! The cache against a real `redis-server`: hits, misses, TTL, pipelined invalidation, and the outage (the
//! server killed mid-test: misses within one timeout, then nothing sent while the circuit is open).

use std::time::{Duration, Instant};

use powertools::cache::{Cache, CacheConfig, CacheError, Lookup};
use testkit::Redis;

fn cache(redis: &Redis, config: CacheConfig) -> Cache {
    Cache::new(&redis.url(), config).unwrap()
}

#[tokio::test]
async fn get_put_invalidate() {
    let redis = Redis::start().unwrap();
    let c = cache(&redis, CacheConfig::default());
    assert_eq!(c.get("e:a|b").await, Lookup::Miss);
    c.put("e:a|b", "{\"x\":1}").await;
    c.put("e:a|c", "2").await;
    c.put("e:a|d", "3").await;
    assert_eq!(c.get("e:a|b").await, Lookup::Hit("{\"x\":1}".into()));
    c.invalidate(&["e:a|b".into(), "e:a|c".into(), "e:never".into()]).await.unwrap();
    assert_eq!((c.get("e:a|b").await, c.get("e:a|c").await), (Lookup::Miss, Lookup::Miss));
    assert_eq!(c.get("e:a|d").await, Lookup::Hit("3".into()));
    c.invalidate(&[]).await.unwrap();
    assert_eq!(c.open_for(), None);
}

#[tokio::test]
async fn entries_expire_after_the_ttl() {
    let redis = Redis::start().unwrap();
    let c = cache(&redis, CacheConfig { ttl: Duration::from_secs(1), ..CacheConfig::default() });
    c.put("k", "v").await;
    assert_eq!(c.get("k").await, Lookup::Hit("v".into()));
    let gone =
        testkit::eventually(Duration::from_secs(3), || async { (c.get("k").await == Lookup::Miss).then_some(()) })
            .await;
    assert_eq!(gone, Some(()));
}

#[tokio::test]
async fn an_outage_is_a_miss_and_opens_the_circuit() {
    let mut redis = Redis::start().unwrap();
    let config = CacheConfig { open_for: Duration::from_millis(400), ..CacheConfig::default() };
    let c = cache(&redis, config);
    c.put("k", "v").await;
    assert_eq!(c.get("k").await, Lookup::Hit("v".into()));
    redis.kill();

    // The first request after the outage fails (within the read or connect timeout) and opens the circuit.
    let started = Instant::now();
    assert_eq!(c.get("k").await, Lookup::Miss);
    assert!(started.elapsed() < config.connect_timeout + config.read_timeout, "{:?}", started.elapsed());
    assert!(c.open_for().is_some());
    // While open, nothing is sent: reads miss at once, invalidation says why it did nothing.
    let started = Instant::now();
    assert_eq!(c.get("k").await, Lookup::Miss);
    c.put("k", "v2").await;
    assert!(matches!(c.invalidate(&["k".into()]).await, Err(CacheError::CircuitOpen(_))));
    // Well under one timeout (50 ms read, 250 ms connect), with room for a loaded machine.
    assert!(started.elapsed() < Duration::from_millis(40), "{:?}", started.elapsed());

    // After the window, the next request tries again: still down, so it fails and re-opens the circuit.
    tokio::time::sleep(config.open_for).await;
    assert_eq!(c.open_for(), None);
    assert!(matches!(c.invalidate(&["k".into()]).await, Err(CacheError::Redis(_))));
    assert!(c.open_for().is_some());
}

#[tokio::test]
async fn the_cache_comes_back_after_the_window() {
    let redis = Redis::start().unwrap();
    let url = redis.url();
    let port = redis.port();
    let config = CacheConfig { open_for: Duration::from_millis(200), ..CacheConfig::default() };
    let c = Cache::new(&url, config).unwrap();
    c.put("k", "v").await;
    drop(redis);
    assert_eq!(c.get("k").await, Lookup::Miss);
    assert!(c.open_for().is_some());
    // A new server on the same port: after the window the client reconnects (the dead connection was dropped).
    let again = std::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut again = KillOnDrop(again);
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    tokio::time::sleep(config.open_for).await;
    c.put("k", "v3").await;
    assert_eq!(c.get("k").await, Lookup::Hit("v3".into()));
    let _ = again.0.kill();
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
