//! Streaming drift detectors: Page-Hinkley, ADWIN and DDM.
//!
//! Each reproduces River 0.26's detector of the same name step for step: with River's
//! default parameters (our defaults) and the same inputs, `update` reports a drift at
//! exactly the steps where River's `drift_detected` is true, and a warning where its
//! `warning_detected` is (DDM only). Like River, a detector that reported a drift clears
//! its state at the start of the next `update`. The arithmetic follows River's order of
//! operations so floating-point results agree; `tests/fixtures/monitor/detectors.json`
//! (written by `tests/reference/monitor_detectors.py`) holds River's output they are
//! checked against.

use serde::{Deserialize, Serialize};

/// What a detector concluded from its latest input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectorState {
    Ok,
    Warning,
    Drift,
}

/// A streaming drift detector.
pub trait Detector {
    /// Feeds one value; returns the state after it.
    fn update(&mut self, x: f64) -> DetectorState;
    /// Short stable name ("page_hinkley", "adwin", "ddm").
    fn name(&self) -> &'static str;
    /// Forgets everything seen: the detector then behaves like a new one.
    fn reset(&mut self);
}

/// Running mean with River's `stats.Mean` update: `mean += (1 / n) * (x - mean)`.
#[derive(Clone, Copy, Debug, Default)]
struct RunningMean {
    n: f64,
    mean: f64,
}

impl RunningMean {
    fn update(&mut self, x: f64) {
        self.n += 1.0;
        self.mean += (1.0 / self.n) * (x - self.mean);
    }
}

fn state_of(drift: bool, warning: bool) -> DetectorState {
    if drift {
        DetectorState::Drift
    } else if warning {
        DetectorState::Warning
    } else {
        DetectorState::Ok
    }
}

// ---------------------------------------------------------------------------------------
// Page-Hinkley

/// Which change of the mean Page-Hinkley reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhMode {
    /// Increases only.
    Up,
    /// Decreases only.
    Down,
    /// Either (River's default).
    #[default]
    Both,
}

/// Page-Hinkley parameters; the defaults are River's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PageHinkleyParams {
    /// Inputs needed before a drift can be reported.
    pub min_instances: u64,
    /// Magnitude of change tolerated per step.
    pub delta: f64,
    /// Detection threshold (lambda).
    pub threshold: f64,
    /// Forgetting factor applied to the cumulative sums.
    pub alpha: f64,
    pub mode: PhMode,
}

impl Default for PageHinkleyParams {
    fn default() -> Self {
        Self {
            min_instances: 30,
            delta: 0.005,
            threshold: 50.0,
            alpha: 1.0 - 0.0001,
            mode: PhMode::Both,
        }
    }
}

/// Page-Hinkley test (River `drift.PageHinkley`): cumulative deviations from the running
/// mean, faded by `alpha`; drift when a sum moves more than `threshold` from its extreme.
#[derive(Clone, Debug)]
pub struct PageHinkley {
    params: PageHinkleyParams,
    mean: RunningMean,
    sum_increase: f64,
    sum_decrease: f64,
    min_increase: f64,
    max_decrease: f64,
    drift: bool,
}

impl Default for PageHinkley {
    fn default() -> Self {
        Self::new(PageHinkleyParams::default())
    }
}

impl PageHinkley {
    pub fn new(params: PageHinkleyParams) -> Self {
        Self {
            params,
            mean: RunningMean::default(),
            sum_increase: 0.0,
            sum_decrease: 0.0,
            min_increase: f64::INFINITY,
            max_decrease: -1.0,
            drift: false,
        }
    }

    pub fn params(&self) -> &PageHinkleyParams {
        &self.params
    }
}

impl Detector for PageHinkley {
    fn update(&mut self, x: f64) -> DetectorState {
        if self.drift {
            self.reset();
        }
        self.mean.update(x);
        let dev = x - self.mean.mean;
        let p = &self.params;
        self.sum_increase = p.alpha * self.sum_increase + dev - p.delta;
        self.sum_decrease = p.alpha * self.sum_decrease + dev + p.delta;
        if self.sum_increase < self.min_increase {
            self.min_increase = self.sum_increase;
        }
        if self.sum_decrease > self.max_decrease {
            self.max_decrease = self.sum_decrease;
        }
        // Before `min_instances` the flag keeps its value (false: it was cleared above).
        if self.mean.n >= p.min_instances as f64 {
            let up = self.sum_increase - self.min_increase > p.threshold;
            let down = self.max_decrease - self.sum_decrease > p.threshold;
            self.drift = match p.mode {
                PhMode::Up => up,
                PhMode::Down => down,
                PhMode::Both => up || down,
            };
        }
        state_of(self.drift, false)
    }

    fn name(&self) -> &'static str {
        "page_hinkley"
    }

    fn reset(&mut self) {
        *self = Self::new(self.params);
    }
}

// ---------------------------------------------------------------------------------------
// ADWIN

/// ADWIN parameters; the defaults are River's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdwinParams {
    /// Significance value of the cut test.
    pub delta: f64,
    /// Cuts are checked every `clock` updates.
    pub clock: u64,
    /// Buckets of one size kept before the two oldest merge.
    pub max_buckets: usize,
    /// Smallest sub-window a cut may leave on either side.
    pub min_window_length: u64,
    /// No cut is checked until the window holds more than this many values.
    pub grace_period: u64,
}

impl Default for AdwinParams {
    fn default() -> Self {
        Self {
            delta: 0.002,
            clock: 32,
            max_buckets: 5,
            min_window_length: 5,
            grace_period: 10,
        }
    }
}

/// Summary of 2^level consecutive values: their sum and sum of squared deviations.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    total: f64,
    variance: f64,
}

/// Adaptive windowing (River `drift.ADWIN`, the ADWIN2 exponential histogram).
///
/// `rows[i]` holds buckets of 2^i values, oldest first; a row that reaches
/// `max_buckets + 1` buckets merges its two oldest into the next row. Every `clock`
/// updates, each split of the window into an older part W0 and a newer part W1 at a
/// bucket boundary is tested, oldest boundary first; on a cut the oldest bucket is
/// dropped and the scan restarts.
#[derive(Clone, Debug)]
pub struct Adwin {
    params: AdwinParams,
    rows: Vec<Vec<Bucket>>,
    // Counts kept as f64, as River does: the arithmetic below uses them as floats.
    width: f64,
    total: f64,
    variance: f64,
    tick: u64,
    drift: bool,
}

impl Default for Adwin {
    fn default() -> Self {
        Self::new(AdwinParams::default())
    }
}

impl Adwin {
    pub fn new(params: AdwinParams) -> Self {
        Self {
            params,
            rows: vec![Vec::with_capacity(params.max_buckets + 1)],
            width: 0.0,
            total: 0.0,
            variance: 0.0,
            tick: 0,
            drift: false,
        }
    }

    pub fn params(&self) -> &AdwinParams {
        &self.params
    }

    /// Number of values in the window.
    pub fn width(&self) -> u64 {
        self.width as u64
    }

    /// Mean of the window (0 when empty).
    pub fn estimation(&self) -> f64 {
        if self.width == 0.0 {
            0.0
        } else {
            self.total / self.width
        }
    }

    /// Sum of squared deviations from the mean over the window.
    pub fn variance(&self) -> f64 {
        self.variance
    }

    fn insert(&mut self, x: f64) {
        if self.rows.is_empty() {
            self.rows
                .push(Vec::with_capacity(self.params.max_buckets + 1));
        }
        self.rows[0].push(Bucket {
            total: x,
            variance: 0.0,
        });
        self.width += 1.0;
        let mut inc = 0.0;
        if self.width > 1.0 {
            let d = x - self.total / (self.width - 1.0);
            inc = (self.width - 1.0) * d * d / self.width;
        }
        self.variance += inc;
        self.total += x;
        self.compress();
    }

    fn compress(&mut self) {
        let full = self.params.max_buckets + 1;
        let mut i = 0;
        while self.rows[i].len() == full {
            let n = (1u64 << i) as f64;
            let (b0, b1) = (self.rows[i][0], self.rows[i][1]);
            let (mu0, mu1) = (b0.total / n, b1.total / n);
            let merged = Bucket {
                total: b0.total + b1.total,
                variance: b0.variance + b1.variance + n * 0.5 * (mu0 - mu1) * (mu0 - mu1),
            };
            self.rows[i].drain(..2);
            if i + 1 == self.rows.len() {
                self.rows.push(Vec::with_capacity(full));
            }
            self.rows[i + 1].push(merged);
            i += 1;
        }
    }

    /// Drops the oldest bucket (first of the last row).
    fn drop_oldest(&mut self) {
        let last = self.rows.len() - 1;
        let n = (1u64 << last) as f64;
        let b = self.rows[last].remove(0);
        let mu = b.total / n;
        self.width -= n;
        self.total -= b.total;
        let mu_window = self.total / self.width;
        self.variance -=
            b.variance + n * self.width * (mu - mu_window) * (mu - mu_window) / (n + self.width);
        if self.rows[last].is_empty() {
            self.rows.pop();
        }
    }

    /// River's `_evaluate_cut`: |mean(W0) - mean(W1)| against a Hoeffding/Bernstein bound.
    fn cut(&self, n0: f64, n1: f64, delta_mean: f64) -> bool {
        let mwl = self.params.min_window_length as f64;
        let delta_prime = (2.0 * self.width.ln() / self.params.delta).ln();
        let m_recip = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0);
        let epsilon = (2.0 * m_recip * (self.variance / self.width) * delta_prime).sqrt()
            + 2.0 / 3.0 * delta_prime * m_recip;
        delta_mean.abs() > epsilon
    }

    fn detect(&mut self) -> bool {
        self.tick += 1;
        let clock = self.params.clock.max(1);
        if !self.tick.is_multiple_of(clock) || self.width <= self.params.grace_period as f64 {
            return false;
        }
        let mwl = self.params.min_window_length as f64;
        let mut changed = false;
        loop {
            let mut reduced = false;
            let (mut n0, mut n1, mut u0, mut u1) = (0.0, self.width, 0.0, self.total);
            'scan: for i in (0..self.rows.len()).rev() {
                let size = (1u64 << i) as f64;
                let len = self.rows[i].len();
                for k in 0..len {
                    let t = self.rows[i][k].total;
                    n0 += size;
                    n1 -= size;
                    u0 += t;
                    u1 -= t;
                    // The newest value never starts W1 on its own.
                    if i == 0 && k == len - 1 {
                        break 'scan;
                    }
                    let delta_mean = u0 / n0 - u1 / n1;
                    if n1 >= mwl && n0 >= mwl && self.cut(n0, n1, delta_mean) {
                        reduced = true;
                        changed = true;
                        if self.width > 0.0 {
                            self.drop_oldest();
                            break 'scan;
                        }
                    }
                }
            }
            if !reduced {
                return changed;
            }
        }
    }
}

impl Detector for Adwin {
    fn update(&mut self, x: f64) -> DetectorState {
        // River starts a fresh window after a drift (the cut window is only kept until
        // the next update).
        if self.drift {
            self.reset();
        }
        self.insert(x);
        self.drift = self.detect();
        state_of(self.drift, false)
    }

    fn name(&self) -> &'static str {
        "adwin"
    }

    fn reset(&mut self) {
        *self = Self::new(self.params);
    }
}

// ---------------------------------------------------------------------------------------
// DDM

/// DDM parameters; the defaults are River's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DdmParams {
    /// Inputs seen before warnings and drifts can be reported (strictly more are needed).
    pub warm_start: u64,
    /// Warning when p + s exceeds p_min + warning_threshold * s_min.
    pub warning_threshold: f64,
    /// Drift when p + s exceeds p_min + drift_threshold * s_min.
    pub drift_threshold: f64,
}

impl Default for DdmParams {
    fn default() -> Self {
        Self {
            warm_start: 30,
            warning_threshold: 2.0,
            drift_threshold: 3.0,
        }
    }
}

/// Drift Detection Method (River `drift.binary.DDM`) on a stream of errors: 1 is an
/// error, 0 a correct outcome.
#[derive(Clone, Debug)]
pub struct Ddm {
    params: DdmParams,
    p: RunningMean,
    p_min: f64,
    s_min: f64,
    ps_min: f64,
    warning: bool,
    drift: bool,
}

impl Default for Ddm {
    fn default() -> Self {
        Self::new(DdmParams::default())
    }
}

impl Ddm {
    pub fn new(params: DdmParams) -> Self {
        Self {
            params,
            p: RunningMean::default(),
            // Set at the first step past warm start (`ps_min` is infinite until then).
            p_min: 0.0,
            s_min: 0.0,
            ps_min: f64::INFINITY,
            warning: false,
            drift: false,
        }
    }

    pub fn params(&self) -> &DdmParams {
        &self.params
    }

    /// Current error rate.
    pub fn error_rate(&self) -> f64 {
        self.p.mean
    }
}

impl Detector for Ddm {
    fn update(&mut self, x: f64) -> DetectorState {
        if self.drift {
            self.reset();
        }
        self.p.update(x);
        let p_i = self.p.mean;
        let n = self.p.n;
        // Bernoulli standard deviation of the error rate.
        let s_i = (p_i * (1.0 - p_i) / n).sqrt();
        let prm = &self.params;
        if n > prm.warm_start as f64 {
            if p_i + s_i <= self.ps_min {
                self.p_min = p_i;
                self.s_min = s_i;
                self.ps_min = self.p_min + self.s_min;
            }
            self.warning = p_i + s_i > self.p_min + prm.warning_threshold * self.s_min;
            if p_i + s_i > self.p_min + prm.drift_threshold * self.s_min {
                self.drift = true;
                self.warning = false;
            }
        }
        state_of(self.drift, self.warning)
    }

    fn name(&self) -> &'static str {
        "ddm"
    }

    fn reset(&mut self) {
        *self = Self::new(self.params);
    }
}

// ---------------------------------------------------------------------------------------
// Tracking

/// A detector with what the monitor shows: its state, when it last fired, and how many drifts
/// it reported. River's detectors say "drift" only at the step they fire (then start over); a
/// tracked detector can hold that state for `hold` inputs after, so a firing is seen.
#[derive(Clone, Debug)]
pub struct Tracked<D> {
    detector: D,
    /// The detector's own state at the last step.
    now: DetectorState,
    fired_at: Option<i64>,
    drifts: u64,
    hold: usize,
    /// Inputs since the last drift.
    since_drift: Option<usize>,
}

impl<D: Detector> Tracked<D> {
    /// `detector`, its state as it says (no hold).
    pub fn new(detector: D) -> Self {
        Self::holding(detector, 0)
    }

    /// `detector`, its drift state held for `hold` inputs after each firing.
    pub fn holding(detector: D, hold: usize) -> Self {
        Self {
            detector,
            now: DetectorState::Ok,
            fired_at: None,
            drifts: 0,
            hold,
            since_drift: None,
        }
    }

    /// Feeds `x` observed at `time_ms`, which becomes the firing time when the detector goes
    /// to warning or drift; returns the detector's own state.
    pub fn update_at(&mut self, x: f64, time_ms: i64) -> DetectorState {
        let state = self.detector.update(x);
        if state != DetectorState::Ok && state != self.now {
            self.fired_at = Some(time_ms);
        }
        if let Some(n) = &mut self.since_drift {
            *n += 1;
        }
        if state == DetectorState::Drift {
            self.drifts += 1;
            self.since_drift = Some(0);
        }
        self.now = state;
        state
    }

    /// Drift for `hold` inputs after a firing, else the detector's own state after the last
    /// update (`Ok` before any).
    pub fn state(&self) -> DetectorState {
        match self.since_drift {
            Some(n) if n < self.hold => DetectorState::Drift,
            _ => self.now,
        }
    }

    /// Time (ms) of the last step the detector went to warning or drift, if any.
    pub fn fired_at(&self) -> Option<i64> {
        self.fired_at
    }

    /// Drifts reported since creation or the last reset.
    pub fn drifts(&self) -> u64 {
        self.drifts
    }

    pub fn name(&self) -> &'static str {
        self.detector.name()
    }

    pub fn detector(&self) -> &D {
        &self.detector
    }

    /// Resets the detector and the tracking.
    pub fn reset(&mut self) {
        self.detector.reset();
        self.now = DetectorState::Ok;
        self.fired_at = None;
        self.drifts = 0;
        self.since_drift = None;
    }
}

/// A boxed detector is a detector (the monitor keeps detectors of different kinds side by side).
impl<D: Detector + ?Sized> Detector for Box<D> {
    fn update(&mut self, x: f64) -> DetectorState {
        (**self).update(x)
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn reset(&mut self) {
        (**self).reset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/monitor/detectors.json"
    );
    const SCRIPT: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/monitor_detectors.py"
    );

    #[derive(Deserialize)]
    struct Fixture {
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        name: String,
        detector: String,
        params: Value,
        inputs: Vec<f64>,
        drift: Vec<usize>,
        warning: Vec<usize>,
        #[serde(default)]
        width: Vec<u64>,
        #[serde(default)]
        estimation: Vec<(usize, f64)>,
    }

    fn load() -> Fixture {
        let text = std::fs::read_to_string(FIXTURE).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn steps_where(states: &[DetectorState], want: DetectorState) -> Vec<usize> {
        (0..states.len()).filter(|&i| states[i] == want).collect()
    }

    #[test]
    fn fixture_matches_river() {
        let fx = load();
        assert!(fx.cases.len() >= 10);
        for c in &fx.cases {
            let p = c.params.clone();
            let (states, adwin_trace): (Vec<DetectorState>, Vec<(u64, f64)>) =
                match c.detector.as_str() {
                    "page_hinkley" => {
                        let mut d = PageHinkley::new(serde_json::from_value(p).unwrap());
                        (c.inputs.iter().map(|&x| d.update(x)).collect(), vec![])
                    }
                    "ddm" => {
                        let mut d = Ddm::new(serde_json::from_value(p).unwrap());
                        (c.inputs.iter().map(|&x| d.update(x)).collect(), vec![])
                    }
                    "adwin" => {
                        let mut d = Adwin::new(serde_json::from_value(p).unwrap());
                        let mut trace = vec![];
                        let states = c
                            .inputs
                            .iter()
                            .map(|&x| {
                                let s = d.update(x);
                                trace.push((d.width(), d.estimation()));
                                s
                            })
                            .collect();
                        (states, trace)
                    }
                    other => panic!("unknown detector {other}"),
                };
            assert_eq!(
                steps_where(&states, DetectorState::Drift),
                c.drift,
                "{}: drift steps",
                c.name
            );
            assert_eq!(
                steps_where(&states, DetectorState::Warning),
                c.warning,
                "{}: warning steps",
                c.name
            );
            if c.detector == "adwin" {
                let widths: Vec<u64> = adwin_trace.iter().map(|t| t.0).collect();
                assert_eq!(widths, c.width, "{}: widths", c.name);
                assert!(!c.estimation.is_empty());
                for &(i, e) in &c.estimation {
                    let ours = adwin_trace[i].1;
                    assert!(
                        (ours - e).abs() <= 1e-9,
                        "{}: estimation at {i}: ours {ours}, River {e}",
                        c.name
                    );
                }
            }
        }
    }

    #[test]
    fn fixture_exercises_each_behaviour() {
        let fx = load();
        let by = |n: &str| fx.cases.iter().find(|c| c.name == n).unwrap();
        assert!(!by("ph_jump_up_up").drift.is_empty());
        assert!(by("ph_jump_down_up").drift.is_empty());
        assert!(!by("ph_jump_down_down").drift.is_empty());
        assert!(!by("adwin_shift").drift.is_empty());
        assert!(by("adwin_uniform").drift.is_empty());
        assert!(!by("ddm_shift").drift.is_empty());
        assert!(!by("ddm_shift").warning.is_empty());
    }

    #[test]
    fn reference_script_reproduces_fixture() {
        let Some(py) = std::env::var_os("TRADEMON_PYREF") else {
            eprintln!("skipped: TRADEMON_PYREF not set");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("detectors.json");
        let status = std::process::Command::new(py)
            .arg(SCRIPT)
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "reference script failed: {status}");
        let fresh: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let kept: Value = serde_json::from_str(&std::fs::read_to_string(FIXTURE).unwrap()).unwrap();
        assert!(
            fresh == kept,
            "rerun of the reference script differs from {FIXTURE}"
        );
    }

    fn stream(seed: u64, n: usize, shift_at: usize, lo: f64, hi: f64) -> Vec<f64> {
        // Small LCG: deterministic noise without a dependency.
        let mut s = seed;
        (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                u + if i < shift_at { lo } else { hi }
            })
            .collect()
    }

    /// Feeds `a`, resets, feeds `b`, and checks it matches a new detector fed `b`.
    fn check_reset<D: Detector + Clone>(fresh: D, a: &[f64], b: &[f64], probe: impl Fn(&D) -> f64) {
        let mut used = fresh.clone();
        let fired = a
            .iter()
            .filter(|&&x| used.update(x) == DetectorState::Drift)
            .count();
        assert!(fired > 0, "{}: stream a should fire", used.name());
        used.reset();
        let mut new = fresh;
        for &x in b {
            assert_eq!(used.update(x), new.update(x), "{}", used.name());
            assert_eq!(probe(&used).to_bits(), probe(&new).to_bits());
        }
    }

    #[test]
    fn reset_behaves_like_new() {
        let a = stream(1, 3000, 1500, 0.0, 3.0);
        let b = stream(2, 3000, 2000, 0.0, 1.0);
        check_reset(PageHinkley::default(), &a, &b, |d| d.sum_increase);
        check_reset(
            PageHinkley::new(PageHinkleyParams {
                mode: PhMode::Up,
                ..Default::default()
            }),
            &a,
            &b,
            |d| d.max_decrease,
        );
        check_reset(Adwin::default(), &a, &b, |d| {
            d.estimation() + d.width() as f64 + d.variance()
        });
        let errs = |seed, p0: f64, p1: f64| -> Vec<f64> {
            stream(seed, 4000, 2000, 0.0, 0.0)
                .iter()
                .enumerate()
                .map(|(i, u)| f64::from(*u < if i < 2000 { p0 } else { p1 }))
                .collect()
        };
        check_reset(
            Ddm::default(),
            &errs(3, 0.1, 0.6),
            &errs(4, 0.2, 0.4),
            |d| d.error_rate() + d.ps_min,
        );
    }

    #[test]
    fn tracked_records_firing_time_and_count() {
        let xs = stream(5, 3000, 1000, 0.0, 3.0);
        let mut plain = PageHinkley::default();
        let mut t = Tracked::new(PageHinkley::default());
        assert_eq!(
            (t.state(), t.fired_at(), t.drifts()),
            (DetectorState::Ok, None, 0)
        );
        let mut last = None;
        let mut count = 0;
        for (i, &x) in xs.iter().enumerate() {
            let at = 1_000 * i as i64;
            let s = t.update_at(x, at);
            assert_eq!(s, plain.update(x));
            assert_eq!(t.state(), s);
            if s == DetectorState::Drift {
                last = Some(at);
                count += 1;
            }
        }
        assert!(count > 0);
        assert_eq!((t.fired_at(), t.drifts()), (last, count));
        assert_eq!(t.name(), "page_hinkley");
        t.reset();
        assert_eq!(
            (t.state(), t.fired_at(), t.drifts()),
            (DetectorState::Ok, None, 0)
        );
    }

    #[test]
    fn a_held_drift_lasts_hold_inputs_and_warnings_are_fired_times_too() {
        // DDM on errors that jump from 10 % to 90 % at 2,000: warnings, then a drift.
        let xs: Vec<f64> = stream(7, 4000, 2000, 0.0, 0.0)
            .iter()
            .enumerate()
            .map(|(i, u)| f64::from(*u < if i < 2000 { 0.1 } else { 0.9 }))
            .collect();
        let mut held = Tracked::holding(Ddm::default(), 5);
        let mut plain = Tracked::new(Ddm::default());
        let mut first_warning = None;
        let mut drift_at = None;
        for (i, &x) in xs.iter().enumerate() {
            let at = i as i64;
            let own = held.update_at(x, at);
            assert_eq!(own, plain.update_at(x, at));
            assert_eq!(plain.state(), own);
            if own == DetectorState::Warning && first_warning.is_none() {
                first_warning = Some(at);
                assert_eq!(held.fired_at(), Some(at));
            }
            if own == DetectorState::Drift {
                drift_at = Some(i);
                assert_eq!(held.fired_at(), Some(at));
                break;
            }
        }
        let drift_at = drift_at.expect("DDM fires on a jump from 10 % to 90 % errors");
        assert!(first_warning.is_some());
        // After the firing: drift for 5 more inputs whatever the detector says, then its own.
        for k in 1..=6 {
            let x = xs[drift_at + k];
            let own = held.update_at(x, 0);
            assert_eq!(own, plain.update_at(x, 0));
            let want = if k < 5 { DetectorState::Drift } else { own };
            assert_eq!(held.state(), want, "input {k} after the firing");
        }
        assert_eq!(held.drifts(), plain.drifts());
        held.reset();
        assert_eq!(held.state(), DetectorState::Ok);
    }

    #[test]
    fn state_and_params_serde() {
        let s = serde_json::to_string(&[
            DetectorState::Ok,
            DetectorState::Warning,
            DetectorState::Drift,
        ])
        .unwrap();
        assert_eq!(s, r#"["ok","warning","drift"]"#);
        let p: PageHinkleyParams = serde_json::from_str(r#"{"mode":"up"}"#).unwrap();
        assert_eq!(
            p,
            PageHinkleyParams {
                mode: PhMode::Up,
                ..Default::default()
            }
        );
        assert!(serde_json::from_str::<PageHinkleyParams>(r#"{"mode":"sideways"}"#).is_err());
        assert_eq!(Adwin::default().params(), &AdwinParams::default());
        assert_eq!(Ddm::default().name(), "ddm");
        assert_eq!(Adwin::default().name(), "adwin");
        assert_eq!(Adwin::default().estimation(), 0.0);
    }
}
