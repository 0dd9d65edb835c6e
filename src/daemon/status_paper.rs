//! The paper account's line in `trademon status`: equity, return, open positions and the kill
//! switch, from a daemon's live state (absent when paper trading is off).

use serde::{Deserialize, Serialize};

use crate::protocol::PaperView;

/// The paper account as `trademon status` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaperStatus {
    pub equity: f64,
    pub quote_asset: String,
    /// Equity against the start cash, in percent.
    pub return_pct: f64,
    /// "bar" or "tick".
    pub mode: String,
    /// One per open position: `BTCUSDT long 0.05`.
    pub positions: Vec<String>,
    pub kill_switch: bool,
    pub kill_reason: Option<String>,
}

impl PaperStatus {
    /// `None` when paper trading is off.
    pub fn from_view(paper: &PaperView) -> Option<Self> {
        paper.enabled.then(|| Self {
            equity: paper.equity,
            quote_asset: paper.quote_asset.clone(),
            return_pct: if paper.start_cash > 0.0 {
                100.0 * (paper.equity / paper.start_cash - 1.0)
            } else {
                0.0
            },
            mode: paper.mode.clone(),
            positions: paper
                .positions
                .iter()
                .map(|p| format!("{} {} {}", p.symbol, p.side, p.quantity))
                .collect(),
            kill_switch: paper.risk.kill_switch,
            kill_reason: paper.risk.kill_reason.clone(),
        })
    }

    /// The value of the `paper` line of the text output.
    pub fn to_line(&self) -> String {
        let positions = match self.positions.len() {
            0 => "flat".to_string(),
            n => format!("{n} open: {}", self.positions.join(", ")),
        };
        let kill = if self.kill_switch {
            format!(
                "; KILL SWITCH SET ({})",
                self.kill_reason.as_deref().unwrap_or("drawdown limit")
            )
        } else {
            String::new()
        };
        format!(
            "equity {:.2} {} ({:+.2} %), {} mode, {positions}{kill}",
            self.equity, self.quote_asset, self.return_pct, self.mode
        )
    }
}
