//! The batch-1 path for the live engine: the weights packed once (`Blocked`), each layer's input
//! projections for all steps first, then the recurrence, with all state in a reusable
//! [`Scratch`]. No candle tensor, no allocation per call. It gives the batched path's
//! probabilities (`tests/lstm_parity.rs`).

use super::blocked::Blocked;
use super::simd;
use super::weights::{CLASSES, MemberSpec, Weights};

/// One layer's packed weights.
#[derive(Clone, Debug)]
struct PackedLayer {
    weight_ih: Blocked,
    weight_hh: Blocked,
    /// b_ih + b_hh.
    bias: Vec<f32>,
}

/// A member's weights in the layout of the batch-1 path.
#[derive(Clone, Debug)]
pub(crate) struct Packed {
    layers: Vec<PackedLayer>,
    head_weight: Vec<f32>,
    head_bias: Vec<f32>,
}

/// State of the batch-1 path; make one per thread and reuse it.
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    /// Gate pre-activations of every step, [T, 4H]: first the input projections (and biases)
    /// of all steps, then each step's recurrent part is added and the gates activated in place.
    gates: Vec<f32>,
    /// Hidden states of every step of the current layer and of the one below, [T, H].
    hs: Vec<f32>,
    below: Vec<f32>,
    cell: Vec<f32>,
}

impl Scratch {
    /// A scratch already sized for `spec` (otherwise the first call sizes it).
    pub fn new(spec: &MemberSpec) -> Self {
        let mut scratch = Self::default();
        scratch.fit(spec);
        scratch
    }

    fn fit(&mut self, spec: &MemberSpec) {
        self.gates.resize(spec.window * 4 * spec.hidden, 0.0);
        self.hs.resize(spec.window * spec.hidden, 0.0);
        self.below.resize(spec.window * spec.hidden, 0.0);
        self.cell.resize(spec.hidden, 0.0);
    }
}

impl Packed {
    pub(crate) fn new(spec: &MemberSpec, weights: &Weights) -> Self {
        let gates = 4 * spec.hidden;
        let layers = weights
            .layers
            .iter()
            .enumerate()
            .map(|(l, w)| PackedLayer {
                weight_ih: Blocked::new(&w.weight_ih, gates, spec.layer_inputs(l)),
                weight_hh: Blocked::new(&w.weight_hh, gates, spec.hidden),
                bias: w
                    .bias_ih
                    .iter()
                    .zip(&w.bias_hh)
                    .map(|(a, b)| a + b)
                    .collect(),
            })
            .collect();
        Self {
            layers,
            head_weight: weights.head_weight.clone(),
            head_bias: weights.head_bias.clone(),
        }
    }

    /// Logits for one window [T, F]; the caller has checked its length. Layer by layer: the
    /// input projections of all T steps first (each weight block read once for all steps), then
    /// the recurrence, which only needs W_hh.
    pub(crate) fn logits(
        &self,
        spec: &MemberSpec,
        window: &[f32],
        scratch: &mut Scratch,
    ) -> [f32; CLASSES] {
        scratch.fit(spec);
        let hidden = spec.hidden;
        let n_gates = 4 * hidden;
        for (l, layer) in self.layers.iter().enumerate() {
            if l > 0 {
                std::mem::swap(&mut scratch.hs, &mut scratch.below);
            }
            let (input, width) = if l == 0 {
                (window, spec.features)
            } else {
                (&scratch.below[..], hidden)
            };
            for pre in scratch.gates.chunks_exact_mut(n_gates) {
                pre.copy_from_slice(&layer.bias);
            }
            layer
                .weight_ih
                .accumulate(&mut scratch.gates, &input[..spec.window * width]);
            scratch.cell.fill(0.0);
            for t in 0..spec.window {
                let (done, now) = scratch.hs.split_at_mut(t * hidden);
                let gates = &mut scratch.gates[t * n_gates..][..n_gates];
                if t > 0 {
                    layer.weight_hh.accumulate(gates, &done[(t - 1) * hidden..]);
                }
                simd::step_one(hidden, gates, &mut scratch.cell, &mut now[..hidden]);
            }
        }
        let top = &scratch.hs[(spec.window - 1) * hidden..][..hidden];
        std::array::from_fn(|k| {
            let w = &self.head_weight[k * hidden..][..hidden];
            self.head_bias[k] + w.iter().zip(top).map(|(a, b)| a * b).sum::<f32>()
        })
    }
}
