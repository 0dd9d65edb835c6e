//! What the `models` command tests share: running the binary on a store in a temp dir, reading
//! its answers, and writing small safetensors files (members, inputs).
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use trademon::model::registry::Registry;
use trademon::model::weights_file::write_tensors;
use trademon::model::{Member, MemberSpec};

/// `trademon --db DIR/registry.db models ARGS...` with its config and data dirs inside `dir`.
pub fn models(dir: &Path, args: &[&str]) -> Output {
    let db = dir.join("registry.db");
    let mut all = vec!["--db", db.to_str().unwrap(), "models"];
    all.extend_from_slice(args);
    Command::new(env!("CARGO_BIN_EXE_trademon"))
        .args(&all)
        .env("XDG_CONFIG_HOME", dir.join("cfg"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn ok_json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Asserts a refusal whose message holds every one of `parts`; returns the message.
pub fn refused(out: &Output, parts: &[&str]) -> String {
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "accepted; stdout {}",
        text(&out.stdout)
    );
    for part in parts {
        assert!(err.contains(part), "{part:?} not in: {err}");
    }
    err
}

/// Everything stored: the models and the audit log.
pub fn stored(dir: &Path) -> Value {
    let registry = Registry::open(&dir.join("registry.db")).unwrap();
    json!({
        "models": serde_json::to_value(registry.list().unwrap()).unwrap(),
        "events": serde_json::to_value(registry.events(None).unwrap()).unwrap(),
    })
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

/// A small member's tensors under PyTorch's names, editable before they are written (window
/// [`SMALL`]'s).
pub fn member_tensors(spec: MemberSpec, seed: u64) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    let member = Member::init(spec, seed).unwrap();
    spec.parameter_shapes()
        .into_iter()
        .zip(member.weights().tensors())
        .map(|((name, shape), values)| (name, (shape, values.to_vec())))
        .collect()
}

pub fn file_of(tensors: &BTreeMap<String, (Vec<usize>, Vec<f32>)>) -> Vec<u8> {
    let list: Vec<(String, Vec<usize>, &[f32])> = tensors
        .iter()
        .map(|(name, (shape, values))| (name.clone(), shape.clone(), values.as_slice()))
        .collect();
    // The window T travels in the metadata, as PyTorch's exporter writes it.
    let window = BTreeMap::from([("window".to_string(), SMALL.window.to_string())]);
    write_tensors(&list, &window).unwrap()
}

pub fn x_file(shape: &[usize], fill: impl Fn(usize) -> f32) -> Vec<u8> {
    let values: Vec<f32> = (0..shape.iter().product()).map(fill).collect();
    let list = [("x".to_string(), shape.to_vec(), values.as_slice())];
    write_tensors(&list, &BTreeMap::new()).unwrap()
}

/// The `probabilities` of an eval's JSON, back to the f32 values printed.
pub fn probabilities(eval: &Value) -> Vec<[f32; 3]> {
    eval["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let row = row.as_array().unwrap();
            assert_eq!(row.len(), 3, "{row:?}");
            std::array::from_fn(|k| row[k].as_f64().unwrap() as f32)
        })
        .collect()
}

pub const SMALL: MemberSpec = MemberSpec {
    features: 3,
    hidden: 4,
    layers: 1,
    window: 5,
};
