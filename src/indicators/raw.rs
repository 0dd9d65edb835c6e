//! All 17 indicator families together, with gen_talib.py's parameters: one row of the 26 raw
//! outputs per candle, in the column order of the TA-Lib reference files ([`RAW_COLUMNS`]).
//! This is what the live engine updates per closed candle and what `features --raw` exports.

#[cfg(doc)]
use super::RAW_COLUMNS;
use super::{
    Adx, Aroon, Atr, Bbands, Cci, Ema, Indicator, Macd, Mfi, Obv, Roc, Rsi, Sar, Sma, Stoch,
    StochRsi, WillR, Wma,
};
use crate::domain::Candle;

/// The 26 raw outputs of one candle, ordered as [`RAW_COLUMNS`]; `None` while warming up.
pub type RawRow = [Option<f64>; 26];

/// One instance of each family with the default (gen_talib.py) parameters.
#[derive(Clone, Debug, Default)]
pub struct RawIndicators {
    sma: Sma,
    ema: Ema,
    wma: Wma,
    macd: Macd,
    rsi: Rsi,
    stoch: Stoch,
    stoch_rsi: StochRsi,
    willr: WillR,
    cci: Cci,
    atr: Atr,
    bbands: Bbands,
    adx: Adx,
    obv: Obv,
    mfi: Mfi,
    roc: Roc,
    sar: Sar,
    aroon: Aroon,
}

impl RawIndicators {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next closed candle to every family; O(1), no allocation.
    #[inline]
    pub fn update(&mut self, candle: &Candle) -> RawRow {
        let macd = self.macd.update(candle);
        let stoch = self.stoch.update(candle);
        let stoch_rsi = self.stoch_rsi.update(candle);
        let bands = self.bbands.update(candle);
        let adx = self.adx.update(candle);
        let aroon = self.aroon.update(candle);
        [
            self.sma.update(candle),
            self.ema.update(candle),
            self.wma.update(candle),
            macd.map(|m| m.macd),
            macd.map(|m| m.signal),
            macd.map(|m| m.hist),
            self.rsi.update(candle),
            stoch.map(|s| s.k),
            stoch.map(|s| s.d),
            stoch_rsi.map(|s| s.k),
            stoch_rsi.map(|s| s.d),
            self.willr.update(candle),
            self.cci.update(candle),
            self.atr.update(candle),
            bands.map(|b| b.upper),
            bands.map(|b| b.middle),
            bands.map(|b| b.lower),
            adx.and_then(|a| a.adx),
            adx.map(|a| a.plus_di),
            adx.map(|a| a.minus_di),
            self.obv.update(candle),
            self.mfi.update(candle),
            self.roc.update(candle),
            self.sar.update(candle),
            aroon.map(|a| a.down),
            aroon.map(|a| a.up),
        ]
    }

    /// Forgets everything, as if newly made.
    pub fn reset(&mut self) {
        self.sma.reset();
        self.ema.reset();
        self.wma.reset();
        self.macd.reset();
        self.rsi.reset();
        self.stoch.reset();
        self.stoch_rsi.reset();
        self.willr.reset();
        self.cci.reset();
        self.atr.reset();
        self.bbands.reset();
        self.adx.reset();
        self.obv.reset();
        self.mfi.reset();
        self.roc.reset();
        self.sar.reset();
        self.aroon.reset();
    }
}

/// The batch form: [`RawIndicators::update`] folded over a series.
pub fn raw_batch(candles: &[Candle]) -> Vec<RawRow> {
    let mut indicators = RawIndicators::new();
    candles.iter().map(|c| indicators.update(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::RAW_COLUMNS;

    fn candle(i: usize, close: f64) -> Candle {
        Candle {
            open_time_ms: i as i64 * 60_000,
            open: close,
            high: close + 0.5,
            low: close - 0.5,
            close,
            volume: 10.0 + i as f64,
            quote_volume: 0.0,
            trades: 0,
        }
    }

    fn series(n: usize) -> Vec<Candle> {
        (0..n)
            .map(|i| candle(i, 100.0 + ((i * 37) % 11) as f64 - 5.0 + i as f64 * 0.1))
            .collect()
    }

    fn column(name: &str) -> usize {
        RAW_COLUMNS.iter().position(|c| *c == name).unwrap()
    }

    #[test]
    fn every_column_warms_up_at_talibs_first_valid_row() {
        // TA-Lib lookbacks for gen_talib.py's parameters (first row with a value).
        let first_valid = [
            ("sma_20", 19),
            ("ema_20", 19),
            ("wma_20", 19),
            ("macd", 33),
            ("macd_signal", 33),
            ("macd_hist", 33),
            ("rsi_14", 14),
            ("stoch_k", 17),
            ("stoch_d", 17),
            ("stochrsi_k", 20),
            ("stochrsi_d", 20),
            ("willr_14", 13),
            ("cci_20", 19),
            ("atr_14", 14),
            ("bb_upper", 19),
            ("bb_middle", 19),
            ("bb_lower", 19),
            ("adx_14", 27),
            ("plus_di_14", 14),
            ("minus_di_14", 14),
            ("obv", 0),
            ("mfi_14", 14),
            ("roc_10", 10),
            ("sar", 1),
            ("aroon_down", 14),
            ("aroon_up", 14),
        ];
        assert_eq!(first_valid.len(), RAW_COLUMNS.len());
        let rows = raw_batch(&series(60));
        for (name, first) in first_valid {
            let col = column(name);
            let got = rows.iter().position(|r| r[col].is_some());
            assert_eq!(got, Some(first), "{name}");
            assert!(rows[first..].iter().all(|r| r[col].is_some()), "{name}");
        }
    }

    #[test]
    fn columns_come_from_the_right_family() {
        let candles = series(40);
        let rows = raw_batch(&candles);
        let sma: f64 = candles[20..40].iter().map(|c| c.close).sum::<f64>() / 20.0;
        let last = rows[39];
        assert!((last[column("sma_20")].unwrap() - sma).abs() < 1e-9);
        assert_eq!(last[column("bb_middle")], last[column("sma_20")]);
        let obv = last[column("obv")].unwrap();
        assert!(obv.abs() > 0.0);
        let (k, d) = (column("stoch_k"), column("stoch_d"));
        assert!((0.0..=100.0).contains(&last[k].unwrap()));
        assert!((0.0..=100.0).contains(&last[d].unwrap()));
        let roc = 100.0 * (candles[39].close / candles[29].close - 1.0);
        assert!((last[column("roc_10")].unwrap() - roc).abs() < 1e-9);
    }

    #[test]
    fn reset_replays_identically_and_update_matches_batch() {
        let candles = series(80);
        let batch = raw_batch(&candles);
        let mut live = RawIndicators::new();
        for c in &candles[..50] {
            live.update(c);
        }
        live.reset();
        let replay: Vec<RawRow> = candles.iter().map(|c| live.update(c)).collect();
        let bits = |rows: &[RawRow]| {
            rows.iter()
                .map(|r| r.map(|v| v.map(f64::to_bits)))
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&replay), bits(&batch));
    }

    #[test]
    fn empty_series_gives_no_rows() {
        assert!(raw_batch(&[]).is_empty());
    }
}
