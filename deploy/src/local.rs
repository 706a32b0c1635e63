//! The local cloud: moto from the project venv, on 127.0.0.1, single-threaded (werkzeug `make_server(...,
//! threaded=False)`, as `handlers/testkit` runs it: moto's threaded server loses concurrent writes), detached from
//! the command that started it so that it outlives `rcdk-deploy local start` and `deploy --stage local`.
//!
//! Its state lives under `<out>/local/`: `moto.pid`, `moto.port`, `moto.log`. `local stop` kills the pid and
//! removes the files; `local status` says whether it answers.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The launcher: binds the port it is given (0: a free one), writes it to the port file, serves moto on one
/// thread. Its own process group, so a Ctrl-C on the deploy does not stop the cloud.
const LAUNCHER: &str = r#"
import sys
from werkzeug.serving import make_server, BaseWSGIServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
BaseWSGIServer.request_queue_size = 512
app = DomainDispatcherApplication(create_backend_app)
server = make_server("127.0.0.1", int(sys.argv[1]), app, threaded=False, processes=1)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_port))
import os
os.replace(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
"#;

/// Why the local cloud could not be started, stopped or found.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// No venv python or no moto in it.
    #[error("{0}: the local cloud needs moto in the project venv, run `cargo xtask setup`")]
    NoMoto(String),
    /// A file under `<out>/local/` could not be read or written.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// moto started but did not answer in time.
    #[error("moto did not answer within {0} s; see {1}")]
    Timeout(u64, String),
}

/// A running (or recorded) local cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Local {
    pub pid: u32,
    pub port: u16,
}

impl Local {
    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The files of the local cloud under the output directory.
pub struct LocalDir {
    dir: PathBuf,
}

impl LocalDir {
    pub fn new(out: &Path) -> LocalDir {
        LocalDir { dir: out.join("local") }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LocalError {
        let path = path.display().to_string();
        move |source| LocalError::Io { path, source }
    }

    /// The recorded server when it still answers.
    pub fn status(&self) -> Option<Local> {
        let read = |n: &str| std::fs::read_to_string(self.file(n)).ok().and_then(|s| s.trim().parse::<u32>().ok());
        let (pid, port) = (read("moto.pid")?, read("moto.port")?);
        let port = u16::try_from(port).ok()?;
        let alive = Path::new(&format!("/proc/{pid}")).exists() || cfg!(not(target_os = "linux"));
        (alive && TcpStream::connect(("127.0.0.1", port)).is_ok()).then_some(Local { pid, port })
    }

    /// Starts moto on `port` (0: a free port) unless it is already running; returns the running server.
    pub fn start(&self, root: &Path, port: u16) -> Result<Local, LocalError> {
        if let Some(l) = self.status() {
            return Ok(l);
        }
        let python = root.join(".venv/bin/python");
        if !python.exists() {
            return Err(LocalError::NoMoto(format!("{} not found", python.display())));
        }
        std::fs::create_dir_all(&self.dir).map_err(Self::io(&self.dir))?;
        let port_file = self.file("moto.port");
        let _ = std::fs::remove_file(&port_file);
        let log_path = self.file("moto.log");
        let log = std::fs::File::create(&log_path).map_err(Self::io(&log_path))?;
        let err = log.try_clone().map_err(Self::io(&log_path))?;
        let mut cmd = Command::new(&python);
        cmd.args(["-c", LAUNCHER, &port.to_string(), &port_file.display().to_string()])
            .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd.spawn().map_err(Self::io(&python))?;
        let pid = child.id();
        let pid_file = self.file("moto.pid");
        std::fs::write(&pid_file, pid.to_string()).map_err(Self::io(&pid_file))?;
        let limit = 30;
        let deadline = Instant::now() + Duration::from_secs(limit);
        loop {
            if let Some(l) = self.status() {
                return Ok(l);
            }
            if Instant::now() > deadline {
                return Err(LocalError::Timeout(limit, log_path.display().to_string()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the recorded server (if any) and removes its pid and port files; returns whether one was running.
    pub fn stop(&self) -> Result<bool, LocalError> {
        let running = self.status();
        if let Some(l) = &running {
            // The pid is the one this tool started and recorded; nothing else is signalled.
            let _ = Command::new("kill").arg(l.pid.to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while TcpStream::connect(("127.0.0.1", l.port)).is_ok() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        for f in ["moto.pid", "moto.port"] {
            let p = self.file(f);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Self::io(&p)(e)),
            }
        }
        Ok(running.is_some())
    }
}
