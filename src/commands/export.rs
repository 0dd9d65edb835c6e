//! `trademon export`: stored candles out, in the layout `import` reads (CSV or JSON), to a file or
//! stdout. A file is written beside its final name and renamed into place, so a failed export
//! never leaves a half-written file where the user looks for it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::domain::{Interval, Symbol};
use crate::store::Store;
use crate::store::export::{ExportFormat, write_candles};

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
    Store(#[from] crate::store::StoreError),
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

pub fn run(db: &Path, args: &ExportArgs) -> Result<ExportReport, ExportError> {
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
    let (mut sink, temp): (Box<dyn Write>, Option<PathBuf>) = match &args.out {
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
