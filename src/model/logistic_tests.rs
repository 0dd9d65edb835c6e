//! Unit tests of the logistic regression: gradient against finite differences, the optimum's
//! closed form without features, convergence, and refused garbage.

use super::*;
use crate::model::rng::Rng;

fn noisy_problem(n: usize, features: usize, seed: u64) -> (Vec<f64>, Vec<u8>) {
    let mut rng = Rng::new(seed);
    let mut x = Vec::with_capacity(n * features);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f64> = (0..features).map(|_| rng.normal()).collect();
        let score = 1.5 * row[0] + 0.5 * rng.normal();
        y.push(if score < -0.5 {
            0
        } else if score < 0.5 {
            1
        } else {
            2
        });
        x.extend(row);
    }
    (x, y)
}

#[test]
fn gradient_matches_finite_differences() {
    let (x, y) = noisy_problem(50, 3, 1);
    let mut rng = Rng::new(9);
    let params: Vec<f64> = (0..CLASSES * 4).map(|_| 0.3 * rng.normal()).collect();
    let mut grad = vec![0.0; params.len()];
    loss_and_gradient(&x, &y, 3, 0.1, &params, &mut grad);
    let mut scratch = vec![0.0; params.len()];
    for i in 0..params.len() {
        let h = 1e-6;
        let (mut up, mut down) = (params.clone(), params.clone());
        up[i] += h;
        down[i] -= h;
        let numeric = (loss_and_gradient(&x, &y, 3, 0.1, &up, &mut scratch)
            - loss_and_gradient(&x, &y, 3, 0.1, &down, &mut scratch))
            / (2.0 * h);
        assert!(
            (numeric - grad[i]).abs() < 1e-7,
            "{i}: {numeric} vs {}",
            grad[i]
        );
    }
}

#[test]
fn without_information_it_learns_the_class_frequencies() {
    // All features zero: the optimum predicts the class shares 1/6, 2/6, 3/6.
    let y = [0u8, 1, 1, 2, 2, 2];
    let x = vec![0.0; 6 * 2];
    let m = LogisticRegression::fit(&x, &y, 2, 0.01, 300, 1e-10, None).unwrap();
    let p = m.predict_proba(&[0.0, 0.0]).unwrap();
    for (k, share) in [1.0 / 6.0, 2.0 / 6.0, 3.0 / 6.0].iter().enumerate() {
        assert!((p[k] - share).abs() < 1e-8, "{p:?}");
    }
    assert!(m.converged);
}

#[test]
fn converges_to_a_stationary_point_and_is_deterministic() {
    let (x, y) = noisy_problem(2000, 5, 2);
    let a = LogisticRegression::fit(&x, &y, 5, 1e-3, 300, 1e-7, None).unwrap();
    let b = LogisticRegression::fit(&x, &y, 5, 1e-3, 300, 1e-7, None).unwrap();
    assert_eq!(a, b);
    assert!(
        a.converged && a.iterations < 300,
        "{} iterations",
        a.iterations
    );
    let mut params = a.coefficients.clone();
    params.extend(a.intercepts);
    let mut grad = vec![0.0; params.len()];
    loss_and_gradient(&x, &y, 5, 1e-3, &params, &mut grad);
    assert!(grad.iter().all(|g| g.abs() < 1e-6), "{grad:?}");
    // The informative feature pushes "up" against "down"; the others barely matter.
    assert!(
        a.coefficients[2 * 5] - a.coefficients[0] > 2.0,
        "{:?}",
        a.coefficients
    );
    assert!(a.coefficients[2 * 5 + 3].abs() < 0.2);
    // A warm start from the answer stops at once.
    let c = LogisticRegression::fit(&x, &y, 5, 1e-3, 300, 1e-6, Some(&a)).unwrap();
    assert!(c.iterations <= 1, "{}", c.iterations);
}

#[test]
fn garbage_is_refused() {
    let err = LogisticRegression::fit(&[1.0, f64::NAN], &[0], 2, 0.1, 10, 1e-6, None).unwrap_err();
    assert!(err.to_string().contains("value 1 is NaN"), "{err}");
    let err = LogisticRegression::fit(&[1.0, 2.0], &[3], 2, 0.1, 10, 1e-6, None).unwrap_err();
    assert_eq!(err, DataError::BadLabel { index: 0, label: 3 });
    let err = LogisticRegression::fit(&[1.0, 2.0, 3.0], &[0], 2, 0.1, 10, 1e-6, None).unwrap_err();
    assert!(matches!(err, DataError::WidthMismatch { .. }));
    let mut m = LogisticRegression::fit(&[1.0, 2.0], &[0], 2, 0.1, 10, 1e-6, None).unwrap();
    assert!(m.predict_proba(&[1.0]).is_err());
    assert!(m.predict_proba(&[1.0, f64::INFINITY]).is_err());
    m.intercepts[1] = f64::NAN;
    let err = m.predict_proba(&[1.0, 2.0]).unwrap_err();
    assert!(
        err.to_string().contains("logistic regression parameter"),
        "{err}"
    );
}
