//! The Trade pane's tables: positions, open orders (with the selection), recent fills (newest
//! first) and the risk rules' state with the notes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::fmt;
use crate::protocol::{OrderSide, PaperView};
use crate::tui::theme;
use crate::tui::view::ViewState;
use crate::tui::widgets::block;

/// An amount of the quote asset.
pub fn money(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.2}")
    } else {
        "-".to_string()
    }
}

/// A gain or loss with its sign.
pub fn signed(value: f64) -> String {
    if value.is_finite() {
        format!("{value:+.2}")
    } else {
        "-".to_string()
    }
}

/// A quantity without trailing zeros: `0.05`, `12.5`, `10`.
pub fn quantity(value: f64) -> String {
    if !value.is_finite() {
        return "-".to_string();
    }
    let text = format!("{value:.8}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn side(side: OrderSide) -> &'static str {
    match side {
        OrderSide::Buy => "buy",
        OrderSide::Sell => "sell",
    }
}

fn side_style(side: OrderSide) -> Style {
    Style::new().fg(match side {
        OrderSide::Buy => theme::UP,
        OrderSide::Sell => theme::DOWN,
    })
}

/// A block with `title`; its inner area, or `None` when nothing fits inside.
fn framed(buf: &mut Buffer, area: Rect, title: String) -> Option<Rect> {
    if area.height < 3 || area.width < 4 {
        return None;
    }
    let b = block(title);
    let inner = b.inner(area);
    b.render(area, buf);
    Some(inner)
}

fn header(buf: &mut Buffer, inner: Rect, text: String) {
    buf.set_stringn(
        inner.x,
        inner.y,
        text,
        usize::from(inner.width),
        theme::muted(),
    );
}

fn empty(buf: &mut Buffer, inner: Rect, text: &str) {
    buf.set_stringn(
        inner.x + 1,
        inner.y,
        text,
        usize::from(inner.width.saturating_sub(1)),
        theme::muted(),
    );
}

pub fn draw_positions(buf: &mut Buffer, area: Rect, paper: &PaperView, symbol: &str) {
    let title = format!(" Positions · b buy / s sell / o ticket {symbol} ");
    let Some(inner) = framed(buf, area, title) else {
        return;
    };
    if paper.positions.is_empty() {
        empty(buf, inner, "flat: no open position");
        return;
    }
    let wide = inner.width >= 90;
    let since = if wide { "  since" } else { "" };
    header(
        buf,
        inner,
        format!(
            " {:<10} {:<5} {:>12} {:>12} {:>12} {:>12}{since}",
            "symbol", "side", "quantity", "entry", "mark", "unrealised"
        ),
    );
    for (row, p) in paper
        .positions
        .iter()
        .take(usize::from(inner.height.saturating_sub(1)))
        .enumerate()
    {
        let side_style = Style::new().fg(if p.side == "short" {
            theme::DOWN
        } else {
            theme::UP
        });
        let mut spans = vec![
            Span::raw(format!(" {:<10} ", p.symbol.as_str())),
            Span::styled(format!("{:<5}", p.side), side_style),
            Span::raw(format!(
                " {:>12} {:>12} {:>12} ",
                quantity(p.quantity),
                fmt::price(Some(p.entry_price)),
                fmt::price(Some(p.mark))
            )),
            Span::styled(
                format!("{:>12}", signed(p.unrealised)),
                theme::change(p.unrealised),
            ),
        ];
        if wide {
            spans.push(Span::styled(
                format!(
                    "  {} {}",
                    fmt::utc_md(p.entry_time_ms),
                    fmt::utc_hm(p.entry_time_ms)
                ),
                theme::muted(),
            ));
        }
        buf.set_line(
            inner.x,
            inner.y + 1 + row as u16,
            &Line::from(spans),
            inner.width,
        );
    }
}

pub fn draw_orders(buf: &mut Buffer, area: Rect, paper: &PaperView, view: &ViewState) {
    let title = format!(
        " Open orders ({}) · ↑↓ select · x cancels ",
        paper.orders.len()
    );
    let Some(inner) = framed(buf, area, title) else {
        return;
    };
    if paper.orders.is_empty() {
        empty(buf, inner, "none resting");
        return;
    }
    header(
        buf,
        inner,
        format!(
            " {:<5} {:<10} {:<4} {:<11} {:>13} {:>12} {}",
            "id", "symbol", "side", "kind", "quantity", "price", "origin"
        ),
    );
    let rows = usize::from(inner.height.saturating_sub(1));
    if rows == 0 {
        return;
    }
    let selected = view.order_selected.min(paper.orders.len() - 1);
    let first = selected.saturating_sub(rows - 1);
    for (row, (index, o)) in paper
        .orders
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .enumerate()
    {
        let y = inner.y + 1 + row as u16;
        let quantity = o
            .quantity
            .map_or_else(|| "sized at fill".to_string(), quantity);
        let line = Line::from(vec![
            Span::raw(format!(" #{:<4} {:<10} ", o.id, o.symbol.as_str())),
            Span::styled(format!("{:<4}", side(o.side)), side_style(o.side)),
            Span::raw(format!(
                " {:<11} {:>13} {:>12} {}",
                o.kind,
                quantity,
                fmt::price(o.price),
                o.origin
            )),
        ]);
        buf.set_line(inner.x, y, &line, inner.width);
        if index == selected {
            buf.set_style(Rect::new(inner.x, y, inner.width, 1), theme::selected());
        }
    }
}

pub fn draw_fills(buf: &mut Buffer, area: Rect, paper: &PaperView) {
    let Some(inner) = framed(buf, area, " Recent fills (newest first) ".to_string()) else {
        return;
    };
    if paper.fills.is_empty() {
        empty(buf, inner, "no fills yet");
        return;
    }
    header(
        buf,
        inner,
        format!(
            " {:<8} {:<9} {:<4} {:>9} {:>11} {:>6} {}",
            "time", "symbol", "side", "quantity", "price", "fee", "reason"
        ),
    );
    for (row, f) in paper
        .fills
        .iter()
        .rev()
        .take(usize::from(inner.height.saturating_sub(1)))
        .enumerate()
    {
        let maker = if f.maker { " maker" } else { "" };
        let line = Line::from(vec![
            Span::raw(format!(
                " {} {:<9} ",
                fmt::utc_hms(f.time_ms),
                f.symbol.as_str()
            )),
            Span::styled(format!("{:<4}", side(f.side)), side_style(f.side)),
            Span::raw(format!(
                " {:>9} {:>11} {:>6.2} {}{maker}",
                quantity(f.quantity),
                fmt::price(Some(f.price)),
                f.fee,
                f.reason
            )),
        ]);
        buf.set_line(inner.x, inner.y + 1 + row as u16, &line, inner.width);
    }
}

/// The risk rules' state, then the notes.
pub fn draw_risk(buf: &mut Buffer, area: Rect, paper: &PaperView) {
    let Some(inner) = framed(buf, area, " Risk ".to_string()) else {
        return;
    };
    let risk = &paper.risk;
    let warn = Style::new().fg(theme::WARN);
    let mut lines: Vec<Line<'static>> = Vec::new();
    let kill = if risk.kill_switch {
        Span::styled(" SET — R resets ", theme::alarm_badge())
    } else {
        Span::styled(" off", Style::new().fg(theme::UP))
    };
    lines.push(Line::from(vec![
        Span::styled(
            if risk.max_drawdown >= 1.0 {
                " kill switch (no drawdown limit) ".to_string()
            } else {
                format!(" kill switch (at {:.1} % dd) ", 100.0 * risk.max_drawdown)
            },
            theme::muted(),
        ),
        kill,
    ]));
    lines.push(Line::from(vec![
        Span::styled(" open positions ", theme::muted()),
        Span::raw(if risk.max_open_positions == 0 {
            format!("{} (no limit)", risk.open_positions)
        } else {
            format!("{} / {}", risk.open_positions, risk.max_open_positions)
        }),
    ]));
    for (symbol, until) in &risk.cooldowns {
        lines.push(Line::from(Span::styled(
            format!(
                " cooldown {} until {} UTC",
                symbol.as_str(),
                fmt::utc_hm(*until)
            ),
            warn,
        )));
    }
    lines.push(match &risk.last_rejection {
        Some(why) => Line::from(vec![
            Span::styled(" last refused ", theme::muted()),
            Span::styled(why.clone(), warn),
        ]),
        None => Line::from(Span::styled(" no order refused", theme::muted())),
    });
    for note in &paper.notes {
        lines.push(Line::from(vec![
            Span::styled(" note ", theme::muted()),
            Span::styled(note.clone(), warn),
        ]));
    }
    for (i, line) in lines.iter().take(usize::from(inner.height)).enumerate() {
        buf.set_line(inner.x, inner.y + i as u16, line, inner.width);
    }
}
