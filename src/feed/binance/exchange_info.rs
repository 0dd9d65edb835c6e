//! `GET /api/v3/exchangeInfo`: the request for some symbols and the parsing of each symbol's
//! filters (price tick, quantity step, smallest quantity and order value) into [`SymbolFilters`].

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::{Symbol, SymbolFilters};

/// Symbols asked in one request: Binance takes any number, but a URL of a thousand symbols is
/// long enough for a proxy to refuse it.
pub const SYMBOLS_PER_REQUEST: usize = 100;

/// Why an exchangeInfo answer was not turned into filters.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeInfoError {
    #[error("not the JSON of an exchangeInfo answer: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{symbol} was asked for but is not in the answer")]
    MissingSymbol { symbol: Symbol },
    #[error("{symbol}: no \"filters\" array")]
    NoFilters { symbol: Symbol },
    #[error("{symbol}: filter {index} has no \"filterType\"")]
    NoFilterType { symbol: Symbol, index: usize },
    #[error("{symbol}: {filter}.{field} {value} is not a finite number of at least 0")]
    BadValue {
        symbol: Symbol,
        filter: String,
        field: &'static str,
        value: String,
    },
}

/// The path and query asking for `symbols` (`?symbols=["BTCUSDT","ETHUSDT"]`, percent-encoded
/// as Binance's documentation writes it).
pub fn exchange_info_path(symbols: &[Symbol]) -> String {
    let quoted: Vec<String> = symbols
        .iter()
        .map(|s| format!("%22{}%22", s.as_str()))
        .collect();
    format!("/api/v3/exchangeInfo?symbols=%5B{}%5D", quoted.join("%2C"))
}

#[derive(Deserialize)]
struct Answer {
    symbols: Vec<SymbolInfo>,
}

#[derive(Deserialize)]
struct SymbolInfo {
    symbol: String,
    filters: Option<Vec<Map<String, Value>>>,
}

/// The filters of each of `asked` (in that order, once each) from an exchangeInfo answer. A
/// filter the answer does not list is zero (no such filter); a listed one must carry its field.
pub fn parse_exchange_info(
    body: &str,
    asked: &[Symbol],
) -> Result<Vec<(Symbol, SymbolFilters)>, ExchangeInfoError> {
    let answer: Answer = serde_json::from_str(body)?;
    let mut out: Vec<(Symbol, SymbolFilters)> = Vec::with_capacity(asked.len());
    for &symbol in asked {
        if out.iter().any(|(s, _)| *s == symbol) {
            continue;
        }
        let info = answer
            .symbols
            .iter()
            .find(|info| info.symbol == symbol.as_str())
            .ok_or(ExchangeInfoError::MissingSymbol { symbol })?;
        let filters = info
            .filters
            .as_deref()
            .ok_or(ExchangeInfoError::NoFilters { symbol })?;
        out.push((symbol, symbol_filters(symbol, filters)?));
    }
    Ok(out)
}

fn symbol_filters(
    symbol: Symbol,
    filters: &[Map<String, Value>],
) -> Result<SymbolFilters, ExchangeInfoError> {
    let mut by_type = Vec::with_capacity(filters.len());
    for (index, filter) in filters.iter().enumerate() {
        let kind = filter
            .get("filterType")
            .and_then(Value::as_str)
            .ok_or(ExchangeInfoError::NoFilterType { symbol, index })?;
        by_type.push((kind, filter));
    }
    let value = |kind: &str, field: &'static str| -> Result<Option<f64>, ExchangeInfoError> {
        let Some((_, filter)) = by_type.iter().find(|(k, _)| *k == kind) else {
            return Ok(None);
        };
        let raw = filter.get(field);
        let number = match raw {
            Some(Value::String(text)) => text.trim().parse::<f64>().ok(),
            Some(Value::Number(n)) => n.as_f64(),
            _ => None,
        };
        match number {
            Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
            _ => Err(ExchangeInfoError::BadValue {
                symbol,
                filter: kind.to_string(),
                field,
                value: raw.map_or("missing".to_string(), Value::to_string),
            }),
        }
    };
    // NOTIONAL replaced MIN_NOTIONAL on Binance; a symbol stating both is read by the newer.
    let min_notional = match value("NOTIONAL", "minNotional")? {
        Some(v) => v,
        None => value("MIN_NOTIONAL", "minNotional")?.unwrap_or(0.0),
    };
    Ok(SymbolFilters {
        tick_size: value("PRICE_FILTER", "tickSize")?.unwrap_or(0.0),
        step_size: value("LOT_SIZE", "stepSize")?.unwrap_or(0.0),
        min_qty: value("LOT_SIZE", "minQty")?.unwrap_or(0.0),
        min_notional,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(s: &str) -> Symbol {
        Symbol::new(s).unwrap()
    }

    /// Binance's documented exchangeInfo example (ETHBTC; its `filters`, empty in the example,
    /// filled with the examples of the filters document) and a second symbol on the older
    /// MIN_NOTIONAL filter.
    const DOCUMENTED: &str = r#"{
      "timezone": "UTC",
      "serverTime": 1565246363776,
      "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}],
      "exchangeFilters": [],
      "symbols": [
        {
          "symbol": "ETHBTC", "status": "TRADING", "baseAsset": "ETH", "baseAssetPrecision": 8,
          "quoteAsset": "BTC", "quotePrecision": 8, "quoteAssetPrecision": 8,
          "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT"],
          "icebergAllowed": true, "ocoAllowed": true, "isSpotTradingAllowed": true,
          "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.00000100", "maxPrice": "100000.00000000", "tickSize": "0.00000100"},
            {"filterType": "LOT_SIZE", "minQty": "0.00100000", "maxQty": "100000.00000000", "stepSize": "0.00100000"},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {"filterType": "NOTIONAL", "minNotional": "10.00000000", "applyMinToMarket": false,
             "maxNotional": "10000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 25}
          ],
          "permissions": [], "permissionSets": [["SPOT", "MARGIN"]],
          "defaultSelfTradePreventionMode": "NONE", "allowedSelfTradePreventionModes": ["NONE"]
        },
        {
          "symbol": "BNBBTC", "status": "TRADING",
          "filters": [
            {"filterType": "MIN_NOTIONAL", "minNotional": "0.00010000", "applyToMarket": true, "avgPriceMins": 5}
          ]
        }
      ]
    }"#;

    #[test]
    fn reads_the_documented_answer() {
        let got = parse_exchange_info(DOCUMENTED, &[sym("BNBBTC"), sym("ETHBTC")]).unwrap();
        assert_eq!(
            got,
            vec![
                (
                    sym("BNBBTC"),
                    SymbolFilters {
                        min_notional: 0.0001,
                        ..SymbolFilters::NONE
                    }
                ),
                (
                    sym("ETHBTC"),
                    SymbolFilters {
                        tick_size: 0.000001,
                        step_size: 0.001,
                        min_qty: 0.001,
                        min_notional: 10.0,
                    }
                ),
            ]
        );
        // Asked twice, answered once; not asked, not answered.
        let once = parse_exchange_info(DOCUMENTED, &[sym("ETHBTC"), sym("ETHBTC")]).unwrap();
        assert_eq!(once.len(), 1);
    }

    #[test]
    fn notional_is_preferred_to_the_older_min_notional() {
        let body = r#"{"symbols":[{"symbol":"BTCUSDT","filters":[
            {"filterType":"MIN_NOTIONAL","minNotional":"10.0"},
            {"filterType":"NOTIONAL","minNotional":"5.00000000"}]}]}"#;
        let got = parse_exchange_info(body, &[sym("BTCUSDT")]).unwrap();
        assert_eq!(got[0].1.min_notional, 5.0);
    }

    fn error(body: &str, asked: &str) -> String {
        parse_exchange_info(body, &[sym(asked)])
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn garbage_is_refused_saying_what_and_where() {
        let e = error("<html>502 Bad Gateway</html>", "BTCUSDT");
        assert!(
            e.starts_with("not the JSON of an exchangeInfo answer"),
            "{e}"
        );
        let e = error(r#"{"timezone":"UTC"}"#, "BTCUSDT");
        assert!(e.contains("symbols"), "{e}");

        let e = error(DOCUMENTED, "BTCUSDT");
        assert_eq!(e, "BTCUSDT was asked for but is not in the answer");

        let e = error(r#"{"symbols":[{"symbol":"BTCUSDT"}]}"#, "BTCUSDT");
        assert_eq!(e, "BTCUSDT: no \"filters\" array");
        let e = error(
            r#"{"symbols":[{"symbol":"BTCUSDT","filters":null}]}"#,
            "BTCUSDT",
        );
        assert_eq!(e, "BTCUSDT: no \"filters\" array");
        let e = error(
            r#"{"symbols":[{"symbol":"BTCUSDT","filters":[{"tickSize":"0.01"}]}]}"#,
            "BTCUSDT",
        );
        assert_eq!(e, "BTCUSDT: filter 0 has no \"filterType\"");

        for (bad, shown) in [
            (r#""abc""#, r#""abc""#),
            (r#""-1""#, r#""-1""#),
            (r#""NaN""#, r#""NaN""#),
            (r#""inf""#, r#""inf""#),
            (r#""""#, r#""""#),
            ("-0.5", "-0.5"),
            ("true", "true"),
            ("null", "null"),
        ] {
            let body = format!(
                r#"{{"symbols":[{{"symbol":"BTCUSDT","filters":[{{"filterType":"PRICE_FILTER","tickSize":{bad}}}]}}]}}"#
            );
            let e = error(&body, "BTCUSDT");
            assert_eq!(
                e,
                format!(
                    "BTCUSDT: PRICE_FILTER.tickSize {shown} is not a finite number of at least 0"
                )
            );
        }
        let e = error(
            r#"{"symbols":[{"symbol":"ETHUSDT","filters":[{"filterType":"LOT_SIZE","stepSize":"0.0001"}]}]}"#,
            "ETHUSDT",
        );
        assert_eq!(
            e,
            "ETHUSDT: LOT_SIZE.minQty missing is not a finite number of at least 0"
        );
        let e = error(
            r#"{"symbols":[{"symbol":"ETHUSDT","filters":[{"filterType":"NOTIONAL","minNotional":"1e999"}]}]}"#,
            "ETHUSDT",
        );
        assert!(
            e.starts_with("ETHUSDT: NOTIONAL.minNotional \"1e999\""),
            "{e}"
        );
    }

    #[test]
    fn the_query_is_a_percent_encoded_json_array() {
        assert_eq!(
            exchange_info_path(&[sym("BTCUSDT"), sym("ETHUSDT")]),
            "/api/v3/exchangeInfo?symbols=%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D"
        );
    }
}
