//! The search route end to end against a local OpenSearch stand-in on 127.0.0.1 (moto has no OpenSearch data
//! plane) that records every request: the SigV4 `Authorization` header is checked for form and by signing the
//! received request again, the query body for its tenant filter, and hostile inputs never reach it.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_lambda_events::event::apigw::ApiGatewayProxyRequest;
use base64::Engine;
use powertools::router::Response;
use search::{Backend, Deps, State, handle, router};
use serde_json::{Value, json};
use testkit::http::{Received, Receiver};

fn creds() -> Credentials {
    Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("session-token".into()),
        None,
        "test",
    )
}

/// `20240501T120000Z` to a time (days-from-civil).
fn amz_date(s: &str) -> SystemTime {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(4, 6), n(6, 8));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    SystemTime::UNIX_EPOCH + Duration::from_secs((days * 86_400 + n(9, 11) * 3600 + n(11, 13) * 60 + n(13, 15)) as u64)
}

/// The `Authorization` header has SigV4's form for service `es`, and signing the received request again with the
/// same credentials and time gives the same signature.
fn assert_signed(r: &Received, port: u16) {
    let auth = &r.headers["authorization"];
    let (scope, rest) = auth.split_once(", SignedHeaders=").unwrap();
    let day = &r.headers["x-amz-date"][..8];
    assert_eq!(scope, format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{day}/us-east-1/es/aws4_request"));
    let (signed, signature) = rest.split_once(", Signature=").unwrap();
    assert_eq!(signed, "content-type;host;x-amz-date;x-amz-security-token");
    assert!(signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit()), "{signature}");
    assert_eq!(r.headers["x-amz-security-token"], "session-token");
    let mut again =
        http::Request::builder().method(r.method.as_str()).uri(format!("http://127.0.0.1:{port}{}", r.path));
    for h in signed.split(';').filter(|h| !h.starts_with("x-amz-")) {
        again = again.header(h, &r.headers[h]);
    }
    let mut again = again.body(bytes::Bytes::from(r.body.clone())).unwrap();
    powertools::http::sign_sigv4(&mut again, &creds(), "us-east-1", "es", amz_date(&r.headers["x-amz-date"])).unwrap();
    assert_eq!(again.headers()["authorization"].to_str().unwrap(), auth, "the signature verifies");
}

fn hit(tenant: &str, id: &str, at: i64) -> Value {
    json!({"_index": "audit", "_id": id, "sort": [at, id], "_source": {
        "event_id": id, "event_type": "OrderCreated", "tenant_id": tenant, "occurred_at": "2024-05-01T12:00:00Z",
        "detail": {"event_id": id, "tenant_id": tenant, "order_id": "o1"}}})
}

/// Answers every search with `hits` (as OpenSearch would, newest first), or with `status` and an error.
async fn opensearch(status: u16, hits: Vec<Value>) -> Receiver {
    Receiver::start(Arc::new(move |_, _| {
        if status != 200 {
            return (status, r#"{"error":{"type":"search_phase_execution_exception"},"status":500}"#.into());
        }
        (200, json!({"took": 1, "timed_out": false, "hits": {"hits": hits}}).to_string())
    }))
    .await
}

fn state(endpoint: Option<&str>) -> State {
    let backend = endpoint.map(|e| Backend::new(e, "audit", "us-east-1", SharedCredentialsProvider::new(creds())));
    State { deps: Arc::new(Deps { backend }), trace_header: Some("Root=1-abc".into()) }
}

/// A proxy event for `GET /tenants/<path_tenant>/events?<query>` by `caller` (the authorizer's tenant).
fn event(caller: Option<&str>, path_tenant: &str, query: &[(&str, &str)]) -> ApiGatewayProxyRequest {
    let q: serde_json::Map<String, Value> = query.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let authorizer = caller.map_or(json!({}), |t| json!({"tenantId": t, "tier": "pro", "principalId": "k1"}));
    serde_json::from_value(json!({
        "resource": "/tenants/{tenant_id}/events",
        "path": format!("/tenants/{path_tenant}/events"),
        "httpMethod": "GET",
        "pathParameters": {"tenant_id": path_tenant},
        "queryStringParameters": q,
        "requestContext": {"httpMethod": "GET", "requestId": "r1", "authorizer": authorizer},
    }))
    .unwrap()
}

async fn call(state: State, e: ApiGatewayProxyRequest) -> (u16, Value, Response) {
    let r = handle(state, &router(), e).await;
    let body = serde_json::from_str(r.body.as_deref().unwrap_or("null")).unwrap();
    (r.status_code, body, r)
}

#[tokio::test]
async fn signed_search_with_the_callers_tenant_and_pages() {
    let os = opensearch(200, vec![hit("acme", "ev-3", 3), hit("acme", "ev-2", 2)]).await;
    let query = [("q", "o1"), ("type", "OrderCreated"), ("from", "2024-05-01T00:00:00Z"), ("limit", "2")];
    let (status, body, r) = call(state(Some(&os.url(""))), event(Some("acme"), "acme", &query)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (r.headers["content-type"].as_str(), r.headers["cache-control"].as_str()),
        ("application/json", "no-store")
    );
    assert_eq!(
        body["items"],
        json!([
            {"event_id": "ev-3", "type": "OrderCreated", "occurred_at": "2024-05-01T12:00:00Z",
             "detail": {"event_id": "ev-3", "tenant_id": "acme", "order_id": "o1"}},
            {"event_id": "ev-2", "type": "OrderCreated", "occurred_at": "2024-05-01T12:00:00Z",
             "detail": {"event_id": "ev-2", "tenant_id": "acme", "order_id": "o1"}},
        ])
    );
    let got = os.received();
    assert_eq!(got.len(), 1, "one request per search");
    let r = &got[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/audit/_search"));
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.headers["x-amzn-trace-id"], "Root=1-abc");
    assert_signed(r, os.port);
    let sent: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(sent["query"]["bool"]["filter"][0], json!({"term": {"tenant_id.keyword": "acme"}}));
    assert_eq!(sent["size"], 2);

    // The full page's cursor asks for what follows its last hit, with the same filters.
    let cursor = body["next_cursor"].as_str().unwrap();
    let mut next = query.to_vec();
    next.push(("cursor", cursor));
    let (status, _, _) = call(state(Some(&os.url(""))), event(Some("acme"), "acme", &next)).await;
    assert_eq!(status, 200);
    let sent: Value = serde_json::from_slice(&os.received()[1].body).unwrap();
    assert_eq!(sent["search_after"], json!([2, "ev-2"]));
    assert_eq!(sent["query"]["bool"]["filter"][0], json!({"term": {"tenant_id.keyword": "acme"}}));
}

#[tokio::test]
async fn hostile_inputs_never_widen_the_tenant_filter() {
    let os = opensearch(200, vec![hit("acme", "ev-1", 1), hit("globex", "ev-g", 0)]).await;
    // Accepted as text: each reaches OpenSearch as the query string of simple_query_string, with the caller's
    // tenant the only tenant term, in filter.
    for q in ["tenant_id:*", "* OR tenant_id:globex", ") OR (", r#"\"}}]}}, {"match_all":{}}"#, "a\\\" OR \\\"b"] {
        let (status, body, _) = call(state(Some(&os.url(""))), event(Some("acme"), "acme", &[("q", q)])).await;
        assert_eq!(status, 200, "{q}: {body}");
        // The stand-in answers a globex hit anyway (a broken index): it is left out.
        assert_eq!(body["items"].as_array().unwrap().len(), 1, "{q}");
        assert_eq!(body["items"][0]["detail"]["tenant_id"], "acme", "{q}");
        let sent: Value = serde_json::from_slice(&os.received().last().unwrap().body).unwrap();
        assert_eq!(sent["query"]["bool"]["filter"], json!([{"term": {"tenant_id.keyword": "acme"}}]), "{q}");
        assert_eq!(sent["query"]["bool"]["must"][0]["simple_query_string"]["query"], json!(q), "{q}");
    }
    let before = os.received().len();
    // Refused before any request: wildcards in type, huge or malformed times, another tenant's cursor, an
    // extra parameter naming a tenant, another tenant in the path.
    let globex_cursor = {
        let p =
            search::query::parse(&Default::default(), &powertools::tenant::TenantId::parse("globex").unwrap()).unwrap();
        search::query::encode_cursor(&powertools::tenant::TenantId::parse("globex").unwrap(), &p, 1, "ev-g")
    };
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"t":"globex","f":"","a":[1,"x"]}"#);
    for (query, status, detail) in [
        (
            vec![("type", "*")],
            400,
            r#"query parameter type "*" is not an event type: one of OrderCreated, SubscriptionUpgraded, ApiKeyRevoked, InvoiceGenerated, InvoiceReady"#,
        ),
        (
            vec![("type", "Order*")],
            400,
            r#"query parameter type "Order*" is not an event type: one of OrderCreated, SubscriptionUpgraded, ApiKeyRevoked, InvoiceGenerated, InvoiceReady"#,
        ),
        (
            vec![("from", "99999999999999999999999")],
            400,
            r#"query parameter from "99999999999999999999999" is not a UTC timestamp: YYYY-MM-DDTHH:MM:SS[.fff]Z, years 1970 to 9999"#,
        ),
        (
            vec![("to", "now+1000y")],
            400,
            r#"query parameter to "now+1000y" is not a UTC timestamp: YYYY-MM-DDTHH:MM:SS[.fff]Z, years 1970 to 9999"#,
        ),
        (
            vec![("cursor", globex_cursor.as_str())],
            400,
            "query parameter cursor is invalid: it belongs to another tenant",
        ),
        (vec![("cursor", forged.as_str())], 400, "query parameter cursor is invalid: it belongs to another tenant"),
        (
            vec![("tenant_id", "globex")],
            400,
            r#"unknown query parameter "tenant_id": allowed are q, type, from, to, limit, cursor"#,
        ),
    ] {
        let (s, body, r) = call(state(Some(&os.url(""))), event(Some("acme"), "acme", &query)).await;
        assert_eq!((s, body["detail"].as_str()), (status, Some(detail)), "{query:?}");
        assert_eq!(r.headers["content-type"], "application/problem+json");
    }
    let (s, body, _) = call(state(Some(&os.url(""))), event(Some("acme"), "globex", &[])).await;
    assert_eq!((s, body["detail"].as_str()), (403, Some("the path names another tenant than the credentials")));
    let (s, _, _) = call(state(Some(&os.url(""))), event(None, "acme", &[])).await;
    assert_eq!(s, 401);
    assert_eq!(os.received().len(), before, "nothing refused reached OpenSearch");
}

#[tokio::test]
async fn without_a_search_domain_the_route_answers_501() {
    let (status, body, r) = call(state(None), event(Some("acme"), "acme", &[("q", "x")])).await;
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert_eq!(
        (status, body),
        (
            501,
            json!({"type": "about:blank", "title": "Not Implemented", "status": 501,
                   "detail": "event search is not enabled in this stage: it has no search domain (features.search = false)"})
        )
    );
    // The tenant checks still come first.
    assert_eq!(call(state(None), event(Some("acme"), "globex", &[])).await.0, 403);
}

#[tokio::test]
async fn backend_failures_are_502_and_504() {
    let os = opensearch(500, vec![]).await;
    let (status, body, _) = call(state(Some(&os.url(""))), event(Some("acme"), "acme", &[])).await;
    assert_eq!((status, body["detail"].as_str()), (502, Some("the search backend answered 500")));
    let (status, body, _) = call(state(Some("http://127.0.0.1:1")), event(Some("acme"), "acme", &[])).await;
    assert_eq!((status, body["detail"].as_str()), (502, Some("the search backend could not be reached")));
    // A server that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let mut st = state(Some(&url));
    Arc::get_mut(&mut st.deps).unwrap().backend.as_mut().unwrap().timeout = Duration::from_millis(300);
    let (status, body, _) = call(st, event(Some("acme"), "acme", &[])).await;
    assert_eq!((status, body["detail"].as_str()), (504, Some("the search backend did not answer in time")));
}
