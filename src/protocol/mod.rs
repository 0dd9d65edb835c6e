//! What the engine tells a view (`Update`) and what a view asks of the engine (`Command`).
//! The in-process TUI and a TUI attached over a socket use exactly these types.
//!
//! The engine keeps its own live state as a [`Snapshot`] and changes it only by applying the same
//! updates it publishes, so a replica fed those updates is the engine's state.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::domain::FeedEvent;
pub use crate::domain::LinkState;
use crate::domain::{Candle, Interval, Symbol};

mod models;
pub use models::{
    FeatureWeight, ModelSummary, ModelsView, Scores, SignalInfo, SignalThresholds, TestScores,
    TrainingProgress, put_signal,
};

mod monitor;
pub use monitor::{
    BaselineScores, DetectorLevel, DetectorView, DriftStatus, Estimate, FeatureDrift, MonitorView,
    PredictionDrift, ReferenceInfo, Scorecard, SymbolMonitor, WindowScores,
};

mod paper;
pub use paper::{
    AlertLevel, AlertToast, CURVE_POINTS, OrderSide, OrderTicket, PaperFill, PaperOrder,
    PaperPosition, PaperView, RECENT_FILLS, RiskView, TicketKind,
};

mod shadow;
pub use shadow::{ChallengerView, PairedEvidence, ShadowView};

mod backtest;
pub use backtest::{
    BacktestCosts, BacktestProgress, BacktestRunSummary, BacktestsView, REPORT_POINTS,
    REPORT_TRADES, RUNS_LISTED,
};

mod backtest_report;
pub use backtest_report::{
    BacktestReport, EquityPoint, FoldScores, ReportCosts, ReportFold, ReportLeg, ReportTrade,
    TradeSide, WalkForwardPlan,
};

/// Bumped whenever a type in this module changes shape.
pub const PROTOCOL_VERSION: u32 = 9;

/// Feed events kept in a snapshot for the Health pane.
pub const RECENT_EVENTS: usize = 50;

/// Where the market data comes from: which exchange, whether its prices are real, and what it is
/// set up with. In JSON the detail sits beside the name (`{"exchange":"simulated",
/// "real_prices":false,"Simulated":{"seed":7,"speed":60.0}}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// Lower-case exchange name: `simulated`, `replay`, or the real exchange's.
    pub exchange: String,
    /// Whether the prices are a real market's (not simulated, not replayed).
    pub real_prices: bool,
    #[serde(flatten)]
    pub detail: SourceDetail,
}

/// What a source is set up with, as the views show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SourceDetail {
    /// The built-in market model.
    Simulated { seed: u64, speed: f64 },
    /// A recorded file served by the built-in exchange.
    Replay { path: String },
    /// An exchange at this websocket URL.
    Endpoint { url: String },
}

impl SourceInfo {
    /// The built-in exchange's market model.
    pub fn simulated(seed: u64, speed: f64) -> Self {
        Self {
            exchange: "simulated".into(),
            real_prices: false,
            detail: SourceDetail::Simulated { seed, speed },
        }
    }

    /// The built-in exchange replaying `path`.
    pub fn replay(path: impl Into<String>) -> Self {
        Self {
            exchange: "replay".into(),
            real_prices: false,
            detail: SourceDetail::Replay { path: path.into() },
        }
    }

    pub fn is_real(&self) -> bool {
        self.real_prices
    }

    /// A short label for the status bar.
    pub fn label(&self) -> String {
        match &self.detail {
            SourceDetail::Simulated { seed, speed } => {
                format!("SIMULATED exchange (seed {seed}, {speed}x)")
            }
            SourceDetail::Replay { path } => format!("REPLAY of {path}"),
            SourceDetail::Endpoint { url } => {
                let mut name = self.exchange.chars();
                let title: String = name
                    .next()
                    .map(|c| c.to_uppercase().chain(name).collect())
                    .unwrap_or_default();
                format!("{title} {url}")
            }
        }
    }

    /// The badge text: the exchange's name in capitals (` SIMULATED `).
    pub fn badge(&self) -> String {
        format!(" {} ", self.exchange.to_uppercase())
    }

    /// What the Health pane shows after the badge.
    pub fn detail_text(&self) -> String {
        match &self.detail {
            SourceDetail::Simulated { seed, speed } => format!("seed {seed}, {speed}x speed"),
            SourceDetail::Replay { path } => path.clone(),
            SourceDetail::Endpoint { url } => url.clone(),
        }
    }
}

/// How one stream is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamState {
    Live,
    /// Connected, but nothing has arrived for a while.
    Stale,
    Down,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamHealth {
    pub name: String,
    pub state: StreamState,
    pub messages: u64,
    pub messages_per_sec: f64,
    pub last_message_age_ms: Option<i64>,
}

/// Health counters, published about once a second.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub now_ms: i64,
    pub uptime_ms: i64,
    pub link: Option<LinkState>,
    pub streams: Vec<StreamHealth>,
    pub messages_per_sec: f64,
    pub reconnects: u64,
    /// Connect attempts that failed (refused, unreachable, no answer within the connect timeout,
    /// handshake refused). Added without a version bump: older readers ignore it, and a report
    /// without it reads as 0.
    #[serde(default)]
    pub failed_connects: u64,
    pub gaps_found: u64,
    pub gaps_repaired: u64,
    pub candles_backfilled: u64,
    pub parse_errors: u64,
    pub rate_limited: u64,
    pub db_write_p50_ms: Option<f64>,
    pub db_write_p99_ms: Option<f64>,
    pub rows_stored: u64,
    /// Rows the store's owner did not take (its queue was full, or it had stopped): not stored.
    #[serde(default)]
    pub db_rows_lost: u64,
    /// Failed commits (their rows are retried with the next batch).
    #[serde(default)]
    pub db_write_errors: u64,
    /// Why the store is not storing everything (stopped, commits failing, rows lost), in words;
    /// `None` while it is. Makes `trademon status` degraded.
    #[serde(default)]
    pub db_writer_problem: Option<String>,
    pub db_bytes: Option<u64>,
}

/// The indicator values the console draws for one closed candle (`None` while warming up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartIndicators {
    pub sma_20: Option<f64>,
    pub ema_20: Option<f64>,
    pub bb_upper: Option<f64>,
    pub bb_middle: Option<f64>,
    pub bb_lower: Option<f64>,
    pub rsi_14: Option<f64>,
    pub macd: Option<f64>,
    pub macd_signal: Option<f64>,
    pub macd_hist: Option<f64>,
    /// Candles are missing right before this one.
    pub gap: bool,
}

/// Candles of one (symbol, interval): closed ones oldest first, and the one still open.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub closed: VecDeque<Candle>,
    pub open: Option<Candle>,
    /// Indicator values of the closed candles, same length and order as `closed`.
    #[serde(default)]
    pub indicators: VecDeque<ChartIndicators>,
}

impl Series {
    /// Closed candles with their indicator values, oldest first.
    pub fn closed_with_indicators(&self) -> impl Iterator<Item = (&Candle, &ChartIndicators)> {
        self.closed.iter().zip(self.indicators.iter())
    }
}

/// Everything known about one symbol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Market {
    pub symbol: Symbol,
    pub last_price: Option<f64>,
    pub last_trade_ms: Option<i64>,
    /// One series per interval of [`Snapshot::intervals`], same order.
    pub series: Vec<Series>,
}

impl Market {
    /// Latest price: the last trade, else the open candle's close, else the last closed close.
    pub fn price(&self) -> Option<f64> {
        self.last_price.or_else(|| {
            self.series.first().and_then(|s| {
                s.open
                    .map(|c| c.close)
                    .or_else(|| s.closed.back().map(|c| c.close))
            })
        })
    }

    /// Change of the latest price against the oldest close held for `interval_index`.
    pub fn change(&self, interval_index: usize) -> Option<f64> {
        let first = self.series.get(interval_index)?.closed.front()?.open;
        let last = self.price()?;
        (first > 0.0).then(|| last / first - 1.0)
    }
}

/// The full state a view needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub source: SourceInfo,
    pub intervals: Vec<Interval>,
    pub markets: Vec<Market>,
    pub health: HealthReport,
    /// Newest last, at most [`RECENT_EVENTS`].
    pub recent_events: VecDeque<FeedEvent>,
    /// Closed candles kept per series.
    pub keep_candles: usize,
    pub started_at_ms: i64,
    /// The latest signal per (symbol, interval).
    #[serde(default)]
    pub signals: Vec<SignalInfo>,
    #[serde(default)]
    pub models: ModelsView,
    #[serde(default)]
    pub backtests: BacktestsView,
    /// The active model's live scorecard and drift, per symbol.
    #[serde(default)]
    pub monitor: MonitorView,
    /// The challengers scored in shadow against the active model.
    #[serde(default)]
    pub shadow: ShadowView,
    /// The paper account.
    #[serde(default)]
    pub paper: PaperView,
}

/// A change to the state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Update {
    /// Replace everything (on connect, or after a view fell behind).
    Snapshot(Box<Snapshot>),
    /// A candle changed; `closed` means it is final, and then `indicators` holds its values.
    Candle {
        symbol: Symbol,
        interval: Interval,
        candle: Candle,
        closed: bool,
        indicators: ChartIndicators,
    },
    /// Closed candles filled in after a gap or at start, oldest first. `indicators` are the values
    /// of the newest closed candles of the series once these are in (the last
    /// `indicators.len()` of them; a backfill that lands inside the series recomputes and sends
    /// them all).
    Backfill {
        symbol: Symbol,
        interval: Interval,
        candles: Vec<Candle>,
        indicators: Vec<ChartIndicators>,
    },
    LastPrice {
        symbol: Symbol,
        price: f64,
        time_ms: i64,
    },
    Health(HealthReport),
    Event(FeedEvent),
    /// A new signal for a series (replaces that series' previous one).
    Signal(Box<SignalInfo>),
    /// The models, the active one and its weights changed (sent whole: it is small).
    Models(Box<ModelsView>),
    /// A background training run moved on (`None`: it ended; see `ModelsView::last_training`).
    Training(Option<Box<TrainingProgress>>),
    /// The stored runs, the opened report or the last message changed (sent whole; the report
    /// in it is thinned).
    Backtests(Box<BacktestsView>),
    /// A background backtest moved on (`None`: it ended).
    BacktestProgress(Option<Box<BacktestProgress>>),
    /// The monitor's figures for one symbol changed (replaces that symbol's).
    MonitorSymbol(Box<SymbolMonitor>),
    /// The monitor started over (a model switch): the whole view.
    Monitor(Box<MonitorView>),
    /// The challengers' evidence in shadow changed (sent whole: it is small).
    Shadow(Box<ShadowView>),
    /// The paper account changed (sent whole; its lists are bounded).
    Paper(Box<PaperView>),
    /// An alert to show as a toast (and ring the bell when its level is on). Not kept in the
    /// snapshot.
    Alert(Box<AlertToast>),
}

/// What a view asks of the engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Send a fresh snapshot.
    RequestSnapshot,
    /// Drop the exchange connection and connect again now (then backfill).
    Reconnect,
    /// Run this registered model from the next candle on (an audited switch).
    SwitchModel { id: i64 },
    /// Make this model the champion (the one a restart runs).
    PromoteModel { id: i64 },
    /// Give the champion role back to the previous champion and run it.
    RollbackModel,
    /// Train a new ensemble on the stored candles of this series, in the background; it
    /// arrives as a challenger.
    Retrain { symbol: Symbol, interval: Interval },
    /// Stop the running training (a retrain then registers nothing).
    CancelTraining,
    /// Take this challenger out of shadow scoring (it becomes retired; audited).
    RetireChallenger { id: i64 },
    /// Put this retired model back into shadow scoring as a challenger (audited).
    ChallengeModel { id: i64 },
    /// Backtest `strategy` (`model:champion`, `model:ID`, `sma-cross:F,S`, `buy-hold`) on the
    /// stored candles of this series, in the background; the run is stored.
    RunBacktest {
        symbol: Symbol,
        interval: Interval,
        strategy: String,
    },
    /// Show this stored run.
    OpenBacktest { id: i64 },
    /// Stop the running backtest.
    CancelBacktest,
    /// Place an order in the paper account.
    PlaceOrder(Box<OrderTicket>),
    /// Cancel a resting paper order.
    CancelOrder { id: i64 },
    /// Reset the paper account's drawdown kill switch (entries are allowed again).
    ResetKillSwitch,
}

impl Snapshot {
    pub fn market(&self, symbol: Symbol) -> Option<&Market> {
        self.markets.iter().find(|m| m.symbol == symbol)
    }

    fn series_mut(&mut self, symbol: Symbol, interval: Interval) -> Option<&mut Series> {
        let index = self.intervals.iter().position(|i| *i == interval)?;
        self.markets
            .iter_mut()
            .find(|m| m.symbol == symbol)?
            .series
            .get_mut(index)
    }

    /// Applies one update. Unknown symbols or intervals are ignored (a view may lag a config change).
    pub fn apply(&mut self, update: &Update) {
        let keep = self.keep_candles.max(1);
        match update {
            Update::Snapshot(snapshot) => *self = (**snapshot).clone(),
            Update::Candle {
                symbol,
                interval,
                candle,
                closed,
                indicators,
            } => {
                if let Some(series) = self.series_mut(*symbol, *interval) {
                    if *closed {
                        if let Some(i) = insert_closed(series, *candle, keep) {
                            series.indicators[i] = *indicators;
                        }
                        if series
                            .open
                            .is_some_and(|o| o.open_time_ms <= candle.open_time_ms)
                        {
                            series.open = None;
                        }
                    } else if series
                        .closed
                        .back()
                        .is_none_or(|c| c.open_time_ms < candle.open_time_ms)
                    {
                        series.open = Some(*candle);
                    }
                }
            }
            Update::Backfill {
                symbol,
                interval,
                candles,
                indicators,
            } => {
                if let Some(series) = self.series_mut(*symbol, *interval) {
                    for candle in candles {
                        insert_closed(series, *candle, keep);
                    }
                    let n = indicators.len().min(series.indicators.len());
                    let start = series.indicators.len() - n;
                    for (slot, value) in series
                        .indicators
                        .range_mut(start..)
                        .zip(&indicators[indicators.len() - n..])
                    {
                        *slot = *value;
                    }
                }
            }
            Update::LastPrice {
                symbol,
                price,
                time_ms,
            } => {
                if let Some(m) = self.markets.iter_mut().find(|m| m.symbol == *symbol) {
                    m.last_price = Some(*price);
                    m.last_trade_ms = Some(*time_ms);
                }
            }
            Update::Health(report) => self.health = report.clone(),
            Update::Event(event) => {
                if self.recent_events.len() >= RECENT_EVENTS {
                    self.recent_events.pop_front();
                }
                self.recent_events.push_back(event.clone());
            }
            Update::Signal(signal) => put_signal(&mut self.signals, signal),
            Update::Models(models) => {
                // Training progress has its own update; this one leaves it as it is.
                let training = self.models.training.take();
                self.models = (**models).clone();
                self.models.training = training;
            }
            Update::Training(progress) => self.models.training = progress.as_deref().cloned(),
            Update::MonitorSymbol(one) => self.monitor.put(one),
            Update::Monitor(view) => self.monitor = (**view).clone(),
            Update::Shadow(view) => self.shadow = (**view).clone(),
            Update::Paper(view) => self.paper = (**view).clone(),
            Update::Alert(_) => {}
            Update::Backtests(backtests) => {
                // Progress has its own update; this one leaves it as it is.
                let running = self.backtests.running.take();
                self.backtests = (**backtests).clone();
                self.backtests.running = running;
            }
            Update::BacktestProgress(progress) => {
                self.backtests.running = progress.as_deref().cloned();
            }
        }
    }
}

/// Keeps closed candles sorted by open time, unique, and at most `keep` long, with the
/// indicator values alongside (a new candle gets empty values until they are set). Returns where
/// the candle landed, or `None` when it was older than everything kept.
pub fn insert_closed(series: &mut Series, candle: Candle, keep: usize) -> Option<usize> {
    // A replica made by an older engine (or by hand) may lack indicator values: pad in front.
    while series.indicators.len() < series.closed.len() {
        series.indicators.push_front(ChartIndicators::default());
    }
    series.indicators.truncate(series.closed.len());
    let mut index = match series.closed.back() {
        Some(last) if last.open_time_ms >= candle.open_time_ms => {
            match series
                .closed
                .binary_search_by_key(&candle.open_time_ms, |c| c.open_time_ms)
            {
                Ok(i) => {
                    series.closed[i] = candle;
                    return Some(i);
                }
                Err(0) if series.closed.len() >= keep => return None,
                Err(i) => {
                    series.closed.insert(i, candle);
                    series.indicators.insert(i, ChartIndicators::default());
                    i
                }
            }
        }
        _ => {
            series.closed.push_back(candle);
            series.indicators.push_back(ChartIndicators::default());
            series.closed.len() - 1
        }
    };
    while series.closed.len() > keep {
        series.closed.pop_front();
        series.indicators.pop_front();
        index = index.saturating_sub(1);
    }
    Some(index)
}

#[cfg(test)]
mod backtest_tests;
#[cfg(test)]
mod tests;
