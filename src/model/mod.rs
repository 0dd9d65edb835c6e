//! The signal model and everything around it: the learning data (feature windows with
//! forward-return classes, the time-ordered split, normalisation), the indicator weighting, the
//! majority and logistic baselines and the metrics, the ensemble's signal, and the registry that
//! keeps every trained version in SQLite.

pub mod baseline;
pub mod correlation;
pub mod data_error;
pub mod data_rng;
pub mod dataset;
pub mod labels;
pub mod logistic;
pub mod metrics;
pub mod normalize;
pub mod prepare;
pub mod registry;
pub mod signal;
pub mod split;
pub mod weighting;
