//! A finished backtest as the trader sees it: what was tested, the headline metrics (the
//! stitched out-of-sample run for a walk-forward), each symbol's and each fold's own numbers,
//! the trades, and the equity and buy-and-hold curves. The CLI prints it, the console draws it,
//! and the database keeps it as JSON.

use serde::{Deserialize, Serialize};

use super::metrics::Metrics;
use super::portfolio::SymbolTrade;
use super::sim::{Costs, EquityPoint};
use super::walk::{Fold, WalkForward};
use crate::domain::{Interval, Symbol};
use crate::fmt::metric_rows;

/// One symbol of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LegReport {
    pub symbol: Symbol,
    /// Share of the cash.
    #[serde(with = "crate::domain::float")]
    pub weight: f64,
    pub candles: usize,
    pub metrics: Metrics,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
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
    pub costs: Costs,
    pub walk_forward: Option<WalkForward>,
    /// The headline: the whole portfolio, or the stitched out-of-sample folds.
    pub metrics: Metrics,
    pub legs: Vec<LegReport>,
    pub folds: Vec<Fold>,
    pub trades: Vec<SymbolTrade>,
    pub equity: Vec<EquityPoint>,
    /// Buy-and-hold of the same shares over the same candles, without costs.
    pub benchmark: Vec<EquityPoint>,
    /// Its id in the database, once stored.
    pub run_id: Option<i64>,
    /// Files written with --out.
    pub files: Vec<String>,
}

impl Report {
    /// A one-line label for lists: id, strategy, symbols, interval.
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
    /// for a chart that does not need each candle.
    pub fn thinned(curve: &[EquityPoint], points: usize) -> Vec<EquityPoint> {
        crate::domain::thin(curve, points)
    }

    /// The same run with its curves thinned to `points` and only the newest `trades` trades: what
    /// a console needs to draw it.
    pub fn summary(&self, points: usize, trades: usize) -> Report {
        let skip = self.trades.len().saturating_sub(trades);
        // Field by field: `..self.clone()` would copy the whole curves and trades first.
        Report {
            strategy: self.strategy.clone(),
            model: self.model.clone(),
            symbols: self.symbols.clone(),
            interval: self.interval,
            candles: self.candles,
            from_ms: self.from_ms,
            to_ms: self.to_ms,
            costs: self.costs,
            walk_forward: self.walk_forward,
            metrics: self.metrics.clone(),
            legs: self.legs.clone(),
            folds: self.folds.clone(),
            trades: self.trades[skip..].to_vec(),
            equity: Self::thinned(&self.equity, points),
            benchmark: Self::thinned(&self.benchmark, points),
            run_id: self.run_id,
            files: self.files.clone(),
        }
    }
}

/// The human report.
pub fn to_text(r: &Report) -> String {
    let mut text = format!("{}: {} candles", r.label(), r.candles);
    if let Some(model) = &r.model {
        text.push_str(&format!(", model {model}"));
    }
    text.push('\n');
    if let Some(plan) = &r.walk_forward {
        text.push_str(&format!(
            "walk-forward train={},test={},step={}: {} folds; every number below is out of \
             sample, the folds stitched\n",
            plan.train,
            plan.test,
            plan.step,
            r.folds.len()
        ));
    }
    for (name, value) in metric_rows(&r.metrics) {
        text.push_str(&format!("  {name:<24}{value}\n"));
    }
    if r.legs.len() > 1 {
        text.push_str("per symbol:\n");
        for leg in &r.legs {
            text.push_str(&format!(
                "  {:<12} share {:>5.1} %  return {:+8.2} %  buy-hold {:+8.2} %  trades {}\n",
                leg.symbol.as_str(),
                100.0 * leg.weight,
                100.0 * leg.metrics.total_return,
                100.0 * leg.metrics.buy_and_hold_return,
                leg.metrics.trades
            ));
        }
    }
    if !r.folds.is_empty() {
        text.push_str("folds (out of sample):\n");
        for f in &r.folds {
            let model = f.model.as_ref().map_or(String::new(), |m| {
                format!(
                    "  model log-loss {:.4} vs logistic {:.4}",
                    m.log_loss, m.logistic_log_loss
                )
            });
            text.push_str(&format!(
                "  {:>3}  test {} .. {}  return {:+8.2} %  buy-hold {:+8.2} %  trades {:>4}{model}\n",
                f.index,
                crate::fmt::utc_datetime(f.test_from_ms),
                crate::fmt::utc_datetime(f.test_to_ms),
                100.0 * f.metrics.total_return,
                100.0 * f.metrics.buy_and_hold_return,
                f.metrics.trades,
            ));
        }
    }
    if let Some(id) = r.run_id {
        text.push_str(&format!(
            "stored as run {id} (open it in the console's Backtest pane)\n"
        ));
    }
    for file in &r.files {
        text.push_str(&format!("wrote {file}\n"));
    }
    text
}
