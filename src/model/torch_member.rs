//! A member trained in PyTorch and imported (`models import-torch`) run as a one-member
//! ensemble: its stored identity normaliser and unit indicator weights, member weight 1, its
//! stored window, the pre-calibration thresholds, and no logistic fallback (it has none: when it
//! fails there is no signal). It has no interval of its own, so it runs at the one it is given:
//! the console's main interval live, the backtest's `--interval` in backtests.

use super::ensemble::{Ensemble, EnsembleError, EnsembleParams, InputWeighting, MemberInfo};
use super::normalize::Normalizer;
use super::prepare::DataSpec;
use super::registry::ModelRecord;
use super::signal::Thresholds;
use super::weighting::IndicatorWeights;
use super::{Member, MemberSpec};
use crate::domain::Interval;
use crate::features::FeatureSet;

/// The registry kind of a model that is one PyTorch-trained member.
pub const TORCH_MEMBER_KIND: &str = "torch-member";

impl Ensemble {
    /// Loads a registry row of kind [`TORCH_MEMBER_KIND`] with its (checksum-verified) blob as a
    /// one-member ensemble at `interval`. Its thresholds are [`Thresholds::FIXED_DEFAULT`] (it
    /// was never calibrated); [`Ensemble::override_thresholds`] lays the config's over them.
    pub fn from_torch_member(
        record: &ModelRecord,
        blob: &[u8],
        interval: Interval,
    ) -> Result<Self, EnsembleError> {
        let model = record.version.clone();
        let stored = |reason: String| EnsembleError::StoredMember {
            model: model.clone(),
            reason,
        };
        if record.kind != TORCH_MEMBER_KIND {
            return Err(EnsembleError::WrongKind {
                model: record.version.clone(),
                kind: record.kind.clone(),
            });
        }
        let spec: MemberSpec = serde_json::from_value(record.params.clone())
            .map_err(|e| stored(format!("its params JSON is not a member spec: {e}")))?;
        let member = Member::from_safetensors(blob)
            .map_err(|e| stored(format!("its stored weights are not a member: {e}")))?;
        let loaded = *member.spec();
        if (loaded.features, loaded.hidden, loaded.layers)
            != (spec.features, spec.hidden, spec.layers)
        {
            return Err(stored(format!(
                "its weights are F {} H {} L {}, its params say F {} H {} L {}",
                loaded.features,
                loaded.hidden,
                loaded.layers,
                spec.features,
                spec.hidden,
                spec.layers
            )));
        }
        // The window is the stored one (`import-torch --window T`), not the weights file's.
        let member = member
            .with_window(spec.window)
            .map_err(|e| stored(format!("window {}: {e}", spec.window)))?;
        let live = FeatureSet::new(interval).names().to_vec();
        if record.features != live {
            return Err(EnsembleError::NotLiveFeatures {
                model,
                features: record.features.len(),
                first: record.features.first().cloned().unwrap_or_default(),
                live: live.len(),
            });
        }
        let normalizer: Normalizer = serde_json::from_value(record.weighting["normalizer"].clone())
            .map_err(|e| stored(format!("weighting.normalizer: {e}")))?;
        let indicators: IndicatorWeights =
            serde_json::from_value(record.weighting["weights"].clone())
                .map_err(|e| stored(format!("weighting.weights: {e}")))?;
        let params = EnsembleParams {
            interval,
            members: vec![MemberInfo {
                spec: *member.spec(),
                // Trained elsewhere: no seed, epochs or validation score are known.
                seed: 0,
                epochs_run: 0,
                best_epoch: 0,
                validation_log_loss: f64::NAN,
                validation_accuracy: f64::NAN,
            }],
            member_weights: vec![1.0],
            thresholds: Thresholds::FIXED_DEFAULT,
            calibration: None,
            data: DataSpec {
                window: spec.window,
                ..DataSpec::default()
            },
            // Its flat band is unknown: outcomes are judged by the sign of the return alone.
            theta: 0.0,
            training: serde_json::json!({ "origin": "trained in PyTorch, imported" }),
        };
        Self::with_fallback(
            live,
            params,
            InputWeighting {
                normalizer,
                indicators,
            },
            None,
            vec![member],
        )
    }

    /// Loads a registry row as a runnable model: an ensemble as trained, or an imported member
    /// at `member_interval` (which an ensemble ignores: it keeps its own).
    pub fn load(
        record: &ModelRecord,
        blob: &[u8],
        member_interval: Interval,
    ) -> Result<Self, EnsembleError> {
        if record.kind == TORCH_MEMBER_KIND {
            Self::from_torch_member(record, blob, member_interval)
        } else {
            Self::from_record(record, blob)
        }
    }
}
