//! Endpoints that do not work and feeds too big for one connection, through the binary and the
//! whole runtime: a dead endpoint's failed connects are counted in the headless summary (text and
//! JSON) and logged once, not once per retry; more symbols than Binance's 1,024 streams per
//! connection allow are split over several connections of the built-in exchange, and every symbol
//! streams.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{text, trademon};
use trademon::config::Config;
use trademon::domain::{Interval, Symbol};
use trademon::engine::{Runtime, RuntimeOptions, Source};
use trademon::store::Store;

#[test]
fn a_dead_endpoint_counts_failed_connects_in_the_summary_and_logs_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dead.db");
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[feed]\nreconnect_min_ms = 50\nreconnect_max_ms = 200\n",
    )
    .unwrap();
    let args = |json: bool| {
        let mut a = vec![
            "--config",
            config.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "run",
            "--headless",
            "--for",
            "2s",
            "--source",
            "binance",
            "--ws-url",
            "ws://127.0.0.1:1",
            "--rest-url",
            "http://127.0.0.1:1",
            "--symbols",
            "BTCUSDT",
        ];
        if json {
            a.push("--json");
        }
        a
    };
    let out = trademon(dir.path(), &args(true));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed = summary["failed_connects"].as_u64().unwrap();
    assert!(failed >= 3, "{summary}");
    assert_eq!(summary["reconnects"].as_u64(), Some(0), "{summary}");
    assert_eq!(summary["messages"].as_u64(), Some(0), "{summary}");
    // Logged once for the whole run of failures, with the endpoint and the reason.
    let log = std::fs::read_to_string(dir.path().join("trademon.log")).unwrap();
    let told: Vec<_> = log
        .lines()
        .filter(|l| l.contains("connect failed"))
        .collect();
    assert_eq!(told.len(), 1, "{log}");
    assert!(
        told[0].contains("WARN") && told[0].contains("ws://127.0.0.1:1"),
        "{log}"
    );

    let out = trademon(dir.path(), &args(false));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let shown = stdout
        .split("failed connects ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok());
    assert!(shown.is_some_and(|n| n >= 3), "{stdout}");
    assert!(stdout.contains("reconnects 0"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_streams_than_one_connection_takes_are_split_and_every_symbol_streams() {
    let mut config = Config::default();
    // 205 symbols × (4 intervals + trades) = 1,025 streams: one more than Binance allows on one
    // connection (the built-in exchange refuses it too), and a URL of about 20 KiB.
    config.feed.symbols = (0..205)
        .map(|i| Symbol::new(&format!("S{i:03}USDT")).unwrap())
        .collect();
    config.feed.intervals = vec![Interval::M1, Interval::M5, Interval::M15, Interval::H1];
    config.feed.trades = true;
    config.feed.initial_backfill = 5;
    config.feed.sim.history_minutes = 30;
    config.feed.sim.speed = 600.0;
    config.feed.sim.seed = 3;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("many.db");
    let runtime = Runtime::start(RuntimeOptions {
        config: config.clone(),
        db_path: db.clone(),
        source: Source::Sim,
        with_view: false,
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let summary = runtime.stop().await.unwrap();
    assert_eq!(summary.failed_connects, 0, "{summary:?}");
    assert_eq!(summary.reconnects, 0, "{summary:?}");
    assert!(summary.messages > 1_025, "{summary:?}");
    // Every symbol streamed: closed 1m candles (one per 100 ms at this speed) reached the store
    // for each of them, the first and the last alike.
    let store = Store::open(&db).unwrap();
    for symbol in &config.feed.symbols {
        let newest = store.last_open_time(*symbol, Interval::M1).unwrap();
        assert!(newest.is_some(), "{symbol}: nothing stored");
    }
    let streamed = summary
        .candles_stored
        .iter()
        .filter(|(_, counts)| counts.iter().any(|(i, n)| *i == Interval::M1 && *n > 5))
        .count();
    assert_eq!(streamed, 205, "{:?}", summary.candles_stored);
}
