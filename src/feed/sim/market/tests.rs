use super::*;
use crate::feed::sim::VolatilityShock;

const START_MS: i64 = 1_700_006_400_000; // 2023-11-15 00:00 UTC
const LONG_RUN: usize = 50_000;

fn symbol(name: &str) -> Symbol {
    Symbol::new(name).unwrap()
}

fn generate(seed: u64, name: &str, minutes: usize) -> Vec<Unit> {
    let mut market = Market::new(seed, symbol(name), START_MS);
    (0..minutes).map(|_| market.next_minute()).collect()
}

fn log_returns(units: &[Unit]) -> Vec<f64> {
    units
        .windows(2)
        .map(|w| (w[1].candle.close / w[0].candle.close).ln())
        .collect()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn excess_kurtosis(xs: &[f64]) -> f64 {
    let m = mean(xs);
    let m2 = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64;
    let m4 = xs.iter().map(|x| (x - m).powi(4)).sum::<f64>() / xs.len() as f64;
    m4 / (m2 * m2) - 3.0
}

fn correlation(xs: &[f64], ys: &[f64]) -> f64 {
    let (mx, my) = (mean(xs), mean(ys));
    let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum::<f64>().sqrt();
    let sy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum::<f64>().sqrt();
    cov / (sx * sy)
}

#[test]
fn long_run_has_the_stylised_facts() {
    let units = generate(42, "BTCUSDT", LONG_RUN);
    let returns = log_returns(&units);

    let kurtosis = excess_kurtosis(&returns);
    assert!(
        kurtosis > 1.0,
        "1m returns are not fat-tailed: excess kurtosis {kurtosis}"
    );

    let squared: Vec<f64> = returns.iter().map(|r| r * r).collect();
    let clustering = correlation(&squared[1..], &squared[..squared.len() - 1]);
    assert!(
        clustering > 0.05,
        "no volatility clustering: lag-1 acf of r² {clustering}"
    );

    let mut by_hour = [0.0f64; 24];
    for unit in &units {
        by_hour[(unit.candle.open_time_ms.rem_euclid(86_400_000) / 3_600_000) as usize] +=
            unit.candle.volume;
    }
    let middle = by_hour[9..15].iter().cloned().fold(0.0, f64::max);
    assert!(
        by_hour[0] > middle && by_hour[23] > middle,
        "volume by hour is not U-shaped: {by_hour:?}"
    );

    let moves: Vec<f64> = returns.iter().map(|r| r.abs()).collect();
    let volumes: Vec<f64> = units[1..].iter().map(|u| u.candle.volume).collect();
    let together = correlation(&moves, &volumes);
    assert!(
        together > 0.3,
        "volume does not follow |return|: {together}"
    );

    // Sane after five weeks: within a factor of three of the start.
    let last = units[units.len() - 1].candle.close;
    assert!((65_000.0 / 3.0..65_000.0 * 3.0).contains(&last), "{last}");
}

#[test]
fn same_seed_same_market_other_seed_other_market() {
    let a = generate(7, "ETHUSDT", 300);
    let b = generate(7, "ETHUSDT", 300);
    assert_eq!(a, b);
    let c = generate(8, "ETHUSDT", 300);
    assert_ne!(
        a[1..].iter().map(|u| u.candle).collect::<Vec<_>>(),
        c[1..].iter().map(|u| u.candle).collect::<Vec<_>>()
    );
    // Symbols are generated independently: another symbol's presence changes nothing.
    let mut eth = Market::new(7, symbol("ETHUSDT"), START_MS);
    let mut btc = Market::new(7, symbol("BTCUSDT"), START_MS);
    let interleaved: Vec<Unit> = (0..300)
        .map(|_| {
            btc.next_minute();
            eth.next_minute()
        })
        .collect();
    assert_eq!(a, interleaved);
}

#[test]
fn every_candle_is_exactly_the_aggregate_of_its_trades() {
    let units = generate(3, "XRPUSDT", 2_000);
    let params = SymbolParams::for_symbol(symbol("XRPUSDT"));
    let mut last_id = 0;
    for (i, unit) in units.iter().enumerate() {
        let candle = unit.candle;
        assert_eq!(candle.open_time_ms, START_MS + i as i64 * MINUTE_MS);
        candle.validate().unwrap();
        assert!(!unit.trades.is_empty());
        let mut aggregator = TradeAggregator::new(Interval::M1);
        for trade in &unit.trades {
            assert!(aggregator.push(trade).is_none(), "trade left its minute");
            assert!(trade.trade_id > last_id, "trade ids must increase");
            last_id = trade.trade_id;
            let ticks = trade.price * 10f64.powi(params.price_decimals as i32);
            assert!(
                (ticks - ticks.round()).abs() < 1e-6,
                "price {} off the tick grid",
                trade.price
            );
            let lots = trade.quantity * 10f64.powi(params.quantity_decimals as i32);
            assert!(
                lots >= 0.999 && (lots - lots.round()).abs() < 1e-6,
                "{}",
                trade.quantity
            );
        }
        assert!(unit.trades.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
        assert_eq!(aggregator.flush(), Some(candle));
        assert_eq!(candle.trades as usize, unit.trades.len());
    }
}

#[test]
fn start_prices_and_scales_are_plausible() {
    let btc = SymbolParams::for_symbol(symbol("BTCUSDT"));
    assert_eq!(btc.start_price, 65_000.0);
    assert_eq!((btc.price_decimals, btc.quantity_decimals), (2, 5));
    let xrp = SymbolParams::for_symbol(symbol("XRPUSDT"));
    assert_eq!((xrp.price_decimals, xrp.quantity_decimals), (7, 0));
    for name in ["FOOUSDT", "ABCDEF", "ZZ", "QQQ123BTC"] {
        let p = SymbolParams::for_symbol(symbol(name));
        assert!((0.01..=10_000.0).contains(&p.start_price), "{name}: {p:?}");
        assert!(
            p.minute_volatility > 0.0005 && p.minute_volatility < 0.0015,
            "{name}: {p:?}"
        );
        assert!(p.trades_per_minute >= 15.0 && p.quote_per_minute >= 50_000.0);
        let first = generate(1, name, 5);
        first.iter().for_each(|u| u.candle.validate().unwrap());
    }
}

#[test]
fn intraday_activity_is_a_smile_over_the_utc_day() {
    let day = 1_700_006_400_000;
    assert!((intraday_activity(day) - 1.6).abs() < 1e-12);
    assert!((intraday_activity(day + 43_200_000) - 0.4).abs() < 1e-12);
    assert!(intraday_activity(day + 3_600_000) > intraday_activity(day + 6 * 3_600_000));
}

fn shock(name: &str, from_minute: i64, factor: f64) -> VolatilityShock {
    VolatilityShock {
        symbol: symbol(name),
        from_ms: START_MS + from_minute * MINUTE_MS,
        factor,
    }
}

fn generate_shocked(
    seed: u64,
    name: &str,
    minutes: usize,
    shocks: &[VolatilityShock],
) -> Vec<Unit> {
    let mut market = Market::with_shocks(seed, symbol(name), START_MS, shocks);
    (0..minutes).map(|_| market.next_minute()).collect()
}

fn realised_volatility(units: &[Unit]) -> f64 {
    let returns = log_returns(units);
    let m = mean(&returns);
    (returns.iter().map(|r| (r - m).powi(2)).sum::<f64>() / returns.len() as f64).sqrt()
}

#[test]
fn a_shock_changes_only_its_symbol_from_its_minute_on() {
    let shocks = [shock("BTCUSDT", 1_000, 3.0)];
    // Another symbol: bit-identical, trades included.
    assert_eq!(
        generate_shocked(5, "ETHUSDT", 3_000, &shocks),
        generate(5, "ETHUSDT", 3_000)
    );
    let plain = generate(5, "BTCUSDT", 3_000);
    let shocked = generate_shocked(5, "BTCUSDT", 3_000, &shocks);
    // Before the shock: bit-identical; from its minute on: another series.
    assert_eq!(shocked[..1_000], plain[..1_000]);
    assert_ne!(shocked[1_000].candle, plain[1_000].candle);
    assert!(
        shocked[1_000..]
            .iter()
            .zip(&plain[1_000..])
            .all(|(s, p)| s.candle != p.candle)
    );

    // The first shocked minute draws the same shock: its return is `factor` times the model's,
    // up to the drift (at most about 1e-5) and the tick; the GARCH variance it leaves behind is
    // the unshocked one, so the shock scales returns without feeding back into the recursion.
    let mut a = Market::with_shocks(5, symbol("BTCUSDT"), START_MS, &shocks);
    let mut b = Market::new(5, symbol("BTCUSDT"), START_MS);
    for _ in 0..1_000 {
        assert_eq!(a.next_minute(), b.next_minute());
    }
    let close = plain[999].candle.close;
    let (ua, ub) = (a.next_minute(), b.next_minute());
    let (ra, rb) = (
        (ua.candle.close / close).ln(),
        (ub.candle.close / close).ln(),
    );
    assert!(rb.abs() > 1e-4, "a minute too quiet to tell: {rb}");
    assert!((ra - 3.0 * rb).abs() < 5e-5, "{ra} vs 3 × {rb}");
    assert_eq!(a.variance.to_bits(), b.variance.to_bits());
    assert_eq!(a.regime, b.regime);
}

#[test]
fn a_shock_scales_realised_volatility_by_its_factor() {
    // Regimes (0.6x .. 2.2x, about 10 h each) make one series' realised volatility over a day
    // or two vary by up to about 3x on their own, so the ratio is pooled over 8 seeds: over 48
    // seeds, 3 symbols and factors 3 and 0.5, pooled after/before ratios stayed within 0.69 ..
    // 1.52 of the factor.
    for factor in [3.0, 1.0 / 3.0] {
        let (mut before, mut after, mut plain_after) = (0.0, 0.0, 0.0);
        for seed in 0..8 {
            let shocks = [shock("BTCUSDT", 2_000, factor)];
            let shocked = generate_shocked(seed, "BTCUSDT", 4_000, &shocks);
            before += realised_volatility(&shocked[..2_000]).powi(2);
            after += realised_volatility(&shocked[2_000..]).powi(2);
            plain_after += realised_volatility(&generate(seed, "BTCUSDT", 4_000)[2_000..]).powi(2);
        }
        let ratio = (after / before).sqrt();
        assert!(
            (0.6 * factor..1.7 * factor).contains(&ratio),
            "factor {factor}: realised volatility after / before {ratio}"
        );
        let ratio = (after / plain_after).sqrt();
        assert!(
            (0.6 * factor..1.7 * factor).contains(&ratio),
            "factor {factor}: realised volatility shocked / unshocked {ratio}"
        );
    }
}
