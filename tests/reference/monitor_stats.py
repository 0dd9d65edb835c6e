"""Reference values for src/monitor/stats.rs, computed with numpy, scipy and statsmodels.

Usage: python monitor_stats.py [OUT_JSON]  (default: tests/fixtures/monitor/stats.json)
The output holds every input and the expected outputs; the Rust tests read it.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy import stats
from scipy.spatial.distance import jensenshannon
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.proportion import proportion_confint

PSI_FLOOR = 1e-4
Z95 = 1.959963984540054


def rounded(x):
    # Six decimals keep the fixture small; ties this creates are fine.
    return [float(v) for v in np.round(np.asarray(x, dtype=float), 6)]


def psi(ref_counts, cur_counts):
    r = np.maximum(np.asarray(ref_counts) / np.sum(ref_counts), PSI_FLOOR)
    c = np.maximum(np.asarray(cur_counts) / np.sum(cur_counts), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def sample_case(name, a, b, bins):
    a = np.sort(np.asarray(rounded(a)))
    b = np.sort(np.asarray(rounded(b)))
    edges = np.quantile(a, np.arange(1, bins) / bins)
    ref_counts = np.bincount(np.searchsorted(edges, a, side="right"), minlength=bins)
    cur_counts = np.bincount(np.searchsorted(edges, b, side="right"), minlength=bins)
    probes = np.concatenate([edges, np.nextafter(edges, -np.inf), [a[0] - 1.0, a[-1] + 1.0]])
    ks = stats.ks_2samp(a, b, method="asymp")
    return {
        "name": name,
        "a": [float(v) for v in a],
        "b": [float(v) for v in b],
        "bins": bins,
        "edges": [float(v) for v in edges],
        "probes": [float(v) for v in probes],
        "probe_bins": [int(v) for v in np.searchsorted(edges, probes, side="right")],
        "ref_counts": [int(v) for v in ref_counts],
        "cur_counts": [int(v) for v in cur_counts],
        "psi": psi(ref_counts, cur_counts),
        "psi_critical": float(stats.chi2.ppf(0.95, bins - 1) * (1 / len(a) + 1 / len(b))),
        "wasserstein": float(stats.wasserstein_distance(a, b)),
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
    }


def ece(probs, labels, bins):
    probs = np.asarray(probs)
    labels = np.asarray(labels)
    pred = np.argmax(probs, axis=1)  # first maximum on ties
    conf = probs[np.arange(len(probs)), pred]
    correct = (pred == labels).astype(float)
    edges = np.arange(bins + 1) / bins
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.sum() / len(conf) * abs(correct[mask].mean() - conf[mask].mean())
    return float(total)


def newey_west_direct(x, lag):
    x = np.asarray(x)
    n = len(x)
    d = x - x.mean()
    s = d @ d / n
    for k in range(1, lag + 1):
        s += 2 * (1 - k / (lag + 1)) * (d[k:] @ d[:-k]) / n
    return s / n


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "fixtures/monitor/stats.json"
    rng = np.random.default_rng(20261206)

    cases = [
        sample_case("normal_shift_500_2000", rng.normal(0, 1, 500), rng.normal(0.3, 1, 2000), 10),
        sample_case("normal_same_800_1200", rng.normal(5, 2, 800), rng.normal(5, 2, 1200), 10),
        sample_case("normal_scale_200_150", rng.normal(0, 1, 200), rng.normal(0, 1.5, 150), 8),
        sample_case("poisson_ties_300_400", rng.poisson(3.0, 300), rng.poisson(3.5, 400), 10),
        sample_case("uniform_400_600", rng.uniform(0, 1, 400), rng.uniform(0.05, 1.05, 600), 5),
        sample_case("small_7_12", rng.normal(0, 1, 7), rng.normal(1, 1, 12), 4),
        sample_case("far_apart_60_40", rng.normal(0, 1, 60), rng.normal(4, 1, 40), 6),
        sample_case("near_identical_2000_30", rng.normal(0, 1, 2000), rng.normal(0.02, 1, 30), 10),
    ]

    chi2 = []
    for dof in [0.5, 1, 2, 3, 4, 9, 19, 49, 100]:
        for p in [1e-6, 0.001, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999999]:
            chi2.append({"p": p, "dof": dof, "x": float(stats.chi2.ppf(p, dof))})

    psi_critical = []
    for bins, nr, nc in [(10, 1000, 500), (20, 5000, 200), (2, 30, 30), (5, 100000, 100000)]:
        psi_critical.append({"bins": bins, "n_reference": nr, "n_current": nc, "alpha": 0.05,
                             "value": float(stats.chi2.ppf(0.95, bins - 1) * (1 / nr + 1 / nc))})

    normal_q = [{"p": p, "x": float(stats.norm.ppf(p))} for p in
                [1e-300, 1e-20, 1e-12, 1e-6, 0.001, 0.025, 0.3, 0.5, 0.7, 0.975, 0.999, 1 - 1e-9]]
    normal_sf = [{"x": x, "sf": float(stats.norm.sf(x))} for x in
                 [-8.0, -3.0, -1.0, 0.0, 0.5, 1.0, 1.959963984540054, 3.0, 8.0, 20.0, 37.0]]

    kstwo = []
    for n in [1, 2, 5, 30, 140, 141, 400, 1200, 5000, 100000, 200000]:
        for d in [0.0005, 0.003, 0.01, 0.03, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.99]:
            kstwo.append({"n": n, "d": d, "sf": float(stats.kstwo.sf(d, n))})

    js = []
    pairs = [
        ([0.1, 0.2, 0.7], [0.3, 0.3, 0.4]),
        ([1, 0, 0], [0, 1, 0]),
        ([1, 0, 0], [0.5, 0.5, 0]),
        ([0, 3, 1, 0], [2, 2, 0, 0]),
        ([5, 5, 5, 5], [5, 5, 5, 5]),
        ([0.25, 0.25, 0.25, 0.25], [1, 1, 1, 1.0000001]),
    ]
    for _ in range(3):
        pairs.append((rng.uniform(0, 1, 10).tolist(), rng.uniform(0, 1, 10).tolist()))
    for p, q in pairs:
        js.append({"p": rounded(p), "q": rounded(q),
                   "distance": float(jensenshannon(rounded(p), rounded(q), base=2))})

    ece_cases = []
    raw = rng.dirichlet([2.0, 1.0, 1.0], 400)
    probs = np.round(raw, 6)
    probs[:, 2] = 1.0 - probs[:, 0] - probs[:, 1]
    labels = np.array([rng.choice(3, p=np.clip(r, 0, None) / np.clip(r, 0, None).sum()) for r in probs])
    tied = np.array([[0.5, 0.5, 0.0], [0.3, 0.4, 0.3], [0.4, 0.2, 0.4], [1.0, 0.0, 0.0],
                     [0.2, 0.2, 0.6], [1 / 3, 1 / 3, 1 / 3], [0.1, 0.7, 0.2], [0.0, 0.0, 1.0]])
    tied_labels = np.array([1, 1, 0, 0, 2, 2, 1, 0])
    for bins in [10, 15]:
        ece_cases.append({"probabilities": probs.tolist(), "labels": labels.tolist(), "bins": bins,
                          "ece": ece(probs, labels, bins)})
    for bins in [5, 10]:
        ece_cases.append({"probabilities": tied.tolist(), "labels": tied_labels.tolist(), "bins": bins,
                          "ece": ece(tied, tied_labels, bins)})

    wilson = []
    for k, n in [(0, 10), (10, 10), (3, 10), (50, 100), (1, 1000), (999, 1000), (0, 1), (1, 1),
                 (17, 23), (123456, 1000000)]:
        lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
        wilson.append({"k": k, "n": n, "z": Z95, "low": float(lo), "high": float(hi)})

    newey_west = []
    for n, phi in [(600, 0.6), (50, -0.3), (3, 0.9)]:
        e = rng.normal(0, 1, n)
        x = np.empty(n)
        x[0] = e[0]
        for t in range(1, n):
            x[t] = phi * x[t - 1] + e[t]
        x = np.asarray(rounded(x))
        for lag in [0, 1, 5, 12]:
            if lag >= n:
                continue
            fit = OLS(x, np.ones(n)).fit(cov_type="HAC", cov_kwds={"maxlags": lag, "use_correction": False})
            var = float(fit.bse[0] ** 2)
            direct = newey_west_direct(x, lag)
            assert math.isclose(var, direct, rel_tol=1e-10), (var, direct)
            mean = float(x.mean())
            newey_west.append({"x": [float(v) for v in x], "lag": lag, "variance": var,
                               "mean": mean, "low": mean - Z95 * math.sqrt(var),
                               "high": mean + Z95 * math.sqrt(var)})

    doc = {
        "generator": "tests/reference/monitor_stats.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                     "statsmodels": statsmodels.__version__},
        "psi_floor": PSI_FLOOR,
        "samples": cases,
        "chi2_quantile": chi2,
        "psi_critical": psi_critical,
        "normal_quantile": normal_q,
        "normal_sf": normal_sf,
        "kstwo_sf": kstwo,
        "js_distance": js,
        "ece": ece_cases,
        "wilson": wilson,
        "newey_west": newey_west,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=None, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
