//! The whole path over HTTP: a client, the gateway server on the platform's templates, the local runtime and real
//! binaries (the platform's authorizer; the test function as authorizer and API handler).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dev::assembly::{Assembly, LocalIds};
use dev::gateway::Gateway;
use dev::gateway::model::RestApi;
use dev::gateway::server::serve;
use dev::runtime::logs::Memory;
use dev::runtime::{FunctionSpec, Runtime, RuntimeOptions};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::platform::platform_assembly;
use crate::runtime::test_function;

/// One HTTP/1.1 request on a fresh connection; (status, body as JSON).
async fn call(address: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let status = raw[9..12].parse().unwrap();
    let (_, body) = raw.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// The runtime with every function of the API: `binaries` maps logical ids to binaries.
fn runtime_for(assembly: &Assembly, binaries: &BTreeMap<&str, PathBuf>, logs: Arc<Memory>) -> Runtime {
    let rt = Runtime::new(RuntimeOptions {
        default_concurrency: 2,
        extra_environment: BTreeMap::from([
            ("AWS_ACCESS_KEY_ID".to_string(), "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), "testing".to_string()),
            // Nothing listens there: these tests never reach AWS.
            ("AWS_ENDPOINT_URL".to_string(), "http://127.0.0.1:9".to_string()),
        ]),
        logs,
    });
    for (stack, resource) in assembly.resources_of("AWS::Lambda::Function") {
        if let Some(binary) = binaries.get(resource.logical_id.as_str()) {
            let mut spec = FunctionSpec::from_template(assembly, stack, resource, binary.clone(), &LocalIds).unwrap();
            // The free tier's usage plan key, for the test function as authorizer (the stage requires keys).
            spec.environment.insert("DEV_TEST_USAGE_KEY".into(), "local-FreeApiKey".into());
            rt.deploy(spec);
        }
    }
    rt
}

/// The debug build of a handler crate's binary.
fn workspace_binary(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // Built every time (a no-op when fresh): a stale binary would test old code.
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", name])
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success(), "cargo build -p {name}");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("debug").join(name)
}

#[tokio::test]
async fn requests_travel_through_the_gateway_to_real_processes() {
    let (_dir, assembly) = platform_assembly();
    let api = RestApi::from_assembly(&assembly, None).unwrap();
    let binaries =
        BTreeMap::from([("Authorizer", test_function()), ("ApiRead", test_function()), ("ApiWrite", test_function())]);
    let rt = runtime_for(&assembly, &binaries, Arc::default());
    let server = serve(Arc::new(Gateway::new(api, rt).unwrap()), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let a = server.address;
    let auth = ("Authorization", "Bearer t");
    let trace = "Root=1-6b0d5dc8-78d61a66d75e6fc588157227;Sampled=1";
    let (status, body) = call(a, "GET", "/tenants/acme/orders?limit=2", &[auth, ("X-Amzn-Trace-Id", trace)], "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resource"], json!("/tenants/{tenant_id}/orders"));
    assert_eq!(body["tenant"], json!("acme"), "the authorizer's context reached the handler");
    assert_eq!(body["trace"], json!(trace), "the function's trace is the request's");
    let (status, body) = call(a, "GET", "/tenants/acme/orders", &[("Authorization", "deny")], "").await;
    assert_eq!(
        (status, body),
        (403, json!({"message": "User is not authorized to access this resource with an explicit deny"}))
    );
    let headers = [auth, ("Idempotency-Key", "k-1"), ("Content-Type", "application/json")];
    let (status, body) = call(a, "POST", "/tenants/acme/orders", &headers, r#"{"items":[],"currency":"USD"}"#).await;
    assert_eq!((status, body), (400, json!({"message": "Invalid request body"})));
    let good = r#"{"items":[{"sku":"a","quantity":1,"unit_price_cents":100}],"currency":"EUR"}"#;
    let (status, _) = call(a, "POST", "/tenants/acme/orders", &headers, good).await;
    assert_eq!(status, 200);
    let (status, body) = call(a, "DELETE", "/tenants/acme/orders", &[auth], "").await;
    assert_eq!((status, body), (403, json!({"message": "Missing Authentication Token"})));
}

#[tokio::test]
async fn the_platform_authorizer_binary_answers_401_for_a_malformed_token() {
    let (_dir, assembly) = platform_assembly();
    let api = RestApi::from_assembly(&assembly, None).unwrap();
    let binaries = BTreeMap::from([("Authorizer", workspace_binary("authorizer")), ("ApiRead", test_function())]);
    let logs = Arc::new(Memory::default());
    let rt = runtime_for(&assembly, &binaries, logs.clone());
    let server = serve(Arc::new(Gateway::new(api, rt).unwrap()), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (status, body) =
        call(server.address, "GET", "/tenants/acme/orders", &[("Authorization", "Basic abc")], "").await;
    assert_eq!((status, body), (401, json!({"message": "Unauthorized"})));
    let (status, _) = call(server.address, "GET", "/tenants/acme/orders", &[], "").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_search_binary_answers_501_on_the_local_stage() {
    // The local stage has no search domain (features.search = false): the platform's search binary, behind the
    // gateway and the local runtime, answers the route with a problem instead of failing at start-up.
    let (_dir, assembly) = platform_assembly();
    let api = RestApi::from_assembly(&assembly, None).unwrap();
    let binaries = BTreeMap::from([("Authorizer", test_function()), ("EventSearch", workspace_binary("search"))]);
    let rt = runtime_for(&assembly, &binaries, Arc::default());
    let server = serve(Arc::new(Gateway::new(api, rt).unwrap()), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let auth = ("Authorization", "Bearer t");
    let (status, body) =
        call(server.address, "GET", "/tenants/acme/events?q=paid&type=OrderCreated", &[auth], "").await;
    assert_eq!(
        (status, body),
        (
            501,
            json!({"type": "about:blank", "title": "Not Implemented", "status": 501,
                   "detail": "event search is not enabled in this stage: it has no search domain (features.search = false)"})
        )
    );
    let (status, body) = call(server.address, "GET", "/tenants/globex/events", &[auth], "").await;
    assert_eq!((status, body["detail"].clone()), (403, json!("the path names another tenant than the credentials")));
}
