#![allow(clippy::unwrap_used)]
//! Parity of all 26 raw indicator outputs with TA-Lib: for every reference file in
//! ../shared/reference/talib/*.talib.csv (input: ../shared/data/<NAME>.csv), our `raw_batch` is
//! `None` exactly where TA-Lib has NaN (an empty cell) and agrees elsewhere within 1e-9 relative or
//! 1e-12 absolute. A failure lists every failing column with its first mismatch.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use trademon::domain::Candle;
use trademon::indicators::{RAW_COLUMNS, RawRow, raw_batch};

const REFERENCE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/talib");
const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data");
const INPUT_HEADER: [&str; 6] = ["open_time_ms", "open", "high", "low", "close", "volume"];
const RELATIVE: f64 = 1e-9;
const ABSOLUTE: f64 = 1e-12;

/// One TA-Lib row: the open time and the 26 outputs (`None` = NaN).
type ReferenceRow = (i64, RawRow);

/// Absent shared data fails under CI and is skipped (with the reason) elsewhere.
fn missing(what: &Path) {
    let reason = format!("{} is absent", what.display());
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{reason} (CI=true: shared reference data is required)");
    }
    eprintln!("skipping TA-Lib parity: {reason}");
}

fn field<'a>(fields: &[&'a str], index: usize, name: &str, at: &str) -> Result<&'a str, String> {
    fields
        .get(index)
        .copied()
        .ok_or_else(|| format!("{at}: missing column {name:?}"))
}

fn number(text: &str, name: &str, at: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .map_err(|_| format!("{at}: column {name:?}: {text:?} is not a number"))
}

fn time_ms(text: &str, at: &str) -> Result<i64, String> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| format!("{at}: column \"open_time_ms\": {text:?} is not an integer"))
}

/// Reads `open_time_ms,open,high,low,close,volume` candles; errors name the file, line and column.
fn parse_candles(source: &str, text: &str) -> Result<Vec<Candle>, String> {
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .map(|(_, l)| l.split(',').map(str::trim).collect())
        .unwrap_or_default();
    if header != INPUT_HEADER {
        return Err(format!(
            "{source}:1: header is {header:?}, expected {INPUT_HEADER:?}"
        ));
    }
    let mut candles = Vec::new();
    for (i, line) in lines {
        let at = format!("{source}:{}", i + 1);
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != INPUT_HEADER.len() {
            return Err(format!(
                "{at}: {} fields, expected {}",
                fields.len(),
                INPUT_HEADER.len()
            ));
        }
        let mut prices = [0.0; 5];
        for (k, price) in prices.iter_mut().enumerate() {
            let name = INPUT_HEADER[k + 1];
            *price = number(field(&fields, k + 1, name, &at)?, name, &at)?;
        }
        let candle = Candle {
            open_time_ms: time_ms(fields[0], &at)?,
            open: prices[0],
            high: prices[1],
            low: prices[2],
            close: prices[3],
            volume: prices[4],
            quote_volume: 0.0,
            trades: 0,
        };
        candle.validate().map_err(|e| format!("{at}: {e}"))?;
        candles.push(candle);
    }
    Ok(candles)
}

/// Reads a `*.talib.csv` file: `open_time_ms` then the 26 columns of `RAW_COLUMNS`.
fn parse_reference(source: &str, text: &str) -> Result<Vec<ReferenceRow>, String> {
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .map(|(_, l)| l.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let expected: Vec<&str> = std::iter::once("open_time_ms").chain(RAW_COLUMNS).collect();
    if header != expected {
        return Err(format!(
            "{source}:1: header is {header:?}, expected {expected:?}"
        ));
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        let at = format!("{source}:{}", i + 1);
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != expected.len() {
            return Err(format!(
                "{at}: {} fields, expected {}",
                fields.len(),
                expected.len()
            ));
        }
        let mut row: RawRow = [None; 26];
        for (k, value) in row.iter_mut().enumerate() {
            let text = fields[k + 1].trim();
            if !text.is_empty() {
                *value = Some(number(text, RAW_COLUMNS[k], &at)?);
            }
        }
        rows.push((time_ms(fields[0], &at)?, row));
    }
    Ok(rows)
}

fn agrees(ours: Option<f64>, talib: Option<f64>) -> bool {
    match (ours, talib) {
        (None, None) => true,
        (Some(o), Some(t)) => {
            let diff = (o - t).abs();
            diff <= RELATIVE * t.abs() || diff <= ABSOLUTE
        }
        _ => false,
    }
}

fn show(value: Option<f64>) -> String {
    value.map_or_else(|| "None (NaN)".to_owned(), |v| format!("{v:.17e}"))
}

/// Compares every column; returns one line per failing column (first mismatch and count).
fn compare(source: &str, ours: &[RawRow], reference: &[ReferenceRow]) -> Vec<String> {
    if ours.len() != reference.len() {
        return vec![format!(
            "{source}: {} rows from us, {} in the reference",
            ours.len(),
            reference.len()
        )];
    }
    let mut failures = Vec::new();
    for (col, name) in RAW_COLUMNS.iter().enumerate() {
        let mut bad = reference
            .iter()
            .zip(ours)
            .enumerate()
            .filter(|(_, ((_, t), o))| !agrees(o[col], t[col]));
        if let Some((row, ((time, t), o))) = bad.next() {
            failures.push(format!(
                "{source}: column {name}: first mismatch at row {row} (open_time_ms {time}): \
                 ours {} vs TA-Lib {}; {} mismatching rows in all",
                show(o[col]),
                show(t[col]),
                1 + bad.count()
            ));
        }
    }
    failures
}

fn reference_files() -> Option<Vec<PathBuf>> {
    let dir = Path::new(REFERENCE_DIR);
    let entries = std::fs::read_dir(dir).ok()?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".talib.csv"))
        .collect();
    files.sort();
    Some(files)
}

#[test]
fn every_column_of_every_reference_file_matches_talib() {
    let Some(files) = reference_files() else {
        return missing(Path::new(REFERENCE_DIR));
    };
    assert!(!files.is_empty(), "no *.talib.csv files in {REFERENCE_DIR}");
    let mut report = String::new();
    let mut checked = 0;
    for file in &files {
        let name = file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".talib.csv")
            .to_owned();
        let input = Path::new(DATA_DIR).join(format!("{name}.csv"));
        let Ok(input_text) = std::fs::read_to_string(&input) else {
            return missing(&input);
        };
        let candles = parse_candles(&input.display().to_string(), &input_text).unwrap();
        let reference_text = std::fs::read_to_string(file).unwrap();
        let reference = parse_reference(&file.display().to_string(), &reference_text).unwrap();
        for (row, (candle, (time, _))) in candles.iter().zip(&reference).enumerate() {
            assert_eq!(
                candle.open_time_ms, *time,
                "{name}: row {row}: input and reference open times differ"
            );
        }
        let ours = raw_batch(&candles);
        for line in compare(&format!("{name}.talib.csv"), &ours, &reference) {
            writeln!(report, "{line}").unwrap();
        }
        checked += 1;
        eprintln!(
            "{name}: {} rows × {} columns checked",
            ours.len(),
            RAW_COLUMNS.len()
        );
    }
    assert!(report.is_empty(), "TA-Lib parity failures:\n{report}");
    assert_eq!(checked, files.len());
}

#[test]
fn garbage_input_is_refused_with_file_line_and_column() {
    let bad_number = "open_time_ms,open,high,low,close,volume\n1,1,1,1,1,1\n2,1,x,1,1,1\n";
    let err = parse_candles("in.csv", bad_number).unwrap_err();
    assert!(
        err.contains("in.csv:3") && err.contains("\"high\"") && err.contains("\"x\""),
        "{err}"
    );

    let bad_header = "time,open,high,low,close,volume\n";
    let err = parse_candles("in.csv", bad_header).unwrap_err();
    assert!(err.contains("in.csv:1: header"), "{err}");

    let short_row = "open_time_ms,open,high,low,close,volume\n1,1,1,1\n";
    let err = parse_candles("in.csv", short_row).unwrap_err();
    assert!(err.contains("in.csv:2: 4 fields, expected 6"), "{err}");

    let bad_time = "open_time_ms,open,high,low,close,volume\n1.5,1,1,1,1,1\n";
    let err = parse_candles("in.csv", bad_time).unwrap_err();
    assert!(
        err.contains("in.csv:2") && err.contains("open_time_ms"),
        "{err}"
    );

    let high_below_low = "open_time_ms,open,high,low,close,volume\n1,1,0.5,1,1,1\n";
    let err = parse_candles("in.csv", high_below_low).unwrap_err();
    assert!(err.contains("in.csv:2: high 0.5 is below"), "{err}");

    let header = std::iter::once("open_time_ms")
        .chain(RAW_COLUMNS)
        .collect::<Vec<_>>()
        .join(",");
    let cells = format!("7{}", ",".repeat(25) + ",oops");
    let err = parse_reference("ref.csv", &format!("{header}\n{cells}\n")).unwrap_err();
    assert!(
        err.contains("ref.csv:2") && err.contains("aroon_up") && err.contains("oops"),
        "{err}"
    );
    let err = parse_reference("ref.csv", "open_time_ms,sma_20\n").unwrap_err();
    assert!(err.contains("ref.csv:1: header"), "{err}");
}

#[test]
fn the_comparison_catches_value_and_warm_up_mismatches_in_every_column() {
    let mut row: RawRow = [Some(1.0); 26];
    row[0] = None;
    let reference: Vec<ReferenceRow> = vec![(10, row), (20, [Some(100.0); 26])];
    let ours = vec![row, [Some(100.0); 26]];
    assert!(compare("r", &ours, &reference).is_empty());

    // Within tolerance: relative 1e-9, absolute 1e-12 near zero.
    assert!(agrees(Some(100.0 + 0.9e-7), Some(100.0)));
    assert!(!agrees(Some(100.0 + 1.1e-7), Some(100.0)));
    assert!(agrees(Some(0.5e-12), Some(0.0)));
    assert!(!agrees(Some(2e-12), Some(0.0)));

    let mut wrong = ours.clone();
    wrong[0][0] = Some(1.0); // a value where TA-Lib is still warming up
    wrong[1][25] = Some(100.001);
    wrong[1][3] = None; // warming up where TA-Lib has a value
    let failures = compare("r", &wrong, &reference);
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(failures[0].contains("column sma_20") && failures[0].contains("open_time_ms 10"));
    assert!(failures[1].contains("column macd:") && failures[1].contains("row 1"));
    assert!(failures[2].contains("column aroon_up") && failures[2].contains("1.00001"));
    assert!(!compare("r", &wrong[..1], &reference).is_empty());
}
