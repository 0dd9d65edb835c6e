//! The two CSV layouts: candle CSV with a header, and Binance's headerless 12-column kline dump.
//!
//! polars reads the columns (multi-threaded, exact float parsing). When polars refuses the file
//! or leaves a cell empty, the rows are read again line by line to say which row and line is at
//! fault; every row error names the first bad row in file order.

use super::KLINE_COLUMNS;
use std::io::Cursor;
use std::sync::Arc;

use polars::prelude::{
    CsvParseOptions, CsvReadOptions, DataFrame, DataType, PlSmallStr, Schema, SerReader,
};

use super::check::{self, RowProblem, SeriesCheck, TimeRule, TimeUnit};
use super::{ImportError, ImportFormat};
use crate::domain::{Candle, Interval};

const CANDLE_COLUMNS: [&str; 8] = [
    "open_time_ms",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "trades",
];

/// Which CSV layout a file has and where its data rows start.
#[derive(Clone, Copy, Debug)]
pub(super) enum Layout {
    /// Header line, then 6 columns (or 8 with `quote_volume,trades`).
    Candles { columns: usize, data_start: usize },
    /// No header, 12 columns.
    Dump,
}

impl Layout {
    pub(super) fn format(&self) -> ImportFormat {
        match self {
            Layout::Candles { .. } => ImportFormat::Csv,
            Layout::Dump => ImportFormat::BinanceDump,
        }
    }

    pub(super) fn zero_filled(&self) -> Vec<&'static str> {
        match self {
            Layout::Candles { columns: 6, .. } => vec!["quote_volume", "trades"],
            _ => Vec::new(),
        }
    }

    fn names(&self) -> &'static [&'static str] {
        match self {
            Layout::Candles { columns, .. } => &CANDLE_COLUMNS[..*columns],
            Layout::Dump => &KLINE_COLUMNS,
        }
    }

    fn header_lines(&self) -> u64 {
        match self {
            Layout::Candles { .. } => 1,
            Layout::Dump => 0,
        }
    }

    fn data_start(&self) -> usize {
        match self {
            Layout::Candles { data_start, .. } => *data_start,
            Layout::Dump => 0,
        }
    }
}

/// Recognises the layout from the first line.
pub(super) fn detect(name: &str, text: &str) -> Result<Layout, ImportError> {
    let (first, data_start) = match text.find('\n') {
        Some(end) => (&text[..end], end + 1),
        None => (text, text.len()),
    };
    let first = first.strip_suffix('\r').unwrap_or(first);
    if first.trim().is_empty() {
        return Err(ImportError::NoCandles {
            file: name.to_string(),
            format: None,
        });
    }
    let cells: Vec<&str> = first.split(',').map(str::trim).collect();
    let unknown = |reason: String| ImportError::UnknownFormat {
        file: name.to_string(),
        line: 1,
        reason,
    };
    if cells[0].parse::<f64>().is_ok() {
        return if cells.len() == KLINE_COLUMNS.len() {
            Ok(Layout::Dump)
        } else {
            Err(unknown(format!(
                "the first line has {} columns and no header; expected a header line \
                 ({}) or a 12-column Binance kline dump",
                cells.len(),
                CANDLE_COLUMNS.join(",")
            )))
        };
    }
    let matches = |names: &[&str]| {
        cells.len() == names.len()
            && cells
                .iter()
                .zip(names)
                .all(|(cell, want)| cell.eq_ignore_ascii_case(want))
    };
    for columns in [6, 8] {
        if matches(&CANDLE_COLUMNS[..columns]) {
            return Ok(Layout::Candles {
                columns,
                data_start,
            });
        }
    }
    Err(unknown(format!(
        "header {:?} is not {} (optionally followed by ,quote_volume,trades), and the \
         file is not a JSON array or a 12-column Binance kline dump",
        check::excerpt(first),
        CANDLE_COLUMNS[..6].join(",")
    )))
}

/// Reads and checks every data row.
pub(super) fn read(
    name: &str,
    text: &str,
    layout: &Layout,
    interval: Interval,
) -> Result<(Vec<Candle>, TimeUnit), ImportError> {
    // Blank lines at the end are common and harmless; anywhere else they are refused.
    let data = text[layout.data_start()..].trim_end();
    if data.is_empty() {
        return Ok((Vec::new(), TimeUnit::Milliseconds));
    }
    let lines = count_newlines(data.as_bytes()) + 1;
    let row_error = |index: usize, problem: RowProblem| ImportError::Row {
        file: name.to_string(),
        row: index as u64 + 1,
        line: layout.header_lines() + index as u64 + 1,
        problem,
    };
    let frame = match read_frame(data, layout) {
        Ok(frame) => frame,
        Err(e) => {
            return Err(locate(data, layout, interval)
                .err()
                .map(|(index, problem)| row_error(index, problem))
                .unwrap_or_else(|| ImportError::Csv {
                    file: name.to_string(),
                    message: e.to_string(),
                }));
        }
    };
    let complete = frame.height() == lines && frame.columns().iter().all(|c| c.null_count() == 0);
    if !complete {
        return Err(locate(data, layout, interval)
            .err()
            .map(|(index, problem)| row_error(index, problem))
            .unwrap_or_else(|| ImportError::Csv {
                file: name.to_string(),
                message: format!(
                    "read {} rows with {} empty cells from {lines} lines",
                    frame.height(),
                    frame
                        .columns()
                        .iter()
                        .map(|c| c.null_count())
                        .sum::<usize>()
                ),
            }));
    }
    let csv_error = |e: polars::error::PolarsError| ImportError::Csv {
        file: name.to_string(),
        message: e.to_string(),
    };
    candles_from_frame(&frame, layout, interval)
        .map_err(csv_error)?
        .map_err(|(index, problem)| row_error(index, problem))
}

/// Counts line ends, a byte counter per 255-byte block so the compiler can vectorise it.
fn count_newlines(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|block| block.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n')) as usize)
        .sum()
}

fn read_frame(data: &str, layout: &Layout) -> polars::error::PolarsResult<DataFrame> {
    let schema: Schema = layout
        .names()
        .iter()
        .map(|&name| {
            let dtype = match name {
                "open_time_ms" | "open_time" | "close_time" | "trades" => DataType::Int64,
                "ignore" => DataType::String,
                _ => DataType::Float64,
            };
            (PlSmallStr::from_static(name), dtype)
        })
        .collect();
    CsvReadOptions::default()
        .with_has_header(false)
        .with_schema(Some(Arc::new(schema)))
        .with_parse_options(CsvParseOptions::default().with_quote_char(None))
        .into_reader_with_file_handle(Cursor::new(data.as_bytes()))
        .finish()
}

type RowResult<T> = Result<T, (usize, RowProblem)>;

/// Builds and checks candles from a frame without empty cells.
fn candles_from_frame(
    frame: &DataFrame,
    layout: &Layout,
    interval: Interval,
) -> polars::error::PolarsResult<RowResult<(Vec<Candle>, TimeUnit)>> {
    let columns = frame.columns();
    let int = |i: usize| columns[i].i64().map(|c| c.rechunk());
    let float = |i: usize| columns[i].f64().map(|c| c.rechunk());
    let (open_time, open, high, low, close, volume) = (
        int(0)?,
        float(1)?,
        float(2)?,
        float(3)?,
        float(4)?,
        float(5)?,
    );
    let (open_time, open, high, low, close, volume) = (
        open_time.cont_slice()?,
        open.cont_slice()?,
        high.cont_slice()?,
        low.cont_slice()?,
        close.cont_slice()?,
        volume.cont_slice()?,
    );
    // (close time, quote volume, trades) where the layout has them.
    let (close_time, quote_volume, trades) = match layout {
        Layout::Dump => (Some(int(6)?), Some(float(7)?), Some(int(8)?)),
        Layout::Candles { columns: 8, .. } => (None, Some(float(6)?), Some(int(7)?)),
        Layout::Candles { .. } => (None, None, None),
    };
    let close_time = close_time.as_ref().map(|c| c.cont_slice()).transpose()?;
    let quote_volume = quote_volume.as_ref().map(|c| c.cont_slice()).transpose()?;
    let trades = trades.as_ref().map(|c| c.cont_slice()).transpose()?;
    let mut check = SeriesCheck::new(interval, time_rule(layout));
    let mut candles = Vec::with_capacity(frame.height());
    for i in 0..frame.height() {
        let mut row = || -> Result<Candle, RowProblem> {
            let open_time_ms = check.open_time_ms(open_time[i], close_time.map(|c| c[i]))?;
            let candle = Candle {
                open_time_ms,
                open: open[i],
                high: high[i],
                low: low[i],
                close: close[i],
                volume: volume[i],
                quote_volume: quote_volume.map_or(0.0, |q| q[i]),
                trades: trades.map_or(Ok(0), |t| check::count("trades", t[i]))?,
            };
            check.candle(&candle)?;
            Ok(candle)
        };
        match row() {
            Ok(candle) => candles.push(candle),
            Err(problem) => return Ok(Err((i, problem))),
        }
    }
    Ok(Ok((candles, check.unit())))
}

fn time_rule(layout: &Layout) -> TimeRule {
    match layout {
        Layout::Dump => TimeRule::Detect,
        Layout::Candles { .. } => TimeRule::Milliseconds,
    }
}

/// Reads the rows one line at a time, in order, to find the first bad one. Only runs on files
/// polars refused or left incomplete, so it favours clear answers over speed.
fn locate(data: &str, layout: &Layout, interval: Interval) -> RowResult<()> {
    let names = layout.names();
    let mut check = SeriesCheck::new(interval, time_rule(layout));
    for (index, line) in data.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let row = |check: &mut SeriesCheck| -> Result<(), RowProblem> {
            if line.trim().is_empty() {
                return Err(RowProblem::EmptyLine);
            }
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != names.len() {
                return Err(RowProblem::ColumnCount {
                    expected: names.len(),
                    found: cells.len(),
                });
            }
            let num = |i: usize| check::number(names[i], cells[i]);
            let int = |i: usize| check::integer(names[i], cells[i]);
            let (open_time, open, high, low, close, volume) =
                (int(0)?, num(1)?, num(2)?, num(3)?, num(4)?, num(5)?);
            let (close_time, quote_volume, trades) = match layout {
                Layout::Dump => {
                    for i in 9..12 {
                        if cells[i].trim().is_empty() {
                            return Err(RowProblem::EmptyCell { column: names[i] });
                        }
                    }
                    num(9)?;
                    num(10)?;
                    (Some(int(6)?), num(7)?, int(8)?)
                }
                Layout::Candles { columns: 8, .. } => (None, num(6)?, int(7)?),
                Layout::Candles { .. } => (None, 0.0, 0),
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
            check.candle(&candle)
        };
        row(&mut check).map_err(|problem| (index, problem))?;
    }
    Ok(())
}
