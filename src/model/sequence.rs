//! The batched passes of a member over [B, T, F] windows. Per layer and step: z = x_t·W_ih^T +
//! h_{t-1}·W_hh^T by the multiply-add kernel over packed weights ([`Blocked`]), then the fused
//! cell. Then the head, and the backward pass through time: per step dL/dh_{t-1} = dL/dz·W_hh by
//! the same kernel, and after the loop one candle matrix product (gemm) per weight gradient and
//! for dL/dx, each over all T·B rows at once.
//!
//! The per-step products stay off candle: they are small (B × In+H by In+H × 4H), and every candle
//! CPU product pays a fixed cost on top (it reads /proc/cpuinfo to size its thread pool, about
//! 50 µs, unless `RAYON_NUM_THREADS` is set), which at 40–80 products per batch would be more
//! than the arithmetic. A batch is split over threads above this level (see `Member`).
//!
//! Everything between the products runs over buffers kept in a [`Workspace`], time-major
//! ([T, B, ·]) so each step's block of rows is contiguous.

use candle_core::Tensor;

use super::ModelError;
use super::blocked::Blocked;
use super::cell::{BackwardStep, ForwardStep, run_parallel};
use super::math::{product, tensor};
use super::weights::{CLASSES, LayerWeights, MemberSpec, Weights};

/// One layer's weights as the products want them.
pub(crate) struct LayerTensors {
    /// W_ih [4H, In] and W_hh [4H, H] packed for the per-step products of the forward pass.
    ih: Blocked,
    hh: Blocked,
    /// W_hh^T [H, 4H] packed for dL/dh_{t-1} = dL/dz · W_hh.
    hh_t: Blocked,
    /// W_ih [4H, In] for dL/dx over all steps.
    w_ih: Tensor,
    /// b_ih + b_hh.
    bias: Vec<f32>,
}

impl LayerTensors {
    pub(crate) fn new(
        spec: &MemberSpec,
        layer: usize,
        weights: &LayerWeights,
    ) -> Result<Self, ModelError> {
        let (gates, inputs, hidden) = (4 * spec.hidden, spec.layer_inputs(layer), spec.hidden);
        let mut hh_t = vec![0.0; hidden * gates];
        for g in 0..gates {
            for k in 0..hidden {
                hh_t[k * gates + g] = weights.weight_hh[g * hidden + k];
            }
        }
        Ok(Self {
            ih: Blocked::new(&weights.weight_ih, gates, inputs),
            hh: Blocked::new(&weights.weight_hh, gates, hidden),
            hh_t: Blocked::new(&hh_t, hidden, gates),
            w_ih: tensor(&weights.weight_ih, gates, inputs)?,
            bias: weights
                .bias_ih
                .iter()
                .zip(&weights.bias_hh)
                .map(|(a, b)| a + b)
                .collect(),
        })
    }
}

/// What the forward pass keeps of one layer.
#[derive(Default)]
struct LayerTrace {
    /// h for every step, [T, B, H], and the same as a tensor (the next layer's input).
    hs: Vec<f32>,
    output: Option<Tensor>,
    /// Kept only for training: activated gates [T, B, 4H], c and tanh(c) [T, B, H].
    acts: Vec<f32>,
    cs: Vec<f32>,
    tanh_cs: Vec<f32>,
}

/// Buffers reused from one batch to the next, so a training loop does not allocate per step.
#[derive(Default)]
pub struct Workspace {
    batch: usize,
    /// The input, time-major [T, B, F], and as a tensor.
    xt: Vec<f32>,
    input: Option<Tensor>,
    layers: Vec<LayerTrace>,
    c: Vec<f32>,
    zeros: Vec<f32>,
    z: Vec<f32>,
    acts: Vec<f32>,
    dgates: Vec<f32>,
    dh_above: Vec<f32>,
    dh_next: Vec<f32>,
    dc: Vec<f32>,
    /// The first layer's input products per series row, [R, 4H] (sliding windows only).
    row_gates: Vec<f32>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Workspace {{ batch: {} }}", self.batch)
    }
}

/// Grows `buffer` to `len`; the contents are stale and must be overwritten before use.
fn fit(buffer: &mut Vec<f32>, len: usize) {
    buffer.resize(len, 0.0);
}

/// Where the first layer's input comes from.
#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    /// `batch` windows, [B, T, F] row-major.
    Windows(&'a [f32]),
    /// Windows sliding along one series of feature rows ([R, F] row-major): window `b` is rows
    /// `starts[b] .. starts[b] + T`. Each row's first-layer input product is computed once
    /// instead of once per window containing it (the same sums, so the same results).
    Sliding {
        rows: &'a [f32],
        starts: &'a [usize],
    },
}

/// Forward pass of `batch` windows `x` ([B, T, F] row-major). With `record`, keeps what the
/// backward pass needs. Returns the top layer's last hidden state, [B, H].
pub(crate) fn forward<'w>(
    spec: &MemberSpec,
    layers: &[LayerTensors],
    x: &[f32],
    batch: usize,
    ws: &'w mut Workspace,
    record: bool,
) -> Result<&'w [f32], ModelError> {
    forward_input(spec, layers, Input::Windows(x), batch, ws, record)
}

/// [`forward`] from either kind of [`Input`]; sliding windows are never recorded.
pub(crate) fn forward_input<'w>(
    spec: &MemberSpec,
    layers: &[LayerTensors],
    input: Input<'_>,
    batch: usize,
    ws: &'w mut Workspace,
    record: bool,
) -> Result<&'w [f32], ModelError> {
    let (t_len, f, hidden) = (spec.window, spec.features, spec.hidden);
    let (bh, bg) = (batch * hidden, batch * 4 * hidden);
    let gates = 4 * hidden;
    ws.batch = batch;
    // Sliding: the rows the windows cover and their first-layer products.
    let mut sliding = None;
    match input {
        Input::Windows(x) => {
            fit(&mut ws.xt, t_len * batch * f);
            for b in 0..batch {
                for t in 0..t_len {
                    ws.xt[(t * batch + b) * f..][..f]
                        .copy_from_slice(&x[(b * t_len + t) * f..][..f]);
                }
            }
        }
        Input::Sliding { rows, starts } => {
            if record {
                return Err(ModelError::Internal(
                    "sliding windows are for inference only",
                ));
            }
            let first = layers
                .first()
                .ok_or(ModelError::Internal("member without layers"))?;
            let lo = starts.iter().copied().min().unwrap_or(0);
            let hi = starts.iter().map(|s| s + t_len).max().unwrap_or(0);
            fit(&mut ws.row_gates, (hi - lo) * gates);
            ws.row_gates.fill(0.0);
            first
                .ih
                .accumulate(&mut ws.row_gates, &rows[lo * f..hi * f]);
            sliding = Some((lo, starts));
        }
    }
    ws.input = if record {
        Some(tensor(&ws.xt, t_len * batch, f)?)
    } else {
        None
    };
    ws.layers.resize_with(spec.layers, LayerTrace::default);
    fit(&mut ws.c, bh);
    fit(&mut ws.z, bg);
    fit(&mut ws.acts, bg);
    for (l, weights) in layers.iter().enumerate() {
        let (below, rest) = ws.layers.split_at_mut(l);
        let trace = &mut rest[0];
        // The layer's input, time-major: x for the first layer, the layer below's h otherwise.
        let (input, width) = match below.last() {
            Some(prev) => (&prev.hs[..], hidden),
            None => (&ws.xt[..], f),
        };
        fit(&mut trace.hs, t_len * bh);
        if record {
            fit(&mut trace.acts, t_len * bg);
            fit(&mut trace.cs, t_len * bh);
            fit(&mut trace.tanh_cs, t_len * bh);
        }
        ws.c.fill(0.0);
        for t in 0..t_len {
            let (done, now) = trace.hs.split_at_mut(t * bh);
            let z = &mut ws.z[..bg];
            match sliding {
                Some((lo, starts)) if l == 0 => {
                    for (z_b, start) in z.chunks_exact_mut(gates).zip(starts) {
                        z_b.copy_from_slice(&ws.row_gates[(start + t - lo) * gates..][..gates]);
                    }
                }
                _ => {
                    z.fill(0.0);
                    weights
                        .ih
                        .accumulate(z, &input[t * batch * width..][..batch * width]);
                }
            }
            if t > 0 {
                weights.hh.accumulate(z, &done[(t - 1) * bh..]);
            }
            let (acts, c_record, tanh_c) = if record {
                (
                    &mut trace.acts[t * bg..][..bg],
                    Some(&mut trace.cs[t * bh..][..bh]),
                    Some(&mut trace.tanh_cs[t * bh..][..bh]),
                )
            } else {
                (&mut ws.acts[..bg], None, None)
            };
            run_parallel(ForwardStep {
                hidden,
                z,
                bias: &weights.bias,
                acts,
                c: &mut ws.c[..bh],
                c_record,
                tanh_c,
                h: &mut now[..bh],
            });
        }
        trace.output = if record {
            Some(tensor(&trace.hs, t_len * batch, hidden)?)
        } else {
            None
        };
    }
    let top = ws
        .layers
        .last()
        .ok_or(ModelError::Internal("member without layers"))?;
    Ok(&top.hs[(t_len - 1) * bh..][..bh])
}

/// Logits of the head for each row of `h_last` ([B, H]).
pub(crate) fn head(weights: &Weights, hidden: usize, h_last: &[f32]) -> Vec<[f32; CLASSES]> {
    h_last
        .chunks_exact(hidden)
        .map(|h| {
            std::array::from_fn(|k| {
                let w = &weights.head_weight[k * hidden..][..hidden];
                weights.head_bias[k] + w.iter().zip(h).map(|(a, b)| a * b).sum::<f32>()
            })
        })
        .collect()
}

/// Backward pass from dL/dlogits ([B, 3]) after a recorded forward pass: fills `grads` and, with
/// `want_input`, returns dL/dx as [B, T, F].
pub(crate) fn backward(
    spec: &MemberSpec,
    weights: &Weights,
    layers: &[LayerTensors],
    ws: &mut Workspace,
    dlogits: &[[f32; CLASSES]],
    want_input: bool,
    grads: &mut Weights,
) -> Result<Option<Vec<f32>>, ModelError> {
    let (t_len, hidden, batch) = (spec.window, spec.hidden, ws.batch);
    let (gates, bh) = (4 * hidden, batch * hidden);
    let bg = batch * gates;
    let top = ws
        .layers
        .last()
        .ok_or(ModelError::Internal("member without layers"))?;
    let h_last = &top.hs[(t_len - 1) * bh..][..bh];
    grads.head_weight.fill(0.0);
    grads.head_bias.fill(0.0);
    fit(&mut ws.dh_above, t_len * bh);
    ws.dh_above.fill(0.0);
    let dh_last = &mut ws.dh_above[(t_len - 1) * bh..];
    for (b, dz) in dlogits.iter().enumerate() {
        let h = &h_last[b * hidden..][..hidden];
        for (k, &d) in dz.iter().enumerate() {
            grads.head_bias[k] += d;
            let w = &weights.head_weight[k * hidden..][..hidden];
            let gw = &mut grads.head_weight[k * hidden..][..hidden];
            let dh = &mut dh_last[b * hidden..][..hidden];
            for j in 0..hidden {
                gw[j] += d * h[j];
                dh[j] += d * w[j];
            }
        }
    }
    fit(&mut ws.dgates, t_len * bg);
    fit(&mut ws.dc, bh);
    fit(&mut ws.dh_next, bh);
    ws.zeros.clear();
    ws.zeros.resize(bh, 0.0);
    let mut input_gradient = None;
    for l in (0..spec.layers).rev() {
        let trace = &ws.layers[l];
        let lt = &layers[l];
        ws.dc.fill(0.0);
        for t in (0..t_len).rev() {
            let (before, from_t) = ws.dgates.split_at_mut((t + 1) * bg);
            let mut block = |dh_next: &[f32]| {
                run_parallel(BackwardStep {
                    hidden,
                    acts: &trace.acts[t * bg..][..bg],
                    c_prev: if t == 0 {
                        &ws.zeros[..bh]
                    } else {
                        &trace.cs[(t - 1) * bh..][..bh]
                    },
                    tanh_c: &trace.tanh_cs[t * bh..][..bh],
                    dh_above: &ws.dh_above[t * bh..][..bh],
                    dh_next,
                    dc: &mut ws.dc,
                    dgates: &mut before[t * bg..],
                })
            };
            if t + 1 == t_len {
                block(&ws.zeros[..bh]);
            } else {
                let dh_next = &mut ws.dh_next[..bh];
                dh_next.fill(0.0);
                lt.hh_t.accumulate(dh_next, &from_t[..bg]);
                block(dh_next);
            }
        }
        let dg_all = tensor(&ws.dgates, t_len * batch, gates)?;
        let grad = &mut grads.layers[l];
        let hs = trace
            .output
            .as_ref()
            .ok_or(ModelError::Internal("layer output missing"))?;
        if t_len > 1 {
            let rows = (t_len - 1) * batch;
            let dg_later = dg_all.narrow(0, batch, rows)?.t()?;
            product(&dg_later, &hs.narrow(0, 0, rows)?, |v| {
                grad.weight_hh.copy_from_slice(v)
            })?;
        } else {
            grad.weight_hh.fill(0.0);
        }
        let input = if l == 0 {
            ws.input.as_ref()
        } else {
            ws.layers[l - 1].output.as_ref()
        }
        .ok_or(ModelError::Internal("layer input missing"))?;
        product(&dg_all.t()?, input, |v| grad.weight_ih.copy_from_slice(v))?;
        grad.bias_ih.fill(0.0);
        for row in ws.dgates.chunks_exact(gates) {
            for (acc, d) in grad.bias_ih.iter_mut().zip(row) {
                *acc += d;
            }
        }
        grad.bias_hh.copy_from_slice(&grad.bias_ih);
        if l > 0 {
            product(&dg_all, &lt.w_ih, |v| ws.dh_above.copy_from_slice(v))?;
        } else if want_input {
            let f = spec.features;
            input_gradient = Some(product(&dg_all, &lt.w_ih, |v| {
                let mut dx = vec![0.0; batch * t_len * f];
                for t in 0..t_len {
                    for b in 0..batch {
                        dx[(b * t_len + t) * f..][..f]
                            .copy_from_slice(&v[(t * batch + b) * f..][..f]);
                    }
                }
                dx
            })?);
        }
    }
    Ok(input_gradient)
}
