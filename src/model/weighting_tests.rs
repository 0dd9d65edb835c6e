//! Unit tests of the weight optimiser on a synthetic problem with known structure: an
//! informative feature, noise, an exact duplicate of the informative one, and a weaker feature.

use super::*;
use crate::model::baseline::{LogisticParams, fit_logistic};

/// `n` rows of 5 features: f0 drives the class, f1 and f3 are noise, f2 = f0 exactly, f4 is f0
/// plus much noise (weakly informative, correlation about 0.45 with f0). Returns the rows, the
/// classes and a "forward return" made from f0.
fn problem(n: usize, seed: u64) -> (Vec<f64>, Vec<u8>, Vec<f64>) {
    let mut rng = Rng::new(seed);
    let (mut x, mut y, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let f0 = rng.normal();
        let row = [f0, rng.normal(), f0, rng.normal(), f0 + 2.0 * rng.normal()];
        let ret = 0.8 * f0 + rng.normal();
        y.push(if ret < -0.45 {
            0
        } else if ret < 0.45 {
            1
        } else {
            2
        });
        r.push(ret);
        x.extend(row);
    }
    (x, y, r)
}

fn names() -> Vec<String> {
    ["signal", "noise_a", "signal_copy", "noise_b", "weak"]
        .map(String::from)
        .to_vec()
}

fn run(params: &WeightingParams) -> IndicatorWeights {
    let (x_train, y_train, r_train) = problem(3000, 1);
    let (x_validation, y_validation, _) = problem(1000, 2);
    let (model, _) = fit_logistic(
        &x_train,
        &y_train,
        &x_validation,
        &y_validation,
        5,
        &LogisticParams::default(),
    )
    .unwrap();
    let names = names();
    let correlation = CorrelationMatrix::pearson(x_train.chunks_exact(5), &names).unwrap();
    optimise(
        WeightingInputs {
            names: &names,
            model: &model,
            x_validation: &x_validation,
            y_validation: &y_validation,
            correlation: &correlation,
            recent_rows: &x_train[2000 * 5..],
            recent_returns: &r_train[2000..],
        },
        params,
    )
    .unwrap()
}

#[test]
fn informative_beats_noise_and_the_duplicate_is_penalised() {
    let params = WeightingParams::default();
    let w = run(&params);
    let floor = params.floor;
    assert!(
        w.weights.iter().all(|v| v.is_finite() && *v >= floor),
        "{:?}",
        w.weights
    );
    let mean = w.weights.iter().sum::<f64>() / 5.0;
    assert!((mean - 1.0).abs() < 1e-12, "{mean}");
    assert!(
        w.weights[0] > w.weights[1] && w.weights[0] > w.weights[3],
        "{:?}",
        w.weights
    );
    assert!(
        w.weights[4] > w.weights[1] && w.weights[4] > w.weights[3],
        "{:?}",
        w.weights
    );
    // Identical columns, identical importance; the later one is the duplicate.
    assert_eq!(w.importance[0], w.importance[2]);
    assert!(w.importance[0] > 0.05, "{:?}", w.importance);
    assert_eq!((w.penalty[2], w.penalised_by[2]), (1.0, Some(0)));
    assert_eq!(w.weights[2], floor);
    assert_eq!(w.penalty[0], 0.0);
    assert!(w.penalty[4] == 0.0, "|ρ| ≈ 0.45 is under the 0.7 threshold");
    assert!(
        w.rank_ic[0] > 0.4 && w.rank_ic[1].abs() < 0.1,
        "{:?}",
        w.rank_ic
    );
    assert!((w.importance_share.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!((w.ic_share.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(w.base_log_loss.is_some_and(|l| l < 3f64.ln()));
    let json = serde_json::to_string(&w).unwrap();
    assert_eq!(serde_json::from_str::<IndicatorWeights>(&json).unwrap(), w);
    // The combination written out for feature 0.
    let q: Vec<f64> = (0..5)
        .map(|j| (w.importance_share[j] + w.ic_share[j]) * (1.0 - w.penalty[j]))
        .collect();
    let expected = floor + (1.0 - floor) * 5.0 * q[0] / q.iter().sum::<f64>();
    assert!((w.weights[0] - expected).abs() < 1e-12);
}

#[test]
fn seeds_change_permutations_not_the_ranking() {
    let a = run(&WeightingParams::default());
    let b = run(&WeightingParams {
        seed: 17,
        repeats: 5,
        ..WeightingParams::default()
    });
    assert_ne!(a.importance[1], b.importance[1]);
    assert!(b.weights[0] > b.weights[1] && b.weights[0] > b.weights[3]);
    assert_eq!(run(&WeightingParams::default()), a, "deterministic");
}

#[test]
fn penalties_follow_the_importance_ranking() {
    let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let correlation = CorrelationMatrix {
        names,
        values: vec![1.0, 0.85, 0.1, 0.85, 1.0, -0.95, 0.1, -0.95, 1.0],
    };
    // Ranking b, c, a: c is penalised for b (|−0.95| → (0.95 − 0.7) / 0.3), a for b (0.5).
    let (penalty, by) = redundancy_penalties(&[0.1, 0.3, 0.2], &correlation, 0.7);
    assert_eq!(by, vec![Some(1), None, Some(1)]);
    assert!((penalty[0] - 0.5).abs() < 1e-12 && (penalty[2] - 0.25 / 0.3).abs() < 1e-12);
    assert_eq!(penalty[1], 0.0);
}

#[test]
fn no_information_means_unit_weights_and_garbage_is_refused() {
    let names: Vec<String> = ["a", "b"].map(String::from).to_vec();
    let x = vec![0.0; 20];
    let y = [0u8, 1, 2, 0, 1, 2, 0, 1, 2, 0];
    let model =
        crate::model::logistic::LogisticRegression::fit(&x, &y, 2, 0.1, 50, 1e-9, None).unwrap();
    let correlation = CorrelationMatrix::pearson(x.chunks_exact(2), &names).unwrap();
    let inputs = WeightingInputs {
        names: &names,
        model: &model,
        x_validation: &x,
        y_validation: &y,
        correlation: &correlation,
        recent_rows: &x,
        recent_returns: &[0.0; 10],
    };
    let w = optimise(inputs, &WeightingParams::default()).unwrap();
    assert_eq!(w.weights, vec![1.0, 1.0]);
    let bad = WeightingInputs {
        recent_returns: &[0.0; 9],
        ..inputs
    };
    assert!(matches!(
        optimise(bad, &WeightingParams::default()),
        Err(DataError::WidthMismatch {
            what: "rank IC rows",
            ..
        })
    ));
    let three: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let bad = WeightingInputs {
        names: &three,
        ..inputs
    };
    assert!(matches!(
        optimise(bad, &WeightingParams::default()),
        Err(DataError::WidthMismatch {
            what: "importance model",
            ..
        })
    ));
    let unit = IndicatorWeights::unit(&names);
    let json = serde_json::to_string(&unit).unwrap();
    assert_eq!(
        serde_json::from_str::<IndicatorWeights>(&json).unwrap(),
        unit
    );
}
