"""Spectrum fits for the window, off the GUI thread (the fitting itself is the analysis').

``fit_one`` calls ``stfmr_lab.analysis.fit.fit_spectrum`` (frequency sweeps),
``fit_field_sweep`` (field sweeps) or, for the field sweeps of a bilayer field map
(``"field_lines"``: through zero, one line per polarity), the bilayer analysis' per-line
fitter ``stfmr_lab.analysis.sot.fit_sweep_lines`` (a ``LinesFit``), imported lazily: if the analysis is missing or a fit
fails, the window simply shows no fit. The window fits with a linear background
(``slope=True``): under bias the rectified background tilts across the sweep, and without
the slope term the fit leans on it (residuals ten times larger, f0 and the S/A split off). ``FitService`` runs fits one at a time on a worker
thread, newest request first (the spectrum being measured is what the operator looks at);
a newer request for the same spectrum replaces an older one still waiting, so a fast run
never builds up a backlog of stale fits, and the result comes back as a Qt signal.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
from dataclasses import dataclass, field

import numpy as np
from qtpy import QtCore

log = logging.getLogger(__name__)

MIN_POINTS = 8


@dataclass(frozen=True)
class FitSummary:
    """A fit, named for display: centre and HWHM in the x unit (Hz or Oe), amplitudes in V."""

    sweep: str  # "frequency" | "field"
    centre: float
    width: float
    v_sym: float
    v_asym: float
    offset: float
    slope: float = 0.0
    errors: dict = field(default_factory=dict)  # 'centre', 'width', 'v_sym', 'v_asym', 'offset'
    ok: bool = True
    message: str = "ok"
    n_points: int = 0
    result: object = field(default=None, repr=False, compare=False)
    structured: bool = False  # not ok only because its residuals are structured: drawn, with that said

    def model(self, x) -> np.ndarray:
        """The fitted curve at ``x`` (the analysis' own model)."""
        return np.asarray(self.result.model(x), dtype=float)


@dataclass(frozen=True)
class LinesFit:
    """The lines of one field sweep through zero, one ``FitSummary`` per polarity fitted
    (``polarities``: +1 / -1, in the order of ``lines``; a half with too few points is not
    fitted yet). Centres are signed (Oe): the -H line's is negative."""

    lines: tuple
    polarities: tuple
    n_points: int = 0
    sweep: str = "field_lines"

    @property
    def ok(self) -> bool:
        return any(line.ok for line in self.lines)

    @property
    def message(self) -> str:
        return "; ".join(f"{'+' if p > 0 else '-'}H: {line.message}" for p, line in zip(self.polarities, self.lines, strict=True))

    def line(self, polarity: float) -> FitSummary | None:
        """The line at ``polarity`` (+1 or -1), or None."""
        for p, line in zip(self.polarities, self.lines, strict=True):
            if p == polarity:
                return line
        return None


def _analysis():
    try:
        from stfmr_lab.analysis import fit as fitmod
    except Exception as e:  # the analysis is optional for the window
        log.debug("no spectrum fits: %s", e)
        return None
    return fitmod


def fit_one(sweep: str, x, y, slope: bool = True, timing=None) -> FitSummary | None:
    """Fit one spectrum; None when there is nothing to show (too few points, no analysis, failure).

    ``sweep="frequency_swept"``: a swept frequency sweep, fitted through the lock-in's filter
    (``stfmr_lab.analysis.swept.fit_swept``) with ``timing`` = (set times, read times, time
    constant, poles), the points in time order; its lineshape is then free of the lag."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    good = np.isfinite(x) & np.isfinite(y)
    if good.sum() < MIN_POINTS or np.ptp(x[good]) <= 0:
        return None
    if sweep == "field_lines":
        return _fit_lines(x[good], y[good])
    fitmod = _analysis()
    if fitmod is None:
        return None
    try:
        if sweep == "field":
            r = fitmod.fit_field_sweep(x[good], y[good], slope=slope)
            centre, width, names = r.h0_oe, r.dh_oe, ("h0_oe", "dh_oe")
        elif sweep == "frequency_swept":
            from stfmr_lab.analysis.swept import fit_swept

            ts, tr, tau, poles = timing
            keep = good & np.isfinite(ts) & np.isfinite(tr)
            r = fit_swept(x[keep], y[keep], ts[keep], tr[keep], tau, poles, slope=slope)
            centre, width, names = r.f0_hz, r.hwhm_hz, ("f0_hz", "hwhm_hz")
            sweep = "frequency"
        else:
            r = fitmod.fit_spectrum(x[good], y[good], slope=slope)
            centre, width, names = r.f0_hz, r.hwhm_hz, ("f0_hz", "hwhm_hz")
        stderr = r.stderr
        errors = {
            "centre": stderr.get(names[0], math.nan),
            "width": stderr.get(names[1], math.nan),
            "v_sym": stderr.get("v_sym", math.nan),
            "v_asym": stderr.get("v_asym", math.nan),
            "offset": stderr.get("offset", math.nan),
        }
        if not (math.isfinite(centre) and math.isfinite(width) and width != 0):
            return None
        return _summary(sweep, r, centre, width, errors, int(good.sum()))
    except Exception as e:  # a fit that fails shows no fit; the run goes on
        log.debug("fit failed: %s", e)
        return None


def _summary(sweep, r, centre, width, errors, n_points) -> FitSummary:
    return FitSummary(
        sweep=sweep,
        centre=float(centre),
        width=abs(float(width)),
        v_sym=float(r.v_sym),
        v_asym=float(r.v_asym),
        offset=float(r.offset),
        slope=float(r.slope),
        errors=errors,
        ok=bool(r.ok),
        message=str(r.message),
        n_points=int(n_points),
        result=r,
        structured=not r.ok and r.message == getattr(_analysis(), "STRUCTURE_MESSAGE", None),
    )


def _fit_lines(x: np.ndarray, y: np.ndarray) -> LinesFit | None:
    """Each polarity's line of a field sweep (Oe, V) by the bilayer analysis' fitter."""
    try:
        from stfmr_lab.analysis.sot import fit_sweep_lines

        rows, _weaker = fit_sweep_lines([(x, y)])
    except Exception as e:  # no half with enough points yet, or no analysis: no fit shown
        log.debug("no line fits: %s", e)
        return None
    lines, pols = [], []
    for row in rows:
        r, p = row["fit"], float(row["polarity"])
        if not (math.isfinite(r.h0_oe) and math.isfinite(r.dh_oe) and r.dh_oe != 0):
            continue
        errors = {
            "centre": r.stderr.get("h0_oe", math.nan),
            "width": r.stderr.get("dh_oe", math.nan),
            "v_sym": r.stderr.get("v_sym", math.nan),
            "v_asym": r.stderr.get("v_asym", math.nan),
            "offset": r.stderr.get("offset", math.nan),
        }
        lines.append(_summary("field", r, r.h0_oe, r.dh_oe, errors, int(np.count_nonzero(p * x > 0))))
        pols.append(p)
    if not lines:
        return None
    return LinesFit(tuple(lines), tuple(pols), int(len(x)))


class FitService(QtCore.QObject):
    """Fits on one worker thread; ``fitted(key, index, n_points, FitSummary or None)``."""

    fitted = QtCore.Signal(object, int, int, object)
    _finished = QtCore.Signal(object, int, int, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="stfmr-fit")
        self._pending: dict = {}
        self._busy = False
        self._closed = False
        self._finished.connect(self._on_finished, QtCore.Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._busy or bool(self._pending)

    def request(self, key, index: int, sweep: str, x, y, timing=None) -> None:
        """Fit spectrum ``index`` of model ``key`` (copies of x, y are taken by the caller;
        ``timing`` for a swept sweep, see ``fit_one``)."""
        if self._closed:
            return
        self._pending.pop((id(key), index), None)
        self._pending[(id(key), index)] = (key, index, sweep, x, y, timing)
        self._next()

    def cancel(self, key) -> None:
        """Forget every waiting request of model ``key``."""
        for k in [k for k in self._pending if k[0] == id(key)]:
            del self._pending[k]

    def _next(self) -> None:
        if self._busy or not self._pending or self._closed:
            return
        k = next(reversed(self._pending))  # newest first: the spectrum on screen, not a backlog
        key, index, sweep, x, y, timing = self._pending.pop(k)
        self._busy = True
        fut = self._pool.submit(fit_one, sweep, x, y, True, timing)
        n = len(x)
        fut.add_done_callback(lambda f, key=key, index=index, n=n: self._done(f, key, index, n))

    def _done(self, fut, key, index, n):  # worker thread
        try:
            result = fut.result()
        except Exception:
            result = None
        if not self._closed:
            try:
                self._finished.emit(key, index, n, result)
            except RuntimeError:  # the window is gone
                pass

    def _on_finished(self, key, index, n, result):
        self._busy = False
        self.fitted.emit(key, index, n, result)
        self._next()

    def close(self) -> None:
        self._closed = True
        self._pending.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
