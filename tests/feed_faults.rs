//! The feed client against the real simulated exchange on a loopback port, through the whole
//! runtime into a real SQLite file: candles arrive complete and exact, and every fault the exchange
//! can throw (dropped connections, silence, garbage, rate limits, live gaps) leaves the store with
//! no gap and no duplicate, and the health counters say what happened.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use trademon::config::Config;
use trademon::domain::{Interval, Symbol};
use trademon::engine::{EngineSummary, Runtime, RuntimeOptions, Source};
use trademon::feed::sim::SimHandle;
use trademon::store::Store;

struct Setup {
    runtime: Runtime,
    sim: SimHandle,
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
}

fn config() -> Config {
    let mut c = Config::default();
    c.feed.symbols = vec![
        Symbol::new("BTCUSDT").unwrap(),
        Symbol::new("ETHUSDT").unwrap(),
    ];
    c.feed.intervals = vec![Interval::M1, Interval::M5];
    // 20 simulated minutes per real second: a 1m candle closes every 50 ms.
    c.feed.sim.speed = 1200.0;
    c.feed.sim.history_minutes = 240;
    c.feed.sim.seed = 7;
    c.feed.initial_backfill = 1000;
    c.feed.silence_timeout_secs = 1;
    c.feed.reconnect_min_ms = 50;
    c.feed.reconnect_max_ms = 400;
    c.store.batch_max_ms = 20;
    c
}

async fn start(config: Config) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("feed.db");
    let runtime = Runtime::start(RuntimeOptions {
        config,
        db_path: db.clone(),
        source: Source::Sim,
        with_view: false,
    })
    .await
    .unwrap();
    let sim = runtime.sim().unwrap().clone();
    Setup {
        runtime,
        sim,
        _dir: dir,
        db,
    }
}

/// Waits for `real` time, then stops and returns the summary.
async fn run_for(
    setup: Setup,
    real: Duration,
) -> (
    EngineSummary,
    SimHandle,
    std::path::PathBuf,
    tempfile::TempDir,
) {
    tokio::time::sleep(real).await;
    let Setup {
        runtime,
        sim,
        _dir,
        db,
    } = setup;
    let summary = runtime.stop().await.unwrap();
    (summary, sim, db, _dir)
}

/// Every stored series equals what the exchange generated, from its first stored candle to its
/// last, with nothing missing or doubled. Returns the candles stored per series.
fn assert_store_matches(
    db: &std::path::Path,
    sim: &SimHandle,
    intervals: &[Interval],
) -> Vec<usize> {
    let store = Store::open(db).unwrap();
    let mut counts = Vec::new();
    for symbol in sim.symbols() {
        for &interval in intervals {
            let stored = store
                .candles_between(symbol, interval, 0, i64::MAX)
                .unwrap();
            assert!(!stored.is_empty(), "{symbol} {interval}: nothing stored");
            let first = stored[0].open_time_ms;
            let last = stored[stored.len() - 1].open_time_ms;
            let expected: Vec<_> = sim
                .closed_candles(symbol, interval)
                .into_iter()
                .filter(|c| c.open_time_ms >= first && c.open_time_ms <= last)
                .collect();
            assert_eq!(
                stored.len(),
                expected.len(),
                "{symbol} {interval}: stored {} candles between {first} and {last}, the exchange has {}",
                stored.len(),
                expected.len()
            );
            for (s, e) in stored.iter().zip(&expected) {
                assert_eq!(s, e, "{symbol} {interval}: stored candle differs");
            }
            assert!(store.gaps(symbol, interval).unwrap().is_empty());
            counts.push(stored.len());
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_candles_arrive_complete_and_exact() {
    let setup = start(config()).await;
    let start_ms = setup.sim.now_ms();
    let (summary, sim, db, _dir) = run_for(setup, Duration::from_secs(3)).await;
    let counts = assert_store_matches(&db, &sim, &[Interval::M1, Interval::M5]);
    // 240 minutes of history plus ~60 live minutes.
    assert!(counts[0] >= 240 + 30, "{counts:?}");
    // Live candles, not just history: the newest stored 1m candle is past the start.
    let store = Store::open(&db).unwrap();
    let newest = store
        .last_open_time(sim.symbols()[0], Interval::M1)
        .unwrap()
        .unwrap();
    assert!(newest > start_ms + 20 * 60_000, "no live candles stored");
    assert_eq!(summary.reconnects, 0);
    assert_eq!(summary.parse_errors, 0);
    assert!(summary.messages > 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_is_repaired() {
    let setup = start(config()).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    setup.sim.faults().drop_connections();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    setup.sim.faults().drop_connections();
    let (summary, sim, db, _dir) = run_for(setup, Duration::from_millis(1500)).await;
    assert_store_matches(&db, &sim, &[Interval::M1, Interval::M5]);
    assert!(summary.reconnects >= 2, "{summary:?}");
    let store = Store::open(&db).unwrap();
    let kinds = store.event_counts().unwrap();
    let count = |k: &str| kinds.iter().find(|(n, _)| n == k).map_or(0, |(_, c)| *c);
    assert!(count("disconnected") >= 2, "{kinds:?}");
    assert!(count("connected") >= 3, "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connection_is_detected_and_replaced() {
    let setup = start(config()).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    // The connection stays open but sends nothing, not even pings.
    setup.sim.faults().freeze_connections();
    let (summary, sim, db, _dir) = run_for(setup, Duration::from_millis(3500)).await;
    assert_store_matches(&db, &sim, &[Interval::M1, Interval::M5]);
    assert!(summary.reconnects >= 1, "{summary:?}");
    let store = Store::open(&db).unwrap();
    let events = store.recent_events(50).unwrap();
    assert!(
        events.iter().any(|e| e.detail.contains("nothing received")),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_frames_are_counted_never_stored() {
    let setup = start(config()).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let garbage = [
        "this is not json",
        "{\"stream\":\"btcusdt@kline_1m\",\"data\":{\"e\":\"kline\"",
        "{\"e\":\"kline\",\"E\":1,\"s\":\"BTCUSDT\",\"k\":{\"t\":60000,\"i\":\"1m\",\"o\":\"1\",\"c\":\"1\",\"h\":\"0.5\",\"l\":\"1\",\"v\":\"1\",\"n\":1,\"x\":true,\"q\":\"1\"}}",
        "{\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":1,\"p\":\"NaN\",\"q\":\"1\",\"T\":1,\"m\":true}",
        "{\"e\":\"kline\",\"E\":1,\"s\":\"DOGEUSDT\",\"k\":{\"t\":60000,\"i\":\"1m\",\"o\":\"1\",\"c\":\"1\",\"h\":\"1\",\"l\":\"1\",\"v\":\"1\",\"n\":1,\"x\":true,\"q\":\"1\"}}",
        "[]",
    ];
    for g in garbage {
        setup.sim.faults().inject_text(g.to_string());
    }
    setup
        .sim
        .faults()
        .inject_binary(vec![0, 159, 146, 150, 255]);
    let (summary, sim, db, _dir) = run_for(setup, Duration::from_millis(1500)).await;
    assert_store_matches(&db, &sim, &[Interval::M1, Interval::M5]);
    assert_eq!(
        summary.parse_errors,
        garbage.len() as u64 + 1,
        "{summary:?}"
    );
    assert_eq!(
        summary.reconnects, 0,
        "garbage must not cost the connection"
    );
    // The invalid kline at open time 60000 never reached the store.
    let store = Store::open(&db).unwrap();
    let symbol = Symbol::new("BTCUSDT").unwrap();
    assert!(
        store
            .candles_between(symbol, Interval::M1, 0, 120_000)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .event_counts()
            .unwrap()
            .iter()
            .any(|(k, n)| k == "parse_error" && *n >= 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_backfill_waits_and_completes() {
    let setup = start(config()).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    // The next two kline requests answer 429 with Retry-After: 1; then a reconnect needs backfill.
    setup.sim.faults().rate_limit_rest(2, 1);
    setup.sim.faults().drop_connections();
    let (summary, sim, db, _dir) = run_for(setup, Duration::from_millis(4000)).await;
    assert_store_matches(&db, &sim, &[Interval::M1, Interval::M5]);
    assert!(summary.rate_limited >= 1, "{summary:?}");
    assert!(summary.gaps_repaired >= 1, "{summary:?}");
    assert!(sim.faults().rate_limited_sent() >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_gap_is_found_and_repaired_over_rest() {
    let setup = start(config()).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    setup.sim.faults().pause_streaming(true);
    tokio::time::sleep(Duration::from_millis(600)).await;
    setup.sim.faults().pause_streaming(false);
    let (summary, sim, db, _dir) = run_for(setup, Duration::from_millis(1500)).await;
    assert_store_matches(&db, &sim, &[Interval::M1, Interval::M5]);
    assert!(summary.gaps_found >= 1, "{summary:?}");
    assert!(summary.gaps_repaired >= 1, "{summary:?}");
    assert_eq!(summary.reconnects, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_is_rotated_before_the_limit_without_losing_candles() {
    let mut c = config();
    // Rotate every second instead of every 23 h.
    c.feed.rotate_after_secs = 1;
    let setup = start(c).await;
    let (summary, sim, db, _dir) = run_for(setup, Duration::from_millis(3500)).await;
    assert_store_matches(&db, &sim, &[Interval::M1, Interval::M5]);
    assert!(summary.reconnects >= 2, "{summary:?}");
    let store = Store::open(&db).unwrap();
    let events = store.recent_events(50).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.detail.contains("rotating the connection")),
        "{events:?}"
    );
}
