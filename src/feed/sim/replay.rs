//! Replay of a recorded file (candles or trades CSV) as a tape, so the exchange can serve real
//! history through the same protocol. A malformed file is refused with its line and the reason.

use std::path::Path;

use super::SimError;
use super::tape::Unit;
use crate::domain::{Candle, Interval, Symbol, Trade, TradeAggregator};

/// A loaded recording: the units of one symbol, oldest first.
#[derive(Debug)]
pub struct Recording {
    pub symbol: Symbol,
    /// The finest interval of the recording: 1m for trades, the smallest step for candles.
    pub base: Interval,
    pub units: Vec<Unit>,
}

impl Recording {
    /// Open time of the first candle (a loaded recording is never empty).
    pub fn first_open_ms(&self) -> i64 {
        self.units.first().map_or(0, |u| u.candle.open_time_ms)
    }
}

struct Reader<'a> {
    file: &'a Path,
    line: usize,
}

impl Reader<'_> {
    fn error(&self, reason: impl Into<String>) -> SimError {
        SimError::Replay {
            file: self.file.to_path_buf(),
            line: self.line,
            reason: reason.into(),
        }
    }

    fn int<T: std::str::FromStr>(&self, name: &str, text: &str) -> Result<T, SimError> {
        text.trim()
            .parse()
            .map_err(|_| self.error(format!("{name} {text:?} is not a whole number")))
    }

    fn number(&self, name: &str, text: &str) -> Result<f64, SimError> {
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.error(format!("{name} {text:?} is not a finite number"))),
        }
    }
}

/// The symbol a file is named for: `XRPETH-trades.csv` → `XRPETH`.
pub fn symbol_from_file_name(path: &Path) -> Option<Symbol> {
    let stem = path.file_stem()?.to_str()?;
    let prefix = stem.split('-').next()?;
    Symbol::new(prefix).ok()
}

/// Loads a candles CSV (`open_time_ms,open,high,low,close,volume`, or Binance's 12-column dump)
/// or a trades CSV (`time_ms,trade_id,side,price,amount`). A header line is optional.
pub fn load(path: &Path, symbol: Option<Symbol>) -> Result<Recording, SimError> {
    let text = std::fs::read_to_string(path).map_err(|source| SimError::ReplayRead {
        file: path.to_path_buf(),
        source,
    })?;
    let symbol = symbol
        .or_else(|| symbol_from_file_name(path))
        .ok_or_else(|| SimError::ReplaySymbol {
            file: path.to_path_buf(),
        })?;
    let mut rows = text
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim_end_matches('\r')))
        .filter(|(_, line)| !line.trim().is_empty())
        .peekable();
    let is_header = |line: &str| {
        let first = line.split(',').next().unwrap_or("").trim();
        first.parse::<i64>().is_err()
    };
    // A header names the format (a `side` column means trades); without one, the data does.
    let header = rows
        .peek()
        .filter(|(_, line)| is_header(line))
        .map(|(_, line)| line.to_ascii_lowercase());
    if header.is_some() {
        rows.next();
    }
    let Some(&(_, first)) = rows.peek() else {
        return Err(SimError::Replay {
            file: path.to_path_buf(),
            line: 1,
            reason: "no data rows".into(),
        });
    };
    let is_trades = match header {
        Some(header) => header.split(',').any(|column| column.trim() == "side"),
        None => first
            .split(',')
            .nth(2)
            .is_some_and(|side| side.trim().chars().all(|c| c.is_ascii_alphabetic())),
    };
    let (units, base) = if is_trades {
        (load_trades(path, rows)?, Interval::M1)
    } else {
        let (units, lines) = load_candles(path, rows)?;
        let base = detect_base(path, &units, &lines)?;
        (units, base)
    };
    Ok(Recording {
        symbol,
        base,
        units,
    })
}

fn load_trades<'a>(
    path: &Path,
    rows: impl Iterator<Item = (usize, &'a str)>,
) -> Result<Vec<Unit>, SimError> {
    let mut reader = Reader {
        file: path,
        line: 0,
    };
    let mut aggregator = TradeAggregator::new(Interval::M1);
    let mut units = Vec::new();
    let mut pending: Vec<Trade> = Vec::new();
    let mut previous: Option<Trade> = None;
    for (line, text) in rows {
        reader.line = line;
        let fields: Vec<&str> = text.split(',').collect();
        if fields.len() != 5 {
            return Err(reader.error(format!(
                "expected 5 columns time_ms,trade_id,side,price,amount, found {}",
                fields.len()
            )));
        }
        let time_ms: i64 = reader.int("time_ms", fields[0])?;
        let trade_id: u64 = reader.int("trade_id", fields[1])?;
        let buyer_is_maker = match fields[2].trim().to_ascii_lowercase().as_str() {
            "buy" => false,
            "sell" => true,
            other => return Err(reader.error(format!("side {other:?} is neither buy nor sell"))),
        };
        let price = reader.number("price", fields[3])?;
        let quantity = reader.number("amount", fields[4])?;
        if price <= 0.0 {
            return Err(reader.error(format!("price {price} is not above zero")));
        }
        if quantity < 0.0 {
            return Err(reader.error(format!("amount {quantity} is negative")));
        }
        if let Some(before) = previous {
            if time_ms < before.time_ms {
                return Err(reader.error(format!(
                    "time {time_ms} is before the previous trade's {}",
                    before.time_ms
                )));
            }
            if trade_id <= before.trade_id {
                return Err(reader.error(format!(
                    "trade id {trade_id} does not increase (previous {})",
                    before.trade_id
                )));
            }
        }
        let trade = Trade {
            trade_id,
            time_ms,
            price,
            quantity,
            buyer_is_maker,
        };
        if let Some(candle) = aggregator.push(&trade) {
            units.push(Unit {
                candle,
                trades: std::mem::take(&mut pending),
            });
        }
        pending.push(trade);
        previous = Some(trade);
    }
    if let Some(candle) = aggregator.flush() {
        units.push(Unit {
            candle,
            trades: pending,
        });
    }
    Ok(units)
}

fn load_candles<'a>(
    path: &Path,
    rows: impl Iterator<Item = (usize, &'a str)>,
) -> Result<(Vec<Unit>, Vec<usize>), SimError> {
    let mut reader = Reader {
        file: path,
        line: 0,
    };
    let mut units: Vec<Unit> = Vec::new();
    let mut lines = Vec::new();
    for (line, text) in rows {
        reader.line = line;
        let fields: Vec<&str> = text.split(',').collect();
        if fields.len() < 6 {
            return Err(reader.error(format!(
                "expected at least 6 columns open_time_ms,open,high,low,close,volume, found {}",
                fields.len()
            )));
        }
        let mut open_time_ms: i64 = reader.int("open_time_ms", fields[0])?;
        // Newer Binance dumps write microseconds.
        if open_time_ms > 100_000_000_000_000 {
            open_time_ms /= 1000;
        }
        let open = reader.number("open", fields[1])?;
        let high = reader.number("high", fields[2])?;
        let low = reader.number("low", fields[3])?;
        let close = reader.number("close", fields[4])?;
        let volume = reader.number("volume", fields[5])?;
        // Binance's 12-column dumps carry quote volume and trade count; 6-column files do not,
        // so quote volume is estimated at the typical price and the trade count is unknown (0).
        let (quote_volume, trades) = if fields.len() >= 9 {
            (
                reader.number("quote_volume", fields[7])?,
                reader.int("trade_count", fields[8])?,
            )
        } else {
            (volume * (high + low + close) / 3.0, 0)
        };
        let candle = Candle {
            open_time_ms,
            open,
            high,
            low,
            close,
            volume,
            quote_volume,
            trades,
        };
        candle
            .validate()
            .map_err(|e| reader.error(format!("not a valid candle: {e}")))?;
        if let Some(before) = units.last()
            && open_time_ms <= before.candle.open_time_ms
        {
            return Err(reader.error(format!(
                "open time {open_time_ms} is not after the previous candle's {}",
                before.candle.open_time_ms
            )));
        }
        units.push(Unit {
            candle,
            trades: Vec::new(),
        });
        lines.push(line);
    }
    Ok((units, lines))
}

/// The base interval of a candle file: its smallest step. Every open time must lie on its grid.
/// `lines` holds each candle's line number in the file, for the messages.
fn detect_base(path: &Path, units: &[Unit], lines: &[usize]) -> Result<Interval, SimError> {
    let error = |index: usize, reason: String| SimError::Replay {
        file: path.to_path_buf(),
        line: lines.get(index).copied().unwrap_or(0),
        reason,
    };
    let Some((index, step)) = units
        .windows(2)
        .map(|w| w[1].candle.open_time_ms - w[0].candle.open_time_ms)
        .enumerate()
        .min_by_key(|(_, step)| *step)
    else {
        return Err(error(
            0,
            "a candle file needs at least two candles to tell its interval".into(),
        ));
    };
    let base = Interval::all()
        .find(|i| i.ms() == step && *i != Interval::S1)
        .ok_or_else(|| {
            error(
                index + 1,
                format!(
                    "step of {step} ms from the previous candle is the smallest, and not an \
                     interval from 1m to 1w"
                ),
            )
        })?;
    if let Some(bad) = units
        .iter()
        .position(|u| !base.is_aligned(u.candle.open_time_ms))
    {
        return Err(error(
            bad,
            format!(
                "open time {} is not on the {base} grid of this file",
                units[bad].candle.open_time_ms
            ),
        ));
    }
    Ok(base)
}

#[cfg(test)]
mod tests;
