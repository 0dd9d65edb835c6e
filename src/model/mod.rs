//! The signal model: LSTM ensemble members, indicator weighting, training, the registry and the
//! baselines a model must beat.

pub mod signal;
