//! The alerts component: it turns what the engine already publishes — signals, the paper
//! account, health, the models view, the monitor's and the challengers' verdicts — into alert
//! events on their transitions only, passes them through the [`rules::Gate`] (levels,
//! deduplication, cooldown), shows each one raised as a toast (`Update::Alert`) and hands it to
//! the [`deliver::Delivery`] thread for the webhook and Telegram.

pub mod deliver;
pub mod rules;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::component::{Component, Effects};
use crate::config::AlertsConfig;
use crate::domain::{Interval, LinkState, Signal, Symbol};
use crate::protocol::{
    AlertToast, DriftStatus, HealthReport, ModelsView, OrderSide, PaperView, ShadowView,
    SignalInfo, StreamState, SymbolMonitor, Update,
};
use deliver::{Delivery, DeliveryCounters, Outgoing};
use rules::{AlertEvent, AlertKind, Gate, GateCounts, Verdict};

/// Shadow verdicts worth an alert; the others say the evidence is not in yet.
const DECIDED: [&str; 2] = ["challenger better", "champion better"];

/// The engine's alerts: what was last seen of each source, so only changes raise events.
pub struct AlertsComponent {
    min_confidence: f64,
    gate: Gate,
    /// `None` without a webhook or Telegram: toasts only.
    delivery: Option<Delivery>,
    /// The first time the component heard anything: fills before it are the account's history.
    since_ms: Option<i64>,
    /// Per series, the direction last alerted (removed when the signal leaves it).
    signals: HashMap<(Symbol, Interval), Signal>,
    /// The newest fill seen, by (time, order id).
    last_fill: Option<(i64, i64)>,
    kill_switch: bool,
    link_down: bool,
    stale: HashSet<String>,
    fallback: bool,
    drift: HashMap<Symbol, DriftStatus>,
    /// Per challenger id, its last pooled verdict.
    verdicts: HashMap<i64, String>,
}

impl AlertsComponent {
    /// Starts the delivery thread when an output is configured.
    pub fn start(config: &AlertsConfig) -> Self {
        let delivery = (config.webhook.is_some() || config.telegram.is_some()).then(|| {
            Delivery::start(
                config.webhook.clone(),
                config.telegram.clone(),
                deliver::QUEUE,
            )
        });
        Self {
            min_confidence: config.min_confidence,
            gate: Gate::new(config.events, config.cooldown.ms()),
            delivery,
            since_ms: None,
            signals: HashMap::new(),
            last_fill: None,
            kill_switch: false,
            link_down: false,
            stale: HashSet::new(),
            fallback: false,
            drift: HashMap::new(),
            verdicts: HashMap::new(),
        }
    }

    /// The delivery's counters (`None` without an output).
    pub fn counters(&self) -> Option<Arc<DeliveryCounters>> {
        self.delivery.as_ref().map(Delivery::counters)
    }

    /// What the gate let through and dropped.
    pub fn gate_counts(&self) -> GateCounts {
        self.gate.counts()
    }

    /// Gates an event; a raised one becomes a toast and goes to the outputs.
    fn raise(&mut self, event: AlertEvent, out: &mut Effects) {
        let Verdict::Pass(level) = self.gate.admit(&event) else {
            return;
        };
        out.updates.push(Update::Alert(Box::new(AlertToast {
            time_ms: event.time_ms,
            event: event.kind.as_str().into(),
            level,
            title: event.title.clone(),
            text: event.text.clone(),
        })));
        if let Some(delivery) = &self.delivery {
            delivery.send(Outgoing {
                event: event.kind.as_str().into(),
                title: event.title,
                text: event.text,
                time_ms: event.time_ms,
                symbol: event.symbol.map(|s| s.to_string()),
            });
        }
    }

    fn on_paper(&mut self, view: &PaperView, now_ms: i64, out: &mut Effects) {
        let since = *self.since_ms.get_or_insert(now_ms);
        let seen = self.last_fill;
        let new: Vec<_> = view
            .fills
            .iter()
            .filter(|f| match seen {
                Some(last) => (f.time_ms, f.order_id) > last,
                None => f.time_ms >= since,
            })
            .cloned()
            .collect();
        if let Some(newest) = view.fills.iter().map(|f| (f.time_ms, f.order_id)).max() {
            self.last_fill = Some(self.last_fill.map_or(newest, |l| l.max(newest)));
        }
        for fill in new {
            let stop = matches!(fill.reason.as_str(), "stop-loss" | "trailing");
            let (kind, name) = if stop {
                (AlertKind::Stop, "stop")
            } else {
                (AlertKind::Fill, "fill")
            };
            let side = match fill.side {
                OrderSide::Buy => "bought",
                OrderSide::Sell => "sold",
            };
            let title = format!(
                "{}: {side} {} at {}",
                fill.symbol,
                fill.quantity,
                crate::fmt::price(Some(fill.price))
            );
            let text = format!(
                "{} fill of order {}, fee {:.2} {}",
                fill.reason, fill.order_id, fill.fee, view.quote_asset
            );
            let key = format!("{name}:{}:{}", fill.symbol, fill.order_id);
            let event = event(kind, key, Some(fill.symbol), title, text, fill.time_ms);
            self.raise(event, out);
        }
        let tripped = view.risk.kill_switch;
        if tripped && !self.kill_switch {
            let text = view
                .risk
                .kill_reason
                .clone()
                .unwrap_or_else(|| format!("drawdown {:.1} %", view.drawdown * 100.0));
            let title = "Kill switch tripped: no new paper entries".to_string();
            self.raise(
                event(
                    AlertKind::KillSwitch,
                    "kill_switch".into(),
                    None,
                    title,
                    text,
                    now_ms,
                ),
                out,
            );
        } else if !tripped && self.kill_switch {
            self.gate.rearm("kill_switch");
        }
        self.kill_switch = tripped;
    }

    fn on_health(&mut self, report: &HealthReport, now_ms: i64, out: &mut Effects) {
        match &report.link {
            Some(LinkState::Down { reason, .. }) if !self.link_down => {
                self.link_down = true;
                let title = "Feed down".to_string();
                let e = event(
                    AlertKind::Feed,
                    "feed:down".into(),
                    None,
                    title,
                    reason.clone(),
                    now_ms,
                );
                self.raise(e, out);
            }
            Some(LinkState::Connected { .. }) if self.link_down => {
                self.link_down = false;
                self.gate.rearm("feed:down");
                let (title, text) = ("Feed back up".to_string(), "connected again".to_string());
                self.raise(
                    event(AlertKind::Feed, "feed:up".into(), None, title, text, now_ms),
                    out,
                );
            }
            _ => {}
        }
        for stream in &report.streams {
            let key = format!("feed:stale:{}", stream.name);
            match stream.state {
                StreamState::Stale if self.stale.insert(stream.name.clone()) => {
                    let quiet = stream
                        .last_message_age_ms
                        .map_or("nothing received".into(), |ms| {
                            format!("nothing for {}", crate::fmt::duration(ms))
                        });
                    let title = format!("{} stale", stream.name);
                    self.raise(event(AlertKind::Feed, key, None, title, quiet, now_ms), out);
                }
                StreamState::Live if self.stale.remove(&stream.name) => self.gate.rearm(&key),
                _ => {}
            }
        }
    }

    fn on_models(&mut self, view: &ModelsView, now_ms: i64, out: &mut Effects) {
        match &view.fallback {
            Some(reason) if !self.fallback => {
                self.fallback = true;
                let title = "Model fallback: the logistic baseline runs".to_string();
                let e = event(
                    AlertKind::Fallback,
                    "fallback".into(),
                    None,
                    title,
                    reason.clone(),
                    now_ms,
                );
                self.raise(e, out);
            }
            None if self.fallback => {
                self.fallback = false;
                self.gate.rearm("fallback");
            }
            _ => {}
        }
    }

    fn on_monitor(&mut self, m: &SymbolMonitor, now_ms: i64, out: &mut Effects) {
        let before = self.drift.insert(m.symbol, m.status);
        let key = format!("drift:{}", m.symbol);
        if m.status == DriftStatus::Drifting && before != Some(DriftStatus::Drifting) {
            let drifted = m.features.iter().filter(|f| f.drifted).count();
            let title = format!("{} drifting", m.symbol);
            let text = format!(
                "{drifted} of {} features drifted ({:.0} %) for model {}",
                m.features.len(),
                m.drifted_share * 100.0,
                m.model_version
            );
            self.raise(
                event(AlertKind::Drift, key, Some(m.symbol), title, text, now_ms),
                out,
            );
        } else if m.status != DriftStatus::Drifting && before == Some(DriftStatus::Drifting) {
            self.gate.rearm(&key);
        }
    }

    fn on_shadow(&mut self, view: &ShadowView, now_ms: i64, out: &mut Effects) {
        for c in &view.challengers {
            let verdict = &c.pooled.verdict;
            let before = self.verdicts.insert(c.id, verdict.clone());
            if !DECIDED.contains(&verdict.as_str()) || before.as_ref() == Some(verdict) {
                continue;
            }
            let title = format!("Challenger {}: {verdict}", c.version);
            let text = format!(
                "against {} over {} paired candles: log-loss difference {:+.4} (95 % {:+.4} to {:+.4})",
                view.against.as_deref().unwrap_or("the active model"),
                c.pooled.n,
                c.pooled.mean_log_loss_diff,
                c.pooled.confidence_sequence[0],
                c.pooled.confidence_sequence[1]
            );
            let key = format!("challenger:{}", c.id);
            self.raise(
                event(AlertKind::Challenger, key, None, title, text, now_ms),
                out,
            );
        }
    }
}

fn event(
    kind: AlertKind,
    key: String,
    symbol: Option<Symbol>,
    title: String,
    text: String,
    time_ms: i64,
) -> AlertEvent {
    AlertEvent {
        kind,
        key,
        symbol,
        title,
        text,
        time_ms,
    }
}

impl Component for AlertsComponent {
    fn name(&self) -> &'static str {
        "alerts"
    }

    fn on_signal(&mut self, signal: &SignalInfo, now_ms: i64, out: &mut Effects) {
        self.since_ms.get_or_insert(now_ms);
        let series = (signal.symbol, signal.interval);
        let key = format!("signal:{}:{}", signal.symbol, signal.interval);
        let last = self.signals.get(&series).copied();
        if last.is_some() && last != Some(signal.signal) {
            // It left the direction alerted: the next one is news again.
            self.signals.remove(&series);
            self.gate.rearm(&key);
        }
        let trade = matches!(signal.signal, Signal::Buy | Signal::Sell);
        if !trade || signal.confidence < self.min_confidence || last == Some(signal.signal) {
            return;
        }
        self.signals.insert(series, signal.signal);
        let title = format!(
            "{} {}: {}",
            signal.symbol,
            signal.interval,
            signal.signal.as_str().to_uppercase()
        );
        let text = format!(
            "{:.0} % confidence, model {}{}",
            signal.confidence * 100.0,
            signal.model_version,
            if signal.fallback { " (fallback)" } else { "" }
        );
        let e = event(
            AlertKind::Signal,
            key,
            Some(signal.symbol),
            title,
            text,
            now_ms,
        );
        self.raise(e, out);
    }

    fn on_update(&mut self, update: &Update, now_ms: i64, out: &mut Effects) {
        match update {
            Update::Paper(view) => self.on_paper(view, now_ms, out),
            Update::Health(report) => self.on_health(report, now_ms, out),
            Update::Models(view) => self.on_models(view, now_ms, out),
            Update::MonitorSymbol(m) => self.on_monitor(m, now_ms, out),
            Update::Monitor(view) => {
                // A model switch starts the monitor over: its verdicts are the new baseline.
                self.drift = view.symbols.iter().map(|m| (m.symbol, m.status)).collect();
            }
            Update::Shadow(view) => self.on_shadow(view, now_ms, out),
            _ => {}
        }
        self.since_ms.get_or_insert(now_ms);
    }

    fn on_tick(&mut self, now_ms: i64, _out: &mut Effects) {
        self.since_ms.get_or_insert(now_ms);
    }

    fn stop(&mut self) {
        if let Some(delivery) = self.delivery.as_mut() {
            delivery.stop();
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
