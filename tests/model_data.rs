//! The learning data on real candles: ../shared/data/ALTBTC-1m.csv read with the import code,
//! prepared with the default spec (T = 20, horizon 1, 70/15/15). Checks the class balance on the
//! training split, that θ and the normaliser ignore everything after the training part, that a
//! bad candle is a clear error, and prints the figures the README quotes (time of `prepare`,
//! baselines on the test split). An ignored test times `prepare` on 100k synthetic candles.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Instant;

use trademon::domain::{Candle, Interval};
use trademon::features::FeatureError;
use trademon::model::data_error::DataError;
use trademon::model::labels::CLASSES;
use trademon::model::normalize::Normalizer;
use trademon::model::prepare::{DataSpec, prepare};

use support::candles::SplitMix;
use support::import::shared_candles;

/// The candles of ALTBTC-1m, or `None` (with the reason printed) when absent outside CI.
fn altbtc() -> Option<Vec<Candle>> {
    shared_candles("ALTBTC-1m.csv", Interval::M1)
}

#[test]
fn altbtc_prepares_with_balanced_classes_and_scored_baselines() {
    let Some(candles) = altbtc() else { return };
    let started = Instant::now();
    let p = prepare(&candles, Interval::M1, &DataSpec::default()).unwrap();
    let elapsed = started.elapsed();
    let d = &p.dataset;
    let split = d.split();
    let c = d.counts();
    println!(
        "ALTBTC-1m: {} candles → {} rows ({} gap-flagged) → {} windows, {} left out for gaps, \
         {} for labels → {} samples; train {} / validation {} / test {} ({} dropped between)",
        c.candles,
        c.rows,
        c.gap_rows,
        c.windows,
        c.skipped_gap,
        c.skipped_label,
        c.samples,
        split.train.len(),
        split.validation.len(),
        split.test.len(),
        split.dropped()
    );
    println!(
        "prepare: {:.3} s; θ = {:.3e}",
        elapsed.as_secs_f64(),
        d.theta()
    );
    for (name, m) in [
        ("majority", &p.test.majority),
        ("logistic", &p.test.logistic),
    ] {
        println!(
            "test {name:>8}: accuracy {:.4}  macro-F1 {:.4}  log-loss {:.4}  Brier {:.4}  \
             confusion {:?}",
            m.accuracy, m.macro_f1, m.log_loss, m.brier, m.confusion
        );
    }
    for t in &p.logistic_l2_tried {
        println!(
            "logistic l2 {:<6} validation log-loss {:.5} ({} iterations, converged {})",
            t.l2, t.validation_log_loss, t.iterations, t.converged
        );
    }
    let w = &p.weights;
    let mut order: Vec<usize> = (0..w.weights.len()).collect();
    order.sort_by(|&a, &b| w.weights[b].total_cmp(&w.weights[a]));
    for &j in order.iter().take(8) {
        println!(
            "  {:<24} w {:.3}  importance {:+.5}  penalty {:.2}  rank IC {:+.4}",
            w.names[j], w.weights[j], w.importance[j], w.penalty[j], w.rank_ic[j]
        );
    }

    // About a third per class on the training split (each 25–42 %).
    let classes = d.classes(split.train.clone()).unwrap();
    let shares: Vec<f64> = (0..CLASSES as u8)
        .map(|k| classes.iter().filter(|&&c| c == k).count() as f64 / classes.len() as f64)
        .collect();
    println!("training class shares (down, flat, up): {shares:.3?}");
    for (k, share) in shares.iter().enumerate() {
        assert!((0.25..=0.42).contains(share), "class {k}: {share}");
    }
    assert!(split.test.len() >= 500, "{}", split.test.len());
    for m in [&p.test.majority, &p.test.logistic] {
        assert!(m.log_loss.is_finite() && m.brier.is_finite() && m.samples == split.test.len());
    }
    let mean = w.weights.iter().sum::<f64>() / w.weights.len() as f64;
    assert!((mean - 1.0).abs() < 1e-9);
    assert!(
        w.weights
            .iter()
            .all(|&v| v >= w.params.floor && v.is_finite())
    );
}

#[test]
fn altbtc_theta_and_normalizer_ignore_the_test_part() {
    let Some(candles) = altbtc() else { return };
    let spec = DataSpec::default();
    let p = prepare(&candles, Interval::M1, &spec).unwrap();
    let d = &p.dataset;
    let test_first_row = d.sample_end_row(d.split().test.start).unwrap() + 1 - spec.window;
    let from_ms = d.row_open_time_ms(test_first_row).unwrap();
    // Every price of the test part moved: scaled by a factor that drifts from 1.0 to 1.5.
    let changed: Vec<Candle> = candles
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if c.open_time_ms < from_ms {
                return *c;
            }
            let f = 1.0 + 0.5 * (i as f64 / candles.len() as f64);
            Candle {
                open: c.open * f,
                high: c.high * f * 1.001,
                low: c.low * f,
                close: c.close * f,
                ..*c
            }
        })
        .collect();
    let q = prepare(&changed, Interval::M1, &spec).unwrap();
    assert_eq!(q.dataset.split(), d.split());
    assert_eq!(q.dataset.theta(), d.theta());
    assert_eq!(q.normalizer, p.normalizer);
    assert_eq!(Normalizer::fit(&q.dataset).unwrap(), p.normalizer);
    assert_ne!(q.test.logistic, p.test.logistic, "the test part did change");
}

#[test]
fn altbtc_with_a_broken_candle_is_a_clear_error() {
    let Some(mut candles) = altbtc() else { return };
    let bad = 5000;
    candles[bad].low = candles[bad].high * 2.0;
    let err = prepare(&candles, Interval::M1, &DataSpec::default()).unwrap_err();
    let text = err.to_string();
    match err {
        DataError::Candle {
            index,
            source: FeatureError::BadCandle { open_time_ms, .. },
        } => {
            assert_eq!(index, bad);
            assert_eq!(open_time_ms, candles[bad].open_time_ms);
        }
        other => panic!("{other:?}"),
    }
    assert!(text.contains("candle 5000 of the series"), "{text}");
    let err = prepare(&candles[..300], Interval::M1, &DataSpec::default()).unwrap_err();
    assert!(matches!(err, DataError::TooFewSamples { .. }), "{err}");
}

/// A random walk of `n` 1m candles (splitmix64 noise), for the timing only.
fn walk(n: usize) -> Vec<Candle> {
    let mut noise = SplitMix(7);
    let mut uniform = move || noise.uniform();

    let mut close = 100.0;
    (0..n)
        .map(|i| {
            let open = close;
            close = open * (1.0 + (uniform() - 0.5) * 0.004);
            let volume = 1.0 + uniform() * 10.0;
            Candle {
                open_time_ms: 1_699_999_800_000 + i as i64 * 60_000,
                open,
                high: open.max(close) * (1.0 + uniform() * 0.001),
                low: open.min(close) * (1.0 - uniform() * 0.001),
                close,
                volume,
                quote_volume: volume * close,
                trades: 1,
            }
        })
        .collect()
}

#[test]
#[ignore = "timing figure: cargo test --release --test model_data -- --ignored --nocapture"]
fn prepare_100k_candles_timing() {
    let candles = walk(100_000);
    let started = Instant::now();
    let p = prepare(&candles, Interval::M1, &DataSpec::default()).unwrap();
    println!(
        "prepare on 100,000 synthetic 1m candles: {:.3} s ({} samples; logistic iterations {})",
        started.elapsed().as_secs_f64(),
        p.dataset.samples(),
        p.logistic.iterations
    );
}
