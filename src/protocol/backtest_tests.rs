//! `Snapshot::apply` with the backtest updates, and their JSON round trip, with a report built
//! here (the engine's tests do the same with a real run's report).

use crate::domain::{BacktestMetrics, Interval, Symbol};
use crate::protocol::{
    BacktestProgress, BacktestReport, BacktestRunSummary, BacktestsView, Command, EquityPoint,
    HealthReport, ReportCosts, ReportLeg, ReportTrade, Snapshot, SourceInfo, TradeSide, Update,
};

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

/// A report as the engine sends one: hand-made, with an infinite profit factor (JSON has none).
fn report() -> BacktestReport {
    let metrics = BacktestMetrics {
        start_equity: 10_000.0,
        final_equity: 11_000.0,
        total_return: 0.1,
        cagr: 2.5,
        annual_volatility: 0.3,
        sharpe: 1.5,
        sortino: 2.0,
        calmar: f64::INFINITY,
        max_drawdown: 0.0,
        max_drawdown_duration_ms: 0,
        exposure: 1.0,
        trades: 1,
        win_rate: 1.0,
        profit_factor: f64::INFINITY,
        expectancy: 1_000.0,
        average_trade_pct: 10.0,
        buy_and_hold_return: 0.1,
    };
    let symbol = Symbol::new("ETHBTC").unwrap();
    BacktestReport {
        strategy: "buy-hold".into(),
        model: None,
        symbols: vec![symbol],
        interval: Interval::M5,
        candles: 300,
        from_ms: 0,
        to_ms: 299 * 300_000,
        costs: ReportCosts {
            cash: 10_000.0,
            fee: 0.001,
            slippage_bps: 2.0,
            fraction: 1.0,
            allow_short: false,
        },
        walk_forward: None,
        metrics: metrics.clone(),
        legs: vec![ReportLeg {
            symbol,
            weight: 1.0,
            candles: 300,
            metrics,
        }],
        folds: Vec::new(),
        trades: vec![ReportTrade {
            symbol,
            side: TradeSide::Long,
            entry_time_ms: 300_000,
            entry_price: 1.0,
            exit_time_ms: 299 * 300_000,
            exit_price: 1.1,
            quantity: 10_000.0,
            fees: 0.0,
            pnl: 1_000.0,
            return_pct: 10.0,
        }],
        equity: (0..300)
            .map(|i| EquityPoint {
                time_ms: i * 300_000,
                equity: 10_000.0 + i as f64,
                drawdown: 0.0,
            })
            .collect(),
        benchmark: Vec::new(),
        run_id: Some(7),
        files: Vec::new(),
    }
}

/// `report` thinned as the engine thins one before sending it.
fn summary(mut report: BacktestReport, points: usize, trades: usize) -> BacktestReport {
    report.equity = BacktestReport::thinned(&report.equity, points);
    report.benchmark = BacktestReport::thinned(&report.benchmark, points);
    report
        .trades
        .drain(..report.trades.len().saturating_sub(trades));
    report
}

#[test]
fn backtest_updates_apply_apart_and_a_replica_follows_the_engine() {
    let mut engine = snapshot();
    let mut replica = snapshot();
    let report = summary(report(), 50, 10);
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
        report: Some(Box::new(summary(report(), 20, 5))),
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
