#![allow(clippy::unwrap_used)]
//! Incremental == batch, bit for bit, for all 17 families together: random candle series (random
//! walk, random spreads and volumes, flat stretches with high == low == close, zero volume) fed in
//! random chunkings through one `RawIndicators`, through a clone taken at a chunk boundary, and
//! after `reset()`, give exactly `raw_batch`'s outputs. No output is ever NaN or infinite.

use proptest::prelude::*;
use trademon::domain::Candle;
use trademon::indicators::{RAW_COLUMNS, RawIndicators, RawRow, raw_batch};

/// How one bar moves: a relative close change, spreads above/below, volume, and two switches.
#[derive(Clone, Copy, Debug)]
struct Step {
    change: f64,
    up: f64,
    down: f64,
    volume: f64,
    flat: bool,
    zero_volume: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        -0.03..0.03f64,
        0.0..0.02f64,
        0.0..0.02f64,
        0.0..1000.0f64,
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(change, up, down, volume, flat, zero_volume)| Step {
            change,
            up,
            down,
            volume,
            flat,
            zero_volume,
        })
}

/// Builds valid candles from the steps. Flat bars repeat the previous close for all four prices;
/// runs of them make zero ranges (STOCH, WILLR, CCI, ADX) and zero gains/losses (RSI, MFI).
fn candles(start: f64, steps: &[Step]) -> Vec<Candle> {
    let mut close = start;
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let open = close;
            let (high, low) = if s.flat {
                (open, open)
            } else {
                close = open * (1.0 + s.change);
                (
                    open.max(close) * (1.0 + s.up),
                    open.min(close) * (1.0 - s.down),
                )
            };
            let candle = Candle {
                open_time_ms: 1_600_000_000_000 + i as i64 * 60_000,
                open,
                high,
                low,
                close,
                volume: if s.zero_volume { 0.0 } else { s.volume },
                quote_volume: 0.0,
                trades: 0,
            };
            candle.validate().unwrap();
            candle
        })
        .collect()
}

/// The series with its chunk sizes (each 1..=60; they cover the series, the last one cut short).
fn series() -> impl Strategy<Value = (Vec<Candle>, Vec<usize>)> {
    (
        0.001..10_000.0f64,
        prop::collection::vec(step(), 1..400),
        prop::collection::vec(1..=60usize, 1..400),
    )
        .prop_map(|(start, steps, sizes)| (candles(start, &steps), sizes))
}

type Bits = [Option<u64>; 26];

fn bits(rows: &[RawRow]) -> Vec<Bits> {
    rows.iter()
        .map(|r| r.map(|v| v.map(f64::to_bits)))
        .collect()
}

/// Splits `0..len` into chunks of the given sizes (cycling them if they run out).
fn chunks(len: usize, sizes: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    for &size in sizes.iter().cycle() {
        if at >= len {
            break;
        }
        let end = (at + size).min(len);
        out.push(at..end);
        at = end;
    }
    out
}

fn first_difference(ours: &[Bits], batch: &[Bits]) -> Option<String> {
    if ours.len() != batch.len() {
        return Some(format!("{} rows vs batch {}", ours.len(), batch.len()));
    }
    for (row, (o, b)) in ours.iter().zip(batch).enumerate() {
        for col in 0..RAW_COLUMNS.len() {
            if o[col] != b[col] {
                return Some(format!(
                    "row {row}, column {}: {:?} vs batch {:?}",
                    RAW_COLUMNS[col],
                    o[col].map(f64::from_bits),
                    b[col].map(f64::from_bits)
                ));
            }
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn incremental_in_any_chunking_equals_batch_bit_for_bit(
        (candles, sizes) in series(),
        clone_at in any::<prop::sample::Index>(),
    ) {
        let batch = raw_batch(&candles);
        let expected = bits(&batch);
        let ranges = chunks(candles.len(), &sizes);
        let clone_after = clone_at.index(ranges.len());

        // One live instance fed chunk by chunk; a clone taken at a chunk boundary continues alone.
        let mut live = RawIndicators::new();
        let mut rows = Vec::with_capacity(candles.len());
        let mut clone = None;
        for (k, range) in ranges.iter().enumerate() {
            rows.extend(candles[range.clone()].iter().map(|c| live.update(c)));
            if k == clone_after {
                clone = Some((live.clone(), rows.clone()));
            }
        }
        let live_rows = bits(&rows);
        prop_assert!(first_difference(&live_rows, &expected).is_none(),
            "chunked: {}", first_difference(&live_rows, &expected).unwrap());

        let (mut cloned, mut cloned_rows) = clone.unwrap();
        let resume = ranges[clone_after].end;
        cloned_rows.extend(candles[resume..].iter().map(|c| cloned.update(c)));
        let cloned_rows = bits(&cloned_rows);
        prop_assert!(first_difference(&cloned_rows, &expected).is_none(),
            "clone after row {resume}: {}", first_difference(&cloned_rows, &expected).unwrap());

        // reset() makes it new again, whatever it had seen.
        live.reset();
        let replay: Vec<RawRow> = candles.iter().map(|c| live.update(c)).collect();
        let replay = bits(&replay);
        prop_assert!(first_difference(&replay, &expected).is_none(),
            "after reset: {}", first_difference(&replay, &expected).unwrap());

        // Flat stretches and zero volume must not produce NaN or infinities.
        for (row, r) in batch.iter().enumerate() {
            for (col, v) in r.iter().enumerate() {
                if let Some(v) = v {
                    prop_assert!(v.is_finite(), "row {row}, column {}: {v} (candle {:?})",
                        RAW_COLUMNS[col], candles[row]);
                }
            }
        }
    }
}

#[test]
fn a_long_flat_market_gives_finite_outputs() {
    // All prices equal and no volume from the start: every range, gain, loss and deviation is zero.
    let flat = [Step {
        change: 0.0,
        up: 0.0,
        down: 0.0,
        volume: 0.0,
        flat: true,
        zero_volume: true,
    }; 120];
    let rows = raw_batch(&candles(0.05, &flat));
    for (row, r) in rows.iter().enumerate() {
        for (col, v) in r.iter().enumerate() {
            if let Some(v) = v {
                assert!(v.is_finite(), "row {row}, column {}: {v}", RAW_COLUMNS[col]);
            }
        }
    }
    // Every column warms up even on a flat market.
    assert!(rows[119].iter().all(Option::is_some), "{:?}", rows[119]);
}

#[test]
fn chunking_covers_the_series_exactly() {
    assert_eq!(chunks(5, &[2]), vec![0..2, 2..4, 4..5]);
    assert_eq!(chunks(3, &[10, 1]), vec![0..3]);
    assert_eq!(chunks(4, &[1, 2]), vec![0..1, 1..3, 3..4]);
}
