//! Weight matrices packed for the multiply-add kernel of [`super::simd::accumulate`]: the
//! products of the recurrence (B × n by n × G, one per step, too small for a general matrix
//! product to pay its way) and of the batch-1 path.

use super::simd::{self, BLOCK};

/// A [G, n] weight matrix (PyTorch's layout, e.g. G = 4H gates) regrouped for `gates += W · v`: block `b` of
/// [`BLOCK`] gate rows is stored as n rows of [`BLOCK`] values, contiguous, so the inner loop
/// streams through memory in order; gates past the last whole block are kept transposed, [n, rest].
#[derive(Clone, Debug)]
pub(crate) struct Blocked {
    n: usize,
    blocks: Vec<f32>,
    rest: Vec<f32>,
}

impl Blocked {
    pub(crate) fn new(w: &[f32], gates: usize, n: usize) -> Self {
        let whole = gates / BLOCK;
        let mut blocks = Vec::with_capacity(whole * BLOCK * n);
        for b in 0..whole {
            for k in 0..n {
                blocks.extend((0..BLOCK).map(|j| w[(b * BLOCK + j) * n + k]));
            }
        }
        let rest = (0..n)
            .flat_map(|k| (whole * BLOCK..gates).map(move |g| w[g * n + k]))
            .collect();
        Self { n, blocks, rest }
    }

    /// gates[r] += W · v[r] for every row: whole blocks by the SIMD kernel, the rest here.
    pub(crate) fn accumulate(&self, gates: &mut [f32], v: &[f32]) {
        let n = self.n;
        let rows = v.len() / n.max(1);
        let width = gates.len() / rows.max(1);
        simd::accumulate(gates, &self.blocks, &v[..rows * n], n);
        let whole = self.blocks.len() / (BLOCK * n).max(1);
        for (gates_r, v_r) in gates.chunks_exact_mut(width).zip(v.chunks_exact(n)) {
            let tail = &mut gates_r[whole * BLOCK..];
            if tail.is_empty() {
                break;
            }
            for (row, &vk) in self.rest.chunks_exact(tail.len()).zip(v_r) {
                for (g, w) in tail.iter_mut().zip(row) {
                    *g += vk * w;
                }
            }
        }
    }
}
