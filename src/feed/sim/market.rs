//! The market model: one-minute candles with the stylised facts of real prices (fat tails,
//! volatility clustering, regimes, an intraday volume smile), each built from its own trades.

use super::rng::{Rng, fnv1a};
use super::shock::{self, VolatilityShock};
use super::tape::Unit;
use crate::domain::{Candle, Interval, Symbol, Trade, TradeAggregator};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// GARCH(1,1) on the per-minute shock: persistence alpha + beta = 0.97.
const GARCH_ALPHA: f64 = 0.12;
const GARCH_BETA: f64 = 0.85;
/// Chance per minute of leaving the current regime (a regime lasts about 10 hours on average).
const REGIME_SWITCH: f64 = 1.0 / 600.0;
/// Weight of the market-wide shock in each symbol's shock: crypto moves together.
const MARKET_WEIGHT: f64 = 0.6;
/// Pull of the log price towards its start, per minute, so a long run stays in a sane range.
const MEAN_REVERSION: f64 = 1e-5;
const MAX_TRADES_PER_MINUTE: usize = 600;

/// Tick size, lot size and scale of one simulated symbol.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SymbolParams {
    pub start_price: f64,
    /// Prices are multiples of 10^-price_decimals.
    pub price_decimals: u32,
    /// Quantities are multiples of 10^-quantity_decimals.
    pub quantity_decimals: u32,
    /// Typical standard deviation of a one-minute log return.
    pub minute_volatility: f64,
    /// Typical quote-asset turnover per minute.
    pub quote_per_minute: f64,
    /// Typical number of trades per minute.
    pub trades_per_minute: f64,
}

/// Plausible start prices for well-known symbols; others get one from the name's hash.
const KNOWN_PRICES: [(&str, f64); 12] = [
    ("BTCUSDT", 65_000.0),
    ("ETHUSDT", 3_200.0),
    ("SOLUSDT", 150.0),
    ("BNBUSDT", 580.0),
    ("XRPUSDT", 0.52),
    ("ADAUSDT", 0.45),
    ("DOGEUSDT", 0.15),
    ("LTCUSDT", 80.0),
    ("DOTUSDT", 6.5),
    ("ETHBTC", 0.05),
    ("BNBBTC", 0.009),
    ("XRPETH", 0.00016),
];

impl SymbolParams {
    pub fn for_symbol(symbol: Symbol) -> Self {
        let hash = fnv1a(symbol.as_str());
        let unit = |shift: u32| ((hash >> shift) & 0xFFFF) as f64 / 65_535.0;
        let start_price = KNOWN_PRICES
            .iter()
            .find(|(name, _)| *name == symbol.as_str())
            .map(|(_, price)| *price)
            .unwrap_or_else(|| {
                // 0.01 .. 10,000, rounded to four significant digits.
                let raw = 10f64.powf(unit(0) * 6.0 - 2.0);
                let scale = 10f64.powi(raw.log10().floor() as i32 - 3);
                (raw / scale).round() * scale
            });
        let magnitude = start_price.log10().floor() as i32;
        Self {
            start_price,
            price_decimals: (6 - magnitude).clamp(0, 8) as u32,
            quantity_decimals: (magnitude + 1).clamp(0, 8) as u32,
            // Daily volatility of about 2.5 % to 5 %.
            minute_volatility: (0.025 + 0.025 * unit(16)) / (1440f64).sqrt(),
            quote_per_minute: 50_000.0 * 10f64.powf(unit(32)),
            trades_per_minute: 15.0 + 25.0 * unit(48),
        }
    }
}

/// Hidden market regime, switching with a small probability each minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Regime {
    Calm,
    Trending,
    Volatile,
}

impl Regime {
    fn volatility_multiplier(self) -> f64 {
        match self {
            Regime::Calm => 0.6,
            Regime::Trending => 1.0,
            Regime::Volatile => 2.2,
        }
    }

    /// Drift per minute in units of the base minute volatility.
    fn drift(self) -> f64 {
        match self {
            Regime::Trending => 0.01,
            Regime::Calm | Regime::Volatile => 0.0,
        }
    }
}

/// Activity over the UTC day: high around midnight UTC, low around noon (0.4 .. 1.6).
pub fn intraday_activity(time_ms: i64) -> f64 {
    let day_fraction = time_ms.rem_euclid(DAY_MS) as f64 / DAY_MS as f64;
    1.0 + 0.6 * (std::f64::consts::TAU * day_fraction).cos()
}

/// Rounds to a multiple of 10^-decimals; dividing by an exact power of ten gives the double that
/// prints as the short decimal.
fn round_to(value: f64, decimals: u32) -> f64 {
    let scale = 10f64.powi(decimals as i32);
    (value * scale).round().max(1.0) / scale
}

/// The simulated market of one symbol: generates its minutes one after another.
#[derive(Clone, Debug)]
pub struct Market {
    seed: u64,
    params: SymbolParams,
    rng: Rng,
    log_price: f64,
    anchor_log_price: f64,
    variance: f64,
    regime: Regime,
    trend_sign: f64,
    last_price: f64,
    next_trade_id: u64,
    next_open_ms: i64,
    /// This symbol's volatility shocks as `(from_ms, factor)`, sorted by `from_ms`.
    shocks: Vec<(i64, f64)>,
}

impl Market {
    /// A market whose first minute opens at `first_open_ms` (floored to the minute).
    #[cfg(test)]
    pub fn new(seed: u64, symbol: Symbol, first_open_ms: i64) -> Self {
        Self::with_shocks(seed, symbol, first_open_ms, &[])
    }

    /// Like [`Market::new`], with those of `shocks` that name `symbol` applied (others ignored).
    /// Up to the first shock's minute the market is exactly the unshocked one.
    pub fn with_shocks(
        seed: u64,
        symbol: Symbol,
        first_open_ms: i64,
        shocks: &[VolatilityShock],
    ) -> Self {
        let params = SymbolParams::for_symbol(symbol);
        let symbol_hash = fnv1a(symbol.as_str());
        let mut rng = Rng::new(seed ^ symbol_hash);
        let log_price = params.start_price.ln();
        let regime = match rng.below(3) {
            0 => Regime::Calm,
            1 => Regime::Trending,
            _ => Regime::Volatile,
        };
        let trend_sign = if rng.below(2) == 0 { 1.0 } else { -1.0 };
        Self {
            seed,
            params,
            rng,
            log_price,
            anchor_log_price: log_price,
            variance: params.minute_volatility.powi(2),
            regime,
            trend_sign,
            last_price: round_to(params.start_price, params.price_decimals),
            next_trade_id: 1_000_000 + (symbol_hash >> 40),
            next_open_ms: Interval::M1.floor(first_open_ms),
            shocks: shock::for_symbol(shocks, symbol),
        }
    }

    pub fn params(&self) -> &SymbolParams {
        &self.params
    }

    /// The market-wide shock of a minute: the same for every symbol of one seed, drawn from a
    /// generator keyed by the minute so symbols can be generated independently.
    fn market_shock(&self, open_ms: i64) -> f64 {
        let key = (open_ms as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Rng::new(self.seed ^ key ^ 0x5EED_0F3A_4CE7).student_t4()
    }

    fn switch_regime(&mut self) {
        if self.rng.uniform() >= REGIME_SWITCH {
            return;
        }
        let others = match self.regime {
            Regime::Calm => [Regime::Trending, Regime::Volatile],
            Regime::Trending => [Regime::Calm, Regime::Volatile],
            Regime::Volatile => [Regime::Calm, Regime::Trending],
        };
        self.regime = others[self.rng.below(2) as usize];
        if self.regime == Regime::Trending {
            self.trend_sign = if self.rng.below(2) == 0 { 1.0 } else { -1.0 };
        }
    }

    /// Generates the next minute: its trades, and the candle that is exactly their aggregate.
    pub fn next_minute(&mut self) -> Unit {
        let open_ms = self.next_open_ms;
        self.next_open_ms += MINUTE_MS;
        self.switch_regime();

        let base_sigma = self.params.minute_volatility;
        let activity = intraday_activity(open_ms);
        let mut sigma =
            self.variance.sqrt() * self.regime.volatility_multiplier() * (0.85 + 0.15 * activity);
        // A volatility shock scales the return (and the path within the minute) only: the GARCH
        // recursion below runs on the unscaled shock, so the return scale is exactly `factor`
        // times the model's (feeding it the scaled one would move, or for a factor above about
        // 1.1 explode, its stationary level). Volume still follows |return| / base sigma, so
        // bigger moves bring more trading, as in the unshocked model.
        if let Some(factor) = shock::factor_at(&self.shocks, open_ms) {
            sigma *= factor;
        }
        let own = self.rng.student_t4();
        let z = MARKET_WEIGHT * self.market_shock(open_ms)
            + (1.0 - MARKET_WEIGHT * MARKET_WEIGHT).sqrt() * own;
        let drift = self.regime.drift() * self.trend_sign * base_sigma
            - MEAN_REVERSION * (self.log_price - self.anchor_log_price);
        let minute_return = drift + sigma * z;
        // The variance feeds on the shock without the regime multiplier, so that a volatile
        // regime cannot make the GARCH recursion explode.
        let shock = self.variance.sqrt() * z;
        self.variance = base_sigma.powi(2) * (1.0 - GARCH_ALPHA - GARCH_BETA)
            + GARCH_ALPHA * shock * shock
            + GARCH_BETA * self.variance;

        // Volume follows the intraday smile and the size of the move, with some noise.
        let surprise = (minute_return.abs() / base_sigma).min(8.0);
        let noise = (0.25 * self.rng.normal() - 0.031_25).exp();
        let volume_factor = activity * (0.35 + 0.65 * surprise) * noise;
        let count =
            (self.params.trades_per_minute * volume_factor * (0.7 + 0.6 * self.rng.uniform()))
                .round()
                .clamp(1.0, MAX_TRADES_PER_MINUTE as f64) as usize;
        let quote_volume = self.params.quote_per_minute * volume_factor;

        let trades = self.minute_trades(open_ms, count, minute_return, sigma, quote_volume);
        self.log_price += minute_return;
        let mut aggregator = TradeAggregator::new(Interval::M1);
        for trade in &trades {
            aggregator.push(trade);
        }
        let candle = aggregator.flush().unwrap_or(Candle {
            open_time_ms: open_ms,
            open: self.last_price,
            high: self.last_price,
            low: self.last_price,
            close: self.last_price,
            volume: 0.0,
            quote_volume: 0.0,
            trades: 0,
        });
        Unit { candle, trades }
    }

    /// The trades of one minute: random times, a Brownian bridge from the previous close to this
    /// minute's close, prices on the tick grid, quantities on the lot grid.
    fn minute_trades(
        &mut self,
        open_ms: i64,
        count: usize,
        minute_return: f64,
        sigma: f64,
        quote_volume: f64,
    ) -> Vec<Trade> {
        let mut offsets: Vec<i64> = (0..count)
            .map(|_| self.rng.below(MINUTE_MS as u64) as i64)
            .collect();
        offsets.sort_unstable();
        let step = sigma / (count as f64).sqrt();
        let mut path = Vec::with_capacity(count);
        let mut level = 0.0;
        for _ in 0..count {
            level += step * self.rng.normal();
            path.push(level);
        }
        let miss = level - minute_return;
        let weights: Vec<f64> = (0..count).map(|_| self.rng.exponential()).collect();
        let weight_sum: f64 = weights.iter().sum();
        let base_volume = quote_volume / self.log_price.exp();
        let mut trades = Vec::with_capacity(count);
        for (k, ((offset, point), weight)) in offsets.iter().zip(&path).zip(&weights).enumerate() {
            let bridged = point - miss * (k + 1) as f64 / count as f64;
            let price = round_to((self.log_price + bridged).exp(), self.params.price_decimals);
            let quantity = round_to(
                base_volume * weight / weight_sum,
                self.params.quantity_decimals,
            );
            let buyer_is_maker = if price == self.last_price {
                self.rng.below(2) == 0
            } else {
                price < self.last_price
            };
            self.last_price = price;
            trades.push(Trade {
                trade_id: self.next_trade_id,
                time_ms: open_ms + offset,
                price,
                quantity,
                buyer_is_maker,
            });
            self.next_trade_id += 1;
        }
        trades
    }
}

#[cfg(test)]
mod tests;
