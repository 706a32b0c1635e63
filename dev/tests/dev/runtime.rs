//! The local Lambda runtime with real processes: the test function binary (echo, sleep, fail, panic, exit) and the
//! platform's authorizer binary behind the gateway.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dev::invoke::{Invoke, InvokeError};
use dev::runtime::logs::{Memory, Stream};
use dev::runtime::{FunctionSpec, Runtime, RuntimeOptions};
use serde_json::{Value, json};

pub fn test_function() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dev-test-function"))
}

pub fn spec(name: &str, binary: PathBuf) -> FunctionSpec {
    FunctionSpec {
        name: name.into(),
        binary,
        handler: "bootstrap".into(),
        environment: BTreeMap::from([("TABLE_NAME".to_string(), "entities".to_string())]),
        timeout: Duration::from_secs(5),
        memory_mb: 256,
        reserved_concurrency: None,
        region: "eu-west-1".into(),
        log_format: Some("JSON".into()),
    }
}

fn runtime(logs: Arc<Memory>) -> Runtime {
    Runtime::new(RuntimeOptions {
        default_concurrency: 4,
        extra_environment: BTreeMap::from([("EXTRA".to_string(), "yes".to_string())]),
        logs,
    })
}

fn pid(v: &Value) -> u64 {
    v["pid"].as_u64().unwrap()
}

#[tokio::test]
async fn a_function_gets_its_event_context_and_environment_and_its_sandbox_is_reused() {
    let rt = runtime(Arc::default());
    rt.deploy(spec("Echo", test_function()));
    let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let first = rt.invoke("Echo", json!({"action": "echo", "n": 1})).await.unwrap();
    assert_eq!(first["event"], json!({"action": "echo", "n": 1}));
    assert_eq!(
        first["env"],
        json!({
            "AWS_LAMBDA_FUNCTION_NAME": "Echo",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_REGION": "eu-west-1",
            "_HANDLER": "bootstrap",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/Echo",
            "TABLE_NAME": "entities",
            "EXTRA": "yes",
        })
    );
    assert_eq!(first["arn"], json!("arn:aws:lambda:eu-west-1:123456789012:function:Echo"));
    assert!(first["trace"].as_str().unwrap().starts_with("Root=1-"));
    let deadline = first["deadline"].as_u64().unwrap();
    assert!(deadline >= started + 4_000 && deadline <= started + 60_000, "deadline {deadline} is about 5 s away");
    let second = rt.invoke("Echo", json!({})).await.unwrap();
    assert_eq!(pid(&first), pid(&second), "the warm sandbox is reused");
    assert_ne!(first["request_id"], second["request_id"]);
    assert_eq!(rt.idle_sandboxes("Echo"), 1);
    let by_arn = rt.invoke("arn:aws:lambda:eu-west-1:123456789012:function:Echo:live", json!({})).await.unwrap();
    assert_eq!(pid(&by_arn), pid(&first), "an ARN names the same function");
    assert_eq!(rt.invoke("Nope", json!({})).await.unwrap_err(), InvokeError::UnknownFunction("Nope".into()));
}

#[tokio::test]
async fn concurrency_is_limited_by_reserved_concurrency() {
    let rt = Arc::new(runtime(Arc::default()));
    let mut s = spec("Sleepy", test_function());
    s.reserved_concurrency = Some(2);
    rt.deploy(s);
    let started = Instant::now();
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let rt = rt.clone();
            tokio::spawn(async move { rt.invoke("Sleepy", json!({"action": "sleep", "ms": 300})).await })
        })
        .collect();
    let mut pids = BTreeSet::new();
    for c in calls {
        pids.insert(pid(&c.await.unwrap().unwrap()));
    }
    assert_eq!(pids.len(), 2, "two sandboxes at most: {pids:?}");
    assert!(started.elapsed() >= Duration::from_millis(900), "three waves of 300 ms: {:?}", started.elapsed());
    assert_eq!(rt.idle_sandboxes("Sleepy"), 2);
}

#[tokio::test]
async fn the_timeout_kills_the_sandbox_and_the_next_call_gets_a_fresh_one() {
    let rt = runtime(Arc::default());
    let mut s = spec("Slow", test_function());
    s.timeout = Duration::from_secs(1);
    rt.deploy(s);
    let before = pid(&rt.invoke("Slow", json!({})).await.unwrap());
    let started = Instant::now();
    let err = rt.invoke("Slow", json!({"action": "sleep", "ms": 10_000})).await.unwrap_err();
    assert_eq!(err, InvokeError::Timeout { function: "Slow".into(), seconds: 1 });
    assert!(started.elapsed() < Duration::from_secs(3));
    let after = pid(&rt.invoke("Slow", json!({})).await.unwrap());
    assert_ne!(before, after);
}

#[tokio::test]
async fn errors_panics_and_crashes() {
    let logs = Arc::new(Memory::default());
    let rt = runtime(logs.clone());
    rt.deploy(spec("Flaky", test_function()));
    let before = pid(&rt.invoke("Flaky", json!({})).await.unwrap());
    match rt.invoke("Flaky", json!({"action": "fail"})).await.unwrap_err() {
        InvokeError::Function { message, .. } => assert_eq!(message, "the event asked to fail"),
        other => panic!("{other:?}"),
    }
    assert_eq!(pid(&rt.invoke("Flaky", json!({})).await.unwrap()), before, "a handled error keeps the sandbox");
    // lambda_runtime catches a handler's panic and posts it as the invocation's error.
    match rt.invoke("Flaky", json!({"action": "panic"})).await.unwrap_err() {
        InvokeError::Function { message, .. } => assert!(message.contains("the event asked to panic"), "{message}"),
        other => panic!("{other:?}"),
    }
    match rt.invoke("Flaky", json!({"action": "exit"})).await.unwrap_err() {
        InvokeError::Crashed { function, detail } => {
            assert_eq!(function, "Flaky");
            assert!(detail.starts_with("process exited (exit status: 3)"), "{detail}");
            assert!(detail.contains("fatal: the event asked to exit"), "the crash shows stderr: {detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(logs.lines().iter().any(|l| l.stream == Stream::Stderr && l.text.contains("asked to panic")));
    assert_ne!(pid(&rt.invoke("Flaky", json!({})).await.unwrap()), before);

    let mut broken = spec("Broken", test_function());
    broken.environment.insert("DEV_TEST_FAIL_INIT".into(), "1".into());
    rt.deploy(broken);
    match rt.invoke("Broken", json!({})).await.unwrap_err() {
        InvokeError::Crashed { detail, .. } => assert!(detail.contains("init: configuration missing"), "{detail}"),
        other => panic!("{other:?}"),
    }
    let mut missing = spec("Missing", PathBuf::from("/nonexistent/bootstrap"));
    missing.timeout = Duration::from_secs(1);
    rt.deploy(missing);
    match rt.invoke("Missing", json!({})).await.unwrap_err() {
        InvokeError::Unavailable { problem, .. } => {
            assert!(problem.starts_with("/nonexistent/bootstrap: "), "{problem}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn output_lines_are_kept_per_function() {
    let logs = Arc::new(Memory::default());
    let rt = runtime(logs.clone());
    rt.deploy(spec("Chatty", test_function()));
    let out = rt.invoke("Chatty", json!({"action": "log"})).await.unwrap();
    // The lines arrive through the pipes, shortly after the response.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let lines = logs.lines();
    let formatted: Vec<String> =
        lines.iter().filter(|l| l.function == "Chatty").map(|l| dev::runtime::logs::format_line(l, false)).collect();
    let id: String = out["request_id"].as_str().unwrap().chars().take(8).collect();
    assert!(formatted.contains(&format!("Chatty | INFO  req={id} tenant=acme hello")), "{formatted:#?}");
    assert!(formatted.contains(&"Chatty | metrics Things=2 (service=test)".to_string()), "{formatted:#?}");
    assert!(formatted.contains(&"Chatty | plain stderr line".to_string()), "{formatted:#?}");
}

#[tokio::test]
async fn reload_swaps_the_binary_without_dropping_requests_in_flight() {
    let rt = Arc::new(runtime(Arc::default()));
    let dir = tempfile::tempdir().unwrap();
    let new_binary = dir.path().join("bootstrap");
    std::fs::copy(test_function(), &new_binary).unwrap();
    rt.deploy(spec("Hot", test_function()));
    let idle_old = pid(&rt.invoke("Hot", json!({})).await.unwrap());
    let in_flight = {
        let rt = rt.clone();
        tokio::spawn(async move { rt.invoke("Hot", json!({"action": "sleep", "ms": 700})).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    rt.deploy(spec("Hot", new_binary.clone()));
    let fresh = rt.invoke("Hot", json!({})).await.unwrap();
    assert_eq!(fresh["exe"], json!(new_binary.display().to_string()), "new calls run the new binary");
    let old = in_flight.await.unwrap().unwrap();
    assert_eq!(old["exe"], json!(test_function().display().to_string()), "the call in flight ends on the old one");
    assert_eq!(rt.idle_sandboxes("Hot"), 1, "the old sandboxes were stopped, not put back");
    tokio::time::sleep(Duration::from_millis(300)).await;
    for p in [idle_old, pid(&old)] {
        assert!(!std::path::Path::new(&format!("/proc/{p}")).exists(), "old sandbox {p} still runs");
    }
}

#[tokio::test]
async fn a_reload_applies_a_new_concurrency_limit() {
    let rt = Arc::new(runtime(Arc::default()));
    let mut s = spec("Limited", test_function());
    s.reserved_concurrency = Some(1);
    rt.deploy(s.clone());
    s.reserved_concurrency = Some(3);
    rt.deploy(s);
    let started = Instant::now();
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let rt = rt.clone();
            tokio::spawn(async move { rt.invoke("Limited", json!({"action": "sleep", "ms": 400})).await })
        })
        .collect();
    let mut pids = BTreeSet::new();
    for c in calls {
        pids.insert(pid(&c.await.unwrap().unwrap()));
    }
    assert_eq!(pids.len(), 3);
    assert!(started.elapsed() < Duration::from_millis(1200), "one wave, not three: {:?}", started.elapsed());
}

#[tokio::test]
async fn dropping_the_runtime_stops_every_sandbox() {
    let rt = runtime(Arc::default());
    rt.deploy(spec("Short", test_function()));
    let p = pid(&rt.invoke("Short", json!({})).await.unwrap());
    assert!(std::path::Path::new(&format!("/proc/{p}")).exists());
    drop(rt);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!std::path::Path::new(&format!("/proc/{p}")).exists(), "sandbox {p} outlived the runtime");
}
