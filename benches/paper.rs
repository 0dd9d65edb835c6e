//! Paper trading's figures: the fill decision per trade print in tick mode with 100 resting
//! orders, and the recorded trades of ../shared/data replayed through the engine with paper
//! trading on (prints per second).

#[path = "support/engine.rs"]
mod support;

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use trademon::broker::{Book, BookEvent, FillCosts, OrderKind, OrderRequest, Origin, Side, Size};
use trademon::config::{PaperConfig, PaperMode};
use trademon::domain::{Symbol, SymbolFilters, Trade};
use trademon::feed::MarketEvent;
use trademon::store::Store;
use trademon::store::writer::{Writer, WriterOptions};

fn costs() -> FillCosts {
    FillCosts {
        maker_fee: 0.0008,
        taker_fee: 0.001,
        slippage_bps: 2.0,
        latency_ms: 100,
    }
}

/// A book of one symbol with 100 resting orders: buy limits below the market, sell limits above
/// and stops, none of which the benchmark's prices reach.
fn resting_book(symbol: Symbol) -> Book {
    let mut book = Book::new(costs());
    book.add_symbol(symbol, 1e9, SymbolFilters::NONE);
    book.set_mark(symbol, 100.0);
    for i in 0..100 {
        let offset = 1.0 + (i / 4) as f64;
        let (side, kind) = match i % 4 {
            0 => (
                Side::Buy,
                OrderKind::Limit {
                    price: 90.0 - offset,
                },
            ),
            1 => (
                Side::Sell,
                OrderKind::Limit {
                    price: 110.0 + offset,
                },
            ),
            2 => (
                Side::Buy,
                OrderKind::Stop {
                    trigger: 120.0 + offset,
                },
            ),
            _ => (
                Side::Sell,
                OrderKind::Stop {
                    trigger: 80.0 - offset,
                },
            ),
        };
        book.submit(
            OrderRequest {
                symbol,
                side,
                kind,
                size: Size::Quantity(1.0),
                brackets: Default::default(),
                origin: Origin::Manual,
            },
            0,
        )
        .expect("a valid order");
    }
    book
}

fn fill_decision(c: &mut Criterion) {
    let symbol = Symbol::new("BTCUSDT").expect("a symbol");
    let mut book = resting_book(symbol);
    let mut events: Vec<BookEvent> = Vec::new();
    let mut t = 1_000;
    let mut group = c.benchmark_group("paper");
    group.bench_function("fill_decision_100_resting", |b| {
        b.iter(|| {
            t += 1;
            let price = 100.0 + (t % 7) as f64 * 0.1;
            book.on_print(symbol, black_box(price), t, &mut events);
            events.clear();
        })
    });
    assert_eq!(book.orders().len(), 100, "no resting order filled");
    group.finish();
}

/// `time_ms,trade_id,side,price,amount` rows of the recorded file.
fn recorded_trades(path: &Path) -> Vec<Trade> {
    let text = std::fs::read_to_string(path).expect("../shared/data is there");
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Trade {
                time_ms: f[0].parse().expect("time"),
                trade_id: f[1].parse().expect("id"),
                buyer_is_maker: f[2] == "sell",
                price: f[3].parse().expect("price"),
                quantity: f[4].parse().expect("amount"),
            }
        })
        .collect()
}

fn replay(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/XRPETH-trades.csv");
    let trades = recorded_trades(&path);
    let symbol = Symbol::new("XRPETH").expect("a symbol");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = dir.path().join("paper.db");
    let writer = Writer::spawn(Store::open(&db).expect("a store"), WriterOptions::default());
    let mut options = support::options(symbol, true);
    options.paper = PaperConfig {
        enabled: true,
        mode: PaperMode::Tick,
        cash: 100.0,
        quote_asset: "ETH".into(),
        ..PaperConfig::default()
    };
    options.monitor.enabled = false;
    let mut engine = support::engine(options, &writer, &db);
    // Resting orders the replay walks past (far from XRPETH's 0.0014), so each print is checked
    // against them.
    let first = trades[0].price;
    for i in 0..20 {
        let (side, price) = if i % 2 == 0 {
            (trademon::protocol::OrderSide::Buy, first * 0.5)
        } else {
            (trademon::protocol::OrderSide::Sell, first * 1.5)
        };
        engine.on_market(MarketEvent::Trade {
            symbol,
            trade: trades[0],
        });
        engine.on_command(trademon::protocol::Command::PlaceOrder(Box::new(
            trademon::protocol::OrderTicket {
                symbol,
                side,
                kind: trademon::protocol::TicketKind::Limit,
                quantity: Some(1_000.0),
                limit_price: Some(price),
                stop_loss: None,
                take_profit: None,
                trailing: None,
            },
        )));
    }
    assert_eq!(
        engine.snapshot().paper.orders.len(),
        20,
        "{:?}",
        engine.snapshot().paper.risk
    );
    let mut group = c.benchmark_group("paper");
    group.sample_size(20);
    group.throughput(criterion::Throughput::Elements(trades.len() as u64));
    group.bench_function("replay_recorded_trades", |b| {
        b.iter(|| {
            for t in &trades {
                engine.on_market(MarketEvent::Trade { symbol, trade: *t });
            }
        })
    });
    group.finish();
    // The figure the README quotes, measured once more outside criterion's loop.
    let mut rates = Vec::new();
    for _ in 0..15 {
        let started = Instant::now();
        for t in &trades {
            engine.on_market(MarketEvent::Trade { symbol, trade: *t });
        }
        rates.push(trades.len() as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "paper/replay_recorded_trades: median {:.0} trade prints/s over {} replays of {} recorded XRPETH trades",
        rates[rates.len() / 2],
        rates.len(),
        trades.len()
    );
    drop(engine);
    let _ = writer.finish();
}

criterion_group!(benches, fill_decision, replay);
criterion_main!(benches);
