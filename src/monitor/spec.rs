//! What the monitor needs to know of a registered model: its series settings (interval, horizon,
//! θ, feature set), its training range and split fractions (the reference window), its logistic
//! baseline, and its held-out test figures.

use crate::domain::{Calendar, Interval};
use crate::features::{FEATURE_COUNT, FeatureSet};
use crate::model::ensemble::{EnsembleParams, EnsembleWeighting, KIND};
use crate::model::registry::ModelRecord;

/// The held-out scores of one predictor on the test split.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct SplitFigures {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub log_loss: f64,
    pub brier: f64,
}

/// The test split's figures from training: the model and its two baselines.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct TestFigures {
    pub samples: u64,
    pub model: SplitFigures,
    pub logistic: SplitFigures,
    pub majority: SplitFigures,
}

/// A registered ensemble as the monitor sees it.
#[derive(Clone, Debug)]
pub struct ModelSpec {
    pub id: i64,
    pub version: String,
    pub interval: Interval,
    pub horizon: usize,
    pub theta: f64,
    pub htf_factor: u32,
    pub calendar: Calendar,
    pub train_fraction: f64,
    pub validation_fraction: f64,
    pub data_from_ms: Option<i64>,
    pub data_to_ms: Option<i64>,
    /// The features the model reads: (name, index in a feature row).
    pub features: Vec<(String, usize)>,
    /// Its logistic baseline, when it stores one.
    pub weighting: Option<EnsembleWeighting>,
    pub test: Option<TestFigures>,
}

impl ModelSpec {
    /// The monitor's view of `record`, or why it cannot watch it (a PyTorch member has no
    /// training range, θ or baseline).
    pub fn of(record: &ModelRecord) -> Result<Self, String> {
        if record.kind != KIND {
            return Err(format!(
                "{} is a {} model: it has no training range or baseline to compare with",
                record.version, record.kind
            ));
        }
        let params: EnsembleParams = serde_json::from_value(record.params.clone())
            .map_err(|e| format!("{}: its parameters cannot be read: {e}", record.version))?;
        let weighting = serde_json::from_value::<EnsembleWeighting>(record.weighting.clone()).ok();
        let set = FeatureSet::with_factor(params.interval, params.data.htf_factor);
        let names = set.names();
        let features = record
            .features
            .iter()
            .map(|name| {
                names
                    .iter()
                    .position(|n| n == name)
                    .map(|i| (name.clone(), i))
                    .ok_or_else(|| format!("{}: unknown feature {name}", record.version))
            })
            .collect::<Result<Vec<_>, _>>()?;
        debug_assert!(features.iter().all(|(_, i)| *i < FEATURE_COUNT));
        Ok(Self {
            id: record.id,
            version: record.version.clone(),
            interval: params.interval,
            horizon: params.data.horizon.max(1),
            theta: params.theta,
            htf_factor: params.data.htf_factor,
            calendar: params.data.calendar,
            train_fraction: params.data.train_fraction,
            validation_fraction: params.data.validation_fraction,
            data_from_ms: record.data_from_ms,
            data_to_ms: record.data_to_ms,
            features,
            weighting,
            test: test_figures(&record.metrics),
        })
    }

    /// A fresh feature set of the model's series settings.
    pub fn feature_set(&self) -> FeatureSet {
        FeatureSet::with_factor(self.interval, self.htf_factor).with_calendar(self.calendar)
    }

    /// The logistic baseline's probabilities on a raw feature row (`None` without one, or when
    /// it cannot run on the row).
    /// `scratch` is reused from call to call: its first half takes the model's features of the
    /// row, its second half their normalised values.
    pub fn logistic(&self, row: &[f64; FEATURE_COUNT], scratch: &mut Vec<f64>) -> Option<[f64; 3]> {
        let w = self.weighting.as_ref()?;
        let n = self.features.len();
        scratch.clear();
        scratch.extend(self.features.iter().map(|(_, i)| row[*i]));
        scratch.resize(2 * n, 0.0);
        let (values, normalised) = scratch.split_at_mut(n);
        w.normalizer
            .apply(values, &w.indicators.weights, normalised)
            .ok()?;
        w.logistic.predict_proba(normalised).ok()
    }
}

/// The test split's figures in a training report (`metrics.test`), when it has them.
fn test_figures(metrics: &serde_json::Value) -> Option<TestFigures> {
    let test = metrics.get("test")?;
    let split = |key: &str| -> Option<SplitFigures> {
        let m = test.get(key)?;
        let f = |k: &str| m.get(k).and_then(|v| v.as_f64());
        Some(SplitFigures {
            accuracy: f("accuracy")?,
            macro_f1: f("macro_f1")?,
            log_loss: f("log_loss")?,
            brier: f("brier")?,
        })
    };
    let model = split("model")?;
    Some(TestFigures {
        samples: test
            .get("model")
            .and_then(|m| m.get("samples"))
            .and_then(|v| v.as_u64())
            .unwrap_or(0),
        model,
        logistic: split("logistic").unwrap_or_default(),
        majority: split("majority").unwrap_or_default(),
    })
}
