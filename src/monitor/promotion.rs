//! Promotion by evidence: when a challenger (a retrained model scored in shadow beside the
//! champion on the same candles) may replace the champion, and when a promoted champion is rolled
//! back to the one it replaced. Pure: the caller summarises the paired scores ([`PairedSummary`])
//! and writes the returned sentence to the audit log.
//!
//! The log-loss evidence is a confidence sequence (valid at every sample size, so it may be looked
//! at after every candle); the accuracy evidence is McNemar's test on the candles exactly one of
//! the two models got right, used only as a veto against a significantly less accurate challenger.

use crate::config::{PromoteMode, RetrainConfig};

/// McNemar's level for "significantly less accurate".
pub const MCNEMAR_ALPHA: f64 = 0.05;

/// Paired scores of two models on the same candles: the incumbent (the champion) and the
/// candidate (the challenger). Positive differences favour the candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairedSummary {
    /// Candles both models scored.
    pub paired: u64,
    /// Confidence sequence for mean(incumbent log-loss − candidate log-loss), in nats: positive =
    /// the candidate is better.
    pub cs_lower: f64,
    pub cs_upper: f64,
    /// McNemar's two-sided p-value.
    pub mcnemar_p: f64,
    /// McNemar c: candles only the candidate got right.
    pub challenger_correct_only: u64,
    /// McNemar b: candles only the incumbent got right.
    pub champion_correct_only: u64,
}

impl PairedSummary {
    /// Significantly less accurate than the incumbent: p below [`MCNEMAR_ALPHA`] with b > c.
    pub fn challenger_less_accurate(&self) -> bool {
        self.mcnemar_p < MCNEMAR_ALPHA && self.champion_correct_only > self.challenger_correct_only
    }

    /// `n=1200, log-loss improvement CS [+0.0061, +0.0140] nats, McNemar b=40 c=55 p=0.150`.
    pub fn text(&self) -> String {
        format!(
            "n={}, log-loss improvement CS [{:+.4}, {:+.4}] nats, McNemar b={} c={} p={:.3}",
            self.paired,
            self.cs_lower,
            self.cs_upper,
            self.champion_correct_only,
            self.challenger_correct_only,
            self.mcnemar_p
        )
    }
}

/// What the evidence says about a challenger.
#[derive(Clone, Debug, PartialEq)]
pub enum Promotion {
    /// Not enough evidence either way yet.
    Wait { why: String },
    /// `promote = "auto"`: make the challenger champion.
    Promote { why: String },
    /// `promote = "manual"`: the evidence says promote; the trader decides.
    Ask { why: String },
    /// The evidence says the champion stays (the challenger is less accurate, or the required
    /// improvement is ruled out).
    Keep { why: String },
}

impl Promotion {
    pub fn why(&self) -> &str {
        match self {
            Self::Wait { why } | Self::Promote { why } | Self::Ask { why } | Self::Keep { why } => {
                why
            }
        }
    }
}

/// The challenger against the champion (`s` with the champion as incumbent), in this order:
/// - fewer than `min_paired` paired candles (or statistics that are not numbers): `Wait`;
/// - significantly less accurate (McNemar p < 0.05 and b > c): `Keep`, whatever the log-loss;
/// - CS lower bound above `min_improvement`: `Promote` (auto) or `Ask` (manual);
/// - CS upper bound at or below `min_improvement` (the improvement asked for is ruled out): `Keep`;
/// - otherwise `Wait`.
pub fn decide_promotion(config: &RetrainConfig, s: &PairedSummary) -> Promotion {
    let stats = s.text();
    let need = config.min_improvement;
    if s.paired < config.min_paired {
        return Promotion::Wait {
            why: format!(
                "waiting for {} paired candles before judging the challenger ({stats})",
                config.min_paired
            ),
        };
    }
    if !(s.cs_lower.is_finite() && s.cs_upper.is_finite() && s.mcnemar_p.is_finite()) {
        return Promotion::Wait {
            why: format!("the paired statistics are not all numbers yet ({stats})"),
        };
    }
    if s.challenger_less_accurate() {
        return Promotion::Keep {
            why: format!("champion kept: the challenger is significantly less accurate ({stats})"),
        };
    }
    if s.cs_lower > need {
        let why = format!(
            "challenger better: log-loss improvement above {need} nats with confidence, \
             not less accurate ({stats})"
        );
        return match config.promote {
            PromoteMode::Auto => Promotion::Promote { why },
            PromoteMode::Manual => Promotion::Ask { why },
        };
    }
    if s.cs_upper <= need {
        return Promotion::Keep {
            why: format!(
                "champion kept: a log-loss improvement above {need} nats is ruled out ({stats})"
            ),
        };
    }
    Promotion::Wait {
        why: format!(
            "not yet conclusive: the log-loss improvement may or may not exceed {need} nats \
             ({stats})"
        ),
    }
}

/// After a promotion the replaced champion keeps scoring in shadow. `new_vs_previous` has the
/// previous champion as incumbent and the new one as candidate, so its CS is for mean(previous
/// log-loss − new log-loss): positive = the new champion is better. Roll back (returns the audit
/// sentence) when at least `min_paired` candles are paired and the CS upper bound is below zero:
/// the new champion is significantly worse on log-loss. `None`: keep the new champion.
pub fn decide_rollback(config: &RetrainConfig, new_vs_previous: &PairedSummary) -> Option<String> {
    let s = new_vs_previous;
    (s.paired >= config.min_paired && s.cs_upper < 0.0).then(|| {
        format!(
            "rollback: the new champion is significantly worse than the one it replaced \
             on log-loss ({})",
            s.text()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(paired: u64, cs: (f64, f64), b: u64, c: u64, p: f64) -> PairedSummary {
        PairedSummary {
            paired,
            cs_lower: cs.0,
            cs_upper: cs.1,
            mcnemar_p: p,
            challenger_correct_only: c,
            champion_correct_only: b,
        }
    }

    fn config(promote: PromoteMode) -> RetrainConfig {
        RetrainConfig {
            enabled: true,
            promote,
            ..RetrainConfig::default()
        }
    }

    #[test]
    fn below_min_paired_waits_whatever_the_evidence() {
        let c = config(PromoteMode::Auto);
        for s in [
            summary(999, (0.05, 0.09), 10, 90, 0.0001),
            summary(999, (-0.09, -0.05), 90, 10, 0.0001),
        ] {
            let d = decide_promotion(&c, &s);
            assert!(matches!(d, Promotion::Wait { .. }), "{d:?}");
            assert!(d.why().contains("waiting for 1000 paired candles"), "{d:?}");
            assert!(decide_rollback(&c, &s).is_none());
        }
    }

    #[test]
    fn lower_bound_above_min_improvement_promotes_or_asks() {
        let s = summary(1_200, (0.0061, 0.0140), 40, 55, 0.15);
        let d = decide_promotion(&config(PromoteMode::Auto), &s);
        assert!(matches!(d, Promotion::Promote { .. }), "{d:?}");
        assert_eq!(
            d.why(),
            "challenger better: log-loss improvement above 0.005 nats with confidence, not less \
             accurate (n=1200, log-loss improvement CS [+0.0061, +0.0140] nats, McNemar b=40 \
             c=55 p=0.150)"
        );
        let d = decide_promotion(&config(PromoteMode::Manual), &s);
        assert!(matches!(d, Promotion::Ask { .. }), "{d:?}");
        // At the threshold, not above it: not yet.
        let s = summary(1_200, (0.005, 0.02), 40, 55, 0.15);
        let d = decide_promotion(&config(PromoteMode::Auto), &s);
        assert!(matches!(d, Promotion::Wait { .. }), "{d:?}");
    }

    #[test]
    fn significantly_less_accurate_keeps_even_when_log_loss_says_better() {
        let s = summary(5_000, (0.02, 0.04), 120, 60, 0.00001);
        for mode in [PromoteMode::Auto, PromoteMode::Manual] {
            let d = decide_promotion(&config(mode), &s);
            assert!(matches!(d, Promotion::Keep { .. }), "{d:?}");
            assert!(d.why().contains("significantly less accurate"), "{d:?}");
        }
        // Significant the other way (more accurate) is no veto.
        let s = summary(5_000, (0.02, 0.04), 60, 120, 0.00001);
        let d = decide_promotion(&config(PromoteMode::Auto), &s);
        assert!(matches!(d, Promotion::Promote { .. }), "{d:?}");
        // Fewer right answers but not significantly: no veto.
        let s = summary(5_000, (0.02, 0.04), 65, 60, 0.7);
        let d = decide_promotion(&config(PromoteMode::Auto), &s);
        assert!(matches!(d, Promotion::Promote { .. }), "{d:?}");
    }

    #[test]
    fn ruled_out_improvement_keeps_and_open_evidence_waits() {
        let c = config(PromoteMode::Auto);
        let d = decide_promotion(&c, &summary(3_000, (-0.01, 0.004), 50, 50, 1.0));
        assert!(matches!(d, Promotion::Keep { .. }), "{d:?}");
        assert!(d.why().contains("ruled out"), "{d:?}");
        let d = decide_promotion(&c, &summary(3_000, (-0.01, 0.02), 50, 50, 1.0));
        assert!(matches!(d, Promotion::Wait { .. }), "{d:?}");
        let d = decide_promotion(&c, &summary(3_000, (f64::NAN, 0.02), 50, 50, 1.0));
        assert!(matches!(d, Promotion::Wait { .. }), "{d:?}");
    }

    #[test]
    fn rollback_only_when_the_new_champion_is_significantly_worse() {
        let c = config(PromoteMode::Auto);
        // Significantly worse: upper bound below zero.
        let s = summary(2_000, (-0.03, -0.001), 70, 50, 0.08);
        let why = decide_rollback(&c, &s).unwrap();
        assert!(
            why.starts_with("rollback: the new champion is significantly worse"),
            "{why}"
        );
        assert!(
            why.contains("n=2000") && why.contains("[-0.0300, -0.0010]"),
            "{why}"
        );
        // Not significantly worse, or better, or too few candles: keep the new champion.
        for s in [
            summary(2_000, (-0.03, 0.001), 70, 50, 0.08),
            summary(2_000, (-0.03, 0.0), 70, 50, 0.08),
            summary(2_000, (0.001, 0.03), 50, 70, 0.08),
            summary(999, (-0.03, -0.001), 70, 50, 0.08),
            summary(2_000, (f64::NAN, f64::NAN), 70, 50, 0.08),
        ] {
            assert_eq!(decide_rollback(&c, &s), None, "{s:?}");
        }
    }
}
