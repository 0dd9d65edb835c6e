//! `trademon status` against the real binary: exit 0 with a healthy daemon, 1 with a degraded
//! one (its feed cannot connect), 2 with none (then it reads the database), text and JSON.

#![allow(clippy::unwrap_used)]

#[path = "daemon_support/process.rs"]
#[allow(dead_code)]
mod process;

use std::path::Path;
use std::time::{Duration, Instant};

use process::{DaemonProcess, trademon};

/// Runs `trademon --db DB status [--json] --socket S`; (exit code, stdout).
fn status(home: &Path, db: &Path, socket: &Path, json: bool) -> (i32, String) {
    let mut c = trademon(home);
    c.arg("--db")
        .arg(db)
        .arg("status")
        .arg("--socket")
        .arg(socket);
    if json {
        c.arg("--json");
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Polls until the exit code is `want` (a daemon just started may need a moment).
fn status_until(home: &Path, db: &Path, socket: &Path, want: i32) -> String {
    let started = Instant::now();
    loop {
        let (code, text) = status(home, db, socket, false);
        if code == want {
            return text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "exit {code}, wanted {want}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_for_absent_healthy_and_degraded_daemons() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("s.db");
    let socket = home.path().join("s.sock");

    // No daemon, no database.
    let (code, text) = status(home.path(), &db, &socket, false);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("DAEMON NOT RUNNING"), "{text}");
    assert!(text.contains("no database at"), "{text}");
    assert!(!db.exists(), "status must not create the database");

    // A healthy daemon on the simulated exchange.
    let args = ["--symbols", "BTCUSDT,ETHUSDT"];
    let mut daemon = DaemonProcess::start(home.path(), &db, Some(&socket), &args).await;
    let text = status_until(home.path(), &db, &socket, 0);
    assert!(text.contains("HEALTHY"), "{text}");
    assert!(text.contains(&format!("pid {}", daemon.pid())), "{text}");
    assert!(
        text.contains("BTCUSDT") && text.contains("connected for"),
        "{text}"
    );
    let (code, json) = status(home.path(), &db, &socket, true);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["verdict"], "healthy");
    assert_eq!(report["daemon"]["pid"], daemon.pid());
    assert!(report["candles"].as_array().unwrap().len() >= 8);
    assert!(report["db_bytes"].as_u64().unwrap() > 0);
    assert!(daemon.terminate().success());

    // No daemon, but the database it left: its last candles, still exit 2.
    let (code, json) = status(home.path(), &db, &socket, true);
    assert_eq!(code, 2, "{json}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["verdict"], "no_daemon");
    assert!(report["daemon"].is_null());
    assert!(!report["candles"].as_array().unwrap().is_empty(), "{json}");

    // A degraded daemon: its exchange cannot be reached.
    let dead = "127.0.0.1:9";
    let ws = format!("ws://{dead}");
    let rest = format!("http://{dead}");
    let args = [
        "--source",
        "binance",
        "--ws-url",
        &ws,
        "--rest-url",
        &rest,
        "--symbols",
        "BTCUSDT",
    ];
    let db2 = home.path().join("b.db");
    let mut daemon = DaemonProcess::start(home.path(), &db2, Some(&socket), &args).await;
    let text = status_until(home.path(), &db2, &socket, 1);
    assert!(text.contains("DEGRADED"), "{text}");
    assert!(text.contains("feed link"), "{text}");
    assert!(daemon.terminate().success());
}
