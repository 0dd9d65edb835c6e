//! `GET /api/v3/exchangeInfo`: every listing, or those `symbol=` / `symbols=[...]` ask for, with
//! Binance's filters derived from each listing's price and quantity decimals.

use serde_json::{Value, json};

use super::exchange::Listing;
use super::rest::{Answer, parse_query};
use super::server::Context;
use crate::domain::Symbol;

/// Binance's own BTCUSDT maxNotional; the limit rarely matters to a paper order.
const MAX_NOTIONAL: &str = "9000000.00000000";

/// The answer to an exchangeInfo request with `query`.
pub fn exchange_info(context: &Context, query: &str) -> Answer {
    match asked(context, query) {
        Ok(listings) => Answer::ok(
            json!({
                "timezone": "UTC",
                "serverTime": context.exchange.now_ms(),
                "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                                "intervalNum": 1, "limit": 6000}],
                "exchangeFilters": [],
                "symbols": listings.into_iter().map(symbol_info).collect::<Vec<_>>(),
            })
            .to_string(),
        ),
        Err(answer) => answer,
    }
}

/// The listings asked for, as Binance picks them: all without parameters, one by `symbol`, a
/// JSON array by `symbols`; an unlisted symbol is refused (-1121), both parameters too (-1128).
fn asked<'a>(context: &'a Context, query: &str) -> Result<Vec<&'a Listing>, Answer> {
    let params = parse_query(query)?;
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let names: Vec<String> = match (get("symbol"), get("symbols")) {
        (None, None) => return Ok(context.exchange.listings().iter().collect()),
        (Some(_), Some(_)) => {
            return Err(Answer::error(
                400,
                -1128,
                "Combination of optional parameters invalid.",
            ));
        }
        (Some(one), None) => vec![one.clone()],
        (None, Some(array)) => serde_json::from_str::<Vec<String>>(array)
            .ok()
            .filter(|names| !names.is_empty())
            .ok_or_else(|| {
                Answer::error(
                    400,
                    -1100,
                    "Illegal characters found in parameter 'symbols'; legal range is \
                     '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.",
                )
            })?,
    };
    let mut listings: Vec<&Listing> = Vec::with_capacity(names.len());
    for name in names {
        let listing = Symbol::new(&name)
            .ok()
            .filter(|s| s.as_str() == name)
            .and_then(|s| context.exchange.listing(s))
            .ok_or_else(|| Answer::error(400, -1121, "Invalid symbol."))?;
        if !listings.iter().any(|l| l.symbol == listing.symbol) {
            listings.push(listing);
        }
    }
    Ok(listings)
}

fn symbol_info(listing: &Listing) -> Value {
    json!({
        "symbol": listing.symbol.as_str(),
        "status": "TRADING",
        "baseAsset": listing.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": listing.quote_asset,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "isSpotTradingAllowed": true,
        "filters": filters(listing),
    })
}

/// PRICE_FILTER, LOT_SIZE and NOTIONAL as Binance states them. A listing whose decimals the
/// exchange does not know states none: inventing a tick would make paper orders refuse prices
/// the recording itself traded at.
fn filters(listing: &Listing) -> Value {
    let Some((price, quantity)) = listing.decimals else {
        return json!([]);
    };
    // The model's decimals follow the price level (6 - log10 of the start price for prices, 1 +
    // it for quantities; see `SymbolParams`), so 10^(8 - price decimals) is 10 to 100 times the
    // start price (BTCUSDT: 1,000,000, Binance's own) and 9 * 10^(8 - quantity decimals) keeps the
    // largest order between 10^7 and 10^9 of the quote asset (BTCUSDT: 9000, Binance's own).
    json!([
        {"filterType": "PRICE_FILTER", "minPrice": step(price),
         "maxPrice": decimal(10f64.powi(8 - price as i32)), "tickSize": step(price)},
        {"filterType": "LOT_SIZE", "minQty": step(quantity),
         "maxQty": decimal(9.0 * 10f64.powi(8 - quantity as i32)), "stepSize": step(quantity)},
        {"filterType": "NOTIONAL", "minNotional": min_notional(&listing.quote_asset),
         "applyMinToMarket": true, "maxNotional": MAX_NOTIONAL, "applyMaxToMarket": false,
         "avgPriceMins": 5},
    ])
}

/// About five US dollars in the quote asset, as Binance sets it: 5 of a dollar-like or fiat quote
/// asset, Binance's figures for the crypto ones. Any other quote asset is taken as dollar-like.
fn min_notional(quote_asset: &str) -> String {
    let value = match quote_asset {
        "BTC" => 0.0001,
        "ETH" => 0.001,
        "BNB" => 0.01,
        _ => 5.0,
    };
    decimal(value)
}

/// `10^-decimals` written as Binance does (`0.01000000`).
pub fn step(decimals: u32) -> String {
    decimal(10f64.powi(-(decimals as i32)))
}

/// A number with Binance's eight decimals.
fn decimal(value: f64) -> String {
    format!("{value:.8}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_binance_does() {
        assert_eq!(step(2), "0.01000000");
        assert_eq!(step(0), "1.00000000");
        assert_eq!(step(8), "0.00000001");
        assert_eq!(decimal(9.0 * 10f64.powi(3)), "9000.00000000");
        assert_eq!(min_notional("USDT"), "5.00000000");
        assert_eq!(min_notional("BTC"), "0.00010000");
    }
}
