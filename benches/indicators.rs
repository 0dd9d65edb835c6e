//! Indicator throughput over 1,000,000 random-walk bars: each family's batch fold, the batch of all
//! 17 (`raw_batch_into` a reused table; `raw_batch` into fresh memory beside it), and the live path (`RawIndicators::update` per candle). Targets: all 17 in
//! batch ≤ 90 ns/bar, incremental ≤ 300 ns/candle. When `python3` (or `$TALIB_PYTHON`) can
//! `import talib`, benches/talib_reference.py times TA-Lib's 19 calls of gen_talib.py on the very
//! same bars (checked by checksum) and the ratio is printed beside ours.
//!
//! Run: `cargo bench --bench indicators` (`TRADEMON_BENCH_BARS=N` for fewer bars,
//! `TALIB_PYTHON=/path/to/venv/bin/python` for a virtualenv with ta-lib==0.8.2 and numpy).

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use trademon::domain::{Candle, Interval};
use trademon::features::FeatureSet;
use trademon::indicators::window::{Extreme, ExtremeWindow, Ring};
use trademon::indicators::{
    Adx, Aroon, Atr, Bbands, Cci, Ema, Indicator, Macd, Mfi, Obv, RawIndicators, RawTable, Roc,
    Rsi, Sar, Sma, Stoch, StochRsi, Threads, WillR, Wma, batch, raw_batch, raw_batch_into,
};

const BARS: usize = 1_000_000;
const SEED: u64 = 0x7EAD_5EED;
const DRAWS: u64 = 7;
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
const RUNS: usize = 5;

/// splitmix64 output number `n` (1-based) of the stream started at `seed`.
fn splitmix64(seed: u64, n: u64) -> u64 {
    let mut z = seed.wrapping_add(n.wrapping_mul(GAMMA));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The bench's bars; bit-identical to `random_walk` in benches/talib_reference.py (see there for
/// the recipe). Only exactly rounded + and × are used, so Python and Rust agree to the last bit.
fn random_walk(bars: usize, seed: u64) -> Vec<Candle> {
    let mut close = 100.0_f64;
    (0..bars as u64)
        .map(|i| {
            let mut u = [0.0_f64; DRAWS as usize];
            for (k, slot) in u.iter_mut().enumerate() {
                let x = splitmix64(seed, i * DRAWS + k as u64 + 1);
                *slot = (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
            }
            let z = u[0] + u[1] + u[2] + u[3] - 2.0;
            let open = close;
            close = open * (1.0 + 0.002 * z);
            Candle {
                open_time_ms: i as i64 * 60_000,
                open,
                high: open.max(close) * (1.0 + 0.001 * u[4]),
                low: open.min(close) * (1.0 - 0.001 * u[5]),
                close,
                volume: 1.0 + 999.0 * u[6],
                quote_volume: 0.0,
                trades: 0,
            }
        })
        .collect()
}

/// Σ bits(value) × (2·position + 1) mod 2⁶⁴ over open, high, low, close, volume of every bar.
fn checksum(bars: &[Candle]) -> u64 {
    bars.iter()
        .flat_map(|c| [c.open, c.high, c.low, c.close, c.volume])
        .enumerate()
        .fold(0u64, |sum, (i, v)| {
            sum.wrapping_add(v.to_bits().wrapping_mul(2 * i as u64 + 1))
        })
}

fn best_ns_per_bar(bars: usize, mut run: impl FnMut()) -> f64 {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_nanos() as f64 / bars as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// One family's batch fold with its default (gen_talib.py) parameters.
fn fold<I: Indicator + Default>(bars: &[Candle]) -> usize {
    let out = batch(&mut I::default(), black_box(bars));
    black_box(&out).len()
}

/// The live path: one update per candle, each output handed on.
fn incremental(bars: &[Candle]) {
    let mut live = RawIndicators::new();
    for candle in bars {
        black_box(live.update(black_box(candle)));
    }
}

type Family = (&'static str, fn(&[Candle]) -> usize);

const FAMILIES: [Family; 17] = [
    ("sma", fold::<Sma>),
    ("ema", fold::<Ema>),
    ("wma", fold::<Wma>),
    ("macd", fold::<Macd>),
    ("rsi", fold::<Rsi>),
    ("stoch", fold::<Stoch>),
    ("stochrsi", fold::<StochRsi>),
    ("willr", fold::<WillR>),
    ("cci", fold::<Cci>),
    ("atr", fold::<Atr>),
    ("bbands", fold::<Bbands>),
    ("adx", fold::<Adx>),
    ("obv", fold::<Obv>),
    ("mfi", fold::<Mfi>),
    ("roc", fold::<Roc>),
    ("sar", fold::<Sar>),
    ("aroon", fold::<Aroon>),
];

/// The full feature vector (base interval and the 5x higher timeframe) per closed candle.
fn features(bars: &[Candle]) {
    let mut set = FeatureSet::new(Interval::M1);
    for candle in bars {
        // The bars are valid and on the 1m grid; an error here would make the figure meaningless.
        black_box(set.update(black_box(candle)).expect("valid bar"));
    }
}

/// TA-Lib's figures from benches/talib_reference.py: the checksum of its bars, per call, total.
struct Talib {
    checksum: u64,
    calls: Vec<(String, f64)>,
    total: f64,
}

fn run_talib(bars: usize) -> Result<Talib, String> {
    let python = std::env::var("TALIB_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python)
        .args(["-c", "import talib, numpy"])
        .output();
    if !probe.is_ok_and(|p| p.status.success()) {
        return Err(format!(
            "`{python} -c \"import talib, numpy\"` failed: TA-Lib is not installed there \
             (pip install ta-lib==0.8.2 numpy, or set TALIB_PYTHON)"
        ));
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/talib_reference.py");
    let out = Command::new(&python)
        .args([
            script,
            "--bars",
            &bars.to_string(),
            "--seed",
            &SEED.to_string(),
        ])
        .output()
        .map_err(|e| format!("running {script}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{script} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut checksum, mut total, mut calls) = (None, None, Vec::new());
    for line in text.lines() {
        let Some((key, value)) = line.split_once(' ') else {
            return Err(format!("{script}: unexpected line {line:?}"));
        };
        match key {
            "checksum" => checksum = u64::from_str_radix(value, 16).ok(),
            "total" => total = value.parse().ok(),
            call => calls.push((
                call.to_owned(),
                value
                    .parse()
                    .map_err(|_| format!("{script}: {call}: {value:?} is not a number"))?,
            )),
        }
    }
    match (checksum, total) {
        (Some(checksum), Some(total)) => Ok(Talib {
            checksum,
            calls,
            total,
        }),
        _ => Err(format!(
            "{script}: no checksum or total in its output:\n{text}"
        )),
    }
}

/// Our figures and TA-Lib's, side by side (stderr, so criterion's own output stays parseable).
fn print_table(bars: &[Candle]) {
    let n = bars.len();
    eprintln!("\nindicators over {n} random-walk bars (seed {SEED:#x}), best of {RUNS}:");
    eprintln!("{:<22} {:>10}", "family", "ns/bar");
    for (name, run) in FAMILIES {
        eprintln!(
            "{name:<22} {:>10.2}",
            best_ns_per_bar(n, || {
                run(bars);
            })
        );
    }
    let sum_ns: f64 = FAMILIES
        .iter()
        .map(|(_, run)| {
            best_ns_per_bar(n, || {
                run(bars);
            })
        })
        .sum();
    let fresh = best_ns_per_bar(n, || {
        black_box(raw_batch(black_box(bars)));
    });
    let mut table = RawTable::new();
    let all = best_ns_per_bar(n, || {
        raw_batch_into(black_box(bars), &mut table, Threads::One);
        black_box(&table);
    });
    let all_two = best_ns_per_bar(n, || {
        raw_batch_into(black_box(bars), &mut table, Threads::Auto);
        black_box(&table);
    });
    let live = best_ns_per_bar(n, || incremental(bars));
    let feature_vector = best_ns_per_bar(n, || features(bars));
    let mut ring = Ring::new(14);
    let ring_push = best_ns_per_bar(n, || {
        for c in bars {
            black_box(ring.push(black_box(c.close)));
        }
    });
    let mut highest = ExtremeWindow::new(14, Extreme::Max);
    let window_push = best_ns_per_bar(n, || {
        for c in bars {
            black_box(highest.push(black_box(c.high)));
        }
    });
    eprintln!("{:<22} {sum_ns:>10.2}", "sum of the 17 folds");
    eprintln!(
        "{:<22} {all:>10.2}   (target ≤ 90; raw_batch_into, reused table, 1 thread)",
        "batch all 17"
    );
    eprintln!(
        "{:<22} {all_two:>10.2}   (the same, the two halves on 2 threads)",
        "batch all 17, 2 threads"
    );
    eprintln!(
        "{:<22} {fresh:>10.2}   (raw_batch: fresh Vec<RawRow>, 416 B/bar of new pages)",
        "batch all 17, fresh"
    );
    eprintln!("{:<22} {live:>10.2}   (target ≤ 300)", "incremental all 17");
    eprintln!(
        "{:<22} {feature_vector:>10.2}   (target ≤ 500)",
        "feature vector (both timeframes)"
    );
    eprintln!("{:<22} {ring_push:>10.2}", "Ring::push (14)");
    eprintln!("{:<22} {window_push:>10.2}", "ExtremeWindow::push");
    match run_talib(n) {
        Ok(talib) => {
            let ours = checksum(bars);
            if talib.checksum != ours {
                eprintln!(
                    "WARNING: TA-Lib's bars differ from ours (checksum {:016x} vs {ours:016x}): \
                     the ratio compares different series",
                    talib.checksum
                );
            } else {
                eprintln!("TA-Lib timed on the same bars (checksum {ours:016x} on both sides):");
            }
            for (call, ns) in &talib.calls {
                eprintln!("  TA-Lib {call:<15} {ns:>10.2}");
            }
            eprintln!("{:<22} {:>10.2}", "TA-Lib all 19 calls", talib.total);
            eprintln!(
                "ratio ours/TA-Lib: batch {:.2} (2 threads {:.2}), incremental {:.2}",
                all / talib.total,
                all_two / talib.total,
                live / talib.total
            );
        }
        Err(why) => eprintln!("TA-Lib not timed: {why}; ours only"),
    }
    eprintln!();
}

fn criterion_groups(c: &mut Criterion, bars: &[Candle]) {
    let mut group = c.benchmark_group("indicators");
    group
        .throughput(Throughput::Elements(bars.len() as u64))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, run) in FAMILIES {
        group.bench_function(format!("batch/{name}"), |b| b.iter(|| run(bars)));
    }
    let mut table = RawTable::new();
    group.bench_function("batch/all_17", |b| {
        b.iter(|| {
            raw_batch_into(black_box(bars), &mut table, Threads::One);
            table.len()
        })
    });
    group.bench_function("batch/all_17_two_threads", |b| {
        b.iter(|| {
            raw_batch_into(black_box(bars), &mut table, Threads::Auto);
            table.len()
        })
    });
    group.bench_function("batch/all_17_fresh", |b| {
        b.iter(|| raw_batch(black_box(bars)))
    });
    group.bench_function("incremental/all_17", |b| b.iter(|| incremental(bars)));
    group.bench_function("features/both_timeframes", |b| b.iter(|| features(bars)));
    group.finish();
}

fn main() {
    let n = std::env::var("TRADEMON_BENCH_BARS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(BARS);
    let bars = random_walk(n, SEED);
    print_table(&bars);
    let mut criterion = Criterion::default().configure_from_args();
    criterion_groups(&mut criterion, &bars);
    criterion.final_summary();
}
