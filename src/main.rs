//! The `trademon` command line: parses arguments (their shape is in `cli.rs`), installs error
//! reporting and logging, and calls the library. Nothing else lives here.

#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used)]

mod cli;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use color_eyre::eyre::{Result, WrapErr, eyre};

use trademon::commands::{self, run::RunArgs};
use trademon::config::{Config, DEFAULT_TOML, Dirs};

use cli::{Cli, Command, RunFlags};

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
            !source.real_prices()
        }
        Command::Daemon(flags) => {
            let source = commands::run::resolve_source(flags.feed.source.as_deref(), &config)
                .map_err(|e| eyre!(e))?;
            !source.real_prices()
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
            !source.real_prices()
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
            let mut output = commands::train::run(&db, &args, &spec)?;
            commands::train::judge(&mut output);
            // The model's reference window for the monitor, kept with it.
            output.reference = Some(
                match trademon::monitor::persist::compute_and_store(
                    &db,
                    &output.model,
                    config.monitor.window,
                ) {
                    Ok(r) => format!("{} training rows of {} features", r.rows, r.features.len()),
                    Err(e) => format!("not stored: {e}"),
                },
            );
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&output)?))?;
            } else {
                emit(&commands::train::to_text(&output))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Drift {
            symbol,
            interval,
            model,
            from,
            to,
            window,
            json,
        } => {
            let args = trademon::monitor::offline::DriftArgs {
                symbol,
                interval,
                model,
                from_ms: from,
                to_ms: to,
                settings: trademon::monitor::Settings {
                    window: window.unwrap_or(config.monitor.window),
                    evaluate_every: config.monitor.evaluate_every,
                },
                thresholds: trademon::model::signal::ThresholdOverride::from_config(&config.model),
            };
            let output = commands::drift::run(&db, &args)?;
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&output)?))?;
            } else {
                emit(&commands::drift::to_text(&output))?;
            }
            Ok(ExitCode::from(u8::from(output.drifting())))
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
        Command::Paper { action, json } => {
            let over = trademon::model::signal::ThresholdOverride::from_config(&config.model);
            let output = commands::paper::run(&db, &config.paper, &action, over)?;
            if json {
                emit(&format!("{}\n", serde_json::to_string_pretty(&output)?))?;
            } else {
                emit(&commands::paper::to_text(&output))?;
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
            shock,
        } => {
            if let Some(seed) = seed {
                config.feed.sim.seed = seed;
            }
            if let Some(speed) = sim_speed {
                config.feed.sim.speed = check_speed(speed)?;
            }
            let symbols = symbols.unwrap_or_else(|| config.feed.symbols.clone());
            if replay.is_some() && !shock.is_empty() {
                return Err(eyre!(
                    "--shock: a replay plays its file as recorded; shocks apply to the market model only"
                ));
            }
            if let Some(bad) = shock.iter().find(|s| !symbols.contains(&s.symbol)) {
                let names: Vec<&str> = symbols.iter().map(|s| s.as_str()).collect();
                return Err(eyre!(
                    "--shock {}:{}: {} is not simulated (symbols: {})",
                    bad.symbol,
                    bad.factor,
                    bad.symbol,
                    names.join(" ")
                ));
            }
            runtime.block_on(commands::serve_sim::serve(
                commands::serve_sim::ServeSimArgs {
                    config,
                    bind: std::net::SocketAddr::new(bind, port),
                    replay,
                    symbols,
                    shocks: shock,
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
                if let Some(failure) = summary.store_failure() {
                    return Err(commands::run::StoreFailure(failure).into());
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
    if let Some(listen) = flags.metrics {
        config.metrics.listen = listen;
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
    // Beside a database in a shared directory (`--db /tmp/x.db`) someone else may have put a
    // symbolic link there: it is refused, never written through.
    let path = dir.join("trademon.log");
    let file = std::fs::create_dir_all(&dir)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            trademon::daemon::lock::open_own_file(&path, std::fs::OpenOptions::new().append(true))
                .map_err(|e| e.to_string())
        });
    let default_level = if file.is_ok() { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRADEMON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let (writer, guard) = match file {
        Ok(file) => tracing_appender::non_blocking(file),
        Err(reason) => {
            // An unwritable log costs the log, never the command: warnings go to stderr.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "warning: cannot write the log {}: {reason}; logging warnings to stderr instead",
                path.display()
            );
            tracing_appender::non_blocking(std::io::stderr())
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}
