//! Candles (OHLCV bars keyed by open time), trades, and the trade → candle aggregation.

use serde::{Deserialize, Serialize};

/// One OHLCV bar. Times are UTC milliseconds; a candle is identified by its open time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candle {
    pub open_time_ms: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Base-asset volume.
    pub volume: f64,
    /// Quote-asset volume.
    pub quote_volume: f64,
    pub trades: u64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CandleError {
    #[error("{field} is not a finite number")]
    NotFinite { field: &'static str },
    #[error("{field} is negative ({value})")]
    Negative { field: &'static str, value: f64 },
    #[error("{field} {value:e} is out of range (at most {limit:e})")]
    TooLarge {
        field: &'static str,
        value: f64,
        limit: f64,
    },
    #[error("price {field} is zero")]
    ZeroPrice { field: &'static str },
    #[error("high {high} is below max(open, close) = {max}")]
    HighTooLow { high: f64, max: f64 },
    #[error("low {low} is above min(open, close) = {min}")]
    LowTooHigh { low: f64, min: f64 },
}

/// The largest price a candle may have (no asset trades near it; a larger one is a bad file).
pub const MAX_PRICE: f64 = 1e12;

/// The largest volume (base or quote) a candle may have.
pub const MAX_VOLUME: f64 = 1e18;

impl Candle {
    /// Checks the invariants every stored candle keeps: finite, non-negative values, prices above
    /// zero and at most [`MAX_PRICE`], volumes at most [`MAX_VOLUME`], `high >= max(open, close)`
    /// and `low <= min(open, close)`.
    pub fn validate(&self) -> Result<(), CandleError> {
        let fields = [
            ("open", self.open),
            ("high", self.high),
            ("low", self.low),
            ("close", self.close),
            ("volume", self.volume),
            ("quote_volume", self.quote_volume),
        ];
        for (field, value) in fields {
            if !value.is_finite() {
                return Err(CandleError::NotFinite { field });
            }
            if value < 0.0 {
                return Err(CandleError::Negative { field, value });
            }
        }
        for (i, (field, value)) in fields.into_iter().enumerate() {
            let limit = if i < 4 { MAX_PRICE } else { MAX_VOLUME };
            if value > limit {
                return Err(CandleError::TooLarge {
                    field,
                    value,
                    limit,
                });
            }
        }
        for (field, value) in &fields[..4] {
            if *value == 0.0 {
                return Err(CandleError::ZeroPrice { field });
            }
        }
        let max = self.open.max(self.close);
        if self.high < max {
            return Err(CandleError::HighTooLow {
                high: self.high,
                max,
            });
        }
        let min = self.open.min(self.close);
        if self.low > min {
            return Err(CandleError::LowTooHigh { low: self.low, min });
        }
        Ok(())
    }

    /// Close time as Binance reports it: the last millisecond inside the candle.
    pub fn close_time_ms(&self, interval_ms: i64) -> i64 {
        self.open_time_ms + interval_ms - 1
    }

    /// Relative change from open to close.
    pub fn change(&self) -> f64 {
        if self.open == 0.0 {
            0.0
        } else {
            self.close / self.open - 1.0
        }
    }
}

/// One executed trade.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    pub trade_id: u64,
    pub time_ms: i64,
    pub price: f64,
    pub quantity: f64,
    /// The buyer was the maker, i.e. the aggressor sold.
    pub buyer_is_maker: bool,
}

/// Folds trades into candles of one interval. Feeding trades in time order yields each candle once,
/// when the first trade of a later candle arrives (or on [`TradeAggregator::flush`]).
#[derive(Clone, Debug)]
pub struct TradeAggregator {
    interval_ms: i64,
    current: Option<Candle>,
}

impl TradeAggregator {
    pub fn new(interval: super::Interval) -> Self {
        Self {
            interval_ms: interval.ms(),
            current: None,
        }
    }

    /// Adds a trade; returns the candle it closed, if it started a new one. Trades older than the
    /// current candle are folded into it (late prints), never into a closed candle.
    pub fn push(&mut self, trade: &Trade) -> Option<Candle> {
        let open_time_ms = trade.time_ms - trade.time_ms.rem_euclid(self.interval_ms);
        match &mut self.current {
            Some(c) if open_time_ms <= c.open_time_ms => {
                c.high = c.high.max(trade.price);
                c.low = c.low.min(trade.price);
                c.close = trade.price;
                c.volume += trade.quantity;
                c.quote_volume += trade.quantity * trade.price;
                c.trades += 1;
                None
            }
            _ => {
                let fresh = Candle {
                    open_time_ms,
                    open: trade.price,
                    high: trade.price,
                    low: trade.price,
                    close: trade.price,
                    volume: trade.quantity,
                    quote_volume: trade.quantity * trade.price,
                    trades: 1,
                };
                self.current.replace(fresh)
            }
        }
    }

    /// The candle being built (not yet closed).
    pub fn current(&self) -> Option<&Candle> {
        self.current.as_ref()
    }

    /// Ends the series, returning the last candle.
    pub fn flush(&mut self) -> Option<Candle> {
        self.current.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Interval;
    use crate::domain::fixtures::ohlc;

    fn candle(o: f64, h: f64, l: f64, c: f64) -> Candle {
        ohlc(0, o, h, l, c)
    }

    #[test]
    fn validates() {
        assert_eq!(candle(1.0, 2.0, 0.5, 1.5).validate(), Ok(()));
        assert!(matches!(
            candle(1.0, 1.2, 0.5, 1.5).validate(),
            Err(CandleError::HighTooLow { .. })
        ));
        assert!(matches!(
            candle(1.0, 2.0, 1.1, 1.5).validate(),
            Err(CandleError::LowTooHigh { .. })
        ));
        assert!(matches!(
            candle(f64::NAN, 2.0, 0.5, 1.5).validate(),
            Err(CandleError::NotFinite { field: "open" })
        ));
        assert!(matches!(
            candle(1.0, 2.0, -0.5, 1.5).validate(),
            Err(CandleError::Negative { field: "low", .. })
        ));
        assert!(matches!(
            candle(0.0, 2.0, 0.0, 1.5).validate(),
            Err(CandleError::ZeroPrice { .. })
        ));
    }

    #[test]
    fn aggregates_trades() {
        let mut agg = TradeAggregator::new(Interval::M1);
        let t = |time_ms, price, quantity| Trade {
            trade_id: 0,
            time_ms,
            price,
            quantity,
            buyer_is_maker: false,
        };
        assert_eq!(agg.push(&t(60_000, 10.0, 1.0)), None);
        assert_eq!(agg.push(&t(61_000, 12.0, 2.0)), None);
        assert_eq!(agg.push(&t(62_000, 9.0, 1.0)), None);
        let closed = agg
            .push(&t(125_000, 11.0, 1.0))
            .expect("closes the first minute");
        assert_eq!(closed.open_time_ms, 60_000);
        assert_eq!(
            (closed.open, closed.high, closed.low, closed.close),
            (10.0, 12.0, 9.0, 9.0)
        );
        assert_eq!(closed.volume, 4.0);
        assert_eq!(closed.quote_volume, 10.0 + 24.0 + 9.0);
        assert_eq!(closed.trades, 3);
        assert_eq!(agg.flush().map(|c| c.open_time_ms), Some(120_000));
    }
}
