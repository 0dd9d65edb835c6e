//! The Backtest pane: the equity curve against buy-and-hold with the drawdown under it, the
//! metrics table, the trades (newest first) and the stored runs, a progress gauge while a run is
//! going, and the keys that start, stop and reopen runs. Everything comes from
//! `Snapshot::backtests`; the keys only send commands.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::fmt;
use crate::protocol::{BacktestProgress, BacktestReport, BacktestsView, Snapshot};
use crate::tui::keymap::Action;
use crate::tui::theme;
use crate::tui::view::ViewState;
use crate::tui::widgets::block;
use crate::tui::widgets::equity::{drawdown_chart, equity_chart};

use super::EventState;

/// Width of the metrics table, borders included.
const METRICS_WIDTH: u16 = 34;
/// Below this body height the trades and runs share the space with the charts less generously.
const TALL: u16 = 30;

/// Up and down (the symbol keys elsewhere) move the stored-run selection here.
pub fn handle(view: &mut ViewState, action: Action, snapshot: Option<&Snapshot>) -> EventState {
    let count = snapshot.map_or(0, |s| s.backtests.runs.len());
    super::move_selection(&mut view.backtest_selected, count, action)
}

pub fn draw(buf: &mut Buffer, area: Rect, snapshot: &Snapshot, view: &ViewState) {
    if area.height < 6 || area.width < 20 {
        return;
    }
    let backtests = &snapshot.backtests;
    draw_status(buf, Rect::new(area.x, area.y, area.width, 1), backtests);
    let rest = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
    let lists_height = if area.height >= TALL {
        rest.height * 2 / 5
    } else {
        rest.height / 3
    }
    .max(3);
    let top = Rect::new(rest.x, rest.y, rest.width, rest.height - lists_height);
    let bottom = Rect::new(rest.x, top.bottom(), rest.width, lists_height);
    let metrics_width = METRICS_WIDTH.min(top.width / 3);
    let charts = Rect::new(top.x, top.y, top.width - metrics_width, top.height);
    let metrics = Rect::new(charts.right(), top.y, metrics_width, top.height);
    let runs_width = (bottom.width * 2 / 5).max(20).min(bottom.width);
    let trades = Rect::new(bottom.x, bottom.y, bottom.width - runs_width, bottom.height);
    let runs = Rect::new(trades.right(), bottom.y, runs_width, bottom.height);
    match &backtests.report {
        Some(report) => {
            let drawdown_height = (charts.height / 3).max(3).min(charts.height);
            let equity = Rect::new(
                charts.x,
                charts.y,
                charts.width,
                charts.height - drawdown_height,
            );
            let drawdown = Rect::new(charts.x, equity.bottom(), charts.width, drawdown_height);
            equity_chart(buf, equity, report);
            drawdown_chart(buf, drawdown, report);
            draw_metrics(buf, metrics, report);
            draw_trades(buf, trades, report);
        }
        None => {
            draw_empty(
                buf,
                Rect::new(top.x, top.y, top.width, top.height),
                snapshot,
                view,
            );
            draw_trades_empty(buf, trades);
        }
    }
    draw_runs(buf, runs, backtests, view);
}

/// The progress gauge while running; else the last message; else what is on show and its costs.
fn draw_status(buf: &mut Buffer, area: Rect, backtests: &BacktestsView) {
    let costs = backtests.costs;
    let costs = format!(
        "fee {} bps, slippage {} bps, cash {}",
        costs.fee_bps, costs.slippage_bps, costs.cash
    );
    let line = if let Some(progress) = &backtests.running {
        progress_line(progress)
    } else if let Some(message) = &backtests.message {
        Line::from(vec![
            Span::raw(" "),
            Span::styled(message.clone(), Style::new().fg(theme::WARN)),
        ])
    } else if let Some(report) = &backtests.report {
        let model = report
            .model
            .as_ref()
            .map_or(String::new(), |m| format!(" · model {m}"));
        Line::from(vec![
            Span::raw(" "),
            Span::styled(report.label(), theme::heading()),
            Span::raw(format!(
                " · {} candles {} → {}{model} · {costs}",
                report.candles,
                fmt::utc_datetime(report.from_ms),
                fmt::utc_datetime(report.to_ms)
            )),
        ])
    } else {
        Line::from(Span::styled(
            format!(" backtests cost: {costs}"),
            theme::muted(),
        ))
    };
    buf.set_line(area.x, area.y, &line, area.width);
}

fn progress_line(p: &BacktestProgress) -> Line<'static> {
    let gauge = format!(
        "{:<20}",
        super::signals::bar(p.fraction.clamp(0.0, 1.0), 1.0, 20)
    );
    Line::from(vec![
        Span::raw(" "),
        Span::styled(format!("[{gauge}]"), Style::new().fg(theme::WARN)),
        Span::styled(
            format!(
                " {:>3.0}% {} {} {} · x stops · {}",
                100.0 * p.fraction.clamp(0.0, 1.0),
                p.strategy,
                p.symbol.as_str(),
                p.interval,
                p.stage
            ),
            Style::new().fg(theme::WARN),
        ),
    ])
}

/// What to press when nothing is on show.
fn draw_empty(buf: &mut Buffer, area: Rect, snapshot: &Snapshot, view: &ViewState) {
    let b = block(" Equity ".into());
    let inner = b.inner(area);
    b.render(area, buf);
    let market = snapshot
        .markets
        .get(view.symbol(snapshot.markets.len()))
        .map_or("-", |m| m.symbol.as_str());
    let interval = snapshot
        .intervals
        .get(view.interval(snapshot.intervals.len()))
        .map_or("-".to_string(), |i| i.to_string());
    let with_model = match (snapshot.models.active, snapshot.models.active_interval) {
        (Some(id), Some(model_interval)) => {
            let name = snapshot
                .models
                .models
                .iter()
                .find(|m| m.id == id)
                .map_or_else(|| format!("model {id}"), |m| m.version.clone());
            format!("{name} at {model_interval}")
        }
        _ => format!("the champion model at {interval}"),
    };
    let lines = [
        format!("no backtest on show: press r to backtest {market} with {with_model},"),
        format!("or s for sma-cross:10,20 at {interval} (no model needed);"),
        "Enter opens the stored run selected on the right.".to_string(),
    ];
    let top = inner.y + inner.height.saturating_sub(lines.len() as u16) / 2;
    for (i, text) in lines.iter().enumerate() {
        let y = top + i as u16;
        if y < inner.bottom() {
            super::centered(
                buf,
                Rect::new(inner.x, y, inner.width, 1),
                text,
                theme::muted(),
            );
        }
    }
}

fn draw_metrics(buf: &mut Buffer, area: Rect, report: &BacktestReport) {
    let b = block(" Metrics ".into());
    let inner = b.inner(area);
    b.render(area, buf);
    let width = usize::from(inner.width.saturating_sub(2));
    for (i, (name, value)) in fmt::metric_rows(&report.metrics)
        .into_iter()
        .take(usize::from(inner.height))
        .enumerate()
    {
        let name = fmt::fit(name, width.saturating_sub(value.chars().count() + 1));
        let pad = width.saturating_sub(name.chars().count() + value.chars().count());
        let line = Line::from(vec![
            Span::styled(format!(" {name}"), theme::muted()),
            Span::raw(format!("{}{value}", " ".repeat(pad))),
        ]);
        buf.set_line(inner.x, inner.y + i as u16, &line, inner.width);
    }
}

fn draw_trades_empty(buf: &mut Buffer, area: Rect) {
    let b = block(" Trades ".into());
    let inner = b.inner(area);
    b.render(area, buf);
    buf.set_stringn(
        inner.x + 1,
        inner.y,
        "the trades of the run on show appear here",
        usize::from(inner.width.saturating_sub(1)),
        theme::muted(),
    );
}

fn draw_trades(buf: &mut Buffer, area: Rect, report: &BacktestReport) {
    let title = if report.trades.len() < report.metrics.trades {
        format!(
            " Trades (newest {} of {}) ",
            report.trades.len(),
            report.metrics.trades
        )
    } else {
        format!(" Trades ({}) ", report.trades.len())
    };
    let b = block(title);
    let inner = b.inner(area);
    b.render(area, buf);
    if inner.height == 0 {
        return;
    }
    if report.trades.is_empty() {
        buf.set_stringn(
            inner.x + 1,
            inner.y,
            "no trades: the strategy stayed flat",
            usize::from(inner.width.saturating_sub(1)),
            theme::muted(),
        );
        return;
    }
    // Narrow: the prices go, the result stays.
    let wide = inner.width >= 80;
    let header = if wide {
        format!(
            " {:<5} {:<11} {:<11} {:>11} {:>11} {:>8} {:>10}",
            "side", "entry", "exit", "entry px", "exit px", "return", "pnl"
        )
    } else {
        format!(
            " {:<5} {:<11} {:>8} {:>10}",
            "side", "exit", "return", "pnl"
        )
    };
    buf.set_stringn(
        inner.x,
        inner.y,
        header,
        usize::from(inner.width),
        theme::muted(),
    );
    for (row, trade) in report
        .trades
        .iter()
        .rev()
        .take(usize::from(inner.height - 1))
        .enumerate()
    {
        let side = trade.side.as_str();
        let times = if wide {
            format!(
                "{:<11} {:<11} {:>11} {:>11} ",
                stamp(trade.entry_time_ms),
                stamp(trade.exit_time_ms),
                fmt::price(Some(trade.entry_price)),
                fmt::price(Some(trade.exit_price)),
            )
        } else {
            format!("{:<11} ", stamp(trade.exit_time_ms))
        };
        let line = Line::from(vec![
            Span::raw(format!(" {side:<5} {times}")),
            Span::styled(
                format!("{:>+7.2}%", trade.return_pct),
                theme::change(trade.return_pct),
            ),
            Span::raw(format!(" {:>10.2}", trade.pnl)),
        ]);
        buf.set_line(inner.x, inner.y + 1 + row as u16, &line, inner.width);
    }
}

/// `MM-DD HH:MM` in UTC.
fn stamp(time_ms: i64) -> String {
    format!("{} {}", fmt::utc_md(time_ms), fmt::utc_hm(time_ms))
}

fn draw_runs(buf: &mut Buffer, area: Rect, backtests: &BacktestsView, view: &ViewState) {
    let b = block(" Stored runs (Enter opens) ".into());
    let inner = b.inner(area);
    b.render(area, buf);
    if inner.height == 0 {
        return;
    }
    if backtests.runs.is_empty() {
        buf.set_stringn(
            inner.x + 1,
            inner.y,
            "none yet: r or s runs one",
            usize::from(inner.width.saturating_sub(1)),
            theme::muted(),
        );
        return;
    }
    let rows = usize::from(inner.height);
    let selected = view
        .backtest_selected
        .min(backtests.runs.len().saturating_sub(1));
    let first = selected.saturating_sub(rows.saturating_sub(1));
    let shown = backtests.report_id();
    for (row, (index, run)) in backtests
        .runs
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .enumerate()
    {
        let y = inner.y + row as u16;
        let marker = if shown == Some(run.id) { "▶" } else { " " };
        let ret = run
            .total_return
            .map_or("-".to_string(), |r| format!("{:+.1}%", 100.0 * r));
        let line = Line::from(vec![
            Span::raw(format!("{marker}#{:<3} ", run.id)),
            Span::styled(
                format!("{ret:>8} "),
                theme::change(run.total_return.unwrap_or(0.0)),
            ),
            Span::raw(format!("{} {} {}", run.strategy, run.symbols, run.interval)),
        ]);
        buf.set_line(inner.x, y, &line, inner.width);
        if index == selected {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), theme::selected());
        }
    }
}
