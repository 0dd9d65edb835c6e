//! The two ways `trademon backtest` runs: a portfolio of one or more symbols on their shares of
//! the cash, or a walk-forward on one symbol (retraining a model strategy on each fold).

use std::sync::atomic::{AtomicBool, Ordering};

use crate::backtest::{
    self, BuyHold, Costs, Curve, Leg, LegReport, Report, SignalStrategy, SmaCross, Strategy,
    WalkForward, combine, curve_metrics, model_signals,
};
use crate::domain::{Candle, Interval, Symbol};
use crate::model::train::{TrainError, TrainSpec, train};

use super::runner::{BacktestArgs, BacktestCommandError, Loaded, Progress, StrategySpec};

/// The strategy for one symbol's candles.
pub(super) fn strategy_for(
    spec: &StrategySpec,
    model: Option<&Loaded>,
    interval: Interval,
    candles: &[Candle],
    short: bool,
    progress: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Box<dyn Strategy>, BacktestCommandError> {
    Ok(match (spec, model) {
        (StrategySpec::BuyHold, _) => Box::new(BuyHold),
        (StrategySpec::SmaCross { fast, slow }, _) => {
            Box::new(SmaCross::new(*fast, *slow, short).map_err(BacktestCommandError::BadStrategy)?)
        }
        (StrategySpec::Model(_), Some(m)) => {
            let signals = model_signals(&m.ensemble, &m.version, interval, candles, 0, progress)?;
            Box::new(SignalStrategy::new(
                format!("model:{}", m.version),
                signals,
                short,
            ))
        }
        (StrategySpec::Model(wanted), None) => {
            return Err(BacktestCommandError::Model {
                model: wanted.clone(),
                reason: "not loaded".into(),
            });
        }
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) fn portfolio(
    args: &BacktestArgs,
    spec: &StrategySpec,
    model: Option<&Loaded>,
    series: &[(Symbol, Vec<Candle>)],
    weights: &[f64],
    costs: Costs,
    progress: &mut dyn FnMut(&Progress),
    stop: &AtomicBool,
) -> Result<Report, BacktestCommandError> {
    let mut runs = Vec::with_capacity(series.len());
    let n = series.len() as f64;
    for (k, ((symbol, candles), weight)) in series.iter().zip(weights).enumerate() {
        let mut strategy = strategy_for(
            spec,
            model,
            args.interval,
            candles,
            args.short,
            &mut |done, total| {
                progress(&Progress {
                    stage: format!("{}: model signals {done}/{total}", symbol.as_str()),
                    fraction: (k as f64 + done as f64 / total.max(1) as f64) / n,
                });
                !stop.load(Ordering::Relaxed)
            },
        )?;
        let leg_costs = Costs {
            cash: costs.cash * weight,
            ..costs
        };
        let run = backtest::run(candles, strategy.as_mut(), leg_costs).map_err(|source| {
            BacktestCommandError::Backtest {
                symbol: *symbol,
                source,
            }
        })?;
        runs.push(run);
    }
    let legs: Vec<Leg<'_>> = series
        .iter()
        .zip(weights)
        .zip(&runs)
        .map(|(((symbol, candles), weight), backtest)| Leg {
            symbol: *symbol,
            weight: *weight,
            candles,
            backtest,
        })
        .collect();
    let combined = combine(&legs);
    let trades: Vec<backtest::Trade> = combined.trades.iter().map(|t| t.trade.clone()).collect();
    let metrics = curve_metrics(&Curve {
        start_equity: costs.cash,
        equity: &combined.equity,
        trades: &trades,
        exposure: combined.exposure,
        buy_and_hold_return: combined.buy_and_hold_return,
        interval_ms: args.interval.ms(),
    });
    Ok(Report {
        strategy: args.strategy.clone(),
        model: model.map(|m| m.version.clone()),
        symbols: args.symbols.clone(),
        interval: args.interval,
        candles: series.iter().map(|(_, c)| c.len()).sum(),
        from_ms: series
            .iter()
            .filter_map(|(_, c)| c.first())
            .map(|c| c.open_time_ms)
            .min()
            .unwrap_or(0),
        to_ms: series
            .iter()
            .filter_map(|(_, c)| c.last())
            .map(|c| c.open_time_ms)
            .max()
            .unwrap_or(0),
        costs,
        walk_forward: None,
        metrics,
        legs: legs
            .iter()
            .map(|leg| LegReport {
                symbol: leg.symbol,
                weight: leg.weight,
                candles: leg.candles.len(),
                metrics: backtest::metrics(leg.backtest, leg.candles, args.interval.ms()),
            })
            .collect(),
        folds: Vec::new(),
        trades: combined.trades,
        equity: combined.equity,
        benchmark: combined.benchmark,
        run_id: None,
        files: Vec::new(),
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) fn walk(
    args: &BacktestArgs,
    spec: &StrategySpec,
    model: Option<&Loaded>,
    symbol: Symbol,
    candles: &[Candle],
    plan: WalkForward,
    costs: Costs,
    progress: &mut dyn FnMut(&Progress),
    stop: &AtomicBool,
) -> Result<Report, BacktestCommandError> {
    let train_spec = match model {
        Some(m) => Some(
            TrainSpec::from_params(&m.ensemble.params).map_err(|reason| {
                BacktestCommandError::Model {
                    model: m.version.clone(),
                    reason,
                }
            })?,
        ),
        None => None,
    };
    let fold_count = plan.folds(candles.len()).len().max(1);
    let folds = fold_count as f64;
    let interval = args.interval;
    let mut build = |fold: usize,
                     training: std::ops::Range<usize>,
                     test: std::ops::Range<usize>|
     -> Result<backtest::walk::Built, BacktestCommandError> {
        let at = |part: f64| fold as f64 / folds + part / folds;
        match (spec, &train_spec) {
            (StrategySpec::Model(_), Some(train_spec)) => {
                let mut on_epoch = |p: &crate::model::train::Progress| {
                    progress(&Progress {
                        stage: format!(
                            "fold {}/{fold_count}: training member {}/{} epoch {}",
                            fold + 1,
                            p.member,
                            p.members,
                            p.epoch
                        ),
                        fraction: at(0.9
                            * ((p.member - 1) as f64 + p.epoch as f64 / p.epochs.max(1) as f64)
                            / p.members.max(1) as f64),
                    });
                };
                let mut trained = train(
                    &candles[training.clone()],
                    interval,
                    train_spec,
                    &mut on_epoch,
                    stop,
                )
                .map_err(|e| match e {
                    TrainError::Stopped => BacktestCommandError::Stopped,
                    e => BacktestCommandError::Walk(format!("training: {e}")),
                })?;
                trained.ensemble.override_thresholds(args.thresholds);
                let version = format!("fold {fold} model");
                let window = &candles[training.start..test.end];
                let signals = model_signals(
                    &trained.ensemble,
                    &version,
                    interval,
                    window,
                    training.len(),
                    &mut |_, _| !stop.load(Ordering::Relaxed),
                )?;
                let report = &trained.report;
                let strategy = SignalStrategy::new(
                    args.strategy.clone(),
                    signals[training.len()..].to_vec(),
                    args.short,
                );
                Ok((
                    Box::new(strategy),
                    Some(backtest::FoldModel {
                        seconds: report.seconds,
                        samples_train: report.samples_train,
                        log_loss: report.test.model.log_loss,
                        logistic_log_loss: report.test.logistic.log_loss,
                        accuracy: report.test.model.accuracy,
                    }),
                ))
            }
            _ => {
                progress(&Progress {
                    stage: format!("fold {}/{fold_count}", fold + 1),
                    fraction: at(0.0),
                });
                // Warm the strategy up on the training candles; its decisions there are not used.
                let mut strategy = strategy_for(
                    spec,
                    None,
                    interval,
                    &candles[training.clone()],
                    args.short,
                    &mut |_, _| true,
                )?;
                for candle in &candles[training] {
                    strategy.on_close(candle);
                }
                Ok((strategy, None))
            }
        }
    };
    let stitched = backtest::walk_forward(candles, interval.ms(), plan, costs, &mut build)
        .map_err(|e| match e {
            backtest::walk::WalkError::Build {
                source: BacktestCommandError::Stopped,
                ..
            } => BacktestCommandError::Stopped,
            e => BacktestCommandError::Walk(e.to_string()),
        })?;
    let trades = stitched
        .trades
        .iter()
        .map(|t| backtest::SymbolTrade {
            symbol,
            trade: t.clone(),
        })
        .collect();
    Ok(Report {
        strategy: args.strategy.clone(),
        model: model.map(|m| m.version.clone()),
        symbols: vec![symbol],
        interval,
        candles: stitched.candles,
        from_ms: stitched.folds.first().map_or(0, |f| f.test_from_ms),
        to_ms: stitched.folds.last().map_or(0, |f| f.test_to_ms),
        costs,
        walk_forward: Some(plan),
        metrics: stitched.metrics.clone(),
        legs: vec![LegReport {
            symbol,
            weight: 1.0,
            candles: stitched.candles,
            metrics: stitched.metrics,
        }],
        folds: stitched.folds,
        trades,
        equity: stitched.equity,
        benchmark: stitched.benchmark,
        run_id: None,
        files: Vec::new(),
    })
}
