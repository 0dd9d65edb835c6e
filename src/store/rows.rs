//! Row-level SQL shared by the store, its writer and import: candle and event inserts, a
//! series' market calendar, gap detection, and the integrity check run at open.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::domain::FeedEvent;
use crate::domain::{Calendar, Candle, Interval, Symbol};

#[cfg(test)]
thread_local! {
    /// `PRAGMA quick_check`s run on this thread (tests count them: they are expensive on a big
    /// file and run once, at the owner's open).
    pub(crate) static QUICK_CHECKS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[derive(Clone, Copy)]
pub(crate) enum Conflict {
    Replace,
    Keep,
}

/// Writes candles with one prepared statement; returns how many rows changed.
pub(crate) fn write_candles(
    conn: &Connection,
    rows: impl Iterator<Item = (Symbol, Interval, Candle)>,
    conflict: Conflict,
) -> rusqlite::Result<u64> {
    let sql = match conflict {
        Conflict::Replace => {
            "INSERT INTO candles VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (symbol, interval, open_time_ms) DO UPDATE SET
             open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close,
             volume = excluded.volume, quote_volume = excluded.quote_volume, trades = excluded.trades"
        }
        Conflict::Keep => {
            "INSERT INTO candles VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (symbol, interval, open_time_ms) DO NOTHING"
        }
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut changed = 0;
    for (symbol, interval, c) in rows {
        changed += stmt.execute(params![
            symbol.as_str(),
            interval.as_str(),
            c.open_time_ms,
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume,
            c.quote_volume,
            c.trades as i64
        ])? as u64;
    }
    Ok(changed)
}

pub(crate) fn write_events(conn: &Connection, events: &[FeedEvent]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO feed_events (time_ms, kind, stream, detail, count) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for e in events {
        stmt.execute(params![
            e.time_ms,
            e.kind.as_str(),
            e.stream,
            e.detail,
            e.count
        ])?;
    }
    Ok(())
}

/// One live prediction of a model (the `predictions` table).
#[derive(Clone, Debug, PartialEq)]
pub struct PredictionRow {
    pub model_version: String,
    pub symbol: Symbol,
    pub interval: Interval,
    /// The closed candle it was made at.
    pub open_time_ms: i64,
    pub made_ms: i64,
    /// Down, flat, up.
    pub probabilities: [f64; 3],
    /// "buy", "sell" or "hold".
    pub signal: &'static str,
    pub confidence: f64,
    /// A challenger's prediction scored in shadow (it drives nothing), not the active model's.
    pub shadow: bool,
}

/// What happened after a prediction: the forward return over the horizon and its class.
#[derive(Clone, Debug, PartialEq)]
pub struct OutcomeRow {
    pub model_version: String,
    pub symbol: Symbol,
    pub interval: Interval,
    pub open_time_ms: i64,
    pub realised_return: f64,
    /// 0 down, 1 flat, 2 up.
    pub outcome: u8,
}

pub(crate) fn write_predictions(conn: &Connection, rows: &[PredictionRow]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR REPLACE INTO predictions (model_version, symbol, interval, open_time_ms, made_ms,
             p_down, p_flat, p_up, signal, confidence, role)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for r in rows {
        let [down, flat, up] = r.probabilities.map(|p| p.clamp(0.0, 1.0));
        stmt.execute(params![
            r.model_version,
            r.symbol.as_str(),
            r.interval.as_str(),
            r.open_time_ms,
            r.made_ms,
            down,
            flat,
            up,
            r.signal,
            r.confidence.clamp(0.0, 1.0),
            if r.shadow { "shadow" } else { "active" }
        ])?;
    }
    Ok(())
}

pub(crate) fn write_outcomes(conn: &Connection, rows: &[OutcomeRow]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE predictions SET realised_return = ?1, outcome = ?2
         WHERE model_version = ?3 AND symbol = ?4 AND interval = ?5 AND open_time_ms = ?6",
    )?;
    for r in rows {
        stmt.execute(params![
            r.realised_return,
            r.outcome,
            r.model_version,
            r.symbol.as_str(),
            r.interval.as_str(),
            r.open_time_ms
        ])?;
    }
    Ok(())
}

/// The calendar stored for a series (its `series` row); `None` when it has no row.
pub(crate) fn read_calendar(
    conn: &Connection,
    symbol: Symbol,
    interval: Interval,
) -> rusqlite::Result<Option<Calendar>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT calendar FROM series WHERE symbol = ?1 AND interval = ?2")?
        .query_row(params![symbol.as_str(), interval.as_str()], |r| r.get(0))
        .optional()?;
    // The table's CHECK admits only the names Calendar parses.
    text.map(|t| {
        t.parse::<Calendar>().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

/// Sets a series' calendar (creating its `series` row).
pub(crate) fn write_calendar(
    conn: &Connection,
    symbol: Symbol,
    interval: Interval,
    calendar: Calendar,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO series (symbol, interval, calendar) VALUES (?1, ?2, ?3)
         ON CONFLICT (symbol, interval) DO UPDATE SET calendar = excluded.calendar",
    )?
    .execute(params![
        symbol.as_str(),
        interval.as_str(),
        calendar.as_str()
    ])?;
    Ok(())
}

/// Gaps in sorted open times: `(first missing open time, candles missing)`. Every missing
/// candle counts (the `24x7` calendar); [`Calendar::gaps`] judges by a series' calendar.
pub fn gaps_in(open_times: &[i64], interval_ms: i64) -> Vec<(i64, i64)> {
    open_times
        .windows(2)
        .filter(|w| w[1] - w[0] > interval_ms)
        .map(|w| (w[0] + interval_ms, (w[1] - w[0]) / interval_ms - 1))
        .collect()
}

pub(crate) fn classify(path: &str, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    let path = path.to_string();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotADatabase { path },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy {
            path,
            waited_ms: super::busy_timeout().as_millis() as u64,
            source: e,
        },
        _ => StoreError::Sqlite { path, source: e },
    }
}

pub(crate) fn check_integrity(conn: &Connection, path: &str) -> Result<(), StoreError> {
    #[cfg(test)]
    QUICK_CHECKS.with(|n| n.set(n.get() + 1));
    let mut stmt = conn
        .prepare("PRAGMA quick_check")
        .map_err(|e| classify(path, e))?;
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(|e| classify(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| classify(path, e))?;
    if lines.len() == 1 && lines[0] == "ok" {
        Ok(())
    } else {
        Err(StoreError::Corrupt {
            path: path.to_string(),
            report: lines.into_iter().take(3).collect::<Vec<_>>().join("; "),
        })
    }
}
