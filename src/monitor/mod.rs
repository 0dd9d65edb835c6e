//! Model monitoring: statistics, detectors, references and the live scorecard. This module watches
//! a deployed model from the outside: it compares live feature and prediction distributions with
//! the references recorded at training time, tracks calibration and hit rates with honest
//! confidence intervals, and reports drift when the evidence clears a stated significance level.
//! It builds on `model` (and what `model` may use) and is used by `engine` and `commands`.

pub mod stats;
