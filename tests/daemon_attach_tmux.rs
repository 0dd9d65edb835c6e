//! End to end: `trademon attach` in a real terminal (tmux) on a real daemon: the console shows
//! the daemon's market and the link; the daemon going away shows "DAEMON GONE" with the last
//! state kept, its return reconnects by itself; quitting the console leaves the daemon running.
//! Needs tmux: under CI (CI=true) its absence is a failure, elsewhere a skip.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "daemon_support/process.rs"]
mod process;
mod support;

use std::path::Path;
use std::time::Duration;

use process::DaemonProcess;
use support::tmux::{Session, have_tmux, trademon_command, wait_for_file};

/// `trademon attach` to the daemon on `socket`, its directories under `home`.
fn attach(home: &Path, socket: &Path) -> Session {
    let args = format!(
        "--db {h}/a.db attach --socket {s}",
        h = home.display(),
        s = socket.display()
    );
    let command = trademon_command(home, &args, "attach.err", "attach-status");
    Session::start("trademon-attach", 100, 30, &command, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_shows_the_daemon_survives_its_restarts_and_quits_without_stopping_it() {
    if !have_tmux("the end-to-end attach test") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("a.db");
    let socket = home.path().join("a.sock");
    let args = ["--symbols", "BTCUSDT,ETHUSDT"];
    let mut daemon = DaemonProcess::start(home.path(), &db, Some(&socket), &args).await;
    let session = attach(home.path(), &socket);
    session.wait_for(
        &["SIMULATED", "⇄ daemon", "BTCUSDT 1m"],
        Duration::from_secs(20),
    );
    // Keys act on the attached console as on `run`'s.
    session.send_keys("j");
    session.wait_for(&["ETHUSDT 1m"], Duration::from_secs(5));

    // The daemon goes: the console says so and keeps its last state.
    assert!(daemon.terminate().success());
    let screen = session.wait_for(&["DAEMON GONE", "last state kept"], Duration::from_secs(10));
    assert!(screen.contains("ETHUSDT"), "{screen}");
    // It comes back: the console reconnects by itself.
    let mut daemon = DaemonProcess::start(home.path(), &db, Some(&socket), &args).await;
    session.wait_for(&["⇄ daemon"], Duration::from_secs(20));

    // Quitting the console leaves the daemon running.
    session.send_keys("q");
    let status_file = home.path().join("attach-status");
    wait_for_file(&status_file, Duration::from_secs(10), "attach did not quit");
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
