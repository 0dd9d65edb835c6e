//! The LSTM member's speed (issue 4, "Figures"), ours beside stock `candle_nn::rnn::LSTM` (+ candle
//! Linear and softmax) measured in the same run, for F=26 H=64 L=2 T=20 and F=17 H=32 L=1 T=20:
//! training sequences/s at batch 256 (forward + backward + AdamW step), batch-1 inference latency
//! of one member and of a 5-member ensemble (five members one after another), and batched
//! inference sequences/s at batch 1024. The stock model is loaded with the same weights and must
//! give the same probabilities before it is timed. PyTorch's figures (../shared/reference) are
//! quoted beside them.
//!
//! Run: `cargo bench --bench lstm` (the table prints first, on stderr; `-- --list` or a criterion
//! filter such as `-- ours` narrows the criterion part, `TRADEMON_BENCH_STOCK=0` skips stock candle,
//! `TRADEMON_BENCH_TABLE=0` the table,
//! `TRADEMON_BENCH_SIZE=F26` keeps one size in the table).

use std::hint::black_box;
use std::time::{Duration, Instant};

use candle_core::{DType, Device, IndexOp, Tensor};
use candle_nn::rnn::{LSTM, LSTMConfig, RNN};
use candle_nn::{Linear, Module, Optimizer, VarBuilder, VarMap};
use criterion::{Criterion, Throughput};
use trademon::model::{AdamW, Member, MemberSpec, Scratch};

const TRAIN_BATCH: usize = 256;
const INFER_BATCH: usize = 1024;
const ENSEMBLE: usize = 5;
const RUNS: usize = 15;

struct Size {
    label: &'static str,
    spec: MemberSpec,
    /// PyTorch 2.15, 2 threads: training seq/s, batch-1 µs, batch-1024 seq/s.
    pytorch: (f64, f64, f64),
    /// Targets: training seq/s, batch-1 µs, ensemble µs, batch-1024 seq/s (F26 only).
    targets: Option<(f64, f64, f64, f64)>,
}

const SIZES: [Size; 2] = [
    Size {
        label: "F26 H64 L2 T20",
        spec: MemberSpec {
            features: 26,
            hidden: 64,
            layers: 2,
            window: 20,
        },
        pytorch: (7_466.0, 369.0, 34_786.0),
        targets: Some((7_500.0, 70.0, 300.0, 35_000.0)),
    },
    Size {
        label: "F17 H32 L1 T20",
        spec: MemberSpec {
            features: 17,
            hidden: 32,
            layers: 1,
            window: 20,
        },
        pytorch: (52_976.0, 202.0, 157_276.0),
        targets: None,
    },
];

/// Deterministic inputs in [-2, 2) and labels.
fn data(spec: &MemberSpec, batch: usize, seed: u64) -> (Vec<f32>, Vec<u8>) {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u32
    };
    let x = (0..batch * spec.window_len())
        .map(|_| next() as f32 / 2_147_483_648.0 * 2.0 - 2.0)
        .collect();
    let y = (0..batch).map(|_| (next() % 3) as u8).collect();
    (x, y)
}

/// Stock candle-nn: one `LSTM` per layer (PyTorch's names), `Linear` head, softmax, candle's AdamW.
struct Stock {
    spec: MemberSpec,
    varmap: VarMap,
    layers: Vec<LSTM>,
    head: Linear,
}

impl Stock {
    fn new(member: &Member) -> candle_core::Result<Self> {
        let spec = *member.spec();
        let mut varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let layers = (0..spec.layers)
            .map(|l| {
                let config = LSTMConfig {
                    layer_idx: l,
                    ..Default::default()
                };
                candle_nn::rnn::lstm(spec.layer_inputs(l), spec.hidden, config, vb.pp("lstm"))
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let head = candle_nn::linear(spec.hidden, 3, vb.pp("head"))?;
        for ((name, shape), values) in spec
            .parameter_shapes()
            .iter()
            .zip(member.weights().tensors())
        {
            varmap.set_one(
                name,
                Tensor::from_slice(values, shape.as_slice(), &Device::Cpu)?,
            )?;
        }
        Ok(Self {
            spec,
            varmap,
            layers,
            head,
        })
    }

    fn logits(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut input = x.clone();
        for layer in &self.layers {
            let states = layer.seq(&input)?;
            input = layer.states_to_tensor(&states)?;
        }
        self.head.forward(&input.i((.., self.spec.window - 1, ..))?)
    }

    fn probabilities(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::softmax_last_dim(&self.logits(x)?)
    }

    fn train_step(
        &self,
        opt: &mut candle_nn::AdamW,
        x: &Tensor,
        y: &Tensor,
    ) -> candle_core::Result<f32> {
        let loss = candle_nn::loss::cross_entropy(&self.logits(x)?, y)?;
        opt.backward_step(&loss)?;
        loss.to_scalar::<f32>()
    }
}

fn input(spec: &MemberSpec, x: &[f32], batch: usize) -> Tensor {
    Tensor::from_slice(x, (batch, spec.window, spec.features), &Device::Cpu).expect("input tensor")
}

fn stock_adamw(stock: &Stock) -> candle_nn::AdamW {
    let params = candle_nn::ParamsAdamW {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.01,
    };
    candle_nn::AdamW::new(stock.varmap.all_vars(), params).expect("candle AdamW")
}

/// Best of `RUNS` of the mean seconds per call over `iters` calls.
fn best_secs(iters: usize, mut run: impl FnMut()) -> f64 {
    run();
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                run();
            }
            start.elapsed().as_secs_f64() / iters as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// (training seq/s, batch-1 µs, ensemble µs, batch-1024 seq/s)
type Figures = (f64, f64, f64, f64);

fn ours(spec: &MemberSpec) -> Figures {
    let members: Vec<Member> = (0..ENSEMBLE as u64)
        .map(|s| Member::init(*spec, s).expect("member"))
        .collect();
    let (x, y) = data(spec, TRAIN_BATCH, 1);
    let (xi, _) = data(spec, INFER_BATCH, 2);
    let mut trained = members[0].clone();
    let mut adamw = AdamW::default();
    let train = best_secs(4, || {
        black_box(trained.train_step(&mut adamw, &x, &y).expect("train"));
    });
    let window = &xi[..spec.window_len()];
    let mut scratch = Scratch::new(spec);
    let one = best_secs(300, || {
        black_box(
            members[0]
                .predict_one(black_box(window), &mut scratch)
                .expect("predict"),
        );
    });
    let ensemble = best_secs(60, || {
        for m in &members {
            black_box(
                m.predict_one(black_box(window), &mut scratch)
                    .expect("predict"),
            );
        }
    });
    let batched = best_secs(3, || {
        black_box(members[0].probabilities(&xi, INFER_BATCH).expect("batched"));
    });
    (
        TRAIN_BATCH as f64 / train,
        one * 1e6,
        ensemble * 1e6,
        INFER_BATCH as f64 / batched,
    )
}

fn stock(spec: &MemberSpec) -> Figures {
    let members: Vec<Member> = (0..ENSEMBLE as u64)
        .map(|s| Member::init(*spec, s).expect("member"))
        .collect();
    let stocks: Vec<Stock> = members
        .iter()
        .map(|m| Stock::new(m).expect("stock"))
        .collect();
    let (x, y) = data(spec, TRAIN_BATCH, 1);
    let (xi, _) = data(spec, INFER_BATCH, 2);
    // Same weights, same function: check before timing.
    let check = &xi[..8 * spec.window_len()];
    let theirs = stocks[0]
        .probabilities(&input(spec, check, 8))
        .expect("stock")
        .flatten_all()
        .expect("flat");
    let theirs = theirs.to_vec1::<f32>().expect("values");
    let mine = members[0].probabilities(check, 8).expect("ours").concat();
    let gap = theirs
        .iter()
        .zip(&mine)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(gap < 1e-5, "stock candle and ours disagree by {gap}");
    let (xt, yt) = (
        input(spec, &x, TRAIN_BATCH),
        Tensor::new(
            y.iter().map(|&c| u32::from(c)).collect::<Vec<_>>(),
            &Device::Cpu,
        )
        .expect("y"),
    );
    let trained = Stock::new(&members[0]).expect("stock");
    let mut opt = stock_adamw(&trained);
    let train = best_secs(1, || {
        black_box(trained.train_step(&mut opt, &xt, &yt).expect("stock train"));
    });
    let x1 = input(spec, &xi[..spec.window_len()], 1);
    let one = best_secs(20, || {
        black_box(stocks[0].probabilities(&x1).expect("stock predict"));
    });
    let ensemble = best_secs(4, || {
        for s in &stocks {
            black_box(s.probabilities(&x1).expect("stock predict"));
        }
    });
    let xb = input(spec, &xi, INFER_BATCH);
    let batched = best_secs(1, || {
        black_box(stocks[0].probabilities(&xb).expect("stock batched"));
    });
    (
        TRAIN_BATCH as f64 / train,
        one * 1e6,
        ensemble * 1e6,
        INFER_BATCH as f64 / batched,
    )
}

/// One line of the table: a figure for ours, stock candle, PyTorch and the target.
struct Row {
    name: &'static str,
    ours: f64,
    stock: Option<f64>,
    pytorch: Option<f64>,
    target: Option<f64>,
    higher_is_better: bool,
}

fn print_table(with_stock: bool) {
    eprintln!(
        "\nLSTM member, {} rayon threads, best of {RUNS}:",
        rayon::current_num_threads()
    );
    let cell = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
    let only = std::env::var("TRADEMON_BENCH_SIZE").unwrap_or_default();
    for size in SIZES.iter().filter(|s| s.label.contains(only.as_str())) {
        let o = ours(&size.spec);
        let s = with_stock.then(|| stock(&size.spec));
        let (pt_train, pt_one, pt_batched) = size.pytorch;
        let t = size.targets;
        let rows = [
            Row {
                name: "training seq/s (batch 256)",
                ours: o.0,
                stock: s.map(|s| s.0),
                pytorch: Some(pt_train),
                target: t.map(|t| t.0),
                higher_is_better: true,
            },
            Row {
                name: "batch-1 latency µs (1 member)",
                ours: o.1,
                stock: s.map(|s| s.1),
                pytorch: Some(pt_one),
                target: t.map(|t| t.1),
                higher_is_better: false,
            },
            Row {
                name: "batch-1 latency µs (5 members)",
                ours: o.2,
                stock: s.map(|s| s.2),
                pytorch: None,
                target: t.map(|t| t.2),
                higher_is_better: false,
            },
            Row {
                name: "inference seq/s (batch 1024)",
                ours: o.3,
                stock: s.map(|s| s.3),
                pytorch: Some(pt_batched),
                target: t.map(|t| t.3),
                higher_is_better: true,
            },
        ];
        eprintln!("{}:", size.label);
        eprintln!(
            "  {:<34} {:>12} {:>12} {:>8} {:>10} {:>10}",
            "", "ours", "stock", "ratio", "PyTorch", "target"
        );
        for row in rows {
            let ratio = row.stock.map_or("-".to_string(), |st| {
                format!(
                    "{:.1}×",
                    if row.higher_is_better {
                        row.ours / st
                    } else {
                        st / row.ours
                    }
                )
            });
            let bound = if row.higher_is_better { "≥" } else { "≤" };
            eprintln!(
                "  {:<34} {:>12.1} {:>12} {ratio:>8} {:>10} {:>10}",
                row.name,
                row.ours,
                cell(row.stock),
                cell(row.pytorch),
                row.target
                    .map_or("-".to_string(), |t| format!("{bound}{t:.0}"))
            );
        }
    }
    eprintln!();
}

fn criterion_groups(c: &mut Criterion, with_stock: bool) {
    for size in &SIZES {
        let spec = size.spec;
        let name = format!(
            "lstm_F{}_H{}_L{}_T{}",
            spec.features, spec.hidden, spec.layers, spec.window
        );
        let mut group = c.benchmark_group(&name);
        group
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        let members: Vec<Member> = (0..ENSEMBLE as u64)
            .map(|s| Member::init(spec, s).expect("member"))
            .collect();
        let (x, y) = data(&spec, TRAIN_BATCH, 1);
        let (xi, _) = data(&spec, INFER_BATCH, 2);
        let window = &xi[..spec.window_len()];
        let mut trained = members[0].clone();
        let mut adamw = AdamW::default();
        group.throughput(Throughput::Elements(TRAIN_BATCH as u64));
        group.bench_function("ours/train_batch_256", |b| {
            b.iter(|| trained.train_step(&mut adamw, &x, &y).expect("train"))
        });
        let mut scratch = Scratch::new(&spec);
        group.throughput(Throughput::Elements(1));
        group.bench_function("ours/predict_one", |b| {
            b.iter(|| {
                members[0]
                    .predict_one(black_box(window), &mut scratch)
                    .expect("predict")
            })
        });
        group.bench_function("ours/ensemble_5_predict_one", |b| {
            b.iter(|| {
                members
                    .iter()
                    .map(|m| {
                        m.predict_one(black_box(window), &mut scratch)
                            .expect("predict")
                    })
                    .count()
            })
        });
        group.throughput(Throughput::Elements(INFER_BATCH as u64));
        group.bench_function("ours/infer_batch_1024", |b| {
            b.iter(|| members[0].probabilities(&xi, INFER_BATCH).expect("batched"))
        });
        if with_stock {
            let stock = Stock::new(&members[0]).expect("stock");
            let mut opt = stock_adamw(&stock);
            let xt = input(&spec, &x, TRAIN_BATCH);
            let yt = Tensor::new(
                y.iter().map(|&c| u32::from(c)).collect::<Vec<_>>(),
                &Device::Cpu,
            )
            .expect("y");
            group.throughput(Throughput::Elements(TRAIN_BATCH as u64));
            group.bench_function("stock/train_batch_256", |b| {
                b.iter(|| stock.train_step(&mut opt, &xt, &yt).expect("train"))
            });
            let x1 = input(&spec, window, 1);
            group.throughput(Throughput::Elements(1));
            group.bench_function("stock/predict_one", |b| {
                b.iter(|| stock.probabilities(&x1).expect("predict"))
            });
            let xb = input(&spec, &xi, INFER_BATCH);
            group.throughput(Throughput::Elements(INFER_BATCH as u64));
            group.bench_function("stock/infer_batch_1024", |b| {
                b.iter(|| stock.probabilities(&xb).expect("batched"))
            });
        }
        group.finish();
    }
}

fn main() {
    let with_stock = std::env::var("TRADEMON_BENCH_STOCK").as_deref() != Ok("0");
    if std::env::var("TRADEMON_BENCH_TABLE").as_deref() != Ok("0") {
        print_table(with_stock);
    }
    let mut criterion = Criterion::default().configure_from_args();
    criterion_groups(&mut criterion, with_stock);
    criterion.final_summary();
}
