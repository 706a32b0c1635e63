//! The AWS endpoint the local functions call (their `AWS_ENDPOINT_URL`): every request goes to the local cloud
//! (moto) unchanged, except what moto does not do as AWS does. EventBridge `PutEvents` is routed by the
//! templates' rules to their targets ([`bus`]); Step Functions executions run on the local interpreter
//! ([`states`]). Moto's CloudFormation creates the bus, rules and state machines but never delivers an event
//! nor runs an execution (deploy/MOTO.md).

pub mod bus;
pub mod ids;
pub mod states;
mod upstream;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{AbortHandle, JoinHandle, JoinSet};

pub use ids::LocalCloudIds;

use crate::assembly::{Assembly, PhysicalIds};
use crate::invoke::Invoke;

/// Where the proxy prints what it does (a rule's delivery, an execution's history, a log group's event): one
/// call per line or block.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// What the proxy needs: the local cloud, the templates and what their resources became, the functions.
pub struct ProxyConfig<I> {
    /// The local cloud's URL (`http://127.0.0.1:<port>`): every call the proxy does not answer goes there.
    pub upstream: String,
    pub assembly: Arc<Assembly>,
    /// The physical ids of the local cloud (`Ref` of a queue is its URL, of a state machine its ARN, of a
    /// function its name; `GetAtt X.Arn`...): what rule targets and workflow tasks name. [`LocalCloudIds`] is a
    /// map to fill from `DescribeStackResources`.
    pub ids: Arc<dyn PhysicalIds + Send + Sync>,
    /// Runs the functions (by logical id): rule targets and workflow tasks.
    pub invoker: Arc<I>,
    pub region: String,
    pub account: String,
    pub log: Log,
}

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No port to listen on.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// The upstream is not an `http://host:port` URL.
    #[error("upstream {url:?} is not an http:// URL of the local cloud")]
    Upstream { url: String },
}

/// A running proxy.
pub struct Proxy {
    address: SocketAddr,
    unsupported: Vec<String>,
    reload: Reload,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    tasks: Tasks,
}

impl Proxy {
    /// `http://127.0.0.1:<port>`: the functions' `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Rules and state machines of the templates that cannot be emulated, each naming its resource (they are
    /// left out, never silently: print these at start).
    pub fn unsupported(&self) -> &[String] {
        &self.unsupported
    }

    /// Reads the rules and state machines of a new `assembly` with the local cloud's new `ids` (after a
    /// re-synthesis and redeploy), keeping the URL the functions were given; returns what cannot be emulated,
    /// as [`Proxy::unsupported`] then does. Deliveries and executions under way finish on the old ones.
    pub fn reload(&mut self, assembly: &Assembly, ids: &dyn PhysicalIds) -> &[String] {
        let r = &self.reload;
        let (routes, unsupported) = Routes::new(assembly, ids, &r.upstream, &r.region, &r.account);
        match r.routes.write() {
            Ok(mut current) => *current = Arc::new(routes),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(routes),
        }
        self.unsupported = unsupported;
        &self.unsupported
    }

    /// Stops listening, closes open connections, and aborts executions and deliveries still running.
    pub async fn stop(mut self) {
        self.shutdown_now().await;
    }

    async fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            // The accept loop ends at the signal and its JoinSet, dropped, aborts every connection.
            let _ = server.await;
        }
        self.tasks.abort_all();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
        self.tasks.abort_all();
    }
}

/// What [`Proxy::reload`] needs to rebuild the routes.
struct Reload {
    routes: Arc<RwLock<Arc<Routes>>>,
    upstream: String,
    region: String,
    account: String,
}

/// Background work (async Lambda targets, executions) that `stop` must end.
#[derive(Clone, Default)]
pub(crate) struct Tasks(Arc<Mutex<Vec<AbortHandle>>>);

impl Tasks {
    pub(crate) fn spawn(&self, f: impl Future<Output = ()> + Send + 'static) -> AbortHandle {
        let handle = tokio::spawn(f).abort_handle();
        if let Ok(mut list) = self.0.lock() {
            list.retain(|h| !h.is_finished());
            list.push(handle.clone());
        }
        handle
    }
    fn abort_all(&self) {
        if let Ok(mut list) = self.0.lock() {
            for h in list.drain(..) {
                h.abort();
            }
        }
    }
}

/// Everything a request handler reads, shared by every connection.
pub(crate) struct Shared<I> {
    pub(crate) upstream: upstream::Upstream,
    pub(crate) region: String,
    pub(crate) account: String,
    pub(crate) log: Log,
    pub(crate) invoker: Arc<I>,
    routes: Arc<RwLock<Arc<Routes>>>,
    pub(crate) executions: states::Executions,
    pub(crate) tasks: Tasks,
}

impl<I> Shared<I> {
    /// The routes of the templates now (a reload swaps them; work under way keeps the ones it started with).
    pub(crate) fn routes(&self) -> Arc<Routes> {
        self.routes.read().map(|r| r.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }
}

/// What the templates say, with the local cloud's ids: the rules, the state machines, the targets' names.
pub(crate) struct Routes {
    pub(crate) targets: ids::Targets,
    pub(crate) bus: bus::Bus,
    pub(crate) machines: states::Machines,
}

impl Routes {
    /// The routes of `assembly`, and what of it cannot be emulated.
    fn new(
        assembly: &Assembly,
        ids: &dyn PhysicalIds,
        upstream: &str,
        region: &str,
        account: &str,
    ) -> (Routes, Vec<String>) {
        let targets = ids::Targets::new(assembly, ids, upstream, account);
        let (bus, mut unsupported) = bus::Bus::from_assembly(assembly);
        let (machines, mut problems) = states::Machines::from_assembly(assembly, ids, region, account);
        unsupported.append(&mut problems);
        (Routes { targets, bus, machines }, unsupported)
    }
}

/// Starts the proxy on a free port of 127.0.0.1.
pub async fn start<I: Invoke>(config: ProxyConfig<I>) -> Result<Proxy, ProxyError> {
    let upstream = upstream::Upstream::new(&config.upstream, &config.region)
        .ok_or_else(|| ProxyError::Upstream { url: config.upstream.clone() })?;
    let (routes, unsupported) =
        Routes::new(&config.assembly, config.ids.as_ref(), &config.upstream, &config.region, &config.account);
    let routes = Arc::new(RwLock::new(Arc::new(routes)));
    let tasks = Tasks::default();
    let reload = Reload {
        routes: routes.clone(),
        upstream: config.upstream.clone(),
        region: config.region.clone(),
        account: config.account.clone(),
    };
    let shared = Arc::new(Shared {
        upstream,
        region: config.region,
        account: config.account,
        log: config.log,
        invoker: config.invoker,
        routes,
        executions: states::Executions::default(),
        tasks: tasks.clone(),
    });
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(ProxyError::Bind)?;
    let address = listener.local_addr().map_err(ProxyError::Bind)?;
    let (tx, mut rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                _ = &mut rx => break,
                a = listener.accept() => a,
            };
            // Reaps finished connections so the set does not grow with every request.
            while connections.try_join_next().is_some() {}
            let Ok((stream, _)) = accepted else {
                // Out of file descriptors, most likely: let connections close instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            // Small answers go out at once (see `upstream::connector`).
            let _ = stream.set_nodelay(true);
            let shared = shared.clone();
            connections.spawn(async move {
                let service = service_fn(move |req| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(handle(&shared, req).await) }
                });
                // A client that hangs up mid-request is its own business.
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(Proxy { address, unsupported, reload, shutdown: Some(tx), server: Some(server), tasks })
}

/// An answer the proxy makes itself (AWS JSON protocol).
pub(crate) struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Value,
}

impl Answer {
    pub(crate) fn ok(content_type: &'static str, body: Value) -> Answer {
        Answer { status: 200, content_type, body }
    }
    /// An error as the JSON protocols carry it: `__type` and `message`, status 400.
    /// <https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html#operation-error-serialization>
    pub(crate) fn error(content_type: &'static str, kind: &str, message: impl Into<String>) -> Answer {
        Answer { status: 400, content_type, body: json!({"__type": kind, "message": message.into()}) }
    }
}

async fn handle<I: Invoke>(shared: &Arc<Shared<I>>, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return respond(Answer::error("application/json", "BadRequest", format!("cannot read body: {e}"))),
    };
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    if target == "AWSEvents.PutEvents" {
        return respond(bus::put_events_api(shared, &body).await);
    }
    if let Some(action) = target.strip_prefix("AWSStepFunctions.")
        && let Some(answer) = states::api(shared, action, &body)
    {
        return respond(answer);
    }
    shared.upstream.forward(parts, body).await
}

fn respond(answer: Answer) -> hyper::Response<Full<Bytes>> {
    let kind = answer.body.get("__type").and_then(Value::as_str).map(str::to_owned);
    let mut out = hyper::Response::new(Full::new(Bytes::from(answer.body.to_string())));
    *out.status_mut() = http::StatusCode::from_u16(answer.status).unwrap_or(http::StatusCode::BAD_REQUEST);
    out.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(answer.content_type));
    if answer.status >= 400
        && let Some(v) = kind.and_then(|k| http::HeaderValue::from_str(&k).ok())
    {
        out.headers_mut().insert("x-amzn-errortype", v);
    }
    out
}

/// A random id in the UUID v4 format, as EventBridge event ids and execution names are.
pub(crate) fn uuid() -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        fastrand::u32(..),
        fastrand::u16(..),
        fastrand::u16(..0x1000),
        fastrand::u16(0x8000..0xc000),
        fastrand::u64(..1 << 48)
    )
}

/// Logical ids by the names resources are known by, for one kind of resource.
pub(crate) type Aliases = BTreeMap<String, String>;
