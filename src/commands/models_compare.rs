//! `models compare` as text: the pooled verdict first, then each symbol's figures.

use std::fmt::Write;

use crate::monitor::compare_run::{CompareOutput, Figures};

fn figures_text(s: &mut String, figures: &Figures) {
    let f = &figures.evidence;
    let _ = writeln!(
        s,
        "  paired candles {}: mean log-loss A − B {:+.5} nats, 95 % confidence sequence \
         {} (blocks of {}, {} blocks)",
        f.n,
        f.mean_log_loss_diff,
        crate::fmt::signed_interval(f.confidence_sequence.0, f.confidence_sequence.1, 5),
        f.block,
        f.blocks
    );
    let _ = writeln!(
        s,
        "  Diebold–Mariano (HLN) {:+.3}, p = {:.4} (Newey–West lag {})",
        f.dm.stat, f.dm.p, f.dm.lag
    );
    let _ = writeln!(
        s,
        "  McNemar: only A right {}, only B right {}, p = {:.4} ({})",
        f.mcnemar.b,
        f.mcnemar.c,
        f.mcnemar.p,
        if f.mcnemar.exact {
            "exact binomial"
        } else {
            "chi-square, continuity corrected"
        }
    );
    let _ = writeln!(
        s,
        "  {:<10} {:>8} {:>8}\n  {:<10} {:>8.4} {:>8.4}\n  {:<10} {:>8.4} {:>8.4}\n  {:<10} {:>8.4} {:>8.4}",
        "",
        "A",
        "B",
        "accuracy",
        f.accuracy_a,
        f.accuracy_b,
        "Brier",
        f.brier_a,
        f.brier_b,
        "ECE",
        f.ece_a,
        f.ece_b
    );
    match f.needed {
        Some(n) => {
            let _ = writeln!(
                s,
                "  to see a 0.01-nat difference at 80 % power: about {n} paired candles"
            );
        }
        None => {
            let _ = writeln!(s, "  too few candles to size a test");
        }
    }
    let _ = writeln!(s, "  verdict: {}", figures.verdict);
}

pub fn to_text(o: &CompareOutput) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "A = {}\nB = {}\n{} candles, horizon {}, scored against A's target",
        o.a, o.b, o.interval, o.horizon
    );
    let symbols: Vec<&str> = o.symbols.iter().map(|s| s.as_str()).collect();
    let _ = writeln!(s, "\npooled over {}:", symbols.join(", "));
    figures_text(&mut s, &o.pooled);
    if o.per_symbol.len() > 1 {
        for one in &o.per_symbol {
            let _ = writeln!(s, "\n{} ({} stored candles):", one.symbol, one.candles);
            figures_text(&mut s, &one.figures);
        }
    }
    s
}
