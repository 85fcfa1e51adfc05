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
when it is resolved, narrower than a third of the sweep and at least
``min_relative_amplitude`` of the strongest line; once no candidate is left, the least
significant line is dropped until every one is significant (>= 5 sigma with all lines in
the model). Spikes are dropped first (Hampel), then from each trial line's residuals.

A field sweep through zero is a film magnetised one way or the other: each line lives on
its own side of zero (unless Lorentzians over the whole sweep fit better), the low-field
region (|H| < ``LOW_FIELD_OE``) is background, and a line must keep two widths from it and
from the sweep's ends (``_away_from_zero``); its trial lines are fitted robustly first.
With ``drift=True`` a random walk under the sweep (slow drift) is modelled in the final fit.

Errors and verdicts as the single-line fits (``stfmr_lab.analysis.residuals``): statistical
errors from the joint covariance (1/f-aware), ``stderr_sys`` from one and two background
orders more and windows around the lines, and ``ok`` False where the residuals within +- 6
widths of a line are structured.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.optimize import least_squares

from stfmr_lab.analysis import fit as _fit
from stfmr_lab.analysis import residuals

__all__ = ["fit_lines"]

_MIN_SIGNIFICANCE = 5.0
_LOCAL_WIDTHS = 6.0  # the structure of the residuals is judged within this many widths of a line
_SCAN_STEP = 0.5  # trial centres this many trial widths apart
_WIDTH_FACTOR = 1.5  # trial widths this factor apart
_MAX_REJECTED = 3  # candidates found not to be lines before the search stops
#: systematics: windows of the lines' centres +- these many widths (when they drop a tenth
#: of the points and leave this many points beyond the parameters)
_SYS_WINDOWS, _SYS_MIN_SPARE = (3.5, 7.0), 12
#: drift: the random walk is modelled when rho sqrt(n) exceeds this (rho its variance per
#: point over the white noise's, n the points: about 3 standard errors of the estimate)
_DRIFT_MIN_RHO_SQRT_N = 6.0
#: field sweeps through zero: a line's centre at least this many widths and points inside the sweep's ends
_EDGE_WIDTHS, _EDGE_POINTS = 2.0, 3
#: field sweeps through zero: below this |H| (Oe) the data are background only (unsaturated
#: film, the field loop in remanence, the supply switching polarity)
LOW_FIELD_OE = 20.0


def _spacing(u_sorted: np.ndarray) -> float:
    """The sweep's point spacing: the median step between distinct abscissae (an up/down sweep
    or a repeated set point visits a value twice; a zero step is not a spacing)."""
    steps = np.diff(np.unique(u_sorted))
    return float(np.median(steps)) if steps.size else 0.0


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


def _side(u, c, zero):
    """1 on the side of ``zero`` (scaled abscissa) where the centre ``c`` lies, else 0;
    all 1 when ``zero`` is None (lines not confined). Broadcasts ``c``."""
    if zero is None:
        return 1.0
    return ((u > zero) == (np.asarray(c)[..., None] > zero)).astype(float)


def _lines_model(u, theta, nb, bcols, zero=None):
    """Model (n,) and Jacobian (n, p) for theta = [background (nb), per line (c, log w, vs, va)];
    with ``zero`` (scaled abscissa of H = 0) each line lives on its own side of it only."""
    model = bcols @ theta[:nb]
    jac = [bcols]
    for c, lw, vs, va in theta[nb:].reshape(-1, 4):
        w = np.exp(lw)
        x = (u - c) / w
        s = 1.0 / (1.0 + x * x) * _side(u, c, zero)
        a = x * s
        model = model + vs * s + va * a
        fp = vs * (-2.0 * a * s) + va * (s * (2.0 * s - 1.0))
        jac.append(np.stack([-fp / w, -fp * x, s, a], axis=1))
    return model, np.concatenate(jac, axis=1)


def _basis(bcols, sw):
    """Orthonormal basis (n, q) of the background columns weighted by ``sw`` (rebuilt
    whenever the weights change: a dropped spike has weight 0)."""
    return np.linalg.qr(bcols * sw[:, None])[0]


def _scan(u, r, sw, bcols, widths, excluded=(), zero=None, low_u=0.0):
    """Best (centre, width, v_sym, v_asym, gain) of one extra line for the residual ``r``:
    S and A columns made orthogonal to the background columns ``bcols`` weighted by ``sw``;
    no centre within ``excluded`` (a list of (lo, hi) in u: candidates already rejected).
    With ``zero`` (a field sweep through zero): lines confined to their side of it, and no
    centre closer to it than ``low_u`` + 2 widths (the low-field region is background)."""
    best = (None, None, 0.0, 0.0, -np.inf)
    q = _basis(bcols, sw)
    rw = r * sw
    lo, hi = u[sw > 0].min(), u[sw > 0].max()
    for w in widths:
        cs = np.linspace(lo, hi, int(np.ceil((hi - lo) / (_SCAN_STEP * w))) + 1)
        x = (u[None, :] - cs[:, None]) / w
        s = 1.0 / (1.0 + x * x) * _side(u, cs, zero)
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
        if zero is not None:
            gain[~_away_from_zero(cs, w, zero, low_u, np.sort(u[sw > 0]))] = -np.inf
        i = int(np.argmax(gain))
        if gain[i] > best[4]:
            vs = (aa[i] * bs[i] - sa[i] * ba[i]) / det[i]
            va = (ss[i] * ba[i] - sa[i] * bs[i]) / det[i]
            best = (cs[i], w, vs, va, gain[i])
    return best


def _away_from_zero(c, w, zero, low_u, ug):
    """Can a line of centre ``c`` and width ``w`` (scaled) be a line of a field sweep through
    zero: at least ``low_u`` + 2 widths from zero (below, the film is not saturated and the
    field loop is in remanence: that region is background), and both flanks measured: two
    widths and ``_EDGE_POINTS`` points of ``ug`` (the kept abscissae, sorted) on each side
    (a spike at a sweep's end is not a line)?"""
    c = np.asarray(c, dtype=float)
    below = np.searchsorted(ug, c)
    above = ug.size - np.searchsorted(ug, c, side="right")
    inside = (c - _EDGE_WIDTHS * w >= ug[0]) & (c + _EDGE_WIDTHS * w <= ug[-1])
    return (np.abs(c - zero) >= low_u + 2.0 * w) & inside & (below >= _EDGE_POINTS) & (above >= _EDGE_POINTS)


class _White:
    """Whitening of white noise of relative weights ``sw**2``: v -> sw v (rows of v)."""

    def __init__(self, sw):
        self.sw = sw

    def __call__(self, v):
        return self.sw * v if v.ndim == 1 else self.sw[:, None] * v


class _RandomWalk(_White):
    """Whitening of white noise plus a random walk in sweep order (slow background drift:
    thermoelectric voltages, temperature): the noise covariance among the kept points is
    C = diag(1 / sw^2) + rho min(t_i, t_j) (t: the point's place in the sweep, in points;
    rho: the walk's variance per point over the white variance) = L L^T, and v -> L^-1 v
    (generalised least squares). The outputs sit at the kept points' places (0 elsewhere)."""

    def __init__(self, sw, rho):
        super().__init__(sw)
        self.rho = float(rho)
        self.keep = np.flatnonzero(sw > 0)
        t = (self.keep - self.keep[0] + 1).astype(float)
        cov = self.rho * np.minimum.outer(t, t)
        cov[np.diag_indices_from(cov)] += 1.0 / sw[self.keep] ** 2
        self.chol = np.linalg.cholesky(cov)

    def __call__(self, v):
        out = np.zeros_like(v, dtype=float)
        out[self.keep] = scipy.linalg.solve_triangular(self.chol, v[self.keep], lower=True, check_finite=False)
        return out


def _random_walk_rho(r):
    """rho (random-walk variance per point / white variance) from white-weighted residuals
    ``r`` of the kept points in sweep order; 0 when the walk is not significant. Successive
    differences of white noise + a walk: variance 2 s^2 + t^2, lag-1 covariance -s^2."""
    d = np.diff(r)
    n = d.size
    if n < 20:
        return 0.0
    var_d = float(d @ d) / n
    s2 = max(-float(d[1:] @ d[:-1]) / (n - 1), 0.05 * var_d / 2.0)
    rho = max(var_d - 2.0 * s2, 0.0) / s2
    return rho if rho > _DRIFT_MIN_RHO_SQRT_N / np.sqrt(n) else 0.0


def _joint_fit(u, yu, sw, theta0, nb, bcols, zero=None, min_width=None, white=None, robust_scale=None):
    """Least squares of every line and the background from ``theta0``: (theta, converged).
    ``min_width``: the lines' widths held at or above it (scaled units). ``robust_scale``:
    a robust (Cauchy) loss, residuals beyond this scale down-weighted (a spike on a line's
    flank, a line not yet in the model: they then stand out of the residuals). ``white``:
    the whitening of the residuals (default: times ``sw``, white noise)."""
    white = white or _White(sw)

    def fun(t):
        return white(yu - _lines_model(u, t, nb, bcols, zero)[0])

    def jac(t):
        return -white(_lines_model(u, t, nb, bcols, zero)[1])

    if min_width is not None:
        lower = np.full(theta0.size, -np.inf)
        lower[nb + 1 :: 4] = np.log(min_width)
        t0 = np.maximum(theta0, lower + 1e-9)
        res = least_squares(fun, t0, jac=jac, method="trf", bounds=(lower, np.inf), x_scale="jac", max_nfev=400,
                            loss="linear" if robust_scale is None else "cauchy", f_scale=robust_scale or 1.0)  # fmt: skip
        return res.x, res.status > 0
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
    low_field_oe=None,
    drift=False,
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
    drift : the sweep was measured in the order of x (one direction): when the residuals
        show a random walk (slow background drift) beside the white noise, the final fit is
        generalised least squares with that covariance (estimated from the residuals'
        successive differences) and its errors and verdicts are those of the whitened
        residuals.
    low_field_oe : in a field sweep through zero, the points below this |H| (Oe, default
        ``LOW_FIELD_OE``) are left out (the film is not saturated, the field loop is in
        remanence, the supply switches polarity) and no line is centred closer to zero than
        this plus two widths, nor within two widths or three points of the sweep's ends. Each line lives on its
        own side of zero (the other polarity is another magnetisation state), unless
        Lorentzians over the whole sweep fit better (a smaller residual sum of squares with
        the same parameters).

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
    through_zero = axis == "field" and x_min < 0 < x_max
    zero = (0.0 - xmid) / hs if through_zero else None
    low_oe = (LOW_FIELD_OE if low_field_oe is None else float(low_field_oe)) if through_zero else 0.0
    if not low_oe >= 0:
        raise ValueError(f"low_field_oe: must be >= 0, got {low_field_oe!r}")
    low_u = low_oe / hs
    if through_zero:  # below the floor the film is not saturated: no line, background only
        good &= np.abs(xs) >= low_oe
        if good.sum() < 12:
            raise ValueError(f"need at least 12 finite points of positive weight above |H| = {low_oe:g} Oe")

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
        beta = np.linalg.lstsq(bcols * sw[:, None], yu * sw, rcond=None)[0]
        theta = beta
        du = _spacing(u[good])
        span = u[good].max() - u[good].min()
        widths = 2.0 * du * _WIDTH_FACTOR ** np.arange(int(np.log(span / 3 / (2 * du)) / np.log(_WIDTH_FACTOR)) + 1)
        converged = True
        excluded: list[tuple[float, float]] = []
        while (theta.size - nb) // 4 < max_lines and len(excluded) < _MAX_REJECTED:
            model, _j = _lines_model(u, theta, nb, bcols, zero)
            c, wd, vs, va, gain = _scan(u, yu - model, sw, bcols, widths, excluded, zero, low_u)
            r_now = sw * (yu - model)
            if c is None or not gain > _MIN_SIGNIFICANCE**2 * (r_now @ r_now) / max(
                np.count_nonzero(good) - theta.size, 1
            ):
                break  # no candidate that could be a significant line
            start = np.concatenate([theta, [c, np.log(wd), vs, va]])
            robust = zero is not None
            if not robust:
                trial, conv = _joint_fit(u, yu, sw, start, nb, bcols, zero)
                robust = np.exp(trial[-3]) < du
            if robust:
                # a robust fit, widths above the point spacing (a field sweep through zero has
                # its glitches near the lines; a fit collapsed onto a spike on a flank): the
                # spikes then stand out of the residuals, to be dropped below
                trial, conv = _joint_fit(u, yu, sw, start, nb, bcols, zero, du, robust_scale=0.25 * np.hypot(vs, va))
            spikes = np.zeros_like(good)
            if despike:  # spikes on a line's flank show only in its residuals
                model, _j = _lines_model(u, trial, nb, bcols, zero)
                spikes = residuals.hampel_outliers((yu - model)[None, :], good[None, :], floor=_fit._SPIKE_FLOOR)[0]
                if zero is not None:
                    spikes |= _end_spikes(yu - model, good)
                good &= ~spikes
                sw = np.where(good, sw, 0.0)  # (the scan rebuilds its background basis from sw)
                n_out += int(spikes.sum())
            if robust or spikes.any():
                trial, conv = _joint_fit(u, yu, sw, trial, nb, bcols, zero)
            if not _keep_last(u, trial, nb, good, span, min_relative_amplitude, zero, low_u):
                excluded.append((c - 2 * wd, c + 2 * wd))  # a glitch or noise: look elsewhere
                continue
            theta, converged = trial, conv
        while theta.size > nb:  # the least significant line out, until every one left is significant
            z = _significance(u, yu, sw, theta, nb, bcols, good, zero)
            if z.min() >= _MIN_SIGNIFICANCE:
                break
            drop = nb + 4 * int(np.argmin(z))
            theta = np.delete(theta, np.s_[drop : drop + 4])
            if theta.size > nb:
                theta, converged = _joint_fit(u, yu, sw, theta, nb, bcols, zero)
        if theta.size == nb:
            return []
        if zero is not None:
            # lines confined to their polarity (a saturated film: the line at -H0 has no tail
            # at H > 0) or Lorentzians over the whole sweep (tails through zero): the same
            # parameters, so the information criteria reduce to the residual sums of squares
            free, conv_free = _joint_fit(u, yu, sw, theta, nb, bcols, None)
            if _rss(u, yu, _White(sw), free, nb, bcols, None) < _rss(u, yu, _White(sw), theta, nb, bcols, zero) and np.all(
                _away_from_zero(free[nb:].reshape(-1, 4)[:, 0], np.exp(free[nb:].reshape(-1, 4)[:, 1]), zero, low_u,
                                np.sort(u[good]))
            ):  # fmt: skip
                theta, converged, zero = free, conv_free, None
        white = _White(sw)
        if drift:  # a random walk under the sweep: generalised least squares when the residuals show one
            rho = _random_walk_rho(white(yu - _lines_model(u, theta, nb, bcols, zero)[0])[good])
            if rho > 0:
                white = _RandomWalk(sw, rho)
                # (widths held above the point spacing: the walk's freedom must not shrink a line onto a point)
                theta, converged = _joint_fit(u, yu, sw, theta, nb, bcols, zero, du, white)
        return _results(cls, xs, u, yu, white, good, theta, nb, bcols, bders, background_order, step, converged,
                        xmid, hs, yscale, wmean, n_out, irf2 is not None, zero)  # fmt: skip


def _end_spikes(r, good, n_end=3, n_sigma=8.0):
    """Spikes among the first and last ``n_end`` kept points (the Hampel window cannot centre
    on them): a step to the next point inward larger than ``n_sigma`` times the residuals'
    point-to-point noise and than four times the next two steps inward (the flank of a line
    not yet fitted steps evenly)."""
    out = np.zeros_like(good)
    idx = np.flatnonzero(good)
    if idx.size < 2 * (n_end + 3):
        return out
    sigma = max(residuals.noise_from_differences(r[None, idx], np.ones((1, idx.size), bool))[0], _fit._SPIKE_FLOOR)
    for ends in (idx[: n_end + 3], idx[::-1][: n_end + 3]):
        v = r[ends]
        for k in range(n_end):
            step = abs(v[k] - v[k + 1])
            inner = max(abs(v[k + 1] - v[k + 2]), abs(v[k + 2] - v[k + 3]))
            out[ends[k]] = step > n_sigma * sigma and step > 4.0 * inner
    return out


def _rss(u, yu, white, theta, nb, bcols, zero):
    r = white(yu - _lines_model(u, theta, nb, bcols, zero)[0])
    return float(r @ r)


def _keep_last(u, theta, nb, good, span, min_rel, zero=None, low_u=0.0):
    """Can the last line of ``theta`` be a line: resolved, not too wide, inside the sweep, not
    much weaker than the strongest (and, in a field sweep through zero, clear of the
    low-field region)? Its significance is judged once every line is in the model
    (``_significance``): an unfitted strong line makes the residuals look like 1/f noise."""
    lines = theta[nb:].reshape(-1, 4)
    c, lw, vs, va = lines[-1]
    w = np.exp(lw)
    amp = np.hypot(vs, va)
    if not (np.isfinite(amp) and u[good].min() <= c <= u[good].max() and w < span / 3):
        return False
    if zero is not None and not _away_from_zero(c, w, zero, low_u, np.sort(u[good])):
        return False
    if np.count_nonzero(good & (np.abs(u - c) <= _fit._NEAR_WIDTHS * w)) < _fit._MIN_NEAR:
        return False
    return bool(amp >= min_rel * np.max(np.hypot(lines[:, 2], lines[:, 3])))


def _significance(u, yu, sw, theta, nb, bcols, good, zero=None):
    """Each line's amplitude hypot(v_sym, v_asym) over its standard error (1/f-aware)."""
    lines = theta[nb:].reshape(-1, 4)
    model, jac = _lines_model(u, theta, nb, bcols, zero)
    jw = jac * sw[:, None]
    r = sw * (yu - model)
    dof = max(np.count_nonzero(good) - theta.size, 1)
    try:
        cov = np.linalg.inv(jw.T @ jw) * (r @ r / dof)
    except np.linalg.LinAlgError:
        return np.zeros(lines.shape[0])
    factors = residuals.correlated_noise_factors(jw[None], r[None], good[None])[0]
    out = np.empty(lines.shape[0])
    for li, (_, _, vs, va) in enumerate(lines):
        i = nb + 4 * li + 2
        amp = np.hypot(vs, va)
        g = np.array([vs, va]) / amp
        var = g @ cov[i : i + 2, i : i + 2] @ g * max(factors[i], factors[i + 1])
        out[li] = amp / np.sqrt(var) if var > 0 else 0.0
    return np.nan_to_num(out)


def _results(
    cls, xs, u, yu, white, good, theta, nb, bcols, bders, order, step, converged, xmid, hs, ys, wmean, n_out, normalised,
    zero=None,
):
    """The fits of the lines as ``cls`` items, sorted by centre (residuals whitened by ``white``)."""
    model, jac = _lines_model(u, theta, nb, bcols, zero)
    jw = white(jac)
    r = white(yu - model)
    n_pts = int(good.sum())
    p_all = theta.size
    dof = max(n_pts - p_all, 1)
    sigma2 = float(r @ r) / dof
    try:
        cov_all = np.linalg.inv(jw.T @ jw) * sigma2
    except np.linalg.LinAlgError:
        cov_all = np.full((p_all, p_all), np.nan)
    spectrum = {}
    factors = residuals.correlated_noise_factors(jw[None], r[None], good[None], spectrum=spectrum)[0]
    cov_all = cov_all * np.sqrt(factors[:, None] * factors[None, :])
    lines = theta[nb:].reshape(-1, 4)
    # systematics: one and two background orders more (the first also on the step's side),
    # windows around the lines
    extra = [u ** (order + 1)] + ([(u > step) * (u - step) ** max(order + 1, 2)] if step is not None else [])
    alternatives = [("extra", white(np.stack(cols, axis=1))[None]) for cols in (extra, extra + [u ** (order + 2)])]
    for win in _SYS_WINDOWS:
        keep = np.zeros_like(good)
        for c, lw, _, _ in lines:
            keep |= np.abs(u - c) <= win * np.exp(lw)
        keep &= good
        if keep.sum() <= 0.9 * n_pts and keep.sum() >= p_all + _SYS_MIN_SPARE:
            alternatives.append(("mask", keep[None]))
    # the single-line fitters' rule: each shift against its own (1/f-aware) noise, counted when significant
    sys_all = residuals.systematic(
        jw[None], r[None], cov_all[None], np.array([sigma2]), alternatives, factors=factors[None],
        noise={"spectrum": spectrum, "order": None}, significance=residuals.SHIFT_SIGNIFICANCE,
    )[0]  # fmt: skip
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
        du = _spacing(u[good])
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
