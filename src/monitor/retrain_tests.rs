#![allow(clippy::unwrap_used)]

use super::*;
use crate::config::{RetrainEvery, Span};
use crate::domain::parse_time;

const H: i64 = 3_600_000;

fn at(text: &str) -> i64 {
    parse_time(text).unwrap()
}

fn btc() -> SeriesKey {
    SeriesKey {
        symbol: "BTCUSDT".parse().unwrap(),
        interval: Interval::M1,
    }
}

fn eth() -> SeriesKey {
    SeriesKey {
        symbol: "ETHUSDT".parse().unwrap(),
        interval: Interval::M5,
    }
}

fn on() -> RetrainConfig {
    RetrainConfig {
        enabled: true,
        ..RetrainConfig::default()
    }
}

const ROWS: usize = 5_000;

#[test]
fn trainer_minimum_agrees_with_the_model() {
    assert_eq!(
        crate::config::TRAINER_MIN_SPLIT_SAMPLES,
        crate::model::prepare::DataSpec::default().min_split_samples
    );
    let model = crate::config::Config::default().model;
    assert!(on().min_rows >= model.trainer_min_rows());
}

#[test]
fn schedule_fires_after_every_and_not_before() {
    let t0 = at("2026-12-01T00:00");
    let mut p = RetrainPolicy::new(&on(), t0);
    let series = [btc(), eth()];
    assert!(p.due(&series, t0 + 7 * 24 * H - 1).is_empty());
    let due = p.due(&series, t0 + 7 * 24 * H);
    assert_eq!(
        due,
        vec![(btc(), Cause::Schedule), (eth(), Cause::Schedule)]
    );
    // Fired: not again on the next poll, nor before another `every`.
    assert!(p.due(&series, t0 + 7 * 24 * H + 1).is_empty());
    // BTC retrains; ETH's trigger was (say) skipped: both wait a full `every` again.
    let now = t0 + 7 * 24 * H;
    assert!(matches!(
        p.decide(&btc(), Cause::Schedule, now, ROWS, false),
        Decision::Train(..)
    ));
    p.finished(&btc(), now + H, true);
    assert!(p.due(&series, now + 7 * 24 * H - 1).is_empty());
    assert_eq!(
        p.due(&series, now + 7 * 24 * H),
        vec![(eth(), Cause::Schedule)]
    );
    assert_eq!(
        p.due(&series, now + 7 * 24 * H + H),
        vec![(btc(), Cause::Schedule)]
    );
}

#[test]
fn drift_fires_after_exactly_n_consecutive_evaluations() {
    let mut p = RetrainPolicy::new(&on(), 0);
    assert_eq!(p.on_drift_evaluation(&btc(), true), None);
    assert_eq!(p.on_drift_evaluation(&btc(), true), None);
    // A stable evaluation breaks the streak.
    assert_eq!(p.on_drift_evaluation(&btc(), false), None);
    assert_eq!(p.on_drift_evaluation(&btc(), true), None);
    assert_eq!(p.on_drift_evaluation(&btc(), true), None);
    // Other series keep their own streaks.
    assert_eq!(p.on_drift_evaluation(&eth(), true), None);
    assert_eq!(
        p.on_drift_evaluation(&btc(), true),
        Some(Cause::DatasetDrift { consecutive: 3 })
    );
    // The streak starts again after a trigger.
    assert_eq!(p.on_drift_evaluation(&btc(), true), None);
    assert_eq!(p.on_drift_evaluation(&btc(), true), None);
    assert!(p.on_drift_evaluation(&btc(), true).is_some());
}

#[test]
fn detector_fires() {
    let p = RetrainPolicy::new(&on(), 0);
    let cause = p.on_detector_drift("adwin").unwrap();
    assert_eq!(
        cause,
        Cause::Detector {
            name: "adwin".into()
        }
    );
    assert_eq!(cause.text(), "detector adwin in drift");
}

#[test]
fn each_switch_turns_its_trigger_off() {
    let day = 24 * H;
    let off = RetrainConfig {
        on_drift: false,
        on_detector: false,
        every: RetrainEvery::Off,
        ..on()
    };
    let mut p = RetrainPolicy::new(&off, 0);
    for _ in 0..10 {
        assert_eq!(p.on_drift_evaluation(&btc(), true), None);
    }
    assert_eq!(p.on_detector_drift("ddm"), None);
    assert!(p.due(&[btc()], 365 * day).is_empty());
    // Only the schedule off: the others still fire.
    let mut p = RetrainPolicy::new(
        &RetrainConfig {
            every: RetrainEvery::Off,
            ..on()
        },
        0,
    );
    assert!(p.due(&[btc()], 365 * day).is_empty());
    assert!(p.on_detector_drift("ddm").is_some());
}

#[test]
fn disabled_triggers_nothing_and_decides_skip() {
    let config = RetrainConfig::default();
    assert!(!config.enabled);
    let mut p = RetrainPolicy::new(&config, 0);
    for _ in 0..5 {
        assert_eq!(p.on_drift_evaluation(&btc(), true), None);
    }
    assert_eq!(p.on_detector_drift("page-hinkley"), None);
    assert!(p.due(&[btc()], 30 * 24 * H).is_empty());
    let d = p.decide(&btc(), Cause::Schedule, 0, ROWS, false);
    assert_eq!(d, Decision::Skip(btc(), Cause::Schedule, Skip::Disabled));
    assert_eq!(
        d.text(),
        "retrain skipped for BTCUSDT 1m (schedule): retraining is off ([retrain] enabled = false)"
    );
}

#[test]
fn cooldown_holds_from_the_later_of_start_and_end() {
    let t = at("2026-12-06T09:00");
    let mut p = RetrainPolicy::new(&on(), t);
    let drift = Cause::DatasetDrift { consecutive: 3 };
    let d = p.decide(&btc(), drift.clone(), t, ROWS, false);
    assert_eq!(
        d.text(),
        "retrain started for BTCUSDT 1m (dataset drift, 3 evaluations in a row)"
    );
    p.finished(&btc(), t + H, true);
    let d = p.decide(&btc(), drift.clone(), t + 2 * H, ROWS, false);
    let until_ms = at("2026-12-07T10:00");
    assert_eq!(
        d,
        Decision::Skip(btc(), drift.clone(), Skip::Cooldown { until_ms })
    );
    assert_eq!(
        d.text(),
        "retrain skipped for BTCUSDT 1m (dataset drift, 3 evaluations in a row): \
         cooldown until 2026-12-07 10:00 UTC"
    );
    // Another series is not held.
    assert!(matches!(
        p.decide(&eth(), drift.clone(), t + 2 * H, ROWS, false),
        Decision::Train(..)
    ));
    assert!(matches!(
        p.decide(&btc(), drift.clone(), until_ms - 1, ROWS, false),
        Decision::Skip(_, _, Skip::Cooldown { .. })
    ));
    assert!(matches!(
        p.decide(&btc(), drift, until_ms, ROWS, false),
        Decision::Train(..)
    ));
}

#[test]
fn a_failed_retrain_counts_for_the_cooldown() {
    let mut p = RetrainPolicy::new(&on(), 0);
    assert!(matches!(
        p.decide(&btc(), Cause::Schedule, 0, ROWS, false),
        Decision::Train(..)
    ));
    p.finished(&btc(), H, false);
    assert_eq!(p.failures_in_row(&btc()), 1);
    assert!(matches!(
        p.decide(&btc(), Cause::Schedule, 2 * H, ROWS, false),
        Decision::Skip(_, _, Skip::Cooldown { until_ms }) if until_ms == 25 * H
    ));
}

#[test]
fn daily_cap_holds_until_the_next_utc_day() {
    let config = RetrainConfig {
        cooldown: Span::from_ms(H),
        ..on()
    };
    let day = at("2026-12-06");
    let mut p = RetrainPolicy::new(&config, day);
    for start in [day + H, day + 3 * H] {
        assert!(matches!(
            p.decide(&btc(), Cause::Schedule, start, ROWS, false),
            Decision::Train(..)
        ));
        p.finished(&btc(), start + H / 2, true);
    }
    let d = p.decide(&btc(), Cause::Schedule, day + 23 * H, ROWS, false);
    assert_eq!(
        d,
        Decision::Skip(btc(), Cause::Schedule, Skip::DailyCap { count: 2 })
    );
    assert!(
        d.text().contains("2 retrains already today (UTC)"),
        "{}",
        d.text()
    );
    // The next UTC day, an hour later: allowed.
    let d = p.decide(&btc(), Cause::Schedule, day + 24 * H, ROWS, false);
    assert!(matches!(d, Decision::Train(..)), "{d:?}");
}

#[test]
fn too_few_rows_and_busy() {
    let mut p = RetrainPolicy::new(&on(), 0);
    let d = p.decide(&btc(), Cause::Schedule, 0, 1_999, false);
    assert_eq!(
        d,
        Decision::Skip(
            btc(),
            Cause::Schedule,
            Skip::TooFewRows {
                have: 1_999,
                need: 2_000
            }
        )
    );
    assert!(
        d.text()
            .ends_with("too few training rows: 1999 of the 2000 needed")
    );
    // Skips leave no trace: the next decision with enough rows trains.
    let d = p.decide(&btc(), Cause::Schedule, 0, 1_999, true);
    assert_eq!(d, Decision::Skip(btc(), Cause::Schedule, Skip::Busy));
    assert!(matches!(
        p.decide(&btc(), Cause::Schedule, 0, 2_000, false),
        Decision::Train(..)
    ));
    assert!(p.running(&btc()));
    // One at a time: running is busy even past the cooldown.
    let d = p.decide(&btc(), Cause::Schedule, 48 * H, ROWS, false);
    assert_eq!(d, Decision::Skip(btc(), Cause::Schedule, Skip::Busy));
    assert!(
        d.text()
            .ends_with("a retrain of this series is already running")
    );
    p.finished(&btc(), 48 * H, true);
    assert!(!p.running(&btc()));
    assert_eq!(p.failures_in_row(&btc()), 0);
}

#[test]
fn restore_enforces_cooldown_cap_and_schedule_after_a_restart() {
    let day = at("2026-12-06");
    let config = RetrainConfig {
        cooldown: Span::from_ms(2 * H),
        ..on()
    };
    let mut p = RetrainPolicy::new(&config, day + 10 * H);
    p.restore(btc(), &[day + 8 * H, day + 2 * H]);
    let d = p.decide(&btc(), Cause::Schedule, day + 9 * H, ROWS, false);
    assert_eq!(
        d,
        Decision::Skip(
            btc(),
            Cause::Schedule,
            Skip::Cooldown {
                until_ms: day + 10 * H
            }
        )
    );
    let d = p.decide(&btc(), Cause::Schedule, day + 11 * H, ROWS, false);
    assert_eq!(
        d,
        Decision::Skip(btc(), Cause::Schedule, Skip::DailyCap { count: 2 })
    );
    // The schedule counts from the last restored retrain, not from the restart.
    let every = 7 * 24 * H;
    assert!(p.due(&[btc()], day + 8 * H + every - 1).is_empty());
    assert_eq!(p.due(&[btc()], day + 8 * H + every).len(), 1);
    // A series with no past retrains is free.
    p.restore(eth(), &[]);
    assert!(matches!(
        p.decide(&eth(), Cause::Schedule, day + 11 * H, ROWS, false),
        Decision::Train(..)
    ));
}

#[test]
fn texts_name_the_series_and_the_cause() {
    assert_eq!(Cause::Schedule.text(), "schedule");
    assert_eq!(utc_minute(0), "1970-01-01 00:00 UTC");
    assert_eq!(utc_minute(at("2024-02-29T23:59")), "2024-02-29 23:59 UTC");
    let d = Decision::Train(eth(), Cause::Detector { name: "ddm".into() });
    assert_eq!(
        d.text(),
        "retrain started for ETHUSDT 5m (detector ddm in drift)"
    );
}
