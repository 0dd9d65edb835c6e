//! `trademon export`: stored candles out, in the layout `import` reads (CSV or JSON), to a file or
//! stdout ([`crate::store::export::export_series`]): a file is written beside its final name and
//! renamed into place, so a failed export never leaves a half-written file where the user looks
//! for it.

use crate::store::export::ExportFormat;

pub use crate::store::export::{ExportArgs, ExportError, ExportReport, export_series as run};

/// The one-line summary printed on stderr (stdout may be the data itself).
pub fn to_text(report: &ExportReport) -> String {
    let missing: i64 = report.gaps.iter().map(|g| g.1).sum();
    format!(
        "{}: {} {} {} candles as {}, {} gaps ({missing} candles missing)\n",
        report.file.as_deref().unwrap_or("stdout"),
        report.candles,
        report.symbol,
        report.interval,
        match report.format {
            ExportFormat::Csv => "CSV",
            ExportFormat::Json => "JSON",
        },
        report.gaps.len()
    )
}
