//! The 17 indicator families. Each is one incremental type: `update(&Candle)` is O(1) and does not
//! allocate; the batch form is the same code folded over a series ([`batch`]), so live and batch
//! outputs cannot drift apart. Defaults and warm-ups follow TA-Lib (see ../shared/reference/talib).

pub mod adx;
pub mod aroon;
pub mod atr;
pub mod bbands;
pub mod cci;
pub mod ema;
pub mod macd;
pub mod mfi;
pub mod obv;
pub mod raw;
pub mod roc;
pub mod rsi;
pub mod sar;
pub mod sma;
pub mod stoch;
pub mod stochrsi;
pub mod willr;
pub mod window;
pub mod wma;

pub use bbands::Bbands;
pub use ema::Ema;
pub use macd::Macd;
pub use obv::Obv;
pub use raw::{RawIndicators, RawRow, RawTable, RawValues, Threads, raw_batch, raw_batch_into};
pub use roc::Roc;
pub use rsi::Rsi;
pub use sma::Sma;
pub use stochrsi::StochRsi;
pub use wma::Wma;

pub use adx::Adx;
pub use aroon::Aroon;
pub use atr::Atr;
pub use cci::Cci;
pub use mfi::Mfi;
pub use sar::Sar;
pub use stoch::Stoch;
pub use willr::WillR;

use crate::domain::Candle;

/// One incremental indicator.
pub trait Indicator {
    type Output: Copy;

    /// Feeds the next closed candle; returns the output once warmed up.
    fn update(&mut self, candle: &Candle) -> Option<Self::Output>;

    /// Forgets everything, as if newly made.
    fn reset(&mut self);
}

/// The batch form: the incremental type folded over a series.
pub fn batch<I: Indicator>(indicator: &mut I, candles: &[Candle]) -> Vec<Option<I::Output>> {
    candles.iter().map(|c| indicator.update(c)).collect()
}

/// Names of the raw indicator outputs, in the column order of the TA-Lib reference files.
pub const RAW_COLUMNS: [&str; 26] = [
    "sma_20",
    "ema_20",
    "wma_20",
    "macd",
    "macd_signal",
    "macd_hist",
    "rsi_14",
    "stoch_k",
    "stoch_d",
    "stochrsi_k",
    "stochrsi_d",
    "willr_14",
    "cci_20",
    "atr_14",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "adx_14",
    "plus_di_14",
    "minus_di_14",
    "obv",
    "mfi_14",
    "roc_10",
    "sar",
    "aroon_down",
    "aroon_up",
];

/// MACD line, its signal line, and their difference.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MacdValue {
    pub macd: f64,
    pub signal: f64,
    pub hist: f64,
}

/// %K and %D of a stochastic oscillator (STOCH, STOCHRSI).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StochValue {
    pub k: f64,
    pub d: f64,
}

/// Bollinger bands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandsValue {
    pub upper: f64,
    pub middle: f64,
    pub lower: f64,
}

/// ADX with its directional indicators. The DIs warm up sooner than ADX (TA-Lib: PLUS_DI and
/// MINUS_DI from bar `period`, ADX from bar `2 * period - 1`), so `adx` is `None` until then.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdxValue {
    pub adx: Option<f64>,
    pub plus_di: f64,
    pub minus_di: f64,
}

/// AROON down and up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AroonValue {
    pub down: f64,
    pub up: f64,
}
