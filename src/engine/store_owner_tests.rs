//! The engine writes only through its store owner, on a real SQLite file: registry changes and a
//! backtest run are answered by it, no command re-checks the file, and a dead owner turns the
//! health report degraded.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::domain::fixtures::ohlc;
use crate::domain::{Candle, Interval, Symbol};

use crate::engine::{Engine, EngineOptions, Publisher, initial_snapshot};
use crate::feed::MarketEvent;
use crate::model::registry::tests::model;
use crate::model::registry::{EventKind, Registry};
use crate::protocol::{Command, SourceInfo};
use crate::store::writer::{RegistryJob, WriteOp, Writer, WriterOptions};
use crate::store::{Store, quick_checks_on_this_thread};

fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn candles(n: i64) -> Vec<Candle> {
    (0..n)
        .map(|i| {
            let close = 100.0 + 10.0 * (i as f64 / 15.0).sin();
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

/// An engine on `db` and the owner it writes through (opened, and checked, here).
fn engine(db: &Path) -> (Engine, Writer) {
    engine_with(db, crate::config::Config::default().model)
}

/// [`engine`] with the model settings `model` (what a retrain in the console uses).
fn engine_with(db: &Path, model: crate::config::ModelConfig) -> (Engine, Writer) {
    engine_ticking(db, model, Duration::from_secs(1))
}

/// [`engine_with`] publishing health every `health_every`.
fn engine_ticking(
    db: &Path,
    model: crate::config::ModelConfig,
    health_every: Duration,
) -> (Engine, Writer) {
    let options = EngineOptions {
        source: SourceInfo::replay("test"),
        symbols: vec![btc()],
        intervals: vec![Interval::M5],
        trades: false,
        keep_candles: 100,
        stale_after: Duration::from_secs(10),
        health_every,
        price_every: Duration::from_millis(100),
        model,
        backtest: crate::config::Config::default().backtest,
        retrain: Default::default(),
        paper: Default::default(),
        filters: Vec::new(),
        monitor: crate::config::Config::default().monitor,
        alerts: Default::default(),
        metrics: None,
        streams: Vec::new(),
        clock: std::sync::Arc::new(crate::domain::WallClock),
    };
    let state = initial_snapshot(&options, |_, _| Vec::new(), Vec::new(), 0);
    let writer = Writer::spawn(
        Store::open(db).unwrap(),
        WriterOptions {
            batch_max_rows: 100,
            batch_max_ms: 10,
        },
    );
    let (control, _) = tokio::sync::mpsc::channel(4);
    let engine = Engine::new(
        options,
        state,
        writer.sender(),
        writer.stats(),
        Some(db.to_path_buf()),
        Publisher::none(),
        control,
    );
    (engine, writer)
}

/// `db` with 600 stored candles and the models `a` (the champion) and `b`; their ids.
fn stored_with_two_models(
    db: &Path,
    a: crate::model::registry::NewModel,
    b: crate::model::registry::NewModel,
) -> (i64, i64) {
    Store::open(db)
        .unwrap()
        .import_candles(btc(), Interval::M5, &candles(600))
        .unwrap();
    let mut registry = Registry::open(db).unwrap();
    let a = registry.register(a).unwrap().id;
    let b = registry.register(b).unwrap().id;
    registry.promote(a).unwrap();
    (a, b)
}

#[test]
fn registry_changes_and_backtest_runs_go_through_the_owner_and_nothing_rechecks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let (a, b) = stored_with_two_models(&db, model(1.0), model(2.0));
    let (mut engine, writer) = engine(&db);
    let checks = quick_checks_on_this_thread();
    let stats = writer.stats();
    let calls = stats.calls.load(Ordering::Relaxed);

    engine.on_command(Command::PromoteModel { id: b });
    engine.on_command(Command::SwitchModel { id: a });
    engine.on_command(Command::RollbackModel);
    engine.on_command(Command::RunBacktest {
        symbol: btc(),
        interval: Interval::M5,
        strategy: "sma-cross:10,20".into(),
    });
    for _ in 0..6_000 {
        engine.poll_jobs();
        if engine.snapshot().backtests.running.is_none() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let backtests = &engine.snapshot().backtests;
    assert!(backtests.running.is_none(), "{backtests:?}");
    assert_eq!(backtests.runs.len(), 1, "{backtests:?}");

    assert_eq!(
        quick_checks_on_this_thread(),
        checks,
        "model commands and backtests never re-check the file"
    );
    // promote, the switch's audit entry, rollback, the switch it makes, the backtest run.
    assert_eq!(stats.calls.load(Ordering::Relaxed) - calls, 5);
    let registry = Registry::open(&db).unwrap();
    assert_eq!(registry.champion().unwrap().map(|m| m.id), Some(a));
    let kinds: Vec<EventKind> = registry
        .events(None)
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    use EventKind::{Promote, Register, Rollback, Switch};
    assert_eq!(
        kinds,
        [
            Register, Register, Promote, Promote, Switch, Rollback, Switch
        ]
    );
    assert_eq!(stats.problem(), None);
}

#[test]
fn a_dead_owner_turns_the_health_report_degraded_and_counts_what_it_lost() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let (mut engine, writer) = engine(&db);
    engine.report_health();
    assert_eq!(engine.snapshot().health.db_writer_problem, None);
    let tx = writer.sender();
    let died = tx.call(|reply: std::sync::mpsc::SyncSender<()>| {
        WriteOp::Registry(RegistryJob::new(move |_| {
            let _keep = reply;
            panic!("the disk is gone");
        }))
    });
    assert!(died.is_err());
    let stats = writer.stats();
    for _ in 0..1_000 {
        if stats.stopped.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    engine.on_market(MarketEvent::Kline {
        symbol: btc(),
        interval: Interval::M5,
        candle: candles(1)[0],
        closed: true,
    });
    engine.report_health();
    let health = &engine.snapshot().health;
    assert_eq!(health.db_rows_lost, 1);
    let problem = health.db_writer_problem.as_deref().unwrap();
    assert!(problem.contains("writer stopped"), "{problem}");
    assert!(problem.contains("1 rows not stored"), "{problem}");
    drop(engine);
    drop(tx);
    assert!(writer.finish().is_err(), "finishing says the writer died");
}

/// Issue 13, item 4: `trademon models promote 2` while a daemon ran left the daemon running 1
/// and `status` showing 1. Now the engine notices the change at its next health tick, re-reads
/// the list and runs the new champion; the promotion was audited once, where it was made.
#[test]
fn a_champion_promoted_by_another_process_runs_at_the_next_tick_audited_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    // The champion `a` is a test record whose weights do not load (the engine runs nothing);
    // `b` is the bundled demo's, which loads.
    let demo = crate::model::demo::new_model_from_export(
        crate::model::demo::DEMO_MODEL,
        crate::model::registry::Origin::Trained,
        crate::model::registry::TrainedOn::Simulated,
    )
    .unwrap();
    let (a, b) = stored_with_two_models(&db, model(1.0), demo);
    let (mut engine, _writer) = engine(&db);
    let champion = |engine: &Engine| {
        let view = &engine.snapshot().models;
        view.models
            .iter()
            .find(|m| m.role == "champion")
            .map(|m| m.id)
    };
    assert_eq!(champion(&engine), Some(a));
    assert_eq!(
        engine.snapshot().models.active,
        None,
        "a's weights do not load"
    );
    engine.watch_models();
    assert_eq!(champion(&engine), Some(a), "nothing changed yet");
    // The CLI, in another process: its own connection and its own owner.
    Registry::open(&db).unwrap().promote(b).unwrap();
    engine.watch_models();
    let view = &engine.snapshot().models;
    assert_eq!(view.active, Some(b), "the new champion runs");
    let role = |id| {
        view.models
            .iter()
            .find(|m| m.id == id)
            .unwrap()
            .role
            .clone()
    };
    assert_eq!(role(b), "champion");
    assert_eq!(role(a), "retired");
    let kinds: Vec<EventKind> = Registry::open(&db)
        .unwrap()
        .events(None)
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    use EventKind::{Promote, Register};
    assert_eq!(
        kinds,
        [Register, Register, Promote, Promote],
        "audited once"
    );
}

/// Issue 13, item 2: the writer died (an absurd batch size made it panic) and the engine ran on,
/// summarising rows it never stored. Now a dead owner stops the engine, which says why.
#[test]
fn a_dead_owner_stops_the_engine_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let (engine, writer) = engine_ticking(
        &db,
        crate::config::Config::default().model,
        Duration::from_millis(20),
    );
    let tx = writer.sender();
    let _ = tx.call(|reply: std::sync::mpsc::SyncSender<()>| {
        WriteOp::Registry(RegistryJob::new(move |_| {
            let _keep = reply;
            panic!("capacity overflow");
        }))
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The feed and the commands stay open and shutdown never comes: only the dead owner can
    // end this run.
    let (_market_tx, market) = tokio::sync::mpsc::channel(8);
    let (_command_tx, commands) = tokio::sync::mpsc::channel(8);
    let (_shutdown_tx, shutdown) = tokio::sync::watch::channel(false);
    let summary = runtime
        .block_on(async {
            tokio::time::timeout(
                Duration::from_secs(60),
                engine.run(market, commands, shutdown),
            )
            .await
        })
        .expect("the engine stops by itself once its store owner is dead");
    let why = summary.stopped_early.expect("it says why it stopped");
    assert!(why.contains("writer stopped"), "{why}");
    assert!(why.contains("capacity overflow"), "{why}");
    drop(tx);
    assert!(writer.finish().is_err(), "finishing says the writer died");
}

#[test]
fn a_retrain_from_the_console_reports_through_job_events_and_registers_through_the_owner() {
    // Training wants candles on the 5m grid (1_600_000_000_000 is 100 s past a 5m boundary).
    let on_the_grid: Vec<Candle> = candles(3_000)
        .into_iter()
        .map(|c| Candle {
            open_time_ms: c.open_time_ms - 100_000,
            ..c
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    Store::open(&db)
        .unwrap()
        .import_candles(btc(), Interval::M5, &on_the_grid)
        .unwrap();
    let mut model = crate::config::Config::default().model;
    model.members = 1;
    model.epochs = 2;
    model.hidden = 8;
    model.layers = 1;
    let (mut engine, writer) = engine_with(&db, model);
    let stats = writer.stats();
    let calls = stats.calls.load(Ordering::Relaxed);
    let before = engine.snapshot().models.models.len();
    engine.on_command(Command::Retrain {
        symbol: btc(),
        interval: Interval::M5,
    });
    let said = |e: &Engine| {
        e.snapshot()
            .models
            .last_training
            .clone()
            .unwrap_or_default()
    };
    assert!(
        said(&engine).contains("in the background"),
        "{}",
        said(&engine)
    );
    for _ in 0..12_000 {
        engine.poll_jobs();
        if said(&engine).contains("registered") || said(&engine).contains("failed") {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        said(&engine).contains("registered as a challenger"),
        "{}",
        said(&engine)
    );
    assert_eq!(
        engine.snapshot().models.models.len(),
        before + 1,
        "the list was re-read"
    );
    // The registration is the owner's one answered write (the model's reference window follows
    // as a row).
    assert_eq!(stats.calls.load(Ordering::Relaxed) - calls, 1);
    assert_eq!(stats.problem(), None);
    // The monitor's reference window went to the store with the model.
    assert!(
        said(&engine).contains("reference window of"),
        "{}",
        said(&engine)
    );
    let newest = engine.snapshot().models.models[0].id;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let reader = Store::open_reader(&db).unwrap();
    while reader.reference(newest).unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "no reference stored");
        std::thread::sleep(Duration::from_millis(20));
    }
}
