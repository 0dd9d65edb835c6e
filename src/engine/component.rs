//! The seam a live capability plugs into. A component is one type the engine calls on closed
//! candles, signals, trade prints, ticks and job reports; what it produces — updates to publish
//! (its own `Update` variant), rows to store, signals — goes into [`Effects`], which the engine
//! applies in one place. The model component (`engine/models.rs`) is the first; a drift monitor,
//! a paper account, alerts or metrics are each one more, added to the list in
//! [`registered`].

use crate::config::{AlertsConfig, ModelConfig, MonitorConfig};
use crate::domain::{Candle, Interval, Symbol, Trade};
use crate::protocol::{Command, SignalInfo, Update};
use crate::store::writer::{WriteOp, WriteSender};

use super::jobs::{JobEvent, JobSender};

/// What a component's step produced, applied by the engine: `updates` are published (and applied
/// to the engine's state), `writes` go to the store's owner, `signals` are published and then
/// handed to every component's [`Component::on_signal`].
#[derive(Default)]
pub struct Effects {
    pub updates: Vec<Update>,
    pub writes: Vec<WriteOp>,
    pub signals: Vec<SignalInfo>,
}

impl Effects {
    /// Nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.updates.is_empty() && self.writes.is_empty() && self.signals.is_empty()
    }
}

/// A live capability of the engine. Every method has a default that does nothing, so a
/// component implements only what it listens to.
pub trait Component: Send {
    /// For logs.
    fn name(&self) -> &'static str;

    /// Closed candles of one series: one as it closes live, or several filled in after a gap
    /// (oldest first).
    fn on_closed(
        &mut self,
        _symbol: Symbol,
        _interval: Interval,
        _candles: &[Candle],
        _now_ms: i64,
        _out: &mut Effects,
    ) {
    }

    /// A signal a component produced (the model's, live).
    fn on_signal(&mut self, _signal: &SignalInfo, _now_ms: i64, _out: &mut Effects) {}

    /// An update a component published (the monitor's figures, the challengers' evidence), for
    /// components that act on what others found.
    fn on_update(&mut self, _update: &Update, _now_ms: i64, _out: &mut Effects) {}

    /// A trade print.
    fn on_trade(&mut self, _symbol: Symbol, _trade: &Trade, _now_ms: i64, _out: &mut Effects) {}

    /// A view's command meant for components (placing and cancelling paper orders, resetting
    /// the kill switch); every component sees it and takes what is its own.
    fn on_command(&mut self, _command: &Command, _now_ms: i64, _out: &mut Effects) {}

    /// The engine's periodic tick (the health interval).
    fn on_tick(&mut self, _now_ms: i64, _out: &mut Effects) {}

    /// A job's report: a component takes the events of its own jobs out of `event`.
    fn on_job(&mut self, _event: &mut Option<JobEvent>, _out: &mut Effects) {}

    /// The engine is stopping: end background work.
    fn stop(&mut self) {}
}

/// What a component may start with.
pub struct Context<'a> {
    pub db: Option<&'a std::path::Path>,
    pub owner: &'a WriteSender,
    pub model: &'a ModelConfig,
    pub monitor: MonitorConfig,
    pub symbols: &'a [Symbol],
    /// The version of the model running now.
    pub active_model: Option<String>,
    pub jobs: &'a JobSender,
    /// The paper account's settings, and the exchange's filters of the symbols.
    pub paper: &'a crate::config::PaperConfig,
    pub filters: &'a [(Symbol, crate::domain::SymbolFilters)],
    /// The active model's interval, when a model runs.
    pub interval: Option<Interval>,
    /// The engine's time now.
    pub now_ms: i64,
    pub alerts: &'a AlertsConfig,
    /// The Prometheus metrics, when kept (the challengers count their predictions).
    pub metrics: Option<&'a std::sync::Arc<crate::metrics::Metrics>>,
}

/// The components the engine runs besides the model component: the one list a new capability
/// is added to.
pub fn registered(context: &Context<'_>) -> Vec<Box<dyn Component>> {
    let mut components: Vec<Box<dyn Component>> = Vec::new();
    if context.monitor.enabled {
        components.push(Box::new(super::monitor::MonitorComponent::start(
            context.db.map(|p| p.to_path_buf()),
            context.owner.clone(),
            context.monitor,
            context.symbols.to_vec(),
            context.active_model.clone(),
            context.jobs.clone(),
        )));
    }
    if context.db.is_some() && context.model.max_challengers > 0 {
        components.push(Box::new(
            super::shadow::ShadowComponent::start(
                context.db.map(|p| p.to_path_buf()),
                context.owner.clone(),
                context.model.max_challengers,
                crate::model::signal::ThresholdOverride::from_config(context.model),
            )
            .with_metrics(context.metrics.cloned()),
        ));
    }
    if context.paper.enabled {
        match super::paper::PaperComponent::start(
            context.db,
            context.owner,
            context.paper.clone(),
            context.symbols,
            context.filters,
            context.interval,
            context.now_ms,
        ) {
            Ok(paper) => components.push(Box::new(paper)),
            // The log cannot be read: trading on would write after entries it cannot see.
            Err(e) => tracing::error!("paper trading is off: its log cannot be read: {e}"),
        }
    }
    // Last, so it hears what the others published in the same step.
    if context.alerts.enabled {
        components.push(Box::new(super::alerts::AlertsComponent::start(
            context.alerts,
        )));
    }
    components
}

#[cfg(test)]
#[path = "component_tests.rs"]
mod tests;
