//! The look-ahead guard: a strategy's decision at the close of candle t may depend only on
//! candles up to t. The guard builds the strategy on the series and on copies whose candles after
//! a cut are changed, and refuses it when a decision at or before the cut differs.

use crate::domain::Candle;

use super::sim::Position;
use super::strategy::Strategy;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{strategy} looks ahead: its decision at the close of candle {index} (open_time_ms \
     {open_time_ms}) changed when only candles after {cut} were changed"
)]
pub struct LookAhead {
    pub strategy: String,
    pub index: usize,
    pub open_time_ms: i64,
    pub cut: usize,
}

fn decisions(strategy: &mut dyn Strategy, candles: &[Candle]) -> Vec<Position> {
    candles.iter().map(|c| strategy.on_close(c)).collect()
}

/// The series with every candle after `cut` moved: prices scaled by 1.37 and volumes tripled.
fn changed_after(candles: &[Candle], cut: usize) -> Vec<Candle> {
    let mut out = candles.to_vec();
    for c in out.iter_mut().skip(cut + 1) {
        c.open *= 1.37;
        c.high *= 1.37;
        c.low *= 1.37;
        c.close *= 1.37;
        c.volume *= 3.0;
    }
    out
}

/// Checks `make`'s strategies for look-ahead at `cuts` evenly spaced cut points. `make` builds a
/// strategy for the series it will see (a strategy holding the whole series is how look-ahead
/// happens, so it must be built from the changed copy).
pub fn check_no_look_ahead(
    candles: &[Candle],
    make: &dyn Fn(&[Candle]) -> Box<dyn Strategy>,
    cuts: usize,
) -> Result<(), LookAhead> {
    let mut reference_strategy = make(candles);
    let reference = decisions(reference_strategy.as_mut(), candles);
    let n = candles.len();
    for k in 1..=cuts {
        let cut = k * n / (cuts + 1);
        if cut + 1 >= n {
            continue;
        }
        let changed = changed_after(candles, cut);
        let mut strategy = make(&changed);
        let got = decisions(strategy.as_mut(), &changed);
        if let Some(index) = (0..=cut).find(|&i| got[i] != reference[i]) {
            return Err(LookAhead {
                strategy: strategy.name(),
                index,
                open_time_ms: candles[index].open_time_ms,
                cut,
            });
        }
    }
    Ok(())
}
