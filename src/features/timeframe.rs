//! The scale-free features of one timeframe: the 17 indicator families' raw outputs turned into
//! values around ±1 that mean the same at any price level, plus log return, a volume z-score and
//! an order-flow ratio from OBV.

use crate::domain::Candle;
use crate::indicators::window::Ring;
use crate::indicators::{RAW_COLUMNS, RawIndicators, RawRow};

/// Bars in the rolling windows of the volume z-score and the OBV flow.
pub const FLOW_WINDOW: usize = 20;

/// A volume z-score is capped at this many standard deviations (a quiet window followed by one
/// big print would otherwise give values in the hundreds).
pub const VOLUME_Z_CAP: f64 = 10.0;

/// CCI divided by 200 is about ±1 in normal markets; it is capped at this to keep outliers from
/// dominating a model's inputs.
pub const CCI_CAP: f64 = 3.0;

/// Names of the features of one timeframe, in vector order (a higher timeframe prefixes them).
pub const TIMEFRAME_FEATURES: [&str; 27] = [
    "log_return",
    "volume_z_20",
    "close_sma_20",
    "close_ema_20",
    "close_wma_20",
    "macd_close",
    "macd_signal_close",
    "macd_hist_close",
    "rsi_14",
    "stoch_k",
    "stoch_d",
    "stochrsi_k",
    "stochrsi_d",
    "willr_14",
    "cci_20",
    "atr_14_close",
    "bb_pct_b",
    "bb_width",
    "adx_14",
    "plus_di_14",
    "minus_di_14",
    "obv_flow_20",
    "mfi_14",
    "roc_10",
    "sar_close",
    "aroon_down",
    "aroon_up",
];

/// Number of features of one timeframe.
pub const PER_TIMEFRAME: usize = TIMEFRAME_FEATURES.len();

/// Positions of the raw outputs in a [`RawRow`] (checked against [`RAW_COLUMNS`] by a test).
mod col {
    pub const SMA: usize = 0;
    pub const EMA: usize = 1;
    pub const WMA: usize = 2;
    pub const MACD: usize = 3;
    pub const MACD_SIGNAL: usize = 4;
    pub const MACD_HIST: usize = 5;
    pub const RSI: usize = 6;
    pub const STOCH_K: usize = 7;
    pub const STOCH_D: usize = 8;
    pub const STOCHRSI_K: usize = 9;
    pub const STOCHRSI_D: usize = 10;
    pub const WILLR: usize = 11;
    pub const CCI: usize = 12;
    pub const ATR: usize = 13;
    pub const BB_UPPER: usize = 14;
    pub const BB_LOWER: usize = 16;
    pub const ADX: usize = 17;
    pub const PLUS_DI: usize = 18;
    pub const MINUS_DI: usize = 19;
    pub const OBV: usize = 20;
    pub const MFI: usize = 21;
    pub const ROC: usize = 22;
    pub const SAR: usize = 23;
    pub const AROON_DOWN: usize = 24;
    pub const AROON_UP: usize = 25;
}

/// An oscillator on 0..100 mapped to −1..+1.
#[inline]
fn centred(value: f64) -> f64 {
    value * 0.02 - 1.0
}

/// The running state of one timeframe's features.
#[derive(Clone, Debug)]
pub struct TimeframeFeatures {
    raw: RawIndicators,
    prev_close: Option<f64>,
    volumes: Ring,
    volume_sum: f64,
    volume_sum_sq: f64,
    /// OBV at the last `FLOW_WINDOW + 1` bars (the flow is the change over `FLOW_WINDOW` bars).
    obvs: Ring,
    values: [f64; PER_TIMEFRAME],
    ready: bool,
    last_raw: RawRow,
}

impl Default for TimeframeFeatures {
    fn default() -> Self {
        Self::new()
    }
}

impl TimeframeFeatures {
    pub fn new() -> Self {
        Self {
            raw: RawIndicators::new(),
            prev_close: None,
            volumes: Ring::new(FLOW_WINDOW),
            volume_sum: 0.0,
            volume_sum_sq: 0.0,
            obvs: Ring::new(FLOW_WINDOW + 1),
            values: [0.0; PER_TIMEFRAME],
            ready: false,
            last_raw: [None; RAW_COLUMNS.len()],
        }
    }

    pub fn reset(&mut self) {
        self.raw.reset();
        self.prev_close = None;
        self.volumes.clear();
        self.volume_sum = 0.0;
        self.volume_sum_sq = 0.0;
        self.obvs.clear();
        self.values = [0.0; PER_TIMEFRAME];
        self.ready = false;
        self.last_raw = [None; RAW_COLUMNS.len()];
    }

    /// Feeds one closed (already validated) candle; returns whether every feature has a value.
    pub fn update(&mut self, candle: &Candle) -> bool {
        let raw = self.raw.update(candle);
        self.last_raw = raw;
        let close = candle.close;

        let log_return = self.prev_close.map(|prev| (close / prev).ln());
        self.prev_close = Some(close);

        let volume = candle.volume;
        if let Some(out) = self.volumes.push(volume) {
            self.volume_sum -= out;
            self.volume_sum_sq -= out * out;
        }
        self.volume_sum += volume;
        self.volume_sum_sq += volume * volume;
        let volume_z = self.volumes.is_full().then(|| {
            let n = FLOW_WINDOW as f64;
            let mean = self.volume_sum / n;
            let variance = self.volume_sum_sq / n - mean * mean;
            // Running sums drift by rounding: a variance that is a rounding residue is zero.
            if variance > 1e-12 * mean * mean && variance > 0.0 {
                ((volume - mean) / variance.sqrt()).clamp(-VOLUME_Z_CAP, VOLUME_Z_CAP)
            } else {
                0.0
            }
        });

        let obv_flow = raw[col::OBV].and_then(|obv| {
            self.obvs.push(obv);
            let oldest = self.obvs.get(FLOW_WINDOW)?;
            let total = self.volume_sum;
            Some(if total > 0.0 {
                ((obv - oldest) / total).clamp(-1.0, 1.0)
            } else {
                0.0
            })
        });

        let relative = |i: usize| raw[i].map(|v| close / v - 1.0);
        let per_close = |i: usize| raw[i].map(|v| v / close);
        let osc = |i: usize| raw[i].map(centred);
        let bands = match (raw[col::BB_UPPER], raw[col::BB_LOWER], raw[col::SMA]) {
            (Some(upper), Some(lower), Some(middle)) => {
                let width = upper - lower;
                let pct_b = if width > 0.0 {
                    2.0 * (close - lower) / width - 1.0
                } else {
                    0.0
                };
                Some((pct_b, width / middle))
            }
            _ => None,
        };

        let features: [Option<f64>; PER_TIMEFRAME] = [
            log_return,
            volume_z,
            relative(col::SMA),
            relative(col::EMA),
            relative(col::WMA),
            per_close(col::MACD),
            per_close(col::MACD_SIGNAL),
            per_close(col::MACD_HIST),
            osc(col::RSI),
            osc(col::STOCH_K),
            osc(col::STOCH_D),
            osc(col::STOCHRSI_K),
            osc(col::STOCHRSI_D),
            raw[col::WILLR].map(|v| v * 0.02 + 1.0),
            raw[col::CCI].map(|v| (v / 200.0).clamp(-CCI_CAP, CCI_CAP)),
            per_close(col::ATR),
            bands.map(|b| b.0),
            bands.map(|b| b.1),
            osc(col::ADX),
            osc(col::PLUS_DI),
            osc(col::MINUS_DI),
            obv_flow,
            osc(col::MFI),
            raw[col::ROC].map(|v| v * 0.1),
            relative(col::SAR),
            osc(col::AROON_DOWN),
            osc(col::AROON_UP),
        ];
        let mut ready = true;
        for (slot, value) in self.values.iter_mut().zip(features) {
            match value {
                Some(v) => *slot = v,
                None => ready = false,
            }
        }
        self.ready = ready;
        ready
    }

    /// The features after the last update (meaningful once [`Self::is_ready`]).
    pub fn values(&self) -> &[f64; PER_TIMEFRAME] {
        &self.values
    }

    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// The raw indicator outputs of the last update.
    pub fn raw(&self) -> &RawRow {
        &self.last_raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_positions_match_the_reference_names() {
        let pos = |name: &str| RAW_COLUMNS.iter().position(|c| *c == name).unwrap();
        let expected = [
            (col::SMA, "sma_20"),
            (col::EMA, "ema_20"),
            (col::WMA, "wma_20"),
            (col::MACD, "macd"),
            (col::MACD_SIGNAL, "macd_signal"),
            (col::MACD_HIST, "macd_hist"),
            (col::RSI, "rsi_14"),
            (col::STOCH_K, "stoch_k"),
            (col::STOCH_D, "stoch_d"),
            (col::STOCHRSI_K, "stochrsi_k"),
            (col::STOCHRSI_D, "stochrsi_d"),
            (col::WILLR, "willr_14"),
            (col::CCI, "cci_20"),
            (col::ATR, "atr_14"),
            (col::BB_UPPER, "bb_upper"),
            (col::BB_LOWER, "bb_lower"),
            (col::ADX, "adx_14"),
            (col::PLUS_DI, "plus_di_14"),
            (col::MINUS_DI, "minus_di_14"),
            (col::OBV, "obv"),
            (col::MFI, "mfi_14"),
            (col::ROC, "roc_10"),
            (col::SAR, "sar"),
            (col::AROON_DOWN, "aroon_down"),
            (col::AROON_UP, "aroon_up"),
        ];
        for (index, name) in expected {
            assert_eq!(index, pos(name), "{name}");
        }
    }

    #[test]
    fn oscillators_map_to_plus_minus_one() {
        assert_eq!(centred(0.0), -1.0);
        assert_eq!(centred(50.0), 0.0);
        assert_eq!(centred(100.0), 1.0);
    }
}
