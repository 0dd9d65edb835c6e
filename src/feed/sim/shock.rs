//! Volatility shocks: from a given minute on, one symbol's return volatility is multiplied by a
//! factor, for tests of what watches the market (drift monitors) to see one series change.

use crate::config::SimConfig;
use crate::domain::Symbol;
use crate::domain::parse_time;

/// The largest factor a shock may have: beyond it prices leave any sane range within minutes.
pub const MAX_SHOCK_FACTOR: f64 = 100.0;

/// From the first minute whose open time is at or after `from_ms`, the standard deviation of
/// `symbol`'s one-minute returns is `factor` times what the model would give (its GARCH
/// recursion, regimes and the market-wide shock run on unchanged; volume reacts to the bigger or
/// smaller moves as it does to any). Of several shocks of one symbol, the one with the latest
/// `from_ms` not after a minute applies to it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VolatilityShock {
    pub symbol: Symbol,
    pub from_ms: i64,
    pub factor: f64,
}

/// A shock as the command line gives it, `SYMBOL:FACTOR[@TIME]`: without a time it starts at the
/// sim start (`from_ms` `None`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShockSpec {
    pub symbol: Symbol,
    pub factor: f64,
    pub from_ms: Option<i64>,
}

impl ShockSpec {
    /// The shock, starting at `start_ms` unless it names its own time.
    pub fn starting(self, start_ms: i64) -> VolatilityShock {
        VolatilityShock {
            symbol: self.symbol,
            from_ms: self.from_ms.unwrap_or(start_ms),
            factor: self.factor,
        }
    }
}

/// Why a factor is refused, or `None` for a good one (finite, above 0, at most 100).
pub fn factor_problem(factor: f64) -> Option<String> {
    if factor.is_finite() && factor > 0.0 && factor <= MAX_SHOCK_FACTOR {
        None
    } else {
        Some(format!(
            "factor {factor} must be a finite number above 0 and at most {MAX_SHOCK_FACTOR}"
        ))
    }
}

/// Parses `SYMBOL:FACTOR[@TIME]` (`BTCUSDT:3`, `ETHUSDT:0.5@2026-01-01T12:00`); TIME in any form
/// [`parse_time`] takes. The error quotes the text and says what is wrong with it.
pub fn parse_shock(text: &str) -> Result<ShockSpec, String> {
    let bad = |why: String| format!("{text:?}: {why}; expected SYMBOL:FACTOR[@TIME]");
    let (symbol, rest) = text
        .split_once(':')
        .ok_or_else(|| bad("no ':' between the symbol and the factor".into()))?;
    let symbol = Symbol::new(symbol.trim()).map_err(|e| bad(format!("symbol: {e}")))?;
    let (factor, time) = match rest.split_once('@') {
        Some((factor, time)) => (factor, Some(time)),
        None => (rest, None),
    };
    let factor: f64 = factor
        .trim()
        .parse()
        .map_err(|_| bad(format!("factor {:?} is not a number", factor.trim())))?;
    if let Some(problem) = factor_problem(factor) {
        return Err(bad(problem));
    }
    let from_ms = time
        .map(|t| parse_time(t).map_err(|e| bad(format!("time: {e}"))))
        .transpose()?;
    Ok(ShockSpec {
        symbol,
        factor,
        from_ms,
    })
}

/// The `[feed.sim] shocks` of `config` that name one of `symbols` (the others are not simulated
/// by this exchange), those without `from` starting at `start_ms`.
pub fn config_shocks(
    config: &SimConfig,
    symbols: &[Symbol],
    start_ms: i64,
) -> Vec<VolatilityShock> {
    config
        .shocks
        .iter()
        .filter(|s| symbols.contains(&s.symbol))
        .map(|s| VolatilityShock {
            symbol: s.symbol,
            from_ms: s.from_ms.unwrap_or(start_ms),
            factor: s.factor,
        })
        .collect()
}

/// The factor in effect for a minute opening at `open_ms`, given one symbol's shocks sorted by
/// `from_ms`; `None` when none has started.
pub(super) fn factor_at(sorted: &[(i64, f64)], open_ms: i64) -> Option<f64> {
    sorted
        .iter()
        .rev()
        .find(|(from_ms, _)| *from_ms <= open_ms)
        .map(|(_, factor)| *factor)
}

/// One symbol's shocks as `(from_ms, factor)`, sorted by `from_ms`.
pub(super) fn for_symbol(shocks: &[VolatilityShock], symbol: Symbol) -> Vec<(i64, f64)> {
    let mut mine: Vec<(i64, f64)> = shocks
        .iter()
        .filter(|s| s.symbol == symbol)
        .map(|s| (s.from_ms, s.factor))
        .collect();
    mine.sort_by_key(|(from_ms, _)| *from_ms);
    mine
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> Symbol {
        Symbol::new("BTCUSDT").unwrap()
    }

    #[test]
    fn parses_symbol_factor_and_optional_time() {
        assert_eq!(
            parse_shock("BTCUSDT:3").unwrap(),
            ShockSpec {
                symbol: btc(),
                factor: 3.0,
                from_ms: None
            }
        );
        let at = parse_shock("BTCUSDT:0.5@2023-11-15T00:30").unwrap();
        assert_eq!(at.factor, 0.5);
        assert_eq!(at.from_ms, Some(1_700_006_400_000 + 30 * 60_000));
        assert_eq!(
            parse_shock("BTCUSDT:2@1700006400000").unwrap().from_ms,
            Some(1_700_006_400_000)
        );
        assert_eq!(at.starting(5).from_ms, 1_700_006_400_000 + 30 * 60_000);
        assert_eq!(parse_shock("BTCUSDT:3").unwrap().starting(5).from_ms, 5);
    }

    #[test]
    fn garbage_gets_one_clear_error() {
        for (text, says) in [
            ("BTCUSDT:0", "factor 0 must be"),
            ("BTCUSDT:-1", "factor -1 must be"),
            ("BTCUSDT:NaN", "factor NaN must be"),
            ("BTCUSDT:inf", "factor inf must be"),
            ("BTCUSDT:101", "at most 100"),
            ("BTCUSDT:abc", "factor \"abc\" is not a number"),
            ("BTCUSDT:", "factor \"\" is not a number"),
            ("BTCUSDT3", "no ':'"),
            ("BTC-USD:3", "symbol"),
            (":3", "symbol"),
            ("BTCUSDT:3@yesterday", "\"yesterday\" is not a time"),
            ("BTCUSDT:3@2023-13-01", "is not a time"),
        ] {
            let e = parse_shock(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
            assert!(e.contains(&format!("{text:?}")), "{text}: {e}");
            assert!(e.contains("SYMBOL:FACTOR[@TIME]"), "{text}: {e}");
        }
    }

    #[test]
    fn the_latest_started_shock_applies() {
        let eth = Symbol::new("ETHUSDT").unwrap();
        let shocks = [
            VolatilityShock {
                symbol: btc(),
                from_ms: 200,
                factor: 0.5,
            },
            VolatilityShock {
                symbol: eth,
                from_ms: 0,
                factor: 9.0,
            },
            VolatilityShock {
                symbol: btc(),
                from_ms: 100,
                factor: 3.0,
            },
        ];
        let sorted = for_symbol(&shocks, btc());
        assert_eq!(sorted, vec![(100, 3.0), (200, 0.5)]);
        assert_eq!(factor_at(&sorted, 99), None);
        assert_eq!(factor_at(&sorted, 100), Some(3.0));
        assert_eq!(factor_at(&sorted, 199), Some(3.0));
        assert_eq!(factor_at(&sorted, 200), Some(0.5));
    }
}
