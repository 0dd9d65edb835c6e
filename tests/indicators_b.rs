//! TA-Lib parity for the part-B families (STOCH, WILLR, CCI, ATR, ADX/+DI/−DI, MFI, SAR, AROON):
//! the batch output over each reference input must be `None` exactly where TA-Lib's is NaN and
//! agree elsewhere within 1e-9 relative (1e-12 absolute near zero).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use trademon::domain::Candle;
use trademon::indicators::{Adx, Aroon, Atr, Cci, Mfi, Sar, Stoch, WillR, batch};

const FILES: [&str; 3] = ["ETHBTC-5m", "ALTBTC-1m", "XRPETH-1m"];
const RELATIVE: f64 = 1e-9;
const ABSOLUTE: f64 = 1e-12;

fn shared(relative: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")).join(relative)
}

/// Reads a CSV with a header into its column names and rows of raw cells.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap_or_else(|| panic!("{} is empty", path.display()));
    let names: Vec<String> = header.split(',').map(str::to_owned).collect();
    let rows = lines
        .enumerate()
        .map(|(i, line)| {
            let cells: Vec<String> = line.split(',').map(str::to_owned).collect();
            assert_eq!(
                cells.len(),
                names.len(),
                "{}:{}: {} cells, header has {}",
                path.display(),
                i + 2,
                cells.len(),
                names.len()
            );
            cells
        })
        .collect();
    (names, rows)
}

fn number(cell: &str, path: &Path, row: usize, column: &str) -> f64 {
    cell.parse().unwrap_or_else(|e| {
        panic!(
            "{}:{}: column {column}: {cell:?}: {e}",
            path.display(),
            row + 2
        )
    })
}

fn read_candles(path: &Path) -> Vec<Candle> {
    let (names, rows) = read_csv(path);
    assert_eq!(
        names,
        ["open_time_ms", "open", "high", "low", "close", "volume"],
        "{}: unexpected header",
        path.display()
    );
    rows.iter()
        .enumerate()
        .map(|(i, cells)| Candle {
            open_time_ms: cells[0].parse().unwrap(),
            open: number(&cells[1], path, i, "open"),
            high: number(&cells[2], path, i, "high"),
            low: number(&cells[3], path, i, "low"),
            close: number(&cells[4], path, i, "close"),
            volume: number(&cells[5], path, i, "volume"),
            quote_volume: 0.0,
            trades: 0,
        })
        .collect()
}

/// Our columns, named as in the reference files.
fn our_columns(candles: &[Candle]) -> Vec<(&'static str, Vec<Option<f64>>)> {
    let stoch = batch(&mut Stoch::default(), candles);
    let adx = batch(&mut Adx::default(), candles);
    let aroon = batch(&mut Aroon::default(), candles);
    vec![
        ("stoch_k", stoch.iter().map(|v| v.map(|v| v.k)).collect()),
        ("stoch_d", stoch.iter().map(|v| v.map(|v| v.d)).collect()),
        ("willr_14", batch(&mut WillR::default(), candles)),
        ("cci_20", batch(&mut Cci::default(), candles)),
        ("atr_14", batch(&mut Atr::default(), candles)),
        (
            "adx_14",
            adx.iter().map(|v| v.and_then(|v| v.adx)).collect(),
        ),
        (
            "plus_di_14",
            adx.iter().map(|v| v.map(|v| v.plus_di)).collect(),
        ),
        (
            "minus_di_14",
            adx.iter().map(|v| v.map(|v| v.minus_di)).collect(),
        ),
        ("mfi_14", batch(&mut Mfi::default(), candles)),
        ("sar", batch(&mut Sar::default(), candles)),
        (
            "aroon_down",
            aroon.iter().map(|v| v.map(|v| v.down)).collect(),
        ),
        ("aroon_up", aroon.iter().map(|v| v.map(|v| v.up)).collect()),
    ]
}

fn agrees(ours: Option<f64>, talib: Option<f64>) -> bool {
    match (ours, talib) {
        (None, None) => true,
        (Some(a), Some(b)) => (a - b).abs() <= ABSOLUTE || (a - b).abs() <= RELATIVE * b.abs(),
        _ => false,
    }
}

/// Compares one reference file; returns the first mismatch of each column, described.
fn compare(name: &str) -> Vec<String> {
    let input = shared(&format!("data/{name}.csv"));
    let reference = shared(&format!("reference/talib/{name}.talib.csv"));
    let candles = read_candles(&input);
    let (names, rows) = read_csv(&reference);
    assert_eq!(
        rows.len(),
        candles.len(),
        "{}: row count",
        reference.display()
    );
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut mismatches = Vec::new();
    for (column, ours) in our_columns(&candles) {
        let at = *index
            .get(column)
            .unwrap_or_else(|| panic!("{}: no column {column}", reference.display()));
        let first_bad = rows
            .iter()
            .zip(&ours)
            .enumerate()
            .find_map(|(row, (cells, &ours))| {
                let cell = cells[at].as_str();
                let talib = (!cell.is_empty()).then(|| number(cell, &reference, row, column));
                (!agrees(ours, talib)).then_some((row, cells[0].clone(), ours, talib))
            });
        if let Some((row, time, ours, talib)) = first_bad {
            mismatches.push(format!(
                "{name}.talib.csv column {column} row {row} (open_time_ms {time}): ours {ours:?}, TA-Lib {talib:?}"
            ));
        }
    }
    mismatches
}

fn reference_present() -> bool {
    let missing: Vec<PathBuf> = FILES
        .iter()
        .flat_map(|n| {
            [
                shared(&format!("data/{n}.csv")),
                shared(&format!("reference/talib/{n}.talib.csv")),
            ]
        })
        .filter(|p| !p.exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("reference data missing (CI needs ../shared): {missing:?}");
    }
    eprintln!("skipping TA-Lib parity: reference data missing: {missing:?}");
    false
}

#[test]
fn part_b_families_match_talib() {
    if !reference_present() {
        return;
    }
    let mismatches: Vec<String> = FILES.iter().flat_map(|name| compare(name)).collect();
    assert!(
        mismatches.is_empty(),
        "TA-Lib parity failures:\n{}",
        mismatches.join("\n")
    );
}

#[test]
fn tolerance_rejects_what_it_should() {
    assert!(agrees(None, None));
    assert!(!agrees(Some(1.0), None));
    assert!(!agrees(None, Some(1.0)));
    assert!(agrees(Some(100.0 * (1.0 + 5e-10)), Some(100.0)));
    assert!(!agrees(Some(100.0 * (1.0 + 5e-9)), Some(100.0)));
    assert!(agrees(Some(5e-13), Some(0.0)));
    assert!(!agrees(Some(5e-12), Some(0.0)));
}

#[test]
fn garbage_reference_cell_names_file_row_and_column() {
    let err =
        std::panic::catch_unwind(|| number("0.1x", Path::new("f.csv"), 3, "sar")).unwrap_err();
    let message = err.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("f.csv:5: column sar: \"0.1x\""),
        "{message}"
    );
}
