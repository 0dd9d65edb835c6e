//! Parity of the part-A indicator families (SMA, EMA, WMA, MACD, RSI, STOCHRSI, ROC, BBANDS, OBV)
//! with TA-Lib's outputs in ../shared/reference/talib, over the candles in ../shared/data.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use trademon::domain::Candle;
use trademon::indicators::{
    Bbands, Ema, Indicator, Macd, Obv, Roc, Rsi, Sma, StochRsi, Wma, batch,
};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared");
const MARKETS: [&str; 3] = ["ETHBTC-5m", "ALTBTC-1m", "XRPETH-1m"];
const RELATIVE: f64 = 1e-9;
const ABSOLUTE: f64 = 1e-12;

/// The candles of `open_time_ms,open,high,low,close,volume`; errors name the file and line.
fn read_candles(path: &Path, text: &str) -> Result<Vec<Candle>, String> {
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, h)| h.trim()).unwrap_or_default();
    if header != "open_time_ms,open,high,low,close,volume" {
        return Err(format!(
            "{}:1: unexpected header {header:?}",
            path.display()
        ));
    }
    let mut candles = Vec::new();
    for (index, line) in lines {
        let at = format!("{}:{}", path.display(), index + 1);
        let cells: Vec<&str> = line.trim().split(',').collect();
        if cells.len() != 6 {
            return Err(format!("{at}: expected 6 cells, found {}", cells.len()));
        }
        let open_time_ms = cells[0]
            .parse::<i64>()
            .map_err(|e| format!("{at}: open_time_ms {:?}: {e}", cells[0]))?;
        let mut prices = [0.0; 5];
        for (slot, (name, cell)) in prices.iter_mut().zip(
            ["open", "high", "low", "close", "volume"]
                .iter()
                .zip(&cells[1..]),
        ) {
            *slot = cell
                .parse::<f64>()
                .map_err(|e| format!("{at}: {name} {cell:?}: {e}"))?;
        }
        let [open, high, low, close, volume] = prices;
        candles.push(Candle {
            open_time_ms,
            open,
            high,
            low,
            close,
            volume,
            quote_volume: 0.0,
            trades: 0,
        });
    }
    Ok(candles)
}

/// Reference columns by name; an empty cell is TA-Lib's NaN (`None`).
fn read_reference(path: &Path, text: &str) -> Result<HashMap<String, Vec<Option<f64>>>, String> {
    let mut lines = text.lines().enumerate();
    let names: Vec<String> = match lines.next() {
        Some((_, header)) if header.starts_with("open_time_ms,") => {
            header.trim().split(',').map(str::to_owned).collect()
        }
        _ => return Err(format!("{}:1: no open_time_ms header", path.display())),
    };
    let mut columns: Vec<Vec<Option<f64>>> = vec![Vec::new(); names.len()];
    for (index, line) in lines {
        let at = format!("{}:{}", path.display(), index + 1);
        let cells: Vec<&str> = line.trim().split(',').collect();
        if cells.len() != names.len() {
            return Err(format!(
                "{at}: expected {} cells, found {}",
                names.len(),
                cells.len()
            ));
        }
        for ((column, name), cell) in columns.iter_mut().zip(&names).zip(cells) {
            let value = if cell.is_empty() {
                None
            } else {
                Some(
                    cell.parse::<f64>()
                        .map_err(|e| format!("{at}: {name} {cell:?}: {e}"))?,
                )
            };
            column.push(value);
        }
    }
    Ok(names.into_iter().zip(columns).collect())
}

fn column<I: Indicator>(
    mut indicator: I,
    candles: &[Candle],
    pick: impl Fn(I::Output) -> f64,
) -> Vec<Option<f64>> {
    batch(&mut indicator, candles)
        .into_iter()
        .map(|v| v.map(&pick))
        .collect()
}

/// Our outputs under the reference files' column names.
fn our_columns(candles: &[Candle]) -> Vec<(&'static str, Vec<Option<f64>>)> {
    vec![
        ("sma_20", column(Sma::default(), candles, |v| v)),
        ("ema_20", column(Ema::default(), candles, |v| v)),
        ("wma_20", column(Wma::default(), candles, |v| v)),
        ("macd", column(Macd::default(), candles, |v| v.macd)),
        (
            "macd_signal",
            column(Macd::default(), candles, |v| v.signal),
        ),
        ("macd_hist", column(Macd::default(), candles, |v| v.hist)),
        ("rsi_14", column(Rsi::default(), candles, |v| v)),
        ("stochrsi_k", column(StochRsi::default(), candles, |v| v.k)),
        ("stochrsi_d", column(StochRsi::default(), candles, |v| v.d)),
        ("roc_10", column(Roc::default(), candles, |v| v)),
        ("bb_upper", column(Bbands::default(), candles, |v| v.upper)),
        (
            "bb_middle",
            column(Bbands::default(), candles, |v| v.middle),
        ),
        ("bb_lower", column(Bbands::default(), candles, |v| v.lower)),
        ("obv", column(Obv::new(), candles, |v| v)),
    ]
}

/// The first row where `ours` and `talib` disagree, described.
fn first_mismatch(ours: &[Option<f64>], talib: &[Option<f64>]) -> Option<String> {
    if ours.len() != talib.len() {
        return Some(format!("{} rows, TA-Lib has {}", ours.len(), talib.len()));
    }
    ours.iter()
        .zip(talib)
        .enumerate()
        .find_map(|(row, (&ours, &talib))| {
            let agree = match (ours, talib) {
                (None, None) => true,
                (Some(a), Some(b)) => (a - b).abs() <= (RELATIVE * b.abs()).max(ABSOLUTE),
                _ => false,
            };
            (!agree).then(|| format!("row {row}: ours {ours:?}, TA-Lib {talib:?}"))
        })
}

fn shared_file(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(SHARED).join(relative);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing (CI=true)",
        path.display()
    );
    eprintln!("skipping: {} is missing", path.display());
    None
}

#[test]
fn part_a_columns_match_talib() {
    let mut failures = Vec::new();
    let mut checked = 0usize;
    for market in MARKETS {
        let (Some(data), Some(reference)) = (
            shared_file(&format!("data/{market}.csv")),
            shared_file(&format!("reference/talib/{market}.talib.csv")),
        ) else {
            continue;
        };
        let candles = read_candles(&data, &std::fs::read_to_string(&data).unwrap()).unwrap();
        let talib =
            read_reference(&reference, &std::fs::read_to_string(&reference).unwrap()).unwrap();
        let times = &talib["open_time_ms"];
        assert_eq!(times.len(), candles.len(), "{market}: row counts differ");
        for (name, ours) in our_columns(&candles) {
            let Some(theirs) = talib.get(name) else {
                failures.push(format!("{}: no column {name}", reference.display()));
                continue;
            };
            checked += theirs.len();
            if let Some(what) = first_mismatch(&ours, theirs) {
                failures.push(format!("{}: {name} {what}", reference.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{checked} values agree with TA-Lib");
}

#[test]
fn garbage_input_is_refused_with_file_and_line() {
    let data = Path::new("bad.csv");
    let err = read_candles(
        data,
        "open_time_ms,open,high,low,close,volume\n1,2,3,4,5,6\n2,x,3,4,5,6\n",
    )
    .unwrap_err();
    assert_eq!(err, "bad.csv:3: open \"x\": invalid float literal");
    let err = read_candles(data, "time,price\n").unwrap_err();
    assert!(err.starts_with("bad.csv:1: unexpected header"), "{err}");
    let err = read_candles(data, "open_time_ms,open,high,low,close,volume\n1,2,3\n").unwrap_err();
    assert_eq!(err, "bad.csv:2: expected 6 cells, found 3");

    let reference = Path::new("ref.csv");
    let err = read_reference(reference, "open_time_ms,sma_20\n1,\n2,abc\n").unwrap_err();
    assert_eq!(err, "ref.csv:3: sma_20 \"abc\": invalid float literal");
    let err = read_reference(reference, "open_time_ms,sma_20\n1\n").unwrap_err();
    assert_eq!(err, "ref.csv:2: expected 2 cells, found 1");
    assert!(
        read_reference(reference, "")
            .unwrap_err()
            .contains("ref.csv:1")
    );
}

#[test]
fn a_mismatch_names_the_row_and_both_values() {
    let talib = [None, Some(1.0), Some(2.0)];
    assert_eq!(
        first_mismatch(&[None, Some(1.0), Some(2.0 + 1e-10)], &talib),
        None
    );
    assert_eq!(
        first_mismatch(&[None, Some(1.0), Some(2.1)], &talib).as_deref(),
        Some("row 2: ours Some(2.1), TA-Lib Some(2.0)")
    );
    assert_eq!(
        first_mismatch(&[Some(0.0), Some(1.0), Some(2.0)], &talib).as_deref(),
        Some("row 0: ours Some(0.0), TA-Lib None")
    );
}
