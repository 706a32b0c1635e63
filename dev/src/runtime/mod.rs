//! The local Lambda runtime: each function runs as its host binary behind a Runtime API of its own sandbox, with
//! the template's environment and the standard Lambda variables, a concurrency limit, the timeout enforced, the
//! output shown per function, and reload that swaps the binary without dropping a request.

pub mod api;
pub mod logs;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::assembly::{Assembly, AssemblyError, PhysicalIds, Resource, Stack, function_arn};
use crate::gateway::model::Unsupported;
use crate::invoke::{Invoke, InvokeError};
use api::{Invocation, Outcome, RuntimeApi};
use logs::{LogLine, LogSink, Stream};

/// Why a function cannot be described or run.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A value of the function's resource could not be resolved.
    #[error(transparent)]
    Assembly(#[from] AssemblyError),
    /// The resource is not a function this runtime can run.
    #[error("function {logical_id}: {problem}")]
    Invalid { logical_id: String, problem: String },
}

/// How to run one function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    /// The logical id: how the gateway and the templates name it.
    pub name: String,
    /// The host binary (`target/debug/api`).
    pub binary: PathBuf,
    /// `Handler` (`bootstrap` for custom runtimes).
    pub handler: String,
    /// `Environment.Variables`, resolved.
    pub environment: BTreeMap<String, String>,
    /// `Timeout`; 3 s, Lambda's default, when unset.
    pub timeout: Duration,
    /// `MemorySize`; 128 MB, Lambda's default, when unset. Reported, not enforced.
    pub memory_mb: u32,
    /// `ReservedConcurrentExecutions`: the concurrency limit when set.
    pub reserved_concurrency: Option<u32>,
    pub region: String,
    /// `LoggingConfig.LogFormat` (`JSON` or `Text`).
    pub log_format: Option<String>,
}

impl FunctionSpec {
    /// The spec of the `AWS::Lambda::Function` `resource` of `stack`, run from `binary`, its environment values
    /// resolved with `ids` (the local cloud's physical ids).
    pub fn from_template(
        assembly: &Assembly,
        stack: &Stack,
        resource: &Resource,
        binary: PathBuf,
        ids: &dyn PhysicalIds,
    ) -> Result<FunctionSpec, RuntimeError> {
        let id = &resource.logical_id;
        let invalid = |problem: String| RuntimeError::Invalid { logical_id: id.clone(), problem };
        if resource.kind != "AWS::Lambda::Function" {
            return Err(invalid(format!("is a {}, not an AWS::Lambda::Function", resource.kind)));
        }
        let mut environment = BTreeMap::new();
        if let Some(vars) = resource.prop("Environment").and_then(|e| e.get("Variables")) {
            let vars = vars.as_object().ok_or_else(|| invalid("Environment.Variables is not an object".into()))?;
            for (k, v) in vars {
                environment.insert(k.clone(), assembly.resolve_str(stack, id, v, ids)?);
            }
        }
        let number = |name: &str| -> Result<Option<u64>, RuntimeError> {
            match resource.prop(name) {
                None => Ok(None),
                Some(v) => match assembly.resolve(stack, id, v, ids)? {
                    Value::Number(n) => {
                        n.as_u64().map(Some).ok_or_else(|| invalid(format!("{name} {n} is not a count")))
                    }
                    Value::String(s) => {
                        s.parse().map(Some).map_err(|_| invalid(format!("{name} {s:?} is not a number")))
                    }
                    other => Err(invalid(format!("{name} {other} is not a number"))),
                },
            }
        };
        // Defaults: https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
        let timeout = Duration::from_secs(number("Timeout")?.unwrap_or(3));
        let memory_mb = number("MemorySize")?.unwrap_or(128) as u32;
        let reserved_concurrency = number("ReservedConcurrentExecutions")?.map(|n| n as u32);
        let handler = resource.prop("Handler").and_then(Value::as_str).unwrap_or("bootstrap").to_owned();
        let log_format =
            resource.prop("LoggingConfig").and_then(|l| l.get("LogFormat")).and_then(Value::as_str).map(str::to_owned);
        Ok(FunctionSpec {
            name: id.clone(),
            binary,
            handler,
            environment,
            timeout,
            memory_mb,
            reserved_concurrency,
            region: stack.region.clone(),
            log_format,
        })
    }

    /// The function's ARN in the local account.
    pub fn arn(&self) -> String {
        function_arn(&self.region, &self.name)
    }
}

/// Properties of a function that change how it runs and that the local runtime does not emulate: listed at
/// start with the function's logical id, never silently ignored. IAM (`Role`) is not enforced locally: the local
/// cloud accepts any credentials.
pub fn unsupported(resource: &Resource) -> Vec<Unsupported> {
    /// Read by [`FunctionSpec::from_template`], or without effect on a local run (encryption, tags, tracing
    /// mode, the host's architecture, asynchronous-only settings).
    const KNOWN: &[&str] = &[
        "Code",
        "Handler",
        "Environment",
        "Timeout",
        "MemorySize",
        "ReservedConcurrentExecutions",
        "LoggingConfig",
        "Runtime",
        "Architectures",
        "Description",
        "FunctionName",
        "KmsKeyArn",
        "Role",
        "Tags",
        "TracingConfig",
        "RecursiveLoop",
        "DeadLetterConfig",
        "EphemeralStorage",
        "CodeSigningConfigArn",
        "RuntimeManagementConfig",
    ];
    let mut out = Vec::new();
    let mut report = |feature: String| {
        out.push(Unsupported { logical_id: resource.logical_id.clone(), kind: resource.kind.clone(), feature })
    };
    for key in resource.properties.keys() {
        if !KNOWN.contains(&key.as_str()) {
            report(format!("property {key}"));
        }
    }
    if let Some(runtime) = resource.prop("Runtime").and_then(Value::as_str)
        && !runtime.starts_with("provided")
    {
        report(format!("runtime {runtime} (only custom runtimes, provided.*, run as host binaries)"));
    }
    out
}

/// Settings of the whole runtime.
#[derive(Clone)]
pub struct RuntimeOptions {
    /// Concurrency of a function without reserved concurrency.
    pub default_concurrency: u32,
    /// Added to every function's environment after the template's (credentials and endpoint of the local cloud).
    pub extra_environment: BTreeMap<String, String>,
    /// Where the functions' output goes.
    pub logs: Arc<dyn LogSink>,
}

impl Default for RuntimeOptions {
    fn default() -> RuntimeOptions {
        RuntimeOptions {
            default_concurrency: 10,
            extra_environment: BTreeMap::new(),
            logs: Arc::new(logs::Terminal::default()),
        }
    }
}

/// The runtime: functions by name.
pub struct Runtime {
    options: RuntimeOptions,
    functions: Mutex<HashMap<String, Arc<Pool>>>,
}

/// One function: its concurrency limit and its current generation of sandboxes.
struct Pool {
    /// Concurrency slots and their number (reserved concurrency, else the default).
    permits: Mutex<(Arc<Semaphore>, usize)>,
    current: Mutex<Arc<Generation>>,
}

/// Sandboxes of one binary. A reload starts a new generation; the old one's sandboxes finish their invocation
/// and stop.
struct Generation {
    spec: FunctionSpec,
    idle: Mutex<Vec<Sandbox>>,
}

/// Lines of stderr kept for a crash report.
const STDERR_TAIL: usize = 40;

/// One process of a function, with its Runtime API.
struct Sandbox {
    child: Child,
    /// Kept alive as long as the sandbox; dropping it stops the server.
    _api: RuntimeApi,
    invocations: mpsc::Sender<Invocation>,
    init_error: oneshot::Receiver<String>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // `kill_on_drop` reaps the process; the readers end with its pipes.
        let _ = self.child.start_kill();
    }
}

static SANDBOXES: AtomicU64 = AtomicU64::new(0);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn random_hex(n: usize) -> String {
    (0..n).map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0')).collect()
}

impl Runtime {
    pub fn new(options: RuntimeOptions) -> Runtime {
        Runtime { options, functions: Mutex::new(HashMap::new()) }
    }

    /// Adds a function, or reloads it when one by that name exists: new invocations go to sandboxes of the new
    /// spec, idle old sandboxes stop now, busy ones when their invocation ends. Nothing in flight is dropped.
    pub fn deploy(&self, spec: FunctionSpec) {
        let mut functions = lock(&self.functions);
        let limit = spec.reserved_concurrency.unwrap_or(self.options.default_concurrency).max(1) as usize;
        match functions.get(&spec.name) {
            Some(pool) => {
                let mut permits = lock(&pool.permits);
                if permits.1 != limit {
                    // Calls in flight keep their slot of the old limit until they end.
                    *permits = (Arc::new(Semaphore::new(limit)), limit);
                }
                let old = std::mem::replace(
                    &mut *lock(&pool.current),
                    Arc::new(Generation { spec, idle: Mutex::new(Vec::new()) }),
                );
                // Dropping the idle sandboxes kills them.
                lock(&old.idle).clear();
            }
            None => {
                let pool = Pool {
                    permits: Mutex::new((Arc::new(Semaphore::new(limit)), limit)),
                    current: Mutex::new(Arc::new(Generation { spec: spec.clone(), idle: Mutex::new(Vec::new()) })),
                };
                functions.insert(spec.name.clone(), Arc::new(pool));
            }
        }
    }

    /// Names of the functions.
    pub fn functions(&self) -> Vec<String> {
        let mut names: Vec<_> = lock(&self.functions).keys().cloned().collect();
        names.sort();
        names
    }

    /// Idle sandboxes of `function` (of its current binary).
    pub fn idle_sandboxes(&self, function: &str) -> usize {
        lock(&self.functions).get(function).map_or(0, |p| lock(&lock(&p.current).idle).len())
    }

    async fn spawn(&self, spec: &FunctionSpec) -> Result<Sandbox, InvokeError> {
        let unavailable = |problem: String| InvokeError::Unavailable { function: spec.name.clone(), problem };
        let (api, invocations, init_error) =
            RuntimeApi::start().await.map_err(|e| unavailable(format!("runtime API: {e}")))?;
        let n = SANDBOXES.fetch_add(1, Ordering::Relaxed);
        let mut cmd = Command::new(&spec.binary);
        cmd.env_clear()
            .envs(&spec.environment)
            .envs(&self.options.extra_environment)
            .envs(lambda_environment(spec, &api.address.to_string(), n))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = spec.binary.parent() {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|e| unavailable(format!("{}: {e}", spec.binary.display())))?;
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(self.read_lines(&spec.name, Stream::Stdout, out, None));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(self.read_lines(&spec.name, Stream::Stderr, err, Some(stderr_tail.clone())));
        }
        Ok(Sandbox { child, _api: api, invocations, init_error, stderr_tail, readers })
    }

    fn read_lines(
        &self,
        function: &str,
        stream: Stream,
        pipe: impl AsyncRead + Unpin + Send + 'static,
        tail: Option<Arc<Mutex<VecDeque<String>>>>,
    ) -> JoinHandle<()> {
        let sink = self.options.logs.clone();
        let function = function.to_owned();
        tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(text)) = lines.next_line().await {
                if let Some(t) = &tail {
                    let mut t = lock(t);
                    if t.len() == STDERR_TAIL {
                        t.pop_front();
                    }
                    t.push_back(text.clone());
                }
                sink.line(LogLine { function: function.clone(), stream, text });
            }
        })
    }

    async fn run(&self, spec: &FunctionSpec, sandbox: &mut Sandbox, payload: Value) -> Result<Value, Failure> {
        let (tx, rx) = oneshot::channel();
        let deadline_ms = now_ms() + spec.timeout.as_millis() as u64;
        let invocation = Invocation {
            request_id: uuid(),
            trace_id: trace_of(&payload).unwrap_or_else(|| {
                format!("Root=1-{:08x}-{};Parent={};Sampled=1", deadline_ms / 1000, random_hex(24), random_hex(16))
            }),
            payload,
            deadline_ms,
            function_arn: spec.arn(),
            outcome: tx,
        };
        if sandbox.invocations.send(invocation).await.is_err() {
            return Err(Failure::Dead("the sandbox's runtime API stopped".into()));
        }
        let timeout = tokio::time::sleep(spec.timeout);
        tokio::pin!(timeout);
        // Outcome first: a function that answers and then exits has answered.
        tokio::select! {
            biased;
            outcome = rx => match outcome {
                Ok(Outcome::Response(v)) => Ok(v),
                Ok(Outcome::Error { error_type, message }) => Err(Failure::Function { error_type, message }),
                Err(_) => Err(Failure::Dead("the runtime API dropped the invocation".into())),
            },
            message = &mut sandbox.init_error => Err(Failure::Dead(format!("init error: {}", message.unwrap_or_default()))),
            status = sandbox.child.wait() => {
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                Err(Failure::Dead(format!("process exited ({status})")))
            }
            () = &mut timeout => Err(Failure::Timeout),
        }
    }
}

/// How an invocation in a sandbox ended, when not with a response.
enum Failure {
    /// The function posted an error; the sandbox is fine.
    Function { error_type: String, message: String },
    /// The process died or never started; the sandbox is gone.
    Dead(String),
    /// The function ran out of time; the sandbox is killed.
    Timeout,
}

/// `Name` of `arn:aws:lambda:<region>:<account>:function:Name[:qualifier]`; anything else as it is.
fn function_name(function: &str) -> &str {
    match function.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => function,
    }
}

/// The X-Ray header of a proxy event (the gateway's trace), so the function's trace continues the request's.
fn trace_of(payload: &Value) -> Option<String> {
    let headers = payload.get("headers")?.as_object()?;
    let (_, v) = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-amzn-trace-id"))?;
    v.as_str().map(str::to_owned)
}

/// A request id in Lambda's format (a UUID).
fn uuid() -> String {
    format!("{}-{}-4{}-{}-{}", random_hex(8), random_hex(4), random_hex(3), random_hex(4), random_hex(12))
}

/// The variables Lambda defines for every function, which a function's own cannot override.
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>
pub fn lambda_environment(spec: &FunctionSpec, runtime_api: &str, sandbox: u64) -> Vec<(String, String)> {
    let (y, m, d) = crate::gateway::throttle::civil_from_days((now_ms() / 86_400_000) as i64);
    let mut env = vec![
        ("_HANDLER", spec.handler.clone()),
        ("AWS_REGION", spec.region.clone()),
        ("AWS_DEFAULT_REGION", spec.region.clone()),
        ("AWS_LAMBDA_FUNCTION_NAME", spec.name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", spec.memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", spec.name)),
        ("AWS_LAMBDA_LOG_STREAM_NAME", format!("{y}/{m:02}/{d:02}/[$LATEST]{sandbox:032x}")),
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("LAMBDA_TASK_ROOT", spec.binary.parent().map(|p| p.display().to_string()).unwrap_or_default()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into())),
    ];
    if let Some(format) = &spec.log_format {
        env.push(("AWS_LAMBDA_LOG_FORMAT", format.clone()));
    }
    env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

impl Invoke for Runtime {
    /// `function` is a logical id, or a function ARN (qualified or not) whose name is one: what a Step Functions
    /// task's `FunctionName` resolves to.
    async fn invoke(&self, function: &str, payload: Value) -> Result<Value, InvokeError> {
        let function = function_name(function);
        let pool = lock(&self.functions)
            .get(function)
            .cloned()
            .ok_or_else(|| InvokeError::UnknownFunction(function.into()))?;
        // Waits for a free slot: locally, a burst queues rather than being throttled.
        let permits = lock(&pool.permits).0.clone();
        let _permit = permits.acquire_owned().await.map_err(|_| InvokeError::Unavailable {
            function: function.into(),
            problem: "the runtime stopped".into(),
        })?;
        let generation = lock(&pool.current).clone();
        let spec = &generation.spec;
        let idle = lock(&generation.idle).pop();
        let mut sandbox = match idle {
            Some(s) => s,
            None => self.spawn(spec).await?,
        };
        match self.run(spec, &mut sandbox, payload).await {
            Ok(v) => {
                self.release(&pool, &generation, sandbox);
                Ok(v)
            }
            Err(Failure::Function { error_type, message }) => {
                self.release(&pool, &generation, sandbox);
                Err(InvokeError::Function { function: function.into(), error_type, message })
            }
            Err(Failure::Timeout) => {
                drop(sandbox);
                Err(InvokeError::Timeout { function: function.into(), seconds: spec.timeout.as_secs() })
            }
            Err(Failure::Dead(why)) => {
                // Let the readers take in the last lines of stderr (the panic message).
                let readers = std::mem::take(&mut sandbox.readers);
                for r in readers {
                    let _ = tokio::time::timeout(Duration::from_millis(500), r).await;
                }
                let tail: Vec<String> = lock(&sandbox.stderr_tail).iter().cloned().collect();
                let detail = if tail.is_empty() { why } else { format!("{why}; stderr:\n{}", tail.join("\n")) };
                Err(InvokeError::Crashed { function: function.into(), detail })
            }
        }
    }
}

impl Runtime {
    /// Back to the idle list when its generation is current; stopped when a reload replaced it.
    fn release(&self, pool: &Pool, generation: &Arc<Generation>, sandbox: Sandbox) {
        if Arc::ptr_eq(&lock(&pool.current), generation) {
            lock(&generation.idle).push(sandbox);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn features_a_local_run_lacks_are_listed() {
        let resource = Resource {
            logical_id: "Fn".into(),
            kind: "AWS::Lambda::Function".into(),
            properties:
                json!({"Runtime": "python3.13", "Handler": "x", "Layers": ["arn"], "VpcConfig": {}, "Role": "r"})
                    .as_object()
                    .unwrap()
                    .clone(),
        };
        let features: Vec<String> = unsupported(&resource).into_iter().map(|u| u.feature).collect();
        assert_eq!(
            features,
            [
                "property Layers",
                "property VpcConfig",
                "runtime python3.13 (only custom runtimes, provided.*, run as host binaries)"
            ]
        );
    }
}
