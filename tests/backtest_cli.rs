//! `trademon backtest` as a user runs it: metrics and trades as JSON, trades.csv and equity.csv
//! with the documented columns, and clear refusals of bad input.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::import::{import, import_shared};
use support::{shared_data, text, trademon};

#[test]
fn backtest_prints_metrics_and_writes_trades_and_equity() {
    let Some(csv) = shared_data("ETHBTC-5m.csv") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let db = db.to_str().unwrap();
    import(dir.path(), db, &csv, "ETHBTC", "5m");
    let files = dir.path().join("run");
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db,
            "backtest",
            "--symbol",
            "ETHBTC",
            "--interval",
            "5m",
            "--strategy",
            "sma-cross:10,20",
            "--fee-bps",
            "20",
            "--slippage-bps",
            "0",
            "--json",
            "--out",
            files.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let trades = report["trades"].as_array().unwrap();
    assert_eq!(trades.len(), 185);
    assert_eq!(report["metrics"]["trades"].as_u64(), Some(185));
    assert!(report["run_id"].as_i64().is_some(), "the run is stored");
    assert_eq!(trades[0]["symbol"], "ETHBTC");
    for key in ["entry_time_ms", "entry_price", "exit_time_ms", "exit_price"] {
        assert!(!trades[0][key].is_null(), "{key}");
    }
    let trades_csv = std::fs::read_to_string(files.join("trades.csv")).unwrap();
    assert!(trades_csv.starts_with(
        "symbol,side,entry_time_ms,entry_price,exit_time_ms,exit_price,quantity,fees,pnl,return_pct\n"
    ));
    assert_eq!(trades_csv.lines().count(), 186);
    let equity_csv = std::fs::read_to_string(files.join("equity.csv")).unwrap();
    assert!(equity_csv.starts_with("time_ms,equity,drawdown\n"));
    assert_eq!(equity_csv.lines().count(), 5761);
    let svg = std::fs::read_to_string(files.join("equity.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("<polyline") && svg.contains("drawdown, deepest 49.8 %"),
        "{svg:.300}"
    );
    // Fees only lower the result.
    let free = trademon(
        dir.path(),
        &[
            "--db",
            db,
            "backtest",
            "--symbol",
            "ETHBTC",
            "--interval",
            "5m",
            "--strategy",
            "sma-cross:10,20",
            "--fee-bps",
            "0",
            "--slippage-bps",
            "0",
            "--json",
        ],
    );
    let free: serde_json::Value = serde_json::from_slice(&free.stdout).unwrap();
    assert!(
        free["metrics"]["final_equity"].as_f64().unwrap()
            > report["metrics"]["final_equity"].as_f64().unwrap()
    );
    let human = trademon(
        dir.path(),
        &[
            "--db",
            db,
            "backtest",
            "--symbol",
            "ETHBTC",
            "--interval",
            "5m",
            "--strategy",
            "buy-hold",
        ],
    );
    assert!(
        text(&human.stdout).contains("buy and hold"),
        "{}",
        text(&human.stdout)
    );

    for (args, needle) in [
        (vec!["--strategy", "sma-cross:20,10"], "FAST below SLOW"),
        (vec!["--strategy", "sma-cross:ten,20"], "two whole periods"),
        (vec!["--strategy", "rsi-magic"], "not one this build knows"),
        (vec!["--strategy", "buy-hold", "--fee-bps", "-5"], "fee"),
        (vec!["--strategy", "buy-hold", "--cash", "0"], "cash"),
        (
            vec!["--strategy", "buy-hold", "--to", "2000-01-01"],
            "no ETHBTC 5m candles",
        ),
    ] {
        let mut all = vec![
            "--db",
            db,
            "backtest",
            "--symbol",
            "ETHBTC",
            "--interval",
            "5m",
        ];
        all.extend(args.iter().copied());
        let out = trademon(dir.path(), &all);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    for (args, needle) in [
        (
            vec!["--symbol", "ETHBTC,LTCBTC", "--weights", "1"],
            "1 weights for 2 symbols",
        ),
        (
            vec!["--symbol", "ETHBTC,LTCBTC", "--weights", "1,-1"],
            "LTCBTC is not a positive",
        ),
        (
            vec!["--symbol", "ETHBTC", "--walk-forward", "train=10"],
            "both needed",
        ),
        (
            vec![
                "--symbol",
                "ETHBTC",
                "--walk-forward",
                "train=9,test=5,step=1",
            ],
            "twice",
        ),
        (
            vec![
                "--symbol",
                "ETHBTC",
                "--walk-forward",
                "train=99999,test=50",
            ],
            "needs at least 100001 candles",
        ),
        (
            vec![
                "--symbol",
                "ETHBTC,LTCBTC",
                "--walk-forward",
                "train=100,test=50",
            ],
            "one symbol; 2 were given",
        ),
        (vec!["--symbol", "ETHBTC,NOSUCH"], "no NOSUCH 5m candles"),
    ] {
        let mut all = vec![
            "--db",
            db,
            "backtest",
            "--interval",
            "5m",
            "--strategy",
            "buy-hold",
        ];
        all.extend(args.iter().copied());
        let out = trademon(dir.path(), &all);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            text(&out.stderr).contains(needle),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = trademon(dir, args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_portfolio_sums_its_symbols_on_their_shares_of_the_cash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let db = db.to_str().unwrap();
    if import_shared(dir.path(), db, "ETHBTC-5m.csv", "ETHBTC", "5m").is_none()
        || import_shared(dir.path(), db, "LTCBTC-5m.csv", "LTCBTC", "5m").is_none()
    {
        return;
    }
    let base = [
        "--db",
        db,
        "backtest",
        "--interval",
        "5m",
        "--strategy",
        "sma-cross:10,20",
    ];
    let single = |symbol: &str, cash: &str| {
        let mut args = base.to_vec();
        args.extend([
            "--symbol",
            symbol,
            "--cash",
            cash,
            "--fee-bps",
            "10",
            "--json",
        ]);
        json(dir.path(), &args)
    };
    let eth = single("ETHBTC", "7500");
    let ltc = single("LTCBTC", "2500");
    let mut args = base.to_vec();
    args.extend([
        "--symbol",
        "ETHBTC,LTCBTC",
        "--weights",
        "3,1",
        "--cash",
        "10000",
        "--fee-bps",
        "10",
        "--json",
    ]);
    let both = json(dir.path(), &args);
    let final_of = |v: &serde_json::Value| v["metrics"]["final_equity"].as_f64().unwrap();
    assert!(
        (final_of(&both) - final_of(&eth) - final_of(&ltc)).abs() < 1e-6,
        "each symbol runs alone on its share: {} vs {} + {}",
        final_of(&both),
        final_of(&eth),
        final_of(&ltc)
    );
    let trades = both["trades"].as_array().unwrap();
    assert_eq!(
        trades.len() as u64,
        eth["metrics"]["trades"].as_u64().unwrap() + ltc["metrics"]["trades"].as_u64().unwrap()
    );
    assert!(trades.iter().any(|t| t["symbol"] == "LTCBTC"));
    assert_eq!(both["legs"].as_array().unwrap().len(), 2);
    assert_eq!(both["legs"][0]["weight"].as_f64(), Some(0.75));
    let bh = 0.75 * eth["metrics"]["buy_and_hold_return"].as_f64().unwrap()
        + 0.25 * ltc["metrics"]["buy_and_hold_return"].as_f64().unwrap();
    assert!((both["metrics"]["buy_and_hold_return"].as_f64().unwrap() - bh).abs() < 1e-9);
    // The text report lists the symbols.
    let mut args = base.to_vec();
    args.extend(["--symbol", "ETHBTC,LTCBTC", "--no-save"]);
    let out = trademon(dir.path(), &args);
    let said = text(&out.stdout);
    assert!(
        said.contains("per symbol:") && said.contains("LTCBTC"),
        "{said}"
    );
    assert!(!said.contains("stored as run"), "--no-save: {said}");
}

#[test]
fn walk_forward_reports_each_fold_and_the_stitched_out_of_sample_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    let db = db.to_str().unwrap();
    if import_shared(dir.path(), db, "ETHBTC-5m.csv", "ETHBTC", "5m").is_none() {
        return;
    }
    let report = json(
        dir.path(),
        &[
            "--db",
            db,
            "backtest",
            "--symbol",
            "ETHBTC",
            "--interval",
            "5m",
            "--strategy",
            "sma-cross:10,20",
            "--walk-forward",
            "train=1000,test=1500",
            "--fee-bps",
            "20",
            "--json",
        ],
    );
    let folds = report["folds"].as_array().unwrap();
    // 5760 candles: test windows start at 1000, 2500, 4000 and 5500 (the last one short).
    assert_eq!(folds.len(), 4);
    assert_eq!(report["candles"].as_u64(), Some(1500 * 3 + 260));
    assert_eq!(report["equity"].as_array().unwrap().len(), 4760);
    assert_eq!(report["walk_forward"]["step"].as_u64(), Some(1500));
    let product: f64 = folds
        .iter()
        .map(|f| 1.0 + f["metrics"]["total_return"].as_f64().unwrap())
        .product();
    let whole = 1.0 + report["metrics"]["total_return"].as_f64().unwrap();
    assert!(
        (product - whole).abs() < 1e-9,
        "stitched {whole} vs folds {product}"
    );
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db,
            "backtest",
            "--symbol",
            "ETHBTC",
            "--interval",
            "5m",
            "--strategy",
            "sma-cross:10,20",
            "--walk-forward",
            "train=1000,test=1500",
        ],
    );
    let said = text(&out.stdout);
    assert!(
        said.contains("every number below is out of sample"),
        "{said}"
    );
    assert!(said.contains("folds (out of sample):"), "{said}");
}

#[test]
fn stored_runs_are_listed_and_shown_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    let db = db.to_str().unwrap();
    let empty = trademon(dir.path(), &["--db", db, "runs", "list"]);
    assert!(empty.status.success(), "{}", text(&empty.stderr));
    assert!(text(&empty.stdout).contains("no stored backtest runs"));
    if import_shared(dir.path(), db, "ETHBTC-5m.csv", "ETHBTC", "5m").is_none() {
        return;
    }
    let first = json(
        dir.path(),
        &[
            "--db",
            db,
            "backtest",
            "--symbol",
            "ETHBTC",
            "--interval",
            "5m",
            "--strategy",
            "sma-cross:10,20",
            "--json",
        ],
    );
    let id = first["run_id"].as_i64().unwrap().to_string();
    let listed = trademon(dir.path(), &["--db", db, "runs", "list"]);
    let listed = text(&listed.stdout);
    assert!(
        listed.contains("sma-cross:10,20") && listed.contains("ETHBTC"),
        "{listed}"
    );
    let shown = json(dir.path(), &["--db", db, "runs", "show", &id, "--json"]);
    assert_eq!(shown["metrics"], first["metrics"]);
    assert_eq!(shown["trades"], first["trades"]);
    assert_eq!(shown["run_id"], first["run_id"]);
    let out = dir.path().join("again");
    let shown = trademon(
        dir.path(),
        &[
            "--db",
            db,
            "runs",
            "show",
            &id,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(text(&shown.stdout).contains("total return"));
    assert!(out.join("trades.csv").exists() && out.join("equity.svg").exists());

    let missing = trademon(dir.path(), &["--db", db, "runs", "show", "999"]);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("no stored backtest run 999"),
        "{}",
        text(&missing.stderr)
    );
    let garbage = trademon(dir.path(), &["--db", db, "runs", "show", "seven"]);
    assert!(!garbage.status.success());
    // A damaged report is refused with what and where, and nothing is changed.
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "UPDATE backtest_runs SET report_json = '{\"strategy\": 5}' WHERE id = ?1",
        [id.parse::<i64>().unwrap()],
    )
    .unwrap();
    drop(conn);
    let damaged = trademon(dir.path(), &["--db", db, "runs", "show", &id]);
    assert!(!damaged.status.success());
    let said = text(&damaged.stderr);
    assert!(
        said.contains(&format!("stored run {id}")) && said.contains("r.db"),
        "{said}"
    );
}
