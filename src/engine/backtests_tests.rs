//! The engine's backtests end to end on a real SQLite file: a command in, updates out.

use std::time::Duration;

use super::*;
use crate::domain::Candle;
use crate::domain::fixtures::ohlc;

use crate::engine::{Engine, EngineOptions, Publisher, initial_snapshot};
use crate::protocol::{Command, REPORT_POINTS, REPORT_TRADES, Snapshot, SourceInfo, Update};
use crate::store::writer::{Writer, WriterOptions};

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

/// A wavy deterministic 5m series, so sma-cross:10,20 trades.
fn candles(n: i64) -> Vec<Candle> {
    (0..n)
        .map(|i| {
            let close = 100.0 + 10.0 * (i as f64 / 15.0).sin() + i as f64 * 0.01;
            let open_time_ms = 1_600_000_000_000 + i * 300_000;
            Candle {
                volume: 3.0,
                quote_volume: 300.0,
                trades: 4,
                ..ohlc(open_time_ms, close - 0.1, close + 0.4, close - 0.5, close)
            }
        })
        .collect()
}

struct Harness {
    engine: Engine,
    updates: tokio::sync::mpsc::Receiver<Update>,
    /// The view's replica, fed only by the updates.
    replica: Snapshot,
    _writer: Writer,
}

/// An engine on `db` (with 1 500 stored BTCUSDT 5m candles) whose updates land in a replica.
fn harness(db: &std::path::Path) -> Harness {
    let mut store = Store::open(db).unwrap();
    store
        .import_candles(btc(), Interval::M5, &candles(1_500))
        .unwrap();
    let options = EngineOptions {
        source: SourceInfo::replay("test"),
        symbols: vec![btc()],
        intervals: vec![Interval::M5],
        trades: false,
        streams: Vec::new(),
        clock: std::sync::Arc::new(crate::domain::WallClock),
        keep_candles: 100,
        stale_after: Duration::from_secs(10),
        health_every: Duration::from_secs(1),
        price_every: Duration::from_millis(100),
        model: crate::config::Config::default().model,
        backtest: crate::config::Config::default().backtest,
        retrain: Default::default(),
        paper: Default::default(),
        filters: Vec::new(),
        monitor: crate::config::Config::default().monitor,
        alerts: Default::default(),
        metrics: None,
    };
    let state = initial_snapshot(&options, |_, _| Vec::new(), Vec::new(), 0);
    let writer = Writer::spawn(
        store,
        WriterOptions {
            batch_max_rows: 100,
            batch_max_ms: 10,
        },
    );
    let (control, _) = tokio::sync::mpsc::channel(4);
    let (tx, updates) = tokio::sync::mpsc::channel(1_000);
    let engine = Engine::new(
        options,
        state,
        writer.sender(),
        writer.stats(),
        Some(db.to_path_buf()),
        Publisher::new(tx),
        control,
    );
    let replica = engine.snapshot().clone();
    Harness {
        engine,
        updates,
        replica,
        _writer: writer,
    }
}

impl Harness {
    /// Polls like the engine's loop until `done` holds for the replica (at most 60 s).
    fn until(&mut self, what: &str, done: impl Fn(&Snapshot) -> bool) -> Vec<Update> {
        let mut seen = Vec::new();
        for _ in 0..6_000 {
            self.engine.poll_jobs();
            while let Ok(update) = self.updates.try_recv() {
                self.replica.apply(&update);
                seen.push(update);
            }
            if done(&self.replica) {
                assert_eq!(
                    self.replica.backtests,
                    self.engine.snapshot().backtests,
                    "the replica is the engine's state"
                );
                return seen;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("timed out waiting for {what}: {:?}", self.replica.backtests);
    }

    fn send(&mut self, command: Command) {
        self.engine.on_command(command);
    }
}

fn run_sma(h: &mut Harness, symbol: Symbol) {
    h.send(Command::RunBacktest {
        symbol,
        interval: Interval::M5,
        strategy: "sma-cross:10,20".into(),
    });
}

#[test]
fn a_backtest_runs_in_the_background_is_stored_and_opens_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(&dir.path().join("b.db"));
    assert!(h.replica.backtests.runs.is_empty());
    assert!(h.replica.backtests.report.is_none());
    run_sma(&mut h, btc());
    let seen = h.until("the report", |s| s.backtests.report.is_some());
    assert!(
        seen.iter()
            .any(|u| matches!(u, Update::BacktestProgress(Some(_)))),
        "progress was published"
    );
    let ended = seen
        .iter()
        .position(|u| matches!(u, Update::BacktestProgress(None)))
        .expect("the end was published");
    assert!(
        matches!(&seen[ended + 1..], [Update::Backtests(_), ..]),
        "then the view with the report"
    );
    let view = h.replica.backtests.clone();
    assert!(view.running.is_none());
    assert_eq!(view.message, None);
    let report = view.report.clone().unwrap();
    let id = report.run_id.expect("stored");
    assert_eq!(report.strategy, "sma-cross:10,20");
    assert_eq!(report.symbols, vec![btc()]);
    assert!(report.metrics.trades > 0, "the wave makes sma-cross trade");
    assert!(report.equity.len() <= REPORT_POINTS && report.equity.len() > 100);
    assert!(report.trades.len() <= REPORT_TRADES);
    assert_eq!(view.runs.len(), 1);
    assert_eq!(view.runs[0].id, id);
    assert_eq!(view.runs[0].strategy, "sma-cross:10,20");
    // Another run comes first in the list; opening the first brings its report back.
    h.send(Command::RunBacktest {
        symbol: btc(),
        interval: Interval::M5,
        strategy: "buy-hold".into(),
    });
    h.until("the second run", |s| {
        s.backtests.runs.len() == 2 && s.backtests.running.is_none()
    });
    assert_eq!(h.replica.backtests.runs[1].id, id, "newest first");
    assert_ne!(h.replica.backtests.report_id(), Some(id));
    h.send(Command::OpenBacktest { id });
    h.until("the reopened run", |s| s.backtests.report_id() == Some(id));
    assert_eq!(h.replica.backtests.report, Some(report));
}

#[test]
fn a_second_run_is_refused_and_a_running_one_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(&dir.path().join("c.db"));
    run_sma(&mut h, btc());
    run_sma(&mut h, btc());
    let message = h.engine.snapshot().backtests.message.clone().unwrap();
    assert!(
        message.contains("refused: a backtest of sma-cross:10,20 on BTCUSDT 5m is running"),
        "{message}"
    );
    // The stop is asked for right after the start. The run takes milliseconds, so it is
    // usually stopped, but on a loaded machine the thread may finish first: then the run is
    // complete and stored, which is what the trader sees too. Either way the view is consistent;
    // the stop itself is checked deterministically below.
    h.send(Command::CancelBacktest);
    assert_eq!(
        h.engine.snapshot().backtests.message.as_deref(),
        Some("stopping the backtest…")
    );
    h.until("the end of the run", |s| s.backtests.running.is_none());
    let view = &h.replica.backtests;
    match view.message.as_deref() {
        Some("backtest of sma-cross:10,20 on BTCUSDT 5m stopped") => assert!(
            view.report.is_none() && view.runs.is_empty(),
            "a stopped run stores nothing"
        ),
        None => assert!(
            view.report.as_ref().and_then(|r| r.run_id).is_some() && view.runs.len() == 1,
            "a run that finished before the stop is complete and stored"
        ),
        other => panic!("unexpected end: {other:?}"),
    }
    // A stop set before the run looks at it: stopped, nothing stored.
    let db = dir.path().join("c.db");
    let before = Store::open(&db).unwrap().backtest_runs(100).unwrap().len();
    let args = BacktestArgs::new(
        vec![btc()],
        Interval::M5,
        "sma-cross:10,20",
        &BacktestConfig::default(),
    );
    let stopped = run_with(&db, &args, &mut |_| {}, &AtomicBool::new(true));
    assert!(
        matches!(stopped, Err(BacktestCommandError::Stopped)),
        "{stopped:?}"
    );
    assert_eq!(
        Store::open(&db).unwrap().backtest_runs(100).unwrap().len(),
        before
    );
    h.send(Command::CancelBacktest);
    assert_eq!(
        h.engine.snapshot().backtests.message.as_deref(),
        Some("no backtest is running")
    );
}

#[test]
fn garbage_requests_end_in_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("g.db");
    let mut h = harness(&db);
    h.send(Command::OpenBacktest { id: 99 });
    h.until("the refusal", |s| s.backtests.message.is_some());
    let text = h.replica.backtests.message.clone().unwrap();
    assert!(
        text.contains("cannot open backtest run 99")
            && text.contains("no stored backtest run 99")
            && text.contains(&db.display().to_string()),
        "{text}"
    );
    run_sma(&mut h, Symbol::new("ETHBTC").unwrap());
    h.until("the failure", |s| {
        s.backtests.running.is_none()
            && s.backtests
                .message
                .as_ref()
                .is_some_and(|m| m.contains("failed"))
    });
    let text = h.replica.backtests.message.clone().unwrap();
    assert!(
        text.contains("backtest of sma-cross:10,20 on ETHBTC 5m failed")
            && text.contains("no ETHBTC 5m candles"),
        "{text}"
    );
    h.send(Command::RunBacktest {
        symbol: btc(),
        interval: Interval::M5,
        strategy: "moon-shot".into(),
    });
    let text = h.engine.snapshot().backtests.message.clone().unwrap();
    assert!(
        text.starts_with("refused: strategy \"moon-shot\""),
        "{text}"
    );
    assert!(h.engine.snapshot().backtests.running.is_none());
    assert!(
        h.engine.snapshot().backtests.runs.is_empty(),
        "nothing stored"
    );
}

#[test]
fn without_a_database_backtests_are_refused() {
    let mut runner = BacktestRunner::start(
        None,
        BacktestConfig::default(),
        crate::engine::jobs::detached(),
    );
    let out = runner.run(btc(), Interval::M1, "buy-hold".into(), 0);
    assert!(out.view_changed && out.progress.is_none());
    assert!(
        runner
            .view
            .message
            .as_deref()
            .is_some_and(|m| m.contains("need a database")),
        "{:?}",
        runner.view.message
    );
    runner.open(1);
    assert!(
        runner
            .view
            .message
            .as_deref()
            .is_some_and(|m| m.contains("no database"))
    );
}
