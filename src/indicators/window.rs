//! Fixed-size windows for O(1) indicator updates: a ring of the last N values with a running sum,
//! and block-based sliding extremes for the window's maximum and minimum (with their age, for AROON).
//! Storage is allocated once, at construction.

/// The last `capacity` values.
#[derive(Clone, Debug)]
pub struct Ring {
    values: Vec<f64>,
    next: usize,
    len: usize,
}

impl Ring {
    pub fn new(capacity: usize) -> Self {
        Self {
            values: vec![0.0; capacity.max(1)],
            next: 0,
            len: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.values.len()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_full(&self) -> bool {
        self.len == self.values.len()
    }

    /// Pushes a value; returns the one it pushed out when full.
    pub fn push(&mut self, value: f64) -> Option<f64> {
        let out = self.is_full().then(|| self.values[self.next]);
        self.values[self.next] = value;
        // A compare instead of `%`: a hardware divide per push costs more than the rest of it.
        self.next += 1;
        if self.next == self.values.len() {
            self.next = 0;
        }
        if self.len < self.values.len() {
            self.len += 1;
        }
        out
    }

    /// The value pushed `back` pushes ago (0 = the newest).
    pub fn get(&self, back: usize) -> Option<f64> {
        if back >= self.len {
            return None;
        }
        let cap = self.values.len();
        Some(self.values[(self.next + cap - 1 - back) % cap])
    }

    /// Values oldest first.
    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        let cap = self.values.len();
        (0..self.len).map(move |i| self.values[(self.next + cap - self.len + i) % cap])
    }

    pub fn clear(&mut self) {
        self.next = 0;
        self.len = 0;
    }
}

/// Which extreme an [`ExtremeWindow`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extreme {
    Max,
    Min,
}

/// The maximum (or minimum) of the last `period` values in amortised O(1), with how many pushes
/// ago it was seen. Ties keep the newest value, as TA-Lib's MAX/MIN/AROON do (`>=` / `<=`).
///
/// The stream is cut into blocks of `period` values (van Herk / Gil-Werman, in streaming form):
/// the window ending inside the current block is the tail of the previous block plus the current
/// block's head, so its extreme is the better of the previous block's suffix extreme (computed
/// once when that block filled: `period` steps per `period` pushes) and the current block's
/// running extreme. Unlike a monotonic deque, whose pops depend on the data, every push does the
/// same work, so the branches are predictable; on a random walk it is several times faster.
/// A minimum is kept as the maximum of the negated values (negation is exact).
#[derive(Clone, Debug)]
pub struct ExtremeWindow {
    period: usize,
    /// 1 for a maximum, −1 for a minimum: values are stored multiplied by it.
    sign: f64,
    /// The current block's values, `pos` of them so far.
    block: Vec<f64>,
    /// `suffix[i]`: the best of the previous block's values from offset `i` on, and the offset of
    /// the newest value holding it; `suffix[period]` is an empty sentinel (−∞).
    suffix: Vec<(f64, usize)>,
    /// The best of the current block so far and its offset.
    best: f64,
    best_at: usize,
    pos: usize,
    count: u64,
}

impl ExtremeWindow {
    pub fn new(period: usize, extreme: Extreme) -> Self {
        let period = period.max(1);
        Self {
            period,
            sign: match extreme {
                Extreme::Max => 1.0,
                Extreme::Min => -1.0,
            },
            block: vec![0.0; period],
            suffix: vec![(f64::NEG_INFINITY, 0); period + 1],
            best: f64::NEG_INFINITY,
            best_at: 0,
            pos: 0,
            count: 0,
        }
    }

    /// Pushes the next value; returns the extreme of the last `period` values and how many pushes
    /// ago it was seen (0 = this one).
    #[inline]
    pub fn push(&mut self, value: f64) -> (f64, usize) {
        let signed = value * self.sign;
        let pos = self.pos;
        self.block[pos] = signed;
        if signed >= self.best {
            self.best = signed;
            self.best_at = pos;
        }
        // The window is the previous block from offset pos + 1 on, then this block up to pos.
        let (older, older_at) = self.suffix[pos + 1];
        let (extreme, age) = if self.best >= older {
            (self.best, pos - self.best_at)
        } else {
            (older, pos + self.period - older_at)
        };
        self.count += 1;
        self.pos += 1;
        if self.pos == self.period {
            self.close_block();
        }
        (extreme * self.sign, age)
    }

    /// The block is full: its suffix extremes serve the next `period` windows.
    fn close_block(&mut self) {
        let (mut best, mut at) = (f64::NEG_INFINITY, 0);
        for (i, (&value, slot)) in self.block.iter().zip(&mut self.suffix).enumerate().rev() {
            // Strictly better only: among equal values the newer (higher offset) one stays.
            if value > best {
                best = value;
                at = i;
            }
            *slot = (best, at);
        }
        self.pos = 0;
        self.best = f64::NEG_INFINITY;
        self.best_at = 0;
    }

    /// Values pushed so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn clear(&mut self) {
        self.suffix.fill((f64::NEG_INFINITY, 0));
        self.best = f64::NEG_INFINITY;
        self.best_at = 0;
        self.pos = 0;
        self.count = 0;
    }
}

/// The highest high and lowest low of the last `period` candles (STOCH's and WILLR's range).
#[derive(Clone, Debug)]
pub struct HighLowWindow {
    period: u64,
    highest: ExtremeWindow,
    lowest: ExtremeWindow,
}

impl HighLowWindow {
    pub fn new(period: usize) -> Self {
        Self {
            period: period.max(1) as u64,
            highest: ExtremeWindow::new(period, Extreme::Max),
            lowest: ExtremeWindow::new(period, Extreme::Min),
        }
    }

    pub fn period(&self) -> usize {
        self.period as usize
    }

    /// Pushes a candle's high and low; returns (highest, lowest) once `period` candles were seen.
    #[inline]
    pub fn push(&mut self, high: f64, low: f64) -> Option<(f64, f64)> {
        let (highest, _) = self.highest.push(high);
        let (lowest, _) = self.lowest.push(low);
        (self.highest.count() >= self.period).then_some((highest, lowest))
    }

    pub fn clear(&mut self) {
        self.highest.clear();
        self.lowest.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_last_values() {
        let mut r = Ring::new(3);
        assert_eq!(r.push(1.0), None);
        r.push(2.0);
        r.push(3.0);
        assert_eq!(r.push(4.0), Some(1.0));
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![2.0, 3.0, 4.0]);
        assert_eq!(r.get(0), Some(4.0));
        assert_eq!(r.get(2), Some(2.0));
        assert_eq!(r.get(3), None);
    }

    #[test]
    fn extreme_window_matches_a_scan() {
        let smooth: Vec<f64> = (0..500)
            .map(|i| ((i * 7919 % 101) as f64).sin() * 10.0 + (i % 7) as f64)
            .collect();
        // Few distinct values: ties everywhere, within and across blocks.
        let ties: Vec<f64> = (0..500).map(|i| ((i * 37 + i / 9) % 4) as f64).collect();
        for values in [&smooth, &ties] {
            for period in [1, 2, 3, 5, 14, 15] {
                for extreme in [Extreme::Max, Extreme::Min] {
                    let mut w = ExtremeWindow::new(period, extreme);
                    // Some pushes and a clear first: the check then runs from scratch.
                    for &v in &values[..period * 2 + 1] {
                        w.push(v);
                    }
                    w.clear();
                    assert_eq!(w.count(), 0);
                    for (i, &v) in values.iter().enumerate() {
                        let (got, age) = w.push(v);
                        let start = i + 1 - period.min(i + 1);
                        let window = &values[start..=i];
                        // Newest index holding the extreme (ties: newest wins).
                        let (best_i, best) =
                            window
                                .iter()
                                .enumerate()
                                .fold((0, window[0]), |(bi, b), (j, &x)| match extreme {
                                    Extreme::Max if x >= b => (j, x),
                                    Extreme::Min if x <= b => (j, x),
                                    _ => (bi, b),
                                });
                        assert_eq!(got, best, "period {period} {extreme:?} at {i}");
                        assert_eq!(age, window.len() - 1 - best_i, "period {period} at {i}");
                    }
                }
            }
        }
    }
}
