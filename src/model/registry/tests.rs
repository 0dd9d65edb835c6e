//! Registration, the version rule, look-ups, damaged weights and export.

use std::collections::HashMap;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde_json::json;

use super::*;
use crate::domain::{Interval, Symbol};

/// A safetensors file of f32 tensors filled from `fill`, with `meta` in its header.
pub(crate) fn blob_with(
    shapes: &[(&str, &[usize])],
    fill: f32,
    meta: Option<HashMap<String, String>>,
) -> Vec<u8> {
    let data: Vec<(String, Vec<u8>, Vec<usize>)> = shapes
        .iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let bytes = (0..n)
                .flat_map(|i| (fill + i as f32).to_le_bytes())
                .collect();
            (name.to_string(), bytes, shape.to_vec())
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = data
        .iter()
        .map(|(name, bytes, shape)| {
            (
                name.clone(),
                TensorView::new(Dtype::F32, shape.clone(), bytes).unwrap(),
            )
        })
        .collect();
    safetensors::serialize(views, meta).unwrap()
}

const MEMBER: &[(&str, &[usize])] = &[("head.weight", &[3, 4]), ("head.bias", &[3])];

pub(crate) fn blob(fill: f32) -> Vec<u8> {
    blob_with(MEMBER, fill, None)
}

pub(super) fn btc() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

pub(crate) fn model(fill: f32) -> NewModel {
    NewModel {
        kind: "ensemble".to_string(),
        origin: Origin::Trained,
        trained_on: TrainedOn::Simulated,
        symbol: Some(btc()),
        interval: Some(Interval::M1),
        data_from_ms: Some(0),
        data_to_ms: Some(60_000 * 999),
        rows_train: 700,
        rows_validation: 150,
        rows_test: 150,
        features: vec!["rsi_14".to_string(), "macd_hist".to_string()],
        params: json!({"hidden": 4, "layers": 1, "seed": 7}),
        metrics: json!({"test": {"accuracy": 0.41, "log_loss": 1.05}}),
        weighting: json!({"weights": [1.0, 0.5], "mean": [0.0, 0.1], "std": [1.0, 2.0]}),
        blob: blob(fill),
    }
}

pub(super) fn open() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(&dir.path().join("t.db")).unwrap();
    (dir, registry)
}

/// A second, writable connection to the registry's file, as someone editing it by hand (the
/// registry's own connection only reads; its changes go through the store's owner).
pub(super) fn by_hand(registry: &Registry) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(registry.path()).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    conn
}

pub(super) fn count(registry: &Registry, table: &str) -> i64 {
    registry
        .conn
        .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn versions_follow_the_line_and_what_changed() {
    let (_dir, mut reg) = open();
    let first = reg.register(model(1.0)).unwrap();
    assert_eq!(first.version, "ensemble-BTCUSDT-1m@1.0.0");
    assert_eq!(first.role, Role::Challenger);
    assert_eq!(first.sha256, sha256_hex(&blob(1.0)));
    assert_eq!(first.blob_bytes, blob(1.0).len() as u64);

    // New weights and new parameter values, same features, layout and params shape: minor.
    let mut retrain = model(2.0);
    retrain.params = json!({"hidden": 4, "layers": 1, "seed": 8});
    let second = reg.register(retrain).unwrap();
    assert_eq!(second.semver.to_string(), "1.1.0");

    let mut features = model(3.0);
    features.features.push("obv_slope".to_string());
    assert_eq!(reg.register(features).unwrap().semver.to_string(), "2.0.0");

    // Compared with the line's highest version (2.0.0, three features).
    let mut layout = model(4.0);
    layout.features.push("obv_slope".to_string());
    layout.blob = blob_with(&[("head.weight", &[3, 8]), ("head.bias", &[3])], 4.0, None);
    assert_eq!(reg.register(layout).unwrap().semver.to_string(), "3.0.0");

    let mut params = model(5.0);
    params.features.push("obv_slope".to_string());
    params.blob = blob_with(&[("head.weight", &[3, 8]), ("head.bias", &[3])], 5.0, None);
    params.params = json!({"hidden": 4, "layers": 1, "seed": 7, "window": 20});
    assert_eq!(reg.register(params).unwrap().semver.to_string(), "4.0.0");

    // Another series and another kind are lines of their own.
    let mut eth = model(6.0);
    eth.symbol = Some(Symbol::new("ETHUSDT").unwrap());
    assert_eq!(
        reg.register(eth).unwrap().version,
        "ensemble-ETHUSDT-1m@1.0.0"
    );
    let mut torch = model(7.0);
    torch.kind = "torch-member".to_string();
    torch.origin = Origin::TorchImport;
    torch.symbol = None;
    torch.interval = None;
    assert_eq!(reg.register(torch).unwrap().version, "torch-member@1.0.0");

    let events = reg.events(None).unwrap();
    assert_eq!(events.len(), 7);
    assert!(events.iter().all(|e| e.kind == EventKind::Register));
    assert_eq!(events[0].previous_model_id, None);
    assert_eq!(events[1].previous_model_id, Some(first.id));
    assert!(events[1].detail.contains(": minor"), "{}", events[1].detail);
    assert!(
        events[2].detail.contains("features changed"),
        "{}",
        events[2].detail
    );
    assert!(
        events[3].detail.contains("tensor layout changed"),
        "{}",
        events[3].detail
    );
    assert!(
        events[4].detail.contains("params shape changed"),
        "{}",
        events[4].detail
    );
}

#[test]
fn the_same_weights_are_not_registered_twice() {
    let (_dir, mut reg) = open();
    let first = reg.register(model(1.0)).unwrap();
    let err = reg.register(model(1.0)).unwrap_err();
    assert!(
        matches!(err, RegistryError::AlreadyRegistered { id, .. } if id == first.id),
        "{err}"
    );
    assert!(
        err.to_string().contains("ensemble-BTCUSDT-1m@1.0.0"),
        "{err}"
    );
    assert_eq!(count(&reg, "models"), 1);
    assert_eq!(count(&reg, "model_events"), 1);
}

#[test]
fn invalid_models_are_refused_with_the_reason_and_nothing_stored() {
    let (_dir, mut reg) = open();
    let with = |f: &dyn Fn(&mut NewModel)| {
        let mut m = model(1.0);
        f(&mut m);
        m
    };
    let cases: Vec<(NewModel, &str)> = vec![
        (
            with(&|m| m.blob = b"not a safetensors file".to_vec()),
            "not a safetensors file",
        ),
        (with(&|m| m.blob.clear()), "not a safetensors file"),
        (
            with(&|m| m.blob.truncate(m.blob.len() - 1)),
            "not a safetensors file",
        ),
        (with(&|m| m.features.clear()), "feature list is empty"),
        (
            with(&|m| m.features.push("rsi_14".to_string())),
            "\"rsi_14\" is listed twice",
        ),
        (
            with(&|m| m.features.push(" ".to_string())),
            "feature name is empty",
        ),
        (
            with(&|m| m.kind = "Ensemble 2".to_string()),
            "kind \"Ensemble 2\"",
        ),
        (with(&|m| m.kind = String::new()), "kind \"\""),
        (
            with(&|m| {
                m.data_from_ms = Some(10);
                m.data_to_ms = Some(5);
            }),
            "starts (10) after it ends",
        ),
        (with(&|m| m.rows_test = u64::MAX), "rows_test"),
    ];
    for (m, needle) in cases {
        let err = reg.register(m).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
    assert_eq!(count(&reg, "models"), 0);
    assert_eq!(count(&reg, "model_events"), 0);
}

#[test]
fn a_register_that_fails_midway_leaves_nothing_behind() {
    let (_dir, mut reg) = open();
    // The models row goes in first; the audit-log insert then fails inside the transaction.
    by_hand(&reg)
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON model_events
             BEGIN SELECT RAISE(ABORT, 'audit log refused'); END;",
        )
        .unwrap();
    let err = reg.register(model(1.0)).unwrap_err();
    assert!(err.to_string().contains("audit log refused"), "{err}");
    assert_eq!(count(&reg, "models"), 0);
    by_hand(&reg).execute_batch("DROP TRIGGER refuse").unwrap();
    assert_eq!(reg.register(model(1.0)).unwrap().semver, SemVer::FIRST);
}

#[test]
fn models_are_found_by_id_tag_or_version() {
    let (_dir, mut reg) = open();
    let a = reg.register(model(1.0)).unwrap();
    let mut eth = model(2.0);
    eth.symbol = Some(Symbol::new("ETHUSDT").unwrap());
    let e = reg.register(eth).unwrap();
    let b = reg.register(model(3.0)).unwrap();
    assert_eq!(reg.get(&a.id.to_string()).unwrap(), a);
    assert_eq!(reg.get(" ensemble-ETHUSDT-1m@1.0.0 ").unwrap(), e);
    assert_eq!(reg.get("1.1.0").unwrap(), b);
    assert_eq!(reg.get("v1.1.0").unwrap(), b);
    let err = reg.get("1.0.0").unwrap_err();
    assert!(matches!(err, RegistryError::Ambiguous { .. }), "{err}");
    assert!(
        err.to_string().contains("ensemble-ETHUSDT-1m@1.0.0 (id 2)"),
        "{err}"
    );
    for missing in ["99", "0", "ensemble-BTCUSDT-1m@9.0.0", "3.0.0"] {
        let err = reg.get(missing).unwrap_err();
        assert!(
            matches!(err, RegistryError::NotFound { .. }),
            "{missing}: {err}"
        );
        assert!(err.to_string().contains("models list"), "{err}");
    }
    for garbage in [
        "",
        "abc",
        "1.2",
        "1.2.3.4",
        "-1",
        "1e3",
        "99999999999999999999",
        "1.x.0",
    ] {
        let err = reg.get(garbage).unwrap_err();
        assert!(
            matches!(err, RegistryError::BadId { .. }),
            "{garbage:?}: {err}"
        );
        assert!(
            err.to_string().contains("is not a model id or version"),
            "{err}"
        );
    }
}

#[test]
fn damaged_weights_are_refused_by_name_and_hash() {
    let (dir, mut reg) = open();
    let m = reg.register(model(1.0)).unwrap();
    assert_eq!(reg.load_blob(m.id).unwrap(), blob(1.0));
    let mut damaged = blob(1.0);
    let last = damaged.len() - 1;
    damaged[last] ^= 0x40;
    by_hand(&reg)
        .execute(
            "UPDATE models SET blob = ?1 WHERE id = ?2",
            rusqlite::params![damaged, m.id],
        )
        .unwrap();
    let err = reg.load_blob(m.id).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, RegistryError::HashMismatch { .. }), "{err}");
    assert!(text.contains("ensemble-BTCUSDT-1m@1.0.0"), "{text}");
    assert!(text.contains(&m.sha256), "{text}");
    assert!(text.contains(&sha256_hex(&damaged)), "{text}");
    // Export refuses it too and writes nothing.
    let out = dir.path().join("m.safetensors");
    assert!(matches!(
        reg.export(m.id, &out, false),
        Err(RegistryError::HashMismatch { .. })
    ));
    assert!(!out.exists());
    assert!(matches!(
        reg.load_blob(42),
        Err(RegistryError::NotFound { .. })
    ));
}

#[test]
fn export_round_trips_tensors_and_metadata() {
    let (dir, mut reg) = open();
    let own = HashMap::from([
        ("format".to_string(), "pt".to_string()),
        ("version".to_string(), "overridden".to_string()),
    ]);
    let mut m = model(1.0);
    m.blob = blob_with(MEMBER, 1.0, Some(own));
    let record = reg.register(m.clone()).unwrap();
    let out = dir.path().join("out.safetensors");
    let report = reg.export(record.id, &out, false).unwrap();
    assert_eq!(
        (report.tensors, report.version.as_str()),
        (2, record.version.as_str())
    );
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(report.bytes, bytes.len() as u64);

    let original = SafeTensors::deserialize(&m.blob).unwrap();
    let exported = SafeTensors::deserialize(&bytes).unwrap();
    for (name, tensor) in original.tensors() {
        let back = exported.tensor(&name).unwrap();
        assert_eq!(
            (back.dtype(), back.shape(), back.data()),
            (tensor.dtype(), tensor.shape(), tensor.data())
        );
    }
    assert_eq!(exported.len(), 2);
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["format"], "pt");
    assert_eq!(meta["version"], "ensemble-BTCUSDT-1m@1.0.0");
    assert_eq!(meta["trained_on"], "simulated");
    assert_eq!(meta["symbol"], "BTCUSDT");
    assert_eq!(meta["interval"], "1m");
    assert_eq!(meta["rows_train"], "700");
    assert_eq!(meta["weights_sha256"], record.sha256);
    let features: Vec<String> = serde_json::from_str(&meta["features"]).unwrap();
    assert_eq!(features, m.features);
    let weighting: serde_json::Value = serde_json::from_str(&meta["weighting"]).unwrap();
    assert_eq!(weighting, m.weighting);
    let metrics: serde_json::Value = serde_json::from_str(&meta["metrics"]).unwrap();
    assert_eq!(metrics, m.metrics);

    // No temporary file stays beside it; an unwritable place is a clear error.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.to_string_lossy().contains("partial")),
        "{names:?}"
    );
    let nowhere = dir.path().join("no/such/dir/m.safetensors");
    let err = reg.export(record.id, &nowhere, false).unwrap_err();
    assert!(
        err.to_string().contains("cannot export to") && err.to_string().contains("no/such/dir"),
        "{err}"
    );
    let err = reg.export(record.id, dir.path(), false).unwrap_err();
    assert!(matches!(err, RegistryError::Export { .. }), "{err}");
    let names_after: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), names_after.len(), "{names_after:?}");
}
