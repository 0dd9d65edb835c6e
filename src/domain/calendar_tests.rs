//! Unit tests of the market calendar: the closure limits of daily and intraday candles at their
//! boundaries, gap listings, detection, and parsing.

use super::*;

const HOUR: i64 = 3_600_000;
/// 2024-01-01, a Monday, 00:00 UTC.
const MONDAY: i64 = 1_704_067_200_000;

/// 00:00 UTC of day `d` after 2024-01-01 (0 = Monday, 4 = Friday, 7 = the next Monday).
fn day(d: i64) -> i64 {
    MONDAY + d * DAY_MS
}

#[test]
fn twenty_four_seven_counts_every_missing_candle() {
    let c = Calendar::TwentyFourSeven;
    assert!(!c.is_gap(Interval::D1, day(0), day(1)));
    assert!(c.is_gap(Interval::D1, day(4), day(7)), "a weekend is a gap");
    assert!(!c.is_gap(Interval::M1, 60_000, 120_000));
    assert!(c.is_gap(Interval::M1, 60_000, 180_000));
    assert_eq!(Calendar::default(), c);
}

#[test]
fn daily_sessions_close_at_most_four_days() {
    let c = Calendar::Sessions;
    let d1 = Interval::D1;
    assert!(!c.is_gap(d1, day(0), day(1)), "consecutive days");
    assert!(!c.is_gap(d1, day(1), day(3)), "a midweek holiday");
    assert!(!c.is_gap(d1, day(4), day(7)), "Friday to Monday: 2 days");
    assert!(!c.is_gap(d1, day(4), day(8)), "Friday to Tuesday: 3 days");
    assert!(
        !c.is_gap(d1, day(3), day(8)),
        "Thursday to Tuesday: 4 days, the limit"
    );
    assert!(c.is_gap(d1, day(2), day(8)), "Wednesday to Tuesday: 5 days");
    assert!(c.is_gap(d1, day(4), day(21)), "two weeks");
    assert!(
        c.is_gap(d1, day(4), day(4)),
        "not after the previous candle"
    );
}

#[test]
fn intraday_sessions_close_at_most_three_whole_days() {
    let c = Calendar::Sessions;
    let h1 = Interval::H1;
    // US hours in UTC: the last hourly candle opens 20:00, the first 13:00 or 14:00.
    assert!(
        !c.is_gap(h1, day(0) + 20 * HOUR, day(1) + 14 * HOUR),
        "overnight"
    );
    assert!(
        !c.is_gap(h1, day(4) + 20 * HOUR, day(7) + 14 * HOUR),
        "a weekend"
    );
    assert!(
        !c.is_gap(h1, day(4) + 20 * HOUR, day(8) + 13 * HOUR),
        "a weekend and a holiday Monday: 3 days 16 hours long, but 3 whole days"
    );
    assert!(
        c.is_gap(h1, day(4) + 20 * HOUR, day(9)),
        "Friday evening to Wednesday: 4 whole days"
    );
    // Boundaries: the candle opening at 23:00 closes at midnight, so that day is whole.
    assert!(!c.is_gap(h1, day(4) + 23 * HOUR, day(8)));
    assert!(!c.is_gap(h1, day(4) + 23 * HOUR, day(8) + 23 * HOUR));
    assert!(c.is_gap(h1, day(4) + 23 * HOUR, day(9)));
    assert!(
        c.is_gap(h1, day(4) + 22 * HOUR, day(9)),
        "Sat to Tue, 4 days"
    );
    assert!(!c.is_gap(Interval::M1, day(0), day(0) + 60_000));
    assert!(
        !c.is_gap(Interval::M1, day(0), day(3) + 23 * HOUR),
        "2 whole days"
    );
    assert_eq!(closure_days(Interval::H12), INTRADAY_CLOSURE_DAYS);
    assert_eq!(closure_days(Interval::D1), DAILY_CLOSURE_DAYS);
}

#[test]
fn longer_intervals_under_sessions() {
    let c = Calendar::Sessions;
    assert!(
        !c.is_gap(Interval::D3, day(0), day(6)),
        "one 3d candle missing"
    );
    assert!(
        c.is_gap(Interval::D3, day(0), day(9)),
        "two missing: 6 days"
    );
    assert!(!c.is_gap(Interval::W1, day(0), day(7)));
    assert!(
        c.is_gap(Interval::W1, day(0), day(14)),
        "a missing week is a gap"
    );
}

#[test]
fn gaps_follow_the_calendar() {
    // Mon..Fri, then Mon..Wed, then nothing for two weeks, then Mon.
    let times: Vec<i64> = [0, 1, 2, 3, 4, 7, 8, 9, 28].map(day).to_vec();
    assert_eq!(
        Calendar::TwentyFourSeven.gaps(Interval::D1, &times),
        vec![(day(5), 2), (day(10), 18)]
    );
    assert_eq!(
        Calendar::Sessions.gaps(Interval::D1, &times),
        vec![(day(10), 18)]
    );
    assert!(Calendar::Sessions.gaps(Interval::D1, &[]).is_empty());
}

fn weekdays(days: i64) -> Vec<i64> {
    (0..days).filter(|d| d % 7 < 5).map(day).collect()
}

#[test]
fn detects_sessions_from_weekend_closures() {
    assert_eq!(
        Calendar::detect(Interval::D1, &weekdays(70)),
        Calendar::Sessions
    );
    // Intraday stock hours: 13:00..=20:00 on weekdays.
    let hours: Vec<i64> = weekdays(21)
        .into_iter()
        .flat_map(|d| (13..=20).map(move |h| d + h * HOUR))
        .collect();
    assert_eq!(Calendar::detect(Interval::H1, &hours), Calendar::Sessions);
    // With holidays: a Monday, and Good Friday to Easter Monday.
    let holidays: Vec<i64> = weekdays(70)
        .into_iter()
        .filter(|&t| t != day(14) && t != day(25) && t != day(28))
        .collect();
    assert_eq!(
        Calendar::detect(Interval::D1, &holidays),
        Calendar::Sessions
    );
}

#[test]
fn detects_24x7_otherwise() {
    let d1 = Interval::D1;
    assert_eq!(Calendar::detect(d1, &[]), Calendar::TwentyFourSeven);
    let every_day: Vec<i64> = (0..70).map(day).collect();
    assert_eq!(
        Calendar::detect(d1, &every_day),
        Calendar::TwentyFourSeven,
        "no holes"
    );
    // Crypto with a two-day outage: the hole is closure-sized, but Saturdays trade.
    let outage: Vec<i64> = (0..70).filter(|d| !(20..22).contains(d)).map(day).collect();
    assert_eq!(Calendar::detect(d1, &outage), Calendar::TwentyFourSeven);
    let hours: Vec<i64> = (0..24 * 20)
        .filter(|h| !(100..103).contains(h))
        .map(|h| h * HOUR + MONDAY)
        .collect();
    assert_eq!(
        Calendar::detect(Interval::H1, &hours),
        Calendar::TwentyFourSeven
    );
    // Weekdays with one hole of two weeks: not every hole is a closure.
    let long_hole: Vec<i64> = weekdays(70)
        .into_iter()
        .filter(|&t| !(day(21)..day(35)).contains(&t))
        .collect();
    assert_eq!(Calendar::detect(d1, &long_hole), Calendar::TwentyFourSeven);
    // Monday to Wednesday with a hole: no weekend seen.
    assert_eq!(
        Calendar::detect(d1, &[day(0), day(2)]),
        Calendar::TwentyFourSeven
    );
    // Weekly candles never detect sessions.
    let weeks: Vec<i64> = [0, 7, 21].map(day).to_vec();
    assert_eq!(
        Calendar::detect(Interval::W1, &weeks),
        Calendar::TwentyFourSeven
    );
}

#[test]
fn parses_its_two_names_and_refuses_others() {
    for c in Calendar::ALL {
        assert_eq!(c.as_str().parse::<Calendar>(), Ok(c));
        assert_eq!(c.to_string(), c.as_str());
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Calendar>(&json).unwrap(), c);
    }
    for bad in ["", "nonsense", "24X7", "session", "auto"] {
        let err = bad.parse::<Calendar>().unwrap_err().to_string();
        assert!(err.contains("24x7") && err.contains("sessions"), "{err}");
        assert!(err.contains(&format!("{bad:?}")), "{err}");
    }
}
