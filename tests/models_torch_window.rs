//! A PyTorch member trained on windows of 15, saved the plain way (`save_file(model.state_dict())`,
//! no metadata, so nothing says T = 15): imported as a user would, then `models eval` on windows
//! of 15 gives PyTorch's own probabilities (tests/fixtures/torch_t15, made by its gen_t15.py with
//! torch 2.15 CPU); `import-torch --window 15` stores the window the live engine feeds it, and a
//! window that is not a whole number of candles ≥ 1 is refused with nothing stored.
#![allow(clippy::unwrap_used)]

mod torch_support;

use std::path::PathBuf;

use trademon::model::weights_file::load_tensors;

use torch_support::{models, ok_json, probabilities, refused, stored, text};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch_t15")
        .join(name);
    path.to_str().unwrap().to_string()
}

/// PyTorch's probabilities for the fixture's `x`.
fn expected() -> Vec<[f32; 3]> {
    let bytes = std::fs::read(fixture("input.safetensors")).unwrap();
    let rows = load_tensors(&bytes).unwrap()["probs"]
        .to_vec2::<f32>()
        .unwrap();
    rows.into_iter()
        .map(|r| std::array::from_fn(|k| r[k]))
        .collect()
}

fn worst_error(got: &[[f32; 3]], want: &[[f32; 3]]) -> f32 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .flat_map(|(g, w)| g.iter().zip(w).map(|(a, b)| (a - b).abs()))
        .fold(0.0, f32::max)
}

#[test]
fn a_window_15_member_without_metadata_evals_like_pytorch() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let member = fixture("member.safetensors");
    let input = fixture("input.safetensors");
    let want = expected();

    // Imported without --window: the file says nothing, so 20 is assumed, and said.
    let import = ok_json(&models(d, &["import-torch", &member, "--json"]));
    assert_eq!(import["member"]["window"], 20);
    assert!(
        import["window_from"]
            .as_str()
            .unwrap()
            .contains("no window in its metadata"),
        "{import}"
    );
    // `eval` runs the input's own T = 15 all the same.
    let eval = ok_json(&models(d, &["eval", "1", "--input", &input, "--json"]));
    assert_eq!(eval["window"], 15);
    assert_eq!(eval["rows"], want.len());
    let worst = worst_error(&probabilities(&eval), &want);
    println!("T = 15 member stored with T = 20: max abs error vs PyTorch {worst:e}");
    assert!(worst < 1e-5, "{worst}");

    // With --window 15 the stored member (and so the live engine) takes windows of 15: the
    // same weights with another window are a new version of the line.
    let import = ok_json(&models(
        d,
        &["import-torch", &member, "--window", "15", "--json"],
    ));
    assert_eq!(import["model"]["version"], "torch-member@1.1.0");
    assert_eq!(import["member"]["window"], 15);
    assert_eq!(import["model"]["params"]["window"], 15);
    assert_eq!(import["window_from"], "--window");
    let eval = ok_json(&models(d, &["eval", "2", "--input", &input, "--json"]));
    assert_eq!(eval["window"], 15);
    let worst = worst_error(&probabilities(&eval), &want);
    assert!(worst < 1e-5, "{worst}");
    let out = models(d, &["eval", "2", "--input", &input]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("T = 15 steps"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_window_that_is_not_a_count_of_candles_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let member = fixture("member.safetensors");
    for (window, says) in [
        ("0", "at least 1 candle"),
        ("-3", "is not a window"),
        ("fifteen", "is not a window"),
        ("1.5", "is not a window"),
        ("100000", "at most 4096"),
    ] {
        refused(
            &models(d, &["import-torch", &member, &format!("--window={window}")]),
            &["--window", says],
        );
    }
    assert!(
        !d.join("registry.db").exists(),
        "a refused import created the store"
    );
    ok_json(&models(
        d,
        &["import-torch", &member, "--window", "1", "--json"],
    ));
    let before = stored(d);
    refused(
        &models(d, &["import-torch", &member, "--window="]),
        &["--window"],
    );
    assert_eq!(stored(d), before);
}
