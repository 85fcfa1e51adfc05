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
the sweep. An up/down pair of sweeps is just a longer time line and is fitted the same way.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import cho_factor, solve_triangular
from scipy.optimize import least_squares

from stfmr_lab.analysis.fit import FieldSweepFit, SpectrumFit, fit_field_sweep, fit_spectrum
from stfmr_lab.lockin_filter import autocorrelation, step_response

__all__ = ["fit_swept", "noise_correlation", "response_matrix"]

#: relative jitter added to the correlation matrix's diagonal (the readings' own white part:
#: ADC quantisation, and a guard against a singular matrix for readings at one instant)
_NUGGET = 1e-6
_MIN_SIGNIFICANCE = 5.0  # as fit.py: ok needs the amplitude at this many standard errors


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


def _basis(x, centre, width, slope: bool):
    u = (x - centre) / width
    s = 1.0 / (1.0 + u * u)
    cols = [np.ones_like(x), s, u * s]
    if slope:
        cols.append(x - centre)
    return np.stack(cols, axis=1)


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
):
    """Fit a swept spectrum through the lock-in filter model (module docstring).

    Parameters
    ----------
    x : set points in time order (Hz for ``axis="frequency"``, Oe for ``"field"``).
    readings_v : the lock-in readings (V), one per set point (read before the next step).
    set_times_s, read_times_s : when each set point was applied and when it was read (s).
    time_constant_s, poles : the lock-in's filter (time constant, 1-4 stages for 6-24 dB/oct).
    slope : fit a linear background too (default).
    irf2 : optional I_RF^2 at each set point (A^2): the filter sees Vmix = I_RF^2 (...), and
        the amplitudes and offset come out in V/A^2.

    Returns a ``SpectrumFit`` (or ``FieldSweepFit``) whose parameters describe Vmix at the
    set points, with errors from the generalised least squares (correlated readings).
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
    g = np.ones(n) if irf2 is None else np.broadcast_to(np.asarray(irf2, dtype=float), (n,))
    w_mat = response_matrix(set_times_s, read_times_s, time_constant_s, poles)
    corr = noise_correlation(read_times_s, time_constant_s, poles)
    chol = cho_factor(corr + _NUGGET * np.eye(n), lower=True)
    lower = np.tril(chol[0])
    rw = solve_triangular(lower, r, lower=True)  # whitened readings
    m_w = solve_triangular(lower, w_mat * g[None, :], lower=True)  # whitened filter map, once
    p_lin = 3 + int(slope)

    def projected(theta):
        d = m_w @ _basis(x, theta[0], math.exp(theta[1]), slope)
        coef = np.linalg.solve(d.T @ d, d.T @ rw)
        return d @ coef - rw, coef

    # start: the lagged readings fitted as if they were settled (centre shifted by the lag)
    start_fit = (fit_spectrum if axis == "frequency" else fit_field_sweep)(x, r / g, slope=slope)
    c0 = start_fit.f0_hz if axis == "frequency" else start_fit.h0_oe
    w0 = start_fit.hwhm_hz if axis == "frequency" else start_fit.dh_oe
    span = float(np.ptp(x))
    if not (np.isfinite(c0) and np.isfinite(w0) and w0 > 0):
        c0, w0 = float(np.median(x)), span / 20.0
    scale = np.array([max(w0, span * 1e-6), 1.0])
    best = None
    for dc in (0.0, -1.0, 1.0):  # the lag moves the apparent centre along the sweep direction
        t0 = np.array([c0 + dc * w0, math.log(w0)])
        sol = least_squares(lambda t: projected(t)[0], t0, x_scale=scale, method="lm", xtol=1e-12, ftol=1e-12)
        if best is None or sol.cost < best.cost:
            best = sol
    centre, width = float(best.x[0]), float(math.exp(best.x[1]))
    resid, coef = projected(best.x)

    # covariance of all parameters: Jacobian of the whitened model, analytic in the lineshape
    u = (x - centre) / width
    s = 1.0 / (1.0 + u * u)
    a = u * s
    off, vs, va = coef[:3]
    sl = coef[3] if slope else 0.0
    ds_du, da_du = -2.0 * u * s * s, s - 2.0 * u * u * s * s
    dy_du = vs * ds_du + va * da_du
    cols = [-dy_du / width - sl, -dy_du * u / width, np.ones(n), s, a]  # centre, width, offset, v_sym, v_asym
    if slope:
        cols.append(x - centre)
    jac = m_w @ np.stack(cols, axis=1)
    dof = n - (2 + p_lin)
    chi2_red = float(resid @ resid) / dof if dof > 0 else math.nan
    try:
        cov = np.linalg.inv(jac.T @ jac) * chi2_red
    except np.linalg.LinAlgError:
        cov = np.full((2 + p_lin, 2 + p_lin), np.nan)
    names = ("f0_hz", "hwhm_hz") if axis == "frequency" else ("h0_oe", "dh_oe")
    names = names + ("offset", "v_sym", "v_asym") + (("slope",) if slope else ())
    err = np.sqrt(np.abs(np.diag(cov)))
    stderr = dict(zip(names, err.tolist(), strict=True))
    amp = math.hypot(vs, va)
    amp_err = math.sqrt(max((vs * vs * cov[3, 3] + va * va * cov[4, 4] + 2 * vs * va * cov[3, 4]) / amp**2, 0.0)) if amp > 0 else math.inf
    checks = [
        (not best.success, "did not converge"),
        (not np.all(np.isfinite(err)), "parameters not determined (non-finite covariance)"),
        (not (x.min() <= centre <= x.max()), "centre outside the sweep"),
        (width > span, "width larger than the sweep span"),
        (not (amp >= _MIN_SIGNIFICANCE * amp_err), f"resonance not significant (amplitude < {_MIN_SIGNIFICANCE:g} sigma)"),
    ]
    bad = [text for flag, text in checks if flag]
    cls = SpectrumFit if axis == "frequency" else FieldSweepFit
    return cls(
        centre,
        width,
        float(vs),
        float(va),
        float(off),
        float(sl),
        stderr=stderr,
        covariance=cov,
        chi2_red=chi2_red,
        n_points=n,
        ok=not bad,
        message="; ".join(bad) or "ok",
        param_names=names,
        normalised=irf2 is not None,
    )


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
