//! The metrics observer: sets the Prometheus metrics (`crate::metrics`) from every update the
//! engine publishes — the health report once a second, signals, the models' view, the monitor's
//! figures and the paper account. It sits where updates are published rather than among the
//! components, because components hear only the first round of each other's updates (a paper
//! fill made on a signal would go unseen). The exporter's listener reads them on its own thread; nothing
//! here waits on it. Counters follow the health report's totals, so `/metrics` and
//! `trademon status --json` say the same between two reports.

use std::sync::Arc;

use crate::domain::{Interval, LinkState, Symbol};
pub use crate::metrics::Metrics;
use crate::metrics::{StreamLabels, SymbolLabels, WindowLabels};
use crate::protocol::{
    HealthReport, MonitorView, PaperView, SignalInfo, StreamState, SymbolMonitor, Update,
};

/// The health report's totals last set, to move the counters by the difference.
#[derive(Default)]
struct Totals {
    messages: Vec<u64>,
    reconnects: u64,
    failed_connects: u64,
    gaps_found: u64,
    gaps_repaired: u64,
    candles_backfilled: u64,
    parse_errors: u64,
    rate_limited: u64,
    rows_stored: u64,
    rows_lost: u64,
    write_errors: u64,
    paper_fills: u64,
}

/// Moves `counter` up to `now` (a total that only grows) from `last`.
fn follow(counter: &prometheus_client::metrics::counter::Counter, last: &mut u64, now: u64) {
    if now > *last {
        counter.inc_by(now - *last);
    }
    *last = (*last).max(now);
}

pub struct MetricsObserver {
    metrics: Arc<Metrics>,
    /// Labels of the health report's streams, in its order: kline streams symbol-major, then
    /// trade streams.
    streams: Vec<StreamLabels>,
    totals: Totals,
    writer: Arc<crate::store::writer::WriterStats>,
}

/// The labels of the streams a health report lists, in its order.
pub fn stream_labels(
    symbols: &[Symbol],
    intervals: &[Interval],
    trades: bool,
) -> Vec<StreamLabels> {
    let mut labels = Vec::new();
    for s in symbols {
        labels.extend(intervals.iter().map(|i| StreamLabels {
            symbol: s.to_string(),
            stream: i.to_string(),
        }));
    }
    if trades {
        labels.extend(symbols.iter().map(|s| StreamLabels {
            symbol: s.to_string(),
            stream: "trades".to_string(),
        }));
    }
    labels
}

impl MetricsObserver {
    pub fn new(
        metrics: Arc<Metrics>,
        streams: Vec<StreamLabels>,
        writer: Arc<crate::store::writer::WriterStats>,
    ) -> Self {
        Self {
            metrics,
            totals: Totals {
                messages: vec![0; streams.len()],
                ..Totals::default()
            },
            streams,
            writer,
        }
    }

    fn health(&mut self, h: &HealthReport) {
        let feed = &self.metrics.feed;
        let t = &mut self.totals;
        feed.up.set(i64::from(matches!(
            h.link,
            Some(LinkState::Connected { .. })
        )));
        for (k, stream) in h.streams.iter().enumerate().take(self.streams.len()) {
            let labels = &self.streams[k];
            feed.stream_up
                .get_or_create(labels)
                .set(i64::from(matches!(stream.state, StreamState::Live)));
            follow(
                &feed.messages.get_or_create(labels),
                &mut t.messages[k],
                stream.messages,
            );
            if let Some(age) = stream.last_message_age_ms {
                feed.last_message_age
                    .get_or_create(labels)
                    .set(age.max(0) as f64 / 1000.0);
            }
        }
        follow(&feed.reconnects, &mut t.reconnects, h.reconnects);
        follow(
            &feed.connect_failures,
            &mut t.failed_connects,
            h.failed_connects,
        );
        follow(&feed.gaps_found, &mut t.gaps_found, h.gaps_found);
        follow(&feed.gaps_repaired, &mut t.gaps_repaired, h.gaps_repaired);
        follow(
            &feed.candles_backfilled,
            &mut t.candles_backfilled,
            h.candles_backfilled,
        );
        follow(&feed.parse_errors, &mut t.parse_errors, h.parse_errors);
        follow(&feed.rate_limited, &mut t.rate_limited, h.rate_limited);

        let store = &self.metrics.store;
        follow(&store.rows_written, &mut t.rows_stored, h.rows_stored);
        follow(&store.rows_lost, &mut t.rows_lost, h.db_rows_lost);
        follow(&store.write_errors, &mut t.write_errors, h.db_write_errors);
        let w = &self.writer;
        let failing = w.failing.load(std::sync::atomic::Ordering::Relaxed)
            || w.stopped.load(std::sync::atomic::Ordering::Relaxed);
        store.writer_failing.set(i64::from(failing));
        store
            .queue_depth
            .set(w.queue_depth().min(i64::MAX as u64) as i64);
        if let Some(bytes) = h.db_bytes {
            store.database_bytes.set(bytes.min(i64::MAX as u64) as i64);
        }
    }

    fn monitor_symbol(&self, m: &SymbolMonitor) {
        let model = &self.metrics.model;
        let symbol = m.symbol.to_string();
        for w in &m.scorecard.windows {
            let window = match w.last {
                Some(100) => "100",
                Some(500) => "500",
                None => "all",
                // Only the three windows the scorecard keeps are labels.
                Some(_) => continue,
            };
            if w.n == 0 {
                continue;
            }
            let labels = WindowLabels {
                symbol: symbol.clone(),
                window,
            };
            model.accuracy.get_or_create(&labels).set(w.accuracy.value);
            model.log_loss.get_or_create(&labels).set(w.log_loss.value);
        }
        let labels = SymbolLabels { symbol };
        let max_psi = m.features.iter().map(|f| f.psi).fold(f64::NAN, f64::max);
        if max_psi.is_finite() {
            model
                .feature_drift_max_psi
                .get_or_create(&labels)
                .set(max_psi);
        }
        model
            .dataset_drift
            .get_or_create(&labels)
            .set(i64::from(m.dataset_drift));
    }

    fn monitor(&self, view: &MonitorView) {
        // A model switch: the figures start over.
        let model = &self.metrics.model;
        model.accuracy.clear();
        model.log_loss.clear();
        model.feature_drift_max_psi.clear();
        model.dataset_drift.clear();
        for m in &view.symbols {
            self.monitor_symbol(m);
        }
    }

    fn paper(&mut self, view: &PaperView) {
        let paper = &self.metrics.paper;
        if !view.enabled {
            return;
        }
        paper.equity.set(view.equity);
        paper.drawdown.set(view.drawdown.clamp(0.0, 1.0));
        paper.open_positions.set(view.positions.len() as i64);
        paper.kill_switch.set(i64::from(view.risk.kill_switch));
        follow(&paper.fills, &mut self.totals.paper_fills, view.fills_total);
    }
}

impl MetricsObserver {
    /// The predictions themselves are counted where they are made (the model components), with
    /// those made while a model loads, which are stored but not published one by one.
    fn signal(&self, signal: &SignalInfo) {
        let fallback = i64::from(signal.fallback);
        self.metrics.model.fallback_active.set(fallback);
    }

    /// An update the engine publishes.
    pub fn observe(&mut self, update: &Update) {
        match update {
            Update::Health(h) => self.health(h),
            Update::Signal(signal) => self.signal(signal),
            Update::Models(view) => {
                let fallback = i64::from(view.fallback.is_some());
                self.metrics.model.fallback_active.set(fallback);
            }
            Update::MonitorSymbol(m) => self.monitor_symbol(m),
            Update::Monitor(view) => self.monitor(view),
            Update::Paper(view) => self.paper(view),
            Update::Snapshot(s) => {
                self.health(&s.health);
                self.monitor(&s.monitor);
                self.paper(&s.paper);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
