//! Test support for the handlers: a local moto server (DynamoDB, SQS, EventBridge, S3, Secrets Manager) that
//! the test process starts and that dies with it, SDK clients pointed at it and resources created in it
//! ([`tables`], [`Moto::queue`], [`Moto::secret`]), entities written as the API writes them ([`seed`]), the real
//! AWS event payloads ([`fixtures`]), a real `redis-server` ([`Redis`]), event source mapping stand-ins ([`convert`]), a local HTTP receiver
//! ([`http`]) and a local Lambda Runtime API ([`runtime`]).
//!
//! moto runs single-threaded (werkzeug `make_server(..., threaded=False)`, what `run_simple(threaded=False)`
//! does): moto's own threaded server loses concurrent DynamoDB `UpdateItem`s, and a single thread keeps every
//! request atomic like DynamoDB's conditional writes are.
//!
//! One server per test binary ([`Moto::shared`]): starting moto takes about a second, and tests isolate
//! themselves with unique resource names ([`unique`]). The Python launcher exits when its parent (the test
//! process) is gone, since statics are never dropped; [`Moto::start`] gives a private server killed on drop.
//!
//! **Never skipped:** without `.venv/bin/python` and moto the tests fail with a message saying to run
//! `cargo xtask setup`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a failed setup should stop the test loudly

pub mod convert;
pub mod fixtures;
pub mod http;
pub mod redis;
pub mod runtime;
pub mod seed;
pub mod tables;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_types::SdkConfig;
use powertools::config::Env;

pub use crate::redis::Redis;

/// The launcher: binds a free port, prints it, serves moto on one thread, exits when the parent is gone.
const LAUNCHER: &str = r#"
import os, sys, threading, time
parent = os.getppid()
def watch():
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.2)
threading.Thread(target=watch, daemon=True).start()
from werkzeug.serving import make_server, BaseWSGIServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
# 64 concurrent clients must queue, not see their SYNs dropped (the socketserver default backlog is 5).
BaseWSGIServer.request_queue_size = 512
app = DomainDispatcherApplication(create_backend_app)
server = make_server("127.0.0.1", 0, app, threaded=False, processes=1)
print(server.server_port, flush=True)
server.serve_forever()
"#;

/// A running moto server.
pub struct Moto {
    child: Option<Child>,
    port: u16,
}

/// The workspace root (testkit lives in `handlers/testkit`).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().nth(2).map(PathBuf::from).unwrap_or(manifest)
}

fn venv_python() -> PathBuf {
    workspace_root().join(".venv").join("bin").join("python")
}

impl Moto {
    /// The server shared by every test of this process.
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(|| Moto::start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// Starts a private server, killed when the returned value is dropped.
    pub fn start() -> Result<Moto, String> {
        let python = venv_python();
        if !python.exists() {
            return Err(format!(
                "{} not found: the handler tests need moto in the project venv, run `cargo xtask setup`",
                python.display()
            ));
        }
        let check = Command::new(&python)
            .args(["-c", "import moto, werkzeug"])
            .output()
            .map_err(|e| format!("could not run {}: {e}", python.display()))?;
        if !check.status.success() {
            return Err(format!(
                "moto is not installed in {}: run `cargo xtask setup` ({})",
                python.display(),
                String::from_utf8_lossy(&check.stderr).trim()
            ));
        }
        let mut child = Command::new(&python)
            .args(["-c", LAUNCHER])
            .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start moto with {}: {e}", python.display()))?;
        let stdout = child.stdout.take().ok_or("moto stdout not captured")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map_err(|e| format!("reading moto's port: {e}"))?;
        let port: u16 = match line.trim().parse() {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                return Err(format!("moto did not print its port (got {line:?})"));
            }
        };
        let moto = Moto { child: Some(child), port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("moto did not answer on 127.0.0.1:{port} within 30 s"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(moto)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SDK config for the server: dummy credentials, us-east-1, the endpoint override.
    pub fn sdk_config(&self) -> SdkConfig {
        let http = aws_smithy_http_client::Builder::new().build_http();
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "testkit",
            )))
            .http_client(http)
            .sleep_impl(aws_smithy_async_sleep())
            .time_source(aws_smithy_async::time::SystemTimeSource::new())
            .build()
    }

    /// A DynamoDB client for the server.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config())
    }

    /// A DynamoDB Streams client for the server.
    pub fn dynamodb_streams(&self) -> aws_sdk_dynamodbstreams::Client {
        aws_sdk_dynamodbstreams::Client::new(&self.sdk_config())
    }

    /// An SQS client for the server.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config())
    }

    /// An EventBridge client for the server.
    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.sdk_config())
    }

    /// An S3 client for the server (path-style: moto has no virtual-host DNS).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk_config()).force_path_style(true).build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// A signer for the calls made without SDK clients (`powertools::signed`: S3 puts and presigned gets, Step
    /// Functions), pointed at the server with the same dummy credentials and region as [`Moto::sdk_config`].
    pub fn signer(&self) -> powertools::signed::Signer {
        powertools::signed::Signer {
            region: "us-east-1".into(),
            credentials: Credentials::new("testing", "testing", None, None, "testkit"),
            endpoint: Some(self.endpoint()),
        }
    }

    /// A Secrets Manager client for the server.
    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk_config())
    }

    /// A new secret named [`unique`]`(prefix)` holding `value`: its ARN.
    pub async fn secret(&self, prefix: &str, value: &str) -> String {
        let out = self.secrets().create_secret().name(unique(prefix)).secret_string(value).send().await.unwrap();
        out.arn().unwrap().to_string()
    }

    /// A new queue named [`unique`]`(prefix)` with `attributes`: its URL.
    pub async fn queue(&self, prefix: &str, attributes: &[(QueueAttributeName, String)]) -> String {
        let mut create = self.sqs().create_queue().queue_name(unique(prefix));
        for (name, value) in attributes {
            create = create.attributes(name.clone(), value);
        }
        create.send().await.unwrap().queue_url().unwrap().to_string()
    }
}

fn aws_smithy_async_sleep() -> aws_smithy_async::rt::sleep::SharedAsyncSleep {
    aws_smithy_async::rt::sleep::SharedAsyncSleep::new(aws_smithy_async::rt::sleep::TokioSleep::new())
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The variables Lambda sets for the SDK (dummy values).
const LAMBDA_ENV: &[(&str, &str)] =
    &[("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "AKID"), ("AWS_SECRET_ACCESS_KEY", "SECRET")];

/// Calls a handler's `Deps::from_env` as its `main` does, with an environment of `vars` plus the SDK variables
/// Lambda sets (`AWS_REGION` is `eu-west-1`, the access key id `AKID`): no process environment, no IO.
pub fn from_lambda_env<T>(vars: &[(&str, &str)], from_env: impl FnOnce(&SdkConfig, &Env<'_>) -> T) -> T {
    let vars: Vec<(&str, &str)> = LAMBDA_ENV.iter().chain(vars).copied().collect();
    let env = Env::from_pairs(&vars);
    from_env(&powertools::aws::config_from(&env).unwrap(), &env)
}

/// A name unique in this process and across processes sharing a server: `<prefix>-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Runs a closure with a deadline, polling: for eventually consistent reads in tests.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn moto_answers_dynamodb() {
        let moto = Moto::shared();
        let ddb = moto.dynamodb();
        let t = tables::Tables::create(&ddb).await;
        let listed = ddb.list_tables().send().await.unwrap();
        let names = listed.table_names();
        assert!(names.contains(&t.entity) && names.contains(&t.control), "{names:?}");
    }

    #[test]
    fn private_server_dies_on_drop() {
        let moto = Moto::start().unwrap();
        let port = moto.port;
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
        drop(moto);
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", port)).is_ok() {
            assert!(Instant::now() < deadline, "moto still answers on {port} after drop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
