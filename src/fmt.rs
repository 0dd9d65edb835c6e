//! How numbers, prices, sizes, durations and UTC times are written for people to read: used by
//! reports and panes alike.

use crate::domain::BacktestMetrics;

/// Year, month, day of a count of days since 1970-01-01 (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Hours, minutes, seconds of the UTC day of `time_ms`.
fn clock(time_ms: i64) -> (i64, i64, i64) {
    let secs = time_ms.div_euclid(1_000).rem_euclid(86_400);
    (secs / 3_600, secs / 60 % 60, secs % 60)
}

/// `HH:MM:SS` UTC.
pub fn utc_hms(time_ms: i64) -> String {
    let (h, m, s) = clock(time_ms);
    format!("{h:02}:{m:02}:{s:02}")
}

/// `HH:MM` UTC.
pub fn utc_hm(time_ms: i64) -> String {
    let (h, m, _) = clock(time_ms);
    format!("{h:02}:{m:02}")
}

/// `MM-DD` UTC.
pub fn utc_md(time_ms: i64) -> String {
    let (_, month, day) = civil_from_days(time_ms.div_euclid(86_400_000));
    format!("{month:02}-{day:02}")
}

/// `YYYY-MM-DD HH:MM:SS` UTC.
pub fn utc_datetime(time_ms: i64) -> String {
    let (year, month, day) = civil_from_days(time_ms.div_euclid(86_400_000));
    format!("{year:04}-{month:02}-{day:02} {}", utc_hms(time_ms))
}

/// A duration in its two largest units: `42s`, `5m 07s`, `3h 12m`, `4d 06h`.
/// A signed interval `[lo, hi]` with `decimals` places; one with no finite bound yet (a
/// confidence sequence before it has enough data: the whole line, ±f64::MAX) says so.
pub fn signed_interval(lo: f64, hi: f64, decimals: usize) -> String {
    const NO_BOUND: f64 = 1e300;
    if !(lo.is_finite() && hi.is_finite()) || lo <= -NO_BOUND || hi >= NO_BOUND {
        return "[no bound yet]".to_string();
    }
    format!("[{lo:+.decimals$}, {hi:+.decimals$}]")
}

pub fn duration(ms: i64) -> String {
    let secs = ms.max(0) / 1_000;
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m {:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {:02}m", s / 3_600, s / 60 % 60),
        s => format!("{}d {:02}h", s / 86_400, s / 3_600 % 24),
    }
}

/// Decimals that show a price to about six significant digits.
pub fn price_decimals(price: f64) -> usize {
    let p = price.abs();
    if p >= 100.0 {
        2
    } else if p >= 1.0 {
        4
    } else if p >= 0.01 {
        6
    } else {
        8
    }
}

/// A price with [`price_decimals`] decimals; `-` when unknown or not finite.
pub fn price(price: Option<f64>) -> String {
    match price {
        Some(p) if p.is_finite() => format!("{p:.*}", price_decimals(p)),
        _ => "-".to_string(),
    }
}

/// A relative change as a signed percentage: `+1.23%`.
pub fn change_pct(change: Option<f64>) -> String {
    match change {
        Some(c) if c.is_finite() => format!("{:+.2}%", c * 100.0),
        _ => "-".to_string(),
    }
}

/// A quantity in at most about five characters: `812`, `12.3`, `4.56K`, `78.9M`, `1.20B`.
pub fn compact(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_string();
    }
    let v = value.abs();
    let sign = if value < 0.0 { "-" } else { "" };
    let (scaled, unit) = if v >= 1e9 {
        (v / 1e9, "B")
    } else if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "K")
    } else {
        (v, "")
    };
    let decimals = match scaled {
        s if s >= 100.0 => 0,
        s if s >= 10.0 => 1,
        _ => 2,
    };
    format!("{sign}{scaled:.decimals$}{unit}")
}

/// A size in bytes: `812 B`, `1.5 KiB`, `240.0 MiB`.
pub fn bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `text` cut to at most `width` characters, ending in `…` when cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// A backtest's metric rows as (name, value) text, in the order the README defines them: the
/// CLI's report and the Backtest pane both show them.
pub fn metric_rows(m: &BacktestMetrics) -> Vec<(&'static str, String)> {
    let pct = |v: f64| format!("{:+.2} %", 100.0 * v);
    vec![
        ("total return", pct(m.total_return)),
        ("buy and hold", pct(m.buy_and_hold_return)),
        ("CAGR", pct(m.cagr)),
        ("annual volatility", pct(m.annual_volatility)),
        ("Sharpe", format!("{:.2}", m.sharpe)),
        ("Sortino", format!("{:.2}", m.sortino)),
        ("Calmar", format!("{:.2}", m.calmar)),
        ("max drawdown", pct(-m.max_drawdown)),
        (
            "max drawdown duration",
            format!("{:.1} h", m.max_drawdown_duration_ms as f64 / 3_600_000.0),
        ),
        ("exposure", format!("{:.1} %", 100.0 * m.exposure)),
        ("trades", m.trades.to_string()),
        ("win rate", format!("{:.1} %", 100.0 * m.win_rate)),
        ("profit factor", format!("{:.2}", m.profit_factor)),
        ("expectancy", format!("{:.4}", m.expectancy)),
        ("average trade", format!("{:+.3} %", m.average_trade_pct)),
        ("final equity", format!("{:.2}", m.final_equity)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_intervals_and_the_whole_line() {
        assert_eq!(signed_interval(-0.00432, 0.0123, 4), "[-0.0043, +0.0123]");
        assert_eq!(signed_interval(f64::MIN, f64::MAX, 4), "[no bound yet]");
        assert_eq!(signed_interval(f64::NEG_INFINITY, 1.0, 4), "[no bound yet]");
    }

    #[test]
    fn utc_times() {
        // 2024-06-10 06:13:20 UTC
        let t = 1_718_000_000_000;
        assert_eq!(utc_hms(t), "06:13:20");
        assert_eq!(utc_hm(t), "06:13");
        assert_eq!(utc_md(t), "06-10");
        assert_eq!(utc_datetime(t), "2024-06-10 06:13:20");
        assert_eq!(utc_datetime(0), "1970-01-01 00:00:00");
        assert_eq!(utc_datetime(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(utc_datetime(-1_000), "1969-12-31 23:59:59");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(-5), "0s");
        assert_eq!(duration(42_999), "42s");
        assert_eq!(duration(307_000), "5m 07s");
        assert_eq!(duration(11_520_000), "3h 12m");
        assert_eq!(duration(367_200_000), "4d 06h");
    }

    #[test]
    fn numbers() {
        assert_eq!(price(Some(64_123.456)), "64123.46");
        assert_eq!(price(Some(1.5)), "1.5000");
        assert_eq!(price(Some(0.000_012_3)), "0.00001230");
        assert_eq!(price(Some(f64::NAN)), "-");
        assert_eq!(price(None), "-");
        assert_eq!(change_pct(Some(0.012_34)), "+1.23%");
        assert_eq!(change_pct(Some(-0.5)), "-50.00%");
        assert_eq!(compact(812.0), "812");
        assert_eq!(compact(4_560.0), "4.56K");
        assert_eq!(compact(78_900_000.0), "78.9M");
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(251_658_240), "240.0 MiB");
        assert_eq!(fit("btcusdt@kline_1m", 8), "btcusdt…");
        assert_eq!(fit("abc", 3), "abc");
        assert_eq!(fit("abc", 0), "");
    }
}
