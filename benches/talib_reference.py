#!/usr/bin/env python3
"""Times TA-Lib on the same random-walk bars as benches/indicators.rs (the reference figure).

Usage: python3 benches/talib_reference.py [--bars N] [--seed S] [--runs R]
Needs: pip install ta-lib==0.8.2 numpy

The generator is bit-identical to `random_walk` in benches/indicators.rs (the bench compares the
checksums both print):
  splitmix64 (state += 0x9E3779B97F4A7C15, the standard mix), draw k of bar i is output number
  7*i + k + 1 of the stream started at `seed`; uniform u = (x >> 11) * 2**-53;
  z = u0 + u1 + u2 + u3 - 2 (an Irwin-Hall normal approximation: Box-Muller needs log/cos, whose
  last bit may differ between libm builds; sums and products are exactly rounded everywhere);
  open = previous close (100 at the start), close = open * (1 + 0.002 * z),
  high = max(open, close) * (1 + 0.001 * u4), low = min(open, close) * (1 - 0.001 * u5),
  volume = 1 + 999 * u6.

Prints "checksum <16 hex digits>", one "<FUNCTION> <ns/bar>" line per TA-Lib call of
../shared/reference/talib/gen_talib.py (best of R), and "total <ns/bar>" for all 19 run back to back
(best of R).
"""
import argparse
import time

import numpy as np
import talib

GAMMA = np.uint64(0x9E3779B97F4A7C15)
DRAWS = 7


def splitmix64(seed, count):
    """Outputs 1..=count of splitmix64 started at `seed`, as uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * GAMMA
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def random_walk(bars, seed):
    u = (splitmix64(seed, bars * DRAWS) >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
    u = u.reshape(bars, DRAWS)
    z = u[:, 0] + u[:, 1] + u[:, 2] + u[:, 3] - 2.0
    factors = 1.0 + 0.002 * z
    # Sequential products, exactly as the Rust loop: close_i = close_{i-1} * factor_i.
    close = np.multiply.accumulate(np.concatenate(([100.0], factors)))
    o, c = close[:-1], close[1:]
    h = np.maximum(o, c) * (1.0 + 0.001 * u[:, 4])
    l = np.minimum(o, c) * (1.0 - 0.001 * u[:, 5])
    v = 1.0 + 999.0 * u[:, 6]
    return o, h, l, c, v


def checksum(o, h, l, c, v):
    """Sum over every price/volume f64 of its bits times an odd positional weight, mod 2**64."""
    bits = np.stack([o, h, l, c, v], axis=1).ravel().view(np.uint64)
    weights = np.arange(bits.size, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    with np.errstate(over="ignore"):
        return int((bits * weights).sum(dtype=np.uint64))


def calls(o, h, l, c, v):
    """The 19 calls of gen_talib.py with its parameters."""
    return [
        ("SMA", lambda: talib.SMA(c, 20)),
        ("EMA", lambda: talib.EMA(c, 20)),
        ("WMA", lambda: talib.WMA(c, 20)),
        ("MACD", lambda: talib.MACD(c, 12, 26, 9)),
        ("RSI", lambda: talib.RSI(c, 14)),
        ("STOCH", lambda: talib.STOCH(h, l, c, fastk_period=14, slowk_period=3, slowk_matype=0,
                                      slowd_period=3, slowd_matype=0)),
        ("STOCHRSI", lambda: talib.STOCHRSI(c, timeperiod=14, fastk_period=5, fastd_period=3,
                                            fastd_matype=0)),
        ("WILLR", lambda: talib.WILLR(h, l, c, 14)),
        ("CCI", lambda: talib.CCI(h, l, c, 20)),
        ("ATR", lambda: talib.ATR(h, l, c, 14)),
        ("BBANDS", lambda: talib.BBANDS(c, 20, 2.0, 2.0, 0)),
        ("ADX", lambda: talib.ADX(h, l, c, 14)),
        ("PLUS_DI", lambda: talib.PLUS_DI(h, l, c, 14)),
        ("MINUS_DI", lambda: talib.MINUS_DI(h, l, c, 14)),
        ("OBV", lambda: talib.OBV(c, v)),
        ("MFI", lambda: talib.MFI(h, l, c, v, 14)),
        ("ROC", lambda: talib.ROC(c, 10)),
        ("SAR", lambda: talib.SAR(h, l, acceleration=0.02, maximum=0.2)),
        ("AROON", lambda: talib.AROON(h, l, 14)),
    ]


def best_ns_per_bar(run, bars, runs):
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter_ns()
        run()
        best = min(best, time.perf_counter_ns() - start)
    return best / bars


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0x7EAD_5EED)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    series = random_walk(args.bars, args.seed)
    print(f"checksum {checksum(*series):016x}")
    every = calls(*series)
    for name, run in every:
        print(f"{name} {best_ns_per_bar(run, args.bars, args.runs):.2f}")

    def all_19():
        for _, run in every:
            run()

    print(f"total {best_ns_per_bar(all_19, args.bars, args.runs):.2f}")


if __name__ == "__main__":
    main()
