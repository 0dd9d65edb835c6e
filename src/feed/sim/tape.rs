//! One symbol's timeline: closed base candles, the candle in progress, and recent trades, revealed
//! as the sim clock passes them. Coarser intervals are aggregated from the base candles on demand.

use std::collections::VecDeque;

use super::market::Market;
use crate::domain::{Candle, Interval, Trade, TradeAggregator};

/// Recent trades kept at most, whatever the speed (about 2 MB a symbol): at a high speed the
/// trade retention spans many simulated minutes.
pub const MAX_RECENT_TRADES: usize = 50_000;

/// The ring of closed candles is allocated whole up front up to this size (128 MB, more than the
/// largest history the configuration allows); a bigger one grows as it fills.
const MAX_PREALLOCATED_CANDLES: usize = 1 << 21;

/// One base-interval candle with the trades it is made of (none for candle-only replays).
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    pub candle: Candle,
    pub trades: Vec<Trade>,
}

/// Where a tape's units come from.
#[derive(Debug)]
pub enum Source {
    /// The market model: endless.
    Model(Box<Market>),
    /// A recorded file: ends with the file.
    Recorded(std::vec::IntoIter<Unit>),
}

impl Source {
    fn next_unit(&mut self) -> Option<Unit> {
        match self {
            Source::Model(market) => Some(market.next_minute()),
            Source::Recorded(units) => units.next(),
        }
    }
}

/// The timeline of one symbol. Only what lies at or before `now_ms` is ever visible.
#[derive(Debug)]
pub struct Tape {
    base: Interval,
    source: Source,
    /// Closed base candles, oldest first: a ring of `max_closed`, allocated once, the oldest
    /// dropped as each new one closes.
    closed: VecDeque<Candle>,
    max_closed: usize,
    /// Open time of the oldest kept candle once older ones were dropped; coarser candles that
    /// would start before it are incomplete and not served.
    trimmed_from_ms: Option<i64>,
    /// The next unit: open (its open time is at or before now) or still in the future.
    current: Option<Unit>,
    /// How many of `current`'s trades are visible, and their aggregate.
    revealed: usize,
    partial: TradeAggregator,
    /// Visible trades of the last `trade_retention_ms`, oldest first, at most
    /// [`MAX_RECENT_TRADES`].
    recent: VecDeque<Trade>,
    trade_retention_ms: i64,
    now_ms: i64,
}

impl Tape {
    pub fn new(base: Interval, source: Source, max_closed: usize, trade_retention_ms: i64) -> Self {
        let max_closed = max_closed.max(1);
        Self {
            base,
            source,
            closed: VecDeque::with_capacity(max_closed.min(MAX_PREALLOCATED_CANDLES)),
            max_closed,
            trimmed_from_ms: None,
            current: None,
            revealed: 0,
            partial: TradeAggregator::new(base),
            recent: VecDeque::new(),
            trade_retention_ms: trade_retention_ms.max(2 * base.ms()),
            now_ms: i64::MIN,
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Intervals this tape can serve: whole multiples of its base interval, never `1s`.
    pub fn serves(&self, interval: Interval) -> bool {
        interval != Interval::S1 && interval.ms() % self.base.ms() == 0
    }

    /// Moves the tape's clock forward to `now_ms` (never back), closing and revealing what passed.
    pub fn advance(&mut self, now_ms: i64) {
        if now_ms <= self.now_ms {
            return;
        }
        self.now_ms = now_ms;
        let keep_trades_from = now_ms.saturating_sub(self.trade_retention_ms);
        loop {
            if self.current.is_none() {
                match self.source.next_unit() {
                    Some(unit) => {
                        self.current = Some(unit);
                        self.revealed = 0;
                        self.partial = TradeAggregator::new(self.base);
                    }
                    None => break,
                }
            }
            let Some(unit) = self.current.as_ref() else {
                break;
            };
            let close_ms = unit.candle.open_time_ms + self.base.ms();
            if close_ms <= now_ms {
                if close_ms > keep_trades_from {
                    self.recent
                        .extend(unit.trades[self.revealed..].iter().copied());
                }
                if self.closed.len() == self.max_closed {
                    self.closed.pop_front();
                    self.trimmed_from_ms = self.closed.front().map(|c| c.open_time_ms);
                }
                self.closed.push_back(unit.candle);
                self.current = None;
                self.revealed = 0;
                self.partial = TradeAggregator::new(self.base);
                continue;
            }
            while let Some(trade) = unit.trades.get(self.revealed) {
                if trade.time_ms > now_ms {
                    break;
                }
                self.partial.push(trade);
                self.recent.push_back(*trade);
                self.revealed += 1;
            }
            break;
        }
        while self.recent.len() > MAX_RECENT_TRADES
            || self
                .recent
                .front()
                .is_some_and(|t| t.time_ms < keep_trades_from)
        {
            self.recent.pop_front();
        }
    }

    /// The base candle in progress at `now_ms`, as far as its trades so far make it.
    fn open_unit(&self) -> Option<Candle> {
        self.partial.current().copied()
    }

    /// Closed base candles followed by the open one, starting at index `from`.
    fn units_from(&self, from: usize) -> impl Iterator<Item = Candle> + '_ {
        let closed = self.closed.range(from.min(self.closed.len())..);
        let open = self.open_unit().filter(|_| from <= self.closed.len());
        closed.copied().chain(open)
    }

    fn unit_open_ms(&self, index: usize) -> i64 {
        match self.closed.get(index) {
            Some(c) => c.open_time_ms,
            None => self.open_unit().map_or(i64::MAX, |c| c.open_time_ms),
        }
    }

    /// Index of the first unit whose open time is at or after `time_ms`.
    fn first_at_or_after(&self, time_ms: i64) -> usize {
        let closed = self.closed.partition_point(|c| c.open_time_ms < time_ms);
        if closed < self.closed.len() {
            return closed;
        }
        match self.open_unit() {
            Some(open) if open.open_time_ms < time_ms => closed + 1,
            _ => closed,
        }
    }

    fn oldest_servable_ms(&self) -> i64 {
        self.trimmed_from_ms.unwrap_or(i64::MIN)
    }

    /// Candles as `GET /api/v3/klines` answers them: open time in `[start, end]` and at or before
    /// now, oldest first, at most `limit`; without `start`, the latest `limit` ones. The last one
    /// may be the candle still open.
    pub fn klines(
        &self,
        interval: Interval,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        limit: usize,
    ) -> Vec<Candle> {
        let end_open = end_ms.unwrap_or(i64::MAX).min(self.now_ms);
        let oldest = self.oldest_servable_ms();
        if let Some(start_ms) = start_ms {
            let from = start_ms.max(oldest);
            let index = self.first_at_or_after(from);
            return aggregate(self.units_from(index), interval, from, end_open, limit);
        }
        // Walk back from the end to where the latest `limit` candles begin.
        let past_end =
            self.first_at_or_after(interval.floor(end_open).saturating_add(interval.ms()));
        let mut start = past_end;
        let mut groups = 0;
        let mut last_floor = None;
        while start > 0 {
            let floor = interval.floor(self.unit_open_ms(start - 1));
            if last_floor != Some(floor) {
                if groups == limit {
                    break;
                }
                groups += 1;
                last_floor = Some(floor);
            }
            start -= 1;
        }
        aggregate(self.units_from(start), interval, oldest, end_open, limit)
    }

    /// Closed candles of `interval` opening after `after_open_ms`, oldest first.
    pub fn closed_after(&self, interval: Interval, after_open_ms: i64) -> Vec<Candle> {
        let from = after_open_ms
            .saturating_add(1)
            .max(self.oldest_servable_ms());
        let index = self.first_at_or_after(from);
        aggregate(
            self.units_from(index),
            interval,
            from,
            self.last_closed_slot(interval),
            usize::MAX,
        )
    }

    /// Open time of the latest candle of `interval` that has closed by now (whether it has data).
    pub fn last_closed_slot(&self, interval: Interval) -> i64 {
        interval.floor(self.now_ms) - interval.ms()
    }

    /// Every closed candle of `interval` the tape holds, oldest first.
    pub fn closed_candles(&self, interval: Interval) -> Vec<Candle> {
        self.closed_after(interval, i64::MIN)
    }

    /// The candle of `interval` that is open now, if it has any data yet.
    pub fn open_candle(&self, interval: Interval) -> Option<Candle> {
        let floor = interval.floor(self.now_ms);
        let index = self.first_at_or_after(floor);
        aggregate(self.units_from(index), interval, floor, floor, 1).pop()
    }

    /// Visible trades with an id above `after_id` (all kept ones for `None`), oldest first.
    pub fn trades_after(&self, after_id: Option<u64>) -> impl Iterator<Item = &Trade> {
        let start = after_id.map_or(0, |id| self.recent.partition_point(|t| t.trade_id <= id));
        self.recent.range(start..)
    }

    /// Id of the latest visible trade.
    pub fn last_trade_id(&self) -> Option<u64> {
        self.recent.back().map(|t| t.trade_id)
    }

    /// Number of closed base candles kept.
    #[cfg(test)]
    pub fn closed_len(&self) -> usize {
        self.closed.len()
    }

    /// What the tape holds in memory: (closed candles, their allocated capacity, recent trades,
    /// their allocated capacity).
    #[cfg(test)]
    pub fn retained(&self) -> (usize, usize, usize, usize) {
        (
            self.closed.len(),
            self.closed.capacity(),
            self.recent.len(),
            self.recent.capacity(),
        )
    }
}

/// Folds base candles into candles of `interval` whose open time lies in `[min_open, max_open]`,
/// at most `limit` of them. Always sums in time order, so every path gets bit-identical candles.
pub fn aggregate(
    units: impl Iterator<Item = Candle>,
    interval: Interval,
    min_open: i64,
    max_open: i64,
    limit: usize,
) -> Vec<Candle> {
    let mut out = Vec::new();
    if limit == 0 {
        return out;
    }
    let mut current: Option<Candle> = None;
    for unit in units {
        let open = interval.floor(unit.open_time_ms);
        if open < min_open {
            continue;
        }
        if open > max_open {
            break;
        }
        match &mut current {
            Some(c) if c.open_time_ms == open => {
                c.high = c.high.max(unit.high);
                c.low = c.low.min(unit.low);
                c.close = unit.close;
                c.volume += unit.volume;
                c.quote_volume += unit.quote_volume;
                c.trades += unit.trades;
            }
            _ => {
                if let Some(done) = current.take() {
                    out.push(done);
                    if out.len() == limit {
                        return out;
                    }
                }
                current = Some(Candle {
                    open_time_ms: open,
                    ..unit
                });
            }
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests;
