//! The REST endpoints: ping, time, exchangeInfo and klines, with Binance's error codes and
//! messages for bad parameters, and the request-weight header.

use std::sync::PoisonError;

use serde_json::json;

use super::server::{Context, RequestHead};
use crate::domain::{Interval, Symbol};
use crate::feed::binance::write_rest_klines;

/// Binance's page size limits for klines.
const DEFAULT_LIMIT: usize = 500;
const MAX_LIMIT: usize = 1000;

/// An HTTP answer with a JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub retry_after_secs: Option<u64>,
    pub used_weight: Option<u32>,
    /// Send only half of it, then drop the connection (a fault for tests).
    pub cut: bool,
}

impl Answer {
    pub fn ok(body: String) -> Self {
        Self {
            status: 200,
            body,
            retry_after_secs: None,
            used_weight: None,
            cut: false,
        }
    }

    /// A Binance-style error: `{"code":-1121,"msg":"Invalid symbol."}`.
    pub fn error(status: u16, code: i32, msg: &str) -> Self {
        Self {
            status,
            body: json!({ "code": code, "msg": msg }).to_string(),
            retry_after_secs: None,
            used_weight: None,
            cut: false,
        }
    }

    pub fn to_bytes(&self, keep_alive: bool) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            418 => "I'm a teapot",
            429 => "Too Many Requests",
            _ => "Error",
        };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: {}\r\n",
            self.status,
            self.body.len()
        );
        if let Some(secs) = self.retry_after_secs {
            head.push_str(&format!("Retry-After: {secs}\r\n"));
        }
        if let Some(weight) = self.used_weight {
            head.push_str(&format!("X-MBX-USED-WEIGHT-1M: {weight}\r\n"));
        }
        head.push_str(if keep_alive {
            "Connection: keep-alive\r\n\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}

/// Answers one REST request. Never panics on any input.
pub fn answer(context: &Context, head: &RequestHead) -> Answer {
    context.faults.count_rest_request();
    if head.method != "GET" {
        return Answer::error(405, -1000, "Only GET is supported.");
    }
    let (path, query) = head.target.split_once('?').unwrap_or((&head.target, ""));
    let (weight, mut answer) = match path {
        "/api/v3/ping" => (1, Answer::ok("{}".into())),
        "/api/v3/time" => (
            1,
            Answer::ok(json!({ "serverTime": context.exchange.now_ms() }).to_string()),
        ),
        "/api/v3/exchangeInfo" => (20, super::exchange_info::exchange_info(context, query)),
        "/api/v3/klines" => match context.faults.take_rate_limit() {
            Some(secs) => {
                let mut limited = Answer::error(429, -1003, "Too many requests.");
                limited.retry_after_secs = Some(secs);
                (2, limited)
            }
            None if context.faults.is_banned() => (
                2,
                Answer::error(418, -1003, "Way too many requests; IP banned."),
            ),
            None if context.faults.take_garbage() => {
                (2, Answer::ok(r#"[[1,"x"],{"not":"a kline"},"#.to_string()))
            }
            None => {
                let mut answer = klines(context, query).unwrap_or_else(|e| e);
                answer.cut = context.faults.take_cut();
                (2, answer)
            }
        },
        _ => (
            1,
            Answer::error(404, -1000, &format!("Unknown endpoint {path}.")),
        ),
    };
    answer.used_weight = Some(add_weight(context, weight));
    answer
}

/// Adds to the weight used in the current wall-clock minute and returns the total.
fn add_weight(context: &Context, weight: u32) -> u32 {
    let minute = super::wall_clock_ms().div_euclid(60_000);
    let mut used = context
        .weight
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if used.0 != minute {
        *used = (minute, 0);
    }
    used.1 = used.1.saturating_add(weight);
    used.1
}

/// Decodes `%XX` and `+` in a query component; `None` for a broken escape or non-UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Splits a query string into decoded pairs; a name given twice is an error, as on Binance.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, Answer> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let (Some(name), Some(value)) = (percent_decode(name), percent_decode(value)) else {
            return Err(Answer::error(
                400,
                -1100,
                "Illegal characters found in a parameter.",
            ));
        };
        if pairs.iter().any(|(n, _)| *n == name) {
            return Err(Answer::error(
                400,
                -1101,
                "Duplicate values for a parameter detected.",
            ));
        }
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn mandatory(name: &str) -> Answer {
    Answer::error(
        400,
        -1102,
        &format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
    )
}

fn illegal(name: &str, range: &str) -> Answer {
    Answer::error(
        400,
        -1100,
        &format!("Illegal characters found in parameter '{name}'; legal range is '{range}'."),
    )
}

fn whole_number<T: std::str::FromStr>(name: &str, text: &str) -> Result<T, Answer> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(illegal(name, "^[0-9]{1,20}$"));
    }
    text.parse().map_err(|_| illegal(name, "^[0-9]{1,20}$"))
}

fn klines(context: &Context, query: &str) -> Result<Answer, Answer> {
    let params = parse_query(query)?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let symbol_text = get("symbol").ok_or_else(|| mandatory("symbol"))?;
    let symbol = Symbol::new(symbol_text)
        .ok()
        .filter(|s| s.as_str() == symbol_text)
        .ok_or_else(|| illegal("symbol", "^[A-Z0-9-_.]{1,20}$"))?;
    if context.exchange.listing(symbol).is_none() {
        return Err(Answer::error(400, -1121, "Invalid symbol."));
    }
    let interval_text = get("interval").ok_or_else(|| mandatory("interval"))?;
    let start_ms: Option<i64> = get("startTime")
        .map(|t| whole_number("startTime", t))
        .transpose()?;
    let end_ms: Option<i64> = get("endTime")
        .map(|t| whole_number("endTime", t))
        .transpose()?;
    let limit: usize = get("limit")
        .map(|t| whole_number("limit", t))
        .transpose()?
        .unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Answer::error(
            400,
            -1130,
            "Invalid data sent for a parameter: limit must be from 1 to 1000.",
        ));
    }
    if let (Some(start), Some(end)) = (start_ms, end_ms)
        && start > end
    {
        return Err(Answer::error(
            400,
            -1023,
            "Start time is greater than end time.",
        ));
    }
    let invalid_interval = || Answer::error(400, -1120, "Invalid interval.");
    let interval: Interval = interval_text.parse().map_err(|_| invalid_interval())?;
    let candles = context
        .exchange
        .with_tape(symbol, |tape| {
            tape.serves(interval)
                .then(|| tape.klines(interval, start_ms, end_ms, limit))
        })
        .ok_or_else(|| Answer::error(400, -1121, "Invalid symbol."))?
        .ok_or_else(invalid_interval)?;
    Ok(Answer::ok(write_rest_klines(interval, &candles)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_queries() {
        let pairs = parse_query("symbol=BTC%55SDT&interval=1m&&x").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("symbol".into(), "BTCUSDT".into()),
                ("interval".into(), "1m".into()),
                ("x".into(), String::new()),
            ]
        );
        assert_eq!(parse_query("a=%zz").unwrap_err().status, 400);
        assert_eq!(parse_query("a=%4").unwrap_err().status, 400);
        assert_eq!(parse_query("a=%ff%fe").unwrap_err().status, 400);
        let duplicate = parse_query("limit=1&limit=2").unwrap_err();
        assert!(duplicate.body.contains("-1101"), "{}", duplicate.body);
    }

    #[test]
    fn whole_numbers_only() {
        assert_eq!(whole_number::<i64>("limit", "12"), Ok(12));
        for bad in [
            "",
            "-1",
            "1.5",
            "1e3",
            "abc",
            "123456789012345678901",
            "99999999999999999999",
        ] {
            let e = whole_number::<i64>("startTime", bad).unwrap_err();
            assert!(e.body.contains("'startTime'"), "{bad}: {}", e.body);
            assert!(e.body.contains("-1100"), "{bad}: {}", e.body);
        }
    }

    #[test]
    fn answers_carry_headers() {
        let mut a = Answer::error(429, -1003, "Too many requests.");
        a.retry_after_secs = Some(3);
        a.used_weight = Some(7);
        let text = String::from_utf8(a.to_bytes(false)).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
            "{text}"
        );
        assert!(text.contains("Retry-After: 3\r\n"));
        assert!(text.contains("X-MBX-USED-WEIGHT-1M: 7\r\n"));
        assert!(text.contains("Connection: close\r\n"));
        assert!(
            text.ends_with(r#"{"code":-1003,"msg":"Too many requests."}"#),
            "{text}"
        );
    }
}
