//! `trademon paper report | reconcile` as a user runs them: after a real headless run on the
//! built-in exchange with paper trading on (bar mode), the report and the reconciliation in JSON
//! (no differences); on a database with no account, or a log with an entry that cannot be read,
//! one clean `error:` line.

#![allow(clippy::unwrap_used)]

mod support;

use support::{text, trademon};

fn config(dir: &std::path::Path) -> String {
    let path = dir.join("paper.toml");
    std::fs::write(
        &path,
        "[paper]\nenabled = true\n[paper.risk]\nmax_drawdown = 1.0\n",
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_headless_run_in_bar_mode_reconciles_with_no_differences() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let db = db.to_str().unwrap();
    let config = config(dir.path());
    let run = trademon(
        dir.path(),
        &[
            "--db",
            db,
            "--config",
            &config,
            "run",
            "--headless",
            "--for",
            "25s",
            "--symbols",
            "BTCUSDT,ETHUSDT,SOLUSDT",
        ],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let report = trademon(
        dir.path(),
        &["--db", db, "--config", &config, "paper", "report", "--json"],
    );
    assert!(report.status.success(), "{}", text(&report.stderr));
    let r: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    for key in [
        "opened_ms",
        "window",
        "start_cash",
        "equity",
        "metrics",
        "trades",
        "fills",
    ] {
        assert!(r.get(key).is_some(), "no {key} in {r}");
    }
    assert_eq!(r["start_cash"], 10_000.0);
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db,
            "--config",
            &config,
            "paper",
            "reconcile",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "window",
        "trades_paper",
        "trades_backtest",
        "differences",
        "pnl_effect",
    ] {
        assert!(r.get(key).is_some(), "no {key} in {r}");
    }
    assert!(r["window"]["from_ms"].as_i64().unwrap() < r["window"]["to_ms"].as_i64().unwrap());
    assert_eq!(r["differences"], serde_json::json!([]), "{r:#}");
    assert_eq!(r["trades_paper"], r["trades_backtest"]);
    assert_eq!(r["pnl_effect"], 0.0);
    let text_out = trademon(
        dir.path(),
        &["--db", db, "--config", &config, "paper", "reconcile"],
    );
    assert!(
        text(&text_out.stdout).contains("no differences"),
        "{}",
        text(&text_out.stdout)
    );
}

#[test]
fn no_account_or_an_unreadable_log_is_one_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    trademon::store::Store::open(&db).unwrap();
    let db = db.to_str().unwrap();
    let out = trademon(dir.path(), &["--db", db, "paper", "report"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("has no paper account yet"), "{err}");
    assert!(!err.contains("panicked") && !err.contains("src/"), "{err}");
    // An entry whose detail is JSON of the wrong shape: the account is not guessed.
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "INSERT INTO paper_log (time_ms, kind, detail_json) VALUES (1, 'open',
         '{\"cash\": 100.0, \"symbols\": [\"BTCUSDT\"], \"mode\": \"bar\", \"quote_asset\": \"USDT\"}')",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO paper_log (time_ms, kind, symbol, order_id, detail_json)
         VALUES (2, 'fill', 'BTCUSDT', 7, '{\"price\": \"a lot\"}')",
        [],
    )
    .unwrap();
    // Nor can the log be rewritten to hide it.
    let e = conn
        .execute("DELETE FROM paper_log WHERE seq = 2", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    drop(conn);
    for action in ["report", "reconcile"] {
        let out = trademon(
            dir.path(),
            &["--db", db, "paper", action, "--interval", "1m"],
        );
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains("paper_log row 2 (fill)"), "{err}");
        assert!(!err.contains("panicked") && !err.contains("src/"), "{err}");
    }
}
