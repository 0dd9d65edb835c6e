//! `trademon download`: history over REST into the database, from the built-in exchange (which
//! then simulates as much history as asked) or an exchange's REST URL.

use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use std::sync::Arc;

use crate::domain::{Clock, Interval, Symbol, WallClock};
use crate::engine::Source;
use crate::engine::history::{
    DownloadError, DownloadProgress, DownloadReport, DownloadSpec, download,
};
use crate::feed::sim::{self, BuiltIn, SimError, SimOptions};
use crate::feed::{MarketSource, SourceError};
use crate::store::Store;

/// The built-in exchange simulates at most this many minutes of history (`feed.sim.history_minutes`
/// has the same bound): about 694 days.
const MAX_SIM_HISTORY_MINUTES: i64 = 1_000_000;

#[derive(Clone, Debug)]
pub struct DownloadArgs {
    pub config: Config,
    pub symbols: Vec<Symbol>,
    pub intervals: Vec<Interval>,
    pub from_ms: i64,
    pub to_ms: Option<i64>,
    /// Where from: the resolved `--source` (the configured one without the flag).
    pub source: Source,
    /// `--rest-url`: a REST base URL of the source's exchange (wins over the source).
    pub rest_url: Option<String>,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DownloadCommandError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Download(#[from] DownloadError),
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{0}")]
    Usage(String),
}

/// Some series stopped before their end (a run-time failure: exit 1).
#[derive(Debug, thiserror::Error)]
#[error(
    "the download stopped early ({stopped} series incomplete{}); what was fetched is kept, run the same command again to resume",
    if *banned { ", the exchange banned this IP" } else { "" }
)]
pub struct Incomplete {
    pub stopped: usize,
    pub banned: bool,
}

/// Whether the download goes to the simulated database: the built-in exchange, not a REST URL.
pub fn is_simulated(source: &Source, rest_url: Option<&str>) -> bool {
    rest_url.is_none() && !source.real_prices()
}

pub async fn run(db: &Path, args: DownloadArgs) -> Result<DownloadReport, DownloadCommandError> {
    let usage = |text: String| DownloadCommandError::Usage(text);
    if args.symbols.is_empty() || args.intervals.is_empty() {
        return Err(usage(
            "--symbol and --interval need at least one value each".into(),
        ));
    }
    if let Some(to) = args.to_ms
        && to <= args.from_ms
    {
        return Err(usage(format!(
            "--to {to} is not after --from {} (UTC ms)",
            args.from_ms
        )));
    }
    let clock: Arc<dyn Clock> = Arc::new(WallClock);
    let source: Box<dyn MarketSource> = match (&args.rest_url, &args.source) {
        (Some(url), source) => crate::feed::history(source, url, &clock)?,
        (None, Source::Exchange { rest_url, .. }) => {
            crate::feed::history(&args.source, rest_url, &clock)?
        }
        (None, Source::Replay(path)) => {
            return Err(usage(format!(
                "--source replay:{}: a recorded file is loaded with `trademon import FILE`, not downloaded",
                path.display()
            )));
        }
        (None, Source::Sim) => {
            let handle = start_sim(&args).await?;
            let sim = &args.config.feed.sim;
            Box::new(BuiltIn::from_handle(handle, sim.seed, sim.speed, None))
        }
    };
    let mut store = Store::open(db)?;
    let spec = DownloadSpec {
        symbols: args.symbols.clone(),
        intervals: args.intervals.clone(),
        from_ms: args.from_ms,
        to_ms: args.to_ms,
        weight_budget: source.weight_limit_per_minute() * 8 / 10,
        retry_pause: Duration::from_millis(250),
        clock: clock.clone(),
    };
    let mut bar = Bar::new(args.progress);
    let result = download(&mut store, source.as_ref(), &spec, &mut |p| bar.show(p)).await;
    bar.finish();
    source.shutdown();
    Ok(result?)
}

/// Starts the built-in exchange with its market beginning at the UTC midnight on or before
/// `--from` and its clock at `--to` (or now), so the same seed, `--from` day and `--to` give the
/// same candles whenever the command runs (what `data/` is regenerated from).
async fn start_sim(args: &DownloadArgs) -> Result<sim::SimHandle, DownloadCommandError> {
    // The exchange's clock starts at --to when that is in the past: no need to simulate beyond.
    let now = Interval::M1.floor(WallClock.now_ms());
    let now = args.to_ms.map_or(now, |to| {
        now.min(Interval::M1.floor(to.saturating_add(59_999)))
    });
    let origin = Interval::D1.floor(args.from_ms);
    let minutes = (now - origin).div_euclid(60_000);
    if minutes > MAX_SIM_HISTORY_MINUTES {
        return Err(DownloadCommandError::Usage(format!(
            "--from .. --to spans {} days; the built-in exchange simulates at most {} days of history",
            minutes / 1440,
            MAX_SIM_HISTORY_MINUTES / 1440
        )));
    }
    let sim_config = &args.config.feed.sim;
    let mut options = SimOptions::new(sim_config.seed, args.symbols.clone());
    options.speed = sim_config.speed;
    options.history_minutes = minutes.max(1) as u32;
    options.start_ms = Some(now);
    // Shocks without a `from` start at the clock's start (--to): the history is left as it is.
    options.shocks = sim::config_shocks(sim_config, &args.symbols, now);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    Ok(sim::start(options, addr).await?)
}

/// An indicatif bar per series on stderr, or nothing.
struct Bar {
    enabled: bool,
    bar: Option<ProgressBar>,
}

impl Bar {
    fn new(enabled: bool) -> Self {
        Self { enabled, bar: None }
    }

    fn show(&mut self, progress: DownloadProgress) {
        if !self.enabled {
            return;
        }
        match progress {
            DownloadProgress::Series {
                symbol,
                interval,
                total,
            } => {
                self.finish();
                let bar = ProgressBar::new(total);
                if let Ok(style) = ProgressStyle::with_template(
                    "{prefix:>12} [{bar:30}] {pos}/{len} candles ({eta}) {msg}",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(format!("{symbol} {interval}"));
                self.bar = Some(bar);
            }
            DownloadProgress::Fetched(n) => {
                if let Some(bar) = &self.bar {
                    bar.inc(n);
                    bar.set_message("");
                }
            }
            DownloadProgress::Waiting(why) => {
                if let Some(bar) = &self.bar {
                    bar.set_message(why);
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }
}

/// The human-readable report.
pub fn to_text(report: &DownloadReport) -> String {
    use crate::fmt::utc_datetime as utc_minute;
    let mut out = format!("download from {}:\n", report.rest_url);
    for s in &report.series {
        out.push_str(&format!(
            "  {:<12} {:>4}  {} .. {}  {} added, {} already present ({} missing before, {} pages)\n",
            s.symbol,
            s.interval,
            utc_minute(s.from_ms),
            utc_minute(s.to_ms),
            s.added,
            s.already_present,
            s.missing_before,
            s.pages
        ));
        if s.rate_limited > 0 || s.retries > 0 {
            out.push_str(&format!(
                "      {} HTTP 429 waits, {} retries after a dropped connection or a bad page\n",
                s.rate_limited, s.retries
            ));
        }
        if !s.exchange_gaps.is_empty() {
            let missing: i64 = s.exchange_gaps.iter().map(|g| g.1).sum();
            out.push_str(&format!(
                "      the exchange has no candles in {} stretches ({missing} candles):\n",
                s.exchange_gaps.len()
            ));
            for (from, n) in s.exchange_gaps.iter().take(10) {
                out.push_str(&format!(
                    "        from {}: {n} missing\n",
                    utc_minute(*from)
                ));
            }
            if s.exchange_gaps.len() > 10 {
                out.push_str(&format!(
                    "        ... and {} more\n",
                    s.exchange_gaps.len() - 10
                ));
            }
        }
        if let Some(e) = &s.error {
            out.push_str(&format!(
                "      STOPPED: {e}\n      what was fetched is kept; run the same command again to fetch the rest\n"
            ));
        }
    }
    out.push_str(&format!(
        "{} candles added in {} requests",
        report.added, report.requests
    ));
    if report.weight_waits > 0 {
        out.push_str(&format!(
            ", {} waits for the request-weight limit",
            report.weight_waits
        ));
    }
    out.push('\n');
    if report.banned {
        out.push_str("the exchange banned this IP (HTTP 418): no more requests were sent\n");
    }
    out
}
