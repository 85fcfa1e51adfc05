"""Inverting the spin-orbit-torque FMR of a heavy-metal / ferromagnet strip (physics-sot.md, inverse 2-6).

Pure functions over the per-line results of field-sweep fits (one line per frequency, DC
current and field polarity): resonance field ``h0_oe``, linewidth (HWHM) ``dh_oe`` and the
symmetric / antisymmetric amplitudes ``v_sym``, ``v_asym``, each with a 1-sigma error.
The sample is what the user declares (``BilayerSample``: mu0 Ms, thicknesses, width, shunt
fraction, field angle). Conventions as ``stfmr_lab.bilayer``: fields Oe, frequency Hz,
current A, magnetisations mu0*M in T.

Steps:

1. ``kittel_in_plane``: H0(f) from f = (gamma/2pi) sqrt(H0 (H0 + 4piMeff)), gamma/2pi =
   g 1.3996 MHz/Oe: 4 pi Meff, and g when the frequencies determine it (else g is fixed at
   the user's value and the result says so).
2. ``damping_fit``: Delta = dh0 + (f / (gamma/2pi)) alpha_eff, alpha_eff = alpha + xi_dc
   K p I_dc / (mu0 H0 + mu0 Meff / 2) (Liu 2011 eq. 3, p = field polarity) fitted to all
   lines at once (weighted linear least squares): alpha, dh0 and, when DC currents were
   measured, xi_dc (independent of the Oersted-field assumption).
3. ``xi_fmr_lines`` / ``xi_fmr_mean``: xi_FMR = p (V_S/V_A) (e mu0 Ms t_fm t_hm / hbar)
   sqrt(1 + Meff/H0) per line and the weighted mean. This assumes the antisymmetric part is
   the Oersted field of the heavy metal alone.

Error policy: the per-line errors are taken as absolute 1-sigma values; a fit whose points
scatter more than their errors say (chi2_red > 1) has its covariance scaled by chi2_red.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from stfmr_lab.analysis.fit import STRUCTURE_MESSAGE
from stfmr_lab.analysis.inverse import weighted_mean
from stfmr_lab.analysis.lines import fit_lines
from stfmr_lab.bilayer import (
    GAMMA_2PI_HZ_PER_OE_PER_G,
    OE_PER_T,
    dc_damping_factor_t_per_a,
    kittel_h0_oe,
    lineshape_factor,
)

__all__ = [
    "BilayerSample",
    "DampingFit",
    "InPlaneKittelFit",
    "SotResult",
    "SweepAnalysis",
    "analyze_bilayer_sweeps",
    "damping_fit",
    "fit_sweep_lines",
    "invert_bilayer",
    "kittel_in_plane",
    "xi_fmr_lines",
    "xi_fmr_mean",
]

G_DEFAULT = 2.05  #: g used when the frequency range cannot fix it and the user gave none (Py/Pt preset)
G_FIT_MAX_ERR = 0.02  #: g is reported as fitted only when its 1-sigma error is below this (~1 %)
LINE_COLUMNS = (
    "frequency_hz",
    "dc_current_a",
    "polarity",
    "h0_oe",
    "h0_err_oe",
    "dh_oe",
    "dh_err_oe",
    "v_sym",
    "v_sym_err",
    "v_asym",
    "v_asym_err",
)


@dataclass(frozen=True)
class BilayerSample:
    """What the user declares of the strip (the run config's ``sample:`` block).

    mu0_ms_t: saturation magnetisation mu0 Ms (T); t_fm_nm, t_hm_nm: ferromagnet and heavy
    metal thicknesses (nm); width_um: strip width (um); shunt_hm: fraction of the current in
    the heavy metal; phi_deg: angle of the field to the current (deg, the field sweep's).
    """

    mu0_ms_t: float
    t_fm_nm: float
    t_hm_nm: float
    width_um: float
    shunt_hm: float
    phi_deg: float = 45.0

    def __post_init__(self):
        for name in ("mu0_ms_t", "t_fm_nm", "t_hm_nm", "width_um", "shunt_hm"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not v > 0:
                raise ValueError(f"sample.{name}: must be a number > 0, got {v!r}")
        if not 0 < self.shunt_hm <= 1:
            raise ValueError(f"sample.shunt_hm: must be in (0, 1], got {self.shunt_hm!r}")
        if (
            not math.isfinite(self.phi_deg)
            or math.sin(math.radians(self.phi_deg)) == 0
            or math.cos(math.radians(self.phi_deg)) == 0
        ):
            raise ValueError(
                f"sample.phi_deg: the lineshape and the DC slope need sin and cos phi != 0, got {self.phi_deg!r}"
            )

    @classmethod
    def of(cls, sample) -> "BilayerSample":
        """A ``BilayerSample`` from itself or from a mapping with these keys (others ignored)."""
        if isinstance(sample, cls):
            return sample
        if not isinstance(sample, Mapping):
            raise ValueError("sample: expected a mapping with mu0_ms_t, t_fm_nm, t_hm_nm, width_um, shunt_hm")
        missing = [k for k in ("mu0_ms_t", "t_fm_nm", "t_hm_nm", "width_um", "shunt_hm") if k not in sample]
        if missing:
            raise ValueError(f"sample: missing {', '.join(missing)} (needed for the spin-torque efficiency)")
        keys = ("mu0_ms_t", "t_fm_nm", "t_hm_nm", "width_um", "shunt_hm", "phi_deg")
        return cls(**{k: sample[k] for k in keys if k in sample})

    @property
    def lineshape_factor(self) -> float:
        """e mu0 Ms t_fm t_hm / hbar (dimensionless)."""
        return lineshape_factor(self.mu0_ms_t, self.t_fm_nm, self.t_hm_nm)

    @property
    def dc_factor_t_per_a(self) -> float:
        """K (T/A): d(alpha_eff)/d(I_dc) = xi K p / (mu0 H0 + mu0 Meff/2), with
        K = sin(phi) (hbar/2e) shunt_hm / (width t_hm) / (Ms t_fm)."""
        return dc_damping_factor_t_per_a(
            self.mu0_ms_t, self.t_fm_nm, self.t_hm_nm, self.width_um, self.shunt_hm, self.phi_deg
        )


# ---------------------------------------------------------------------------------------- Kittel
@dataclass(frozen=True)
class InPlaneKittelFit:
    """In-plane Kittel fit of the resonance fields: 4 pi Meff (Oe) and g, 1-sigma errors.

    ``g_fitted`` False: g was held at the given value (``g_err`` 0) and ``message`` says why;
    when the frequencies were enough to try g but not to fix it, ``meff_4pi_err_oe`` includes
    the shift of 4piMeff to the data's own g (the held g is an assumption).
    ``chi2_red`` of the fit with the given H0 errors (covariance scaled when it exceeds 1).
    """

    meff_4pi_oe: float
    meff_4pi_err_oe: float
    g: float
    g_err: float
    g_fitted: bool
    message: str
    chi2_red: float
    n_points: int

    @property
    def gamma_2pi_hz_per_oe(self) -> float:
        return self.g * GAMMA_2PI_HZ_PER_OE_PER_G

    def h0_oe(self, frequency_hz):
        """The fitted resonance field |H0| (Oe) at ``frequency_hz``."""
        return kittel_h0_oe(np.asarray(frequency_hz, dtype=float), self.meff_4pi_oe, self.g)


def _kittel_gn(f, h, w, m, g, fit_g):
    """Gauss-Newton on H0(f; M, g): returns (params, jacobian at the end, residuals)."""
    params = np.array([m, g])
    for _ in range(100):
        h0 = kittel_h0_oe(f, params[0], params[1])
        x = (f / (params[1] * GAMMA_2PI_HZ_PER_OE_PER_G)) ** 2
        denom = 2.0 * h0 + params[0]
        jac = np.column_stack([-h0 / denom, -2.0 * x / (params[1] * denom)])  # dH0/dM, dH0/dg
        j = jac if fit_g else jac[:, :1]
        sw = np.sqrt(w)
        step, *_ = np.linalg.lstsq(j * sw[:, None], (h - h0) * sw, rcond=None)
        if not fit_g:
            step = np.array([step[0], 0.0])
        params = params + step
        if np.all(np.abs(step) <= 1e-12 * (np.abs(params) + 1.0)):
            break
    h0 = kittel_h0_oe(f, params[0], params[1])
    x = (f / (params[1] * GAMMA_2PI_HZ_PER_OE_PER_G)) ** 2
    denom = 2.0 * h0 + params[0]
    jac = np.column_stack([-h0 / denom, -2.0 * x / (params[1] * denom)])
    return params, (jac if fit_g else jac[:, :1]), h - h0


def _scaled_cov(jac, w, res):
    dof = res.size - jac.shape[1]
    chi2_red = float(np.sum(w * res * res) / dof) if dof > 0 else float("nan")
    cov = np.linalg.inv((jac * w[:, None]).T @ jac)
    if dof > 0 and chi2_red > 1.0:
        cov = cov * chi2_red
    return cov, chi2_red


def kittel_in_plane(frequency_hz, h0_oe, h0_err_oe, *, g=None, fit_g=None) -> InPlaneKittelFit:
    """Fit |H0|(f) (Oe, either polarity) to the in-plane Kittel formula.

    ``g``: the user's g (default 2.05), the start value and the value held when g is not
    fitted. ``fit_g``: True / False force it; None (default) fits g when there are three
    frequencies or more and the fit determines it to better than 0.02; otherwise g is held.
    """
    f = np.asarray(frequency_hz, dtype=float).ravel()
    h = np.abs(np.asarray(h0_oe, dtype=float).ravel())
    e = np.broadcast_to(np.asarray(h0_err_oe, dtype=float), h.shape).ravel()
    if f.shape != h.shape or f.size < 1:
        raise ValueError("kittel: need equal-length frequency_hz and h0_oe (one line at least)")
    if np.any(~(e > 0)):
        raise ValueError("kittel: h0 errors must be > 0")
    g0 = G_DEFAULT if g is None else float(g)
    w = 1.0 / e**2
    m0 = float(np.sum(w * ((f / (g0 * GAMMA_2PI_HZ_PER_OE_PER_G)) ** 2 / h - h)) / np.sum(w))
    n_freq = np.unique(f).size
    try_g = fit_g is True or (fit_g is None and n_freq >= 3)
    if fit_g is True and n_freq < 2:
        raise ValueError("kittel: fitting g needs two frequencies at least")
    message = ""
    if try_g:
        params, jac, res = _kittel_gn(f, h, w, m0, g0, True)
        cov, chi2_red = _scaled_cov(jac, w, res)
        g_err = math.sqrt(cov[1, 1])
        if fit_g is True or g_err <= G_FIT_MAX_ERR:
            return InPlaneKittelFit(
                float(params[0]),
                math.sqrt(cov[0, 0]),
                float(params[1]),
                g_err,
                True,
                f"g fitted ({n_freq} frequencies, {f.min() / 1e9:.3g}-{f.max() / 1e9:.3g} GHz)",
                chi2_red,
                int(f.size),
            )
        message = (
            f"g held at {g0:g}: the frequency range does not fix it (fitted error {g_err:.2g} > {G_FIT_MAX_ERR:g});"
            f" 4piMeff's error includes its shift to the data's own g ({params[1]:.3f})"
        )
        meff_free = float(params[0])
    else:
        message = f"g held at {g0:g}" + (" (as asked)" if fit_g is False else f": {n_freq} frequencies cannot fix it")
        meff_free = None
    params, jac, res = _kittel_gn(f, h, w, m0, g0, False)
    cov, chi2_red = _scaled_cov(jac, w, res)
    meff_err = math.sqrt(cov[0, 0])
    if meff_free is not None:  # the held g is an assumption: the data's own g moves 4piMeff this far
        meff_err = math.hypot(meff_err, meff_free - float(params[0]))
    return InPlaneKittelFit(float(params[0]), meff_err, g0, 0.0, False, message, chi2_red, int(f.size))


# ---------------------------------------------------------------------------------------- damping
@dataclass(frozen=True)
class DampingFit:
    """Linewidth fit Delta = dh0 + (f/(gamma/2pi)) (alpha + xi_dc K p I_dc / (mu0 H0 + mu0 Meff/2)).

    alpha (Gilbert damping), dh0_oe (inhomogeneous HWHM, Oe) and xi_dc (damping-like
    efficiency from the DC-current slope; NaN when no DC current was measured), each with a
    1-sigma error (``*_err``; alpha's includes g's error when g was fitted). ``chi2_red``.
    """

    alpha: float
    alpha_err: float
    dh0_oe: float
    dh0_err_oe: float
    xi_dc: float
    xi_dc_err: float
    chi2_red: float
    n_points: int


def damping_fit(
    frequency_hz,
    dh_oe,
    dh_err_oe,
    *,
    kittel: InPlaneKittelFit,
    dc_current_a=None,
    polarity=None,
    sample: BilayerSample | Mapping | None = None,
) -> DampingFit:
    """Fit every line's field linewidth (HWHM, Oe) at once (see ``DampingFit``).

    ``dc_current_a`` (A) and ``polarity`` (+1/-1, the sign of the line's field) per line,
    and the ``sample``, are needed for xi_dc; without nonzero DC currents only alpha and dh0
    are fitted (also when every line has the same DC current: no slope to fit). The
    resonance fields are the Kittel fit's at each frequency.
    """
    f = np.asarray(frequency_hz, dtype=float).ravel()
    d = np.asarray(dh_oe, dtype=float).ravel()
    e = np.broadcast_to(np.asarray(dh_err_oe, dtype=float), d.shape).ravel()
    if f.shape != d.shape:
        raise ValueError("damping: need equal-length frequency_hz and dh_oe")
    if np.any(~(e > 0)):
        raise ValueError("damping: linewidth errors must be > 0")
    gam = kittel.gamma_2pi_hz_per_oe
    cols = [np.ones_like(f), f / gam]
    i = np.zeros_like(f) if dc_current_a is None else np.broadcast_to(np.asarray(dc_current_a, dtype=float), f.shape)
    with_dc = np.unique(i).size > 1  # a slope needs two DC currents at least
    if with_dc:
        if sample is None or polarity is None:
            raise ValueError("damping: the DC-current slope needs the sample and each line's polarity")
        s = BilayerSample.of(sample)
        p = np.sign(np.broadcast_to(np.asarray(polarity, dtype=float), f.shape))
        h0_t = kittel.h0_oe(f) / OE_PER_T
        cols.append(f / gam * s.dc_factor_t_per_a * p * i / (h0_t + 0.5 * kittel.meff_4pi_oe / OE_PER_T))
    design = np.column_stack(cols)
    if np.unique(f).size < 2:
        raise ValueError("damping: alpha and dh0 need lines at two frequencies at least")
    w = 1.0 / e**2
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(design * sw[:, None], d * sw, rcond=None)
    cov, chi2_red = _scaled_cov(design, w, d - design @ coef)
    errs = np.sqrt(np.diag(cov))
    alpha = float(coef[1])
    alpha_err = math.hypot(float(errs[1]), alpha * kittel.g_err / kittel.g)  # alpha ~ g at fixed slope
    xi, xi_err = (float(coef[2]), float(errs[2])) if with_dc else (float("nan"), float("nan"))
    return DampingFit(alpha, alpha_err, float(coef[0]), float(errs[0]), xi, xi_err, chi2_red, int(f.size))


# ---------------------------------------------------------------------------------------- lineshape ratio
def xi_fmr_lines(v_sym, v_sym_err, v_asym, v_asym_err, h0_oe, *, meff_4pi_oe, sample, cov_sym_asym=0.0):
    """xi_FMR per line (dimensionless) and its 1-sigma error from the amplitudes' errors.

    xi = p (V_S / V_A) (e mu0 Ms t_fm t_hm / hbar) sqrt(1 + Meff / |H0|), p = sign(h0_oe):
    V_S changes sign at -H0 while V_A keeps it, so p puts both polarities in the +H
    convention. ``cov_sym_asym``: covariance of V_S and V_A (V^2) when the fit gives it.
    Assumes the antisymmetric part is the heavy metal's Oersted field alone.
    """
    s = BilayerSample.of(sample)
    vs = np.asarray(v_sym, dtype=float)
    va = np.asarray(v_asym, dtype=float)
    es = np.asarray(v_sym_err, dtype=float)
    ea = np.asarray(v_asym_err, dtype=float)
    h = np.asarray(h0_oe, dtype=float)
    k = np.sign(h) * s.lineshape_factor * np.sqrt(1.0 + meff_4pi_oe / np.abs(h))
    r = vs / va
    # error of the ratio written without dividing by V_S (finite at xi = 0)
    var_r = (es / va) ** 2 + (vs * ea / va**2) ** 2 - 2.0 * vs * np.asarray(cov_sym_asym, dtype=float) / va**3
    return k * r, np.abs(k) * np.sqrt(np.maximum(var_r, 0.0))


def xi_fmr_mean(xi, xi_err, h0_oe, *, meff_4pi_oe, meff_4pi_err_oe=0.0) -> tuple[float, float]:
    """Weighted mean of per-line xi_FMR and its error: the statistical part (inflated when the
    lines scatter more than their errors) and, in quadrature, the shared error of 4 pi Meff
    (every line's xi moves together with Meff: d ln xi / d M = 1 / (2 (|H0| + M)))."""
    x = np.asarray(xi, dtype=float).ravel()
    e = np.asarray(xi_err, dtype=float).ravel()
    mean, err = weighted_mean(x, e, inflate=True)
    w = 1.0 / e**2
    dmean_dm = float(np.sum(w * x / (2.0 * (np.abs(np.asarray(h0_oe, dtype=float).ravel()) + meff_4pi_oe))) / np.sum(w))
    return mean, math.hypot(err, dmean_dm * meff_4pi_err_oe)


# ---------------------------------------------------------------------------------------- the whole inverse
@dataclass(frozen=True)
class SotResult:
    """The bilayer inverse: ``summary`` (xi_fmr, xi_dc, alpha, meff_4pi_oe, dh0_oe, g with
    errors, and what was assumed), ``per_line`` (the input lines with xi_fmr per line), and the
    Kittel and damping fits."""

    summary: dict
    per_line: dict
    kittel: InPlaneKittelFit
    damping: DampingFit


def _lines(lines) -> dict:
    missing = [c for c in LINE_COLUMNS if c not in lines]
    if missing:
        raise ValueError(f"lines: missing columns {', '.join(missing)}")
    out = {c: np.asarray(lines[c], dtype=float).ravel() for c in LINE_COLUMNS}
    n = out["frequency_hz"].size
    if any(v.size != n for v in out.values()) or n == 0:
        raise ValueError("lines: columns of unequal length (or none)")
    if "cov_sym_asym" in lines:
        out["cov_sym_asym"] = np.asarray(lines["cov_sym_asym"], dtype=float).ravel()
    return out


def invert_bilayer(lines, sample, *, g=None, fit_g=None) -> SotResult:
    """Run inverse steps 2-5 on per-line fit results (a mapping of equal-length columns
    ``LINE_COLUMNS``, e.g. a DataFrame; optional ``cov_sym_asym``) for the declared ``sample``.

    xi_FMR is averaged over the lines at zero DC current when there are any (the DC current
    changes the linewidth, not the ratio, but real strips heat), else over all lines.
    """
    ln = _lines(lines)
    s = BilayerSample.of(sample)
    kit = kittel_in_plane(ln["frequency_hz"], ln["h0_oe"], ln["h0_err_oe"], g=g, fit_g=fit_g)
    damp = damping_fit(
        ln["frequency_hz"],
        ln["dh_oe"],
        ln["dh_err_oe"],
        kittel=kit,
        dc_current_a=ln["dc_current_a"],
        polarity=ln["polarity"],
        sample=s,
    )
    h_signed = ln["polarity"] * np.abs(ln["h0_oe"])
    xi, xi_err = xi_fmr_lines(
        ln["v_sym"],
        ln["v_sym_err"],
        ln["v_asym"],
        ln["v_asym_err"],
        h_signed,
        meff_4pi_oe=kit.meff_4pi_oe,
        sample=s,
        cov_sym_asym=ln.get("cov_sym_asym", 0.0),
    )
    zero = ln["dc_current_a"] == 0
    use = zero if np.any(zero) else np.ones_like(zero)
    xi_mean, xi_mean_err = xi_fmr_mean(
        xi[use], xi_err[use], h_signed[use], meff_4pi_oe=kit.meff_4pi_oe, meff_4pi_err_oe=kit.meff_4pi_err_oe
    )
    summary = {
        "xi_fmr": xi_mean,
        "xi_fmr_err": xi_mean_err,
        "xi_fmr_lines": int(np.count_nonzero(use)),
        "xi_fmr_assumes": "the antisymmetric lineshape is the heavy metal's Oersted field alone",
        "xi_dc": damp.xi_dc,
        "xi_dc_err": damp.xi_dc_err,
        "alpha": damp.alpha,
        "alpha_err": damp.alpha_err,
        "dh0_oe": damp.dh0_oe,
        "dh0_err_oe": damp.dh0_err_oe,
        "meff_4pi_oe": kit.meff_4pi_oe,
        "meff_4pi_err_oe": kit.meff_4pi_err_oe,
        "g": kit.g,
        "g_err": kit.g_err,
        "g_fitted": kit.g_fitted,
        "g_note": kit.message,
        "sample_used": {
            k: getattr(s, k) for k in ("mu0_ms_t", "t_fm_nm", "t_hm_nm", "width_um", "shunt_hm", "phi_deg")
        },
    }
    per_line = dict(ln, xi_fmr=xi, xi_fmr_err=xi_err)
    return SotResult(summary, per_line, kit, damp)


# ---------------------------------------------------------------------------------------- from the field sweeps
#: the field sweeps' background: a cubic on a separate offset and slope at H > 0 (drift and the
#: rectified background curve under a sweep; the offset step at zero)
BACKGROUND_ORDER = 3


def _significance(fit) -> float:
    """A line's amplitude hypot(V_S, V_A) over its standard error."""
    names = list(fit.param_names)
    i, j = names.index("v_sym"), names.index("v_asym")
    amp = math.hypot(fit.v_sym, fit.v_asym)
    g = np.array([fit.v_sym, fit.v_asym]) / amp if amp > 0 else np.zeros(2)
    var = float(g @ fit.covariance[np.ix_([i, j], [i, j])] @ g)
    return amp / math.sqrt(var) if var > 0 else 0.0


def fit_sweep_lines(
    sweeps, *, background_order=BACKGROUND_ORDER, low_field_oe=None, drift=True
) -> tuple[list[dict], list]:
    """Every line of each field sweep (Oe, V) by ``fit_lines(axis="field")``: both
    polarities on a shared background with the offset step at zero, spikes dropped, the
    low-field region (``low_field_oe``) left to the background and, with ``drift``, slow
    background drift (a random walk in sweep order) fitted as correlated noise when the
    residuals show it: the sweeps are then taken as measured in one direction of the field.

    ``sweeps``: a sequence of (field_oe, vmix_v) pairs of 1-D arrays. Returns (rows, extra):
    one row per polarity that holds a line (its most significant: the uniform mode) with ``sweep``
    (index), ``polarity`` (+1/-1) and the ``FieldSweepFit`` as ``fit``; ``extra`` lists the
    weaker lines beside it (a second mode, say) as (sweep, polarity, message), not used, and
    the sweeps without a line (polarity 0).
    """
    rows, extra = [], []
    for k, (field_oe, vmix_v) in enumerate(sweeps):
        h = np.asarray(field_oe, dtype=float).ravel()
        v = np.asarray(vmix_v, dtype=float).ravel()
        if h.shape != v.shape:
            raise ValueError(f"sweep {k}: field_oe and vmix_v differ in length")
        try:
            lines = fit_lines(
                h, v, axis="field", background_order=background_order, low_field_oe=low_field_oe, drift=drift
            )
        except ValueError as e:  # too few points
            extra.append((k, 0.0, str(e)))
            continue
        if not lines:
            extra.append((k, 0.0, "no significant line found"))
        for p in (1.0, -1.0):
            side = [ft for ft in lines if p * ft.h0_oe > 0]
            if not side:
                continue
            main = max(side, key=_significance)
            rows.append({"sweep": k, "polarity": p, "fit": main})
            extra += [
                (k, p, f"a weaker line at {ft.h0_oe:.0f} Oe beside the main one at {main.h0_oe:.0f} Oe: not used")
                for ft in side
                if ft is not main
            ]
    if not rows:
        raise ValueError("sweeps: no line found in any field sweep")
    return rows, extra


@dataclass(frozen=True)
class SweepAnalysis:
    """``analyze_bilayer_sweeps``: the inverse (``result``), every line's fit (``lines``: rows
    of ``fit_sweep_lines`` with the sweep's frequency and DC current, ``used`` (its fit ok,
    or ``structured``: its only objection structured residuals, the model missing something
    such as drift) and the line's ``xi_fmr``/``xi_fmr_err`` when used) and what was left
    out of the inverse (``rejected``: (sweep, polarity, message); polarity 0: a sweep
    without a line). The inverse takes each line's errors as its statistical and
    background-model systematic errors in quadrature."""

    result: SotResult
    lines: list
    rejected: list


def analyze_bilayer_sweeps(sweeps, sample, *, g=None, fit_g=None) -> SweepAnalysis:
    """From field sweeps to xi_FMR, xi_DC, alpha, Meff (and g): fit each polarity's line of
    each sweep, then ``invert_bilayer``.

    ``sweeps``: a sequence of mappings with ``frequency_hz`` (Hz), ``dc_current_a`` (A,
    default 0), ``field_oe`` (Oe, 1-D, may pass through zero) and ``vmix_v`` (V, 1-D).
    """
    sweeps = list(sweeps)
    for k, sw in enumerate(sweeps):
        missing = [c for c in ("frequency_hz", "field_oe", "vmix_v") if c not in sw]
        if missing:
            raise ValueError(f"sweep {k}: missing {', '.join(missing)}")
    rows, extra = fit_sweep_lines([(sw["field_oe"], sw["vmix_v"]) for sw in sweeps])
    for r in rows:
        sw = sweeps[r["sweep"]]
        r["frequency_hz"] = float(sw["frequency_hz"])
        r["dc_current_a"] = float(sw.get("dc_current_a", 0.0))
    for r in rows:
        r["used"] = bool(r["fit"].ok or r["fit"].message == STRUCTURE_MESSAGE)
        r["structured"] = r["used"] and not r["fit"].ok
    good = [r for r in rows if r["used"]]
    rejected = [(r["sweep"], r["polarity"], r["fit"].message) for r in rows if not r["used"]] + extra
    if not good:
        raise ValueError("sweeps: no line was fitted ok")

    def col(get):
        return np.array([get(r) for r in good], dtype=float)

    def err(name):  # statistical and background-model systematic, in quadrature
        return col(lambda r: math.hypot(r["fit"].stderr[name], r["fit"].stderr_sys.get(name, 0.0)))

    def cov(fit, a, b):
        names = list(fit.param_names)
        return fit.covariance[names.index(a), names.index(b)]

    lines = {
        "frequency_hz": col(lambda r: r["frequency_hz"]),
        "dc_current_a": col(lambda r: r["dc_current_a"]),
        "polarity": col(lambda r: r["polarity"]),
        "h0_oe": col(lambda r: r["fit"].h0_oe),
        "h0_err_oe": err("h0_oe"),
        "dh_oe": col(lambda r: r["fit"].dh_oe),
        "dh_err_oe": err("dh_oe"),
        "v_sym": col(lambda r: r["fit"].v_sym),
        "v_sym_err": err("v_sym"),
        "v_asym": col(lambda r: r["fit"].v_asym),
        "v_asym_err": err("v_asym"),
        "cov_sym_asym": col(lambda r: cov(r["fit"], "v_sym", "v_asym")),
    }
    result = invert_bilayer(lines, sample, g=g, fit_g=fit_g)
    for r, xi, err in zip(good, result.per_line["xi_fmr"], result.per_line["xi_fmr_err"], strict=True):
        r["xi_fmr"], r["xi_fmr_err"] = float(xi), float(err)
    return SweepAnalysis(result, rows, rejected)
