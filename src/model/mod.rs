//! The signal model and everything around it.
//!
//! The member: one LSTM, specified exactly as PyTorch's `LSTM(F → H, L layers, batch_first)`
//! followed by `Linear(H → 3)` on the top layer's last hidden state and a softmax, with PyTorch's
//! parameter names, gate order (i, f, g, o) and two bias vectors, so weights move both ways and
//! results can be checked against PyTorch (`tests/lstm_parity.rs`).
//!
//! - [`weights`]: [`MemberSpec`], the parameter tensors and PyTorch's initialisation.
//! - [`weights_file`]: safetensors in and out under PyTorch's names, every shape validated.
//! - [`member`]: [`Member`], its batched forward pass, loss and gradients (a batch is split over
//!   rayon's threads, one chunk each).
//! - `sequence`, `cell`: the layer loops and the fused LSTM cell (forward and backward in one
//!   pass each); `blocked` and `simd`: the per-step products and the cell in AVX2 + FMA,
//!   picked at run time by `pulp` (safe code; plain lanes on CPUs without AVX2); candle's matrix
//!   product (gemm) for the weight gradients over all steps; candle's safetensors reader.
//! - [`predict`]: the batch-1 path for the live engine, no allocation per call.
//! - [`adamw`]: PyTorch's AdamW.
//!
//! Around it: the learning data ([`dataset`], [`labels`], [`split`], [`normalize`],
//! [`prepare`]), the indicator weighting ([`weighting`], [`correlation`]), the majority and
//! logistic baselines and the metrics ([`baseline`], [`logistic`], [`metrics`]), the ensemble's
//! signal ([`signal`]) and its thresholds calibrated on the validation split ([`calibrate`]),
//! and the registry that keeps every trained version in SQLite ([`registry`]).
//!
//! The use cases the CLI runs on them: a training run on stored candles ([`training_run`]), the
//! feature export ([`feature_export`]), evaluating a registered model on input windows
//! ([`eval`]) and importing a member trained in PyTorch ([`torch_import`]).

pub mod baseline;
pub mod calibrate;
pub mod correlation;
pub mod data_error;
pub mod dataset;
pub mod demo;
pub mod ensemble;
pub mod eval;
pub mod feature_export;
pub mod labels;
pub mod logistic;
pub mod metrics;
pub mod normalize;
pub mod pipeline;
pub mod prepare;
pub mod registry;
pub mod signal;
pub mod split;
pub mod torch_import;
pub mod torch_member;
pub mod train;
pub mod training_run;
pub mod weighting;

pub mod adamw;
mod blocked;
mod cell;
mod math;
pub mod member;
pub mod predict;
pub mod rng;
mod sequence;
mod simd;
pub mod weights;
pub mod weights_file;

pub use adamw::AdamW;
pub use member::{Class, Member};
pub use predict::Scratch;
pub use weights::{CLASSES, Gradients, LayerWeights, MemberSpec, Weights};

/// Something wrong with a model's weights, its file or its input; says what and where.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("not a safetensors file: {reason}")]
    NotSafetensors { reason: String },
    #[error("tensor {name} is missing from the file")]
    MissingTensor { name: String },
    #[error("tensor {name} has shape {found:?}, expected {expected:?} ({why})")]
    WrongShape {
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
        why: String,
    },
    #[error("tensor {name} has dtype {found}, expected F32")]
    WrongDtype { name: String, found: String },
    #[error("tensor {name} is not part of an LSTM member ({why})")]
    UnexpectedTensor { name: String, why: String },
    #[error("tensor {name} holds a non-finite value ({value}) at flat index {index}")]
    NonFinite {
        name: String,
        index: usize,
        value: f32,
    },
    #[error("invalid member spec: {0}")]
    InvalidSpec(String),
    #[error("input {name} has shape {found:?}, expected {expected:?} ({why})")]
    InputShape {
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
        why: String,
    },
    #[error("input {name} holds a non-finite value ({value}) at flat index {index}")]
    NonFiniteInput {
        name: String,
        index: usize,
        value: f32,
    },
    #[error("label {value} at index {index} is not a class (0 down, 1 flat, 2 up)")]
    BadLabel { index: usize, value: i64 },
    #[error("{0}")]
    Internal(&'static str),
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
}
