//! Registering a one-member model trained in PyTorch (`models import-torch FILE`), with identity
//! normalisation and unit indicator weights; and the errors of the `models` use cases that read
//! files (this one and the evaluation in [`super::eval`]).

use std::path::Path;

use serde::Serialize;

use crate::domain::Interval;
use crate::features::FeatureSet;
use crate::model::ensemble::KIND as ENSEMBLE_KIND;
use crate::model::normalize::Normalizer;
use crate::model::registry::{ModelRecord, NewModel, Origin, Registry, RegistryError, TrainedOn};
use crate::model::torch_member::TORCH_MEMBER_KIND;
use crate::model::weighting::IndicatorWeights;
use crate::model::{Member, MemberSpec, ModelError, weights_file};

/// Anything `trademon models ...` can refuse: the registry's errors and those of the files
/// `import-torch` and `eval` read.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("models compare: {0}")]
    Compare(String),
    // The causes are part of the one-line messages (not `#[source]`), so a report that prints
    // the chain does not say them twice.
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path} is not a PyTorch LSTM member: {error}")]
    NotMember {
        path: String,
        error: Box<ModelError>,
    },
    #[error("--window {window}: {error}")]
    BadWindow {
        window: usize,
        error: Box<ModelError>,
    },
    #[error("input file {path}: {error}")]
    BadInput {
        path: String,
        error: Box<ModelError>,
    },
    #[error(
        "input file {path} has no tensor {tensor:?}; it holds {found} (pick one with --tensor NAME)"
    )]
    NoInputTensor {
        path: String,
        tensor: String,
        found: String,
    },
    #[error("model {version} (id {id}) cannot be run: {reason}")]
    BadModel {
        id: i64,
        version: String,
        reason: String,
    },
    #[error(
        "eval of kind {kind} is not supported (model {version}, id {id}); `models eval` runs \
         {TORCH_MEMBER_KIND} and {ENSEMBLE_KIND} models"
    )]
    Unsupported {
        kind: String,
        id: i64,
        version: String,
    },
}

/// What `import-torch` registered.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TorchImport {
    pub model: ModelRecord,
    /// The file it was read from.
    pub file: String,
    pub member: MemberSpec,
    /// Weights and biases in all.
    pub parameters: usize,
    /// Where its window T came from: "--window", "the file's metadata" or "the default 20
    /// (the file has no window in its metadata)".
    pub window_from: String,
    /// Whether its inputs are the live feature set (F equals the live feature count).
    pub runs_live: bool,
    /// Why it cannot run live, when it cannot.
    pub note: Option<String>,
}

pub(super) fn read(path: &Path) -> Result<Vec<u8>, ModelsError> {
    std::fs::read(path).map_err(|error| ModelsError::Read {
        path: path.display().to_string(),
        error,
    })
}

/// The feature names of an F-input member: the live feature set when F is its width, else
/// `input_0..input_{F-1}` and the reason the engine will refuse the model.
fn feature_names(features: usize) -> (Vec<String>, Option<String>) {
    let live = FeatureSet::new(Interval::M1).names().to_vec();
    if features == live.len() {
        return (live, None);
    }
    let names = (0..features).map(|i| format!("input_{i}")).collect();
    let note = format!(
        "F = {features} inputs is not the live feature count ({}): the features are named \
         input_0..input_{}, the model cannot run live on the feature set and the engine will \
         refuse it",
        live.len(),
        features - 1
    );
    (names, Some(note))
}

/// Reads `file` as one member under PyTorch's names and registers it in the store at `db`
/// (created when absent, only once the file has been read as a member). `window` (`--window T`)
/// sets the window the live engine feeds it; without it the file's metadata does, else 20.
pub fn import_torch(
    db: &Path,
    file: &Path,
    window: Option<usize>,
) -> Result<TorchImport, ModelsError> {
    let path = file.display().to_string();
    let bytes = read(file)?;
    let not_member = |error| ModelsError::NotMember {
        path: path.clone(),
        error: Box::new(error),
    };
    let member = Member::from_safetensors(&bytes).map_err(not_member)?;
    let in_metadata = weights_file::metadata(&bytes)
        .map_err(not_member)?
        .contains_key("window");
    let (member, window_from) = match window {
        Some(t) => (
            member
                .with_window(t)
                .map_err(|error| ModelsError::BadWindow {
                    window: t,
                    error: Box::new(error),
                })?,
            "--window".to_string(),
        ),
        None if in_metadata => (member, "the file's metadata".to_string()),
        None => (
            member,
            format!(
                "the default {} (the file has no window in its metadata; --window T sets it)",
                MemberSpec::DEFAULT_WINDOW
            ),
        ),
    };
    let spec = *member.spec();
    let blob = member
        .to_safetensors()
        .map_err(|error| ModelsError::NotMember {
            path: path.clone(),
            error: Box::new(error),
        })?;
    let (features, note) = feature_names(spec.features);
    let weighting = serde_json::json!({
        "weights": IndicatorWeights::unit(&features),
        "normalizer": Normalizer::identity(spec.features),
    });
    let params = serde_json::to_value(spec).map_err(|e| RegistryError::Invalid {
        reason: format!("the member spec is not JSON: {e}"),
    })?;
    let new = NewModel {
        kind: TORCH_MEMBER_KIND.to_string(),
        origin: Origin::TorchImport,
        trained_on: TrainedOn::Unknown,
        symbol: None,
        interval: None,
        data_from_ms: None,
        data_to_ms: None,
        rows_train: 0,
        rows_validation: 0,
        rows_test: 0,
        features,
        params,
        metrics: serde_json::json!({}),
        weighting,
        blob,
    };
    let model = Registry::open(db)?.register(new)?;
    let parameters = spec
        .parameter_shapes()
        .iter()
        .map(|(_, shape)| shape.iter().product::<usize>())
        .sum();
    Ok(TorchImport {
        model,
        file: path,
        member: spec,
        parameters,
        window_from,
        runs_live: note.is_none(),
        note,
    })
}
