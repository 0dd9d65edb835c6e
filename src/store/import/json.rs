//! JSON klines: `[[time, open, high, low, close, volume], ...]` or Binance's 12-element REST rows,
//! with numbers as JSON numbers or numeric strings and times in milliseconds.

use super::KLINE_COLUMNS;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::ImportError;
use super::check::{self, RowProblem, SeriesCheck, TimeRule, TimeUnit};
use crate::domain::{Candle, Interval};

/// One value of a kline row, kept as written so a wrong one can be reported with its row.
#[derive(Debug)]
enum Cell {
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(String),
    /// Anything else, by its JSON type name.
    Other(&'static str),
}

impl Cell {
    fn integer(&self, column: &'static str) -> Result<i64, RowProblem> {
        match self {
            Cell::Int(i) => Ok(*i),
            Cell::UInt(u) => i64::try_from(*u).map_err(|_| RowProblem::NotAnInteger {
                column,
                text: u.to_string(),
            }),
            Cell::Float(f) => Err(RowProblem::NotAnInteger {
                column,
                text: f.to_string(),
            }),
            Cell::Text(text) => check::integer(column, text),
            Cell::Other(found) => Err(RowProblem::WrongJsonType { column, found }),
        }
    }

    fn number(&self, column: &'static str) -> Result<f64, RowProblem> {
        match self {
            Cell::Int(i) => Ok(*i as f64),
            Cell::UInt(u) => Ok(*u as f64),
            Cell::Float(f) => Ok(*f),
            Cell::Text(text) => check::number(column, text),
            Cell::Other(found) => Err(RowProblem::WrongJsonType { column, found }),
        }
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CellVisitor)
    }
}

struct CellVisitor;

impl<'de> Visitor<'de> for CellVisitor {
    type Value = Cell;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or a numeric string")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cell, E> {
        Ok(Cell::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cell, E> {
        Ok(i64::try_from(v).map_or(Cell::UInt(v), Cell::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Cell, E> {
        Ok(Cell::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cell, E> {
        Ok(Cell::Text(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Cell, E> {
        Ok(Cell::Other("a boolean"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Cell, E> {
        Ok(Cell::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cell, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Cell::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cell, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Cell::Other("an object"))
    }
}

/// Reads and checks every row; also names the columns the rows lack (stored as 0).
pub(super) fn read(
    name: &str,
    text: &str,
    interval: Interval,
) -> Result<(Vec<Candle>, TimeUnit, Vec<&'static str>), ImportError> {
    let rows: Vec<Vec<Cell>> = serde_json::from_str(text).map_err(|e| {
        let offset = offset_of(text, e.line(), e.column());
        let starts = row_starts(text);
        ImportError::Json {
            file: name.to_string(),
            line: e.line() as u64,
            column: e.column() as u64,
            row: match starts.partition_point(|&start| start <= offset) {
                0 => None,
                n => Some(n as u64),
            },
            message: e.to_string(),
        }
    })?;
    let mut check = SeriesCheck::new(interval, TimeRule::Milliseconds);
    let width = rows.first().map_or(6, Vec::len);
    let mut candles = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let candle = read_row(row, width, &mut check).map_err(|problem| ImportError::Row {
            file: name.to_string(),
            row: index as u64 + 1,
            line: row_starts(text)
                .get(index)
                .map_or(1, |&start| line_of(text, start)),
            problem,
        })?;
        candles.push(candle);
    }
    let zero_filled = if width == 6 {
        vec!["quote_volume", "trades"]
    } else {
        Vec::new()
    };
    Ok((candles, check.unit(), zero_filled))
}

fn read_row(row: &[Cell], width: usize, check: &mut SeriesCheck) -> Result<Candle, RowProblem> {
    if width != 6 && width != 12 {
        return Err(RowProblem::JsonRowLength { found: width });
    }
    if row.len() != width {
        return Err(RowProblem::ColumnCount {
            expected: width,
            found: row.len(),
        });
    }
    let num = |i: usize| row[i].number(KLINE_COLUMNS[i]);
    let int = |i: usize| row[i].integer(KLINE_COLUMNS[i]);
    let (open_time, open, high, low, close, volume) =
        (int(0)?, num(1)?, num(2)?, num(3)?, num(4)?, num(5)?);
    let (close_time, quote_volume, trades) = if width == 12 {
        (Some(int(6)?), num(7)?, int(8)?)
    } else {
        (None, 0.0, 0)
    };
    let candle = Candle {
        open_time_ms: check.open_time_ms(open_time, close_time)?,
        open,
        high,
        low,
        close,
        volume,
        quote_volume,
        trades: check::count("trades", trades)?,
    };
    check.candle(&candle)?;
    Ok(candle)
}

/// Byte offsets where the elements of the top-level array start. Tolerates broken JSON: it only
/// follows strings and nesting, to point an error at its row.
pub(super) fn row_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let (mut depth, mut in_string, mut escaped, mut expecting) = (0usize, false, false, false);
    for (offset, byte) in text.bytes().enumerate() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        if expecting && !byte.is_ascii_whitespace() && byte != b']' {
            starts.push(offset);
            expecting = false;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                expecting = depth == 1;
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => expecting = true,
            _ => {}
        }
    }
    starts
}

fn line_of(text: &str, offset: usize) -> u64 {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

/// Byte offset of a 1-based (line, column) position as serde_json reports it.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    (line_start + column.saturating_sub(1)).min(text.len())
}
