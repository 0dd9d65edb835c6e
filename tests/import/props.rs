//! Property tests: random valid series read back equal in every layout; one corrupted cell is
//! refused at its row, or (when still valid) read as written.

use proptest::prelude::*;
use trademon::domain::{Candle, Interval};
use trademon::feed::binance::write_rest_klines;
use trademon::store::import::{ImportError, read_candles_from_bytes};

use crate::support::import::csv_text;
use crate::{MINUTE, T0};

fn series() -> impl Strategy<Value = Vec<Candle>> {
    let candle = (
        1e-8f64..1e5,
        0f64..1.0,
        0f64..1.0,
        0f64..0.5,
        0f64..0.5,
        0f64..1e9,
        0f64..1e9,
        0u64..1_000_000,
        1i64..4,
    );
    prop::collection::vec(candle, 1..40).prop_map(|rows| {
        let mut t = T0 - MINUTE;
        rows.into_iter()
            .map(|(open, c, h, l, _, volume, quote_volume, trades, step)| {
                t += step * MINUTE;
                let close = open * (0.5 + c);
                Candle {
                    open_time_ms: t,
                    open,
                    high: open.max(close) * (1.0 + h),
                    low: open.min(close) * (1.0 - l),
                    close,
                    volume,
                    quote_volume,
                    trades,
                }
            })
            .collect()
    })
}

fn write_csv(candles: &[Candle]) -> String {
    csv_text(candles, true)
}

fn write_dump(candles: &[Candle], micros: bool) -> String {
    let k = if micros { 1_000 } else { 1 };
    let mut out = String::new();
    for c in candles {
        let close_time = (c.open_time_ms + MINUTE) * k - 1;
        out += &format!(
            "{},{},{},{},{},{},{close_time},{},{},0,0,0\n",
            c.open_time_ms * k,
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume,
            c.quote_volume,
            c.trades
        );
    }
    out
}

fn write_json_numbers(candles: &[Candle]) -> String {
    let rows: Vec<String> = candles
        .iter()
        .map(|c| {
            format!(
                "[{},{},{},{},{},{}]",
                c.open_time_ms, c.open, c.high, c.low, c.close, c.volume
            )
        })
        .collect();
    format!("[{}]", rows.join(",\n"))
}

fn read(text: &str) -> Result<Vec<Candle>, ImportError> {
    read_candles_from_bytes("prop", text.as_bytes(), Interval::M1).map(|p| p.candles)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn valid_series_read_back_equal(candles in series()) {
        let without_volumes: Vec<Candle> = candles.iter().map(|c| Candle { quote_volume: 0.0, trades: 0, ..*c }).collect();
        prop_assert_eq!(read(&write_csv(&candles)).unwrap(), candles.clone());
        prop_assert_eq!(read(&write_dump(&candles, false)).unwrap(), candles.clone());
        prop_assert_eq!(read(&write_dump(&candles, true)).unwrap(), candles.clone());
        prop_assert_eq!(read(&write_rest_klines(Interval::M1, &candles)).unwrap(), candles.clone());
        prop_assert_eq!(read(&write_json_numbers(&candles)).unwrap(), without_volumes);
    }

    #[test]
    fn one_corrupted_cell_is_refused_at_its_row_or_read_as_written(
        candles in series(),
        row in any::<prop::sample::Index>(),
        column in 0usize..8,
        junk in prop_oneof![
            Just(String::new()), Just("NaN".to_string()), Just("-1".to_string()), Just("0".to_string()),
            Just("inf".to_string()), Just("1e400".to_string()), Just(" 7".to_string()), Just("1,2".to_string()),
            "[ -~&&[^,]]{0,6}", any::<f64>().prop_map(|f| f.to_string()), any::<i64>().prop_map(|i| i.to_string()),
        ],
    ) {
        let row = row.index(candles.len());
        let text = write_csv(&candles);
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let mut cells: Vec<String> = lines[row + 1].split(',').map(String::from).collect();
        cells[column] = junk.clone();
        lines[row + 1] = cells.join(",");
        match read(&(lines.join("\n") + "\n")) {
            Err(ImportError::Row { row: bad, line, .. }) => {
                // A bad time can also surface as the next row being out of order.
                prop_assert!(bad == row as u64 + 1 || bad == row as u64 + 2, "row {} for {}", bad, row);
                prop_assert_eq!(line, bad + 1);
            }
            Err(other) => prop_assert!(false, "{}", other),
            Ok(read_back) => {
                let mut expected = candles.clone();
                let c = &mut expected[row];
                let value = junk.trim_start();
                let f = || value.parse::<f64>().unwrap();
                match column {
                    0 => c.open_time_ms = value.parse().unwrap(),
                    1 => c.open = f(),
                    2 => c.high = f(),
                    3 => c.low = f(),
                    4 => c.close = f(),
                    5 => c.volume = f(),
                    6 => c.quote_volume = f(),
                    // Counts are read as integers, so "-0" is a valid 0.
                    _ => c.trades = u64::try_from(value.parse::<i64>().unwrap()).unwrap(),
                }
                prop_assert_eq!(read_back, expected);
            }
        }
    }
}
