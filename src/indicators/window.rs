//! Fixed-size windows for O(1) indicator updates: a ring of the last N values with a running sum,
//! and monotonic deques for the window's maximum and minimum (with their age, for AROON).
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

/// Which extreme a [`MonotonicWindow`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extreme {
    Max,
    Min,
}

/// The maximum (or minimum) of the last `period` values in amortised O(1), with the index of the
/// value that holds it. Ties keep the newest value, as TA-Lib's MAX/MIN/AROON do (`>=` / `<=`).
#[derive(Clone, Debug)]
pub struct MonotonicWindow {
    period: usize,
    extreme: Extreme,
    /// (index, value) pairs, a ring buffer of capacity `period`.
    slots: Vec<(u64, f64)>,
    head: usize,
    len: usize,
    count: u64,
}

impl MonotonicWindow {
    pub fn new(period: usize, extreme: Extreme) -> Self {
        let period = period.max(1);
        Self {
            period,
            extreme,
            slots: vec![(0, 0.0); period],
            head: 0,
            len: 0,
            count: 0,
        }
    }

    fn dominated(&self, old: f64, new: f64) -> bool {
        match self.extreme {
            Extreme::Max => old <= new,
            Extreme::Min => old >= new,
        }
    }

    /// Pushes the next value; returns the extreme of the last `period` values and how many pushes
    /// ago it was seen (0 = this one).
    pub fn push(&mut self, value: f64) -> (f64, usize) {
        let index = self.count;
        self.count += 1;
        let period = self.period;
        // Indices wrap with a compare, not `%`: this runs for every bar of STOCH, WILLR, AROON.
        let wrap = |i: usize| if i >= period { i - period } else { i };
        // Drop from the back what the new value dominates.
        while self.len > 0 {
            let back = wrap(self.head + self.len - 1);
            if self.dominated(self.slots[back].1, value) {
                self.len -= 1;
            } else {
                break;
            }
        }
        // Drop from the front what left the window (at most one value per push).
        if self.len > 0 && self.slots[self.head].0 + period as u64 <= index {
            self.head = wrap(self.head + 1);
            self.len -= 1;
        }
        let tail = wrap(self.head + self.len);
        self.slots[tail] = (index, value);
        self.len += 1;
        let (at, extreme) = self.slots[self.head];
        (extreme, (index - at) as usize)
    }

    /// Values pushed so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.count = 0;
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
    fn monotonic_window_matches_a_scan() {
        let values: Vec<f64> = (0..500)
            .map(|i| ((i * 7919 % 101) as f64).sin() * 10.0 + (i % 7) as f64)
            .collect();
        for period in [1, 2, 5, 14] {
            for extreme in [Extreme::Max, Extreme::Min] {
                let mut w = MonotonicWindow::new(period, extreme);
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
                    assert_eq!(got, best);
                    assert_eq!(age, window.len() - 1 - best_i);
                }
            }
        }
    }
}
