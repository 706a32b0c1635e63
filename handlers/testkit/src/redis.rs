//! A real `redis-server` for the cache tests: started on a free port by the test, stopped on drop (or by
//! [`Redis::kill`], the outage case).
//!
//! **Never skipped:** without `redis-server` on the `PATH` the tests fail with a message saying to run
//! `cargo xtask setup`, which installs the Debian package.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` (no persistence: a test's data dies with it).
pub struct Redis {
    child: Option<Child>,
    port: u16,
}

impl Redis {
    /// Starts a private server on a free port; waits until it accepts connections.
    pub fn start() -> Result<Redis, String> {
        // Bind port 0 to have the OS pick a free port, then hand it to redis-server (which cannot report a port
        // it picked itself). The tiny window between the two is harmless: a clash fails the start loudly.
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port for redis-server: {e}"))?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!("could not start redis-server ({e}): the cache tests need it, run `cargo xtask setup`")
            })?;
        let redis = Redis { child: Some(child), port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("redis-server did not answer on 127.0.0.1:{port} within 10 s"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(redis)
    }

    /// `redis://127.0.0.1:<port>` (plain TCP: the local server has no certificate).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server now (the outage case) and waits until the port refuses connections.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}
