//! Statistics for model monitoring: binning, drift distances, two-sample tests, calibration and
//! confidence intervals.
//!
//! Pure functions on slices. Inputs are expected finite (checked by `debug_assert!` where cheap);
//! a result that is undefined for the input (an empty sample, say) is NaN unless a function says
//! otherwise. Nothing here panics in release builds. The reference values these functions are
//! tested against come from numpy, scipy and statsmodels (`tests/reference/monitor_stats.py`).

use std::f64::consts::{LN_2, PI};

/// Floor applied to both sides' bin shares before computing [`psi`], so that an empty bin
/// contributes a large but finite term.
pub const PSI_FLOOR: f64 = 1e-4;

/// The `bins - 1` interior cut points of `sorted` at the quantiles `k / bins`, `k = 1..bins-1`.
///
/// Quantiles use linear interpolation between order statistics, as numpy's default
/// `np.quantile(x, k / bins)`: with `h = (n - 1)·q`, `i = ⌊h⌋` and `g = h − i`, the cut point is
/// `x[i] + g·(x[i+1] − x[i])` (evaluated as `x[i+1] − (1 − g)·(x[i+1] − x[i])` when `g >= 0.5`).
/// `sorted` must be ascending and finite. Empty input or `bins < 2` gives no edges.
pub fn quantile_edges(sorted: &[f64], bins: usize) -> Vec<f64> {
    debug_assert!(
        sorted.windows(2).all(|w| w[0] <= w[1]),
        "input must be sorted"
    );
    if sorted.is_empty() || bins < 2 {
        return Vec::new();
    }
    let last = sorted.len() - 1;
    (1..bins)
        .map(|k| {
            let h = last as f64 * (k as f64 / bins as f64);
            let below = (h.floor() as usize).min(last);
            let above = (below + 1).min(last);
            let g = h - below as f64;
            let (a, b) = (sorted[below], sorted[above]);
            let diff = b - a;
            if g >= 0.5 {
                b - diff * (1.0 - g)
            } else {
                a + diff * g
            }
        })
        .collect()
}

/// The bin of `v` given ascending interior `edges`: the number of edges `<= v` (numpy's
/// `searchsorted(edges, v, side="right")`), so bin `i` is `[e_{i-1}, e_i)`, bin 0 is everything
/// below `e_0` and bin `edges.len()` everything from the last edge on. NaN falls in bin 0.
pub fn bin_of(edges: &[f64], v: f64) -> usize {
    edges.partition_point(|&e| e <= v)
}

/// Each count's share of the total, `c_i / Σ c`. All zeros (or no counts) give all-zero shares.
pub fn shares(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return vec![0.0; counts.len()];
    }
    counts.iter().map(|&c| c as f64 / total as f64).collect()
}

/// Population stability index of `current_counts` against `reference_shares`:
/// `PSI = Σ_i (c_i − r_i)·ln(c_i / r_i)` where `c` are the shares of `current_counts` and both `c_i`
/// and `r_i` are first raised to at least [`PSI_FLOOR`] (no renormalisation after flooring).
/// The two slices must have the same length; extra entries on either side are ignored.
pub fn psi(reference_shares: &[f64], current_counts: &[u64]) -> f64 {
    debug_assert_eq!(reference_shares.len(), current_counts.len());
    let total: u64 = current_counts.iter().sum();
    reference_shares
        .iter()
        .zip(current_counts)
        .map(|(&r, &c)| {
            let cur = if total == 0 {
                0.0
            } else {
                c as f64 / total as f64
            };
            let cur = cur.max(PSI_FLOOR);
            let r = r.max(PSI_FLOOR);
            (cur - r) * (cur / r).ln()
        })
        .sum()
}

/// The `p` quantile of the chi-squared distribution with `dof` degrees of freedom: the `x` with
/// `P(dof/2, x/2) = p`, where `P` is the regularised lower incomplete gamma function.
///
/// `p <= 0` gives 0, `p >= 1` gives infinity; `dof <= 0` or NaN arguments give NaN. Relative
/// accuracy is about 1e-13.
pub fn chi2_quantile(p: f64, dof: f64) -> f64 {
    if p.is_nan() || dof.is_nan() || dof <= 0.0 {
        return f64::NAN;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    2.0 * gamma_p_inverse(dof / 2.0, p)
}

/// Critical value of PSI at level `alpha` under no drift:
/// `chi2_quantile(1 − alpha, bins − 1)·(1/n_reference + 1/n_current)`, since
/// `PSI / (1/n_reference + 1/n_current)` is asymptotically chi-squared with `bins − 1` degrees of
/// freedom (Yurdakul 2018). Fewer than two bins or an empty sample give infinity (never drift).
pub fn psi_critical(bins: usize, n_reference: usize, n_current: usize, alpha: f64) -> f64 {
    if bins < 2 || n_reference == 0 || n_current == 0 {
        return f64::INFINITY;
    }
    let scale = 1.0 / n_reference as f64 + 1.0 / n_current as f64;
    chi2_quantile(1.0 - alpha, (bins - 1) as f64) * scale
}

/// The standard normal quantile `Φ⁻¹(p)`.
///
/// Starts from the Abramowitz–Stegun 26.2.23 rational approximation (error below 4.5e-4) and
/// refines it with Halley steps on [`normal_sf`]; for `p > 0.5` it works on the exact complement
/// `1 − p`. Relative accuracy is about 1e-15. `p = 0` gives −∞, `p = 1` gives +∞, outside
/// `[0, 1]` NaN.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p > 0.5 {
        return -lower_normal_quantile(1.0 - p);
    }
    lower_normal_quantile(p)
}

/// `Φ⁻¹(p)` for `0 <= p < 0.5`.
fn lower_normal_quantile(p: f64) -> f64 {
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    let t = (-2.0 * p.ln()).sqrt();
    let num = 2.515517 + t * (0.802853 + t * 0.010328);
    let den = 1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308));
    let mut x = -(t - num / den);
    for _ in 0..8 {
        let density = (-0.5 * x * x).exp() / (2.0 * PI).sqrt();
        if density == 0.0 {
            break;
        }
        // Φ(x) − p, with Φ(x) = sf(−x) accurate in the lower tail.
        let u = (normal_sf(-x) - p) / density;
        let step = u / (1.0 + 0.5 * x * u);
        x -= step;
        if step.abs() <= 1e-16 * x.abs() {
            break;
        }
    }
    x
}

/// The standard normal survival function `1 − Φ(x) = erfc(x/√2)/2`, computed through the
/// regularised incomplete gamma function (`erfc(y) = Q(1/2, y²)` for `y >= 0`), so it keeps full
/// relative accuracy deep into the upper tail.
pub fn normal_sf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let (p, q) = regularized_gamma(0.5, 0.5 * x * x);
    if x >= 0.0 { 0.5 * q } else { 0.5 + 0.5 * p }
}

/// The Wasserstein-1 distance between the empirical distributions of two ascending samples,
/// `∫ |F_a(x) − F_b(x)| dx` (scipy's `wasserstein_distance(a, b)`), by one merge pass in
/// `O(n + m)`. Either sample empty gives NaN.
pub fn wasserstein(sorted_a: &[f64], sorted_b: &[f64]) -> f64 {
    debug_assert!(
        sorted_a.windows(2).all(|w| w[0] <= w[1]),
        "a must be sorted"
    );
    debug_assert!(
        sorted_b.windows(2).all(|w| w[0] <= w[1]),
        "b must be sorted"
    );
    if sorted_a.is_empty() || sorted_b.is_empty() {
        return f64::NAN;
    }
    let (na, nb) = (sorted_a.len() as f64, sorted_b.len() as f64);
    let mut steps = EcdfSteps::new(sorted_a, sorted_b);
    let mut total = 0.0;
    let Some((mut x, mut i, mut j)) = steps.next() else {
        return f64::NAN;
    };
    for (next, ni, nj) in steps {
        total += (i as f64 / na - j as f64 / nb).abs() * (next - x);
        (x, i, j) = (next, ni, nj);
    }
    total
}

/// The distinct values of two ascending samples in order, each with how many values of each
/// sample are `<=` it (both empirical CDFs, right-continuous, as counts).
struct EcdfSteps<'a> {
    a: &'a [f64],
    b: &'a [f64],
    i: usize,
    j: usize,
}

impl<'a> EcdfSteps<'a> {
    fn new(a: &'a [f64], b: &'a [f64]) -> Self {
        Self { a, b, i: 0, j: 0 }
    }
}

impl Iterator for EcdfSteps<'_> {
    type Item = (f64, usize, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let x = match (self.a.get(self.i), self.b.get(self.j)) {
            (Some(&u), Some(&v)) => u.min(v),
            (Some(&u), None) => u,
            (None, Some(&v)) => v,
            (None, None) => return None,
        };
        while self.a.get(self.i).is_some_and(|&u| u <= x) {
            self.i += 1;
        }
        while self.b.get(self.j).is_some_and(|&v| v <= x) {
            self.j += 1;
        }
        Some((x, self.i, self.j))
    }
}

/// Two-sample Kolmogorov–Smirnov test on ascending samples: `(D, p)`.
///
/// `D = sup_x |F_a(x) − F_b(x)|` over the pooled values, with right-continuous empirical CDFs (so
/// ties count fully on both sides at once). `p` is what `scipy.stats.ks_2samp(a, b,
/// method="asymp")` returns for the two-sided test: the survival function of the one-sample
/// Kolmogorov statistic `D_n` ([`kolmogorov_sf`]) at `D` with `n = round(m·k/(m + k))`, the
/// effective sample size (rounded half to even, at least 1). Either sample empty gives NaN.
pub fn ks(sorted_a: &[f64], sorted_b: &[f64]) -> (f64, f64) {
    debug_assert!(
        sorted_a.windows(2).all(|w| w[0] <= w[1]),
        "a must be sorted"
    );
    debug_assert!(
        sorted_b.windows(2).all(|w| w[0] <= w[1]),
        "b must be sorted"
    );
    if sorted_a.is_empty() || sorted_b.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let (na, nb) = (sorted_a.len() as f64, sorted_b.len() as f64);
    let d = EcdfSteps::new(sorted_a, sorted_b)
        .map(|(_, i, j)| (i as f64 / na - j as f64 / nb).abs())
        .fold(0.0, f64::max);
    let en = (na * nb / (na + nb)).round_ties_even().max(1.0);
    (d, kolmogorov_sf(en as u64, d))
}

/// `P(D_n >= d)` for the two-sided one-sample Kolmogorov statistic `D_n = sup |F_n − F|` with `n`
/// observations from a continuous `F` (scipy's `kstwo.sf(d, n)`).
///
/// Follows the method selection of Simard & L'Ecuyer (2011), as scipy does: the closed forms of
/// Ruben & Gambino near `d = 1/n` and `d = 1 − 1/n`, twice the exact one-sided tail
/// (Birnbaum–Tingey) where it is exact (`d >= 1/2`) or accurate (large `n·d²`), the Durbin matrix
/// (exact) for small `n·d²`, and the Pelz–Good asymptotic series otherwise. `n = 0` or NaN `d`
/// give NaN.
pub fn kolmogorov_sf(n: u64, d: f64) -> f64 {
    if n == 0 || d.is_nan() {
        return f64::NAN;
    }
    if d >= 1.0 {
        return 0.0;
    }
    if d <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * d;
    let sf = if t <= 1.0 {
        if t <= 0.5 {
            1.0
        } else {
            1.0 - (ln_factorial_over_power(n) + nf * (2.0 * t - 1.0).ln()).exp()
        }
    } else if t >= nf - 1.0 {
        2.0 * (1.0 - d).powf(nf)
    } else if d >= 0.5 {
        2.0 * smirnov_sf(n, d)
    } else {
        let nd2 = t * d;
        if n <= 140 {
            if nd2 <= 4.0 {
                1.0 - durbin_cdf(n, d)
            } else {
                2.0 * smirnov_sf(n, d)
            }
        } else if nd2 >= 370.0 {
            0.0
        } else if nd2 >= 2.2 {
            2.0 * smirnov_sf(n, d)
        } else if n <= 100_000 && nf * d.powf(1.5) <= 1.4 {
            1.0 - durbin_cdf(n, d)
        } else {
            pelz_good_sf(n, d)
        }
    };
    sf.clamp(0.0, 1.0)
}

/// `ln(n! / nⁿ)`: a direct sum for small `n`, Stirling's series (with `n·ln n` cancelled
/// analytically) otherwise.
fn ln_factorial_over_power(n: u64) -> f64 {
    let nf = n as f64;
    if n <= 200 {
        return (1..=n).map(|i| (i as f64 / nf).ln()).sum();
    }
    let r = 1.0 / nf;
    let r2 = r * r;
    let series = r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 / 1680.0)));
    0.5 * (2.0 * PI * nf).ln() - nf + series
}

/// Exact one-sided tail `P(D_n⁺ >= d)` by the Birnbaum–Tingey sum
/// `d·Σ_{j=0}^{⌊n(1−d)⌋} C(n, j)·(d + j/n)^{j−1}·(1 − d − j/n)^{n−j}`, in logs term by term.
fn smirnov_sf(n: u64, d: f64) -> f64 {
    let nf = n as f64;
    let last = (nf * (1.0 - d)).floor().max(0.0) as u64;
    let ln_d = d.ln();
    let mut ln_binom = 0.0;
    let mut total = 0.0;
    for j in 0..=last.min(n) {
        if j > 0 {
            ln_binom += ((n - j + 1) as f64 / j as f64).ln();
        }
        let jf = j as f64;
        let right = (n - j) as f64 / nf - d;
        let right_term = if n == j {
            0.0
        } else if right <= 0.0 {
            continue;
        } else {
            (n - j) as f64 * right.ln()
        };
        let left_term = if j == 0 {
            -ln_d
        } else {
            (jf - 1.0) * (d + jf / nf).ln()
        };
        total += (ln_binom + ln_d + left_term + right_term).exp();
    }
    total
}

/// `P(D_n < d)` by Durbin's matrix method (Marsaglia, Tsang & Wang 2003): with `n·d = k − h`,
/// `0 <= h < 1`, it is `n!/nⁿ · (Hⁿ)_{k,k}` for an `m × m` matrix `H`, `m = 2k − 1`. Powers are
/// rescaled by powers of two to stay in range.
fn durbin_cdf(n: u64, d: f64) -> f64 {
    let nd = n as f64 * d;
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    // inv_fact[i] = 1 / i!
    let mut inv_fact = vec![1.0; m + 1];
    for i in 1..=m {
        inv_fact[i] = inv_fact[i - 1] / i as f64;
    }
    let mut base = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..=(i + 1).min(m - 1) {
            base[i * m + j] = inv_fact[i + 1 - j];
        }
    }
    for i in 0..m {
        base[i * m] = (1.0 - h.powi(i as i32 + 1)) * inv_fact[i + 1];
        base[(m - 1) * m + (m - 1 - i)] = (1.0 - h.powi(i as i32 + 1)) * inv_fact[i + 1];
    }
    let corner = 1.0 - 2.0 * h.powi(m as i32) + (2.0 * h - 1.0).max(0.0).powi(m as i32);
    base[(m - 1) * m] = corner * inv_fact[m];

    let mut result = vec![0.0; m * m];
    for i in 0..m {
        result[i * m + i] = 1.0;
    }
    let (mut base_exp, mut result_exp) = (0i64, 0i64);
    let mut scratch = vec![0.0; m * m];
    let mut power = n;
    while power > 0 {
        if power & 1 == 1 {
            mat_mul(&result, &base, &mut scratch, m);
            std::mem::swap(&mut result, &mut scratch);
            result_exp += base_exp + rescale(&mut result);
        }
        power >>= 1;
        if power > 0 {
            mat_mul(&base, &base, &mut scratch, m);
            std::mem::swap(&mut base, &mut scratch);
            base_exp = 2 * base_exp + rescale(&mut base);
        }
    }
    let entry = result[(k - 1) * m + (k - 1)];
    if entry <= 0.0 {
        return 0.0;
    }
    (entry.ln() + result_exp as f64 * LN_2 + ln_factorial_over_power(n)).exp()
}

/// `out = a · b` for row-major `m × m` matrices.
fn mat_mul(a: &[f64], b: &[f64], out: &mut [f64], m: usize) {
    out.fill(0.0);
    for i in 0..m {
        for l in 0..m {
            let x = a[i * m + l];
            if x != 0.0 {
                for j in 0..m {
                    out[i * m + j] += x * b[l * m + j];
                }
            }
        }
    }
}

/// Divides `mat` by `2^e` when its largest entry is huge, returning `e` (0 when unchanged).
fn rescale(mat: &mut [f64]) -> i64 {
    const SHIFT: i32 = 512;
    let largest = mat.iter().fold(0.0f64, |acc, x| acc.max(x.abs()));
    if largest > 2f64.powi(SHIFT) {
        let factor = 2f64.powi(-SHIFT);
        mat.iter_mut().for_each(|x| *x *= factor);
        i64::from(SHIFT)
    } else {
        0
    }
}

/// `P(D_n >= d)` by the Pelz–Good (1976) expansion `1 − K₀(z) − K₁(z)/√n − K₂(z)/n −
/// K₃(z)/n^{3/2}`, `z = d·√n`, each `Kᵢ` in its theta-function form for small `z`.
fn pelz_good_sf(n: u64, d: f64) -> f64 {
    let nf = n as f64;
    let z = d * nf.sqrt();
    let (z2, z3, z4, z6) = (z * z, z * z * z, z.powi(4), z.powi(6));
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let ln_q = -pi2 / (8.0 * z2);
    if ln_q < -708.0 {
        return 1.0;
    }
    // Sums over odd m of c(m²)·exp(ln_q·m²).
    let mut k = [0.0f64; 4];
    let mut m = 1.0f64;
    loop {
        let m2 = m * m;
        let weight = (ln_q * m2).exp();
        let terms = [
            1.0,
            -z2 + pi2 * m2 / 4.0,
            6.0 * z6
                + 2.0 * z4
                + (2.0 * z4 - 5.0 * z2) * pi2 * m2 / 4.0
                + pi4 * (1.0 - 2.0 * z2) * m2 * m2 / 16.0,
            -30.0 * z6 - 90.0 * z6 * z2
                + pi2 * (135.0 * z4 - 96.0 * z6) * m2 / 4.0
                + pi4 * (-60.0 * z2 + 212.0 * z4) * m2 * m2 / 16.0
                + pi6 * (5.0 - 30.0 * z2) * m2 * m2 * m2 / 64.0,
        ];
        for (acc, t) in k.iter_mut().zip(terms) {
            *acc += weight * t;
        }
        if weight < 1e-20 * k[0] || weight == 0.0 {
            break;
        }
        m += 2.0;
    }
    let root = (2.0 * PI).sqrt();
    let scale = [z, 6.0 * z4, 72.0 * z6 * z, 6480.0 * z6 * z4];
    for (acc, s) in k.iter_mut().zip(scale) {
        *acc *= root / s;
    }
    // Sums over all integers j of j²·exp(−π² j² / (2 z²)) for K₂ and K₃.
    let (mut s2, mut s3) = (0.0, 0.0);
    let mut j = 1.0f64;
    loop {
        let j2 = j * j;
        let weight = (-pi2 * j2 / (2.0 * z2)).exp();
        s2 += j2 * weight;
        s3 += (3.0 * z2 - pi2 * j2) * j2 * weight;
        if weight < 1e-20 || weight == 0.0 {
            break;
        }
        j += 1.0;
    }
    k[2] += s2 * pi2 * root / (-36.0 * z3);
    k[3] += s3 * pi2 * root / (216.0 * z6);
    (1.0 - k[0]) - k[1] / nf.sqrt() - k[2] / nf - k[3] / (nf * nf.sqrt())
}

/// Jensen–Shannon distance with base-2 logarithms, `sqrt(JSD(p, q))`, where
/// `JSD = ½·KL(p‖m) + ½·KL(q‖m)`, `m = (p + q)/2`, after scaling `p` and `q` to sum 1 (scipy's
/// `jensenshannon(p, q, base=2)`). 0 for identical distributions, at most 1. Weights must be
/// non-negative; a shorter slice is padded with zeros. Either side without mass gives NaN.
pub fn js_distance(p: &[f64], q: &[f64]) -> f64 {
    debug_assert!(
        p.iter().chain(q).all(|&x| x >= 0.0),
        "weights must be non-negative"
    );
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    if !(sp > 0.0 && sq > 0.0 && sp.is_finite() && sq.is_finite()) {
        return f64::NAN;
    }
    let len = p.len().max(q.len());
    let (mut left, mut right) = (0.0, 0.0);
    for i in 0..len {
        let a = p.get(i).copied().unwrap_or(0.0) / sp;
        let b = q.get(i).copied().unwrap_or(0.0) / sq;
        let mid = (a + b) / 2.0;
        left += relative_entropy_term(a, mid);
        right += relative_entropy_term(b, mid);
    }
    ((left + right) / LN_2 / 2.0).max(0.0).sqrt()
}

/// `x·ln(x/y)`, taken as 0 when `x = 0`.
fn relative_entropy_term(x: f64, y: f64) -> f64 {
    if x > 0.0 { x * (x / y).ln() } else { 0.0 }
}

/// Expected calibration error of the top-label confidence over three classes.
///
/// The predicted class is the most probable one (the lowest index on a tie) and its probability
/// the confidence. Bin `i` of `bins` equal-width bins holds confidences in `(i/bins, (i+1)/bins]`
/// (0 goes to bin 0). `ECE = Σ_b (|b|/n)·|acc_b − conf_b|` with `acc_b` the share of correct
/// predictions and `conf_b` the mean confidence in bin `b`. Empty input gives 0; `bins = 0` is
/// taken as 1; rows beyond the shorter of the two slices are ignored.
pub fn ece(probabilities: &[[f64; 3]], labels: &[u8], bins: usize) -> f64 {
    debug_assert_eq!(probabilities.len(), labels.len());
    let n = probabilities.len().min(labels.len());
    if n == 0 {
        return 0.0;
    }
    let bins = bins.max(1);
    // Per bin: (count, correct, confidence sum).
    let mut acc = vec![(0u64, 0u64, 0.0f64); bins];
    for (row, &label) in probabilities.iter().zip(labels) {
        ece_add(&mut acc, row, label);
    }
    ece_from_bins(&acc, n as u64)
}

/// Adds one row to per-bin ECE accumulators `(count, correct, confidence sum)` (one per bin,
/// `bins = acc.len()`), exactly as [`ece`] bins it; [`ece_from_bins`] turns them into the ECE.
/// Lets a caller keep the ECE of a stream incrementally with the same result as [`ece`].
pub fn ece_add(acc: &mut [(u64, u64, f64)], row: &[f64; 3], label: u8) {
    let bins = acc.len();
    if bins == 0 {
        return;
    }
    let mut predicted = 0;
    for class in 1..3 {
        if row[class] > row[predicted] {
            predicted = class;
        }
    }
    let confidence = row[predicted];
    // Number of edges i/bins (i = 0..=bins) below the confidence, less one.
    let below = partition_point_range(bins + 1, |i| (i as f64 / bins as f64) < confidence);
    let bin = below.saturating_sub(1).min(bins - 1);
    let slot = &mut acc[bin];
    slot.0 += 1;
    slot.1 += u64::from(usize::from(label) == predicted);
    slot.2 += confidence;
}

/// The ECE of per-bin accumulators filled by [`ece_add`] over `n` rows (0 when `n = 0`).
pub fn ece_from_bins(acc: &[(u64, u64, f64)], n: u64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    acc.iter()
        .filter(|slot| slot.0 > 0)
        .map(|&(count, correct, conf_sum)| {
            let c = count as f64;
            c / n as f64 * (correct as f64 / c - conf_sum / c).abs()
        })
        .sum()
}

/// The first `i` in `0..len` for which `pred(i)` is false, given `pred` is true then false.
fn partition_point_range(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Wilson score interval for a proportion `k/n` at normal quantile `z`:
/// `(p̂ + z²/2n ± z·sqrt(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)`, with the lower end exactly 0 when
/// `k = 0` and the upper exactly 1 when `k = n`. `n = 0` gives `(0, 1)`; `k > n` is taken as `n`.
pub fn wilson(successes: u64, n: u64, z: f64) -> (f64, f64) {
    debug_assert!(successes <= n, "more successes than trials");
    if n == 0 {
        return (0.0, 1.0);
    }
    let k = successes.min(n);
    let nf = n as f64;
    let p = k as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    let low = if k == 0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let high = if k == n {
        1.0
    } else {
        (center + half).min(1.0)
    };
    (low, high)
}

/// Newey–West (HAC) variance of the sample mean: `S / n` with long-run variance
/// `S = γ₀ + 2·Σ_{k=1..L} (1 − k/(L+1))·γ_k`, autocovariances
/// `γ_k = (1/n)·Σ_{t>k} (x_t − x̄)(x_{t−k} − x̄)` and `L = min(lag, n − 1)` (statsmodels' HAC
/// standard error of a constant-only OLS, without small-sample correction, squared). Empty input
/// gives NaN, a single value 0.
pub fn newey_west_variance(xs: &[f64], lag: usize) -> f64 {
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    let nf = n as f64;
    let mean = xs.iter().sum::<f64>() / nf;
    let lag = lag.min(n - 1);
    let autocov = |k: usize| -> f64 {
        xs[k..]
            .iter()
            .zip(xs)
            .map(|(a, b)| (a - mean) * (b - mean))
            .sum::<f64>()
            / nf
    };
    let mut s = autocov(0);
    for k in 1..=lag {
        s += 2.0 * (1.0 - k as f64 / (lag as f64 + 1.0)) * autocov(k);
    }
    s / nf
}

/// [`newey_west_variance`] of a stream kept as running sums, so that it costs `O(lag)` however
/// long the stream: `Σ x`, `Σ x_t x_{t−k}` for `k = 0..=MAX_LAG`, and the first and the last
/// `MAX_LAG` values. `γ_k·n = Σ_{t≥k} x_t x_{t−k} − x̄(Σ_{t≥k} x_t + Σ_{t<n−k} x_t) + (n − k)x̄²`.
/// Two streams can be joined end to end ([`RunningNeweyWest::append`]) exactly.
#[derive(Clone, Debug)]
pub struct RunningNeweyWest {
    n: u64,
    sum: f64,
    cross: [f64; RunningNeweyWest::MAX_LAG + 1],
    first: Vec<f64>,
    last: std::collections::VecDeque<f64>,
}

impl Default for RunningNeweyWest {
    fn default() -> Self {
        Self {
            n: 0,
            sum: 0.0,
            cross: [0.0; Self::MAX_LAG + 1],
            first: Vec::with_capacity(Self::MAX_LAG),
            last: std::collections::VecDeque::with_capacity(Self::MAX_LAG + 1),
        }
    }
}

impl RunningNeweyWest {
    /// The largest lag it can answer for.
    pub const MAX_LAG: usize = 32;

    pub fn push(&mut self, x: f64) {
        self.cross[0] += x * x;
        for (k, prev) in self.last.iter().rev().enumerate() {
            self.cross[k + 1] += x * prev;
        }
        self.sum += x;
        self.n += 1;
        if self.first.len() < Self::MAX_LAG {
            self.first.push(x);
        }
        self.last.push_back(x);
        if self.last.len() > Self::MAX_LAG {
            self.last.pop_front();
        }
    }

    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The stream `other` after this one, as if its values had been pushed here.
    pub fn append(&mut self, other: &RunningNeweyWest) {
        // Products across the join: other's j-th value with this stream's value k before it.
        let mine: Vec<f64> = self.last.iter().copied().collect();
        for k in 1..=Self::MAX_LAG {
            for (j, x) in other.first.iter().enumerate().take(k) {
                if let Some(i) = mine.len().checked_sub(k - j) {
                    self.cross[k] += x * mine[i];
                }
            }
        }
        for (c, o) in self.cross.iter_mut().zip(&other.cross) {
            *c += o;
        }
        self.sum += other.sum;
        self.n += other.n;
        for x in &other.first {
            if self.first.len() < Self::MAX_LAG {
                self.first.push(*x);
            }
        }
        // Other's last values; a stream shorter than MAX_LAG holds them all in `first` too.
        let theirs: Vec<f64> = if other.n as usize >= Self::MAX_LAG {
            other.last.iter().copied().collect()
        } else {
            other.first.clone()
        };
        self.last.extend(theirs);
        while self.last.len() > Self::MAX_LAG {
            self.last.pop_front();
        }
    }

    /// The long-run variance `S = γ₀ + 2·Σ_{k=1..L} (1 − k/(L+1))·γ_k` with
    /// `L = min(lag, MAX_LAG, n − 1)`: [`newey_west_variance`] is `S / n`. Empty: NaN.
    pub fn long_run_variance(&self, lag: usize) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        let n = self.n as f64;
        let mean = self.sum / n;
        let lag = lag.min(Self::MAX_LAG).min(self.n as usize - 1);
        let head = |k: usize| -> f64 { self.first.iter().take(k).sum() };
        let tail = |k: usize| -> f64 { self.last.iter().rev().take(k).sum() };
        let gamma = |k: usize| -> f64 {
            let pairs = (self.n as usize - k) as f64;
            (self.cross[k] - mean * ((self.sum - head(k)) + (self.sum - tail(k)))
                + pairs * mean * mean)
                / n
        };
        let mut s = gamma(0);
        for k in 1..=lag {
            s += 2.0 * (1.0 - k as f64 / (lag as f64 + 1.0)) * gamma(k);
        }
        s
    }
}

/// `(x̄, x̄ − z·σ, x̄ + z·σ)` with `σ² = newey_west_variance(xs, lag)`. Empty input gives NaNs.
pub fn mean_interval(xs: &[f64], lag: usize, z: f64) -> (f64, f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let half = z * newey_west_variance(xs, lag).max(0.0).sqrt();
    (mean, mean - half, mean + half)
}

/// `ln Γ(x)` for `x > 0`: Stirling's series at `x + s >= 15`, shifted back by the recurrence.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    let mut shift = 0.0;
    let mut y = x;
    let mut product = 1.0;
    while y < 15.0 {
        product *= y;
        y += 1.0;
    }
    if product != 1.0 {
        shift = product.ln();
    }
    let r = 1.0 / y;
    let r2 = r * r;
    let series = r
        * (1.0 / 12.0
            - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 * (1.0 / 1680.0 - r2 / 1188.0))));
    (y - 0.5) * y.ln() - y + 0.5 * (2.0 * PI).ln() + series - shift
}

/// Regularised incomplete gamma functions `(P(a, x), Q(a, x))`: the power series for
/// `x < a + 1`, otherwise the continued fraction for `Q` (modified Lentz).
fn regularized_gamma(a: f64, x: f64) -> (f64, f64) {
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    if x.is_infinite() {
        return (1.0, 0.0);
    }
    let ln_prefactor = a * x.ln() - x - ln_gamma(a);
    if x < a + 1.0 {
        let mut term = 1.0 / a;
        let mut sum = term;
        let mut denom = a;
        for _ in 0..10_000 {
            denom += 1.0;
            term *= x / denom;
            sum += term;
            if term.abs() < sum.abs() * 1e-17 {
                break;
            }
        }
        let p = (sum * ln_prefactor.exp()).min(1.0);
        (p, 1.0 - p)
    } else {
        const TINY: f64 = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut frac = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < TINY {
                d = TINY;
            }
            c = b + an / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            let delta = d * c;
            frac *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        let q = (frac * ln_prefactor.exp()).min(1.0);
        (1.0 - q, q)
    }
}

/// The `y` with `P(a, y) = p`, `0 < p < 1`: a tail or Wilson–Hilferty start, then Newton steps
/// kept inside a shrinking bracket (bisection when a step leaves it). For `p > 1/2` the equation
/// is solved as `Q(a, y) = 1 − p`, which is exact in floating point there.
fn gamma_p_inverse(a: f64, p: f64) -> f64 {
    let upper = p > 0.5;
    let q = 1.0 - p;
    // Increasing in y; zero at the answer.
    let f = |y: f64| -> f64 {
        let (lower_p, upper_q) = regularized_gamma(a, y);
        if upper { q - upper_q } else { lower_p - p }
    };
    let ln_gamma_a = ln_gamma(a);
    let density = |y: f64| ((a - 1.0) * y.ln() - y - ln_gamma_a).exp();

    let dof = 2.0 * a;
    let z = normal_quantile(p);
    let c = 2.0 / (9.0 * dof);
    let wh = dof * (1.0 - c + z * c.sqrt()).powi(3) / 2.0;
    let small = ((p * a).ln() + ln_gamma_a).exp().powf(1.0 / a);
    let mut y = if wh > 0.0 && !(p < 0.05 && small < wh) {
        wh
    } else {
        small
    };
    if !(y.is_finite() && y > 0.0) {
        y = a.max(1.0);
    }
    let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
    for _ in 0..300 {
        let fy = f(y);
        if fy == 0.0 {
            return y;
        }
        if fy > 0.0 {
            hi = hi.min(y);
        } else {
            lo = lo.max(y);
        }
        let mut next = y - fy / density(y);
        if !(next > lo && next < hi && next.is_finite()) {
            next = if hi.is_finite() {
                0.5 * (lo + hi)
            } else {
                2.0 * y.max(1.0)
            };
        }
        if (next - y).abs() <= 1e-15 * next.abs() || next == lo || next == hi {
            return next;
        }
        y = next;
    }
    y
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;

/// [`wasserstein`] and the KS statistic of [`ks`] of two ascending samples in one merge (the
/// monitor's evaluation runs both on every feature): between consecutive pooled values the two
/// empirical CDFs are constant, their gap times the span adds to the distance, and the largest gap
/// is the statistic. Either sample empty gives NaN for both.
pub fn wasserstein_and_ks(sorted_a: &[f64], sorted_b: &[f64]) -> (f64, f64) {
    let (na, nb) = (sorted_a.len(), sorted_b.len());
    if na == 0 || nb == 0 {
        return (f64::NAN, f64::NAN);
    }
    let (wa, wb) = (1.0 / na as f64, 1.0 / nb as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let (mut distance, mut statistic) = (0.0f64, 0.0f64);
    let mut previous = sorted_a[0].min(sorted_b[0]);
    while i < na || j < nb {
        let x = if j >= nb || (i < na && sorted_a[i] <= sorted_b[j]) {
            sorted_a[i]
        } else {
            sorted_b[j]
        };
        distance += (i as f64 * wa - j as f64 * wb).abs() * (x - previous);
        while i < na && sorted_a[i] <= x {
            i += 1;
        }
        while j < nb && sorted_b[j] <= x {
            j += 1;
        }
        statistic = statistic.max((i as f64 * wa - j as f64 * wb).abs());
        previous = x;
    }
    (distance, statistic)
}

/// The two-sided p-value [`ks`] gives for the statistic `d` of samples of `na` and `nb` values.
pub fn ks_p(d: f64, na: usize, nb: usize) -> f64 {
    if na == 0 || nb == 0 {
        return f64::NAN;
    }
    let (na, nb) = (na as f64, nb as f64);
    let en = (na * nb / (na + nb)).round_ties_even().max(1.0);
    kolmogorov_sf(en as u64, d)
}
