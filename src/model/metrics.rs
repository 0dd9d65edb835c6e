//! Scores of class probabilities against the true classes.
//!
//! - accuracy: share of samples whose most probable class (the lowest class on a tie) is right;
//! - macro-F1: mean F1 over the classes that occur in the labels or the predictions (as
//!   scikit-learn counts them); a class never predicted has precision 0 and so F1 0;
//! - log-loss: mean of `−ln max(p_true, 1e-15)`;
//! - Brier score: mean over samples of `Σ_k (p_k − y_k)²` (0 perfect, 2 worst);
//! - the confusion matrix `[true][predicted]` and the class counts of the labels.

use serde::{Deserialize, Serialize};

use super::data_error::DataError;
use super::labels::CLASSES;

/// A probability is clipped up to this before its logarithm.
pub const LOG_LOSS_CLIP: f64 = 1e-15;

/// Scores of one set of predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub samples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub log_loss: f64,
    pub brier: f64,
    /// `confusion[true][predicted]`.
    pub confusion: [[u64; CLASSES]; CLASSES],
    /// Samples per true class.
    pub class_counts: [u64; CLASSES],
}

/// The predicted class: the most probable, the lowest on a tie.
pub fn predicted_class(p: &[f64; CLASSES]) -> u8 {
    let mut best = 0;
    for k in 1..CLASSES {
        if p[k] > p[best] {
            best = k;
        }
    }
    best as u8
}

/// Scores `probabilities` (one row of class probabilities per sample) against `labels`.
/// Probabilities must be finite and non-negative; they are used as given (not renormalised).
pub fn evaluate(probabilities: &[[f64; CLASSES]], labels: &[u8]) -> Result<Metrics, DataError> {
    if probabilities.len() != labels.len() {
        return Err(DataError::WidthMismatch {
            what: "metrics: probabilities per label",
            expected: labels.len(),
            got: probabilities.len(),
        });
    }
    if labels.is_empty() {
        return Err(DataError::Empty { what: "metrics" });
    }
    let mut confusion = [[0u64; CLASSES]; CLASSES];
    let mut log_loss = 0.0;
    let mut brier = 0.0;
    for (index, (p, &label)) in probabilities.iter().zip(labels).enumerate() {
        if usize::from(label) >= CLASSES {
            return Err(DataError::BadLabel { index, label });
        }
        if let Some(k) = p.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(DataError::NotFinite {
                what: "metrics: probability (must be finite and non-negative)",
                index: index * CLASSES + k,
                value: p[k],
            });
        }
        let y = usize::from(label);
        confusion[y][usize::from(predicted_class(p))] += 1;
        log_loss -= p[y].max(LOG_LOSS_CLIP).ln();
        brier += (0..CLASSES)
            .map(|k| {
                let target = if k == y { 1.0 } else { 0.0 };
                (p[k] - target) * (p[k] - target)
            })
            .sum::<f64>();
    }
    let n = labels.len() as f64;
    let class_counts: [u64; CLASSES] = std::array::from_fn(|k| confusion[k].iter().sum());
    let predicted: [u64; CLASSES] = std::array::from_fn(|k| confusion.iter().map(|r| r[k]).sum());
    let correct: u64 = (0..CLASSES).map(|k| confusion[k][k]).sum();
    let mut f1_sum = 0.0;
    let mut f1_classes = 0;
    for k in 0..CLASSES {
        if class_counts[k] == 0 && predicted[k] == 0 {
            continue;
        }
        f1_classes += 1;
        let tp = confusion[k][k] as f64;
        // F1 = 2 TP / (2 TP + FP + FN) = 2 TP / (predicted + actual); 0 when TP = 0.
        f1_sum += 2.0 * tp / (predicted[k] + class_counts[k]) as f64;
    }
    Ok(Metrics {
        samples: labels.len(),
        accuracy: correct as f64 / n,
        macro_f1: f1_sum / f1_classes as f64,
        log_loss: log_loss / n,
        brier: brier / n,
        confusion,
        class_counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_checked_tiny_example() {
        // Four samples; class 1 (flat) occurs once and is never predicted.
        let p = [
            [0.7, 0.2, 0.1], // true 0, predicted 0
            [0.1, 0.3, 0.6], // true 2, predicted 2
            [0.5, 0.0, 0.5], // true 1, predicted 0 (tie → lowest), p_true = 0 → clipped
            [0.2, 0.2, 0.6], // true 0, predicted 2
        ];
        let labels = [0, 2, 1, 0];
        let m = evaluate(&p, &labels).unwrap();
        assert_eq!(m.samples, 4);
        assert_eq!(m.accuracy, 0.5);
        assert_eq!(m.confusion, [[1, 0, 1], [1, 0, 0], [0, 0, 1]]);
        assert_eq!(m.class_counts, [2, 1, 1]);
        // F1: class 0: TP 1, predicted 2, actual 2 → 0.5; class 1: 0; class 2: TP 1,
        // predicted 2, actual 1 → 2/3. Macro = (0.5 + 0 + 2/3) / 3.
        assert!((m.macro_f1 - (0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        let expected_log_loss = -(0.7f64.ln() + 0.6f64.ln() + 1e-15f64.ln() + 0.2f64.ln()) / 4.0;
        assert!(
            (m.log_loss - expected_log_loss).abs() < 1e-12,
            "{}",
            m.log_loss
        );
        // Brier: 0.09+0.04+0.01, 0.01+0.09+0.16, 0.25+1+0.25, 0.64+0.04+0.36.
        let expected_brier = (0.14 + 0.26 + 1.5 + 1.04) / 4.0;
        assert!((m.brier - expected_brier).abs() < 1e-12, "{}", m.brier);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Metrics>(&json).unwrap(), m);
    }

    #[test]
    fn a_class_absent_everywhere_does_not_count_in_macro_f1() {
        let p = [[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]];
        let m = evaluate(&p, &[0, 2]).unwrap();
        assert_eq!((m.accuracy, m.macro_f1), (1.0, 1.0));
    }

    #[test]
    fn garbage_is_refused() {
        let err = evaluate(&[[0.5, 0.5, 0.0]], &[3]).unwrap_err();
        assert_eq!(err, DataError::BadLabel { index: 0, label: 3 });
        let err = evaluate(&[[0.5, f64::NAN, 0.0]], &[1]).unwrap_err();
        assert!(err.to_string().contains("value 1 is NaN"), "{err}");
        let err = evaluate(&[[0.5, -0.1, 0.6]], &[1]).unwrap_err();
        assert!(matches!(err, DataError::NotFinite { .. }));
        assert!(matches!(evaluate(&[], &[]), Err(DataError::Empty { .. })));
        assert!(matches!(
            evaluate(&[[1.0, 0.0, 0.0]], &[0, 1]),
            Err(DataError::WidthMismatch {
                expected: 2,
                got: 1,
                ..
            })
        ));
    }
}
