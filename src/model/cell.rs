//! The fused LSTM cell: one pass over a block of batch rows computes the four gates (PyTorch's
//! order i, f, g, o), the cell update and the hidden state; one pass computes all their
//! derivatives. Big blocks are split over rayon's threads by batch rows.
//!
//! Per row, with z = x·W_ih^T + h·W_hh^T + b_ih + b_hh:
//! i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o), c' = f·c + i·g, h' = o·tanh(c').

use super::simd::{self, StepRows};

/// Rows below which a block is not worth handing to another thread.
const MIN_ROWS_PER_THREAD: usize = 16;

/// Work over independent batch rows that can be cut in two at a row.
pub(crate) trait RowBlock: Sized + Send {
    fn rows(&self) -> usize;
    fn split(self, at: usize) -> (Self, Self);
    fn run(self);
}

/// Runs `block` on up to rayon's thread count, in pieces of at least a few rows.
pub(crate) fn run_parallel<B: RowBlock>(block: B) {
    let pieces = rayon::current_num_threads().min(block.rows() / MIN_ROWS_PER_THREAD);
    run_in_pieces(block, pieces);
}

fn run_in_pieces<B: RowBlock>(block: B, pieces: usize) {
    if pieces <= 1 {
        block.run();
        return;
    }
    let left = pieces / 2;
    let at = block.rows() * left / pieces;
    let (a, b) = block.split(at);
    rayon::join(
        || run_in_pieces(a, left),
        || run_in_pieces(b, pieces - left),
    );
}

fn split_opt(s: Option<&mut [f32]>, at: usize) -> (Option<&mut [f32]>, Option<&mut [f32]>) {
    match s {
        Some(s) => {
            let (a, b) = s.split_at_mut(at);
            (Some(a), Some(b))
        }
        None => (None, None),
    }
}

/// One forward step over a block of rows. Slices are [rows, 4H] or [rows, H] row-major.
pub(crate) struct ForwardStep<'a> {
    pub hidden: usize,
    /// Both projections, x·W_ih^T + h·W_hh^T (no bias).
    pub z: &'a [f32],
    /// b_ih + b_hh, [4H].
    pub bias: &'a [f32],
    /// Out: the activated gates i, f, g, o.
    pub acts: &'a mut [f32],
    /// In: the cell state c; out: c'.
    pub c: &'a mut [f32],
    /// Out, when training: c' and tanh(c') kept for the backward pass.
    pub c_record: Option<&'a mut [f32]>,
    pub tanh_c: Option<&'a mut [f32]>,
    /// Out: h'.
    pub h: &'a mut [f32],
}

impl RowBlock for ForwardStep<'_> {
    fn rows(&self) -> usize {
        self.c.len() / self.hidden
    }

    fn split(self, at: usize) -> (Self, Self) {
        let (h4, h1) = (4 * self.hidden * at, self.hidden * at);
        let (z_a, z_b) = self.z.split_at(h4);
        let (acts_a, acts_b) = self.acts.split_at_mut(h4);
        let (c_a, c_b) = self.c.split_at_mut(h1);
        let (cr_a, cr_b) = split_opt(self.c_record, h1);
        let (tc_a, tc_b) = split_opt(self.tanh_c, h1);
        let (h_a, h_b) = self.h.split_at_mut(h1);
        let make = |z, acts, c, c_record, tanh_c, h| ForwardStep {
            hidden: self.hidden,
            z,
            bias: self.bias,
            acts,
            c,
            c_record,
            tanh_c,
            h,
        };
        (
            make(z_a, acts_a, c_a, cr_a, tc_a, h_a),
            make(z_b, acts_b, c_b, cr_b, tc_b, h_b),
        )
    }

    fn run(self) {
        simd::step_rows(StepRows {
            hidden: self.hidden,
            z: self.z,
            bias: self.bias,
            acts: self.acts,
            c: &mut *self.c,
            h: self.h,
            tanh_c: self.tanh_c,
        });
        if let Some(record) = self.c_record {
            record.copy_from_slice(self.c);
        }
    }
}

/// One backward step over a block of rows: from dL/dh' and dL/dc' to dL/dz for all four gates.
pub(crate) struct BackwardStep<'a> {
    pub hidden: usize,
    /// The step's activated gates, [rows, 4H].
    pub acts: &'a [f32],
    /// c before the step (zeros at the first step) and tanh(c') after it, [rows, H].
    pub c_prev: &'a [f32],
    pub tanh_c: &'a [f32],
    /// dL/dh' from the layer above (or the head) and through the recurrence (zeros if none).
    pub dh_above: &'a [f32],
    pub dh_next: &'a [f32],
    /// In: dL/dc' carried back from the next step; out: dL/dc for the previous step.
    pub dc: &'a mut [f32],
    /// Out: dL/dz, [rows, 4H]; also dL/db for the row.
    pub dgates: &'a mut [f32],
}

impl RowBlock for BackwardStep<'_> {
    fn rows(&self) -> usize {
        self.dc.len() / self.hidden
    }

    fn split(self, at: usize) -> (Self, Self) {
        let (h4, h1) = (4 * self.hidden * at, self.hidden * at);
        let (acts_a, acts_b) = self.acts.split_at(h4);
        let (cp_a, cp_b) = self.c_prev.split_at(h1);
        let (tc_a, tc_b) = self.tanh_c.split_at(h1);
        let (da_a, da_b) = self.dh_above.split_at(h1);
        let (dn_a, dn_b) = self.dh_next.split_at(h1);
        let (dc_a, dc_b) = self.dc.split_at_mut(h1);
        let (dg_a, dg_b) = self.dgates.split_at_mut(h4);
        let hidden = self.hidden;
        let make = |acts, c_prev, tanh_c, dh_above, dh_next, dc, dgates| BackwardStep {
            hidden,
            acts,
            c_prev,
            tanh_c,
            dh_above,
            dh_next,
            dc,
            dgates,
        };
        (
            make(acts_a, cp_a, tc_a, da_a, dn_a, dc_a, dg_a),
            make(acts_b, cp_b, tc_b, da_b, dn_b, dc_b, dg_b),
        )
    }

    fn run(self) {
        let hidden = self.hidden;
        let gates = 4 * hidden;
        for r in 0..self.rows() {
            let acts = &self.acts[r * gates..][..gates];
            let (i, rest) = acts.split_at(hidden);
            let (f, rest) = rest.split_at(hidden);
            let (g, o) = rest.split_at(hidden);
            let c_prev = &self.c_prev[r * hidden..][..hidden];
            let tc = &self.tanh_c[r * hidden..][..hidden];
            let dh_above = &self.dh_above[r * hidden..][..hidden];
            let dh_next = &self.dh_next[r * hidden..][..hidden];
            let dc = &mut self.dc[r * hidden..][..hidden];
            let dg = &mut self.dgates[r * gates..][..gates];
            let (di, rest) = dg.split_at_mut(hidden);
            let (df, rest) = rest.split_at_mut(hidden);
            let (dgg, d_o) = rest.split_at_mut(hidden);
            for j in 0..hidden {
                let dh = dh_above[j] + dh_next[j];
                let dc_j = dc[j] + dh * o[j] * (1.0 - tc[j] * tc[j]);
                di[j] = dc_j * g[j] * i[j] * (1.0 - i[j]);
                df[j] = dc_j * c_prev[j] * f[j] * (1.0 - f[j]);
                dgg[j] = dc_j * i[j] * (1.0 - g[j] * g[j]);
                d_o[j] = dh * tc[j] * o[j] * (1.0 - o[j]);
                dc[j] = dc_j * f[j];
            }
        }
    }
}
