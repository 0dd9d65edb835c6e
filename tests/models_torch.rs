//! `trademon models import-torch` as a user runs it, on a real SQLite file: both PyTorch
//! reference members (../shared/reference/lstm) imported and run by `models eval` on their own
//! `check.x`, the probabilities compared with PyTorch's `check.probs` to 1e-5; a member over the
//! live feature set; then every kind of file that is not a member, each refused with a clear
//! error, a non-zero exit and the store left as it was.
#![allow(clippy::unwrap_used)]

mod support;
mod torch_support;

use std::path::PathBuf;

use serde_json::json;
use trademon::domain::Interval;
use trademon::features::FeatureSet;
use trademon::model::registry::Registry;
use trademon::model::weights_file::load_tensors;
use trademon::model::{Member, MemberSpec};

use support::shared_file;
use torch_support::{
    SMALL, file_of, member_tensors, models, ok_json, probabilities, refused, stored, text, write,
    x_file,
};

const REFERENCES: [&str; 2] = ["member_F17_H32_L1_T20", "member_F26_H64_L2_T20"];

/// The reference file's path; `None` (with a reason) when the shared data is absent, except in CI.
fn reference(name: &str) -> Option<PathBuf> {
    shared_file("reference/lstm", &format!("{name}.safetensors"))
}

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
