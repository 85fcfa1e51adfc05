"""Fits of swept spectra: the lineshape seen through the lock-in's output filter.

In a swept acquisition the source steps every ``dt`` (1-2 time constants) and the lock-in is
read at each step without waiting for it to settle. What is recorded is then not Vmix at
the set point but the lock-in's n-pole low-pass filter (``stfmr_lab.lockin_filter``)
applied to Vmix(x(t)), x stepping through the set points. Because the filter is linear and
the input is piecewise constant, the readings are an exact linear map of the set-point
values::

    r_i = sum_j W_ij v_j,    W_ij = F(t_i - t_j) - F(t_i - t_{j+1})

with ``t_j`` the time set point j was applied, ``t_i`` the time of reading i and F the
filter's step response (the first value held since long before, as a sweep starts settled
at its first point; W's rows sum to 1, so a constant background passes unchanged). The fit
models ``v_j = I_RF^2(x_j) * (offset + v_sym S + v_asym A + slope (x - x0))`` at the set
points and compares ``W v`` with the readings: no lag bias in the centre, width or the
amplitudes.

The noise of readings closer than the filter's memory is correlated (the output noise is
white noise through the same filter): the fit is a generalised least squares with that
correlation (``lockin_filter.autocorrelation``), so the errors stay honest however fast
the sweep. An up/down pair of sweeps is just a longer time line and is fitted the same way,
and so is an adaptive sweep's record (``acquisition: swept`` with ``adaptive:``): a swept
coarse pass, then settled points in any order of x, each held until the next; W then has
near-unit rows for the settled readings and their noise is nearly independent, so one fit
takes both. The model's columns, the verdicts, the 1/f error inflation and the systematic
errors are fit.py's (its module-level helpers), applied in the whitened space.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import cho_factor, solve_triangular
from scipy.optimize import least_squares

from stfmr_lab.analysis import residuals
from stfmr_lab.analysis.fit import (
    _NEAR_WIDTHS,
    FieldSweepFits,
    SpectrumFits,
    _model_jacobian,
    _package,
    _Raw,
    fit_field_sweep,
    fit_spectrum,
)
from stfmr_lab.lockin_filter import autocorrelation, step_response

__all__ = ["fit_swept", "noise_correlation", "response_matrix", "whitened_map"]

#: relative jitter added to the correlation matrix's diagonal (the readings' own white part:
#: ADC quantisation, and a guard against a singular matrix for readings at one instant)
_NUGGET = 1e-6
#: systematics: windows of the centre +- these many widths (fit.py's, and fit_lines' wider one:
#: a swept span is often tens of widths), used when they drop a tenth of the readings
_SYS_WINDOWS = (3.5, 7.0)


def response_matrix(set_times_s, read_times_s, time_constant_s: float, poles: int) -> np.ndarray:
    """W (n_read x n_set): the readings as a linear map of the set-point values.

    ``set_times_s`` (increasing) are when each set point was applied, ``read_times_s`` when
    each reading was taken (s, one clock). The first set point counts as held since long
    before (settled start).
    """
    ts = np.asarray(set_times_s, dtype=float)
    tr = np.asarray(read_times_s, dtype=float)
    if ts.ndim != 1 or tr.ndim != 1 or ts.size == 0:
        raise ValueError("set_times_s, read_times_s: 1-D, non-empty")
    if np.any(np.diff(ts) < 0):
        raise ValueError("set_times_s: must not decrease")
    if not time_constant_s > 0:
        raise ValueError("time_constant_s: must be > 0")
    x = (tr[:, None] - ts[None, :]) / time_constant_s  # time since each set point began
    f_start = step_response(x, poles)
    f_start[:, 0] = 1.0  # the first value: held since long before
    f_end = np.zeros_like(f_start)
    f_end[:, :-1] = f_start[:, 1:]
    return f_start - f_end


def noise_correlation(read_times_s, time_constant_s: float, poles: int) -> np.ndarray:
    """Correlation matrix of the lock-in output noise at the reading times."""
    tr = np.asarray(read_times_s, dtype=float)
    return autocorrelation((tr[:, None] - tr[None, :]) / time_constant_s, poles)


def whitened_map(set_times_s, read_times_s, time_constant_s: float, poles: int):
    """(L, M): the lower Cholesky factor L of the readings' noise correlation (plus
    ``_NUGGET``) and the whitened filter map ``M = L^-1 W`` (n_read x n_set). A model ``v``
    at the set points becomes whitened readings ``M v``; ``L^-1 r`` are the whitened
    readings. ``M^T M`` weighs a Jacobian at the set points into the record's information."""
    w_mat = response_matrix(set_times_s, read_times_s, time_constant_s, poles)
    corr = noise_correlation(read_times_s, time_constant_s, poles)
    n = corr.shape[0]
    lower = np.tril(cho_factor(corr + _NUGGET * np.eye(n), lower=True)[0])
    return lower, solve_triangular(lower, w_mat, lower=True)


def fit_swept(
    x,
    readings_v,
    set_times_s,
    read_times_s,
    time_constant_s: float,
    poles: int,
    *,
    axis: str = "frequency",
    slope: bool = True,
    irf2=None,
    centre_guess=None,
    width_guess=None,
):
    """Fit a swept spectrum through the lock-in filter model (module docstring).

    Parameters
    ----------
    x : set points in time order (Hz for ``axis="frequency"``, Oe for ``"field"``); any
        order in x (an adaptive sweep's swept coarse pass then its settled points is one
        time record).
    readings_v : the lock-in readings (V), one per set point (read before the next step).
    set_times_s, read_times_s : when each set point was applied and when it was read (s).
    time_constant_s, poles : the lock-in's filter (time constant, 1-4 stages for 6-24 dB/oct).
    slope : fit a linear background too (default).
    irf2 : optional I_RF^2 at each set point (A^2): the filter sees Vmix = I_RF^2 (...), and
        the amplitudes and offset come out in V/A^2.
    centre_guess, width_guess : optional start (x units), else from a settled-reading fit.

    Returns a ``SpectrumFit`` (or ``FieldSweepFit``) whose parameters describe Vmix at the
    set points, with errors from the generalised least squares (correlated readings). The
    model's columns, the verdicts (``ok``/``message``, structured residuals), the error
    inflation by 1/f noise and the systematic errors are fit.py's, applied to the whitened
    residuals in time order.
    """
    if axis not in ("frequency", "field"):
        raise ValueError(f"axis: {axis!r} is not 'frequency' or 'field'")
    x = np.asarray(x, dtype=float)
    r = np.asarray(readings_v, dtype=float)
    n = x.size
    if r.shape != x.shape or np.shape(set_times_s) != x.shape or np.shape(read_times_s) != x.shape:
        raise ValueError("x, readings_v, set_times_s, read_times_s: one value per set point each")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(r))):
        raise ValueError("x, readings_v: must be finite")
    order = int(bool(slope))
    p = 5 + order
    if n < p + 1:
        raise ValueError(f"need at least {p + 1} readings to fit {p} parameters")
    x_min, x_max = float(x.min()), float(x.max())
    if not x_max > x_min:
        raise ValueError("the sweep must span a nonzero range")
    g = np.ones(n) if irf2 is None else np.broadcast_to(np.asarray(irf2, dtype=float), (n,))
    lower, m_w = whitened_map(set_times_s, read_times_s, time_constant_s, poles)
    m_w = m_w * g[None, :]  # the filter sees I_RF^2 times the normalised lineshape
    # fit.py's scaled units: x about the middle over half the span, data over half its range
    xmid, hs = 0.5 * (x_max + x_min), 0.5 * (x_max - x_min)
    u = ((x - xmid) / hs)[None, :]
    ys = 0.5 * float(np.ptp(r / g)) or max(float(np.max(np.abs(r / g))), 1e-300)
    rw = solve_triangular(lower, r / ys, lower=True)  # whitened readings

    def columns(cw):
        """fit.py's model columns (offset, S, A[, x - centre]) at (centre, log width) in scaled units."""
        theta = np.zeros((1, p))
        theta[0, :2] = cw
        return _model_jacobian(u, theta, order)[1][0, :, 2:]

    def projected(cw):
        d = m_w @ columns(cw)
        coef = np.linalg.lstsq(d, rw, rcond=None)[0]
        return d @ coef - rw, coef

    # start: the given guess, else the lagged readings fitted as if they were settled
    if centre_guess is None or width_guess is None or not (np.isfinite(centre_guess) and width_guess > 0):
        start_fit = (fit_spectrum if axis == "frequency" else fit_field_sweep)(x, r / g, slope=slope)
        centre_guess = start_fit.f0_hz if axis == "frequency" else start_fit.h0_oe
        width_guess = start_fit.hwhm_hz if axis == "frequency" else start_fit.dh_oe
    c0, w0 = float(centre_guess), abs(float(width_guess))
    if not (np.isfinite(c0) and np.isfinite(w0) and w0 > 0):
        c0, w0 = xmid, hs / 10.0
    w0 = max(w0, hs * 1e-6)
    best = None
    for dc in (0.0, -1.0, 1.0):  # the lag moves the apparent centre along the sweep direction
        t0 = np.array([(c0 + dc * w0 - xmid) / hs, math.log(w0 / hs)])
        sol = least_squares(lambda t: projected(t)[0], t0, x_scale=np.array([w0 / hs, 1.0]), method="lm",
                            xtol=1e-12, ftol=1e-12)
        if best is None or sol.cost < best.cost:
            best = sol
    _, coef = projected(best.x)
    theta = np.concatenate([best.x, coef])[None, :]
    model, jac = _model_jacobian(u, theta, order)
    resid = m_w @ model[0] - rw  # whitened, in time order (the sign as fit.py's: model - data)
    jw = m_w @ jac[0]
    dof = n - p
    sigma2 = float(resid @ resid) / dof if dof > 0 else math.nan
    jtj = jw.T @ jw
    try:
        cov_u = np.linalg.inv(jtj) * sigma2
    except np.linalg.LinAlgError:
        cov_u = np.full((p, p), np.nan)
    width = math.exp(theta[0, 1]) * hs
    centre = xmid + theta[0, 0] * hs
    # fit.py's diagnosis on the whitened residuals (white when the filter model is right)
    good = np.ones((1, n), dtype=bool)
    step = np.abs(np.diff(x))
    du = float(np.median(step[step > 0])) if np.any(step > 0) else hs
    corr_points = np.clip([width / du], 2.0, max(2.0, n / 8))
    spectrum = {}
    with np.errstate(all="ignore"):
        inflation, runs_z = residuals.structure(-resid[None, :], good, corr_points)
        factors = residuals.correlated_noise_factors(jw[None], -resid[None, :], good, pooled=False,
                                                     ainv=(cov_u / sigma2)[None], spectrum=spectrum)
    cov_u = cov_u * np.sqrt(factors[0][:, None] * factors[0][None, :])
    alternatives = []
    if order + 1 <= 3:  # one background order more, through the filter
        extra = (u[0] - theta[0, 0]) if order + 1 == 1 else u[0] ** (order + 1)
        alternatives.append(("extra", (m_w @ extra)[None, :, None]))
    for win in _SYS_WINDOWS:  # windows: the whitened readings of the set points near the line
        keep = np.abs(x - centre) <= win * width
        nk = int(np.count_nonzero(keep))
        if nk <= 0.9 * n and nk >= max(3 * p, 12):
            alternatives.append(("mask", keep[None, :]))
    with np.errstate(all="ignore"):  # fit.py's rule: each shift against its own (1/f-aware) noise, when significant
        sys_u = residuals.systematic(jw[None], -resid[None, :], cov_u[None], np.array([sigma2]), alternatives, jtj[None],
                                     factors=factors, noise={"spectrum": spectrum, "order": None},
                                     significance=residuals.SHIFT_SIGNIFICANCE)[0]
    scale = np.array([hs, width, ys, ys, ys] + [ys / hs] * order)
    params = theta[0] * scale
    params[0], params[1] = centre, width
    cov = cov_u * scale[:, None] * scale[None, :]
    g_rms = float(np.sqrt(np.mean(g * g)))
    raw = _Raw(
        params[None], cov[None], np.array([sigma2 * ys**2]), np.array([n]), np.array([bool(best.success)]),
        np.array([x_min]), np.array([x_max]),
        np.array([math.sqrt(max(sigma2, 0.0) * dof / n) * ys / g_rms]),  # the readings' RMS, in the fit's unit
        np.array([int(np.count_nonzero(np.abs(x - centre) <= _NEAR_WIDTHS * width))]),
        (sys_u * scale)[None], inflation, np.sqrt(np.max(factors[:, :5], axis=1)), runs_z, np.array([xmid]),
        np.array([0]),
    )
    return _package(raw, SpectrumFits if axis == "frequency" else FieldSweepFits, np.array([irf2 is not None]))[0]


def _one_time_line(set_times_s, read_times_s, time_constant_s: float):
    """Set and read times as one increasing time line: where the clock restarted (a resumed
    run), the later part is moved to 100 time constants after the earlier one, so the fit
    sees its first point start from a value held long before, as it did."""
    ts, tr = np.array(set_times_s, float), np.array(read_times_s, float)
    for k in range(1, ts.size):
        if ts[k] < ts[k - 1]:
            shift = ts[k - 1] + 100.0 * time_constant_s - ts[k]
            ts[k:] += shift
            tr[k:] += shift
    return ts, tr


def lockin_filter_of(run) -> tuple[float, int]:
    """(time constant in s, poles) of the run's lock-in, from its recorded settings."""
    from stfmr_lab.lockin_filter import poles_for_slope

    settings = (run.instruments.get("lockin") or {}).get("settings") or {}
    try:
        return float(settings["time_constant_s"]), poles_for_slope(int(settings["slope_db_oct"]))
    except (KeyError, TypeError, ValueError):
        raise ValueError("the run file does not record the lock-in's time constant and slope (needed for swept spectra)") from None


def swept_indices(run) -> set[int]:
    """Indices of the run's spectra recorded with ``acquisition: swept``."""
    s = run.tables.get("spectra", {})
    acq = s.get("acquisition")
    if acq is None or np.size(acq) != np.size(s.get("index", [])):
        return set()  # a file from before swept acquisition: all stepped
    return {int(i) for i, a in zip(s["index"], acq, strict=True) if int(a) == 1}


def refit_swept(run, indices, fits, irf2_shapes=None, axis: str = "frequency", slope: bool = True, vmix_v=None) -> list:
    """``fits`` (one per spectrum ``indices``, from the settled-reading fitters) with every
    swept spectrum's fit replaced by ``fit_swept`` on its readings in time order.

    ``irf2_shapes``: optional (x_sorted, irf2_sorted) per spectrum, the I_RF^2 the settled fit
    used (interpolated onto the time-ordered set points).
    """
    swept = swept_indices(run)
    out = list(fits)
    if not swept:
        return out
    tau, poles = lockin_filter_of(run)
    d = run.data
    xcol = "frequency" if axis == "frequency" else "field"
    for n, idx in enumerate(indices):
        if int(idx) not in swept:
            continue
        sel = np.flatnonzero(d["spectrum"] == idx)
        order = sel[np.argsort(d["time"][sel], kind="stable")]
        x = d[xcol][order]
        g = None
        if irf2_shapes is not None and irf2_shapes[n] is not None:
            xs, gs = irf2_shapes[n]
            g = np.interp(x, xs, gs)
        ts, tr = _one_time_line(d["set_time"][order], d["time"][order], tau)
        v = (d["vmix"] if vmix_v is None else vmix_v)[order]  # ``vmix_v``: every point's, the lock-in phase removed
        out[n] = fit_swept(x, v, ts, tr, tau, poles, axis=axis, slope=slope, irf2=g)
    return out
