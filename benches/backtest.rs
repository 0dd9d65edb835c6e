//! Backtest throughput: `sma-cross:10,20` and buy-and-hold through the simulator over 1,000,000
//! random-walk candles (fills, fees, the equity curve and trades included). Goal: ≥ 5,000,000
//! candles/s for sma-cross. Run: `cargo bench --bench backtest`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use trademon::backtest::{BuyHold, Costs, SmaCross, run};
use trademon::domain::Candle;

const CANDLES: usize = 1_000_000;

fn walk(n: usize) -> Vec<Candle> {
    let mut state = 0x5EED_u64;
    let mut close = 100.0;
    (0..n as i64)
        .map(|i| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let open = close;
            close = open * (1.0 + 0.004 * (u - 0.5));
            Candle {
                open_time_ms: i * 60_000,
                open,
                high: open.max(close) * 1.0005,
                low: open.min(close) * 0.9995,
                close,
                volume: 1.0 + u,
                quote_volume: 0.0,
                trades: 1,
            }
        })
        .collect()
}

fn main() {
    let candles = walk(CANDLES);
    let costs = Costs {
        fee: 0.002,
        slippage_bps: 1.0,
        ..Costs::default()
    };
    let best = |f: &mut dyn FnMut()| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let sma = best(&mut || {
        let mut s = SmaCross::new(10, 20, false).expect("valid periods");
        black_box(run(black_box(&candles), &mut s, costs).expect("valid candles"));
    });
    let hold = best(&mut || {
        black_box(run(black_box(&candles), &mut BuyHold, costs).expect("valid candles"));
    });
    eprintln!("\nbacktest over {CANDLES} candles, best of 5:");
    eprintln!(
        "  sma-cross:10,20   {:>12.0} candles/s   (goal ≥ 5,000,000)",
        CANDLES as f64 / sma
    );
    eprintln!(
        "  buy-hold          {:>12.0} candles/s\n",
        CANDLES as f64 / hold
    );
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("backtest");
    group
        .throughput(Throughput::Elements(CANDLES as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.bench_function("sma_cross_10_20", |b| {
        b.iter(|| {
            let mut s = SmaCross::new(10, 20, false).expect("valid periods");
            run(black_box(&candles), &mut s, costs).expect("valid candles")
        })
    });
    group.finish();
    c.final_summary();
}
