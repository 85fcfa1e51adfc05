"""The tail of a line outside the sweep, shared by the spectra of one field.

A mode a little outside the frequency window (a higher-order spin-wave mode 1-3 GHz above
the main one, the lab's notes on measured spectra) does not show as a line: only its tail
enters the window, as a background that curves. A sloped background cannot follow that
curvature, and at biases where the rectified background is several times the line the tail
moves the symmetric and antisymmetric amplitudes by percents, the same way at every bias of
one field. One spectrum rarely shows it (the curvature is about its noise); the spectra of
one field, which share the mode's place, do.

The model (*replica*): the outside line is driven like the main one (by the same torques), so
at every bias its symmetric and antisymmetric amplitudes are the main line's times one ratio
shared by the field's spectra; it sits at a fixed distance from each spectrum's own line and
its width is a fixed multiple of that line's. ``find_tail`` tries distances that put it 0.25
to 30 line widths beyond either end of the sweep and widths of 0.5-2 line widths; for each,
every spectrum's tail column (the main line's amplitudes on the candidate's symmetric and
antisymmetric Lorentzians) is projected off that spectrum's fitted model (its Jacobian:
centre, width, offset, amplitudes, slope) and one ratio is fitted to all their residuals.
The candidate with the largest drop of chi^2 wins; it counts when that drop, in units of each
spectrum's residual variance times the 1/f factor of its tail column, is beyond chance after
the search over candidates (Bonferroni). The caller subtracts the tail and refits.

Errors: the ratio's statistical error (``TailFit.extra_covariance``, the partitioned
inverse: the refit's response to the tail times the ratio's variance), and as a systematic
error (``TailFit.systematic``) the larger of the parameters' spread over the places and widths
within the 68 % region of the best (chi^2 within 2.3) and the whole shift the tail causes:
places along a line of nearly equal chi^2 (a nearer, weaker mode or a farther, stronger one)
are told apart poorly, so the correction removes the tail's bias but is not known better
than its own size (measured on the realistic map, README).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2 as chi2_distribution

from stfmr_lab.analysis import residuals
from stfmr_lab.analysis.design import Line
from stfmr_lab.analysis.design import jacobian as design_jacobian

#: candidate distances beyond the sweep's ends, in line widths, and widths in line widths
_DISTANCES_W = np.geomspace(0.25, 30.0, 24)
_WIDTHS_W = (0.5, 1.0, 2.0)
#: a tail counts when its chi^2 drop has a p-value below this after the search
P_VALUE = 1e-3
#: spectra needed to judge a shared tail
MIN_SPECTRA = 3
#: the order of the parameters in ``TailFit.extra_covariance`` and ``TailFit.systematic``
ORDER = ("f0_hz", "hwhm_hz", "offset", "v_sym", "v_asym", "slope")


@dataclass(frozen=True, eq=False)
class TailFit:
    """A line outside the sweep, shared by the spectra of one field.

    ``centre_hz``, ``hwhm_hz``: its place and width at the spectra's median line; ``ratio``:
    its amplitudes over the main line's; ``curves`` (m, n): each spectrum's tail on the
    frequencies (sorted), in the fitted data's unit (V/A^2 when the spectra were divided by
    I_RF^2); ``chi2_drop`` in units of the residual variance (1/f included) and its
    ``p_value`` after the search; ``n_alike``: the places and widths within the 68 % region;
    ``extra_covariance`` (m, 6, 6) and ``systematic`` (m, 6), in ``ORDER``: what the tail adds
    to each spectrum's errors once it is subtracted.
    """

    centre_hz: float
    hwhm_hz: float
    ratio: float
    curves: np.ndarray
    chi2_drop: float
    p_value: float
    n_alike: int
    extra_covariance: np.ndarray
    systematic: np.ndarray


def _jacobian(f, ft):
    """d model / d (f0, hwhm, offset, v_sym, v_asym, slope) of a sloped-background fit, (n, 6):
    the design's Lorentzian derivatives (``design.jacobian``) in physical units, and the slope."""
    line = Line(ft.f0_hz, ft.hwhm_hz, ft.v_sym, ft.v_asym)
    j = design_jacobian(f, line)
    scale = line.amplitude / ft.hwhm_hz  # d/d(f0 / w) (normalised by the amplitude) -> d/df0
    return np.stack([j[:, 0] * scale - ft.slope, j[:, 1] * scale, j[:, 4], j[:, 2], j[:, 3], f - ft.f0_hz], axis=1)


def find_tail(f_hz, data, weights, fits, *, p_value: float = P_VALUE) -> TailFit | None:
    """The shared tail of a line outside the sweep in the spectra ``data`` (m, n) on the
    common frequencies ``f_hz`` (n,), fitted as ``fits`` (one line on a sloped background, in
    the fitted data's unit, e.g. Vmix / I_RF^2) with ``weights`` (m, n), or None when there is
    none beyond chance, or the best one's ratio is negative (the spectra curve the other way than
    a mode driven like the main line: the model misses something else), or fewer than
    ``MIN_SPECTRA`` spectra, or non-finite data."""
    f = np.asarray(f_hz, dtype=float)
    y = np.asarray(data, dtype=float)
    wt = np.asarray(weights, dtype=float)
    m, n = y.shape
    if m < MIN_SPECTRA or n < 20 or not (np.all(np.isfinite(y)) and np.all(np.isfinite(wt)) and np.all(wt >= 0)):
        return None
    order = np.argsort(f, kind="stable")
    f, y, wt = f[order], y[:, order], wt[:, order]
    sw = np.sqrt(wt / wt.mean(axis=1, keepdims=True))
    jw = np.stack([_jacobian(f, ft) for ft in fits]) * sw[:, :, None]  # (m, n, 6)
    rw = (y - np.stack([ft.model(f) for ft in fits])) * sw
    sigma2 = np.einsum("mn,mn->m", rw, rw) / (n - jw.shape[2])
    if not np.all(sigma2 > 0):
        return None
    amps = np.array([[ft.v_sym, ft.v_asym] for ft in fits])
    f0 = np.array([ft.f0_hz for ft in fits])
    widths = np.array([ft.hwhm_hz for ft in fits])
    q = np.linalg.qr(jw)[0]  # orthonormal basis of each spectrum's Jacobian
    response = np.linalg.solve(np.einsum("mnp,mnq->mpq", jw, jw), np.swapaxes(jw, 1, 2))  # (m, 6, n)
    w_med, f0_med = float(np.median(widths)), float(np.median(f0))
    cands = []  # (gap from the line, width factor, whitened column (m, n), projected column)
    for side in (1.0, -1.0):
        for dw in _DISTANCES_W:
            gap = (f[-1] - f0_med + dw * w_med) if side > 0 else (f[0] - f0_med - dw * w_med)
            for ww in _WIDTHS_W:
                u = (f[None, :] - (f0 + gap)[:, None]) / (ww * widths)[:, None]
                sym = 1.0 / (1.0 + u * u)
                col = (amps[:, :1] * sym + amps[:, 1:] * u * sym) * sw  # the replica's column
                proj = col - np.einsum("mnp,mp->mn", q, np.einsum("mnp,mn->mp", q, col))
                cands.append((gap, ww, col, proj))
    proj_all = np.stack([c[3] for c in cands])  # (K, m, n)

    def fitted(weight):
        num = np.einsum("kmn,mn,m->k", proj_all, rw, weight)
        den = np.einsum("kmn,kmn,m->k", proj_all, proj_all, weight)
        den = np.where(den > 0, den, np.inf)
        return num / den, num * num / den, 1.0 / den

    k = int(np.argmax(fitted(1.0 / sigma2)[1]))
    # 1/f: a smooth column gains the factor correlated noise gives it (per spectrum)
    fac = residuals.correlated_noise_factors(cands[k][3][:, :, None], rw, np.ones_like(rw, dtype=bool))[:, 0]
    ratios, drops, var_ratios = fitted(1.0 / (sigma2 * np.maximum(fac, 1.0)))
    p = min(1.0, float(chi2_distribution.sf(drops[k], 1)) * len(cands))
    if not (p < p_value and ratios[k] > 0.0):  # a negative ratio: the model misses something else
        return None
    gap, ww, col, _ = cands[k]
    beta = np.einsum("mpn,mn->mp", response, col)  # (m, 6): the shift a unit ratio gives
    shift = ratios[k] * beta
    extra = np.einsum("mp,mq->mpq", beta, beta) * var_ratios[k]
    alike = np.flatnonzero(drops >= drops[k] - 2.3)
    sys = np.abs(shift)
    for kk in alike:
        sys = np.maximum(sys, np.abs(ratios[kk] * np.einsum("mpn,mn->mp", response, cands[kk][2]) - shift))
    return TailFit(f0_med + gap, ww * w_med, float(ratios[k]), ratios[k] * col / sw, float(drops[k]), p,
                   int(alike.size), extra, sys)
