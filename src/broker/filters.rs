//! The exchange's filters applied to an order: quantities round down to the step, prices to the
//! nearest tick, and an order below the minimum quantity or value is refused.

use crate::domain::SymbolFilters;

use super::order::Reject;

/// `value` rounded down to a multiple of `step` (unchanged without a step). A tolerance of a
/// millionth of a step keeps 0.3 / 0.1 from rounding down to 0.2.
pub fn round_down(value: f64, step: f64) -> f64 {
    if step <= 0.0 {
        return value;
    }
    let steps = (value / step + 1e-6).floor();
    clean(steps * step, step)
}

/// `value` rounded to the nearest multiple of `step` (unchanged without a step).
pub fn round_nearest(value: f64, step: f64) -> f64 {
    if step <= 0.0 {
        return value;
    }
    clean((value / step).round() * step, step)
}

/// Strips the binary noise of `steps × step` (0.1 × 3 = 0.30000000000000004) at the step's
/// decimals.
fn clean(value: f64, step: f64) -> f64 {
    let decimals = (-step.log10()).ceil().clamp(0.0, 12.0) as i32 + 2;
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// The quantity the exchange accepts for `quantity` at `price`: rounded down to the step, and
/// refused below the minimum quantity or notional.
pub fn quantity(quantity: f64, price: f64, filters: &SymbolFilters) -> Result<f64, Reject> {
    let rounded = round_down(quantity, filters.step_size);
    if rounded <= 0.0 || rounded < filters.min_qty {
        return Err(Reject::BelowMinQty {
            quantity,
            rounded,
            step: filters.step_size,
            min_qty: filters.min_qty,
        });
    }
    let notional = rounded * price;
    if notional < filters.min_notional {
        return Err(Reject::BelowMinNotional {
            notional,
            min_notional: filters.min_notional,
        });
    }
    Ok(rounded)
}

/// A price at the tick.
pub fn price(price: f64, filters: &SymbolFilters) -> f64 {
    round_nearest(price, filters.tick_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> SymbolFilters {
        SymbolFilters {
            tick_size: 0.01,
            step_size: 0.00001,
            min_qty: 0.00001,
            min_notional: 5.0,
        }
    }

    #[test]
    fn quantities_round_down_to_the_step_and_prices_to_the_tick() {
        assert_eq!(quantity(0.123456789, 60_000.0, &btc()), Ok(0.12345));
        assert_eq!(round_down(0.3, 0.1), 0.3);
        assert_eq!(round_down(0.29999, 0.1), 0.2);
        assert_eq!(price(60_000.126, &btc()), 60_000.13);
        assert_eq!(price(60_000.124, &btc()), 60_000.12);
        assert_eq!(round_down(1.23456, 0.0), 1.23456);
    }

    #[test]
    fn orders_below_the_minimums_are_refused_with_the_reason() {
        let e = quantity(0.000009, 60_000.0, &btc()).unwrap_err();
        assert!(matches!(e, Reject::BelowMinQty { .. }), "{e}");
        assert!(e.to_string().contains("below the minimum 0.00001"), "{e}");
        // 0.00008 × 60,000 = 4.8 < 5.
        let e = quantity(0.00008, 60_000.0, &btc()).unwrap_err();
        assert!(e.to_string().contains("minimum notional 5"), "{e}");
        assert_eq!(quantity(0.00009, 60_000.0, &btc()), Ok(0.00009));
    }
}
