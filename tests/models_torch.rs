//! `trademon models import-torch` and `trademon models eval` as a user runs them, on a real
//! SQLite file: both PyTorch reference members (../shared/reference/lstm) imported and run on
//! their own `check.x` through the command line, the probabilities compared with PyTorch's
//! `check.probs` to 1e-5; then every kind of bad file, input or id, each refused with a clear
//! error, a non-zero exit and the store left as it was.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use trademon::domain::Interval;
use trademon::features::FeatureSet;
use trademon::model::registry::{NewModel, Origin, Registry, TrainedOn};
use trademon::model::weights_file::{load_tensors, write_tensors};
use trademon::model::{Member, MemberSpec};

const REFERENCES: [&str; 2] = ["member_F17_H32_L1_T20", "member_F26_H64_L2_T20"];

/// The reference file's path; `None` (with a reason) when the shared data is absent, except in CI.
fn reference(name: &str) -> Option<PathBuf> {
    let path = PathBuf::from(format!(
        "{}/../shared/reference/lstm/{name}.safetensors",
        env!("CARGO_MANIFEST_DIR")
    ));
    if path.is_file() {
        return Some(path);
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "{} is missing",
        path.display()
    );
    eprintln!("skipping: {} is absent", path.display());
    None
}

fn models(dir: &Path, args: &[&str]) -> Output {
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok_json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Asserts a refusal whose message holds every one of `parts`; returns the message.
fn refused(out: &Output, parts: &[&str]) -> String {
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
fn stored(dir: &Path) -> Value {
    let registry = Registry::open(&dir.join("registry.db")).unwrap();
    json!({
        "models": serde_json::to_value(registry.list().unwrap()).unwrap(),
        "events": serde_json::to_value(registry.events(None).unwrap()).unwrap(),
    })
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

/// A small member's tensors under PyTorch's names, editable before they are written (window
/// [`SMALL`]'s).
fn member_tensors(spec: MemberSpec, seed: u64) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    let member = Member::init(spec, seed).unwrap();
    spec.parameter_shapes()
        .into_iter()
        .zip(member.weights().tensors())
        .map(|((name, shape), values)| (name, (shape, values.to_vec())))
        .collect()
}

fn file_of(tensors: &BTreeMap<String, (Vec<usize>, Vec<f32>)>) -> Vec<u8> {
    let list: Vec<(String, Vec<usize>, &[f32])> = tensors
        .iter()
        .map(|(name, (shape, values))| (name.clone(), shape.clone(), values.as_slice()))
        .collect();
    // The window T travels in the metadata, as PyTorch's exporter writes it.
    let window = BTreeMap::from([("window".to_string(), SMALL.window.to_string())]);
    write_tensors(&list, &window).unwrap()
}

fn x_file(shape: &[usize], fill: impl Fn(usize) -> f32) -> Vec<u8> {
    let values: Vec<f32> = (0..shape.iter().product()).map(fill).collect();
    let list = [("x".to_string(), shape.to_vec(), values.as_slice())];
    write_tensors(&list, &BTreeMap::new()).unwrap()
}

/// The `probabilities` of an eval's JSON, back to the f32 values printed.
fn probabilities(eval: &Value) -> Vec<[f32; 3]> {
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

const SMALL: MemberSpec = MemberSpec {
    features: 3,
    hidden: 4,
    layers: 1,
    window: 5,
};

#[test]
fn reference_members_import_and_eval_like_pytorch() {
    let dir = tempfile::tempdir().unwrap();
    for (i, name) in REFERENCES.iter().enumerate() {
        let Some(path) = reference(name) else { return };
        let file = path.to_str().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let member = Member::from_safetensors(&bytes).unwrap();
        let spec = *member.spec();

        let import = ok_json(&models(dir.path(), &["import-torch", file, "--json"]));
        let model = &import["model"];
        assert_eq!(model["version"], format!("torch-member@{}.0.0", i + 1));
        assert_eq!(model["kind"], "torch-member");
        assert_eq!(model["origin"], "torch-import");
        assert_eq!(model["trained_on"], "unknown");
        assert_eq!(model["params"], serde_json::to_value(spec).unwrap());
        let features: Vec<String> = (0..spec.features).map(|j| format!("input_{j}")).collect();
        assert_eq!(model["features"], json!(features));
        let weighting = &model["weighting"];
        assert_eq!(
            weighting["weights"]["weights"],
            json!(vec![1.0; spec.features])
        );
        assert_eq!(weighting["weights"]["names"], json!(features));
        assert_eq!(
            weighting["normalizer"]["means"],
            json!(vec![0.0; spec.features])
        );
        assert_eq!(
            weighting["normalizer"]["stds"],
            json!(vec![1.0; spec.features])
        );
        assert_eq!(import["runs_live"], false);
        let note = import["note"].as_str().unwrap();
        assert!(note.contains("engine will refuse it"), "{note}");

        // The stored blob is the member alone, under normalised names, without check.*.
        let id = model["id"].as_i64().unwrap();
        let blob = Registry::open(&dir.path().join("registry.db"))
            .unwrap()
            .load_blob(id)
            .unwrap();
        assert_eq!(blob, member.to_safetensors().unwrap());
        assert!(
            !load_tensors(&blob)
                .unwrap()
                .keys()
                .any(|k| k.starts_with("check."))
        );

        let id_text = id.to_string();
        let eval = ok_json(&models(
            dir.path(),
            &[
                "eval", &id_text, "--input", file, "--tensor", "check.x", "--json",
            ],
        ));
        let tensors = load_tensors(&bytes).unwrap();
        let expected = tensors["check.probs"].to_vec2::<f32>().unwrap();
        assert_eq!(eval["model"], model["version"]);
        assert_eq!(eval["rows"], expected.len());
        let got = probabilities(&eval);
        assert_eq!(got.len(), expected.len());
        let mut worst = 0.0_f32;
        for (row, want) in got.iter().zip(&expected) {
            for (g, w) in row.iter().zip(want) {
                worst = worst.max((g - w).abs());
            }
        }
        println!("{name}: max abs error of the CLI's probabilities vs PyTorch: {worst:e}");
        assert!(worst < 1e-5, "{name}: {worst}");

        // The text form: one row per window, addressed by version tag this time.
        let version = model["version"].as_str().unwrap();
        let out = models(
            dir.path(),
            &["eval", version, "--input", file, "--tensor", "check.x"],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let shown = text(&out.stdout);
        assert!(shown.contains("DOWN") && shown.contains("FLAT") && shown.contains("UP"));
        let first = format!("{:.6}", expected[0][0]);
        assert!(shown.contains(&first), "{first} not in {shown}");
        assert_eq!(shown.lines().count(), 2 + expected.len(), "{shown}");
    }
    let listed = ok_json(&models(dir.path(), &["list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), REFERENCES.len());
}

#[test]
fn a_member_over_the_live_features_takes_their_names_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let live = FeatureSet::new(Interval::M1).names().to_vec();
    let spec = MemberSpec {
        features: live.len(),
        ..SMALL
    };
    let member = Member::init(spec, 7).unwrap();
    let file = write(
        dir.path(),
        "live.safetensors",
        &member.to_safetensors().unwrap(),
    );
    let out = models(dir.path(), &["import-torch", &file]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(
        shown.contains("registered torch-member@1.0.0 (id 1)"),
        "{shown}"
    );
    assert!(
        shown.contains("the live feature set (54 features)"),
        "{shown}"
    );
    let record = Registry::open(&dir.path().join("registry.db"))
        .unwrap()
        .get("1")
        .unwrap();
    assert_eq!(record.features, live);

    let shape = [2, spec.window, spec.features];
    let fill = |i: usize| ((i * 37 % 101) as f32 / 50.0) - 1.0;
    let input = write(dir.path(), "x.safetensors", &x_file(&shape, fill));
    let eval = ok_json(&models(
        dir.path(),
        &["eval", "1", "--input", &input, "--json"],
    ));
    let x: Vec<f32> = (0..shape.iter().product()).map(fill).collect();
    let want = member.probabilities(&x, 2).unwrap();
    assert_eq!(eval["rows"], 2);
    assert_eq!(
        probabilities(&eval),
        want,
        "identity weighting must leave x as it is"
    );
}

#[test]
fn files_that_are_not_a_member_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("registry.db");
    let garbage = write(d, "notes.safetensors", b"this is not a tensor file at all");
    let err = refused(
        &models(d, &["import-torch", &garbage]),
        &[
            &garbage,
            "is not a PyTorch LSTM member: not a safetensors file",
        ],
    );
    assert!(!db.exists(), "a refused import created the database: {err}");

    let good = write(d, "good.safetensors", &file_of(&member_tensors(SMALL, 1)));
    ok_json(&models(d, &["import-torch", &good, "--json"]));
    let before = stored(d);

    let only_x = write(d, "only_x.safetensors", &x_file(&[2, 5, 3], |i| i as f32));
    refused(
        &models(d, &["import-torch", &only_x]),
        &[&only_x, "tensor lstm.weight_hh_l0 is missing from the file"],
    );
    let mut wide_head = member_tensors(SMALL, 2);
    wide_head.insert("head.weight".into(), (vec![3, 5], vec![0.1; 15]));
    let wide_head = write(d, "wide_head.safetensors", &file_of(&wide_head));
    refused(
        &models(d, &["import-torch", &wide_head]),
        &[&wide_head, "head.weight has shape [3, 5], expected [3, 4]"],
    );
    let mut bad_hh = member_tensors(SMALL, 3);
    bad_hh.insert("lstm.weight_hh_l0".into(), (vec![16, 5], vec![0.1; 80]));
    let bad_hh = write(d, "bad_hh.safetensors", &file_of(&bad_hh));
    refused(
        &models(d, &["import-torch", &bad_hh]),
        &["lstm.weight_hh_l0 has shape [16, 5]", "[4H, H]"],
    );
    let mut reverse = member_tensors(SMALL, 4);
    reverse.insert(
        "lstm.weight_ih_l0_reverse".into(),
        (vec![16, 3], vec![0.1; 48]),
    );
    let reverse = write(d, "reverse.safetensors", &file_of(&reverse));
    refused(
        &models(d, &["import-torch", &reverse]),
        &["tensor lstm.weight_ih_l0_reverse is not part of an LSTM member"],
    );
    let mut nan = member_tensors(SMALL, 5);
    nan.get_mut("lstm.bias_hh_l0").unwrap().1[6] = f32::NAN;
    let nan = write(d, "nan.safetensors", &file_of(&nan));
    refused(
        &models(d, &["import-torch", &nan]),
        &["tensor lstm.bias_hh_l0 holds a non-finite value (NaN) at flat index 6"],
    );
    let absent = d.join("absent.safetensors");
    refused(
        &models(d, &["import-torch", absent.to_str().unwrap()]),
        &["cannot read", absent.to_str().unwrap()],
    );
    refused(
        &models(d, &["import-torch", &good]),
        &["already registered as torch-member@1.0.0 (id 1)"],
    );
    assert_eq!(stored(d), before, "a refused import changed the store");
}

#[test]
fn bad_eval_inputs_and_ids_are_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let member = write(d, "member.safetensors", &file_of(&member_tensors(SMALL, 9)));
    let x = write(d, "x.safetensors", &x_file(&[2, 5, 3], |i| i as f32 / 30.0));
    let no_db = refused(
        &models(d, &["eval", "1", "--input", &x]),
        &["no database at"],
    );
    assert!(!d.join("registry.db").exists(), "{no_db}");
    ok_json(&models(d, &["import-torch", &member, "--json"]));
    ok_json(&models(d, &["eval", "1", "--input", &x, "--json"]));
    let before = stored(d);

    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "wide",
            x_file(&[2, 5, 4], |_| 0.5),
            vec![
                "input x has shape [2, 5, 4], expected [2, 5, 3]",
                "F = 3 features",
            ],
        ),
        (
            "long",
            x_file(&[1, 6, 3], |_| 0.5),
            vec!["input x has shape [1, 6, 3], expected [1, 5, 3]"],
        ),
        (
            "flat",
            x_file(&[5, 3], |_| 0.5),
            vec!["input x has shape [5, 3], expected [5, 5, 3]"],
        ),
        (
            "nan",
            x_file(&[2, 5, 3], |i| if i == 17 { f32::NAN } else { 0.5 }),
            vec!["input x holds a non-finite value (NaN) at flat index 17"],
        ),
        (
            "text",
            b"not safetensors".to_vec(),
            vec!["not a safetensors file"],
        ),
    ];
    for (name, bytes, parts) in cases {
        let path = write(d, &format!("{name}.safetensors"), &bytes);
        let mut parts = parts;
        parts.push(&path);
        refused(&models(d, &["eval", "1", "--input", &path]), &parts);
    }
    refused(
        &models(d, &["eval", "1", "--input", &x, "--tensor", "check.x"]),
        &["has no tensor \"check.x\"; it holds x", "--tensor NAME"],
    );
    refused(
        &models(d, &["eval", "99", "--input", &x]),
        &["no model \"99\"", "models list"],
    );
    refused(
        &models(d, &["eval", "best-one", "--input", &x]),
        &["\"best-one\" is not a model id or version"],
    );
    assert_eq!(stored(d), before, "a refused eval changed the store");

    // A kind eval cannot run yet, and weights damaged in the store.
    let mut registry = Registry::open(&d.join("registry.db")).unwrap();
    let ensemble = registry
        .register(NewModel {
            kind: "ensemble".to_string(),
            origin: Origin::Trained,
            trained_on: TrainedOn::Simulated,
            symbol: None,
            interval: None,
            data_from_ms: None,
            data_to_ms: None,
            rows_train: 1,
            rows_validation: 1,
            rows_test: 1,
            features: vec!["a".into(), "b".into(), "c".into()],
            params: json!({}),
            metrics: json!({}),
            weighting: json!({}),
            blob: file_of(&member_tensors(SMALL, 10)),
        })
        .unwrap();
    drop(registry);
    refused(
        &models(d, &["eval", &ensemble.id.to_string(), "--input", &x]),
        &[
            "eval of kind ensemble is not supported yet",
            &ensemble.version,
        ],
    );
    let conn = rusqlite::Connection::open(d.join("registry.db")).unwrap();
    conn.execute(
        "UPDATE models SET blob = CAST('damaged' AS BLOB) WHERE id = 1",
        [],
    )
    .unwrap();
    drop(conn);
    let before = stored(d);
    refused(
        &models(d, &["eval", "1", "--input", &x]),
        &[
            "torch-member@1.0.0 (id 1) is refused",
            "do not match their sha256",
        ],
    );
    assert_eq!(stored(d), before, "a refused eval changed the store");
}
