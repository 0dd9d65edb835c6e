//! Multinomial logistic regression in f64: softmax over `W x + b`, fitted by L-BFGS (memory 10,
//! backtracking Armijo line search) on the mean cross-entropy plus `l2 / 2 · ‖W‖²` (the intercepts
//! are not penalised), from all-zero parameters. Full-batch and sequential, so a fit is exactly
//! reproducible.

use serde::{Deserialize, Serialize};

use super::data_error::DataError;
use super::labels::CLASSES;

/// L-BFGS memory (pairs of steps and gradient changes kept).
const MEMORY: usize = 10;

/// A fitted model; inputs are rows of `features` values prepared as at fit time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    pub features: usize,
    /// Row-major `[CLASSES, features]`.
    pub coefficients: Vec<f64>,
    pub intercepts: [f64; CLASSES],
    pub l2: f64,
    /// Iterations the fit took.
    pub iterations: usize,
    /// The gradient fell under the tolerance (or the loss stopped moving) within the iterations.
    pub converged: bool,
}

/// Softmax of `logits` in place, overflow-safe.
fn softmax(logits: &mut [f64; CLASSES]) {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for z in logits.iter_mut() {
        *z = (*z - max).exp();
        sum += *z;
    }
    logits.iter_mut().for_each(|z| *z /= sum);
}

/// Mean cross-entropy + penalty at `params` (`[W row-major, b]`), and its gradient into `grad`.
fn loss_and_gradient(
    x: &[f64],
    y: &[u8],
    features: usize,
    l2: f64,
    params: &[f64],
    grad: &mut [f64],
) -> f64 {
    let (w, b) = params.split_at(CLASSES * features);
    grad.iter_mut().for_each(|g| *g = 0.0);
    let mut loss = 0.0;
    for (row, &label) in x.chunks_exact(features).zip(y) {
        let mut p: [f64; CLASSES] =
            std::array::from_fn(|k| b[k] + dot(&w[k * features..(k + 1) * features], row));
        softmax(&mut p);
        let label = usize::from(label);
        loss -= p[label].max(1e-300).ln();
        p[label] -= 1.0;
        let (gw, gb) = grad.split_at_mut(CLASSES * features);
        for k in 0..CLASSES {
            for (g, v) in gw[k * features..(k + 1) * features].iter_mut().zip(row) {
                *g += p[k] * v;
            }
            gb[k] += p[k];
        }
    }
    let n = y.len() as f64;
    grad.iter_mut().for_each(|g| *g /= n);
    let (gw, _) = grad.split_at_mut(CLASSES * features);
    for (g, a) in gw.iter_mut().zip(w) {
        *g += l2 * a;
    }
    loss / n + 0.5 * l2 * w.iter().map(|a| a * a).sum::<f64>()
}

/// Dot product with four running sums, so the additions need not wait on each other (a fixed
/// order: results are the same on every run).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut sums = [0.0; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a4.zip(b4) {
        for lane in 0..4 {
            sums[lane] += x[lane] * y[lane];
        }
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
}

impl LogisticRegression {
    /// Fits on `x` (row-major `[n, features]`, finite) and classes `y`, starting from `start`
    /// (a model of the same width, for warm starts) or from zero.
    pub fn fit(
        x: &[f64],
        y: &[u8],
        features: usize,
        l2: f64,
        max_iterations: usize,
        tolerance: f64,
        start: Option<&LogisticRegression>,
    ) -> Result<Self, DataError> {
        check_inputs(x, features, y.len())?;
        if y.is_empty() {
            return Err(DataError::Empty {
                what: "logistic regression fit",
            });
        }
        if let Some(index) = y.iter().position(|&c| usize::from(c) >= CLASSES) {
            return Err(DataError::BadLabel {
                index,
                label: y[index],
            });
        }
        let size = CLASSES * (features + 1);
        let mut params = vec![0.0; size];
        if let Some(start) = start.filter(|s| s.features == features) {
            params[..CLASSES * features].copy_from_slice(&start.coefficients);
            params[CLASSES * features..].copy_from_slice(&start.intercepts);
        }
        let mut grad = vec![0.0; size];
        let mut loss = loss_and_gradient(x, y, features, l2, &params, &mut grad);
        let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::with_capacity(MEMORY);
        let (mut trial, mut trial_grad) = (vec![0.0; size], vec![0.0; size]);
        let mut iterations = 0;
        let mut converged = false;
        while iterations < max_iterations {
            if grad.iter().all(|g| g.abs() < tolerance) {
                converged = true;
                break;
            }
            iterations += 1;
            // Two-loop recursion: direction = −H·grad.
            let mut d: Vec<f64> = grad.iter().map(|g| -g).collect();
            let mut alphas = Vec::with_capacity(history.len());
            for (s, yv, rho) in history.iter().rev() {
                let alpha = rho * dot(s, &d);
                d.iter_mut().zip(yv).for_each(|(di, yi)| *di -= alpha * yi);
                alphas.push(alpha);
            }
            let gamma = history
                .last()
                .map_or(1.0, |(s, yv, _)| dot(s, yv) / dot(yv, yv));
            d.iter_mut().for_each(|di| *di *= gamma);
            for ((s, yv, rho), alpha) in history.iter().zip(alphas.iter().rev()) {
                let beta = rho * dot(yv, &d);
                d.iter_mut()
                    .zip(s)
                    .for_each(|(di, si)| *di += (alpha - beta) * si);
            }
            let mut slope = dot(&grad, &d);
            // Not a descent direction (or NaN): fall back to steepest descent.
            if slope.is_nan() || slope >= 0.0 {
                history.clear();
                d = grad.iter().map(|g| -g).collect();
                slope = dot(&grad, &d);
            }
            let mut step = if history.is_empty() {
                (1.0 / dot(&grad, &grad).sqrt()).min(1.0)
            } else {
                1.0
            };
            let mut accepted = None;
            for _ in 0..50 {
                trial
                    .iter_mut()
                    .zip(&params)
                    .zip(&d)
                    .for_each(|((t, p), di)| *t = p + step * di);
                let trial_loss = loss_and_gradient(x, y, features, l2, &trial, &mut trial_grad);
                if trial_loss <= loss + 1e-4 * step * slope {
                    accepted = Some(trial_loss);
                    break;
                }
                step *= 0.5;
            }
            let Some(new_loss) = accepted else {
                // No decrease along a descent direction: at the floating-point optimum.
                converged = true;
                break;
            };
            let s: Vec<f64> = trial.iter().zip(&params).map(|(t, p)| t - p).collect();
            let yv: Vec<f64> = trial_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
            let sy = dot(&s, &yv);
            if sy > 1e-12 {
                if history.len() == MEMORY {
                    history.remove(0);
                }
                history.push((s, yv, 1.0 / sy));
            }
            std::mem::swap(&mut params, &mut trial);
            std::mem::swap(&mut grad, &mut trial_grad);
            let moved = loss - new_loss;
            loss = new_loss;
            if moved <= 1e-14 * loss.abs().max(1.0) {
                converged = true;
                break;
            }
        }
        let mut intercepts = [0.0; CLASSES];
        intercepts.copy_from_slice(&params[CLASSES * features..]);
        params.truncate(CLASSES * features);
        Ok(Self {
            features,
            coefficients: params,
            intercepts,
            l2,
            iterations,
            converged,
        })
    }

    /// Refuses a model that could not give finite probabilities (a damaged stored one).
    pub fn check(&self) -> Result<(), DataError> {
        if self.coefficients.len() != CLASSES * self.features {
            return Err(DataError::WidthMismatch {
                what: "logistic regression coefficients",
                expected: CLASSES * self.features,
                got: self.coefficients.len(),
            });
        }
        let all = self.coefficients.iter().chain(&self.intercepts);
        match all.enumerate().find(|(_, v)| !v.is_finite()) {
            Some((index, &value)) => Err(DataError::NotFinite {
                what: "logistic regression parameter",
                index,
                value,
            }),
            None => Ok(()),
        }
    }

    /// Class probabilities of one prepared row.
    pub fn predict_proba(&self, row: &[f64]) -> Result<[f64; CLASSES], DataError> {
        Ok(self.predict_proba_batch(row)?[0])
    }

    /// Class probabilities of each row of `x` (row-major `[n, features]`).
    pub fn predict_proba_batch(&self, x: &[f64]) -> Result<Vec<[f64; CLASSES]>, DataError> {
        self.check()?;
        check_inputs(x, self.features, x.len() / self.features.max(1))?;
        if x.is_empty() {
            return Err(DataError::Empty {
                what: "logistic regression input",
            });
        }
        Ok(x.chunks_exact(self.features.max(1))
            .map(|row| {
                let mut p = self.logits(row);
                softmax(&mut p);
                p
            })
            .collect())
    }

    /// `W row + b` (no checks: callers checked the width).
    pub fn logits(&self, row: &[f64]) -> [f64; CLASSES] {
        std::array::from_fn(|k| {
            self.intercepts[k]
                + dot(
                    &self.coefficients[k * self.features..(k + 1) * self.features],
                    row,
                )
        })
    }
}

/// `x` holds `rows` rows of `features` finite values.
fn check_inputs(x: &[f64], features: usize, rows: usize) -> Result<(), DataError> {
    if features == 0 || x.len() != features * rows {
        return Err(DataError::WidthMismatch {
            what: "logistic regression input values",
            expected: features * rows,
            got: x.len(),
        });
    }
    match x.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(DataError::NotFinite {
            what: "logistic regression input",
            index,
            value: x[index],
        }),
        None => Ok(()),
    }
}

/// Softmax of logits, for callers that shift logits themselves (permutation importance).
pub fn probabilities(mut logits: [f64; CLASSES]) -> [f64; CLASSES] {
    softmax(&mut logits);
    logits
}

#[cfg(test)]
#[path = "logistic_tests.rs"]
mod tests;
