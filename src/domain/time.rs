//! Times as the user writes them: UTC milliseconds, a date, or a date and time, all UTC.

/// Parses a `--from`/`--to` time: UTC milliseconds (`1515560100000`), a date (`2018-01-10`) or a
/// date and time (`2018-01-10T05:00`, `2018-01-10T05:00:30Z`), all UTC.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || {
        format!("{text:?} is not a time; use UTC milliseconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]")
    };
    let body = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = body.split_once(['T', ' ']).unwrap_or((body, "00:00"));
    let number = |s: &str, low: i64, high: i64| -> Result<i64, String> {
        let v: i64 = s.parse().map_err(|_| bad())?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || v < low || v > high {
            return Err(bad());
        }
        Ok(v)
    };
    let d: Vec<&str> = date.split('-').collect();
    let t: Vec<&str> = time.split(':').collect();
    if d.len() != 3 || !(2..=3).contains(&t.len()) {
        return Err(bad());
    }
    let (year, month, day) = (
        number(d[0], 1970, 9999)?,
        number(d[1], 1, 12)?,
        number(d[2], 1, 31)?,
    );
    let (hour, minute) = (number(t[0], 0, 23)?, number(t[1], 0, 59)?);
    let second = t.get(2).map_or(Ok(0), |s| number(s, 0, 59))?;
    let days = days_from_civil(year, month, day);
    let next_month = if month == 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    };
    if days >= next_month {
        return Err(bad());
    }
    Ok(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000)
}

/// The longest duration [`parse_span`] takes: a year of 365 days.
pub const MAX_SPAN_MS: i64 = 365 * 86_400_000;

/// Parses a duration written as a number and a unit (`500ms`, `30s`, `5m`, `1.5h`, `7d`) into
/// milliseconds: zero or more, at most a year. The unit is required; a sign, a missing number and
/// anything that is not one of ms, s, m, h, d are refused with a message that quotes the text.
pub fn parse_span(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty duration; write a number and a unit, like 30s, 5m, 2h or 7d".into());
    }
    if text.starts_with('-') {
        return Err(format!("{text:?}: a duration cannot be negative"));
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .ok()
        .filter(|_| number.bytes().any(|b| b.is_ascii_digit()))
        .ok_or_else(|| format!("{text:?} is not a duration like 30s, 5m, 2h or 7d"))?;
    let unit_ms = match unit {
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        "" => {
            return Err(format!(
                "{text:?} has no unit; use ms, s, m, h or d (e.g. {text}s)"
            ));
        }
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?}; use ms, s, m, h or d"
            ));
        }
    };
    let ms = value * unit_ms;
    if !ms.is_finite() || ms > MAX_SPAN_MS as f64 {
        return Err(format!("{text:?} is longer than a year"));
    }
    Ok(ms.round() as i64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_utc() {
        assert_eq!(parse_time("1515560100000"), Ok(1_515_560_100_000));
        assert_eq!(parse_time("1970-01-01"), Ok(0));
        assert_eq!(parse_time("2018-01-10"), Ok(1_515_542_400_000));
        assert_eq!(parse_time("2018-01-10T05:00"), Ok(1_515_560_400_000));
        assert_eq!(parse_time("2018-01-10T05:00:30Z"), Ok(1_515_560_430_000));
        assert_eq!(parse_time("2024-02-29"), Ok(1_709_164_800_000));
        for bad in [
            "",
            "yesterday",
            "2018-13-01",
            "2018-02-30",
            "2023-02-29",
            "2018-01-10T25:00",
            "2018-1-x",
        ] {
            let error = parse_time(bad).unwrap_err();
            assert!(error.contains("not a time"), "{bad}: {error}");
        }
    }

    #[test]
    fn spans_need_a_number_and_a_unit() {
        assert_eq!(parse_span("7d"), Ok(7 * 86_400_000));
        assert_eq!(parse_span(" 24h "), Ok(86_400_000));
        assert_eq!(parse_span("1.5m"), Ok(90_000));
        assert_eq!(parse_span("250ms"), Ok(250));
        assert_eq!(parse_span("0s"), Ok(0));
        assert_eq!(parse_span("365d"), Ok(MAX_SPAN_MS));
        for (bad, says) in [
            ("", "empty duration"),
            ("7", "has no unit"),
            ("7x", "unknown unit \"x\""),
            ("soon", "not a duration"),
            ("-1d", "cannot be negative"),
            ("99999999999d", "longer than a year"),
            ("366d", "longer than a year"),
            (".d", "not a duration"),
            ("1.2.3s", "not a duration"),
            ("NaNs", "not a duration"),
        ] {
            let error = parse_span(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
