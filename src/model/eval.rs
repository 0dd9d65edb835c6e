//! Evaluating a registered model (`trademon models eval ID --input FILE [--tensor NAME]`): a
//! PyTorch member or a trained ensemble run on windows [B, T, F] of raw feature values from a
//! safetensors file, through the model's own normalisation and indicator weights, giving
//! P(down, flat, up) per window. T is the input's own: an LSTM runs on any number of steps, so a
//! member stored with window 20 (the default of a file without metadata) evaluates windows of 15
//! as they are; only F must be the model's.

use std::path::Path;

use serde::Serialize;

use super::torch_import::{ModelsError, read};
use crate::model::ensemble::{self, Ensemble};
use crate::model::normalize::Normalizer;
use crate::model::registry::{ModelRecord, Registry};
use crate::model::torch_member::TORCH_MEMBER_KIND;
use crate::model::weighting::IndicatorWeights;
use crate::model::weights_file::{input_windows, load_tensors};
use crate::model::{Member, MemberSpec};

/// What `eval` computed: per window, the probabilities of down, flat, up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvalReport {
    /// The model's version tag.
    pub model: String,
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub input: String,
    #[serde(skip)]
    pub tensor: String,
    pub rows: usize,
    /// The steps per window (T) of the input.
    pub window: usize,
    pub probabilities: Vec<[f64; 3]>,
}

/// A registered model, loaded to run on raw feature windows.
enum Runnable {
    /// One member behind the stored normalisation: `(v − means[j]) · scales[j]`.
    Member {
        member: Box<Member>,
        means: Vec<f64>,
        scales: Vec<f64>,
    },
    Ensemble(Box<Ensemble>),
}

impl Runnable {
    fn load(record: &ModelRecord, blob: &[u8]) -> Result<Self, String> {
        if record.kind == ensemble::KIND {
            let ensemble = Ensemble::from_record(record, blob).map_err(|e| e.to_string())?;
            return Ok(Self::Ensemble(Box::new(ensemble)));
        }
        let member = Member::from_safetensors(blob)
            .map_err(|e| format!("its stored weights are not a member: {e}"))?;
        let width = member.spec().features;
        if record.features.len() != width {
            return Err(format!(
                "it lists {} features but its member takes {width}",
                record.features.len()
            ));
        }
        let normalizer: Normalizer = serde_json::from_value(record.weighting["normalizer"].clone())
            .map_err(|e| format!("weighting.normalizer: {e}"))?;
        let weights: IndicatorWeights = serde_json::from_value(record.weighting["weights"].clone())
            .map_err(|e| format!("weighting.weights: {e}"))?;
        if normalizer.width() != width {
            return Err(format!(
                "weighting.normalizer covers {} features, the member takes {width}",
                normalizer.width()
            ));
        }
        let (means, scales) = normalizer
            .scales(&weights.weights)
            .map_err(|e| format!("weighting: {e}"))?;
        Ok(Self::Member {
            means: means.to_vec(),
            scales,
            member: Box::new(member),
        })
    }

    /// The same model over windows of `window` steps.
    fn with_window(&self, window: usize) -> Result<Self, String> {
        match self {
            Self::Member {
                member,
                means,
                scales,
            } => Ok(Self::Member {
                member: Box::new(member.with_window(window).map_err(|e| e.to_string())?),
                means: means.clone(),
                scales: scales.clone(),
            }),
            Self::Ensemble(e) => {
                let members = e
                    .members()
                    .iter()
                    .map(|m| m.with_window(window))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())?;
                let mut params = e.params.clone();
                params.data.window = window;
                for info in &mut params.members {
                    info.spec.window = window;
                }
                let weighting = e
                    .stored_weighting()
                    .ok_or_else(|| "the ensemble has no logistic fallback".to_string())?;
                let ensemble = Ensemble::new(e.names.clone(), params, weighting, members)
                    .map_err(|e| e.to_string())?;
                Ok(Self::Ensemble(Box::new(ensemble)))
            }
        }
    }

    /// The shape of one window: T and F.
    fn spec(&self) -> Result<MemberSpec, String> {
        match self {
            Self::Member { member, .. } => Ok(*member.spec()),
            Self::Ensemble(e) => e
                .members()
                .first()
                .map(|m| *m.spec())
                .ok_or_else(|| "the ensemble has no members".to_string()),
        }
    }

    /// Probabilities of `batch` windows of raw feature values.
    fn probabilities(&self, x: &[f32], batch: usize) -> Result<Vec<[f64; 3]>, String> {
        let spec = self.spec()?;
        match self {
            Self::Member {
                member,
                means,
                scales,
            } => {
                let mut prepared = x.to_vec();
                for row in prepared.chunks_exact_mut(spec.features) {
                    for ((v, m), s) in row.iter_mut().zip(means).zip(scales) {
                        *v = ((f64::from(*v) - m) * s) as f32;
                    }
                }
                let p = member
                    .probabilities(&prepared, batch)
                    .map_err(|e| e.to_string())?;
                Ok(p.into_iter().map(|row| row.map(f64::from)).collect())
            }
            Self::Ensemble(e) => {
                // The ensemble's own input pipeline, window by window, as the engine feeds it.
                let mut prepared = Vec::with_capacity(x.len());
                let mut window = Vec::with_capacity(spec.window_len());
                for values in x.chunks_exact(spec.window_len()) {
                    let rows: Vec<Vec<f64>> = values
                        .chunks_exact(spec.features)
                        .map(|r| r.iter().map(|&v| f64::from(v)).collect())
                        .collect();
                    let rows: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
                    e.input(&rows, &mut window).map_err(|e| e.to_string())?;
                    prepared.extend_from_slice(&window);
                }
                e.probabilities(&prepared, batch).map_err(|e| e.to_string())
            }
        }
    }
}

/// Runs model `id` (id, version tag or version) on tensor `tensor` [B, T, F] of the file `input`.
pub fn eval(
    registry: &Registry,
    id: &str,
    input: &Path,
    tensor: &str,
) -> Result<EvalReport, ModelsError> {
    let record = registry.get(id)?;
    if record.kind != TORCH_MEMBER_KIND && record.kind != ensemble::KIND {
        return Err(ModelsError::Unsupported {
            kind: record.kind,
            id: record.id,
            version: record.version,
        });
    }
    let bad_model = |reason: String| ModelsError::BadModel {
        id: record.id,
        version: record.version.clone(),
        reason,
    };
    let blob = registry.load_blob(record.id)?;
    let model = Runnable::load(&record, &blob).map_err(bad_model)?;
    let spec = model.spec().map_err(bad_model)?;

    let path = input.display().to_string();
    let bad_input = |error| ModelsError::BadInput {
        path: path.clone(),
        error: Box::new(error),
    };
    let tensors = load_tensors(&read(input)?).map_err(bad_input)?;
    let Some(x) = tensors.get(tensor) else {
        let mut names: Vec<&str> = tensors.keys().map(String::as_str).collect();
        names.sort_unstable();
        let found = match names.len() {
            0 => "no tensors".to_string(),
            n if n > 8 => format!("{} and {} more", names[..8].join(", "), n - 8),
            _ => names.join(", "),
        };
        return Err(ModelsError::NoInputTensor {
            path,
            tensor: tensor.to_string(),
            found,
        });
    };
    let (values, batch, window) =
        input_windows(tensor, x, spec.features, spec.window).map_err(bad_input)?;
    let model = if window == spec.window {
        model
    } else {
        model.with_window(window).map_err(bad_model)?
    };
    let probabilities = model.probabilities(&values, batch).map_err(bad_model)?;
    Ok(EvalReport {
        model: record.version.clone(),
        id: record.id,
        input: path,
        tensor: tensor.to_string(),
        rows: batch,
        window,
        probabilities,
    })
}
