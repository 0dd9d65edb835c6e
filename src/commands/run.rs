//! `trademon run`: the console (or, with `--headless`, the same engine without a terminal).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::config::{Config, Dirs};
use crate::domain::{Interval, Symbol};
use crate::engine::{EngineSummary, Runtime, RuntimeError, RuntimeOptions, Source};
use crate::protocol::SourceInfo;
use crate::store::writer::WriterStats;
use crate::store::{Store, StoreError};

/// What `run` was asked for, after the command line was laid over the config.
#[derive(Clone, Debug)]
pub struct RunArgs {
    pub config: Config,
    pub db_path: PathBuf,
    pub source: Source,
    pub headless: bool,
    /// Stop after this long (headless); run until Ctrl-C without it.
    pub run_for: Option<Duration>,
    pub json: bool,
}

/// Turns `--source` (sim | binance | replay | replay:PATH) and the config into a [`Source`].
pub fn resolve_source(flag: Option<&str>, config: &Config) -> Result<Source, String> {
    Source::resolve(flag, &config.feed)
}

/// Candles per series at the end of a headless run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SeriesCount {
    pub symbol: Symbol,
    pub interval: Interval,
    /// Closed candles received and stored during this run (live and backfilled).
    pub stored_this_run: u64,
    /// Rows for the series in the database afterwards.
    pub in_database: u64,
    /// Missing stretches left in the database (e.g. minutes the exchange had no trades).
    pub gaps_in_database: usize,
}

/// What `run --headless` prints.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HeadlessSummary {
    pub source: SourceInfo,
    pub database: String,
    pub ran_for_secs: f64,
    pub series: Vec<SeriesCount>,
    pub messages: u64,
    pub reconnects: u64,
    /// Connect attempts that failed (a dead or unreachable endpoint shows here, not as reconnects).
    pub failed_connects: u64,
    pub gaps_found: u64,
    pub gaps_repaired: u64,
    pub candles_backfilled: u64,
    pub parse_errors: u64,
    pub rate_limited: u64,
    /// What the store's owner did with the rows.
    pub store: StoreCounts,
    pub peak_rss_bytes: Option<u64>,
}

/// A run that could not store what it received (exit 1, after its summary).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreFailure(pub String);

/// The store's side of a headless run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StoreCounts {
    /// Rows committed (candles, events, predictions, outcomes).
    pub rows_stored: u64,
    /// Rows never stored: the run fails when there are any.
    pub rows_lost: u64,
    /// Commits that failed; their rows were held and tried again.
    pub failed_commits: u64,
    pub last_error: Option<String>,
}

impl HeadlessSummary {
    /// Why the run failed to store what it received, if it did: a headless run with this exits
    /// 1 after its summary.
    pub fn store_failure(&self) -> Option<String> {
        let s = &self.store;
        (s.rows_lost > 0).then(|| {
            format!(
                "{} rows were not stored in {} ({} failed commits; last error: {})",
                s.rows_lost,
                self.database,
                s.failed_commits,
                s.last_error.as_deref().unwrap_or("none")
            )
        })
    }
}

/// Runs the engine with no terminal until `run_for` passes or Ctrl-C, then summarises.
pub async fn headless(args: RunArgs) -> Result<HeadlessSummary, RuntimeError> {
    let started = Instant::now();
    let mut runtime = Runtime::start(RuntimeOptions {
        config: args.config.clone(),
        db_path: args.db_path.clone(),
        source: args.source.clone(),
        with_view: false,
    })
    .await?;
    let source = runtime.source.clone();
    let stats = runtime.store_stats();
    let run_for = async {
        match args.run_for {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = run_for => {}
        _ = tokio::signal::ctrl_c() => {}
        // The store's owner died; `stop` says why.
        () = runtime.engine_stopped() => {}
    }
    let summary = runtime.stop().await?;
    summarise(&args, source, summary, &stats, started.elapsed()).map_err(RuntimeError::from)
}

fn summarise(
    args: &RunArgs,
    source: SourceInfo,
    summary: EngineSummary,
    stats: &WriterStats,
    elapsed: Duration,
) -> Result<HeadlessSummary, StoreError> {
    let store = Store::open_reader(&args.db_path)?;
    let mut series = Vec::new();
    for (symbol, counts) in &summary.candles_stored {
        for (interval, _) in counts {
            series.push(SeriesCount {
                symbol: *symbol,
                interval: *interval,
                stored_this_run: stats.candles_stored(*symbol, *interval),
                in_database: store.count_candles(*symbol, *interval)?,
                gaps_in_database: store.gaps(*symbol, *interval)?.len(),
            });
        }
    }
    Ok(HeadlessSummary {
        source,
        database: args.db_path.display().to_string(),
        ran_for_secs: elapsed.as_secs_f64(),
        series,
        messages: summary.messages,
        reconnects: summary.reconnects,
        failed_connects: summary.failed_connects,
        gaps_found: summary.gaps_found,
        gaps_repaired: summary.gaps_repaired,
        candles_backfilled: summary.candles_backfilled,
        parse_errors: summary.parse_errors,
        rate_limited: summary.rate_limited,
        store: StoreCounts {
            rows_stored: stats.rows_stored.load(Ordering::Relaxed),
            rows_lost: stats.rows_lost.load(Ordering::Relaxed),
            failed_commits: stats.errors.load(Ordering::Relaxed),
            last_error: stats.last_error(),
        },
        peak_rss_bytes: super::peak_rss_bytes(),
    })
}

impl HeadlessSummary {
    /// The human-readable form.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "trademon ran {:.1} s on {} -> {}\n\n{:<12} {:>8} {:>15} {:>12} {:>6}\n",
            self.ran_for_secs,
            self.source.label(),
            self.database,
            "symbol",
            "interval",
            "stored this run",
            "in database",
            "gaps"
        );
        for s in &self.series {
            out.push_str(&format!(
                "{:<12} {:>8} {:>15} {:>12} {:>6}\n",
                s.symbol.as_str(),
                s.interval.as_str(),
                s.stored_this_run,
                s.in_database,
                s.gaps_in_database
            ));
        }
        out.push_str(&format!(
            "\nmessages {}  reconnects {}  failed connects {}  gaps found {}  gaps repaired {}  \
             candles backfilled {}  parse errors {}  rate limited {}\n",
            self.messages,
            self.reconnects,
            self.failed_connects,
            self.gaps_found,
            self.gaps_repaired,
            self.candles_backfilled,
            self.parse_errors,
            self.rate_limited
        ));
        let s = &self.store;
        if s.rows_lost > 0 || s.failed_commits > 0 {
            out.push_str(&format!(
                "store: {} rows stored, {} NOT stored, {} failed commits (last error: {})\n",
                s.rows_stored,
                s.rows_lost,
                s.failed_commits,
                s.last_error.as_deref().unwrap_or("none")
            ));
        }
        if let Some(b) = self.peak_rss_bytes {
            out.push_str(&format!("peak resident memory {:.1} MB\n", b as f64 / 1e6));
        }
        out
    }
}

/// Runs the console: the engine in this process, the TUI fed through the protocol channel.
pub async fn console(args: RunArgs, keymap: crate::tui::Keymap) -> Result<(), ConsoleError> {
    let mut runtime = Runtime::start(RuntimeOptions {
        config: args.config.clone(),
        db_path: args.db_path.clone(),
        source: args.source.clone(),
        with_view: true,
    })
    .await?;
    let updates = runtime.updates.take().ok_or(ConsoleError::NoUpdates)?;
    let tui_result = crate::tui::run(
        updates,
        runtime.commands.clone(),
        crate::tui::TuiOptions {
            keymap,
            max_fps: args.config.ui.max_fps,
            daemon_link: None,
        },
    )
    .await;
    let stopped = runtime.stop().await;
    tui_result?;
    stopped?;
    Ok(())
}

/// Why the console stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Tui(#[from] crate::tui::TuiError),
    #[error("the engine started without an update channel for the console")]
    NoUpdates,
}

/// The user's keymap file, if there is one.
pub fn user_keymap() -> Option<PathBuf> {
    Dirs::discover()
        .map(|d| d.config_dir.join("keymap.toml"))
        .filter(|p| p.exists())
}
