"""Lineshape fits of ST-FMR spectra (analysis step 1 of the physics specification).

A spectrum (frequency sweep at fixed field and bias, or field sweep at fixed frequency) is
fitted to a symmetric plus antisymmetric Lorentzian on a background::

    y(x) = offset + v_sym * S(x) + v_asym * A(x) (+ slope * (x - x0))
    S = 1 / (1 + u**2),   A = u * S,   u = (x - x0) / w

with centre ``x0`` and half width at half maximum ``w`` (``f0_hz``/``hwhm_hz`` for frequency
sweeps, ``h0_oe``/``dh_oe`` for field sweeps).

Method (no hand-tuned start values):

1. For a trial (x0, w) the model is linear in (offset, v_sym, v_asym[, slope]), so a coarse
   grid of widths (a factor 2 apart, from two point spacings to the sweep span) and of
   centres (one width apart, across the sweep) is scanned by linear least squares
   (variable projection, in closed form, shared by all spectra on the same scaled grid);
   a parabola through the neighbouring grid points refines the best centre and width.
2. From there a damped Newton (Levenberg-Marquardt) iteration with analytic first and
   second derivatives refines all parameters together, the width fitted as log(w) so that
   it stays positive (this removes the (A, w) <-> (-A, -w) ambiguity). The exact Hessian
   keeps the convergence quadratic when the model does not describe the data exactly (a
   path-loss skew, say), where Gauss-Newton slows to a linear crawl. The solver is
   vectorised over a batch of spectra, which is what makes ``fit_spectra`` fast on field x
   bias maps. It stops when the Newton step is below 1e-10 of the sweep half-span, of the
   width and of the data scale, or would lower the sum of squares by less than 1e-9 of
   itself; that last step is taken unevaluated, leaving ~1e-8 standard errors to the
   exact minimum.
3. Standard errors: ``sqrt(chi2 / dof) * sqrt(diag((J^T W J)^-1))``, i.e. the covariance
   scaled by the residual: the noise level need not be known, only the ratios of the
   weights matter. J is that of the last evaluated iterate (the errors are good to ~1e-4
   of themselves).

One spectrum (``fit_spectrum``, ``fit_field_sweep``: the GUI's live fit, the adaptive sweeps)
takes the few-call path of ``stfmr_lab.analysis.fit_one``: the same model, Newton iteration,
stopping rule and checks, from a cheap start (or a guess, or a previous fit); the grid search
of step 1 decides when that start's fit fails a check other than structured residuals.

All functions are pure; results are frozen dataclasses.
"""

from __future__ import annotations

import contextlib
import operator
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from stfmr_lab.analysis import residuals

__all__ = [
    "FieldSweepFit",
    "FieldSweepFits",
    "SpectrumFit",
    "SpectrumFits",
    "fit_field_sweep",
    "fit_field_sweeps",
    "fit_spectra",
    "fit_spectrum",
    "lineshape",
]

_XTOL = 1e-10  # convergence: largest Gauss-Newton step in scaled units (half-span, log width, data scale)
_FTOL = 1e-9  # convergence: predicted relative decrease of the cost by the last (Newton) step
_MAX_ITER = 200
_LAM0 = 1e-3  # initial damping
_BLOCK_VALUES = 40 * 12 * 201  # spectra x derivative rows x points evaluated at once (fits in L2 cache)
_MAX_GRID_CENTRES = 400  # cap on the number of trial centres for the narrowest trial width
_MIN_SIGNIFICANCE = 5.0  # ok needs hypot(v_sym, v_asym) >= this many standard errors
_GRID_STEP = 1.0  # trial centres this many trial widths apart
_FREQ_NAMES = ("f0_hz", "hwhm_hz", "offset", "v_sym", "v_asym", "slope", "quadratic", "cubic")
_FIELD_NAMES = ("h0_oe", "dh_oe", "offset", "v_sym", "v_asym", "slope", "quadratic", "cubic")
#: ok needs unstructured residuals: a runs z score above -_MAX_RUNS_Z and a variance
#: inflation (n / n_eff) from their autocorrelation below _MAX_INFLATION
_MAX_RUNS_Z, _MAX_INFLATION = 3.5, 5.0
_EXACT = (
    1e-5  # residual RMS below this fraction of the amplitude: noise-free data described to 1e-5, no structure verdict
)
_SPIKE_FLOOR = 1e-8  # spikes are at least 8x this, in units of half the data range


# ---------------------------------------------------------------------------------------- lineshape
def lineshape(x, centre, width, v_sym, v_asym, offset=0.0, slope=0.0):
    """The fitted model ``offset + v_sym S + v_asym A + slope (x - centre)``.

    ``x``, ``centre`` and ``width`` share one unit (Hz or Oe); the amplitudes and the offset
    share the unit of the data (V, or V/A^2 for I_RF^2-normalised fits); ``slope`` is in
    data unit per x unit. Broadcasts.
    """
    x = np.asarray(x, dtype=float)
    u = (x - centre) / width
    s = 1.0 / (1.0 + u * u)
    return offset + v_sym * s + v_asym * u * s + slope * (x - centre)


# ---------------------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class SpectrumFit:
    """Result of a frequency-sweep fit (model in the module docstring).

    Attributes
    ----------
    f0_hz, hwhm_hz : resonance frequency and half width at half maximum (Hz).
    v_sym, v_asym, offset : symmetric and antisymmetric amplitudes and background, in V
        (in V/A^2 when ``normalised``: Vmix / I_RF^2 was fitted, and ``offset`` then
        estimates (1/4) d2V/dI2 in Ohm/A = V/A^2).
    slope : linear background in V/Hz (V/A^2/Hz when normalised); 0.0 when not fitted.
    stderr : 1-sigma standard error of each fitted parameter, keyed by the names above
        (``slope`` only when fitted), scaled by the residual: sqrt(chi2/dof) sqrt(diag(cov)).
    covariance : the scaled covariance matrix, rows/columns in the order ``param_names``.
    chi2_red : weighted sum of squared residuals over the degrees of freedom (V^2 when
        unweighted, whether normalised or not).
    n_points : number of points used (finite, weight > 0).
    ok : converged; hwhm > 0 and resolved (at least 4 points within 2 widths of f0) but not wider
        than the sweep; f0 inside the sweep; the RMS residual below the resonance amplitude
        hypot(v_sym, v_asym), and that amplitude at least 5 standard errors (a fit to pure
        noise finds some narrow spike: it is reported, but not ok).
    message : "ok", or why not.
    normalised : True when the data were divided by I_RF^2 (``irf2`` given).
    """

    f0_hz: float
    hwhm_hz: float
    v_sym: float
    v_asym: float
    offset: float
    slope: float
    stderr: dict
    covariance: np.ndarray
    chi2_red: float
    n_points: int
    ok: bool
    message: str
    param_names: tuple = _FREQ_NAMES[:5]
    normalised: bool = False
    stderr_sys: dict = field(default_factory=dict)
    error_inflation: float = 1.0
    runs_z: float = 0.0
    quadratic: float = 0.0
    cubic: float = 0.0
    poly_x0: float = 0.0
    n_outliers: int = 0

    def model(self, frequency_hz):
        """The fitted curve at ``frequency_hz`` (Hz), in the unit of the fitted data (V or V/A^2)."""
        return _full_model(self, frequency_hz, self.f0_hz, self.hwhm_hz)

    @property
    def sigma_rad_s(self) -> float:
        """Linewidth as an angular frequency, 2 pi hwhm_hz (rad/s), as used in the torkance formulas."""
        return 2.0 * np.pi * self.hwhm_hz


@dataclass(frozen=True, eq=False)
class FieldSweepFit:
    """Result of a field-sweep fit at fixed frequency: Lorentzians in H.

    Attributes as in ``SpectrumFit`` with ``h0_oe`` (resonance field, Oe) and ``dh_oe``
    (HWHM in field, Oe) instead of f0/hwhm, and ``slope`` in V/Oe. For a mode whose
    frequency rises with field, u = (H - H0)/dH has the opposite sign to the frequency
    detuning, so ``v_asym`` of a field sweep has the opposite sign to a frequency sweep's.
    """

    h0_oe: float
    dh_oe: float
    v_sym: float
    v_asym: float
    offset: float
    slope: float
    stderr: dict
    covariance: np.ndarray
    chi2_red: float
    n_points: int
    ok: bool
    message: str
    param_names: tuple = _FIELD_NAMES[:5]
    normalised: bool = False
    stderr_sys: dict = field(default_factory=dict)
    error_inflation: float = 1.0
    runs_z: float = 0.0
    quadratic: float = 0.0
    cubic: float = 0.0
    poly_x0: float = 0.0
    n_outliers: int = 0

    def model(self, field_oe):
        """The fitted curve at ``field_oe`` (Oe), in the unit of the fitted data (V or V/A^2)."""
        return _full_model(self, field_oe, self.h0_oe, self.dh_oe)


def _full_model(fit, x, centre, width):
    """The line, offset and slope (``lineshape``) plus the quadratic and cubic background terms."""
    out = lineshape(x, centre, width, fit.v_sym, fit.v_asym, fit.offset, fit.slope)
    if fit.quadratic or fit.cubic:
        dx = np.asarray(x, dtype=float) - fit.poly_x0
        out = out + fit.quadratic * dx**2 + fit.cubic * dx**3
    return out


class _FitArrays(Sequence):
    """Shared behaviour of the batch results: a sequence of single-fit results over arrays."""

    _item: type
    _names: tuple

    def __len__(self) -> int:
        return len(self.ok)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = operator.index(i)
        if not -len(self) <= i < len(self):
            raise IndexError("fit index out of range")
        i %= len(self)
        c, w = self._names[:2]
        return self._item(
            **{c: float(getattr(self, c)[i]), w: float(getattr(self, w)[i])},
            v_sym=float(self.v_sym[i]),
            v_asym=float(self.v_asym[i]),
            offset=float(self.offset[i]),
            slope=float(self.slope[i]),
            stderr={k: float(v[i]) for k, v in self.stderr.items()},
            covariance=self.covariance[i].copy(),
            chi2_red=float(self.chi2_red[i]),
            n_points=int(self.n_points[i]),
            ok=bool(self.ok[i]),
            message=self.message[i],
            param_names=self.param_names,
            normalised=bool(self.normalised[i]),
            stderr_sys={k: float(v[i]) for k, v in self.stderr_sys.items()},
            error_inflation=float(self.error_inflation[i]),
            runs_z=float(self.runs_z[i]),
            quadratic=float(self.quadratic[i]),
            cubic=float(self.cubic[i]),
            poly_x0=float(self.poly_x0[i]),
            n_outliers=int(self.n_outliers[i]),
        )

    def columns(self) -> dict:
        """All results as 1-D columns (stderr as ``<name>_err``), e.g. for a pandas DataFrame."""
        c, w = self._names[:2]
        out = {k: getattr(self, k) for k in (c, w, "v_sym", "v_asym", "offset", "slope")}
        out.update({f"{k}_err": v for k, v in self.stderr.items()})
        out.update({f"{k}_err_sys": v for k, v in self.stderr_sys.items()})
        out.update(error_inflation=self.error_inflation, runs_z=self.runs_z, n_outliers=self.n_outliers)
        out.update(chi2_red=self.chi2_red, n_points=self.n_points, ok=self.ok, message=np.array(self.message))
        return out


@dataclass(frozen=True, eq=False)
class SpectrumFits(_FitArrays):
    """Results of ``fit_spectra``: arrays over spectra (same meaning and units as ``SpectrumFit``).

    Also a sequence: ``fits[i]`` is the ``SpectrumFit`` of spectrum i, ``list(fits)`` all of them.
    ``stderr`` maps each parameter name to an array; ``covariance`` is (m, p, p).
    """

    f0_hz: np.ndarray
    hwhm_hz: np.ndarray
    v_sym: np.ndarray
    v_asym: np.ndarray
    offset: np.ndarray
    slope: np.ndarray
    stderr: dict
    covariance: np.ndarray
    chi2_red: np.ndarray
    n_points: np.ndarray
    ok: np.ndarray
    message: tuple
    param_names: tuple
    normalised: np.ndarray
    stderr_sys: dict
    error_inflation: np.ndarray
    runs_z: np.ndarray
    quadratic: np.ndarray
    cubic: np.ndarray
    poly_x0: np.ndarray
    n_outliers: np.ndarray

    _item = SpectrumFit
    _names = _FREQ_NAMES


@dataclass(frozen=True, eq=False)
class FieldSweepFits(_FitArrays):
    """Results of ``fit_field_sweeps``: arrays over sweeps (meaning and units as ``FieldSweepFit``)."""

    h0_oe: np.ndarray
    dh_oe: np.ndarray
    v_sym: np.ndarray
    v_asym: np.ndarray
    offset: np.ndarray
    slope: np.ndarray
    stderr: dict
    covariance: np.ndarray
    chi2_red: np.ndarray
    n_points: np.ndarray
    ok: np.ndarray
    message: tuple
    param_names: tuple
    normalised: np.ndarray
    stderr_sys: dict
    error_inflation: np.ndarray
    runs_z: np.ndarray
    quadratic: np.ndarray
    cubic: np.ndarray
    poly_x0: np.ndarray
    n_outliers: np.ndarray

    _item = FieldSweepFit
    _names = _FIELD_NAMES


# ---------------------------------------------------------------------------------------- core
@dataclass(frozen=True)
class _Raw:
    """Physical-unit results of a batch (arrays over spectra), before packaging."""

    params: np.ndarray  # (m, p): centre, width, offset, v_sym, v_asym[, slope[, quadratic[, cubic]]]
    cov: np.ndarray  # (m, p, p), inflated for correlated residuals
    chi2_red: np.ndarray
    n_points: np.ndarray
    converged: np.ndarray
    x_min: np.ndarray
    x_max: np.ndarray
    rms: np.ndarray  # weighted RMS residual
    n_near: np.ndarray  # points within two widths of the centre (is the line resolved?)
    sys: np.ndarray  # (m, p) systematic errors (background model, window)
    inflation: np.ndarray  # variance inflation from the residuals' autocorrelation (n / n_eff)
    error_factor: np.ndarray  # largest factor on a line parameter's error from correlated (1/f) noise
    runs_z: np.ndarray  # runs test of the residuals' signs (z score)
    x0: np.ndarray  # abscissa about which the quadratic and cubic terms are taken
    n_outliers: np.ndarray  # spikes dropped

    def take(self, rows) -> _Raw:
        return _Raw(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))


#: rows of the monomial stack (``_evaluate``, ``fit_one.NewtonTerms``): 1, S, A, S^2, A S,
#: S^3, A S^2, then the background's powers u, u^2, u^3 from _U on
_ONE, _S, _A, _S2, _AS, _S3, _AS2, _U = range(8)
#: the (i, j) entries of theta whose second derivatives ``_second_sums`` gives, in its order
_SECOND = ((0, 0), (0, 1), (1, 1), (0, 3), (0, 4), (1, 3), (1, 4))


def _jacobian_selectors(cj, order):
    """The constant rows of ``cj`` (..., p, nm) (zeros elsewhere): dm/d offset = 1, dm/dv_sym = S,
    dm/dv_asym = A, dm/dq_e = u^e (and dm/dk = u - c with ``_jacobian_coefficients``)."""
    cj[..., 2, _ONE] = cj[..., 3, _S] = cj[..., 4, _A] = 1.0
    for e in range(1, order + 1):
        cj[..., 4 + e, _U + e - 1] = 1.0


def _jacobian_coefficients(cj, c, iw, vs, va, k, order):
    """The rows of ``cj`` (..., p, nm) that depend on theta, J = cj @ M: dm/dc = -F'/w - k,
    dm/dlog w = -x F' (F' = v_asym (2 S^2 - S) - 2 v_sym A S), dm/dk = u - c."""
    cj[..., 0, _ONE], cj[..., 0, _S], cj[..., 0, _S2], cj[..., 0, _AS] = -k, iw * va, -2.0 * iw * va, 2.0 * iw * vs
    cj[..., 1, _S], cj[..., 1, _S2], cj[..., 1, _A], cj[..., 1, _AS] = 2.0 * vs, -2.0 * vs, va, -2.0 * va
    if order >= 1:
        cj[..., 5, _ONE] = -c


def _second_sums(s1, a1, s2, as1, s3, as2, vs, va, iw):
    """sum_i w_i r_i d2 model_i / (d theta_i d theta_j) for the pairs of ``_SECOND``, from the
    weighted sums of the residual times the monomials (floats or arrays over spectra).

    With F = v_sym S + v_asym A: F' = v_asym (2 S^2 - S) - 2 v_sym A S, F'' = v_sym S^2 (6 - 8 S)
    + v_asym A S (2 - 8 S); d2m/dc2 = F''/w^2, d2m/dc dlog w = (F' + x F'')/w, d2m/dlog w2 =
    x (F' + x F''), d2m/dc dv_sym = 2 A S / w, d2m/dc dv_asym = (S - 2 S^2)/w, d2m/dlog w dv_sym
    = 2 (S - S^2), d2m/dlog w dv_asym = A - 2 A S (x S = A, x A S = S - S^2, x^2 S = 1 - S)."""
    return (
        iw * iw * (6.0 * vs * s2 - 8.0 * vs * s3 + 2.0 * va * as1 - 8.0 * va * as2),
        iw * (va * s1 - 8.0 * va * s2 + 8.0 * va * s3 + 4.0 * vs * as1 - 8.0 * vs * as2),
        4.0 * vs * s1 - 12.0 * vs * s2 + 8.0 * vs * s3 + va * a1 - 8.0 * va * as1 + 8.0 * va * as2,
        2.0 * iw * as1,
        iw * (s1 - 2.0 * s2),
        2.0 * (s1 - s2),
        a1 - 2.0 * as1,
    )


def _model_coefficients(theta, order):
    """(c, 1/w, cm, k) of a batch: cm (m, 1, nm) the model as a combination of the monomials,
    model = offset + v_sym S + v_asym A + k (u - c) + q2 u^2 + q3 u^3 = cm @ M."""
    m = theta.shape[0]
    c, iw = theta[:, 0], np.exp(-theta[:, 1])
    k = theta[:, 5] if order >= 1 else np.zeros(m)
    cm = np.zeros((m, 1, 7 + order))
    cm[:, 0, _ONE], cm[:, 0, _S], cm[:, 0, _A] = theta[:, 2] - k * c, theta[:, 3], theta[:, 4]
    cm[:, 0, _U:] = theta[:, 5:]
    return c, iw, cm, k


def _monomials(u, c, iw, order, out):
    """The monomial stack of a block of spectra into ``out`` (b, nm + 1, n); row nm holds x,
    free for the residual afterwards."""
    nm = out.shape[1] - 1
    x = np.subtract(u, c, out=out[:, nm])
    x *= iw
    s = np.multiply(x, x, out=out[:, _S])
    s += 1.0
    np.divide(1.0, s, out=s)
    np.multiply(x, s, out=out[:, _A])
    np.multiply(s, s, out=out[:, _S2])
    np.multiply(out[:, _A], s, out=out[:, _AS])
    np.multiply(out[:, _S2], s, out=out[:, _S3])
    np.multiply(out[:, _AS], s, out=out[:, _AS2])
    out[:, _ONE] = 1.0
    for e in range(1, order + 1):
        np.power(u, e, out=out[:, _U + e - 1])


def _evaluate(u, y, sw, theta, order, work=None):
    """Cost and the Newton system at theta for a batch (arrays (m, n)).

    theta = (c, log w, offset, v_sym, v_asym[, k[, q2[, q3]]]) in scaled units (background
    ``order`` 0-3: k the slope about c, q_e the coefficient of u**e), ``sw`` the square roots
    of the weights (None: uniform), ``work`` an optional scratch array from ``_work_array``.
    Returns (cost, jtj, grad, hess) with cost = sum w (y - model)^2, jtj = J^T W J,
    grad = J^T W r and hess = J^T W J - sum_i w_i r_i d2 model_i, the exact Hessian of
    cost/2. The residual term matters when the model does not describe the data exactly
    (e.g. I_RF varying across the sweep): Gauss-Newton then converges only linearly, Newton
    quadratically.

    Every Jacobian row and second derivative is a combination of the monomials M = [1, S, A,
    S^2, A S, S^3, A S^2, u, u^2, u^3] (``_jacobian_coefficients``, ``_second_sums``), so the
    per-point work is the monomials and the residual, stacked, and one product of the stack
    with itself (M W M^T, M W r, r W r), in cache-sized blocks of spectra.
    """
    m, p = theta.shape
    n = u.shape[1]
    nm = 7 + order
    if work is None:
        work = _work_array(m, p, n)
    block = max(1, work.shape[0] * work.shape[1] // (nm + 1))
    flat = work.reshape(-1)
    c, iw, cm, k = _model_coefficients(theta, order)
    vs, va = theta[:, 3], theta[:, 4]
    prod = np.empty((m, nm + 1, nm + 1))
    for i in range(0, m, block):
        j = min(i + block, m)
        st = flat[: (j - i) * (nm + 1) * n].reshape(j - i, nm + 1, n)
        _monomials(u[i:j], c[i:j, None], iw[i:j, None], order, st)
        r = st[:, nm]
        np.matmul(cm[i:j], st[:, :nm], out=r[:, None, :])
        np.subtract(y[i:j], r, out=r)
        lhs = st if sw is None else st * (sw[i:j] * sw[i:j])[:, None, :]
        np.matmul(lhs, st.transpose(0, 2, 1), out=prod[i:j])
    gram, mr, cost = prod[:, :nm, :nm], prod[:, :nm, nm], prod[:, nm, nm].copy()
    cj = np.zeros((m, p, nm))
    _jacobian_selectors(cj, order)
    _jacobian_coefficients(cj, c, iw, vs, va, k, order)
    jtj = cj @ gram @ cj.transpose(0, 2, 1)
    grad = (cj @ mr[:, :, None])[:, :, 0]
    hess = jtj.copy()
    for (i, j), v in zip(_SECOND, _second_sums(*mr[:, 1:7].T, vs, va, iw), strict=True):
        hess[:, i, j] -= v
        if i != j:
            hess[:, j, i] -= v
    if order >= 1:  # d2m/dc dk = -1: the term is + sum w r
        hess[:, 0, 5] += mr[:, _ONE]
        hess[:, 5, 0] += mr[:, _ONE]
    return cost, jtj, grad, hess


_SCRATCH = threading.local()  # per-thread scratch buffer of _work_array, reused across fits


def _work_array(m, p, n):
    """Scratch array for ``_evaluate``: a cache-sized block of spectra.

    Reused from one fit to the next (per thread): a fresh ~1 MB array is mapped anew by the
    allocator, and its page faults cost as much as a quarter of a small fit."""
    shape = (max(1, min(m, _BLOCK_VALUES // ((p + 8) * n))), p + 8, n)
    size = int(np.prod(shape))
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.size < size:
        buf = _SCRATCH.buf = np.empty(max(size, _BLOCK_VALUES + 8 * n))
    return buf[:size].reshape(shape)


def _grid_start(u, y, sw, order, centres=None, widths=None):
    """Best (c, log w, linear parameters) on a (centre, width) grid by variable projection.

    ``u`` (n,) is the scaled abscissa shared by the spectra ``y`` (k, n), ``sw`` (n,) the
    square roots of the weights. The linear least squares of every grid point is solved in
    closed form (columns made orthogonal to the constant and the slope). Returns theta (k, p),
    p = 5 + ``order`` (background terms above the slope start at 0).
    """
    p = 5 + int(order)
    slope = order >= 1
    auto = centres is None and widths is None
    wt = sw * sw
    wt = wt / wt.sum()
    us = np.sort(u[wt > 0])
    span = us[-1] - us[0]
    if widths is None:
        du = np.median(np.diff(us))
        w_min = max(2.0 * du, _GRID_STEP * span / _MAX_GRID_CENTRES)
        widths = w_min * 2.0 ** np.arange(max(1, int(np.floor(np.log2(span / w_min))) + 1))
    gc, gw, seg = [], [], []
    for j, w in enumerate(np.atleast_1d(widths)):
        cs = np.linspace(us[0], us[-1], int(np.ceil(span / (_GRID_STEP * w))) + 1) if centres is None else centres
        gc.append(np.atleast_1d(cs))
        gw.append(np.full(np.size(cs), w))
        seg.append(np.full(np.size(cs), j))
    seg_start = np.cumsum([0] + [c.size for c in gc])
    gc, gw, seg = np.concatenate(gc), np.concatenate(gw), np.concatenate(seg)
    ybar = y @ wt
    lc = ll = None
    if slope:
        lc = u - u @ wt
        ll = np.sum(lc * lc * wt)
    k = y.shape[0]
    cols = np.arange(k)
    proj = np.empty((gc.size, k))
    step = max(1, _BLOCK_VALUES // (8 * u.size))
    for i in range(0, gc.size, step):  # blocks of grid points, small enough to stay in cache
        sc, ac, ss, aa, sa, det = _grid_basis(u, wt, gc[i : i + step], gw[i : i + step], lc, ll)[:6]
        # (the columns are orthogonal to the constant: projecting y or y - mean(y) is the same)
        bs, ba = (sc * wt) @ y.T, (ac * wt) @ y.T  # (G, k)
        proj[i : i + step] = (aa[:, None] * bs * bs - 2.0 * sa[:, None] * bs * ba + ss[:, None] * ba * ba) / det[
            :, None
        ]
    best = np.argmax(proj, axis=0)
    c_best, w_best = gc[best], gw[best]
    if auto:
        # parabolic refinement between the grid points: in centre along the best width's row,
        # in log width across the neighbouring widths (at their nearest centres)
        s_best = seg[best]  # the width row of the best point
        p0 = proj[best, cols]
        inner = (best > seg_start[s_best]) & (best < seg_start[s_best + 1] - 1)
        pm, pp = proj[np.maximum(best - 1, 0), cols], proj[np.minimum(best + 1, gc.size - 1), cols]
        c_best = c_best + np.where(inner, _vertex(pm, p0, pp), 0.0) * _GRID_STEP * w_best
        n_seg = seg_start.size - 1
        has_w = (s_best > 0) & (s_best < n_seg - 1)
        sm, sp = np.clip(s_best - 1, 0, n_seg - 1), np.clip(s_best + 1, 0, n_seg - 1)

        def nearest(sg):  # index of the grid point of width row sg nearest to the refined centre
            first, count = seg_start[sg], seg_start[sg + 1] - seg_start[sg]
            pos = np.rint((c_best - gc[first]) / (_GRID_STEP * gw[first]))
            return first + np.clip(pos, 0, count - 1).astype(int)

        pm, pp = proj[nearest(sm), cols], proj[nearest(sp), cols]
        w_best = w_best * 2.0 ** np.where(has_w, _vertex(pm, p0, pp), 0.0)
    # linear parameters at each spectrum's start point
    sc, ac, ss, aa, sa, det, ms, ma, als, ala = _grid_basis(u, wt, c_best, w_best, lc, ll)
    bs, ba = np.sum(sc * wt * y, axis=1), np.sum(ac * wt * y, axis=1)
    v_sym = (aa * bs - sa * ba) / det
    v_asym = (ss * ba - sa * bs) / det
    theta = np.zeros((k, p))
    theta[:, 0] = c_best
    theta[:, 1] = np.log(w_best)
    theta[:, 3] = v_sym
    theta[:, 4] = v_asym
    offset = ybar - v_sym * ms - v_asym * ma  # model: offset' + v_sym S + v_asym A (+ k u)
    if slope:
        kk = y @ (wt * lc) / ll - v_sym * als - v_asym * ala
        offset = offset - kk * (u @ wt) + kk * theta[:, 0]  # offset' + k u = offset + k (u - c)
        theta[:, 5] = kk
    theta[:, 2] = offset
    return theta


def _vertex(pm, p0, pp):
    """Abscissa of the vertex of the parabola through (-1, pm), (0, p0), (1, pp), clipped to [-0.5, 0.5]."""
    curv = pm - 2.0 * p0 + pp
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(curv < 0, 0.5 * (pm - pp) / curv, 0.0)
    return np.clip(np.nan_to_num(x), -0.5, 0.5)


def _grid_basis(u, wt, gc, gw, lc=None, ll=None):
    """S, A columns at grid points (gc, gw), weighted-centred (and orthogonal to the slope
    column ``lc`` if given); returns (sc, ac, <sc,sc>, <ac,ac>, <sc,ac>, det, mean S, mean A,
    slope projections of S and A)."""
    x = (u[None, :] - gc[:, None]) / gw[:, None]
    s = 1.0 / (1.0 + x * x)
    a = x * s
    ms, ma = s @ wt, a @ wt
    sc, ac = s - ms[:, None], a - ma[:, None]  # centred: orthogonal to the constant
    als = ala = None
    if lc is not None:
        als, ala = (sc * wt) @ lc / ll, (ac * wt) @ lc / ll
        sc, ac = sc - als[:, None] * lc, ac - ala[:, None] * lc  # orthogonal to the slope too
    ss, aa, sa = (sc * sc) @ wt, (ac * ac) @ wt, (sc * ac) @ wt
    det = ss * aa - sa * sa
    det = np.where(det > 0, det, np.inf)
    return sc, ac, ss, aa, sa, det, ms, ma, als, ala


def _solve(a, b):
    """Batched solve of a x = b (b (m, p)); rows with a singular matrix get a least-squares answer."""
    try:
        return np.linalg.solve(a, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return np.stack([np.linalg.lstsq(ai, bi, rcond=None)[0] for ai, bi in zip(a, b, strict=True)])


def _positive_definite(a):
    """Boolean per matrix of the stack ``a``: positive definite (one Cholesky call when all are)."""
    try:
        np.linalg.cholesky(a)
        return np.ones(a.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        return np.all(np.linalg.eigvalsh(a) > 0, axis=1)


def _levenberg_marquardt(u, y, sw, theta, order):
    """Vectorised damped Newton (Levenberg-Marquardt) over a batch (arrays (m, n)).

    The step solves (H + lambda D) step = J^T W r with H the exact Hessian where it is
    positive definite (else J^T W J), D = diag(J^T W J); lambda shrinks after a step that
    lowers the cost and grows otherwise. Returns (theta, cost, jtj, converged), jtj = J^T W J
    at the solution.
    """
    m, p = theta.shape
    theta = theta.copy()
    lam = np.full(m, _LAM0)
    work = _work_array(m, p, u.shape[1])
    cost, jtj, grad, hess = _evaluate(u, y, sw, theta, order, work)
    active = np.isfinite(cost) & np.all(np.isfinite(theta), axis=1)
    converged = np.zeros(m, dtype=bool)
    eye = np.eye(p)
    for _ in range(_MAX_ITER):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        jt, hs, g = jtj[idx], hess[idx], grad[idx]
        positive = _positive_definite(hs)
        hs = np.where(positive[:, None, None], hs, jt)
        diag = np.diagonal(jt, axis1=1, axis2=2)
        diag = np.maximum(diag, 1e-12 * np.max(diag, axis=1, keepdims=True) + 1e-300)[:, :, None] * eye
        # damped step and (nearly) undamped one, in one batched solve
        steps = _solve(np.concatenate([hs + lam[idx, None, None] * diag, hs + 1e-12 * diag]), np.concatenate([g, g]))
        step, newton = steps[: idx.size], steps[idx.size :]
        # at the minimum: the undamped step is below XTOL, or would lower the cost by a
        # negligible fraction (quadratic convergence: after it ~1e-8 standard errors are left).
        # Take that last step without evaluating it.
        pred = np.einsum("mi,mi->m", g, newton)
        at_min = positive & ((np.max(np.abs(newton), axis=1) <= _XTOL) | (pred <= _FTOL * cost[idx]))
        fin = idx[at_min]
        theta[fin] += newton[at_min]
        converged[fin] = True
        active[fin] = False
        ev, step = idx[~at_min], step[~at_min]
        if ev.size == 0:
            continue
        trial = theta[ev] + step
        if ev.size == m:  # all rows: no copies
            c_t, jtj_t, grad_t, hess_t = _evaluate(u, y, sw, trial, order, work)
        else:
            c_t, jtj_t, grad_t, hess_t = _evaluate(u[ev], y[ev], None if sw is None else sw[ev], trial, order, work)
        better = np.isfinite(c_t) & (c_t <= cost[ev])
        acc = ev[better]
        theta[acc], cost[acc], jtj[acc], grad[acc], hess[acc] = (
            trial[better],
            c_t[better],
            jtj_t[better],
            grad_t[better],
            hess_t[better],
        )
        lam[acc] = np.maximum(lam[acc] / 5.0, 1e-12)
        rej = ev[~better]
        lam[rej] *= 4.0
        stuck = rej[lam[rej] > 1e14]  # no step lowers the cost any more: at the numerical floor
        converged[stuck] = True
        active[stuck] = False
    return theta, cost, jtj, converged


def _same_rows(a, tol=1e-9):
    """Indices of the rows of ``a`` grouped by equality (to ``tol``), as a list of arrays."""
    if a.shape[0] == 1 or np.all(a == a[0]) or np.all(np.abs(a - a[:1]) <= tol):
        return [np.arange(a.shape[0])]
    groups: dict[bytes, list[int]] = {}
    for i, row in enumerate(np.round(a / tol).astype(np.int64)):
        groups.setdefault(row.tobytes(), []).append(i)
    return [np.asarray(g) for g in groups.values()]


def _fit_group(x, y, w, order, centre_guess=None, width_guess=None, despike=True) -> _Raw:
    """Fit equal-length spectra x, y, w (m, n); non-finite points must carry zero weight.

    ``order``: background polynomial order 0-3. ``despike``: drop isolated spikes (Hampel
    test on the data before the start search, on the residuals after the fit, which is
    then refined without them)."""
    m, n = y.shape
    p = 5 + int(order)
    good = w > 0
    n_pts = good.sum(axis=1)
    if np.any(n_pts < p + 1):
        raise ValueError(f"need at least {p + 1} finite points of positive weight per spectrum to fit {p} parameters")
    all_good = bool(good.all())
    if all_good:
        x_min, x_max = x.min(axis=1), x.max(axis=1)
    else:
        big = np.finfo(float).max
        x_min = np.where(good, x, big).min(axis=1)
        x_max = np.where(good, x, -big).max(axis=1)
    if np.any(x_max <= x_min):
        raise ValueError("the sweep must span a nonzero range")
    xmid, hs = 0.5 * (x_max + x_min), 0.5 * (x_max - x_min)
    u = x - xmid[:, None]
    u /= hs[:, None]
    if not all_good:
        u = np.where(good, u, 0.0)
        y = np.where(good, y, 0.0)
    # data scale (half the range), so that the fitted amplitudes are of order 1
    big = np.finfo(float).max
    ys = 0.5 * (np.where(good, y, -big).max(axis=1) - np.where(good, y, big).min(axis=1))
    ys = np.where(ys > 0, ys, np.maximum(np.max(np.abs(y), axis=1), 1e-300))
    yu = y / ys[:, None]
    wmean = np.sum(w, axis=1) / n_pts
    order_idx = (
        None if np.all(np.diff(u, axis=1) >= 0) else np.argsort(np.where(good, u, np.inf), axis=1, kind="stable")
    )
    n_out = np.zeros(m, dtype=int)
    y_start = yu  # for the start search: spikes replaced by their neighbours (the weights stay shared)
    sw_start = None if all_good and np.all(w == w[:, :1]) else np.sqrt(w / wmean[:, None])
    if despike:
        spikes = _in_sweep_order(residuals.hampel_outliers, order_idx, yu, good, _SPIKE_FLOOR)
        if np.any(spikes):
            y_start = yu.copy()
            for i in np.flatnonzero(spikes.any(axis=1)):
                keep = good[i] & ~spikes[i]
                y_start[i, spikes[i]] = np.interp(u[i, spikes[i]], *_sorted_pair(u[i, keep], yu[i, keep]))
            good = good & ~spikes
            n_out += spikes.sum(axis=1)
            all_good = False
    if all_good and np.all(w == w[:, :1]):
        sw = None  # uniform weights
    else:
        sw = np.where(good, w, 0.0) / wmean[:, None]
        np.sqrt(sw, out=sw)

    # start values: one grid search per distinct (scaled abscissa, weights)
    theta0 = np.empty((m, p))
    for rows in _same_rows(
        u if sw_start is None or np.all(sw_start == sw_start[0]) else np.concatenate([u, sw_start], axis=1)
    ):
        i0 = rows[0]
        cg = None if centre_guess is None else [(centre_guess - xmid[i0]) / hs[i0]]
        wg = None if width_guess is None else [abs(width_guess) / hs[i0]]
        y_rows = y_start if rows.size == m else y_start[rows]
        theta0[rows] = _grid_start(u[i0], y_rows, np.ones(n) if sw_start is None else sw_start[i0], order, cg, wg)

    with np.errstate(all="ignore"):  # trial steps may overflow; they are then rejected
        theta, cost, jtj, converged = _levenberg_marquardt(u, yu, sw, theta0, order)
        model, jac = _model_jacobian(u, theta, order)
        if despike:  # spikes on a line's flank show only in the residuals
            spikes = _in_sweep_order(residuals.hampel_outliers, order_idx, yu - model, good, _SPIKE_FLOOR)
            rows = np.flatnonzero(spikes.any(axis=1))
            if rows.size:
                good = good & ~spikes
                n_out += spikes.sum(axis=1)
                if sw is None:
                    sw = np.ones((m, n))
                sw = np.where(good, sw, 0.0)
                t, c, j, cv = _levenberg_marquardt(u[rows], yu[rows], sw[rows], theta[rows], order)
                theta[rows], cost[rows], jtj[rows], converged[rows] = t, c, j, cv
                model[rows], jac[rows] = _model_jacobian(u[rows], theta[rows], order)
    n_pts = good.sum(axis=1)
    try:
        cov_u = np.linalg.inv(jtj)
    except np.linalg.LinAlgError:  # a singular matrix (no resonance at all) must not spoil the batch
        cov_u = np.full((m, p, p), np.nan)
        for i in range(m):
            try:
                cov_u[i] = np.linalg.inv(jtj[i])
            except np.linalg.LinAlgError:
                pass
    dof = n_pts - p
    sigma2 = cost / dof
    cov_u *= sigma2[:, None, None]
    with np.errstate(all="ignore"):
        inflation, runs_z, sys_u, factors = _diagnose(
            u, yu, sw, good, theta, cov_u, sigma2, order, order_idx, jtj, model, jac
        )
    width = np.exp(theta[:, 1]) * hs
    scale = np.stack([hs, width, ys, ys, ys] + [ys / hs**e for e in range(1, order + 1)], axis=1)
    params = theta * scale
    params[:, 0] += xmid
    params[:, 1] = width
    cov = cov_u * scale[:, :, None] * scale[:, None, :]
    chi2 = cost * ys**2 * wmean
    rms = np.sqrt(chi2 / (wmean * n_pts))
    with np.errstate(invalid="ignore"):
        n_near = np.sum(good & (np.abs(x - params[:, :1]) <= _NEAR_WIDTHS * width[:, None]), axis=1)
    return _Raw(
        params,
        cov,
        chi2 / dof,
        n_pts,
        converged,
        x_min,
        x_max,
        rms,
        n_near,
        sys_u * scale,
        inflation,
        np.sqrt(np.max(factors[:, :5], axis=1)),
        runs_z,
        xmid,
        n_out,
    )


def _sorted_pair(x, y):
    order = np.argsort(x, kind="stable")
    return x[order], y[order]


def _in_sweep_order(fn, order_idx, values, good, floor):
    """``fn(values, good, floor=floor)`` on rows sorted by the abscissa; a mask back in input order."""
    if order_idx is None:
        return fn(values, good, floor=floor)
    out = fn(np.take_along_axis(values, order_idx, 1), np.take_along_axis(good, order_idx, 1), floor=floor)
    back = np.empty_like(out)
    np.put_along_axis(back, order_idx, out, axis=1)
    return back


def _model_jacobian(u, theta, order, jacobian=True):
    """The model (m, n) and its Jacobian (m, n, p) in scaled units at ``theta``, from the
    monomial stack (``_monomials``, ``_model_coefficients``, ``_jacobian_coefficients``)."""
    m, p = theta.shape
    nm = 7 + order
    st = np.empty((m, nm + 1, u.shape[1]))
    c, iw, cm, k = _model_coefficients(theta, order)
    _monomials(u, c[:, None], iw[:, None], order, st)
    mono = st[:, :nm]
    model = np.matmul(cm, mono)[:, 0]
    if not jacobian:
        return model, None
    cj = np.zeros((m, p, nm))
    _jacobian_selectors(cj, order)
    _jacobian_coefficients(cj, c, iw, theta[:, 3], theta[:, 4], k, order)
    return model, np.matmul(cj, mono).transpose(0, 2, 1)


#: systematic alternatives: background orders above the fitted one, and windows of
#: centre +- these many widths (when they drop at least a tenth of the points)
_SYS_EXTRA_ORDERS, _SYS_WINDOWS = 1, (3.5,)


def _diagnose(u, yu, sw, good, theta, cov_u, sigma2, order, order_idx, jtj, model, jac):
    """(inflation, runs_z, systematic errors (m, p), 1/f variance factors (m, p)) of fits in
    scaled units: see ``residuals``. ``cov_u`` is inflated in place by the factors."""
    inflation, runs_z, factors, weighted = _noise_checks(u, yu, sw, good, theta, cov_u, sigma2, order_idx, model, jac)
    sys_u = _systematics(u, good, theta, cov_u, sigma2, order, jtj, factors, weighted)
    return inflation, runs_z, sys_u, factors


def _noise_checks(u, yu, sw, good, theta, cov_u, sigma2, order_idx, model, jac):
    """The part of ``_diagnose`` that the verdicts need: (inflation, runs_z, factors, weighted),
    ``weighted`` = (unit weights?, sqrt(weights), weighted residuals, weighted Jacobian) for
    ``_systematics``."""
    n = yu.shape[1]
    unit = sw is None and bool(good.all())  # every weight 1: skip the (exact) products by 1.0
    swf = good.astype(float) if sw is None else sw
    rw = yu - model if unit else swf * (yu - model)
    jw = jac if unit else jac * swf[:, :, None]
    width = np.exp(theta[:, 1])
    us = u if order_idx is None else np.take_along_axis(u, order_idx, 1)
    gs = good if order_idx is None else np.take_along_axis(good, order_idx, 1)
    du = us[:, 1:] - us[:, :-1]
    if bool(gs.all()) and bool((du > 0).all()):
        du = residuals._row_median(du)
    else:
        du = np.nanmedian(np.where(gs[:, 1:] & gs[:, :-1] & (du > 0), du, np.nan), axis=1)
    corr_points = width / du
    corr_points = np.minimum(np.maximum(np.where(np.isnan(corr_points), 2.0, corr_points), 2.0), max(2.0, n / 8))
    rs = rw if order_idx is None else np.take_along_axis(rw, order_idx, 1)
    inflation, runs_z = residuals.structure(rs, gs, corr_points)
    js = jw if order_idx is None else np.take_along_axis(jw, order_idx[:, :, None], 1)
    spectrum = {}
    factors = residuals.correlated_noise_factors(js, rs, gs, ainv=cov_u / sigma2[:, None, None], spectrum=spectrum)
    cov_u *= np.sqrt(factors[:, :, None] * factors[:, None, :])
    return inflation, runs_z, factors, (unit, swf, rw, jw, {"spectrum": spectrum, "order": order_idx})


def _systematics(u, good, theta, cov_u, sigma2, order, jtj, factors, weighted):
    """Systematic errors (m, p) in scaled units (``residuals.systematic``) over the
    alternatives: background orders above the fitted one, windows of the centre +- widths."""
    unit, swf, rw, jw, noise = weighted
    m, n = u.shape
    alternatives = []
    for k in range(1, _SYS_EXTRA_ORDERS + 1):
        if order + k <= 4:
            cols = [(u - theta[:, 0, None]) if e == 1 else u**e for e in range(order + 1, order + k + 1)]
            extra = np.stack(cols, axis=2)
            alternatives.append(("extra", extra if unit else extra * swf[:, :, None]))
    all_good = bool(good.all())
    n_good = np.full(m, n) if all_good else good.sum(axis=1)
    p = theta.shape[1]
    width = np.exp(theta[:, 1])
    for win in _SYS_WINDOWS:
        keep = np.abs(u - theta[:, 0, None]) <= win * width[:, None]
        if not all_good:
            keep &= good
        nk = np.count_nonzero(keep, axis=1)
        use = (nk <= 0.9 * n_good) & (nk >= max(3 * p, 12))
        if use.all():
            alternatives.append(("mask", keep))
        elif use.any():
            alternatives.append(("mask", np.where(use[:, None], keep, good)))
    return residuals.systematic(
        jw, rw, cov_u, sigma2, alternatives, jtj, factors=factors, noise=noise, significance=residuals.SHIFT_SIGNIFICANCE
    )


#: a line is resolved when at least _MIN_NEAR points lie within _NEAR_WIDTHS half widths of its
#: centre (for a uniform sweep: the width at least about the point spacing; an adaptive one
#: may be sparse elsewhere)
_NEAR_WIDTHS, _MIN_NEAR = 2.0, 4
STRUCTURE_MESSAGE = "residuals structured (runs or autocorrelation): the model misses something"
RESOLUTION_MESSAGE = f"fewer than {_MIN_NEAR} points within {_NEAR_WIDTHS:g} widths of the centre (not resolved)"


def _checks(raw: _Raw) -> list:
    """[(flag, text)]: the checks listed in ``SpectrumFit``'s docstring, a flag True where a
    check fails. ``raw`` holds arrays over fits, or one fit's values (``raw.take(i)``: numpy
    scalars, (p,) and (p, p) arrays: the same rule, without the calls on 1-element arrays)."""
    params, cov = raw.params, raw.cov
    centre, width, v_sym, v_asym = params[..., 0], params[..., 1], params[..., 3], params[..., 4]
    amp = np.hypot(v_sym, v_asym)
    with np.errstate(invalid="ignore", divide="ignore"):
        var_amp = v_sym**2 * cov[..., 3, 3] + v_asym**2 * cov[..., 4, 4] + 2 * v_sym * v_asym * cov[..., 3, 4]
        # against white noise: correlated noise (or a ripple the model lacks) inflates the errors,
        # it does not make a line that stands out of the point-to-point noise less of a line
        significance = amp / np.sqrt(var_amp / np.maximum(raw.error_factor, 1.0) ** 2 / amp**2)
        return [
            (~raw.converged, "did not converge"),
            (
                ~(np.all(np.isfinite(params), axis=-1) & np.all(np.isfinite(np.diagonal(cov, 0, -2, -1)), axis=-1)),
                "parameters not determined (non-finite covariance)",
            ),
            (~(width > 0), "width not positive"),
            (raw.n_near < _MIN_NEAR, RESOLUTION_MESSAGE),
            (width > raw.x_max - raw.x_min, "width larger than the sweep span"),
            (~((raw.x_min <= centre) & (centre <= raw.x_max)), "centre outside the sweep"),
            (~(raw.rms < amp), "residual RMS exceeds the resonance amplitude"),
            (
                ~(significance >= _MIN_SIGNIFICANCE),
                f"resonance not significant (amplitude < {_MIN_SIGNIFICANCE:g} sigma)",
            ),
            (
                ((raw.runs_z < -_MAX_RUNS_Z) | (raw.inflation > _MAX_INFLATION)) & ~(raw.rms <= _EXACT * amp),
                STRUCTURE_MESSAGE,
            ),
        ]


def _verdicts(raw: _Raw) -> tuple[np.ndarray, tuple]:
    """(ok, message) arrays over the fits of ``raw``: see ``_checks``."""
    checks = _checks(raw)
    bad = np.zeros(raw.params.shape[0], dtype=bool)
    for flag, _ in checks:
        bad |= flag
    messages = ["ok"] * bad.size
    for i in np.flatnonzero(bad):
        messages[i] = "; ".join(text for flag, text in checks if flag[i])
    return ~bad, tuple(messages)


def _verdict(one: _Raw) -> tuple[bool, str]:
    """(ok, message) of one fit's values (``raw.take(i)``): see ``_checks``."""
    failed = [text for flag, text in _checks(one) if flag]
    return not failed, "; ".join(failed) or "ok"


def _prepare(x, y, w, irf2):
    """Fold non-finite points into zero weights; divide by I_RF^2 if given. Arrays (m, n)."""
    if w is None:
        w = np.ones_like(y)
    elif np.any(w < 0):
        raise ValueError("weights: must be >= 0")
    good = np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & (w > 0)
    if irf2 is not None:
        if np.any(good & ~(np.isfinite(irf2) & (irf2 > 0))):
            raise ValueError("irf2: must be finite and > 0 (A^2) at every point")
        irf2 = np.where(good, irf2, 1.0)
        y = y / irf2  # Vmix / I_RF^2: the noise is divided by I_RF^2 too, so the weights gain I_RF^4
        w = w * irf2**2
    if good.all():
        return x, y, w
    return np.where(good, x, 0.0), np.where(good, y, 0.0), np.where(good, w, 0.0)


def _groups(x, y, weights, irf2):
    """Split the inputs into batches of equal length: list of (row indices, x, y, w, irf2), arrays (k, n)."""
    if isinstance(y, np.ndarray) or len({np.size(v) for v in y}) <= 1:
        y2 = np.asarray(y, dtype=float)
        if y2.ndim != 2:
            raise ValueError(f"data: expected one spectrum per row (2-D), got shape {y2.shape}")

        def full(v, name):
            if v is None:
                return None
            try:
                return np.broadcast_to(np.asarray(v, dtype=float), y2.shape)
            except ValueError:
                raise ValueError(f"{name}: shape {np.shape(v)} does not match the data {y2.shape}") from None

        return [(np.arange(y2.shape[0]), full(x, "abscissa"), y2, full(weights, "weights"), full(irf2, "irf2"))]
    m = len(y)

    def rows(v, name):
        if v is None:
            return [None] * m
        if isinstance(v, np.ndarray) and v.ndim < 2 or len(v) != m:
            raise ValueError(f"{name}: spectra of unequal lengths need a list with one row per spectrum")
        return list(v)

    xs, ws, irs = rows(x, "abscissa"), rows(weights, "weights"), rows(irf2, "irf2")
    by_len: dict[int, list[int]] = {}
    for i, v in enumerate(y):
        by_len.setdefault(np.size(v), []).append(i)

    def stack(vs, n, name, default):
        if all(v is None for v in vs):
            return None
        if default is None and any(v is None for v in vs):
            raise ValueError(f"{name}: give it for every spectrum or for none")
        try:
            return np.stack([np.broadcast_to(np.asarray(default if v is None else v, dtype=float), (n,)) for v in vs])
        except ValueError:
            raise ValueError(f"{name}: each row must match its spectrum's length") from None

    out = []
    for n, idx in by_len.items():
        yg = np.stack([np.asarray(y[i], dtype=float).ravel() for i in idx])
        xg = stack([xs[i] for i in idx], n, "abscissa", None)
        out.append(
            (
                np.asarray(idx),
                xg,
                yg,
                stack([ws[i] for i in idx], n, "weights", 1.0),
                stack([irs[i] for i in idx], n, "irf2", None),
            )
        )
    return out


def _order(slope, background_order) -> int:
    """Background polynomial order from the ``slope`` flag or an explicit ``background_order`` (0-3)."""
    if background_order is None:
        return int(bool(slope))
    if background_order not in (0, 1, 2, 3):
        raise ValueError(f"background_order: must be 0, 1, 2 or 3, got {background_order!r}")
    return int(background_order)


def _irf2_values(irf2, x):
    """``irf2`` as given, or evaluated at the abscissa when it is a function of it (A^2)."""
    if not callable(irf2):
        return irf2
    if isinstance(x, np.ndarray) and x.ndim <= 2 or np.ndim(x) == 1:
        return np.asarray(irf2(np.asarray(x, dtype=float)), dtype=float)
    return [np.asarray(irf2(np.asarray(v, dtype=float)), dtype=float) for v in x]


def _fit_one_spectrum(x, y, weights, irf2, order, cls, centre_guess, width_guess, window, despike):
    """One spectrum (``y`` 1-D): the single-fit result ``cls._item``."""
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        raise ValueError(f"data: expected a 1-D spectrum, got shape {y.shape}")
    irf2 = _irf2_values(irf2, x)
    if window is not None:  # the window's refit: the batch path, one row
        return _fit_spectra(x, y[None, :], weights, irf2, order, cls, centre_guess, width_guess, window, despike)[0]
    ((_, xg, yg, wg, irg),) = _groups(x, y[None, :], weights, irf2)
    xg, yg, wg = _prepare(xg, yg, wg, irg)
    raw = _fit_single(xg[0], yg[0], wg[0], order, centre_guess, width_guess, despike)
    return _package_one(raw.take(0), cls, irf2 is not None)


def _fit_spectra(x, y, weights, irf2, order, cls, centre_guess=None, width_guess=None, window=None, despike=True):
    """Fit spectra batched by length; returns the packaged batch result ``cls``."""
    parts = []
    m = 0
    irf2 = _irf2_values(irf2, x)
    with _blas_threads():
        for idx, xg, yg, wg, irg in _groups(x, y, weights, irf2):
            if yg.shape[0] == 0:
                raise ValueError("no spectra to fit")
            xg, yg, wg = _prepare(xg, yg, wg, irg)
            raw = _fit_group(xg, yg, wg, order, centre_guess, width_guess, despike)
            if window is not None:
                raw = _refit_window(xg, yg, wg, raw, order, window, despike)
            parts.append((idx, raw))
            m += idx.size
    if len(parts) == 1:
        raw = parts[0][1]
    else:
        order = np.argsort(np.concatenate([idx for idx, _ in parts]))
        raw = _Raw(*(np.concatenate([getattr(r, f) for _, r in parts])[order] for f in _Raw.__dataclass_fields__))
    return _package(raw, cls, np.full(m, irf2 is not None))


def _fit_single(x, y, w, order, centre_guess, width_guess, despike) -> _Raw:
    """One spectrum (1-D arrays): the few-call path of ``fit_one`` (the guess, then a cheap
    start), else the batch path (grid search, or the guess) - and when a guess leads to a fit
    that is not ok, the batch path's grid search without it (a bad seed falls back)."""
    from stfmr_lab.analysis import fit_one

    raw = fit_one.fit(x, y, w, order, centre_guess, width_guess, despike)
    if raw is not None:
        return raw
    with _blas_threads():
        raw = _fit_group(x[None], y[None], w[None], order, centre_guess, width_guess, despike)
        if (centre_guess is not None or width_guess is not None) and not _verdict(raw.take(0))[0]:
            raw = _fit_group(x[None], y[None], w[None], order, None, None, despike)
    return raw


def _refit_window(xg, yg, wg, raw, order, window, despike) -> _Raw:
    """Refit each spectrum within centre +- window widths of its first fit, seeded from it."""
    rows = []
    for j in range(xg.shape[0]):
        c, wd = raw.params[j, :2]
        keep = np.abs(xg[j] - c) <= window * wd if np.isfinite(c) and wd > 0 else np.zeros(xg.shape[1], bool)
        w_new = np.where(keep, wg[j], 0.0)
        if np.count_nonzero(w_new) >= 2 * raw.params.shape[1]:
            rows.append(_fit_group(xg[j : j + 1], yg[j : j + 1], w_new[None, :], order, c, wd, despike))
        else:
            rows.append(raw.take(slice(j, j + 1)))
    return _Raw(*(np.concatenate([getattr(r, f) for r in rows]) for f in _Raw.__dataclass_fields__))


def _package_one(one: _Raw, cls, normalised):
    """One fit's values (``raw.take(i)``) as ``cls._item``: what ``_package(...)[i]`` gives."""
    names = cls._names
    p = one.params.size
    cols = dict(zip(names[:p], one.params.tolist(), strict=True))
    ok, message = _verdict(one)
    return cls._item(
        **{names[0]: cols[names[0]], names[1]: cols[names[1]]},
        v_sym=cols["v_sym"],
        v_asym=cols["v_asym"],
        offset=cols["offset"],
        slope=cols.get("slope", 0.0),
        stderr=dict(zip(names[:p], np.sqrt(np.abs(np.diagonal(one.cov))).tolist(), strict=True)),
        covariance=one.cov.copy(),
        chi2_red=float(one.chi2_red),
        n_points=int(one.n_points),
        ok=ok,
        message=message,
        param_names=tuple(names[:p]),
        normalised=bool(normalised),
        stderr_sys=dict(zip(names[:p], one.sys.tolist(), strict=True)),
        error_inflation=float(one.error_factor),
        runs_z=float(one.runs_z),
        quadratic=cols.get("quadratic", 0.0),
        cubic=cols.get("cubic", 0.0),
        poly_x0=float(one.x0),
        n_outliers=int(one.n_outliers),
    )


def _package(raw: _Raw, cls, normalised):
    p = raw.params.shape[1]
    names = cls._names
    ok, messages = _verdicts(raw)
    err = np.sqrt(np.abs(np.diagonal(raw.cov, 0, 1, 2)))
    cols = dict(zip(names[:p], raw.params.T, strict=True))
    zeros = np.zeros(len(ok))
    return cls(
        **{names[0]: cols[names[0]], names[1]: cols[names[1]]},
        v_sym=cols["v_sym"],
        v_asym=cols["v_asym"],
        offset=cols["offset"],
        slope=cols.get("slope", zeros),
        stderr=dict(zip(names[:p], err.T, strict=True)),
        covariance=raw.cov,
        chi2_red=raw.chi2_red,
        n_points=raw.n_points,
        ok=ok,
        message=messages,
        param_names=tuple(names[:p]),
        normalised=normalised,
        stderr_sys=dict(zip(names[:p], raw.sys.T, strict=True)),
        error_inflation=raw.error_factor,
        runs_z=raw.runs_z,
        quadratic=cols.get("quadratic", zeros),
        cubic=cols.get("cubic", zeros),
        poly_x0=raw.x0,
        n_outliers=raw.n_outliers,
    )


# ---------------------------------------------------------------------------------------- public API
def fit_spectrum(
    frequency_hz,
    vmix_v,
    *,
    slope=False,
    weights=None,
    f0_guess_hz=None,
    hwhm_guess_hz=None,
    irf2=None,
    window_hwhm=None,
    background_order=None,
    despike=True,
    previous=None,
) -> SpectrumFit:
    """Fit one frequency sweep to ``offset + v_sym S + v_asym A (+ slope (f - f0))``.

    Parameters
    ----------
    frequency_hz, vmix_v : 1-D arrays, Hz and V. Non-finite points are ignored.
    slope : also fit a linear background (V/Hz). False by default here (the contract's
        signature, and the adaptive design's Fisher model has a constant background), True
        in ``fit_spectra``, ``analyze()`` and the GUI's live fit, which pass it.
    weights : optional per-point statistical weights proportional to 1/sigma_i^2 (only the
        ratios matter: errors are scaled by the residual). Zero weight drops a point.
    f0_guess_hz, hwhm_guess_hz : optional start values (Hz). Not needed: by default the
        point furthest from a straight baseline and its half-height width give them (and
        the grid search of ``fit_spectra`` decides when that start's fit fails its checks
        for another reason than structured residuals). A guess whose fit fails them falls
        back to that search.
    previous : optional earlier fit of the same line (a ``SpectrumFit``, e.g. of the same
        sweep with fewer points): its f0 and hwhm seed this fit, as the guesses would.
    irf2 : optional I_RF^2(f) in A^2 (scalar, per point, or a function of the frequency in
        Hz, e.g. a measured background reference sweep or the stored path calibration).
        When given, Vmix / I_RF^2 is fitted, with the weights multiplied by I_RF^4 (noise of
        uniform size in Vmix stays correctly weighted); amplitudes and offset are then in
        V/A^2 (= Ohm/A), and the offset estimates (1/4) d2V/dI2 directly.
    window_hwhm : optional; after the first fit, refit only the points within
        f0 +- window_hwhm * hwhm (e.g. 6), seeded from the first fit. The reported values
        and errors are those of the refit.
    background_order : optional polynomial order of the background, 0-3 (overrides
        ``slope``): 2 and 3 add ``quadratic`` (V/Hz^2) and ``cubic`` (V/Hz^3) terms in
        (f - poly_x0), poly_x0 the middle of the sweep.
    despike : drop isolated spikes before fitting (``n_outliers`` says how many).

    Besides the values and ``stderr`` (statistical, inflated by sqrt(n / n_eff) when the
    residuals are correlated: ``error_inflation``), ``stderr_sys`` gives the systematic
    error of each parameter: the larger shift of the background order one above the fitted
    one and of a window of f0 +- 3.5 widths (Barlow-subtracted, see
    ``stfmr_lab.analysis.residuals``). ``ok`` is False when the residuals are structured
    (runs test z below -3.5 or autocorrelation inflating the variance more than 5x).

    One spectrum takes the few-call path of ``stfmr_lab.analysis.fit_one``: the same model,
    iteration and checks as ``fit_spectra``, the same answers (to ~1e-10 of the standard
    errors on the parameters) whenever the fit passes its checks.
    """
    if previous is not None and f0_guess_hz is None and hwhm_guess_hz is None:
        f0_guess_hz, hwhm_guess_hz = previous.f0_hz, previous.hwhm_hz
    return _fit_one_spectrum(
        frequency_hz, vmix_v, weights, irf2, _order(slope, background_order), SpectrumFits,
        f0_guess_hz, hwhm_guess_hz, window_hwhm, despike,
    )  # fmt: skip


def fit_spectra(
    frequency_hz, vmix_v, *, slope=True, weights=None, irf2=None, background_order=None, despike=True
) -> SpectrumFits:
    """Fit many frequency sweeps at once (vectorised); same model and answers as ``fit_spectrum``.

    Parameters
    ----------
    frequency_hz : 1-D array (Hz) shared by all spectra, a 2-D array (one row per spectrum),
        or a list of 1-D arrays (spectra of unequal lengths are batched by length).
    vmix_v : 2-D array (one spectrum per row, V) or a list of 1-D arrays.
    slope, weights, irf2, background_order, despike : as in ``fit_spectrum``, but the
        background has a slope by default here; ``weights``/``irf2`` given as a 1-D array
        are shared by all spectra, else one row per spectrum (or a function of frequency).

    Returns
    -------
    SpectrumFits: arrays over spectra, and a sequence of ``SpectrumFit`` in input order.
    """
    return _fit_spectra(
        frequency_hz, vmix_v, weights, irf2, _order(slope, background_order), SpectrumFits, despike=despike
    )


def fit_field_sweep(
    field_oe,
    vmix_v,
    *,
    slope=False,
    weights=None,
    h0_guess_oe=None,
    dh_guess_oe=None,
    irf2=None,
    window_dh=None,
    background_order=None,
    despike=True,
    previous=None,
) -> FieldSweepFit:
    """Fit one field sweep at fixed frequency to ``offset + v_sym S + v_asym A (+ slope (H - H0))``.

    Same lineshape, method and options as ``fit_spectrum`` with the field (Oe) as abscissa:
    centre ``h0_oe`` and HWHM ``dh_oe`` in Oe, amplitudes in V (V/A^2 with ``irf2``), slope in V/Oe;
    ``previous`` an earlier ``FieldSweepFit`` of the same line (its h0 and dH seed the fit).
    One line only: a sweep through zero field (a line at each polarity) needs ``fit_lines``.
    """
    if previous is not None and h0_guess_oe is None and dh_guess_oe is None:
        h0_guess_oe, dh_guess_oe = previous.h0_oe, previous.dh_oe
    return _fit_one_spectrum(
        field_oe, vmix_v, weights, irf2, _order(slope, background_order), FieldSweepFits,
        h0_guess_oe, dh_guess_oe, window_dh, despike,
    )  # fmt: skip


def fit_field_sweeps(
    field_oe, vmix_v, *, slope=True, weights=None, irf2=None, background_order=None, despike=True
) -> FieldSweepFits:
    """Vectorised batch version of ``fit_field_sweep`` (inputs as in ``fit_spectra``; a slope by default)."""
    return _fit_spectra(
        field_oe, vmix_v, weights, irf2, _order(slope, background_order), FieldSweepFits, despike=despike
    )


_BLAS = {}  # the threadpoolctl controller, made once (finding the loaded BLAS libraries takes ms)


@contextlib.contextmanager
def _blas_threads():
    """One BLAS thread while fitting: the batched small matrix products gain nothing from
    more, and on a loaded machine OpenBLAS's spinning threads made the fit 5-30x slower."""
    if "controller" not in _BLAS:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS["controller"] = ThreadpoolController()
        except ImportError:  # pragma: no cover - threadpoolctl is a dependency
            _BLAS["controller"] = None
    controller = _BLAS["controller"]
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
