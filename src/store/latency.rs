//! A window of the most recent latency samples with percentiles.

/// Keeps the last `capacity` samples (in microseconds) in a ring.
#[derive(Clone, Debug)]
pub struct LatencyWindow {
    samples: Vec<u32>,
    next: usize,
    filled: bool,
}

impl LatencyWindow {
    pub fn new(capacity: usize) -> Self {
        Self {
            samples: vec![0; capacity.max(1)],
            next: 0,
            filled: false,
        }
    }

    pub fn record_micros(&mut self, micros: u64) {
        self.samples[self.next] = micros.min(u32::MAX as u64) as u32;
        self.next += 1;
        if self.next == self.samples.len() {
            self.next = 0;
            self.filled = true;
        }
    }

    pub fn len(&self) -> usize {
        if self.filled {
            self.samples.len()
        } else {
            self.next
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Nearest-rank percentile in milliseconds, `q` in 0..=1.
    pub fn percentile_ms(&self, q: f64) -> Option<f64> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let mut sorted = self.samples[..n].to_vec();
        sorted.sort_unstable();
        let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as usize).clamp(1, n);
        Some(sorted[rank - 1] as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut w = LatencyWindow::new(100);
        assert_eq!(w.percentile_ms(0.5), None);
        for us in 1..=100 {
            w.record_micros(us * 1000);
        }
        assert_eq!(w.percentile_ms(0.5), Some(50.0));
        assert_eq!(w.percentile_ms(0.99), Some(99.0));
        // The ring forgets the oldest samples.
        for _ in 0..100 {
            w.record_micros(1000);
        }
        assert_eq!(w.percentile_ms(0.99), Some(1.0));
    }
}
