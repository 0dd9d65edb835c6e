//! Unit tests of the feature set: names, warm-up, no look-ahead, gaps, refused candles, reset.

use super::*;
use crate::domain::fixtures::SplitMix;

/// A deterministic random walk of valid 1m candles (splitmix64).
fn walk(n: usize, seed: u64) -> Vec<Candle> {
    let mut noise = SplitMix(seed);
    let mut next = move || noise.uniform();

    let mut close = 100.0;
    (0..n)
        .map(|i| {
            let open = close;
            close = open * (1.0 + (next() - 0.5) * 0.02);
            let high = open.max(close) * (1.0 + next() * 0.005);
            let low = open.min(close) * (1.0 - next() * 0.005);
            let volume = next() * 10.0;
            Candle {
                open_time_ms: 1_700_000_000_000 - 1_700_000_000_000 % 300_000 + i as i64 * 60_000,
                open,
                high,
                low,
                close,
                volume,
                quote_volume: volume * close,
                trades: 1,
            }
        })
        .collect()
}

fn rows(candles: &[Candle]) -> Vec<FeatureRow> {
    features_batch(candles, Interval::M1, DEFAULT_HTF_FACTOR).unwrap()
}

#[test]
fn names_are_stable_unique_and_prefixed() {
    let set = FeatureSet::new(Interval::M1);
    let names = set.names();
    assert_eq!(names.len(), FEATURE_COUNT);
    assert_eq!(names[0], "log_return");
    assert_eq!(names[8], "rsi_14");
    assert_eq!(names[PER_TIMEFRAME + 8], "htf5_rsi_14");
    let mut sorted = names.to_vec();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), FEATURE_COUNT);
    assert_eq!(
        FeatureSet::with_factor(Interval::M5, 3).names()[PER_TIMEFRAME],
        "htf3_log_return"
    );
}

#[test]
fn first_row_comes_when_the_higher_timeframe_is_warm() {
    let candles = walk(400, 1);
    let mut set = FeatureSet::new(Interval::M1);
    let first = candles
        .iter()
        .position(|c| set.update(c).unwrap().is_some())
        .unwrap();
    // The 34th 5m candle (MACD's first value) closes with base candle 34 * 5 - 1.
    assert_eq!(first, 34 * 5 - 1);
    let all = rows(&candles);
    assert_eq!(all.len(), candles.len() - first);
    for row in &all {
        assert!(!row.gap);
        for (name, v) in set.names().iter().zip(row.values) {
            assert!(v.is_finite(), "{name} at {}: {v}", row.open_time_ms);
            assert!(
                v.abs() < 20.0,
                "{name} at {}: {v} is not scale-free",
                row.open_time_ms
            );
        }
    }
}

#[test]
fn scaling_prices_and_volumes_leaves_features_unchanged() {
    let candles = walk(300, 2);
    let scaled: Vec<Candle> = candles
        .iter()
        .map(|c| Candle {
            open: c.open * 1024.0,
            high: c.high * 1024.0,
            low: c.low * 1024.0,
            close: c.close * 1024.0,
            volume: c.volume * 0.125,
            ..*c
        })
        .collect();
    for (a, b) in rows(&candles).iter().zip(rows(&scaled).iter()) {
        for (i, (x, y)) in a.values.iter().zip(b.values).enumerate() {
            assert!(
                (x - y).abs() <= 1e-9 * (1.0 + x.abs()),
                "feature {i}: {x} vs {y}"
            );
        }
    }
}

#[test]
fn no_look_ahead_truncation_and_future_changes() {
    let candles = walk(420, 3);
    let full = rows(&candles);
    let by_time = |rows: &[FeatureRow], t: i64| rows.iter().find(|r| r.open_time_ms == t).copied();
    // Every cut, including cuts inside a 5m bucket: the row at the cut is the same as in the
    // full series.
    for cut in 169..candles.len() {
        let truncated = rows(&candles[..=cut]);
        let t = candles[cut].open_time_ms;
        assert_eq!(truncated.last().map(|r| r.open_time_ms), Some(t));
        assert_eq!(truncated.last().copied(), by_time(&full, t), "cut {cut}");
    }
    // Changing any later candle never changes an earlier row.
    for changed in [200, 203, 204, 300, 419] {
        let mut other = candles.clone();
        other[changed].close *= 1.05;
        other[changed].high = other[changed].high.max(other[changed].close);
        other[changed].volume += 50.0;
        let rows_other = rows(&other);
        for (a, b) in full.iter().zip(&rows_other) {
            if a.open_time_ms < candles[changed].open_time_ms {
                assert_eq!(a, b, "row {} changed by candle {changed}", a.open_time_ms);
            }
        }
        let at = by_time(&full, candles[changed].open_time_ms).unwrap();
        assert_ne!(Some(at), by_time(&rows_other, at.open_time_ms));
    }
}

#[test]
fn gaps_are_flagged_while_a_window_spans_them() {
    let mut candles = walk(600, 4);
    let missing = 300;
    candles.remove(missing);
    let all = rows(&candles);
    let gap_time = candles[missing].open_time_ms;
    let span = (GAP_WINDOW * DEFAULT_HTF_FACTOR) as usize;
    for row in &all {
        let index = candles
            .iter()
            .position(|c| c.open_time_ms == row.open_time_ms)
            .unwrap();
        let expected = index >= missing && index < missing + span;
        assert_eq!(row.gap, expected, "row {index} at {}", row.open_time_ms);
    }
    assert!(all.iter().any(|r| r.gap && r.open_time_ms == gap_time));
}

#[test]
fn bad_candles_are_refused_and_change_nothing() {
    let candles = walk(250, 5);
    let good = rows(&candles);
    let mut set = FeatureSet::new(Interval::M1);
    let mut out = Vec::new();
    for (i, c) in candles.iter().enumerate() {
        if i == 200 {
            let bad = [
                Candle {
                    close: f64::NAN,
                    ..*c
                },
                Candle {
                    open: 0.0,
                    low: 0.0,
                    ..*c
                },
                Candle { low: -1.0, ..*c },
                Candle {
                    high: c.low * 0.5,
                    ..*c
                },
                Candle {
                    volume: f64::INFINITY,
                    ..*c
                },
            ];
            for b in bad {
                let error = set.update(&b).unwrap_err();
                assert!(
                    matches!(error, FeatureError::BadCandle { open_time_ms, .. } if open_time_ms == c.open_time_ms)
                );
                assert!(
                    error.to_string().contains(&c.open_time_ms.to_string()),
                    "{error}"
                );
            }
            let error = set.update(&candles[i - 1]).unwrap_err();
            assert!(matches!(error, FeatureError::OutOfOrder { .. }), "{error}");
            let error = set
                .update(&Candle {
                    open_time_ms: c.open_time_ms + 1,
                    ..*c
                })
                .unwrap_err();
            assert!(matches!(error, FeatureError::Misaligned { .. }), "{error}");
        }
        out.extend(set.update(c).unwrap());
    }
    assert_eq!(out, good);
}

#[test]
fn reset_starts_over() {
    let candles = walk(250, 6);
    let mut set = FeatureSet::new(Interval::M1);
    let first: Vec<_> = candles
        .iter()
        .filter_map(|c| set.update(c).unwrap())
        .collect();
    set.reset();
    let again: Vec<_> = candles
        .iter()
        .filter_map(|c| set.update(c).unwrap())
        .collect();
    assert_eq!(first, again);
}

#[test]
fn flat_quiet_markets_give_finite_features() {
    let candles: Vec<Candle> = (0..300)
        .map(|i| Candle {
            open_time_ms: i * 60_000,
            open: 5.0,
            high: 5.0,
            low: 5.0,
            close: 5.0,
            volume: 0.0,
            quote_volume: 0.0,
            trades: 0,
        })
        .collect();
    let all = rows(&candles);
    assert!(!all.is_empty());
    for row in all {
        assert!(row.values.iter().all(|v| v.is_finite()), "{row:?}");
    }
}

#[test]
fn a_series_starting_mid_bucket_skips_the_partial_bucket() {
    let candles = walk(400, 7);
    let from_start = rows(&candles);
    // Starting two minutes into a bucket: the higher timeframe begins with the next full bucket,
    // so its features match the full series once both have forgotten their different starts.
    let late = rows(&candles[2..]);
    let first_late = late[0].open_time_ms;
    let first_full = from_start[0].open_time_ms;
    assert_eq!(first_late - first_full, 5 * 60_000);
}

#[test]
fn sessions_flag_only_holes_longer_than_a_closure() {
    // Daily candles on weekdays from Monday 2024-01-01, with every weekday from day 400 to 413
    // missing (two weeks: Friday 397 to Monday 414).
    let day = 86_400_000;
    let days = (0..900).filter(|d| d % 7 < 5 && !(400..414).contains(d));
    let candles: Vec<Candle> = walk(900, 9)
        .into_iter()
        .zip(days)
        .map(|(c, d)| Candle {
            open_time_ms: 1_704_067_200_000 + d * day,
            ..c
        })
        .collect();
    let flagged = |calendar: Calendar| -> Vec<i64> {
        let mut set = FeatureSet::new(Interval::D1).with_calendar(calendar);
        assert_eq!(set.calendar(), calendar);
        candles
            .iter()
            .filter_map(|c| set.update(c).unwrap())
            .filter(|r| r.gap)
            .map(|r| r.open_time_ms)
            .collect()
    };
    let sessions = flagged(Calendar::Sessions);
    let after_hole = 1_704_067_200_000 + 414 * day;
    assert_eq!(sessions.first(), Some(&after_hole), "the long hole only");
    assert_eq!(sessions.len(), (GAP_WINDOW * DEFAULT_HTF_FACTOR) as usize);
    let every_day = flagged(Calendar::TwentyFourSeven);
    assert!(
        every_day.len() > sessions.len() * 2,
        "weekends are gaps on 24x7"
    );
}
