//! All 17 indicator families together, with gen_talib.py's parameters: one row of the 26 raw
//! outputs per candle, in the column order of the TA-Lib reference files ([`RAW_COLUMNS`]).
//! This is what the live engine updates per closed candle and what `features --raw` exports.

#[cfg(doc)]
use super::RAW_COLUMNS;
use super::willr::williams_r;
use super::window::HighLowWindow;
use super::{
    Adx, Aroon, Atr, Bbands, Cci, Ema, Indicator, Macd, Mfi, Obv, Roc, Rsi, Sar, Sma, Stoch,
    StochRsi, WillR, Wma,
};
use crate::domain::Candle;

/// The 26 raw outputs of one candle, ordered as [`RAW_COLUMNS`]; `None` while warming up.
pub type RawRow = [Option<f64>; 26];

/// The same 26 outputs with NaN while warming up: the compact form [`RawTable`] stores. No
/// indicator ever outputs NaN itself (the property tests check it), so nothing is lost.
pub type RawValues = [f64; 26];

/// Columns of the close-driven half ([`CloseFamilies`]), in its output order.
const CLOSE_COLUMNS: [usize; 14] = [0, 1, 2, 3, 4, 5, 6, 9, 10, 12, 14, 15, 16, 22];
/// Columns of the high/low-driven half ([`RangeFamilies`]), in its output order.
const RANGE_COLUMNS: [usize; 12] = [7, 8, 11, 13, 17, 18, 19, 20, 21, 23, 24, 25];

/// The families driven by the close alone (SMA, EMA, WMA, MACD, RSI, STOCHRSI, BBANDS, ROC) and
/// CCI: one half of [`RawIndicators`]. STOCHRSI runs on the RSI 14 column instead of its own RSI.
#[derive(Clone, Debug)]
struct CloseFamilies {
    sma: Sma,
    ema: Ema,
    wma: Wma,
    macd: Macd,
    rsi: Rsi,
    stoch_rsi: StochRsi,
    cci: Cci,
    bbands: Bbands,
    roc: Roc,
}

/// The families that need the high/low range (STOCH, WILLR, ATR, ADX, MFI, SAR, AROON) and
/// OBV: the other half. STOCH and WILLR share one 14-candle high/low window.
#[derive(Clone, Debug)]
struct RangeFamilies {
    range: HighLowWindow,
    stoch: Stoch,
    atr: Atr,
    adx: Adx,
    obv: Obv,
    mfi: Mfi,
    sar: Sar,
    aroon: Aroon,
}

const NONE: f64 = f64::NAN;

fn or_none(value: Option<f64>) -> f64 {
    value.unwrap_or(NONE)
}

impl CloseFamilies {
    fn new() -> Self {
        let (rsi, stoch_rsi) = (Rsi::default(), StochRsi::default());
        // Sharing the RSI is only exact because the periods agree.
        debug_assert_eq!(stoch_rsi.rsi_period(), rsi.period());
        Self {
            sma: Sma::default(),
            ema: Ema::default(),
            wma: Wma::default(),
            macd: Macd::default(),
            rsi,
            stoch_rsi,
            cci: Cci::default(),
            bbands: Bbands::default(),
            roc: Roc::default(),
        }
    }

    #[inline]
    fn update(&mut self, candle: &Candle, out: &mut [f64; 14]) {
        let rsi = self.rsi.update(candle);
        let macd = self.macd.update(candle);
        let stoch_rsi = self.stoch_rsi.update_with_rsi(rsi);
        let bands = self.bbands.update(candle);
        *out = [
            or_none(self.sma.update(candle)),
            or_none(self.ema.update(candle)),
            or_none(self.wma.update(candle)),
            macd.map_or(NONE, |m| m.macd),
            macd.map_or(NONE, |m| m.signal),
            macd.map_or(NONE, |m| m.hist),
            or_none(rsi),
            stoch_rsi.map_or(NONE, |s| s.k),
            stoch_rsi.map_or(NONE, |s| s.d),
            or_none(self.cci.update(candle)),
            bands.map_or(NONE, |b| b.upper),
            bands.map_or(NONE, |b| b.middle),
            bands.map_or(NONE, |b| b.lower),
            or_none(self.roc.update(candle)),
        ];
    }

    fn reset(&mut self) {
        *self = Self::new();
    }
}

impl RangeFamilies {
    fn new() -> Self {
        let (stoch, willr) = (Stoch::default(), WillR::default());
        // Sharing the window is only exact because the periods agree.
        debug_assert_eq!(stoch.fastk_period(), willr.period());
        Self {
            range: HighLowWindow::new(willr.period()),
            stoch,
            atr: Atr::default(),
            adx: Adx::default(),
            obv: Obv::default(),
            mfi: Mfi::default(),
            sar: Sar::default(),
            aroon: Aroon::default(),
        }
    }

    #[inline]
    fn update(&mut self, candle: &Candle, out: &mut [f64; 12]) {
        let range = self.range.push(candle.high, candle.low);
        let stoch = self.stoch.update_with_range(range, candle.close);
        let adx = self.adx.update(candle);
        let aroon = self.aroon.update(candle);
        *out = [
            stoch.map_or(NONE, |s| s.k),
            stoch.map_or(NONE, |s| s.d),
            or_none(williams_r(range, candle.close)),
            or_none(self.atr.update(candle)),
            adx.and_then(|a| a.adx).unwrap_or(NONE),
            adx.map_or(NONE, |a| a.plus_di),
            adx.map_or(NONE, |a| a.minus_di),
            or_none(self.obv.update(candle)),
            or_none(self.mfi.update(candle)),
            or_none(self.sar.update(candle)),
            aroon.map_or(NONE, |a| a.down),
            aroon.map_or(NONE, |a| a.up),
        ];
    }

    fn reset(&mut self) {
        *self = Self::new();
    }
}

/// Puts the two halves' outputs in [`RAW_COLUMNS`] order.
fn merge(close: &[f64; 14], range: &[f64; 12]) -> RawValues {
    let mut out = [NONE; 26];
    for (&column, &value) in CLOSE_COLUMNS.iter().zip(close) {
        out[column] = value;
    }
    for (&column, &value) in RANGE_COLUMNS.iter().zip(range) {
        out[column] = value;
    }
    out
}

/// One instance of each family with the default (gen_talib.py) parameters, in two halves that
/// share nothing, so a long batch can run them on two threads ([`raw_batch_into`]).
#[derive(Clone, Debug)]
pub struct RawIndicators {
    close: CloseFamilies,
    range: RangeFamilies,
}

impl Default for RawIndicators {
    fn default() -> Self {
        Self {
            close: CloseFamilies::new(),
            range: RangeFamilies::new(),
        }
    }
}

impl RawIndicators {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next closed candle to every family; O(1), no allocation.
    #[inline]
    pub fn update(&mut self, candle: &Candle) -> RawRow {
        let mut values = [f64::NAN; 26];
        self.update_values(candle, &mut values);
        values.map(|v| (!v.is_nan()).then_some(v))
    }

    /// [`update`](Self::update) writing NaN-for-none into `out`.
    #[inline]
    pub fn update_values(&mut self, candle: &Candle, out: &mut RawValues) {
        let (mut close, mut range) = ([NONE; 14], [NONE; 12]);
        self.close.update(candle, &mut close);
        self.range.update(candle, &mut range);
        *out = merge(&close, &range);
    }

    /// Forgets everything, as if newly made.
    pub fn reset(&mut self) {
        self.close.reset();
        self.range.reset();
    }
}

/// The batch form: [`RawIndicators::update`] folded over a series.
pub fn raw_batch(candles: &[Candle]) -> Vec<RawRow> {
    let mut indicators = RawIndicators::new();
    candles.iter().map(|c| indicators.update(c)).collect()
}

/// The raw outputs of a series, NaN while warming up, stored as the two halves of
/// [`RawIndicators`] write them. Its memory is kept between [`raw_batch_into`] calls, so repeated
/// batches (walk-forward folds, re-exports) do not pay for fresh pages each time.
#[derive(Clone, Debug, Default)]
pub struct RawTable {
    close: Vec<[f64; 14]>,
    range: Vec<[f64; 12]>,
}

impl RawTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.close.len()
    }

    pub fn is_empty(&self) -> bool {
        self.close.is_empty()
    }

    /// Row `index` in [`RAW_COLUMNS`] order, NaN while warming up.
    pub fn values(&self, index: usize) -> Option<RawValues> {
        Some(merge(self.close.get(index)?, self.range.get(index)?))
    }

    /// Row `index` as a [`RawRow`].
    pub fn row(&self, index: usize) -> Option<RawRow> {
        self.values(index)
            .map(|r| r.map(|v| (!v.is_nan()).then_some(v)))
    }
}

/// Below this many candles a batch runs on the calling thread alone: starting a thread costs
/// more than it saves.
pub const PARALLEL_FROM: usize = 20_000;

/// How many threads a batch may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    One,
    /// Two when the series is long enough and the machine has two cores or more.
    Auto,
}

/// The batch form into a reusable table: the two halves of [`RawIndicators`] folded over the
/// series, each the same code as the live update. With [`Threads::Auto`] and a long series the
/// halves run on two threads (their state is disjoint, so the numbers are identical).
pub fn raw_batch_into(candles: &[Candle], table: &mut RawTable, threads: Threads) {
    let RawTable { close, range } = table;
    close.clear();
    close.resize(candles.len(), [NONE; 14]);
    range.clear();
    range.resize(candles.len(), [NONE; 12]);
    let fold_close = |rows: &mut Vec<[f64; 14]>| {
        let mut families = CloseFamilies::new();
        for (row, candle) in rows.iter_mut().zip(candles) {
            families.update(candle, row);
        }
    };
    let fold_range = |rows: &mut Vec<[f64; 12]>| {
        let mut families = RangeFamilies::new();
        for (row, candle) in rows.iter_mut().zip(candles) {
            families.update(candle, row);
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads == Threads::Auto && cores >= 2 && candles.len() >= PARALLEL_FROM {
        std::thread::scope(|scope| {
            scope.spawn(|| fold_close(close));
            fold_range(range);
        });
    } else {
        fold_close(close);
        fold_range(range);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures::{MINUTE_MS, hlc};
    use crate::indicators::RAW_COLUMNS;

    fn candle(i: usize, close: f64) -> Candle {
        Candle {
            open_time_ms: i as i64 * MINUTE_MS,
            volume: 10.0 + i as f64,
            ..hlc(close + 0.5, close - 0.5, close)
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
    fn the_table_holds_the_same_values_and_is_reused() {
        let candles = series(90);
        let rows = raw_batch(&candles);
        let mut table = RawTable::new();
        raw_batch_into(&candles[..30], &mut table, Threads::One);
        assert_eq!(table.len(), 30);
        raw_batch_into(&candles, &mut table, Threads::One);
        assert_eq!(table.len(), 90);
        for (i, row) in rows.iter().enumerate() {
            let from_table = table.row(i).unwrap();
            let bits = |r: &RawRow| r.map(|v| v.map(f64::to_bits));
            assert_eq!(bits(&from_table), bits(row), "row {i}");
        }
        assert_eq!(table.row(90), None);
    }

    #[test]
    fn two_threads_give_the_same_bits_as_one() {
        let candles = series(PARALLEL_FROM + 500);
        let (mut one, mut two) = (RawTable::new(), RawTable::new());
        raw_batch_into(&candles, &mut one, Threads::One);
        raw_batch_into(&candles, &mut two, Threads::Auto);
        assert_eq!(one.len(), two.len());
        for i in 0..one.len() {
            let bits = |t: &RawTable| t.values(i).unwrap().map(f64::to_bits);
            assert_eq!(bits(&one), bits(&two), "row {i}");
        }
    }

    #[test]
    fn the_halves_cover_every_column_once() {
        let mut seen = [0; 26];
        for c in CLOSE_COLUMNS.iter().chain(&RANGE_COLUMNS) {
            seen[*c] += 1;
        }
        assert_eq!(seen, [1; 26]);
    }

    #[test]
    fn shared_windows_give_each_familys_own_numbers() {
        // STOCH and WILLR share a window and STOCHRSI uses the RSI column here; each family alone
        // must give exactly the same values.
        use crate::indicators::batch;
        let candles = series(120);
        let rows = raw_batch(&candles);
        let stoch = batch(&mut Stoch::default(), &candles);
        let willr = batch(&mut WillR::default(), &candles);
        let stoch_rsi = batch(&mut StochRsi::default(), &candles);
        for i in 0..candles.len() {
            assert_eq!(rows[i][column("stoch_k")], stoch[i].map(|s| s.k), "row {i}");
            assert_eq!(rows[i][column("stoch_d")], stoch[i].map(|s| s.d), "row {i}");
            assert_eq!(rows[i][column("willr_14")], willr[i], "row {i}");
            assert_eq!(
                rows[i][column("stochrsi_k")],
                stoch_rsi[i].map(|s| s.k),
                "row {i}"
            );
            assert_eq!(
                rows[i][column("stochrsi_d")],
                stoch_rsi[i].map(|s| s.d),
                "row {i}"
            );
        }
    }

    #[test]
    fn empty_series_gives_no_rows() {
        assert!(raw_batch(&[]).is_empty());
    }
}
