//! Candle files into a store the way a user does it: a CSV written from candles, then
//! `trademon --db DB import FILE --symbol S --interval I`.

use std::path::{Path, PathBuf};
use std::process::Output;

use trademon::domain::{Candle, Interval};
use trademon::store::import::read_candles;

use super::{shared_data, text, trademon};

/// The candles as a CSV `import` reads: `open_time_ms,open,high,low,close,volume`, then
/// `quote_volume,trades` when `with_volumes`.
pub fn csv_text(candles: &[Candle], with_volumes: bool) -> String {
    let mut out = String::from("open_time_ms,open,high,low,close,volume");
    out += if with_volumes {
        ",quote_volume,trades\n"
    } else {
        "\n"
    };
    for c in candles {
        out += &format!(
            "{},{},{},{},{},{}",
            c.open_time_ms, c.open, c.high, c.low, c.close, c.volume
        );
        if with_volumes {
            out += &format!(",{},{}", c.quote_volume, c.trades);
        }
        out.push('\n');
    }
    out
}

/// Writes [`csv_text`] of the candles to `dir/name`; returns its path.
pub fn write_csv(dir: &Path, name: &str, candles: &[Candle], with_volumes: bool) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, csv_text(candles, with_volumes)).unwrap();
    path
}

/// Runs `trademon --db DB import FILE --symbol SYMBOL --interval INTERVAL EXTRA...` with its
/// directories under `dir`, whatever its outcome.
pub fn run_import(
    dir: &Path,
    db: impl AsRef<Path>,
    file: impl AsRef<Path>,
    symbol: &str,
    interval: &str,
    extra: &[&str],
) -> Output {
    let mut args = vec![
        "--db",
        db.as_ref().to_str().unwrap(),
        "import",
        file.as_ref().to_str().unwrap(),
        "--symbol",
        symbol,
        "--interval",
        interval,
    ];
    args.extend_from_slice(extra);
    trademon(dir, &args)
}

/// [`run_import`], which must succeed.
pub fn import(
    dir: &Path,
    db: impl AsRef<Path>,
    file: impl AsRef<Path>,
    symbol: &str,
    interval: &str,
) -> Output {
    import_with(dir, db, file, symbol, interval, &[])
}

/// [`run_import`] with extra arguments, which must succeed.
pub fn import_with(
    dir: &Path,
    db: impl AsRef<Path>,
    file: impl AsRef<Path>,
    symbol: &str,
    interval: &str,
    extra: &[&str],
) -> Output {
    let out = run_import(dir, db, file, symbol, interval, extra);
    assert!(out.status.success(), "{}", text(&out.stderr));
    out
}

/// A file of ../shared/data imported into `db`; `None` (the test skips, see [`shared_data`])
/// when the file is missing.
pub fn import_shared(
    dir: &Path,
    db: impl AsRef<Path>,
    name: &str,
    symbol: &str,
    interval: &str,
) -> Option<PathBuf> {
    let file = shared_data(name)?;
    import(dir, db, &file, symbol, interval);
    Some(file)
}

/// [`import_with`] with `--json` after the extra arguments: the import's report.
pub fn import_json(
    dir: &Path,
    db: impl AsRef<Path>,
    file: impl AsRef<Path>,
    symbol: &str,
    interval: &str,
    extra: &[&str],
) -> serde_json::Value {
    let mut extra = extra.to_vec();
    extra.push("--json");
    let out = import_with(dir, db, file, symbol, interval, &extra);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The candles of a file of ../shared/data as the import code reads them; `None` (the test
/// skips, see [`shared_data`]) when the file is missing.
pub fn shared_candles(name: &str, interval: Interval) -> Option<Vec<Candle>> {
    let file = shared_data(name)?;
    Some(read_candles(&file, interval).unwrap().candles)
}

/// Reads a candle CSV the plain way (a header line, then open time, open, high, low, close,
/// volume), to compare the import and the backtests against something that is not the import.
pub fn read_plain_csv(path: &Path) -> Vec<Candle> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let v: Vec<&str> = line.split(',').collect();
            let f = |i: usize| v[i].parse::<f64>().unwrap();
            Candle {
                open_time_ms: v[0].parse().unwrap(),
                open: f(1),
                high: f(2),
                low: f(3),
                close: f(4),
                volume: f(5),
                quote_volume: 0.0,
                trades: 0,
            }
        })
        .collect()
}
