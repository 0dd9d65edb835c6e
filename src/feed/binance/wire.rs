//! The Binance spot market-data wire format: parsing websocket events and REST kline answers,
//! and writing them (the simulated exchange speaks through the same functions).

use std::fmt::Write as _;

use serde::Deserialize;

use crate::domain::{Candle, Interval, Symbol, Trade};

/// A websocket event we understand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WsEvent {
    Kline {
        symbol: Symbol,
        interval: Interval,
        candle: Candle,
        closed: bool,
        event_time_ms: i64,
    },
    Trade {
        symbol: Symbol,
        trade: Trade,
        event_time_ms: i64,
    },
}

/// Why a message was not turned into an event. The message itself is never trusted further.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not valid JSON for a Binance event: {0}")]
    Json(#[from] serde_json::Error),
    #[error("event type {0:?} is not one we subscribe to")]
    UnknownEvent(String),
    #[error("field {field}: {reason}")]
    Field { field: &'static str, reason: String },
    #[error("kline is not a valid candle: {0}")]
    Candle(#[from] crate::domain::CandleError),
}

fn field_err(field: &'static str, reason: impl ToString) -> ParseError {
    ParseError::Field {
        field,
        reason: reason.to_string(),
    }
}

#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "e", borrow)]
    event_type: Option<&'a str>,
    #[serde(rename = "E")]
    event_time: Option<i64>,
    #[serde(rename = "s", borrow)]
    symbol: Option<&'a str>,
    #[serde(rename = "k", borrow)]
    kline: Option<RawKline<'a>>,
    #[serde(rename = "t")]
    trade_id: Option<u64>,
    #[serde(rename = "p", borrow)]
    price: Option<&'a str>,
    #[serde(rename = "q", borrow)]
    quantity: Option<&'a str>,
    #[serde(rename = "T")]
    trade_time: Option<i64>,
    #[serde(rename = "m")]
    buyer_is_maker: Option<bool>,
}

#[derive(Deserialize)]
struct RawKline<'a> {
    t: i64,
    i: &'a str,
    o: &'a str,
    c: &'a str,
    h: &'a str,
    l: &'a str,
    v: &'a str,
    n: u64,
    x: bool,
    q: &'a str,
}

#[derive(Deserialize)]
struct Combined<'a> {
    #[serde(borrow)]
    data: RawEvent<'a>,
}

fn num(field: &'static str, text: &str) -> Result<f64, ParseError> {
    let value: f64 = text
        .parse()
        .map_err(|_| field_err(field, format!("{text:?} is not a number")))?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(field_err(field, format!("{text:?} is not finite")))
    }
}

fn need<T>(field: &'static str, value: Option<T>) -> Result<T, ParseError> {
    value.ok_or_else(|| field_err(field, "missing"))
}

/// Parses one text frame, either a raw-stream event or a combined-stream `{"stream":..,"data":..}`.
pub fn parse_ws_message(text: &str) -> Result<WsEvent, ParseError> {
    let trimmed = text.trim_start();
    let raw: RawEvent<'_> = if trimmed.starts_with("{\"stream\"") {
        serde_json::from_str::<Combined<'_>>(trimmed)?.data
    } else {
        serde_json::from_str(trimmed)?
    };
    let event_type = need("e", raw.event_type)?;
    let event_time_ms = need("E", raw.event_time)?;
    let symbol = Symbol::new(need("s", raw.symbol)?).map_err(|e| field_err("s", e))?;
    match event_type {
        "kline" => {
            let k = need("k", raw.kline)?;
            let interval: Interval = k.i.parse().map_err(|e| field_err("k.i", e))?;
            if !interval.is_aligned(k.t) {
                return Err(field_err(
                    "k.t",
                    format!("open time {} is not on the {interval} grid", k.t),
                ));
            }
            let candle = Candle {
                open_time_ms: k.t,
                open: num("k.o", k.o)?,
                high: num("k.h", k.h)?,
                low: num("k.l", k.l)?,
                close: num("k.c", k.c)?,
                volume: num("k.v", k.v)?,
                quote_volume: num("k.q", k.q)?,
                trades: k.n,
            };
            candle.validate()?;
            Ok(WsEvent::Kline {
                symbol,
                interval,
                candle,
                closed: k.x,
                event_time_ms,
            })
        }
        "trade" => {
            let price = num("p", need("p", raw.price)?)?;
            let quantity = num("q", need("q", raw.quantity)?)?;
            if price <= 0.0 {
                return Err(field_err("p", format!("price {price} is not positive")));
            }
            if quantity < 0.0 {
                return Err(field_err("q", format!("quantity {quantity} is negative")));
            }
            Ok(WsEvent::Trade {
                symbol,
                trade: Trade {
                    trade_id: need("t", raw.trade_id)?,
                    time_ms: need("T", raw.trade_time)?,
                    price,
                    quantity,
                    buyer_is_maker: need("m", raw.buyer_is_maker)?,
                },
                event_time_ms,
            })
        }
        other => Err(ParseError::UnknownEvent(other.to_string())),
    }
}

type RawRestKline<'a> = (
    i64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    i64,
    &'a str,
    u64,
    &'a str,
    &'a str,
    &'a str,
);

/// A REST kline row: the candle and its close time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RestKline {
    pub candle: Candle,
    pub close_time_ms: i64,
}

/// Parses the answer of `GET /api/v3/klines`: an array of 12-element arrays, oldest first.
/// Every row is checked; one bad row rejects the whole answer (with its index).
pub fn parse_rest_klines(body: &str, interval: Interval) -> Result<Vec<RestKline>, ParseError> {
    let rows: Vec<RawRestKline<'_>> = serde_json::from_str(body)?;
    let mut out = Vec::with_capacity(rows.len());
    let mut previous: Option<i64> = None;
    for (index, row) in rows.iter().enumerate() {
        let wrap = |e: ParseError| field_err("klines", format!("row {index}: {e}"));
        let candle = Candle {
            open_time_ms: row.0,
            open: num("open", row.1).map_err(wrap)?,
            high: num("high", row.2).map_err(wrap)?,
            low: num("low", row.3).map_err(wrap)?,
            close: num("close", row.4).map_err(wrap)?,
            volume: num("volume", row.5).map_err(wrap)?,
            quote_volume: num("quote_volume", row.7).map_err(wrap)?,
            trades: row.8,
        };
        candle.validate().map_err(|e| wrap(e.into()))?;
        if !interval.is_aligned(candle.open_time_ms) {
            return Err(wrap(field_err(
                "open_time",
                format!("{} is not on the {interval} grid", candle.open_time_ms),
            )));
        }
        if previous.is_some_and(|p| p >= candle.open_time_ms) {
            return Err(wrap(field_err("open_time", "not increasing")));
        }
        previous = Some(candle.open_time_ms);
        out.push(RestKline {
            candle,
            close_time_ms: row.6,
        });
    }
    Ok(out)
}

/// Stream name of a kline stream (`btcusdt@kline_1m`).
pub fn kline_stream(symbol: Symbol, interval: Interval) -> String {
    format!("{}@kline_{}", symbol.stream_name(), interval)
}

/// Stream name of a trade stream (`btcusdt@trade`).
pub fn trade_stream(symbol: Symbol) -> String {
    format!("{}@trade", symbol.stream_name())
}

/// What a stream name asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    Kline(Symbol, Interval),
    Trade(Symbol),
}

/// Parses `btcusdt@kline_1m` or `btcusdt@trade`.
pub fn parse_stream_name(name: &str) -> Option<StreamKind> {
    let (symbol, kind) = name.split_once('@')?;
    let symbol = Symbol::new(symbol).ok()?;
    if kind == "trade" {
        return Some(StreamKind::Trade(symbol));
    }
    let interval = kind.strip_prefix("kline_")?.parse().ok()?;
    Some(StreamKind::Kline(symbol, interval))
}

/// Writes a kline event as Binance sends it.
pub fn write_kline_event(
    out: &mut String,
    symbol: Symbol,
    interval: Interval,
    candle: &Candle,
    closed: bool,
    event_time_ms: i64,
) {
    let s = symbol.as_str();
    let _ = write!(
        out,
        r#"{{"e":"kline","E":{event_time_ms},"s":"{s}","k":{{"t":{t},"T":{close_t},"s":"{s}","i":"{i}","f":0,"L":0,"o":"{o}","c":"{c}","h":"{h}","l":"{l}","v":"{v}","n":{n},"x":{closed},"q":"{q}","V":"0","Q":"0","B":"0"}}}}"#,
        t = candle.open_time_ms,
        close_t = candle.close_time_ms(interval.ms()),
        i = interval,
        o = candle.open,
        c = candle.close,
        h = candle.high,
        l = candle.low,
        v = candle.volume,
        n = candle.trades,
        q = candle.quote_volume,
    );
}

/// Writes a trade event as Binance sends it.
pub fn write_trade_event(out: &mut String, symbol: Symbol, trade: &Trade, event_time_ms: i64) {
    let _ = write!(
        out,
        r#"{{"e":"trade","E":{event_time_ms},"s":"{s}","t":{id},"p":"{p}","q":"{q}","T":{time},"m":{m},"M":true}}"#,
        s = symbol.as_str(),
        id = trade.trade_id,
        p = trade.price,
        q = trade.quantity,
        time = trade.time_ms,
        m = trade.buyer_is_maker,
    );
}

/// Wraps an event for a combined stream connection.
pub fn write_combined(out: &mut String, stream: &str, event: &str) {
    let _ = write!(out, r#"{{"stream":"{stream}","data":{event}}}"#);
}

/// Writes a REST klines answer.
pub fn write_rest_klines(interval: Interval, candles: &[Candle]) -> String {
    let mut out = String::with_capacity(candles.len() * 160 + 2);
    out.push('[');
    for (i, c) in candles.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"[{t},"{o}","{h}","{l}","{c}","{v}",{ct},"{q}",{n},"0","0","0"]"#,
            t = c.open_time_ms,
            o = c.open,
            h = c.high,
            l = c.low,
            c = c.close,
            v = c.volume,
            ct = c.close_time_ms(interval.ms()),
            q = c.quote_volume,
            n = c.trades,
        );
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests;
