//! The exchange's state: its listed symbols, each with a tape behind a lock, and the sim clock.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::market::Market;
use super::replay;
use super::tape::{Source, Tape};
use super::{SimError, SimOptions};
use crate::domain::{Interval, Symbol};

const MINUTE_MS: i64 = 60_000;
/// One-minute candles kept per symbol beyond the history: one simulated day, so REST and a
/// client's backfill after a reconnect reach back a day past the history (1500 + 1440 by default,
/// 188 KB a symbol). Older requests are answered from the oldest kept candle on.
const KEPT_BEYOND_HISTORY_MINUTES: usize = 1440;
/// Trades stay available for streaming this long in real time, at least two minutes of sim time.
const TRADE_RETENTION_REAL_MS: f64 = 10_000.0;

/// Sim time = `start_ms + real elapsed * speed`.
#[derive(Clone, Copy, Debug)]
pub struct SimClock {
    start_ms: i64,
    speed: f64,
    origin: Instant,
}

impl SimClock {
    pub fn new(start_ms: i64, speed: f64) -> Self {
        Self {
            start_ms,
            speed,
            origin: Instant::now(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        let elapsed_ms = self.origin.elapsed().as_secs_f64() * 1000.0;
        self.start_ms
            .saturating_add((elapsed_ms * self.speed) as i64)
    }
}

/// A symbol the exchange lists.
#[derive(Debug)]
pub struct Listing {
    pub symbol: Symbol,
    pub base_asset: String,
    pub quote_asset: String,
    /// Price and quantity decimals, where the exchange knows them (the model does).
    pub decimals: Option<(u32, u32)>,
    tape: Mutex<Tape>,
}

/// Splits `BTCUSDT` into `BTC` and `USDT` on the common quote assets, else before the last three.
pub fn split_assets(symbol: Symbol) -> (String, String) {
    const QUOTES: [&str; 12] = [
        "USDT", "FDUSD", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "BRL", "DAI",
    ];
    let name = symbol.as_str();
    let split = QUOTES
        .iter()
        .find(|q| name.len() > q.len() && name.ends_with(*q))
        .map_or(name.len().saturating_sub(3).max(1), |q| {
            name.len() - q.len()
        });
    (name[..split].to_string(), name[split..].to_string())
}

/// Every listed symbol and the clock.
#[derive(Debug)]
pub struct Exchange {
    clock: SimClock,
    listings: Vec<Listing>,
}

impl Exchange {
    /// Builds the tapes and generates (or loads) the history before the start. Blocking work.
    pub fn build(options: &SimOptions, wall_now_ms: i64) -> Result<Self, SimError> {
        let history_ms = i64::from(options.history_minutes) * MINUTE_MS;
        let retention_ms = ((TRADE_RETENTION_REAL_MS * options.speed) as i64).max(2 * MINUTE_MS);
        let (start_ms, listings) = match &options.replay {
            Some(path) => {
                let given = match options.symbols.as_slice() {
                    [one] => Some(*one),
                    _ => None,
                };
                let recording = replay::load(path, given)?;
                let start_ms = options
                    .start_ms
                    .unwrap_or_else(|| recording.first_open_ms() + history_ms);
                let kept = recording.units.len() + 1;
                let tape = Tape::new(
                    recording.base,
                    Source::Recorded(recording.units.into_iter()),
                    kept,
                    retention_ms,
                );
                (start_ms, vec![listing(recording.symbol, None, tape)])
            }
            None => {
                let start_ms = options
                    .start_ms
                    .unwrap_or_else(|| Interval::M1.floor(wall_now_ms));
                let kept = options.history_minutes as usize + KEPT_BEYOND_HISTORY_MINUTES;
                let mut listings = Vec::with_capacity(options.symbols.len());
                for &symbol in &options.symbols {
                    if listings.iter().any(|l: &Listing| l.symbol == symbol) {
                        continue;
                    }
                    let market = Market::with_shocks(
                        options.seed,
                        symbol,
                        start_ms - history_ms,
                        &options.shocks,
                    );
                    let params = *market.params();
                    let source = Source::Model(Box::new(market));
                    let tape = Tape::new(Interval::M1, source, kept, retention_ms);
                    let decimals = Some((params.price_decimals, params.quantity_decimals));
                    listings.push(listing(symbol, decimals, tape));
                }
                (start_ms, listings)
            }
        };
        for listing in &listings {
            lock(&listing.tape).advance(start_ms);
        }
        Ok(Self {
            clock: SimClock::new(start_ms, options.speed),
            listings,
        })
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn listings(&self) -> &[Listing] {
        &self.listings
    }

    pub fn symbols(&self) -> Vec<Symbol> {
        self.listings.iter().map(|l| l.symbol).collect()
    }

    pub fn listing(&self, symbol: Symbol) -> Option<&Listing> {
        self.listings.iter().find(|l| l.symbol == symbol)
    }

    /// Runs `f` on the symbol's tape, brought up to sim now first.
    pub fn with_tape<R>(&self, symbol: Symbol, f: impl FnOnce(&Tape) -> R) -> Option<R> {
        let listing = self.listing(symbol)?;
        let mut tape = lock(&listing.tape);
        tape.advance(self.clock.now_ms());
        Some(f(&tape))
    }
}

fn listing(symbol: Symbol, decimals: Option<(u32, u32)>, tape: Tape) -> Listing {
    let (base_asset, quote_asset) = split_assets(symbol);
    Listing {
        symbol,
        base_asset,
        quote_asset,
        decimals,
        tape: Mutex::new(tape),
    }
}

/// A panic while holding a tape cannot leave it half-written in a way that matters more than
/// stopping the whole exchange would, so a poisoned lock is used as it is.
fn lock(tape: &Mutex<Tape>) -> std::sync::MutexGuard<'_, Tape> {
    tape.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_assets() {
        let split = |s: &str| split_assets(Symbol::new(s).unwrap());
        assert_eq!(split("BTCUSDT"), ("BTC".into(), "USDT".into()));
        assert_eq!(split("ETHBTC"), ("ETH".into(), "BTC".into()));
        assert_eq!(split("XRPETH"), ("XRP".into(), "ETH".into()));
        assert_eq!(split("BNBFDUSD"), ("BNB".into(), "FDUSD".into()));
        assert_eq!(split("ABCXYZ"), ("ABC".into(), "XYZ".into()));
        assert_eq!(split("AB"), ("A".into(), "B".into()));
    }

    #[test]
    fn generating_many_candles_keeps_memory_bounded() {
        let btc = Symbol::new("BTCUSDT").unwrap();
        let mut options = SimOptions::new(7, vec![btc]);
        options.history_minutes = 60;
        options.start_ms = Some(1_700_006_400_000);
        // A high speed keeps trades for many simulated minutes.
        options.speed = 100_000.0;
        let exchange = Exchange::build(&options, 0).unwrap();
        let kept = 60 + KEPT_BEYOND_HISTORY_MINUTES;
        let tape = &exchange.listings()[0].tape;
        let mut peak = (0, 0, 0, 0);
        for day in 1..=20 {
            lock(tape).advance(1_700_006_400_000 + day * 1440 * MINUTE_MS);
            let (closed, closed_capacity, trades, trades_capacity) = lock(tape).retained();
            assert_eq!(closed, kept, "closed candles after {day} days");
            assert!(closed_capacity <= kept + kept / 8, "{closed_capacity}");
            if day > 2 {
                // Allocations reach a plateau once the retention is full, and stay there.
                assert!(closed_capacity <= peak.1, "{closed_capacity} > {}", peak.1);
                assert!(trades_capacity <= peak.3, "{trades_capacity} > {}", peak.3);
            }
            assert!(trades <= super::super::tape::MAX_RECENT_TRADES, "{trades}");
            peak = (closed, closed_capacity, trades, trades_capacity);
        }
        let served = lock(tape).closed_candles(Interval::M1);
        assert_eq!(served.len(), kept);
    }
}
