//! The ensemble: K members and their validation weights, the feature pipeline they were trained
//! on (names, normaliser, indicator weights), the signal thresholds, and the logistic baseline the
//! engine falls back to. One registry row holds it all: the members' tensors in the blob
//! (`member{k}.` + PyTorch's names), the rest as JSON in `params` and `weighting`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::calibrate::Calibration;
use super::data_error::DataError;
use super::logistic::LogisticRegression;
use super::member::{Class, Member};
use super::normalize::Normalizer;
use super::predict::Scratch;
use super::prepare::DataSpec;
use super::registry::ModelRecord;
use super::signal::{self, ThresholdOverride, Thresholds, Verdict};
use super::weighting::IndicatorWeights;
use super::weights::{CLASSES, MemberSpec, Weights};
use super::{ModelError, weights_file};
use crate::domain::Interval;

/// The registry kind of a trained ensemble.
pub const KIND: &str = "ensemble";

/// Why an ensemble could not be built, loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EnsembleError {
    #[error("member {member}: {source}")]
    Member {
        member: usize,
        #[source]
        source: ModelError,
    },
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("model {model}: its {field} JSON is not what an ensemble stores: {reason}")]
    Json {
        model: String,
        field: &'static str,
        reason: String,
    },
    #[error("model {model} is a {kind}, not an ensemble this build can run")]
    WrongKind { model: String, kind: String },
    #[error("inconsistent ensemble: {0}")]
    Inconsistent(String),
    #[error("it has no logistic baseline to fall back to")]
    NoFallback,
    #[error("model {model}: {reason}")]
    StoredMember { model: String, reason: String },
    #[error(
        "model {model} reads {features} inputs ({first}, ...), not the live feature set of {live} \
         features, so it cannot run on live features"
    )]
    NotLiveFeatures {
        model: String,
        features: usize,
        first: String,
        live: usize,
    },
}

/// One member's lineage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemberInfo {
    pub spec: MemberSpec,
    pub seed: u64,
    /// Epochs run (early stopping may end before the limit) and the best one kept.
    pub epochs_run: usize,
    pub best_epoch: usize,
    pub validation_log_loss: f64,
    pub validation_accuracy: f64,
}

/// What the registry's `params` column holds for an ensemble.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnsembleParams {
    pub interval: Interval,
    pub members: Vec<MemberInfo>,
    /// The members' say in the mean, from their validation log-loss (sums to 1).
    pub member_weights: Vec<f64>,
    /// The model's own thresholds: calibrated on the validation split (see `calibration`), or,
    /// for a model trained before calibration, the config numbers it was trained with.
    pub thresholds: Thresholds,
    /// How `thresholds` were calibrated; absent in models trained before calibration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    pub data: DataSpec,
    /// |forward return| below this was "flat" in training.
    pub theta: f64,
    /// Training settings, for the record.
    pub training: serde_json::Value,
}

/// What the registry's `weighting` column holds: the input pipeline and the fallback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnsembleWeighting {
    pub normalizer: Normalizer,
    pub indicators: IndicatorWeights,
    /// Fitted on the same normalised, weighted last rows: the engine's fallback.
    pub logistic: LogisticRegression,
}

/// The input pipeline of a runnable model: how raw feature rows become the members' inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct InputWeighting {
    pub normalizer: Normalizer,
    pub indicators: IndicatorWeights,
}

/// A runnable ensemble.
#[derive(Clone, Debug)]
pub struct Ensemble {
    pub names: Vec<String>,
    pub params: EnsembleParams,
    pub weighting: InputWeighting,
    /// The logistic baseline the engine falls back to; `None` for a model that has none (a
    /// member imported from PyTorch), which then gives no signal when it fails.
    fallback: Option<LogisticRegression>,
    members: Vec<Member>,
    /// What signals are judged by: the model's own thresholds, or the config's where it sets them.
    thresholds: Thresholds,
}

impl Ensemble {
    pub fn new(
        names: Vec<String>,
        params: EnsembleParams,
        weighting: EnsembleWeighting,
        members: Vec<Member>,
    ) -> Result<Self, EnsembleError> {
        let EnsembleWeighting {
            normalizer,
            indicators,
            logistic,
        } = weighting;
        Self::with_fallback(
            names,
            params,
            InputWeighting {
                normalizer,
                indicators,
            },
            Some(logistic),
            members,
        )
    }

    /// An ensemble with or without a logistic fallback.
    pub(super) fn with_fallback(
        names: Vec<String>,
        params: EnsembleParams,
        weighting: InputWeighting,
        fallback: Option<LogisticRegression>,
        members: Vec<Member>,
    ) -> Result<Self, EnsembleError> {
        let ensemble = Self {
            names,
            thresholds: params.thresholds,
            params,
            weighting,
            fallback,
            members,
        };
        ensemble.check()?;
        Ok(ensemble)
    }

    /// What the registry's `weighting` column holds for it: `None` for a model without a
    /// logistic fallback (an imported member keeps its own form of the column).
    pub fn stored_weighting(&self) -> Option<EnsembleWeighting> {
        Some(EnsembleWeighting {
            normalizer: self.weighting.normalizer.clone(),
            indicators: self.weighting.indicators.clone(),
            logistic: self.fallback.clone()?,
        })
    }

    /// Whether it has a logistic baseline to fall back to.
    pub fn has_fallback(&self) -> bool {
        self.fallback.is_some()
    }

    fn check(&self) -> Result<(), EnsembleError> {
        let width = self.names.len();
        let bad = |why: String| Err(EnsembleError::Inconsistent(why));
        if self.members.is_empty() {
            return bad("no members".into());
        }
        if self.members.len() != self.params.member_weights.len()
            || self.members.len() != self.params.members.len()
        {
            return bad(format!(
                "{} members, {} weights, {} member records",
                self.members.len(),
                self.params.member_weights.len(),
                self.params.members.len()
            ));
        }
        for (k, member) in self.members.iter().enumerate() {
            let spec = member.spec();
            if spec.features != width || spec.window != self.window() {
                return bad(format!(
                    "member {k} reads {} features over {} steps; the ensemble has {width} \
                     features and a window of {}",
                    spec.features,
                    spec.window,
                    self.window()
                ));
            }
        }
        if self.weighting.normalizer.width() != width
            || self.weighting.indicators.weights.len() != width
            || self.fallback.as_ref().is_some_and(|l| l.features != width)
        {
            return bad(format!(
                "normaliser, indicator weights or fallback are not {width} features wide"
            ));
        }
        self.weighting.normalizer.check()?;
        if let Some(logistic) = &self.fallback {
            logistic.check()?;
        }
        Ok(())
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The thresholds its signals are judged by (see [`Ensemble::override_thresholds`]).
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// Sets the model's own thresholds and how they were calibrated, as training does.
    pub fn set_own_thresholds(&mut self, thresholds: Thresholds, calibration: Option<Calibration>) {
        self.params.thresholds = thresholds;
        self.params.calibration = calibration;
        self.thresholds = thresholds;
    }

    /// Judges signals by the model's own thresholds with the sides `over` sets (the config's
    /// explicit numbers) replaced; the stored params keep the model's own.
    pub fn override_thresholds(&mut self, over: ThresholdOverride) {
        self.thresholds = self.params.thresholds.overridden(over);
    }

    pub fn window(&self) -> usize {
        self.params.data.window
    }

    /// The members' tensors as one safetensors file, `member{k}.` before PyTorch's names.
    pub fn blob(&self) -> Result<Vec<u8>, EnsembleError> {
        let mut tensors = Vec::new();
        for (k, member) in self.members.iter().enumerate() {
            let spec = member.spec();
            for ((name, shape), values) in spec
                .parameter_shapes()
                .into_iter()
                .zip(member.weights().tensors())
            {
                tensors.push((format!("member{k}.{name}"), shape, values));
            }
        }
        let metadata = BTreeMap::from([
            ("kind".to_string(), KIND.to_string()),
            ("members".to_string(), self.members.len().to_string()),
        ]);
        weights_file::write_tensors(&tensors, &metadata)
            .map_err(|source| EnsembleError::Member { member: 0, source })
    }

    /// Loads a registry row of kind [`KIND`] with its (checksum-verified) blob.
    pub fn from_record(record: &ModelRecord, blob: &[u8]) -> Result<Self, EnsembleError> {
        if record.kind != KIND {
            return Err(EnsembleError::WrongKind {
                model: record.version.clone(),
                kind: record.kind.clone(),
            });
        }
        let json = |field: &'static str, reason: serde_json::Error| EnsembleError::Json {
            model: record.version.clone(),
            field,
            reason: reason.to_string(),
        };
        let params: EnsembleParams =
            serde_json::from_value(record.params.clone()).map_err(|e| json("params", e))?;
        let weighting: EnsembleWeighting =
            serde_json::from_value(record.weighting.clone()).map_err(|e| json("weighting", e))?;
        let members = members_from_blob(blob, &params)?;
        Self::new(record.features.clone(), params, weighting, members)
    }

    /// The model input for one window: `rows` are the last `window` feature vectors, oldest first.
    pub fn input(&self, rows: &[&[f64]], out: &mut Vec<f32>) -> Result<(), EnsembleError> {
        if rows.len() != self.window() {
            return Err(EnsembleError::Inconsistent(format!(
                "{} rows for a window of {}",
                rows.len(),
                self.window()
            )));
        }
        out.clear();
        self.normalise_rows(rows.iter().copied(), out)
    }

    /// Feature rows normalised and weighted as the model reads them (what [`Ensemble::input`]
    /// builds a window from), appended to `out` ([R, F] row-major).
    pub fn normalise_rows<'r>(
        &self,
        rows: impl IntoIterator<Item = &'r [f64]>,
        out: &mut Vec<f32>,
    ) -> Result<(), EnsembleError> {
        let (means, scales) = self
            .weighting
            .normalizer
            .scales(&self.weighting.indicators.weights)?;
        for row in rows {
            if row.len() != means.len() {
                return Err(EnsembleError::Inconsistent(format!(
                    "a feature row of {} values for {} features",
                    row.len(),
                    means.len()
                )));
            }
            out.extend((0..means.len()).map(|j| ((row[j] - means[j]) * scales[j]) as f32));
        }
        Ok(())
    }

    /// Each member's probabilities for windows sliding along normalised rows (see
    /// [`Member::probabilities_sliding`]): `[member][window]`.
    pub fn member_probabilities_sliding(
        &self,
        rows: &[f32],
        starts: &[usize],
    ) -> Result<Vec<Vec<[f32; CLASSES]>>, EnsembleError> {
        self.members
            .iter()
            .enumerate()
            .map(|(member, m)| {
                m.probabilities_sliding(rows, starts)
                    .map_err(|source| EnsembleError::Member { member, source })
            })
            .collect()
    }

    /// Each member's probabilities for `batch` windows: `[member][window]`.
    pub fn member_probabilities(
        &self,
        x: &[f32],
        batch: usize,
    ) -> Result<Vec<Vec<[f32; CLASSES]>>, EnsembleError> {
        self.members
            .iter()
            .enumerate()
            .map(|(member, m)| {
                m.probabilities(x, batch)
                    .map_err(|source| EnsembleError::Member { member, source })
            })
            .collect()
    }

    /// The validation-weighted mean of the members, per window.
    pub fn probabilities(&self, x: &[f32], batch: usize) -> Result<Vec<[f64; 3]>, EnsembleError> {
        let per_member = self.member_probabilities(x, batch)?;
        Ok((0..batch)
            .map(|i| {
                let rows: Vec<[f32; 3]> = per_member.iter().map(|m| m[i]).collect();
                mean(&rows, &self.params.member_weights)
            })
            .collect())
    }

    /// Scratch buffers for [`Ensemble::predict_one`], one per member.
    pub fn scratch(&self) -> Vec<Scratch> {
        self.members
            .iter()
            .map(|m| Scratch::new(m.spec()))
            .collect()
    }

    /// The verdict on one window (the batch-1 path: no allocation per member).
    pub fn predict_one(
        &self,
        window: &[f32],
        scratch: &mut [Scratch],
    ) -> Result<Verdict, EnsembleError> {
        if scratch.len() != self.members.len() {
            return Err(EnsembleError::Inconsistent(format!(
                "{} scratch buffers for {} members",
                scratch.len(),
                self.members.len()
            )));
        }
        let mut rows = Vec::with_capacity(self.members.len());
        for (member, (m, s)) in self.members.iter().zip(scratch.iter_mut()).enumerate() {
            rows.push(
                m.predict_one(window, s)
                    .map_err(|source| EnsembleError::Member { member, source })?,
            );
        }
        Ok(signal::combine(
            &rows,
            &self.params.member_weights,
            self.thresholds,
        ))
    }

    /// The features that moved the verdict towards `class` most: gradient × input of
    /// log p(class), summed over the window's steps and over the members by their weights;
    /// the `top` largest in magnitude, largest first.
    pub fn drivers(
        &self,
        window: &[f32],
        class: usize,
        top: usize,
    ) -> Result<Vec<(String, f64)>, EnsembleError> {
        let class = match class {
            0 => Class::Down,
            1 => Class::Flat,
            _ => Class::Up,
        };
        let width = self.names.len();
        let mut totals = vec![0.0f64; width];
        for (member, (m, w)) in self
            .members
            .iter()
            .zip(&self.params.member_weights)
            .enumerate()
        {
            let gradient = m
                .input_gradient(window, class)
                .map_err(|source| EnsembleError::Member { member, source })?;
            for (i, (g, x)) in gradient.iter().zip(window).enumerate() {
                totals[i % width] += w * f64::from(g * x);
            }
        }
        let mut drivers: Vec<(String, f64)> = self.names.iter().cloned().zip(totals).collect();
        drivers.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        drivers.truncate(top);
        Ok(drivers)
    }

    /// The logistic fallback on the newest feature row alone; an error for a model without one.
    pub fn fallback_probabilities(&self, row: &[f64]) -> Result<[f64; 3], EnsembleError> {
        let Some(logistic) = &self.fallback else {
            return Err(EnsembleError::NoFallback);
        };
        let mut normalised = vec![0.0; self.names.len()];
        self.weighting.normalizer.apply(
            row,
            &self.weighting.indicators.weights,
            &mut normalised,
        )?;
        Ok(logistic.predict_proba(&normalised)?)
    }
}

/// The weighted mean of member probability rows.
pub fn mean(rows: &[[f32; 3]], weights: &[f64]) -> [f64; 3] {
    let mut out = [0.0; 3];
    for (row, w) in rows.iter().zip(weights) {
        for (o, p) in out.iter_mut().zip(row) {
            *o += w * f64::from(*p);
        }
    }
    let total: f64 = out.iter().sum();
    if total > 0.0 {
        out.iter_mut().for_each(|o| *o /= total);
    }
    out
}

/// Splits the blob into the members `params` describes.
fn members_from_blob(blob: &[u8], params: &EnsembleParams) -> Result<Vec<Member>, EnsembleError> {
    let tensors = weights_file::load_tensors(blob)
        .map_err(|source| EnsembleError::Member { member: 0, source })?;
    let mut members = Vec::with_capacity(params.members.len());
    for (k, info) in params.members.iter().enumerate() {
        let fail = |source| EnsembleError::Member { member: k, source };
        info.spec.validate().map_err(fail)?;
        let mut weights = Weights::zeros(&info.spec);
        for ((name, shape), slot) in info
            .spec
            .parameter_shapes()
            .into_iter()
            .zip(weights.tensors_mut())
        {
            let key = format!("member{k}.{name}");
            let tensor = tensors
                .get(&key)
                .ok_or_else(|| fail(ModelError::MissingTensor { name: key.clone() }))?;
            let values = weights_file::f32_values(
                &key,
                tensor,
                &shape,
                "the shape the member's spec in params gives",
            )
            .map_err(fail)?;
            slot.copy_from_slice(&values);
        }
        members.push(Member::from_weights(info.spec, weights).map_err(fail)?);
    }
    Ok(members)
}
