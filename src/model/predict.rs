//! The batch-1 path for the live engine: the weights packed once into plain vectors, laid out so
//! each step of each layer is one pass of axpy-style updates over the 4H gate outputs (held in a
//! block of registers), with all state in a reusable [`Scratch`]. No candle tensor, no
//! allocation per call. It gives the batched path's probabilities (`tests/lstm_parity.rs`).

use super::math::{sigmoid, tanh};
use super::weights::{CLASSES, MemberSpec, Weights};

/// Gate outputs accumulated together in registers: 8 SSE or 4 AVX registers of f32.
const BLOCK: usize = 32;

/// One layer's packed weights.
#[derive(Clone, Debug)]
struct PackedLayer {
    /// [W_ih^T; W_hh^T]: (In + H) rows of 4H, so row k holds what input k adds to every gate.
    weights_t: Vec<f32>,
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
    /// Per layer: [input, h] side by side, the cell state, the gates.
    inputs: Vec<Vec<f32>>,
    cells: Vec<Vec<f32>>,
    gates: Vec<f32>,
}

impl Scratch {
    /// A scratch already sized for `spec` (otherwise the first call sizes it).
    pub fn new(spec: &MemberSpec) -> Self {
        let mut scratch = Self::default();
        scratch.fit(spec);
        scratch
    }

    fn fit(&mut self, spec: &MemberSpec) {
        self.inputs.resize_with(spec.layers, Vec::new);
        self.cells.resize_with(spec.layers, Vec::new);
        for (l, (input, cell)) in self.inputs.iter_mut().zip(&mut self.cells).enumerate() {
            input.resize(spec.layer_inputs(l) + spec.hidden, 0.0);
            cell.resize(spec.hidden, 0.0);
        }
        self.gates.resize(4 * spec.hidden, 0.0);
    }
}

impl Packed {
    pub(crate) fn new(spec: &MemberSpec, weights: &Weights) -> Self {
        let gates = 4 * spec.hidden;
        let layers = weights
            .layers
            .iter()
            .enumerate()
            .map(|(l, w)| {
                let inputs = spec.layer_inputs(l);
                let rows = inputs + spec.hidden;
                let mut weights_t = vec![0.0; rows * gates];
                for g in 0..gates {
                    for k in 0..inputs {
                        weights_t[k * gates + g] = w.weight_ih[g * inputs + k];
                    }
                    for k in 0..spec.hidden {
                        weights_t[(inputs + k) * gates + g] = w.weight_hh[g * spec.hidden + k];
                    }
                }
                let bias = w
                    .bias_ih
                    .iter()
                    .zip(&w.bias_hh)
                    .map(|(a, b)| a + b)
                    .collect();
                PackedLayer { weights_t, bias }
            })
            .collect();
        Self {
            layers,
            head_weight: weights.head_weight.clone(),
            head_bias: weights.head_bias.clone(),
        }
    }

    /// Logits for one window [T, F]; the caller has checked its length.
    pub(crate) fn logits(
        &self,
        spec: &MemberSpec,
        window: &[f32],
        scratch: &mut Scratch,
    ) -> [f32; CLASSES] {
        scratch.fit(spec);
        let hidden = spec.hidden;
        for (input, cell) in scratch.inputs.iter_mut().zip(&mut scratch.cells) {
            input.fill(0.0);
            cell.fill(0.0);
        }
        for x_t in window.chunks_exact(spec.features) {
            for (l, layer) in self.layers.iter().enumerate() {
                let (below, rest) = scratch.inputs.split_at_mut(l);
                let input = &mut rest[0];
                let n_in = input.len() - hidden;
                match below.last() {
                    Some(prev) => input[..n_in].copy_from_slice(&prev[prev.len() - hidden..]),
                    None => input[..n_in].copy_from_slice(x_t),
                }
                let gates = &mut scratch.gates;
                gates.copy_from_slice(&layer.bias);
                accumulate(gates, &layer.weights_t, input);
                activate(hidden, gates);
                let (ifg, o) = gates.split_at(3 * hidden);
                let (i, fg) = ifg.split_at(hidden);
                let (f, g) = fg.split_at(hidden);
                let c = &mut scratch.cells[l];
                let h = &mut input[n_in..];
                for j in 0..hidden {
                    c[j] = f[j] * c[j] + i[j] * g[j];
                    h[j] = o[j] * tanh(c[j]);
                }
            }
        }
        let top = scratch
            .inputs
            .last()
            .map_or(&[][..], |v| &v[v.len() - hidden..]);
        std::array::from_fn(|k| {
            let w = &self.head_weight[k * hidden..][..hidden];
            self.head_bias[k] + w.iter().zip(top).map(|(a, b)| a * b).sum::<f32>()
        })
    }
}

/// gates += Σ_k v[k] · weights_t[k, ·], a block of outputs at a time so the block stays in
/// registers and the inner loop is a vectorised multiply-add with no reduction to reorder.
fn accumulate(gates: &mut [f32], weights_t: &[f32], v: &[f32]) {
    let n = gates.len();
    let blocks = n / BLOCK;
    for b in 0..blocks {
        let out = &mut gates[b * BLOCK..][..BLOCK];
        let mut acc = [0.0_f32; BLOCK];
        acc.copy_from_slice(out);
        for (k, &vk) in v.iter().enumerate() {
            let row = &weights_t[k * n + b * BLOCK..][..BLOCK];
            for j in 0..BLOCK {
                acc[j] += vk * row[j];
            }
        }
        out.copy_from_slice(&acc);
    }
    for (k, &vk) in v.iter().enumerate() {
        let row = &weights_t[k * n..][..n];
        for j in blocks * BLOCK..n {
            gates[j] += vk * row[j];
        }
    }
}

/// σ on i and f, tanh on g, σ on o, in place.
fn activate(hidden: usize, gates: &mut [f32]) {
    for (k, z) in gates.iter_mut().enumerate() {
        *z = if (2 * hidden..3 * hidden).contains(&k) {
            tanh(*z)
        } else {
            sigmoid(*z)
        };
    }
}
