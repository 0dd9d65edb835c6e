//! Row checks shared by every import format: time units, grid, order, and candle invariants.

use std::fmt;

use crate::domain::{Candle, CandleError, Interval};

/// Times at or above this are taken as microseconds: as milliseconds they would be after the
/// year 5000, as microseconds they are after 1973.
const MICROS_FROM: i64 = 100_000_000_000_000;

/// Unit of the times written in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum TimeUnit {
    #[serde(rename = "ms")]
    Milliseconds,
    #[serde(rename = "us")]
    Microseconds,
}

impl TimeUnit {
    fn of(time: i64) -> Self {
        if time >= MICROS_FROM {
            TimeUnit::Microseconds
        } else {
            TimeUnit::Milliseconds
        }
    }

    fn per_ms(self) -> i64 {
        match self {
            TimeUnit::Milliseconds => 1,
            TimeUnit::Microseconds => 1_000,
        }
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeUnit::Milliseconds => "milliseconds",
            TimeUnit::Microseconds => "microseconds",
        })
    }
}

/// What is wrong with one row.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum RowProblem {
    #[error("expected {expected} columns, found {found}")]
    ColumnCount { expected: usize, found: usize },
    #[error(
        "expected 6 values [time, open, high, low, close, volume] or the 12 of a Binance REST \
         kline, found {found}"
    )]
    JsonRowLength { found: usize },
    #[error("empty line (blank lines are only allowed at the end)")]
    EmptyLine,
    #[error("column {column} is empty")]
    EmptyCell { column: &'static str },
    #[error("column {column}: {text:?} is not a number")]
    NotANumber { column: &'static str, text: String },
    #[error("column {column}: {text:?} is not a whole number")]
    NotAnInteger { column: &'static str, text: String },
    #[error("column {column}: expected a number or a numeric string, found {found}")]
    WrongJsonType {
        column: &'static str,
        found: &'static str,
    },
    #[error("column {column} is negative ({value})")]
    NegativeCount { column: &'static str, value: i64 },
    #[error("open time {open_time} is negative")]
    NegativeTime { open_time: i64 },
    #[error("open time {open_time} looks like microseconds; this format takes milliseconds")]
    NotMilliseconds { open_time: i64 },
    #[error(
        "open time {open_time} is in {found} but row 1 is in {first}; a file must use one unit"
    )]
    MixedTimeUnits {
        open_time: i64,
        found: TimeUnit,
        first: TimeUnit,
    },
    #[error("open time {open_time_us} (microseconds) is not a whole millisecond")]
    NotWholeMillisecond { open_time_us: i64 },
    #[error(
        "close time {close_time} does not close a {interval} candle opening at {open_time} \
         (expected {expected}); is the interval right?"
    )]
    CloseTimeMismatch {
        open_time: i64,
        close_time: i64,
        expected: i64,
        interval: Interval,
    },
    #[error("open time {open_time_ms} is not on the {interval} grid")]
    OffGrid {
        open_time_ms: i64,
        interval: Interval,
    },
    #[error("open time {open_time_ms} repeats the previous row's")]
    Duplicate { open_time_ms: i64 },
    #[error(
        "open time {open_time_ms} is before the previous row's {previous_ms}; rows must be in \
         increasing time order"
    )]
    NotIncreasing { open_time_ms: i64, previous_ms: i64 },
    #[error("not a valid candle: {0}")]
    Candle(#[from] CandleError),
}

/// How a format writes its times.
#[derive(Clone, Copy, Debug)]
pub(super) enum TimeRule {
    /// Milliseconds only; a microsecond-sized time is refused rather than misread.
    Milliseconds,
    /// Milliseconds or microseconds, decided by the first row and kept for the whole file.
    Detect,
}

/// Checks a series row by row, in file order.
#[derive(Debug)]
pub(super) struct SeriesCheck {
    interval: Interval,
    rule: TimeRule,
    unit: Option<TimeUnit>,
    previous_ms: Option<i64>,
}

impl SeriesCheck {
    pub(super) fn new(interval: Interval, rule: TimeRule) -> Self {
        Self {
            interval,
            rule,
            unit: None,
            previous_ms: None,
        }
    }

    /// The unit the file's times were read in (milliseconds until a row says otherwise).
    pub(super) fn unit(&self) -> TimeUnit {
        self.unit.unwrap_or(TimeUnit::Milliseconds)
    }

    /// Converts a row's open time (and close time, when the format has one) to milliseconds.
    pub(super) fn open_time_ms(
        &mut self,
        open_time: i64,
        close_time: Option<i64>,
    ) -> Result<i64, RowProblem> {
        if open_time < 0 {
            return Err(RowProblem::NegativeTime { open_time });
        }
        let found = TimeUnit::of(open_time);
        let unit = match self.rule {
            TimeRule::Milliseconds if found == TimeUnit::Microseconds => {
                return Err(RowProblem::NotMilliseconds { open_time });
            }
            TimeRule::Milliseconds => found,
            TimeRule::Detect => {
                let first = *self.unit.get_or_insert(found);
                if first != found {
                    return Err(RowProblem::MixedTimeUnits {
                        open_time,
                        found,
                        first,
                    });
                }
                found
            }
        };
        self.unit = Some(unit);
        let per_ms = unit.per_ms();
        if open_time % per_ms != 0 {
            return Err(RowProblem::NotWholeMillisecond {
                open_time_us: open_time,
            });
        }
        if let Some(close_time) = close_time {
            let expected = open_time + self.interval.ms() * per_ms - 1;
            if close_time != expected {
                return Err(RowProblem::CloseTimeMismatch {
                    open_time,
                    close_time,
                    expected,
                    interval: self.interval,
                });
            }
        }
        Ok(open_time / per_ms)
    }

    /// Checks a candle (its open time already in milliseconds) against the row before it.
    pub(super) fn candle(&mut self, candle: &Candle) -> Result<(), RowProblem> {
        candle.validate()?;
        let open_time_ms = candle.open_time_ms;
        if !self.interval.is_aligned(open_time_ms) {
            return Err(RowProblem::OffGrid {
                open_time_ms,
                interval: self.interval,
            });
        }
        if let Some(previous_ms) = self.previous_ms {
            if open_time_ms == previous_ms {
                return Err(RowProblem::Duplicate { open_time_ms });
            }
            if open_time_ms < previous_ms {
                return Err(RowProblem::NotIncreasing {
                    open_time_ms,
                    previous_ms,
                });
            }
        }
        self.previous_ms = Some(open_time_ms);
        Ok(())
    }
}

/// At most the first 40 characters of a cell or line an error echoes, "…" after a cut.
pub(super) fn excerpt(text: &str) -> String {
    const KEEP: usize = 40;
    match text.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Parses a price or volume cell as the CSV reader does (leading blanks skipped).
pub(super) fn number(column: &'static str, cell: &str) -> Result<f64, RowProblem> {
    let text = cell.trim_start_matches([' ', '\t']);
    if text.is_empty() {
        return Err(RowProblem::EmptyCell { column });
    }
    text.parse().map_err(|_| RowProblem::NotANumber {
        column,
        text: excerpt(cell),
    })
}

/// Parses a time or count cell.
pub(super) fn integer(column: &'static str, cell: &str) -> Result<i64, RowProblem> {
    let text = cell.trim_start_matches([' ', '\t']);
    if text.is_empty() {
        return Err(RowProblem::EmptyCell { column });
    }
    text.parse().map_err(|_| RowProblem::NotAnInteger {
        column,
        text: excerpt(cell),
    })
}

/// A trade count, which cannot be negative.
pub(super) fn count(column: &'static str, value: i64) -> Result<u64, RowProblem> {
    u64::try_from(value).map_err(|_| RowProblem::NegativeCount { column, value })
}
