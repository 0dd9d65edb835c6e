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
    /// L2 strengths tried; the one with the lowest validation log-loss is kept.
    pub l2_grid: Vec<f64>,
    pub max_iterations: usize,
    /// Stop when every gradient component is under this.
    pub tolerance: f64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        Self {
            l2_grid: vec![1e-1, 1e-2, 1e-3, 1e-4],
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

/// A logistic fit per L2 strength of the grid (strongest first, each warm-started from the one
/// before), keeping the lowest validation log-loss. Returns the model and `(l2, validation
/// log-loss)` for every strength tried.
pub fn fit_logistic(
    x_train: &[f64],
    y_train: &[u8],
    x_validation: &[f64],
    y_validation: &[u8],
    features: usize,
    params: &LogisticParams,
) -> Result<(LogisticRegression, Vec<(f64, f64)>), DataError> {
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
        tried.push((l2, loss));
        if best.as_ref().is_none_or(|(_, b)| loss < *b) {
            best = Some((model.clone(), loss));
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
}
