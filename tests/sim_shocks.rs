//! Volatility shocks of the simulated exchange: what REST serves is what `generate_candles` gives,
//! other symbols and earlier minutes are untouched, and bad shocks are refused clearly (options,
//! `serve-sim --shock`).

#![allow(clippy::unwrap_used)]

mod support;

use trademon::domain::{Candle, Interval, Symbol};
use trademon::feed::binance::parse_rest_klines;
use trademon::feed::sim::{
    SimHandle, SimOptions, VolatilityShock, generate_candles, model_candles, start,
};

/// 2023-11-15 00:00 UTC.
const START_MS: i64 = 1_700_006_400_000;
const HISTORY: usize = 600;

fn symbol(name: &str) -> Symbol {
    Symbol::new(name).unwrap()
}

fn options(shocks: Vec<VolatilityShock>) -> SimOptions {
    let mut options = SimOptions::new(42, vec![symbol("BTCUSDT"), symbol("ETHUSDT")]);
    options.speed = 60.0;
    options.history_minutes = HISTORY as u32;
    options.start_ms = Some(START_MS);
    options.shocks = shocks;
    options
}

async fn klines(sim: &SimHandle, name: &str, from_ms: i64) -> Vec<Candle> {
    let url = format!(
        "{}/api/v3/klines?symbol={name}&interval=1m&startTime={from_ms}&limit=1000",
        sim.rest_url()
    );
    let body = reqwest::get(url).await.unwrap().text().await.unwrap();
    parse_rest_klines(&body, Interval::M1)
        .unwrap()
        .into_iter()
        .map(|k| k.candle)
        .collect()
}

#[tokio::test]
async fn rest_serves_the_generated_shocked_candles() {
    let first = START_MS - HISTORY as i64 * 60_000;
    let shocks = vec![VolatilityShock {
        symbol: symbol("BTCUSDT"),
        from_ms: START_MS - 300 * 60_000,
        factor: 3.0,
    }];
    let sim = start(options(shocks.clone()), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let btc = klines(&sim, "BTCUSDT", first).await;
    let eth = klines(&sim, "ETHUSDT", first).await;
    assert!(btc.len() >= HISTORY && eth.len() >= HISTORY);

    let generated = generate_candles(42, symbol("BTCUSDT"), first, HISTORY, &shocks);
    assert_eq!(btc[..HISTORY], generated[..]);
    let plain = model_candles(42, symbol("BTCUSDT"), first, HISTORY);
    assert_eq!(btc[..300], plain[..300], "minutes before the shock changed");
    assert_ne!(btc[300], plain[300]);
    // The other symbol: bit-identical to the unshocked model, with or without the shock list.
    let eth_plain = model_candles(42, symbol("ETHUSDT"), first, HISTORY);
    assert_eq!(eth[..HISTORY], eth_plain[..]);
    assert_eq!(
        generate_candles(42, symbol("ETHUSDT"), first, HISTORY, &shocks),
        eth_plain
    );
    sim.shutdown();
}

#[tokio::test]
async fn bad_shocks_are_refused_with_what_is_wrong() {
    let shock = |name: &str, factor: f64| VolatilityShock {
        symbol: symbol(name),
        from_ms: START_MS,
        factor,
    };
    let mut replay = options(vec![shock("BTCUSDT", 2.0)]);
    replay.replay = Some("whatever.csv".into());
    for (options, says) in [
        (
            options(vec![shock("BTCUSDT", 0.0)]),
            "BTCUSDT: factor 0 must be",
        ),
        (options(vec![shock("BTCUSDT", -1.0)]), "factor -1 must be"),
        (
            options(vec![shock("ETHUSDT", f64::NAN)]),
            "factor NaN must be",
        ),
        (
            options(vec![shock("BTCUSDT", f64::INFINITY)]),
            "factor inf must be",
        ),
        (
            options(vec![shock("SOLUSDT", 2.0)]),
            "SOLUSDT is not simulated (symbols: BTCUSDT ETHUSDT)",
        ),
        (
            options(vec![shock("BTCUSDT", 2.0), shock("BTCUSDT", 3.0)]),
            "BTCUSDT has two shocks from",
        ),
        (replay, "a replay plays its file as recorded"),
    ] {
        let e = start(options, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("option shocks: "), "{e}");
        assert!(e.contains(says), "{says}: {e}");
    }
}

#[test]
fn serve_sim_shock_garbage_exits_2_with_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (value, says) in [
        ("BTCUSDT:0", "factor 0 must be a finite number above 0"),
        ("BTCUSDT:-1", "factor -1 must be"),
        ("BTCUSDT:NaN", "factor NaN must be"),
        ("BTCUSDT:abc", "factor \"abc\" is not a number"),
        ("BTCUSDT3", "no ':' between the symbol and the factor"),
        ("BTCUSDT:3@yesterday", "\"yesterday\" is not a time"),
        ("btc/usdt:3", "symbol"),
    ] {
        let flag = format!("--shock={value}");
        let out = support::trademon(dir.path(), &["serve-sim", "--port", "0", &flag]);
        let stderr = support::text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {stderr}");
        assert!(stderr.starts_with("error: "), "{value}: {stderr}");
        assert!(stderr.contains("--shock"), "{value}: {stderr}");
        assert!(stderr.contains(&format!("{value:?}")), "{value}: {stderr}");
        assert!(stderr.contains(says), "{value}: {stderr}");
    }
    // A symbol the exchange does not simulate, and a replay: refused before anything starts.
    for (args, says) in [
        (
            vec!["--symbols", "ETHUSDT", "--shock", "BTCUSDT:3"],
            "--shock BTCUSDT:3: BTCUSDT is not simulated (symbols: ETHUSDT)",
        ),
        (
            vec!["--replay", "x.csv", "--shock", "BTCUSDT:3"],
            "--shock: a replay plays its file as recorded",
        ),
    ] {
        let mut all = vec!["serve-sim", "--port", "0"];
        all.extend(args);
        let out = support::trademon(dir.path(), &all);
        let stderr = support::text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(says), "{says}: {stderr}");
    }
}
