//! A finished backtest as a view receives it: what was tested, the headline metrics, each
//! symbol's and each fold's numbers, the newest trades and the (thinned) equity and buy-and-hold
//! curves. These are the protocol's own types: the engine converts its `backtest::Report` into
//! them, so a change to the backtest's internals does not silently change the wire. Their JSON is
//! the report's JSON.

use serde::{Deserialize, Serialize};

use crate::domain::{BacktestMetrics, Interval, Symbol};

/// Money, costs and sizing the run used.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportCosts {
    pub cash: f64,
    /// Commission as a fraction of the traded notional, charged at entry and at exit.
    pub fee: f64,
    /// Slippage against the trade, in basis points of the fill price.
    pub slippage_bps: f64,
    /// Fraction of equity put into each position.
    pub fraction: f64,
    /// Whether short signals were taken.
    pub allow_short: bool,
}

/// A walk-forward plan, in candles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkForwardPlan {
    pub train: usize,
    pub test: usize,
    pub step: usize,
}

/// One symbol of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportLeg {
    pub symbol: Symbol,
    /// Share of the cash.
    pub weight: f64,
    pub candles: usize,
    pub metrics: BacktestMetrics,
}

/// What a fold's model scored on the held-out tail of its training window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoldScores {
    pub seconds: f64,
    pub samples_train: usize,
    pub log_loss: f64,
    pub logistic_log_loss: f64,
    pub accuracy: f64,
}

/// One walk-forward fold's out-of-sample result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportFold {
    pub index: usize,
    pub train_from_ms: i64,
    pub train_to_ms: i64,
    pub test_from_ms: i64,
    pub test_to_ms: i64,
    pub test_candles: usize,
    pub model: Option<FoldScores>,
    pub metrics: BacktestMetrics,
}

/// The side a trade held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TradeSide {
    Flat,
    Long,
    Short,
}

impl TradeSide {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeSide::Flat => "flat",
            TradeSide::Long => "long",
            TradeSide::Short => "short",
        }
    }
}

/// A closed round trip in one symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportTrade {
    pub symbol: Symbol,
    pub side: TradeSide,
    /// Open time of the candle whose open filled the entry (or exit).
    pub entry_time_ms: i64,
    pub entry_price: f64,
    pub exit_time_ms: i64,
    pub exit_price: f64,
    pub quantity: f64,
    /// Commission paid at entry and exit.
    pub fees: f64,
    pub pnl: f64,
    /// `pnl` over the money put in at entry (notional plus entry fee), in percent.
    pub return_pct: f64,
}

/// Equity at a candle's close, and how far below its peak so far (0..1).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EquityPoint {
    pub time_ms: i64,
    pub equity: f64,
    pub drawdown: f64,
}

/// A backtest report as sent to a view (the engine thins its curves and trades first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    /// As given: `sma-cross:10,20`, `buy-hold`, `model:champion`, `model:7`.
    pub strategy: String,
    /// The registered model version the strategy ran, if a model.
    pub model: Option<String>,
    pub symbols: Vec<Symbol>,
    pub interval: Interval,
    /// Candles tested (out of sample only for a walk-forward), over all symbols.
    pub candles: usize,
    pub from_ms: i64,
    pub to_ms: i64,
    pub costs: ReportCosts,
    pub walk_forward: Option<WalkForwardPlan>,
    /// The headline: the whole portfolio, or the stitched out-of-sample folds.
    pub metrics: BacktestMetrics,
    pub legs: Vec<ReportLeg>,
    pub folds: Vec<ReportFold>,
    /// The newest trades, oldest first (`metrics.trades` counts them all).
    pub trades: Vec<ReportTrade>,
    pub equity: Vec<EquityPoint>,
    /// Buy-and-hold of the same shares over the same candles, without costs.
    pub benchmark: Vec<EquityPoint>,
    /// Its id in the database, once stored.
    pub run_id: Option<i64>,
    /// Files the run wrote.
    pub files: Vec<String>,
}

impl BacktestReport {
    /// A one-line label for lists: id, strategy, symbols, interval (as the CLI's report heads it).
    pub fn label(&self) -> String {
        let symbols: Vec<&str> = self.symbols.iter().map(|s| s.as_str()).collect();
        let id = self.run_id.map(|id| format!("#{id} ")).unwrap_or_default();
        let wf = if self.walk_forward.is_some() {
            " walk-forward"
        } else {
            ""
        };
        format!(
            "{id}{}{wf} on {} {}",
            self.strategy,
            symbols.join(","),
            self.interval
        )
    }

    /// Every curve point at most `points` of them, evenly spread (the first and the last kept),
    /// for a chart that does not need each one.
    pub fn thinned(curve: &[EquityPoint], points: usize) -> Vec<EquityPoint> {
        crate::domain::thin(curve, points)
    }
}
