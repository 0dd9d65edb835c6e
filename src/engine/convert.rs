//! The engine's edge: its backtest reports, stored run rows and `[backtest]` config turned into
//! the protocol's own transfer types before they are published. A change to one of those inside
//! types shows up here (each conversion names every field it takes apart), not silently on the
//! wire.

use crate::backtest::{
    Costs, EquityPoint, Fold, FoldModel, LegReport, Position, Report, SymbolTrade, Trade,
    WalkForward,
};
use crate::config::BacktestConfig;
use crate::protocol::{
    self, BacktestCosts, BacktestReport, BacktestRunSummary, FoldScores, REPORT_POINTS,
    REPORT_TRADES, ReportCosts, ReportFold, ReportLeg, ReportTrade, TradeSide, WalkForwardPlan,
};
use crate::store::BacktestRun;

/// What a view is sent of `report`: its curves thinned to [`REPORT_POINTS`], its newest
/// [`REPORT_TRADES`] trades.
pub fn report_for_view(report: &Report) -> BacktestReport {
    report.summary(REPORT_POINTS, REPORT_TRADES).into()
}

impl From<Report> for BacktestReport {
    fn from(r: Report) -> Self {
        let Report {
            strategy,
            model,
            symbols,
            interval,
            candles,
            from_ms,
            to_ms,
            costs,
            walk_forward,
            metrics,
            legs,
            folds,
            trades,
            equity,
            benchmark,
            run_id,
            files,
        } = r;
        Self {
            strategy,
            model,
            symbols,
            interval,
            candles,
            from_ms,
            to_ms,
            costs: costs.into(),
            walk_forward: walk_forward.map(Into::into),
            metrics,
            legs: legs.into_iter().map(Into::into).collect(),
            folds: folds.into_iter().map(Into::into).collect(),
            trades: trades.into_iter().map(Into::into).collect(),
            equity: equity.into_iter().map(Into::into).collect(),
            benchmark: benchmark.into_iter().map(Into::into).collect(),
            run_id,
            files,
        }
    }
}

impl From<Costs> for ReportCosts {
    fn from(c: Costs) -> Self {
        let Costs {
            cash,
            fee,
            slippage_bps,
            fraction,
            allow_short,
        } = c;
        Self {
            cash,
            fee,
            slippage_bps,
            fraction,
            allow_short,
        }
    }
}

impl From<WalkForward> for WalkForwardPlan {
    fn from(w: WalkForward) -> Self {
        let WalkForward { train, test, step } = w;
        Self { train, test, step }
    }
}

impl From<LegReport> for ReportLeg {
    fn from(l: LegReport) -> Self {
        let LegReport {
            symbol,
            weight,
            candles,
            metrics,
        } = l;
        Self {
            symbol,
            weight,
            candles,
            metrics,
        }
    }
}

impl From<FoldModel> for FoldScores {
    fn from(m: FoldModel) -> Self {
        let FoldModel {
            seconds,
            samples_train,
            log_loss,
            logistic_log_loss,
            accuracy,
        } = m;
        Self {
            seconds,
            samples_train,
            log_loss,
            logistic_log_loss,
            accuracy,
        }
    }
}

impl From<Fold> for ReportFold {
    fn from(f: Fold) -> Self {
        let Fold {
            index,
            train_from_ms,
            train_to_ms,
            test_from_ms,
            test_to_ms,
            test_candles,
            model,
            metrics,
        } = f;
        Self {
            index,
            train_from_ms,
            train_to_ms,
            test_from_ms,
            test_to_ms,
            test_candles,
            model: model.map(Into::into),
            metrics,
        }
    }
}

impl From<Position> for TradeSide {
    fn from(p: Position) -> Self {
        match p {
            Position::Flat => TradeSide::Flat,
            Position::Long => TradeSide::Long,
            Position::Short => TradeSide::Short,
        }
    }
}

impl From<SymbolTrade> for ReportTrade {
    fn from(t: SymbolTrade) -> Self {
        let SymbolTrade {
            symbol,
            trade:
                Trade {
                    side,
                    entry_time_ms,
                    entry_price,
                    exit_time_ms,
                    exit_price,
                    quantity,
                    fees,
                    pnl,
                    return_pct,
                },
        } = t;
        Self {
            symbol,
            side: side.into(),
            entry_time_ms,
            entry_price,
            exit_time_ms,
            exit_price,
            quantity,
            fees,
            pnl,
            return_pct,
        }
    }
}

impl From<EquityPoint> for protocol::EquityPoint {
    fn from(p: EquityPoint) -> Self {
        let EquityPoint {
            time_ms,
            equity,
            drawdown,
        } = p;
        Self {
            time_ms,
            equity,
            drawdown,
        }
    }
}

impl From<BacktestRun> for BacktestRunSummary {
    fn from(r: BacktestRun) -> Self {
        let BacktestRun {
            id,
            created_ms,
            strategy,
            symbols,
            interval,
            from_ms,
            to_ms,
            candles,
            walk_forward,
            total_return,
            buy_and_hold_return,
            max_drawdown,
            trades,
        } = r;
        Self {
            id,
            created_ms,
            strategy,
            symbols,
            interval,
            from_ms,
            to_ms,
            candles,
            walk_forward,
            total_return,
            buy_and_hold_return,
            max_drawdown,
            trades,
        }
    }
}

impl From<BacktestConfig> for BacktestCosts {
    fn from(c: BacktestConfig) -> Self {
        let BacktestConfig {
            fee_bps,
            slippage_bps,
            cash,
            short,
        } = c;
        Self {
            fee_bps,
            slippage_bps,
            cash,
            short,
        }
    }
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
