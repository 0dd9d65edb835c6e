//! `trademon models import-torch FILE`: the text of a PyTorch member's import
//! ([`crate::model::torch_import`]), which also holds the errors of the `models` commands that
//! read files (this one and `models eval`, in [`super::models_eval`]).

use std::fmt::Write as _;

pub use crate::model::torch_import::{ModelsError, TorchImport, import_torch};
pub use crate::model::torch_member::TORCH_MEMBER_KIND;

/// The human-readable form of an import.
pub fn import_text(r: &TorchImport) -> String {
    let s = &r.member;
    let mut out = format!(
        "registered {} (id {}) from {}\n",
        r.model.version, r.model.id, r.file
    );
    let layers = if s.layers == 1 { "layer" } else { "layers" };
    let _ = writeln!(
        out,
        "  member      LSTM F = {} inputs, H = {} hidden, {} {layers}, window T = {} (from {}); \
         {} parameters",
        s.features, s.hidden, s.layers, s.window, r.window_from, r.parameters
    );
    let _ = writeln!(
        out,
        "  weighting   identity normalisation, unit indicator weights"
    );
    let _ = writeln!(
        out,
        "  data        unknown (trained in PyTorch); role {}",
        r.model.role
    );
    match &r.note {
        None => {
            let _ = writeln!(
                out,
                "  features    the live feature set ({} features)",
                r.model.features.len()
            );
        }
        Some(note) => {
            let _ = writeln!(out, "  features    {note}");
        }
    }
    out
}
