//! The `trademon` command line: parses arguments, installs error reporting and logging, and calls
//! the library. Nothing else lives here.

#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use color_eyre::eyre::{Result, WrapErr, eyre};

use trademon::backtest;
use trademon::commands::{self, parse_duration, run::RunArgs};
use trademon::config::{Config, DEFAULT_TOML, Dirs};
use trademon::domain::{Interval, Symbol};

/// A local-first terminal trading and monitoring console.
#[derive(Parser, Debug)]
#[command(name = "trademon", version, about, long_about = None)]
struct Cli {
    /// Configuration file laid over the built-in defaults
    /// [default: config.toml in the config directory, if present].
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// SQLite database [default: in the data directory, trademon.db for real market data and
    /// simulated.db for the built-in exchange's simulated or replayed data].
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Use the built-in exchange's database (simulated.db) instead of trademon.db, for commands
    /// other than run.
    #[arg(long, global = true)]
    sim: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
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
struct FeedFlags {
    /// sim (built-in exchange), binance, or replay:PATH.
    #[arg(long)]
    source: Option<String>,
    /// Symbols to stream, comma-separated [default: feed.symbols].
    #[arg(long, visible_alias = "symbol", value_delimiter = ',')]
    symbols: Option<Vec<Symbol>>,
    /// Candle intervals, comma-separated; the first is the main one [default: feed.intervals].
    #[arg(long, visible_alias = "interval", value_delimiter = ',')]
    intervals: Option<Vec<Interval>>,
    /// Websocket base URL for --source binance [default: feed.binance.ws_url].
    #[arg(long)]
    ws_url: Option<String>,
    /// REST base URL for --source binance [default: feed.binance.rest_url].
    #[arg(long)]
    rest_url: Option<String>,
    /// Simulated milliseconds per real millisecond (1 = real time) [default: feed.sim.speed].
    #[arg(long, allow_negative_numbers = true)]
    sim_speed: Option<f64>,
    /// Seed of the simulated market [default: feed.sim.seed].
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Args, Debug, Default)]
struct RunFlags {
    #[command(flatten)]
    feed: FeedFlags,
    /// No terminal UI: run the engine, then print a summary.
    #[arg(long)]
    headless: bool,
    /// With --headless: stop after this long (30s, 5m, 2h).
    #[arg(long = "for", value_parser = parse_duration, value_name = "DURATION")]
    run_for: Option<std::time::Duration>,
    /// With --headless: print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct DaemonFlags {
    #[command(flatten)]
    feed: FeedFlags,
    /// The socket to serve [default: $XDG_RUNTIME_DIR/trademon/trademon.sock, else
    /// trademon.sock in the data directory].
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
}

impl DaemonFlags {
    /// The flags `run` shares, as `run` takes them.
    fn run_flags(&self) -> RunFlags {
        RunFlags {
            feed: self.feed.clone(),
            ..RunFlags::default()
        }
    }
}

/// Writes a command's output to stdout. A reader that went away (`trademon models list | head`)
/// ends the program quietly with success, as Unix tools do, instead of a panic.
fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(eyre!("cannot write the output to stdout: {e}")),
    }
}

fn main() -> ExitCode {
    install_panic_report();
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            // Not `eprintln!`: with stderr closed (`... 2>&1 | head`) it would panic and abort.
            use std::io::Write;
            let text = commands::errors::render(e.chain(), commands::errors::stderr_color());
            let _ = std::io::stderr().write_all(text.as_bytes());
            ExitCode::from(commands::errors::exit_code(e.chain()))
        }
    }
}

/// A panic keeps color-eyre's full report (location, backtrace with `RUST_BACKTRACE`) and says it
/// is a bug to report. User errors never go through it: `main` prints those itself. The console
/// adds its own hook on top that restores the terminal first.
fn install_panic_report() {
    let mut builder = color_eyre::config::HookBuilder::default()
        .panic_section(commands::errors::PANIC_NOTE)
        .display_env_section(false);
    if !commands::errors::stderr_color() {
        builder = builder.theme(color_eyre::config::Theme::new());
    }
    let (panic_hook, _) = builder.into_hooks();
    panic_hook.install();
}

fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run(RunFlags::default()));
    if let Command::GenConfig = command {
        emit(DEFAULT_TOML)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Completions { shell } = command {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "trademon", &mut script);
        emit(&String::from_utf8_lossy(&script))?;
        return Ok(ExitCode::SUCCESS);
    }
    let (mut config, _) = Config::load(cli.config.as_deref())?;
    // Simulated and replayed prices go to their own database unless --db says otherwise.
    let simulated = match &command {
        Command::Run(flags) => {
            let source = commands::run::resolve_source(flags.feed.source.as_deref(), &config)
                .map_err(|e| eyre!(e))?;
            !matches!(source, trademon::engine::Source::Binance { .. })
        }
        Command::Daemon(flags) => {
            let source = commands::run::resolve_source(flags.feed.source.as_deref(), &config)
                .map_err(|e| eyre!(e))?;
            !matches!(source, trademon::engine::Source::Binance { .. })
        }
        Command::Download {
            source, rest_url, ..
        } if !cli.sim => {
            let source =
                commands::run::resolve_source(source.as_deref(), &config).map_err(|e| eyre!(e))?;
            commands::download::is_simulated(&source, rest_url.as_deref())
        }
        // Like the daemon they talk to: the database of the configured source.
        Command::Attach { .. } | Command::Status { .. } if !cli.sim => {
            let source = commands::run::resolve_source(None, &config).map_err(|e| eyre!(e))?;
            !matches!(source, trademon::engine::Source::Binance { .. })
        }
        _ => cli.sim,
    };
    let db = commands::db_path(cli.db.as_deref(), &config, simulated)?;
    let _log = init_logging(&db);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .wrap_err("cannot start the async runtime")?;
    match command {
        Command::GenConfig | Command::Completions { .. } => Ok(ExitCode::SUCCESS),
        Command::Download {
            symbol,
            interval,
            from,
            to,
            source,
            rest_url,
            json,
        } => {
            let source =
                commands::run::resolve_source(source.as_deref(), &config).map_err(|e| eyre!(e))?;
            let args = commands::download::DownloadArgs {
                config,
                symbols: symbol,
                intervals: interval,
                from_ms: from,
                to_ms: to,
                source,
                rest_url,
                progress: !json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            let report = runtime.block_on(commands::download::run(&db, args))?;
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
            } else {
                emit(&commands::download::to_text(&report))?;
            }
            if report.complete() {
                return Ok(ExitCode::SUCCESS);
            }
            let stopped = report.series.iter().filter(|s| s.error.is_some()).count();
            Err(commands::download::Incomplete {
                stopped,
                banned: report.banned,
            }
            .into())
        }
        Command::Export {
            symbol,
            interval,
            from,
            to,
            format,
            out,
            json,
        } => {
            if json && out.is_none() {
                return Err(eyre!(
                    "--json prints the summary on stdout, where the candles go without --out; give --out FILE"
                ));
            }
            let args = commands::export::ExportArgs {
                symbol,
                interval,
                from_ms: from,
                to_ms: to,
                format,
                out,
            };
            let report = commands::export::run(&db, &args)?;
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
            } else {
                use std::io::Write;
                let _ = std::io::stderr().write_all(commands::export::to_text(&report).as_bytes());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            file,
            symbol,
            interval,
            calendar,
            json,
        } => {
            let report = commands::import::run_on(&db, &file, symbol, interval, calendar)?;
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
            } else {
                emit(&commands::import::to_text(&report))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Features {
            symbol,
            interval,
            raw,
            out,
            json,
            from,
            to,
        } => {
            let to_file = out.clone();
            let report = commands::features::run(
                &db,
                &commands::features::FeaturesArgs {
                    symbol,
                    interval,
                    raw,
                    json,
                    from_ms: from,
                    to_ms: to,
                    out,
                },
            )?;
            if let Some(path) = to_file {
                eprintln!(
                    "{}: {} rows x {} columns from {} candles ({} rows flagged by a gap)",
                    path.display(),
                    report.rows_written,
                    report.columns,
                    report.candles_read,
                    report.gap_rows
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Train {
            symbol,
            interval,
            members,
            epochs,
            seed,
            from,
            to,
            json,
        } => {
            let mut spec = trademon::model::train::TrainSpec::from_config(&config.model);
            spec.members = members.unwrap_or(spec.members);
            spec.epochs = epochs.unwrap_or(spec.epochs);
            spec.seed = seed.unwrap_or(spec.seed);
            if spec.members == 0 || spec.epochs == 0 {
                return Err(eyre!("--members and --epochs must be at least 1"));
            }
            let args = commands::train::TrainArgs {
                symbol,
                interval,
                from_ms: from,
                to_ms: to,
                progress: !json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            };
            let output = commands::train::run(&db, &args, &spec)?;
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&output)?))?;
            } else {
                emit(&commands::train::to_text(&output))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Backtest {
            symbol,
            weights,
            walk_forward,
            no_save,
            interval,
            strategy,
            from,
            to,
            fee_bps,
            slippage_bps,
            cash,
            short,
            json,
            out,
        } => {
            let output = commands::backtest::run(
                &db,
                &commands::backtest::BacktestArgs {
                    symbols: symbol,
                    weights,
                    walk_forward,
                    save: !no_save,
                    interval,
                    strategy,
                    from_ms: from,
                    to_ms: to,
                    fee_bps: fee_bps.unwrap_or(config.backtest.fee_bps),
                    slippage_bps: slippage_bps.unwrap_or(config.backtest.slippage_bps),
                    cash: cash.unwrap_or(config.backtest.cash),
                    short: short || config.backtest.short,
                    out,
                    thresholds: trademon::model::signal::ThresholdOverride::from_config(
                        &config.model,
                    ),
                },
            )?;
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&output)?))?;
            } else {
                emit(&commands::backtest::to_text(&output))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Runs { action, json } => {
            let output = commands::runs::run(&db, &action)?;
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&output)?))?;
            } else {
                emit(&commands::runs::to_text_output(&output))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Models { action, json } => {
            let over = trademon::model::signal::ThresholdOverride::from_config(&config.model);
            let output = commands::models::run(&db, &action, over)?;
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&output)?))?;
            } else {
                emit(&commands::models::to_text(&output, &db))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ServeSim {
            port,
            bind,
            replay,
            symbols,
            seed,
            sim_speed,
        } => {
            if let Some(seed) = seed {
                config.feed.sim.seed = seed;
            }
            if let Some(speed) = sim_speed {
                config.feed.sim.speed = check_speed(speed)?;
            }
            let symbols = symbols.unwrap_or_else(|| config.feed.symbols.clone());
            runtime.block_on(commands::serve_sim::serve(
                commands::serve_sim::ServeSimArgs {
                    config,
                    bind: std::net::SocketAddr::new(bind, port),
                    replay,
                    symbols,
                },
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Daemon(flags) => {
            let socket = commands::daemon::socket_path(flags.socket.as_deref())?;
            let args = run_args(flags.run_flags(), config, db)?;
            let database = args.db_path.clone();
            runtime.block_on(commands::daemon::run(args, socket, |socket| {
                eprintln!(
                    "trademon daemon (pid {}): serving {} for the database {}; \
                     stop it with SIGTERM or Ctrl-C",
                    std::process::id(),
                    socket.display(),
                    database.display()
                );
            }))?;
            eprintln!("trademon daemon: stopped; the database is flushed and checkpointed");
            Ok(ExitCode::SUCCESS)
        }
        Command::Attach { socket } => {
            let socket = commands::daemon::socket_path(socket.as_deref())?;
            let keymap = trademon::tui::Keymap::load(commands::run::user_keymap().as_deref())?;
            runtime.block_on(commands::attach::attach(socket, keymap, config.ui.max_fps))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json, socket } => {
            let socket = commands::daemon::socket_path(socket.as_deref())?;
            let report = runtime.block_on(commands::status::status(&socket, &db));
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
            } else {
                emit(&commands::status::to_text(&report))?;
            }
            Ok(ExitCode::from(report.verdict.exit_code()))
        }
        Command::Run(flags) => {
            let args = run_args(flags, config, db)?;
            if args.headless {
                let json = args.json;
                let summary = runtime.block_on(commands::run::headless(args))?;
                if json {
                    emit(&format!("{}\n", serde_json::to_string_pretty(&summary)?))?;
                } else {
                    emit(&summary.to_text())?;
                }
            } else {
                let keymap = trademon::tui::Keymap::load(commands::run::user_keymap().as_deref())?;
                runtime.block_on(commands::run::console(args, keymap))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check_speed(speed: f64) -> Result<f64> {
    if speed.is_finite() && speed > 0.0 && speed <= 100_000.0 {
        Ok(speed)
    } else {
        Err(eyre!(
            "--sim-speed {speed}: must be above 0 and at most 100000"
        ))
    }
}

/// Lays the command-line flags over the config.
fn run_args(flags: RunFlags, mut config: Config, db_path: PathBuf) -> Result<RunArgs> {
    if let Some(symbols) = flags.feed.symbols {
        config.feed.symbols = symbols;
    }
    if let Some(intervals) = flags.feed.intervals {
        config.feed.intervals = intervals;
    }
    if let Some(url) = flags.feed.ws_url {
        config.feed.binance.ws_url = url;
    }
    if let Some(url) = flags.feed.rest_url {
        config.feed.binance.rest_url = url;
    }
    if let Some(speed) = flags.feed.sim_speed {
        config.feed.sim.speed = check_speed(speed)?;
    }
    if let Some(seed) = flags.feed.seed {
        config.feed.sim.seed = seed;
    }
    // Re-check the merged result so flags get the same validation as the file.
    let text = toml::to_string(&config).wrap_err("cannot re-serialise the configuration")?;
    let config = Config::from_toml("<command line>", &text)?;
    let source = commands::run::resolve_source(flags.feed.source.as_deref(), &config)
        .map_err(|e| eyre!(e))?;
    if flags.run_for.is_some() && !flags.headless {
        return Err(eyre!("--for only applies with --headless"));
    }
    if flags.json && !flags.headless {
        return Err(eyre!("--json only applies with --headless"));
    }
    Ok(RunArgs {
        config,
        db_path,
        source,
        headless: flags.headless,
        run_for: flags.run_for,
        json: flags.json,
    })
}

/// Logs go to `trademon.log` beside the database (never to the terminal the console draws on),
/// filtered by `TRADEMON_LOG` (default `info`).
fn init_logging(db: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let dir = db
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .or_else(|| Dirs::discover().map(|d| d.data_dir))?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(dir, "trademon.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRADEMON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}
