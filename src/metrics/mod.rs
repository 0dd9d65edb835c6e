//! The Prometheus exporter: every metric trademon exposes, registered once in one registry, and
//! rendered in the Prometheus text format (0.0.4) on each scrape; the process's own figures are
//! read from `/proc` at scrape time ([`process`]); [`server`] answers `GET /metrics`.
//!
//! The engine's metrics component (`engine/metrics.rs`) sets them from what the engine publishes,
//! the store's owner observes its commit latency, the model components their inference time, and
//! the daemon its clients. Names follow Prometheus's rules: base units (`_seconds`, `_bytes`),
//! `_total` on counters, ratios from 0 to 1. Labels are bounded: symbols and intervals from the
//! configuration, a model's role, a scorecard window — never ids or free text.

pub mod process;
pub mod server;

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A gauge holding a float.
pub type FloatGauge = Gauge<f64, AtomicU64>;

/// One stream of the feed: `stream` is the interval of a kline stream ("1m") or "trades".
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StreamLabels {
    pub symbol: String,
    pub stream: String,
}

/// Predictions of one model role ("active" or "shadow") for one symbol.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PredictionLabels {
    pub role: &'static str,
    pub symbol: String,
}

/// A model role: "active" (the signal) or "shadow" (a challenger).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoleLabels {
    pub role: &'static str,
}

/// One symbol.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SymbolLabels {
    pub symbol: String,
}

/// A scorecard window of one symbol: "100", "500" (the last so many candles) or "all".
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WindowLabels {
    pub symbol: String,
    pub window: &'static str,
}

/// What the build says of itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildInfo {
    pub version: String,
    /// The market source's name ("built-in", "binance").
    pub exchange: String,
}

impl BuildInfo {
    /// This program's version, on `exchange`.
    pub fn this(exchange: &str) -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").to_string(),
            exchange: exchange.to_string(),
        }
    }
}

/// The feed's link, messages and repairs.
#[derive(Debug, Default)]
pub struct FeedMetrics {
    pub up: Gauge,
    pub stream_up: Family<StreamLabels, Gauge>,
    pub messages: Family<StreamLabels, Counter>,
    pub last_message_age: Family<StreamLabels, FloatGauge>,
    pub reconnects: Counter,
    pub connect_failures: Counter,
    pub gaps_found: Counter,
    pub gaps_repaired: Counter,
    pub candles_backfilled: Counter,
    pub parse_errors: Counter,
    pub rate_limited: Counter,
}

/// The store's owner.
#[derive(Debug)]
pub struct StoreMetrics {
    pub write_duration: Histogram,
    pub rows_written: Counter,
    pub rows_lost: Counter,
    pub write_errors: Counter,
    pub writer_failing: Gauge,
    pub queue_depth: Gauge,
    pub database_bytes: Gauge,
}

/// The models: the active one and the challengers in shadow.
#[derive(Debug)]
pub struct ModelMetrics {
    pub predictions: Family<PredictionLabels, Counter>,
    pub inference_duration: Family<RoleLabels, Histogram, fn() -> Histogram>,
    pub fallback_active: Gauge,
    pub accuracy: Family<WindowLabels, FloatGauge>,
    pub log_loss: Family<WindowLabels, FloatGauge>,
    pub feature_drift_max_psi: Family<SymbolLabels, FloatGauge>,
    pub dataset_drift: Family<SymbolLabels, Gauge>,
}

/// The paper account.
#[derive(Debug, Default)]
pub struct PaperMetrics {
    pub equity: FloatGauge,
    pub drawdown: FloatGauge,
    pub open_positions: Gauge,
    pub fills: Counter,
    pub kill_switch: Gauge,
}

/// The daemon's attached views.
#[derive(Debug, Default)]
pub struct DaemonMetrics {
    pub clients: Gauge,
    pub frames_dropped: Counter,
}

/// Commit latencies: 100 µs to about 3 s.
fn write_buckets() -> Histogram {
    Histogram::new([
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ])
}

/// Inference latencies: 10 µs to about 1 s.
fn inference_buckets() -> Histogram {
    Histogram::new([
        0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
        0.05, 0.1, 0.25, 1.0,
    ])
}

/// The registry being filled, and the description of each family put in it.
#[derive(Default)]
struct Catalog {
    registry: Registry,
    families: Vec<(String, String)>,
}

impl Catalog {
    fn add<M: prometheus_client::registry::Metric + prometheus_client::metrics::TypedMetric>(
        &mut self,
        name: &str,
        help: &str,
        metric: M,
    ) {
        use prometheus_client::metrics::MetricType;
        let (suffix, kind) = match M::TYPE {
            MetricType::Counter => ("_total", "counter"),
            MetricType::Histogram => ("", "histogram"),
            MetricType::Info => ("_info", "gauge"),
            _ => ("", "gauge"),
        };
        let rendered = format!("{name}{suffix}");
        self.families.push((
            rendered.clone(),
            format!("# HELP {rendered} {help}.\n# TYPE {rendered} {kind}\n"),
        ));
        self.registry.register(name, help, metric);
    }
}

/// Every metric, and the registry that renders them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Every family registered: (name as rendered, its `# HELP` and `# TYPE` lines).
    families: Vec<(String, String)>,
    pub feed: FeedMetrics,
    pub store: StoreMetrics,
    pub model: ModelMetrics,
    pub paper: PaperMetrics,
    pub daemon: DaemonMetrics,
}

impl Metrics {
    /// Registers every metric; nothing is observed yet.
    pub fn new(build: BuildInfo) -> std::sync::Arc<Self> {
        let feed = FeedMetrics::default();
        let store = StoreMetrics {
            write_duration: write_buckets(),
            rows_written: Counter::default(),
            rows_lost: Counter::default(),
            write_errors: Counter::default(),
            writer_failing: Gauge::default(),
            queue_depth: Gauge::default(),
            database_bytes: Gauge::default(),
        };
        let model = ModelMetrics {
            predictions: Family::default(),
            inference_duration: Family::new_with_constructor(inference_buckets),
            fallback_active: Gauge::default(),
            accuracy: Family::default(),
            log_loss: Family::default(),
            feature_drift_max_psi: Family::default(),
            dataset_drift: Family::default(),
        };
        let paper = PaperMetrics::default();
        let daemon = DaemonMetrics::default();

        let mut catalog = Catalog::default();
        catalog.add(
            "trademon_build",
            "The running trademon: its version and market source (always 1)",
            Info::new(vec![
                ("version".to_string(), build.version),
                ("exchange".to_string(), build.exchange),
            ]),
        );
        catalog.add(
            "trademon_feed_up",
            "1 while the websocket link to the exchange is connected",
            feed.up.clone(),
        );
        catalog.add(
            "trademon_feed_stream_up",
            "1 while a stream is live (subscribed and receiving)",
            feed.stream_up.clone(),
        );
        catalog.add(
            "trademon_feed_messages",
            "Messages received per stream",
            feed.messages.clone(),
        );
        catalog.add(
            "trademon_feed_last_message_age_seconds",
            "Time since a stream's last message",
            feed.last_message_age.clone(),
        );
        catalog.add(
            "trademon_feed_reconnects",
            "Connections to the exchange made again after the first",
            feed.reconnects.clone(),
        );
        catalog.add(
            "trademon_feed_connect_failures",
            "Connect attempts that failed (refused, unreachable, timed out, handshake refused)",
            feed.connect_failures.clone(),
        );
        catalog.add(
            "trademon_feed_gaps_found",
            "Gaps found in the candle series",
            feed.gaps_found.clone(),
        );
        catalog.add(
            "trademon_feed_gaps_repaired",
            "Gaps filled from the exchange's history",
            feed.gaps_repaired.clone(),
        );
        catalog.add(
            "trademon_feed_candles_backfilled",
            "Closed candles filled in from the exchange's history",
            feed.candles_backfilled.clone(),
        );
        catalog.add(
            "trademon_feed_parse_errors",
            "Messages that could not be read",
            feed.parse_errors.clone(),
        );
        catalog.add(
            "trademon_feed_rate_limited",
            "Answers of the exchange that said the rate limit was hit",
            feed.rate_limited.clone(),
        );
        catalog.add(
            "trademon_store_write_duration_seconds",
            "Time a batch commit to the SQLite file took",
            store.write_duration.clone(),
        );
        catalog.add(
            "trademon_store_rows_written",
            "Rows committed to the SQLite file",
            store.rows_written.clone(),
        );
        catalog.add(
            "trademon_store_rows_lost",
            "Rows the store's owner could not take (queue full, stopped, commits failing)",
            store.rows_lost.clone(),
        );
        catalog.add(
            "trademon_store_write_errors",
            "Batch commits that failed (their rows are retried)",
            store.write_errors.clone(),
        );
        catalog.add(
            "trademon_store_writer_failing",
            "1 while commits fail or the store's owner has stopped",
            store.writer_failing.clone(),
        );
        catalog.add(
            "trademon_store_writer_queue_depth",
            "Writes waiting for the store's owner",
            store.queue_depth.clone(),
        );
        catalog.add(
            "trademon_store_database_bytes",
            "Size of the SQLite file with its write-ahead log",
            store.database_bytes.clone(),
        );
        catalog.add(
            "trademon_model_predictions",
            "Predictions made, by model role (active, shadow) and symbol",
            model.predictions.clone(),
        );
        catalog.add(
            "trademon_model_inference_duration_seconds",
            "Time one prediction took, by model role",
            model.inference_duration.clone(),
        );
        catalog.add(
            "trademon_model_fallback_active",
            "1 while the active model runs on its logistic fallback",
            model.fallback_active.clone(),
        );
        catalog.add(
            "trademon_model_accuracy_ratio",
            "Realised accuracy of the active model over a scorecard window",
            model.accuracy.clone(),
        );
        catalog.add(
            "trademon_model_log_loss",
            "Realised log-loss (nats) of the active model over a scorecard window",
            model.log_loss.clone(),
        );
        catalog.add(
            "trademon_model_feature_drift_max_psi",
            "The largest population stability index among the active model's features",
            model.feature_drift_max_psi.clone(),
        );
        catalog.add(
            "trademon_model_dataset_drift",
            "1 while at least half of the active model's features drift",
            model.dataset_drift.clone(),
        );
        catalog.add(
            "trademon_paper_equity",
            "Paper account equity, in its quote asset",
            paper.equity.clone(),
        );
        catalog.add(
            "trademon_paper_drawdown_ratio",
            "Paper account equity below its peak, 0 to 1",
            paper.drawdown.clone(),
        );
        catalog.add(
            "trademon_paper_open_positions",
            "Paper positions open",
            paper.open_positions.clone(),
        );
        catalog.add(
            "trademon_paper_fills",
            "Paper order fills",
            paper.fills.clone(),
        );
        catalog.add(
            "trademon_paper_kill_switch",
            "1 while the max-drawdown kill switch stops new entries",
            paper.kill_switch.clone(),
        );
        catalog.add(
            "trademon_daemon_clients",
            "Views attached to the daemon",
            daemon.clients.clone(),
        );
        catalog.add(
            "trademon_daemon_frames_dropped",
            "Updates not sent to a view that fell behind (it is sent a snapshot instead)",
            daemon.frames_dropped.clone(),
        );
        let Catalog {
            mut registry,
            families,
        } = catalog;
        registry.register_collector(Box::new(process::ProcessCollector::new()));
        std::sync::Arc::new(Self {
            registry,
            families,
            feed,
            store,
            model,
            paper,
            daemon,
        })
    }

    /// The Prometheus text of every metric now.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        self.render_into(&mut out);
        out
    }

    /// Renders into `out` (cleared first). A family with no sample yet (a symbol's drift before
    /// the monitor's first evaluation) is still described by its `# HELP` and `# TYPE` lines,
    /// so every name can be looked up — and no value is made up for it.
    pub fn render_into(&self, out: &mut String) {
        out.clear();
        // Writing into a String cannot fail; an encoder error would be a bug in a metric.
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(out, &self.registry) {
            tracing::error!("metrics: cannot render: {e}");
        }
        let typed: std::collections::HashSet<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next())
            .collect();
        let missing: Vec<&str> = self
            .families
            .iter()
            .filter(|(name, _)| !typed.contains(name.as_str()))
            .map(|(_, lines)| lines.as_str())
            .collect();
        for lines in missing {
            out.push_str(lines);
        }
    }

    /// The name of every family registered here, as rendered (`_total` on counters, `_info`
    /// on the build info), without the process collector's.
    pub fn family_names(&self) -> impl Iterator<Item = &str> {
        self.families.iter().map(|(name, _)| name.as_str())
    }
}

#[cfg(test)]
mod tests;
