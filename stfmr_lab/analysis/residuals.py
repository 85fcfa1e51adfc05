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
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

_MAD = 1.4826  # MAD -> standard deviation for Gaussian noise


def noise_from_differences(y, good):
    """Robust white-noise sigma per row from successive differences (blind to smooth structure)."""
    d = np.abs(np.diff(y, axis=1))
    ok = good[:, 1:] & good[:, :-1]
    out = np.empty(y.shape[0])
    full = ok.all(axis=1)
    if full.all():
        return _MAD * _row_median(d) / np.sqrt(2.0)
    out[full] = np.median(d[full], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out[~full] = np.nanmedian(np.where(ok[~full], d[~full], np.nan), axis=1)
    return _MAD * out / np.sqrt(2.0)


def _row_median(d):
    """``np.median(d, axis=1)`` of finite rows, the same values, without its call overhead."""
    k = d.shape[1]
    half = k // 2
    if k % 2:
        return np.partition(d, half, axis=1)[:, half]
    part = np.partition(d, (half - 1, half), axis=1)
    return (part[:, half - 1] + part[:, half]) / 2.0


def hampel_outliers(y, good, *, half_window=3, n_sigma=8.0, floor=0.0):
    """Spikes: points further than ``n_sigma`` from the median of the 2 ``half_window`` + 1
    points around them, in units of the larger of that window's scaled MAD, the row's
    point-to-point noise and ``floor`` (the numerical noise of exact data). A resolved
    line's peak or flank is not a spike (its window's own spread is large); up to
    ``half_window`` consecutive spikes are found. Only rows where some point stands out of
    both its neighbours 1, 2 or 3 points away (on one side) by half that much are examined. Returns a mask (m, n)."""
    m, n = y.shape
    k = 2 * half_window + 1
    mask = np.zeros((m, n), dtype=bool)
    if n < k + 2:
        return mask
    sigma = np.maximum(noise_from_differences(y, good), floor)
    all_good = bool(good.all())
    yy = y if all_good else np.where(good, y, np.nan)
    # candidates: a point standing out of both its neighbours d = 1..half_window away, on the
    # same side: up = y_i - y_(i-d), down = y_i - y_(i+d); above both: min(up, down) > 0,
    # below both: -max(up, down) > 0 (gaps ignored: NaN). With D = y_(j+d) - y_j: up = D[:-d],
    # down = -D[d:].
    stand = np.zeros(m)
    with np.errstate(invalid="ignore", over="ignore"):
        for d in range(1, half_window + 1):
            diff = yy[:, d:] - yy[:, :-d]
            up, down = diff[:, :-d], np.negative(diff[:, d:])
            top = np.fmax(np.fmax.reduce(np.minimum(up, down), axis=1), -np.fmin.reduce(np.maximum(up, down), axis=1))
            if not np.all(np.isfinite(top)):  # a row of gaps, or an overflowing difference: ignored
                st = np.where(up * down > 0, np.minimum(np.abs(up), np.abs(down)), 0.0)
                top = np.max(np.where(np.isfinite(st), st, 0.0), axis=1)
            np.fmax(stand, top, out=stand)
    cand = np.flatnonzero(stand > 0.5 * n_sigma * sigma)
    if cand.size == 0:
        return mask
    med = np.empty((cand.size, n - k + 1))
    full = np.ones(cand.size, dtype=bool) if all_good else good[cand].all(axis=1)
    sub = np.flatnonzero(full)
    if sub.size:  # every point good: a sorting network over the window's shifted copies
        rows = yy[cand[sub]]
        med[sub] = _sliding_median([rows[:, j : j + n - k + 1] for j in range(k)])
    sub = np.flatnonzero(~full)
    if sub.size:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # windows of dropped points only
            med[sub] = np.nanmedian(sliding_window_view(yy[cand[sub]], k, axis=1), axis=2)
    centre = yy[cand, half_window : n - half_window]
    sig = sigma[cand]
    with np.errstate(invalid="ignore"):
        dev = np.abs(centre - med)
        # the window's MAD only where the point is off by more than n_sigma (> 0) point-to-point
        # sigmas: elsewhere the larger scale max(MAD, sigma) cannot make it a spike
        out = dev > n_sigma * sig[:, None]
    ri, pi = np.nonzero(out)
    if ri.size:
        win = sliding_window_view(yy[cand], k, axis=1)[ri, pi]  # (spike candidates, k)
        dwin = np.abs(win - med[ri, pi, None])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mad = _MAD * (np.nanmedian(dwin, axis=1) if np.isnan(dwin).any() else np.median(dwin, axis=1))
            out[ri, pi] = dev[ri, pi] > n_sigma * np.maximum(mad, sig[ri])
    mask[cand, half_window : n - half_window] = out & np.isfinite(centre)
    return mask


def _sliding_median(shifted):
    """Element-wise median of an odd number of equal-shape finite arrays (the windows' points):
    an odd-even transposition sorting network of minimum/maximum, exact (the same value as
    ``np.median`` over the window axis) and several times faster than it on short windows."""
    v = list(shifted)
    k = len(v)
    for rnd in range(k):
        for i in range(rnd % 2, k - 1, 2):
            v[i], v[i + 1] = np.minimum(v[i], v[i + 1]), np.maximum(v[i], v[i + 1])
    return v[k // 2]


def structure(r, good, corr_points):
    """(inflation, runs_z) per row of weighted residuals ``r`` (m, n) in sweep order.

    inflation = 1 + 2 sum_k (1 - k/(K+1)) rho_k over lags k <= K = ``corr_points`` (per
    row): the factor by which correlated residuals shrink the number of independent
    points (n_eff = n / inflation); 1 when it is within two of its white-noise standard
    deviations of 1. runs_z: (runs - expected) / sd of the signs of the residuals; strongly
    negative when the residuals come in long runs of one sign (a missing line, a wrong
    background)."""
    m, n = r.shape
    all_good = bool(good.all())
    rr = r if all_good else np.where(good, r, 0.0)
    n_good = np.full(m, max(n, 2)) if all_good else np.maximum(good.sum(axis=1), 2)
    var = np.einsum("mn,mn->m", rr, rr) / n_good
    cp = np.asarray(corr_points, dtype=float)
    kmax = int(np.ceil(max(1, min(float(cp.max()), n // 4))))
    kk = np.minimum(np.maximum(cp, 1.0), n // 4)
    # all lags at once: the autocovariance is the inverse FFT of the power (zero-padded: no wrap)
    nfft = 1 << int(np.ceil(np.log2(n + kmax + 1)))
    f = np.fft.rfft(rr, n=nfft, axis=1)
    acov = np.fft.irfft(f.real**2 + f.imag**2, n=nfft, axis=1)[:, 1 : kmax + 1]  # (m, kmax): lags 1..kmax
    lags = np.arange(1.0, kmax + 1.0)
    wk = np.maximum(1.0 - lags / (np.reshape(kk, (-1, 1)) + 1.0), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = acov / (n_good * var)[:, None]
    if not np.isfinite(rho).all():
        rho = np.nan_to_num(rho)
    infl = 1.0 + 2.0 * np.einsum("mk,mk->m", np.broadcast_to(wk, rho.shape), rho)
    white_sd = 2.0 * np.sqrt(np.einsum("mk,mk->m", wk, wk) / n_good)
    infl = np.where(infl > 1.0 + 2.0 * white_sd, infl, 1.0)
    # runs of one sign (points of zero weight skipped: they keep the previous sign)
    sgn = np.sign(rr)
    pos = np.count_nonzero(sgn > 0, axis=1)
    neg = np.count_nonzero(sgn < 0, axis=1)
    filled = sgn if (pos + neg == n).all() else _forward_fill_sign(sgn)
    prod = filled[:, 1:] * filled[:, :-1]  # -1 at a change of sign, 0 next to a leading zero
    changes = np.count_nonzero(prod < 0, axis=1)
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


#: a background model's or window's shift counts as a systematic only when it is at least
#: this many of its own noise sd beyond 0 (Hausman's test at ~5 %, two-sided)
SHIFT_SIGNIFICANCE = 2.0


def systematic(jw, rw, cov, sigma2, alternatives, a_fit=None, factors=None, significance=0.0,
               noise=None):
    """Systematic 1-sigma error per parameter (m, p) from alternative analyses.

    ``jw`` (m, n, p): the fit's Jacobian times sqrt(weights) at the solution, ``rw`` (m, n)
    the weighted residuals, ``cov`` (m, p, p) the fit's covariance, ``sigma2`` (m,) the
    residual variance it was scaled with. Each alternative is ``("extra", cols)`` (more
    background columns (m, n, q), weighted) or ``("mask", keep)`` (a window (m, n) of
    points). The shift of each alternative is the Gauss-Newton step of its normal equations
    from the fit; its variance beyond the fit's (the alternative is nested: more parameters
    or fewer points) is subtracted from the squared shift. The largest remainder over the
    alternatives is the systematic variance.

    The subtraction is Hausman's: for nested least-squares fits of the same data the
    difference of the estimates has variance Var(larger) - Var(smaller), so a shift d is
    a systematic only by its excess over that noise, sys^2 = max(d^2 - (Var_L - Var_S), 0).
    ``factors`` (m, p): the correlated-noise variance factors by which ``cov`` was inflated
    (``correlated_noise_factors``), ``sigma2`` then the white residual variance. Both
    variances of a parameter are scaled by its own factor, so the noise of the difference
    is f_p (Var_L - Var_S) of the white fits; with ``noise`` (the ``spectrum`` of
    ``correlated_noise_factors`` and ``order``, the sweep order of the points or None)
    the factor is the difference's own (``correlated_variance_factors`` of the two
    estimators' difference): the 1/f noise that moves the alternative's estimate away
    from the fit's is noise, not a systematic. Without ``factors``, ``sigma2`` scales the
    alternative's variance as given and ``cov`` is the fit's. A shift counts only when
    significant, |d| > ``significance`` sd_d (the line fitters: ``SHIFT_SIGNIFICANCE``;
    0, the default, counts any excess).
    """
    m, n, p = jw.shape
    out = np.zeros((m, p))
    diag = np.diagonal(cov, 0, 1, 2)
    if factors is None:
        factors = np.ones((m, p))
    else:
        diag = diag / factors  # the white fit's variances
    jt = jw.transpose(0, 2, 1)
    if a_fit is None:  # J^T J, if the caller does not have it
        a_fit = jt @ jw
    if noise is not None and noise["spectrum"].get("rows", np.zeros(0)).size:
        try:
            h_fit = np.linalg.solve(a_fit, jt)  # the fit's estimator (m, p, n)
        except np.linalg.LinAlgError:
            noise = None
    else:
        noise = None
    for kind, val in alternatives:
        if kind == "extra":
            q = val.shape[2]
            a = np.empty((m, p + q, p + q))
            a[:, :p, :p] = a_fit
            a[:, :p, p:] = jt @ val
            a[:, p:, :p] = a[:, :p, p:].transpose(0, 2, 1)
            a[:, p:, p:] = val.transpose(0, 2, 1) @ val
            b = np.concatenate(
                [(jt @ rw[:, :, None])[:, :, 0], (val.transpose(0, 2, 1) @ rw[:, :, None])[:, :, 0]], axis=1
            )
        else:
            keep = val.astype(float)
            jk = jt * keep[:, None, :]
            a = jk @ jw
            b = (jk @ rw[:, :, None])[:, :, 0]
        try:
            ainv = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            ainv = np.linalg.pinv(a)
        shift = np.einsum("mij,mj->mi", ainv, b)[:, :p]
        var_alt = np.diagonal(ainv, 0, 1, 2)[:, :p] * sigma2[:, None]
        if noise is not None:
            h_alt = ainv[:, :p] @ (np.concatenate([jt, val.transpose(0, 2, 1)], axis=1) if kind == "extra" else jk)
            ops = h_alt - h_fit
            if noise["order"] is not None:
                ops = np.take_along_axis(ops, noise["order"][:, None, :], 2)
            factors = correlated_variance_factors(ops, noise["spectrum"])
        var_d = factors * np.clip(var_alt - diag, 0.0, None)
        excess = np.where(shift**2 > significance**2 * var_d, shift**2 - var_d, 0.0)
        excess = np.where(np.isfinite(excess), excess, 0.0)
        np.maximum(out, excess, out=out)
    return np.sqrt(out)


def correlated_noise_factors(jw, rw, good, *, min_significance=3.0, pooled=True, ainv=None, spectrum=None):
    """Variance factors (m, p) >= 1 for the parameters of fits whose noise is correlated in
    time (1/f noise, slow drift): the sandwich covariance A^-1 J^T C J A^-1 (A = J^T J)
    with C the stationary noise of a white + 1/f spectrum, P_k = a + b / k, fitted to the
    residuals' periodogram (bins k >= 1 of the sweep's point sequence, iteratively
    reweighted), over the white-noise covariance sigma^2 A^-1 (sigma^2 the residuals' mean
    square). The 1/f term carries
    the low-frequency noise that the fit itself absorbs from the residuals (and that biases
    the parameters); it is used where b is at least ``min_significance`` standard errors
    above 0, else the factor is 1. ``jw`` (m, n, p) and ``rw`` (m, n) in sweep (time) order.

    ``pooled``: the spectra of a batch share one noise spectrum shape (the same lock-in
    settings), fitted to the per-bin median of their normalised periodograms (robust to a
    few structured rows); one spectrum's own periodogram is too noisy a guide, and fits
    selected as unstructured would be those whose 1/f happened to look small. ``ainv``:
    (J^T J)^-1 (m, p, p) if the caller has it. ``spectrum``: a dict that receives the
    fitted noise spectrum (``correlated_variance_factors`` uses it for other linear
    estimators of the same data): ``rows`` (the rows with a 1/f term), ``weights`` (r, nk)
    per FFT bin of ``nfft`` points, ``sigma2`` (r,) the white scale."""
    m, n, p = jw.shape
    n_good = np.maximum(good.sum(axis=1), p + 2)
    nfft = 1 << int(np.ceil(np.log2(n)))  # zero-padded to a power of two: fast, same sums (Parseval)
    rf = np.fft.rfft(np.where(good, rw, 0.0), n=nfft, axis=1)
    per = (rf.real**2 + rf.imag**2) / n_good[:, None]  # (m, nk): E = sigma^2 for white noise
    nk = per.shape[1]
    k = np.arange(nk, dtype=float) * (n / nfft)  # cycles per sweep
    kk = k[1:]
    r = per[:, 1:]
    scale_rows = r.sum(axis=1) / (nk - 1)
    n_rows = 1
    if pooled and m > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.median(r / np.where(scale_rows > 0, scale_rows, np.inf)[:, None], axis=0, keepdims=True) / np.log(
                2.0
            )
        n_rows = m
    # Whittle-like: weights 1 / model^2 (a periodogram bin's variance is its mean^2); the
    # weighted sums of each iteration as two matrix products: powers of 1/k, and (r, r/k)
    ik = 1.0 / kk
    powers = np.stack([np.ones_like(kk), ik, ik * ik])  # (3, nk - 1)
    rr = np.stack([r, r * ik], axis=1)  # (rows, 2, nk - 1)
    r_mean = r.sum(axis=1) / r.shape[1]
    floor = 1e-3 * r_mean
    a = r_mean
    b = np.zeros(r.shape[0])
    for _ in range(4):
        wgt = np.maximum(a[:, None] + b[:, None] * ik, 1e-300)
        wgt *= wgt
        np.divide(1.0, wgt, out=wgt)
        s00, s01, s11 = (wgt @ powers.T).T
        t0, t1 = np.einsum("mk,mjk->jm", wgt, rr)
        det = s00 * s11 - s01 * s01
        a_new = (s11 * t0 - s01 * t1) / det
        b_new = (s00 * t1 - s01 * t0) / det
        b = np.maximum(b_new, 0.0)
        a = np.maximum(np.where(b_new > 0, a_new, r_mean), floor)
    b_err = np.sqrt(s00 / det) / np.sqrt(n_rows / 1.57)  # a median of n is as good as a mean of n / 1.57
    if r.shape[0] == 1 and m > 1:
        a, b, b_err = a * scale_rows, b * scale_rows, b_err * scale_rows
    use = b > min_significance * b_err
    factors = np.ones((m, p))
    if spectrum is not None:
        spectrum["rows"] = np.flatnonzero(use)
    if not np.any(use):
        return factors
    rows = np.flatnonzero(use)
    psd = a[rows, None] + b[rows, None] / np.maximum(k, kk[0])[None, :]  # (r, nk); DC bin as the first
    c = np.full(nk, 2.0)
    c[0] = c[-1] = 1.0  # DC and Nyquist (nfft even)
    # (r, p, nk); single precision is plenty for an error factor, and twice as fast
    sel = slice(None) if rows.size == m else rows  # every row (the pooled case): no copies
    jf = scipy.fft.rfft(np.ascontiguousarray(jw[sel].transpose(0, 2, 1), dtype=np.float32), n=nfft, axis=2)
    # g = Re(F diag(wk) F^H) = (Re F) wk (Re F)^T + (Im F) wk (Im F)^T: one product over the
    # complex array seen as interleaved (re, im) single-precision pairs
    wk = np.repeat((c * psd / nfft).astype(np.float32), 2, axis=1)[:, None, :]
    jri = jf.view(np.float32)
    g = ((jri * wk) @ jri.transpose(0, 2, 1)).astype(float)
    if ainv is None:
        jrows = jw[sel]
        amat = jrows.transpose(0, 2, 1) @ jrows
        try:
            ainv = np.linalg.inv(amat)
        except np.linalg.LinAlgError:
            ainv = np.linalg.pinv(amat)
    else:
        ainv = ainv[sel]
    sandwich = ainv @ g @ ainv
    sigma2 = np.einsum("rn,rn->r", rw[sel], rw[sel]) / n_good[sel]  # what the white covariance was scaled with
    if spectrum is not None:
        spectrum.update(weights=c * psd / nfft, nfft=nfft, sigma2=sigma2)
    white = sigma2[:, None] * np.diagonal(ainv, 0, 1, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.diagonal(sandwich, 0, 1, 2) / white
    factors[rows] = np.clip(np.nan_to_num(ratio, nan=1.0), 1.0, None)
    return factors


def correlated_variance_factors(ops, spectrum):
    """Variance factors (m, p) >= 1 of linear estimators ``ops`` (m, p, n) (each row: the
    weights of the data points, in sweep order) under the white + 1/f noise spectrum
    that ``correlated_noise_factors`` fitted (its ``spectrum``), over white noise of the
    same scale: sum_k w_k |F(op)_k|^2 / (sigma^2 sum op^2). 1 on rows without a 1/f term."""
    m, p, n = ops.shape
    out = np.ones((m, p))
    rows = spectrum.get("rows")
    if rows is None or rows.size == 0:
        return out
    o = ops[rows]
    f = np.fft.rfft(o, n=spectrum["nfft"], axis=2)
    corr = np.einsum("rpk,rk->rp", f.real**2 + f.imag**2, spectrum["weights"])
    white = spectrum["sigma2"][:, None] * np.einsum("rpn,rpn->rp", o, o)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[rows] = np.clip(np.nan_to_num(corr / white, nan=1.0), 1.0, None)
    return out
