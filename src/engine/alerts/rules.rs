//! What an alert is and which ones go out: the [`Gate`] applies each event kind's level, drops an
//! event repeated while its condition has not cleared, and holds a cooldown per event key. Pure:
//! time is the event's own.

use std::collections::HashMap;

use crate::config::{AlertEvents, EventLevel};
use crate::domain::Symbol;
use crate::protocol::AlertLevel;

/// The kinds of `[alerts.events]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    Signal,
    Fill,
    Stop,
    KillSwitch,
    Feed,
    Fallback,
    Drift,
    Challenger,
}

impl AlertKind {
    /// As `[alerts.events]` names it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Signal => "signal",
            AlertKind::Fill => "fill",
            AlertKind::Stop => "stop",
            AlertKind::KillSwitch => "kill_switch",
            AlertKind::Feed => "feed",
            AlertKind::Fallback => "fallback",
            AlertKind::Drift => "drift",
            AlertKind::Challenger => "challenger",
        }
    }

    /// Its configured level.
    pub fn level(self, events: &AlertEvents) -> EventLevel {
        match self {
            AlertKind::Signal => events.signal,
            AlertKind::Fill => events.fill,
            AlertKind::Stop => events.stop,
            AlertKind::KillSwitch => events.kill_switch,
            AlertKind::Feed => events.feed,
            AlertKind::Fallback => events.fallback,
            AlertKind::Drift => events.drift,
            AlertKind::Challenger => events.challenger,
        }
    }
}

/// Something the trader should hear about.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertEvent {
    pub kind: AlertKind,
    /// What deduplication and the cooldown go by, e.g. `fill:BTCUSDT:42` or `feed:down`.
    pub key: String,
    pub symbol: Option<Symbol>,
    pub title: String,
    pub text: String,
    pub time_ms: i64,
}

/// What the gate made of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Raise it, this loud.
    Pass(AlertLevel),
    /// Its kind is off.
    Off,
    /// The same key and text as the last one raised, and its condition has not cleared.
    Duplicate,
    /// Its key raised another within the cooldown.
    Cooldown,
}

/// Events the gate let through and dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GateCounts {
    pub passed: u64,
    pub off: u64,
    pub duplicate: u64,
    pub cooldown: u64,
}

/// Keys remembered before those past their cooldown are forgotten; fills have a key each, so
/// without this the map would grow for as long as the engine runs.
const MAX_KEYS: usize = 4_096;

/// Levels, deduplication and the cooldown per key.
#[derive(Clone, Debug)]
pub struct Gate {
    events: AlertEvents,
    cooldown_ms: i64,
    /// Per key: when the last event passed, and its text (`None` once re-armed).
    last: HashMap<String, (i64, Option<String>)>,
    counts: GateCounts,
}

impl Gate {
    pub fn new(events: AlertEvents, cooldown_ms: i64) -> Self {
        Self {
            events,
            cooldown_ms: cooldown_ms.max(0),
            last: HashMap::new(),
            counts: GateCounts::default(),
        }
    }

    /// Whether `event` is raised; a raised event starts its key's cooldown.
    pub fn admit(&mut self, event: &AlertEvent) -> Verdict {
        let level = match event.kind.level(&self.events) {
            EventLevel::Off => {
                self.counts.off += 1;
                return Verdict::Off;
            }
            EventLevel::On => AlertLevel::On,
            EventLevel::Silent => AlertLevel::Silent,
        };
        if let Some((at_ms, text)) = self.last.get(&event.key) {
            if text.as_deref() == Some(event.text.as_str()) {
                self.counts.duplicate += 1;
                return Verdict::Duplicate;
            }
            if event.time_ms < at_ms.saturating_add(self.cooldown_ms) {
                self.counts.cooldown += 1;
                return Verdict::Cooldown;
            }
        }
        if self.last.len() >= MAX_KEYS {
            self.forget_before(event.time_ms);
        }
        self.last
            .insert(event.key.clone(), (event.time_ms, Some(event.text.clone())));
        self.counts.passed += 1;
        Verdict::Pass(level)
    }

    /// The condition behind `key` cleared (a feed back up, a signal back to Hold): the same
    /// alert may be raised again, once its cooldown has run.
    pub fn rearm(&mut self, key: &str) {
        if let Some((_, text)) = self.last.get_mut(key) {
            *text = None;
        }
    }

    pub fn counts(&self) -> GateCounts {
        self.counts
    }

    /// Forgets the keys whose cooldown has run (then only deduplication remembered them), and if
    /// that is not enough, the older half.
    fn forget_before(&mut self, now_ms: i64) {
        let cooldown = self.cooldown_ms;
        self.last
            .retain(|_, (at_ms, _)| now_ms < at_ms.saturating_add(cooldown));
        if self.last.len() >= MAX_KEYS {
            let mut times: Vec<i64> = self.last.values().map(|(at, _)| *at).collect();
            times.sort_unstable();
            let median = times[times.len() / 2];
            self.last.retain(|_, (at_ms, _)| *at_ms > median);
        }
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
