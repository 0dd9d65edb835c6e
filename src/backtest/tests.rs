//! The simulator's rules checked by hand and its invariants on generated series.

use super::*;
use crate::domain::Candle;
use crate::domain::fixtures::{Lcg, MINUTE_MS, ohlc};

/// Minute `i`, its high and low 0.1 % beyond its body, no quote volume.
pub(super) fn candle(i: i64, open: f64, close: f64) -> Candle {
    let (high, low) = (open.max(close) * 1.001, open.min(close) * 0.999);
    Candle {
        quote_volume: 0.0,
        ..ohlc(i * MINUTE_MS, open, high, low, close)
    }
}

/// A deterministic random walk of `n` candles.
pub(super) fn walk(n: usize, seed: u64) -> Vec<Candle> {
    let mut noise = Lcg(seed);
    let mut close = 100.0;
    (0..n as i64)
        .map(|i| {
            let u = noise.uniform();
            let open = close;

            close = open * (1.0 + 0.02 * (u - 0.5));
            candle(i, open, close)
        })
        .collect()
}

/// Plays back a fixed list of positions, one per close.
struct Script(Vec<Position>, usize);

impl Strategy for Script {
    fn name(&self) -> String {
        "script".into()
    }
    fn on_close(&mut self, _: &Candle) -> Position {
        let p = self.0.get(self.1).copied().unwrap_or(Position::Flat);
        self.1 += 1;
        p
    }
}

#[test]
fn a_signal_at_a_close_fills_at_the_next_open_with_fees_and_slippage() {
    let candles = [
        candle(0, 10.0, 10.0),
        candle(1, 11.0, 12.0),
        candle(2, 12.0, 13.0),
        candle(3, 14.0, 9.0),
    ];
    let costs = Costs {
        cash: 1_000.0,
        fee: 0.01,
        slippage_bps: 100.0,
        ..Costs::default()
    };
    let mut s = Script(vec![Position::Long, Position::Long, Position::Flat], 0);
    let bt = run(&candles, &mut s, costs).unwrap();
    assert_eq!(bt.trades.len(), 1);
    let t = &bt.trades[0];
    // Entry at candle 1's open 11 plus 1 % slippage; exit at candle 3's open 14 minus 1 %.
    assert_eq!(t.entry_time_ms, 60_000);
    assert_eq!(t.exit_time_ms, 180_000);
    assert!((t.entry_price - 11.11).abs() < 1e-9);
    assert!((t.exit_price - 13.86).abs() < 1e-9);
    let quantity = 1_000.0 / (11.11 * 1.01);
    assert!((t.quantity - quantity).abs() < 1e-9);
    let fees = quantity * 11.11 * 0.01 + quantity * 13.86 * 0.01;
    assert!((t.fees - fees).abs() < 1e-9);
    let final_cash = 1_000.0 - quantity * 11.11 * 1.01 + quantity * 13.86 * 0.99;
    assert!((bt.equity[3].equity - final_cash).abs() < 1e-9);
    assert!((t.pnl - (final_cash - 1_000.0)).abs() < 1e-9);
    // The first candle closes flat: the signal at its close cannot fill before candle 1.
    assert_eq!(bt.equity[0].equity, 1_000.0);
    assert_eq!(bt.exposed_candles, 2);
}

#[test]
fn a_strategy_that_never_trades_leaves_equity_unchanged() {
    for seed in 0..20 {
        let candles = walk(300, seed);
        let mut s = Script(vec![], 0);
        let bt = run(
            &candles,
            &mut s,
            Costs {
                fee: 0.003,
                ..Costs::default()
            },
        )
        .unwrap();
        assert!(bt.trades.is_empty());
        assert!(
            bt.equity
                .iter()
                .all(|p| p.equity == 10_000.0 && p.drawdown == 0.0)
        );
        let m = metrics(&bt, &candles, 60_000);
        assert_eq!((m.total_return, m.trades, m.exposure), (0.0, 0, 0.0));
    }
}

#[test]
fn fees_and_slippage_never_raise_equity() {
    for seed in 0..20 {
        let candles = walk(400, seed);
        let free = run(
            &candles,
            &mut SmaCross::new(5, 20, false).unwrap(),
            Costs::default(),
        )
        .unwrap();
        for (fee, slippage_bps) in [(0.001, 0.0), (0.0, 5.0), (0.002, 10.0)] {
            let costs = Costs {
                fee,
                slippage_bps,
                ..Costs::default()
            };
            let paid = run(&candles, &mut SmaCross::new(5, 20, false).unwrap(), costs).unwrap();
            assert_eq!(paid.trades.len(), free.trades.len(), "same decisions");
            let (a, b) = (paid.equity.last().unwrap(), free.equity.last().unwrap());
            assert!(
                a.equity <= b.equity + 1e-9,
                "seed {seed}: {} > {}",
                a.equity,
                b.equity
            );
        }
    }
}

#[test]
fn buy_and_hold_earns_the_price_move_from_the_second_open() {
    let candles = walk(100, 7);
    let bt = run(
        &candles,
        &mut BuyHold,
        Costs {
            fee: 0.001,
            ..Costs::default()
        },
    )
    .unwrap();
    assert_eq!(bt.trades.len(), 1);
    let expected = 10_000.0 * candles[99].close / candles[1].open * (1.0 - 0.001) / (1.0 + 0.001);
    assert!((bt.equity[99].equity - expected).abs() < 1e-6);
    let m = metrics(&bt, &candles, 60_000);
    assert!((m.buy_and_hold_return - (candles[99].close / candles[0].close - 1.0)).abs() < 1e-12);
}

#[test]
fn shorts_only_when_allowed() {
    let candles = [
        candle(0, 10.0, 10.0),
        candle(1, 10.0, 8.0),
        candle(2, 8.0, 8.0),
    ];
    let script = || Script(vec![Position::Short, Position::Flat], 0);
    let flat = run(&candles, &mut script(), Costs::default()).unwrap();
    assert!(flat.trades.is_empty());
    let short = Costs {
        allow_short: true,
        ..Costs::default()
    };
    let bt = run(&candles, &mut script(), short).unwrap();
    assert_eq!(bt.trades.len(), 1);
    assert_eq!(bt.trades[0].side, Position::Short);
    // Sold 1,000 units at 10, bought back at 8.
    assert!((bt.trades[0].pnl - 2_000.0).abs() < 1e-9);
    assert!((bt.equity[2].equity - 12_000.0).abs() < 1e-9);
}

#[test]
fn metrics_by_hand() {
    let candles = [
        candle(0, 10.0, 10.0),
        candle(1, 10.0, 12.0),
        candle(2, 12.0, 9.0),
        candle(3, 9.0, 11.0),
        candle(4, 11.0, 11.0),
    ];
    let mut s = Script(
        vec![
            Position::Long,
            Position::Long,
            Position::Long,
            Position::Flat,
        ],
        0,
    );
    let bt = run(&candles, &mut s, Costs::default()).unwrap();
    let equity: Vec<f64> = bt.equity.iter().map(|p| p.equity).collect();
    assert_eq!(
        equity,
        vec![10_000.0, 12_000.0, 9_000.0, 11_000.0, 11_000.0]
    );
    let m = metrics(&bt, &candles, 60_000);
    assert!((m.max_drawdown - 0.25).abs() < 1e-12);
    assert_eq!(m.max_drawdown_duration_ms, 3 * 60_000);
    assert_eq!((m.trades, m.win_rate), (1, 1.0));
    assert!(m.profit_factor.is_infinite());
    assert!((m.total_return - 0.1).abs() < 1e-12);
    assert!((m.exposure - 0.6).abs() < 1e-12);
}

#[test]
fn garbage_is_refused_with_what_and_where() {
    let good = walk(10, 1);
    assert_eq!(
        run(&[], &mut BuyHold, Costs::default()).unwrap_err(),
        BacktestError::NoCandles
    );
    let mut swapped = good.clone();
    swapped.swap(3, 4);
    assert!(matches!(
        run(&swapped, &mut BuyHold, Costs::default()),
        Err(BacktestError::OutOfOrder { index: 4, .. })
    ));
    let mut nan = good.clone();
    nan[5].close = f64::NAN;
    assert!(matches!(
        run(&nan, &mut BuyHold, Costs::default()),
        Err(BacktestError::BadCandle { index: 5, .. })
    ));
    for costs in [
        Costs {
            cash: 0.0,
            ..Costs::default()
        },
        Costs {
            fee: -0.1,
            ..Costs::default()
        },
        Costs {
            fee: f64::NAN,
            ..Costs::default()
        },
        Costs {
            slippage_bps: -1.0,
            ..Costs::default()
        },
        Costs {
            fraction: 1.5,
            ..Costs::default()
        },
    ] {
        assert!(matches!(
            run(&good, &mut BuyHold, costs),
            Err(BacktestError::BadCosts { .. })
        ));
    }
    assert!(SmaCross::new(20, 10, false).is_err());
    assert!(SmaCross::new(0, 10, false).is_err());
}

/// Cheats: long when the next candle closes higher.
struct Peek {
    series: Vec<Candle>,
    at: usize,
}

impl Strategy for Peek {
    fn name(&self) -> String {
        "peek".into()
    }
    fn on_close(&mut self, candle: &Candle) -> Position {
        let next = self
            .series
            .get(self.at + 1)
            .map_or(candle.close, |c| c.close);
        self.at += 1;
        if next > candle.close {
            Position::Long
        } else {
            Position::Flat
        }
    }
}

#[test]
fn the_guard_catches_a_look_ahead_strategy_and_passes_honest_ones() {
    let candles = walk(500, 3);
    let honest =
        |_: &[Candle]| -> Box<dyn Strategy> { Box::new(SmaCross::new(10, 20, false).unwrap()) };
    assert_eq!(check_no_look_ahead(&candles, &honest, 8), Ok(()));
    let hold = |_: &[Candle]| -> Box<dyn Strategy> { Box::new(BuyHold) };
    assert_eq!(check_no_look_ahead(&candles, &hold, 8), Ok(()));
    let cheat = |series: &[Candle]| -> Box<dyn Strategy> {
        Box::new(Peek {
            series: series.to_vec(),
            at: 0,
        })
    };
    let err = check_no_look_ahead(&candles, &cheat, 8).unwrap_err();
    assert_eq!(err.strategy, "peek");
    assert!(err.index <= err.cut, "{err}");
    // And it would have looked brilliant: the cheat beats buy-and-hold by far.
    let cheated = run(&candles, cheat(&candles).as_mut(), Costs::default()).unwrap();
    let held = run(&candles, &mut BuyHold, Costs::default()).unwrap();
    assert!(cheated.equity.last().unwrap().equity > 2.0 * held.equity.last().unwrap().equity);
}
