//! `trademon models eval` as a user runs it, on a real SQLite file: a trained-style ensemble
//! (two members, a normaliser and indicator weights that are not the identity) run on raw
//! feature windows through its own input pipeline, checked against the same arithmetic done
//! here by hand; then every kind of bad input, id or stored model, each refused with a clear
//! error, a non-zero exit and the store left as it was. The PyTorch parity of `eval` on an
//! imported member is in `tests/models_torch.rs`.
#![allow(clippy::unwrap_used)]

mod torch_support;

use serde_json::{Value, json};
use trademon::domain::Interval;
use trademon::model::ensemble::{Ensemble, EnsembleParams, EnsembleWeighting, MemberInfo};
use trademon::model::logistic::LogisticRegression;
use trademon::model::normalize::Normalizer;
use trademon::model::prepare::DataSpec;
use trademon::model::registry::{NewModel, Origin, Registry, TrainedOn};
use trademon::model::signal::Thresholds;
use trademon::model::weighting::IndicatorWeights;
use trademon::model::{Member, MemberSpec};

use torch_support::{
    SMALL, file_of, member_tensors, models, ok_json, refused, stored, write, x_file,
};

fn new_model(kind: &str, params: Value, weighting: Value, blob: Vec<u8>) -> NewModel {
    NewModel {
        kind: kind.to_string(),
        origin: Origin::Trained,
        trained_on: TrainedOn::Simulated,
        symbol: None,
        interval: Some(Interval::M1),
        data_from_ms: None,
        data_to_ms: None,
        rows_train: 1,
        rows_validation: 1,
        rows_test: 1,
        features: vec!["a".into(), "b".into(), "c".into()],
        params,
        metrics: json!({}),
        weighting,
        blob,
    }
}

#[test]
fn an_ensemble_runs_through_its_own_input_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let specs = [SMALL, MemberSpec { hidden: 6, ..SMALL }];
    let members: Vec<Member> = specs
        .iter()
        .zip([21, 22])
        .map(|(s, seed)| Member::init(*s, seed).unwrap())
        .collect();
    let member_weights = [0.25, 0.75];
    let params = EnsembleParams {
        interval: Interval::M1,
        members: specs
            .iter()
            .zip([21, 22])
            .map(|(spec, seed)| MemberInfo {
                spec: *spec,
                seed,
                epochs_run: 3,
                best_epoch: 2,
                validation_log_loss: 1.05,
                validation_accuracy: 0.4,
            })
            .collect(),
        member_weights: member_weights.to_vec(),
        thresholds: Thresholds {
            buy: 0.1,
            sell: 0.1,
        },
        calibration: None,
        data: DataSpec {
            window: SMALL.window,
            ..DataSpec::default()
        },
        theta: 0.001,
        training: json!({}),
    };
    let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let normalizer = Normalizer {
        means: vec![0.1, -0.2, 0.3],
        stds: vec![2.0, 0.5, 1.0],
    };
    let mut indicators = IndicatorWeights::unit(&names);
    indicators.weights = vec![0.5, 1.0, 1.5];
    let weighting = EnsembleWeighting {
        normalizer: normalizer.clone(),
        indicators: indicators.clone(),
        logistic: LogisticRegression {
            features: 3,
            coefficients: vec![0.0; 9],
            intercepts: [0.0; 3],
            l2: 1.0,
            iterations: 1,
            converged: true,
        },
    };
    let ensemble = Ensemble::new(
        names.clone(),
        params.clone(),
        weighting.clone(),
        members.clone(),
    )
    .unwrap();
    let mut registry = Registry::open(&d.join("registry.db")).unwrap();
    let record = registry
        .register(new_model(
            "ensemble",
            serde_json::to_value(&params).unwrap(),
            serde_json::to_value(&weighting).unwrap(),
            ensemble.blob().unwrap(),
        ))
        .unwrap();
    drop(registry);

    let batch = 3;
    let fill = |i: usize| ((i * 53 % 97) as f32 / 40.0) - 1.2;
    let shape = [batch, SMALL.window, SMALL.features];
    let input = write(d, "x.safetensors", &x_file(&shape, fill));
    let eval = ok_json(&models(
        d,
        &["eval", &record.version, "--input", &input, "--json"],
    ));
    assert_eq!(eval["model"], record.version.as_str());
    assert_eq!(eval["rows"], batch);

    // By hand: z = (x − mean) / std · weight, then the members' weighted mean.
    let z: Vec<f32> = (0..shape.iter().product())
        .map(|i| {
            let j = i % SMALL.features;
            let v = (f64::from(fill(i)) - normalizer.means[j]) / normalizer.stds[j];
            (v * indicators.weights[j]) as f32
        })
        .collect();
    let per_member: Vec<Vec<[f32; 3]>> = members
        .iter()
        .map(|m| m.probabilities(&z, batch).unwrap())
        .collect();
    let got = eval["probabilities"].as_array().unwrap();
    assert_eq!(got.len(), batch);
    for (i, row) in got.iter().enumerate() {
        for k in 0..3 {
            let want: f64 = per_member
                .iter()
                .zip(member_weights)
                .map(|(p, w)| w * f64::from(p[i][k]))
                .sum();
            let value = row[k].as_f64().unwrap();
            assert!(
                (value - want).abs() < 1e-6,
                "window {i} class {k}: {value} vs {want}"
            );
        }
    }
    // Raw x straight into the members would be far off: the pipeline matters here.
    let raw: Vec<f32> = (0..shape.iter().product()).map(fill).collect();
    let unprepared = members[0].probabilities(&raw, batch).unwrap();
    let first = got[0][0].as_f64().unwrap();
    assert!(
        (first - f64::from(unprepared[0][0])).abs() > 1e-4,
        "{first}"
    );
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
    // Windows of another length run as they are (an LSTM takes any number of steps), through
    // the same weights.
    let long = write(
        d,
        "long.safetensors",
        &x_file(&[1, 6, 3], |i| i as f32 / 20.0),
    );
    let eval = ok_json(&models(d, &["eval", "1", "--input", &long, "--json"]));
    assert_eq!(eval["window"], 6);
    let values: Vec<f32> = (0..18).map(|i| i as f32 / 20.0).collect();
    let want = Member::from_safetensors(&file_of(&member_tensors(SMALL, 9)))
        .unwrap()
        .with_window(6)
        .unwrap()
        .probabilities(&values, 1)
        .unwrap();
    assert_eq!(torch_support::probabilities(&eval), want);
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
            "no steps",
            x_file(&[1, 0, 3], |_| 0.5),
            vec![
                "input x has shape [1, 0, 3], expected [1, 5, 3]",
                "any T ≥ 1",
            ],
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

    // A kind eval cannot run, an ensemble row whose JSON is damaged, weights damaged in the store.
    let mut registry = Registry::open(&d.join("registry.db")).unwrap();
    let baseline = registry
        .register(new_model(
            "logistic-baseline",
            json!({}),
            json!({}),
            file_of(&member_tensors(SMALL, 10)),
        ))
        .unwrap();
    let broken = registry
        .register(new_model(
            "ensemble",
            json!({"members": 2}),
            json!({}),
            file_of(&member_tensors(SMALL, 11)),
        ))
        .unwrap();
    drop(registry);
    refused(
        &models(d, &["eval", &baseline.id.to_string(), "--input", &x]),
        &[
            "eval of kind logistic-baseline is not supported",
            &baseline.version,
            "runs torch-member and ensemble models",
        ],
    );
    refused(
        &models(d, &["eval", &broken.id.to_string(), "--input", &x]),
        &[
            &broken.version,
            "cannot be run",
            "params JSON is not what an ensemble stores",
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
