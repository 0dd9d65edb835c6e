//! `trademon import FILE --symbol S --interval I`: loads candles from a file into the store.

use std::path::Path;

use crate::domain::{Interval, Symbol};
use crate::store::Store;
use crate::store::import::{ImportError, ImportReport, import_file};

#[derive(Debug, thiserror::Error)]
pub enum ImportCommandError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Import(#[from] ImportError),
}

pub fn run(
    db: &Path,
    file: &Path,
    symbol: Symbol,
    interval: Interval,
) -> Result<ImportReport, ImportCommandError> {
    let mut store = Store::open(db)?;
    Ok(import_file(&mut store, file, symbol, interval)?)
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
