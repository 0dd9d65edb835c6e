//! The models that turn features into signals, and the learning data they are trained and
//! judged on: datasets of feature windows with forward-return classes, the time-ordered split,
//! normalisation, the indicator weighting, the majority and logistic baselines, and the metrics.

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
pub mod split;
pub mod weighting;
