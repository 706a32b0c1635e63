//! `cargo xtask dev` (the `rcdk-dev` binary): the whole platform on localhost from the synthesized templates.
//! The local cloud (moto) started and the stage deployed to it, the handlers built for the host and run behind
//! the local Runtime API with the template's environment resolved to the local cloud, the REST API served by the
//! local gateway, the event source mappings polled, a tenant per tier seeded with an API key, then reload on
//! save until Ctrl-C or SIGTERM stops everything it started.
//!
//! This module is the command's glue (errors are `anyhow`, with context); the emulators it starts are the
//! crate's libraries.

pub mod build;
pub mod cloud;
pub mod seed;
pub mod watch;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use serde_json::Value;

use crate::assembly::Assembly;
use crate::gateway::Gateway;
use crate::gateway::model::{RestApi, Unsupported};
use crate::gateway::server::{Server, serve};
use crate::invoke::{Invoke, InvokeError};
use crate::proxy::{Proxy, ProxyConfig};
use crate::runtime::{FunctionSpec, Runtime, RuntimeOptions};
use crate::sink::Sink;
use crate::sources::sqs::SqsPoller;
use crate::sources::stream::{OnFailure, StreamPoller};
use crate::sources::{Mappings, Poller, SourceKind};
use build::Build;
use cloud::{ACCESS_KEY, Cloud, CloudIds, SECRET_KEY};
use seed::SeededTenant;

/// What `cargo xtask dev` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The workspace root.
    pub root: PathBuf,
    /// Where the assembly, the host zips and the local cloud's state go (`rcdk.out/dev`).
    pub out: PathBuf,
    pub stage: String,
    /// The gateway's port (0: a free one).
    pub port: u16,
    pub release: bool,
    /// No colour, no progress bars (tests, CI).
    pub headless: bool,
    /// Start the webhook receiver on this port (0: a free one).
    pub webhook_sink: Option<u16>,
    /// Reload on save.
    pub watch: bool,
}

/// The functions, shared by the gateway and the pollers.
#[derive(Clone)]
pub struct Functions(pub Arc<Runtime>);

impl Invoke for Functions {
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError> {
        self.0.invoke(function, payload).await
    }
}

/// The platform running on localhost.
pub struct Dev {
    pub options: Options,
    pub cloud: Cloud,
    pub runtime: Arc<Runtime>,
    pub gateway: Server,
    /// The AWS endpoint the functions call: moto, but for EventBridge and Step Functions.
    pub proxy: Proxy,
    /// The webhook receiver (`--webhook-sink`).
    pub sink: Option<Sink>,
    pub pollers: Vec<Poller>,
    pub tenants: Vec<SeededTenant>,
    /// Every template feature the emulators do not run, by resource.
    pub unsupported: Vec<Unsupported>,
    /// What the proxy cannot emulate of the rules and state machines, each naming its resource.
    pub proxy_unsupported: Vec<String>,
    /// The function logical ids and the package of each.
    pub functions: BTreeMap<String, String>,
    state: Loaded,
}

/// What one synth + deploy produced: the assembly, its assets, the physical ids and the function specs.
struct Loaded {
    assembly: Assembly,
    assets: Vec<synth::Asset>,
    ids: CloudIds,
    specs: BTreeMap<String, FunctionSpec>,
}

/// Prints a step and its duration (stderr: stdout carries the banner).
fn step(what: &str, started: Instant) {
    eprintln!("dev: {what} ({:.1} s)", started.elapsed().as_secs_f64());
}

impl Dev {
    /// Everything up to the banner: synth, the local cloud, the deploy, the build, the runtime, the gateway, the
    /// pollers and the seeded tenants.
    pub async fn start(options: Options) -> Result<Dev> {
        let t = Instant::now();
        let mut synth = synthesize(&options)?;
        let region = synth.stacks.first().map(|s| s.region.clone()).ok_or_else(|| anyhow!("the app has no stack"))?;
        step("synthesized", t);
        let cloud = Cloud::start(&options.root, &options.out, &region).await?;
        step(&format!("local cloud on {}", cloud.endpoint()), t);
        cloud.deploy(&options.out, &mut synth, !options.headless).await?;
        step("deployed to the local cloud", t);
        let runtime = Arc::new(Runtime::new(RuntimeOptions {
            default_concurrency: 10,
            extra_environment: handler_environment(&cloud, options.webhook_sink.is_some()),
            logs: Arc::new(crate::runtime::logs::Terminal::default()),
        }));
        let mut state = load(&options, &cloud, synth, None).await?;
        step("handlers built", t);
        let functions = crate::app::build::packages_of_functions(&state.assembly, &state.assets);
        let proxy = crate::proxy::start(ProxyConfig {
            upstream: cloud.endpoint(),
            assembly: Arc::new(state.assembly.clone()),
            ids: Arc::new(state.ids.clone()),
            invoker: Arc::new(Functions(runtime.clone())),
            region: cloud.region.clone(),
            account: cloud.account.clone(),
            log: Arc::new(|line: &str| eprintln!("{line}")),
        })
        .await?;
        let proxy_unsupported = proxy.unsupported().to_vec();
        point_at(&mut state.specs, &proxy.url());
        for spec in state.specs.values() {
            runtime.deploy(spec.clone());
        }
        let (api, mut unsupported) = api_of(&state.assembly, &state.ids)?;
        let gateway = serve_api(api, &runtime, options.port).await?;
        let (pollers, more) = start_pollers(&state, &cloud, &runtime)?;
        unsupported.extend(more);
        for (_, resource) in state.assembly.resources_of("AWS::Lambda::Function") {
            unsupported.extend(crate::runtime::unsupported(resource));
        }
        let sink = match options.webhook_sink {
            Some(port) => Some(start_sink(port, &state).await?),
            None => None,
        };
        let table = state
            .specs
            .values()
            .find_map(|s| s.environment.get("TABLE_NAME").cloned())
            .ok_or_else(|| anyhow!("no function names the entity table (TABLE_NAME): nothing to seed"))?;
        let tenants = seed::seed(&cloud.config, &table).await?;
        step("running", t);
        Ok(Dev {
            options,
            cloud,
            runtime,
            gateway,
            proxy,
            sink,
            pollers,
            tenants,
            unsupported,
            proxy_unsupported,
            functions,
            state,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.gateway.address)
    }

    /// What is printed once everything runs: where the API is, a key per tier, a curl line that works as
    /// printed, and what the emulators leave out.
    pub fn banner(&self) -> String {
        let mut b = String::new();
        let url = self.api_url();
        let _ = writeln!(b, "rcdk dev: stage {} on {url}", self.options.stage);
        let _ = writeln!(b, "  local cloud   {}", self.cloud.endpoint());
        let _ = writeln!(b, "  AWS endpoint  {}", self.proxy.url());
        if let Some(sink) = &self.sink {
            let _ = writeln!(b, "  webhook sink  {}", sink.url());
        }
        let build = if self.options.release { "release" } else { "debug" };
        let names: Vec<&str> = self.functions.keys().map(String::as_str).collect();
        let _ = writeln!(b, "  functions     {} ({build} builds)", names.join(", "));
        let _ = writeln!(b, "  API keys      (header `Authorization: ApiKey <key>`)");
        for t in &self.tenants {
            let _ = writeln!(b, "    {:<11} tenant {:<18} {}", t.tier.as_str(), t.tenant, t.api_key);
        }
        if let Some(t) = self.tenants.iter().find(|t| t.tier == powertools::tenant::Tier::Pro).or(self.tenants.first())
        {
            let _ = writeln!(b, "  try:");
            let _ = writeln!(b, "    {}", curl_line(&url, t));
        }
        let count = self.unsupported.len() + self.proxy_unsupported.len();
        if count > 0 {
            let _ = writeln!(b, "  not emulated ({count}):");
            for u in &self.unsupported {
                let _ = writeln!(b, "    {} ({}): {}", u.logical_id, u.kind, u.feature);
            }
            for u in &self.proxy_unsupported {
                let _ = writeln!(b, "    {u}");
            }
        }
        if self.options.watch {
            let _ = writeln!(b, "  watching handlers/, constructs/, stages/: a save reloads");
        }
        let _ = writeln!(b, "  Ctrl-C stops everything");
        b
    }

    /// A saved handler: its crate rebuilt, the functions running it get new sandboxes (busy ones finish their
    /// invocation on the old binary).
    pub fn reload_handlers(&self, changed: &[PathBuf]) -> Result<Vec<String>> {
        let mut packages: Vec<String> =
            changed.iter().filter_map(|p| build::package_of_path(&self.options.root, p, &self.state.assets)).collect();
        if packages.len() < changed.len() {
            // A shared crate (powertools, types): every handler may use it.
            packages = build::all_packages(&self.state.assets);
        }
        packages.sort();
        packages.dedup();
        // The same package set as at start, whatever changed: cargo unifies features over the packages of one
        // invocation, so building `-p api` alone would rebuild the shared dependencies with other features
        // (measured: 147 s instead of 3 s on a loaded machine). Unchanged crates are no-ops.
        let mut all: Vec<String> = self.functions.values().cloned().collect();
        all.sort();
        all.dedup();
        Build { root: self.options.root.clone(), release: self.options.release }.build(&all)?;
        let mut swapped = Vec::new();
        for (function, package) in &self.functions {
            if packages.contains(package)
                && let Some(spec) = self.state.specs.get(function)
            {
                self.runtime.deploy(spec.clone());
                swapped.push(function.clone());
            }
        }
        Ok(swapped)
    }

    /// The platform's code changed: synth again, deploy the change to the local cloud, then refresh the
    /// functions, the gateway (same port) and the pollers.
    pub async fn reload_platform(&mut self) -> Result<()> {
        let mut synth = synthesize(&self.options)?;
        self.cloud.deploy(&self.options.out, &mut synth, !self.options.headless).await?;
        let mut state = load(&self.options, &self.cloud, synth, Some(&self.state.ids)).await?;
        self.proxy_unsupported = self.proxy.reload(&state.assembly, &state.ids).to_vec();
        point_at(&mut state.specs, &self.proxy.url());
        for spec in state.specs.values() {
            self.runtime.deploy(spec.clone());
        }
        self.functions = build::packages_of_functions(&state.assembly, &state.assets);
        let (api, mut unsupported) = api_of(&state.assembly, &state.ids)?;
        let port = self.gateway.address.port();
        // The old listener closes (its accept task aborted and awaited, so the socket is released) before the new
        // one binds the same port; its connections finish.
        self.gateway.task.abort();
        let _ = (&mut self.gateway.task).await;
        self.gateway = serve_api(api, &self.runtime, port).await?;
        for p in std::mem::take(&mut self.pollers) {
            p.stop().await;
        }
        let (pollers, more) = start_pollers(&state, &self.cloud, &self.runtime)?;
        self.pollers = pollers;
        unsupported.extend(more);
        self.unsupported = unsupported;
        self.state = state;
        Ok(())
    }

    /// Stops the pollers, the gateway, every function process and the local cloud.
    pub async fn stop(self) -> Result<()> {
        for p in self.pollers {
            p.stop().await;
        }
        self.gateway.task.abort();
        drop(self.gateway);
        self.proxy.stop().await;
        if let Some(sink) = self.sink {
            sink.stop().await;
        }
        // Dropping the last handle of the runtime kills its idle sandboxes (kill_on_drop); invocations in flight
        // end with the tasks that own them.
        drop(self.runtime);
        self.cloud.stop()
    }
}

/// A curl command that works as printed: the pro tenant's orders.
pub fn curl_line(url: &str, t: &SeededTenant) -> String {
    format!("curl -s -H 'Authorization: ApiKey {}' {url}/tenants/{}/orders", t.api_key, t.tenant)
}

/// The app of the stage, synthesized and written to `<out>`.
fn synthesize(options: &Options) -> Result<synth::Assembly> {
    let app = constructs::app::build(&options.root, None, &options.stage, &[])?;
    let assembly = constructs::app::synthesize(&app)?;
    constructs::app::write(&assembly, &options.out, None)?;
    Ok(assembly)
}

/// The written assembly read back, the handlers built, the physical ids read and every function's spec.
async fn load(options: &Options, cloud: &Cloud, synth: synth::Assembly, previous: Option<&CloudIds>) -> Result<Loaded> {
    let assembly = Assembly::load(&options.out)?;
    let assets = synth.manifest.assets.clone();
    let build = Build { root: options.root.clone(), release: options.release };
    let functions = build::packages_of_functions(&assembly, &assets);
    let mut packages: Vec<String> = functions.values().cloned().collect();
    packages.sort();
    packages.dedup();
    build.build(&packages)?;
    let ids = cloud.ids(&assembly, previous).await?;
    let mut specs = BTreeMap::new();
    for (stack, resource) in assembly.resources_of("AWS::Lambda::Function") {
        let Some(package) = functions.get(&resource.logical_id) else {
            eprintln!("dev: function {} has no code asset of the app: not run", resource.logical_id);
            continue;
        };
        let spec = FunctionSpec::from_template(&assembly, stack, resource, build.binary(package), &ids)
            .with_context(|| format!("function {}", resource.logical_id))?;
        specs.insert(resource.logical_id.clone(), spec);
    }
    Ok(Loaded { assembly, assets, ids, specs })
}

/// The variables every handler gets on top of its template's: dummy credentials of the local cloud, and with the
/// webhook sink the local opt-in that lets a tenant's webhook be the sink's `http://127.0.0.1` URL (the API accepts
/// it, the worker's SSRF guard exempts loopback). Only on these host processes: no template carries either.
fn handler_environment(_cloud: &Cloud, webhook_sink: bool) -> BTreeMap<String, String> {
    let mut env = BTreeMap::from([
        ("AWS_ACCESS_KEY_ID".to_owned(), ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), SECRET_KEY.to_owned()),
    ]);
    if webhook_sink {
        env.insert(platform_types::env::WEBHOOK_ALLOW_HTTP_LOOPBACK.to_owned(), "true".to_owned());
        env.insert(platform_types::env::WEBHOOK_ALLOWED_ADDRESSES.to_owned(), "127.0.0.1".to_owned());
    }
    env
}

/// Every function's `AWS_ENDPOINT_URL`: the proxy, which forwards to moto all but EventBridge `PutEvents` and the
/// Step Functions calls. In the spec's environment, not the runtime's: the proxy needs the runtime to start.
fn point_at(specs: &mut BTreeMap<String, FunctionSpec>, endpoint: &str) {
    for spec in specs.values_mut() {
        spec.environment.insert("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned());
    }
}

/// The webhook receiver, checking signatures with the platform's signing secret: the value of the secret the
/// webhook worker's `WEBHOOK_SECRET_ARN` names.
async fn start_sink(port: u16, state: &Loaded) -> Result<Sink> {
    let secret = state
        .specs
        .values()
        .find_map(|s| s.environment.get("WEBHOOK_SECRET_ARN"))
        .and_then(|arn| state.ids.secret_values.get(arn))
        .ok_or_else(|| anyhow!("--webhook-sink: no function reads a webhook signing secret (WEBHOOK_SECRET_ARN)"))?;
    crate::sink::start(port, secret.as_bytes().to_vec(), Arc::new(|line: &str| eprintln!("{line}")))
        .await
        .with_context(|| format!("starting the webhook sink on 127.0.0.1:{port}"))
}

/// The REST API of the templates, its API keys holding the local cloud's values, and what of it the gateway does
/// not emulate.
fn api_of(assembly: &Assembly, ids: &CloudIds) -> Result<(RestApi, Vec<Unsupported>)> {
    let mut api = RestApi::from_assembly(assembly, None)?;
    for (logical_id, value) in &ids.api_key_values {
        api.set_api_key_value(logical_id, value)?;
    }
    let unsupported = api.unsupported.clone();
    Ok((api, unsupported))
}

async fn serve_api(api: RestApi, runtime: &Arc<Runtime>, port: u16) -> Result<Server> {
    let gateway = Gateway::new(api, Functions(runtime.clone()))?.with_access_log(|r| eprintln!("{r}"));
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    serve(Arc::new(gateway), address).await.with_context(|| format!("serving the API on {address}"))
}

/// A poller per event source mapping, on the local cloud's queues and streams.
fn start_pollers(state: &Loaded, cloud: &Cloud, runtime: &Arc<Runtime>) -> Result<(Vec<Poller>, Vec<Unsupported>)> {
    let mappings = Mappings::from_assembly(&state.assembly, &state.ids)?;
    let sqs = aws_sdk_sqs::Client::new(&cloud.config);
    let streams = aws_sdk_dynamodbstreams::Client::new(&cloud.config);
    let invoker = Arc::new(Functions(runtime.clone()));
    let queue_url = |target: &crate::sources::Target| -> Result<String> {
        let logical = target.resource.as_deref().ok_or_else(|| anyhow!("{} is not a queue of the app", target.arn))?;
        state.ids.find(logical).map(str::to_owned).ok_or_else(|| anyhow!("queue {logical} is not in the local cloud"))
    };
    let mut pollers = Vec::new();
    let mut unsupported = mappings.unsupported.clone();
    for m in mappings.mappings.iter().filter(|m| m.enabled) {
        if !state.specs.contains_key(&m.function) {
            unsupported.push(Unsupported {
                logical_id: m.logical_id.clone(),
                kind: "AWS::Lambda::EventSourceMapping".into(),
                feature: format!("function {} does not run locally", m.function),
            });
            continue;
        }
        eprintln!("dev: {} polls {} for {}", m.logical_id, m.source.arn, m.function);
        match m.kind {
            SourceKind::Sqs => {
                let url = queue_url(&m.source)?;
                let p = SqsPoller::new(m, sqs.clone(), &url, &m.source.arn, &cloud.region, invoker.clone());
                pollers.push(p.spawn());
            }
            SourceKind::DynamoDbStream => {
                let on_failure = match &m.on_failure {
                    Some(t) => Some(OnFailure { client: sqs.clone(), queue_url: queue_url(t)? }),
                    None => None,
                };
                let p =
                    StreamPoller::new(m, streams.clone(), &m.source.arn, &cloud.region, on_failure, invoker.clone());
                pollers.push(p.spawn());
            }
        }
    }
    Ok((pollers, unsupported))
}
