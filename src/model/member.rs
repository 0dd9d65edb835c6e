//! One ensemble member: its spec, weights, the packed copy for batch-1 prediction, and the
//! batched forward pass, loss and gradients. Inputs are windows [B, T, F] row-major as `&[f32]`;
//! labels are classes 0 down, 1 flat, 2 up.

use std::ops::Range;
use std::sync::Mutex;

use rayon::prelude::*;

use super::ModelError;
use super::adamw::AdamW;
use super::math::softmax3;
use super::predict::{Packed, Scratch};
use super::sequence::{self, LayerTensors, Workspace};
use super::weights::{CLASSES, Gradients, MemberSpec, Weights};
use super::weights_file;

/// Rows below which a batch is not split over threads.
const MIN_CHUNK: usize = 32;

/// The three classes of a window, by the sign of the forward return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Class {
    Down = 0,
    Flat = 1,
    Up = 2,
}

impl Class {
    /// In the order of the head's outputs and of the labels.
    pub const ALL: [Class; CLASSES] = [Class::Down, Class::Flat, Class::Up];

    /// The label / output index: 0 down, 1 flat, 2 up.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// An LSTM over T steps of F features, L layers of H units, then Linear(H → 3) and softmax.
#[derive(Debug)]
pub struct Member {
    spec: MemberSpec,
    weights: Weights,
    packed: Packed,
    /// Buffers of the batched passes, one per batch chunk, reused across calls; a caller that
    /// finds them busy (another thread) works in fresh ones instead of waiting.
    workspaces: Mutex<Vec<Workspace>>,
}

impl Clone for Member {
    fn clone(&self) -> Self {
        Self::from_parts(self.spec, self.weights.clone())
    }
}

impl PartialEq for Member {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec && self.weights == other.weights
    }
}

impl Member {
    fn from_parts(spec: MemberSpec, weights: Weights) -> Self {
        let packed = Packed::new(&spec, &weights);
        Self {
            spec,
            weights,
            packed,
            workspaces: Mutex::new(Vec::new()),
        }
    }

    /// A fresh member with PyTorch's initialisation drawn from `seed`.
    pub fn init(spec: MemberSpec, seed: u64) -> Result<Self, ModelError> {
        spec.validate()?;
        Ok(Self::from_parts(spec, Weights::init(&spec, seed)))
    }

    /// A member with the given weights, checked against `spec` (shapes, finite values).
    pub fn from_weights(spec: MemberSpec, weights: Weights) -> Result<Self, ModelError> {
        spec.validate()?;
        let expected = Weights::zeros(&spec);
        let shapes = spec.parameter_shapes();
        if weights.layers.len() != spec.layers {
            return Err(ModelError::InvalidSpec(format!(
                "{} layers of weights for a spec of {} layers",
                weights.layers.len(),
                spec.layers
            )));
        }
        for (((name, shape), ours), want) in
            shapes.iter().zip(weights.tensors()).zip(expected.tensors())
        {
            if ours.len() != want.len() {
                return Err(ModelError::WrongShape {
                    name: name.clone(),
                    found: vec![ours.len()],
                    expected: shape.clone(),
                    why: "weights do not fill the spec's shape".to_string(),
                });
            }
        }
        if let Some((t, index, value)) = weights.first_non_finite() {
            return Err(ModelError::NonFinite {
                name: shapes[t].0.clone(),
                index,
                value,
            });
        }
        Ok(Self::from_parts(spec, weights))
    }

    /// A member from safetensors bytes under PyTorch's names (see [`weights_file`]).
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelError> {
        let (spec, weights) = weights_file::read_member(bytes)?;
        Ok(Self::from_parts(spec, weights))
    }

    /// The weights as safetensors bytes under PyTorch's names, the window in the metadata.
    pub fn to_safetensors(&self) -> Result<Vec<u8>, ModelError> {
        weights_file::write_member(&self.spec, &self.weights)
    }

    pub fn spec(&self) -> &MemberSpec {
        &self.spec
    }

    /// The same weights over windows of `window` steps: the window is not a weight, an LSTM
    /// runs on any number of steps (≥ 1).
    pub fn with_window(&self, window: usize) -> Result<Self, ModelError> {
        let spec = MemberSpec {
            window,
            ..self.spec
        };
        spec.validate()?;
        Ok(Self::from_parts(spec, self.weights.clone()))
    }

    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// Changes the weights in place (the optimiser), then refreshes the packed copy.
    pub(crate) fn update_weights(&mut self, change: impl FnOnce(&mut Weights)) {
        change(&mut self.weights);
        self.packed = Packed::new(&self.spec, &self.weights);
    }

    fn check_input(&self, x: &[f32], batch: usize) -> Result<(), ModelError> {
        let per = self.spec.window_len();
        if batch == 0 || x.len() != batch * per {
            return Err(ModelError::InputShape {
                name: "x".to_string(),
                found: vec![x.len()],
                expected: vec![batch.max(1), self.spec.window, self.spec.features],
                why: format!(
                    "{} values per window (T = {} × F = {}) for a batch of {batch}",
                    per, self.spec.window, self.spec.features
                ),
            });
        }
        if let Some(index) = x.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFiniteInput {
                name: "x".to_string(),
                index,
                value: x[index],
            });
        }
        Ok(())
    }

    fn layer_tensors(&self) -> Result<Vec<LayerTensors>, ModelError> {
        self.weights
            .layers
            .iter()
            .enumerate()
            .map(|(l, w)| LayerTensors::new(&self.spec, l, w))
            .collect()
    }

    /// Runs `work` on each chunk of the batch (see [`chunks`]) in parallel, each with its own
    /// workspace, and returns the results in batch order.
    fn on_chunks<R: Send>(
        &self,
        batch: usize,
        work: impl Fn(Range<usize>, &mut Workspace) -> Result<R, ModelError> + Sync,
    ) -> Result<Vec<R>, ModelError> {
        let ranges = chunks(batch);
        let run = |workspaces: &mut Vec<Workspace>| {
            workspaces.resize_with(ranges.len().max(workspaces.len()), Workspace::default);
            if ranges.len() == 1 {
                return vec![work(ranges[0].clone(), &mut workspaces[0])];
            }
            workspaces
                .par_iter_mut()
                .zip(ranges.par_iter())
                .map(|(ws, range)| work(range.clone(), ws))
                .collect()
        };
        let results = match self.workspaces.try_lock() {
            Ok(mut workspaces) => run(&mut workspaces),
            Err(_) => run(&mut Vec::new()),
        };
        results.into_iter().collect()
    }

    /// The head's logits for `batch` windows.
    pub fn logits(&self, x: &[f32], batch: usize) -> Result<Vec<[f32; CLASSES]>, ModelError> {
        self.check_input(x, batch)?;
        let layers = self.layer_tensors()?;
        let per = self.spec.window_len();
        let parts = self.on_chunks(batch, |rows, ws| {
            let x = &x[rows.start * per..rows.end * per];
            let h_last = sequence::forward(&self.spec, &layers, x, rows.len(), ws, false)?;
            Ok(sequence::head(&self.weights, self.spec.hidden, h_last))
        })?;
        Ok(parts.concat())
    }

    /// Probabilities of down, flat, up for `batch` windows.
    pub fn probabilities(
        &self,
        x: &[f32],
        batch: usize,
    ) -> Result<Vec<[f32; CLASSES]>, ModelError> {
        Ok(self.logits(x, batch)?.into_iter().map(softmax3).collect())
    }

    /// Probabilities for windows sliding along one series: `rows` holds R feature rows ([R, F]
    /// row-major, already normalised) and window `b` is rows `starts[b] .. starts[b] + T`. The
    /// same numbers as [`Member::probabilities`] on the windows copied out, with each row's
    /// first-layer input product computed once instead of up to T times.
    pub fn probabilities_sliding(
        &self,
        rows: &[f32],
        starts: &[usize],
    ) -> Result<Vec<[f32; CLASSES]>, ModelError> {
        let (f, t_len) = (self.spec.features, self.spec.window);
        let count = rows.len() / f.max(1);
        if starts.is_empty() || rows.len() != count * f {
            return Err(ModelError::InputShape {
                name: "rows".to_string(),
                found: vec![rows.len()],
                expected: vec![count.max(1), f],
                why: format!(
                    "whole rows of F = {f} values and at least one window ({} given)",
                    starts.len()
                ),
            });
        }
        if let Some(b) = starts.iter().position(|s| s + t_len > count) {
            return Err(ModelError::InputShape {
                name: "starts".to_string(),
                found: vec![starts[b]],
                expected: vec![count.saturating_sub(t_len)],
                why: format!("window {b} of T = {t_len} rows runs past the {count} rows"),
            });
        }
        if let Some(index) = rows.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFiniteInput {
                name: "rows".to_string(),
                index,
                value: rows[index],
            });
        }
        let layers = self.layer_tensors()?;
        let parts = self.on_chunks(starts.len(), |range, ws| {
            let input = sequence::Input::Sliding {
                rows,
                starts: &starts[range.clone()],
            };
            let h_last =
                sequence::forward_input(&self.spec, &layers, input, range.len(), ws, false)?;
            Ok(sequence::head(&self.weights, self.spec.hidden, h_last))
        })?;
        Ok(parts.concat().into_iter().map(softmax3).collect())
    }

    /// Probabilities for one window by the batch-1 path (no allocation, no candle tensors).
    pub fn predict_one(
        &self,
        window: &[f32],
        scratch: &mut Scratch,
    ) -> Result<[f32; CLASSES], ModelError> {
        self.check_input(window, 1)?;
        Ok(softmax3(self.packed.logits(&self.spec, window, scratch)))
    }

    /// Mean cross-entropy of `batch = y.len()` windows against labels `y` and its gradient.
    pub fn loss_and_gradients(&self, x: &[f32], y: &[u8]) -> Result<(f32, Gradients), ModelError> {
        self.loss_and_gradients_weighted(x, y, [1.0; CLASSES])
    }

    /// As [`Member::loss_and_gradients`] with PyTorch's class weights: the loss is
    /// `Σ w[y]·(−log p[y]) / Σ w[y]`.
    pub fn loss_and_gradients_weighted(
        &self,
        x: &[f32],
        y: &[u8],
        class_weights: [f32; CLASSES],
    ) -> Result<(f32, Gradients), ModelError> {
        let batch = y.len();
        self.check_input(x, batch)?;
        if let Some(index) = y.iter().position(|&c| usize::from(c) >= CLASSES) {
            return Err(ModelError::BadLabel {
                index,
                value: i64::from(y[index]),
            });
        }
        if class_weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(ModelError::InvalidSpec(format!(
                "class weights {class_weights:?} must be finite and not negative"
            )));
        }
        let layers = self.layer_tensors()?;
        let total: f64 = y
            .iter()
            .map(|&c| f64::from(class_weights[usize::from(c)]))
            .sum();
        if total <= 0.0 {
            return Err(ModelError::InvalidSpec(
                "class weights give the batch's labels a total weight of zero".to_string(),
            ));
        }
        let per = self.spec.window_len();
        let parts = self.on_chunks(batch, |rows, ws| {
            let x = &x[rows.start * per..rows.end * per];
            let h_last = sequence::forward(&self.spec, &layers, x, rows.len(), ws, true)?;
            let logits = sequence::head(&self.weights, self.spec.hidden, h_last);
            let (loss, dlogits) = cross_entropy(&logits, &y[rows], class_weights, total);
            let mut grads = Weights::zeros(&self.spec);
            sequence::backward(
                &self.spec,
                &self.weights,
                &layers,
                ws,
                &dlogits,
                false,
                &mut grads,
            )?;
            Ok((loss, grads))
        })?;
        let mut parts = parts.into_iter();
        let (mut loss, mut grads) = parts.next().ok_or(ModelError::Internal("empty batch"))?;
        for (part_loss, part) in parts {
            loss += part_loss;
            for (sum, add) in grads.tensors_mut().into_iter().zip(part.tensors()) {
                for (a, b) in sum.iter_mut().zip(add) {
                    *a += b;
                }
            }
        }
        Ok((loss as f32, grads))
    }

    /// One optimiser step on one batch; returns the batch's loss before the step.
    pub fn train_step(
        &mut self,
        optimizer: &mut AdamW,
        x: &[f32],
        y: &[u8],
    ) -> Result<f32, ModelError> {
        let (loss, grads) = self.loss_and_gradients(x, y)?;
        optimizer.step(self, &grads)?;
        Ok(loss)
    }

    /// `d log p[class] / d x` for one window, `[T, F]`: multiplied by the window it gives the
    /// gradient × input attribution of each feature at each step.
    pub fn input_gradient(&self, window: &[f32], class: Class) -> Result<Vec<f32>, ModelError> {
        self.check_input(window, 1)?;
        let layers = self.layer_tensors()?;
        let mut gradients = self.on_chunks(1, |_, ws| {
            let h_last = sequence::forward(&self.spec, &layers, window, 1, ws, true)?;
            let logits = sequence::head(&self.weights, self.spec.hidden, h_last);
            let p = softmax3(logits[0]);
            // d log p_c / d z_k = [k == c] − p_k
            let dlogits = [std::array::from_fn(|k| {
                f32::from(u8::from(k == class.index())) - p[k]
            })];
            let mut grads = Weights::zeros(&self.spec);
            sequence::backward(
                &self.spec,
                &self.weights,
                &layers,
                ws,
                &dlogits,
                true,
                &mut grads,
            )?
            .ok_or(ModelError::Internal("input gradient not computed"))
        })?;
        gradients
            .pop()
            .ok_or(ModelError::Internal("input gradient not computed"))
    }
}

/// The batch split for parallel work: one chunk per rayon thread, none under [`MIN_CHUNK`] rows.
fn chunks(batch: usize) -> Vec<Range<usize>> {
    let n = rayon::current_num_threads().min(batch / MIN_CHUNK).max(1);
    (0..n).map(|i| batch * i / n..batch * (i + 1) / n).collect()
}

/// Σ w[y]·(−log p[y]) / `total` over these rows, and its gradient with respect to the logits
/// (`total` = Σ w[y] over the whole batch, so chunks add up to the batch's mean).
pub(crate) fn cross_entropy(
    logits: &[[f32; CLASSES]],
    y: &[u8],
    class_weights: [f32; CLASSES],
    total: f64,
) -> (f64, Vec<[f32; CLASSES]>) {
    let mut loss = 0.0_f64;
    let dlogits = logits
        .iter()
        .zip(y)
        .map(|(z, &c)| {
            let c = usize::from(c);
            let top = z[0].max(z[1]).max(z[2]);
            let e = z.map(|v| f64::from(v - top).exp());
            let sum: f64 = e.iter().sum();
            let w = f64::from(class_weights[c]);
            loss += w * (sum.ln() - f64::from(z[c] - top));
            std::array::from_fn(|k| {
                let target = if k == c { 1.0 } else { 0.0 };
                (w * (e[k] / sum - target) / total) as f32
            })
        })
        .collect();
    (loss / total, dlogits)
}

#[cfg(test)]
mod sliding_tests {
    use super::*;

    #[test]
    fn sliding_windows_give_the_same_bits_as_windows_copied_out_and_bad_shapes_are_refused() {
        let spec = MemberSpec {
            features: 7,
            hidden: 12,
            layers: 2,
            window: 5,
        };
        let member = Member::init(spec, 3).unwrap();
        let rows_n = 300;
        let rows: Vec<f32> = (0..rows_n * 7).map(|i| ((i as f32) * 0.37).sin()).collect();
        let starts: Vec<usize> = (0..=rows_n - 5).step_by(3).collect();
        let mut windows = Vec::new();
        for &s in &starts {
            windows.extend_from_slice(&rows[s * 7..(s + 5) * 7]);
        }
        let copied = member.probabilities(&windows, starts.len()).unwrap();
        let sliding = member.probabilities_sliding(&rows, &starts).unwrap();
        assert_eq!(copied, sliding, "bit for bit");

        let err = member.probabilities_sliding(&rows[..20], &[0]).unwrap_err();
        assert!(err.to_string().contains("F = 7"), "{err}");
        let err = member
            .probabilities_sliding(&rows, &[rows_n - 4])
            .unwrap_err();
        assert!(err.to_string().contains("runs past the 300 rows"), "{err}");
        let mut bad = rows.clone();
        bad[40] = f32::NAN;
        assert!(member.probabilities_sliding(&bad, &[0]).is_err());
        assert!(member.probabilities_sliding(&rows, &[]).is_err());
    }
}
