//! `trademon drift`: parse → [`crate::monitor::offline::run`] → print.

use std::fmt::Write;
use std::path::Path;

use crate::fmt::utc_datetime;
use crate::monitor::offline::{DriftArgs, DriftOutput};
use crate::monitor::tracker::Status;

/// Why `drift` could not report: every failure exits 2 (1 means drift).
#[derive(Debug, thiserror::Error)]
#[error("drift: {0}")]
pub struct DriftError(pub String);

pub fn run(db: &Path, args: &DriftArgs) -> Result<DriftOutput, DriftError> {
    crate::monitor::offline::run(db, args).map_err(DriftError)
}

/// The report as text.
pub fn to_text(o: &DriftOutput) -> String {
    let r = &o.report;
    let mut s = String::new();
    let status = match r.status {
        Status::Warming => "warming up (the window is not full)",
        Status::Stable => "stable",
        Status::Drifting => "DRIFTING",
        Status::NoReference => "no reference",
    };
    let _ = writeln!(s, "{} on {} {}: {status}", r.model, r.symbol, r.interval);
    let _ = writeln!(
        s,
        "period: {} candles; window W = {} ({} rows); {} evaluations, {} with dataset drift",
        o.candles, r.window, r.window_filled, o.evaluations, o.dataset_drift_evaluations
    );
    match (&r.reference, &r.no_reference) {
        (Some(f), _) => {
            let _ = writeln!(
                s,
                "reference: {} rows, {} .. {} ({}{})",
                f.rows,
                utc_datetime(f.from_ms),
                utc_datetime(f.to_ms),
                f.source,
                if o.reference_computed {
                    ", computed now and stored"
                } else {
                    ""
                }
            );
        }
        (None, Some(why)) => {
            let _ = writeln!(s, "no reference: {why}");
        }
        (None, None) => {}
    }
    let p = &r.performance;
    let _ = writeln!(
        s,
        "\nscorecard ({} candles with an outcome): {}",
        p.n, p.verdict
    );
    let _ = writeln!(
        s,
        "  {:<8} {:>6}  {:<22} {:<24} {:>6} {:>6} {:>6}  {:>14} {:>14}",
        "window",
        "n",
        "accuracy (95 %)",
        "log-loss (95 %)",
        "F1",
        "Brier",
        "ECE",
        "logistic acc/ll",
        "majority acc/ll"
    );
    for w in &p.windows {
        let name = w.last.map_or("all".to_string(), |n| format!("last {n}"));
        let logistic = w.logistic.map_or("-".to_string(), |l| {
            format!("{:.3}/{:.3}", l.accuracy, l.log_loss)
        });
        let _ = writeln!(
            s,
            "  {:<8} {:>6}  {:.3} [{:.3}, {:.3}]  {:.4} [{:.4}, {:.4}]  {:>6.3} {:>6.3} {:>6.3}  {:>14} {:>14}",
            name,
            w.n,
            w.accuracy.value,
            w.accuracy.lo,
            w.accuracy.hi,
            w.log_loss.value,
            w.log_loss.lo,
            w.log_loss.hi,
            w.macro_f1,
            w.brier,
            w.ece,
            logistic,
            format!("{:.3}/{:.3}", w.majority.accuracy, w.majority.log_loss)
        );
    }
    if let Some(t) = &p.test {
        let _ = writeln!(
            s,
            "  held-out test at training: accuracy {:.3}, log-loss {:.4} (logistic {:.4}, majority {:.4})",
            t.model.accuracy, t.model.log_loss, t.logistic.log_loss, t.majority.log_loss
        );
    }
    if let Some(e) = p.expected_accuracy {
        let _ = writeln!(
            s,
            "  {} pending: expected accuracy {:.3} (estimate from their probabilities)",
            p.pending, e
        );
    }
    if !r.features.is_empty() {
        let drifted = r.features.iter().filter(|f| f.drifted).count();
        let _ = writeln!(
            s,
            "\nfeatures: {drifted} of {} drifted ({:.0} %){}",
            r.features.len(),
            100.0 * r.drifted_share,
            if r.dataset_drift {
                ": DATASET DRIFT"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "  {:<24} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9}",
            "feature", "PSI", "PSI crit", "W/σ", "W limit", "KS", "KS p"
        );
        for f in r
            .features
            .iter()
            .take(if drifted > 0 { drifted.max(10) } else { 10 })
        {
            let _ = writeln!(
                s,
                "  {:<24} {:>8.4} {:>8.4} {:>8.4} {:>8} {:>7.4} {:>9.2e}{}",
                f.name,
                f.psi,
                f.psi_critical,
                f.wasserstein_sd,
                f.wasserstein_limit
                    .map_or("-".to_string(), |l| format!("{l:.4}")),
                f.ks,
                f.ks_p,
                if f.drifted { "  drifted" } else { "" }
            );
        }
    }
    if let Some(d) = &r.predictions {
        let _ = writeln!(
            s,
            "\npredictions: sell/hold/buy {:.2}/{:.2}/{:.2} vs reference {:.2}/{:.2}/{:.2} (JS {:.3}); \
             down/flat/up {:.2}/{:.2}/{:.2} vs {:.2}/{:.2}/{:.2} (JS {:.3}); mean top {:.3} vs {:.3}",
            d.mix.sell,
            d.mix.hold,
            d.mix.buy,
            d.reference_mix.sell,
            d.reference_mix.hold,
            d.reference_mix.buy,
            d.js_signals,
            d.probabilities.down,
            d.probabilities.flat,
            d.probabilities.up,
            d.reference_probabilities.down,
            d.reference_probabilities.flat,
            d.reference_probabilities.up,
            d.js_distance,
            d.mean_top,
            d.reference_mean_top
        );
    }
    let _ = writeln!(s, "\ndetectors:");
    for d in &r.detectors {
        let _ = writeln!(
            s,
            "  {:<13} {:<8} fired {} time(s){}  ({})",
            d.name,
            serde_json::to_value(d.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            d.fired,
            d.fired_at_ms
                .map(|t| format!(", last at {}", utc_datetime(t)))
                .unwrap_or_default(),
            d.input
        );
    }
    s
}
