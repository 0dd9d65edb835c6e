//! The Trade pane: the paper account (`Snapshot::paper`): equity and P&L against the start cash,
//! the equity curve against buy-and-hold, positions, open orders (with a selection), recent fills,
//! the risk rules' state with the kill switch in red, and the notes; the keys that buy, sell, open
//! the order ticket, cancel an order and reset the kill switch. The tables are in `trade_tables`,
//! the ticket overlay in `trade_ticket`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::fmt;
use crate::protocol::{Command, OrderSide, OrderTicket, PaperView, Snapshot, TicketKind};
use crate::tui::keymap::Action;
use crate::tui::theme;
use crate::tui::ticket::Ticket;
use crate::tui::view::{Pane, ViewState};
use crate::tui::widgets::equity::two_curves;

use super::trade_tables::{draw_fills, draw_orders, draw_positions, draw_risk, money, signed};
use super::{EventState, centered};

/// The pane's entry in the list of panes.
pub const PANE: Pane = Pane::new("trade");
/// From this size on the chart and the side-by-side tables are shown.
const WIDE: (u16, u16) = (100, 30);
/// Width of the account block beside the chart.
const ACCOUNT_WIDTH: u16 = 46;

/// Up and down move the open-order selection; `o` opens the order ticket for the current symbol.
pub fn handle(view: &mut ViewState, action: Action, snapshot: Option<&Snapshot>) -> EventState {
    let Some(snapshot) = snapshot.filter(|s| s.paper.enabled) else {
        return EventState::NotConsumed;
    };
    match action {
        Action::NextSymbol | Action::PrevSymbol => super::move_selection(
            &mut view.order_selected,
            snapshot.paper.orders.len(),
            action,
        ),
        Action::OpenTicket => {
            if let Some(market) = snapshot.markets.get(view.symbol(snapshot.markets.len())) {
                view.ticket = Some(Ticket::new(market.symbol, OrderSide::Buy));
            }
            EventState::Consumed
        }
        _ => EventState::NotConsumed,
    }
}

/// The command a Trade pane key sends, if any: only on the Trade pane, with paper trading on.
pub fn command(view: &ViewState, action: Action, snapshot: Option<&Snapshot>) -> Option<Command> {
    let snapshot = snapshot.filter(|s| s.paper.enabled && view.pane == PANE)?;
    let paper = &snapshot.paper;
    let quick = |side| {
        let market = snapshot.markets.get(view.symbol(snapshot.markets.len()))?;
        Some(Command::PlaceOrder(Box::new(OrderTicket {
            symbol: market.symbol,
            side,
            kind: TicketKind::Market,
            quantity: None,
            limit_price: None,
            stop_loss: None,
            take_profit: None,
            trailing: None,
        })))
    };
    match action {
        Action::PaperBuy => quick(OrderSide::Buy),
        Action::PaperSell => quick(OrderSide::Sell),
        Action::CancelOrder => {
            let index = view.order_selected.min(paper.orders.len().checked_sub(1)?);
            Some(Command::CancelOrder {
                id: paper.orders[index].id,
            })
        }
        Action::ResetKillSwitch if paper.risk.kill_switch => Some(Command::ResetKillSwitch),
        _ => None,
    }
}

pub fn draw(buf: &mut Buffer, area: Rect, snapshot: &Snapshot, view: &ViewState) {
    if area.height < 6 || area.width < 30 {
        return;
    }
    let paper = &snapshot.paper;
    if !paper.enabled {
        draw_disabled(buf, area);
        return;
    }
    let symbol = snapshot
        .markets
        .get(view.symbol(snapshot.markets.len()))
        .map_or("-", |m| m.symbol.as_str());
    let mut y = area.y;
    if paper.risk.kill_switch {
        let reason = paper
            .risk
            .kill_reason
            .as_deref()
            .unwrap_or("drawdown limit");
        // The reason is what gives way on a narrow screen, never how to reset.
        let (head, tail) = (" KILL SWITCH: no new entries — ", " — press R to reset ");
        let room =
            usize::from(area.width).saturating_sub(head.chars().count() + tail.chars().count());
        let text = format!("{head}{}{tail}", fmt::fit(reason, room.max(1)));
        buf.set_style(Rect::new(area.x, y, area.width, 1), theme::alarm_badge());
        buf.set_stringn(
            area.x,
            y,
            fmt::fit(&text, usize::from(area.width)),
            usize::from(area.width),
            theme::alarm_badge(),
        );
        y += 1;
    }
    let rest = Rect::new(area.x, y, area.width, area.bottom() - y);
    if area.width >= WIDE.0 && area.height >= WIDE.1 {
        draw_wide(buf, rest, paper, view, symbol);
    } else {
        draw_compact(buf, rest, paper, view, symbol);
    }
}

/// Paper trading is off: say how to turn it on.
fn draw_disabled(buf: &mut Buffer, area: Rect) {
    let lines = [
        ("paper trading is off", theme::heading()),
        ("", theme::muted()),
        ("to trade on paper, set in config.toml:", theme::muted()),
        ("[paper]", theme::text()),
        ("enabled = true", theme::text()),
        ("", theme::muted()),
        ("then restart trademon (or the daemon)", theme::muted()),
    ];
    let top = area.y + area.height.saturating_sub(lines.len() as u16) / 2;
    for (i, (text, style)) in lines.iter().enumerate() {
        let y = top + i as u16;
        if y < area.bottom() {
            centered(buf, Rect::new(area.x, y, area.width, 1), text, *style);
        }
    }
}

/// Return on the start cash, in percent.
fn return_pct(paper: &PaperView) -> f64 {
    if paper.start_cash > 0.0 {
        100.0 * (paper.equity / paper.start_cash - 1.0)
    } else {
        0.0
    }
}

/// Equity, its return and the start cash.
fn equity_line(paper: &PaperView) -> Line<'static> {
    let ret = return_pct(paper);
    Line::from(vec![
        Span::styled(" equity ", theme::muted()),
        Span::styled(
            format!("{} {}", money(paper.equity), paper.quote_asset),
            theme::heading(),
        ),
        Span::styled(format!(" {ret:+.2} %"), theme::change(ret)),
        Span::styled(
            format!(" vs start {}", money(paper.start_cash)),
            theme::muted(),
        ),
    ])
}

/// Realised, unrealised, fees, drawdown.
fn pnl_line(paper: &PaperView) -> Line<'static> {
    Line::from(vec![
        Span::styled(" realised ", theme::muted()),
        Span::styled(signed(paper.realised), theme::change(paper.realised)),
        Span::styled(" unrealised ", theme::muted()),
        Span::styled(signed(paper.unrealised), theme::change(paper.unrealised)),
        Span::styled(" fees ", theme::muted()),
        Span::raw(money(paper.fees)),
        Span::styled(" dd ", theme::muted()),
        Span::raw(format!(
            "{:.1}% (max {:.1}%)",
            100.0 * paper.drawdown,
            100.0 * paper.max_drawdown
        )),
    ])
}

/// 80×24 and the like: the account in two lines, then positions, orders and (if room) fills;
/// no chart, the risk state in one line and the newest note.
fn draw_compact(buf: &mut Buffer, area: Rect, paper: &PaperView, view: &ViewState, symbol: &str) {
    let mut y = area.y;
    let mut line = |buf: &mut Buffer, line: Line<'_>| {
        if y < area.bottom() {
            buf.set_line(area.x, y, &line, area.width);
            y += 1;
        }
    };
    let mut head = equity_line(paper);
    head.spans.push(Span::styled(
        format!(" · {} mode", paper.mode),
        theme::muted(),
    ));
    line(buf, head);
    line(buf, pnl_line(paper));
    let risk = &paper.risk;
    let mut spans = vec![Span::styled(
        format!(
            " positions {}/{}",
            risk.open_positions, risk.max_open_positions
        ),
        theme::muted(),
    )];
    for (sym, until) in &risk.cooldowns {
        spans.push(Span::styled(
            format!(" · cooldown {} to {}", sym.as_str(), fmt::utc_hm(*until)),
            Style::new().fg(theme::WARN),
        ));
    }
    if let Some(why) = &risk.last_rejection {
        spans.push(Span::styled(
            format!(" · refused: {why}"),
            Style::new().fg(theme::WARN),
        ));
    }
    line(buf, Line::from(spans));
    if let Some(note) = paper.notes.last() {
        let more = match paper.notes.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        line(
            buf,
            Line::from(Span::styled(
                format!(" note: {note}{more}"),
                Style::new().fg(theme::WARN),
            )),
        );
    }
    let left = area.bottom().saturating_sub(y);
    let positions_h = (paper.positions.len().max(1) as u16 + 3).min(left);
    let positions = Rect::new(area.x, y, area.width, positions_h);
    draw_positions(buf, positions, paper, symbol);
    let left = left - positions_h;
    let orders_h = (paper.orders.len().max(1) as u16 + 3).min(left);
    let orders = Rect::new(area.x, positions.bottom(), area.width, orders_h);
    draw_orders(buf, orders, paper, view);
    let left = left - orders_h;
    if left >= 4 {
        draw_fills(
            buf,
            Rect::new(area.x, orders.bottom(), area.width, left),
            paper,
        );
    }
}

/// 160×48 and the like: account and chart on top, positions and risk, then orders and fills.
fn draw_wide(buf: &mut Buffer, area: Rect, paper: &PaperView, view: &ViewState, symbol: &str) {
    let top_h = (area.height * 2 / 5).max(10);
    let account = Rect::new(area.x, area.y, ACCOUNT_WIDTH, top_h);
    let chart = Rect::new(account.right(), area.y, area.width - ACCOUNT_WIDTH, top_h);
    draw_account(buf, account, paper);
    let ret = return_pct(paper);
    let hold = match (paper.buy_and_hold.first(), paper.buy_and_hold.last()) {
        (Some(a), Some(b)) if a.1 > 0.0 => format!("{:+.2} %", 100.0 * (b.1 / a.1 - 1.0)),
        _ => "-".to_string(),
    };
    let title = Line::from(vec![
        Span::styled(" Equity ", theme::heading()),
        Span::styled(format!("─ paper {ret:+.2} % "), Style::new().fg(theme::UP)),
        Span::styled(format!("─ buy and hold {hold} "), theme::muted()),
    ]);
    two_curves(
        buf,
        chart,
        title,
        &paper.equity_curve,
        &paper.buy_and_hold,
        "no closed candle yet since the account opened",
    );
    let rest_h = area.height - top_h;
    let risk_lines = 4 + paper.risk.cooldowns.len() + paper.notes.len();
    let mid_h = ((paper.positions.len().max(1) + 3).max(risk_lines + 2) as u16)
        .min(rest_h / 2)
        .max(4);
    let mid_y = area.y + top_h;
    let risk_w = area.width * 2 / 5;
    let positions = Rect::new(area.x, mid_y, area.width - risk_w, mid_h);
    draw_positions(buf, positions, paper, symbol);
    draw_risk(
        buf,
        Rect::new(positions.right(), mid_y, risk_w, mid_h),
        paper,
    );
    let bottom_y = mid_y + mid_h;
    let bottom_h = area.bottom() - bottom_y;
    let fills_w = area.width * 9 / 20;
    let orders = Rect::new(area.x, bottom_y, area.width - fills_w, bottom_h);
    draw_orders(buf, orders, paper, view);
    draw_fills(
        buf,
        Rect::new(orders.right(), bottom_y, fills_w, bottom_h),
        paper,
    );
}

/// The account block beside the chart.
fn draw_account(buf: &mut Buffer, area: Rect, paper: &PaperView) {
    use ratatui::widgets::Widget;
    let b = crate::tui::widgets::block(format!(" Paper account · {} mode ", paper.mode));
    let inner = b.inner(area);
    b.render(area, buf);
    let ret = return_pct(paper);
    let quote = &paper.quote_asset;
    let rows: Vec<(&str, String, Style)> = vec![
        (
            "equity",
            format!("{} {quote}", money(paper.equity)),
            theme::heading(),
        ),
        ("return", format!("{ret:+.2} %"), theme::change(ret)),
        ("start cash", money(paper.start_cash), theme::text()),
        ("cash", money(paper.cash), theme::text()),
        (
            "realised",
            signed(paper.realised),
            theme::change(paper.realised),
        ),
        (
            "unrealised",
            signed(paper.unrealised),
            theme::change(paper.unrealised),
        ),
        ("fees", money(paper.fees), theme::text()),
        (
            "drawdown",
            format!(
                "{:.2} % (max {:.2} %)",
                100.0 * paper.drawdown,
                100.0 * paper.max_drawdown
            ),
            Style::new().fg(if paper.drawdown > 0.0 {
                theme::WARN
            } else {
                theme::MUTED
            }),
        ),
        (
            "since",
            format!("{} UTC", fmt::utc_datetime(paper.started_ms)),
            theme::muted(),
        ),
    ];
    for (i, (name, value, style)) in rows.into_iter().take(usize::from(inner.height)).enumerate() {
        let line = Line::from(vec![
            Span::styled(format!(" {name:<11}"), theme::muted()),
            Span::styled(value, style),
        ]);
        buf.set_line(inner.x, inner.y + i as u16, &line, inner.width);
    }
}
