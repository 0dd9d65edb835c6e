"""Reference output of River's drift detectors for trademon's monitor::detectors.

Generates fixed-seed input streams, runs River 0.26's PageHinkley, ADWIN and DDM over
them with the given parameters, and writes the inputs with the steps (0-based) where
River's `drift_detected` / `warning_detected` were true. For ADWIN it also stores the
window width after every step and the estimation every EST_EVERY steps (and at drifts).

Usage: python monitor_detectors.py [OUTPUT_JSON]
(default: tests/fixtures/monitor/detectors.json next to this script's tests/ folder)
"""

from __future__ import annotations

import json
import os
import random
import sys

import river
from river import drift

EST_EVERY = 5


def r6(x: float) -> float:
    # Short decimals keep the fixture small; the stored value is the input, exactly.
    return round(x, 6)


def gauss(rng, n, mu, sd):
    return [r6(rng.gauss(mu, sd)) for _ in range(n)]


def bern(rng, n, p):
    return [1 if rng.random() < p else 0 for _ in range(n)]


def run_ph(params, xs):
    det = drift.PageHinkley(**params)
    drifts = []
    for i, x in enumerate(xs):
        det.update(x)
        if det.drift_detected:
            drifts.append(i)
    return {"drift": drifts, "warning": []}


def run_ddm(params, xs):
    det = drift.binary.DDM(**params)
    drifts, warnings = [], []
    for i, x in enumerate(xs):
        det.update(x)
        if det.drift_detected:
            drifts.append(i)
        if det.warning_detected:
            warnings.append(i)
    return {"drift": drifts, "warning": warnings}


def run_adwin(params, xs):
    det = drift.ADWIN(**params)
    drifts, widths, est = [], [], []
    for i, x in enumerate(xs):
        det.update(x)
        widths.append(int(det.width))
        if det.drift_detected:
            drifts.append(i)
        if det.drift_detected or i % EST_EVERY == EST_EVERY - 1:
            est.append([i, det.estimation])
    return {"drift": drifts, "warning": [], "width": widths, "estimation": est}


def cases():
    out = []

    def ph(name, seed, params, make):
        out.append(("page_hinkley", name, params, make(random.Random(seed))))

    up = lambda r: gauss(r, 1000, 0.0, 1.0) + gauss(r, 1000, 1.0, 1.0)  # noqa: E731
    down = lambda r: gauss(r, 1000, 0.0, 1.0) + gauss(r, 1000, -1.0, 1.0)  # noqa: E731
    flat = lambda r: gauss(r, 2000, 0.0, 1.0)  # noqa: E731
    ph("ph_jump_up_both", 11, {}, up)
    ph("ph_jump_up_up", 11, {"mode": "up"}, up)
    ph("ph_jump_down_both", 12, {}, down)
    ph("ph_jump_down_up", 12, {"mode": "up"}, down)
    ph("ph_jump_down_down", 12, {"mode": "down"}, down)
    ph("ph_flat_up", 13, {"mode": "up"}, flat)
    ph("ph_small_threshold_both", 14, {"threshold": 10.0, "min_instances": 10}, flat)

    def ad(name, seed, params, make):
        out.append(("adwin", name, params, make(random.Random(seed))))

    ad("adwin_shift", 21, {}, lambda r: gauss(r, 1500, 0.2, 0.1) + gauss(r, 1500, 0.6, 0.1))
    ad("adwin_uniform", 22, {}, lambda r: [r6(r.random()) for _ in range(3000)])
    ad(
        "adwin_binary",
        23,
        {},
        lambda r: bern(r, 1000, 0.1) + bern(r, 1000, 0.3) + bern(r, 1000, 0.1),
    )
    ad("adwin_clock1", 24, {"clock": 1, "delta": 0.01}, lambda r: gauss(r, 600, 0.0, 1.0) + gauss(r, 600, 0.5, 1.0))

    def dd(name, seed, params, make):
        out.append(("ddm", name, params, make(random.Random(seed))))

    dd("ddm_shift", 31, {}, lambda r: bern(r, 2000, 0.2) + bern(r, 2000, 0.5))
    dd("ddm_flat", 32, {}, lambda r: bern(r, 4000, 0.2))
    dd("ddm_gradual", 33, {}, lambda r: [1 if r.random() < 0.1 + 0.3 * i / 3000 else 0 for i in range(3000)])
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "fixtures", "monitor", "detectors.json")
    path = sys.argv[1] if len(sys.argv) > 1 else default
    runners = {"page_hinkley": run_ph, "adwin": run_adwin, "ddm": run_ddm}
    rows = []
    for det, name, params, xs in cases():
        res = runners[det](params, xs)
        rows.append({"name": name, "detector": det, "params": params, "inputs": xs, **res})
    doc = {"river": river.__version__, "est_every": EST_EVERY, "cases": rows}
    with open(path, "w") as f:
        # One case per line: small and diffable.
        f.write('{"river":%s,"est_every":%d,"cases":[\n' % (json.dumps(doc["river"]), EST_EVERY))
        f.write(",\n".join(json.dumps(r, separators=(",", ":")) for r in rows))
        f.write("\n]}\n")


if __name__ == "__main__":
    main()
