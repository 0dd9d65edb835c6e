//! Model monitoring: drift detectors.

pub mod detectors;
