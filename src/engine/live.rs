//! The live loop: market events in; state, storage and published updates out.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::health::HealthCounters;
use super::indicators::SeriesIndicators;

#[path = "live_indicators.rs"]
mod live_indicators;
use super::backtests::{BacktestRunner, Output as BacktestOutput};
use super::component::{Component, Effects};
use super::jobs::{JobEvent, JobSender};
use super::models::{ModelCommand, ModelRunner, Output as ModelOutput};
use super::publish::Publisher;
use crate::domain::{Candle, Clock, Interval, Symbol};
use crate::domain::{FeedEvent, FeedEventKind};
use crate::feed::{FeedControl, MarketEvent};
use crate::protocol::{Command, LinkState, Market, Series, Snapshot, SourceInfo, Update};
use crate::store::writer::{WriteOp, WriteSender, WriterStats};
use live_indicators::warm_up;

/// Parse-error events stored per second at most; all of them are counted.
const PARSE_ERRORS_STORED_PER_SEC: u32 = 10;

/// What the engine is set up with.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    pub source: SourceInfo,
    pub symbols: Vec<Symbol>,
    pub intervals: Vec<Interval>,
    pub trades: bool,
    /// Stream names as the source calls them: kline streams symbol-major, then trade streams
    /// (empty: `BTCUSDT 1m` / `BTCUSDT trades`).
    pub streams: Vec<String>,
    /// Where "now" comes from: the wall clock live, a manual clock in tests.
    pub clock: Arc<dyn Clock>,
    pub keep_candles: usize,
    /// A connected stream with nothing for this long is shown as stale.
    pub stale_after: Duration,
    pub health_every: Duration,
    /// Coalesced last prices are published this often.
    pub price_every: Duration,
    /// The model, its training and its signal thresholds.
    pub model: crate::config::ModelConfig,
    /// What the console's backtests cost.
    pub backtest: crate::config::BacktestConfig,
    /// The live monitor of the active model.
    pub monitor: crate::config::MonitorConfig,
    /// Retraining triggers and promotion by evidence.
    pub retrain: crate::config::RetrainConfig,
    /// The paper account (`[paper]`).
    pub paper: crate::config::PaperConfig,
    /// The exchange's filters of the symbols (none known: orders are not rounded).
    pub filters: Vec<(Symbol, crate::domain::SymbolFilters)>,
    /// What raises an alert and where it goes.
    pub alerts: crate::config::AlertsConfig,
    /// The Prometheus metrics to keep, when `/metrics` is served.
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// What the engine did, for `run --headless`.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct EngineSummary {
    /// Closed candles sent to the store, per symbol, per interval.
    pub candles_stored: Vec<(Symbol, Vec<(Interval, u64)>)>,
    pub messages: u64,
    pub reconnects: u64,
    /// Connect attempts that failed (refused, unreachable, timed out, handshake refused).
    pub failed_connects: u64,
    pub gaps_found: u64,
    pub gaps_repaired: u64,
    pub candles_backfilled: u64,
    pub parse_errors: u64,
    pub rate_limited: u64,
    /// Why the engine stopped on its own (the store's owner died), if it did.
    pub stopped_early: Option<String>,
}

/// Initial state: the series loaded from the store.
pub fn initial_snapshot(
    options: &EngineOptions,
    load: impl Fn(Symbol, Interval) -> Vec<crate::domain::Candle>,
    recent_events: Vec<FeedEvent>,
    now_ms: i64,
) -> Snapshot {
    let markets = options
        .symbols
        .iter()
        .map(|&symbol| Market {
            symbol,
            last_price: None,
            last_trade_ms: None,
            series: options
                .intervals
                .iter()
                .map(|&interval| {
                    let closed: VecDeque<Candle> = load(symbol, interval).into();
                    let indicators = SeriesIndicators::new(interval)
                        .rebuild(closed.iter())
                        .into();
                    Series {
                        closed,
                        open: None,
                        indicators,
                    }
                })
                .collect(),
        })
        .collect();
    let mut recent: VecDeque<FeedEvent> = recent_events.into();
    while recent.len() > crate::protocol::RECENT_EVENTS {
        recent.pop_front();
    }
    Snapshot {
        source: options.source.clone(),
        intervals: options.intervals.clone(),
        markets,
        health: Default::default(),
        recent_events: recent,
        keep_candles: options.keep_candles,
        started_at_ms: now_ms,
        signals: Vec::new(),
        models: Default::default(),
        backtests: Default::default(),
        monitor: Default::default(),
        shadow: Default::default(),
        paper: Default::default(),
    }
}

pub struct Engine {
    options: EngineOptions,
    state: Snapshot,
    health: HealthCounters,
    /// The store's owner: every row and every registry change or backtest run of the engine.
    writer: WriteSender,
    writer_stats: Arc<WriterStats>,
    /// A row the owner did not take was logged (further ones are only counted).
    lost_logged: bool,
    db_path: Option<std::path::PathBuf>,
    publisher: Publisher,
    feed_control: mpsc::Sender<FeedControl>,
    /// Last trade price per symbol not yet published.
    pending_prices: Vec<Option<(f64, i64)>>,
    stored: Vec<Vec<u64>>,
    parse_errors_this_second: (i64, u32),
    /// Per symbol, per interval (the order of the options).
    indicators: Vec<Vec<SeriesIndicators>>,
    /// The model component, first of the components the engine calls.
    models: ModelRunner,
    /// The other components (`component::registered`).
    components: Vec<Box<dyn Component>>,
    backtests: BacktestRunner,
    /// Held so the job channel stays open whatever the components hold; the receiver below is
    /// an arm of [`Engine::run`]'s `select!`.
    _jobs_tx: JobSender,
    jobs: tokio::sync::mpsc::UnboundedReceiver<JobEvent>,
    /// Sets the Prometheus metrics from every update published, when they are kept.
    metrics: Option<super::metrics::MetricsObserver>,
}

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        options: EngineOptions,
        state: Snapshot,
        writer: WriteSender,
        writer_stats: Arc<WriterStats>,
        db_path: Option<std::path::PathBuf>,
        publisher: Publisher,
        feed_control: mpsc::Sender<FeedControl>,
    ) -> Self {
        let health = HealthCounters::new(
            &options.symbols,
            &options.intervals,
            options.trades,
            &options.streams,
            options.stale_after.as_millis() as i64,
        );
        let n = options.symbols.len();
        let stored = vec![vec![0; options.intervals.len()]; n];
        let mut state = state;
        let indicators = warm_up(&options, &mut state);
        let simulated = !options.source.real_prices;
        let (jobs_tx, jobs) = super::jobs::channel();
        let mut models = ModelRunner::start_attached(
            db_path.clone(),
            writer.clone(),
            options.model.clone(),
            simulated,
            &state,
            options.clock.now_ms(),
            jobs_tx.clone(),
            options.metrics.clone(),
        );
        models.set_retrain(options.retrain, options.clock.now_ms());
        let active_model = models.view.active_model().map(|m| m.version.clone());
        let components = super::component::registered(&super::component::Context {
            db: db_path.as_deref(),
            owner: &writer,
            model: &options.model,
            monitor: options.monitor,
            symbols: &options.symbols,
            active_model,
            jobs: &jobs_tx,
            paper: &options.paper,
            filters: &options.filters,
            // Without a model, hand orders still fill on the console's main interval.
            interval: models
                .view
                .active_interval
                .or(options.intervals.first().copied()),
            now_ms: options.clock.now_ms(),
            alerts: &options.alerts,
            metrics: options.metrics.as_ref(),
        });
        state.models = models.view.clone();
        let backtests = BacktestRunner::start(db_path.clone(), options.backtest, jobs_tx.clone())
            .with_owner(writer.clone())
            .with_thresholds(crate::model::signal::ThresholdOverride::from_config(
                &options.model,
            ));
        state.backtests = backtests.view.clone();
        let initial = models.take_initial();
        for signal in &initial.signals {
            crate::protocol::put_signal(&mut state.signals, signal);
        }
        let mut engine = Self {
            options,
            state,
            health,
            writer,
            writer_stats,
            lost_logged: false,
            db_path,
            publisher,
            feed_control,
            pending_prices: vec![None; n],
            stored,
            parse_errors_this_second: (0, 0),
            indicators,
            models,
            components,
            backtests,
            _jobs_tx: jobs_tx,
            jobs,
            metrics: None,
        };
        engine.metrics = engine.options.metrics.clone().map(|m| {
            let o = &engine.options;
            super::metrics::MetricsObserver::new(
                m,
                super::metrics::stream_labels(&o.symbols, &o.intervals, o.trades),
                engine.writer_stats.clone(),
            )
        });
        for op in initial.writes {
            engine.store(op);
        }
        engine
    }

    /// Sends a row to the store's owner. One it cannot take is counted there as lost (the Health
    /// pane and `trademon status` then say degraded) and logged here once.
    fn store(&mut self, op: WriteOp) {
        if let Err(lost) = self.writer.send(op)
            && !self.lost_logged
        {
            tracing::error!("{lost} (further lost rows are only counted)");
            self.lost_logged = true;
        }
    }

    /// Adds a component after the registered ones (for tests and tools that bring their own).
    pub fn with_component(mut self, component: Box<dyn Component>) -> Self {
        self.components.push(component);
        self
    }

    /// Every component, the model component first: the one list the engine calls.
    fn components(&mut self) -> impl Iterator<Item = &mut dyn Component> {
        std::iter::once(&mut self.models as &mut dyn Component).chain(
            self.components
                .iter_mut()
                .map(|c| c.as_mut() as &mut dyn Component),
        )
    }

    /// Closed candles of one series to every component.
    fn on_closed(&mut self, symbol: Symbol, interval: Interval, candles: &[Candle], now_ms: i64) {
        if candles.is_empty() {
            return;
        }
        let mut out = Effects::default();
        for component in self.components() {
            component.on_closed(symbol, interval, candles, now_ms, &mut out);
        }
        self.apply(out, now_ms);
    }

    /// Applies what components produced: rows to the store, updates published, and signals
    /// published then handed to every component (what they make of a signal is applied, its
    /// own signals published without being handed round again).
    /// Updates (the monitor's figures, the shadow evidence) are handed to every component too,
    /// before they are published; what components make of signals and updates is applied
    /// without being handed round again.
    pub(super) fn apply(&mut self, out: Effects, now_ms: i64) {
        let mut more = Effects::default();
        let signals = self.apply_one(out, Some((&mut more, now_ms)));
        for signal in &signals {
            for component in self.components() {
                component.on_signal(signal, now_ms, &mut more);
            }
        }
        self.apply_one(more, None);
        // What the model runner heard (the monitor's figures, the shadow evidence), acted on
        // with the state: retrain triggers, promotions and rollbacks by evidence.
        let heard = self.models.follow_evidence(&self.state, now_ms);
        self.apply_models(heard);
    }

    fn apply_one(
        &mut self,
        out: Effects,
        mut listeners: Option<(&mut Effects, i64)>,
    ) -> Vec<crate::protocol::SignalInfo> {
        for op in out.writes {
            self.store(op);
        }
        for update in out.updates {
            if let Some((more, now_ms)) = listeners.as_mut() {
                for component in self.components() {
                    component.on_update(&update, *now_ms, more);
                }
            }
            self.publish(update);
        }
        for signal in &out.signals {
            self.publish(Update::Signal(Box::new(signal.clone())));
        }
        out.signals
    }

    /// A job's report: the backtests' own, or handed to the components until one takes it.
    pub fn on_job(&mut self, event: JobEvent) {
        let now_ms = self.options.clock.now_ms();
        if matches!(
            event,
            JobEvent::Backtest(_) | JobEvent::BacktestOpened { .. }
        ) {
            let out = self.backtests.on_job(event);
            self.apply_backtests(out);
            return;
        }
        let mut event = Some(event);
        let mut out = Effects::default();
        for component in self.components() {
            component.on_job(&mut event, &mut out);
            if event.is_none() {
                break;
            }
        }
        self.apply(out, now_ms);
    }

    /// Handles the job reports that have arrived (the loop does this as they come; for code
    /// that drives the engine by hand).
    pub fn poll_jobs(&mut self) {
        while let Ok(event) = self.jobs.try_recv() {
            self.on_job(event);
        }
    }

    /// Publishes what the model side produced and sends its rows to the store.
    fn apply_models(&mut self, out: ModelOutput) {
        for op in out.writes {
            self.store(op);
        }
        for signal in out.signals {
            self.publish(Update::Signal(Box::new(signal)));
        }
        if out.models_changed {
            let view = Update::Models(Box::new(self.models.view.clone()));
            self.publish_heard(view);
        }
        if let Some(training) = out.training {
            self.publish(Update::Training(training.map(Box::new)));
        }
    }

    /// The engine's live state (what a freshly attached view receives).
    pub fn snapshot(&self) -> &Snapshot {
        &self.state
    }

    /// Publishes an update the engine made itself (health, the models view) after handing it to
    /// the components (alerts listen to both), and what they made of it, not handed round again.
    fn publish_heard(&mut self, update: Update) {
        let now_ms = self.options.clock.now_ms();
        let mut out = Effects::default();
        for component in self.components() {
            component.on_update(&update, now_ms, &mut out);
        }
        self.publish(update);
        self.apply_one(out, None);
    }

    fn publish(&mut self, update: Update) {
        if let Some(m) = &mut self.metrics {
            m.observe(&update);
        }
        self.state.apply(&update);
        self.publisher.send(update, &self.state);
    }

    fn symbol_index(&self, symbol: Symbol) -> Option<usize> {
        self.options.symbols.iter().position(|s| *s == symbol)
    }

    fn store_candle(&mut self, symbol: Symbol, interval: Interval, candle: crate::domain::Candle) {
        if let (Some(s), Some(i)) = (
            self.symbol_index(symbol),
            self.options.intervals.iter().position(|x| *x == interval),
        ) {
            self.stored[s][i] += 1;
            self.store(WriteOp::Candle(symbol, interval, candle));
        }
    }

    /// Handles one market event.
    pub fn on_market(&mut self, event: MarketEvent) {
        let now = self.options.clock.now_ms();
        match event {
            MarketEvent::Kline {
                symbol,
                interval,
                candle,
                closed,
            } => {
                self.health.kline(symbol, interval, now);
                if !self.accept(symbol, interval, &candle, now) {
                    return;
                }
                if !closed {
                    self.publish(Update::Candle {
                        symbol,
                        interval,
                        candle,
                        closed,
                        indicators: Default::default(),
                    });
                    return;
                }
                self.store_candle(symbol, interval, candle);
                let Some(live) = self.series_indicators(symbol, interval) else {
                    return;
                };
                if live.is_next(candle.open_time_ms) {
                    let indicators = live.push(&candle);
                    self.publish(Update::Candle {
                        symbol,
                        interval,
                        candle,
                        closed,
                        indicators,
                    });
                } else {
                    self.publish_rebuilt(symbol, interval, vec![candle]);
                }
                self.on_closed(symbol, interval, &[candle], now);
            }
            MarketEvent::Backfill {
                symbol,
                interval,
                candles,
            } => {
                self.health.candles_backfilled += candles.len() as u64;
                let mut candles = candles;
                candles.retain(|c| self.accept(symbol, interval, c, now));
                for c in &candles {
                    self.store_candle(symbol, interval, *c);
                }
                let Some(live) = self.series_indicators(symbol, interval) else {
                    return;
                };
                let in_order = candles
                    .windows(2)
                    .all(|w| w[0].open_time_ms < w[1].open_time_ms)
                    && candles.first().is_none_or(|c| live.is_next(c.open_time_ms));
                if in_order {
                    let indicators = candles.iter().map(|c| live.push(c)).collect();
                    self.publish(Update::Backfill {
                        symbol,
                        interval,
                        candles: candles.clone(),
                        indicators,
                    });
                } else {
                    self.publish_rebuilt(symbol, interval, candles.clone());
                }
                self.on_closed(symbol, interval, &candles, now);
            }
            MarketEvent::Trade { symbol, trade } => {
                self.health.trade(symbol, now);
                if let Some(s) = self.symbol_index(symbol) {
                    self.pending_prices[s] = Some((trade.price, trade.time_ms));
                }
                if !self.components.is_empty() {
                    let mut out = Effects::default();
                    for component in self.components() {
                        component.on_trade(symbol, &trade, now, &mut out);
                    }
                    // Most prints change nothing: the per-print path stays short.
                    if !out.is_empty() {
                        self.apply(out, now);
                    }
                }
            }
            MarketEvent::ConnectFailed => self.health.failed_connects += 1,
            MarketEvent::Link(link) => {
                if matches!(link, LinkState::Connected { .. }) {
                    self.health.connects += 1;
                }
                self.health.link = Some(link);
            }
            MarketEvent::Feed(event) => self.on_feed_event(event),
        }
    }

    fn on_feed_event(&mut self, event: FeedEvent) {
        match event.kind {
            FeedEventKind::GapFound => self.health.gaps_found += 1,
            FeedEventKind::GapRepaired => self.health.gaps_repaired += 1,
            FeedEventKind::ParseError => {
                self.health.parse_errors += 1;
                let second = event.time_ms / 1000;
                if self.parse_errors_this_second.0 != second {
                    self.parse_errors_this_second = (second, 0);
                }
                self.parse_errors_this_second.1 += 1;
                if self.parse_errors_this_second.1 > PARSE_ERRORS_STORED_PER_SEC {
                    return;
                }
            }
            FeedEventKind::RateLimited => self.health.rate_limited += 1,
            _ => {}
        }
        self.store(WriteOp::Event(event.clone()));
        self.publish(Update::Event(event));
    }

    /// Publishes coalesced last prices.
    pub fn flush_prices(&mut self) {
        for s in 0..self.pending_prices.len() {
            if let Some((price, time_ms)) = self.pending_prices[s].take() {
                let symbol = self.options.symbols[s];
                self.publish(Update::LastPrice {
                    symbol,
                    price,
                    time_ms,
                });
            }
        }
    }

    /// Publishes a health report.
    pub fn report_health(&mut self) {
        let now = self.options.clock.now_ms();
        let mut report = self.health.report(now, self.state.started_at_ms);
        let (p50, p99) = self.writer_stats.latency_ms();
        report.db_write_p50_ms = p50;
        report.db_write_p99_ms = p99;
        report.rows_stored = self.writer_stats.rows_stored.load(Ordering::Relaxed);
        report.db_rows_lost = self.writer_stats.rows_lost.load(Ordering::Relaxed);
        report.db_write_errors = self.writer_stats.errors.load(Ordering::Relaxed);
        report.db_writer_problem = self.writer_stats.problem();
        report.db_bytes = self.db_path.as_ref().map(|p| {
            let wal = format!("{}-wal", p.display());
            [p.as_path(), std::path::Path::new(&wal)]
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum()
        });
        self.publish_heard(Update::Health(report));
    }

    pub fn on_command(&mut self, command: Command) {
        match command {
            Command::RequestSnapshot => self.publisher.resync(&self.state),
            Command::Reconnect => {
                let _ = self.feed_control.try_send(FeedControl::Reconnect);
            }
            Command::SwitchModel { id } => self.model_command(ModelCommand::Switch(id)),
            Command::PromoteModel { id } => self.model_command(ModelCommand::Promote(id)),
            Command::RollbackModel => self.model_command(ModelCommand::Rollback),
            Command::Retrain { symbol, interval } => {
                self.model_command(ModelCommand::Retrain(symbol, interval));
            }
            Command::CancelTraining => self.model_command(ModelCommand::CancelTraining),
            Command::RetireChallenger { id } => self.model_command(ModelCommand::Retire(id)),
            Command::ChallengeModel { id } => self.model_command(ModelCommand::Challenge(id)),
            Command::RunBacktest { .. }
            | Command::OpenBacktest { .. }
            | Command::CancelBacktest => {
                let now = self.options.clock.now_ms();
                let out = self.backtests.on_command(command, now);
                self.apply_backtests(out);
            }
            Command::PlaceOrder(_) | Command::CancelOrder { .. } | Command::ResetKillSwitch => {
                let now_ms = self.options.clock.now_ms();
                let mut out = Effects::default();
                for component in self.components() {
                    component.on_command(&command, now_ms, &mut out);
                }
                self.apply(out, now_ms);
            }
        }
    }

    fn apply_backtests(&mut self, out: BacktestOutput) {
        if let Some(progress) = out.progress {
            self.publish(Update::BacktestProgress(progress.map(Box::new)));
        }
        if out.view_changed {
            self.publish(Update::Backtests(Box::new(self.backtests.view.clone())));
        }
    }

    /// Follows registry changes another process made (see `engine::models::registry_watch`).
    pub(super) fn watch_models(&mut self) {
        let now = self.options.clock.now_ms();
        let out = self.models.watch_registry(&self.state, now);
        self.apply_models(out);
        let out = self.models.on_schedule(&self.state, now);
        self.apply_models(out);
    }

    fn model_command(&mut self, command: ModelCommand) {
        let now = self.options.clock.now_ms();
        let out = self.models.on_command(command, &self.state, now);
        self.apply_models(out);
    }

    pub fn summary(&self) -> EngineSummary {
        EngineSummary {
            candles_stored: self
                .options
                .symbols
                .iter()
                .zip(&self.stored)
                .map(|(s, counts)| {
                    (
                        *s,
                        self.options
                            .intervals
                            .iter()
                            .copied()
                            .zip(counts.iter().copied())
                            .collect(),
                    )
                })
                .collect(),
            messages: self.health.total_messages(),
            reconnects: self.health.reconnects(),
            failed_connects: self.health.failed_connects,
            gaps_found: self.health.gaps_found,
            gaps_repaired: self.health.gaps_repaired,
            candles_backfilled: self.health.candles_backfilled,
            parse_errors: self.health.parse_errors,
            rate_limited: self.health.rate_limited,
            stopped_early: None,
        }
    }

    /// Runs until `shutdown` turns true or the feed goes away.
    pub async fn run(
        mut self,
        mut market: mpsc::Receiver<MarketEvent>,
        mut commands: mpsc::Receiver<Command>,
        mut shutdown: watch::Receiver<bool>,
    ) -> EngineSummary {
        let mut health_tick = tokio::time::interval(self.options.health_every);
        let mut price_tick = tokio::time::interval(self.options.price_every);
        health_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        price_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        self.publisher.resync(&self.state);
        let mut commands_open = true;
        let mut stopped_early = None;
        loop {
            tokio::select! {
                event = market.recv() => match event {
                    Some(event) => self.on_market(event),
                    None => break,
                },
                command = commands.recv(), if commands_open => match command {
                    Some(command) => self.on_command(command),
                    None => commands_open = false,
                },
                Some(event) = self.jobs.recv() => self.on_job(event),
                _ = health_tick.tick() => {
                    self.watch_models();
                    self.report_health();
                    if self.writer_stats.stopped.load(Ordering::Relaxed) {
                        // Nothing received from now on could be stored: stop, loudly.
                        let why = format!(
                            "the store writer stopped ({})",
                            self.writer_stats.problem().unwrap_or_else(|| "no reason given".into())
                        );
                        tracing::error!("engine: stopping: {why}");
                        stopped_early = Some(why);
                        break;
                    }
                    let now_ms = self.options.clock.now_ms();
                    let mut out = Effects::default();
                    for component in self.components() {
                        component.on_tick(now_ms, &mut out);
                    }
                    self.apply(out, now_ms);
                }
                _ = price_tick.tick() => self.flush_prices(),
                _ = shutdown.changed() => break,
            }
        }
        // Drain what the feed already sent so nothing received is lost.
        while let Ok(event) = market.try_recv() {
            self.on_market(event);
        }
        for component in self.components() {
            component.stop();
        }
        self.backtests.stop();
        self.flush_prices();
        self.report_health();
        EngineSummary {
            stopped_early,
            ..self.summary()
        }
    }
}
