//! The hot loops in explicit SIMD: AVX2 + FMA where the CPU has them (picked at run time by
//! `pulp`, safe code: the crate stays `forbid(unsafe_code)` and the build stays x86-64
//! baseline), plain lanes of one otherwise. The gate functions σ and tanh here are the
//! element functions of [`super::math`] (same polynomial), evaluated a vector at a time.

use pulp::{Arch, Simd, WithSimd};

use super::math::{LN2_HI, LN2_LO, LOG2_E, ROUND_MAGIC};

/// Gate outputs accumulated together in registers by [`accumulate`]: 4 AVX registers of f32.
pub(crate) const BLOCK: usize = 32;

/// The functions of PyTorch's gates, in its order i, f, g, o.
const GATES: [Gate; 4] = [Gate::Sigmoid, Gate::Sigmoid, Gate::Tanh, Gate::Sigmoid];

/// Which function a run of gates goes through.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    Sigmoid,
    Tanh,
}

#[inline(always)]
fn exp<S: Simd>(s: S, x: S::f32s) -> S::f32s {
    let x = s.min_f32s(s.max_f32s(x, s.splat_f32s(-87.0)), s.splat_f32s(88.0));
    let magic = s.splat_f32s(ROUND_MAGIC);
    let shifted = s.mul_add_e_f32s(x, s.splat_f32s(LOG2_E), magic);
    let n = s.sub_f32s(shifted, magic);
    let r = s.mul_add_e_f32s(n, s.splat_f32s(-LN2_HI), x);
    let r = s.mul_add_e_f32s(n, s.splat_f32s(-LN2_LO), r);
    let mut p = s.splat_f32s(1.987_569_1e-4);
    for c in [
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5,
    ] {
        p = s.mul_add_e_f32s(p, r, s.splat_f32s(c));
    }
    let one = s.splat_f32s(1.0);
    let poly = s.add_f32s(s.mul_add_e_f32s(s.mul_f32s(p, r), r, r), one);
    let n_bits = s.sub_u32s(
        s.transmute_u32s_f32s(shifted),
        s.splat_u32s(ROUND_MAGIC.to_bits()),
    );
    let biased = s.add_u32s(n_bits, s.splat_u32s(127));
    let scale = s.transmute_f32s_u32s(s.wrapping_dyn_shl_u32s(biased, s.splat_u32s(23)));
    s.mul_f32s(poly, scale)
}

#[inline(always)]
fn gate<S: Simd>(s: S, kind: Gate, z: S::f32s) -> S::f32s {
    let one = s.splat_f32s(1.0);
    match kind {
        Gate::Sigmoid => s.div_f32s(one, s.add_f32s(one, exp(s, s.neg_f32s(z)))),
        Gate::Tanh => {
            let e = exp(s, s.add_f32s(z, z));
            s.sub_f32s(one, s.div_f32s(s.splat_f32s(2.0), s.add_f32s(e, one)))
        }
    }
}

#[inline(always)]
fn tanh<S: Simd>(s: S, z: S::f32s) -> S::f32s {
    gate(s, Gate::Tanh, z)
}

/// out = gate(a + b) elementwise.
#[inline(always)]
fn activate_sum<S: Simd>(s: S, kind: Gate, out: &mut [f32], a: &[f32], b: &[f32]) {
    let n = out.len();
    let (a, b) = (&a[..n], &b[..n]);
    let (out_v, out_t) = S::as_mut_simd_f32s(out);
    let ((a_v, a_t), (b_v, b_t)) = (S::as_simd_f32s(a), S::as_simd_f32s(b));
    for ((o, &a), &b) in out_v.iter_mut().zip(a_v).zip(b_v) {
        *o = gate(s, kind, s.add_f32s(a, b));
    }
    if !out_t.is_empty() {
        let z = s.add_f32s(s.partial_load_f32s(a_t), s.partial_load_f32s(b_t));
        s.partial_store_f32s(out_t, gate(s, kind, z));
    }
}

/// c = f·c + i·g, h = o·tanh(c), and tanh(c) into `tanh_c` when given.
#[inline(always)]
fn cell_update<S: Simd>(
    s: S,
    acts: &[f32],
    c: &mut [f32],
    h: &mut [f32],
    tanh_c: Option<&mut [f32]>,
) {
    let n = c.len();
    let (i, f, g, o) = (
        &acts[..n],
        &acts[n..2 * n],
        &acts[2 * n..3 * n],
        &acts[3 * n..4 * n],
    );
    let h = &mut h[..n];
    let mut spare = [0.0_f32; 0];
    let (tc, keep) = match tanh_c {
        Some(tc) => (&mut tc[..n], true),
        None => (&mut spare[..], false),
    };
    let (c_v, c_t) = S::as_mut_simd_f32s(c);
    let (h_v, h_t) = S::as_mut_simd_f32s(h);
    let ((i_v, i_t), (f_v, f_t)) = (S::as_simd_f32s(i), S::as_simd_f32s(f));
    let ((g_v, g_t), (o_v, o_t)) = (S::as_simd_f32s(g), S::as_simd_f32s(o));
    let (tc_v, tc_t) = S::as_mut_simd_f32s(tc);
    for (j, (c, h)) in c_v.iter_mut().zip(h_v.iter_mut()).enumerate() {
        let c_new = s.mul_add_e_f32s(f_v[j], *c, s.mul_f32s(i_v[j], g_v[j]));
        *c = c_new;
        let t = tanh(s, c_new);
        *h = s.mul_f32s(o_v[j], t);
        if keep {
            tc_v[j] = t;
        }
    }
    if !c_t.is_empty() {
        let load = |x: &[f32]| s.partial_load_f32s(x);
        let c_new = s.mul_add_e_f32s(load(f_t), load(c_t), s.mul_f32s(load(i_t), load(g_t)));
        s.partial_store_f32s(c_t, c_new);
        let t = tanh(s, c_new);
        s.partial_store_f32s(h_t, s.mul_f32s(load(o_t), t));
        if keep {
            s.partial_store_f32s(tc_t, t);
        }
    }
}

/// One LSTM step for a block of rows (see [`super::cell::ForwardStep`]): all four gates, the
/// cell update and h in one pass per row.
pub(crate) struct StepRows<'a> {
    pub hidden: usize,
    pub z: &'a [f32],
    pub bias: &'a [f32],
    pub acts: &'a mut [f32],
    pub c: &'a mut [f32],
    pub h: &'a mut [f32],
    pub tanh_c: Option<&'a mut [f32]>,
}

impl WithSimd for StepRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let (hidden, gates) = (self.hidden, 4 * self.hidden);
        let mut tanh_c = self.tanh_c;
        let rows = self.c.len() / hidden;
        for r in 0..rows {
            let z = &self.z[r * gates..][..gates];
            let acts = &mut self.acts[r * gates..][..gates];
            for (k, kind) in GATES.into_iter().enumerate() {
                let span = k * hidden..(k + 1) * hidden;
                activate_sum(
                    s,
                    kind,
                    &mut acts[span.clone()],
                    &z[span.clone()],
                    &self.bias[span],
                );
            }
            let c = &mut self.c[r * hidden..][..hidden];
            let h = &mut self.h[r * hidden..][..hidden];
            let tc = tanh_c
                .as_deref_mut()
                .map(|tc| &mut tc[r * hidden..][..hidden]);
            cell_update(s, acts, c, h, tc);
        }
    }
}

/// Runs one forward step over rows with the best SIMD the CPU has.
pub(crate) fn step_rows(rows: StepRows<'_>) {
    Arch::new().dispatch(rows);
}

/// The batch-1 step: activate `gates` (pre-activations, [4H]) in place, then update c and h.
pub(crate) fn step_one(hidden: usize, gates: &mut [f32], c: &mut [f32], h: &mut [f32]) {
    Arch::new().dispatch(StepOne {
        hidden,
        gates,
        c,
        h,
    });
}

struct StepOne<'a> {
    hidden: usize,
    gates: &'a mut [f32],
    c: &'a mut [f32],
    h: &'a mut [f32],
}

impl WithSimd for StepOne<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let hidden = self.hidden;
        for (k, kind) in GATES.into_iter().enumerate() {
            let z = &mut self.gates[k * hidden..(k + 1) * hidden];
            let (z_v, z_t) = S::as_mut_simd_f32s(z);
            for v in z_v {
                *v = gate(s, kind, *v);
            }
            if !z_t.is_empty() {
                let v = gate(s, kind, s.partial_load_f32s(z_t));
                s.partial_store_f32s(z_t, v);
            }
        }
        cell_update(s, self.gates, self.c, self.h, None);
    }
}

/// gates[r] += W · v[r] for every row r (`gates` [rows, G], `v` [rows, n]), with W packed by
/// blocks of [`BLOCK`] gate rows: `blocks` holds, for each whole block, n rows of [`BLOCK`]
/// values (row k = what v[k] adds to the block's gates). Block by block, so a block is read from
/// memory once for all rows. Gates past the last whole block are left to the caller.
pub(crate) fn accumulate(gates: &mut [f32], blocks: &[f32], v: &[f32], n: usize) {
    Arch::new().dispatch(Accumulate {
        gates,
        blocks,
        v,
        n,
    });
}

struct Accumulate<'a> {
    gates: &'a mut [f32],
    blocks: &'a [f32],
    v: &'a [f32],
    n: usize,
}

impl WithSimd for Accumulate<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, s: S) {
        let Accumulate {
            gates,
            blocks,
            v,
            n,
        } = self;
        match S::F32_LANES {
            16 => accumulate_in::<S, { BLOCK / 16 }>(s, gates, blocks, v, n),
            8 => accumulate_in::<S, { BLOCK / 8 }>(s, gates, blocks, v, n),
            4 => accumulate_in::<S, { BLOCK / 4 }>(s, gates, blocks, v, n),
            _ => accumulate_in::<S, BLOCK>(s, gates, blocks, v, n),
        }
    }
}

/// [`accumulate`] with `V` vectors per block (V · lanes = [`BLOCK`]), held in registers.
#[inline(always)]
fn accumulate_in<S: Simd, const V: usize>(
    s: S,
    gates: &mut [f32],
    blocks: &[f32],
    v: &[f32],
    n: usize,
) {
    if V * S::F32_LANES != BLOCK || n == 0 || v.is_empty() {
        return;
    }
    let rows = v.len() / n;
    let width = gates.len() / rows.max(1);
    let pairs = rows / 2;
    for (b, w) in blocks.chunks_exact(BLOCK * n).enumerate() {
        // Rows two at a time: each weight vector loaded once feeds 2·V independent FMA chains.
        for (gates_2, v_2) in gates
            .chunks_exact_mut(2 * width)
            .zip(v.chunks_exact(2 * n))
            .take(pairs)
        {
            let (g0, g1) = gates_2.split_at_mut(width);
            let (v0, v1) = v_2.split_at(n);
            let (Some(out0), Some(out1)) = (
                S::as_mut_simd_f32s(&mut g0[b * BLOCK..][..BLOCK])
                    .0
                    .first_chunk_mut::<V>(),
                S::as_mut_simd_f32s(&mut g1[b * BLOCK..][..BLOCK])
                    .0
                    .first_chunk_mut::<V>(),
            ) else {
                return;
            };
            let (mut acc0, mut acc1) = (*out0, *out1);
            for ((row, &x0), &x1) in w.chunks_exact(BLOCK).zip(v0).zip(v1) {
                let Some(row_v) = S::as_simd_f32s(row).0.first_chunk::<V>() else {
                    return;
                };
                let (x0, x1) = (s.splat_f32s(x0), s.splat_f32s(x1));
                for j in 0..V {
                    acc0[j] = s.mul_add_e_f32s(x0, row_v[j], acc0[j]);
                    acc1[j] = s.mul_add_e_f32s(x1, row_v[j], acc1[j]);
                }
            }
            *out0 = acc0;
            *out1 = acc1;
        }
        // A last single row (the recurrence has only one): even and odd k in separate chains.
        if rows % 2 == 1 {
            let g = &mut gates[(rows - 1) * width..][b * BLOCK..][..BLOCK];
            let v_r = &v[(rows - 1) * n..][..n];
            let Some(out) = S::as_mut_simd_f32s(g).0.first_chunk_mut::<V>() else {
                return;
            };
            let (mut even, mut odd) = (*out, [s.splat_f32s(0.0); V]);
            let mut rows_w = w.chunks_exact(BLOCK);
            for pair in v_r.chunks(2) {
                for (acc, &x) in [&mut even, &mut odd].into_iter().zip(pair) {
                    let Some(row_v) = rows_w
                        .next()
                        .and_then(|r| S::as_simd_f32s(r).0.first_chunk::<V>())
                    else {
                        return;
                    };
                    let x = s.splat_f32s(x);
                    for j in 0..V {
                        acc[j] = s.mul_add_e_f32s(x, row_v[j], acc[j]);
                    }
                }
            }
            for j in 0..V {
                out[j] = s.add_f32s(even[j], odd[j]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::math;

    #[test]
    fn simd_gates_match_the_scalar_functions() {
        let hidden = 13;
        let z: Vec<f32> = (0..4 * hidden).map(|k| (k as f32 - 26.0) * 0.37).collect();
        let mut gates = z.clone();
        let mut c: Vec<f32> = (0..hidden).map(|j| j as f32 * 0.1 - 0.5).collect();
        let c0 = c.clone();
        let mut h = vec![0.0; hidden];
        step_one(hidden, &mut gates, &mut c, &mut h);
        for j in 0..hidden {
            let i = math::sigmoid(z[j]);
            let f = math::sigmoid(z[hidden + j]);
            let g = math::tanh(z[2 * hidden + j]);
            let o = math::sigmoid(z[3 * hidden + j]);
            let c_new = f * c0[j] + i * g;
            assert!((c[j] - c_new).abs() < 1e-6, "c[{j}]");
            assert!((h[j] - o * math::tanh(c_new)).abs() < 1e-6, "h[{j}]");
        }
    }

    #[test]
    fn accumulate_is_the_matrix_vector_product() {
        let (n, gates) = (5, 2 * BLOCK);
        let w: Vec<f32> = (0..gates * n).map(|i| (i % 7) as f32 - 3.0).collect();
        let mut blocks = Vec::new();
        for b in 0..2 {
            for k in 0..n {
                blocks.extend((0..BLOCK).map(|j| w[(b * BLOCK + j) * n + k]));
            }
        }
        let v = [
            1.0, -2.0, 0.5, 3.0, 0.25, 2.0, 1.0, -1.0, 0.0, 4.0, 0.5, 0.5, -3.0, 1.0, 2.0,
        ];
        let mut out = vec![1.0; 3 * gates];
        accumulate(&mut out, &blocks, &v, n);
        for r in 0..3 {
            for g in 0..gates {
                let want = 1.0 + (0..n).map(|k| w[g * n + k] * v[r * n + k]).sum::<f32>();
                assert_eq!(out[r * gates + g], want, "row {r} gate {g}");
            }
        }
    }

    /// The fallback for CPUs without AVX2 (one lane), and emulated 8-lane vectors, give what the
    /// dispatched kernels give on this machine.
    #[test]
    fn scalar_back_ends_agree_with_the_dispatched_kernels() {
        let (hidden, rows) = (13, 3);
        let z: Vec<f32> = (0..rows * 4 * hidden)
            .map(|k| ((k * 37) % 101) as f32 * 0.05 - 2.5)
            .collect();
        let bias: Vec<f32> = (0..4 * hidden).map(|k| k as f32 * 0.01).collect();
        let run = |back_end: &dyn Fn(StepRows<'_>)| {
            let mut acts = vec![0.0; rows * 4 * hidden];
            let mut c: Vec<f32> = (0..rows * hidden).map(|j| j as f32 * 0.03 - 0.4).collect();
            let (mut h, mut tc) = (vec![0.0; rows * hidden], vec![0.0; rows * hidden]);
            back_end(StepRows {
                hidden,
                z: &z,
                bias: &bias,
                acts: &mut acts,
                c: &mut c,
                h: &mut h,
                tanh_c: Some(&mut tc),
            });
            [acts, c, h, tc].concat()
        };
        let dispatched = run(&|rows| step_rows(rows));
        let scalar = run(&|rows| rows.with_simd(pulp::Scalar::new()));
        let lanes8 = run(&|rows| rows.with_simd(pulp::Scalar256b));
        for (name, other) in [("scalar", scalar), ("8 lanes", lanes8)] {
            let e = dispatched
                .iter()
                .zip(&other)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(e < 1e-6, "{name}: {e:e}");
        }

        let n = 7;
        let w: Vec<f32> = (0..2 * BLOCK * n)
            .map(|i| ((i * 13) % 17) as f32 * 0.1 - 0.8)
            .collect();
        let v: Vec<f32> = (0..3 * n).map(|i| i as f32 * 0.25 - 1.0).collect();
        let acc = |back_end: &dyn Fn(Accumulate<'_>)| {
            let mut gates = vec![0.5; 3 * 2 * BLOCK];
            back_end(Accumulate {
                gates: &mut gates,
                blocks: &w,
                v: &v,
                n,
            });
            gates
        };
        let dispatched = acc(&|a| Arch::new().dispatch(a));
        for other in [
            acc(&|a| a.with_simd(pulp::Scalar::new())),
            acc(&|a| a.with_simd(pulp::Scalar128b)),
        ] {
            let e = dispatched
                .iter()
                .zip(&other)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(e < 1e-5, "accumulate: {e:e}");
        }
    }
}
