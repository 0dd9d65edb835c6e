//! `trademon models eval ID --input FILE [--tensor NAME]`: the text of a model's evaluation
//! ([`crate::model::eval`]): P(down, flat, up) per window.

use std::fmt::Write as _;

pub use crate::model::eval::{EvalReport, eval};

/// The human-readable form: one row per window.
pub fn eval_text(r: &EvalReport) -> String {
    let windows = if r.rows == 1 { "window" } else { "windows" };
    let mut out = format!(
        "model {} (id {}) on {} {windows} of T = {} steps of {} from {}\n",
        r.model, r.id, r.rows, r.window, r.tensor, r.input
    );
    let _ = writeln!(
        out,
        "{:>5}  {:>8}  {:>8}  {:>8}",
        "ROW", "DOWN", "FLAT", "UP"
    );
    for (i, [down, flat, up]) in r.probabilities.iter().enumerate() {
        let _ = writeln!(out, "{i:>5}  {down:>8.6}  {flat:>8.6}  {up:>8.6}");
    }
    out
}
