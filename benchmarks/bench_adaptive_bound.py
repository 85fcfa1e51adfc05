"""How much bench time can adaptive point placement save on a frequency sweep? A bound.

The torkances are proportional to V_S w and V_A w (w the linewidth). For the S/A
lineshape (with a free background, or a background known from the calibrations) the
best possible design - any distribution of points over the window, found as the optimal
approximate design by the multiplicative algorithm on a fine candidate grid - is compared
with a uniform 201-point sweep: the number of points it needs for the same errors on both
log(V_S w) and log(V_A w). Fisher information (noise-free), so the answer is the design's.
Run: ``python -m benchmarks.bench_adaptive_bound``.
"""

from __future__ import annotations

import numpy as np


def jacobian(u, vs, va, background_free=True):
    """d y / d (f0, w, V_S, V_A[, C]) at u = (f - f0)/w, in units of the width (w = 1)."""
    S = 1.0 / (1.0 + u * u)
    A = u * S
    g = vs * (-2.0 * u * S * S) + va * (S - 2.0 * u * u * S * S)
    cols = [-g, -g * u, S, A] + ([np.ones_like(u)] if background_free else [])
    return np.column_stack(cols)


def points_needed(vs, va, window_hwhm=7.0, background_free=True, n_uniform=201, iterations=3000, window=None):
    """``window``: (lo, hi) in half widths from f0 (default +-window_hwhm)."""
    lo, hi = window if window is not None else (-window_hwhm, window_hwhm)
    cand = np.linspace(lo, hi, 1601)
    J = jacobian(cand, vs, va, background_free)
    G = np.zeros((2, J.shape[1]))
    G[0, [1, 2]] = 1.0, 1.0 / vs
    G[1, [1, 3]] = 1.0, 1.0 / va
    Ju = jacobian(np.linspace(lo, hi, n_uniform), vs, va, background_free)
    v_uniform = np.diag(G @ np.linalg.pinv(Ju.T @ Ju / n_uniform) @ G.T)  # per unit of points
    best = np.inf
    for emphasis in ([1, 1], [1, 3], [3, 1], [1, 10], [10, 1]):  # approach the minimax design
        Gw = G * np.sqrt(np.array(emphasis) / v_uniform)[:, None]
        w = np.full(cand.size, 1.0 / cand.size)
        for _ in range(iterations):
            Mi = np.linalg.pinv((J * w[:, None]).T @ J)
            d = np.sum((Gw @ Mi @ J.T) ** 2, axis=0)
            w *= d / np.sum(w * d)
        v = np.diag(G @ np.linalg.pinv((J * w[:, None]).T @ J) @ G.T)
        best = min(best, float(np.max(v / v_uniform)))
    return n_uniform * best


#: the benchmark's windows at 1000 Oe (f0 8.61 GHz, HWHM 168 MHz), in half widths from f0
WINDOWS = {"2-14 GHz (the seed paper's)": (-39.3, 32.1), "5-12.5 GHz": (-21.5, 23.2)}


def main():
    print("points the best design needs to match a uniform 201-point sweep (same window) on V_S w and V_A w:")
    for name, window in WINDOWS.items():
        n = points_needed(1.0, 0.7, window=window)
        print(f"  {name} window, background free, V_A/V_S = +0.70: {n:5.0f} points (bench time ratio {n / 201:.2f})")
    for free in (True, False):
        for vs, va in ((1.0, 0.7), (0.4, -1.0), (1.0, 0.1)):
            n = points_needed(vs, va, background_free=free)
            print(f"  +-7 HWHM window, background {'free ' if free else 'known'}, V_A/V_S = {va / vs:+.2f}:"
                  f" {n:5.0f} points (bench time ratio {n / 201:.2f})")


if __name__ == "__main__":
    main()
