//! The fill rules one by one, and properties of any sequence of orders and prices.

use super::*;
use crate::domain::{Candle, Symbol, SymbolFilters};

fn sym() -> Symbol {
    Symbol::new("BTCUSDT").unwrap()
}

fn costs() -> FillCosts {
    FillCosts {
        maker_fee: 0.0002,
        taker_fee: 0.001,
        slippage_bps: 10.0,
        latency_ms: 100,
    }
}

fn book(filters: SymbolFilters) -> Book {
    let mut b = Book::new(costs());
    b.add_symbol(sym(), 10_000.0, filters);
    b.set_mark(sym(), 100.0);
    b
}

fn request(side: Side, kind: OrderKind, size: Size) -> OrderRequest {
    OrderRequest {
        symbol: sym(),
        side,
        kind,
        size,
        brackets: Brackets::default(),
        origin: Origin::Manual,
    }
}

fn fills(events: &[BookEvent]) -> Vec<&Fill> {
    events
        .iter()
        .filter_map(|e| match e {
            BookEvent::Fill(f) => Some(f),
            _ => None,
        })
        .collect()
}

fn candle(t: i64, o: f64, h: f64, l: f64, c: f64) -> Candle {
    Candle {
        open_time_ms: t,
        open: o,
        high: h,
        low: l,
        close: c,
        volume: 1.0,
        quote_volume: o,
        trades: 1,
    }
}

#[test]
fn a_market_order_fills_at_the_first_print_after_the_latency_with_slippage_and_the_taker_fee() {
    let mut b = book(SymbolFilters::NONE);
    b.submit(
        request(Side::Buy, OrderKind::Market, Size::Quantity(2.0)),
        1_000,
    )
    .unwrap();
    let mut ev = Vec::new();
    b.on_print(sym(), 101.0, 1_050, &mut ev);
    assert!(ev.is_empty(), "no fill before the latency: {ev:?}");
    b.on_print(sym(), 102.0, 1_100, &mut ev);
    let f = fills(&ev);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].price, 102.0 * 1.001);
    assert_eq!(f[0].fee, 2.0 * (102.0 * 1.001) * 0.001);
    assert!(!f[0].maker);
    assert_eq!(f[0].time_ms, 1_100);
}

#[test]
fn a_limit_order_fills_only_when_a_print_goes_through_its_price_and_pays_the_maker_fee() {
    let mut b = book(SymbolFilters::NONE);
    b.submit(
        request(
            Side::Buy,
            OrderKind::Limit { price: 99.0 },
            Size::Quantity(1.0),
        ),
        0,
    )
    .unwrap();
    let mut ev = Vec::new();
    b.on_print(sym(), 99.0, 1_000, &mut ev);
    assert!(ev.is_empty(), "a touch is not a fill");
    b.on_print(sym(), 98.99, 1_001, &mut ev);
    let f = fills(&ev);
    assert_eq!((f[0].price, f[0].maker), (99.0, true));
    assert_eq!(f[0].fee, 99.0 * 0.0002);
    b.submit(
        request(
            Side::Sell,
            OrderKind::Limit { price: 101.0 },
            Size::Quantity(1.0),
        ),
        2_000,
    )
    .unwrap();
    ev.clear();
    b.on_print(sym(), 101.0, 3_000, &mut ev);
    assert!(ev.is_empty());
    b.on_print(sym(), 101.5, 3_001, &mut ev);
    assert_eq!(fills(&ev)[0].price, 101.0);
}

#[test]
fn a_stop_fills_at_the_worse_of_its_trigger_and_the_print_that_gapped_through_it() {
    let mut b = book(SymbolFilters::NONE);
    let mut ev = Vec::new();
    b.submit(
        request(Side::Buy, OrderKind::Market, Size::Quantity(1.0)),
        0,
    )
    .unwrap();
    b.on_print(sym(), 100.0, 200, &mut ev);
    b.submit(
        request(Side::Sell, OrderKind::Stop { trigger: 95.0 }, Size::Close),
        300,
    )
    .unwrap();
    ev.clear();
    b.on_print(sym(), 95.5, 500, &mut ev);
    assert!(ev.is_empty());
    // The market gaps from 95.5 to 93: the stop fills at 93 (less slippage), not 95.
    b.on_print(sym(), 93.0, 600, &mut ev);
    let f = fills(&ev);
    assert_eq!(f[0].price, 93.0 * (1.0 - 0.001));
    assert!(!f[0].maker);
    assert_eq!(b.account(sym()).unwrap().position(), Position::Flat);
}

#[test]
fn brackets_are_placed_when_the_entry_fills_and_the_first_exit_cancels_the_rest() {
    let mut b = book(SymbolFilters::NONE);
    let mut r = request(Side::Buy, OrderKind::Market, Size::Quantity(1.0));
    r.brackets = Brackets {
        stop_loss: Some(95.0),
        take_profit: Some(110.0),
        trailing: Some(0.1),
    };
    b.submit(r, 0).unwrap();
    let mut ev = Vec::new();
    b.on_print(sym(), 100.0, 100, &mut ev);
    let placed = ev
        .iter()
        .filter(|e| matches!(e, BookEvent::Placed(_)))
        .count();
    assert_eq!(placed, 3);
    ev.clear();
    b.on_print(sym(), 110.5, 200, &mut ev);
    let f = fills(&ev);
    assert_eq!(
        (f[0].origin, f[0].price, f[0].maker),
        (Origin::TakeProfit, 110.0, true)
    );
    let cancelled = ev
        .iter()
        .filter(|e| matches!(e, BookEvent::Cancelled { .. }))
        .count();
    assert_eq!(cancelled, 2);
    assert!(b.orders().is_empty());
}

#[test]
fn a_trailing_stop_follows_the_best_price() {
    let mut b = book(SymbolFilters::NONE);
    let mut ev = Vec::new();
    b.submit(
        request(Side::Buy, OrderKind::Market, Size::Quantity(1.0)),
        0,
    )
    .unwrap();
    b.on_print(sym(), 100.0, 100, &mut ev);
    b.submit(
        request(
            Side::Sell,
            OrderKind::Trailing {
                distance: 0.05,
                extreme: 0.0,
            },
            Size::Close,
        ),
        100,
    )
    .unwrap();
    ev.clear();
    for (i, p) in [104.0, 120.0, 115.0, 114.1].iter().enumerate() {
        b.on_print(sym(), *p, 300 + i as i64, &mut ev);
    }
    assert!(ev.is_empty(), "{ev:?}");
    b.on_print(sym(), 113.9, 400, &mut ev);
    assert_eq!(fills(&ev)[0].price, 113.9 * 0.999);
}

#[test]
fn in_bar_mode_markets_fill_at_the_open_limits_through_the_range_and_stops_at_gaps() {
    let mut b = book(SymbolFilters::NONE);
    let mut ev = Vec::new();
    b.submit(
        request(Side::Buy, OrderKind::Market, Size::Quantity(1.0)),
        0,
    )
    .unwrap();
    b.on_bar(sym(), &candle(60_000, 100.0, 101.0, 99.0, 100.5), &mut ev);
    assert_eq!(fills(&ev)[0].price, 100.0 * 1.001);
    b.submit(
        request(Side::Sell, OrderKind::Stop { trigger: 98.0 }, Size::Close),
        60_000,
    )
    .unwrap();
    ev.clear();
    // The low touches 98.0: a stop triggers on a touch (it is not a limit).
    b.on_bar(sym(), &candle(120_000, 100.0, 100.0, 98.0, 99.0), &mut ev);
    assert_eq!(fills(&ev)[0].price, 98.0 * 0.999);
    // A buy limit at 97: a candle whose low is 97 does not fill it; one at 96.9 does.
    b.submit(
        request(
            Side::Buy,
            OrderKind::Limit { price: 97.0 },
            Size::Quantity(1.0),
        ),
        120_000,
    )
    .unwrap();
    ev.clear();
    b.on_bar(sym(), &candle(180_000, 98.0, 98.5, 97.0, 98.0), &mut ev);
    assert!(ev.is_empty());
    b.on_bar(sym(), &candle(240_000, 98.0, 98.5, 96.9, 98.0), &mut ev);
    assert_eq!(fills(&ev)[0].price, 97.0);
    // A stop gapped through at the open fills at the open.
    b.submit(
        request(Side::Sell, OrderKind::Stop { trigger: 95.0 }, Size::Close),
        240_000,
    )
    .unwrap();
    ev.clear();
    b.on_bar(sym(), &candle(300_000, 90.0, 91.0, 89.0, 90.0), &mut ev);
    assert_eq!(fills(&ev)[0].price, 90.0 * 0.999);
}

#[test]
fn filters_round_the_quantity_and_price_and_refuse_orders_below_the_minimums() {
    let f = SymbolFilters {
        tick_size: 0.01,
        step_size: 0.001,
        min_qty: 0.001,
        min_notional: 5.0,
    };
    let mut b = book(f);
    let o = b
        .submit(
            request(
                Side::Buy,
                OrderKind::Limit { price: 99.987 },
                Size::Quantity(0.12345),
            ),
            0,
        )
        .unwrap();
    assert_eq!(o.kind, OrderKind::Limit { price: 99.99 });
    assert_eq!(o.size, Size::Quantity(0.123));
    let e = b
        .submit(
            request(Side::Buy, OrderKind::Market, Size::Quantity(0.04)),
            0,
        )
        .unwrap_err();
    assert!(e.to_string().contains("minimum notional"), "{e}");
    let e = b
        .submit(
            request(Side::Buy, OrderKind::Market, Size::Quantity(0.0004)),
            0,
        )
        .unwrap_err();
    assert!(e.to_string().contains("below the minimum 0.001"), "{e}");
}

#[test]
fn garbage_orders_are_refused_with_what_was_wrong() {
    let mut b = book(SymbolFilters::NONE);
    for q in [f64::NAN, -1.0, 0.0, f64::INFINITY] {
        let e = b
            .submit(request(Side::Buy, OrderKind::Market, Size::Quantity(q)), 0)
            .unwrap_err();
        assert!(e.to_string().contains("quantity"), "{e}");
    }
    let e = b
        .submit(
            request(
                Side::Buy,
                OrderKind::Limit { price: f64::NAN },
                Size::Quantity(1.0),
            ),
            0,
        )
        .unwrap_err();
    assert!(e.to_string().contains("limit price"), "{e}");
    let mut r = request(Side::Buy, OrderKind::Market, Size::Quantity(1.0));
    r.symbol = Symbol::new("DOGEUSDT").unwrap();
    assert_eq!(
        b.submit(r, 0).unwrap_err().to_string(),
        "DOGEUSDT is not traded by this account"
    );
    let mut r = request(Side::Buy, OrderKind::Market, Size::Quantity(1.0));
    r.brackets.stop_loss = Some(105.0);
    assert!(b.submit(r, 0).unwrap_err().to_string().contains("below"));
    let e = b
        .submit(request(Side::Sell, OrderKind::Market, Size::Close), 0)
        .unwrap_err();
    assert_eq!(e, Reject::NothingToClose);
    assert!(b.orders().is_empty(), "nothing refused stays in the book");
}

#[test]
fn maker_and_taker_fees_are_charged_on_the_notional() {
    let mut b = book(SymbolFilters::NONE);
    let mut ev = Vec::new();
    b.submit(
        request(
            Side::Buy,
            OrderKind::Limit { price: 100.0 },
            Size::Quantity(3.0),
        ),
        0,
    )
    .unwrap();
    b.on_print(sym(), 99.0, 500, &mut ev);
    b.submit(request(Side::Sell, OrderKind::Market, Size::Close), 600)
        .unwrap();
    b.on_print(sym(), 100.0, 800, &mut ev);
    let f = fills(&ev);
    assert_eq!(f[0].fee, 300.0 * 0.0002);
    assert_eq!(f[1].fee, 3.0 * 99.9 * 0.001);
    let a = b.account(sym()).unwrap();
    assert_eq!(a.fees, f[0].fee + f[1].fee);
    assert_eq!(a.trades.len(), 1);
    let t = &a.trades[0];
    assert!((t.pnl - ((99.9 - 100.0) * 3.0 - t.fees)).abs() < 1e-9);
    assert!((a.cash - (10_000.0 + t.pnl)).abs() < 1e-9);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Step {
        Order(bool, u8, f64, f64),
        Print(f64),
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        let step = prop_oneof![
            (any::<bool>(), 0u8..4, 0.01f64..5.0, 0.8f64..1.2)
                .prop_map(|(b, k, q, p)| Step::Order(b, k, q, p)),
            (0.5f64..1.5).prop_map(Step::Print),
        ];
        proptest::collection::vec(step, 1..80)
    }

    fn run(steps: &[Step], costs: FillCosts) -> (Book, Vec<Fill>) {
        let mut b = Book::new(costs);
        b.add_symbol(sym(), 1_000_000.0, SymbolFilters::NONE);
        b.set_mark(sym(), 100.0);
        let mut ev = Vec::new();
        let mut price = 100.0;
        for (t, s) in steps.iter().enumerate() {
            let t = t as i64 * 1_000;
            match *s {
                Step::Order(buy, kind, q, p) => {
                    let side = if buy { Side::Buy } else { Side::Sell };
                    let kind = match kind {
                        0 | 1 => OrderKind::Market,
                        2 => OrderKind::Limit { price: price * p },
                        _ => OrderKind::Stop { trigger: price * p },
                    };
                    let _ = b.submit(request(side, kind, Size::Quantity(q)), t);
                }
                Step::Print(m) => {
                    price = 100.0 * m;
                    b.on_print(sym(), price, t, &mut ev);
                }
            }
        }
        let fills = ev
            .into_iter()
            .filter_map(|e| match e {
                BookEvent::Fill(f) => Some(f),
                _ => None,
            })
            .collect();
        (b, fills)
    }

    proptest! {
        #[test]
        fn derived_positions_always_equal_the_sum_of_fills(steps in steps()) {
            let (b, fills) = run(&steps, costs());
            let a = b.account(sym()).unwrap();
            let sum: f64 = fills.iter().map(|f| match f.side {
                Side::Buy => f.quantity,
                Side::Sell => -f.quantity,
            }).sum();
            let held = match &a.open {
                Some(o) if o.side == Position::Long => o.quantity,
                Some(o) => -o.quantity,
                None => 0.0,
            };
            prop_assert!((held - sum).abs() < 1e-9, "held {held}, fills sum {sum}");
            prop_assert!((a.net_quantity - sum).abs() < 1e-9);
            // Replaying the fills into a fresh account gives the same account.
            let mut again = Account::new(1_000_000.0);
            for f in &fills {
                again.apply(f);
            }
            prop_assert_eq!(&again, a);
        }

        #[test]
        fn fees_and_slippage_never_raise_equity(steps in steps()) {
            let free = FillCosts { maker_fee: 0.0, taker_fee: 0.0, slippage_bps: 0.0, latency_ms: 100 };
            let (with_costs, _) = run(&steps, costs());
            let (without, _) = run(&steps, free);
            // Triggers are on the unslipped price, so the same orders fill with and without
            // costs: the same quantities, at prices no better and with fees on top.
            let (a, b) = (with_costs.account(sym()).unwrap(), without.account(sym()).unwrap());
            prop_assert!((a.net_quantity - b.net_quantity).abs() < 1e-9);
            let mark = with_costs.mark(sym()).unwrap();
            prop_assert!(a.equity(mark) <= b.equity(mark) + 1e-9,
                "with costs {} > without {}", a.equity(mark), b.equity(mark));
        }
    }
}
