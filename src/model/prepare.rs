//! The one call the training code makes: candles in; the dataset, its split and θ, the
//! normaliser, the correlation matrix, the indicator weights, and the two baselines with their
//! validation and test scores out.

use serde::{Deserialize, Serialize};

use super::baseline::{L2Trial, LogisticParams, MajorityClass, fit_logistic};
use super::correlation::CorrelationMatrix;
use super::data_error::DataError;
use super::dataset::Dataset;
use super::logistic::LogisticRegression;
use super::metrics::{Metrics, evaluate};
use super::normalize::Normalizer;
use super::weighting::{IndicatorWeights, WeightingInputs, WeightingParams, optimise};
use crate::domain::{Calendar, Candle, Interval};
use crate::features::DEFAULT_HTF_FACTOR;

/// How candles become learning data. Part of a model's lineage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataSpec {
    /// Rows per sample window (T).
    pub window: usize,
    /// Candles ahead the label's return looks (k).
    pub horizon: usize,
    pub train_fraction: f64,
    pub validation_fraction: f64,
    /// Base candles per higher-timeframe candle of the features.
    pub htf_factor: u32,
    /// The fewest samples a split may have.
    pub min_split_samples: usize,
    /// The series' market calendar: which holes between candles are gaps. Training reads it
    /// from the store; a model keeps it so its backtests judge gaps the same way. Left out of
    /// the JSON when `24x7`, so models of 24x7 series are stored as before.
    #[serde(skip_serializing_if = "Calendar::is_24x7")]
    pub calendar: Calendar,
    pub weighting: WeightingParams,
    pub logistic: LogisticParams,
}

impl Default for DataSpec {
    fn default() -> Self {
        Self {
            window: 20,
            horizon: 1,
            train_fraction: 0.70,
            validation_fraction: 0.15,
            htf_factor: DEFAULT_HTF_FACTOR,
            min_split_samples: 50,
            calendar: Calendar::TwentyFourSeven,
            weighting: WeightingParams::default(),
            logistic: LogisticParams::default(),
        }
    }
}

fn invalid(field: &'static str, value: impl ToString, expected: &'static str) -> DataError {
    DataError::InvalidSpec {
        field,
        value: value.to_string(),
        expected,
    }
}

impl DataSpec {
    /// What is left for the test split.
    pub fn test_fraction(&self) -> f64 {
        1.0 - self.train_fraction - self.validation_fraction
    }

    /// Refuses settings that cannot work, naming the field.
    pub fn check(&self) -> Result<(), DataError> {
        if !(1..=10_000).contains(&self.window) {
            return Err(invalid("window", self.window, "1 to 10000 rows"));
        }
        if !(1..=10_000).contains(&self.horizon) {
            return Err(invalid("horizon", self.horizon, "1 to 10000 candles"));
        }
        let unit = |f: f64| f.is_finite() && f > 0.0 && f < 1.0;
        if !unit(self.train_fraction) {
            return Err(invalid(
                "train_fraction",
                self.train_fraction,
                "a number in (0, 1)",
            ));
        }
        if !unit(self.validation_fraction) {
            return Err(invalid(
                "validation_fraction",
                self.validation_fraction,
                "a number in (0, 1)",
            ));
        }
        if self.test_fraction() < 1e-6 {
            return Err(invalid(
                "train_fraction + validation_fraction",
                self.train_fraction + self.validation_fraction,
                "below 1, leaving a test split",
            ));
        }
        if !(1..=1000).contains(&self.htf_factor) {
            return Err(invalid("htf_factor", self.htf_factor, "1 to 1000"));
        }
        if self.min_split_samples == 0 {
            return Err(invalid("min_split_samples", 0, "at least 1"));
        }
        let w = &self.weighting;
        if !unit(w.floor) {
            return Err(invalid("weighting.floor", w.floor, "a number in (0, 1)"));
        }
        if !(w.correlation_threshold.is_finite() && (0.0..1.0).contains(&w.correlation_threshold)) {
            return Err(invalid(
                "weighting.correlation_threshold",
                w.correlation_threshold,
                "a number in [0, 1)",
            ));
        }
        if !(1..=100).contains(&w.repeats) {
            return Err(invalid("weighting.repeats", w.repeats, "1 to 100"));
        }
        if !(w.ic_recent_fraction.is_finite()
            && w.ic_recent_fraction > 0.0
            && w.ic_recent_fraction <= 1.0)
        {
            return Err(invalid(
                "weighting.ic_recent_fraction",
                w.ic_recent_fraction,
                "a number in (0, 1]",
            ));
        }
        let l = &self.logistic;
        if l.l2_grid.is_empty() || l.l2_grid.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(invalid(
                "logistic.l2_grid",
                format!("{:?}", l.l2_grid),
                "one or more finite strengths ≥ 0",
            ));
        }
        if l.max_iterations == 0 {
            return Err(invalid("logistic.max_iterations", 0, "at least 1"));
        }
        if !(l.tolerance.is_finite() && l.tolerance > 0.0) {
            return Err(invalid(
                "logistic.tolerance",
                l.tolerance,
                "a number above 0",
            ));
        }
        Ok(())
    }
}

/// Scores of the two baselines on one split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselineScores {
    pub majority: Metrics,
    pub logistic: Metrics,
}

/// Everything [`prepare`] makes.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub dataset: Dataset,
    pub normalizer: Normalizer,
    /// Pearson correlations over the training rows (the Signals pane draws it).
    pub correlation: CorrelationMatrix,
    pub weights: IndicatorWeights,
    pub majority: MajorityClass,
    /// Fitted on the z-scored, weighted last rows of the training windows.
    pub logistic: LogisticRegression,
    /// The L2 strengths tried for `logistic`, in order.
    pub logistic_l2_tried: Vec<L2Trial>,
    pub validation: BaselineScores,
    pub test: BaselineScores,
    /// The logistic baseline's probabilities on the test split, in its order (for the paired
    /// test of the model against it).
    pub test_logistic: Vec<[f64; 3]>,
}

/// Builds the learning data of `candles` and everything fitted on it (see the module doc).
pub fn prepare(
    candles: &[Candle],
    interval: Interval,
    spec: &DataSpec,
) -> Result<Prepared, DataError> {
    let dataset = Dataset::build(candles, interval, spec)?;
    let split = dataset.split().clone();
    let normalizer = Normalizer::fit(&dataset)?;
    let training_rows = dataset.training_rows();
    let correlation = CorrelationMatrix::pearson(
        training_rows.iter().map(|&r| dataset.row_values(r)),
        dataset.names(),
    )?;
    let width = dataset.feature_count();
    let unit = vec![1.0; width];
    let y_train = dataset.classes(split.train.clone())?;
    let y_validation = dataset.classes(split.validation.clone())?;
    let y_test = dataset.classes(split.test.clone())?;
    let unit_model = {
        let x_train = dataset.last_rows(split.train.clone(), &normalizer, &unit)?;
        let x_validation = dataset.last_rows(split.validation.clone(), &normalizer, &unit)?;
        let (model, _) = fit_logistic(
            &x_train,
            &y_train,
            &x_validation,
            &y_validation,
            width,
            &spec.logistic,
        )?;
        (model, x_validation)
    };
    let recent = {
        let n = split.train.len();
        let m = ((n as f64 * spec.weighting.ic_recent_fraction).ceil() as usize).clamp(1, n);
        split.train.end - m..split.train.end
    };
    let mut recent_rows = Vec::with_capacity(recent.len() * width);
    let mut recent_returns = Vec::with_capacity(recent.len());
    for id in recent {
        recent_rows.extend_from_slice(dataset.sample_last_row(id)?);
        recent_returns.push(dataset.forward_return(id)?);
    }
    let weights = optimise(
        WeightingInputs {
            names: dataset.names(),
            model: &unit_model.0,
            x_validation: &unit_model.1,
            y_validation: &y_validation,
            correlation: &correlation,
            recent_rows: &recent_rows,
            recent_returns: &recent_returns,
        },
        &spec.weighting,
    )?;
    let w = &weights.weights;
    let x_train = dataset.last_rows(split.train.clone(), &normalizer, w)?;
    let x_validation = dataset.last_rows(split.validation.clone(), &normalizer, w)?;
    let x_test = dataset.last_rows(split.test.clone(), &normalizer, w)?;
    let (logistic, logistic_l2_tried) = fit_logistic(
        &x_train,
        &y_train,
        &x_validation,
        &y_validation,
        width,
        &spec.logistic,
    )?;
    let majority = MajorityClass::fit(&y_train)?;
    let scores = |x: &[f64], y: &[u8]| -> Result<BaselineScores, DataError> {
        Ok(BaselineScores {
            majority: majority.evaluate(y)?,
            logistic: evaluate(&logistic.predict_proba_batch(x)?, y)?,
        })
    };
    let validation = scores(&x_validation, &y_validation)?;
    let test_logistic = logistic.predict_proba_batch(&x_test)?;
    let test = BaselineScores {
        majority: majority.evaluate(&y_test)?,
        logistic: evaluate(&test_logistic, &y_test)?,
    };
    Ok(Prepared {
        dataset,
        normalizer,
        correlation,
        weights,
        majority,
        logistic,
        logistic_l2_tried,
        validation,
        test,
        test_logistic,
    })
}

#[cfg(test)]
#[path = "prepare_tests.rs"]
mod tests;
