"""The lock-in's phase offset, found from X and Y and removed (not assumed zero).

With an external chop reference, chop edges or cable delay, the rectified signal arrives at
a phase offset phi: X = V cos(phi), Y = V sin(phi) (plus noise in both). The signal then
lies along one direction of the (X, Y) plane, the noise is the same in every direction:
the principal axis of the (X, Y) points (each spectrum's mean removed, all spectra pooled)
is phi, taken within +-90 deg of X. ``rotate`` gives X cos(phi) + Y sin(phi) = V.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["lockin_phase", "rotate"]


def lockin_phase(x_v, y_v, groups=None) -> tuple[float, float]:
    """(phi, its 1-sigma error) in rad from lock-in X and Y readings (V, same shape).

    ``groups``: optional labels (one per point, e.g. the spectrum index): each group's mean
    is removed before pooling (the backgrounds differ from sweep to sweep, the phase does
    not). Non-finite points are ignored. (0, nan) when Y carries nothing (all zero or absent).
    """
    x = np.asarray(x_v, dtype=float).ravel()
    y = np.asarray(y_v, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError("x_v and y_v: same shape needed")
    good = np.isfinite(x) & np.isfinite(y)
    if groups is None:
        g = np.zeros(x.size, dtype=int)
    else:
        g = np.unique(np.asarray(groups).ravel(), return_inverse=True)[1]
    x, y, g = x[good], y[good], g[good]
    if x.size < 3 or not np.any(y != 0):
        return 0.0, math.nan
    counts = np.bincount(g)
    dx = x - (np.bincount(g, x) / np.maximum(counts, 1))[g]
    dy = y - (np.bincount(g, y) / np.maximum(counts, 1))[g]
    sxx, syy, sxy = float(dx @ dx), float(dy @ dy), float(dx @ dy)
    phi = 0.5 * math.atan2(2.0 * sxy, sxx - syy)  # the major axis, within +-90 deg of X
    disc = math.hypot(0.5 * (sxx - syy), sxy)
    lam1, lam2 = 0.5 * (sxx + syy) + disc, 0.5 * (sxx + syy) - disc
    dof = max(x.size - counts.size, 1)
    err = math.sqrt(lam1 * lam2 / dof) / (lam1 - lam2) if lam1 > lam2 else math.nan
    return phi, err


def rotate(x_v, y_v, phase_rad):
    """X cos(phi) + Y sin(phi): the in-phase signal with the phase offset removed (V)."""
    return np.asarray(x_v, dtype=float) * math.cos(phase_rad) + np.asarray(y_v, dtype=float) * math.sin(phase_rad)
