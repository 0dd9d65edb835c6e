//! `trademon models ...` as a user runs it, on a real SQLite file filled through the library:
//! list, show, promote, rollback and export, as text and JSON, and refusals of bad input that
//! leave the stored rows as they were.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Output;

use safetensors::{Dtype, tensor::TensorView};
use serde_json::{Value, json};
use trademon::domain::{Interval, Symbol};
use trademon::model::registry::{ModelRecord, NewModel, Origin, Registry, TrainedOn};

use support::{text, trademon};

fn models(dir: &Path, db: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--db", db.to_str().unwrap(), "models"];
    all.extend_from_slice(args);
    trademon(dir, &all)
}

fn ok_json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ok_text(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn weights(fill: f32, width: usize) -> Vec<u8> {
    let bytes: Vec<u8> = (0..3 * width)
        .flat_map(|i| (fill + i as f32).to_le_bytes())
        .collect();
    let view = TensorView::new(Dtype::F32, vec![3, width], &bytes).unwrap();
    safetensors::serialize([("head.weight", view)], None).unwrap()
}

fn new_model(fill: f32) -> NewModel {
    NewModel {
        kind: "ensemble".to_string(),
        origin: Origin::Trained,
        trained_on: TrainedOn::Simulated,
        symbol: Some(Symbol::new("BTCUSDT").unwrap()),
        interval: Some(Interval::M1),
        data_from_ms: Some(1_700_000_000_000),
        data_to_ms: Some(1_700_600_000_000),
        rows_train: 7000,
        rows_validation: 1500,
        rows_test: 1500,
        features: vec!["rsi_14".to_string(), "macd_hist".to_string()],
        params: json!({"hidden": 64, "layers": 2, "members": 5}),
        metrics: json!({"test": {"accuracy": 0.412, "macro_f1": 0.39}}),
        weighting: json!({"weights": {"rsi_14": 1.0, "macd_hist": 0.42}}),
        blob: weights(fill, 2),
    }
}

/// Three models: ensemble 1.0.0 and 1.1.0 (simulated), and a PyTorch member of unknown data.
fn seed(db: &Path) -> Vec<ModelRecord> {
    let mut registry = Registry::open(db).unwrap();
    let mut torch = new_model(9.0);
    torch.kind = "torch-member".to_string();
    torch.origin = Origin::TorchImport;
    torch.trained_on = TrainedOn::Unknown;
    torch.symbol = None;
    torch.interval = None;
    torch.data_from_ms = None;
    torch.data_to_ms = None;
    torch.blob = weights(9.0, 4);
    [new_model(1.0), new_model(2.0), torch]
        .into_iter()
        .map(|m| registry.register(m).unwrap())
        .collect()
}

/// Every stored registry row, to compare before and after a refused command.
fn rows(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut out = Vec::new();
    for table in ["models", "model_events", "predictions"] {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = stmt.column_count();
        let table_rows = stmt
            .query_map([], |r| {
                (0..n)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        out.extend(table_rows.map(|r| format!("{table}: {}", r.unwrap().join("|"))));
    }
    out
}

#[test]
fn list_and_show_as_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let seeded = seed(&db);

    let list = ok_text(&models(dir.path(), &db, &["list"]));
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].starts_with("ID  VERSION"), "{list}");
    let column = lines[0].find("ROLE").unwrap();
    for (line, m) in lines[1..4].iter().zip(&seeded) {
        assert!(line.contains(&m.version), "{list}");
        assert_eq!(line.find("challenger"), Some(column), "misaligned:\n{list}");
    }
    assert!(
        lines[1].contains("SIMULATED") && lines[3].contains("unknown"),
        "{list}"
    );
    assert!(lines[1].contains("2023-11-14 .. 2023-11-21"), "{list}");
    assert!(
        list.contains("SIMULATED: trained on the built-in exchange"),
        "{list}"
    );

    let json = ok_json(&models(dir.path(), &db, &["list", "--json"]));
    let versions: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        versions,
        [
            "ensemble-BTCUSDT-1m@1.0.0",
            "ensemble-BTCUSDT-1m@1.1.0",
            "torch-member@1.0.0"
        ]
    );
    assert_eq!(json[0]["trained_on"], "simulated");

    let show = ok_text(&models(
        dir.path(),
        &db,
        &["show", "ensemble-BTCUSDT-1m@1.1.0"],
    ));
    assert!(
        show.starts_with("model 2: ensemble-BTCUSDT-1m@1.1.0 (challenger)"),
        "{show}"
    );
    assert!(show.contains("SIMULATED prices"), "{show}");
    assert!(show.contains("features    2: rsi_14, macd_hist"), "{show}");
    assert!(show.contains("test.accuracy = 0.412"), "{show}");
    assert!(show.contains("weights.macd_hist = 0.42"), "{show}");
    assert!(
        show.contains("register  registered ensemble-BTCUSDT-1m@1.1.0"),
        "{show}"
    );
    let torch = ok_text(&models(dir.path(), &db, &["show", "3"]));
    assert!(torch.contains("unknown data (imported model)"), "{torch}");

    let json = ok_json(&models(dir.path(), &db, &["show", "1", "--json"]));
    assert_eq!(json["model"]["sha256"], seeded[0].sha256.as_str());
    assert_eq!(json["model"]["semver"], "1.0.0");
    // Its own register event, and 1.1.0's naming it as the line's previous version.
    assert_eq!(json["events"].as_array().unwrap().len(), 2);
}

#[test]
fn promote_rollback_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    seed(&db);

    let json = ok_json(&models(dir.path(), &db, &["promote", "1", "--json"]));
    assert_eq!(json["champion"]["id"], 1);
    assert_eq!(json["champion"]["role"], "champion");
    assert_eq!(json["previous"], Value::Null);
    let promoted = ok_text(&models(dir.path(), &db, &["promote", "1.1.0"]));
    assert!(
        promoted.starts_with(
            "champion: ensemble-BTCUSDT-1m@1.1.0 (id 2); retired ensemble-BTCUSDT-1m@1.0.0 (id 1)"
        ),
        "{promoted}"
    );
    assert!(
        promoted.contains("trained on SIMULATED prices"),
        "{promoted}"
    );

    let back = ok_text(&models(dir.path(), &db, &["rollback"]));
    assert!(
        back.contains(
            "rollback: rolled back from ensemble-BTCUSDT-1m@1.1.0 to ensemble-BTCUSDT-1m@1.0.0"
        ),
        "{back}"
    );
    let before = rows(&db);
    let out = models(dir.path(), &db, &["rollback", "--json"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("nothing to roll back to"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(rows(&db), before);

    let file = dir.path().join("export/champion.safetensors");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let json = ok_json(&models(
        dir.path(),
        &db,
        &["export", "1", file.to_str().unwrap(), "--json"],
    ));
    assert_eq!(json["version"], "ensemble-BTCUSDT-1m@1.0.0");
    assert_eq!(json["tensors"], 1);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(json["bytes"], bytes.len());
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["version"], "ensemble-BTCUSDT-1m@1.0.0");
    assert_eq!(meta["role"], "champion");
    let said = ok_text(&models(
        dir.path(),
        &db,
        &[
            "export",
            "torch-member@1.0.0",
            file.to_str().unwrap(),
            "--force",
        ],
    ));
    assert!(
        said.starts_with(&format!(
            "wrote {}: torch-member@1.0.0 (id 3), 1 tensors",
            file.display()
        )),
        "{said}"
    );
}

#[test]
fn bad_input_is_refused_clearly_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    seed(&db);
    let before = rows(&db);
    let unwritable = dir.path().join("no/such/dir/x.safetensors");
    let cases: &[(&[&str], &str)] = &[
        (&["show", "99"], "no model \"99\""),
        (&["show", "99", "--json"], "no model \"99\""),
        (&["promote", "7.0.0"], "no model \"7.0.0\""),
        (
            &["show", "drop table models"],
            "is not a model id or version",
        ),
        (&["promote", "1;2"], "is not a model id or version"),
        (
            &["export", "one", "x.safetensors"],
            "is not a model id or version",
        ),
        (
            &["export", "1", unwritable.to_str().unwrap()],
            "cannot export to",
        ),
        (
            &["export", "1", dir.path().to_str().unwrap()],
            "cannot export to",
        ),
        (&["rollback"], "has no champion"),
        (&["show"], "<ID>"),
        (&["explode"], "unrecognized subcommand"),
    ];
    for (args, needle) in cases {
        let out = models(dir.path(), &db, args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
        assert_eq!(rows(&db), before, "{args:?} changed the rows");
    }
    assert!(!unwritable.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial") || n.ends_with(".safetensors"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_file_that_is_not_a_database_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("notes.db");
    let bytes = b"this is a shopping list, not a model registry\n".repeat(100);
    std::fs::write(&garbage, &bytes).unwrap();
    for args in [
        &["list"][..],
        &["show", "1"],
        &["rollback"],
        &["promote", "1"],
    ] {
        let out = models(dir.path(), &garbage, args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("is not a SQLite database"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("notes.db"), "{stderr}");
    }
    assert_eq!(std::fs::read(&garbage).unwrap(), bytes);

    // A database that does not exist is not created by reading it.
    let absent = dir.path().join("absent.db");
    let listed = ok_text(&models(dir.path(), &absent, &["list"]));
    assert!(listed.contains("no models registered"), "{listed}");
    assert_eq!(
        ok_json(&models(dir.path(), &absent, &["list", "--json"])),
        json!([])
    );
    let out = models(dir.path(), &absent, &["show", "1"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no database at"),
        "{}",
        text(&out.stderr)
    );
    assert!(!absent.exists());
}

/// `models export` writes a new file; an existing regular file only with --force; a symbolic
/// link, a FIFO or a directory never, whatever the flags (`/dev/full` once became a file).
#[test]
fn export_replaces_only_a_regular_file_and_only_with_force() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    seed(&db);
    let export = |path: &Path, force: bool| {
        let mut args = vec!["export", "1", path.to_str().unwrap()];
        if force {
            args.push("--force");
        }
        models(dir.path(), &db, &args)
    };
    let refused = |out: Output, needle: &str| {
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(
            err.starts_with("error: cannot export to") && err.contains(needle),
            "{needle:?} in {err}"
        );
    };
    let existing = dir.path().join("existing.safetensors");
    std::fs::write(&existing, "keep me").unwrap();
    refused(export(&existing, false), "pass --force");
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    ok_text(&export(&existing, true));
    assert!(std::fs::read(&existing).unwrap().len() > 100, "replaced");

    let target = dir.path().join("target.txt");
    std::fs::write(&target, "victim").unwrap();
    let link = dir.path().join("link.safetensors");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let fifo = dir.path().join("pipe.safetensors");
    support::mkfifo(&fifo);
    for force in [false, true] {
        refused(export(&link, force), "symbolic link");
        refused(export(&fifo, force), "a FIFO");
        refused(export(dir.path(), force), "a directory");
    }
    assert_eq!(std::fs::read(&target).unwrap(), b"victim");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let partial = std::fs::read_dir(dir.path())
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().contains("partial"));
    assert!(!partial, "no temporary file left");
}
