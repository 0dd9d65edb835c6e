//! The fill engine: resting orders of an account's symbols, filled against candles (`bar`: as a
//! backtest fills) or against trade prints (`tick`), with fees, slippage, latency and the
//! exchange's filters. Backtests and paper trading both run this book.

use crate::domain::{Candle, Symbol, SymbolFilters};

use super::account::{Account, Position};
use super::filters;
use super::order::{BookEvent, Fill, Order, OrderId, OrderKind, OrderRequest, Reject, Side, Size};

/// What a fill costs and when an order can fill.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FillCosts {
    /// Fractions of the traded notional: a resting limit order pays `maker_fee`, everything else
    /// `taker_fee`.
    pub maker_fee: f64,
    pub taker_fee: f64,
    /// Against market and stop fills, in basis points of the price.
    pub slippage_bps: f64,
    /// From placing to arriving at the exchange; nothing fills before.
    pub latency_ms: i64,
}

/// One symbol's share of the account.
#[derive(Clone, Debug)]
struct Sleeve {
    symbol: Symbol,
    account: Account,
    filters: SymbolFilters,
    /// The last price seen (a print, or a candle's close).
    mark: Option<f64>,
}

/// How a triggered order fills.
#[derive(Clone, Copy, Debug)]
struct Trigger {
    price: f64,
    slipped: bool,
    maker: bool,
}

/// Resting orders and the accounts they fill into.
#[derive(Clone, Debug)]
pub struct Book {
    costs: FillCosts,
    sleeves: Vec<Sleeve>,
    orders: Vec<Order>,
    next_id: OrderId,
}

impl Book {
    pub fn new(costs: FillCosts) -> Self {
        Self {
            costs,
            sleeves: Vec::new(),
            orders: Vec::new(),
            next_id: 1,
        }
    }

    /// Adds a symbol with its share of the cash and its filters.
    pub fn add_symbol(&mut self, symbol: Symbol, cash: f64, filters: SymbolFilters) {
        self.sleeves.push(Sleeve {
            symbol,
            account: Account::new(cash),
            filters,
            mark: None,
        });
    }

    pub fn set_filters(&mut self, symbol: Symbol, filters: SymbolFilters) {
        if let Some(s) = self.sleeve_mut(symbol) {
            s.filters = filters;
        }
    }

    pub fn costs(&self) -> FillCosts {
        self.costs
    }

    pub fn symbols(&self) -> impl Iterator<Item = Symbol> + '_ {
        self.sleeves.iter().map(|s| s.symbol)
    }

    pub fn account(&self, symbol: Symbol) -> Option<&Account> {
        self.sleeve(symbol).map(|s| &s.account)
    }

    pub fn filters(&self, symbol: Symbol) -> Option<SymbolFilters> {
        self.sleeve(symbol).map(|s| s.filters)
    }

    pub fn mark(&self, symbol: Symbol) -> Option<f64> {
        self.sleeve(symbol).and_then(|s| s.mark)
    }

    pub fn set_mark(&mut self, symbol: Symbol, price: f64) {
        if let Some(s) = self.sleeve_mut(symbol) {
            s.mark = Some(price);
        }
    }

    /// Cash plus open positions at their marks (a position without a mark at its entry).
    pub fn equity(&self) -> f64 {
        self.sleeves.iter().map(Sleeve::equity).sum()
    }

    /// Open positions.
    pub fn open_positions(&self) -> usize {
        self.sleeves
            .iter()
            .filter(|s| s.account.open.is_some())
            .count()
    }

    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    /// The id the next order gets.
    pub fn next_id(&self) -> OrderId {
        self.next_id
    }

    /// Checks `request` against the filters and places it at `now_ms` (active after the
    /// latency). Prices go to the tick; a quantity goes down to the step and is refused below
    /// the minimums at its price (the limit, or the mark).
    pub fn submit(&mut self, request: OrderRequest, now_ms: i64) -> Result<Order, Reject> {
        let sleeve = self
            .sleeve(request.symbol)
            .ok_or(Reject::UnknownSymbol(request.symbol))?;
        let f = sleeve.filters;
        let positive = |what, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(Reject::BadNumber { what, value })
            }
        };
        let kind = match request.kind {
            OrderKind::Market => OrderKind::Market,
            OrderKind::Limit { price } => {
                positive("limit price", price)?;
                OrderKind::Limit {
                    price: filters::price(price, &f),
                }
            }
            OrderKind::Stop { trigger } => {
                positive("stop price", trigger)?;
                OrderKind::Stop {
                    trigger: filters::price(trigger, &f),
                }
            }
            OrderKind::Trailing { distance, extreme } => {
                positive("trailing distance", distance)?;
                if distance > 0.5 {
                    return Err(Reject::Bracket(format!(
                        "a trailing distance of {distance} is above 0.5 (50 %)"
                    )));
                }
                // It trails from the price now when not told where from.
                let extreme = if extreme > 0.0 {
                    extreme
                } else {
                    sleeve.mark.ok_or_else(|| {
                        Reject::Bracket(
                            "a trailing stop needs a price to trail: none seen yet".into(),
                        )
                    })?
                };
                OrderKind::Trailing { distance, extreme }
            }
        };
        let reference = match kind {
            OrderKind::Limit { price } => Some(price),
            _ => sleeve.mark,
        };
        let size = match request.size {
            Size::Quantity(q) => {
                positive("quantity", q)?;
                match reference {
                    Some(price) => Size::Quantity(filters::quantity(q, price, &f)?),
                    None => Size::Quantity(filters::round_down(q, f.step_size)),
                }
            }
            Size::EquityFraction(x) => {
                positive("equity fraction", x)?;
                if x > 1.0 {
                    return Err(Reject::BadNumber {
                        what: "equity fraction (at most 1)",
                        value: x,
                    });
                }
                Size::EquityFraction(x)
            }
            Size::Close => {
                if sleeve.account.open.is_none() {
                    return Err(Reject::NothingToClose);
                }
                Size::Close
            }
        };
        check_brackets(&request, reference)?;
        let b = request.brackets;
        let order = Order {
            id: self.next_id,
            symbol: request.symbol,
            side: request.side,
            kind,
            size,
            brackets: crate::broker::order::Brackets {
                stop_loss: b.stop_loss.map(|p| filters::price(p, &f)),
                take_profit: b.take_profit.map(|p| filters::price(p, &f)),
                trailing: b.trailing,
            },
            origin: request.origin,
            placed_ms: now_ms,
            active_from_ms: now_ms.saturating_add(self.costs.latency_ms),
            parent: None,
        };
        self.next_id += 1;
        self.orders.push(order.clone());
        Ok(order)
    }

    /// Puts back an order read from a log, as it was.
    pub fn restore(&mut self, order: Order) {
        self.next_id = self.next_id.max(order.id + 1);
        self.orders.push(order);
    }

    /// Applies a fill read from a log: its order leaves the book and the account takes it.
    pub fn restore_fill(&mut self, fill: &Fill) {
        self.next_id = self.next_id.max(fill.order_id + 1);
        self.orders.retain(|o| o.id != fill.order_id);
        if let Some(s) = self.sleeve_mut(fill.symbol) {
            s.account.apply(fill);
        }
    }

    /// Takes an order out of the book.
    pub fn cancel(&mut self, id: OrderId) -> Result<Order, Reject> {
        let index = self
            .orders
            .iter()
            .position(|o| o.id == id)
            .ok_or(Reject::NoSuchOrder(id))?;
        Ok(self.orders.remove(index))
    }

    /// A candle of `symbol`: every active order that the candle reaches fills (markets at its
    /// open; limits when it trades through; stops at the worse of the trigger and the open),
    /// in the order they were placed; the mark becomes its close.
    pub fn on_bar(&mut self, symbol: Symbol, candle: &Candle, out: &mut Vec<BookEvent>) {
        let mut i = 0;
        while i < self.orders.len() {
            let o = &mut self.orders[i];
            if o.symbol != symbol || o.active_from_ms > candle.open_time_ms {
                i += 1;
                continue;
            }
            match bar_trigger(o, candle) {
                Some(t) => self.execute(i, t, candle.open_time_ms, out),
                None => i += 1,
            }
        }
        self.set_mark(symbol, candle.close);
    }

    /// A trade print of `symbol`: active market orders fill at it; a limit only when it prints
    /// through the limit; a stop when it reaches the trigger, at the worse of the two.
    pub fn on_print(&mut self, symbol: Symbol, price: f64, time_ms: i64, out: &mut Vec<BookEvent>) {
        let mut i = 0;
        while i < self.orders.len() {
            let o = &mut self.orders[i];
            if o.symbol != symbol || o.active_from_ms > time_ms {
                i += 1;
                continue;
            }
            match print_trigger(o, price) {
                Some(t) => self.execute(i, t, time_ms, out),
                None => i += 1,
            }
        }
        self.set_mark(symbol, price);
    }

    /// Fills order `index` at `t`: sizes it, applies the filters (an order they refuse is
    /// cancelled with the reason), books the fill, places an entry's exits and cancels exits
    /// that have nothing left to close.
    fn execute(&mut self, index: usize, t: Trigger, time_ms: i64, out: &mut Vec<BookEvent>) {
        let order = self.orders.remove(index);
        let costs = self.costs;
        let Some(s) = self.sleeves.iter_mut().find(|s| s.symbol == order.symbol) else {
            return;
        };
        let price = if t.slipped {
            slip(t.price, order.side, costs.slippage_bps)
        } else {
            t.price
        };
        let fee_rate = if t.maker {
            costs.maker_fee
        } else {
            costs.taker_fee
        };
        let quantity = match order.size {
            Size::Quantity(q) => filters::quantity(q, price, &s.filters),
            Size::EquityFraction(x) => {
                let budget = s.account.equity(t.price) * x;
                filters::quantity(budget / (price * (1.0 + fee_rate)), price, &s.filters)
            }
            Size::Close => match &s.account.open {
                Some(open) if closes(open.side, order.side) => Ok(open.quantity),
                _ => Err(Reject::NothingToClose),
            },
        };
        let quantity = match quantity {
            Ok(q) => q,
            Err(e) => {
                out.push(BookEvent::Cancelled {
                    id: order.id,
                    symbol: order.symbol,
                    time_ms,
                    reason: e.to_string(),
                });
                return;
            }
        };
        let opening = s.account.position() == Position::Flat;
        let fill = Fill {
            order_id: order.id,
            symbol: order.symbol,
            side: order.side,
            quantity,
            price,
            fee: quantity * price * fee_rate,
            maker: t.maker,
            time_ms,
            origin: order.origin,
        };
        s.account.apply(&fill);
        let flat = s.account.open.is_none();
        out.push(BookEvent::Fill(fill));
        if flat {
            // Exits with nothing left to close go (an exit's siblings among them).
            let symbol = order.symbol;
            self.orders.retain(|o| {
                let gone = o.symbol == symbol && o.size == Size::Close;
                if gone {
                    out.push(BookEvent::Cancelled {
                        id: o.id,
                        symbol,
                        time_ms,
                        reason: "the position is closed".into(),
                    });
                }
                !gone
            });
        } else if opening && !order.brackets.is_empty() {
            self.place_exits(&order, price, time_ms, out);
        }
    }

    /// Places `entry`'s exits (its brackets), filled at `price`, as when it filled; a log that
    /// lost them (a crash between the fill's commit and theirs) gets them back this way.
    pub fn place_exits(
        &mut self,
        entry: &Order,
        price: f64,
        time_ms: i64,
        out: &mut Vec<BookEvent>,
    ) {
        use super::order::Origin;
        let b = entry.brackets;
        let side = entry.side.opposite();
        let kinds = [
            b.stop_loss
                .map(|trigger| (OrderKind::Stop { trigger }, Origin::StopLoss)),
            b.take_profit
                .map(|price| (OrderKind::Limit { price }, Origin::TakeProfit)),
            b.trailing.map(|distance| {
                (
                    OrderKind::Trailing {
                        distance,
                        extreme: price,
                    },
                    Origin::Trailing,
                )
            }),
        ];
        for (kind, origin) in kinds.into_iter().flatten() {
            let order = Order {
                id: self.next_id,
                symbol: entry.symbol,
                side,
                kind,
                size: Size::Close,
                brackets: Default::default(),
                origin,
                placed_ms: time_ms,
                active_from_ms: time_ms,
                parent: Some(entry.id),
            };
            self.next_id += 1;
            out.push(BookEvent::Placed(order.clone()));
            self.orders.push(order);
        }
    }

    fn sleeve(&self, symbol: Symbol) -> Option<&Sleeve> {
        self.sleeves.iter().find(|s| s.symbol == symbol)
    }

    fn sleeve_mut(&mut self, symbol: Symbol) -> Option<&mut Sleeve> {
        self.sleeves.iter_mut().find(|s| s.symbol == symbol)
    }
}

impl Sleeve {
    fn equity(&self) -> f64 {
        let mark = self
            .mark
            .or(self.account.open.as_ref().map(|o| o.entry_price))
            .unwrap_or(0.0);
        self.account.equity(mark)
    }
}

/// Whether an order of `side` reduces a position of `held`.
fn closes(held: Position, side: Side) -> bool {
    matches!(
        (held, side),
        (Position::Long, Side::Sell) | (Position::Short, Side::Buy)
    )
}

/// Exits must sit on the right side of the entry: a buy's stop below it and its target above.
fn check_brackets(request: &OrderRequest, reference: Option<f64>) -> Result<(), Reject> {
    let b = request.brackets;
    for (what, value) in [("stop-loss", b.stop_loss), ("take-profit", b.take_profit)] {
        if let Some(v) = value
            && !(v.is_finite() && v > 0.0)
        {
            return Err(Reject::BadNumber { what, value: v });
        }
    }
    if let Some(d) = b.trailing
        && !(d.is_finite() && d > 0.0 && d <= 0.5)
    {
        return Err(Reject::Bracket(format!(
            "a trailing distance of {d} must be above 0 and at most 0.5 (50 %)"
        )));
    }
    let Some(price) = reference else {
        return Ok(());
    };
    let buy = request.side == Side::Buy;
    if let Some(sl) = b.stop_loss
        && (sl < price) != buy
    {
        return Err(Reject::Bracket(format!(
            "a {} entry's stop-loss {sl} must be {} its price {price}",
            request.side.as_str(),
            if buy { "below" } else { "above" }
        )));
    }
    if let Some(tp) = b.take_profit
        && (tp > price) != buy
    {
        return Err(Reject::Bracket(format!(
            "a {} entry's take-profit {tp} must be {} its price {price}",
            request.side.as_str(),
            if buy { "above" } else { "below" }
        )));
    }
    Ok(())
}

/// `price` moved against an order of `side` by `bps`.
pub fn slip(price: f64, side: Side, bps: f64) -> f64 {
    let s = bps / 10_000.0;
    match side {
        Side::Buy => price * (1.0 + s),
        Side::Sell => price * (1.0 - s),
    }
}

/// Whether and how `o` fills on `candle` (a trailing stop's best price moves on when not).
fn bar_trigger(o: &mut Order, c: &Candle) -> Option<Trigger> {
    let buy = o.side == Side::Buy;
    let taker = |price| {
        Some(Trigger {
            price,
            slipped: true,
            maker: false,
        })
    };
    let stop = |trigger: f64| {
        if buy && c.open >= trigger || !buy && c.open <= trigger {
            taker(c.open)
        } else if buy && c.high >= trigger || !buy && c.low <= trigger {
            taker(trigger)
        } else {
            None
        }
    };
    match &mut o.kind {
        OrderKind::Market => taker(c.open),
        OrderKind::Limit { price } => {
            let p = *price;
            let maker = |price| {
                Some(Trigger {
                    price,
                    slipped: false,
                    maker: true,
                })
            };
            if buy && c.open < p || !buy && c.open > p {
                maker(c.open)
            } else if buy && c.low < p || !buy && c.high > p {
                maker(p)
            } else {
                None
            }
        }
        OrderKind::Stop { trigger } => stop(*trigger),
        OrderKind::Trailing { distance, extreme } => {
            let trigger = trailing_trigger(buy, *distance, *extreme);
            let hit = stop(trigger);
            if hit.is_none() {
                *extreme = if buy {
                    extreme.min(c.low)
                } else {
                    extreme.max(c.high)
                };
            }
            hit
        }
    }
}

/// Whether and how `o` fills on a print at `price`.
fn print_trigger(o: &mut Order, price: f64) -> Option<Trigger> {
    let buy = o.side == Side::Buy;
    let stop = |trigger: f64| {
        if buy && price >= trigger || !buy && price <= trigger {
            Some(Trigger {
                price: if buy {
                    price.max(trigger)
                } else {
                    price.min(trigger)
                },
                slipped: true,
                maker: false,
            })
        } else {
            None
        }
    };
    match &mut o.kind {
        OrderKind::Market => Some(Trigger {
            price,
            slipped: true,
            maker: false,
        }),
        OrderKind::Limit { price: p } => {
            if buy && price < *p || !buy && price > *p {
                Some(Trigger {
                    price: *p,
                    slipped: false,
                    maker: true,
                })
            } else {
                None
            }
        }
        OrderKind::Stop { trigger } => stop(*trigger),
        OrderKind::Trailing { distance, extreme } => {
            let hit = stop(trailing_trigger(buy, *distance, *extreme));
            if hit.is_none() {
                *extreme = if buy {
                    extreme.min(price)
                } else {
                    extreme.max(price)
                };
            }
            hit
        }
    }
}

/// A trailing stop's trigger: `distance` behind the best price (below it for a sell).
pub fn trailing_trigger(buy: bool, distance: f64, extreme: f64) -> f64 {
    if buy {
        extreme * (1.0 + distance)
    } else {
        extreme * (1.0 - distance)
    }
}
