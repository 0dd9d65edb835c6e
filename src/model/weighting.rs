//! The indicator weights: one multiplier per feature, applied after z-scoring, set on the
//! training window from three components.
//!
//! 1. **Importance** `I_j`: permutation importance on the validation split. The logistic
//!    baseline is fitted on the training split (unit weights, z-scored last rows, L2 strength
//!    chosen by [`super::baseline::fit_logistic`]'s walk); `I_j` is the
//!    mean over `repeats` seeded permutations of column `j` of the validation log-loss increase.
//!    Repeat `r` uses the same permutation (seed `seed + r`) for every feature, so two identical
//!    columns get identical importance.
//! 2. **Redundancy penalty** `P_j ∈ [0, 1]`: features are ranked by `I` (higher first, the lower
//!    column index first on a tie); `P_j = max_k clamp((|ρ_jk| − c) / (1 − c), 0, 1)` over the
//!    features `k` ranked above `j`, with `ρ` the Pearson correlation over the training rows and
//!    `c` = `correlation_threshold`. An exact duplicate of a more important feature gets `P = 1`.
//! 3. **Rank IC** `C_j`: Spearman correlation of feature `j` at a sample's last row with the
//!    sample's forward return, over the most recent `ic_recent_fraction` of the training samples.
//!
//! Combination: shares `s_j = max(I_j, 0) / Σ max(I, 0)` and `c_j = |C_j| / Σ |C|` (0 when the
//! sum is 0), `q_j = (s_j + c_j) · (1 − P_j)`, and
//! `w_j = floor + (1 − floor) · F · q_j / Σ q` — every weight is at least `floor` and their mean
//! is exactly 1. When `Σ q = 0` (nothing carries information) every weight is 1.

use serde::{Deserialize, Serialize};

use super::correlation::{CorrelationMatrix, spearman};
use super::data_error::DataError;
use super::labels::CLASSES;
use super::logistic::{LogisticRegression, probabilities};
use super::metrics::LOG_LOSS_CLIP;
use super::rng::Rng;

/// Settings of the weight optimiser.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WeightingParams {
    /// The smallest weight, in (0, 1).
    pub floor: f64,
    /// |Pearson| above which a feature is penalised for a more important one, in [0, 1).
    pub correlation_threshold: f64,
    /// Permutations per feature.
    pub repeats: usize,
    pub seed: u64,
    /// Share of the training samples, the most recent, that the rank IC is measured on.
    pub ic_recent_fraction: f64,
}

impl Default for WeightingParams {
    fn default() -> Self {
        Self {
            floor: 0.2,
            correlation_threshold: 0.7,
            repeats: 3,
            seed: 0,
            ic_recent_fraction: 0.3,
        }
    }
}

/// The weights and the three components behind them, per feature in column order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndicatorWeights {
    pub names: Vec<String>,
    /// Multipliers applied after z-scoring; mean 1, each ≥ `params.floor`.
    pub weights: Vec<f64>,
    /// Mean validation log-loss increase when the column is permuted.
    pub importance: Vec<f64>,
    /// `max(I_j, 0) / Σ max(I, 0)`.
    pub importance_share: Vec<f64>,
    /// Redundancy penalty in [0, 1].
    pub penalty: Vec<f64>,
    /// The more important feature whose correlation sets the penalty.
    pub penalised_by: Vec<Option<usize>>,
    /// Spearman rank IC with the forward return over the recent training samples.
    pub rank_ic: Vec<f64>,
    /// `|C_j| / Σ |C|`.
    pub ic_share: Vec<f64>,
    /// Validation log-loss of the unpermuted importance model (`None` for unit weights).
    pub base_log_loss: Option<f64>,
    pub params: WeightingParams,
}

impl IndicatorWeights {
    /// Unit weights with no components (a model imported from elsewhere).
    pub fn unit(names: &[String]) -> Self {
        let n = names.len();
        Self {
            names: names.to_vec(),
            weights: vec![1.0; n],
            importance: vec![0.0; n],
            importance_share: vec![0.0; n],
            penalty: vec![0.0; n],
            penalised_by: vec![None; n],
            rank_ic: vec![0.0; n],
            ic_share: vec![0.0; n],
            base_log_loss: None,
            params: WeightingParams::default(),
        }
    }
}

/// What the optimiser works on, all for the same `F` features.
#[derive(Clone, Copy, Debug)]
pub struct WeightingInputs<'a> {
    pub names: &'a [String],
    /// The logistic baseline fitted on train with unit weights.
    pub model: &'a LogisticRegression,
    /// Validation last rows, z-scored, unit weights, row-major `[n, F]`.
    pub x_validation: &'a [f64],
    pub y_validation: &'a [u8],
    pub correlation: &'a CorrelationMatrix,
    /// Recent training samples: raw last-row values `[m, F]` and their forward returns.
    pub recent_rows: &'a [f64],
    pub recent_returns: &'a [f64],
}

/// Mean validation log-loss increase per permuted column, and the unpermuted log-loss.
pub fn permutation_importance(
    model: &LogisticRegression,
    x: &[f64],
    y: &[u8],
    repeats: usize,
    seed: u64,
) -> Result<(f64, Vec<f64>), DataError> {
    let width = model.features;
    let n = y.len();
    let probs = model.predict_proba_batch(x)?;
    if probs.len() != n {
        return Err(DataError::WidthMismatch {
            what: "permutation importance: rows per label",
            expected: n,
            got: probs.len(),
        });
    }
    let logits: Vec<[f64; CLASSES]> = x.chunks_exact(width).map(|r| model.logits(r)).collect();
    let loss_of = |p: &[f64; CLASSES], label: u8| -p[usize::from(label)].max(LOG_LOSS_CLIP).ln();
    let base = probs
        .iter()
        .zip(y)
        .map(|(p, &l)| loss_of(p, l))
        .sum::<f64>()
        / n as f64;
    let permutations: Vec<Vec<usize>> = (0..repeats.max(1))
        .map(|r| {
            let mut order: Vec<usize> = (0..n).collect();
            Rng::new(seed.wrapping_add(r as u64)).shuffle(&mut order);
            order
        })
        .collect();
    let mut importance = vec![0.0; width];
    for (j, slot) in importance.iter_mut().enumerate() {
        let column: [f64; CLASSES] = std::array::from_fn(|k| model.coefficients[k * width + j]);
        let mut total = 0.0;
        for order in &permutations {
            let mut loss = 0.0;
            for (i, &from) in order.iter().enumerate() {
                let shift = x[from * width + j] - x[i * width + j];
                let z: [f64; CLASSES] = std::array::from_fn(|k| logits[i][k] + shift * column[k]);
                loss += loss_of(&probabilities(z), y[i]);
            }
            total += loss / n as f64 - base;
        }
        *slot = total / permutations.len() as f64;
    }
    Ok((base, importance))
}

/// Penalties and the feature behind each (see the module doc).
pub fn redundancy_penalties(
    importance: &[f64],
    correlation: &CorrelationMatrix,
    threshold: f64,
) -> (Vec<f64>, Vec<Option<usize>>) {
    let width = importance.len();
    let mut order: Vec<usize> = (0..width).collect();
    order.sort_by(|&a, &b| importance[b].total_cmp(&importance[a]).then(a.cmp(&b)));
    let mut penalty = vec![0.0; width];
    let mut by = vec![None; width];
    for (rank, &j) in order.iter().enumerate() {
        for &k in &order[..rank] {
            let p = ((correlation.get(j, k).abs() - threshold) / (1.0 - threshold)).clamp(0.0, 1.0);
            if p > penalty[j] {
                penalty[j] = p;
                by[j] = Some(k);
            }
        }
    }
    (penalty, by)
}

/// Shares of `values` by size (`|v| / Σ|v|`, or `max(v, 0)` when `positive_part`); 0 for all when
/// the sum is 0.
fn shares(values: &[f64], positive_part: bool) -> Vec<f64> {
    let part = |v: f64| if positive_part { v.max(0.0) } else { v.abs() };
    let sum: f64 = values.iter().map(|&v| part(v)).sum();
    values
        .iter()
        .map(|&v| if sum > 0.0 { part(v) / sum } else { 0.0 })
        .collect()
}

/// Runs the optimiser: the three components, then the weights.
pub fn optimise(
    inputs: WeightingInputs<'_>,
    params: &WeightingParams,
) -> Result<IndicatorWeights, DataError> {
    let width = inputs.names.len();
    for (what, got) in [
        ("importance model", inputs.model.features),
        ("correlation matrix", inputs.correlation.size()),
    ] {
        if got != width {
            return Err(DataError::WidthMismatch {
                what,
                expected: width,
                got,
            });
        }
    }
    let (base_log_loss, importance) = permutation_importance(
        inputs.model,
        inputs.x_validation,
        inputs.y_validation,
        params.repeats,
        params.seed,
    )?;
    let (penalty, penalised_by) = redundancy_penalties(
        &importance,
        inputs.correlation,
        params.correlation_threshold,
    );
    let m = inputs.recent_returns.len();
    if inputs.recent_rows.len() != m * width {
        return Err(DataError::WidthMismatch {
            what: "rank IC rows",
            expected: m * width,
            got: inputs.recent_rows.len(),
        });
    }
    let rank_ic: Vec<f64> = (0..width)
        .map(|j| {
            let column: Vec<f64> = inputs
                .recent_rows
                .iter()
                .skip(j)
                .step_by(width)
                .copied()
                .collect();
            spearman(&column, inputs.recent_returns)
        })
        .collect();
    let importance_share = shares(&importance, true);
    let ic_share = shares(&rank_ic, false);
    let q: Vec<f64> = (0..width)
        .map(|j| (importance_share[j] + ic_share[j]) * (1.0 - penalty[j]))
        .collect();
    let q_sum: f64 = q.iter().sum();
    let floor = params.floor;
    let weights = q
        .iter()
        .map(|&qj| {
            if q_sum > 0.0 {
                floor + (1.0 - floor) * width as f64 * qj / q_sum
            } else {
                1.0
            }
        })
        .collect();
    Ok(IndicatorWeights {
        names: inputs.names.to_vec(),
        weights,
        importance,
        importance_share,
        penalty,
        penalised_by,
        rank_ic,
        ic_share,
        base_log_loss: Some(base_log_loss),
        params: params.clone(),
    })
}

#[cfg(test)]
#[path = "weighting_tests.rs"]
mod tests;
