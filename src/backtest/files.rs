//! What `trademon backtest --out DIR` writes: trades.csv, equity.csv and equity.svg, each
//! through a temporary file and a rename, so a reader never sees half a file.

use std::io::Write;
use std::path::Path;

use super::{EquityPoint, Position, Report};

use crate::backtest::runner::BacktestCommandError;

/// Writes the three files into `dir` (made if missing); returns their paths.
pub fn write_files(dir: &Path, report: &Report) -> Result<Vec<String>, BacktestCommandError> {
    let write_error = |path: &Path| {
        let path = path.display().to_string();
        move |source| BacktestCommandError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    let mut trades = String::from(
        "symbol,side,entry_time_ms,entry_price,exit_time_ms,exit_price,quantity,fees,pnl,return_pct\n",
    );
    for st in &report.trades {
        let t = &st.trade;
        trades.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            st.symbol.as_str(),
            match t.side {
                Position::Short => "short",
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
    for p in &report.equity {
        equity.push_str(&format!("{},{},{}\n", p.time_ms, p.equity, p.drawdown));
    }
    let chart = svg_chart(report);
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

/// An SVG of the equity curve against buy-and-hold (top) and the drawdown (bottom), drawn by
/// hand: polylines and a filled area with their extremes labelled, readable in any browser.
pub fn svg_chart(report: &Report) -> String {
    const W: f64 = 960.0;
    const TOP: f64 = 300.0;
    const LOW: f64 = 140.0;
    const PAD: f64 = 40.0;
    let points = Report::thinned(&report.equity, 4000);
    let bench = Report::thinned(&report.benchmark, 4000);
    let (lo, hi) = points
        .iter()
        .chain(&bench)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.equity), b.max(p.equity))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let deepest = report
        .equity
        .iter()
        .map(|p| p.drawdown)
        .fold(0.0, f64::max)
        .max(1e-9);
    let (t0, t1) = (
        points.first().map_or(0, |p| p.time_ms),
        points.last().map_or(1, |p| p.time_ms),
    );
    let t_span = (t1 - t0).max(1) as f64;
    let x = |p: &EquityPoint| PAD + (W - 2.0 * PAD) * (p.time_ms - t0) as f64 / t_span;
    let line = |curve: &[EquityPoint]| -> String {
        curve
            .iter()
            .map(|p| {
                format!(
                    "{:.1},{:.1}",
                    x(p),
                    PAD + (TOP - PAD) * (hi - p.equity) / span
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let base = TOP + PAD;
    let mut drawdown_area = vec![format!("{PAD:.1},{base:.1}")];
    drawdown_area.extend(
        points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p), base + LOW * p.drawdown / deepest)),
    );
    drawdown_area.push(format!("{:.1},{base:.1}", W - PAD));
    let title = format!("{}: equity (blue) and buy-and-hold (grey)", report.label());
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{PAD}" y="24" font-size="14">{title}</text>
<text x="{PAD}" y="{top_label}">{hi:.2}</text>
<text x="{PAD}" y="{bottom_label}">{lo:.2}</text>
<polyline fill="none" stroke="#999999" stroke-width="1" points="{benchmark}"/>
<polyline fill="none" stroke="#1f77b4" stroke-width="1.2" points="{equity}"/>
<text x="{PAD}" y="{dd_label}">drawdown, deepest {deep:.1} %</text>
<polygon fill="#d62728" fill-opacity="0.5" points="{drawdown}"/>
</svg>
"##,
        h = TOP + LOW + 2.0 * PAD,
        top_label = PAD - 4.0,
        bottom_label = TOP + 12.0,
        benchmark = line(&bench),
        equity = line(&points),
        dd_label = base - 4.0,
        deep = 100.0 * deepest,
        drawdown = drawdown_area.join(" "),
    )
}
