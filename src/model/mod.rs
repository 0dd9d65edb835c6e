//! The signal model: LSTM ensemble members, indicator weighting, training, the baselines a model
//! must beat, and the registry that keeps every trained version in SQLite.

pub mod registry;
pub mod signal;
