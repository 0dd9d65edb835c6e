//! The paper account as an engine component: it trades the active model's signals and the
//! orders placed by hand through the broker's book, fills them against closed candles (`bar`)
//! or trade prints (`tick`), writes every order, fill and cancel to the append-only log through
//! the store's owner, and publishes `Update::Paper`. After a restart the account is rebuilt from
//! the log; orders still resting are evaluated against the candles backfilled for the downtime.

pub mod log;
pub mod offline;
mod view;

use std::collections::HashMap;

use crate::backtest::position_for;
use crate::broker::{
    Book, BookEvent, Brackets, FillCosts, OrderKind, OrderRequest, Origin, Position, Reject,
    RiskRules, RiskState, Side, Size, size_entry,
};
use crate::config::{PaperConfig, PaperMode, Sizing as ConfigSizing};
use crate::domain::{Candle, Interval, Symbol, SymbolFilters, Trade};
use crate::protocol::{Command, OrderSide, OrderTicket, SignalInfo, TicketKind, Update};
use crate::store::writer::{WriteOp, WriteSender};

use super::component::{Component, Effects};

pub use log::{Opening, Restored, restore};
use view::EquityTrack;

/// How long a print-driven change waits before the view is published again (engine time).
const PUBLISH_EVERY_MS: i64 = 250;

pub struct PaperComponent {
    config: PaperConfig,
    rules: RiskRules,
    book: Book,
    risk: RiskState,
    /// The interval whose candles fill orders in bar mode and whose signals are traded.
    interval: Option<Interval>,
    /// The position the signals ask for, per symbol (a Hold keeps it).
    wanted: HashMap<Symbol, Position>,
    /// Symbols whose position a hand order or an exit (stop-loss, take-profit, trailing) changed
    /// last: the signals leave them alone until the position they ask for changes.
    overridden: std::collections::HashSet<Symbol>,
    /// The newest trade print per symbol (tick mode: candles after it had no prints).
    last_print_ms: HashMap<Symbol, i64>,
    /// The close of the newest candle per symbol.
    last_close_ms: HashMap<Symbol, i64>,
    opened_ms: i64,
    track: EquityTrack,
    events: Vec<BookEvent>,
    fills: Vec<crate::broker::Fill>,
    notes: Vec<String>,
    last_rejection: Option<String>,
    dirty: bool,
    published_ms: i64,
    /// This run's first traded signal is logged (`session`).
    session_logged: bool,
}

/// The account's costs as the book takes them: bar mode has no latency (an order placed at a
/// close fills at the next open, as a backtest's does).
pub fn fill_costs(config: &PaperConfig) -> FillCosts {
    FillCosts {
        maker_fee: config.fee_maker_bps / 10_000.0,
        taker_fee: config.fee_taker_bps / 10_000.0,
        slippage_bps: config.slippage_bps,
        latency_ms: match config.mode {
            PaperMode::Bar => 0,
            PaperMode::Tick => config.latency_ms as i64,
        },
    }
}

pub fn risk_rules(config: &PaperConfig) -> RiskRules {
    let r = &config.risk;
    RiskRules {
        sizing: match r.sizing {
            ConfigSizing::Fraction => crate::broker::Sizing::Fraction(r.fraction),
            ConfigSizing::Risk => crate::broker::Sizing::RiskPerTrade(r.risk_per_trade),
        },
        max_open_positions: r.max_open_positions,
        max_drawdown: r.max_drawdown,
        cooldown_after_stop_ms: r.cooldown_after_stop.ms(),
    }
}

impl PaperComponent {
    /// Opens the account: rebuilt from the log in `db` when there is one, otherwise opened now
    /// with the configured cash over `symbols` (its opening is the log's first entry).
    pub fn start(
        db: Option<&std::path::Path>,
        owner: &WriteSender,
        config: PaperConfig,
        symbols: &[Symbol],
        filters: &[(Symbol, SymbolFilters)],
        interval: Option<Interval>,
        now_ms: i64,
    ) -> Result<Self, String> {
        let costs = fill_costs(&config);
        let filter_of = |s: Symbol| {
            filters
                .iter()
                .find(|(f, _)| *f == s)
                .map_or(SymbolFilters::NONE, |(_, f)| *f)
        };
        let store = match db {
            Some(path) => Some(crate::store::Store::open_reader(path).map_err(|e| e.to_string())?),
            None => None,
        };
        let rows = match &store {
            Some(s) => s.paper_log().map_err(|e| e.to_string())?,
            None => Vec::new(),
        };
        let mut notes = Vec::new();
        let restored = restore(&rows, costs, &filter_of)?;
        let (book, opened_ms, killed, fills, interval) = match restored {
            Some(r) => {
                notes.push(format!(
                    "account restored from its log: {} orders, {} fills, {} resting",
                    r.orders,
                    r.fills.len(),
                    r.book.orders().len()
                ));
                if r.opening.mode != config.mode.as_str() {
                    notes.push(format!(
                        "opened in {} mode, running in {} mode now",
                        r.opening.mode,
                        config.mode.as_str()
                    ));
                }
                if !r.replaced_exits.is_empty() {
                    for o in &r.replaced_exits {
                        send(owner, log::order(o));
                    }
                    notes.push(format!(
                        "{} exit order(s) of an open position were not in the log (a crash \
                         between its entry's fill and them): placed again",
                        r.replaced_exits.len()
                    ));
                }
                let interval = interval.or(r.opening.interval);
                (r.book, r.opened_ms, r.killed, r.fills, interval)
            }
            None => {
                let opening = Opening {
                    cash: config.cash,
                    symbols: symbols.to_vec(),
                    mode: config.mode.as_str().into(),
                    quote_asset: config.quote_asset.clone(),
                    interval,
                    filters: symbols.iter().map(|&s| (s, filter_of(s))).collect(),
                };
                send(owner, log::opening(now_ms, &opening));
                let mut book = Book::new(costs);
                let share = config.cash / symbols.len().max(1) as f64;
                for &s in symbols {
                    book.add_symbol(s, share, filter_of(s));
                }
                (book, now_ms, None, Vec::new(), interval)
            }
        };
        let mut component = Self {
            rules: risk_rules(&config),
            risk: RiskState::new(0.0),
            config,
            book,
            interval,
            wanted: HashMap::new(),
            overridden: Default::default(),
            last_print_ms: HashMap::new(),
            last_close_ms: HashMap::new(),
            opened_ms,
            track: EquityTrack::default(),
            events: Vec::new(),
            fills,
            notes,
            last_rejection: None,
            dirty: true,
            published_ms: i64::MIN,
            session_logged: false,
        };
        // Marks from the newest stored candles, so equity is right before the first price.
        if let (Some(store), Some(interval)) = (&store, interval) {
            let symbols: Vec<Symbol> = component.book.symbols().collect();
            for s in symbols {
                if let Ok(c) = store.recent_candles(s, interval, 1)
                    && let Some(last) = c.last()
                {
                    component.book.set_mark(s, last.close);
                }
            }
        }
        for s in component.book.symbols().collect::<Vec<_>>() {
            let held = component
                .book
                .account(s)
                .map_or(Position::Flat, |a| a.position());
            component.wanted.insert(s, held);
        }
        component.risk = RiskState::new(component.book.equity());
        component.risk.killed = killed;
        Ok(component)
    }

    pub fn book(&self) -> &Book {
        &self.book
    }

    fn symbol_known(&self, symbol: Symbol) -> bool {
        self.book.symbols().any(|s| s == symbol)
    }

    /// Writes what the book did, follows the risk rules' stops, and keeps the view's fills.
    fn take_events(&mut self, out: &mut Effects) {
        for event in self.events.drain(..) {
            match event {
                BookEvent::Fill(f) => {
                    if f.origin == Origin::StopLoss {
                        self.risk.on_stop(&self.rules, f.symbol, f.time_ms);
                    }
                    if f.origin != Origin::Signal {
                        self.overridden.insert(f.symbol);
                    }
                    out.writes.push(WriteOp::Paper(log::fill(&f)));
                    self.fills.push(f);
                }
                BookEvent::Placed(o) => out.writes.push(WriteOp::Paper(log::order(&o))),
                BookEvent::Cancelled {
                    id,
                    symbol,
                    time_ms,
                    reason,
                } => out
                    .writes
                    .push(WriteOp::Paper(log::cancel(time_ms, symbol, id, &reason))),
            }
            self.dirty = true;
        }
        if self.fills.len() > 4 * crate::protocol::RECENT_FILLS {
            let drop = self.fills.len() - crate::protocol::RECENT_FILLS;
            self.fills.drain(..drop);
        }
    }

    /// Places `request` at `at_ms`, logging it, or logs and shows why it was refused. An entry
    /// (from flat, or adding to a position) passes the risk rules first.
    fn place(&mut self, request: OrderRequest, at_ms: i64, out: &mut Effects) -> bool {
        let symbol = request.symbol;
        let held = self
            .book
            .account(symbol)
            .map_or(Position::Flat, |a| a.position());
        let entry = matches!(
            (held, request.side),
            (Position::Flat, _) | (Position::Long, Side::Buy) | (Position::Short, Side::Sell)
        ) && request.size != Size::Close;
        let result = if entry {
            let open = self.book.open_positions() - usize::from(held != Position::Flat);
            self.risk
                .allow_entry(&self.rules, symbol, open, at_ms)
                .and_then(|()| self.book.submit(request, at_ms))
        } else {
            self.book.submit(request, at_ms)
        };
        self.dirty = true;
        match result {
            Ok(order) => {
                out.writes.push(WriteOp::Paper(log::order(&order)));
                true
            }
            Err(e) => self.refused(Some(symbol), &e, at_ms, out),
        }
    }

    fn refused(
        &mut self,
        symbol: Option<Symbol>,
        e: &Reject,
        at_ms: i64,
        out: &mut Effects,
    ) -> bool {
        let text = match symbol {
            Some(s) => format!("{s}: {e}"),
            None => e.to_string(),
        };
        tracing::info!("paper: order refused: {text}");
        out.writes
            .push(WriteOp::Paper(log::note(at_ms, "reject", symbol, &text)));
        self.last_rejection = Some(text);
        self.dirty = true;
        false
    }

    /// Equity after a candle of every symbol or a fill: the curve, the kill switch.
    fn follow_equity(&mut self, time_ms: i64, out: &mut Effects) {
        let equity = self.book.equity();
        if let Some(why) = self.risk.on_equity(&self.rules, equity, time_ms) {
            tracing::warn!("paper: kill switch: {why}");
            out.writes
                .push(WriteOp::Paper(log::note(time_ms, "kill", None, &why)));
            self.dirty = true;
        }
    }

    fn publish(&mut self, now_ms: i64, out: &mut Effects) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        self.published_ms = now_ms;
        out.updates.push(Update::Paper(Box::new(view::build(self))));
    }

    /// The request a hand-placed ticket asks for (sized by the risk rules without a quantity).
    fn ticket_request(&self, t: &OrderTicket) -> Result<OrderRequest, Reject> {
        if !self.symbol_known(t.symbol) {
            return Err(Reject::UnknownSymbol(t.symbol));
        }
        let side = match t.side {
            OrderSide::Buy => Side::Buy,
            OrderSide::Sell => Side::Sell,
        };
        let kind = match t.kind {
            TicketKind::Market => OrderKind::Market,
            TicketKind::Limit => match t.limit_price {
                Some(price) => OrderKind::Limit { price },
                None => {
                    return Err(Reject::BadNumber {
                        what: "limit price (a limit order needs one)",
                        value: f64::NAN,
                    });
                }
            },
        };
        let held = self
            .book
            .account(t.symbol)
            .map_or(Position::Flat, |a| a.position());
        let reducing = matches!(
            (held, side),
            (Position::Long, Side::Sell) | (Position::Short, Side::Buy)
        );
        let size = match t.quantity {
            Some(q) => Size::Quantity(q),
            // Without a quantity a reducing order closes the position; an entry is sized.
            None if reducing => Size::Close,
            None => {
                let price = t.limit_price.or(self.book.mark(t.symbol));
                let equity = self.sleeve_equity(t.symbol);
                size_entry(&self.rules, equity, price, t.stop_loss)?
            }
        };
        Ok(OrderRequest {
            symbol: t.symbol,
            side,
            kind,
            size,
            brackets: Brackets {
                stop_loss: t.stop_loss,
                take_profit: t.take_profit,
                trailing: t.trailing,
            },
            origin: Origin::Manual,
        })
    }

    /// When an order placed by hand now is placed, in the market's time: a simulated exchange
    /// running ahead of the wall clock, or a replay of old data, fills it as a live market would.
    ///
    /// Tick mode: the newest print. Bar mode: the wall clock while it is inside the candle in
    /// progress (live), else just after the newest close: an order placed during a candle fills
    /// at the next candle's open, never at an open already past.
    fn market_ms(&self, symbol: Symbol, now_ms: i64) -> i64 {
        if self.config.mode == PaperMode::Tick
            && let Some(&print) = self.last_print_ms.get(&symbol)
        {
            return print;
        }
        let Some(&close) = self.last_close_ms.get(&symbol) else {
            return now_ms;
        };
        let length = self.interval.map_or(0, |i| i.ms());
        if (close..close + length).contains(&now_ms) {
            now_ms
        } else {
            close + 1
        }
    }

    fn sleeve_equity(&self, symbol: Symbol) -> f64 {
        let Some(a) = self.book.account(symbol) else {
            return 0.0;
        };
        let mark = self
            .book
            .mark(symbol)
            .or(a.open.as_ref().map(|o| o.entry_price))
            .unwrap_or(0.0);
        a.equity(mark)
    }

    /// The signal's position asked for, as the backtester decides it; orders when it differs
    /// from what is held. Signal orders are placed at the candle's close, so in bar mode they
    /// fill at the next candle's open, exactly as a backtest's.
    fn trade_signal(&mut self, s: &SignalInfo, now_ms: i64, out: &mut Effects) {
        let Some(interval) = self.interval else {
            return;
        };
        if s.interval != interval || !self.symbol_known(s.symbol) {
            return;
        }
        if !self.session_logged {
            // Reconciliation starts where this run's trading on signals did.
            self.session_logged = true;
            let session = log::Session {
                first_candle_ms: s.open_time_ms,
                interval,
            };
            out.writes
                .push(WriteOp::Paper(log::session(now_ms, &session)));
        }
        let wanted_before = self
            .wanted
            .get(&s.symbol)
            .copied()
            .unwrap_or(Position::Flat);
        let wanted = position_for(Some(s.signal), wanted_before, self.config.allow_short);
        self.wanted.insert(s.symbol, wanted);
        if wanted != wanted_before {
            self.overridden.remove(&s.symbol);
        } else if self.overridden.contains(&s.symbol) {
            // The trader (or an exit) decided this position: signals act again when they change.
            return;
        }
        let held = self
            .book
            .account(s.symbol)
            .map_or(Position::Flat, |a| a.position());
        // Signal orders not filled yet are replaced by what this signal asks.
        let stale: Vec<u64> = self
            .book
            .orders()
            .iter()
            .filter(|o| o.symbol == s.symbol && o.origin == Origin::Signal)
            .map(|o| o.id)
            .collect();
        if wanted == held && stale.is_empty() {
            return;
        }
        let at = match self.config.mode {
            PaperMode::Bar => s.open_time_ms + interval.ms(),
            // Not before the candle closed, nor before the newest print.
            PaperMode::Tick => (s.open_time_ms + interval.ms()).max(
                self.last_print_ms
                    .get(&s.symbol)
                    .copied()
                    .unwrap_or(i64::MIN),
            ),
        };
        for id in stale {
            if self.book.cancel(id).is_ok() {
                out.writes.push(WriteOp::Paper(log::cancel(
                    at,
                    s.symbol,
                    id,
                    "replaced by a newer signal",
                )));
            }
        }
        if wanted == held {
            return;
        }
        if held != Position::Flat {
            let side = if held == Position::Long {
                Side::Sell
            } else {
                Side::Buy
            };
            self.place(
                signal_request(s.symbol, side, Size::Close, Brackets::default()),
                at,
                out,
            );
        }
        if wanted != Position::Flat {
            let side = if wanted == Position::Long {
                Side::Buy
            } else {
                Side::Sell
            };
            let price = self.book.mark(s.symbol);
            let stop = (self.config.risk.stop_loss > 0.0)
                .then(|| {
                    price.map(|p| match side {
                        Side::Buy => p * (1.0 - self.config.risk.stop_loss),
                        Side::Sell => p * (1.0 + self.config.risk.stop_loss),
                    })
                })
                .flatten();
            // The symbol's equity once the close (if any) fills, as the backtest sizes it.
            let equity = self.sleeve_equity(s.symbol);
            match size_entry(&self.rules, equity, price, stop) {
                Ok(size) => {
                    let brackets = Brackets {
                        stop_loss: stop,
                        ..Brackets::default()
                    };
                    self.place(signal_request(s.symbol, side, size, brackets), at, out);
                }
                Err(e) => {
                    self.refused(Some(s.symbol), &e, at, out);
                }
            }
        }
    }

    /// Candles of the traded interval: in bar mode (and in tick mode for candles no print
    /// covered: a downtime's backfill) resting orders are evaluated against them.
    fn on_candles(&mut self, symbol: Symbol, candles: &[Candle], out: &mut Effects) {
        let resting = self
            .book
            .orders()
            .iter()
            .filter(|o| o.symbol == symbol)
            .count();
        let printed_until = self.last_print_ms.get(&symbol).copied();
        let mut by_bar = 0;
        if let (Some(last), Some(interval)) = (candles.last(), self.interval) {
            let close = last.open_time_ms + interval.ms();
            let entry = self.last_close_ms.entry(symbol).or_insert(close);
            *entry = (*entry).max(close);
        }
        for c in candles {
            let use_bar = match self.config.mode {
                PaperMode::Bar => true,
                PaperMode::Tick => printed_until.is_none_or(|t| c.open_time_ms > t),
            };
            if use_bar {
                self.book.on_bar(symbol, c, &mut self.events);
                by_bar += 1;
            } else {
                self.book.set_mark(symbol, c.close);
            }
            self.take_events(out);
            let start: f64 = self
                .book
                .symbols()
                .filter_map(|s| self.book.account(s).map(|a| a.start_cash))
                .sum();
            let n = self.book.symbols().count();
            // The curve starts with the account: candles that closed before it opened (a
            // start's backfill of history) are not its equity.
            if c.open_time_ms + self.interval.map_or(0, |i| i.ms()) > self.opened_ms {
                self.track.on_close(symbol, c, self.book.equity(), start, n);
            }
            self.follow_equity(c.open_time_ms, out);
        }
        if candles.len() > 1 && resting > 0 && by_bar > 0 {
            let (Some(first), Some(last)) = (candles.first(), candles.last()) else {
                return;
            };
            self.notes.push(format!(
                "{resting} resting {symbol} order(s) evaluated against {by_bar} candles backfilled \
                 for {} to {} (downtime rule: as in bar mode, stops at the worse of trigger and \
                 open, limits when the range trades through)",
                crate::fmt::utc_datetime(first.open_time_ms),
                crate::fmt::utc_datetime(last.open_time_ms)
            ));
            if self.notes.len() > 5 {
                self.notes.remove(0);
            }
        }
        self.dirty = true;
    }
}

fn signal_request(symbol: Symbol, side: Side, size: Size, brackets: Brackets) -> OrderRequest {
    OrderRequest {
        symbol,
        side,
        kind: OrderKind::Market,
        size,
        brackets,
        origin: Origin::Signal,
    }
}

fn send(owner: &WriteSender, row: crate::store::paper::PaperRow) {
    if owner.send(WriteOp::Paper(row)).is_err() {
        tracing::warn!("paper: the store owner is gone; the log entry is lost");
    }
}

impl Component for PaperComponent {
    fn name(&self) -> &'static str {
        "paper"
    }

    fn on_closed(
        &mut self,
        symbol: Symbol,
        interval: Interval,
        candles: &[Candle],
        now_ms: i64,
        out: &mut Effects,
    ) {
        if Some(interval) != self.interval || !self.symbol_known(symbol) {
            return;
        }
        self.on_candles(symbol, candles, out);
        self.publish(now_ms, out);
    }

    fn on_signal(&mut self, signal: &SignalInfo, now_ms: i64, out: &mut Effects) {
        if self.interval.is_none() {
            self.interval = Some(signal.interval);
        }
        if self.config.trade_signals {
            self.trade_signal(signal, now_ms, out);
            self.publish(now_ms, out);
        }
    }

    fn on_update(&mut self, update: &Update, _now_ms: i64, _out: &mut Effects) {
        if let Update::Models(view) = update
            && view.active_interval.is_some()
        {
            self.interval = view.active_interval;
        }
    }

    fn on_trade(&mut self, symbol: Symbol, trade: &Trade, now_ms: i64, out: &mut Effects) {
        if self.config.mode != PaperMode::Tick || !self.symbol_known(symbol) {
            return;
        }
        self.last_print_ms.insert(symbol, trade.time_ms);
        self.book
            .on_print(symbol, trade.price, trade.time_ms, &mut self.events);
        let filled = !self.events.is_empty();
        self.take_events(out);
        // Every print moves equity: the kill switch follows it (cheap: a sum over the symbols).
        self.follow_equity(trade.time_ms, out);
        let due = now_ms - self.published_ms >= PUBLISH_EVERY_MS;
        if filled || !out.writes.is_empty() || due {
            self.dirty = true;
            self.publish(now_ms, out);
        }
    }

    fn on_command(&mut self, command: &Command, now_ms: i64, out: &mut Effects) {
        match command {
            Command::PlaceOrder(ticket) => match self.ticket_request(ticket) {
                Ok(request) => {
                    let at = self.market_ms(ticket.symbol, now_ms);
                    self.place(request, at, out);
                }
                Err(e) => {
                    self.refused(Some(ticket.symbol), &e, now_ms, out);
                }
            },
            Command::CancelOrder { id } => match self.book.cancel(*id as u64) {
                Ok(o) => out.writes.push(WriteOp::Paper(log::cancel(
                    now_ms,
                    o.symbol,
                    o.id,
                    "cancelled by hand",
                ))),
                Err(e) => {
                    self.refused(None, &e, now_ms, out);
                }
            },
            Command::ResetKillSwitch => {
                if self.risk.killed.is_some() {
                    self.risk.reset(self.book.equity());
                    out.writes.push(WriteOp::Paper(log::note(
                        now_ms,
                        "reset",
                        None,
                        "kill switch reset by hand",
                    )));
                }
            }
            _ => return,
        }
        self.dirty = true;
        self.publish(now_ms, out);
    }

    fn on_tick(&mut self, now_ms: i64, out: &mut Effects) {
        self.publish(now_ms, out);
    }
}
