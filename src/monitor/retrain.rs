//! When to retrain the active model of a series: the triggers (a schedule, persistent dataset
//! drift, a performance detector going to drift) and the guards every retrain passes (retraining
//! on, one at a time per series, a cooldown, a daily cap, enough training rows). Pure: no I/O,
//! no clock; every call gets the time as UTC milliseconds, so tests drive it with plain numbers.
//!
//! The caller's loop: feed the monitor's evaluations to [`RetrainPolicy::on_drift_evaluation`],
//! detector changes to [`RetrainPolicy::on_detector_drift`], and poll [`RetrainPolicy::due`]; each
//! [`Cause`] they return goes to [`RetrainPolicy::decide`], whose [`Decision`] is written to the
//! audit log ([`Decision::text`]); on [`Decision::Train`] the caller starts the retrain and calls
//! [`RetrainPolicy::finished`] when it ends. After a restart, [`RetrainPolicy::restore`] replays
//! the start times of past retrains from the audit log so the cooldown and the cap still hold.
//!
//! Choices:
//! - The daily cap counts retrains started in the same UTC calendar day (00:00 to 24:00 UTC).
//! - The cooldown runs from the later of the last retrain's start and its end. A retrain that
//!   failed, was cancelled or registered nothing counts for the cooldown and the cap all the same,
//!   so a failing retrain cannot loop.
//! - With `enabled = false` or a trigger switched off the triggers return nothing (nothing to log);
//!   [`RetrainPolicy::decide`] still answers `Skip(Disabled)` to a cause given to it directly.
//! - A drift streak resets on an evaluation without dataset drift and after it triggers.
//! - The schedule fires when `every` has passed since the series' last retrain (restored ones
//!   included; the policy's start for a series never retrained) or, if later, its last schedule
//!   trigger: a schedule trigger that was skipped waits a full `every` again instead of firing on
//!   every poll.

use std::collections::HashMap;
use std::fmt;

use crate::config::RetrainConfig;
use crate::domain::{Interval, Symbol};

const DAY_MS: i64 = 86_400_000;

/// One series: a symbol at an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub symbol: Symbol,
    pub interval: Interval,
}

impl fmt::Display for SeriesKey {
    /// `BTCUSDT 1m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.symbol, self.interval)
    }
}

/// Why a retrain was asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// `every` passed since the last retrain.
    Schedule,
    /// This many consecutive monitor evaluations with dataset drift.
    DatasetDrift { consecutive: u32 },
    /// A performance detector (page-hinkley, adwin, ddm) went to drift.
    Detector { name: String },
}

impl Cause {
    /// `schedule`, `dataset drift, 3 evaluations in a row`, `detector adwin in drift`.
    pub fn text(&self) -> String {
        match self {
            Self::Schedule => "schedule".to_string(),
            Self::DatasetDrift { consecutive } => {
                format!("dataset drift, {consecutive} evaluations in a row")
            }
            Self::Detector { name } => format!("detector {name} in drift"),
        }
    }
}

/// Why a retrain was not started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// `[retrain] enabled = false`.
    Disabled,
    /// Within `cooldown` of the last retrain; allowed again from `until_ms`.
    Cooldown { until_ms: i64 },
    /// `count` retrains already started this UTC day (the cap).
    DailyCap { count: u32 },
    /// Fewer training rows than `min_rows`.
    TooFewRows { have: usize, need: usize },
    /// A retrain of the series is running.
    Busy,
}

impl Skip {
    /// The reason, as the audit log says it.
    pub fn text(&self) -> String {
        match self {
            Self::Disabled => "retraining is off ([retrain] enabled = false)".to_string(),
            Self::Cooldown { until_ms } => format!("cooldown until {}", utc_minute(*until_ms)),
            Self::DailyCap { count } => format!(
                "{count} retrains already today (UTC), the most max_per_day allows; \
                 allowed again after 00:00 UTC"
            ),
            Self::TooFewRows { have, need } => {
                format!("too few training rows: {have} of the {need} needed")
            }
            Self::Busy => "a retrain of this series is already running".to_string(),
        }
    }
}

/// What [`RetrainPolicy::decide`] made of a cause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Train(SeriesKey, Cause),
    Skip(SeriesKey, Cause, Skip),
}

impl Decision {
    /// One audit-log sentence: `retrain started for BTCUSDT 1m (schedule)`, `retrain skipped for
    /// BTCUSDT 1m (dataset drift, 3 evaluations in a row): cooldown until 2026-12-07 10:00 UTC`.
    pub fn text(&self) -> String {
        match self {
            Self::Train(series, cause) => {
                format!("retrain started for {series} ({})", cause.text())
            }
            Self::Skip(series, cause, skip) => format!(
                "retrain skipped for {series} ({}): {}",
                cause.text(),
                skip.text()
            ),
        }
    }
}

/// `YYYY-MM-DD HH:MM UTC`.
fn utc_minute(ms: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = ms.div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let minutes = ms.rem_euclid(DAY_MS) / 60_000;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

/// What the policy remembers of one series.
#[derive(Clone, Debug, Default)]
struct SeriesState {
    /// Consecutive evaluations with dataset drift.
    streak: u32,
    /// Start times of the retrains of the last two days (for the daily cap), ascending.
    starts: Vec<i64>,
    /// The last retrain's start and, once it ended, its end.
    last_start: Option<i64>,
    last_end: Option<i64>,
    /// The last time the schedule fired.
    last_schedule: Option<i64>,
    running: bool,
    /// Retrains in a row that ended without registering a challenger.
    failures_in_row: u32,
}

impl SeriesState {
    /// Keeps the start times that can still matter for the cap.
    fn prune(&mut self, now_ms: i64) {
        let today = now_ms.div_euclid(DAY_MS) * DAY_MS;
        self.starts.retain(|&t| t >= today - DAY_MS);
    }

    fn last_retrain(&self) -> Option<i64> {
        self.last_start.max(self.last_end)
    }
}

/// The retraining triggers and guards of every series; see the module documentation.
#[derive(Clone, Debug)]
pub struct RetrainPolicy {
    config: RetrainConfig,
    start_ms: i64,
    series: HashMap<SeriesKey, SeriesState>,
}

impl RetrainPolicy {
    /// A policy started at `now_ms` (the schedule counts from here for series never retrained).
    pub fn new(config: &RetrainConfig, now_ms: i64) -> Self {
        Self {
            config: *config,
            start_ms: now_ms,
            series: HashMap::new(),
        }
    }

    pub fn config(&self) -> &RetrainConfig {
        &self.config
    }

    /// After a restart: the start times of the series' past retrains (from the audit log, any
    /// order), so the cooldown, the cap and the schedule count from them.
    pub fn restore(&mut self, series: SeriesKey, past_retrains_ms: &[i64]) {
        let state = self.series.entry(series).or_default();
        state.starts.extend_from_slice(past_retrains_ms);
        state.starts.sort_unstable();
        state.starts.dedup();
        state.last_start = state.last_start.max(past_retrains_ms.iter().copied().max());
    }

    /// The monitor evaluated `series`: `Some(DatasetDrift)` when this makes `drift_evaluations`
    /// evaluations with dataset drift in a row (the streak then starts again); `None` otherwise,
    /// or when retraining or the drift trigger is off.
    pub fn on_drift_evaluation(
        &mut self,
        series: &SeriesKey,
        dataset_drift: bool,
    ) -> Option<Cause> {
        if !(self.config.enabled && self.config.on_drift) {
            return None;
        }
        let state = self.series.entry(*series).or_default();
        if !dataset_drift {
            state.streak = 0;
            return None;
        }
        state.streak += 1;
        if state.streak < self.config.drift_evaluations {
            return None;
        }
        let consecutive = state.streak;
        state.streak = 0;
        Some(Cause::DatasetDrift { consecutive })
    }

    /// A performance detector (of the series the caller holds) changed to drift:
    /// `Some(Detector)` unless retraining or the detector trigger is off.
    pub fn on_detector_drift(&self, detector: &str) -> Option<Cause> {
        (self.config.enabled && self.config.on_detector).then(|| Cause::Detector {
            name: detector.to_string(),
        })
    }

    /// The schedule: the series of `series` whose `every` has passed since their last retrain
    /// (the policy's start if none) or, if later, their last schedule trigger. Each one returned
    /// counts as triggered now. Empty when retraining or the schedule is off.
    pub fn due(&mut self, series: &[SeriesKey], now_ms: i64) -> Vec<(SeriesKey, Cause)> {
        let Some(every) = self.config.every.span().filter(|_| self.config.enabled) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for key in series {
            let state = self.series.entry(*key).or_default();
            let anchor = state
                .last_retrain()
                .unwrap_or(self.start_ms)
                .max(state.last_schedule.unwrap_or(i64::MIN));
            if now_ms.saturating_sub(anchor) >= every.ms() {
                state.last_schedule = Some(now_ms);
                out.push((*key, Cause::Schedule));
            }
        }
        out
    }

    /// The guards, in this order: retraining on, not `busy` (the caller's word) nor running here,
    /// out of the cooldown, under the daily cap, at least `min_rows` rows. On `Train` the retrain
    /// counts from `now_ms` (cooldown, cap, schedule) and the series is running until
    /// [`finished`](Self::finished).
    pub fn decide(
        &mut self,
        series: &SeriesKey,
        cause: Cause,
        now_ms: i64,
        rows_available: usize,
        busy: bool,
    ) -> Decision {
        let config = self.config;
        let skip = |skip: Skip, cause: Cause| Decision::Skip(*series, cause, skip);
        if !config.enabled {
            return skip(Skip::Disabled, cause);
        }
        let state = self.series.entry(*series).or_default();
        state.prune(now_ms);
        if busy || state.running {
            return skip(Skip::Busy, cause);
        }
        if let Some(last) = state.last_retrain() {
            let until_ms = last.saturating_add(config.cooldown.ms());
            if now_ms < until_ms {
                return skip(Skip::Cooldown { until_ms }, cause);
            }
        }
        let today = now_ms.div_euclid(DAY_MS);
        let count = state
            .starts
            .iter()
            .filter(|t| t.div_euclid(DAY_MS) == today)
            .count() as u32;
        if count >= config.max_per_day {
            return skip(Skip::DailyCap { count }, cause);
        }
        if rows_available < config.min_rows {
            return skip(
                Skip::TooFewRows {
                    have: rows_available,
                    need: config.min_rows,
                },
                cause,
            );
        }
        state.starts.push(now_ms);
        state.last_start = Some(now_ms);
        state.last_end = None;
        state.running = true;
        state.streak = 0;
        Decision::Train(*series, cause)
    }

    /// A retrain of `series` ended at `now_ms`, having registered a challenger or not (failed or
    /// cancelled). Either way it counts for the cooldown (from now) and the cap.
    pub fn finished(&mut self, series: &SeriesKey, now_ms: i64, registered: bool) {
        let state = self.series.entry(*series).or_default();
        state.running = false;
        state.last_end = Some(now_ms);
        state.failures_in_row = if registered {
            0
        } else {
            state.failures_in_row + 1
        };
    }

    /// Whether a retrain of `series` is running (between `Train` and `finished`).
    pub fn running(&self, series: &SeriesKey) -> bool {
        self.series.get(series).is_some_and(|s| s.running)
    }

    /// Retrains of `series` in a row that ended without registering a challenger.
    pub fn failures_in_row(&self, series: &SeriesKey) -> u32 {
        self.series.get(series).map_or(0, |s| s.failures_in_row)
    }
}

#[cfg(test)]
#[path = "retrain_tests.rs"]
mod tests;
