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
}
