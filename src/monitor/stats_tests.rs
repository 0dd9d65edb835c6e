//! Tests for `monitor::stats`: fixed reference values from numpy/scipy/statsmodels
//! (`tests/fixtures/monitor/stats.json`, made by `tests/reference/monitor_stats.py`), a rerun of
//! that script when `TRADEMON_PYREF` names a Python with those packages, and invariants.

use super::*;
use crate::monitor::fixture_support::{
    assert_close, list, num, nums, regenerates_from_python, uint,
};
use serde_json::Value;

const FIXTURE: &str = include_str!("../../tests/fixtures/monitor/stats.json");
const REL: f64 = 1e-9;
const Z95: f64 = 1.959963984540054;

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("fixture is valid JSON")
}

#[test]
fn quantile_edges_and_bins_match_numpy_exactly() {
    let doc = fixture();
    for case in list(&doc, "samples") {
        let name = case["name"].as_str().expect("name");
        let (a, b) = (nums(case, "a"), nums(case, "b"));
        let bins = uint(case, "bins") as usize;
        let edges = quantile_edges(&a, bins);
        assert_eq!(edges, nums(case, "edges"), "{name}: edges");
        for (probe, want) in nums(case, "probes").iter().zip(list(case, "probe_bins")) {
            let want = want.as_u64().expect("bin") as usize;
            assert_eq!(bin_of(&edges, *probe), want, "{name}: bin of {probe}");
        }
        for (sample, key) in [(&a, "ref_counts"), (&b, "cur_counts")] {
            let mut counts = vec![0u64; bins];
            for &v in sample.iter() {
                counts[bin_of(&edges, v)] += 1;
            }
            let want: Vec<u64> = list(case, key)
                .iter()
                .map(|c| c.as_u64().expect("count"))
                .collect();
            assert_eq!(counts, want, "{name}: {key}");
        }
    }
}

#[test]
fn psi_wasserstein_ks_match_scipy() {
    let doc = fixture();
    assert_eq!(num(&doc, "psi_floor"), PSI_FLOOR);
    for case in list(&doc, "samples") {
        let name = case["name"].as_str().expect("name");
        let (a, b) = (nums(case, "a"), nums(case, "b"));
        let bins = uint(case, "bins") as usize;
        let ref_counts: Vec<u64> = list(case, "ref_counts")
            .iter()
            .map(|c| c.as_u64().expect("count"))
            .collect();
        let cur_counts: Vec<u64> = list(case, "cur_counts")
            .iter()
            .map(|c| c.as_u64().expect("count"))
            .collect();
        let value = psi(&shares(&ref_counts), &cur_counts);
        assert_close(value, num(case, "psi"), REL, &format!("{name}: psi"));
        let critical = psi_critical(bins, a.len(), b.len(), 0.05);
        assert_close(
            critical,
            num(case, "psi_critical"),
            REL,
            &format!("{name}: psi_critical"),
        );
        let w = wasserstein(&a, &b);
        assert_close(
            w,
            num(case, "wasserstein"),
            REL,
            &format!("{name}: wasserstein"),
        );
        let (d, p) = ks(&a, &b);
        assert_eq!(d, num(case, "ks_statistic"), "{name}: ks statistic");
        assert_close(
            p,
            num(case, "ks_pvalue"),
            REL,
            &format!("{name}: ks p-value"),
        );
    }
}

#[test]
fn kolmogorov_sf_matches_scipy_kstwo() {
    let doc = fixture();
    for case in list(&doc, "kstwo_sf") {
        let (n, d) = (uint(case, "n"), num(case, "d"));
        assert_close(
            kolmogorov_sf(n, d),
            num(case, "sf"),
            REL,
            &format!("kstwo.sf({d}, {n})"),
        );
    }
}

#[test]
fn chi2_and_psi_critical_match_scipy() {
    let doc = fixture();
    for case in list(&doc, "chi2_quantile") {
        let (p, dof) = (num(case, "p"), num(case, "dof"));
        assert_close(
            chi2_quantile(p, dof),
            num(case, "x"),
            REL,
            &format!("chi2.ppf({p}, {dof})"),
        );
    }
    for case in list(&doc, "psi_critical") {
        let got = psi_critical(
            uint(case, "bins") as usize,
            uint(case, "n_reference") as usize,
            uint(case, "n_current") as usize,
            num(case, "alpha"),
        );
        assert_close(got, num(case, "value"), REL, "psi_critical");
    }
}

#[test]
fn normal_quantile_and_sf_match_scipy() {
    let doc = fixture();
    for case in list(&doc, "normal_quantile") {
        let p = num(case, "p");
        assert_close(
            normal_quantile(p),
            num(case, "x"),
            1e-12,
            &format!("norm.ppf({p})"),
        );
    }
    for case in list(&doc, "normal_sf") {
        let x = num(case, "x");
        assert_close(normal_sf(x), num(case, "sf"), REL, &format!("norm.sf({x})"));
    }
}

#[test]
fn js_distance_matches_scipy() {
    let doc = fixture();
    for case in list(&doc, "js_distance") {
        let (p, q) = (nums(case, "p"), nums(case, "q"));
        assert_close(
            js_distance(&p, &q),
            num(case, "distance"),
            REL,
            &format!("js({p:?}, {q:?})"),
        );
    }
}

#[test]
fn ece_matches_numpy_definition() {
    let doc = fixture();
    for case in list(&doc, "ece") {
        let probs: Vec<[f64; 3]> = list(case, "probabilities")
            .iter()
            .map(|row| {
                let r: Vec<f64> = row
                    .as_array()
                    .expect("row")
                    .iter()
                    .map(|x| x.as_f64().expect("p"))
                    .collect();
                [r[0], r[1], r[2]]
            })
            .collect();
        let labels: Vec<u8> = list(case, "labels")
            .iter()
            .map(|l| l.as_u64().expect("label") as u8)
            .collect();
        let bins = uint(case, "bins") as usize;
        assert_close(
            ece(&probs, &labels, bins),
            num(case, "ece"),
            REL,
            &format!("ece bins={bins}"),
        );
    }
    assert_eq!(ece(&[], &[], 10), 0.0);
}

#[test]
fn wilson_matches_statsmodels() {
    let doc = fixture();
    for case in list(&doc, "wilson") {
        let (k, n) = (uint(case, "k"), uint(case, "n"));
        let (lo, hi) = wilson(k, n, num(case, "z"));
        assert_close(lo, num(case, "low"), REL, &format!("wilson({k}, {n}) low"));
        assert_close(
            hi,
            num(case, "high"),
            REL,
            &format!("wilson({k}, {n}) high"),
        );
    }
    assert_eq!(wilson(0, 0, Z95), (0.0, 1.0));
}

#[test]
fn newey_west_matches_statsmodels_hac() {
    let doc = fixture();
    for case in list(&doc, "newey_west") {
        let (x, lag) = (nums(case, "x"), uint(case, "lag") as usize);
        let what = format!("n={} lag={lag}", x.len());
        assert_close(
            newey_west_variance(&x, lag),
            num(case, "variance"),
            REL,
            &what,
        );
        let (mean, lo, hi) = mean_interval(&x, lag, Z95);
        assert_close(mean, num(case, "mean"), REL, &what);
        assert_close(lo, num(case, "low"), REL, &what);
        assert_close(hi, num(case, "high"), REL, &what);
    }
    // The lag is clamped to n − 1.
    let x = [1.0, 3.0, 2.0, 5.0];
    assert_eq!(newey_west_variance(&x, 50), newey_west_variance(&x, 3));
    assert_eq!(newey_west_variance(&[4.0], 3), 0.0);
    assert!(newey_west_variance(&[], 3).is_nan());
}

#[test]
fn fixture_regenerates_from_reference_python() {
    regenerates_from_python("monitor_stats.py", &fixture());
}

/// Deterministic pseudo-random values in [0, 1) (64-bit LCG, top 53 bits).
fn uniforms(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

#[test]
fn psi_of_identical_distribution_is_zero() {
    let counts = [120u64, 0, 37, 400, 3];
    assert_eq!(psi(&shares(&counts), &counts), 0.0);
    // Scaled counts have the same shares up to rounding.
    let doubled: Vec<u64> = counts.iter().map(|c| c * 2).collect();
    assert!(psi(&shares(&counts), &doubled).abs() < 1e-15);
    // A real shift is positive.
    assert!(psi(&shares(&counts), &[10, 50, 37, 400, 3]) > 0.01);
}

#[test]
fn js_distance_is_symmetric_and_bounded() {
    let p = uniforms(1, 12);
    let q = uniforms(2, 12);
    assert_eq!(js_distance(&p, &q), js_distance(&q, &p));
    assert!(js_distance(&p, &q) > 0.0);
    assert_eq!(js_distance(&p, &p), 0.0);
    assert!((js_distance(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-15);
    assert!(js_distance(&[0.0, 0.0], &[1.0]).is_nan());
}

#[test]
fn wasserstein_of_shifted_sample_is_the_shift() {
    let mut a = uniforms(3, 500);
    a.sort_by(f64::total_cmp);
    let b: Vec<f64> = a.iter().map(|x| x + 0.25).collect();
    assert!((wasserstein(&a, &b) - 0.25).abs() < 1e-12);
    assert!((wasserstein(&b, &a) - 0.25).abs() < 1e-12);
    assert_eq!(wasserstein(&a, &a), 0.0);
    assert!(wasserstein(&a, &[]).is_nan());
}

#[test]
fn ks_of_identical_samples_is_zero_with_p_one() {
    let mut a = uniforms(4, 300);
    a.sort_by(f64::total_cmp);
    assert_eq!(ks(&a, &a), (0.0, 1.0));
    let b: Vec<f64> = a.iter().map(|x| x + 2.0).collect();
    let (d, p) = ks(&a, &b);
    assert_eq!(d, 1.0);
    assert_eq!(p, 0.0);
    let (d, p) = ks(&a, &[]);
    assert!(d.is_nan() && p.is_nan());
}

#[test]
fn quantile_helpers_handle_edges() {
    assert!(quantile_edges(&[], 10).is_empty());
    assert!(quantile_edges(&[1.0, 2.0], 1).is_empty());
    assert_eq!(quantile_edges(&[7.0], 4), vec![7.0; 3]);
    assert_eq!(bin_of(&[], 3.0), 0);
    assert_eq!(bin_of(&[1.0, 2.0], 2.0), 2);
    assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
    assert_eq!(normal_quantile(1.0), f64::INFINITY);
    assert!(normal_quantile(1.5).is_nan());
    assert_eq!(chi2_quantile(0.0, 3.0), 0.0);
    assert!(chi2_quantile(0.5, 0.0).is_nan());
    assert_eq!(psi_critical(1, 10, 10, 0.05), f64::INFINITY);
    assert_eq!(shares(&[0, 0]), vec![0.0, 0.0]);
}

/// One merge gives the same Wasserstein distance and KS statistic (and p-value) as the two.
#[test]
fn one_merge_agrees_with_wasserstein_and_ks() {
    let mut s = 5u64;
    let mut r = || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    for (shift, ties) in [
        (0.0, false),
        (0.3, false),
        (-2.0, false),
        (0.1, true),
        (5.0, true),
    ] {
        let mut b: Vec<f64> = (0..5_000).map(|_| r()).collect();
        let mut a: Vec<f64> = (0..400).map(|_| r() * 1.5 + shift).collect();
        if ties {
            a.iter_mut().for_each(|v| *v = (*v * 10.0).round() / 10.0);
            b.iter_mut().for_each(|v| *v = (*v * 10.0).round() / 10.0);
        }
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let (w, d) = wasserstein_and_ks(&a, &b);
        let want_w = wasserstein(&a, &b);
        assert!(
            (w - want_w).abs() <= 1e-12 * (1.0 + want_w),
            "{w} vs {want_w}"
        );
        let (want_d, want_p) = ks(&a, &b);
        assert_eq!(d, want_d, "shift {shift} ties {ties}");
        assert_eq!(ks_p(d, a.len(), b.len()), want_p);
    }
    assert!(wasserstein_and_ks(&[], &[1.0]).0.is_nan());
}
