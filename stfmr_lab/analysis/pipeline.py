"""``analyze(path)``: from a run file to the spin-torque vector (physics.md, Analysis).

1. dV/dI calibrations: each I-V sweep (RF off) gives R_d(I) and d2V/dI2(I); the easy-axis
   parallel and antiparallel sweeps give G_P, G_AP (and TMR(V)); the hard-axis sweeps give
   theta(H) from the zero-bias conductance and, across fields, d2V/(dtheta dI).
2. Spectra: the lock-in phase offset is found from X and Y (all sweeps pooled) and
   removed; each frequency sweep is fitted to the S/A lineshape on a sloped background,
   normalised by the bench path's I_RF^2(f) shape (the station's path calibration,
   recorded in the file), so the fitted background is (1/4) d2V/dI2 times the path
   calibration's error factor k, times the easy-axis reference's shape beyond that
   calibration (standing waves; Savitzky-Golay smoothed, cubic-spline interpolated). The
   spectra of one field that share the tail of a line outside the sweep (``tails``) have it
   subtracted and are refitted, the correction carried in their systematic errors; spectra
   holding more than one line are refitted by ``fit_lines``. The fits' systematic errors
   (background model, window) are carried beside the statistical ones (``*_err_sys``
   columns). Field sweeps: every line (``fit_lines``).
3. I_RF^2: k from the backgrounds at biases where d2V/dI2 is large (analysis step 2);
   reported as the disagreement with the path calibration.
4. Kittel fit of f0(H) for 4 pi Meff and Hk; Omega_perp from f0; torkances per spectrum
   (step 4) with propagated errors; alpha_eff; the linewidth-vs-bias fit (alpha and the
   in-plane torkance from the linewidth, step 5); A1 of tau_perp (step 6).

``analyze`` runs these as named steps on the loaded run, each returning a frozen result:
``_calibrations`` (1), ``_fitted_spectra`` (2, a ``ResonanceSpectrum`` per sweep), ``_irf2_scale``
(3), ``_spectrum_torkances`` (4: itself the named steps ``_resonance_frequencies``, ``_angle_terms``,
``_lineshape_terms``, ``_torkance_values``, ``_per_spectrum_table``), ``_per_bias``, ``_fits_across_bias``
and ``_summary``. A run without the dV/dI calibrations goes to ``_lineshape_only`` (``_lineshape_fits``,
``_lineshape_table``, ``_kittel_of_table``).

Ms*Vol is not measured here: it is an input (``ms_vol_emu``, default the paper's), and its
relative uncertainty (``ms_vol_rel_err``) is reported as a separate systematic error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.interpolate import CubicSpline
from scipy.signal import savgol_filter
from scipy.stats import f as f_distribution

from stfmr_lab.analysis.fit import STRUCTURE_MESSAGE, fit_spectra
from stfmr_lab.analysis.inverse import (
    GAMMA_RAD_S_OE,
    alpha_eff,
    fit_linewidth_bias,
    fit_tau_perp,
    kittel_fit,
    local_polynomial_derivative,
    omega_perp_from_f0,
    predicted_dtau_par_dv,
    theta_from_conductance,
    to_torkance_units,
    torkance_errors,
    torkances_from_fit,
    weighted_mean,
)
from stfmr_lab.analysis.inverse import d2v_dtheta_di as d2v_dtheta_di_curves
from stfmr_lab.analysis.lines import fit_lines
from stfmr_lab.analysis.lockin import lockin_phase, rotate
from stfmr_lab.analysis.residuals import hampel_outliers, noise_from_differences
from stfmr_lab.analysis.swept import refit_swept, swept_indices
from stfmr_lab.analysis.tails import MIN_SPECTRA as MIN_TAIL_SPECTRA
from stfmr_lab.analysis.tails import ORDER as TAIL_ORDER
from stfmr_lab.analysis.tails import find_tail
from stfmr_lab.instruments.path import BiasTeePath
from stfmr_lab.physics import LOCKIN_RMS_FACTOR, TORKANCE_UNIT_J_PER_V
from stfmr_lab.sample import declared_ms_vol_emu
from stfmr_lab.storage import RunData, read_run
from stfmr_lab.units import DVDI_LABELS, SPECTRUM_KINDS

#: a resonance sweep with fewer points is not fitted (6 parameters need a few more)
MIN_SPECTRUM_POINTS = 12
#: a spectrum uses the hard-axis dV/dI sweep at its field; farther than this (Oe) is warned
DVDI_FIELD_MATCH_OE = 5.0
#: the per-bias rows within this of 0 V give the summary's zero-bias torkance (V; half a
#: 0.05 V bias step, so one bias of the usual grids)
ZERO_BIAS_WINDOW_V = 0.026
GAMMA = GAMMA_RAD_S_OE
PAPER_MS_VOL_EMU = 1.06e-14


class AnalysisError(ValueError):
    """The run file lacks what an analysis step needs (said in one line)."""


@dataclass
class IVCurve:
    """One I-V calibration sweep, sorted by current, with its derivatives."""

    index: int
    label: str
    field_oe: float
    current_a: np.ndarray
    voltage_v: np.ndarray
    r_d_ohm: np.ndarray
    d2v_di2: np.ndarray

    @property
    def g0_s(self) -> float:
        """Zero-bias differential conductance (S)."""
        return 1.0 / float(np.interp(0.0, self.current_a, self.r_d_ohm))

    def at(self, current_a, what: str = "r_d_ohm"):
        return np.interp(current_a, self.current_a, getattr(self, what))


@dataclass
class Analysis:
    """What ``analyze`` found. ``per_spectrum`` and ``per_bias`` are the contract's tables."""

    path: Path
    per_spectrum: pd.DataFrame
    per_bias: pd.DataFrame
    summary: dict
    iv_curves: list = field(default_factory=list)
    spectra: dict = field(default_factory=dict)  # index -> (frequency_hz, vmix_v, fitted model V)
    field_sweeps: pd.DataFrame | None = None
    kittel: object = None
    linewidth_fits: dict = field(default_factory=dict)
    tau_perp_fits: dict = field(default_factory=dict)
    tmr_curve: tuple | None = None  # (voltage_v, G_P(V), G_AP(V))
    warnings: list = field(default_factory=list)


# ---------------------------------------------------------------------- calibrations
def iv_curves(run: RunData) -> list[IVCurve]:
    """Every I-V sweep of the run with R_d(I) and d2V/dI2(I) by local cubic fits."""
    iv, sw = run.tables["dvdi"], run.tables["dvdi_sweeps"]
    labels = {v: k for k, v in DVDI_LABELS.items()}
    out = []
    for k, idx in enumerate(sw["index"]):
        sel = iv["sweep"] == idx
        i, v, h = iv["bias_current"][sel], iv["bias_voltage"][sel], iv["field"][sel]
        order = np.argsort(i)
        i, v = i[order], v[order]
        keep = np.concatenate([[True], np.diff(i) > 0])  # a repeated current (resume): keep one
        i, v = i[keep], v[keep]
        if i.size < 7:
            continue
        r_d = local_polynomial_derivative(i, v, window=7, degree=3, deriv=1)
        d2 = local_polynomial_derivative(i, v, window=9, degree=4, deriv=2)
        out.append(IVCurve(int(idx), labels.get(int(sw["label"][k]), "hard"), float(np.median(h)), i, v, r_d, d2))
    return out


def _pick(curves, label):
    c = [x for x in curves if x.label == label]
    return c[-1] if c else None


def _conductance_polynomial(voltage_v, current_a, degree: int) -> tuple[np.ndarray, float]:
    """dI/dV (S) as a polynomial of ``degree`` in V (coefficients lowest order first), and the
    variance (S^2) of its value at V = 0: the derivative of the least-squares polynomial of
    ``degree + 1`` through the I(V) readings (V scaled to [-1, 1] for the fit)."""
    v, i = np.asarray(voltage_v, dtype=float), np.asarray(current_a, dtype=float)
    scale = float(np.max(np.abs(v))) or 1.0
    x = np.vander(v / scale, degree + 2, increasing=True)
    coef, *_ = np.linalg.lstsq(x, i, rcond=None)
    dof = max(v.size - degree - 2, 1)
    cov = np.linalg.inv(x.T @ x) * float(np.sum((i - x @ coef) ** 2)) / dof
    k = np.arange(1, degree + 2)  # d/dV of c_k (V/scale)^k: k c_k / scale^k times V^(k-1)
    return k * coef[1:] / scale**k, float(cov[1, 1]) / scale**2


@dataclass(frozen=True)
class ConductanceModel:
    """G(theta, V) = A(V) + B(V) cos(theta) from the parallel and antiparallel references.

    A = (G_P + G_AP)/2, B = (G_P - G_AP)/2, each a polynomial in V fitted to the measured
    dI/dV(V) of the easy-axis sweeps (the conductance's cos(theta) dependence is the one the
    angles themselves are defined by). Gives R_d, d2V/dI2 and d2V/(dtheta dI) at any angle
    and bias (physics.md forward steps 1-2, with measured G_P(V), G_AP(V)).
    """

    a: np.ndarray  # polynomial coefficients in V (S), lowest order first
    b: np.ndarray
    v_range: tuple
    b_err_s: float = 0.0  # 1-sigma error of the fitted B (S), from the fits' residual scatter

    @classmethod
    def from_references(cls, p_curve: IVCurve, ap_curve: IVCurve, degree: int = 6) -> "ConductanceModel":
        P = np.polynomial.polynomial
        fits, var = [], 0.0
        for c in (p_curve, ap_curve):
            g = 1.0 / c.r_d_ohm
            coef = P.polyfit(c.voltage_v, g, degree)
            dof = max(g.size - degree - 1, 1)
            rms2 = float(np.sum((g - P.polyval(c.voltage_v, coef)) ** 2)) / dof
            var += rms2 * (degree + 1) / g.size / 4.0  # error of the fitted curve, halved in B
            fits.append(coef)
        gp, gap = fits
        lo = max(p_curve.voltage_v.min(), ap_curve.voltage_v.min())
        hi = min(p_curve.voltage_v.max(), ap_curve.voltage_v.max())
        return cls(0.5 * (gp + gap), 0.5 * (gp - gap), (float(lo), float(hi)), math.sqrt(var))

    @classmethod
    def from_reference_currents(cls, p_curve: IVCurve, ap_curve: IVCurve, degree: int = 6) -> "ConductanceModel":
        """The same model from the I(V) readings themselves: G_P, G_AP the derivatives of
        least-squares polynomials of ``degree + 1`` through I(V) (no derivative window, so no
        curvature bias from one; on a coarse I-V sweep, 33 points over +-0.2 mA, the window's
        bias reached 0.5 % of d2V/(dtheta dI)). ``analyze`` takes its difference from
        ``from_references`` as a systematic error of d2V/(dtheta dI)."""
        coefs, var = [], 0.0
        for c in (p_curve, ap_curve):
            g, g_var0 = _conductance_polynomial(c.voltage_v, c.current_a, degree)
            coefs.append(g)
            var += g_var0 / 4.0
        gp, gap = coefs
        lo = max(p_curve.voltage_v.min(), ap_curve.voltage_v.min())
        hi = min(p_curve.voltage_v.max(), ap_curve.voltage_v.max())
        return cls(0.5 * (gp + gap), 0.5 * (gp - gap), (float(lo), float(hi)), math.sqrt(var))

    def rel_err_b(self, v):
        """Relative 1-sigma error of B(V) (what d2V/(dtheta dI) scales with)."""
        _, b = self._ab(v)
        return self.b_err_s / np.abs(b)

    def _ab(self, v, deriv=0):
        P = np.polynomial.polynomial
        a, b = self.a, self.b
        if deriv > 0:
            a, b = P.polyder(a, deriv), P.polyder(b, deriv)
        elif deriv < 0:
            a, b = P.polyint(a, -deriv), P.polyint(b, -deriv)
        return P.polyval(v, a), P.polyval(v, b)

    def conductance(self, theta, v):
        a, b = self._ab(v)
        return a + b * np.cos(theta)

    def d2v_di2(self, theta, v):
        """dR_d/dI at fixed theta (Ohm/A) at bias voltage v."""
        g = self.conductance(theta, v)
        da, db = self._ab(v, 1)
        return -(da + db * np.cos(theta)) / g**3

    def d2v_dtheta_di(self, theta, v):
        """dR_d/dtheta at fixed I (Ohm/rad) at bias voltage v."""
        g = self.conductance(theta, v)
        _, b = self._ab(v)
        da, db = self._ab(v, 1)
        _, b_int = self._ab(v, -1)
        s = np.sin(theta)
        dg_dtheta = -b * s
        di_dtheta = -s * b_int
        dv_dtheta = -di_dtheta / g
        return -(dg_dtheta + (da + db * np.cos(theta)) * dv_dtheta) / g**2


def _cov(fit, a: str, b: str) -> float:
    """One covariance element of a lineshape fit (0 when the fit does not carry it)."""
    names = list(fit.param_names)
    if a not in names or b not in names or not np.all(np.isfinite(fit.covariance)):
        return 0.0
    return float(fit.covariance[names.index(a), names.index(b)])


def _theta_and_d2(curves, g_p, g_ap, degree: int = 6):
    """theta per hard-axis field, and (field index, I) -> (d2V/(dtheta dI), its 1-sigma error).

    The derivative across fields is noisy point by point (it differentiates measured
    readbacks twice); it is smooth in I, so each field's curve is replaced by a polynomial
    fit in I, whose residual scatter gives the error of the smoothed value.
    """
    hard = sorted((c for c in curves if c.label == "hard"), key=lambda c: c.field_oe)
    thetas = np.array([float(theta_from_conductance(c.g0_s, g_p, g_ap)) for c in hard])
    if len(hard) < 2:
        return hard, thetas, None
    grid, d2 = d2v_dtheta_di_curves(thetas, [c.current_a for c in hard], [c.r_d_ohm for c in hard])
    scale = np.max(np.abs(grid))
    x = grid / scale
    deg = min(degree, grid.size - 2)
    smooth, err = np.empty_like(d2), np.empty(len(hard))
    for k in range(len(hard)):
        coef = np.polynomial.polynomial.polyfit(x, d2[k], deg)
        smooth[k] = np.polynomial.polynomial.polyval(x, coef)
        dof = max(grid.size - deg - 1, 1)
        rms = math.sqrt(float(np.sum((d2[k] - smooth[k]) ** 2)) / dof)
        err[k] = rms * math.sqrt((deg + 1) / grid.size)

    def lookup(curve_index: int, current_a):
        return np.interp(current_a, grid, smooth[curve_index]), err[curve_index]

    return hard, thetas, lookup


def _refit_structured(fits, spectra: list[ResonanceSpectrum], warnings: list, skip=(), tails=None) -> list:
    """Spectra whose one-line fit has structured residuals, refitted by ``fit_lines`` (a
    second mode, spikes the one-line fit could not place): its strongest line replaces
    the one-line fit when it is ok, or when both fail only the structure check and the
    extra lines explain more than chance (``_explains_more``). ``skip``: positions not to refit (swept spectra);
    ``tails``: by position, a spectrum's subtracted tail (V) with its errors
    (``_neighbour_tails``): the data without it refitted, its errors carried."""
    out = list(fits)
    n_new = 0
    for n, ft in enumerate(fits):
        if n in skip or ft.ok or ft.message != STRUCTURE_MESSAGE:
            continue
        try:
            tail = (tails or {}).get(n)
            lines = fit_lines(spectra[n].f_hz, spectra[n].vmix_v - (0.0 if tail is None else tail[0]),
                              irf2=spectra[n].irf2)
        except ValueError:
            continue
        if len(lines) > 1:
            main = max(lines, key=lambda x: math.hypot(x.v_sym, x.v_asym))
            if main.ok or (main.message == STRUCTURE_MESSAGE and _explains_more(ft, main, len(lines))):
                out[n] = main if tail is None else _with_tail_errors(main, tail[1], tail[2])
                n_new += 1
    if n_new:
        warnings.append(f"{n_new} spectra hold more than one line: their strongest fitted with the others (fit_lines)")
    return out


def _neighbour_tails(fits, spectra: list[ResonanceSpectrum], warnings: list, skip=()) -> tuple[list, dict]:
    """The spectra of one field (the same frequencies) whose backgrounds share the tail of a
    line outside the sweep (``tails.find_tail``): the tail subtracted, the spectra refitted,
    the tail's errors added to theirs. ``skip``: positions not to use (swept spectra).
    Returns the fits and, by position, (the tail subtracted (V), its extra covariance, its
    systematic errors)."""
    groups: dict[tuple, list[int]] = {}
    for n, (sp, ft) in enumerate(zip(spectra, fits, strict=True)):
        if n in skip or not (ft.ok or ft.message == STRUCTURE_MESSAGE) or sp.irf2 is None:
            continue
        # the same frequencies: one field's spectra (the measured field varies by its jitter)
        groups.setdefault((sp.f_hz.size, float(sp.f_hz[0]), float(sp.f_hz[-1])), []).append(n)
    out, tails = list(fits), {}
    for idx in groups.values():
        f = spectra[idx[0]].f_hz
        if len(idx) < MIN_TAIL_SPECTRA or not all(np.array_equal(spectra[i].f_hz, f) for i in idx):
            continue
        tail = find_tail(f, np.stack([spectra[i].vmix_v / spectra[i].irf2 for i in idx]),
                         np.stack([spectra[i].irf2**2 for i in idx]), [fits[i] for i in idx])
        if tail is None:
            continue
        for k, i in enumerate(idx):
            tails[i] = (spectra[i].irf2 * tail.curves[k], tail.extra_covariance[k], tail.systematic[k])
        refit = fit_spectra([f] * len(idx), [spectra[i].vmix_v - tails[i][0] for i in idx],
                            irf2=[spectra[i].irf2 for i in idx], slope=True)
        for k, i in enumerate(idx):
            out[i] = _with_tail_errors(refit[k], tail.extra_covariance[k], tail.systematic[k])
        where = "above" if tail.centre_hz > f[-1] else "below"
        field_oe = float(np.median([spectra[i].field_oe for i in idx]))
        warnings.append(
            f"{len(idx)} spectra at {field_oe:.0f} Oe share the tail of a line {where} the sweep (about "
            f"{tail.centre_hz / 1e9:.2f} GHz, HWHM {tail.hwhm_hz / 1e6:.0f} MHz, {tail.ratio:.2f} x the main line; "
            f"{tail.n_alike} places alike; chi2 drop {tail.chi2_drop:.0f}, p {tail.p_value:.1e}): subtracted and "
            "refitted, the correction carried in their systematic errors")
    return out, tails


def _with_tail_errors(ft, extra, sys):
    """``ft`` with ``extra`` (6 x 6, in ``tails.ORDER``) added to its covariance and errors,
    and ``sys`` (6,) to its systematic errors (in quadrature)."""
    names = list(ft.param_names)
    pos = [names.index(k) if k in names else None for k in TAIL_ORDER]
    cov = np.array(ft.covariance, dtype=float, copy=True)
    stderr, stderr_sys = dict(ft.stderr), dict(ft.stderr_sys)
    for a, pa in enumerate(pos):
        if pa is None:
            continue
        name = TAIL_ORDER[a]
        stderr[name] = float(math.sqrt(stderr[name] ** 2 + extra[a, a]))
        stderr_sys[name] = float(math.hypot(stderr_sys.get(name, 0.0), sys[a]))
        for b, pb in enumerate(pos):
            if pb is not None:
                cov[pa, pb] += extra[a, b]
    return replace(ft, covariance=cov, stderr=stderr, stderr_sys=stderr_sys)


#: a multi-line fit replaces a one-line fit that both fail only the structure check when its
#: extra lines lower the residual beyond chance (F-test at this p-value)
_MORE_LINES_P = 1e-3


def _explains_more(one, main, n_lines: int) -> bool:
    """Whether ``fit_lines``' ``n_lines``-line fit (``main``: its strongest line) explains the
    spectrum better than the one-line fit ``one`` when both have structured residuals (a
    bench's drift and 1/f noise): the drop of the residual sum of squares per extra parameter
    (4 a line) against the multi-line fit's residual variance (F-test). The one-line fit of
    a sweep that holds two lines carries the other line in its amplitudes."""
    extra = 4 * (n_lines - 1)
    dof_one = one.n_points - len(one.stderr)
    dof_k = dof_one - extra
    if dof_k <= 0 or main.n_points != one.n_points or not (main.chi2_red > 0):
        return False
    f = (one.chi2_red * dof_one - main.chi2_red * dof_k) / extra / main.chi2_red
    return bool(f > 0 and f_distribution.sf(f, extra, dof_k) < _MORE_LINES_P)


def _fits_used(fits, warnings: list) -> np.ndarray:
    """Which fits the torkances use: the ok ones and those whose only objection is
    structured residuals (the model misses something the fit cannot place: the path's
    ripple the calibration lacks, say), said in a warning; their systematic errors are
    carried beside the statistical ones (``*_err_sys``)."""
    ok = np.array([ft.ok for ft in fits], dtype=bool)
    structured = np.array([not ft.ok and ft.message == STRUCTURE_MESSAGE for ft in fits], dtype=bool)
    if structured.any():
        warnings.append(f"{int(structured.sum())} of {len(fits)} lineshape fits have structured residuals (the model"
                        " misses something: see their residuals); used, with their systematic errors beside")
    return ok | structured


def _vmix_phase_removed(data) -> tuple[np.ndarray, float, float]:
    """(Vmix in V with the lock-in phase offset removed, the phase in rad, its 1-sigma error).

    The phase is the principal axis of the sweeps' (X, Y) points, each sweep's mean removed
    (``lockin.lockin_phase``); Vmix = (X cos phi + Y sin phi) / LOCKIN_RMS_FACTOR, as the
    recorded Vmix = X / LOCKIN_RMS_FACTOR. A file without Y keeps its Vmix."""
    x, y = data.get("lockin_x"), data.get("lockin_y")
    if x is None or y is None:
        return data["vmix"], 0.0, math.nan
    phase, err = lockin_phase(x, y, groups=data["spectrum"])
    if phase == 0.0:
        return data["vmix"], 0.0, err
    return rotate(x, y, phase) / LOCKIN_RMS_FACTOR, phase, err


# ---------------------------------------------------------------------- the pipeline
def _run_path(run: RunData, warnings: list) -> BiasTeePath:
    """The RF path calibration the run recorded (two-number model or S21 table), or flat."""
    settings = run.instruments.get("path", {}).get("settings", {})
    rf_path = BiasTeePath.from_snapshot(settings)
    if rf_path is None:
        what = ("the file gives the S21 table's size only (an older run file)" if "table_points" in settings
                else "no path calibration in the file")
        warnings.append(f"{what}: I_RF^2(f) taken as flat")
        return BiasTeePath(0.0, 0.0, source="flat")
    return rf_path


#: the easy-axis reference's shape is smoothed (its noise would otherwise enter every
#: spectrum's I_RF^2) by a Savitzky-Golay filter of this many points and polynomial order, and
#: interpolated onto the spectra's frequencies by a cubic spline: at the 20 MHz spacing of a
#: 351-point 5-12 GHz reference a standing wave of 0.35 GHz period keeps its amplitude to
#: 0.1 % (a 3-point running mean and linear interpolation lost 4-6 %)
_REFERENCE_SMOOTH_POINTS = 9
_REFERENCE_SMOOTH_POLYORDER = 4
#: ... and divided by its own cubic trend: slow drift is not a property of the path
_REFERENCE_SMOOTH_ORDER = 1


def _reference_shape(run: RunData, vmix_all, rf_path: BiasTeePath, warnings: list):
    """The measured I_RF^2(f) shape relative to the path calibration, from the easy-axis
    background references (``background`` with ``axis: easy``), or None.

    On the easy axis there is no resonance: Vmix = (1/4) d2V/dI2 I_RF^2(f), so Vmix(f) divided
    by the calibration's I_RF^2(f) is flat up to what the calibration misses (standing waves
    between source, bias tee and probe). Each reference sweep is divided by its calibration
    (the device resistance enters as an f-independent factor), normalised to its median and
    divided by its own cubic trend in f (the lock-in's slow drift during the sweep and a smooth
    error of the calibration are left to the fits' sloped background and to the I_RF^2 scale),
    averaged with weights (its signal over its scatter); the result is smoothed over
    ``_REFERENCE_SMOOTH_POINTS`` points. Returns the shape (~1) as a function of f (Hz): a cubic
    spline through the reference's frequencies, held at its end values beyond them.
    """
    D, S = run.data, run.tables["spectra"]
    ref = [
        int(idx) for k, idx in enumerate(S["index"])
        if int(S["kind"][k]) == SPECTRUM_KINDS["background"] and abs(float(S["field_angle"][k])) < 45.0
    ]
    parts = []
    for idx in ref:
        sel = D["spectrum"] == idx
        f, v = D["frequency"][sel], vmix_all[sel]
        order = np.argsort(f, kind="stable")
        f, v = f[order], v[order]
        cal = rf_path.i_rf(f, float(np.median(D["rf_power"][sel])), 0.0) ** 2
        r = v / cal
        # spikes (bus glitches) out by the fitters' Hampel test, replaced by their neighbours:
        # a running median would clip the standing wave's crests (by ~6 % of its amplitude at
        # 17 points a period)
        spikes = hampel_outliers(r[None, :], np.isfinite(r)[None, :])[0]
        if spikes.any() and (~spikes).sum() >= 2:
            r = r.copy()
            r[spikes] = np.interp(f[spikes], f[~spikes], r[~spikes])
        level = float(np.median(r))
        scatter = float(noise_from_differences(r[None, :], np.ones((1, r.size), dtype=bool))[0]) if r.size > 2 else math.inf
        if not (abs(level) > 5 * scatter):
            warnings.append(f"spectrum {idx}: easy-axis reference too weak to shape I_RF^2 (signal {level:.3g}, scatter {scatter:.3g})")
            continue
        # what varies slowly (the lock-in's drift over the sweep, a smooth error of the
        # calibration) is left to the fits' sloped background and the I_RF^2 scale: only the
        # part that a cubic in f does not follow (standing waves) shapes the spectra
        u = (f - f.mean()) / (np.ptp(f) / 2.0)
        smooth = np.polynomial.polynomial.polyval(u, np.polynomial.polynomial.polyfit(u, r, _REFERENCE_SMOOTH_ORDER))
        parts.append((f, r / smooth, (level / scatter) ** 2))
    if not parts:
        return None
    f0 = parts[0][0]  # the references' weighted mean on the first one's frequencies
    shape = sum(np.interp(f0, f, r) * w for f, r, w in parts) / sum(w for _, _, w in parts)
    if shape.size > _REFERENCE_SMOOTH_POINTS:
        shape = savgol_filter(shape, _REFERENCE_SMOOTH_POINTS, _REFERENCE_SMOOTH_POLYORDER, mode="interp")
    warnings.append(f"I_RF^2(f) shaped by {len(parts)} easy-axis reference sweep(s): "
                    f"{100 * (shape.max() - shape.min()) / 2:.1f} % ripple beyond the path calibration")
    f0, at = np.unique(f0, return_inverse=True)  # a reference that repeats frequencies: their mean
    shape = np.bincount(at, shape) / np.bincount(at)
    if f0.size < 2:
        return lambda f: np.full(np.shape(f), shape[0])
    spline = CubicSpline(f0, shape)
    return lambda f: spline(np.clip(f, f0[0], f0[-1]))


@dataclass(frozen=True, eq=False)
class ResonanceSpectrum:
    """One resonance frequency sweep as ``analyze`` fits it, sorted by frequency.

    ``vmix_v`` has the lock-in phase removed. ``irf2`` (A^2 per frequency point), the index of
    the hard-axis dV/dI curve it uses (``hard_curve_index``, into ``Calibrations.hard``) and the
    device's R_d there (``r_d_ohm``) are set once the calibrations are known (None before).
    """

    index: int
    f_hz: np.ndarray
    vmix_v: np.ndarray
    field_oe: float
    bias_current_a: float
    bias_voltage_v: float
    rf_power_dbm: float
    irf2: np.ndarray | None = None
    hard_curve_index: int | None = None
    r_d_ohm: float | None = None


def _resonance_spectra(run: RunData, vmix_all=None):
    """Each resonance frequency sweep (>= 12 points) as a ``ResonanceSpectrum`` (without its
    I_RF^2 and calibration yet), sorted by frequency; Vmix with the lock-in phase removed
    (``vmix_all``: already so, for all points)."""
    D, S = run.data, run.tables["spectra"]
    if vmix_all is None:
        vmix_all = _vmix_phase_removed(D)[0]
    for k, idx in enumerate(S["index"]):
        if int(S["kind"][k]) != SPECTRUM_KINDS["resonance"]:
            continue
        sel = D["spectrum"] == idx
        if np.count_nonzero(sel) < MIN_SPECTRUM_POINTS:
            continue
        f, v = D["frequency"][sel], vmix_all[sel]
        order = np.argsort(f, kind="stable")  # adaptive sweeps record points out of order (repeats allowed)
        yield ResonanceSpectrum(
            index=int(idx), f_hz=f[order], vmix_v=v[order], field_oe=float(np.median(D["field"][sel])),
            bias_current_a=float(np.median(D["bias_current"][sel])),
            bias_voltage_v=float(np.median(D["bias_voltage"][sel])), rf_power_dbm=float(np.median(D["rf_power"][sel])),
        )


def _lineshape_columns(ft, irf2_f0: float) -> dict:
    """A fit's lineshape columns: f0, width, and the amplitudes in volts at f0."""
    return {
        "f0_hz": ft.f0_hz, "f0_hz_err": ft.stderr["f0_hz"], "hwhm_hz": ft.hwhm_hz, "hwhm_hz_err": ft.stderr["hwhm_hz"],
        "f0_hz_err_sys": ft.stderr_sys.get("f0_hz", 0.0), "hwhm_hz_err_sys": ft.stderr_sys.get("hwhm_hz", 0.0),
        # the fit in volts at f0 (the fit itself is of Vmix / I_RF^2(f), columns *_per_irf2)
        "v_sym": ft.v_sym * irf2_f0, "v_sym_err": ft.stderr["v_sym"] * irf2_f0,
        "v_asym": ft.v_asym * irf2_f0, "v_asym_err": ft.stderr["v_asym"] * irf2_f0,
        "offset": ft.offset * irf2_f0, "offset_err": ft.stderr["offset"] * irf2_f0,
    }


def _field_sweeps(run: RunData, vmix_all=None, warnings: list | None = None) -> pd.DataFrame | None:
    """Field sweeps (if any): every line (one per polarity through zero), Lorentzians in H,
    one row per line; Vmix with the lock-in phase removed."""
    D, S = run.data, run.tables["spectra"]
    fsel = [int(i) for k, i in enumerate(S["index"]) if int(S["kind"][k]) == SPECTRUM_KINDS["field"]]
    if not fsel:
        return None
    if vmix_all is None:
        vmix_all = _vmix_phase_removed(D)[0]
    rows = []
    swept = swept_indices(run)
    for i in fsel:
        sel = D["spectrum"] == i
        if i in swept and warnings is not None:
            # the closed field loop moves the field over its settling time, longer than a dwell:
            # when the lock-in's input changed is not known to the millisecond the model needs
            warnings.append(f"field sweep {i}: swept, fitted as settled (the lock-in's lag in H is not modelled)")
        try:
            # the rectified background follows theta(H) across a field sweep: a cubic
            lines = fit_lines(D["field"][sel], vmix_all[sel], axis="field", background_order=3)
        except ValueError as e:
            if warnings is not None:
                warnings.append(f"field sweep {i}: {e}")
            continue
        for n_line, ft in enumerate(lines):
            rows.append({
                "spectrum": i, "line": n_line, "h0_oe": ft.h0_oe, "h0_oe_err": ft.stderr["h0_oe"],
                "h0_oe_err_sys": ft.stderr_sys.get("h0_oe", 0.0), "dh_oe": ft.dh_oe, "dh_oe_err": ft.stderr["dh_oe"],
                "dh_oe_err_sys": ft.stderr_sys.get("dh_oe", 0.0), "v_sym": ft.v_sym, "v_sym_err": ft.stderr["v_sym"],
                "v_asym": ft.v_asym, "v_asym_err": ft.stderr["v_asym"], "offset": ft.offset, "slope": ft.slope,
                "fit_ok": bool(ft.ok), "fit_message": ft.message,
            })
    return pd.DataFrame(rows, columns=list(rows[0]) if rows else ["spectrum", "line", "h0_oe", "dh_oe", "fit_ok"])


#: the contract's per-bias columns (an empty table has them too)
PER_BIAS_COLUMNS = ("field_oe", "bias_voltage_v", "bias_current_a", "theta_deg", "dtau_par_dv", "dtau_par_dv_err",
                    "dtau_perp_dv", "dtau_perp_dv_err", "alpha_eff", "alpha_eff_err", "ms_vol_emu")


@dataclass(frozen=True, eq=False)
class LineshapeFits:
    """What a run without the dV/dI calibrations gives: its resonance spectra, each with the
    shape of the path's I_RF^2(f) (A^2, at R_d = 0: the device resistance is unknown) and its
    lineshape fit, the field sweeps' lines, and the lock-in phase found (rad, 1-sigma error)."""

    spectra: list  # ResonanceSpectrum
    shapes: list  # I_RF^2(f) per spectrum
    fits: list
    field_sweeps: pd.DataFrame | None
    phase_rad: float
    phase_err_rad: float
    tails: dict = field(default_factory=dict)  # position -> the subtracted tail of a line outside the sweep (V)


def _lineshape_fits(run: RunData, path, warnings: list, reason: str) -> LineshapeFits:
    """The lineshape-only analysis's fits: each resonance spectrum divided by the path's
    I_RF^2(f) shape (the amplitudes in volts at f0 do not depend on R_d), times the easy-axis
    reference's shape where the run has one, fitted as the full analysis fits (``_fit_resonances``);
    the field sweeps' lines. Raises ``AnalysisError`` when there is nothing to fit (``reason``: why the
    torkances are skipped)."""
    rf_path = _run_path(run, warnings)
    vmix_all, phase, phase_err = _vmix_phase_removed(run.data)
    if phase:
        warnings.append(f"lock-in phase offset {math.degrees(phase):.2f} deg found and removed")
    specs = list(_resonance_spectra(run, vmix_all))
    field_sweeps = _field_sweeps(run, vmix_all, warnings)
    if not specs and field_sweeps is None:
        raise AnalysisError(f"{path}: no resonance spectra or field sweeps to fit ({reason})")
    shape = _reference_shape(run, vmix_all, rf_path, warnings) if specs else None
    specs = [replace(sp, irf2=rf_path.i_rf(sp.f_hz, sp.rf_power_dbm, 0.0) ** 2 * (1.0 if shape is None else shape(sp.f_hz)))
             for sp in specs]
    fits, tails = _fit_resonances(run, specs, vmix_all, warnings) if specs else ([], {})
    return LineshapeFits(specs, [sp.irf2 for sp in specs], fits, field_sweeps, phase, phase_err, tails)


def _lineshape_table(lf: LineshapeFits) -> tuple[pd.DataFrame, dict]:
    """The lineshape-only per-spectrum table (f0, width, amplitudes in volts at f0, the fit's
    verdict) and the model curves (index -> (frequency_hz, vmix_v, fitted model V))."""
    rows, model_curves = [], {}
    for n, (sp, shape, ft) in enumerate(zip(lf.spectra, lf.shapes, lf.fits, strict=True)):
        rows.append({"spectrum": sp.index, "field_oe": sp.field_oe, "bias_current_a": sp.bias_current_a,
                     "bias_voltage_v": sp.bias_voltage_v, "rf_power_dbm": sp.rf_power_dbm,
                     **_lineshape_columns(ft, float(np.interp(ft.f0_hz, sp.f_hz, shape))),
                     "chi2_red": ft.chi2_red, "fit_ok": bool(ft.ok), "fit_message": ft.message})
        model_curves[sp.index] = (sp.f_hz, sp.vmix_v, ft.model(sp.f_hz) * shape + lf.tails.get(n, 0.0))
    per_spectrum = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["spectrum", "field_oe", "f0_hz", "fit_ok"])
    return per_spectrum, model_curves


def _kittel_of_table(per_spectrum: pd.DataFrame, gamma: float, skipped: list):
    """The Kittel fit of the ok fits' f0(|H|) when they span two fields at least, else None
    (why: appended to ``skipped``)."""
    ok = per_spectrum["fit_ok"].to_numpy(dtype=bool)
    if len(np.unique(per_spectrum["field_oe"][ok].astype(float).round(0))) < 2:
        skipped.append("Kittel fit: needs spectra at two fields at least")
        return None
    try:
        return kittel_fit(np.abs(per_spectrum["field_oe"][ok].to_numpy()), per_spectrum["f0_hz"][ok].to_numpy(), gamma,
                          f0_err_hz=per_spectrum["f0_hz_err"][ok].to_numpy())
    except (ValueError, RuntimeError) as e:
        skipped.append(f"Kittel fit: {e}")
        return None


def _lineshape_only(run: RunData, path, warnings: list, reason: str, gamma: float) -> Analysis:
    """What a run without the dV/dI calibrations still gives: the lineshape fits (the
    spectrum divided by the path's I_RF^2(f) shape) and, across fields, the Kittel fit."""
    lf = _lineshape_fits(run, path, warnings, reason)
    per_spectrum, model_curves = _lineshape_table(lf)
    skipped = [f"torkances, theta(H), I_RF^2 and damping: {reason}"]
    kit = _kittel_of_table(per_spectrum, gamma, skipped)
    summary = {"file": str(run.path), "status": run.status, "spectra_fitted": int(per_spectrum["fit_ok"].sum()),
               "spectra_total": len(per_spectrum), "skipped": skipped, "warnings": warnings,
               "lockin_phase_deg": math.degrees(lf.phase_rad), "lockin_phase_deg_err": math.degrees(lf.phase_err_rad)}
    if lf.field_sweeps is not None:
        summary["field_sweeps_fitted"] = int(lf.field_sweeps["fit_ok"].sum())
        summary["field_sweeps_total"] = len(lf.field_sweeps)
    if kit is not None:
        summary.update({"meff_4pi_oe": kit.meff_4pi_oe, "meff_4pi_oe_err": kit.stderr["meff_4pi_oe"],
                        "hk_oe": kit.hk_oe, "hk_oe_err": kit.stderr["hk_oe"]})
    return Analysis(path=run.path, per_spectrum=per_spectrum, per_bias=pd.DataFrame(columns=list(PER_BIAS_COLUMNS)),
                    summary=summary, spectra=model_curves, field_sweeps=lf.field_sweeps, kittel=kit, warnings=warnings)


#: the biases (V) the summary quotes TMR(V) at (the seed quotes 154 % at 0 and 43 % at 540 mV)
TMR_QUOTE_V = (0.54, -0.54)


def _tmr_of_v(v, g_p, g_ap) -> dict:
    """Differential TMR(V) = G_P(V)/G_AP(V) - 1 at +-540 mV (nan outside the measured range),
    and the bias where it has fallen to half its zero-bias value (each polarity)."""
    tmr = g_p / g_ap - 1.0
    t0 = float(np.interp(0.0, v, tmr))
    out = {}
    for vq in TMR_QUOTE_V:
        key = f"tmr_at_{'minus_' if vq < 0 else ''}{abs(vq) * 1000:.0f}mv"
        out[key] = float(np.interp(vq, v, tmr)) if v.min() <= vq <= v.max() else math.nan
    for sign, name in ((1, "v_half_tmr_pos_v"), (-1, "v_half_tmr_neg_v")):
        side = (v * sign) >= 0
        vs, ts = np.abs(v[side]), tmr[side]
        order = np.argsort(vs)
        vs, ts = vs[order], ts[order]
        below = np.nonzero(ts <= 0.5 * t0)[0]
        out[name] = math.nan
        if below.size and below[0] > 0:  # interpolate between the last point above half and the first below
            k = below[0]
            out[name] = float(sign * np.interp(0.5 * t0, [ts[k], ts[k - 1]], [vs[k], vs[k - 1]]))
    return out


def resolve_ms_vol(run: RunData, ms_vol_emu: float | None = None) -> tuple[float, str]:
    """(Ms*Vol in emu, where it came from): the argument, else the sample the run file
    declares (``sample:`` of the run config), else the paper's value (an assumption)."""
    if ms_vol_emu is not None:
        if not (math.isfinite(ms_vol_emu) and ms_vol_emu > 0):
            raise AnalysisError(f"ms_vol_emu: must be a positive number of emu, got {ms_vol_emu!r}")
        return float(ms_vol_emu), "given to the analysis"
    declared = declared_ms_vol_emu(run.sample.get("declared", {}))
    if declared is not None:
        return declared, "declared in the run file (sample:)"
    return PAPER_MS_VOL_EMU, "assumed: the paper's value (none declared)"


# ---------------------------------------------------------------------- analyze(): its steps
class _LineshapeOnly(Exception):
    """The run lacks the dV/dI calibrations the torkances need (the reason, one line)."""


@dataclass(frozen=True, eq=False)
class Calibrations:
    """Step 1's results: what the I-V sweeps (RF off) give."""

    p_curve: IVCurve  # easy axis, parallel
    ap_curve: IVCurve  # easy axis, antiparallel
    g_p_s: float  # zero-bias conductances (S)
    g_ap_s: float
    tmr0: float
    polarization: float  # Julliere's, from tmr0
    hard: list  # the hard-axis IVCurves, by field
    thetas_rad: np.ndarray  # theta per hard-axis curve
    d2v_dtheta_di_across_fields: Callable  # (hard index, I) -> (d2V/(dtheta dI), its error), Ohm/rad
    cmodel: ConductanceModel
    cmodel_direct: ConductanceModel  # the same from the I(V) readings: its difference is a systematic error
    tmr_curve: tuple  # (voltage_v, G_P(V), G_AP(V)) on the voltages common to P and AP

    @property
    def hard_fields_oe(self) -> np.ndarray:
        return np.array([c.field_oe for c in self.hard])

    def predicted_dtau_par_dv(self, bias_voltage_v):
        """The in-plane torkance Julliere's polarization and (dI/dV)_P at that bias predict
        (torkance units)."""
        p = self.p_curve
        return to_torkance_units(predicted_dtau_par_dv(
            1.0 / p.at(np.interp(bias_voltage_v, p.voltage_v, p.current_a)), self.polarization))


def _calibrations(curves: list[IVCurve]) -> Calibrations:
    """Step 1: G_P, G_AP, TMR, theta(H) and d2V/(dtheta dI) from the I-V curves; raises
    ``_LineshapeOnly`` when the curves do not allow it."""
    p_curve, ap_curve = _pick(curves, "parallel"), _pick(curves, "antiparallel")
    if p_curve is None or ap_curve is None:
        raise _LineshapeOnly("no easy-axis parallel/antiparallel dV/dI references (add a dvdi measurement with reference_loops)")
    g_p, g_ap = p_curve.g0_s, ap_curve.g0_s
    tmr0 = g_p / g_ap - 1.0
    polarization = math.sqrt(tmr0 / (2.0 + tmr0)) if tmr0 > 0 else math.nan  # Julliere
    hard, thetas, d2th = _theta_and_d2(curves, g_p, g_ap)
    cmodel = ConductanceModel.from_references(p_curve, ap_curve)
    if not hard:
        raise _LineshapeOnly("no hard-axis dV/dI sweeps: theta(H) is unknown")
    if d2th is None:
        raise _LineshapeOnly("d2V/(dtheta dI) needs hard-axis dV/dI sweeps at two fields at least")
    # voltages common to P and AP for TMR(V) and the prediction's (dI/dV)_P
    vgrid = np.linspace(*cmodel.v_range, 81)
    gp_v = 1.0 / np.interp(vgrid, p_curve.voltage_v, p_curve.r_d_ohm)
    gap_v = 1.0 / np.interp(vgrid, ap_curve.voltage_v, ap_curve.r_d_ohm)
    return Calibrations(p_curve, ap_curve, g_p, g_ap, tmr0, polarization, hard, thetas, d2th, cmodel,
                        ConductanceModel.from_reference_currents(p_curve, ap_curve), (vgrid, gp_v, gap_v))


@dataclass(frozen=True, eq=False)
class FittedSpectra:
    """Step 2's results: the resonance spectra with their I_RF^2 and lineshape fits."""

    spectra: list  # ResonanceSpectrum, each with irf2, hard_curve_index and r_d_ohm
    fits: list  # one lineshape fit per spectrum (fit in Vmix / I_RF^2)
    vmix_all: np.ndarray  # every point's Vmix (V), the lock-in phase removed
    phase_rad: float
    phase_err_rad: float
    tails: dict = field(default_factory=dict)  # position -> the subtracted tail of a line outside the sweep (V)


def _fitted_spectra(run: RunData, cal: Calibrations, path, warnings: list) -> FittedSpectra:
    """Step 2: each resonance spectrum with its I_RF^2(f) (the run's path calibration, shaped
    by the easy-axis reference) and R_d from the nearest hard-axis curve, fitted."""
    rf_path = _run_path(run, warnings)
    vmix_all, phase, phase_err = _vmix_phase_removed(run.data)
    shape = _reference_shape(run, vmix_all, rf_path, warnings)
    hard_fields = cal.hard_fields_oe
    specs = []
    for sp in _resonance_spectra(run, vmix_all):
        h = sp.field_oe
        j = int(np.argmin(np.abs(hard_fields - h)))
        if abs(hard_fields[j] - h) > DVDI_FIELD_MATCH_OE:
            warnings.append(f"spectrum {sp.index}: no dV/dI sweep at {h:.0f} Oe; using the one at {hard_fields[j]:.0f} Oe")
        r_d = float(cal.hard[j].at(sp.bias_current_a))
        irf2_path = rf_path.i_rf(sp.f_hz, sp.rf_power_dbm, r_d) ** 2  # exactly the calibration the run used
        if shape is not None:  # times what the easy-axis reference measured beyond it
            irf2_path = irf2_path * shape(sp.f_hz)
        specs.append(replace(sp, irf2=irf2_path, hard_curve_index=j, r_d_ohm=r_d))
    if not specs:
        raise AnalysisError(f"{path}: no resonance spectra to fit")
    fits, tails = _fit_resonances(run, specs, vmix_all, warnings)
    return FittedSpectra(specs, fits, vmix_all, phase, phase_err, tails)


def _fit_resonances(run: RunData, specs: list[ResonanceSpectrum], vmix_all, warnings: list) -> tuple[list, dict]:
    """The lineshape fits of resonance spectra (each with its ``irf2``), as both analyses fit
    them: one line on a sloped background in Vmix / I_RF^2; swept spectra through the lock-in
    filter; the shared tail of a line outside the sweep subtracted per field; a spectrum
    holding more than one line refitted by ``fit_lines``. Returns the fits and, by position,
    the tails subtracted (V)."""
    fits = fit_spectra([s.f_hz for s in specs], [s.vmix_v for s in specs], irf2=[s.irf2 for s in specs], slope=True)
    fits = refit_swept(run, [s.index for s in specs], fits, [(s.f_hz, s.irf2) for s in specs],  # through the lock-in filter
                       vmix_v=vmix_all)
    swept = swept_indices(run)  # fit_lines and the tails read as settled: not for swept spectra
    skip = {n for n, s in enumerate(specs) if s.index in swept}
    fits, tails = _neighbour_tails(fits, specs, warnings, skip=skip)
    fits = _refit_structured(fits, specs, warnings, skip=skip, tails=tails)
    return fits, {n: tail for n, (tail, _, _) in tails.items()}


@dataclass(frozen=True, eq=False)
class IRF2Scale:
    """Step 3's results: I_RF^2's scale against the path calibration, from the backgrounds."""

    k_scale: float
    k_err: float
    d2v_di2_ohm_per_a: np.ndarray  # per spectrum, at its bias
    used: np.ndarray  # the fits the torkances use
    background_used: np.ndarray  # the backgrounds the scale uses


def _irf2_scale(cal: Calibrations, fitted: FittedSpectra, min_background_fraction: float, path,
                warnings: list) -> IRF2Scale:
    """Step 3: k = 4 offset / (d2V/dI2) averaged over the fits at biases where d2V/dI2 is at
    least ``min_background_fraction`` of its largest."""
    specs, fits = fitted.spectra, fitted.fits
    d2_at = np.array([float(cal.hard[s.hard_curve_index].at(s.bias_current_a, "d2v_di2")) for s in specs])
    off = np.array([ft.offset for ft in fits])
    off_err = np.array([ft.stderr["offset"] for ft in fits])
    usable = np.abs(d2_at) >= min_background_fraction * np.max(np.abs(d2_at))
    used = _fits_used(fits, warnings)
    usable &= used & (d2_at != 0)
    if not np.any(usable):
        raise AnalysisError(f"{path}: no spectrum at a bias with a usable background (d2V/dI2 too small everywhere)")
    k_i = 4.0 * off[usable] / d2_at[usable]
    k_err_i = 4.0 * off_err[usable] / np.abs(d2_at[usable])
    k_scale, k_err = weighted_mean(k_i, k_err_i, inflate=True)
    return IRF2Scale(k_scale, k_err, d2_at, used, usable)


@dataclass(frozen=True, eq=False)
class ResonanceFrequencies:
    """Step 4a: the Kittel fit of the used spectra's f0(H) and, per spectrum, omega_m (2 pi f0,
    rad/s) and Omega_perp (dimensionless)."""

    kittel: object
    omega_m: np.ndarray
    omega_perp: np.ndarray
    omega_perp_err: np.ndarray  # from Hk's error (0 where the Kittel fit gives none: two fields)


def _resonance_frequencies(fitted: FittedSpectra, used: np.ndarray, gamma: float, warnings: list) -> ResonanceFrequencies:
    """Step 4a: Kittel fit of f0(|H|) over the used fits (weighted by their f0 errors), Omega_perp
    of every spectrum from its own f0, with the error Hk's gives it (Omega_perp = omega_m /
    (gamma (|H| - Hk)): relative error err(Hk) / (|H| - Hk), common to the spectra)."""
    f0 = np.array([ft.f0_hz for ft in fitted.fits])
    f0_err = np.array([ft.stderr["f0_hz"] for ft in fitted.fits])
    h_arr = np.array([s.field_oe for s in fitted.spectra])
    kit = kittel_fit(np.abs(h_arr[used]), f0[used], gamma, f0_err_hz=f0_err[used])
    omega_perp = omega_perp_from_f0(f0, h_arr, kit.hk_oe, gamma)
    hk_err = float(kit.stderr.get("hk_oe", math.nan))
    if math.isfinite(hk_err):
        omega_perp_err = omega_perp * hk_err / np.abs(np.abs(h_arr) - kit.hk_oe)
    else:
        omega_perp_err = np.zeros_like(omega_perp)
        warnings.append("the Kittel fit has no error for Hk (two field magnitudes; three give one): Omega_perp's "
                        "error is not in the dtau_perp/dV errors")
    return ResonanceFrequencies(kit, 2 * np.pi * f0, omega_perp, omega_perp_err)


@dataclass(frozen=True, eq=False)
class AngleTerms:
    """Step 4b: per spectrum, theta (rad) and d2V/(dtheta dI) (Ohm/rad) with its 1-sigma error."""

    theta_rad: np.ndarray
    d2v_dtheta_di_ohm: np.ndarray
    d2v_dtheta_di_err_ohm: np.ndarray
    crosscheck: float  # median relative difference, model vs across-field derivative
    d2v_dtheta_di_err_sys_ohm: np.ndarray  # the model's difference from the one fitted to I(V) itself


def _angle_terms(cal: Calibrations, specs: list) -> AngleTerms:
    """Step 4b: d2V/(dtheta dI) from the cos(theta) conductance model of the P/AP references at
    each spectrum's angle and bias; the across-field derivative of the hard-axis dV/dI curves is
    the cross-check."""
    theta = cal.thetas_rad[[s.hard_curve_index for s in specs]]
    vb_arr = np.array([s.bias_voltage_v for s in specs])
    d2th_at = cal.cmodel.d2v_dtheta_di(theta, vb_arr)
    d2th_err = np.abs(d2th_at) * cal.cmodel.rel_err_b(vb_arr)
    d2th_fields = np.array([float(cal.d2v_dtheta_di_across_fields(s.hard_curve_index, s.bias_current_a)[0]) for s in specs])
    d2th_sys = np.abs(cal.cmodel_direct.d2v_dtheta_di(theta, vb_arr) - d2th_at)
    return AngleTerms(theta, d2th_at, d2th_err, float(np.median(np.abs(d2th_fields / d2th_at - 1.0))), d2th_sys)


@dataclass(frozen=True, eq=False)
class LineshapeTerms:
    """Step 4c: per spectrum, the fits' amplitudes over I_RF^2 (V/A^2: the fit is of Vmix over
    the path's I_RF^2(f), divided by the scale k), the linewidth sigma = 2 pi HWHM (rad/s), their
    statistical and systematic errors and the amplitudes' covariance with sigma (V rad/s / A^2)."""

    a_s: np.ndarray
    a_a: np.ndarray
    sigma_rad_s: np.ndarray
    a_s_err: np.ndarray
    a_a_err: np.ndarray
    sigma_err_rad_s: np.ndarray
    a_s_sigma_cov: np.ndarray
    a_a_sigma_cov: np.ndarray
    a_s_err_sys: np.ndarray
    a_a_err_sys: np.ndarray
    sigma_err_sys_rad_s: np.ndarray


def _lineshape_terms(fits: list, k_scale: float) -> LineshapeTerms:
    """Step 4c: the lineshape fits' amplitudes, width, errors and covariances in the units the
    torkance formulas take (see ``LineshapeTerms``)."""
    def stat(key):
        return np.array([ft.stderr[key] for ft in fits])

    def sys(key):  # a fit without systematics (the swept fitter's) counts 0
        return np.array([ft.stderr_sys.get(key, 0.0) for ft in fits])

    two_pi = 2 * np.pi
    return LineshapeTerms(
        a_s=np.array([ft.v_sym for ft in fits]) / k_scale, a_a=np.array([ft.v_asym for ft in fits]) / k_scale,
        sigma_rad_s=two_pi * np.array([ft.hwhm_hz for ft in fits]),
        a_s_err=stat("v_sym") / k_scale, a_a_err=stat("v_asym") / k_scale, sigma_err_rad_s=two_pi * stat("hwhm_hz"),
        # the fit's correlation of the amplitudes with the width (hwhm -> sigma = 2 pi hwhm)
        a_s_sigma_cov=np.array([_cov(ft, "v_sym", "hwhm_hz") for ft in fits]) * two_pi / k_scale,
        a_a_sigma_cov=np.array([_cov(ft, "v_asym", "hwhm_hz") for ft in fits]) * two_pi / k_scale,
        a_s_err_sys=sys("v_sym") / k_scale, a_a_err_sys=sys("v_asym") / k_scale,
        sigma_err_sys_rad_s=two_pi * sys("hwhm_hz"),
    )


@dataclass(frozen=True, eq=False)
class TorkanceValues:
    """Step 4d: per spectrum, the torkances divided by sin(theta) in (hbar/2e)/kOhm: the values,
    their whole statistical errors (``*_err``), the lineshape fits' share of them (``*_fit_err``)
    and the fits' systematic errors (``*_err_sys``), each a (par, perp) pair of arrays."""

    value: tuple
    err: tuple
    fit_err: tuple
    err_sys: tuple


def _torkance_values(lt: LineshapeTerms, res: ResonanceFrequencies, ang: AngleTerms, r_d_ohm: np.ndarray,
                     irf2_rel_err: float, ms_vol_emu: float, gamma: float) -> TorkanceValues:
    """Step 4d: the torkances (physics.md, analysis step 4) with their errors, propagated three
    ways: everything statistical (the fit, I_RF^2's scale, d2V/(dtheta dI)), the fit alone (what
    the frequency sampling controls), and the fits' systematic errors (background model,
    window), beside the statistical ones."""
    common = (lt.a_s, lt.a_a, lt.sigma_rad_s, res.omega_perp, ang.d2v_dtheta_di_ohm, 1.0, ms_vol_emu, gamma, r_d_ohm)
    fit_part = {"v_sym_err": lt.a_s_err, "v_asym_err": lt.a_a_err, "sigma_err_rad_s": lt.sigma_err_rad_s,
                "v_sym_sigma_cov": lt.a_s_sigma_cov, "v_asym_sigma_cov": lt.a_a_sigma_cov}
    value = torkances_from_fit(*common)
    err = torkance_errors(*common, **fit_part, irf2_err=irf2_rel_err, d2v_dtheta_di_err=ang.d2v_dtheta_di_err_ohm,
                          omega_perp_err=res.omega_perp_err)
    fit_err = torkance_errors(*common, **fit_part)
    err_sys = torkance_errors(*common, v_sym_err=lt.a_s_err_sys, v_asym_err=lt.a_a_err_sys,
                              sigma_err_rad_s=lt.sigma_err_sys_rad_s, d2v_dtheta_di_err=ang.d2v_dtheta_di_err_sys_ohm)

    def units(pair):
        return tuple(to_torkance_units(x, ang.theta_rad) for x in pair)

    return TorkanceValues(units(value), units(err), units(fit_err), units(err_sys))


@dataclass(frozen=True, eq=False)
class SpectrumTorkances:
    """Step 4's results: the Kittel fit and, per spectrum, the torkances and damping."""

    kittel: object
    omega_m: np.ndarray  # 2 pi f0 (rad/s) per spectrum
    omega_perp: np.ndarray
    d2v_dtheta_di_crosscheck: float  # median relative difference, model vs across-field derivative
    per_spectrum: pd.DataFrame
    model_curves: dict  # index -> (frequency_hz, vmix_v, fitted model V)


def _per_spectrum_table(cal: Calibrations, fitted: FittedSpectra, scale: IRF2Scale, res: ResonanceFrequencies,
                        ang: AngleTerms, tv: TorkanceValues, lt: LineshapeTerms) -> tuple[pd.DataFrame, dict]:
    """Step 4e: the per-spectrum table (one row per fitted spectrum) and the model curves
    (index -> (frequency_hz, vmix_v, fitted model V, a subtracted tail included))."""
    specs, fits, used = fitted.spectra, fitted.fits, scale.used
    (par_u, perp_u), (par_eu, perp_eu) = tv.value, tv.err
    (par_feu, perp_feu), (par_su, perp_su) = tv.fit_err, tv.err_sys
    a_eff = alpha_eff(lt.sigma_rad_s, res.omega_m, res.omega_perp)
    a_eff_err = a_eff * lt.sigma_err_rad_s / lt.sigma_rad_s
    rows, model_curves = [], {}
    for n, (s, ft) in enumerate(zip(specs, fits, strict=True)):
        irf2_f0 = float(np.interp(ft.f0_hz, np.sort(s.f_hz), s.irf2[np.argsort(s.f_hz)]))
        rows.append({
            "spectrum": s.index, "field_oe": s.field_oe, "bias_current_a": s.bias_current_a,
            "bias_voltage_v": s.bias_voltage_v, "rf_power_dbm": s.rf_power_dbm,
            **_lineshape_columns(ft, irf2_f0),
            "v_sym_per_irf2": ft.v_sym, "v_sym_per_irf2_err": ft.stderr["v_sym"],
            "v_asym_per_irf2": ft.v_asym, "v_asym_per_irf2_err": ft.stderr["v_asym"],
            "offset_per_irf2": ft.offset, "offset_per_irf2_err": ft.stderr["offset"],
            "v_sym_per_irf2_err_sys": ft.stderr_sys.get("v_sym", 0.0), "v_asym_per_irf2_err_sys": ft.stderr_sys.get("v_asym", 0.0),
            "slope_per_irf2": ft.slope, "error_inflation": ft.error_inflation, "runs_z": ft.runs_z,
            "n_outliers": ft.n_outliers,
            "chi2_red": ft.chi2_red, "fit_ok": bool(ft.ok), "fit_message": ft.message, "fit_used": bool(used[n]),
            "theta_deg": math.degrees(ang.theta_rad[n]), "r_d_ohm": s.r_d_ohm, "d2v_di2_ohm_per_a": scale.d2v_di2_ohm_per_a[n],
            "d2v_dtheta_di_ohm": ang.d2v_dtheta_di_ohm[n], "omega_perp": res.omega_perp[n],
            "background_used": bool(scale.background_used[n]),
            "dtau_par_dv": par_u[n], "dtau_par_dv_err": par_eu[n], "dtau_perp_dv": perp_u[n], "dtau_perp_dv_err": perp_eu[n],
            "dtau_par_dv_fit_err": par_feu[n], "dtau_perp_dv_fit_err": perp_feu[n],
            "dtau_par_dv_err_sys": par_su[n], "dtau_perp_dv_err_sys": perp_su[n],
            "alpha_eff": a_eff[n], "alpha_eff_err": a_eff_err[n],
        })
        # the model drawn is the line, its background and the tail subtracted before the fit
        model_curves[s.index] = (s.f_hz, s.vmix_v, ft.model(s.f_hz) * s.irf2 + fitted.tails.get(n, 0.0))
    per_spectrum = pd.DataFrame(rows)
    per_spectrum["dtau_par_dv_predicted"] = cal.predicted_dtau_par_dv([s.bias_voltage_v for s in specs])
    return per_spectrum, model_curves


def _spectrum_torkances(cal: Calibrations, fitted: FittedSpectra, scale: IRF2Scale, ms_vol_emu: float,
                        gamma: float, warnings: list) -> SpectrumTorkances:
    """Step 4: Kittel fit of f0(H), Omega_perp, and per spectrum the torkances with their
    statistical, fit-only and systematic errors and alpha_eff: the per-spectrum table."""
    res = _resonance_frequencies(fitted, scale.used, gamma, warnings)
    ang = _angle_terms(cal, fitted.spectra)
    lt = _lineshape_terms(fitted.fits, scale.k_scale)
    r_d = np.array([s.r_d_ohm for s in fitted.spectra])
    tv = _torkance_values(lt, res, ang, r_d, scale.k_err / scale.k_scale, ms_vol_emu, gamma)
    per_spectrum, model_curves = _per_spectrum_table(cal, fitted, scale, res, ang, tv, lt)
    return SpectrumTorkances(res.kittel, res.omega_m, res.omega_perp, ang.crosscheck, per_spectrum, model_curves)


def _per_bias(per_spectrum: pd.DataFrame, cal: Calibrations, ms_vol_emu: float) -> pd.DataFrame:
    """Step 5: the used spectra's torkances averaged per field and bias (the per-bias table)."""
    ok = per_spectrum["fit_used"].to_numpy()
    grouped = per_spectrum[ok].assign(v_round=lambda d: d["bias_voltage_v"].round(3), h_round=lambda d: d["field_oe"].round(0))
    rows = []
    for _key, g in grouped.groupby(["h_round", "v_round"], sort=True):
        wpar, wperp = 1 / g["dtau_par_dv_err"] ** 2, 1 / g["dtau_perp_dv_err"] ** 2
        par, par_err = weighted_mean(g["dtau_par_dv"], g["dtau_par_dv_err"])
        perp, perp_err = weighted_mean(g["dtau_perp_dv"], g["dtau_perp_dv_err"])
        rows.append({
            "field_oe": float(g["field_oe"].mean()),
            "bias_voltage_v": float(g["bias_voltage_v"].mean()),
            "bias_current_a": float(g["bias_current_a"].mean()),
            "theta_deg": float(g["theta_deg"].mean()),
            "dtau_par_dv": par, "dtau_par_dv_err": par_err, "dtau_perp_dv": perp, "dtau_perp_dv_err": perp_err,
            # the lineshape fits' share of those errors (same weights)
            "dtau_par_dv_fit_err": float(np.sqrt(np.sum(wpar**2 * g["dtau_par_dv_fit_err"] ** 2)) / np.sum(wpar)),
            "dtau_perp_dv_fit_err": float(np.sqrt(np.sum(wperp**2 * g["dtau_perp_dv_fit_err"] ** 2)) / np.sum(wperp)),
            # systematic errors do not average down: the same weights, added linearly
            "dtau_par_dv_err_sys": float(np.sum(wpar * g["dtau_par_dv_err_sys"]) / np.sum(wpar)),
            "dtau_perp_dv_err_sys": float(np.sum(wperp * g["dtau_perp_dv_err_sys"]) / np.sum(wperp)),
            "dtau_par_dv_predicted": float(cal.predicted_dtau_par_dv(g["bias_voltage_v"].mean())),
            "alpha_eff": float(g["alpha_eff"].mean()),
            "alpha_eff_err": float(np.sqrt(np.sum(g["alpha_eff_err"] ** 2)) / len(g)),
            "n_spectra": len(g),
            "ms_vol_emu": ms_vol_emu,  # the torkances scale with it
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class FieldScatter:
    """Step 5b: how far the fields disagree at a common bias, per torkance column.

    dtau/dV / sin(theta) at one bias does not depend on the field (physics.md): the per-bias
    rows of the fields at the same bias are replicates. ``ratio`` is the Birge ratio
    sqrt(chi2 / dof) of those rows about their weighted mean with their whole stated errors
    (statistical and systematic combined; the parts common to the fields, such as the I_RF^2
    scale, do not scatter, so the ratio errs low: it finds only what the errors cannot
    cover); ``dof`` its degrees of freedom (0: no bias measured at two fields)."""

    ratio: dict  # column -> Birge ratio (nan without replicates)
    dof: dict  # column -> degrees of freedom


#: the torkance columns whose field-to-field scatter is checked
TORKANCE_COLUMNS = ("dtau_par_dv", "dtau_perp_dv")


def _field_scatter(per_bias: pd.DataFrame) -> FieldScatter:
    """Step 5b: the Birge ratio of the fields' torkances at each common bias (``FieldScatter``)."""
    ratio, dof = {}, {}
    groups = per_bias.groupby(per_bias["bias_voltage_v"].round(3)) if len(per_bias) else []
    for col in TORKANCE_COLUMNS:
        chi2, n_dof = 0.0, 0
        for _v, g in groups:
            if len(g) < 2:
                continue
            err = np.hypot(g[f"{col}_err"], g[f"{col}_err_sys"]).to_numpy()
            mean, _ = weighted_mean(g[col], err)
            chi2 += float(np.sum(((g[col].to_numpy() - mean) / err) ** 2))
            n_dof += len(g) - 1
        ratio[col] = math.sqrt(chi2 / n_dof) if n_dof else math.nan
        dof[col] = n_dof
    return FieldScatter(ratio, dof)


def _with_field_scatter(per_bias: pd.DataFrame, scatter: FieldScatter, warnings: list) -> pd.DataFrame:
    """Step 5c: where the fields disagree beyond their errors (Birge ratio B > 1), the excess is a
    systematic error the fits do not see (the path's I_RF^2(f) at each field's f0, a lineshape
    the model misses): each row's combined error is scaled by B (as the Particle Data Group
    scales discrepant measurements), the added part sqrt(B^2 - 1) x that error joining
    ``*_err_sys`` in quadrature."""
    out = per_bias.copy()
    for col in TORKANCE_COLUMNS:
        b = scatter.ratio[col]
        if not b > 1.0:
            continue
        combined = np.hypot(out[f"{col}_err"], out[f"{col}_err_sys"])
        out[f"{col}_err_sys"] = np.hypot(out[f"{col}_err_sys"], math.sqrt(b * b - 1.0) * combined)
        warnings.append(f"{col}: the fields disagree at a common bias {b:.2f}x beyond their errors"
                        f" ({scatter.dof[col]} degrees of freedom): the excess added to {col}_err_sys")
    return out


def _fits_across_bias(tork: SpectrumTorkances, ms_vol_emu: float, gamma: float) -> tuple[dict, dict]:
    """Step 6: per field with three used spectra at least, the linewidth-vs-bias fit (alpha and
    the in-plane torkance) and A1 of tau_perp(V): ``({field: fit}, {field: fit})``."""
    per_spectrum, omega_m, omega_perp = tork.per_spectrum, tork.omega_m, tork.omega_perp
    ok = per_spectrum["fit_used"].to_numpy()
    lw_fits, tp_fits = {}, {}
    for h_r, g in per_spectrum[ok].groupby(per_spectrum[ok]["field_oe"].round(0)):
        if len(g) < 3:
            continue
        n0 = g.index[0]
        th = math.radians(float(g["theta_deg"].mean()))
        om = float(np.mean(omega_m[g.index])) if len(g.index) else float(omega_m[n0])
        lw_fits[float(h_r)] = fit_linewidth_bias(
            g["bias_voltage_v"], 2 * np.pi * g["hwhm_hz"], theta_rad=th, omega_m=om,
            omega_perp=float(np.mean(omega_perp[g.index])), ms_vol_emu=ms_vol_emu, gamma=gamma,
            sigma_err_rad_s=2 * np.pi * g["hwhm_hz_err"],
        )
        tp_fits[float(h_r)] = fit_tau_perp(
            g["bias_voltage_v"], g["dtau_perp_dv"] * TORKANCE_UNIT_J_PER_V, err=g["dtau_perp_dv_err"] * TORKANCE_UNIT_J_PER_V,
        )
    return lw_fits, tp_fits


def _summary(run: RunData, cal: Calibrations, fitted: FittedSpectra, scale: IRF2Scale, tork: SpectrumTorkances,
             per_bias: pd.DataFrame, lw_fits: dict, tp_fits: dict, ms_vol: tuple, ms_vol_rel_err: float,
             warnings: list) -> dict:
    """Step 7: the summary's figures (``ms_vol``: (emu, where it came from))."""
    ms_vol_emu, ms_vol_source = ms_vol
    kit, k_scale, k_err = tork.kittel, scale.k_scale, scale.k_err
    near0 = per_bias[per_bias["bias_voltage_v"].abs() < ZERO_BIAS_WINDOW_V]
    summary = {
        "file": str(run.path),
        "status": run.status,
        "spectra_fitted": int(tork.per_spectrum["fit_used"].to_numpy().sum()),
        "spectra_total": len(tork.per_spectrum),
        "r_p_ohm": 1 / cal.g_p_s,
        "r_ap_ohm": 1 / cal.g_ap_s,
        "tmr0": cal.tmr0,
        **_tmr_of_v(*cal.tmr_curve),
        "polarization_julliere": cal.polarization,
        "meff_4pi_oe": kit.meff_4pi_oe, "meff_4pi_oe_err": kit.stderr["meff_4pi_oe"],
        "hk_oe": kit.hk_oe, "hk_oe_err": kit.stderr["hk_oe"],
        "irf2_scale_vs_path": k_scale, "irf2_scale_vs_path_err": k_err,
        "irf2_backgrounds_used": int(scale.background_used.sum()),
        "d2v_dtheta_di_across_fields_median_rel_diff": tork.d2v_dtheta_di_crosscheck,
        "ms_vol_emu": ms_vol_emu, "ms_vol_source": ms_vol_source, "ms_vol_rel_err_systematic": ms_vol_rel_err,
        "ms_vol_assumed": ms_vol_source.startswith("assumed"),
        **dict(zip(("dtau_par_dv_at_0", "dtau_par_dv_at_0_err"),
                   weighted_mean(near0["dtau_par_dv"], near0["dtau_par_dv_err"]) if len(near0) else (math.nan, math.nan),
                   strict=True)),
        "dtau_par_dv_at_0_err_sys": float(np.mean(near0["dtau_par_dv_err_sys"])) if len(near0) else math.nan,
        "lockin_phase_deg": math.degrees(fitted.phase_rad), "lockin_phase_deg_err": math.degrees(fitted.phase_err_rad),
        "dtau_par_dv_at_0_predicted": float(to_torkance_units(predicted_dtau_par_dv(cal.g_p_s, cal.polarization))),
    }
    if lw_fits:
        summary["alpha"], summary["alpha_err"] = weighted_mean(
            [x.alpha for x in lw_fits.values()], [x.alpha_err for x in lw_fits.values()])
    if tp_fits:
        summary["a1_perp"], a1_err = weighted_mean([x.a1 for x in tp_fits.values()], [x.a1_err for x in tp_fits.values()])
        # the I_RF^2 scale is common to every bias: its error adds to A1's in full
        summary["a1_perp_err"] = float(math.hypot(a1_err, summary["a1_perp"] * k_err / k_scale))
    summary["warnings"] = warnings
    return summary


def analyze(
    path: str | Path,
    *,
    ms_vol_emu: float | None = None,
    ms_vol_rel_err: float = 0.1,
    gamma: float = GAMMA,
    min_background_fraction: float = 0.3,
) -> Analysis:
    """Analyse a run file (complete, aborted or interrupted): see the module docstring.

    ``ms_vol_emu``: the free layer's Ms*Vol (emu); by default the one the run file's
    ``/entry/sample/declared`` gives, else the paper's (said in the summary).
    """
    run = read_run(path)
    from stfmr_lab.analysis.sot_run import analyze_bilayer_run, is_bilayer_run  # imports this module

    if is_bilayer_run(run):  # a heavy-metal / ferromagnet strip: physics-sot.md's inverse
        return analyze_bilayer_run(run, path)
    warnings: list[str] = []
    ms_vol = resolve_ms_vol(run, ms_vol_emu)
    curves = iv_curves(run)
    try:
        cal = _calibrations(curves)
    except _LineshapeOnly as e:
        return _lineshape_only(run, path, warnings, str(e), gamma)
    fitted = _fitted_spectra(run, cal, path, warnings)
    scale = _irf2_scale(cal, fitted, min_background_fraction, path, warnings)
    tork = _spectrum_torkances(cal, fitted, scale, ms_vol[0], gamma, warnings)
    per_bias = _per_bias(tork.per_spectrum, cal, ms_vol[0])
    scatter = _field_scatter(per_bias)
    per_bias = _with_field_scatter(per_bias, scatter, warnings)
    lw_fits, tp_fits = _fits_across_bias(tork, ms_vol[0], gamma)
    summary = _summary(run, cal, fitted, scale, tork, per_bias, lw_fits, tp_fits, ms_vol, ms_vol_rel_err, warnings)
    summary.update({f"{col}_field_birge_ratio": scatter.ratio[col] for col in TORKANCE_COLUMNS})
    return Analysis(
        path=run.path, per_spectrum=tork.per_spectrum, per_bias=per_bias, summary=summary, iv_curves=curves,
        spectra=tork.model_curves, field_sweeps=_field_sweeps(run, fitted.vmix_all, warnings), kittel=tork.kittel,
        linewidth_fits=lw_fits, tau_perp_fits=tp_fits, tmr_curve=cal.tmr_curve, warnings=warnings,
    )
