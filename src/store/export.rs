//! Stored candles written out in the layouts `import` reads, so export → import round-trips
//! exactly: every float is written as the shortest decimal that parses back to the same double.
//!
//! - CSV: the header `open_time_ms,open,high,low,close,volume,quote_volume,trades`, one candle a
//!   line (pandas: `pd.read_csv(path)`).
//! - JSON: an array of Binance's 12-element REST rows, `[open_time, open, high, low, close,
//!   volume, close_time, quote_volume, trades, null, null, null]`, numbers as JSON numbers. The
//!   last three (taker buy volumes, "ignore") are not stored, so they are written as null rather
//!   than invented (pandas: `pd.read_json(path)`).

use std::fmt::Write;

use crate::domain::{Candle, Interval};

/// The layouts `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Csv,
    Json,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            _ => Err(format!("{text:?} is not an export format; use csv or json")),
        }
    }
}

/// The CSV header line, without its newline.
pub const CSV_HEADER: &str = "open_time_ms,open,high,low,close,volume,quote_volume,trades";

/// Appends the candles to `out` in `format`; `first` says whether this is the start of the file
/// (header or opening bracket) and `last` whether it ends it.
pub fn write_candles(
    out: &mut String,
    format: ExportFormat,
    interval: Interval,
    candles: &[Candle],
    first: bool,
    last: bool,
) {
    match format {
        ExportFormat::Csv => {
            if first {
                out.push_str(CSV_HEADER);
                out.push('\n');
            }
            for c in candles {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{}",
                    c.open_time_ms,
                    c.open,
                    c.high,
                    c.low,
                    c.close,
                    c.volume,
                    c.quote_volume,
                    c.trades
                );
            }
        }
        ExportFormat::Json => {
            if first {
                out.push('[');
            }
            for (i, c) in candles.iter().enumerate() {
                if i > 0 || !first {
                    out.push(',');
                }
                let _ = write!(
                    out,
                    "\n[{},{},{},{},{},{},{},{},{},null,null,null]",
                    c.open_time_ms,
                    c.open,
                    c.high,
                    c.low,
                    c.close,
                    c.volume,
                    c.close_time_ms(interval.ms()),
                    c.quote_volume,
                    c.trades
                );
            }
            if last {
                out.push_str("\n]\n");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::import::read_candles_from_bytes;

    fn candles() -> Vec<Candle> {
        let mut out = Vec::new();
        for (i, t) in [0i64, 1, 2, 5, 6].iter().enumerate() {
            let base = 0.1 + i as f64 / 3.0;
            out.push(Candle {
                open_time_ms: 1_600_000_020_000 / 60_000 * 60_000 + t * 60_000,
                open: base,
                high: base * 1.5,
                low: base / 7.0,
                close: base * 1.1,
                volume: 1e-7 + i as f64,
                quote_volume: 12_345.678_901_234_567,
                trades: 17 + i as u64,
            });
        }
        out
    }

    #[test]
    fn both_layouts_read_back_bit_for_bit() {
        let candles = candles();
        for format in [ExportFormat::Csv, ExportFormat::Json] {
            // Written in two chunks, as the command writes them.
            let mut text = String::new();
            write_candles(&mut text, format, Interval::M1, &candles[..2], true, false);
            write_candles(&mut text, format, Interval::M1, &candles[2..], false, true);
            let parsed = read_candles_from_bytes("x", text.as_bytes(), Interval::M1)
                .unwrap_or_else(|e| panic!("{format:?}: {e}\n{text}"));
            assert_eq!(parsed.candles, candles, "{format:?}");
            assert!(parsed.zero_filled.is_empty(), "{format:?}");
            assert_eq!(parsed.gaps, vec![(candles[3].open_time_ms - 120_000, 2)]);
        }
    }

    #[test]
    fn empty_series_is_still_a_valid_file() {
        for format in [ExportFormat::Csv, ExportFormat::Json] {
            let mut text = String::new();
            write_candles(&mut text, format, Interval::M1, &[], true, true);
            let expected = match format {
                ExportFormat::Csv => format!("{CSV_HEADER}\n"),
                ExportFormat::Json => "[\n]\n".to_string(),
            };
            assert_eq!(text, expected);
        }
    }
}
