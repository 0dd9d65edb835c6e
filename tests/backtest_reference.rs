//! `sma-cross:10,20` with 0.2 % commission on ../shared/data/ETHBTC-5m.csv against backtesting.py
//! (tests/backtesting_py/sma_cross.py): the same trades, entry and exit candle for candle, and a
//! final equity within 0.5 %. Runs when `$BACKTESTING_PYTHON` (or python3) can import
//! backtesting; otherwise it says so and passes.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use trademon::backtest::{Costs, SmaCross, run};

use support::import::read_plain_csv;

#[test]
fn sma_cross_matches_backtesting_py() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ETHBTC-5m.csv");
    if !data.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} missing",
            data.display()
        );
        eprintln!("skipping: {} not found", data.display());
        return;
    }
    let python = std::env::var("BACKTESTING_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python)
        .args(["-c", "import backtesting"])
        .output();
    if !probe.is_ok_and(|p| p.status.success()) {
        eprintln!(
            "skipping the backtesting.py comparison: `{python} -c \"import backtesting\"` failed \
             (pip install backtesting, or set BACKTESTING_PYTHON)"
        );
        return;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/backtesting_py/sma_cross.py"
    );
    let out = Command::new(&python)
        .args([script, data.to_str().unwrap(), "10", "20", "0.002"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let candles = read_plain_csv(&data);
    let costs = Costs {
        cash: 1e12,
        fee: 0.002,
        // backtesting.py's buy() puts 0.9999 of equity in.
        fraction: 0.9999,
        ..Costs::default()
    };
    let ours = run(&candles, &mut SmaCross::new(10, 20, false).unwrap(), costs).unwrap();
    let their_trades = theirs["trades"].as_array().unwrap();
    assert_eq!(ours.trades.len(), their_trades.len(), "number of trades");
    for (i, (a, b)) in ours.trades.iter().zip(their_trades).enumerate() {
        assert_eq!(
            a.entry_time_ms,
            b["entry_time_ms"].as_i64().unwrap(),
            "trade {i} entry"
        );
        assert_eq!(
            a.exit_time_ms,
            b["exit_time_ms"].as_i64().unwrap(),
            "trade {i} exit"
        );
        let price = b["entry_price"].as_f64().unwrap();
        assert!(
            (a.entry_price - price).abs() <= 1e-12 * price,
            "trade {i} entry price"
        );
    }
    let ratio = ours.equity.last().unwrap().equity / costs.cash;
    let their_ratio = theirs["final_equity_ratio"].as_f64().unwrap();
    let difference = (ratio / their_ratio - 1.0).abs();
    eprintln!(
        "{} trades on both sides; final equity ×{ratio:.6} (ours) vs ×{their_ratio:.6} \
         (backtesting.py): {:.4} % apart",
        ours.trades.len(),
        100.0 * difference
    );
    assert!(
        difference < 0.005,
        "final equity {:.3} % apart",
        100.0 * difference
    );
}
