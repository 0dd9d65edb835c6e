//! A series' market calendar: when a hole between two stored candles is missing data (a gap)
//! and when it is only the market being closed.
//!
//! - [`Calendar::TwentyFourSeven`] (`24x7`, crypto, the default): the market never closes, so
//!   every missing candle is a gap.
//! - [`Calendar::Sessions`] (`sessions`, stocks, FX): consecutive stored candles are consecutive
//!   bars, as TA-Lib and backtesting.py treat them; only a hole longer than a closure is a gap.
//!
//! **Closure-sized holes** are measured in whole UTC days without a candle (the days that lie
//! entirely inside the hole), which makes one rule serve daily and intraday candles:
//! - daily candles (`1d`, `3d`): at most [`DAILY_CLOSURE_DAYS`] = 4 days (a weekend with a
//!   holiday on either side, or Good Friday to Easter Monday);
//! - intraday candles: at most [`INTRADAY_CLOSURE_DAYS`] = 3 days (a weekend plus a day). An
//!   overnight closure holds no whole day, and a US long weekend (Friday 20:00 to Tuesday 13:30
//!   UTC, 3 days 17.5 hours long) holds three; counting hours instead would call every long
//!   weekend a gap.
//! - weekly candles (`1w`): the daily limit, so one missing week (7 days) is always a gap: a
//!   market closed for a whole week is not a routine closure, and `sessions` then behaves as
//!   `24x7`.

use std::fmt;
use std::str::FromStr;

use super::Interval;

const DAY_MS: i64 = 86_400_000;

/// Whole days without a candle a closure of daily (and longer) candles may last.
pub const DAILY_CLOSURE_DAYS: i64 = 4;

/// Whole days without a candle a closure of intraday candles may last.
pub const INTRADAY_CLOSURE_DAYS: i64 = 3;

/// When a series' market is open (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Calendar {
    /// `24x7`: every missing candle is a gap.
    #[default]
    TwentyFourSeven,
    /// `sessions`: only a hole longer than a closure is a gap.
    Sessions,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error(
        "calendar {0:?} is not known; use 24x7 (crypto: every missing candle is a gap) or sessions (stocks, FX: closures are not gaps)"
    )]
    Unknown(String),
}

impl Calendar {
    pub const ALL: [Calendar; 2] = [Calendar::TwentyFourSeven, Calendar::Sessions];

    pub fn as_str(self) -> &'static str {
        match self {
            Calendar::TwentyFourSeven => "24x7",
            Calendar::Sessions => "sessions",
        }
    }

    pub fn is_24x7(&self) -> bool {
        *self == Calendar::TwentyFourSeven
    }

    /// Is the hole between the candles opening at `prev_open_ms` and `next_open_ms` (next after
    /// prev) a gap in the data, rather than consecutive bars?
    pub fn is_gap(self, interval: Interval, prev_open_ms: i64, next_open_ms: i64) -> bool {
        match self {
            Calendar::TwentyFourSeven => next_open_ms != prev_open_ms + interval.ms(),
            Calendar::Sessions => {
                next_open_ms <= prev_open_ms
                    || closed_days(interval, prev_open_ms, next_open_ms) > closure_days(interval)
            }
        }
    }

    /// The holes of sorted open times that are gaps on this calendar: `(first missing open time,
    /// candles missing)`, where candles missing counts the interval's grid slots in the hole
    /// (closure time included).
    pub fn gaps(self, interval: Interval, open_times_ms: &[i64]) -> Vec<(i64, i64)> {
        let ms = interval.ms();
        open_times_ms
            .windows(2)
            .filter(|w| w[1] - w[0] > ms && self.is_gap(interval, w[0], w[1]))
            .map(|w| (w[0] + ms, (w[1] - w[0]) / ms - 1))
            .collect()
    }

    /// The calendar a new series' candles look like (sorted open times): `sessions` when the
    /// series has holes, every hole is closure-sized, and the market is shut at weekends (the
    /// span holds a whole Saturday, UTC, and no candle opens on one); `24x7` otherwise. The
    /// weekend test keeps a crypto series with a short outage at `24x7`: its holes are
    /// closure-sized too, but it trades on Saturdays. Every market with sessions is closed on
    /// Saturdays, UTC. Intervals longer than a day are always `24x7`: their candles hold
    /// trading days whatever the weekday, so a weekend leaves no hole to recognise.
    pub fn detect(interval: Interval, open_times_ms: &[i64]) -> Calendar {
        let ms = interval.ms();
        if ms > DAY_MS {
            return Calendar::TwentyFourSeven;
        }
        let mut holes = 0usize;
        let mut weekend_seen = false;
        for w in open_times_ms.windows(2) {
            if w[1] - w[0] <= ms {
                continue;
            }
            if Calendar::Sessions.is_gap(interval, w[0], w[1]) {
                return Calendar::TwentyFourSeven;
            }
            holes += 1;
            weekend_seen |= holds_whole_saturday(w[0] + ms, w[1]);
        }
        let trades_on_saturday = open_times_ms.iter().any(|&t| weekday(t) == SATURDAY);
        if holes > 0 && weekend_seen && !trades_on_saturday {
            Calendar::Sessions
        } else {
            Calendar::TwentyFourSeven
        }
    }
}

/// Whole days without a candle a closure may last on `interval` (see the module doc).
pub fn closure_days(interval: Interval) -> i64 {
    if interval.ms() >= DAY_MS {
        DAILY_CLOSURE_DAYS
    } else {
        INTRADAY_CLOSURE_DAYS
    }
}

/// Whole UTC days inside the hole between the candle opening at `prev_open_ms` (which closes
/// at `prev_open_ms + interval`) and the one opening at `next_open_ms`.
fn closed_days(interval: Interval, prev_open_ms: i64, next_open_ms: i64) -> i64 {
    let hole_from = prev_open_ms + interval.ms();
    let first_whole_day =
        hole_from.div_euclid(DAY_MS) + i64::from(hole_from.rem_euclid(DAY_MS) != 0);
    (next_open_ms.div_euclid(DAY_MS) - first_whole_day).max(0)
}

const SATURDAY: i64 = 5;

/// Day of the week of `time_ms`, Monday = 0 (1970-01-01 was a Thursday).
fn weekday(time_ms: i64) -> i64 {
    (time_ms.div_euclid(DAY_MS) + 3).rem_euclid(7)
}

/// Does `[from_ms, to_ms)` hold a whole Saturday (UTC)?
fn holds_whole_saturday(from_ms: i64, to_ms: i64) -> bool {
    let first_day = from_ms.div_euclid(DAY_MS) + i64::from(from_ms.rem_euclid(DAY_MS) != 0);
    let end_day = to_ms.div_euclid(DAY_MS);
    // Days first_day..end_day lie wholly inside; a week of them always holds a Saturday.
    (first_day..end_day)
        .take(7)
        .any(|d| weekday(d * DAY_MS) == SATURDAY)
}

impl FromStr for Calendar {
    type Err = CalendarError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Calendar::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| CalendarError::Unknown(s.to_string()))
    }
}

impl fmt::Display for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Calendar {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Calendar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
