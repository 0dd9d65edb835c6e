//! The order ticket overlay of the Trade pane: its fields with the cursor, and the reason the last
//! Enter sent nothing beside the field at fault.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};

use crate::protocol::{OrderSide, TicketKind};
use crate::tui::theme;
use crate::tui::ticket::{Field, Ticket};

const WIDTH: u16 = 64;

/// Draws the ticket centred over `area`.
pub fn draw(buf: &mut Buffer, area: Rect, ticket: &Ticket) {
    let height = (Field::ALL.len() as u16 + 4).min(area.height);
    let width = WIDTH.min(area.width);
    if height < 5 || width < 30 {
        return;
    }
    let popup = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    let symbol = ticket.symbol.as_ref().map_or("-", |s| s.as_str());
    let block = Block::bordered()
        .border_style(Style::new().fg(theme::WARN))
        .title(Span::styled(
            format!(" Order ticket · {symbol} · paper "),
            theme::heading(),
        ))
        .title_bottom(Span::styled(
            " enter sends · esc closes · tab / shift-tab move ",
            theme::muted(),
        ));
    let inner = block.inner(popup);
    Clear.render(popup, buf);
    block.render(popup, buf);
    for (i, field) in Field::ALL.iter().enumerate() {
        let y = inner.y + i as u16;
        if y >= inner.bottom() {
            break;
        }
        let line = row(ticket, *field);
        buf.set_line(inner.x, y, &line, inner.width);
        if *field == ticket.field {
            buf.set_style(
                Rect::new(inner.x, y, 28.min(inner.width), 1),
                theme::selected(),
            );
        }
    }
    let hint_y = inner.y + Field::ALL.len() as u16 + 1;
    if hint_y < inner.bottom() {
        buf.set_stringn(
            inner.x + 1,
            hint_y,
            "exits are placed once the entry fills",
            usize::from(inner.width.saturating_sub(1)),
            theme::muted(),
        );
    }
}

/// One field: marker, label, value (with the caret where typing goes), then its error or hint.
fn row(ticket: &Ticket, field: Field) -> Line<'static> {
    let here = field == ticket.field;
    let marker = if here { "▶" } else { " " };
    let value = match field {
        Field::Side => match ticket.side {
            OrderSide::Buy => "BUY".to_string(),
            OrderSide::Sell => "SELL".to_string(),
        },
        Field::Kind => match ticket.kind {
            TicketKind::Market => "market".to_string(),
            TicketKind::Limit => "limit".to_string(),
        },
        _ if !ticket.applies(field) => "—".to_string(),
        _ if here => format!("{}_", ticket.text(field)),
        _ => ticket.text(field).to_string(),
    };
    let value_style = match field {
        Field::Side => Style::new().fg(match ticket.side {
            OrderSide::Buy => theme::UP,
            OrderSide::Sell => theme::DOWN,
        }),
        _ if !ticket.applies(field) => theme::muted(),
        _ => theme::text(),
    };
    let note = match &ticket.error {
        Some((at, why)) if *at == field => {
            Span::styled(format!("✗ {why}"), Style::new().fg(theme::DOWN))
        }
        _ => Span::styled(hint(ticket, field).to_string(), theme::muted()),
    };
    Line::from(vec![
        Span::raw(format!(" {marker} {:<12} ", field.label())),
        Span::styled(format!("{value:<12}"), value_style),
        Span::raw("  "),
        note,
    ])
}

fn hint(ticket: &Ticket, field: Field) -> &'static str {
    match field {
        Field::Side | Field::Kind => "space / ← → toggle",
        Field::Quantity if ticket.quantity.is_empty() => "empty: sized by the risk rules",
        Field::LimitPrice if !ticket.applies(field) => "market order",
        Field::LimitPrice => "required",
        Field::StopLoss | Field::TakeProfit => "price, optional",
        Field::Trailing => "optional, 0 < % ≤ 50",
        Field::Quantity => "",
    }
}
