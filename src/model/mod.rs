//! Models that turn features into signals: the LSTM member, the ensemble, indicator weighting,
//! training, baselines, and the registry that keeps every trained version in SQLite.

pub mod registry;
