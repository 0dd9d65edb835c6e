//! The command line's shape: every command, flag and help text (clap derive). `main.rs` reads it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use trademon::backtest;
use trademon::commands::{self, parse_duration};
use trademon::domain::{Interval, Symbol};

/// A local-first terminal trading and monitoring console.
#[derive(Parser, Debug)]
#[command(name = "trademon", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Configuration file laid over the built-in defaults
    /// [default: config.toml in the config directory, if present].
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// SQLite database [default: in the data directory, trademon.db for real market data and
    /// simulated.db for the built-in exchange's simulated or replayed data].
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) db: Option<PathBuf>,
    /// Use the built-in exchange's database (simulated.db) instead of trademon.db, for commands
    /// other than run.
    #[arg(long, global = true)]
    pub(crate) sim: bool,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// The console: live market data, charts and health (the default command).
    Run(RunFlags),
    /// The engine with no terminal, served on a Unix socket to `attach` and `status`; runs until
    /// SIGTERM or SIGINT.
    Daemon(DaemonFlags),
    /// The console of a running daemon, over its socket (`ssh -t box trademon attach`).
    /// Quitting it leaves the daemon running.
    Attach {
        /// The daemon's socket [default: $XDG_RUNTIME_DIR/trademon/trademon.sock, else
        /// trademon.sock in the data directory].
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
    },
    /// A one-shot summary from the running daemon, or from the database when none runs.
    /// Exit code: 0 healthy, 1 degraded (feed down, stale data), 2 no daemon.
    Status {
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// The daemon's socket [default: as for attach].
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
    },
    /// Load candles from a CSV, Binance kline dump or JSON file into the database.
    Import {
        file: PathBuf,
        #[arg(long, visible_alias = "symbols")]
        symbol: Symbol,
        #[arg(long, visible_alias = "intervals")]
        interval: Interval,
        /// The series' market calendar: 24x7 (every missing candle is a gap), sessions (stocks,
        /// FX: weekends, holidays and nights are closures, not gaps) or auto (a stored series
        /// keeps its calendar; a new one gets the calendar its candles look like).
        #[arg(long, default_value = "auto", value_name = "24x7|sessions|auto")]
        calendar: commands::import::CalendarChoice,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export indicator outputs or feature vectors computed from stored candles (CSV or JSON).
    Features {
        #[arg(long, visible_alias = "symbols")]
        symbol: Symbol,
        #[arg(long, visible_alias = "intervals")]
        interval: Interval,
        /// The 26 raw indicator outputs (TA-Lib reference column names) instead of features.
        #[arg(long)]
        raw: bool,
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// A JSON array of objects instead of CSV.
        #[arg(long)]
        json: bool,
        /// First candle written: UTC ms, YYYY-MM-DD or YYYY-MM-DDTHH:MM (inclusive).
        #[arg(long, value_parser = commands::features::parse_time, value_name = "TIME")]
        from: Option<i64>,
        /// End of the candles written (exclusive), same forms as --from.
        #[arg(long, value_parser = commands::features::parse_time, value_name = "TIME")]
        to: Option<i64>,
    },
    /// Train an LSTM ensemble on stored candles and register it as a challenger.
    Train {
        #[arg(long, visible_alias = "symbols")]
        symbol: Symbol,
        #[arg(long, visible_alias = "intervals")]
        interval: Interval,
        /// Ensemble members [default: model.members].
        #[arg(long)]
        members: Option<usize>,
        /// Epochs at most per member [default: model.epochs].
        #[arg(long)]
        epochs: Option<usize>,
        /// Seed of the initialisation and the minibatch order [default: model.seed].
        #[arg(long)]
        seed: Option<u64>,
        /// First candle used: UTC ms, YYYY-MM-DD or YYYY-MM-DDTHH:MM (inclusive).
        #[arg(long, value_parser = commands::features::parse_time, value_name = "TIME")]
        from: Option<i64>,
        /// End of the candles used (exclusive), same forms as --from.
        #[arg(long, value_parser = commands::features::parse_time, value_name = "TIME")]
        to: Option<i64>,
        /// Print the result as JSON (no progress bar).
        #[arg(long)]
        json: bool,
    },
    /// What the Drift pane shows, over stored candles: a model's scorecard against its two
    /// baselines, feature and prediction drift against its reference window, and the drift
    /// detectors. Exit code 0 stable, 1 drift (dataset drift or a detector in drift), 2 error.
    Drift {
        #[arg(long)]
        symbol: Symbol,
        #[arg(long)]
        interval: Interval,
        /// A model id or version tag, or champion.
        #[arg(long, default_value = "champion")]
        model: String,
        /// First candle: UTC ms, YYYY-MM-DD or YYYY-MM-DDTHH:MM (inclusive).
        #[arg(long, value_parser = commands::features::parse_time, value_name = "TIME")]
        from: Option<i64>,
        /// End of the candles (exclusive), same forms as --from.
        #[arg(long, value_parser = commands::features::parse_time, value_name = "TIME")]
        to: Option<i64>,
        /// W: closed candles in the window compared with the reference [default:
        /// monitor.window, 500; at least 300].
        #[arg(long, value_name = "N")]
        window: Option<usize>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replay stored candles through a strategy (fills at the next open, fees, slippage).
    Backtest {
        /// One symbol, or several (comma-separated) for a portfolio.
        #[arg(
            long,
            visible_alias = "symbols",
            value_delimiter = ',',
            required = true
        )]
        symbol: Vec<Symbol>,
        /// A portfolio's shares of the cash, one per symbol in the same order (equal without).
        #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
        weights: Vec<f64>,
        #[arg(long, visible_alias = "intervals")]
        interval: Interval,
        /// model:champion, model:ID (id or version), sma-cross:FAST,SLOW or buy-hold.
        #[arg(long)]
        strategy: String,
        /// Walk-forward, in candles: train=N,test=M[,step=S]. A model strategy is retrained on
        /// each training window with the named model's settings.
        #[arg(long, value_name = "PLAN")]
        walk_forward: Option<backtest::WalkForward>,
        /// First candle: UTC ms, YYYY-MM-DD or YYYY-MM-DDTHH:MM (inclusive).
        #[arg(long, value_parser = commands::features::parse_time, value_name = "TIME")]
        from: Option<i64>,
        /// End of the candles (exclusive), same forms as --from.
        #[arg(long, value_parser = commands::features::parse_time, value_name = "TIME")]
        to: Option<i64>,
        /// Commission in basis points of the traded notional, at entry and at exit
        /// [default: backtest.fee_bps in the config, 10].
        #[arg(long, allow_negative_numbers = true)]
        fee_bps: Option<f64>,
        /// Slippage against each fill, in basis points [default: backtest.slippage_bps, 2].
        #[arg(long, allow_negative_numbers = true)]
        slippage_bps: Option<f64>,
        /// Starting cash [default: backtest.cash, 10000].
        #[arg(long, allow_negative_numbers = true)]
        cash: Option<f64>,
        /// Take the strategy's short signals (long/flat otherwise; also backtest.short).
        #[arg(long)]
        short: bool,
        /// Print the metrics and the trades as JSON.
        #[arg(long)]
        json: bool,
        /// Write trades.csv, equity.csv and equity.svg into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Do not keep the run in the database (the console's Backtest pane lists kept runs).
        #[arg(long)]
        no_save: bool,
    },
    /// Stored backtest runs: list them, or show one again (what `backtest` printed).
    Runs {
        #[command(subcommand)]
        action: commands::runs::RunsAction,
        /// Print the result as JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// The paper account: its report, and paper against a backtest trade by trade.
    Paper {
        #[command(subcommand)]
        action: commands::paper::PaperAction,
        /// Print the result as JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// The model registry: list, show, promote, roll back and export model versions.
    Models {
        #[command(subcommand)]
        action: commands::models::ModelsAction,
        /// Print the result as JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Run the built-in simulated exchange on its own.
    ServeSim {
        /// Port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 9443)]
        port: u16,
        /// Address to bind instead of 127.0.0.1.
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// Serve a recorded candles or trades CSV instead of the market model.
        #[arg(long, value_name = "PATH")]
        replay: Option<PathBuf>,
        /// Symbols to simulate [default: feed.symbols].
        #[arg(long, visible_alias = "symbol", value_delimiter = ',')]
        symbols: Option<Vec<Symbol>>,
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated milliseconds per real millisecond.
        #[arg(long, allow_negative_numbers = true)]
        sim_speed: Option<f64>,
        /// Multiply SYMBOL's one-minute return volatility by FACTOR from TIME on (default: the
        /// sim start); repeatable. Added to [feed.sim] shocks.
        #[arg(
            long,
            value_name = "SYMBOL:FACTOR[@TIME]",
            value_parser = trademon::feed::sim::parse_shock,
            allow_hyphen_values = true
        )]
        shock: Vec<trademon::feed::sim::ShockSpec>,
    },
    /// Download candle history over REST into the database: from the built-in exchange (the
    /// default source, no network) or a Binance-protocol REST URL. Resumable: only what is
    /// neither stored nor fetched before is asked for.
    Download {
        /// Symbols, comma-separated.
        #[arg(
            long,
            visible_alias = "symbols",
            value_delimiter = ',',
            required = true
        )]
        symbol: Vec<Symbol>,
        /// Intervals, comma-separated.
        #[arg(
            long,
            visible_alias = "intervals",
            value_delimiter = ',',
            required = true
        )]
        interval: Vec<Interval>,
        /// First candle: UTC ms, YYYY-MM-DD or YYYY-MM-DDTHH:MM (inclusive).
        #[arg(long, value_parser = commands::features::parse_time, value_name = "TIME")]
        from: i64,
        /// End (exclusive), same forms as --from [default: the last closed candle].
        #[arg(long, value_parser = commands::features::parse_time, value_name = "TIME")]
        to: Option<i64>,
        /// sim (the built-in exchange) or binance [default: feed.source].
        #[arg(long)]
        source: Option<String>,
        /// Any Binance-protocol REST base URL [default with --source binance:
        /// feed.binance.rest_url].
        #[arg(long)]
        rest_url: Option<String>,
        /// Print the report as JSON (no progress bar).
        #[arg(long)]
        json: bool,
    },
    /// Write stored candles in the layout `import` reads (CSV with a header, or JSON klines).
    Export {
        #[arg(long, visible_alias = "symbols")]
        symbol: Symbol,
        #[arg(long, visible_alias = "intervals")]
        interval: Interval,
        /// First candle: UTC ms, YYYY-MM-DD or YYYY-MM-DDTHH:MM (inclusive).
        #[arg(long, value_parser = commands::features::parse_time, value_name = "TIME")]
        from: Option<i64>,
        /// End (exclusive), same forms as --from.
        #[arg(long, value_parser = commands::features::parse_time, value_name = "TIME")]
        to: Option<i64>,
        /// csv or json.
        #[arg(long, default_value = "csv")]
        format: trademon::store::export::ExportFormat,
        /// Write to this file instead of stdout (written whole or not at all).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print the summary on stdout as JSON (needs --out).
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script: `trademon completions bash > ~/.local/share/bash-completion/completions/trademon`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the commented default configuration.
    GenConfig,
}

/// Where the market data comes from: the flags `run` and `daemon` share.
#[derive(Args, Clone, Debug, Default)]
pub(crate) struct FeedFlags {
    /// sim (built-in exchange), binance, or replay:PATH.
    #[arg(long)]
    pub(crate) source: Option<String>,
    /// Symbols to stream, comma-separated [default: feed.symbols].
    #[arg(long, visible_alias = "symbol", value_delimiter = ',')]
    pub(crate) symbols: Option<Vec<Symbol>>,
    /// Candle intervals, comma-separated; the first is the main one [default: feed.intervals].
    #[arg(long, visible_alias = "interval", value_delimiter = ',')]
    pub(crate) intervals: Option<Vec<Interval>>,
    /// Websocket base URL for --source binance [default: feed.binance.ws_url].
    #[arg(long)]
    pub(crate) ws_url: Option<String>,
    /// REST base URL for --source binance [default: feed.binance.rest_url].
    #[arg(long)]
    pub(crate) rest_url: Option<String>,
    /// Simulated milliseconds per real millisecond (1 = real time) [default: feed.sim.speed].
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) sim_speed: Option<f64>,
    /// Seed of the simulated market [default: feed.sim.seed].
    #[arg(long)]
    pub(crate) seed: Option<u64>,
}

#[derive(Args, Debug, Default)]
pub(crate) struct RunFlags {
    #[command(flatten)]
    pub(crate) feed: FeedFlags,
    /// No terminal UI: run the engine, then print a summary.
    #[arg(long)]
    pub(crate) headless: bool,
    /// With --headless: stop after this long (30s, 5m, 2h).
    #[arg(long = "for", value_parser = parse_duration, value_name = "DURATION")]
    pub(crate) run_for: Option<std::time::Duration>,
    /// With --headless: print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (127.0.0.1:9464) [default: metrics.listen].
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<String>,
}

#[derive(Args, Debug)]
pub(crate) struct DaemonFlags {
    #[command(flatten)]
    pub(crate) feed: FeedFlags,
    /// The socket to serve [default: $XDG_RUNTIME_DIR/trademon/trademon.sock, else
    /// trademon.sock in the data directory].
    #[arg(long, value_name = "PATH")]
    pub(crate) socket: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics (127.0.0.1:9464) [default: metrics.listen].
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<String>,
}

impl DaemonFlags {
    /// The flags `run` shares, as `run` takes them.
    pub(crate) fn run_flags(&self) -> RunFlags {
        RunFlags {
            feed: self.feed.clone(),
            metrics: self.metrics.clone(),
            ..RunFlags::default()
        }
    }
}
