//! Parsing Binance websocket messages into events, in memory, on one core.
//! Targets: >= 1,000,000 trade messages/s and >= 500,000 kline messages/s.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use trademon::domain::{Candle, Interval, Symbol, Trade};
use trademon::feed::binance::{
    parse_ws_message, write_combined, write_kline_event, write_trade_event,
};

const N: usize = 10_000;

/// Realistic messages with varying numbers, wrapped as a combined stream sends them.
fn messages() -> (Vec<String>, Vec<String>) {
    let symbol = Symbol::new("BTCUSDT").expect("valid symbol");
    let mut trades = Vec::with_capacity(N);
    let mut klines = Vec::with_capacity(N);
    let mut price = 43_000.0_f64;
    for i in 0..N {
        price *= 1.0 + ((i * 7919 % 1000) as f64 - 500.0) * 1e-6;
        let price = (price * 100.0).round() / 100.0;
        let mut event = String::new();
        write_trade_event(
            &mut event,
            symbol,
            &Trade {
                trade_id: 3_000_000_000 + i as u64,
                time_ms: 1_700_000_000_000 + i as i64 * 37,
                price,
                quantity: ((i % 97) as f64 + 1.0) * 0.00137,
                buyer_is_maker: i % 2 == 0,
            },
            1_700_000_000_000 + i as i64 * 37,
        );
        let mut wrapped = String::new();
        write_combined(&mut wrapped, "btcusdt@trade", &event);
        trades.push(wrapped);

        let candle = Candle {
            open_time_ms: 1_700_000_040_000 + i as i64 * 60_000,
            open: price,
            high: price + 12.5,
            low: price - 7.25,
            close: price + 3.1,
            volume: 12.345_67 + i as f64 * 0.01,
            quote_volume: 530_123.456 + i as f64,
            trades: 1000 + i as u64,
        };
        let mut event = String::new();
        write_kline_event(
            &mut event,
            symbol,
            Interval::M1,
            &candle,
            i % 30 == 0,
            1_700_000_000_000,
        );
        let mut wrapped = String::new();
        write_combined(&mut wrapped, "btcusdt@kline_1m", &event);
        klines.push(wrapped);
    }
    (trades, klines)
}

fn bench(c: &mut Criterion) {
    let (trades, klines) = messages();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("trade_messages", |b| {
        b.iter(|| {
            for m in &trades {
                black_box(parse_ws_message(black_box(m)).is_ok());
            }
        })
    });
    group.bench_function("kline_messages", |b| {
        b.iter(|| {
            for m in &klines {
                black_box(parse_ws_message(black_box(m)).is_ok());
            }
        })
    });
    group.finish();
    // Every message must parse, or the figure would be about error paths.
    assert!(trades.iter().all(|m| parse_ws_message(m).is_ok()));
    assert!(klines.iter().all(|m| parse_ws_message(m).is_ok()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
