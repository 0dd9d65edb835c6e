//! The real daemon process: three attached clients see the same candles and a command from
//! one is seen by all; SIGKILL mid-stream then a restart leaves a sound database and the
//! clients reconnect by themselves; the socket is owner-only and a second daemon is refused;
//! SIGTERM stops it cleanly.

#![allow(clippy::unwrap_used)]

#[path = "daemon_support/process.rs"]
mod process;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use process::{DaemonProcess, Watcher, trademon};
use trademon::daemon::client::LinkStatus;
use trademon::domain::{Interval, Symbol};
use trademon::protocol::Command;
use trademon::store::Store;

fn symbols() -> [Symbol; 2] {
    ["BTCUSDT".parse().unwrap(), "ETHUSDT".parse().unwrap()]
}

const ARGS: &[&str] = &["--symbols", "BTCUSDT,ETHUSDT", "--intervals", "1m"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_clients_see_the_same_candles_and_a_command_from_one_is_seen_by_all() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("d.db");
    let socket = home.path().join("d.sock");
    let mut daemon = DaemonProcess::start(home.path(), &db, Some(&socket), ARGS).await;
    let clients: Vec<Watcher> = (0..3)
        .map(|_| Watcher::start(&socket, Interval::M1))
        .collect();
    for c in &clients {
        c.wait_for("a snapshot", Duration::from_secs(20), |s| {
            s.replica.is_some()
        })
        .await;
    }
    // Candles close once a second at the demo speed: wait for three more in every client.
    let [btc, eth] = symbols();
    let target = clients[0].newest_closed(btc).unwrap() + 3 * Interval::M1.ms();
    for c in &clients {
        c.wait_for("three more closed candles", Duration::from_secs(30), |s| {
            s.closed.keys().any(|(sym, t)| *sym == btc && *t >= target)
                && s.closed.keys().any(|(sym, t)| *sym == eth && *t >= target)
        })
        .await;
    }
    for symbol in [btc, eth] {
        let window = |c: &Watcher| {
            let seen = c.seen.lock().unwrap();
            let series = &seen
                .replica
                .as_ref()
                .unwrap()
                .market(symbol)
                .unwrap()
                .series[0];
            series
                .closed
                .iter()
                .filter(|k| k.open_time_ms > target - 60 * Interval::M1.ms())
                .filter(|k| k.open_time_ms <= target)
                .copied()
                .collect::<Vec<_>>()
        };
        let first = window(&clients[0]);
        assert!(first.len() >= 50, "{symbol}: {} candles", first.len());
        assert_eq!(first, window(&clients[1]), "{symbol}");
        assert_eq!(first, window(&clients[2]), "{symbol}");
    }
    // A command from one client (reconnect the feed) is seen by all three.
    let reconnects = |c: &Watcher| {
        let seen = c.seen.lock().unwrap();
        seen.replica.as_ref().unwrap().health.reconnects
    };
    let before: Vec<u64> = clients.iter().map(reconnects).collect();
    clients[1].commands.send(Command::Reconnect).await.unwrap();
    for (c, before) in clients.iter().zip(before) {
        c.wait_for("the reconnect in health", Duration::from_secs(20), |s| {
            s.replica.as_ref().unwrap().health.reconnects > before
        })
        .await;
    }
    // SIGTERM: a clean stop, the socket is gone and the WAL checkpointed into the database.
    let status = daemon.terminate();
    assert!(status.success(), "{status}: {}", daemon.stderr_text());
    assert!(!socket.exists());
    let wal = home.path().join("d.db-wal");
    assert!(std::fs::metadata(&wal).map_or(true, |m| m.len() == 0));
    let store = Store::open(&db).unwrap();
    store.quick_check().unwrap();
    assert!(store.count_candles(btc, Interval::M1).unwrap() > 0);
    for c in &clients {
        c.wait_for(
            "the link to say the daemon went",
            Duration::from_secs(10),
            |s| {
                matches!(
                    s.link.last(),
                    Some(LinkStatus::Waiting { .. } | LinkStatus::Connecting)
                )
            },
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_keeps_the_database_sound_and_clients_reconnect_after_a_restart() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("k.db");
    let socket = home.path().join("k.sock");
    let mut daemon = DaemonProcess::start(home.path(), &db, Some(&socket), ARGS).await;
    let clients: Vec<Watcher> = (0..2)
        .map(|_| Watcher::start(&socket, Interval::M1))
        .collect();
    for c in &clients {
        c.wait_for("closed candles", Duration::from_secs(30), |s| {
            s.closed.len() >= 8
        })
        .await;
    }
    daemon.child.kill().unwrap();
    let killed_at = Instant::now();
    daemon.child.wait().unwrap();
    // The database is sound, and every candle the clients saw close more than a second before
    // the kill (ten writer batches of 100 ms) is in it: at most the last batch is lost.
    let store = Store::open(&db).unwrap();
    store.quick_check().unwrap();
    let seen_before: Vec<(Symbol, i64, f64)> = {
        let seen = clients[0].seen.lock().unwrap();
        seen.closed
            .iter()
            .filter(|(_, (_, at))| *at + Duration::from_secs(1) < killed_at)
            .map(|((s, t), (close, _))| (*s, *t, *close))
            .collect()
    };
    assert!(!seen_before.is_empty());
    for (symbol, open_time_ms, close) in &seen_before {
        let stored = store
            .candles_between(*symbol, Interval::M1, *open_time_ms, open_time_ms + 1)
            .unwrap();
        assert_eq!(stored.len(), 1, "{symbol} {open_time_ms} lost");
        assert_eq!(stored[0].close, *close);
    }
    drop(store);
    for c in &clients {
        c.wait_for("the link to notice", Duration::from_secs(10), |s| {
            matches!(
                s.link.last(),
                Some(LinkStatus::Waiting { .. } | LinkStatus::Connecting)
            )
        })
        .await;
    }
    // A restart on the same database and socket (the dead daemon's socket file is replaced,
    // its locks died with it); the clients come back by themselves with a fresh snapshot.
    let mut restarted = DaemonProcess::start(home.path(), &db, Some(&socket), ARGS).await;
    let newest = clients[0].newest_closed(symbols()[0]).unwrap();
    for c in &clients {
        c.wait_for(
            "a reconnect with new candles",
            Duration::from_secs(30),
            |s| {
                s.snapshots >= 2
                    && s.link.last() == Some(&LinkStatus::Connected)
                    && s.closed.keys().any(|(_, t)| *t > newest)
            },
        )
        .await;
    }
    assert!(
        restarted.terminate().success(),
        "{}",
        restarted.stderr_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_is_owner_only_and_a_second_daemon_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("p.db");
    // The default socket, under $XDG_RUNTIME_DIR.
    let mut daemon = DaemonProcess::start(home.path(), &db, None, ARGS).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&daemon.socket), 0o600);
    assert_eq!(mode(daemon.socket.parent().unwrap()), 0o700);
    // Same database, another socket: refused, naming the running daemon.
    let other_socket = home.path().join("other.sock");
    let out = trademon(home.path())
        .arg("--db")
        .arg(&db)
        .args(["daemon", "--socket"])
        .arg(&other_socket)
        .args(ARGS)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("already running on database"), "{stderr}");
    assert!(
        stderr.contains(&format!("(pid {})", daemon.pid())),
        "{stderr}"
    );
    assert!(!other_socket.exists());
    // Another database, the same socket: refused too.
    let out = trademon(home.path())
        .arg("--db")
        .arg(home.path().join("q.db"))
        .arg("daemon")
        .args(ARGS)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("already running on socket"), "{stderr}");
    // Garbage flags are refused before anything starts.
    let out = trademon(home.path())
        .arg("--db")
        .arg(home.path().join("r.db"))
        .args(["daemon", "--sim-speed", "0", "--socket"])
        .arg(home.path().join("r.sock"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--sim-speed 0: must be above 0"),
        "{stderr}"
    );
    // attach with no daemon at the socket: a clear error, no console.
    let out = trademon(home.path())
        .args(["attach", "--socket"])
        .arg(home.path().join("nobody.sock"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no trademon daemon at"), "{stderr}");
    // The first one was not disturbed.
    assert!(daemon.child.try_wait().unwrap().is_none());
    assert!(daemon.terminate().success());
    assert!(!daemon.socket.exists());
}
