//! The weights as the registry sees them: a sha256, the tensor layout read from the safetensors
//! header (for the version rule), and the export file with the record in `__metadata__`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::SafeTensors;
use sha2::{Digest, Sha256};

use super::record::{ModelRecord, RegistryError};

/// Lower-case hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Tensor names with their dtype and shape, sorted by name.
pub type Layout = Vec<(String, String, Vec<usize>)>;

/// Reads the tensor layout of a safetensors file; `what` names the file in the error.
pub fn layout(blob: &[u8], what: &str) -> Result<Layout, RegistryError> {
    let (_, metadata) =
        SafeTensors::read_metadata(blob).map_err(|e| RegistryError::NotSafetensors {
            what: what.to_string(),
            reason: e.to_string(),
        })?;
    let mut layout: Layout = metadata
        .tensors()
        .into_iter()
        .map(|(name, info)| (name, format!("{:?}", info.dtype), info.shape.clone()))
        .collect();
    layout.sort();
    Ok(layout)
}

/// The structure of a JSON value with its leaves replaced by their type: two parameter sets of
/// the same shape differ only in values.
pub fn json_shape(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Null => Value::from("null"),
        Value::Bool(_) => Value::from("bool"),
        Value::Number(_) => Value::from("number"),
        Value::String(_) => Value::from("string"),
        Value::Array(items) => Value::Array(items.iter().map(json_shape).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), json_shape(v)))
                .collect(),
        ),
    }
}

/// The record as `__metadata__` entries: strings, with structured values as JSON text.
fn metadata_of(record: &ModelRecord) -> HashMap<String, String> {
    let mut meta = HashMap::new();
    let mut put = |key: &str, value: String| {
        meta.insert(key.to_string(), value);
    };
    put("version", record.version.clone());
    put("semver", record.semver.to_string());
    put("kind", record.kind.clone());
    put("origin", record.origin.as_str().to_string());
    put("trained_on", record.trained_on.as_str().to_string());
    put("created_ms", record.created_ms.to_string());
    put("role", record.role.as_str().to_string());
    put("weights_sha256", record.sha256.clone());
    if let Some(symbol) = record.symbol {
        put("symbol", symbol.to_string());
    }
    if let Some(interval) = record.interval {
        put("interval", interval.to_string());
    }
    if let Some(ms) = record.data_from_ms {
        put("data_from_ms", ms.to_string());
    }
    if let Some(ms) = record.data_to_ms {
        put("data_to_ms", ms.to_string());
    }
    put("rows_train", record.rows_train.to_string());
    put("rows_validation", record.rows_validation.to_string());
    put("rows_test", record.rows_test.to_string());
    put(
        "features",
        serde_json::Value::from(record.features.clone()).to_string(),
    );
    put("params", record.params.to_string());
    put("metrics", record.metrics.to_string());
    put("weighting", record.weighting.to_string());
    meta
}

/// The export file: the blob's tensors, its own `__metadata__` entries, and the record's laid
/// over them.
pub fn export_bytes(record: &ModelRecord, blob: &[u8]) -> Result<(Vec<u8>, usize), RegistryError> {
    let what = format!("the stored weights of {}", record.version);
    let bad = |e: safetensors::SafeTensorError| RegistryError::NotSafetensors {
        what: what.clone(),
        reason: e.to_string(),
    };
    let (_, header) = SafeTensors::read_metadata(blob).map_err(bad)?;
    let mut meta = header.metadata().clone().unwrap_or_default();
    meta.extend(metadata_of(record));
    let tensors = SafeTensors::deserialize(blob).map_err(bad)?.tensors();
    let count = tensors.len();
    let bytes = safetensors::serialize(tensors, Some(meta)).map_err(bad)?;
    Ok((bytes, count))
}

/// Writes `bytes` to `path` through a temporary file beside it, so `path` holds either its old
/// content or all of the new one. A new file is linked into place (never over one that appeared
/// meanwhile); an existing regular file is replaced only with `replace` (`--force`); a symbolic
/// link, a device, a FIFO or a directory never is.
pub fn write_whole(path: &Path, bytes: &[u8], replace: bool) -> Result<(), RegistryError> {
    let fail = |reason: String| RegistryError::Export {
        path: path.display().to_string(),
        reason,
    };
    let exists = || fail("it exists; pass --force to replace it".to_string());
    let name = path
        .file_name()
        .ok_or_else(|| fail("it names no file".to_string()))?;
    let existing = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(fail(
                "it is a symbolic link; only a regular file is replaced, never a link or what \
                 it points to"
                    .to_string(),
            ));
        }
        Ok(meta) => match crate::store::not_regular(&meta) {
            Some(what) => {
                return Err(fail(format!(
                    "it is {what}; only a regular file is ever replaced"
                )));
            }
            None if !replace => return Err(exists()),
            None => true,
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(fail(e.to_string())),
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if existing {
            return std::fs::rename(&temp, path);
        }
        // A link fails if the name exists by now: nothing is replaced that was not asked for.
        std::fs::hard_link(&temp, path)?;
        std::fs::remove_file(&temp)
    })();
    written.map_err(|e| {
        // Nothing half-written stays behind; the temp file may not exist at all.
        let _ = std::fs::remove_file(&temp);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            exists()
        } else {
            fail(e.to_string())
        }
    })
}
