//! Unit tests of the dataset: counts, windows that skip holes, batches, the split's guarantees,
//! θ and the normaliser from the training part only, and refused garbage.

use super::synthetic::{START_MS, ar_series, with_hole};
use super::*;
use crate::features::FeatureError;
use crate::model::labels::{FLAT, UP};

fn spec() -> DataSpec {
    DataSpec::default()
}

#[test]
fn counts_add_up() {
    let candles = ar_series(3000, 0.0, 1);
    let d = Dataset::build(&candles, Interval::M1, &spec()).unwrap();
    let c = d.counts();
    assert_eq!(c.candles, 3000);
    assert_eq!(c.rows, 3000 - (34 * 5 - 1));
    assert_eq!(c.windows, c.rows - 20 + 1);
    assert_eq!((c.gap_rows, c.skipped_gap), (0, 0));
    assert_eq!(c.skipped_label, 1, "the last row has no next candle");
    assert_eq!(c.samples, c.windows - 1);
    assert_eq!(d.samples(), c.samples);
    assert_eq!(d.names().len(), 54);
    assert!(d.row(c.rows - 1).is_some() && d.row(c.rows).is_none());
    assert_eq!(d.row_open_time_ms(c.rows), None);
    assert!(matches!(
        d.sample_last_row(c.samples),
        Err(DataError::UnknownSample { .. })
    ));
}

#[test]
fn windows_skip_holes() {
    // Three candles missing after candle 1500.
    let candles = with_hole(ar_series(3000, 0.0, 2), 1500, 3);
    let hole_from = candles[1499].open_time_ms + 60_000;
    let hole_to = candles[1500].open_time_ms;
    let d = Dataset::build(&candles, Interval::M1, &spec()).unwrap();
    assert!(d.counts().skipped_gap > 0 && d.counts().gap_rows > 0);
    assert_eq!(
        d.counts().skipped_label,
        2,
        "before the hole and at the end"
    );
    for id in 0..d.samples() {
        let end = d.sample_end_row(id).unwrap();
        let first_ms = d.row_open_time_ms(end + 1 - d.window()).unwrap();
        let end_ms = d.row_open_time_ms(end).unwrap();
        assert_eq!(
            end_ms - first_ms,
            19 * 60_000,
            "sample {id}: rows are consecutive"
        );
        assert!(
            end_ms < hole_from || first_ms >= hole_to,
            "sample {id} ({first_ms}..={end_ms}) spans the hole"
        );
        // A label never reaches over the hole either.
        assert_ne!(
            end_ms,
            hole_from - 60_000,
            "sample {id} is labelled across the hole"
        );
    }
}

#[test]
fn batch_is_z_scored_weighted_row_major() {
    let candles = ar_series(2500, 0.2, 3);
    let d = Dataset::build(&candles, Interval::M1, &spec()).unwrap();
    let n = Normalizer::fit(&d).unwrap();
    let f = d.feature_count();
    let mut weights = vec![1.0; f];
    weights[3] = 2.5;
    let ids = [0, 7, d.samples() - 1];
    let (x, y) = d.batch(&ids, &n, &weights).unwrap();
    assert_eq!(x.len(), 3 * 20 * f);
    assert_eq!(
        y,
        vec![
            d.class(0).unwrap(),
            d.class(7).unwrap(),
            d.class(ids[2]).unwrap()
        ]
    );
    assert!(x.iter().all(|v| v.is_finite()));
    // Sample 7, row 4 of its window, feature 3.
    let row = d.sample_end_row(7).unwrap() + 1 - 20 + 4;
    let expected = (d.row(row).unwrap()[3] - n.means[3]) / n.stds[3] * 2.5;
    let got = x[(20 + 4) * f + 3];
    assert!((f64::from(got) - expected).abs() < 1e-5 * expected.abs().max(1.0));
    // The last row of the window is what the logistic baseline sees.
    let last = d.last_rows([7], &n, &weights).unwrap();
    assert!((f64::from(x[(20 + 19) * f + 3]) - last[3]).abs() < 1e-5 * last[3].abs().max(1.0));
    // Buffers are reused.
    let (mut xb, mut yb) = (Vec::new(), Vec::new());
    d.batch_into(&[7], &n, &weights, &mut xb, &mut yb).unwrap();
    assert_eq!(xb[..], x[20 * f..40 * f]);
    assert_eq!(yb, vec![y[1]]);
}

#[test]
fn batch_garbage_is_refused() {
    let d = Dataset::build(&ar_series(2500, 0.0, 4), Interval::M1, &spec()).unwrap();
    let n = Normalizer::fit(&d).unwrap();
    let f = d.feature_count();
    let err = d.batch(&[0, d.samples()], &n, &vec![1.0; f]).unwrap_err();
    assert_eq!(
        err,
        DataError::UnknownSample {
            id: d.samples(),
            samples: d.samples()
        }
    );
    let mut weights = vec![1.0; f];
    weights[9] = f64::NAN;
    assert!(matches!(
        d.batch(&[0], &n, &weights),
        Err(DataError::NotFinite { index: 9, .. })
    ));
    assert!(matches!(
        d.batch(&[0], &n, &[1.0; 3]),
        Err(DataError::WidthMismatch { got: 3, .. })
    ));
    assert!(matches!(
        d.batch(&[0], &Normalizer::identity(5), &[1.0; 5]),
        Err(DataError::WidthMismatch {
            what: "normalizer",
            ..
        })
    ));
}

#[test]
fn split_is_ordered_disjoint_and_windows_do_not_cross() {
    let mut s = spec();
    s.horizon = 3;
    let d = Dataset::build(&ar_series(4000, 0.0, 5), Interval::M1, &s).unwrap();
    let split = d.split();
    assert_eq!(split.train.start, 0);
    assert!(split.train.end <= split.validation.start);
    assert!(split.validation.end <= split.test.start);
    assert_eq!(split.test.end, d.samples());
    let n = d.samples() as f64;
    assert!((split.train.len() as f64 - 0.7 * n).abs() <= 1.0);
    let end = |id: usize| d.sample_end_row(id).unwrap();
    for (before, after) in [
        (split.train.end - 1, split.validation.start),
        (split.validation.end - 1, split.test.start),
    ] {
        // The next split's first window starts after the rows the last label looks at.
        let first_row_after = end(after) + 1 - 20;
        assert!(first_row_after > end(before) + 3, "{before} → {after}");
        assert_eq!(
            end(after),
            end(before) + 20 + 3,
            "contiguous samples: exactly the gap"
        );
    }
    for id in 1..d.samples() {
        assert!(end(id) > end(id - 1), "time order");
    }
}

#[test]
fn theta_and_normalizer_come_from_training_data_only() {
    let candles = ar_series(4000, 0.0, 6);
    let d = Dataset::build(&candles, Interval::M1, &spec()).unwrap();
    let n = Normalizer::fit(&d).unwrap();
    // Replace every price from the validation split's first window on by another walk.
    let first = d.sample_end_row(d.split().validation.start).unwrap() + 1 - 20;
    let from_ms = d.row_open_time_ms(first).unwrap();
    let other = ar_series(4000, 0.5, 99);
    let changed: Vec<Candle> = candles
        .iter()
        .zip(&other)
        .map(|(c, o)| if c.open_time_ms >= from_ms { *o } else { *c })
        .collect();
    let d2 = Dataset::build(&changed, Interval::M1, &spec()).unwrap();
    assert_eq!(d2.split(), d.split());
    assert_eq!(d2.theta(), d.theta());
    assert_eq!(Normalizer::fit(&d2).unwrap(), n);
    let last_test = d.samples() - 1;
    assert_ne!(
        d2.forward_return(last_test).unwrap(),
        d.forward_return(last_test).unwrap()
    );
    // θ splits the training samples into thirds.
    let classes = d.classes(d.split().train.clone()).unwrap();
    let share = |k: u8| classes.iter().filter(|&&c| c == k).count() as f64 / classes.len() as f64;
    assert!((share(FLAT) - 1.0 / 3.0).abs() < 0.01, "{}", share(FLAT));
    assert!((share(UP) - 1.0 / 3.0).abs() < 0.05, "{}", share(UP));
}

#[test]
fn too_little_data_is_a_clear_error() {
    let err = Dataset::build(&ar_series(400, 0.0, 7), Interval::M1, &spec()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, DataError::TooFewSamples { .. }), "{text}");
    assert!(
        text.contains("usable windows") && text.contains("at least 50"),
        "{text}"
    );
    let err = Dataset::build(&[], Interval::M1, &spec()).unwrap_err();
    assert!(err.to_string().contains("0 usable windows"), "{err}");
}

#[test]
fn invalid_candles_give_the_feature_error() {
    let mut candles = ar_series(600, 0.0, 8);
    candles[300].high = candles[300].low * 0.5;
    let err = Dataset::build(&candles, Interval::M1, &spec()).unwrap_err();
    match &err {
        DataError::Candle {
            index: 300,
            source: FeatureError::BadCandle { open_time_ms, .. },
        } => assert_eq!(*open_time_ms, START_MS + 300 * 60_000),
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().starts_with("candle 300 of the series"),
        "{err}"
    );
    let mut candles = ar_series(600, 0.0, 8);
    candles[10].close = f64::NAN;
    assert!(matches!(
        Dataset::build(&candles, Interval::M1, &spec()),
        Err(DataError::Candle {
            index: 10,
            source: FeatureError::BadCandle { .. }
        })
    ));
    let mut candles = ar_series(600, 0.0, 8);
    candles.swap(20, 21);
    assert!(matches!(
        Dataset::build(&candles, Interval::M1, &spec()),
        Err(DataError::Candle {
            index: 21,
            source: FeatureError::OutOfOrder { .. }
        })
    ));
    let mut candles = ar_series(600, 0.0, 8);
    candles[5].open_time_ms += 1;
    assert!(matches!(
        Dataset::build(&candles, Interval::M1, &spec()),
        Err(DataError::Candle {
            index: 5,
            source: FeatureError::Misaligned { .. }
        })
    ));
}

#[test]
fn bad_specs_name_the_field() {
    let candles = ar_series(100, 0.0, 9);
    type Change = fn(&mut DataSpec);
    let cases: [(Change, &str); 6] = [
        (|s| s.window = 0, "window"),
        (|s| s.horizon = 0, "horizon"),
        (|s| s.train_fraction = f64::NAN, "train_fraction"),
        (
            |s| s.validation_fraction = 0.3,
            "train_fraction + validation_fraction",
        ),
        (|s| s.weighting.floor = 1.5, "weighting.floor"),
        (|s| s.logistic.l2_grid.clear(), "logistic.l2_grid"),
    ];
    for (change, field) in cases {
        let mut s = spec();
        change(&mut s);
        match Dataset::build(&candles, Interval::M1, &s) {
            Err(DataError::InvalidSpec { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}
