//! The numbers a backtest is judged by (computed by `backtest::metrics`, printed by the CLI's
//! report, drawn by the Backtest pane), and how they are written to JSON.

use serde::{Deserialize, Serialize};

/// A backtest's headline numbers: returns, risk, trades.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BacktestMetrics {
    #[serde(with = "float")]
    pub start_equity: f64,
    #[serde(with = "float")]
    pub final_equity: f64,
    /// Final over start equity, minus 1.
    #[serde(with = "float")]
    pub total_return: f64,
    #[serde(with = "float")]
    pub cagr: f64,
    #[serde(with = "float")]
    pub annual_volatility: f64,
    #[serde(with = "float")]
    pub sharpe: f64,
    #[serde(with = "float")]
    pub sortino: f64,
    /// CAGR over the maximum drawdown.
    #[serde(with = "float")]
    pub calmar: f64,
    /// The deepest fall from a peak, 0..1.
    #[serde(with = "float")]
    pub max_drawdown: f64,
    /// The longest time below a previous peak, in ms.
    pub max_drawdown_duration_ms: i64,
    /// Share of candles that closed with a position open.
    #[serde(with = "float")]
    pub exposure: f64,
    pub trades: usize,
    #[serde(with = "float")]
    pub win_rate: f64,
    /// Gross profit over gross loss (infinite with no losing trade, 0 with no winning one).
    #[serde(with = "float")]
    pub profit_factor: f64,
    /// Mean profit per trade, in money.
    #[serde(with = "float")]
    pub expectancy: f64,
    /// Mean return per trade, in percent.
    #[serde(with = "float")]
    pub average_trade_pct: f64,
    /// Last close over first close, minus 1, over the same candles.
    #[serde(with = "float")]
    pub buy_and_hold_return: f64,
}

/// JSON has no infinities: a ratio with nothing to divide by (a profit factor with no losing
/// trade, a CAGR over a few minutes) is written as the string "inf" or "-inf", NaN as null, and
/// read back as the same number. Every number of a stored backtest report goes through it, so
/// a report always reads back.
pub mod float {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        match *value {
            v if v.is_finite() => s.serialize_f64(v),
            v if v.is_nan() => s.serialize_none(),
            v if v > 0.0 => s.serialize_str("inf"),
            _ => s.serialize_str("-inf"),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(f64),
        Text(String),
        Null(()),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Number(v) => Ok(v),
            Repr::Null(()) => Ok(f64::NAN),
            Repr::Text(t) if t == "inf" => Ok(f64::INFINITY),
            Repr::Text(t) if t == "-inf" => Ok(f64::NEG_INFINITY),
            Repr::Text(t) => Err(serde::de::Error::custom(format!(
                "{t:?} is not a number, \"inf\" or \"-inf\""
            ))),
        }
    }
}
