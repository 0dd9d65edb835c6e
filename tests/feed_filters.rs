//! Exchange filters end to end: the built-in exchange on a loopback port serves Binance's
//! exchangeInfo filters, and the real REST client reads them through `MarketSource::filters`;
//! an order quantity rounded down to the step then passes or fails the minimum notional as it
//! would on the exchange.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use trademon::domain::{Interval, Symbol, SymbolFilters};
use trademon::feed::binance::rest::RestClient;
use trademon::feed::sim::{BuiltIn, SimOptions};
use trademon::feed::{MarketSource, RestError};

/// 2023-11-15 00:00 UTC.
const START_MS: i64 = 1_700_006_400_000;

fn symbol(name: &str) -> Symbol {
    Symbol::new(name).unwrap()
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn simulated(symbols: &[&str]) -> BuiltIn {
    let mut options = SimOptions::new(5, symbols.iter().map(|s| symbol(s)).collect());
    options.history_minutes = 30;
    options.start_ms = Some(START_MS);
    BuiltIn::start(options, loopback()).await.unwrap()
}

/// `quantity` rounded down to a multiple of `step`, counted in whole steps so that a quantity
/// already on the step stays there (0.3 / 0.1 is 2.9999999999999996 in doubles).
fn floor_to_step(quantity: f64, step: f64) -> f64 {
    let steps = (quantity / step + 1e-9).floor();
    steps * step
}

#[tokio::test]
async fn the_built_in_exchange_serves_filters_the_client_reads() {
    let sim = simulated(&["BTCUSDT", "ETHUSDT", "ETHBTC"]).await;
    let source: &dyn MarketSource = &sim;
    let (btc, eth, ethbtc) = (symbol("BTCUSDT"), symbol("ETHUSDT"), symbol("ETHBTC"));

    let weight_before = source.used_weight();
    let filters = source.filters(&[eth, btc, ethbtc, btc]).await.unwrap();
    assert_eq!(
        filters.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [eth, btc, ethbtc],
        "in the order asked, once each"
    );
    // exchangeInfo weighs 20, and the request went through the weight-tracking path.
    assert!(source.used_weight() >= weight_before + 20);

    // BTCUSDT at about 65,000: Binance's own tick, step and minimum notional.
    let btc_filters = filters[1].1;
    assert_eq!(
        btc_filters,
        SymbolFilters {
            tick_size: 0.01,
            step_size: 0.00001,
            min_qty: 0.00001,
            min_notional: 5.0,
        }
    );
    assert_eq!(
        filters[0].1,
        SymbolFilters {
            tick_size: 0.001,
            step_size: 0.0001,
            min_qty: 0.0001,
            min_notional: 5.0,
        }
    );
    // Quoted in BTC: the minimum order is about five dollars of BTC.
    assert_eq!(filters[2].1.min_notional, 0.0001);
    assert_eq!(filters[2].1.tick_size, 0.00000001);

    // An order of 0.000123456 BTC is placed as 0.00012 BTC (rounded down to the step).
    let quantity = floor_to_step(0.000123456, btc_filters.step_size);
    assert_eq!(format!("{quantity:.8}"), "0.00012000");
    assert!((quantity - 0.00012).abs() < 1e-15, "{quantity}");
    assert!(quantity >= btc_filters.min_qty);
    assert_eq!(floor_to_step(0.00012, btc_filters.step_size), quantity);
    // At the last price it is worth more than the minimum notional; 0.00005 BTC is not.
    let last = source
        .klines_page(btc, Interval::M1, START_MS - 60_000, START_MS)
        .await
        .unwrap();
    let price = last.last().unwrap().close;
    assert!(price > 20_000.0 && price < 200_000.0, "{price}");
    assert!(quantity * price >= btc_filters.min_notional);
    let small = floor_to_step(0.000059, btc_filters.step_size);
    assert!(
        small * price < btc_filters.min_notional,
        "{small} x {price}"
    );

    // A symbol the exchange does not list: HTTP 400 with Binance's -1121, naming nothing else.
    let err = source
        .filters(&[btc, symbol("NOPEUSDT")])
        .await
        .unwrap_err();
    match &err {
        RestError::Status { status, body, url } => {
            assert_eq!(*status, 400, "{err}");
            assert!(body.contains("-1121"), "{err}");
            assert!(url.contains("NOPEUSDT"), "{err}");
        }
        other => panic!("expected HTTP 400, got {other}"),
    }
    sim.shutdown();
}

#[tokio::test]
async fn exchange_info_states_binance_filters_in_its_string_format() {
    let sim = simulated(&["BTCUSDT", "ETHUSDT"]).await;
    let get = |query: &str| {
        let url = format!("{}/api/v3/exchangeInfo{query}", sim.rest_url());
        async move {
            let response = reqwest::get(url).await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    let (status, body) = get("?symbol=BTCUSDT").await;
    assert_eq!(status, 200, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    let symbols = info["symbols"].as_array().unwrap();
    assert_eq!(symbols.len(), 1, "only the symbol asked for");
    let filters = &symbols[0]["filters"];
    assert_eq!(
        filters[0],
        serde_json::json!({"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
                           "maxPrice": "1000000.00000000", "tickSize": "0.01000000"})
    );
    assert_eq!(
        filters[1],
        serde_json::json!({"filterType": "LOT_SIZE", "minQty": "0.00001000",
                           "maxQty": "9000.00000000", "stepSize": "0.00001000"})
    );
    assert_eq!(
        filters[2],
        serde_json::json!({"filterType": "NOTIONAL", "minNotional": "5.00000000",
                           "applyMinToMarket": true, "maxNotional": "9000000.00000000",
                           "applyMaxToMarket": false, "avgPriceMins": 5})
    );

    // All listings without parameters; a JSON array as Binance's clients send it, raw or
    // percent-encoded; bad arrays and both parameters at once refused with Binance's codes.
    let count = |body: &str| {
        let info: serde_json::Value = serde_json::from_str(body).unwrap();
        info["symbols"].as_array().unwrap().len()
    };
    assert_eq!(count(&get("").await.1), 2);
    assert_eq!(count(&get(r#"?symbols=["ETHUSDT"]"#).await.1), 1);
    assert_eq!(
        count(&get("?symbols=%5B%22ETHUSDT%22,%22BTCUSDT%22%5D").await.1),
        2
    );
    for (query, code) in [
        ("?symbols=ETHUSDT", -1100),
        ("?symbols=[]", -1100),
        (r#"?symbols=["ethusdt"]"#, -1121),
        ("?symbol=NOPEUSDT", -1121),
        (r#"?symbol=BTCUSDT&symbols=["ETHUSDT"]"#, -1128),
    ] {
        let (status, body) = get(query).await;
        assert_eq!(status, 400, "{query}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["code"].as_i64(), Some(code), "{query}: {body}");
    }

    // The client reads the same answer.
    let client = RestClient::new(&sim.rest_url());
    let read = client.filters(&[symbol("ETHUSDT")]).await.unwrap();
    assert_eq!(read[0].1.step_size, 0.0001);
    sim.shutdown();
}

#[tokio::test]
async fn a_replay_states_no_filters_it_cannot_know() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("SOLUSDT-1m.csv");
    let rows: String = (0..120)
        .map(|i| {
            let open = 150.0 + f64::from(i) * 0.01;
            format!(
                "{},{open:.2},{:.2},{:.2},{:.2},12.5\n",
                START_MS + i64::from(i) * 60_000,
                open + 0.05,
                open - 0.05,
                open + 0.01
            )
        })
        .collect();
    std::fs::write(&file, rows).unwrap();
    let mut options = SimOptions::new(1, Vec::new());
    options.replay = Some(file);
    options.history_minutes = 60;
    let replay = BuiltIn::start(options, loopback()).await.unwrap();
    assert_eq!(replay.name(), "replay");
    let sol = symbol("SOLUSDT");
    let filters = replay.filters(&[sol]).await.unwrap();
    assert_eq!(filters, vec![(sol, SymbolFilters::NONE)]);
    replay.shutdown();
}
