"""Reference values for src/monitor/compare.rs, computed with numpy, scipy and statsmodels.

Usage: python monitor_compare.py [OUT_JSON]  (default: tests/fixtures/monitor/compare.json)
The output holds every input and the expected outputs; the Rust tests read it.

Independent of the Rust code: Newey-West variance from statsmodels' HAC OLS, Student's t tail
from scipy, McNemar from statsmodels, and the confidence sequence, ECE and Brier in plain numpy
from their formulas.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.contingency_tables import mcnemar

ALPHA = 0.05
CS_TARGET_BLOCKS = 1000.0
CS_MIN_BLOCKS = 10
ECE_BINS = 10


def dm_lag(n, horizon):
    rule = math.floor(4 * (n / 100) ** (2 / 9))
    return min(max(horizon - 1, rule), 32)


def block_len(horizon):
    return max(horizon, 5)


def nw_variance(d, lag):
    """S/n: statsmodels' HAC variance of the mean, no small-sample correction."""
    n = len(d)
    fit = OLS(np.asarray(d), np.ones(n)).fit(cov_type="HAC", cov_kwds={"maxlags": lag, "use_correction": False})
    return float(fit.bse[0] ** 2)


def diebold_mariano(d, horizon, lag):
    d = np.asarray(d, dtype=float)
    n = len(d)
    if n < 2:
        return 0.0, 1.0
    var = nw_variance(d, lag)
    if var <= 0:
        # All d equal: documented as stat 0 / p 1 when the mean is 0 (the only case used here).
        assert d.mean() == 0
        return 0.0, 1.0
    dm = d.mean() / math.sqrt(var)
    h = horizon
    stat = dm * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    p = min(1.0, 2 * stats.t.sf(abs(stat), n - 1))
    return float(stat), float(p)


def confidence_sequence(block_means):
    x = np.asarray(block_means, dtype=float)
    t = len(x)
    if t < CS_MIN_BLOCKS:
        return None
    mu = x.mean()
    c = x - mu
    g0 = np.dot(c, c) / t
    g1 = np.dot(c[1:], c[:-1]) / t
    sigma = math.sqrt(max(g0 + 2 * g1, g0, 0.0))
    rho2 = (-2 * math.log(ALPHA) + math.log(-2 * math.log(ALPHA) + 1)) / CS_TARGET_BLOCKS
    margin = sigma * math.sqrt(2 * (t * rho2 + 1) / (t * t * rho2) * math.log(math.sqrt(t * rho2 + 1) / ALPHA))
    return [float(mu - margin), float(mu + margin)]


def needed(d, lag):
    n = len(d)
    if n < 2:
        return None
    s = n * nw_variance(d, lag)
    if s <= 0:
        return None
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    return int(math.ceil(z * z * s / 0.01 ** 2))


def ar1(rng, n, phi, mu=0.0, sd=1.0):
    e = rng.normal(0, sd, n)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x + mu


def series_case(name, d, horizon):
    d = [float(v) for v in d]
    n = len(d)
    lag = dm_lag(n, horizon)
    stat, p = diebold_mariano(d, horizon, lag)
    block = block_len(horizon)
    k = n // block
    means = np.asarray(d[: k * block]).reshape(k, block).mean(axis=1) if k > 0 else np.zeros(0)
    return {
        "name": name, "d": d, "horizon": horizon, "lag": lag,
        "mean": float(np.mean(d)) if n else 0.0,
        "nw_variance": nw_variance(d, lag) if n >= 2 else None,
        "dm_stat": stat, "dm_p": p,
        "block": block, "blocks": k,
        "cs": confidence_sequence(means),
        "needed": needed(d, lag),
    }


def ece(probs, labels, bins):
    probs = np.asarray(probs)
    labels = np.asarray(labels)
    pred = np.argmax(probs, axis=1)
    conf = probs[np.arange(len(probs)), pred]
    correct = (pred == labels).astype(float)
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        mask = (conf > lo) & (conf <= hi) if b > 0 else (conf <= hi)
        if mask.any():
            total += mask.sum() / len(conf) * abs(correct[mask].mean() - conf[mask].mean())
    return float(total)


def random_probs(rng, n, concentration):
    p = np.round(rng.dirichlet(concentration, n), 6)
    p[:, 2] = np.round(1.0 - p[:, 0] - p[:, 1], 6)
    return p


def paired_case(name, rng, n, horizon, skill_a, skill_b, copy=False):
    labels = rng.integers(0, 3, n)
    def model(skill):
        p = random_probs(rng, n, [1.0, 1.0, 1.0])
        onehot = np.eye(3)[labels]
        q = np.round((1 - skill) * p + skill * onehot, 6)
        q[:, 2] = np.round(1.0 - q[:, 0] - q[:, 1], 6)
        return q
    pa = model(skill_a)
    pb = pa.copy() if copy else model(skill_b)
    # A few exact ties in the top probability.
    pa[:3] = [[0.4, 0.4, 0.2], [1 / 3, 1 / 3, 1 / 3], [0.2, 0.4, 0.4]]
    if copy:
        pb[:3] = pa[:3]
    ll_a = -np.log(np.maximum(pa[np.arange(n), labels], 1e-15))
    ll_b = -np.log(np.maximum(pb[np.arange(n), labels], 1e-15))
    d = ll_a - ll_b
    ca = np.argmax(pa, axis=1) == labels
    cb = np.argmax(pb, axis=1) == labels
    b = int(np.sum(ca & ~cb))
    c = int(np.sum(~ca & cb))
    case = series_case(name, d, horizon)
    mc = mcnemar_case(b, c)
    onehot = np.eye(3)[labels]
    case.update({
        "probs_a": pa.tolist(), "probs_b": pb.tolist(), "labels": [int(v) for v in labels],
        "accuracy_a": float(ca.mean()), "accuracy_b": float(cb.mean()),
        "brier_a": float(np.mean(np.sum((pa - onehot) ** 2, axis=1))),
        "brier_b": float(np.mean(np.sum((pb - onehot) ** 2, axis=1))),
        "ece_a": ece(pa, labels, ECE_BINS), "ece_b": ece(pb, labels, ECE_BINS),
        "mcnemar": mc,
    })
    return case


def mcnemar_case(b, c):
    exact = b + c < 25
    if b + c == 0:
        p = 1.0
    else:
        p = float(mcnemar([[0, b], [c, 0]], exact=exact, correction=True).pvalue)
    return {"b": b, "c": c, "p": min(1.0, p), "exact": exact}


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "fixtures/monitor/compare.json"
    rng = np.random.default_rng(20261207)

    series = [
        series_case("ar1_h1_n600", ar1(rng, 600, 0.5, 0.02, 0.3), 1),
        series_case("ar1_h3_n1000", ar1(rng, 1000, 0.7, -0.01, 0.2), 3),
        series_case("ar1_h10_n2500", ar1(rng, 2500, 0.9, 0.005, 0.1), 10),
        series_case("ar1_h1_n5000_shift", ar1(rng, 5000, 0.3, 0.05, 1.0), 1),
        series_case("tiny_n3_h1", [0.3, -0.1, 0.25], 1),
        series_case("tiny_n5_h3", [0.1, 0.2, -0.05, 0.0, 0.4], 3),
        series_case("ties_n200_h1", rng.choice([-0.1, 0.0, 0.0, 0.2], 200), 1),
        series_case("ties_n80_h4", np.repeat(rng.normal(0, 0.2, 20), 4), 4),
    ]

    t_sf = []
    for dof in [1, 2, 4, 9, 29, 99, 599, 4999, 100000]:
        for t in [0.0, 0.1, 0.7, 1.5, 1.96, 2.5, 4.0, 8.0, 30.0]:
            t_sf.append({"t": t, "dof": dof, "sf": float(stats.t.sf(t, dof))})
    t_sf.append({"t": -1.3, "dof": 17, "sf": float(stats.t.sf(-1.3, 17))})

    mc = [mcnemar_case(b, c) for b, c in
          [(0, 0), (3, 9), (9, 3), (0, 7), (12, 12), (20, 4), (4, 20), (12, 13), (40, 60), (60, 40),
           (100, 100), (100, 101), (0, 30), (250, 310)]]

    paired = [
        paired_case("skill_a_better_h1", rng, 900, 1, 0.35, 0.2),
        paired_case("close_h3", rng, 600, 3, 0.3, 0.32),
        paired_case("copy_h1", rng, 300, 1, 0.3, 0.3, copy=True),
    ]

    doc = {
        "generator": "tests/reference/monitor_compare.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                     "statsmodels": statsmodels.__version__},
        "alpha": ALPHA, "cs_target_blocks": CS_TARGET_BLOCKS, "cs_min_blocks": CS_MIN_BLOCKS,
        "series": series,
        "student_t_sf": t_sf,
        "mcnemar": mc,
        "paired": paired,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=None, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
