//! The `[paper]` section: the paper account (cash, costs, how fills are simulated) and its risk
//! rules (`[paper.risk]`). The fill rules themselves are `broker`'s.

use serde::{Deserialize, Serialize};

use super::retrain::Span;

/// How paper orders fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaperMode {
    /// As a backtest: at the next candle's open plus slippage.
    Bar,
    /// On the trade stream: after the latency, limits only when a trade prints through.
    Tick,
}

impl PaperMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PaperMode::Bar => "bar",
            PaperMode::Tick => "tick",
        }
    }
}

/// How an entry is sized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sizing {
    /// `fraction` of the symbol's share of the equity.
    Fraction,
    /// So that the stop-loss loses `risk_per_trade` of that equity.
    Risk,
}

/// The risk rules.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperRisk {
    pub sizing: Sizing,
    /// Share of a symbol's equity put into a position (`sizing = "fraction"`), 0 to 1.
    pub fraction: f64,
    /// Share of a symbol's equity lost at the stop (`sizing = "risk"`), 0 to 0.2.
    pub risk_per_trade: f64,
    /// Stop-loss placed with every signal entry, as a fraction below (long) or above (short) the
    /// entry price; 0 for none.
    pub stop_loss: f64,
    /// At most this many positions open at once; 0 for no limit.
    pub max_open_positions: usize,
    /// The kill switch: no new entries once equity is this far below its peak (0 to 1; 1 = off),
    /// until reset by a key.
    pub max_drawdown: f64,
    /// No new entry in a symbol for this long after a stop-loss filled in it.
    pub cooldown_after_stop: Span,
}

impl Default for PaperRisk {
    /// The `[paper.risk]` defaults of config/default.toml.
    fn default() -> Self {
        Self {
            sizing: Sizing::Fraction,
            fraction: 1.0,
            risk_per_trade: 0.01,
            stop_loss: 0.0,
            max_open_positions: 0,
            max_drawdown: 0.25,
            cooldown_after_stop: Span::from_ms(3_600_000),
        }
    }
}

/// The paper account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperConfig {
    pub enabled: bool,
    /// The account's cash when it opens, in the quote asset; split equally across the symbols.
    pub cash: f64,
    pub quote_asset: String,
    pub fee_maker_bps: f64,
    pub fee_taker_bps: f64,
    pub slippage_bps: f64,
    /// Time from an order's placing to its arrival at the (simulated) exchange, tick mode.
    pub latency_ms: u64,
    pub mode: PaperMode,
    /// Trade the active model's signals (Buy → long, Sell → flat or short).
    pub trade_signals: bool,
    /// A Sell signal goes short (otherwise flat).
    pub allow_short: bool,
    pub risk: PaperRisk,
}

impl Default for PaperConfig {
    /// The `[paper]` defaults of config/default.toml (a config test checks they agree).
    fn default() -> Self {
        Self {
            enabled: false,
            cash: 10_000.0,
            quote_asset: "USDT".into(),
            fee_maker_bps: 8.0,
            fee_taker_bps: 10.0,
            slippage_bps: 2.0,
            latency_ms: 100,
            mode: PaperMode::Bar,
            trade_signals: true,
            allow_short: false,
            risk: PaperRisk::default(),
        }
    }
}

impl PaperConfig {
    /// Checks what types alone cannot say.
    pub(super) fn check(&self) -> Result<(), (String, String)> {
        let err = |key: &str, reason: String| Err((format!("paper.{key}"), reason));
        if !(self.cash.is_finite() && self.cash > 0.0 && self.cash <= 1e15) {
            return err(
                "cash",
                format!("{} must be above 0 and at most 1e15", self.cash),
            );
        }
        let quote = &self.quote_asset;
        if quote.is_empty() || quote.len() > 10 || !quote.chars().all(|c| c.is_ascii_uppercase()) {
            return err(
                "quote_asset",
                format!("{quote:?} must be 1 to 10 capital letters, like \"USDT\""),
            );
        }
        for (key, bps) in [
            ("fee_maker_bps", self.fee_maker_bps),
            ("fee_taker_bps", self.fee_taker_bps),
            ("slippage_bps", self.slippage_bps),
        ] {
            if !(bps.is_finite() && (0.0..1000.0).contains(&bps)) {
                return err(key, format!("{bps} must be at least 0 and below 1000 bps"));
            }
        }
        if self.latency_ms > 60_000 {
            return err(
                "latency_ms",
                format!("{} must be at most 60000 (a minute)", self.latency_ms),
            );
        }
        let r = &self.risk;
        let fraction = |key: &str, value: f64, lo: f64, hi: f64| {
            if value.is_finite() && value > lo && value <= hi {
                Ok(())
            } else {
                err(
                    &format!("risk.{key}"),
                    format!("{value} must be above {lo} and at most {hi}"),
                )
            }
        };
        fraction("fraction", r.fraction, 0.0, 1.0)?;
        fraction("risk_per_trade", r.risk_per_trade, 0.0, 0.2)?;
        fraction("max_drawdown", r.max_drawdown, 0.0, 1.0)?;
        if !(r.stop_loss.is_finite() && (0.0..0.5).contains(&r.stop_loss)) {
            return err(
                "risk.stop_loss",
                format!("{} must be at least 0 and below 0.5", r.stop_loss),
            );
        }
        if r.sizing == Sizing::Risk && r.stop_loss == 0.0 && self.trade_signals {
            return err(
                "risk.sizing",
                "\"risk\" sizes an entry by its stop: set paper.risk.stop_loss above 0 for the \
                 signals' entries"
                    .into(),
            );
        }
        if r.max_open_positions > 1000 {
            return err(
                "risk.max_open_positions",
                format!(
                    "{} must be at most 1000 (0: no limit)",
                    r.max_open_positions
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn defaults_agree_with_default_toml() {
        assert_eq!(
            Config::default().paper,
            PaperConfig::default(),
            "PaperConfig::default() is config/default.toml's [paper]"
        );
    }

    #[test]
    fn a_full_section_is_read_key_by_key() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/config/valid/paper.toml"
        ))
        .unwrap();
        let paper = Config::from_toml("paper.toml", &text).unwrap().paper;
        assert!(paper.enabled && paper.allow_short && paper.trade_signals);
        assert_eq!((paper.cash, paper.latency_ms), (25_000.0, 250));
        assert_eq!(paper.mode, PaperMode::Tick);
        assert_eq!(
            (paper.fee_maker_bps, paper.fee_taker_bps, paper.slippage_bps),
            (2.0, 4.0, 1.5)
        );
        let r = paper.risk;
        assert_eq!(r.sizing, Sizing::Risk);
        assert_eq!(
            (r.fraction, r.risk_per_trade, r.stop_loss),
            (0.5, 0.02, 0.03)
        );
        assert_eq!((r.max_open_positions, r.max_drawdown), (2, 0.4));
        assert_eq!(r.cooldown_after_stop, Span::from_ms(1_800_000));
    }
}
