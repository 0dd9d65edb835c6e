//! `trademon backtest` as a user runs it: metrics and trades as JSON, trades.csv and equity.csv
//! with the documented columns, and clear refusals of bad input.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn trademon(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trademon"))
        .args(args)
        .env("XDG_CONFIG_HOME", dir.join("cfg"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("HOME", dir)
        .output()
        .unwrap()
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

fn ethbtc() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ETHBTC-5m.csv");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} missing",
        p.display()
    );
    eprintln!("skipping: {} not found", p.display());
    None
}

#[test]
fn backtest_prints_metrics_and_writes_trades_and_equity() {
    let Some(csv) = ethbtc() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.db");
    let db = db.to_str().unwrap();
    let out = trademon(
        dir.path(),
        &[
            "--db",
            db,
            "import",
            csv.to_str().unwrap(),
            "--symbol",
            "ETHBTC",
            "--interval",
            "5m",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
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
            "--json",
            "--out",
            files.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let trades = report["backtest"]["trades"].as_array().unwrap();
    assert_eq!(trades.len(), 185);
    assert_eq!(report["metrics"]["trades"].as_u64(), Some(185));
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
    let two = trademon(
        dir.path(),
        &[
            "--db",
            db,
            "backtest",
            "--symbol",
            "ETHBTC,BTCUSDT",
            "--interval",
            "5m",
            "--strategy",
            "buy-hold",
        ],
    );
    assert!(
        text(&two.stderr).contains("portfolio"),
        "{}",
        text(&two.stderr)
    );
}
