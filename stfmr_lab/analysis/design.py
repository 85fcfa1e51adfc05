"""Where to put the next frequency points of a sweep: Fisher-information design (pure numpy).

The measured Vmix of a frequency sweep is modelled as ``g(f) (offset + V_S S + V_A A)``,
S, A the symmetric and antisymmetric Lorentzians of centre f0 and half width w, and g(f)
the path's relative I_RF^2(f) (``10**(-loss_db/10)``; the noise is uniform in Vmix, so a
point's rows carry g). For a design (a set of frequencies) and a current fit, the
covariance of the five parameters is ``sigma^2 (J^T J)^-1``; J's columns are normalised
(f0 and w by w, the amplitudes and the offset by the line's amplitude), so that the
matrix is well conditioned and the variances are relative.

The targets are linear combinations g of the normalised parameters: by default the
relative errors of V_S w and V_A w, the lineshape factors of dtau_par/dV and dtau_perp/dV
(the analysis propagates the same covariance into the torkances' errors), or any of the
parameters. ``select_points`` picks a batch greedily among candidates: each pick maximises
the summed relative variance reduction ``(g^T C j)^2 / (1 + j^T C j) / g^T C g`` over the
targets (weighted by how far each is from its goal), then C gets the rank-one update of
that point; a candidate may be picked again (repeats average the noise down).
``design_status`` says whether the design has reached its goal: relative errors below
``target_rel_err``, or variances no larger than a uniform N-point sweep of the window
would give at the same fit (sigma cancels from that comparison).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stfmr_lab.units import DESIGN_QUANTITIES, DESIGN_TARGETS

PARAMS = ("f0", "w", "v_sym", "v_asym", "offset")
#: what a design can aim at: a parameter's relative error, or the relative error of a
#: torkance's lineshape factor - dtau_par/dV is proportional to V_S w and dtau_perp/dV to
#: V_A w (w the linewidth), whose errors include the fit's amplitude-width correlation
QUANTITIES = DESIGN_QUANTITIES
#: the quantities the design serves by default: the two torkances
TARGETS = DESIGN_TARGETS
_EPS = 1e-12
#: the goal counts as reached when the predicted variances are this fraction of it: they are
#: predicted at the current fit, not the truth, and the noise's shape is estimated (a goal
#: met exactly at the estimate came out ~5 % short in the errors of the final fits)
GOAL_VARIANCE_MARGIN = 0.92


@dataclass(frozen=True)
class Line:
    """A fitted line in data units (V per unit g): f0 and w in Hz."""

    f0: float
    w: float
    v_sym: float
    v_asym: float
    offset: float = 0.0

    @property
    def amplitude(self) -> float:
        return max(math.hypot(self.v_sym, self.v_asym), 1e-300)


def jacobian(f, line: Line, gain=None) -> np.ndarray:
    """Column-normalised d Vmix / d(f0/w, w/w, V_S/a, V_A/a, offset/a), a the amplitude. (n, 5)."""
    f = np.asarray(f, dtype=float)
    u = (f - line.f0) / line.w
    s = 1.0 / (1.0 + u * u)
    a = u * s
    ds = -2.0 * u * s * s
    da = s - 2.0 * u * u * s * s
    g = (line.v_sym * ds + line.v_asym * da) / line.amplitude  # d(model/amp)/du
    j = np.column_stack([-g, -g * u, s, a, np.ones_like(u)])
    if gain is not None:
        j = j * np.asarray(gain, dtype=float)[:, None]
    return j


def _inverse(m: np.ndarray) -> np.ndarray:
    try:
        c = np.linalg.inv(m)
        if np.all(np.isfinite(c)):
            return c
    except np.linalg.LinAlgError:
        pass
    return np.linalg.pinv(m + _EPS * np.trace(m) * np.eye(m.shape[0]))


def covariance(f, line: Line, gain=None, info0=None) -> np.ndarray:
    """(J^T J + info0)^-1 for unit noise in Vmix, in the normalised parameters (5, 5).
    ``info0``: information already held from readings that are not settled points (an
    adaptive sweep's swept coarse pass, through the lock-in filter: ``record_information``)."""
    j = jacobian(f, line, gain)
    return _inverse(j.T @ j + (0.0 if info0 is None else info0))


def record_information(x, line: Line, gain, whitened_map) -> np.ndarray:
    """The information (5, 5; unit noise, normalised parameters) of a time record of readings
    through the lock-in filter: ``(M J)^T (M J)`` with J the Jacobian at the set points ``x``
    (``gain``: I_RF^2 there) and ``M`` the record's whitened filter map
    (``stfmr_lab.analysis.swept.whitened_map``). Settled readings far apart in time add as
    independent points; readings closer than the filter's memory carry less."""
    mj = whitened_map @ jacobian(x, line, gain)
    return mj.T @ mj


def target_rows(line: Line, targets=TARGETS) -> np.ndarray:
    """Rows g (k, 5) such that g . d(normalised parameters) is the relative change of each
    target (d(V_S w)/(V_S w) = dV_S/V_S + dw/w; amplitudes relative to themselves, floored at a tenth of the line's amplitude so
    that a vanishing one - V_A at zero bias - does not demand infinity)."""
    a = line.amplitude

    def rel(v):  # d(v/a) -> dv/v, the sign kept (it matters in the products)
        return a / math.copysign(max(abs(v), 0.1 * a), v)

    unit = {
        "f0": (0, line.w / max(abs(line.f0), 1.0)),
        "w": (1, 1.0),
        "v_sym": (2, rel(line.v_sym)),
        "v_asym": (3, rel(line.v_asym)),
        "offset": (4, rel(line.offset)),
    }
    parts = {"tau_par": ("w", "v_sym"), "tau_perp": ("w", "v_asym")}
    g = np.zeros((len(targets), len(PARAMS)))
    for r, name in enumerate(targets):
        if name not in QUANTITIES:
            raise ValueError(f"design target {name!r}: choose from {', '.join(QUANTITIES)}")
        for p in parts.get(name, (name,)):
            k, scale = unit[p]
            g[r, k] += scale
    return g


def relative_errors(cov: np.ndarray, line: Line, sigma: float, targets=QUANTITIES) -> dict:
    """From ``covariance`` and the noise ``sigma`` in Vmix (the unit of the line's amplitudes
    times the gain): the 1-sigma relative error of each quantity in ``targets``."""
    g = target_rows(line, targets)
    v = np.einsum("ij,jk,ik->i", g, cov, g)
    d = np.sqrt(np.maximum(v, 0.0)) * sigma / line.amplitude
    return dict(zip(targets, d.tolist(), strict=True))


def goal_variances(line: Line, sigma: float, targets=TARGETS, *, target_rel_err=None, uniform_f=None, gain_uniform=None):
    """Per target, the variance of g . theta (normalised units, unit noise) the design must reach."""
    g = target_rows(line, targets)
    if uniform_f is not None:
        cu = covariance(uniform_f, line, gain_uniform)
        return np.einsum("ij,jk,ik->i", g, cu, g)
    s = max(sigma, 1e-300) / line.amplitude  # the noise in the units of the normalised model
    return np.full(len(targets), (target_rel_err / s) ** 2)


@dataclass(frozen=True)
class Status:
    done: bool
    ratio: dict  # target -> current variance / goal variance (<= GOAL_VARIANCE_MARGIN: reached)


def design_status(f, line: Line, sigma: float, *, gain=None, targets=TARGETS, target_rel_err=None,
                  uniform_f=None, gain_uniform=None, noise_factor: float = 1.0, goal_var=None, info0=None) -> Status:
    """Has the design ``f`` reached its goal at the fit ``line``? (one goal: ``target_rel_err``
    with the noise ``sigma`` in Vmix, or a uniform sweep ``uniform_f`` to match).
    ``noise_factor``: the design's mean noise variance over the goal's (an unweighted fit
    reports errors scaled by the mean residual, larger where the points sit on the line).
    ``goal_var``: ``goal_variances`` of the same line and targets, when already at hand.
    ``info0``: information held besides the settled points ``f`` (``covariance``)."""
    c = covariance(f, line, gain, info0) * noise_factor
    goal = goal_var if goal_var is not None else goal_variances(
        line, sigma, targets, target_rel_err=target_rel_err, uniform_f=uniform_f, gain_uniform=gain_uniform)
    g = target_rows(line, targets)
    r = np.einsum("ij,jk,ik->i", g, c, g) / goal
    return Status(bool(np.all(r <= GOAL_VARIANCE_MARGIN)), dict(zip(targets, r.tolist(), strict=True)))


def select_points(candidates, measured_f, line: Line, n: int, *, gain_candidates=None, gain_measured=None,
                  targets=TARGETS, weights=None, info0=None) -> np.ndarray:
    """Indices into ``candidates`` of the ``n`` points that reduce the target variances most
    (greedy, rank-one updates; repeats allowed). ``weights`` per target (default 1).
    ``info0``: information held besides the settled points ``measured_f`` (``covariance``)."""
    c = covariance(measured_f, line, gain_measured, info0)
    jc = jacobian(candidates, line, gain_candidates)
    g = target_rows(line, targets)
    wk = np.ones(len(targets)) if weights is None else np.asarray(weights, dtype=float)
    picks = []
    for _ in range(int(n)):
        cj = jc @ c  # (m, 5): C j for every candidate (C symmetric)
        q = np.einsum("ij,ij->i", cj, jc)
        var = np.einsum("ij,jk,ik->i", g, c, g)  # the targets' present variances
        gain = np.sum(wk * (cj @ g.T) ** 2 / var, axis=1) / (1.0 + q)
        k = int(np.argmax(gain))
        picks.append(k)
        v = cj[k]
        c = c - np.outer(v, v) / (1.0 + q[k])
    return np.asarray(picks, dtype=int)


def noise_profile(f, residual, line: Line, gain=None, min_points: int = 12):
    """The noise's shape across the line from a fit's residuals: ``sigma(f)^2 = s0^2 + s1^2 D(f)^2``
    with D = dVmix/df0 (a jitter of the line's centre - the field's - adds noise where the
    line is steep). Returns ``rel(f) = sigma(f) / s0`` (a function; all ones when the
    residuals do not show such a term, or there are fewer than ``min_points``)."""
    f = np.asarray(f, dtype=float)
    r2 = np.asarray(residual, dtype=float) ** 2

    def slope(x):
        x = np.asarray(x, dtype=float)
        return jacobian(x, line, None if gain is None else gain(x))[:, 0] * line.amplitude / line.w

    flat = lambda x: np.ones(np.shape(x))  # noqa: E731
    if f.size < min_points or not np.all(np.isfinite(r2)):
        return flat
    d2 = slope(f) ** 2
    a = np.column_stack([np.ones_like(d2), d2])
    coef, *_ = np.linalg.lstsq(a, r2, rcond=None)
    s0, s1 = coef
    if not (s1 > 0) or not np.isfinite(s1):
        return flat
    if not s0 > 0:  # all of it looks like jitter: keep a floor of the smallest residuals
        s0 = max(float(np.percentile(r2, 25)), 1e-300)
    k = s1 / s0
    return lambda x: np.sqrt(1.0 + k * slope(x) ** 2)
