//! A backtest as the CLI and the console's Backtest pane ask for it: stored candles through a
//! strategy with the engine's fill rules — one symbol or a portfolio, optionally walk-forward —
//! the run stored in the database, and stored runs reopened.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::backtest::{
    BacktestError, Costs, ModelBacktestError, Report, SmaCross, WalkForward, shares,
};
use crate::config::BacktestConfig;
use crate::domain::{Interval, Symbol};
use crate::model::ensemble::Ensemble;
use crate::model::registry::{Registry, RegistryError};
use crate::model::signal::ThresholdOverride;
use crate::store::writer::{WriteLost, WriteOp, WriteSender, Writer, WriterOptions};
use crate::store::{BacktestRunRow, Store, StoreError};

use super::files::write_files;
use super::modes::{portfolio, walk};

/// What to test.
#[derive(Clone, Debug)]
pub struct BacktestArgs {
    pub symbols: Vec<Symbol>,
    /// One per symbol, or empty for equal shares.
    pub weights: Vec<f64>,
    pub interval: Interval,
    pub strategy: String,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub fee_bps: f64,
    pub slippage_bps: f64,
    pub cash: f64,
    pub short: bool,
    pub walk_forward: Option<WalkForward>,
    pub out: Option<PathBuf>,
    /// Keep the run in the database.
    pub save: bool,
    /// The config's explicit Buy / Sell thresholds; a model strategy uses the model's own
    /// thresholds where this sets none.
    pub thresholds: ThresholdOverride,
}

impl BacktestArgs {
    /// `strategy` over every stored candle of `symbols` (equal shares) at `costs`, stored, with no
    /// walk-forward and no files.
    pub fn new(
        symbols: Vec<Symbol>,
        interval: Interval,
        strategy: impl Into<String>,
        costs: &BacktestConfig,
    ) -> Self {
        Self {
            symbols,
            weights: Vec::new(),
            interval,
            strategy: strategy.into(),
            from_ms: None,
            to_ms: None,
            fee_bps: costs.fee_bps,
            slippage_bps: costs.slippage_bps,
            cash: costs.cash,
            short: costs.short,
            walk_forward: None,
            out: None,
            save: true,
            thresholds: ThresholdOverride::default(),
        }
    }
}

/// Which strategy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrategySpec {
    BuyHold,
    SmaCross {
        fast: usize,
        slow: usize,
    },
    /// `model:champion`, or `model:ID` (an id or a version tag).
    Model(String),
}

#[derive(Debug, thiserror::Error)]
pub enum BacktestCommandError {
    #[error(
        "strategy {0:?} is not one this build knows: use model:champion, model:ID, \
         sma-cross:FAST,SLOW or buy-hold"
    )]
    UnknownStrategy(String),
    #[error("{0}")]
    BadStrategy(String),
    #[error("{0}")]
    BadPortfolio(String),
    #[error("a walk-forward runs on one symbol; {0} were given (run one walk-forward per symbol)")]
    WalkForwardPortfolio(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Writer(#[from] WriteLost),
    #[error("model {model}: {reason}")]
    Model { model: String, reason: String },
    #[error("no registered model is champion in {0}: train one or name one with model:ID")]
    NoChampion(String),
    #[error("no {symbol} {interval} candles in {db} in that range: import some first")]
    NoCandles {
        symbol: Symbol,
        interval: Interval,
        db: String,
    },
    #[error("{symbol}: {source}")]
    Backtest {
        symbol: Symbol,
        #[source]
        source: BacktestError,
    },
    #[error(transparent)]
    Signals(#[from] ModelBacktestError),
    #[error("walk-forward: {0}")]
    Walk(String),
    #[error("stopped")]
    Stopped,
    #[error("no stored backtest run {id} in {db}")]
    NoRun { id: i64, db: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where a run is, for a progress bar.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Progress {
    pub stage: String,
    /// 0..1 over the whole run.
    pub fraction: f64,
}

/// `model:champion`, `model:ID`, `sma-cross:FAST,SLOW` or `buy-hold`.
pub fn parse_strategy(text: &str) -> Result<StrategySpec, BacktestCommandError> {
    if text == "buy-hold" {
        return Ok(StrategySpec::BuyHold);
    }
    if let Some(model) = text.strip_prefix("model:") {
        if model.trim().is_empty() {
            return Err(BacktestCommandError::BadStrategy(format!(
                "{text:?}: name the model, like model:champion or model:3"
            )));
        }
        return Ok(StrategySpec::Model(model.trim().to_string()));
    }
    if let Some(periods) = text.strip_prefix("sma-cross:") {
        let parsed: Option<Vec<usize>> =
            periods.split(',').map(|p| p.trim().parse().ok()).collect();
        return match parsed.as_deref() {
            Some([fast, slow]) => {
                SmaCross::new(*fast, *slow, false).map_err(BacktestCommandError::BadStrategy)?;
                Ok(StrategySpec::SmaCross {
                    fast: *fast,
                    slow: *slow,
                })
            }
            _ => Err(BacktestCommandError::BadStrategy(format!(
                "{text:?}: sma-cross needs two whole periods, like sma-cross:10,20"
            ))),
        };
    }
    Err(BacktestCommandError::UnknownStrategy(text.to_string()))
}

/// A loaded registry model.
pub struct Loaded {
    pub version: String,
    pub ensemble: Ensemble,
}

/// A registered model (`champion` or an id or version) loaded for `interval`.
pub fn load_model(
    db: &Path,
    owner: &WriteSender,
    wanted: &str,
    interval: Interval,
    thresholds: ThresholdOverride,
) -> Result<Loaded, BacktestCommandError> {
    let registry = Registry::attach(db, owner.clone())?;
    let record = if wanted == "champion" {
        registry
            .champion()?
            .ok_or_else(|| BacktestCommandError::NoChampion(db.display().to_string()))?
    } else {
        registry.get(wanted)?
    };
    let blob = registry.load_blob(record.id)?;
    // An imported member has no interval of its own: it runs at the backtest's.
    let mut ensemble =
        Ensemble::load(&record, &blob, interval).map_err(|e| BacktestCommandError::Model {
            model: record.version.clone(),
            reason: e.to_string(),
        })?;
    ensemble.override_thresholds(thresholds);
    Ok(Loaded {
        version: record.version,
        ensemble,
    })
}

/// Runs a backtest, reporting progress; `stop` set ends it with [`BacktestCommandError::Stopped`].
/// Opens the database (checking it) with an owner of its own for the run's row: for one-shot
/// commands; a running engine uses [`run_on`] with its owner.
pub fn run_with(
    db: &Path,
    args: &BacktestArgs,
    progress: &mut dyn FnMut(&Progress),
    stop: &AtomicBool,
) -> Result<Report, BacktestCommandError> {
    let owner = Writer::spawn(Store::open(db)?, WriterOptions::default());
    let result = run_on(db, &owner.sender(), args, progress, stop);
    let finished = owner.finish();
    let report = result?;
    finished?;
    Ok(report)
}

/// [`run_with`] on a store whose owner runs: candles and the model are read on connections of
/// its own (no integrity check), and the run is stored by `owner`.
pub fn run_on(
    db: &Path,
    owner: &WriteSender,
    args: &BacktestArgs,
    progress: &mut dyn FnMut(&Progress),
    stop: &AtomicBool,
) -> Result<Report, BacktestCommandError> {
    let spec = parse_strategy(&args.strategy)?;
    let weights =
        shares(&args.symbols, &args.weights).map_err(BacktestCommandError::BadPortfolio)?;
    if args.walk_forward.is_some() && args.symbols.len() != 1 {
        return Err(BacktestCommandError::WalkForwardPortfolio(
            args.symbols.len(),
        ));
    }
    let costs = Costs {
        cash: args.cash,
        fee: args.fee_bps / 10_000.0,
        slippage_bps: args.slippage_bps,
        fraction: 1.0,
        allow_short: args.short,
    };
    progress(&Progress {
        stage: "loading candles".into(),
        fraction: 0.0,
    });
    let store = Store::open_reader(db)?;
    let mut series = Vec::with_capacity(args.symbols.len());
    for &symbol in &args.symbols {
        let candles = store.candles_between(
            symbol,
            args.interval,
            args.from_ms.unwrap_or(i64::MIN),
            args.to_ms.unwrap_or(i64::MAX),
        )?;
        if candles.is_empty() {
            return Err(BacktestCommandError::NoCandles {
                symbol,
                interval: args.interval,
                db: db.display().to_string(),
            });
        }
        series.push((symbol, candles));
    }
    let model = match &spec {
        StrategySpec::Model(wanted) => Some(load_model(
            db,
            owner,
            wanted,
            args.interval,
            args.thresholds,
        )?),
        _ => None,
    };
    let mut report = match args.walk_forward {
        Some(plan) => {
            let (symbol, candles) = &series[0];
            walk(
                args,
                &spec,
                model.as_ref(),
                *symbol,
                candles,
                plan,
                costs,
                progress,
                stop,
            )?
        }
        None => portfolio(
            args,
            &spec,
            model.as_ref(),
            &series,
            &weights,
            costs,
            progress,
            stop,
        )?,
    };
    if stop.load(Ordering::Relaxed) {
        return Err(BacktestCommandError::Stopped);
    }
    if let Some(dir) = &args.out {
        report.files = write_files(dir, &report)?;
    }
    if args.save {
        report.run_id = Some(save(owner, &report)?);
    }
    progress(&Progress {
        stage: "done".into(),
        fraction: 1.0,
    });
    Ok(report)
}

/// Runs a backtest without progress reports.
pub fn run(db: &Path, args: &BacktestArgs) -> Result<Report, BacktestCommandError> {
    run_with(db, args, &mut |_| {}, &AtomicBool::new(false))
}

/// Stores `report` through the store's owner and returns the run's id.
fn save(owner: &WriteSender, report: &Report) -> Result<i64, BacktestCommandError> {
    let symbols: Vec<&str> = report.symbols.iter().map(|s| s.as_str()).collect();
    // The id is only known after the insert; the stored JSON leaves it empty and readers set it.
    let json = serde_json::to_string(report).map_err(|e| BacktestCommandError::Model {
        model: report.strategy.clone(),
        reason: format!("the report cannot be written as JSON: {e}"),
    })?;
    let row = Box::new(BacktestRunRow {
        created_ms: crate::domain::wall_clock_ms(),
        strategy: report.strategy.clone(),
        symbols: symbols.join(","),
        interval: report.interval.to_string(),
        from_ms: report.from_ms,
        to_ms: report.to_ms,
        candles: report.candles as u64,
        walk_forward: report.walk_forward.is_some(),
        total_return: report.metrics.total_return,
        buy_and_hold_return: report.metrics.buy_and_hold_return,
        max_drawdown: report.metrics.max_drawdown,
        trades: report.metrics.trades as u64,
        report_json: json,
    });
    Ok(owner.call(|reply| WriteOp::BacktestRun(row, reply))??)
}

/// A stored run, read back.
pub fn open_run(db: &Path, id: i64) -> Result<Report, BacktestCommandError> {
    read_run(&Store::open(db)?, db, id)
}

/// A stored run, read back on a read connection (a running engine's: no integrity check).
pub fn open_run_reading(db: &Path, id: i64) -> Result<Report, BacktestCommandError> {
    read_run(&Store::open_reader(db)?, db, id)
}

fn read_run(store: &Store, db: &Path, id: i64) -> Result<Report, BacktestCommandError> {
    let json = store
        .backtest_report(id)?
        .ok_or_else(|| BacktestCommandError::NoRun {
            id,
            db: db.display().to_string(),
        })?;
    let mut report: Report =
        serde_json::from_str(&json).map_err(|e| BacktestCommandError::Model {
            model: format!("stored run {id}"),
            reason: format!("its report in {} cannot be read: {e}", db.display()),
        })?;
    report.run_id = Some(id);
    Ok(report)
}
