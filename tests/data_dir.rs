//! `data/` holds what its README says, and the commands it gives regenerate it byte for byte
//! (the built-in exchange is deterministic for a seed, a `--from` day and a `--to`).

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;

use support::{text, trademon};

#[test]
fn the_demo_dataset_is_what_its_command_regenerates() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let shipped = std::fs::read_to_string(root.join("data/BTCUSDT-1m-simulated.csv")).unwrap();
    let readme = std::fs::read_to_string(root.join("data/README.md")).unwrap();
    assert!(readme.contains("SIMULATED"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let db = db.to_str().unwrap();
    let out_file = dir.path().join("BTCUSDT-1m-simulated.csv");
    // The commands of data/README.md, with the temp paths.
    let download = [
        "--db",
        db,
        "download",
        "--source",
        "sim",
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1m",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-03",
    ];
    let export = [
        "--db",
        db,
        "export",
        "--symbol",
        "BTCUSDT",
        "--interval",
        "1m",
        "--out",
        out_file.to_str().unwrap(),
    ];
    for args in [&download[..], &export[..]] {
        let out = trademon(dir.path(), args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let line = args[2..].join(" ");
        let line = line.replace(out_file.to_str().unwrap(), "data/BTCUSDT-1m-simulated.csv");
        assert!(readme.contains(&line), "data/README.md lacks `{line}`");
    }
    let regenerated = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(regenerated.lines().count(), 2881);
    assert!(
        regenerated == shipped,
        "data/BTCUSDT-1m-simulated.csv differs from what its command makes"
    );
}
