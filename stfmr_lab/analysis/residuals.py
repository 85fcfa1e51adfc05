"""What the residuals of a lineshape fit say about the fit: spikes, structure, systematics.

Shared by the single-line fitters (``fit``) and the line finder (``lines``). Arrays are
batches: one spectrum per row, points in the order of the sweep's abscissa.

- ``hampel_outliers``: isolated spikes (a point far from the median of its neighbours,
  measured in the larger of the local robust spread and the point-to-point noise).
- ``structure``: the error inflation from the residuals' autocorrelation (effective number
  of independent points, Bartlett lag window) and the Wald-Wolfowitz runs test.
- ``systematic``: the spread of the parameters over alternative background models and
  windows, each solved as one Gauss-Newton step from the fit (linear in the data), minus
  the statistical part that the nested alternative adds (Barlow's subtraction).
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_MAD = 1.4826  # MAD -> standard deviation for Gaussian noise


def noise_from_differences(y, good):
    """Robust white-noise sigma per row from successive differences (blind to smooth structure)."""
    d = np.diff(y, axis=1)
    ok = good[:, 1:] & good[:, :-1]
    d = np.where(ok, np.abs(d), np.nan)
    with np.errstate(all="ignore"):
        return _MAD * np.nanmedian(d, axis=1) / np.sqrt(2.0)


def hampel_outliers(y, good, *, half_window=3, n_sigma=8.0, floor=0.0):
    """Spikes: points further than ``n_sigma`` from the median of the 2 ``half_window`` + 1
    points around them, in units of the larger of that window's scaled MAD, the row's
    point-to-point noise and ``floor`` (the numerical noise of exact data). A resolved line's peak or flank is not a spike (its window's own
    spread is large); up to ``half_window`` consecutive spikes are found. Returns a mask (m, n)."""
    m, n = y.shape
    k = 2 * half_window + 1
    if n < k + 2:
        return np.zeros_like(good)
    yy = np.where(good, y, np.nan)
    win = sliding_window_view(yy, k, axis=1)  # (m, n - k + 1, k)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # windows of dropped points only
        med = np.nanmedian(win, axis=2)
        mad = _MAD * np.nanmedian(np.abs(win - med[:, :, None]), axis=2)
    sigma = noise_from_differences(y, good)
    scale = np.maximum(np.maximum(mad, sigma[:, None]), floor)
    centre = yy[:, half_window : n - half_window]
    with np.errstate(invalid="ignore"):
        out = np.abs(centre - med) > n_sigma * scale
    mask = np.zeros((m, n), dtype=bool)
    mask[:, half_window : n - half_window] = out & np.isfinite(centre)
    return mask


def structure(r, good, corr_points):
    """(inflation, runs_z) per row of weighted residuals ``r`` (m, n) in sweep order.

    inflation = 1 + 2 sum_k (1 - k/(K+1)) rho_k over lags k <= K = ``corr_points`` (per
    row): the factor by which correlated residuals shrink the number of independent
    points (n_eff = n / inflation); 1 when it is within two of its white-noise standard
    deviations of 1. runs_z: (runs - expected) / sd of the signs of the residuals; strongly
    negative when the residuals come in long runs of one sign (a missing line, a wrong
    background)."""
    m, n = r.shape
    rr = np.where(good, r, 0.0)
    n_good = np.maximum(good.sum(axis=1), 2)
    var = np.einsum("mn,mn->m", rr, rr) / n_good
    kmax = int(np.ceil(max(1, min(np.max(corr_points), n // 4))))
    kk = np.clip(np.asarray(corr_points, dtype=float), 1, n // 4)
    infl = np.ones(m)
    sum_w2 = np.zeros(m)
    for k in range(1, kmax + 1):
        wk = np.clip(1.0 - k / (kk + 1.0), 0.0, None)
        if not np.any(wk):
            break
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.einsum("mn,mn->m", rr[:, k:], rr[:, :-k]) / n_good / var
        infl += 2.0 * wk * np.nan_to_num(rho)
        sum_w2 += wk * wk
    white_sd = 2.0 * np.sqrt(sum_w2 / n_good)
    infl = np.where(infl > 1.0 + 2.0 * white_sd, infl, 1.0)
    # runs of one sign (points of zero weight skipped: they keep the previous sign)
    sgn = np.sign(rr)
    pos = (sgn > 0).sum(axis=1)
    neg = (sgn < 0).sum(axis=1)
    filled = _forward_fill_sign(sgn)
    changes = np.count_nonzero((filled[:, 1:] != filled[:, :-1]) & (filled[:, 1:] != 0) & (filled[:, :-1] != 0), axis=1)
    tot = pos + neg
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = 2.0 * pos * neg / tot + 1.0
        sd = np.sqrt((mu - 1.0) * (mu - 2.0) / (tot - 1.0))
        z = (changes + 1.0 - mu) / sd
    return infl, np.where(np.isfinite(z), z, 0.0)


def _forward_fill_sign(sgn):
    """Zeros replaced by the last nonzero sign before them (leading zeros stay)."""
    if not np.any(sgn == 0):
        return sgn
    idx = np.where(sgn != 0, np.arange(sgn.shape[1])[None, :], 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    return np.take_along_axis(sgn, idx, axis=1)


def systematic(jw, rw, cov, sigma2, alternatives):
    """Systematic 1-sigma error per parameter (m, p) from alternative analyses.

    ``jw`` (m, n, p): the fit's Jacobian times sqrt(weights) at the solution, ``rw`` (m, n)
    the weighted residuals, ``cov`` (m, p, p) the fit's covariance, ``sigma2`` (m,) the
    residual variance it was scaled with. Each alternative is ``("extra", cols)`` (more
    background columns (m, n, q), weighted) or ``("mask", keep)`` (a window (m, n) of
    points). The shift of each alternative is the Gauss-Newton step of its normal equations
    from the fit; its variance beyond the fit's (the alternative is nested: more parameters
    or fewer points) is subtracted from the squared shift. The largest remainder over the
    alternatives is the systematic variance.
    """
    m, n, p = jw.shape
    out = np.zeros((m, p))
    diag = np.diagonal(cov, 0, 1, 2)
    for kind, val in alternatives:
        if kind == "extra":
            je = np.concatenate([jw, val], axis=2)
            a = np.einsum("mni,mnj->mij", je, je)
            b = np.einsum("mni,mn->mi", je, rw)
        else:
            keep = val.astype(float)
            a = np.einsum("mni,mnj->mij", jw * keep[:, :, None], jw)
            b = np.einsum("mni,mn->mi", jw, rw * keep)
        try:
            ainv = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            ainv = np.linalg.pinv(a)
        shift = np.einsum("mij,mj->mi", ainv, b)[:, :p]
        var_alt = np.diagonal(ainv, 0, 1, 2)[:, :p] * sigma2[:, None]
        excess = shift**2 - np.clip(var_alt - diag, 0.0, None)
        excess = np.where(np.isfinite(excess), excess, 0.0)
        np.maximum(out, excess, out=out)
    return np.sqrt(out)
