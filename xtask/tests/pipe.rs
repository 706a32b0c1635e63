//! A command whose output is piped into a reader that leaves early (`cargo xtask synth | head -1`) ends quietly
//! with success, as `head` and `grep` users expect, instead of panicking with "failed printing to stdout".

use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn synth_into_a_closed_pipe_exits_quietly() {
    let out = std::env::temp_dir().join(format!("xtask-pipe-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["synth", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xtask starts");
    // Close the reading end before synth (milliseconds of work) prints its first line: every write then fails
    // with EPIPE, the case `head -1` creates once it has its line.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child.stderr.take().expect("stderr piped").read_to_string(&mut stderr).expect("stderr readable");
    let status = child.wait().expect("xtask ends");
    let _ = std::fs::remove_dir_all(&out);
    assert!(!stderr.contains("panicked"), "xtask panicked on a closed pipe:\n{stderr}");
    assert!(status.success(), "xtask failed on a closed pipe ({status}):\n{stderr}");
}
