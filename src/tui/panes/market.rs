//! The Market pane: the symbol list (last price, change) on the left, the selected symbol's
//! candlestick chart with volume, price scale and time axis on the right.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Widget};

use crate::domain::Interval;
use crate::fmt;
use crate::protocol::{Market, Snapshot};
use crate::tui::keymap::Action;
use crate::tui::theme;
use crate::tui::view::ViewState;
use crate::tui::widgets::oscillator::{self, SubChart};
use crate::tui::widgets::{Visible, candles, overlay, volume};

use super::{EventState, centered, status};

/// The Market pane's own actions are the chart's overlays and sub-chart; symbol and interval
/// belong to the whole view (the status bar shows them on every pane), so they go on to the
/// global handler.
pub fn handle(view: &mut ViewState, action: Action) -> EventState {
    match action {
        Action::CycleOverlay => view.overlay = view.overlay.next(),
        Action::CycleSubChart => view.sub_chart = view.sub_chart.next(),
        _ => return EventState::NotConsumed,
    }
    EventState::Consumed
}

pub fn draw(buf: &mut Buffer, area: Rect, snapshot: &Snapshot, view: &ViewState) {
    if snapshot.markets.is_empty() || snapshot.intervals.is_empty() {
        centered(
            buf,
            area,
            "no symbols or intervals in the engine's snapshot",
            theme::muted(),
        );
        return;
    }
    let selected = view.symbol(snapshot.markets.len());
    let interval_index = view.interval(snapshot.intervals.len());
    let rows = list_rows(snapshot, interval_index);
    let content_width = rows.iter().map(Row::width).max().unwrap_or(0);
    let list_width = (content_width as u16 + 2).min(area.width / 2);
    let list_area = Rect::new(area.x, area.y, list_width, area.height);
    let chart_area = Rect::new(
        area.x + list_width,
        area.y,
        area.width - list_width,
        area.height,
    );
    draw_list(buf, list_area, &rows, selected);

    let market = &snapshot.markets[selected];
    let interval = snapshot.intervals[interval_index];
    let (badge, badge_style) = status::source_badge(&snapshot.source);
    let shown = usize::from(chart_area.width);
    let gap_shown = market
        .series
        .get(interval_index)
        .is_some_and(|s| s.indicators.iter().rev().take(shown).any(|i| i.gap));
    let mut title = vec![Span::styled(
        format!(" {} {} ", market.symbol, interval),
        theme::heading(),
    )];
    if !snapshot.source.is_real() {
        title.push(Span::styled(badge, badge_style));
        title.push(Span::raw(" "));
    }
    if gap_shown {
        // Candles are missing in what the chart shows: the time axis marks where.
        title.push(Span::styled(" GAP ", theme::gap_badge()));
        title.push(Span::raw(" "));
    }
    let block = Block::bordered()
        .border_style(theme::border())
        .title(Line::from(title));
    let inner = block.inner(chart_area);
    block.render(chart_area, buf);
    draw_chart(buf, inner, market, interval_index, interval, view);
}

/// One line of the symbol list.
struct Row {
    symbol: String,
    price: String,
    change: String,
    change_value: f64,
}

impl Row {
    fn width(&self) -> usize {
        2 + self.symbol.len() + 1 + self.price.len() + 1 + self.change.len()
    }
}

fn list_rows(snapshot: &Snapshot, interval_index: usize) -> Vec<Row> {
    snapshot
        .markets
        .iter()
        .map(|m| {
            let change = m.change(interval_index);
            Row {
                symbol: m.symbol.to_string(),
                price: fmt::price(m.price()),
                change: fmt::change_pct(change),
                change_value: change.unwrap_or(0.0),
            }
        })
        .collect()
}

fn draw_list(buf: &mut Buffer, area: Rect, rows: &[Row], selected: usize) {
    let block = Block::bordered()
        .border_style(theme::border())
        .title(Span::styled(" Markets ", theme::heading()));
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width == 0 || inner.height < 2 {
        return;
    }
    let symbol_w = rows
        .iter()
        .map(|r| r.symbol.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let price_w = rows.iter().map(|r| r.price.len()).max().unwrap_or(4).max(4);
    let change_w = rows
        .iter()
        .map(|r| r.change.len())
        .max()
        .unwrap_or(3)
        .max(3);
    let header = format!(
        "  {:<symbol_w$} {:>price_w$} {:>change_w$}",
        "symbol", "last", "chg"
    );
    buf.set_stringn(
        inner.x,
        inner.y,
        header,
        usize::from(inner.width),
        theme::muted(),
    );
    let visible = usize::from(inner.height - 1);
    let offset = (selected + 1).saturating_sub(visible);
    for (i, row) in rows.iter().enumerate().skip(offset).take(visible) {
        let y = inner.y + 1 + (i - offset) as u16;
        let is_selected = i == selected;
        let marker = if is_selected { "› " } else { "  " };
        let line = Line::from(vec![
            Span::raw(format!(
                "{marker}{:<symbol_w$} {:>price_w$} ",
                row.symbol, row.price
            )),
            Span::styled(
                format!("{:>change_w$}", row.change),
                theme::change(row.change_value),
            ),
        ]);
        buf.set_line(inner.x, y, &line, inner.width);
        if is_selected {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), theme::selected());
        }
    }
}

fn draw_chart(
    buf: &mut Buffer,
    area: Rect,
    market: &Market,
    interval_index: usize,
    interval: Interval,
    view: &ViewState,
) {
    let Some(series) = market.series.get(interval_index) else {
        return;
    };
    if series.closed.is_empty() && series.open.is_none() {
        let text = format!("no candles yet for {} {}", market.symbol, interval);
        centered(buf, area, &text, theme::muted());
        return;
    }
    if area.width < 12 || area.height < 5 {
        centered(buf, area, "too small for a chart", theme::muted());
        return;
    }
    let plot_rows = area.height - 2;
    let volume_rows = if plot_rows >= 6 {
        ((f64::from(plot_rows) * 0.2).round() as u16).max(1)
    } else {
        0
    };
    // The sub-chart takes about a quarter of the rows when there are enough to read it.
    let sub_rows = if view.sub_chart != SubChart::None && plot_rows >= 14 {
        (plot_rows / 4).max(4)
    } else {
        0
    };
    let candle_rows = plot_rows - volume_rows - sub_rows;
    let lines = view.overlay.lines();

    // The price scale's width depends on the labels, which depend on the candles that fit beside
    // it: estimate from the latest close, and measure again if the labels came out wider.
    let latest_close = series
        .open
        .or(series.closed.back().copied())
        .map(|c| c.close);
    let mut axis_width = fmt::price(latest_close).len() as u16 + 1;
    let (visible, scale, labels) = loop {
        let plot_width = area.width.saturating_sub(axis_width);
        let visible = Visible::thin(series, usize::from(plot_width));
        let Some(mut scale) = candles::PriceScale::fit(&visible, candle_rows) else {
            centered(buf, area, "no valid prices to chart", theme::muted());
            return;
        };
        // Lines that leave the candles' range widen the scale rather than run off the chart.
        if let Some((low, high)) = overlay::range(&visible, &lines) {
            scale.low = scale.low.min(low);
            scale.high = scale.high.max(high);
        }
        let labels = candles::price_labels(&scale);
        let needed = candles::price_axis_width(&labels, visible.last());
        if needed <= axis_width || needed >= area.width / 2 {
            break (visible, scale, labels);
        }
        axis_width = needed;
    };
    let axis_width = axis_width.min(area.width / 2);
    let plot_width = area.width - axis_width;
    let axis_x = area.x + plot_width;
    let candle_area = Rect::new(area.x, area.y + 1, plot_width, candle_rows);
    let volume_area = Rect::new(area.x, candle_area.bottom(), plot_width, volume_rows);
    let sub_area = Rect::new(area.x, volume_area.bottom(), plot_width, sub_rows);
    let time_area = Rect::new(area.x, area.bottom() - 1, plot_width, 1);

    draw_header(
        buf,
        Rect::new(area.x, area.y, area.width, 1),
        &visible,
        interval,
    );
    overlay::render_overlays(buf, candle_area, &visible, &scale, &lines);
    candles::render_candles(buf, candle_area, &visible, &scale);
    draw_legend(buf, Rect::new(area.x, area.y, plot_width, 1), &lines);
    if sub_rows > 0 {
        let axis = Rect::new(axis_x, sub_area.y, axis_width, sub_rows);
        oscillator::render(buf, sub_area, axis, &visible, view.sub_chart);
    }
    candles::render_price_axis(
        buf,
        Rect::new(axis_x, candle_area.y, axis_width, candle_rows),
        &scale,
        &labels,
        visible.last(),
    );
    if volume_rows > 0 {
        let max = volume::max_volume(&visible);
        volume::render_volume(buf, volume_area, &visible, max);
        for y in volume_area.top()..volume_area.bottom() {
            buf[(axis_x, y)].set_symbol("│").set_style(theme::muted());
        }
        buf[(axis_x, volume_area.y)].set_symbol("┤");
        let label = fmt::compact(max);
        buf.set_stringn(
            axis_x + 1,
            volume_area.y,
            &label,
            usize::from(axis_width - 1),
            theme::muted(),
        );
    }
    candles::render_time_axis(buf, time_area, &visible, interval);
    draw_gaps(buf, time_area, &visible);
    buf.set_stringn(
        axis_x + 1,
        time_area.y,
        "UTC",
        usize::from(axis_width - 1),
        theme::muted(),
    );
}

/// The overlay legend at the right end of the header line (each line's label in its colour),
/// when it fits beside the header's text.
fn draw_legend(buf: &mut Buffer, area: Rect, lines: &[overlay::Line]) {
    let spans: Vec<Span> = lines
        .iter()
        .filter(|l| !l.label.is_empty())
        .map(|l| {
            Span::styled(
                format!(" {}", l.label),
                ratatui::style::Style::new().fg(l.color),
            )
        })
        .collect();
    let width: u16 = spans.iter().map(|s| s.width() as u16).sum();
    let used = (area.left()..area.right())
        .rev()
        .find(|x| buf[(*x, area.y)].symbol() != " ")
        .map_or(area.x, |x| x + 1);
    if !spans.is_empty() && used + 2 + width <= area.right() {
        buf.set_line(area.right() - width, area.y, &Line::from(spans), width);
    }
}

/// A gap is not hidden: a `⁞` on the time axis under each candle that follows missing ones
/// (the title carries a `GAP` badge).
fn draw_gaps(buf: &mut Buffer, time_area: Rect, visible: &Visible<'_>) {
    let n = visible.len().min(usize::from(time_area.width));
    let first_x = time_area.right() - n as u16;
    for (i, indicators) in visible.indicator_iter().skip(visible.len() - n).enumerate() {
        if indicators.is_some_and(|v| v.gap) {
            buf[(first_x + i as u16, time_area.y)]
                .set_symbol("⁞")
                .set_style(theme::gap_marker());
        }
    }
}

/// `1m 06:13  O 64123.45  H 64200.00  L 64000.12  C 64150.20  V 12.3K  +0.04%` of the latest
/// candle; on narrow charts written tighter (`O64123.45 H64200.00 ...`, as TradingView does) and
/// with the least important parts left out.
fn draw_header(buf: &mut Buffer, area: Rect, visible: &Visible<'_>, interval: Interval) {
    let Some(candle) = visible.last() else {
        return;
    };
    let change = candle.change();
    let header = |tight: bool, parts: &[Part]| -> Vec<Span<'static>> {
        let (gap, label_gap) = if tight { (" ", "") } else { ("  ", " ") };
        let mut spans = Vec::new();
        for part in parts {
            if !spans.is_empty() {
                spans.push(Span::raw(gap));
            }
            let (label, value) = match part {
                Part::Interval => {
                    spans.push(Span::styled(interval.to_string(), theme::heading()));
                    continue;
                }
                Part::Time => {
                    spans.push(Span::styled(
                        fmt::utc_hm(candle.open_time_ms),
                        theme::muted(),
                    ));
                    continue;
                }
                Part::Change => {
                    spans.push(Span::styled(
                        fmt::change_pct(Some(change)),
                        theme::change(change),
                    ));
                    continue;
                }
                Part::Open => ("O", fmt::price(Some(candle.open))),
                Part::High => ("H", fmt::price(Some(candle.high))),
                Part::Low => ("L", fmt::price(Some(candle.low))),
                Part::Close => ("C", fmt::price(Some(candle.close))),
                Part::Volume => ("V", fmt::compact(candle.volume)),
            };
            spans.push(Span::styled(format!("{label}{label_gap}"), theme::muted()));
            spans.push(Span::raw(value));
        }
        spans
    };
    use Part::{Change, Close, High, Interval as Iv, Low, Open, Time, Volume};
    let full: &[Part] = &[Iv, Time, Open, High, Low, Close, Volume, Change];
    let no_change: &[Part] = &[Iv, Time, Open, High, Low, Close, Volume];
    let ohlc: &[Part] = &[Open, High, Low, Close];
    // Most information first, roomy spacing before tight.
    let candidates: [(bool, &[Part]); 7] = [
        (false, full),
        (false, no_change),
        (true, full),
        (true, no_change),
        (true, &[Iv, Open, High, Low, Close, Volume]),
        (true, &[Open, High, Low, Close, Volume]),
        (true, ohlc),
    ];
    let width = usize::from(area.width);
    let spans = candidates
        .iter()
        .map(|(tight, parts)| header(*tight, parts))
        .find(|spans| spans.iter().map(Span::width).sum::<usize>() <= width)
        .unwrap_or_else(|| header(true, ohlc));
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

/// The pieces of the chart header.
#[derive(Clone, Copy)]
enum Part {
    Interval,
    Time,
    Open,
    High,
    Low,
    Close,
    Volume,
    Change,
}
