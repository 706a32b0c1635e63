//! The command line, through the real binary: what it refuses without a cloud, and the local cloud's lifecycle.

use std::process::{Command, Output};

fn rcdk(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rcdk-deploy"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// Removes an output directory (relative to the workspace root, as the binary resolves `--out`).
fn remove(out: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let _ = std::fs::remove_dir_all(root.join(out));
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn hotswap_is_refused_on_production() {
    let out = format!("target/{}", testkit::unique("cli-hotswap"));
    let o = rcdk(&["deploy", "--stage", "prod", "--hotswap", "--out", &out]);
    assert!(!o.status.success());
    remove(&out);
    assert!(stderr(&o).contains("--hotswap is refused on a production stage (prod)"), "{}", stderr(&o));
}

#[test]
fn destroy_without_a_terminal_needs_force() {
    let out = format!("target/{}", testkit::unique("cli-destroy"));
    let o = rcdk(&["destroy", "--stage", "dev", "--out", &out]);
    remove(&out);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("destroy deletes platform-dev-edge, platform-dev-regional"), "{e}");
    assert!(e.contains("pass --force to confirm without a terminal"), "{e}");
}

#[test]
fn diff_here_is_the_live_diff() {
    let o = rcdk(&["diff", "--stage", "dev", "--out", "target/cli-diff"]);
    remove("target/cli-diff");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("pass --live"), "{}", stderr(&o));
}

#[test]
fn the_local_cloud_starts_answers_and_stops() {
    let out = format!("target/{}", testkit::unique("cli-local"));
    let o = rcdk(&["local", "status", "--out", &out]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "local cloud: not running\n");
    let o = rcdk(&["local", "start", "--out", &out]);
    assert!(o.status.success(), "{}", stderr(&o));
    let started = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(started.starts_with("local cloud: http://127.0.0.1:"), "{started}");
    // A second start finds the running one.
    let o = rcdk(&["local", "start", "--out", &out]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), started);
    let o = rcdk(&["local", "status", "--out", &out]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), started);
    let o = rcdk(&["local", "stop", "--out", &out]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "local cloud stopped\n");
    let o = rcdk(&["local", "status", "--out", &out]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "local cloud: not running\n");
    remove(&out);
}
