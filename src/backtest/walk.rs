//! Walk-forward: a strategy is built (for a model: trained) on each training window of N
//! candles and tested on the M candles that follow; the next fold starts S candles later. The
//! folds' out-of-sample equity is stitched — each fold starts flat with the equity the previous
//! one ended with — and only the stitched whole is a headline result.

use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::metrics::{Curve, Metrics, curve_metrics, metrics};
use super::portfolio::redraw;
use super::sim::{self, Backtest, BacktestError, Costs, EquityPoint, Trade};
use super::strategy::Strategy;
use crate::domain::Candle;

/// `train=N,test=M[,step=S]`, in candles; the step defaults to M.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkForward {
    pub train: usize,
    pub test: usize,
    pub step: usize,
}

impl FromStr for WalkForward {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = "use train=N,test=M[,step=S] (in candles), like train=5000,test=1000";
        let (mut train, mut test, mut step) = (None, None, None);
        for part in text.split(',') {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("walk-forward {text:?}: {part:?} is not KEY=N; {usage}"))?;
            let value: usize = value.trim().parse().map_err(|_| {
                format!("walk-forward {text:?}: {value:?} is not a whole number; {usage}")
            })?;
            let slot = match key.trim() {
                "train" => &mut train,
                "test" => &mut test,
                "step" => &mut step,
                other => {
                    return Err(format!(
                        "walk-forward {text:?}: unknown key {other:?}; {usage}"
                    ));
                }
            };
            if slot.replace(value).is_some() {
                return Err(format!("walk-forward {text:?}: {key} given twice"));
            }
        }
        let (Some(train), Some(test)) = (train, test) else {
            return Err(format!(
                "walk-forward {text:?}: train and test are both needed; {usage}"
            ));
        };
        let step = step.unwrap_or(test);
        if train == 0 || test < 2 {
            return Err(format!(
                "walk-forward {text:?}: train must be above 0 and test at least 2 candles"
            ));
        }
        if step < test {
            return Err(format!(
                "walk-forward {text:?}: a step of {step} below the test window of {test} would \
                 test some candles twice; the step must be at least the test window"
            ));
        }
        Ok(Self { train, test, step })
    }
}

impl WalkForward {
    /// The folds' (training, test) candle ranges over `n` candles; a last test window shorter
    /// than M is kept if it has at least 2 candles.
    pub fn folds(&self, n: usize) -> Vec<(Range<usize>, Range<usize>)> {
        let mut folds = Vec::new();
        let mut start = 0;
        while start + self.train + 2 <= n {
            let test_start = start + self.train;
            let test_end = (test_start + self.test).min(n);
            folds.push((start..test_start, test_start..test_end));
            start += self.step;
        }
        folds
    }
}

/// What a fold's model scored on its own training window (the held-out tail of it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldModel {
    #[serde(with = "crate::domain::float")]
    pub seconds: f64,
    pub samples_train: usize,
    #[serde(with = "crate::domain::float")]
    pub log_loss: f64,
    #[serde(with = "crate::domain::float")]
    pub logistic_log_loss: f64,
    #[serde(with = "crate::domain::float")]
    pub accuracy: f64,
}

/// One fold's out-of-sample result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fold {
    pub index: usize,
    pub train_from_ms: i64,
    pub train_to_ms: i64,
    pub test_from_ms: i64,
    pub test_to_ms: i64,
    pub test_candles: usize,
    pub model: Option<FoldModel>,
    pub metrics: Metrics,
}

/// The folds and their stitched out-of-sample run.
#[derive(Clone, Debug, PartialEq)]
pub struct Stitched {
    pub folds: Vec<Fold>,
    pub equity: Vec<EquityPoint>,
    pub benchmark: Vec<EquityPoint>,
    pub trades: Vec<Trade>,
    /// The test candles, in order.
    pub candles: usize,
    pub metrics: Metrics,
}

#[derive(Debug, thiserror::Error)]
pub enum WalkError<E: std::error::Error + 'static> {
    #[error(
        "walk-forward train={train},test={test} needs at least {needed} candles; there are {have}"
    )]
    TooShort {
        train: usize,
        test: usize,
        needed: usize,
        have: usize,
    },
    #[error("fold {fold}: {source}")]
    Build {
        fold: usize,
        #[source]
        source: E,
    },
    #[error("fold {fold}: {source}")]
    Backtest {
        fold: usize,
        #[source]
        source: BacktestError,
    },
}

/// A strategy for one fold, ready for its test candles, and what its model scored.
pub type Built = (Box<dyn Strategy>, Option<FoldModel>);

/// Runs the folds. `build(fold, training range, test range)` makes the fold's strategy from
/// `candles[training range]` (it may read nothing at or after the test range's start for its
/// decisions before that candle; the model strategies compute the test windows' features
/// with the training candles as warm-up).
pub fn walk_forward<E: std::error::Error + 'static>(
    candles: &[Candle],
    interval_ms: i64,
    plan: WalkForward,
    costs: Costs,
    build: &mut dyn FnMut(usize, Range<usize>, Range<usize>) -> Result<Built, E>,
) -> Result<Stitched, WalkError<E>> {
    let ranges = plan.folds(candles.len());
    if ranges.is_empty() {
        return Err(WalkError::TooShort {
            train: plan.train,
            test: plan.test,
            needed: plan.train + 2,
            have: candles.len(),
        });
    }
    let time = |i: usize| candles.get(i).map_or(0, |c| c.open_time_ms);
    let mut folds = Vec::with_capacity(ranges.len());
    let mut equity: Vec<EquityPoint> = Vec::new();
    let mut benchmark: Vec<EquityPoint> = Vec::new();
    let mut trades = Vec::new();
    let (mut cash, mut bench_cash) = (costs.cash, costs.cash);
    let (mut exposed, mut tested) = (0usize, 0usize);
    for (fold, (train, test)) in ranges.into_iter().enumerate() {
        let (mut strategy, model) = build(fold, train.clone(), test.clone())
            .map_err(|source| WalkError::Build { fold, source })?;
        let window = &candles[test.clone()];
        let run: Backtest = sim::run(window, strategy.as_mut(), Costs { cash, ..costs })
            .map_err(|source| WalkError::Backtest { fold, source })?;
        let fold_metrics = metrics(&run, window, interval_ms);
        let first_close = window.first().map_or(0.0, |c| c.close);
        benchmark.extend(window.iter().map(|c| EquityPoint {
            time_ms: c.open_time_ms,
            equity: if first_close > 0.0 {
                bench_cash * c.close / first_close
            } else {
                bench_cash
            },
            drawdown: 0.0,
        }));
        bench_cash = benchmark.last().map_or(bench_cash, |p| p.equity);
        cash = run.equity.last().map_or(cash, |p| p.equity);
        exposed += run.exposed_candles;
        tested += window.len();
        equity.extend(run.equity);
        trades.extend(run.trades);
        folds.push(Fold {
            index: fold,
            train_from_ms: time(train.start),
            train_to_ms: time(train.end - 1),
            test_from_ms: time(test.start),
            test_to_ms: time(test.end - 1),
            test_candles: window.len(),
            model,
            metrics: fold_metrics,
        });
    }
    redraw(&mut equity, costs.cash);
    redraw(&mut benchmark, costs.cash);
    let metrics = curve_metrics(&Curve {
        start_equity: costs.cash,
        equity: &equity,
        trades: &trades,
        exposure: if tested > 0 {
            exposed as f64 / tested as f64
        } else {
            0.0
        },
        buy_and_hold_return: bench_cash / costs.cash - 1.0,
        interval_ms,
    });
    Ok(Stitched {
        folds,
        equity,
        benchmark,
        trades,
        candles: tested,
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::strategy::{BuyHold, SmaCross};

    fn series(n: usize) -> Vec<Candle> {
        crate::backtest::tests::walk(n, 7)
    }

    #[test]
    fn plans_parse_and_garbage_is_refused_with_the_reason() {
        assert_eq!(
            "train=100,test=20".parse::<WalkForward>().unwrap(),
            WalkForward {
                train: 100,
                test: 20,
                step: 20
            }
        );
        assert_eq!(
            "train=5,test=3,step=4".parse::<WalkForward>().unwrap().step,
            4
        );
        for (bad, says) in [
            ("", "not KEY=N"),
            ("train=10", "both needed"),
            ("train=x,test=3", "not a whole number"),
            ("train=10,test=5,step=2", "test some candles twice"),
            ("train=10,test=5,depth=2", "unknown key"),
            ("train=10,train=3,test=5", "given twice"),
            ("train=0,test=5", "above 0"),
            ("train=10,test=1", "at least 2"),
        ] {
            let err = bad.parse::<WalkForward>().unwrap_err();
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }

    #[test]
    fn folds_tile_the_series_and_keep_a_short_last_test_window() {
        let plan = WalkForward {
            train: 10,
            test: 5,
            step: 5,
        };
        assert_eq!(
            plan.folds(27),
            vec![
                (0..10, 10..15),
                (5..15, 15..20),
                (10..20, 20..25),
                (15..25, 25..27)
            ]
        );
        assert!(plan.folds(11).is_empty());
    }

    #[test]
    fn stitched_equity_compounds_fold_by_fold_and_buy_hold_chains() {
        let candles = series(300);
        let plan: WalkForward = "train=100,test=50".parse().unwrap();
        let costs = Costs {
            fee: 0.001,
            ..Costs::default()
        };
        let mut built = Vec::new();
        let stitched = walk_forward::<std::convert::Infallible>(
            &candles,
            60_000,
            plan,
            costs,
            &mut |fold, train, test| {
                built.push((fold, train.clone(), test));
                let mut s = SmaCross::new(5, 20, false).unwrap();
                for c in &candles[train] {
                    s.on_close(c);
                }
                Ok((Box::new(s), None))
            },
        )
        .unwrap();
        assert_eq!(stitched.folds.len(), 4);
        assert_eq!(built[3], (3, 150..250, 250..300));
        assert_eq!(stitched.candles, 200);
        assert_eq!(stitched.equity.len(), 200);
        // Fold k's run starts with the equity fold k-1 ended with.
        let mut cash = costs.cash;
        for (k, fold) in stitched.folds.iter().enumerate() {
            assert!((fold.metrics.start_equity - cash).abs() < 1e-9, "fold {k}");
            cash = fold.metrics.final_equity;
        }
        assert!((stitched.metrics.final_equity - cash).abs() < 1e-9);
        // Buy-and-hold chains the folds' own first-to-last closes.
        let chained: f64 = stitched
            .folds
            .iter()
            .map(|f| 1.0 + f.metrics.buy_and_hold_return)
            .product();
        assert!((1.0 + stitched.metrics.buy_and_hold_return - chained).abs() < 1e-9);
        assert!(
            stitched
                .equity
                .iter()
                .all(|p| (0.0..1.0).contains(&p.drawdown))
        );
        let trades: usize = stitched.folds.iter().map(|f| f.metrics.trades).sum();
        assert_eq!(stitched.trades.len(), trades);
    }

    #[test]
    fn too_few_candles_for_one_fold_is_an_error_that_says_how_many() {
        let candles = series(50);
        let err = walk_forward::<std::convert::Infallible>(
            &candles,
            60_000,
            "train=100,test=10".parse().unwrap(),
            Costs::default(),
            &mut |_, _, _| Ok((Box::new(BuyHold), None)),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("at least 102 candles; there are 50"),
            "{err}"
        );
    }
}
