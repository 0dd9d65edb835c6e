//! The live scorecard: the model's realised accuracy, macro-F1, log-loss, Brier score and
//! calibration error over the last 100, the last 500 and all candles since it became active,
//! beside its logistic baseline and the majority class run on the same candles.
//!
//! Intervals are 95 %: Wilson for accuracy; for the mean log-loss a normal interval with the
//! Newey–West variance, lag `max(horizon − 1, ⌊4 (n/100)^(2/9)⌋)` (at most [`MAX_LAG`]), since
//! the outcomes of overlapping horizons are correlated. "All" is kept as running sums (the
//! Newey–West sums included), so it costs the same after a year as after a day.

use std::collections::VecDeque;

use serde::Serialize;

use super::reference::log_loss;
use super::stats;
use crate::model::metrics::{self, predicted_class};

/// The windows shown besides "all".
pub const WINDOWS: [usize; 2] = [100, 500];
/// The largest Newey–West lag.
pub const MAX_LAG: usize = 32;
/// z of a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;
/// ECE bins.
pub const ECE_BINS: usize = 10;

/// One candle whose outcome is known.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Realised {
    pub model: [f64; 3],
    pub logistic: Option<[f64; 3]>,
    pub majority: [f64; 3],
    pub class: u8,
}

/// An estimate with its 95 % interval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Interval95 {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

/// A baseline's scores on the same candles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Baseline {
    pub accuracy: f64,
    pub log_loss: f64,
    pub brier: f64,
}

/// Scores over one window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct WindowFigures {
    /// `None`: all.
    pub last: Option<usize>,
    pub n: u64,
    pub accuracy: Interval95,
    pub macro_f1: f64,
    pub log_loss: Interval95,
    pub brier: f64,
    pub ece: f64,
    pub logistic: Option<Baseline>,
    pub majority: Baseline,
}

/// Running sums over every realised candle.
#[derive(Clone, Debug)]
struct Totals {
    n: u64,
    confusion: [[u64; 3]; 3],
    loss: f64,
    brier: f64,
    /// ECE bins: count, sum of confidence, hits.
    ece: [(u64, f64, u64); ECE_BINS],
    logistic: Option<(u64, f64, f64)>,
    logistic_n: u64,
    majority: (u64, f64, f64),
    /// Newey–West of the log-losses, as running sums.
    nw: stats::RunningNeweyWest,
}

impl Default for Totals {
    fn default() -> Self {
        Self {
            n: 0,
            confusion: [[0; 3]; 3],
            loss: 0.0,
            brier: 0.0,
            ece: [(0, 0.0, 0); ECE_BINS],
            logistic: None,
            logistic_n: 0,
            majority: (0, 0.0, 0.0),
            nw: stats::RunningNeweyWest::default(),
        }
    }
}

/// The live scorecard of one model on one series.
#[derive(Clone, Debug)]
pub struct Scorecard {
    horizon: usize,
    recent: VecDeque<Realised>,
    totals: Totals,
}

fn brier(p: &[f64; 3], class: u8) -> f64 {
    (0..3)
        .map(|k| (p[k] - if k == class as usize { 1.0 } else { 0.0 }).powi(2))
        .sum()
}

fn hit(p: &[f64; 3], class: u8) -> bool {
    predicted_class(p) == class
}

/// The Newey–West lag for `n` values at `horizon`.
pub fn nw_lag(n: usize, horizon: usize) -> usize {
    let rule = (4.0 * (n as f64 / 100.0).powf(2.0 / 9.0)).floor() as usize;
    horizon.saturating_sub(1).max(rule).min(MAX_LAG)
}

impl Scorecard {
    pub fn new(horizon: usize) -> Self {
        Self {
            horizon,
            recent: VecDeque::with_capacity(WINDOWS[1] + 1),
            totals: Totals::default(),
        }
    }

    pub fn len(&self) -> u64 {
        self.totals.n
    }

    pub fn is_empty(&self) -> bool {
        self.totals.n == 0
    }

    /// Adds a candle whose outcome is now known.
    pub fn add(&mut self, r: Realised) {
        self.recent.push_back(r);
        while self.recent.len() > WINDOWS[1] {
            self.recent.pop_front();
        }
        let t = &mut self.totals;
        t.n += 1;
        t.confusion[r.class as usize][predicted_class(&r.model) as usize] += 1;
        let x = log_loss(&r.model, r.class);
        t.loss += x;
        t.brier += brier(&r.model, r.class);
        let conf = r.model.iter().copied().fold(0.0, f64::max);
        let bin = ((conf * ECE_BINS as f64).ceil() as usize).clamp(1, ECE_BINS) - 1;
        t.ece[bin].0 += 1;
        t.ece[bin].1 += conf;
        t.ece[bin].2 += u64::from(hit(&r.model, r.class));
        if let Some(p) = r.logistic {
            let s = t.logistic.get_or_insert((0, 0.0, 0.0));
            s.0 += u64::from(hit(&p, r.class));
            s.1 += log_loss(&p, r.class);
            s.2 += brier(&p, r.class);
            t.logistic_n += 1;
        }
        t.majority.0 += u64::from(hit(&r.majority, r.class));
        t.majority.1 += log_loss(&r.majority, r.class);
        t.majority.2 += brier(&r.majority, r.class);
        t.nw.push(x);
    }

    /// The windows: last 100, last 500 (each once it has candles beyond the previous one's),
    /// and all.
    pub fn figures(&self) -> Vec<WindowFigures> {
        let mut out = Vec::new();
        for &w in &WINDOWS {
            let n = self.recent.len().min(w);
            if n == 0 {
                continue;
            }
            let slice: Vec<Realised> = self
                .recent
                .iter()
                .skip(self.recent.len() - n)
                .copied()
                .collect();
            out.push(self.window(Some(w), &slice));
        }
        if self.totals.n > 0 {
            out.push(self.all());
        }
        out
    }

    fn window(&self, last: Option<usize>, rs: &[Realised]) -> WindowFigures {
        let n = rs.len();
        let probs: Vec<[f64; 3]> = rs.iter().map(|r| r.model).collect();
        let labels: Vec<u8> = rs.iter().map(|r| r.class).collect();
        let m = metrics::evaluate(&probs, &labels).ok();
        let hits = rs.iter().filter(|r| hit(&r.model, r.class)).count() as u64;
        let (lo, hi) = stats::wilson(hits, n as u64, Z95);
        let losses: Vec<f64> = rs.iter().map(|r| log_loss(&r.model, r.class)).collect();
        let (mean, llo, lhi) = stats::mean_interval(&losses, nw_lag(n, self.horizon), Z95);
        let base = |f: &dyn Fn(&Realised) -> Option<[f64; 3]>| -> Option<Baseline> {
            let mut b = Baseline::default();
            let mut k = 0usize;
            for r in rs {
                let p = f(r)?;
                b.accuracy += f64::from(u8::from(hit(&p, r.class)));
                b.log_loss += log_loss(&p, r.class);
                b.brier += brier(&p, r.class);
                k += 1;
            }
            let k = k.max(1) as f64;
            Some(Baseline {
                accuracy: b.accuracy / k,
                log_loss: b.log_loss / k,
                brier: b.brier / k,
            })
        };
        WindowFigures {
            last,
            n: n as u64,
            accuracy: Interval95 {
                value: hits as f64 / n.max(1) as f64,
                lo,
                hi,
            },
            macro_f1: m.as_ref().map_or(0.0, |m| m.macro_f1),
            log_loss: Interval95 {
                value: mean,
                lo: llo,
                hi: lhi,
            },
            brier: m.as_ref().map_or(0.0, |m| m.brier),
            ece: stats::ece(&probs, &labels, ECE_BINS),
            logistic: base(&|r| r.logistic),
            majority: base(&|r| Some(r.majority)).unwrap_or_default(),
        }
    }

    fn all(&self) -> WindowFigures {
        let t = &self.totals;
        let n = t.n as f64;
        let hits: u64 = (0..3).map(|k| t.confusion[k][k]).sum();
        let (lo, hi) = stats::wilson(hits, t.n, Z95);
        let mean = t.nw.sum() / n;
        let s = t.nw.long_run_variance(nw_lag(t.n as usize, self.horizon));
        let half = Z95 * (s.max(0.0) / n).sqrt();
        let mut f1 = 0.0;
        let mut classes = 0;
        for k in 0..3 {
            let tp = t.confusion[k][k] as f64;
            let actual: u64 = t.confusion[k].iter().sum();
            let predicted: u64 = (0..3).map(|j| t.confusion[j][k]).sum();
            if actual + predicted == 0 {
                continue;
            }
            classes += 1;
            let denom = (actual + predicted) as f64;
            f1 += 2.0 * tp / denom;
        }
        let ece = t
            .ece
            .iter()
            .filter(|b| b.0 > 0)
            .map(|&(c, conf, h)| (c as f64 / n) * (h as f64 / c as f64 - conf / c as f64).abs())
            .sum();
        WindowFigures {
            last: None,
            n: t.n,
            accuracy: Interval95 {
                value: hits as f64 / n,
                lo,
                hi,
            },
            macro_f1: if classes > 0 {
                f1 / classes as f64
            } else {
                0.0
            },
            log_loss: Interval95 {
                value: mean,
                lo: mean - half,
                hi: mean + half,
            },
            brier: t.brier / n,
            ece,
            logistic: t.logistic.map(|(h, l, b)| {
                let k = t.logistic_n.max(1) as f64;
                Baseline {
                    accuracy: h as f64 / k,
                    log_loss: l / k,
                    brier: b / k,
                }
            }),
            majority: Baseline {
                accuracy: t.majority.0 as f64 / n,
                log_loss: t.majority.1 / n,
                brier: t.majority.2 / n,
            },
        }
    }
}

/// The verdict in words, from the figures: the model against its logistic baseline (then the
/// majority class) on the longest recent window with at least 100 candles, said as worse or
/// better only when the baseline's log-loss lies outside the model's 95 % interval.
pub fn verdict(figures: &[WindowFigures]) -> String {
    let Some(w) = figures
        .iter()
        .filter(|w| w.last.is_some() && w.n >= 100)
        .max_by_key(|w| w.n)
    else {
        return "too few outcomes yet (100 needed)".to_string();
    };
    let span = format!("on the last {} candles", w.n);
    let (name, base) = match w.logistic {
        Some(l) => ("its logistic baseline", l.log_loss),
        None => ("the majority class", w.majority.log_loss),
    };
    if w.log_loss.lo > base {
        format!("worse than {name} {span}")
    } else if w.log_loss.hi < base {
        let beats_majority = w.log_loss.hi < w.majority.log_loss;
        if beats_majority || w.logistic.is_none() {
            format!("better than {name} {span}")
        } else {
            format!("better than {name}, not than the majority class, {span}")
        }
    } else if w.log_loss.lo > w.majority.log_loss {
        format!("worse than the majority class {span}")
    } else {
        format!("no significant difference from {name} {span}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    fn stream(n: usize) -> Vec<Realised> {
        let mut s = 7u64;
        (0..n)
            .map(|_| {
                let a = 0.2 + 0.6 * lcg(&mut s);
                let b = (1.0 - a) * lcg(&mut s);
                let model = [a, b, 1.0 - a - b];
                let class = (lcg(&mut s) * 3.0) as u8 % 3;
                Realised {
                    model,
                    logistic: Some([0.3, 0.4, 0.3]),
                    majority: [0.25, 0.5, 0.25],
                    class,
                }
            })
            .collect()
    }

    /// "All" from running sums equals the same window computed from the whole slice.
    #[test]
    fn all_from_running_sums_equals_the_direct_computation() {
        let rs = stream(400);
        let mut card = Scorecard::new(3);
        for r in &rs {
            card.add(*r);
        }
        let all = card.all();
        let direct = card.window(None, &rs);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * (1.0 + a.abs());
        assert!(close(all.accuracy.value, direct.accuracy.value));
        assert!(close(all.accuracy.lo, direct.accuracy.lo));
        assert!(close(all.log_loss.value, direct.log_loss.value));
        assert!(
            close(all.log_loss.lo, direct.log_loss.lo),
            "{all:?} {direct:?}"
        );
        assert!(close(all.brier, direct.brier));
        assert!(
            close(all.macro_f1, direct.macro_f1),
            "{} {}",
            all.macro_f1,
            direct.macro_f1
        );
        assert!(close(all.ece, direct.ece), "{} {}", all.ece, direct.ece);
        let (a, b) = (all.logistic.unwrap(), direct.logistic.unwrap());
        assert!(close(a.log_loss, b.log_loss));
        assert!(close(all.majority.accuracy, direct.majority.accuracy));
    }

    #[test]
    fn windows_and_verdicts() {
        let mut card = Scorecard::new(1);
        assert!(card.figures().is_empty());
        assert_eq!(
            verdict(&card.figures()),
            "too few outcomes yet (100 needed)"
        );
        // A model that is confidently wrong is worse than a flat baseline.
        for k in 0..600 {
            let class = (k % 3) as u8;
            let mut model = [0.05; 3];
            model[(class as usize + 1) % 3] = 0.9;
            card.add(Realised {
                model,
                logistic: Some([1.0 / 3.0; 3]),
                majority: [1.0 / 3.0; 3],
                class,
            });
        }
        let figures = card.figures();
        assert_eq!(figures.len(), 3);
        assert_eq!(figures[1].n, 500);
        assert_eq!(figures[2].n, 600);
        assert_eq!(
            verdict(&figures),
            "worse than its logistic baseline on the last 500 candles"
        );
    }
}
