//! The conversions at the engine's edge against a real run: the protocol's report, run summary
//! and costs write the JSON the backtest's own types write, and a replica follows the engine's
//! backtest updates with a real report in them.

use std::path::Path;

use crate::backtest::runner::{self, BacktestArgs};
use crate::backtest::{Report, WalkForward};
use crate::config::BacktestConfig;
use crate::domain::fixtures::ohlc;
use crate::domain::{Candle, Interval, Symbol};

use crate::fmt::metric_rows;
use crate::protocol::{
    BacktestCosts, BacktestProgress, BacktestReport, BacktestRunSummary, BacktestsView, Command,
    HealthReport, REPORT_POINTS, REPORT_TRADES, Snapshot, SourceInfo, Update,
};
use crate::store::{BacktestRun, Store};

use super::report_for_view;

fn snapshot() -> Snapshot {
    Snapshot {
        source: SourceInfo::simulated(1, 1.0),
        intervals: vec![Interval::M5],
        markets: Vec::new(),
        health: HealthReport::default(),
        recent_events: Default::default(),
        keep_candles: 10,
        started_at_ms: 0,
        signals: Vec::new(),
        models: Default::default(),
        backtests: Default::default(),
        monitor: Default::default(),
        shadow: Default::default(),
        paper: Default::default(),
    }
}

fn progress(fraction: f64) -> BacktestProgress {
    BacktestProgress {
        symbol: Symbol::new("ETHBTC").unwrap(),
        interval: Interval::M5,
        strategy: "sma-cross:10,20".into(),
        started_ms: 1_000,
        stage: "simulating".into(),
        fraction,
    }
}

fn run(id: i64) -> BacktestRunSummary {
    BacktestRunSummary {
        id,
        created_ms: 2_000 + id,
        strategy: "buy-hold".into(),
        symbols: "ETHBTC".into(),
        interval: "5m".into(),
        from_ms: 0,
        to_ms: 60_000,
        candles: 500,
        walk_forward: false,
        total_return: Some(0.1),
        buy_and_hold_return: Some(0.1),
        max_drawdown: None,
        trades: 1,
    }
}

/// A real report: a buy-and-hold of a rising series through the backtest command.
fn report() -> Report {
    let dir = tempfile::tempdir().unwrap();
    report_in(&dir.path().join("r.db"), None)
}

/// The same run, stored in `db`, walked forward with `plan` if given.
fn report_in(db: &Path, plan: Option<WalkForward>) -> Report {
    let symbol = Symbol::new("ETHBTC").unwrap();
    let candles: Vec<Candle> = (0..300)
        .map(|i| {
            let step = i as f64 * 0.01;
            ohlc(i * 300_000, 1.0 + step, 1.1 + step, 0.9 + step, 1.0 + step)
        })
        .collect();
    Store::open(db)
        .unwrap()
        .import_candles(symbol, Interval::M5, &candles)
        .unwrap();
    let mut args = BacktestArgs::new(vec![symbol], Interval::M5, "buy-hold", &Default::default());
    args.walk_forward = plan;
    runner::run(db, &args).unwrap()
}

#[test]
fn backtest_updates_apply_apart_and_a_replica_follows_the_engine() {
    let mut engine = snapshot();
    let mut replica = snapshot();
    let report = BacktestReport::from(report().summary(50, 10));
    assert!(report.equity.len() <= 50);
    let updates = [
        Update::BacktestProgress(Some(Box::new(progress(0.0)))),
        Update::BacktestProgress(Some(Box::new(progress(0.5)))),
        // The view changes while running: progress stays.
        Update::Backtests(Box::new(BacktestsView {
            runs: vec![run(1)],
            message: Some("refused: a backtest is running".into()),
            ..BacktestsView::default()
        })),
    ];
    for update in &updates {
        engine.apply(update);
        replica.apply(update);
    }
    assert_eq!(replica.backtests.running, Some(progress(0.5)));
    assert_eq!(replica.backtests.runs, vec![run(1)]);
    let done = [
        Update::BacktestProgress(None),
        Update::Backtests(Box::new(BacktestsView {
            runs: vec![run(2), run(1)],
            report: Some(Box::new(report.clone())),
            ..BacktestsView::default()
        })),
    ];
    for update in &done {
        engine.apply(update);
        replica.apply(update);
    }
    assert_eq!(replica, engine);
    let view = &replica.backtests;
    assert_eq!(view.running, None);
    assert_eq!(view.message, None);
    assert_eq!(view.report_id(), report.run_id);
    assert!(view.report_id().is_some(), "the run was stored");
    // A fresh snapshot carries the whole backtest view.
    let mut late = snapshot();
    late.apply(&Update::Snapshot(Box::new(engine.clone())));
    assert_eq!(late.backtests, engine.backtests);
}

#[test]
fn backtest_updates_and_commands_survive_json() {
    let view = BacktestsView {
        runs: vec![run(3)],
        running: Some(progress(0.25)),
        report: Some(Box::new(report().summary(20, 5).into())),
        message: Some("backtest of buy-hold on ETHBTC 5m stopped".into()),
        ..BacktestsView::default()
    };
    let updates = [
        Update::Backtests(Box::new(view)),
        Update::BacktestProgress(Some(Box::new(progress(1.0)))),
        Update::BacktestProgress(None),
    ];
    for update in updates {
        let text = serde_json::to_string(&update).unwrap();
        assert_eq!(serde_json::from_str::<Update>(&text).unwrap(), update);
    }
    let commands = [
        Command::RunBacktest {
            symbol: Symbol::new("ETHBTC").unwrap(),
            interval: Interval::M5,
            strategy: "model:champion".into(),
        },
        Command::OpenBacktest { id: 4 },
        Command::CancelBacktest,
    ];
    for command in commands {
        let text = serde_json::to_string(&command).unwrap();
        assert_eq!(serde_json::from_str::<Command>(&text).unwrap(), command);
    }
    // A snapshot from before backtests existed still reads, with an empty view.
    let mut old = serde_json::to_value(snapshot()).unwrap();
    old.as_object_mut().unwrap().remove("backtests");
    let back: Snapshot = serde_json::from_value(old).unwrap();
    assert_eq!(back.backtests, BacktestsView::default());
}

#[test]
fn the_report_a_view_gets_writes_the_json_of_the_engine_s_report() {
    let dir = tempfile::tempdir().unwrap();
    let plan = "train=100,test=50".parse().unwrap();
    let walked = report_in(&dir.path().join("w.db"), Some(plan));
    assert!(walked.folds.len() > 1, "{:?}", walked.folds);
    for summary in [report().summary(50, 10), walked] {
        let sent = BacktestReport::from(summary.clone());
        assert_eq!(
            serde_json::to_value(&sent).unwrap(),
            serde_json::to_value(&summary).unwrap()
        );
        let back: BacktestReport =
            serde_json::from_str(&serde_json::to_string(&summary).unwrap()).unwrap();
        assert_eq!(back, sent);
        assert_eq!(sent.label(), summary.label());
        assert_eq!(metric_rows(&sent.metrics), metric_rows(&summary.metrics));
    }
    let full = report();
    let curve: Vec<_> = full.equity.iter().copied().map(Into::into).collect();
    let thinned: Vec<_> = Report::thinned(&full.equity, 7)
        .into_iter()
        .map(Into::into)
        .collect::<Vec<_>>();
    assert_eq!(BacktestReport::thinned(&curve, 7), thinned);
    let view = report_for_view(&full);
    assert_eq!(view, full.summary(REPORT_POINTS, REPORT_TRADES).into());
}

#[test]
fn stored_runs_and_costs_write_the_json_of_their_store_row_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let id = report_in(&db, None).run_id.unwrap();
    let runs: Vec<BacktestRun> = Store::open(&db).unwrap().backtest_runs(10).unwrap();
    assert!(runs.iter().any(|r| r.id == id));
    for row in runs {
        let summary = BacktestRunSummary::from(row.clone());
        assert_eq!(
            serde_json::to_value(&summary).unwrap(),
            serde_json::to_value(&row).unwrap()
        );
    }
    let config = BacktestConfig {
        fee_bps: 7.5,
        slippage_bps: 1.0,
        cash: 500.0,
        short: true,
    };
    assert_eq!(
        serde_json::to_value(BacktestCosts::from(config)).unwrap(),
        serde_json::to_value(config).unwrap()
    );
    // What a view shows before the engine says otherwise is what the config defaults to.
    assert_eq!(
        BacktestCosts::from(BacktestConfig::default()),
        BacktestCosts::default()
    );
}
