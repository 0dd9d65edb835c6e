//! Promotion by evidence on the built-in exchange's market, the way the engine decides it: the
//! paired stream of champion and challenger through the signal pipeline, the evidence looked at
//! every 10 candles (as the shadow component publishes it), the `[retrain]` rule in `auto` mode.
//! - An exact copy of the champion (the demo model's weights in a blob of their own), over 10
//!   seeds of the simulator, is never promoted (the rate is printed).
//! - A market with a planted predictable component (the simulator's returns with an AR(1) part,
//!   φ = 0.3, added), a champion trained on the plain simulator and a challenger of the same
//!   settings trained on the planted market: the challenger is promoted within 5,000 candles.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::AtomicBool;

use trademon::config::{Config, PromoteMode, RetrainConfig};
use trademon::domain::{Candle, Interval, Symbol};
use trademon::feed::sim::model_candles;
use trademon::model::pipeline::SignalPipeline;
use trademon::model::registry::Registry;
use trademon::model::signal::Verdict;
use trademon::model::train::{TrainSpec, train};
use trademon::monitor::compare::{Paired, PairedOutcome};
use trademon::monitor::compare_run::pair_up;
use trademon::monitor::promotion::{PairedSummary, Promotion, decide_promotion};

const LOOK_EVERY: usize = 10;

fn auto() -> RetrainConfig {
    RetrainConfig {
        promote: PromoteMode::Auto,
        ..RetrainConfig::default()
    }
}

/// Paired candles until the rule first says promote, looking every `LOOK_EVERY`.
fn first_promotion(pairs: &[PairedOutcome], horizon: usize) -> Option<usize> {
    let config = auto();
    let mut paired = Paired::new(horizon);
    for (i, o) in pairs.iter().enumerate() {
        paired.push(o);
        if (i + 1) % LOOK_EVERY == 0 {
            let e = paired.evidence();
            let s = PairedSummary {
                paired: e.n,
                cs_lower: e.confidence_sequence.0,
                cs_upper: e.confidence_sequence.1,
                mcnemar_p: e.mcnemar.p,
                challenger_correct_only: e.mcnemar.c,
                champion_correct_only: e.mcnemar.b,
            };
            if matches!(decide_promotion(&config, &s), Promotion::Promote { .. }) {
                return Some(i + 1);
            }
        }
    }
    None
}

fn verdicts(
    pipeline: &mut SignalPipeline,
    candles: &[Candle],
    warm: usize,
) -> Vec<Option<Verdict>> {
    pipeline
        .batch_verdicts(candles, warm, &mut |_, _| true)
        .unwrap()
}

#[test]
fn an_exact_copy_is_never_promoted_over_seeds_of_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let mut registry = Registry::open(&dir.path().join("m.db")).unwrap();
    let champion = trademon::model::demo::install(&mut registry)
        .unwrap()
        .unwrap();
    let copy = registry
        .register(trademon::model::demo::derived(3).unwrap())
        .unwrap();
    let load = |id| registry.load_blob(id).map_err(|e| e.to_string());
    let mut a = SignalPipeline::load(&champion, load(champion.id), None, Default::default())
        .unwrap()
        .0;
    let mut b = SignalPipeline::load(&copy, load(copy.id), None, Default::default())
        .unwrap()
        .0;
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let from = champion.data_to_ms.unwrap() + 60_000;
    let seeds = 10;
    let mut promoted = 0;
    for seed in 1..=seeds {
        let candles = model_candles(seed, symbol, from, 3_000);
        let (va, vb) = (verdicts(&mut a, &candles, 0), verdicts(&mut b, &candles, 0));
        let pairs = pair_up(&candles, &va, &vb, Interval::M1, a.horizon, a.theta);
        assert!(pairs.len() > 2_500, "seed {seed}: {} pairs", pairs.len());
        assert!(pairs.iter().all(|p| p.log_loss_a() == p.log_loss_b()));
        promoted += usize::from(first_promotion(&pairs, a.horizon).is_some());
    }
    println!("an exact copy promoted in {promoted} of {seeds} simulator seeds");
    assert_eq!(promoted, 0);
}

/// The simulator's candles with an AR(1) part added to their log returns: r'_t = r_t + φ·r'_{t−1}.
/// Each candle keeps its shape (high and low relative to its body), its volume and its trades.
fn planted(candles: &[Candle], phi: f64) -> Vec<Candle> {
    let mut out = Vec::with_capacity(candles.len());
    let mut previous_close = candles[0].open;
    let mut last = 0.0;
    for c in candles {
        let r = (c.close / c.open).ln() + phi * last;
        last = r;
        let open = previous_close;
        let close = open * r.exp();
        let top = c.open.max(c.close);
        let bottom = c.open.min(c.close);
        out.push(Candle {
            open,
            close,
            high: open.max(close) * (c.high / top),
            low: open.min(close) * (c.low / bottom),
            ..*c
        });
        previous_close = close;
    }
    out
}

#[test]
fn a_challenger_that_sees_a_planted_component_is_promoted_within_a_bound() {
    let symbol = Symbol::new("BTCUSDT").unwrap();
    let first = 1_700_000_000_000 - 1_700_000_000_000 % 60_000;
    let plain = model_candles(7, symbol, first, 14_000);
    let market = planted(&model_candles(7, symbol, first, 14_000), 0.3);
    let mut spec = TrainSpec::from_config(&Config::default().model);
    spec.members = 1;
    spec.epochs = 3;
    let stop = AtomicBool::new(false);
    let champion = train(&plain[..9_000], Interval::M1, &spec, &mut |_| {}, &stop).unwrap();
    let challenger = train(&market[..9_000], Interval::M1, &spec, &mut |_| {}, &stop).unwrap();
    let theta = champion.ensemble.params.theta;
    let mut a = SignalPipeline::from_ensemble(1, "champion", champion.ensemble);
    let mut b = SignalPipeline::from_ensemble(2, "challenger", challenger.ensemble);
    // Both judged on the planted market after the challenger's training data.
    let warm = 9_000;
    let (va, vb) = (
        verdicts(&mut a, &market, warm),
        verdicts(&mut b, &market, warm),
    );
    let pairs = pair_up(&market, &va, &vb, Interval::M1, a.horizon, theta);
    assert!(pairs.len() > 4_900, "{} pairs", pairs.len());
    let when = first_promotion(&pairs, a.horizon);
    println!(
        "the challenger that sees the planted component: promoted after {when:?} paired candles"
    );
    let when = when.expect("promoted within 5,000 candles");
    assert!(when <= 5_000, "{when}");
    // And the plain market's champion is not promoted over itself by the planted one there:
    // on the plain market the planted model has no edge to show.
    let (pa, pb) = (
        verdicts(&mut a, &plain, warm),
        verdicts(&mut b, &plain, warm),
    );
    let plain_pairs = pair_up(&plain, &pa, &pb, Interval::M1, a.horizon, theta);
    assert_eq!(first_promotion(&plain_pairs, a.horizon), None);
}
