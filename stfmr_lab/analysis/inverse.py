"""Inverting the ST-FMR physics: analysis steps 2-6 of the physics specification.

Pure numpy functions, each documented with its units. Conventions as in
``stfmr_lab.physics``: current A, voltage V, resistance Ohm, conductance S, field Oe,
frequency Hz, angular frequency rad/s, angles rad, Ms*Vol in emu, torkances in J/V
(``to_torkance_units`` converts to the (hbar/2e)/kOhm of the reports). Inside the LLG
formulas the magnetics are CGS (torque in erg, 1 J = 1e7 erg), as in the forward model.

Error policy of the fits here (``kittel_fit``, ``fit_linewidth_bias``, ``fit_tau_perp``):
with no per-point errors, or with ``absolute_sigma=False``, the covariance is scaled by the
reduced chi-square (as in ``fit_spectrum``); with errors and ``absolute_sigma=True`` the
errors are taken as absolute 1-sigma values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stfmr_lab.instruments.path import i_rf_a
from stfmr_lab.physics import ERG_PER_J, HBAR_2E_J_PER_A, TORKANCE_UNIT_J_PER_V

__all__ = [
    "GAMMA_RAD_S_OE",
    "Irf2Calibration",
    "KittelFit",
    "LinewidthBiasFit",
    "TauPerpFit",
    "alpha_eff",
    "calibrate_irf2",
    "carry_irf2",
    "conductances_from_loop",
    "d2v_di2_from_dvdi",
    "d2v_dtheta_di",
    "fit_linewidth_bias",
    "fit_tau_perp",
    "irf2_from_background",
    "irf2_from_path",
    "kittel_fit",
    "kittel_frequencies",
    "local_polynomial_derivative",
    "omega_perp_from_f0",
    "omega_perp_from_field",
    "predicted_dtau_par_dv",
    "theta_from_conductance",
    "to_torkance_units",
    "torkance_errors",
    "torkances_from_fit",
    "weighted_mean",
]

GAMMA_RAD_S_OE = 1.76e7  #: gyromagnetic ratio gamma (rad s^-1 Oe^-1), the physics preset


# ---------------------------------------------------------------------------------------- derivatives
def _local_poly_matrix(x, x_eval, window, degree, deriv):
    """Matrix M (len(x_eval), len(x)) such that M @ y is the ``deriv``-th derivative at
    ``x_eval`` of the least-squares polynomial of ``degree`` through the ``window`` points
    of ``x`` nearest to each evaluation point (x sorted, strictly increasing)."""
    n = x.size
    window = min(window, n)
    if degree >= window:
        raise ValueError(f"degree {degree} needs a window of at least {degree + 1} points")
    # first index of the window, clipped at the ends: an odd window is centred on the nearest
    # sample, an even one on the interval holding the evaluation point
    right = np.clip(np.searchsorted(x, x_eval), 0, n - 1)
    if window % 2:
        left = np.clip(right - 1, 0, n - 1)
        centre = np.where(np.abs(x[left] - x_eval) < np.abs(x[right] - x_eval), left, right)
    else:
        centre = right
    start = np.clip(centre - window // 2, 0, n - window)
    idx = start[:, None] + np.arange(window)[None, :]  # (k, window)
    scale = np.maximum(np.ptp(x[idx], axis=1), np.finfo(float).tiny)[:, None]
    dx = (x[idx] - x_eval[:, None]) / scale
    vander = dx[:, :, None] ** np.arange(degree + 1)[None, None, :]  # (k, window, degree + 1)
    pinv = np.linalg.pinv(vander)  # (k, degree + 1, window)
    factorial = float(np.prod(np.arange(1, deriv + 1)))
    weights = pinv[:, deriv, :] * factorial / scale**deriv
    out = np.zeros((x_eval.size, n))
    np.put_along_axis(out, idx, weights, axis=1)
    return out


def local_polynomial_derivative(x, y, *, x_eval=None, window=7, degree=3, deriv=1):
    """Derivative of sampled data by local least-squares polynomials (Savitzky-Golay for
    uneven samples).

    Parameters
    ----------
    x : 1-D array of sample positions (any order, distinct).
    y : array whose last axis matches ``x`` (several curves at once).
    x_eval : where to evaluate (default: at ``x``).
    window : number of nearest samples in each local fit (more: smoother).
    degree : polynomial degree (< window); ``window == degree + 1`` interpolates.
    deriv : derivative order (0: smoothed / interpolated values).

    Returns
    -------
    d^deriv y / dx^deriv at ``x_eval`` (unit of y per unit of x^deriv), shape y.shape[:-1] + (len(x_eval),).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or y.shape[-1] != x.size:
        raise ValueError(f"need a 1-D x matching the last axis of y, got {x.shape} and {y.shape}")
    order = np.argsort(x)
    xs = x[order]
    if np.any(np.diff(xs) <= 0):
        raise ValueError("x: sample positions must be distinct")
    xe = xs if x_eval is None else np.atleast_1d(np.asarray(x_eval, dtype=float))
    mat = _local_poly_matrix(xs, xe.ravel(), window, degree, deriv)
    out = y[..., order] @ mat.T
    if x_eval is None:
        res = np.empty_like(out)
        res[..., order] = out
        return res
    return out.reshape(y.shape[:-1] + np.shape(np.asarray(x_eval, dtype=float)))


def d2v_di2_from_dvdi(current_a, dvdi_ohm, *, window=7, degree=3):
    """d2V/dI2 (Ohm/A) from a measured differential-resistance curve dV/dI(I) (Ohm).

    The derivative of dV/dI with respect to I by local cubic least squares over ``window``
    neighbouring biases (see ``local_polynomial_derivative``); ``dvdi_ohm`` may hold several
    curves on the same currents (last axis = current). Returns values at ``current_a``.
    """
    return local_polynomial_derivative(current_a, dvdi_ohm, window=window, degree=degree, deriv=1)


def theta_from_conductance(g_s, g_p_s, g_ap_s):
    """Angle theta (rad) between free and fixed layer from the conductance:
    cos(theta) = (2 G - G_P - G_AP) / (G_P - G_AP), clipped to [-1, 1]. Conductances in S
    (zero-bias, or all at the same bias voltage). Broadcasts."""
    g, gp, gap = (np.asarray(v, dtype=float) for v in (g_s, g_p_s, g_ap_s))
    return np.arccos(np.clip((2.0 * g - gp - gap) / (gp - gap), -1.0, 1.0))


def conductances_from_loop(resistance_ohm):
    """(G_P, G_AP) in S from the resistances (Ohm) of an easy-axis loop.

    The readings are split into the low- and high-resistance branches at the midpoint of
    their range; each branch's conductance is the median of 1/R over its points.
    """
    r = np.asarray(resistance_ohm, dtype=float).ravel()
    r = r[np.isfinite(r)]
    mid = 0.5 * (r.min() + r.max())
    low, high = r[r <= mid], r[r > mid]
    if low.size == 0 or high.size == 0:
        raise ValueError("resistance_ohm: the loop shows a single state (no switching)")
    return float(np.median(1.0 / low)), float(np.median(1.0 / high))


def d2v_dtheta_di(theta_rad, current_a, dvdi_ohm, *, current_grid_a=None, window=3, degree=2, interp_window=4):
    """d2V/(dtheta dI) (Ohm/rad) from dV/dI(I) curves measured at several angles theta.

    Parameters
    ----------
    theta_rad : (k,) angle of each curve (e.g. from ``theta_from_conductance``), distinct.
    current_a : (n,) currents shared by all curves, or a list of k arrays (one per curve).
    dvdi_ohm : (k, n) array or list of k arrays, dV/dI in Ohm.
    current_grid_a : common currents (A) to evaluate at; default the currents of the first
        curve inside the range covered by all curves.
    window, degree : local polynomial in theta (default: a parabola through the 3 nearest
        angles; with 2 curves a straight line).
    interp_window : points of the local interpolating polynomial (degree interp_window - 1)
        used to bring every curve onto the common currents.

    Returns
    -------
    (current_grid_a (n_grid,), d2v_dtheta_di (k, n_grid)): the derivative with respect to
    theta at fixed current, at each curve's angle.
    """
    theta = np.asarray(theta_rad, dtype=float).ravel()
    k = theta.size
    if k < 2:
        raise ValueError("need dV/dI curves at two angles at least")
    if isinstance(current_a, np.ndarray) and current_a.ndim == 1:
        currents = [current_a] * k
    else:
        currents = [np.asarray(c, dtype=float) for c in current_a]
    curves = [np.asarray(c, dtype=float) for c in dvdi_ohm]
    if len(currents) != k or len(curves) != k:
        raise ValueError("need one current array and one dV/dI curve per angle")
    if current_grid_a is None:
        lo = max(c.min() for c in currents)
        hi = min(c.max() for c in currents)
        grid = np.sort(currents[0][(currents[0] >= lo) & (currents[0] <= hi)])
    else:
        grid = np.asarray(current_grid_a, dtype=float).ravel()
    on_grid = np.empty((k, grid.size))
    for j, (c, v) in enumerate(zip(currents, curves, strict=True)):
        if c.shape == grid.shape and np.array_equal(c, grid):
            on_grid[j] = v
        else:
            on_grid[j] = local_polynomial_derivative(
                c, v, x_eval=grid, window=interp_window, degree=interp_window - 1, deriv=0
            )
    w = min(window, k)
    deg = min(degree, w - 1)
    deriv = local_polynomial_derivative(theta, on_grid.T, window=w, degree=deg, deriv=1)  # (n_grid, k)
    return grid, deriv.T


# ---------------------------------------------------------------------------------------- I_RF
def irf2_from_background(offset_v, d2v_di2_ohm_per_a):
    """I_RF^2 (A^2, peak amplitude squared) from the non-resonant background C (V):
    C = (1/4) d2V/dI2 I_RF^2, so I_RF^2 = 4 C / (d2V/dI2) (d2V/dI2 in Ohm/A). NaN where
    d2V/dI2 = 0. Use biases where |d2V/dI2| is not small."""
    c = np.asarray(offset_v, dtype=float)
    d2 = np.asarray(d2v_di2_ohm_per_a, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d2 != 0, 4.0 * c / np.where(d2 != 0, d2, 1.0), np.nan)


def carry_irf2(irf2_ref_a2, r_d_ref_ohm, r_d_ohm, z0_ohm=50.0):
    """Carry I_RF^2 (A^2) from a reference bias (device resistance R_ref) to another (R):
    I_RF scales as 1/(z0 + R_d), so I_RF^2 = I_RF,ref^2 (z0 + R_ref)^2 / (z0 + R)^2 (Ohm)."""
    r_ref = np.asarray(r_d_ref_ohm, dtype=float)
    r = np.asarray(r_d_ohm, dtype=float)
    return np.asarray(irf2_ref_a2, dtype=float) * ((z0_ohm + r_ref) / (z0_ohm + r)) ** 2


def irf2_from_path(rf_power_dbm, loss_db, r_d_ohm, z0_ohm=50.0):
    """I_RF^2 (A^2) predicted by the bench path: I_RF = 2 sqrt(2 P z0) 10^(-loss/20) / (z0 + R_d),
    source power P in dBm, path loss in dB (positive = attenuation, e.g. from an S21 table),
    device resistance R_d in Ohm. The cross-check of ``calibrate_irf2``."""
    return i_rf_a(rf_power_dbm, loss_db, r_d_ohm, z0_ohm) ** 2


@dataclass(frozen=True)
class Irf2Calibration:
    """I_RF^2 (z0 + R_d)^2 = ``k_a2_ohm2`` (A^2 Ohm^2), constant over bias at one frequency.

    ``k_err_a2_ohm2`` is its 1-sigma error, ``used`` flags the biases that entered the mean.
    ``irf2(r_d_ohm)`` gives I_RF^2 (A^2) at any device resistance.
    """

    k_a2_ohm2: float
    k_err_a2_ohm2: float
    n_used: int
    used: np.ndarray
    z0_ohm: float = 50.0

    def irf2(self, r_d_ohm):
        """I_RF^2 in A^2 at device resistance ``r_d_ohm`` (Ohm)."""
        return self.k_a2_ohm2 / (self.z0_ohm + np.asarray(r_d_ohm, dtype=float)) ** 2

    def irf2_err(self, r_d_ohm):
        """1-sigma error of ``irf2`` in A^2 (from the calibration constant only)."""
        return self.k_err_a2_ohm2 / (self.z0_ohm + np.asarray(r_d_ohm, dtype=float)) ** 2


def calibrate_irf2(offset_v, d2v_di2_ohm_per_a, r_d_ohm, *, offset_err_v=None, z0_ohm=50.0, min_fraction=0.3):
    """Calibrate I_RF^2 from the backgrounds of spectra at several biases (analysis step 2).

    Each bias gives K_i = 4 C_i (z0 + R_i)^2 / (d2V/dI2)_i, which must be the same at all
    biases (I_RF = sqrt(K) / (z0 + R_d)). Only biases where |d2V/dI2| >= ``min_fraction``
    times its largest magnitude are used (near zero bias the ratio is ill-determined). The
    mean is weighted by the propagated background errors when ``offset_err_v`` (V) is given
    (error of the weighted mean, scaled by sqrt(chi2_red) when that exceeds 1), else
    unweighted (error: standard deviation / sqrt(n)).

    Inputs: offsets C in V, d2V/dI2 in Ohm/A, R_d in Ohm (arrays over bias).
    """
    c = np.asarray(offset_v, dtype=float).ravel()
    d2 = np.asarray(d2v_di2_ohm_per_a, dtype=float).ravel()
    r = np.asarray(r_d_ohm, dtype=float).ravel()
    if not (c.shape == d2.shape == r.shape):
        raise ValueError("offset_v, d2v_di2_ohm_per_a and r_d_ohm must have the same length")
    ok = np.isfinite(c) & np.isfinite(d2) & np.isfinite(r)
    used = ok & (np.abs(d2) >= min_fraction * np.max(np.abs(d2[ok]))) & (d2 != 0)
    if not np.any(used):
        raise ValueError("no bias with a usable d2V/dI2")
    k = 4.0 * c[used] * (z0_ohm + r[used]) ** 2 / d2[used]
    if offset_err_v is not None:
        err_c = np.broadcast_to(np.asarray(offset_err_v, dtype=float).ravel(), c.shape)[used]
        ke = 4.0 * err_c * (z0_ohm + r[used]) ** 2 / np.abs(d2[used])
        mean, err = weighted_mean(k, ke, inflate=True)
    else:
        mean = float(np.mean(k))
        err = float(np.std(k, ddof=1) / np.sqrt(k.size)) if k.size > 1 else np.nan
    return Irf2Calibration(float(mean), float(err), int(used.sum()), used, float(z0_ohm))


# ---------------------------------------------------------------------------------------- torkances
def _torkance_factor(sigma_rad_s, d2v_dtheta_di, irf2, ms_vol_emu, gamma, r_d):
    """4 MsVol sigma / (gamma d2V/(dtheta dI) I_RF^2 R_d) / 1e7: multiplies V_S (V) into J/V."""
    sigma, d2, i2, r = (np.asarray(v, dtype=float) for v in (sigma_rad_s, d2v_dtheta_di, irf2, r_d))
    return 4.0 * ms_vol_emu * sigma / (gamma * d2 * i2 * r) / ERG_PER_J


def torkances_from_fit(v_sym, v_asym, sigma_rad_s, omega_perp, d2v_dtheta_di, irf2, ms_vol_emu, gamma, r_d):
    """Torkances (dtau_par/dV, dtau_perp/dV) in J/V from the fitted resonance (analysis step 4).

    dtau_par/dI [erg/A] = V_S 4 MsVol sigma / (gamma d2V/(dtheta dI) I_RF^2),
    dtau_perp/dI [erg/A] = -V_A 4 MsVol sigma / (gamma Omega_perp d2V/(dtheta dI) I_RF^2),
    dtau/dV = (dtau/dI) / R_d, converted from erg to J.

    Parameters (broadcast)
    ----------
    v_sym, v_asym : fitted amplitudes V_S, V_A (V) of a frequency sweep.
    sigma_rad_s : linewidth sigma = 2 pi HWHM (rad/s).
    omega_perp : Omega_perp (dimensionless), e.g. ``omega_perp_from_f0``.
    d2v_dtheta_di : d2V/(dtheta dI) in Ohm/rad.
    irf2 : I_RF^2 in A^2 (peak amplitude squared).
    ms_vol_emu : Ms*Vol in emu.  gamma : rad s^-1 Oe^-1.  r_d : dV/dI in Ohm.

    Returns (dtau_par_dv, dtau_perp_dv) in J/V (including sin(theta); see ``to_torkance_units``).
    """
    f = _torkance_factor(sigma_rad_s, d2v_dtheta_di, irf2, ms_vol_emu, gamma, r_d)
    return np.asarray(v_sym, dtype=float) * f, -np.asarray(v_asym, dtype=float) * f / np.asarray(
        omega_perp, dtype=float
    )


def torkance_errors(
    v_sym,
    v_asym,
    sigma_rad_s,
    omega_perp,
    d2v_dtheta_di,
    irf2,
    ms_vol_emu,
    gamma,
    r_d,
    *,
    v_sym_err=0.0,
    v_asym_err=0.0,
    sigma_err_rad_s=0.0,
    d2v_dtheta_di_err=0.0,
    irf2_err=0.0,
    r_d_err=0.0,
    v_sym_sigma_cov=0.0,
    v_asym_sigma_cov=0.0,
    omega_perp_err=0.0,
):
    """1-sigma errors (J/V) of ``torkances_from_fit``'s results, first-order propagation
    (each ``*_err`` in the unit of its quantity; Ms*Vol and gamma taken as exact; Omega_perp's
    error ``omega_perp_err`` enters the perpendicular torkance only).
    The calibrations' errors are independent of the fit's; within one lineshape fit the
    amplitudes and the width are correlated (negatively: a wider line of the same area is
    lower), which ``v_sym_sigma_cov`` / ``v_asym_sigma_cov`` carry (cov(V_S, sigma) in V rad/s,
    from the fit's covariance; 0 treats them as independent).

    With X = V_S f (f = 4 MsVol sigma / (gamma d2V/(dtheta dI) I_RF^2 R_d)):
    err(X)^2 = (f err(V_S))^2 + 2 f (X / sigma) cov(V_S, sigma) + X^2 [(err sigma / sigma)^2 +
    (err d2V / d2V)^2 + (err I_RF^2 / I_RF^2)^2 + (err R_d / R_d)^2], and likewise for the
    perpendicular torkance with -V_A / Omega_perp. Returns (err_par, err_perp).
    """
    f = _torkance_factor(sigma_rad_s, d2v_dtheta_di, irf2, ms_vol_emu, gamma, r_d)
    rel2 = sum(
        (np.asarray(e, dtype=float) / np.asarray(v, dtype=float)) ** 2
        for e, v in (
            (sigma_err_rad_s, sigma_rad_s),
            (d2v_dtheta_di_err, d2v_dtheta_di),
            (irf2_err, irf2),
            (r_d_err, r_d),
        )
    )
    op = np.asarray(omega_perp, dtype=float)
    par = np.asarray(v_sym, dtype=float) * f
    perp = -np.asarray(v_asym, dtype=float) * f / op
    sig = np.asarray(sigma_rad_s, dtype=float)
    cross_par = 2.0 * f * par / sig * np.asarray(v_sym_sigma_cov, dtype=float)
    cross_perp = -2.0 * f / op * perp / sig * np.asarray(v_asym_sigma_cov, dtype=float)
    var_par = (f * np.asarray(v_sym_err, dtype=float)) ** 2 + par**2 * rel2 + cross_par
    var_perp = (f / op * np.asarray(v_asym_err, dtype=float)) ** 2 + perp**2 * rel2 + cross_perp
    var_perp = var_perp + (perp * np.asarray(omega_perp_err, dtype=float) / op) ** 2
    return np.sqrt(np.maximum(var_par, 0.0)), np.sqrt(np.maximum(var_perp, 0.0))


def to_torkance_units(dtau_dv_j_per_v, theta_rad=None):
    """Torkance in the reports' unit (hbar/2e)/kOhm: dtau/dV [J/V] / ((hbar/2e)/1000 Ohm),
    divided by sin(theta) when ``theta_rad`` is given."""
    out = np.asarray(dtau_dv_j_per_v, dtype=float) / TORKANCE_UNIT_J_PER_V
    if theta_rad is not None:
        out = out / np.sin(np.asarray(theta_rad, dtype=float))
    return out


def predicted_dtau_par_dv(g_p_s, polarization):
    """Predicted in-plane torkance divided by sin(theta), (hbar/4e) 2P/(1+P^2) (dI/dV)_P, in J/V,
    from the parallel differential conductance (S) and the spin polarisation P."""
    p = np.asarray(polarization, dtype=float)
    return 0.5 * HBAR_2E_J_PER_A * 2.0 * p / (1.0 + p * p) * np.asarray(g_p_s, dtype=float)


# ---------------------------------------------------------------------------------------- resonance
def kittel_frequencies(field_oe, meff_4pi_oe, hk_oe, gamma=GAMMA_RAD_S_OE):
    """(omega_m in rad/s, Omega_perp dimensionless) of the main mode for a hard-axis field:
    H' = |H| - Hk, omega_m = gamma sqrt(H' (H' + 4 pi Meff)), Omega_perp = gamma (H' + 4 pi Meff) / omega_m."""
    hp = np.abs(np.asarray(field_oe, dtype=float)) - hk_oe
    omega_m = gamma * np.sqrt(hp * (hp + meff_4pi_oe))
    return omega_m, gamma * (hp + meff_4pi_oe) / omega_m


def omega_perp_from_field(field_oe, meff_4pi_oe, hk_oe, gamma=GAMMA_RAD_S_OE):
    """Omega_perp (dimensionless) from the field and the Kittel parameters (see ``kittel_frequencies``)."""
    return kittel_frequencies(field_oe, meff_4pi_oe, hk_oe, gamma)[1]


def weighted_mean(values, errors, *, inflate: bool = False) -> tuple[float, float]:
    """Inverse-variance weighted mean of ``values`` with 1-sigma ``errors`` and its error;
    ``inflate``: scaled by sqrt(chi2_red) when the values scatter more than their errors say."""
    v = np.asarray(values, dtype=float)
    w = 1.0 / np.asarray(errors, dtype=float) ** 2
    mean = float(np.sum(w * v) / np.sum(w))
    err = float(1.0 / np.sqrt(np.sum(w)))
    if inflate and v.size > 1:
        err *= math.sqrt(max(float(np.sum(w * (v - mean) ** 2) / (v.size - 1)), 1.0))
    return mean, err


def omega_perp_from_f0(f0_hz, field_oe, hk_oe, gamma=GAMMA_RAD_S_OE):
    """Omega_perp = omega_m / (gamma (|H| - Hk)) (dimensionless) from a measured resonance
    frequency f0 (Hz): equivalent to gamma (H' + 4 pi Meff) / omega_m on the Kittel curve,
    without needing 4 pi Meff."""
    return 2.0 * np.pi * np.asarray(f0_hz, dtype=float) / (gamma * (np.abs(np.asarray(field_oe, dtype=float)) - hk_oe))


def alpha_eff(sigma_rad_s, omega_m, omega_perp):
    """Effective damping 2 sigma / (omega_m (Omega_perp + 1/Omega_perp)) (dimensionless);
    sigma and omega_m in rad/s."""
    op = np.asarray(omega_perp, dtype=float)
    return 2.0 * np.asarray(sigma_rad_s, dtype=float) / (np.asarray(omega_m, dtype=float) * (op + 1.0 / op))


def _weights(err, n):
    if err is None:
        return np.ones(n)
    e = np.broadcast_to(np.asarray(err, dtype=float), (n,))
    if np.any(~(e > 0)):
        raise ValueError("errors must be > 0")
    return 1.0 / e**2


def _linear_fit(design, y, err, absolute_sigma):
    """Weighted linear least squares: (coefficients, covariance, chi2_red)."""
    n, p = design.shape
    w = _weights(err, n)
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(design * sw[:, None], y * sw, rcond=None)
    res = (y - design @ coef) * sw
    dof = n - p
    chi2_red = float(res @ res / dof) if dof > 0 else np.nan
    cov = np.linalg.inv((design * w[:, None]).T @ design)
    if err is None or not absolute_sigma:
        cov = cov * chi2_red
    return coef, cov, chi2_red


@dataclass(frozen=True)
class KittelFit:
    """Kittel fit f0 = gamma/2pi sqrt((|H| - Hk)(|H| - Hk + 4 pi Meff)).

    ``meff_4pi_oe``, ``hk_oe`` in Oe; ``stderr`` their 1-sigma errors (same keys);
    ``covariance`` 2x2 in the order (meff_4pi_oe, hk_oe); ``chi2_red`` in Hz^2 when unweighted.
    """

    meff_4pi_oe: float
    hk_oe: float
    stderr: dict
    covariance: np.ndarray
    chi2_red: float
    n_points: int
    gamma: float = GAMMA_RAD_S_OE

    def f0_hz(self, field_oe):
        """The fitted Kittel curve (Hz) at ``field_oe`` (Oe)."""
        return kittel_frequencies(field_oe, self.meff_4pi_oe, self.hk_oe, self.gamma)[0] / (2.0 * np.pi)


def kittel_fit(field_oe, f0_hz, gamma=GAMMA_RAD_S_OE, *, f0_err_hz=None, absolute_sigma=False) -> KittelFit:
    """Fit 4 pi Meff and Hk (Oe) to resonance frequencies f0 (Hz) at hard-axis fields H (Oe).

    Start: (2 pi f0 / gamma)^2 - H^2 = a |H| + b is linear with a = 4piMeff - 2 Hk and
    b = Hk (Hk - 4piMeff); then Gauss-Newton on the frequencies themselves. Needs fields at
    two magnitudes at least (errors need three).
    """
    h = np.abs(np.asarray(field_oe, dtype=float).ravel())
    f = np.asarray(f0_hz, dtype=float).ravel()
    if h.shape != f.shape or np.unique(h).size < 2:
        raise ValueError("need f0 at two field magnitudes at least (equal-length arrays)")
    w = _weights(f0_err_hz, f.size)
    sw = np.sqrt(w)
    y = (2.0 * np.pi * f / gamma) ** 2 - h * h
    (a, b), *_ = np.linalg.lstsq(np.column_stack([h, np.ones_like(h)]) * sw[:, None], y * sw, rcond=None)
    disc = a * a - 4.0 * b
    hk = 0.5 * (-a + np.sqrt(disc)) if disc >= 0 else 0.0
    params = np.array([a + 2.0 * hk, hk])  # (4 pi Meff, Hk)
    k = gamma / (2.0 * np.pi)

    def model_jac(pr):
        m, hk_ = pr
        hp = h - hk_
        root = np.sqrt(np.maximum(hp * (hp + m), 1e-300))
        return k * root, np.column_stack([k * hp / (2.0 * root), -k * (2.0 * hp + m) / (2.0 * root)])

    for _ in range(100):
        model, jac = model_jac(params)
        step, *_ = np.linalg.lstsq(jac * sw[:, None], (f - model) * sw, rcond=None)
        params = params + step
        if np.all(np.abs(step) <= 1e-12 * (np.abs(params) + 1.0)):
            break
    model, jac = model_jac(params)
    res = (f - model) * sw
    dof = f.size - 2
    chi2_red = float(res @ res / dof) if dof > 0 else np.nan
    cov = np.linalg.inv((jac * w[:, None]).T @ jac)
    if f0_err_hz is None or not absolute_sigma:
        cov = cov * chi2_red
    err = np.sqrt(np.abs(np.diag(cov)))
    return KittelFit(
        float(params[0]),
        float(params[1]),
        {"meff_4pi_oe": float(err[0]), "hk_oe": float(err[1])},
        cov,
        chi2_red,
        int(f.size),
        float(gamma),
    )


# ---------------------------------------------------------------------------------------- bias dependence
@dataclass(frozen=True)
class LinewidthBiasFit:
    """Linear bias dependence of the linewidth at one field, sigma(V) = sigma0 + slope V.

    From step 6 of the forward model, sigma = (alpha omega_m / 2)(Omega_perp + 1/Omega_perp)
    - cot(theta) gamma tau_par[erg] / (2 Ms Vol) with tau_par = sin(theta) (dtau_par/dV / sin) V
    for a bias-independent in-plane torkance, so:

    alpha = 2 sigma0 / (omega_m (Omega_perp + 1/Omega_perp)) (Gilbert damping);
    dtau_par_dv_over_sin = -2 Ms Vol slope / (gamma cos(theta)) / 1e7 (J/V).

    ``sigma0_rad_s`` (rad/s), ``slope_rad_s_per_v`` (rad/s/V), and the derived values, each
    with its 1-sigma error (``*_err``); ``chi2_red`` of the straight-line fit.
    """

    sigma0_rad_s: float
    sigma0_err_rad_s: float
    slope_rad_s_per_v: float
    slope_err_rad_s_per_v: float
    alpha: float
    alpha_err: float
    dtau_par_dv_over_sin: float
    dtau_par_dv_over_sin_err: float
    chi2_red: float


def fit_linewidth_bias(
    voltage_v,
    sigma_rad_s,
    *,
    theta_rad,
    omega_m,
    omega_perp,
    ms_vol_emu,
    gamma=GAMMA_RAD_S_OE,
    sigma_err_rad_s=None,
    absolute_sigma=False,
) -> LinewidthBiasFit:
    """Fit sigma(V) = sigma0 + slope V at one field (theta, omega_m, Omega_perp fixed) and
    convert to the Gilbert damping and the in-plane torkance (see ``LinewidthBiasFit``).

    Inputs: bias voltages (V), linewidths sigma = 2 pi HWHM (rad/s) and optional errors,
    theta (rad), omega_m (rad/s), Omega_perp, Ms*Vol (emu), gamma (rad s^-1 Oe^-1).
    """
    v = np.asarray(voltage_v, dtype=float).ravel()
    s = np.asarray(sigma_rad_s, dtype=float).ravel()
    (s0, sl), cov, chi2_red = _linear_fit(np.column_stack([np.ones_like(v), v]), s, sigma_err_rad_s, absolute_sigma)
    e0, esl = np.sqrt(np.abs(np.diag(cov)))
    k_alpha = float(alpha_eff(1.0, omega_m, omega_perp))
    k_tau = -2.0 * ms_vol_emu / (gamma * np.cos(theta_rad)) / ERG_PER_J
    return LinewidthBiasFit(
        float(s0),
        float(e0),
        float(sl),
        float(esl),
        k_alpha * s0,
        abs(k_alpha) * e0,
        float(k_tau * sl),
        float(abs(k_tau) * esl),
        chi2_red,
    )


@dataclass(frozen=True)
class TauPerpFit:
    """Perpendicular torque: tau_perp / sin(theta) = A0 + A1 V^2.

    ``a1`` in (hbar/2e) kOhm^-1 V^-1 (the physics.md unit; ``a1_j_per_v2`` the same in J/V^2)
    with its 1-sigma error, from the direct fit of dtau_perp/dV / sin(theta) = 2 A1 V (+ c
    when ``offset`` was requested; ``offset_j_per_v`` is then c in J/V, a term linear in V in
    tau_perp). ``voltage_v`` and ``tau_perp_over_sin_j`` are the torque integrated by the
    trapezoid rule (J), zero at V = 0: A0 is an integration constant that torkance data do
    not determine, so it is not reported. ``chi2_red`` of the direct fit.
    """

    a1: float
    a1_err: float
    a1_j_per_v2: float
    offset_j_per_v: float
    offset_err_j_per_v: float
    chi2_red: float
    voltage_v: np.ndarray
    tau_perp_over_sin_j: np.ndarray


def fit_tau_perp(voltage_v, dtau_perp_dv_over_sin, *, err=None, offset=False, absolute_sigma=False) -> TauPerpFit:
    """Fit the perpendicular torkance (J/V, divided by sin theta) vs bias voltage (V).

    Fits dtau_perp/dV / sin(theta) = 2 A1 V (+ c) by weighted linear least squares (``err``:
    optional 1-sigma errors in J/V). This is the derivative of tau_perp/sin = A0 + A1 V^2; the
    integrated curve (trapezoid rule, zero at V = 0) is returned for plotting. A1 is returned in
    (hbar/2e) kOhm^-1 V^-1.
    """
    v = np.asarray(voltage_v, dtype=float).ravel()
    t = np.asarray(dtau_perp_dv_over_sin, dtype=float).ravel()
    order = np.argsort(v)
    v, t = v[order], t[order]
    e = None if err is None else np.broadcast_to(np.asarray(err, dtype=float), order.shape)[order]
    cols = [2.0 * v] + ([np.ones_like(v)] if offset else [])
    coef, cov, chi2_red = _linear_fit(np.column_stack(cols), t, e, absolute_sigma)
    errs = np.sqrt(np.abs(np.diag(cov)))
    # trapezoid integral, then shifted so that it is zero at V = 0 (interpolated)
    tau = np.concatenate([[0.0], np.cumsum(0.5 * (t[1:] + t[:-1]) * np.diff(v))])
    if v[0] <= 0.0 <= v[-1]:
        tau = tau - np.interp(0.0, v, tau)
    a1 = float(coef[0])
    return TauPerpFit(
        a1 / TORKANCE_UNIT_J_PER_V,
        float(errs[0]) / TORKANCE_UNIT_J_PER_V,
        a1,
        float(coef[1]) if offset else 0.0,
        float(errs[1]) if offset else 0.0,
        chi2_red,
        v,
        tau,
    )
