//! The feature export behind `trademon features`: indicator outputs or feature vectors computed
//! from stored candles, written as CSV or JSON.
//!
//! Indicators run over the whole stored series from its first candle up to `--to`, and rows are
//! written for `--from <= open_time_ms < --to`, so a row's values never depend on `--from`.
//! `--raw` writes one row per candle (empty cells while an indicator warms up); the feature
//! vector has a row per candle once every feature has a value.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::domain::{Candle, CandleError, Interval, Symbol};
use crate::features::{FeatureError, FeatureSet};
use crate::indicators::{RAW_COLUMNS, RawIndicators};
use crate::store::{Store, StoreError};

/// What to export.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureExportArgs {
    pub symbol: Symbol,
    pub interval: Interval,
    /// The 26 raw indicator outputs instead of the feature vector.
    pub raw: bool,
    /// A JSON array of objects instead of CSV.
    pub json: bool,
    /// First open time written (inclusive).
    pub from_ms: Option<i64>,
    /// End of the open times written (exclusive).
    pub to_ms: Option<i64>,
    /// Written to this file instead of stdout.
    pub out: Option<PathBuf>,
}

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExportReport {
    pub candles_read: usize,
    pub rows_written: usize,
    pub columns: usize,
    pub first_open_time_ms: Option<i64>,
    pub last_open_time_ms: Option<i64>,
    /// Feature rows flagged because an indicator window spans a gap.
    pub gap_rows: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum FeatureExportError {
    #[error("database {0} does not exist; import candles first (trademon import FILE ...)")]
    NoDatabase(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "no stored {interval} candles for {symbol} in {db}{range}; \
         import some first (trademon import FILE --symbol {symbol} --interval {interval})"
    )]
    NoCandles {
        symbol: Symbol,
        interval: Interval,
        db: String,
        range: String,
    },
    #[error("--from {from_ms} is not before --to {to_ms}")]
    EmptyRange { from_ms: i64, to_ms: i64 },
    #[error(
        "stored {symbol} {interval} candle at open_time_ms {open_time_ms} is invalid: {source}"
    )]
    BadStoredCandle {
        symbol: Symbol,
        interval: Interval,
        open_time_ms: i64,
        #[source]
        source: CandleError,
    },
    #[error("stored {symbol} {interval} candles: {source}")]
    Feature {
        symbol: Symbol,
        interval: Interval,
        #[source]
        source: FeatureError,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Opens the database at `db`, exports to `--out` or stdout.
pub fn run(db: &Path, args: &FeatureExportArgs) -> Result<ExportReport, FeatureExportError> {
    if !db.exists() {
        return Err(FeatureExportError::NoDatabase(db.display().to_string()));
    }
    let store = Store::open(db)?;
    match &args.out {
        Some(path) => {
            let write_error = |source| FeatureExportError::Write {
                path: path.display().to_string(),
                source,
            };
            let file = std::fs::File::create(path).map_err(write_error)?;
            let mut out = std::io::BufWriter::new(file);
            let report = export(&store, args, &mut out, &path.display().to_string())?;
            out.flush().map_err(write_error)?;
            Ok(report)
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let report = export(&store, args, &mut out, "<stdout>")?;
            out.flush().map_err(|source| FeatureExportError::Write {
                path: "<stdout>".into(),
                source,
            })?;
            Ok(report)
        }
    }
}

/// Writes the export of `args` from `store` to `out` (named `out_name` in errors).
pub fn export(
    store: &Store,
    args: &FeatureExportArgs,
    out: &mut dyn Write,
    out_name: &str,
) -> Result<ExportReport, FeatureExportError> {
    let from_ms = args.from_ms.unwrap_or(i64::MIN);
    let to_ms = args.to_ms.unwrap_or(i64::MAX);
    if from_ms >= to_ms {
        return Err(FeatureExportError::EmptyRange { from_ms, to_ms });
    }
    let candles = store.candles_between(args.symbol, args.interval, i64::MIN, to_ms)?;
    if !candles.iter().any(|c| c.open_time_ms >= from_ms) {
        let range = match (args.from_ms, args.to_ms) {
            (None, None) => String::new(),
            _ => format!(
                " with open_time_ms in [{}, {})",
                args.from_ms.map_or("start".into(), |t| t.to_string()),
                args.to_ms.map_or("end".into(), |t| t.to_string())
            ),
        };
        return Err(FeatureExportError::NoCandles {
            symbol: args.symbol,
            interval: args.interval,
            db: store.path().display().to_string(),
            range,
        });
    }
    let mut table = Table::new(out, out_name, args.json);
    let mut report = ExportReport {
        candles_read: candles.len(),
        ..ExportReport::default()
    };
    let mut row: Vec<Option<f64>> = Vec::new();
    if args.raw {
        report.columns = RAW_COLUMNS.len() + 1;
        table.header(
            RAW_COLUMNS.iter().map(|n| (*n).to_string()).collect(),
            false,
        )?;
        let mut indicators = RawIndicators::new();
        for candle in &candles {
            check(args, candle)?;
            let values = indicators.update(candle);
            if candle.open_time_ms >= from_ms {
                row.clear();
                row.extend_from_slice(&values);
                table.row(candle.open_time_ms, &row, None)?;
                written(&mut report, candle.open_time_ms);
            }
        }
    } else {
        // The gap flag follows the series' market calendar, as in training.
        let calendar = store.calendar(args.symbol, args.interval)?;
        let mut set = FeatureSet::new(args.interval).with_calendar(calendar);
        report.columns = set.names().len() + 2;
        table.header(set.names().to_vec(), true)?;
        for candle in &candles {
            let features = set
                .update(candle)
                .map_err(|source| FeatureExportError::Feature {
                    symbol: args.symbol,
                    interval: args.interval,
                    source,
                })?;
            if let Some(features) = features.filter(|_| candle.open_time_ms >= from_ms) {
                row.clear();
                row.extend(features.values.iter().map(|v| Some(*v)));
                table.row(candle.open_time_ms, &row, Some(features.gap))?;
                written(&mut report, candle.open_time_ms);
                report.gap_rows += usize::from(features.gap);
            }
        }
    }
    table.finish()?;
    Ok(report)
}

fn written(report: &mut ExportReport, open_time_ms: i64) {
    report.rows_written += 1;
    report.first_open_time_ms.get_or_insert(open_time_ms);
    report.last_open_time_ms = Some(open_time_ms);
}

/// Stored candles were checked when stored; a damaged row still never reaches an indicator.
fn check(args: &FeatureExportArgs, candle: &Candle) -> Result<(), FeatureExportError> {
    candle
        .validate()
        .map_err(|source| FeatureExportError::BadStoredCandle {
            symbol: args.symbol,
            interval: args.interval,
            open_time_ms: candle.open_time_ms,
            source,
        })
}

/// CSV or JSON rows of `open_time_ms`, the named values, and optionally the gap flag.
struct Table<'a> {
    out: &'a mut dyn Write,
    out_name: &'a str,
    json: bool,
    names: Vec<String>,
    rows: usize,
    line: String,
}

impl<'a> Table<'a> {
    fn new(out: &'a mut dyn Write, out_name: &'a str, json: bool) -> Self {
        Self {
            out,
            out_name,
            json,
            names: Vec::new(),
            rows: 0,
            line: String::new(),
        }
    }

    fn write(&mut self) -> Result<(), FeatureExportError> {
        let result = self.out.write_all(self.line.as_bytes());
        self.line.clear();
        result.map_err(|source| FeatureExportError::Write {
            path: self.out_name.to_string(),
            source,
        })
    }

    fn header(&mut self, names: Vec<String>, gap: bool) -> Result<(), FeatureExportError> {
        if self.json {
            self.line.push('[');
        } else {
            self.line.push_str("open_time_ms");
            for name in &names {
                self.line.push(',');
                self.line.push_str(name);
            }
            self.line.push_str(if gap { ",gap\n" } else { "\n" });
        }
        self.names = names;
        self.write()
    }

    fn row(
        &mut self,
        open_time_ms: i64,
        values: &[Option<f64>],
        gap: Option<bool>,
    ) -> Result<(), FeatureExportError> {
        use std::fmt::Write as _;
        if self.json {
            self.line
                .push_str(if self.rows == 0 { "\n{" } else { ",\n{" });
            let _ = write!(self.line, "\"open_time_ms\":{open_time_ms}");
            for (name, value) in self.names.iter().zip(values) {
                let _ = match value {
                    Some(v) if v.is_finite() => write!(self.line, ",\"{name}\":{v}"),
                    _ => write!(self.line, ",\"{name}\":null"),
                };
            }
            if let Some(gap) = gap {
                let _ = write!(self.line, ",\"gap\":{gap}");
            }
            self.line.push('}');
        } else {
            let _ = write!(self.line, "{open_time_ms}");
            for value in values {
                self.line.push(',');
                if let Some(v) = value {
                    let _ = write!(self.line, "{v}");
                }
            }
            if let Some(gap) = gap {
                self.line.push_str(if gap { ",1" } else { ",0" });
            }
            self.line.push('\n');
        }
        self.rows += 1;
        self.write()
    }

    fn finish(&mut self) -> Result<(), FeatureExportError> {
        if self.json {
            self.line
                .push_str(if self.rows == 0 { "]\n" } else { "\n]\n" });
            self.write()?;
        }
        Ok(())
    }
}
