//! The paper account in a real engine on a real SQLite file, the demo model as champion: bar
//! mode reconciles with a backtest with zero differences; the account rebuilt from its log is the
//! live one; hand orders, garbage and the kill switch; tick mode fills on prints.

use std::sync::Arc;

use crate::config::{PaperConfig, PaperMode};
use crate::domain::{Candle, Interval, ManualClock, Symbol, Trade};
use crate::engine::paper::PaperComponent;
use crate::engine::paper::offline;
use crate::engine::test_support::{engine, flush, no_monitor, options, writer};
use crate::feed::MarketEvent;
use crate::feed::sim::model_candles;
use crate::model::registry::Registry;
use crate::model::signal::ThresholdOverride;
use crate::protocol::{Command, OrderSide, OrderTicket, PaperView, TicketKind};

fn paper(mode: PaperMode) -> PaperConfig {
    let mut p = PaperConfig {
        enabled: true,
        mode,
        ..PaperConfig::default()
    };
    // No kill switch: the session must trade every signal the backtest trades.
    p.risk.max_drawdown = 1.0;
    p
}

struct Session {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    view: PaperView,
    candles: Vec<(Symbol, Vec<Candle>)>,
}

/// Streams `count` simulated 1m candles of each symbol (and, in tick mode, four trade prints
/// inside each) through an engine with the demo model as champion and paper trading on.
fn session(config: PaperConfig, symbols: &[&str], count: usize, prints: bool) -> Session {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("paper.db");
    let champion = {
        let mut registry = Registry::open(&db).unwrap();
        crate::model::demo::install(&mut registry).unwrap().unwrap()
    };
    let from = champion.data_to_ms.unwrap() + 60_000;
    let symbols: Vec<Symbol> = symbols.iter().map(|s| Symbol::new(s).unwrap()).collect();
    let candles: Vec<(Symbol, Vec<Candle>)> = symbols
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, model_candles(42 + i as u64, s, from, count)))
        .collect();
    let w = writer(&db);
    let clock = Arc::new(ManualClock::new(from));
    let mut options = options(
        symbols.clone(),
        clock.clone(),
        no_monitor(),
        Default::default(),
    );
    options.model.max_challengers = 0;
    options.paper = config;
    let mut engine = engine(&db, &w, options);
    for k in 0..count {
        for (symbol, series) in &candles {
            let c = series[k];
            if prints {
                // Four prints inside the candle: open, high, low, close, 15 s apart.
                for (j, price) in [c.open, c.high, c.low, c.close].into_iter().enumerate() {
                    let time_ms = c.open_time_ms + 1 + 15_000 * j as i64;
                    clock.set(time_ms);
                    engine.on_market(MarketEvent::Trade {
                        symbol: *symbol,
                        trade: Trade {
                            trade_id: (k * 4 + j) as u64,
                            time_ms,
                            price,
                            quantity: 0.01,
                            buyer_is_maker: false,
                        },
                    });
                }
            }
            clock.set(c.open_time_ms + 60_000);
            engine.on_market(MarketEvent::Kline {
                symbol: *symbol,
                interval: Interval::M1,
                candle: c,
                closed: true,
            });
        }
    }
    let view = engine.snapshot().paper.clone();
    drop(engine);
    flush(&w);
    w.finish().unwrap();
    Session {
        _dir: dir,
        db,
        view,
        candles,
    }
}

#[test]
fn bar_mode_reconciles_with_the_backtest_with_zero_differences() {
    let config = paper(PaperMode::Bar);
    let s = session(config.clone(), &["BTCUSDT", "ETHUSDT"], 700, false);
    assert!(s.view.enabled);
    assert!(
        !s.view.fills.is_empty(),
        "the session traded: {:#?}",
        s.view
    );
    let r = offline::reconcile(
        &s.db,
        &config,
        None,
        "champion",
        ThresholdOverride::default(),
    )
    .unwrap();
    assert!(r.trades_paper >= 2, "{r:#?}");
    assert_eq!(r.trades_paper, r.trades_backtest);
    assert!(r.differences.is_empty(), "{:#?}", r.differences);
    assert_eq!(r.pnl_effect, 0.0);
    assert_eq!(r.pnl_paper, r.pnl_backtest);
    // The window starts at the first traded signal's candle (after the model's warm-up).
    assert!(r.window.from_ms >= s.candles[0].1[0].open_time_ms);
    // The report reads the same account.
    let report = offline::report(&s.db, &config, None).unwrap();
    assert_eq!(report.trades.len(), r.trades_paper);
    assert_eq!(report.symbols.len(), 2);
}

#[test]
fn the_account_rebuilt_from_its_log_is_the_live_one() {
    let config = paper(PaperMode::Bar);
    let s = session(config.clone(), &["BTCUSDT"], 400, false);
    let w = writer(&s.db);
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let again = PaperComponent::start(
        Some(&s.db),
        &w.sender(),
        config,
        &[symbol],
        &[],
        Some(Interval::M1),
        0,
    )
    .unwrap();
    let a = again.book().account(symbol).unwrap();
    assert_eq!(a.cash, s.view.cash);
    assert_eq!(a.fees, s.view.fees);
    match (&a.open, s.view.positions.first()) {
        (Some(open), Some(p)) => {
            assert_eq!(open.quantity, p.quantity);
            assert_eq!(open.entry_price, p.entry_price);
        }
        (None, None) => {}
        other => panic!("positions differ: {other:?}"),
    }
    assert_eq!(again.book().orders().len(), s.view.orders.len());
    w.finish().unwrap();
    // Nothing was added to the log by reading it, and the log is append-only.
    let conn = rusqlite::Connection::open(&s.db).unwrap();
    let opens: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM paper_log WHERE kind = 'open'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(opens, 1);
    let e = conn.execute("DELETE FROM paper_log", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = conn
        .execute("UPDATE paper_log SET time_ms = 0 WHERE kind = 'fill'", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
}

#[test]
fn tick_mode_fills_on_prints_and_reconcile_shows_what_they_changed() {
    let mut config = paper(PaperMode::Tick);
    config.latency_ms = 2_000;
    let s = session(config.clone(), &["BTCUSDT"], 400, true);
    assert!(!s.view.fills.is_empty());
    // A signal at a close fills at the first print after the latency: 15 s into the next
    // candle (its high), not at its open.
    for f in &s.view.fills {
        assert_eq!((f.time_ms - 1) % 15_000, 0, "{f:?}");
        assert_ne!(
            (f.time_ms - 1) % 60_000,
            0,
            "{f:?} filled at the open print"
        );
    }
    let r = offline::reconcile(
        &s.db,
        &config,
        None,
        "champion",
        ThresholdOverride::default(),
    )
    .unwrap();
    assert!(!r.differences.is_empty());
    assert!(r.differences.iter().all(|d| d.kind != "changed"
        || d.fields.contains(&"entry_price")
        || d.fields.contains(&"exit_price")));
    assert!((r.pnl_effect - (r.pnl_paper - r.pnl_backtest)).abs() < 1e-6);
}

#[test]
fn hand_orders_garbage_and_the_kill_switch() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("paper.db");
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let w = writer(&db);
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let mut options = options(
        vec![symbol],
        clock.clone(),
        no_monitor(),
        Default::default(),
    );
    options.model.max_challengers = 0;
    let mut config = paper(PaperMode::Tick);
    config.trade_signals = false;
    config.latency_ms = 0;
    config.risk.max_drawdown = 0.05;
    options.paper = config;
    let mut engine = engine(&db, &w, options);
    let print = |engine: &mut crate::engine::Engine, t: i64, price: f64| {
        clock.set(t);
        engine.on_market(MarketEvent::Trade {
            symbol,
            trade: Trade {
                trade_id: t as u64,
                time_ms: t,
                price,
                quantity: 1.0,
                buyer_is_maker: false,
            },
        });
    };
    let t0 = 1_700_000_000_000;
    print(&mut engine, t0, 100.0);
    let ticket = |side, quantity: Option<f64>| OrderTicket {
        symbol,
        side,
        kind: TicketKind::Market,
        quantity,
        limit_price: None,
        stop_loss: None,
        take_profit: None,
        trailing: None,
    };
    for (q, what) in [
        (f64::NAN, "quantity NaN"),
        (-1.0, "quantity -1"),
        (0.0, "quantity 0"),
    ] {
        engine.on_command(Command::PlaceOrder(Box::new(ticket(
            OrderSide::Buy,
            Some(q),
        ))));
        let r = engine.snapshot().paper.risk.last_rejection.clone().unwrap();
        assert!(r.contains(what), "{r}");
    }
    let mut unknown = ticket(OrderSide::Buy, Some(1.0));
    unknown.symbol = Symbol::new("DOGEUSDT").unwrap();
    engine.on_command(Command::PlaceOrder(Box::new(unknown)));
    let r = engine.snapshot().paper.risk.last_rejection.clone().unwrap();
    assert!(r.contains("DOGEUSDT is not traded"), "{r}");
    let mut limit = ticket(OrderSide::Buy, Some(1.0));
    limit.kind = TicketKind::Limit;
    engine.on_command(Command::PlaceOrder(Box::new(limit)));
    assert!(
        engine
            .snapshot()
            .paper
            .risk
            .last_rejection
            .clone()
            .unwrap()
            .contains("limit price")
    );
    assert!(engine.snapshot().paper.orders.is_empty());
    assert!(engine.snapshot().paper.fills.is_empty());

    // A buy of half the cash sized by the rules (quantity None = the whole symbol's equity).
    engine.on_command(Command::PlaceOrder(Box::new(ticket(OrderSide::Buy, None))));
    print(&mut engine, t0 + 1_000, 100.0);
    let v = engine.snapshot().paper.clone();
    assert_eq!(v.positions.len(), 1, "{v:#?}");
    // The price falls 10 %: the kill switch trips at 5 %.
    print(&mut engine, t0 + 2_000, 90.0);
    let v = engine.snapshot().paper.clone();
    assert!(v.risk.kill_switch, "{v:#?}");
    // Closing is allowed, a new entry is not.
    engine.on_command(Command::PlaceOrder(Box::new(ticket(OrderSide::Sell, None))));
    print(&mut engine, t0 + 3_000, 90.0);
    assert!(engine.snapshot().paper.positions.is_empty());
    engine.on_command(Command::PlaceOrder(Box::new(ticket(OrderSide::Buy, None))));
    let r = engine.snapshot().paper.risk.last_rejection.clone().unwrap();
    assert!(r.contains("risk rule max_drawdown"), "{r}");
    engine.on_command(Command::ResetKillSwitch);
    assert!(!engine.snapshot().paper.risk.kill_switch);
    engine.on_command(Command::PlaceOrder(Box::new(ticket(OrderSide::Buy, None))));
    assert_eq!(engine.snapshot().paper.orders.len(), 1);
    let id = engine.snapshot().paper.orders[0].id;
    engine.on_command(Command::CancelOrder { id });
    assert!(engine.snapshot().paper.orders.is_empty());
    drop(engine);
    flush(&w);
    w.finish().unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let kinds: Vec<String> = conn
        .prepare("SELECT kind FROM paper_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for k in ["open", "reject", "order", "fill", "kill", "reset", "cancel"] {
        assert!(kinds.iter().any(|x| x == k), "no {k} in {kinds:?}");
    }
}

#[test]
fn a_hand_position_is_left_alone_by_signals_until_they_change() {
    use crate::domain::Signal;
    use crate::engine::component::{Component, Effects};
    use crate::protocol::SignalInfo;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("paper.db");
    let w = writer(&db);
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let mut p = PaperComponent::start(
        Some(&db),
        &w.sender(),
        paper(PaperMode::Bar),
        &[symbol],
        &[],
        Some(Interval::M1),
        0,
    )
    .unwrap();
    let candle = |k: i64| Candle {
        open_time_ms: k * 60_000,
        open: 100.0,
        high: 101.0,
        low: 99.0,
        close: 100.0,
        volume: 1.0,
        quote_volume: 100.0,
        trades: 1,
    };
    let signal = |k: i64, signal| SignalInfo {
        symbol,
        interval: Interval::M1,
        open_time_ms: k * 60_000,
        made_ms: k * 60_000,
        model_version: "m".into(),
        probabilities: [0.2, 0.6, 0.2],
        confidence: 0.6,
        votes: [0, 3, 0],
        signal,
        drivers: Vec::new(),
        fallback: false,
    };
    let mut out = Effects::default();
    p.on_closed(symbol, Interval::M1, &[candle(1)], 120_000, &mut out);
    p.on_signal(&signal(1, Signal::Hold), 120_000, &mut out);
    // A buy by hand fills at the next open.
    let ticket = OrderTicket {
        symbol,
        side: OrderSide::Buy,
        kind: TicketKind::Market,
        quantity: Some(1.0),
        limit_price: None,
        stop_loss: None,
        take_profit: None,
        trailing: None,
    };
    // Placed at candle 1's close: it fills at candle 2's open.
    p.on_command(&Command::PlaceOrder(Box::new(ticket)), 120_000, &mut out);
    p.on_closed(symbol, Interval::M1, &[candle(2)], 180_000, &mut out);
    let held = |p: &PaperComponent| p.book().account(symbol).unwrap().position();
    assert_eq!(held(&p), crate::broker::Position::Long);
    // Holds (the signals still want flat) do not close it.
    for k in 2..5 {
        p.on_signal(&signal(k, Signal::Hold), (k + 1) * 60_000, &mut out);
        p.on_closed(
            symbol,
            Interval::M1,
            &[candle(k + 1)],
            (k + 2) * 60_000,
            &mut out,
        );
    }
    assert_eq!(held(&p), crate::broker::Position::Long);
    assert!(p.book().orders().is_empty());
    // A Buy then a Sell change what the signals want: the Sell closes the position.
    p.on_signal(&signal(5, Signal::Buy), 360_000, &mut out);
    p.on_closed(symbol, Interval::M1, &[candle(6)], 420_000, &mut out);
    assert_eq!(held(&p), crate::broker::Position::Long);
    p.on_signal(&signal(6, Signal::Sell), 420_000, &mut out);
    p.on_closed(symbol, Interval::M1, &[candle(7)], 480_000, &mut out);
    assert_eq!(held(&p), crate::broker::Position::Flat);
    w.finish().unwrap();
}

#[test]
fn resting_orders_are_evaluated_against_the_candles_backfilled_for_a_downtime() {
    use crate::engine::component::{Component, Effects};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("paper.db");
    let w = writer(&db);
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let mut config = paper(PaperMode::Tick);
    config.trade_signals = false;
    let mut p = PaperComponent::start(
        Some(&db),
        &w.sender(),
        config,
        &[symbol],
        &[],
        Some(Interval::M1),
        0,
    )
    .unwrap();
    let candle = |k: i64, low: f64| Candle {
        open_time_ms: k * 60_000,
        open: 100.0,
        high: 101.0,
        low,
        close: 100.0,
        volume: 1.0,
        quote_volume: 100.0,
        trades: 1,
    };
    let mut out = Effects::default();
    p.on_closed(symbol, Interval::M1, &[candle(1, 99.0)], 120_000, &mut out);
    let ticket = OrderTicket {
        symbol,
        side: OrderSide::Buy,
        kind: TicketKind::Limit,
        quantity: Some(1.0),
        limit_price: Some(95.0),
        stop_loss: None,
        take_profit: None,
        trailing: None,
    };
    p.on_command(&Command::PlaceOrder(Box::new(ticket)), 120_000, &mut out);
    assert_eq!(p.book().orders().len(), 1);
    // Down for three minutes: the backfill's second candle trades through 95 (a low of 94);
    // no print covered these candles, so the bar rules fill the limit at its price.
    let backfill = [candle(2, 99.0), candle(3, 94.0), candle(4, 99.0)];
    p.on_closed(symbol, Interval::M1, &backfill, 300_000, &mut out);
    assert!(p.book().orders().is_empty());
    let a = p.book().account(symbol).unwrap();
    let open = a.open.as_ref().unwrap();
    assert_eq!((open.quantity, open.entry_price), (1.0, 95.0));
    assert_eq!(open.entry_time_ms, 180_000);
    let view = out
        .updates
        .iter()
        .rev()
        .find_map(|u| match u {
            crate::protocol::Update::Paper(v) => Some(v.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        view.notes.iter().any(
            |n| n.contains("1 resting BTCUSDT order(s) evaluated against 3 candles backfilled")
        ),
        "{:?}",
        view.notes
    );
    w.finish().unwrap();
}

#[test]
fn exits_the_log_lost_in_a_crash_are_placed_again_once() {
    use crate::broker::{Book, BookEvent, Brackets, OrderKind, OrderRequest, Origin, Side, Size};
    use crate::engine::paper::log;
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let costs = crate::engine::paper::fill_costs(&paper(PaperMode::Tick));
    let mut book = Book::new(costs);
    book.add_symbol(symbol, 10_000.0, Default::default());
    book.set_mark(symbol, 100.0);
    let entry = book
        .submit(
            OrderRequest {
                symbol,
                side: Side::Buy,
                kind: OrderKind::Market,
                size: Size::Quantity(1.0),
                brackets: Brackets {
                    stop_loss: Some(90.0),
                    take_profit: Some(120.0),
                    trailing: None,
                },
                origin: Origin::Manual,
            },
            0,
        )
        .unwrap();
    let mut events = Vec::new();
    book.on_print(symbol, 100.0, 1_000, &mut events);
    let fill = events
        .iter()
        .find_map(|e| match e {
            BookEvent::Fill(f) => Some(f.clone()),
            _ => None,
        })
        .unwrap();
    let exits: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            BookEvent::Placed(o) => Some(o.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(exits.len(), 2);
    let opening = log::Opening {
        cash: 10_000.0,
        symbols: vec![symbol],
        mode: "tick".into(),
        quote_asset: "USDT".into(),
        interval: Some(Interval::M1),
        filters: Vec::new(),
    };
    let lost = vec![
        log::opening(0, &opening),
        log::order(&entry),
        log::fill(&fill),
    ];
    let r = crate::engine::paper::restore(&lost, costs, &|_| Default::default())
        .unwrap()
        .unwrap();
    assert_eq!(r.replaced_exits.len(), 2);
    let resting: Vec<_> = r
        .book
        .orders()
        .iter()
        .map(|o| (o.origin, o.parent))
        .collect();
    assert_eq!(
        resting,
        vec![
            (Origin::StopLoss, Some(entry.id)),
            (Origin::TakeProfit, Some(entry.id))
        ]
    );
    // With its exits logged, nothing is placed again.
    let mut whole = lost.clone();
    whole.extend(exits.iter().map(log::order));
    let r = crate::engine::paper::restore(&whole, costs, &|_| Default::default())
        .unwrap()
        .unwrap();
    assert!(r.replaced_exits.is_empty());
    assert_eq!(r.book.orders().len(), 2);
}
