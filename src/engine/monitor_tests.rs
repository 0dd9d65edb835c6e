//! The monitor component in a real engine: a real SQLite file, the demo model (registered before
//! references existed), the simulator's candles of its training range stored. It computes and
//! stores the model's reference, watches live candles and signals, publishes its figures and
//! stores its evaluations; a second engine on the same file picks the scorecard and the PSI
//! history back up.

use std::time::{Duration, Instant};

use crate::domain::{Candle, Interval, Symbol};
use crate::engine::Engine;
use crate::engine::test_support;
use crate::feed::MarketEvent;
use crate::feed::sim::model_candles;
use crate::model::registry::Registry;
use crate::protocol::DriftStatus;
use crate::store::Store;
use crate::store::writer::Writer;

/// An engine on `db` watching `symbol` with the monitor on (W = 300, evaluated every 10).
fn engine(db: &std::path::Path, writer: &Writer, symbol: Symbol) -> Engine {
    let monitor = crate::config::MonitorConfig {
        enabled: true,
        window: 300,
        evaluate_every: 10,
    };
    let options = test_support::options(
        vec![symbol],
        std::sync::Arc::new(crate::domain::WallClock),
        monitor,
        Default::default(),
    );
    test_support::engine(db, writer, options)
}

/// Polls the engine's jobs until the monitor has published figures for `symbol`.
fn until_loaded(engine: &mut Engine, symbol: Symbol) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while engine.snapshot().monitor.of(symbol).is_none() {
        assert!(Instant::now() < deadline, "the monitor never loaded");
        std::thread::sleep(Duration::from_millis(20));
        engine.poll_jobs();
    }
}

/// Polls the engine's jobs until the monitor's figures for `symbol` cover `open_ms`.
fn until_evaluated(engine: &mut Engine, symbol: Symbol, open_ms: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while engine
        .snapshot()
        .monitor
        .of(symbol)
        .and_then(|m| m.as_of_ms)
        .is_none_or(|t| t < open_ms)
    {
        assert!(Instant::now() < deadline, "the monitor never got there");
        std::thread::sleep(Duration::from_millis(20));
        engine.poll_jobs();
    }
}

fn feed(engine: &mut Engine, symbol: Symbol, candles: &[Candle]) {
    for candle in candles {
        engine.on_market(MarketEvent::Kline {
            symbol,
            interval: Interval::M1,
            candle: *candle,
            closed: true,
        });
    }
}

#[test]
fn the_monitor_watches_the_live_model_stores_its_evaluations_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let record = {
        let mut registry = Registry::open(&db).unwrap();
        crate::model::demo::install(&mut registry).unwrap().unwrap()
    };
    let from = record.data_from_ms.unwrap();
    let trained = ((record.data_to_ms.unwrap() - from) / 60_000 + 1) as usize;
    let all = model_candles(42, symbol, from, trained + 1_500);
    Store::open(&db)
        .unwrap()
        .import_candles(symbol, Interval::M1, &all[..trained])
        .unwrap();
    let writer = test_support::writer(&db);
    let mut first = engine(&db, &writer, symbol);
    // Candles that arrive while the model loads wait for it.
    feed(&mut first, symbol, &all[trained..trained + 50]);
    until_loaded(&mut first, symbol);
    feed(&mut first, symbol, &all[trained + 50..trained + 1_000]);
    // Its thread evaluates every 10 candles and reports as a job.
    until_evaluated(&mut first, symbol, all[trained + 990].open_time_ms);
    let seen = first.snapshot().monitor.of(symbol).unwrap().clone();
    assert_eq!(seen.model_version, record.version);
    assert_eq!(seen.status, DriftStatus::Stable, "{seen:#?}");
    let reference = seen.reference.as_ref().unwrap();
    assert_eq!(reference.source, "stored candles of the training range");
    assert!(reference.rows > 10_000);
    assert_eq!(seen.window_filled, 300);
    assert_eq!(seen.features.len(), record.features.len());
    let all_window = seen
        .scorecard
        .windows
        .iter()
        .find(|w| w.last.is_none())
        .unwrap();
    // The model signals once its features and window are warm (about 190 candles).
    assert!(all_window.n >= 750, "{:?}", seen.scorecard.windows);
    assert!(seen.predictions.is_some());
    assert_eq!(seen.detectors.len(), 3);
    // What it publishes travels to an attached console as JSON and comes back the same.
    let update = crate::protocol::Update::MonitorSymbol(Box::new(seen.clone()));
    let back: crate::protocol::Update =
        serde_json::from_str(&serde_json::to_string(&update).unwrap()).unwrap();
    assert_eq!(back, update);
    drop(first);
    // Stored: the reference, and an evaluation every 10 candles.
    test_support::flush(&writer);
    let reader = Store::open_reader(&db).unwrap();
    assert!(reader.reference(record.id).unwrap().is_some());
    let history = reader
        .drift_history(&record.version, symbol, Interval::M1, 1_000)
        .unwrap();
    assert!(history.len() >= 60, "{} evaluations stored", history.len());
    // A second engine on the same file: the scorecard and the PSI history come back.
    let mut second = engine(&db, &writer, symbol);
    until_loaded(&mut second, symbol);
    let again = second.snapshot().monitor.of(symbol).unwrap().clone();
    let n_again = again
        .scorecard
        .windows
        .iter()
        .find(|w| w.last.is_none())
        .unwrap()
        .n;
    assert!(n_again >= all_window.n, "{n_again} < {}", all_window.n);
    assert!(
        again.features.iter().all(|f| f.psi_history.len() >= 40),
        "the PSI history was read back"
    );
    feed(&mut second, symbol, &all[trained + 1_000..]);
    drop(second);
    writer.finish().unwrap();
}

/// The nice value in a `/proc/<pid>/task/<tid>/stat` line: field 19, counted after the
/// parenthesised name (which may hold spaces), where field 3 starts.
fn nice_in(stat: &str) -> Option<i32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19 - 3)?.parse().ok()
}

/// The nice value of each of this process's threads named `name`, from `/proc/self/task`.
fn nice_of_threads(name: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        out.extend(nice_in(&stat));
    }
    out
}

#[test]
fn the_monitors_thread_runs_below_the_engines_priority() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("simulated.db");
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let writer = Writer::spawn(Store::open(&db).unwrap(), Default::default());
    let engine = engine(&db, &writer, symbol);
    // The engine runs on this thread, at the process's priority.
    let engines = nice_in(&std::fs::read_to_string("/proc/thread-self/stat").unwrap()).unwrap();
    let floor = super::NICE.max(engines);
    // The monitor's thread lowers its own priority as it starts: wait until every thread named
    // "monitor" (other tests' too) has.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let nices = nice_of_threads("monitor");
        if !nices.is_empty() && nices.iter().all(|&n| n >= floor) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "monitor threads at nice {nices:?}, the engine's at {engines}: want {floor} or more"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(engine);
}
