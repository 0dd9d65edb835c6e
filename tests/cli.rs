//! The binary's commands as a user runs them: gen-config, headless runs on the built-in exchange and
//! on a replay, import, and refusals of bad input with clear messages.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use support::import::{import_json, run_import};
use support::{shared_data, text, trademon};

#[test]
fn gen_config_prints_the_commented_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let out = trademon(dir.path(), &["gen-config"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("[feed.binance]") && stdout.contains("# "),
        "{stdout}"
    );
    // It loads back as a config file.
    let path = dir.path().join("c.toml");
    std::fs::write(&path, &out.stdout).unwrap();
    let out = trademon(
        dir.path(),
        &["--config", path.to_str().unwrap(), "gen-config"],
    );
    assert!(out.status.success());
}

#[test]
fn headless_run_on_the_simulated_exchange_stores_candles() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.db");
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "run",
            "--headless",
            "--for",
            "3s",
            "--json",
            "--symbols",
            "BTCUSDT,ETHUSDT",
            "--intervals",
            "1m,5m",
            "--sim-speed",
            "600",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["source"]["Simulated"].is_object(), "{summary}");
    let series = summary["series"].as_array().unwrap();
    assert_eq!(series.len(), 4);
    for s in series {
        assert!(s["in_database"].as_u64().unwrap() > 0, "{s}");
        assert_eq!(s["gaps_in_database"].as_u64().unwrap(), 0, "{s}");
    }
    assert_eq!(summary["parse_errors"].as_u64(), Some(0));
    assert!(summary["peak_rss_bytes"].as_u64().unwrap() > 0);
    // The text form too.
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "run",
            "--headless",
            "--for",
            "1s",
            "--symbols",
            "BTCUSDT",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("gaps repaired"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn headless_replay_of_recorded_trades() {
    let Some(trades) = shared_data("XRPETH-trades.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let source = format!("replay:{}", trades.display());
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "run",
            "--headless",
            "--for",
            "2s",
            "--json",
            "--source",
            &source,
            "--intervals",
            "1m",
            "--sim-speed",
            "600",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["source"]["Replay"].is_object(), "{summary}");
    assert_eq!(summary["series"][0]["symbol"], "XRPETH");
    assert!(summary["series"][0]["in_database"].as_u64().unwrap() > 0);
}

#[test]
fn import_then_reimport_changes_nothing() {
    let Some(file) = shared_data("ETHBTC-5m.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("i.db");
    let first = import_json(dir.path(), &db, &file, "ETHBTC", "5m", &[]);
    assert!(first["added"].as_u64().unwrap() > 5000, "{first}");
    let again = run_import(dir.path(), &db, &file, "ETHBTC", "5m", &["--json"]);

    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["added"].as_u64(), Some(0), "{again}");
    assert_eq!(again["already_present"], first["added"]);
}

#[test]
fn bad_input_on_the_command_line_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let db = db.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--db", db, "run", "--headless", "--for", "soon"],
            "duration",
        ),
        (
            &["--db", db, "run", "--headless", "--symbols", "BTC/USDT"],
            "BTC/USDT",
        ),
        (
            &["--db", db, "run", "--headless", "--intervals", "7m"],
            "7m",
        ),
        (&["--db", db, "run", "--source", "kraken"], "kraken"),
        (
            &["--db", db, "run", "--headless", "--sim-speed", "-3"],
            "sim-speed",
        ),
        (&["--db", db, "run", "--for", "3s"], "--headless"),
        (
            &[
                "--db",
                db,
                "import",
                "/nonexistent.csv",
                "--symbol",
                "BTCUSDT",
                "--interval",
                "1m",
            ],
            "nonexistent",
        ),
        (&["--config", "/nonexistent/c.toml", "gen-config"], ""),
        (&["--config", "/nonexistent/c.toml", "run"], "cannot read"),
    ];
    for (args, needle) in cases {
        let out = trademon(dir.path(), args);
        if args.contains(&"gen-config") {
            // gen-config needs no config at all.
            assert!(out.status.success());
            continue;
        }
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("new.db");
    drop(trademon::store::Store::open(&db).unwrap());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "user_version", trademon::store::SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db.to_str().unwrap(),
            "run",
            "--headless",
            "--for",
            "1s",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("newer than this trademon"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_reader_that_went_away_is_not_a_panic() {
    // `trademon gen-config | head -0`: stdout is a pipe whose reader is already closed.
    let dir = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_trademon"))
        .arg("gen-config")
        .env("HOME", dir.path())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}
