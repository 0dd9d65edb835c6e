//! What a sample is labelled with: the forward log return over the next `horizon` candles, and
//! its class — 0 down, 1 flat, 2 up — where "flat" means `|return| < θ`.
//!
//! **θ, exactly.** Sort the training samples' `|return|` ascending into `a[0..n]` and take
//! `k = ⌊n / 3⌋`. Two candidates: `θ₁ = a[k]` (flat = the values strictly below `a[k]`) and
//! `θ₂` = the smallest value above `a[k]` (flat also takes every value tied with `a[k]`; `+∞` when
//! there is none). θ is the candidate whose flat count is nearer `n / 3` (θ₁ on a tie). Without
//! ties this is the plain 1/3 quantile `a[k]`; with the ties of tick-sized price moves it keeps
//! the classes as near a third each as the data allows.

use crate::domain::{Calendar, Interval};

/// Class of a falling forward return.
pub const DOWN: u8 = 0;
/// Class of a forward return under θ in size.
pub const FLAT: u8 = 1;
/// Class of a rising forward return.
pub const UP: u8 = 2;
/// Number of classes.
pub const CLASSES: usize = 3;
/// Class names in class order.
pub const CLASS_NAMES: [&str; CLASSES] = ["down", "flat", "up"];

/// The class of forward return `ret` under threshold `theta`.
pub fn class_of(ret: f64, theta: f64) -> u8 {
    if ret.abs() < theta {
        FLAT
    } else if ret < 0.0 {
        DOWN
    } else {
        UP
    }
}

/// Forward log returns `ln(close[i + horizon] / close[i])` for the candles `candle_of_row` names,
/// `None` when the series ends first or when the candles in between are not contiguous (a hole
/// lies between, so the return would span more time than the horizon).
pub fn forward_returns(
    closes: &[f64],
    open_times_ms: &[i64],
    interval_ms: i64,
    horizon: usize,
    candle_of_row: &[usize],
) -> Vec<Option<f64>> {
    forward_returns_where(
        closes,
        open_times_ms,
        horizon,
        candle_of_row,
        |prev, next| next - prev != interval_ms,
    )
}

/// [`forward_returns`] on a market calendar: `None` also when a gap of `calendar` lies between
/// (on `sessions` a closure does not break the horizon: the next stored candle is the next bar).
pub fn forward_returns_on(
    calendar: Calendar,
    interval: Interval,
    closes: &[f64],
    open_times_ms: &[i64],
    horizon: usize,
    candle_of_row: &[usize],
) -> Vec<Option<f64>> {
    forward_returns_where(
        closes,
        open_times_ms,
        horizon,
        candle_of_row,
        |prev, next| calendar.is_gap(interval, prev, next),
    )
}

/// The forward returns where no step between candle `i` and `i + horizon` is a gap.
fn forward_returns_where(
    closes: &[f64],
    open_times_ms: &[i64],
    horizon: usize,
    candle_of_row: &[usize],
    is_gap: impl Fn(i64, i64) -> bool,
) -> Vec<Option<f64>> {
    // `gaps_before[k]`: gaps between consecutive candles among the first `k + 1`.
    let mut gaps_before = Vec::with_capacity(open_times_ms.len());
    let mut gaps = 0usize;
    for (k, &t) in open_times_ms.iter().enumerate() {
        if k > 0 && is_gap(open_times_ms[k - 1], t) {
            gaps += 1;
        }
        gaps_before.push(gaps);
    }
    candle_of_row
        .iter()
        .map(|&i| {
            let j = i + horizon;
            (j < closes.len() && gaps_before[j] == gaps_before[i])
                .then(|| (closes[j] / closes[i]).ln())
        })
        .collect()
}

/// θ from the training returns (see the module doc). `0` for no returns: everything is then
/// down or up, which the caller never meets because a split needs samples.
pub fn flat_threshold(training_returns: impl Iterator<Item = f64>) -> f64 {
    let mut sizes: Vec<f64> = training_returns.map(f64::abs).collect();
    if sizes.is_empty() {
        return 0.0;
    }
    sizes.sort_unstable_by(f64::total_cmp);
    let n = sizes.len();
    let k = n / 3;
    let first = sizes[k];
    let below_first = sizes.partition_point(|&a| a < first);
    let through_first = sizes.partition_point(|&a| a <= first);
    let second = sizes.get(through_first).copied().unwrap_or(f64::INFINITY);
    // Compare |count − n/3| as |3·count − n| to stay in integers.
    let miss = |count: usize| (3 * count).abs_diff(n);
    if miss(through_first) < miss(below_first) {
        second
    } else {
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_by_sign_and_size() {
        assert_eq!(class_of(-0.02, 0.01), DOWN);
        assert_eq!(class_of(0.005, 0.01), FLAT);
        assert_eq!(class_of(-0.01, 0.01), DOWN, "|r| = θ is not flat");
        assert_eq!(class_of(0.03, 0.01), UP);
        assert_eq!(class_of(0.0, 0.0), UP, "θ = 0: nothing is flat");
    }

    #[test]
    fn threshold_is_the_third_quantile_without_ties() {
        let returns = [0.5, -0.1, 0.2, -0.4, 0.3, 0.6];
        // |r| sorted: 0.1 0.2 0.3 0.4 0.5 0.6; k = 2 → θ = 0.3, flat = {0.1, 0.2}.
        assert_eq!(flat_threshold(returns.into_iter()), 0.3);
    }

    #[test]
    fn threshold_takes_ties_in_when_nearer_a_third() {
        // Nine returns: three zeros, four of size 1e-4, two larger. k = 3 → a[3] = 1e-4.
        // θ₁ = 1e-4 gives 3 flat (exactly a third); θ₂ would give 7.
        let r = [0.0, 0.0, 0.0, 1e-4, -1e-4, 1e-4, -1e-4, 0.01, -0.02];
        assert_eq!(flat_threshold(r.into_iter()), 1e-4);
        // Six zeros out of nine: a[3] = 0; θ₁ = 0 gives 0 flat, θ₂ = 1e-4 gives 6: both miss a
        // third by 3; θ₁ wins the tie. Seven zeros of twelve: θ₁ 0 flat (miss 4), θ₂ 7 (miss 3).
        let r = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1e-4, 0.01, -0.02];
        assert_eq!(flat_threshold(r.into_iter()), 0.0);
        let mut r = vec![0.0; 7];
        r.extend([1e-4, 0.01, -0.02, 0.03, -0.03]);
        assert_eq!(flat_threshold(r.into_iter()), 1e-4);
        // All the same size: θ₂ is +∞, everything flat (miss 2n) loses to nothing flat (miss n).
        assert_eq!(flat_threshold([0.1, -0.1, 0.1].into_iter()), 0.1);
        assert_eq!(flat_threshold(std::iter::empty()), 0.0);
    }

    #[test]
    fn forward_returns_stop_at_holes_and_the_end() {
        let closes = [1.0, 2.0, 4.0, 8.0, 16.0];
        let times = [0, 60, 120, 240, 300];
        let rows = [0, 1, 2, 3, 4];
        let r = forward_returns(&closes, &times, 60, 1, &rows);
        assert_eq!(r[0], Some(2f64.ln()));
        assert_eq!(r[1], Some(2f64.ln()));
        assert_eq!(r[2], None, "a hole between candle 2 and 3");
        assert_eq!(r[3], Some(2f64.ln()));
        assert_eq!(r[4], None, "the series ends");
        let r2 = forward_returns(&closes, &times, 60, 2, &[0, 1, 3]);
        assert_eq!(r2, vec![Some(4f64.ln()), None, None]);
    }

    #[test]
    fn forward_returns_on_sessions_run_across_closures() {
        let day = 86_400_000;
        // 2024-01-01 is a Monday: Thursday, Friday, Monday, then a week closed, then Tuesday.
        let monday = 1_704_067_200_000;
        let times = [3, 4, 7, 8, 16].map(|d| monday + d * day);
        let closes = [1.0, 2.0, 4.0, 8.0, 16.0];
        let rows = [0, 1, 2, 3, 4];
        let on = |c: Calendar, horizon| {
            forward_returns_on(c, Interval::D1, &closes, &times, horizon, &rows)
        };
        let two = Some(2f64.ln());
        assert_eq!(on(Calendar::Sessions, 1), vec![two, two, two, None, None]);
        assert_eq!(
            on(Calendar::TwentyFourSeven, 1),
            vec![two, None, two, None, None]
        );
        assert_eq!(
            on(Calendar::TwentyFourSeven, 1),
            forward_returns(&closes, &times, day, 1, &rows)
        );
        assert_eq!(on(Calendar::Sessions, 2)[1], Some(4f64.ln()));
        assert_eq!(on(Calendar::Sessions, 2)[2], None, "over the week closed");
    }
}
