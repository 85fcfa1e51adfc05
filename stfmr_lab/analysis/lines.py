"""``fit_lines``: every resonance line of a sweep, fitted together on a shared background.

A measured sweep may hold more than the one line ``fit_spectrum`` assumes: a field sweep
through zero has a line at each polarity (S flips sign with the field) and often an offset
step at zero (the two halves are swept separately); a second (higher-order or edge) mode
may sit beside the main one; spikes come from GPIB retries and the magnet supply switching
polarity. The model, in the sweep's abscissa x (Hz or Oe)::

    y(x) = background(x) + sum_l [v_sym_l S_l(x) + v_asym_l A_l(x)]

with the background a polynomial (order ``background_order``, a slope by default) and, for
a field sweep through zero, a separate offset and slope for H > 0 (the step). Lines are
found one at a time: a scan of (centre, width) for the largest drop of the residual sum of
squares (variable projection, as the single-line grid start), then a joint fit of all lines
and the background (``scipy.optimize.least_squares``, analytic Jacobian); a candidate is kept
when it is significant (>= 5 sigma), resolved, narrower than a third of the sweep and at
least ``min_relative_amplitude`` of the strongest line. Spikes are dropped first (Hampel).

Errors and verdicts as the single-line fits (``stfmr_lab.analysis.residuals``): statistical
errors from the joint covariance (1/f-aware), ``stderr_sys`` from higher background orders
and windows around the lines, and ``ok`` False where the residuals within +- 6 widths of a
line are structured.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import least_squares

from stfmr_lab.analysis import fit as _fit
from stfmr_lab.analysis import residuals

__all__ = ["fit_lines"]

_MIN_SIGNIFICANCE = 5.0
_LOCAL_WIDTHS = 6.0  # the structure of the residuals is judged within this many widths of a line
_SCAN_STEP = 0.5  # trial centres this many trial widths apart
_WIDTH_FACTOR = 1.5  # trial widths this factor apart
_MAX_REJECTED = 3  # candidates found not to be lines before the search stops


def _background(u, order, step):
    """Background columns (n, q) and their derivatives d/du, in the scaled abscissa u."""
    cols = [np.ones_like(u)] + [u**e for e in range(1, order + 1)]
    ders = [np.zeros_like(u)] + [e * u ** (e - 1) for e in range(1, order + 1)]
    if step is not None:
        h = (u > step).astype(float)
        cols.append(h)
        ders.append(np.zeros_like(u))
        if order >= 1:
            cols.append(h * (u - step))
            ders.append(h)
    return np.stack(cols, axis=1), np.stack(ders, axis=1)


def _lines_model(u, theta, nb, bcols):
    """Model (n,) and Jacobian (n, p) for theta = [background (nb), per line (c, log w, vs, va)]."""
    model = bcols @ theta[:nb]
    jac = [bcols]
    for c, lw, vs, va in theta[nb:].reshape(-1, 4):
        w = np.exp(lw)
        x = (u - c) / w
        s = 1.0 / (1.0 + x * x)
        a = x * s
        model = model + vs * s + va * a
        fp = vs * (-2.0 * a * s) + va * (s * (2.0 * s - 1.0))
        jac.append(np.stack([-fp / w, -fp * x, s, a], axis=1))
    return model, np.concatenate(jac, axis=1)


def _scan(u, r, sw, q, widths, excluded=()):
    """Best (centre, width, v_sym, v_asym, gain) of one extra line for the residual ``r``:
    S and A columns made orthogonal to the (weighted, orthonormal) background basis ``q``;
    no centre within ``excluded`` (a list of (lo, hi) in u: candidates already rejected)."""
    best = (None, None, 0.0, 0.0, -np.inf)
    rw = r * sw
    lo, hi = u[sw > 0].min(), u[sw > 0].max()
    for w in widths:
        cs = np.linspace(lo, hi, int(np.ceil((hi - lo) / (_SCAN_STEP * w))) + 1)
        x = (u[None, :] - cs[:, None]) / w
        s = 1.0 / (1.0 + x * x)
        a = x * s
        s = s * sw
        a = a * sw
        s -= (s @ q) @ q.T
        a -= (a @ q) @ q.T
        bs, ba = s @ rw, a @ rw
        ss, aa, sa = np.einsum("gn,gn->g", s, s), np.einsum("gn,gn->g", a, a), np.einsum("gn,gn->g", s, a)
        det = ss * aa - sa * sa
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = np.where(det > 0, (aa * bs * bs - 2 * sa * bs * ba + ss * ba * ba) / det, -np.inf)
        for a_lo, a_hi in excluded:
            gain[(cs >= a_lo) & (cs <= a_hi)] = -np.inf
        i = int(np.argmax(gain))
        if gain[i] > best[4]:
            vs = (aa[i] * bs[i] - sa[i] * ba[i]) / det[i]
            va = (ss[i] * ba[i] - sa[i] * bs[i]) / det[i]
            best = (cs[i], w, vs, va, gain[i])
    return best


def _joint_fit(u, yu, sw, theta0, nb, bcols):
    def fun(t):
        return sw * (yu - _lines_model(u, t, nb, bcols)[0])

    def jac(t):
        return -sw[:, None] * _lines_model(u, t, nb, bcols)[1]

    res = least_squares(
        fun, theta0, jac=jac, method="lm", x_scale="jac", xtol=1e-10, ftol=1e-10, gtol=1e-10, max_nfev=400
    )
    return res.x, res.status > 0


def fit_lines(
    x,
    y,
    axis="frequency",
    *,
    weights=None,
    irf2=None,
    background_order=1,
    step_at_zero=None,
    max_lines=4,
    min_relative_amplitude=0.05,
    despike=True,
):
    """Find and fit every line of one sweep; a list of fits sorted by centre.

    Parameters
    ----------
    x, y : 1-D arrays: the abscissa (Hz for ``axis="frequency"``, Oe for ``"field"``) and
        the signal (V); any order, non-finite points ignored.
    axis : "frequency" (results are ``SpectrumFit``: ``f0_hz``, ``hwhm_hz``) or "field"
        (``FieldSweepFit``: ``h0_oe``, ``dh_oe``).
    weights, irf2 : as in ``fit_spectrum`` (irf2 may be a function of x).
    background_order : polynomial order of the shared background (default 1: a slope).
    step_at_zero : a separate offset (and slope) for x > 0; default True for a field sweep
        through zero, else False.
    max_lines : the most lines looked for.
    min_relative_amplitude : a line weaker than this fraction of the strongest is not kept.
    despike : drop isolated spikes first.

    Every fit carries ``v_sym``, ``v_asym``, ``offset`` and ``slope`` (the shared
    background's value and slope at its centre), ``stderr``, ``stderr_sys``, ``ok`` and
    ``message``; ``model(x)`` is the line on that local linear background.
    """
    if axis not in ("frequency", "field"):
        raise ValueError(f'axis: "frequency" or "field", got {axis!r}')
    if background_order not in (0, 1, 2, 3):
        raise ValueError(f"background_order: must be 0, 1, 2 or 3, got {background_order!r}")
    cls = _fit.SpectrumFits if axis == "frequency" else _fit.FieldSweepFits
    xa = np.asarray(x, dtype=float).ravel()
    ya = np.asarray(y, dtype=float).ravel()
    if xa.shape != ya.shape:
        raise ValueError(f"x and y: equal lengths needed, got {xa.size} and {ya.size}")
    irf2 = _fit._irf2_values(irf2, xa)
    xg, yg, wg = _fit._prepare(
        xa[None, :],
        ya[None, :],
        None if weights is None else np.broadcast_to(np.asarray(weights, dtype=float), xa.shape)[None, :],
        None if irf2 is None else np.broadcast_to(np.asarray(irf2, dtype=float), xa.shape)[None, :],
    )
    order = np.argsort(np.where(wg[0] > 0, xg[0], np.inf), kind="stable")
    xs, ys_, w = xg[0][order], yg[0][order], wg[0][order]
    good = w > 0
    if good.sum() < 12:
        raise ValueError("need at least 12 finite points of positive weight")
    x_min, x_max = xs[good].min(), xs[good].max()
    if x_max <= x_min:
        raise ValueError("the sweep must span a nonzero range")
    xmid, hs = 0.5 * (x_max + x_min), 0.5 * (x_max - x_min)
    u = np.where(good, (xs - xmid) / hs, 0.0)
    yscale = 0.5 * (ys_[good].max() - ys_[good].min()) or max(abs(ys_[good]).max(), 1e-300)
    yu = np.where(good, ys_ / yscale, 0.0)
    if step_at_zero is None:
        step_at_zero = axis == "field" and x_min < 0 < x_max
    step = (0.0 - xmid) / hs if step_at_zero else None

    with _fit._blas_threads(), np.errstate(all="ignore"):
        n_out = 0
        if despike:
            spikes = residuals.hampel_outliers(yu[None, :], good[None, :], floor=_fit._SPIKE_FLOOR)[0]
            good &= ~spikes
            n_out += int(spikes.sum())
        wmean = w[good].mean()
        sw = np.where(good, np.sqrt(w / wmean), 0.0)
        bcols, bders = _background(u, background_order, step)
        nb = bcols.shape[1]
        q, _ = np.linalg.qr(bcols * sw[:, None])
        beta = np.linalg.lstsq(bcols * sw[:, None], yu * sw, rcond=None)[0]
        theta = beta
        du = np.median(np.diff(u[good]))
        span = u[good].max() - u[good].min()
        widths = 2.0 * du * _WIDTH_FACTOR ** np.arange(int(np.log(span / 3 / (2 * du)) / np.log(_WIDTH_FACTOR)) + 1)
        converged = True
        excluded: list[tuple[float, float]] = []
        while (theta.size - nb) // 4 < max_lines and len(excluded) < _MAX_REJECTED:
            model, _j = _lines_model(u, theta, nb, bcols)
            c, wd, vs, va, gain = _scan(u, yu - model, sw, q, widths, excluded)
            r_now = sw * (yu - model)
            if c is None or not gain > _MIN_SIGNIFICANCE**2 * (r_now @ r_now) / max(
                np.count_nonzero(good) - theta.size, 1
            ):
                break  # no candidate that could be a significant line
            trial, conv = _joint_fit(u, yu, sw, np.concatenate([theta, [c, np.log(wd), vs, va]]), nb, bcols)
            if not _keep_last(u, yu, sw, trial, nb, bcols, good, span, min_relative_amplitude):
                excluded.append((c - 2 * wd, c + 2 * wd))  # a glitch or noise: look elsewhere
                continue
            theta, converged = trial, conv
            if despike:  # spikes on a line's flank show only in its residuals
                model, _j = _lines_model(u, theta, nb, bcols)
                spikes = residuals.hampel_outliers((yu - model)[None, :], good[None, :], floor=_fit._SPIKE_FLOOR)[0]
                if spikes.any():
                    good &= ~spikes
                    sw = np.where(good, sw, 0.0)
                    n_out += int(spikes.sum())
                    theta, converged = _joint_fit(u, yu, sw, theta, nb, bcols)
        k = (theta.size - nb) // 4
        if k == 0:
            return []
        return _results(cls, xs, u, yu, sw, good, theta, nb, bcols, bders, background_order, step, converged,
                        xmid, hs, yscale, wmean, n_out, irf2 is not None)  # fmt: skip


def _keep_last(u, yu, sw, theta, nb, bcols, good, span, min_rel):
    """Is the last line of ``theta`` a line: significant, resolved, not too wide, inside the sweep?"""
    lines = theta[nb:].reshape(-1, 4)
    c, lw, vs, va = lines[-1]
    w = np.exp(lw)
    amp = np.hypot(vs, va)
    if not (np.isfinite(amp) and u[good].min() <= c <= u[good].max() and w < span / 3):
        return False
    if np.count_nonzero(good & (np.abs(u - c) <= _fit._NEAR_WIDTHS * w)) < _fit._MIN_NEAR:
        return False
    if amp < min_rel * np.max(np.hypot(lines[:, 2], lines[:, 3])):
        return False
    model, jac = _lines_model(u, theta, nb, bcols)
    jw = jac * sw[:, None]
    r = sw * (yu - model)
    dof = max(np.count_nonzero(good) - theta.size, 1)
    try:
        cov = np.linalg.inv(jw.T @ jw) * (r @ r / dof)
    except np.linalg.LinAlgError:
        return False
    factors = residuals.correlated_noise_factors(jw[None], r[None], good[None])[0]
    i = theta.size - 2
    g = np.array([vs, va]) / amp
    var = g @ cov[i:, i:] @ g * max(factors[i], factors[i + 1])
    return bool(amp >= _MIN_SIGNIFICANCE * np.sqrt(var))


def _results(
    cls, xs, u, yu, sw, good, theta, nb, bcols, bders, order, step, converged, xmid, hs, ys, wmean, n_out, normalised
):
    """The fits of the lines as ``cls`` items, sorted by centre."""
    model, jac = _lines_model(u, theta, nb, bcols)
    jw = jac * sw[:, None]
    r = sw * (yu - model)
    n_pts = int(good.sum())
    p_all = theta.size
    dof = max(n_pts - p_all, 1)
    sigma2 = float(r @ r) / dof
    try:
        cov_all = np.linalg.inv(jw.T @ jw) * sigma2
    except np.linalg.LinAlgError:
        cov_all = np.full((p_all, p_all), np.nan)
    factors = residuals.correlated_noise_factors(jw[None], r[None], good[None])[0]
    cov_all = cov_all * np.sqrt(factors[:, None] * factors[None, :])
    lines = theta[nb:].reshape(-1, 4)
    # systematics: higher background orders, windows around the lines
    alternatives = []
    for e in range(order + 1, min(order + 2, 3) + 1):
        cols = np.stack([u**k for k in range(order + 1, e + 1)], axis=1)
        alternatives.append(("extra", (cols * sw[:, None])[None]))
    near = np.zeros_like(good)
    for win in _fit._SYS_WINDOWS:
        keep = np.zeros_like(good)
        for c, lw, _, _ in lines:
            keep |= np.abs(u - c) <= win * np.exp(lw)
        keep &= good
        if 0 < keep.sum() <= 0.9 * n_pts and keep.sum() >= 3 * p_all:
            alternatives.append(("mask", keep[None]))
        near |= keep
    sys_all = residuals.systematic(jw[None], r[None], cov_all[None], np.array([sigma2 * factors.max()]), alternatives)[
        0
    ]
    rms = np.sqrt(float(r @ r) / n_pts) * ys
    k = lines.shape[0]
    p = 6
    params = np.empty((k, p))
    cov = np.empty((k, p, p))
    sys = np.empty((k, p))
    infl, runs_z, n_near, err_fac = np.empty(k), np.empty(k), np.empty(k, int), np.empty(k)
    for li, (c, lw, vs, va) in enumerate(lines):
        w = np.exp(lw)
        i0 = nb + 4 * li
        # (centre, width, offset, v_sym, v_asym, slope) as linear maps of theta, in scaled units
        bc = _background(np.array([c]), order, step)
        tmat = np.zeros((p, p_all))
        tmat[0, i0] = 1.0
        tmat[1, i0 + 1] = w
        tmat[2, :nb] = bc[0][0]
        tmat[3, i0 + 2] = 1.0
        tmat[4, i0 + 3] = 1.0
        tmat[5, :nb] = bc[1][0]
        vals = np.array([c, w, bc[0][0] @ theta[:nb], vs, va, bc[1][0] @ theta[:nb]])
        scale = np.array([hs, hs, ys, ys, ys, ys / hs])
        params[li] = vals * scale
        params[li, 0] += xmid
        cov[li] = (tmat @ cov_all @ tmat.T) * np.outer(scale, scale)
        sys[li] = np.sqrt((tmat**2) @ sys_all**2) * scale
        local = good & (np.abs(u - c) <= _LOCAL_WIDTHS * w)
        du = np.median(np.diff(u[good]))
        i_l, z_l = residuals.structure(
            np.where(local, r, 0.0)[None, local], good[None, local], np.array([max(2.0, w / du)])
        )
        infl[li], runs_z[li] = i_l[0], z_l[0]
        n_near[li] = np.count_nonzero(good & (np.abs(u - c) <= _fit._NEAR_WIDTHS * w))
        err_fac[li] = np.sqrt(max(factors[i0 : i0 + 4].max(), 1.0))
    raw = _fit._Raw(
        params, cov, np.full(k, sigma2 * ys**2 * wmean), np.full(k, n_pts), np.full(k, bool(converged)),
        np.full(k, xs[good].min()), np.full(k, xs[good].max()), np.full(k, rms), n_near, sys, infl, err_fac, runs_z,
        np.full(k, xmid), np.full(k, n_out),
    )  # fmt: skip
    fits = list(_fit._package(raw, cls, np.full(k, normalised)))
    return sorted(fits, key=lambda ft: getattr(ft, cls._names[0]))
