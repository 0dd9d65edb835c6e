//! Weights in and out of safetensors under PyTorch's state_dict names (`lstm.weight_ih_l0`, …,
//! `head.weight`, `head.bias`). Reading infers the [`MemberSpec`] from the names and shapes and
//! refuses anything that is not exactly such a member, naming the tensor and what is wrong.
//! `check.*` tensors (PyTorch's reference outputs) are ignored. The window T is not a weight:
//! it travels in the file's `__metadata__` as `window` and defaults to 20 when absent.

use std::collections::{BTreeMap, HashMap};

use candle_core::{DType, Device, Tensor};

use super::ModelError;
use super::weights::{CLASSES, LayerWeights, MemberSpec, Weights};

/// Metadata key holding the window T.
const WINDOW_KEY: &str = "window";

/// Every tensor of a safetensors file, by name, on the CPU.
pub fn load_tensors(bytes: &[u8]) -> Result<HashMap<String, Tensor>, ModelError> {
    candle_core::safetensors::load_buffer(bytes, &Device::Cpu).map_err(|e| {
        ModelError::NotSafetensors {
            reason: e.to_string(),
        }
    })
}

/// The `__metadata__` map of a safetensors file (empty when it has none).
pub(crate) fn metadata(bytes: &[u8]) -> Result<BTreeMap<String, String>, ModelError> {
    let not = |reason: &str| ModelError::NotSafetensors {
        reason: reason.to_string(),
    };
    let len_bytes: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| not("shorter than its 8-byte header length"))?;
    let header_len = usize::try_from(u64::from_le_bytes(len_bytes))
        .map_err(|_| not("header length does not fit in memory"))?;
    let header = bytes
        .get(8..8usize.saturating_add(header_len))
        .ok_or_else(|| not("header runs past the end of the file"))?;
    #[derive(serde::Deserialize)]
    struct Header {
        #[serde(rename = "__metadata__", default)]
        metadata: BTreeMap<String, String>,
    }
    let parsed: Header = serde_json::from_slice(header)
        .map_err(|e| not(&format!("header is not safetensors JSON: {e}")))?;
    Ok(parsed.metadata)
}

/// `tensor` as f32 values after checking its shape; floats of other widths are converted.
pub(crate) fn f32_values(
    name: &str,
    tensor: &Tensor,
    expected: &[usize],
    why: &str,
) -> Result<Vec<f32>, ModelError> {
    if tensor.dims() != expected {
        return Err(ModelError::WrongShape {
            name: name.to_string(),
            found: tensor.dims().to_vec(),
            expected: expected.to_vec(),
            why: why.to_string(),
        });
    }
    float_values(name, tensor)
}

fn float_values(name: &str, tensor: &Tensor) -> Result<Vec<f32>, ModelError> {
    let tensor = match tensor.dtype() {
        DType::F32 => tensor.clone(),
        DType::F64 | DType::F16 | DType::BF16 => tensor.to_dtype(DType::F32)?,
        other => {
            return Err(ModelError::WrongDtype {
                name: name.to_string(),
                found: format!("{other:?}"),
            });
        }
    };
    Ok(tensor.flatten_all()?.to_vec1::<f32>()?)
}

/// The hidden size and input count that layer 0's tensors imply.
fn infer_sizes(tensors: &HashMap<String, Tensor>) -> Result<(usize, usize), ModelError> {
    let get = |name: &str| {
        tensors.get(name).ok_or_else(|| ModelError::MissingTensor {
            name: name.to_string(),
        })
    };
    let hh = get("lstm.weight_hh_l0")?;
    let hidden = match hh.dims() {
        [rows, cols] if *rows == 4 * *cols && *cols > 0 => *cols,
        dims => {
            let cols = dims.last().copied().unwrap_or(0);
            return Err(ModelError::WrongShape {
                name: "lstm.weight_hh_l0".to_string(),
                found: dims.to_vec(),
                expected: vec![4 * cols, cols],
                why: "weight_hh is [4H, H]; H is read from it".to_string(),
            });
        }
    };
    let ih = get("lstm.weight_ih_l0")?;
    let features = match ih.dims() {
        [rows, cols] if *rows == 4 * hidden && *cols > 0 => *cols,
        dims => {
            return Err(ModelError::WrongShape {
                name: "lstm.weight_ih_l0".to_string(),
                found: dims.to_vec(),
                expected: vec![4 * hidden, dims.last().copied().unwrap_or(0).max(1)],
                why: format!("weight_ih is [4H, F] with H = {hidden} from lstm.weight_hh_l0"),
            });
        }
    };
    Ok((hidden, features))
}

/// Reads a member's spec and weights from safetensors bytes (see the module doc).
pub fn read_member(bytes: &[u8]) -> Result<(MemberSpec, Weights), ModelError> {
    let tensors = load_tensors(bytes)?;
    let (hidden, features) = infer_sizes(&tensors)?;
    let layers = (0..)
        .take_while(|l| tensors.contains_key(&format!("lstm.weight_ih_l{l}")))
        .count();
    let window = match metadata(bytes)?.get(WINDOW_KEY) {
        None => MemberSpec::DEFAULT_WINDOW,
        Some(text) => text.parse().map_err(|_| {
            ModelError::InvalidSpec(format!("metadata {WINDOW_KEY} = {text:?} is not a count"))
        })?,
    };
    let spec = MemberSpec {
        features,
        hidden,
        layers,
        window,
    };
    spec.validate()?;
    let shapes = spec.parameter_shapes();
    for name in tensors.keys() {
        let ours = name.starts_with("lstm.") || name.starts_with("head.");
        if !name.starts_with("check.") && !shapes.iter().any(|(n, _)| n == name) {
            let why = if ours {
                format!(
                    "a unidirectional member with {layers} layer(s) (lstm.weight_ih_l0..{}) has no such tensor",
                    layers - 1
                )
            } else {
                "only lstm.*, head.* and check.* tensors are expected".to_string()
            };
            return Err(ModelError::UnexpectedTensor {
                name: name.clone(),
                why,
            });
        }
    }
    let mut values = Vec::with_capacity(shapes.len());
    for (name, shape) in &shapes {
        let tensor = tensors
            .get(name)
            .ok_or_else(|| ModelError::MissingTensor { name: name.clone() })?;
        let why = if name.starts_with("head.") {
            format!("head is Linear(H → {CLASSES}) with H = {hidden} from lstm.weight_hh_l0")
        } else if name.starts_with("lstm.weight_ih_l0") {
            format!("[4H, F] with H = {hidden} from lstm.weight_hh_l0")
        } else {
            format!(
                "4H = {} with H = {hidden} from lstm.weight_hh_l0",
                4 * hidden
            )
        };
        let data = f32_values(name, tensor, shape, &why)?;
        if let Some(index) = data.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::NonFinite {
                name: name.clone(),
                index,
                value: data[index],
            });
        }
        values.push(data);
    }
    let mut values = values.into_iter();
    let mut next = || values.next().unwrap_or_default();
    let layers = (0..spec.layers)
        .map(|_| LayerWeights {
            weight_ih: next(),
            weight_hh: next(),
            bias_ih: next(),
            bias_hh: next(),
        })
        .collect();
    let weights = Weights {
        layers,
        head_weight: next(),
        head_bias: next(),
    };
    Ok((spec, weights))
}

/// safetensors bytes for named f32 tensors (names in the order given) and string metadata.
pub fn write_tensors(
    tensors: &[(String, Vec<usize>, &[f32])],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, ModelError> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert(
            "__metadata__".to_string(),
            serde_json::to_value(metadata)
                .map_err(|_| ModelError::Internal("metadata is not JSON"))?,
        );
    }
    let mut offset = 0usize;
    for (name, shape, values) in tensors {
        if shape.iter().product::<usize>() != values.len() {
            return Err(ModelError::WrongShape {
                name: name.clone(),
                found: vec![values.len()],
                expected: shape.clone(),
                why: "values do not fill the shape".to_string(),
            });
        }
        let end = offset + 4 * values.len();
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut json = serde_json::Value::Object(header).to_string().into_bytes();
    // The data must start 8-byte aligned; the format pads the header with spaces.
    json.resize(json.len().div_ceil(8) * 8, b' ');
    let mut bytes = Vec::with_capacity(8 + json.len() + offset);
    bytes.extend_from_slice(&(json.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&json);
    for (_, _, values) in tensors {
        for v in values.iter() {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    Ok(bytes)
}

/// safetensors bytes of a member's weights under PyTorch's names, with the window in metadata.
pub fn write_member(spec: &MemberSpec, weights: &Weights) -> Result<Vec<u8>, ModelError> {
    let tensors: Vec<(String, Vec<usize>, &[f32])> = spec
        .parameter_shapes()
        .into_iter()
        .zip(weights.tensors())
        .map(|((name, shape), values)| (name, shape, values))
        .collect();
    let metadata = BTreeMap::from([(WINDOW_KEY.to_string(), spec.window.to_string())]);
    write_tensors(&tensors, &metadata)
}

/// A tensor of windows [B, T, F] of any length T ≥ 1 over `features` inputs, as f32 values, its
/// batch B and its window T. A refusal suggests `usual_window` for a tensor that is not 3-D.
pub fn input_windows(
    name: &str,
    tensor: &Tensor,
    features: usize,
    usual_window: usize,
) -> Result<(Vec<f32>, usize, usize), ModelError> {
    let (batch, window) = match tensor.dims() {
        &[batch, window, f] if batch > 0 && window > 0 && f == features => (batch, window),
        dims => {
            let window = match dims {
                [_, t, _] if *t > 0 => *t,
                _ => usual_window,
            };
            return Err(ModelError::InputShape {
                name: name.to_string(),
                found: dims.to_vec(),
                expected: vec![dims.first().copied().unwrap_or(1).max(1), window, features],
                why: format!(
                    "[B, T, F]: B ≥ 1 windows of any T ≥ 1 steps of F = {features} features"
                ),
            });
        }
    };
    let values = float_values(name, tensor)?;
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::NonFiniteInput {
            name: name.to_string(),
            index,
            value: values[index],
        });
    }
    Ok((values, batch, window))
}

/// A [B, T, F] input tensor as row-major values and B, checked against `spec` (its T too).
pub fn input_values(
    name: &str,
    tensor: &Tensor,
    spec: &MemberSpec,
) -> Result<(Vec<f32>, usize), ModelError> {
    let dims = tensor.dims();
    let batch = dims.first().copied().unwrap_or(0);
    let expected = vec![batch.max(1), spec.window, spec.features];
    if dims != expected.as_slice() {
        return Err(ModelError::InputShape {
            name: name.to_string(),
            found: dims.to_vec(),
            expected,
            why: format!(
                "[B, T, F] for a member with window T = {} and F = {} features",
                spec.window, spec.features
            ),
        });
    }
    let values = float_values(name, tensor)?;
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::NonFiniteInput {
            name: name.to_string(),
            index,
            value: values[index],
        });
    }
    Ok((values, batch))
}
