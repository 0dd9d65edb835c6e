//! `trademon backtest`: one symbol's stored candles through a strategy with the engine's fill
//! rules; prints the metrics (JSON with the trades under --json) and writes trades.csv and
//! equity.csv into --out DIR.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backtest::{Backtest, BacktestError, BuyHold, Costs, Metrics, SmaCross, Strategy};
use crate::domain::{Interval, Symbol};
use crate::store::{Store, StoreError};

/// What to test.
#[derive(Clone, Debug)]
pub struct BacktestArgs {
    pub symbols: Vec<Symbol>,
    pub interval: Interval,
    pub strategy: String,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub fee_bps: f64,
    pub slippage_bps: f64,
    pub cash: f64,
    pub short: bool,
    pub out: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum BacktestCommandError {
    #[error(
        "strategy {0:?} is not one this build knows: use sma-cross:FAST,SLOW or buy-hold \
         (model:ID strategies are not built yet)"
    )]
    UnknownStrategy(String),
    #[error("{0}")]
    BadStrategy(String),
    #[error("{0} symbols given: backtests of a portfolio are not built yet; give one --symbol")]
    Portfolio(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no {symbol} {interval} candles in {db} in that range: import some first")]
    NoCandles {
        symbol: Symbol,
        interval: Interval,
        db: String,
    },
    #[error(transparent)]
    Backtest(#[from] BacktestError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The command's result.
#[derive(Clone, Debug, Serialize)]
pub struct BacktestOutput {
    pub symbol: Symbol,
    pub interval: Interval,
    pub candles: usize,
    pub from_ms: i64,
    pub to_ms: i64,
    pub metrics: Metrics,
    pub backtest: Backtest,
    /// Files written into --out.
    pub files: Vec<String>,
}

/// `sma-cross:FAST,SLOW` or `buy-hold`.
pub fn parse_strategy(text: &str) -> Result<Box<dyn Strategy>, BacktestCommandError> {
    if text == "buy-hold" {
        return Ok(Box::new(BuyHold));
    }
    if let Some(periods) = text.strip_prefix("sma-cross:") {
        let parsed: Option<Vec<usize>> =
            periods.split(',').map(|p| p.trim().parse().ok()).collect();
        return match parsed.as_deref() {
            Some([fast, slow]) => SmaCross::new(*fast, *slow, false)
                .map(|s| Box::new(s) as Box<dyn Strategy>)
                .map_err(BacktestCommandError::BadStrategy),
            _ => Err(BacktestCommandError::BadStrategy(format!(
                "{text:?}: sma-cross needs two whole periods, like sma-cross:10,20"
            ))),
        };
    }
    Err(BacktestCommandError::UnknownStrategy(text.to_string()))
}

pub fn run(db: &Path, args: &BacktestArgs) -> Result<BacktestOutput, BacktestCommandError> {
    let mut strategy = parse_strategy(&args.strategy)?;
    let [symbol] = args.symbols.as_slice() else {
        return Err(BacktestCommandError::Portfolio(args.symbols.len()));
    };
    let costs = Costs {
        cash: args.cash,
        fee: args.fee_bps / 10_000.0,
        slippage_bps: args.slippage_bps,
        fraction: 1.0,
        allow_short: args.short,
    };
    let store = Store::open(db)?;
    let candles = store.candles_between(
        *symbol,
        args.interval,
        args.from_ms.unwrap_or(i64::MIN),
        args.to_ms.unwrap_or(i64::MAX),
    )?;
    if candles.is_empty() {
        return Err(BacktestCommandError::NoCandles {
            symbol: *symbol,
            interval: args.interval,
            db: db.display().to_string(),
        });
    }
    let backtest = crate::backtest::run(&candles, strategy.as_mut(), costs)?;
    let metrics = crate::backtest::metrics(&backtest, &candles, args.interval.ms());
    let mut files = Vec::new();
    if let Some(dir) = &args.out {
        files = write_files(dir, *symbol, &backtest)?;
    }
    Ok(BacktestOutput {
        symbol: *symbol,
        interval: args.interval,
        candles: candles.len(),
        from_ms: candles.first().map_or(0, |c| c.open_time_ms),
        to_ms: candles.last().map_or(0, |c| c.open_time_ms),
        metrics,
        backtest,
        files,
    })
}

/// trades.csv and equity.csv, each written to a temporary name and renamed.
fn write_files(
    dir: &Path,
    symbol: Symbol,
    backtest: &Backtest,
) -> Result<Vec<String>, BacktestCommandError> {
    let write_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| BacktestCommandError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    let mut trades = String::from(
        "symbol,side,entry_time_ms,entry_price,exit_time_ms,exit_price,quantity,fees,pnl,return_pct\n",
    );
    for t in &backtest.trades {
        trades.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            symbol.as_str(),
            match t.side {
                crate::backtest::Position::Short => "short",
                _ => "long",
            },
            t.entry_time_ms,
            t.entry_price,
            t.exit_time_ms,
            t.exit_price,
            t.quantity,
            t.fees,
            t.pnl,
            t.return_pct
        ));
    }
    let mut equity = String::from("time_ms,equity,drawdown\n");
    for p in &backtest.equity {
        equity.push_str(&format!("{},{},{}\n", p.time_ms, p.equity, p.drawdown));
    }
    let chart = svg_chart(symbol, backtest);
    let mut written = Vec::new();
    for (name, text) in [
        ("trades.csv", trades),
        ("equity.csv", equity),
        ("equity.svg", chart),
    ] {
        let path = dir.join(name);
        let partial = dir.join(format!(".{name}.partial"));
        let mut file = std::fs::File::create(&partial).map_err(write_error(&partial))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(write_error(&partial))?;
        std::fs::rename(&partial, &path).map_err(write_error(&path))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// An SVG of the equity curve (top) and the drawdown (bottom), drawn by hand: two polylines and a
/// filled area with their extremes labelled, readable in any browser.
pub fn svg_chart(symbol: Symbol, backtest: &Backtest) -> String {
    const W: f64 = 960.0;
    const TOP: f64 = 300.0;
    const LOW: f64 = 140.0;
    const PAD: f64 = 40.0;
    let points = &backtest.equity;
    let n = points.len().max(2) as f64 - 1.0;
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.equity), b.max(p.equity))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let deepest = points
        .iter()
        .map(|p| p.drawdown)
        .fold(0.0, f64::max)
        .max(1e-9);
    let x = |i: usize| PAD + (W - 2.0 * PAD) * i as f64 / n;
    let equity_line: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "{:.1},{:.1}",
                x(i),
                PAD + (TOP - PAD) * (hi - p.equity) / span
            )
        })
        .collect();
    let base = TOP + PAD;
    let mut drawdown_area = vec![format!("{:.1},{base:.1}", x(0))];
    drawdown_area.extend(
        points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), base + LOW * p.drawdown / deepest)),
    );
    drawdown_area.push(format!(
        "{:.1},{base:.1}",
        x(points.len().saturating_sub(1))
    ));
    let title = format!("{} {}: equity", backtest.strategy, symbol.as_str());
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{PAD}" y="24" font-size="14">{title}</text>
<text x="{PAD}" y="{top_label}">{hi:.2}</text>
<text x="{PAD}" y="{bottom_label}">{lo:.2}</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="1.2" points="{equity}"/>
<text x="{PAD}" y="{dd_label}">drawdown, deepest {deep:.1} %</text>
<polygon fill="#d62728" fill-opacity="0.5" points="{drawdown}"/>
</svg>
"##,
        h = TOP + LOW + 2.0 * PAD,
        top_label = PAD - 4.0,
        bottom_label = TOP + 12.0,
        equity = equity_line.join(" "),
        dd_label = base - 4.0,
        deep = 100.0 * deepest,
        drawdown = drawdown_area.join(" "),
    )
}

/// The human report.
pub fn to_text(o: &BacktestOutput) -> String {
    let m = &o.metrics;
    let pct = |v: f64| format!("{:+.2} %", 100.0 * v);
    let mut text = format!(
        "{} on {} {}: {} candles\n",
        o.backtest.strategy,
        o.symbol.as_str(),
        o.interval,
        o.candles
    );
    for (name, value) in [
        ("total return", pct(m.total_return)),
        ("buy and hold", pct(m.buy_and_hold_return)),
        ("CAGR", pct(m.cagr)),
        ("annual volatility", pct(m.annual_volatility)),
        ("Sharpe", format!("{:.2}", m.sharpe)),
        ("Sortino", format!("{:.2}", m.sortino)),
        ("Calmar", format!("{:.2}", m.calmar)),
        ("max drawdown", pct(-m.max_drawdown)),
        (
            "max drawdown duration",
            format!("{:.1} h", m.max_drawdown_duration_ms as f64 / 3_600_000.0),
        ),
        ("exposure", format!("{:.1} %", 100.0 * m.exposure)),
        ("trades", m.trades.to_string()),
        ("win rate", format!("{:.1} %", 100.0 * m.win_rate)),
        ("profit factor", format!("{:.2}", m.profit_factor)),
        ("expectancy", format!("{:.4}", m.expectancy)),
        ("average trade", format!("{:+.3} %", m.average_trade_pct)),
        ("final equity", format!("{:.2}", m.final_equity)),
    ] {
        text.push_str(&format!("  {name:<24}{value}\n"));
    }
    for file in &o.files {
        text.push_str(&format!("wrote {file}\n"));
    }
    text
}
