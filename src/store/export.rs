//! Stored candles written out in the layouts `import` reads, so export → import round-trips
//! exactly: every float is written as the shortest decimal that parses back to the same double.
//!
//! - CSV: the header `open_time_ms,open,high,low,close,volume,quote_volume,trades`, one candle a
//!   line (pandas: `pd.read_csv(path)`).
//! - JSON: an array of Binance's 12-element REST rows, `[open_time, open, high, low, close,
//!   volume, close_time, quote_volume, trades, null, null, null]`, numbers as JSON numbers. The
//!   last three (taker buy volumes, "ignore") are not stored, so they are written as null rather
//!   than invented (pandas: `pd.read_json(path)`).
//!
//! [`export_series`] (`trademon export`) writes one stored series that way, read in bounded
//! chunks, to stdout or to a file written beside its final name and renamed into place.

use std::fmt::Write;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::Store;
use crate::domain::{Candle, Interval, Symbol};

/// The layouts `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Json,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            _ => Err(format!("{text:?} is not an export format; use csv or json")),
        }
    }
}

/// The CSV header line, without its newline.
pub const CSV_HEADER: &str = "open_time_ms,open,high,low,close,volume,quote_volume,trades";

/// Appends the candles to `out` in `format`; `first` says whether this is the start of the file
/// (header or opening bracket) and `last` whether it ends it.
pub fn write_candles(
    out: &mut String,
    format: ExportFormat,
    interval: Interval,
    candles: &[Candle],
    first: bool,
    last: bool,
) {
    match format {
        ExportFormat::Csv => {
            if first {
                out.push_str(CSV_HEADER);
                out.push('\n');
            }
            for c in candles {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{}",
                    c.open_time_ms,
                    c.open,
                    c.high,
                    c.low,
                    c.close,
                    c.volume,
                    c.quote_volume,
                    c.trades
                );
            }
        }
        ExportFormat::Json => {
            if first {
                out.push('[');
            }
            for (i, c) in candles.iter().enumerate() {
                if i > 0 || !first {
                    out.push(',');
                }
                let _ = write!(
                    out,
                    "\n[{},{},{},{},{},{},{},{},{},null,null,null]",
                    c.open_time_ms,
                    c.open,
                    c.high,
                    c.low,
                    c.close,
                    c.volume,
                    c.close_time_ms(interval.ms()),
                    c.quote_volume,
                    c.trades
                );
            }
            if last {
                out.push_str("\n]\n");
            }
        }
    }
}

/// Candles read from the database per step (bounded memory for any series length).
const CHUNK_CANDLES: i64 = 50_000;

#[derive(Clone, Debug)]
pub struct ExportArgs {
    pub symbol: Symbol,
    pub interval: Interval,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub format: ExportFormat,
    /// `None`: stdout.
    pub out: Option<PathBuf>,
}

/// What was written.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ExportReport {
    pub symbol: String,
    pub interval: String,
    pub format: ExportFormat,
    pub file: Option<String>,
    pub candles: u64,
    pub first_open_time_ms: Option<i64>,
    pub last_open_time_ms: Option<i64>,
    /// Holes in the exported candles: (first missing open time, candles missing).
    pub gaps: Vec<(i64, i64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] super::StoreError),
    #[error(
        "no {symbol} {interval} candles stored in {db}{range}; `trademon download` or `trademon import` fetches some"
    )]
    Empty {
        symbol: Symbol,
        interval: Interval,
        db: String,
        range: String,
    },
    #[error("--to {to} is not after --from {from} (UTC ms)")]
    BadRange { from: i64, to: i64 },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes the stored candles `args` names to its file (beside it, then renamed into place) or
/// stdout.
pub fn export_series(db: &Path, args: &ExportArgs) -> Result<ExportReport, ExportError> {
    let (from, to) = (
        args.from_ms.unwrap_or(i64::MIN),
        args.to_ms.unwrap_or(i64::MAX),
    );
    if from >= to {
        return Err(ExportError::BadRange { from, to });
    }
    let store = Store::open(db)?;
    let step = CHUNK_CANDLES * args.interval.ms();
    let (Some(first), Some(last)) = (
        store.first_open_time_between(args.symbol, args.interval, from, to)?,
        store.last_open_time_between(args.symbol, args.interval, from, to)?,
    ) else {
        let range = match (args.from_ms, args.to_ms) {
            (None, None) => String::new(),
            _ => " between --from and --to".to_string(),
        };
        return Err(ExportError::Empty {
            symbol: args.symbol,
            interval: args.interval,
            db: db.display().to_string(),
            range,
        });
    };
    let path_for_errors = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("<stdout>"));
    let write_err = |source| ExportError::Write {
        path: path_for_errors.clone(),
        source,
    };
    let (mut sink, temp): (Box<dyn std::io::Write>, Option<PathBuf>) = match &args.out {
        // A device or a pipe (/dev/stdout, a FIFO) is written as it is: never replaced.
        Some(path) if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(write_err)?;
            (Box::new(std::io::BufWriter::new(file)), None)
        }
        Some(path) => {
            let temp = temp_path(path);
            let file = std::fs::File::create(&temp).map_err(write_err)?;
            (Box::new(std::io::BufWriter::new(file)), Some(temp))
        }
        None => (Box::new(std::io::stdout().lock()), None),
    };
    let mut report = ExportReport {
        symbol: args.symbol.to_string(),
        interval: args.interval.to_string(),
        format: args.format,
        file: args.out.as_ref().map(|p| p.display().to_string()),
        candles: 0,
        first_open_time_ms: Some(first),
        last_open_time_ms: Some(last),
        gaps: Vec::new(),
    };
    let written = (|| -> Result<(), ExportError> {
        let mut start = first;
        let mut previous: Option<i64> = None;
        let ms = args.interval.ms();
        while start <= last {
            let end = start.saturating_add(step).min(last + 1);
            let candles = store.candles_between(args.symbol, args.interval, start, end)?;
            for c in &candles {
                if let Some(p) = previous
                    && c.open_time_ms - p > ms
                {
                    report.gaps.push((p + ms, (c.open_time_ms - p) / ms - 1));
                }
                previous = Some(c.open_time_ms);
            }
            let mut text = String::with_capacity(candles.len() * 96);
            write_candles(
                &mut text,
                args.format,
                args.interval,
                &candles,
                start == first,
                end > last,
            );
            sink.write_all(text.as_bytes()).map_err(write_err)?;
            report.candles += candles.len() as u64;
            start = end;
        }
        sink.flush().map_err(write_err)
    })();
    drop(sink);
    match (written, temp, &args.out) {
        (Ok(()), Some(temp), Some(path)) => {
            std::fs::rename(&temp, path).map_err(|source| {
                let _ = std::fs::remove_file(&temp);
                ExportError::Write {
                    path: path.clone(),
                    source,
                }
            })?;
            Ok(report)
        }
        (Ok(()), _, _) => Ok(report),
        (Err(e), temp, _) => {
            if let Some(temp) = temp {
                let _ = std::fs::remove_file(temp);
            }
            Err(e)
        }
    }
}

/// `FILE` → `.FILE.partial-<pid>` in the same directory (so the rename stays on one disk).
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::import::read_candles_from_bytes;

    fn candles() -> Vec<Candle> {
        let mut out = Vec::new();
        for (i, t) in [0i64, 1, 2, 5, 6].iter().enumerate() {
            let base = 0.1 + i as f64 / 3.0;
            out.push(Candle {
                open_time_ms: 1_600_000_020_000 / 60_000 * 60_000 + t * 60_000,
                open: base,
                high: base * 1.5,
                low: base / 7.0,
                close: base * 1.1,
                volume: 1e-7 + i as f64,
                quote_volume: 12_345.678_901_234_567,
                trades: 17 + i as u64,
            });
        }
        out
    }

    #[test]
    fn both_layouts_read_back_bit_for_bit() {
        let candles = candles();
        for format in [ExportFormat::Csv, ExportFormat::Json] {
            // Written in two chunks, as the command writes them.
            let mut text = String::new();
            write_candles(&mut text, format, Interval::M1, &candles[..2], true, false);
            write_candles(&mut text, format, Interval::M1, &candles[2..], false, true);
            let parsed = read_candles_from_bytes("x", text.as_bytes(), Interval::M1)
                .unwrap_or_else(|e| panic!("{format:?}: {e}\n{text}"));
            assert_eq!(parsed.candles, candles, "{format:?}");
            assert!(parsed.zero_filled.is_empty(), "{format:?}");
            assert_eq!(parsed.gaps, vec![(candles[3].open_time_ms - 120_000, 2)]);
        }
    }

    #[test]
    fn empty_series_is_still_a_valid_file() {
        for format in [ExportFormat::Csv, ExportFormat::Json] {
            let mut text = String::new();
            write_candles(&mut text, format, Interval::M1, &[], true, true);
            let expected = match format {
                ExportFormat::Csv => format!("{CSV_HEADER}\n"),
                ExportFormat::Json => "[\n]\n".to_string(),
            };
            assert_eq!(text, expected);
        }
    }
}
