//! The two baselines every model is measured against, fitted on the same split: the majority
//! class (it predicts the training class shares, so its log-loss is that of the prior, and its
//! predicted class is the most frequent one), and a multinomial logistic regression on the
//! normalised, weighted features of the last row of each window, its L2 strength chosen on the
//! validation split from a small grid. Both are serialisable: the engine falls back to the
//! logistic baseline when the model fails.

use serde::{Deserialize, Serialize};

use super::data_error::DataError;
use super::labels::CLASSES;
use super::logistic::LogisticRegression;
use super::metrics::{Metrics, evaluate};

/// Settings of the logistic baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogisticParams {
    /// L2 strengths tried in this order (see [`fit_logistic`]); the one with the lowest
    /// validation log-loss is kept.
    pub l2_grid: Vec<f64>,
    pub max_iterations: usize,
    /// Stop when every gradient component is under this.
    pub tolerance: f64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        Self {
            l2_grid: vec![3.0, 1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001],
            max_iterations: 300,
            tolerance: 1e-6,
        }
    }
}

/// Predicts the training class shares for every sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MajorityClass {
    /// The most frequent training class (the lowest on a tie).
    pub class: u8,
    pub probabilities: [f64; CLASSES],
}

impl MajorityClass {
    pub fn fit(labels: &[u8]) -> Result<Self, DataError> {
        if labels.is_empty() {
            return Err(DataError::Empty {
                what: "majority class fit",
            });
        }
        let mut counts = [0usize; CLASSES];
        for (index, &label) in labels.iter().enumerate() {
            let slot = counts
                .get_mut(usize::from(label))
                .ok_or(DataError::BadLabel { index, label })?;
            *slot += 1;
        }
        let class = (0..CLASSES).fold(0, |best, k| if counts[k] > counts[best] { k } else { best });
        Ok(Self {
            class: class as u8,
            probabilities: std::array::from_fn(|k| counts[k] as f64 / labels.len() as f64),
        })
    }

    pub fn predict_proba(&self) -> [f64; CLASSES] {
        self.probabilities
    }

    pub fn evaluate(&self, labels: &[u8]) -> Result<Metrics, DataError> {
        evaluate(&vec![self.probabilities; labels.len()], labels)
    }
}

/// One L2 strength tried for the logistic baseline.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct L2Trial {
    pub l2: f64,
    pub validation_log_loss: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// Walks the L2 grid in the order given (strongest first by default), each fit warm-started
/// from the one before, and keeps the lowest validation log-loss. The walk stops at the first
/// strength whose validation log-loss is worse than the best so far: weaker penalties fit more
/// slowly and, past the best, only fit the noise more closely. Returns the model and the
/// strengths tried.
pub fn fit_logistic(
    x_train: &[f64],
    y_train: &[u8],
    x_validation: &[f64],
    y_validation: &[u8],
    features: usize,
    params: &LogisticParams,
) -> Result<(LogisticRegression, Vec<L2Trial>), DataError> {
    let mut best: Option<(LogisticRegression, f64)> = None;
    let mut tried = Vec::with_capacity(params.l2_grid.len());
    let mut previous: Option<LogisticRegression> = None;
    for &l2 in &params.l2_grid {
        let model = LogisticRegression::fit(
            x_train,
            y_train,
            features,
            l2,
            params.max_iterations,
            params.tolerance,
            previous.as_ref(),
        )?;
        let loss = evaluate(&model.predict_proba_batch(x_validation)?, y_validation)?.log_loss;
        tried.push(L2Trial {
            l2,
            validation_log_loss: loss,
            iterations: model.iterations,
            converged: model.converged,
        });
        match &best {
            Some((_, best_loss)) if loss >= *best_loss => break,
            _ => best = Some((model.clone(), loss)),
        }
        previous = Some(model);
    }
    let (model, _) = best.ok_or(DataError::InvalidSpec {
        field: "logistic.l2_grid",
        value: "[]".to_string(),
        expected: "at least one L2 strength",
    })?;
    Ok((model, tried))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_predicts_the_shares() {
        let m = MajorityClass::fit(&[2, 0, 2, 1, 2]).unwrap();
        assert_eq!(m.class, 2);
        assert_eq!(m.probabilities, [0.2, 0.2, 0.6]);
        let tie = MajorityClass::fit(&[1, 0, 0, 1]).unwrap();
        assert_eq!(tie.class, 0);
        let score = m.evaluate(&[2, 2, 0]).unwrap();
        assert!((score.accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert!(matches!(
            MajorityClass::fit(&[]),
            Err(DataError::Empty { .. })
        ));
        assert_eq!(
            MajorityClass::fit(&[0, 7]),
            Err(DataError::BadLabel { index: 1, label: 7 })
        );
    }

    #[test]
    fn the_l2_walk_keeps_the_best_and_stops_when_worse() {
        let mut rng = crate::model::rng::Rng::new(5);
        let mut make = |n: usize| {
            let (mut x, mut y) = (Vec::new(), Vec::new());
            for _ in 0..n {
                let row: Vec<f64> = (0..40).map(|_| rng.normal()).collect();
                let score = row[0] + rng.normal();
                y.push(if score < -0.4 {
                    0
                } else if score < 0.4 {
                    1
                } else {
                    2
                });
                x.extend(row);
            }
            (x, y)
        };
        // 40 features, 39 of them noise, 150 samples: weak penalties overfit.
        let (xt, yt) = make(150);
        let (xv, yv) = make(300);
        let params = LogisticParams {
            l2_grid: vec![100.0, 10.0, 1.0, 0.1, 0.01, 0.001, 1e-4],
            ..LogisticParams::default()
        };
        let (model, tried) = fit_logistic(&xt, &yt, &xv, &yv, 40, &params).unwrap();
        let losses: Vec<f64> = tried.iter().map(|t| t.validation_log_loss).collect();
        let best = losses.iter().copied().fold(f64::INFINITY, f64::min);
        let kept = tried
            .iter()
            .find(|t| t.validation_log_loss == best)
            .unwrap();
        assert_eq!(model.l2, kept.l2);
        assert!(
            losses.windows(2).rev().skip(1).all(|w| w[1] < w[0]),
            "{losses:?}"
        );
        assert!(
            tried.len() >= 2 && tried.len() < 7,
            "100 is too strong, 1e-4 too weak: {losses:?}"
        );
        assert!(losses[tried.len() - 1] >= best);
    }
}
