use super::*;
use crate::domain::fixtures::Lcg;
use crate::model::registry::{ModelRecord, Registry};
use crate::monitor::persist;
use crate::monitor::reference;

/// A random walk of one-minute candles from `first_ms`, its volatility times `scale`.
fn walk(first_ms: i64, n: usize, scale: f64, seed: u64) -> Vec<Candle> {
    let mut noise = Lcg(seed);
    let mut close = 100.0f64;
    (0..n as i64)
        .map(|i| {
            let open = close;
            close = open * (1.0 + scale * 0.003 * (noise.uniform() - 0.5));
            Candle {
                open_time_ms: first_ms + i * 60_000,
                open,
                high: open.max(close) * (1.0 + scale * 0.0004 * noise.uniform()),
                low: open.min(close) * (1.0 - scale * 0.0004 * noise.uniform()),
                close,
                volume: 5.0 + 10.0 * noise.uniform(),
                quote_volume: 0.0,
                trades: 1,
            }
        })
        .collect()
}

/// The demo's record with its training range moved onto `candles`.
fn demo_on(candles: &[Candle]) -> (tempfile::TempDir, ModelRecord) {
    let dir = tempfile::tempdir().unwrap();
    let mut registry = Registry::open(&dir.path().join("m.db")).unwrap();
    let mut record = crate::model::demo::install(&mut registry).unwrap().unwrap();
    record.data_from_ms = Some(candles[0].open_time_ms);
    record.data_to_ms = Some(candles[candles.len() - 1].open_time_ms);
    (dir, record)
}

const FIRST: i64 = 1_700_000_040_000 - 1_700_000_040_000 % 3_600_000;

fn tracker_for(scale: f64) -> (Tracker, Vec<Candle>) {
    let training = walk(FIRST, 8_000, 1.0, 3);
    let (_dir, record) = demo_on(&training);
    let spec = Arc::new(ModelSpec::of(&record).unwrap());
    let r = reference::build(&spec, None, &training, 500, "training rows").unwrap();
    let settings = Settings {
        window: 500,
        evaluate_every: 10,
    };
    let t = Tracker::new(
        spec,
        Ok(Arc::new(r)),
        Symbol::new("BTCUSDT").unwrap(),
        settings,
    );
    let live = walk(FIRST + 8_000 * 60_000, 2_000, scale, 9);
    (t, live)
}

#[test]
fn incremental_bin_counts_and_psi_equal_a_recount_of_the_window() {
    let (mut t, live) = tracker_for(1.0);
    for c in &live {
        t.push_candle(c);
    }
    t.evaluate();
    let r = t.reference().unwrap().clone();
    assert_eq!(t.rows.len(), 500);
    for (j, f) in r.features.iter().enumerate() {
        let mut counts = vec![0u64; BINS];
        for (values, _) in &t.rows {
            counts[stats::bin_of(&f.edges, values[j])] += 1;
        }
        let kept: Vec<u64> = t.counts[j].iter().map(|&c| u64::from(c)).collect();
        assert_eq!(kept, counts, "{}", f.name);
        let reported = t
            .report()
            .features
            .iter()
            .find(|x| x.name == f.name)
            .unwrap()
            .psi;
        assert!((reported - stats::psi(&f.shares, &counts)).abs() < 1e-12);
    }
}

#[test]
fn the_same_process_does_not_drift_and_a_volatility_shock_does() {
    let (mut calm, live) = tracker_for(1.0);
    for c in &live {
        if calm.push_candle(c) {
            calm.evaluate();
        }
    }
    let report = calm.report();
    assert_eq!(
        report.status,
        Status::Stable,
        "{:?}",
        report
            .features
            .iter()
            .filter(|f| f.drifted)
            .map(|f| &f.name)
            .collect::<Vec<_>>()
    );
    let (mut shocked, live) = tracker_for(4.0);
    for c in &live {
        if shocked.push_candle(c) {
            shocked.evaluate();
        }
    }
    let report = shocked.report();
    let drifted: Vec<&str> = report
        .features
        .iter()
        .filter(|f| f.drifted)
        .map(|f| f.name.as_str())
        .collect();
    assert!(drifted.contains(&"atr_14_close"), "{drifted:?}");
    assert!(report.features[0].drifted, "drifted features come first");
    // The verdicts alone agree with a full evaluation on the same window.
    shocked.evaluate_verdicts();
    let quick = shocked.report();
    let names = |r: &SymbolReport| -> Vec<String> {
        let mut n: Vec<String> = r
            .features
            .iter()
            .filter(|f| f.drifted)
            .map(|f| f.name.clone())
            .collect();
        n.sort();
        n
    };
    assert_eq!(names(&quick), names(&report));
    assert_eq!(quick.dataset_drift, report.dataset_drift);
    assert!(quick.features.iter().all(|f| f.ks_p.is_nan()));
}

#[test]
fn predictions_meet_their_outcomes_and_the_rest_wait() {
    let (mut t, live) = tracker_for(1.0);
    let horizon = t.spec().horizon;
    for (k, c) in live.iter().enumerate() {
        t.push_candle(c);
        if k >= 100 {
            t.push_prediction(c.open_time_ms, [0.2, 0.5, 0.3], Signal::Hold);
        }
    }
    let report = t.report();
    assert_eq!(report.performance.n as usize, live.len() - 100 - horizon);
    assert_eq!(report.performance.pending as usize, horizon);
    assert!((report.performance.expected_accuracy.unwrap() - 0.5).abs() < 1e-12);
    // The logistic baseline ran on the same candles.
    assert!(report.performance.logistic.is_some());
    // A prediction for a candle already passed is ignored.
    t.push_prediction(live[5].open_time_ms, [1.0, 0.0, 0.0], Signal::Sell);
    assert_eq!(t.report().performance.pending as usize, horizon);
}

#[test]
fn a_reference_round_trips_and_a_damaged_one_is_refused() {
    let training = walk(FIRST, 4_000, 1.0, 5);
    let (_dir, record) = demo_on(&training);
    let spec = ModelSpec::of(&record).unwrap();
    let r = reference::build(&spec, None, &training, 500, "training rows").unwrap();
    assert!(
        r.features
            .iter()
            .all(|f| f.sample.windows(2).all(|w| w[0] <= w[1]))
    );
    let row = persist::encode(&r, 1).unwrap();
    assert_eq!(persist::decode(&row).unwrap(), r);
    let mut cut = row.clone();
    cut.samples.truncate(cut.samples.len() - 3);
    assert!(persist::decode(&cut).unwrap_err().contains("damaged"));
    let mut garbage = row.clone();
    garbage.json = "{\"model_id\": 1".into();
    assert!(persist::decode(&garbage).unwrap_err().contains("damaged"));
    let mut unsorted = row;
    unsorted.samples[4..12].copy_from_slice(&f64::MAX.to_le_bytes());
    assert!(persist::decode(&unsorted).is_err());
    // Too little data for a reference says so.
    let short = walk(FIRST, 200, 1.0, 5);
    let (_dir, record) = demo_on(&short);
    let spec = ModelSpec::of(&record).unwrap();
    let err = reference::build(&spec, None, &short, 500, "x").unwrap_err();
    assert!(err.contains("training rows"), "{err}");
}

/// A model that is right 70 % of the time and then breaks (always wrong): each of the three
/// detectors fires within a bounded number of outcomes after the break, and none before it.
#[test]
fn a_model_that_breaks_fires_every_performance_detector_soon_after() {
    let training = walk(FIRST, 8_000, 1.0, 3);
    let (_dir, record) = demo_on(&training);
    let spec = Arc::new(ModelSpec::of(&record).unwrap());
    let mut r = reference::build(&spec, None, &training, 500, "training rows").unwrap();
    // The oracle's log-loss: −ln 0.7 when right (70 %), −ln 0.15 when wrong.
    let (right, wrong) = (-(0.7f64.ln()), -(0.15f64.ln()));
    let mean = 0.7 * right + 0.3 * wrong;
    let sd = (0.7 * (right - mean).powi(2) + 0.3 * (wrong - mean).powi(2)).sqrt();
    r.predictions = Some(reference::PredictionReference {
        samples: 1_000,
        signals: [0.2, 0.6, 0.2],
        probabilities: [0.3, 0.4, 0.3],
        mean_top: 0.7,
        log_loss_mean: mean,
        log_loss_sd: sd,
    });
    let settings = Settings {
        window: 500,
        evaluate_every: 10,
    };
    let mut t = Tracker::new(
        spec.clone(),
        Ok(Arc::new(r)),
        Symbol::new("BTCUSDT").unwrap(),
        settings,
    );
    let live = walk(FIRST + 8_000 * 60_000, 6_000, 1.0, 11);
    let h = spec.horizon;
    let break_at = 4_000;
    let mut noise = Lcg(21);
    // Per detector: its firings before the break, and the outcome of its first one after.
    let mut before = [0u32; 3];
    let mut first_after: [Option<usize>; 3] = [None; 3];
    for (k, c) in live.iter().enumerate() {
        t.push_candle(c);
        if k >= break_at + h {
            let report = t.report();
            for (j, d) in report.detectors.iter().enumerate() {
                if first_after[j].is_none() && d.fired > before[j] {
                    first_after[j] = Some(k - break_at - h);
                }
            }
        } else if k + 1 == break_at + h {
            for (j, d) in t.report().detectors.iter().enumerate() {
                before[j] = d.fired;
            }
        }
        if k + h >= live.len() {
            continue;
        }
        let class = class_of((live[k + h].close / c.close).ln(), spec.theta) as usize;
        let right = k < break_at && noise.uniform() < 0.7;
        let top = if right { class } else { (class + 1) % 3 };
        let mut p = [0.15; 3];
        p[top] = 0.7;
        t.push_prediction(c.open_time_ms, p, Signal::Hold);
    }
    let names: Vec<&str> = t.report().detectors.iter().map(|d| d.name).collect();
    for j in 0..3 {
        // Stable errors (independent, 30 %): at most one false alarm before the break.
        assert!(
            before[j] <= 1,
            "{} fired {} times before the break",
            names[j],
            before[j]
        );
        let after = first_after[j].unwrap_or_else(|| panic!("{} never fired", names[j]));
        eprintln!("{} fired {after} outcomes after the break", names[j]);
        // ADWIN looks for a cut every 32 inputs, here block means of 10 outcomes.
        assert!(
            after <= 640,
            "{} fired {after} outcomes after the break",
            names[j]
        );
    }
}
