//! Unit tests of `prepare` on synthetic candles: the logistic baseline finds a real signal and
//! finds nothing in noise, and everything it returns is consistent.

use super::*;
use crate::model::dataset::synthetic::ar_series;

#[test]
fn logistic_beats_majority_when_returns_carry_over() {
    // r_t = 0.4 r_{t−1} + noise: the latest log return (feature 0) predicts the next.
    let p = prepare(
        &ar_series(6000, 0.4, 11),
        Interval::M1,
        &DataSpec::default(),
    )
    .unwrap();
    let (logistic, majority) = (&p.test.logistic, &p.test.majority);
    assert!(
        logistic.accuracy > majority.accuracy + 0.08,
        "{} vs {}",
        logistic.accuracy,
        majority.accuracy
    );
    assert!(
        logistic.log_loss < majority.log_loss - 0.05,
        "{} vs {}",
        logistic.log_loss,
        majority.log_loss
    );
    assert!(logistic.brier < majority.brier);
    assert!(logistic.macro_f1 > majority.macro_f1);
    // The weighting finds the carried-over return among 54 features.
    let w = &p.weights.weights;
    let top = (0..w.len()).max_by(|&a, &b| w[a].total_cmp(&w[b])).unwrap();
    assert!(
        p.dataset.names()[top].ends_with("log_return") || p.weights.penalised_by[0].is_some(),
        "top weight {} ({})",
        p.dataset.names()[top],
        w[top]
    );
    assert!(w[0] > 1.0, "log_return weight {}", w[0]);
}

#[test]
fn logistic_finds_nothing_in_noise() {
    let p = prepare(
        &ar_series(6000, 0.0, 12),
        Interval::M1,
        &DataSpec::default(),
    )
    .unwrap();
    let chance = 3f64.ln();
    let logistic = &p.test.logistic;
    assert!(
        logistic.log_loss > chance - 0.01,
        "{} beats chance on noise",
        logistic.log_loss
    );
    assert!(logistic.accuracy < 0.40, "{}", logistic.accuracy);
    assert!(p.test.majority.log_loss > chance - 0.01);
}

#[test]
fn prepared_parts_agree() {
    let spec = DataSpec {
        window: 10,
        horizon: 2,
        ..DataSpec::default()
    };
    let p = prepare(&ar_series(3000, 0.1, 13), Interval::M1, &spec).unwrap();
    let f = p.dataset.feature_count();
    assert_eq!(
        (
            p.normalizer.width(),
            p.correlation.size(),
            p.weights.weights.len()
        ),
        (f, f, f)
    );
    assert_eq!(p.logistic.features, f);
    let tried = &p.logistic_l2_tried;
    assert!(!tried.is_empty() && tried.len() <= spec.logistic.l2_grid.len());
    let best = tried
        .iter()
        .map(|t| t.validation_log_loss)
        .fold(f64::INFINITY, f64::min);
    if tried.len() < spec.logistic.l2_grid.len() {
        let last = tried[tried.len() - 1].validation_log_loss;
        assert!(last >= best, "the walk stops on a worse fit");
    }
    assert!((p.validation.logistic.log_loss - best).abs() < 1e-12);
    assert_eq!(p.test.logistic.samples, p.dataset.split().test.len());
    assert_eq!(
        p.validation.majority.samples,
        p.dataset.split().validation.len()
    );
    let (x, y) = p
        .dataset
        .batch(&[0, 1], &p.normalizer, &p.weights.weights)
        .unwrap();
    assert_eq!((x.len(), y.len()), (2 * 10 * f, 2));
    // The stored baseline predicts the same from a prepared last row.
    let mut row = vec![0.0; f];
    let id = p.dataset.split().test.start;
    p.normalizer
        .apply(
            p.dataset.sample_last_row(id).unwrap(),
            &p.weights.weights,
            &mut row,
        )
        .unwrap();
    let json = serde_json::to_string(&p.logistic).unwrap();
    let restored: LogisticRegression = serde_json::from_str(&json).unwrap();
    assert_eq!(
        restored.predict_proba(&row).unwrap(),
        p.logistic.predict_proba(&row).unwrap()
    );
    let spec_json = serde_json::to_string(&spec).unwrap();
    assert_eq!(serde_json::from_str::<DataSpec>(&spec_json).unwrap(), spec);
    assert_eq!(
        serde_json::from_str::<DataSpec>("{}").unwrap(),
        DataSpec::default()
    );
}
