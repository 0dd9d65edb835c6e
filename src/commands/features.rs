//! `trademon features --symbol S --interval I [--raw] [--out FILE] [--json] [--from T --to T]`:
//! exports indicator outputs or feature vectors computed from stored candles.
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
pub struct FeaturesArgs {
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
pub enum FeaturesCommandError {
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
pub fn run(db: &Path, args: &FeaturesArgs) -> Result<ExportReport, FeaturesCommandError> {
    if !db.exists() {
        return Err(FeaturesCommandError::NoDatabase(db.display().to_string()));
    }
    let store = Store::open(db)?;
    match &args.out {
        Some(path) => {
            let write_error = |source| FeaturesCommandError::Write {
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
            out.flush().map_err(|source| FeaturesCommandError::Write {
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
    args: &FeaturesArgs,
    out: &mut dyn Write,
    out_name: &str,
) -> Result<ExportReport, FeaturesCommandError> {
    let from_ms = args.from_ms.unwrap_or(i64::MIN);
    let to_ms = args.to_ms.unwrap_or(i64::MAX);
    if from_ms >= to_ms {
        return Err(FeaturesCommandError::EmptyRange { from_ms, to_ms });
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
        return Err(FeaturesCommandError::NoCandles {
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
                .map_err(|source| FeaturesCommandError::Feature {
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

/// Parses a `--from`/`--to` time: UTC milliseconds (`1515560100000`), a date (`2018-01-10`) or a
/// date and time (`2018-01-10T05:00`, `2018-01-10T05:00:30Z`), all UTC.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || {
        format!("{text:?} is not a time; use UTC milliseconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]")
    };
    let body = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = body.split_once(['T', ' ']).unwrap_or((body, "00:00"));
    let number = |s: &str, low: i64, high: i64| -> Result<i64, String> {
        let v: i64 = s.parse().map_err(|_| bad())?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || v < low || v > high {
            return Err(bad());
        }
        Ok(v)
    };
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    if d.len() != 3 || !(2..=3).contains(&t.len()) {
        return Err(bad());
    }
    let (year, month, day) = (
        number(d[0], 1970, 9999)?,
        number(d[1], 1, 12)?,
        number(d[2], 1, 31)?,
    );
    let (hour, minute) = (number(t[0], 0, 23)?, number(t[1], 0, 59)?);
    let second = t.get(2).map_or(Ok(0), |s| number(s, 0, 59))?;
    let days = days_from_civil(year, month, day);
    let next_month = if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    };
    if days >= next_month {
        return Err(bad());
    }
    Ok(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Stored candles were checked when stored; a damaged row still never reaches an indicator.
fn check(args: &FeaturesArgs, candle: &Candle) -> Result<(), FeaturesCommandError> {
    candle
        .validate()
        .map_err(|source| FeaturesCommandError::BadStoredCandle {
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

    fn write(&mut self) -> Result<(), FeaturesCommandError> {
        let result = self.out.write_all(self.line.as_bytes());
        self.line.clear();
        result.map_err(|source| FeaturesCommandError::Write {
            path: self.out_name.to_string(),
            source,
        })
    }

    fn header(&mut self, names: Vec<String>, gap: bool) -> Result<(), FeaturesCommandError> {
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
    ) -> Result<(), FeaturesCommandError> {
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

    fn finish(&mut self) -> Result<(), FeaturesCommandError> {
        if self.json {
            self.line
                .push_str(if self.rows == 0 { "]\n" } else { "\n]\n" });
            self.write()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_utc() {
        assert_eq!(parse_time("1515560100000"), Ok(1_515_560_100_000));
        assert_eq!(parse_time("1970-01-01"), Ok(0));
        assert_eq!(parse_time("2018-01-10"), Ok(1_515_542_400_000));
        assert_eq!(parse_time("2018-01-10T05:00"), Ok(1_515_560_400_000));
        assert_eq!(parse_time("2018-01-10T05:00:30Z"), Ok(1_515_560_430_000));
        assert_eq!(parse_time("2024-02-29"), Ok(1_709_164_800_000));
        for bad in [
            "",
            "yesterday",
            "2018-13-01",
            "2018-02-30",
            "2023-02-29",
            "2018-01-10T25:00",
            "2018-1-x",
        ] {
            let error = parse_time(bad).unwrap_err();
            assert!(error.contains("not a time"), "{bad}: {error}");
        }
    }
}
