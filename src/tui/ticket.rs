//! The Trade pane's order ticket as view state: its fields as typed, the keys it reads while open,
//! and the checks an order passes before it is sent (`Command::PlaceOrder`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::domain::Symbol;
use crate::protocol::{OrderSide, OrderTicket, TicketKind};

/// The trailing distance a ticket accepts, in percent: above 0, at most this.
pub const MAX_TRAILING_PCT: f64 = 50.0;
/// Characters a number field holds at most.
const MAX_CHARS: usize = 18;

/// A field of the ticket, in tab order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Field {
    #[default]
    Side,
    Kind,
    Quantity,
    LimitPrice,
    StopLoss,
    TakeProfit,
    Trailing,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::Side,
        Field::Kind,
        Field::Quantity,
        Field::LimitPrice,
        Field::StopLoss,
        Field::TakeProfit,
        Field::Trailing,
    ];

    /// Its label on the ticket.
    pub fn label(self) -> &'static str {
        match self {
            Field::Side => "side",
            Field::Kind => "kind",
            Field::Quantity => "quantity",
            Field::LimitPrice => "limit price",
            Field::StopLoss => "stop-loss",
            Field::TakeProfit => "take-profit",
            Field::Trailing => "trailing %",
        }
    }
}

/// What a key did to the ticket.
#[derive(Clone, Debug, PartialEq)]
pub enum TicketOutcome {
    /// Still open (maybe changed, maybe showing an error).
    Open,
    /// Esc: closed, nothing sent.
    Closed,
    /// Enter on a ticket that passed the checks: send this and close.
    Submit(OrderTicket),
}

/// An order ticket being filled in. Number fields hold the text as typed; it is read only when
/// the ticket is sent, so a half-typed "0." is never an error while typing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ticket {
    pub symbol: Option<Symbol>,
    pub side: OrderSide,
    pub kind: TicketKind,
    pub quantity: String,
    pub limit_price: String,
    pub stop_loss: String,
    pub take_profit: String,
    /// In percent as typed (2 = 2 %); sent as a fraction.
    pub trailing: String,
    /// The field with the cursor.
    pub field: Field,
    /// Why the last Enter sent nothing, beside the field at fault.
    pub error: Option<(Field, String)>,
}

impl Ticket {
    /// A market ticket for `symbol`, on the side given.
    pub fn new(symbol: Symbol, side: OrderSide) -> Self {
        Self {
            symbol: Some(symbol),
            side,
            ..Self::default()
        }
    }

    /// The text of a number field (empty for side and kind).
    pub fn text(&self, field: Field) -> &str {
        match field {
            Field::Side | Field::Kind => "",
            Field::Quantity => &self.quantity,
            Field::LimitPrice => &self.limit_price,
            Field::StopLoss => &self.stop_loss,
            Field::TakeProfit => &self.take_profit,
            Field::Trailing => &self.trailing,
        }
    }

    fn text_mut(&mut self, field: Field) -> Option<&mut String> {
        match field {
            Field::Side | Field::Kind => None,
            Field::Quantity => Some(&mut self.quantity),
            Field::LimitPrice => Some(&mut self.limit_price),
            Field::StopLoss => Some(&mut self.stop_loss),
            Field::TakeProfit => Some(&mut self.take_profit),
            Field::Trailing => Some(&mut self.trailing),
        }
    }

    /// Whether a field is in use: a market order has no limit price.
    pub fn applies(&self, field: Field) -> bool {
        field != Field::LimitPrice || self.kind == TicketKind::Limit
    }

    /// Reads one key. Every key but ctrl-c (which the caller keeps for quitting) is the ticket's.
    pub fn key(&mut self, key: KeyEvent) -> TicketOutcome {
        let shift_tab = key.code == KeyCode::BackTab
            || (key.code == KeyCode::Tab && key.modifiers.contains(KeyModifiers::SHIFT));
        match key.code {
            KeyCode::Esc => return TicketOutcome::Closed,
            KeyCode::Enter => match self.order() {
                Ok(order) => return TicketOutcome::Submit(order),
                Err((field, why)) => {
                    self.field = field;
                    self.error = Some((field, why));
                }
            },
            _ if shift_tab => self.step(false),
            KeyCode::Tab | KeyCode::Down => self.step(true),
            KeyCode::Up => self.step(false),
            KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') => self.toggle(),
            KeyCode::Backspace | KeyCode::Delete => {
                if let Some(text) = self.text_mut(self.field) {
                    text.pop();
                }
            }
            // Anything printable goes in (a paste may bring letters); the checks refuse it.
            KeyCode::Char(c)
                if !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                if let Some(text) = self.text_mut(self.field)
                    && text.chars().count() < MAX_CHARS
                {
                    text.push(c);
                }
            }
            _ => {}
        }
        TicketOutcome::Open
    }

    /// Moves to the next (or previous) field in use.
    fn step(&mut self, forward: bool) {
        let n = Field::ALL.len();
        let mut i = Field::ALL
            .iter()
            .position(|f| *f == self.field)
            .unwrap_or(0);
        for _ in 0..n {
            i = if forward {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            if self.applies(Field::ALL[i]) {
                break;
            }
        }
        self.field = Field::ALL[i];
    }

    /// Space or left/right on side or kind flips it.
    fn toggle(&mut self) {
        match self.field {
            Field::Side => {
                self.side = match self.side {
                    OrderSide::Buy => OrderSide::Sell,
                    OrderSide::Sell => OrderSide::Buy,
                }
            }
            Field::Kind => {
                self.kind = match self.kind {
                    TicketKind::Market => TicketKind::Limit,
                    TicketKind::Limit => TicketKind::Market,
                };
                if let Some((Field::LimitPrice, _)) = self.error {
                    self.error = None;
                }
            }
            _ => {}
        }
    }

    /// The order this ticket asks for, or the first field at fault and why.
    pub fn order(&self) -> Result<OrderTicket, (Field, String)> {
        let symbol = self
            .symbol
            .ok_or((Field::Side, "no symbol to trade".to_string()))?;
        let quantity = positive(self, Field::Quantity)?;
        let limit_price = match self.kind {
            TicketKind::Market => None,
            TicketKind::Limit => Some(
                positive(self, Field::LimitPrice)?
                    .ok_or((Field::LimitPrice, "a limit order needs a price".to_string()))?,
            ),
        };
        let stop_loss = positive(self, Field::StopLoss)?;
        let take_profit = positive(self, Field::TakeProfit)?;
        let trailing = match positive(self, Field::Trailing)? {
            Some(pct) if pct > MAX_TRAILING_PCT => {
                return Err((
                    Field::Trailing,
                    format!("must be in (0, {MAX_TRAILING_PCT}] %"),
                ));
            }
            Some(pct) => Some(pct / 100.0),
            None => None,
        };
        Ok(OrderTicket {
            symbol,
            side: self.side,
            kind: self.kind,
            quantity,
            limit_price,
            stop_loss,
            take_profit,
            trailing,
        })
    }
}

/// A number field: empty is `None`; otherwise a finite number above zero.
fn positive(ticket: &Ticket, field: Field) -> Result<Option<f64>, (Field, String)> {
    let text = ticket.text(field).trim();
    if text.is_empty() {
        return Ok(None);
    }
    // Rust reads "NaN" and "inf" as numbers; they are no quantity or price.
    match text.parse::<f64>() {
        Ok(value) if !value.is_finite() => Err((field, format!("{text:?} is not a number"))),
        Ok(value) if value <= 0.0 => Err((field, "must be above zero".to_string())),
        Ok(value) => Ok(Some(value)),
        Err(_) => Err((field, format!("{text:?} is not a number"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn typed(ticket: &mut Ticket, text: &str) {
        for c in text.chars() {
            ticket.key(code(KeyCode::Char(c)));
        }
    }

    fn btc() -> Symbol {
        "BTCUSDT".parse().unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn tab_skips_the_limit_price_of_a_market_order_and_wraps() {
        let mut t = Ticket::new(btc(), OrderSide::Buy);
        let mut seen = vec![t.field];
        for _ in 0..6 {
            t.key(code(KeyCode::Tab));
            seen.push(t.field);
        }
        assert!(!seen.contains(&Field::LimitPrice), "{seen:?}");
        assert_eq!(seen.last(), Some(&Field::Side));
        t.key(code(KeyCode::BackTab));
        assert_eq!(t.field, Field::Trailing);
    }

    #[test]
    fn a_full_limit_ticket_is_read_with_trailing_as_a_fraction() {
        let mut t = Ticket::new(btc(), OrderSide::Buy);
        t.key(code(KeyCode::Char(' ')));
        t.key(code(KeyCode::Tab));
        t.key(code(KeyCode::Right));
        for text in ["0.5", "64000", "62000", "70000", "2x"] {
            t.key(code(KeyCode::Tab));
            typed(&mut t, text);
        }
        t.key(code(KeyCode::Backspace));
        let order = t.order().unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(order.side, OrderSide::Sell);
        assert_eq!(order.kind, TicketKind::Limit);
        assert_eq!(order.quantity, Some(0.5));
        assert_eq!(order.limit_price, Some(64_000.0));
        assert_eq!(order.stop_loss, Some(62_000.0));
        assert_eq!(order.take_profit, Some(70_000.0));
        assert_eq!(order.trailing, Some(0.02));
    }

    #[test]
    fn garbage_is_refused_beside_its_field() {
        for (field, text, why) in [
            (Field::Quantity, "abc", "not a number"),
            (Field::Quantity, "-1", "above zero"),
            (Field::Quantity, "0", "above zero"),
            (Field::Quantity, "NaN", "not a number"),
            (Field::Quantity, "inf", "not a number"),
            (Field::StopLoss, "1..2", "not a number"),
            (Field::Trailing, "50.5", "(0, 50]"),
            (Field::Trailing, "0", "above zero"),
        ] {
            let mut t = Ticket::new(btc(), OrderSide::Buy);
            *t.text_mut(field).unwrap_or_else(|| unreachable!()) = text.to_string();
            let out = t.key(code(KeyCode::Enter));
            assert_eq!(out, TicketOutcome::Open, "{text}");
            let (at, error) = t.error.clone().unwrap_or_default();
            assert_eq!((at, t.field), (field, field), "{text}");
            assert!(error.contains(why), "{text}: {error}");
        }
        let mut t = Ticket::new(btc(), OrderSide::Buy);
        t.kind = TicketKind::Limit;
        assert_eq!(t.key(code(KeyCode::Enter)), TicketOutcome::Open);
        assert_eq!(t.field, Field::LimitPrice);
        t.trailing = "50".into();
        t.limit_price = "1".into();
        assert!(matches!(
            t.key(code(KeyCode::Enter)),
            TicketOutcome::Submit(OrderTicket {
                trailing: Some(0.5),
                ..
            })
        ));
    }
}
