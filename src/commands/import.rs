//! `trademon import FILE --symbol S --interval I [--calendar 24x7|sessions|auto]`: loads candles
//! from a file into the store and settles the series' market calendar.

use std::path::Path;

use crate::domain::{Calendar, Interval, Symbol};
use crate::store::Store;
use crate::store::import::{CalendarSource, ImportError, ImportReport, import_file_on};

pub use crate::store::import::CalendarChoice;

#[derive(Debug, thiserror::Error)]
pub enum ImportCommandError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Import(#[from] ImportError),
}

/// [`run_on`] with `--calendar auto`.
pub fn run(
    db: &Path,
    file: &Path,
    symbol: Symbol,
    interval: Interval,
) -> Result<ImportReport, ImportCommandError> {
    run_on(db, file, symbol, interval, CalendarChoice::Auto)
}

pub fn run_on(
    db: &Path,
    file: &Path,
    symbol: Symbol,
    interval: Interval,
    calendar: CalendarChoice,
) -> Result<ImportReport, ImportCommandError> {
    let mut store = Store::open(db)?;
    Ok(import_file_on(
        &mut store, file, symbol, interval, calendar,
    )?)
}

/// The human-readable report.
pub fn to_text(report: &ImportReport) -> String {
    let mut out = format!(
        "{}: {} ({} rows): {} added, {} already present\n",
        report.file, report.format, report.rows_read, report.added, report.already_present
    );
    if let (Some(first), Some(last)) = (report.first_open_time_ms, report.last_open_time_ms) {
        out.push_str(&format!("span {first} .. {last} (open_time_ms)\n"));
    }
    out.push_str(&calendar_line(report));
    if report.gaps.is_empty() {
        out.push_str("no gaps\n");
    } else {
        let missing: i64 = report.gaps.iter().map(|g| g.1).sum();
        out.push_str(&format!(
            "{} gaps, {} candles missing in all:\n",
            report.gaps.len(),
            missing
        ));
        for (from, n) in report.gaps.iter().take(20) {
            out.push_str(&format!("  from {from}: {n} missing\n"));
        }
        if report.gaps.len() > 20 {
            out.push_str(&format!("  ... and {} more\n", report.gaps.len() - 20));
        }
    }
    out
}

/// The calendar and where it came from, with what it means for gaps.
fn calendar_line(report: &ImportReport) -> String {
    let calendar = report.calendar;
    let from = match (report.calendar_source, calendar) {
        (CalendarSource::Given, _) => "as given",
        (CalendarSource::Detected, Calendar::Sessions) => {
            "detected: every hole is a closure and nothing trades on Saturdays"
        }
        (CalendarSource::Detected, Calendar::TwentyFourSeven) => {
            "detected; --calendar sessions for a market with closures"
        }
        (CalendarSource::Stored, _) => "the series' stored calendar; --calendar changes it",
    };
    let mut line = format!("calendar {calendar} ({from})\n");
    if calendar == Calendar::Sessions {
        line.push_str(&format!(
            "{} holes are closures (weekends, holidays, nights), not gaps\n",
            report.closures
        ));
    }
    line
}
