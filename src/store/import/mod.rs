//! Bulk candle import (`trademon import`): reads a candle file of any supported format, checks
//! every row, then writes the whole series in one transaction or nothing at all.
//!
//! Formats, detected from the content:
//! - [`ImportFormat::Csv`]: a header line `open_time_ms,open,high,low,close,volume`, optionally
//!   followed by `,quote_volume,trades`. When those two columns are absent they are stored as 0
//!   (never estimated) and [`ParsedFile::zero_filled`] names them.
//! - [`ImportFormat::BinanceDump`]: Binance's public kline dump, 12 columns and no header, times in
//!   milliseconds or (newer dumps) microseconds, converted exactly to milliseconds.
//! - [`ImportFormat::JsonArray`]: `[[time, o, h, l, c, v], ...]` (quote volume and trades stored
//!   as 0) or the 12-element REST shape, numbers as JSON numbers or strings, times in
//!   milliseconds. JSON numbers are parsed exactly (serde_json's `float_roundtrip`).
//!
//! The series' market calendar is settled in the same transaction (see [`CalendarChoice`]).

mod check;
mod csv;
pub(crate) mod insert;
mod json;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::domain::{Calendar, Candle, Interval, Symbol};
use crate::store::{Store, StoreError, gaps_in};

pub use check::{RowProblem, TimeUnit};

/// The 12 columns of a Binance kline row (REST answer and kline dump CSV), in order.
const KLINE_COLUMNS: [&str; 12] = [
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
    "ignore",
];

/// The layout a file was read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    Csv,
    BinanceDump,
    JsonArray,
}

impl fmt::Display for ImportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImportFormat::Csv => "candle CSV with header",
            ImportFormat::BinanceDump => "Binance kline dump (12-column CSV)",
            ImportFormat::JsonArray => "JSON array of klines",
        })
    }
}

/// The calendar an import is asked for (`--calendar`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CalendarChoice {
    /// A series already stored keeps its calendar (`24x7` when it has none stored); a new one
    /// gets the calendar its candles look like ([`Calendar::detect`]).
    #[default]
    Auto,
    /// This calendar, whatever was stored before.
    Given(Calendar),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "calendar {0:?} is not known; use 24x7 (crypto: every missing candle is a gap), sessions (stocks, FX: closures are not gaps) or auto (detect it from a new series' candles)"
)]
pub struct CalendarChoiceError(String);

impl FromStr for CalendarChoice {
    type Err = CalendarChoiceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "auto" {
            return Ok(CalendarChoice::Auto);
        }
        s.parse()
            .map(CalendarChoice::Given)
            .map_err(|_| CalendarChoiceError(s.to_string()))
    }
}

/// Where the calendar of an imported series came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarSource {
    /// `--calendar 24x7|sessions`.
    Given,
    /// Detected from the file's candles (a new series).
    Detected,
    /// Kept from the stored series.
    Stored,
}

/// A candle file read and checked, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedFile {
    pub format: ImportFormat,
    /// Unit of the times in the file (stored candles are always in milliseconds).
    pub time_unit: TimeUnit,
    /// Candles in increasing open-time order, every one valid and on the interval grid.
    pub candles: Vec<Candle>,
    /// `(first missing open_time_ms, candles missing)` for each hole in the series (every
    /// missing candle, as on the `24x7` calendar).
    pub gaps: Vec<(i64, i64)>,
    /// Columns the file does not have, stored as 0.
    pub zero_filled: Vec<&'static str>,
}

/// Why a file was refused. Every variant names the file; row problems give the 1-based data row
/// and the 1-based line of the file.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot import {file}: it is {what}, not a regular file")]
    NotAFile { file: String, what: &'static str },
    #[error(
        "{file}: {size} bytes, over the {limit} bytes one import reads; split the file",
        limit = MAX_FILE_BYTES
    )]
    TooBig { file: String, size: u64 },
    #[error(
        "{file}: line {line}: longer than the {limit} bytes a line may have; not a candle file",
        limit = MAX_LINE_BYTES
    )]
    LineTooLong { file: String, line: u64 },
    #[error(
        "{file}: line {line}: not a text file (byte 0x{byte:02x} at offset {offset}); \
         expected candles as CSV or JSON"
    )]
    NotText {
        file: String,
        line: u64,
        offset: u64,
        byte: u8,
    },
    #[error("{file}: line {line}: unknown layout: {reason}")]
    UnknownFormat {
        file: String,
        line: u64,
        reason: String,
    },
    #[error("{file}: no candles (the file has no data rows{})",
        format.map(|f| format!("; read as {f}")).unwrap_or_default())]
    NoCandles {
        file: String,
        format: Option<ImportFormat>,
    },
    #[error("{file}: row {row} (line {line}): {problem}")]
    Row {
        file: String,
        row: u64,
        line: u64,
        problem: RowProblem,
    },
    #[error("{file}: line {line}, column {column}{}: not a JSON array of klines: {message}",
        row.map(|r| format!(" (row {r})")).unwrap_or_default())]
    Json {
        file: String,
        line: u64,
        column: u64,
        row: Option<u64>,
        message: String,
    },
    #[error("{file}: the CSV reader refused the file: {message}")]
    Csv { file: String, message: String },
    #[error("{file}: {source}")]
    Store {
        file: String,
        #[source]
        source: StoreError,
    },
}

/// What `trademon import` did, for people and (`--json`) for scripts.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ImportReport {
    pub file: String,
    pub format: ImportFormat,
    pub time_unit: TimeUnit,
    pub rows_read: u64,
    pub added: u64,
    pub already_present: u64,
    /// The series' market calendar after the import, and where it came from.
    pub calendar: Calendar,
    pub calendar_source: CalendarSource,
    /// The file's gaps on that calendar (on `sessions`, closures are not gaps):
    /// `(first missing open_time_ms, candles missing)`.
    pub gaps: Vec<(i64, i64)>,
    /// Holes in the file that are closures of the calendar, not gaps (0 on `24x7`).
    pub closures: u64,
    pub first_open_time_ms: Option<i64>,
    pub last_open_time_ms: Option<i64>,
    /// Columns the file does not have, stored as 0 (`quote_volume`, `trades`).
    pub zero_filled: Vec<&'static str>,
}

/// The longest line a CSV file may have (a candle row is under 200 bytes).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The largest file one import reads into memory.
pub const MAX_FILE_BYTES: u64 = 2 << 30;

/// Reads and checks a candle file; nothing is written. Only a regular file of at most
/// [`MAX_FILE_BYTES`] is read (a FIFO or a device would be read without end).
pub fn read_candles(path: &Path, interval: Interval) -> Result<ParsedFile, ImportError> {
    use std::io::Read;
    let name = path.display().to_string();
    let read_error = |source| ImportError::Read {
        file: name.clone(),
        source,
    };
    // Looked at before opening: opening a FIFO waits for a writer.
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if let Some(what) = crate::store::not_regular(&meta) {
        return Err(ImportError::NotAFile { file: name, what });
    }
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_FILE_BYTES) as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ImportError::TooBig {
            file: name,
            size: meta.len().max(bytes.len() as u64),
        });
    }
    read_candles_from_bytes(&name, &bytes, interval)
}

/// Reads and checks candles from memory; `name` stands for the file in errors.
pub fn read_candles_from_bytes(
    name: &str,
    bytes: &[u8],
    interval: Interval,
) -> Result<ParsedFile, ImportError> {
    let text = as_text(name, bytes)?;
    let (format, time_unit, candles, zero_filled) = if text.trim_start().starts_with('[') {
        let (candles, unit, zero_filled) = json::read(name, text, interval)?;
        (ImportFormat::JsonArray, unit, candles, zero_filled)
    } else {
        check_lines(name, text)?;
        let layout = csv::detect(name, text)?;
        let (candles, unit) = csv::read(name, text, &layout, interval)?;
        (layout.format(), unit, candles, layout.zero_filled())
    };
    if candles.is_empty() {
        return Err(ImportError::NoCandles {
            file: name.to_string(),
            format: Some(format),
        });
    }
    let times: Vec<i64> = candles.iter().map(|c| c.open_time_ms).collect();
    Ok(ParsedFile {
        format,
        time_unit,
        gaps: gaps_in(&times, interval.ms()),
        candles,
        zero_filled,
    })
}

/// [`import_file_on`] with [`CalendarChoice::Auto`].
pub fn import_file(
    store: &mut Store,
    path: &Path,
    symbol: Symbol,
    interval: Interval,
) -> Result<ImportReport, ImportError> {
    import_file_on(store, path, symbol, interval, CalendarChoice::Auto)
}

/// Reads and checks the whole file, then stores its candles and the series' calendar in one
/// transaction. Candles already stored are kept as they are, so importing the same file twice
/// adds nothing the second time. A file with any bad row writes nothing.
pub fn import_file_on(
    store: &mut Store,
    path: &Path,
    symbol: Symbol,
    interval: Interval,
    calendar: CalendarChoice,
) -> Result<ImportReport, ImportError> {
    let parsed = read_candles(path, interval)?;
    let file = path.display().to_string();
    let (outcome, calendar, calendar_source) =
        insert::insert_series(store, symbol, interval, &parsed.candles, calendar).map_err(
            |source| ImportError::Store {
                file: file.clone(),
                source,
            },
        )?;
    let times: Vec<i64> = parsed.candles.iter().map(|c| c.open_time_ms).collect();
    let gaps = calendar.gaps(interval, &times);
    let closures = (parsed.gaps.len() - gaps.len()) as u64;
    Ok(ImportReport {
        file,
        format: parsed.format,
        time_unit: parsed.time_unit,
        rows_read: parsed.candles.len() as u64,
        added: outcome.added,
        already_present: outcome.already_present,
        first_open_time_ms: parsed.candles.first().map(|c| c.open_time_ms),
        last_open_time_ms: parsed.candles.last().map(|c| c.open_time_ms),
        calendar,
        calendar_source,
        gaps,
        closures,
        zero_filled: parsed.zero_filled,
    })
}

/// Refuses a CSV text with a line over [`MAX_LINE_BYTES`], before any line is split into cells.
fn check_lines(name: &str, text: &str) -> Result<(), ImportError> {
    match text
        .split('\n')
        .position(|line| line.len() > MAX_LINE_BYTES)
    {
        Some(index) => Err(ImportError::LineTooLong {
            file: name.to_string(),
            line: index as u64 + 1,
        }),
        None => Ok(()),
    }
}

/// The file as UTF-8 text without a byte-order mark; binary content is refused with where it
/// starts.
fn as_text<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let bad_at = match std::str::from_utf8(bytes) {
        // `contains` is a fast memchr; the position is only looked for when there is one.
        Ok(text) if !bytes.contains(&0) => return Ok(text),
        Ok(_) => bytes.iter().position(|&b| b == 0).unwrap_or(0),
        Err(e) => e.valid_up_to(),
    };
    let line = bytes[..bad_at].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    Err(ImportError::NotText {
        file: name.to_string(),
        line,
        offset: bad_at as u64,
        byte: bytes[bad_at],
    })
}

#[cfg(test)]
mod tests;
