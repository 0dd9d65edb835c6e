//! End to end: the real `trademon` binary in a real terminal (tmux), driven by keys, read back
//! with capture-pane. Needs tmux: under CI (CI=true) its absence is a failure, elsewhere a skip.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::tmux::{Session, have_tmux, trademon_command, wait_for_file};

/// The console on the built-in exchange with three symbols, its database in `dir`.
fn start(dir: &Path, name: &str, width: u16, height: u16) -> Session {
    let db = dir.join("console.db");
    let args = format!(
        "--db {} run --symbols BTCUSDT,ETHUSDT,SOLUSDT",
        db.display()
    );
    let command = trademon_command(dir, &args, "stderr", "exit-status");
    Session::start(name, width, height, &command, true)
}

#[test]
fn console_runs_switches_and_quits_cleanly() {
    if !have_tmux("the end-to-end console test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let session = start(dir.path(), "trademon-e2e", 100, 30);
    // Live data from the built-in exchange, clearly marked as simulated.
    let screen = session.wait_for(
        &["SIMULATED", "BTCUSDT", "ETHUSDT", "SOLUSDT"],
        Duration::from_secs(20),
    );
    assert!(screen.contains("1m"), "{screen}");
    // Next symbol, next interval.
    session.send_keys("j");
    session.send_keys("l");
    session.wait_for(&["ETHUSDT 5m"], Duration::from_secs(5));
    // Health pane.
    session.send_keys("2");
    session.wait_for(&["ethusdt@kline_1m", "reconnects"], Duration::from_secs(5));
    // Models pane: the demo ensemble was registered on this first simulated run and runs.
    session.send_keys("4");
    session.wait_for(
        &[
            "running ensemble-BTCUSDT-1m@1.0.0",
            "SIMULATED DATA",
            "champion",
        ],
        Duration::from_secs(5),
    );
    // Signals pane: every symbol gets a signal from it (HOLD, BUY or SELL) with probabilities.
    session.send_keys("3");
    let screen = session.wait_for(
        &["Signals", "Indicator weights", "SOLUSDT"],
        Duration::from_secs(10),
    );
    assert!(
        ["HOLD", "BUY", "SELL"].iter().any(|w| screen.contains(w)),
        "{screen}"
    );
    // Help overlay, generated from the keymap.
    session.send_keys("?");
    session.wait_for(&["quit trademon", "next symbol"], Duration::from_secs(5));
    session.send_keys("Escape");
    // Quit: the process exits with status 0 and the terminal is restored (alternate screen left).
    session.send_keys("q");
    let status_file = dir.path().join("exit-status");
    wait_for_file(
        &status_file,
        Duration::from_secs(10),
        "trademon did not exit after q",
    );
    std::thread::sleep(Duration::from_millis(100));
    let status = std::fs::read_to_string(&status_file).unwrap();
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default();
    assert_eq!(status.trim(), "0", "exit status; stderr:\n{stderr}");
    let after = session.capture();
    assert!(
        !after.contains("SIMULATED"),
        "console left on screen after quit:\n{after}"
    );
    // It stored candles in the database it was given.
    let store = trademon::store::Store::open(&dir.path().join("console.db")).unwrap();
    let btc = trademon::domain::Symbol::new("BTCUSDT").unwrap();
    assert!(
        store
            .count_candles(btc, trademon::domain::Interval::M1)
            .unwrap()
            > 100
    );
}

#[test]
fn backtest_pane_runs_a_backtest_and_lists_it() {
    if !have_tmux("the end-to-end console test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let session = start(dir.path(), "trademon-e2e-backtest", 120, 36);
    session.wait_for(&["SIMULATED", "BTCUSDT"], Duration::from_secs(20));
    session.send_keys("5");
    session.wait_for(
        &["5 Backtest", "press r to backtest BTCUSDT", "none yet"],
        Duration::from_secs(5),
    );
    // The backfilled candles reach the database through the writer; until they do, a run is
    // refused with "no BTCUSDT 1m candles", so ask again until a report is on show.
    let started = Instant::now();
    let screen = loop {
        session.send_keys("s");
        std::thread::sleep(Duration::from_secs(2));
        let screen = session.capture();
        if screen.contains("#1 sma-cross:10,20 on BTCUSDT 1m") {
            break screen;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no report after 30 s:\n{screen}"
        );
    };
    for text in [
        "Equity",
        "buy and hold",
        "Drawdown",
        "Metrics",
        "Trades",
        "▶#1",
    ] {
        assert!(screen.contains(text), "{text}:\n{screen}");
    }
    session.send_keys("q");
    let status_file = dir.path().join("exit-status");
    wait_for_file(
        &status_file,
        Duration::from_secs(10),
        "trademon did not exit after q",
    );
    // The run is stored and opens again from the database.
    let report = trademon::commands::backtest::open_run(&dir.path().join("console.db"), 1).unwrap();
    assert_eq!(report.strategy, "sma-cross:10,20");
}
