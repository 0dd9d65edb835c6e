//! Why the learning data, a baseline or a metric could not be made: every error says what was
//! wrong and where (which candle, which sample, which split, which field).

use crate::features::FeatureError;

/// An error building or using the learning data.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DataError {
    #[error("data spec: {field} = {value} is not allowed; expected {expected}")]
    InvalidSpec {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("candle {index} of the series: {source}")]
    Candle {
        index: usize,
        #[source]
        source: FeatureError,
    },
    #[error(
        "too few samples: {samples} usable windows give the {split} split {got} samples, \
         at least {min} are needed; about {needed} usable windows would do \
         ({skipped_gap} windows were left out for gaps, {skipped_label} for a missing label)"
    )]
    TooFewSamples {
        samples: usize,
        needed: usize,
        split: &'static str,
        got: usize,
        min: usize,
        skipped_gap: usize,
        skipped_label: usize,
    },
    #[error("sample {id} does not exist: the dataset has {samples} samples (ids 0..{samples})")]
    UnknownSample { id: usize, samples: usize },
    #[error("{what}: expected {expected} values, got {got}")]
    WidthMismatch {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{what}: value {index} is {value}, not a finite number")]
    NotFinite {
        what: &'static str,
        index: usize,
        value: f64,
    },
    #[error("metrics: label {index} is {label}; classes are 0 (down), 1 (flat), 2 (up)")]
    BadLabel { index: usize, label: u8 },
    #[error("{what}: no samples to work on")]
    Empty { what: &'static str },
}
