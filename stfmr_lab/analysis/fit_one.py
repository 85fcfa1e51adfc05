"""One spectrum, few calls: the single-spectrum path of ``fit_spectrum`` and ``fit_field_sweep``.

The batch fitter (``fit._fit_group``) is vectorised over spectra; on one 201-point spectrum
its cost is the Python-level overhead of ~2000 numpy calls on tiny arrays, not arithmetic.
This path fits the same model in the same scaled units (``fit._evaluate``'s theta: centre,
log width, offset, v_sym, v_asym, background terms) with the same damped Newton iteration
and stopping rule, so a converged fit lands on the same minimum (to ~1e-10 of its standard
errors), with far fewer calls:

- a cheap start instead of the grid search: the point furthest from a straight baseline
  (through the means of the sweep's first and last tenths) and the half-height width around
  it, tried also one width to either side (an antisymmetric line peaks one width off its
  centre); the linear parameters of each solved in closed form, the best kept. Or a seed:
  the centre and width of the caller's guess or of a previous fit of the same line;
- the Newton system from the batch's monomial stack (``fit._evaluate``): one matrix product
  per evaluation, the rest on ~10 x 10 matrices and Python floats; one eigendecomposition per
  iterate serves every damping tried from it.

A fit that fails a check other than structured residuals is refitted from the batch path's
grid search, and that fit is returned whatever its verdict (the batch path's answer). A fit
failing only the structure check is compared with the grid search's: the lower minimum is
returned (a model that misses something has several: on sweeps with standing-wave ripple the
start's alone was a worse one in 7 % of them, up to 36 standard errors off). Points of zero
weight or non-finite, spikes (before or after the fit) or no convergence hand the spectrum
back (``None``) to the batch path. The checks themselves (spikes, residual structure, 1/f
errors, systematics, verdicts) are the batch path's functions, called on the one row.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from stfmr_lab.analysis import fit as _fit
from stfmr_lab.analysis import residuals

_START_TAIL = 0.1  # the baseline of the cheap start: through the means of these fractions at each end


class NewtonTerms:
    """``fit._evaluate`` for one spectrum, with the calls of a batch of one and no more.

    The batch's monomial stack (``fit._monomials``: 1, S, A, S^2, A S, S^3, A S^2, u, ...,
    then the residual), one product of the stack with itself, and the batch's coefficients
    (``fit._jacobian_coefficients``, ``fit._second_sums``) applied to ~10 x 10 matrices and
    Python floats. Same quantities as ``fit._evaluate`` (to rounding).
    """

    def __init__(self, u, y, sw, order):
        """``u``, ``y`` (n,) scaled abscissa and data, ``sw`` sqrt(weights) or None, ``order`` 0-3."""
        self.order, self.nm, self.p = order, 7 + order, 5 + order
        self.stack = np.empty((1, self.nm + 1, u.size))  # the monomials, then the residual
        self.u, self.y = u[None], y
        self.w = None if sw is None else sw * sw
        self.cj = np.zeros((self.p, self.nm))  # J = cj @ M
        _fit._jacobian_selectors(self.cj, order)
        self.cm = np.zeros(self.nm)  # model = cm @ M

    def terms(self, theta):
        """(cost, J^T W J, J^T W r, exact Hessian of cost/2) at ``theta`` (p,)."""
        c, lw, off, vs, va = theta[:5].tolist()
        k = float(theta[5]) if self.order >= 1 else 0.0
        iw = math.exp(-lw)
        nm, st = self.nm, self.stack
        _fit._monomials(self.u, c, iw, self.order, st)
        st = st[0]
        cm = self.cm
        cm[_fit._ONE], cm[_fit._S], cm[_fit._A] = off - k * c, vs, va
        cm[_fit._U :] = theta[5:]
        np.subtract(self.y, cm @ st[:nm], out=st[nm])  # residual
        prod = (st if self.w is None else st * self.w) @ st.T  # [[M W M^T, M W r], [., r W r]]
        gram, mr, cost = prod[:nm, :nm], prod[:nm, nm], float(prod[nm, nm])
        cj = self.cj
        _fit._jacobian_coefficients(cj, c, iw, vs, va, k, self.order)
        jtj = cj @ gram @ cj.T
        grad = cj @ mr
        one, *sums = mr[:7].tolist()
        d2 = np.zeros((self.p, self.p))
        for (i, j), v in zip(_fit._SECOND, _fit._second_sums(*sums, vs, va, iw), strict=True):
            d2[i, j] = d2[j, i] = v
        if self.order >= 1:  # d2m/dc dk = -1
            d2[0, 5] = d2[5, 0] = -one
        return cost, jtj, grad, jtj - d2


def newton_lm(u, y, sw, theta, order):
    """Damped Newton (Levenberg-Marquardt) for one spectrum: ``fit._levenberg_marquardt``'s
    rule (steps, damping, stopping, the last Newton step taken unevaluated) on 1-D arrays.
    Returns (theta, cost, jtj, converged)."""
    p = theta.size
    theta = theta.astype(float)
    if not np.all(np.isfinite(theta)):
        return theta, math.inf, np.full((p, p), np.nan), False
    terms = NewtonTerms(u, y, sw, order).terms
    cost, jtj, grad, hess = terms(theta)
    if not math.isfinite(cost):
        return theta, cost, jtj, False
    lam = _fit._LAM0
    decomposed = None  # (scale, eigenvalues, eigenvectors, positive, projected gradient) of the iterate
    for _ in range(_fit._MAX_ITER):
        if decomposed is None:
            # (H + lam D) step = g in the scaled form (M + lam I) z = D^-1/2 g, M = D^-1/2 H D^-1/2:
            # one eigendecomposition serves every damping tried from this iterate
            dg = jtj.diagonal()
            scale = np.maximum(dg, 1e-12 * dg.max() + 1e-300) ** -0.5
            outer = np.multiply.outer(scale, scale)
            ev, vec = np.linalg.eigh(hess * outer)
            positive = bool(ev[0] > 0)
            if not positive:  # Gauss-Newton where the exact Hessian is not positive definite
                ev, vec = np.linalg.eigh(jtj * outer)
            decomposed = scale, ev[:, None], vec, positive, ((grad * scale) @ vec)[:, None]
        scale, ev, vec, positive, proj = decomposed
        # the (nearly) undamped Newton step and the damped one, as two columns
        newton, step = ((vec @ (proj / (ev + [1e-12, lam]))) * scale[:, None]).T
        if positive and (max(map(abs, newton.tolist())) <= _fit._XTOL or float(grad @ newton) <= _fit._FTOL * cost):
            return theta + newton, cost, jtj, True
        trial = theta + step
        c_t, jtj_t, grad_t, hess_t = terms(trial)
        if c_t <= cost:  # False for nan
            theta, cost, jtj, grad, hess = trial, c_t, jtj_t, grad_t, hess_t
            lam = max(lam / 5.0, 1e-12)
            decomposed = None
        else:
            lam *= 4.0
            if lam > 1e14:  # at the numerical floor
                return theta, cost, jtj, True
    return theta, cost, jtj, False


def linear_start(u, y, sw, order, centres, widths):
    """theta (p,) of the best of the trial (centre, width) pairs (scaled units), each with its
    linear parameters (offset, v_sym, v_asym, background) solved by least squares (normal
    equations, all trials in one batched solve)."""
    k, n = len(centres), u.size
    c = np.asarray(centres, dtype=float)[:, None]
    w = np.asarray(widths, dtype=float)[:, None]
    b = np.empty((k, 3 + order, n))
    b[:, 0] = 1.0
    x = np.subtract(u, c, out=b[:, 3]) if order >= 1 else u - c
    x = x / w
    s = np.multiply(x, x, out=b[:, 1])
    s += 1.0
    np.divide(1.0, s, out=s)
    np.multiply(x, s, out=b[:, 2])
    for e in range(2, order + 1):
        b[:, 2 + e] = u**e
    yw = y
    if sw is not None:
        b *= sw
        yw = y * sw
    gram = b @ b.transpose(0, 2, 1)
    h = b @ yw
    try:
        coef = np.linalg.solve(gram, h[..., None])[..., 0]
    except np.linalg.LinAlgError:
        coef = np.stack([np.linalg.lstsq(gi, hi, rcond=None)[0] for gi, hi in zip(gram, h, strict=True)])
    r = yw - np.einsum("kq,kqn->kn", coef, b)
    cost = np.einsum("kn,kn->k", r, r)
    j = int(np.argmin(np.where(np.isfinite(cost), cost, np.inf)))
    return np.concatenate([[centres[j], math.log(widths[j])], coef[j]])


def cheap_start(u, y):
    """Trial (centres, widths) in scaled units from the data alone (``u`` sorted)."""
    n = u.size
    k = max(2, int(_START_TAIL * n))
    u0, u1 = float(u[:k].sum()) / k, float(u[-k:].sum()) / k
    y0, y1 = float(y[:k].sum()) / k, float(y[-k:].sum()) / k
    slope = (y1 - y0) / (u1 - u0) if u1 > u0 else 0.0
    ad = np.abs(y - (u - u0) * slope - y0)
    i = int(np.argmax(ad))
    below = ad < 0.5 * ad[i]
    left = i - int(np.argmax(below[i::-1])) if below[:i].any() else None
    right = i + int(np.argmax(below[i:])) if below[i:].any() else None
    ui = float(u[i])
    half = [ui - float(u[left])] if left is not None else []
    half += [float(u[right]) - ui] if right is not None else []
    span = float(u[-1] - u[0])
    w = max(min(half) if half else 0.1 * span, span / (n - 1))
    return (ui, ui - w, ui + w), (w, w, w)


def fit(x, y, w, order, centre_guess=None, width_guess=None, despike=True, checks=True):
    """The batch path's ``_Raw`` (one row) for one prepared spectrum (1-D x, y, w), or None
    when the batch path must decide (see the module docstring).

    Starts tried in turn, each until a fit passes its checks: the guess (centre, width in the
    unit of ``x``), the cheap start, and last the batch path's grid search, whose fit is
    returned whatever its verdict (as the batch path would). ``checks=False`` (benchmarks):
    the fit alone, from the guess or the cheap start, no spike search, no residual checks,
    no systematics (``sys`` 0, factors 1)."""
    n = x.size
    p = 5 + int(order)
    if n < p + 1 or not (np.all(w > 0) and np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return None
    if np.any(x[1:] < x[:-1]):  # the checks run in sweep order: sort once
        idx = np.argsort(x, kind="stable")
        x, y, w = x[idx], y[idx], w[idx]
    x_min, x_max = float(x[0]), float(x[-1])
    ys = 0.5 * float(y.max() - y.min())
    if not (x_max > x_min and ys > 0):
        return None
    xmid, hs = 0.5 * (x_max + x_min), 0.5 * (x_max - x_min)
    u = (x - xmid) / hs
    yu = y / ys
    w0 = float(w[0])
    uniform = bool(np.all(w == w0))
    wmean = w0 if uniform else float(w.sum()) / n
    sw = None if uniform else np.sqrt(w / wmean)
    scaled = _Scaled(x, u, yu, sw, order, xmid, hs, ys, wmean)
    if checks and despike and residuals.hampel_outliers(yu[None], np.ones((1, n), bool), floor=_fit._SPIKE_FLOOR).any():
        return None
    starts = []
    if centre_guess is not None and width_guess is not None and width_guess != 0:
        starts.append(((((centre_guess - xmid) / hs),), ((abs(width_guess) / hs),)))
    starts.append(None)
    structured = None  # (raw, cost) of a start's fit whose only failed check is structured residuals
    for start in starts:
        cs, ws = cheap_start(u, yu) if start is None else start
        theta, cost, jtj, converged = newton_lm(u, yu, sw, linear_start(u, yu, sw, order, cs, ws), order)
        if not converged:
            continue
        if not checks:
            return scaled.unchecked(theta, cost, jtj)
        raw = scaled.finish(theta, cost, jtj, despike, need_ok=True)
        if raw is None:
            continue
        if _fit._verdict(raw.take(0))[0]:
            return raw
        # structured residuals: a model that misses something (a ripple, a second line) has
        # other minima, and the start's may be a worse one than the grid search's
        structured = (raw, cost)
        break
    if not checks:
        return None
    with _fit._blas_threads():  # the grid's matrix products are large enough for BLAS threads
        theta0 = _fit._grid_start(u, yu[None], np.ones(n) if sw is None else sw, order)[0]
    theta, cost, jtj, converged = newton_lm(u, yu, sw, theta0, order)
    if structured is not None and not (converged and cost < structured[1]):
        return structured[0]  # the lower minimum of the two (the same one, on most sweeps)
    return scaled.finish(theta, cost, jtj, despike, need_ok=False) if converged else None


class _Scaled:
    """One sorted spectrum in the batch path's scaled units, and the tail of ``fit._fit_group``
    (covariance, checks, physical units) for a converged theta."""

    def __init__(self, x, u, yu, sw, order, xmid, hs, ys, wmean):
        self.x, self.u, self.yu, self.sw, self.order = x, u, yu, sw, order
        self.xmid, self.hs, self.ys, self.wmean = xmid, hs, ys, wmean

    def finish(self, theta, cost, jtj, despike, need_ok):
        """The ``_Raw``; None when spikes show in the residuals (the batch path then refits
        without them), or, with ``need_ok``, when the fit fails its checks (before the
        systematics are spent on it)."""
        u, n, p = self.u, self.u.size, theta.size
        model, jac = _fit._model_jacobian(u[None], theta[None], self.order)  # (1, n), (1, n, p)
        good = np.ones((1, n), dtype=bool)
        if despike and residuals.hampel_outliers(self.yu - model, good, floor=_fit._SPIKE_FLOOR).any():
            return None
        try:
            cov_u = np.linalg.inv(jtj)
        except np.linalg.LinAlgError:
            return None
        sigma2 = np.array([cost / (n - p)])
        cov_u *= sigma2[0]
        sw = None if self.sw is None else self.sw[None]
        with np.errstate(all="ignore"):
            inflation, runs_z, factors, weighted = _fit._noise_checks(
                u[None], self.yu[None], sw, good, theta[None], cov_u[None], sigma2, None, model, jac
            )
            raw = self._raw(theta, cost, cov_u, np.ones((1, p)), inflation, runs_z, factors)  # sys: the scales
            if need_ok and any(flag for flag, text in _fit._checks(raw.take(0)) if text != _fit.STRUCTURE_MESSAGE):
                return None
            sys_u = _fit._systematics(
                u[None], good, theta[None], cov_u[None], sigma2, self.order, jtj[None], factors, weighted
            )
        return dataclasses.replace(raw, sys=sys_u * raw.sys)

    def unchecked(self, theta, cost, jtj):
        """The ``_Raw`` of a fit with no checks (covariance scaled by the residual only)."""
        p = theta.size
        cov_u = np.linalg.inv(jtj) * (cost / (self.u.size - p))
        return self._raw(theta, cost, cov_u, np.zeros((1, p)), np.ones(1), np.zeros(1), np.ones((1, p)))

    def _raw(self, theta, cost, cov_u, sys_u, inflation, runs_z, factors):
        n, p, hs, ys = self.u.size, theta.size, self.hs, self.ys
        width = math.exp(theta[1]) * hs
        scale = np.array([hs, width, ys, ys, ys] + [ys / hs**e for e in range(1, self.order + 1)])
        params = theta * scale
        params[0] += self.xmid
        params[1] = width
        chi2 = cost * ys**2 * self.wmean
        n_near = np.count_nonzero(np.abs(self.x - params[0]) <= _fit._NEAR_WIDTHS * width)
        one = np.array
        return _fit._Raw(
            params[None], (cov_u * scale[:, None] * scale)[None], one([chi2 / (n - p)]), one([n]), one([True]),
            self.x[:1], self.x[-1:], one([math.sqrt(chi2 / (self.wmean * n))]), one([n_near]), sys_u * scale,
            inflation, np.sqrt(np.max(factors[:, :5], axis=1)), runs_z, one([self.xmid]), one([0]),
        )  # fmt: skip
