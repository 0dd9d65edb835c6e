//! End to end: `trademon attach` in a real terminal (tmux) on a real daemon: the console shows
//! the daemon's market and the link; the daemon going away shows "DAEMON GONE" with the last
//! state kept, its return reconnects by itself; quitting the console leaves the daemon running.
//! Needs tmux: under CI (CI=true) its absence is a failure, elsewhere a skip.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "daemon_support/process.rs"]
mod process;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use process::{DaemonProcess, bin};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn have_tmux() -> bool {
    let ok = Command::new("tmux").arg("-V").output().is_ok();
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("tmux is needed for the end-to-end attach test under CI");
        }
        eprintln!("skipping: tmux is not installed");
    }
    ok
}

struct Session(String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .output();
    }
}

fn wait_for(session: &str, needles: &[&str], timeout: Duration) -> String {
    let started = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if needles.iter().all(|n| screen.contains(n)) {
            return screen;
        }
        assert!(
            started.elapsed() < timeout,
            "timed out waiting for {needles:?}; screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn attach(home: &Path, socket: &Path) -> Session {
    let command = format!(
        "sh -c 'XDG_CONFIG_HOME={h}/cfg XDG_DATA_HOME={h}/data {bin} --db {h}/a.db attach --socket {s} 2>{h}/attach.err; echo $? > {h}/attach-status'",
        h = home.display(),
        bin = bin(),
        s = socket.display()
    );
    let session = Session(format!("trademon-attach-{}", std::process::id()));
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session.0,
        "-x",
        "100",
        "-y",
        "30",
        &command,
    ]);
    tmux(&["set-option", "-t", &session.0, "remain-on-exit", "on"]);
    session
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_shows_the_daemon_survives_its_restarts_and_quits_without_stopping_it() {
    if !have_tmux() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("a.db");
    let socket = home.path().join("a.sock");
    let args = ["--symbols", "BTCUSDT,ETHUSDT"];
    let mut daemon = DaemonProcess::start(home.path(), &db, Some(&socket), &args).await;
    let session = attach(home.path(), &socket);
    let s = &session.0;
    wait_for(
        s,
        &["SIMULATED", "⇄ daemon", "BTCUSDT 1m"],
        Duration::from_secs(20),
    );
    // Keys act on the attached console as on `run`'s.
    tmux(&["send-keys", "-t", s, "j"]);
    wait_for(s, &["ETHUSDT 1m"], Duration::from_secs(5));

    // The daemon goes: the console says so and keeps its last state.
    assert!(daemon.terminate().success());
    let screen = wait_for(
        s,
        &["DAEMON GONE", "last state kept"],
        Duration::from_secs(10),
    );
    assert!(screen.contains("ETHUSDT"), "{screen}");
    // It comes back: the console reconnects by itself.
    let mut daemon = DaemonProcess::start(home.path(), &db, Some(&socket), &args).await;
    wait_for(s, &["⇄ daemon"], Duration::from_secs(20));

    // Quitting the console leaves the daemon running.
    tmux(&["send-keys", "-t", s, "q"]);
    let status_file = home.path().join("attach-status");
    let started = Instant::now();
    while !status_file.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "attach did not quit"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let code = std::fs::read_to_string(&status_file).unwrap();
    let stderr = std::fs::read_to_string(home.path().join("attach.err")).unwrap_or_default();
    assert_eq!(code.trim(), "0", "{stderr}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        daemon.child.try_wait().unwrap().is_none(),
        "the daemon stopped"
    );
    assert!(daemon.terminate().success());
}
