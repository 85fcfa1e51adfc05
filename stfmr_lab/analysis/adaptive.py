"""The adaptive sweep's design as an object: ask for the next points, tell it the readings.

No instrument here: the procedure's walker (procedures/base.py) asks ``AdaptiveDesign``
for a batch of set points and why (``ask``), moves to each, waits, reads, and tells it
every reading (``tell``) until ``ask`` returns None. Between readings the walker may ask
what a step would change in Vmix (``predicted_step``: the lock-in's lag wait) and how far
apart points are "near" (``width``). Tests drive it with synthetic lineshapes.

The rounds (as ``_adaptive_sweep`` did them): a coarse pass (uniform over the window, or -
with a ``seed`` from the previous sweep of the same kind - a few points around its centre
+- 3 widths plus the window's ends and margins), then repeatedly: fit (Vmix normalised by
the gain, as the analysis does), keep a baseline margin of ``margin_hwhm`` widths on both
sides, and ask for the batch of candidates that lowers the variances of the ``targets``
most (``stfmr_lab.analysis.design``), until the goal or ``max_points``. Frequencies in Hz,
fields in Oe (``sweep``), Vmix in V.

Swept (``lockin_filter`` given: the sweep's ``acquisition: swept``): the coarse pass (and any
refill of it) is read through the lock-in filter, a step every dwell (reason ``swept``), and
every reading is told with its set and read times. The fits are then ``fit_swept`` on the
whole time record (the swept pass and the settled points in one model), and the information
the record holds is weighed through the filter (``design.record_information``): readings
closer than the filter's memory count for less than settled ones. The information points and
margins that follow are settled (stepped) points, placed as in a stepped sweep. A seed then
only starts the first fit (the swept pass covers the window anyway).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from stfmr_lab.analysis import design
from stfmr_lab.units import SAMPLE_REASONS

#: the design gives up looking for a line after this many refills of the window
MAX_REFILLS = 3
#: and asks for the baseline margins at most this many times
MAX_MARGIN_ROUNDS = 3
#: a seeded coarse pass: points at the previous centre + these many widths
SEED_OFFSETS_HWHM = (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0)
#: the first guess of the line's width, before any fit: the window over this
WINDOW_WIDTHS = 40.0
#: fewest points whose fit becomes the next sweep's seed
MIN_POINTS_FOR_SEED = 6


def usable_for_design(fit, centre: float, width: float, lo: float, hi: float) -> bool:
    """A fit good enough to place points by: the fitter's verdict, except that a line
    with too few points on it is fine while a sparse adaptive design is still finding it
    (it is resolved by where the next points go), and structured residuals (a background
    the design's model lacks) still locate the line."""
    from stfmr_lab.analysis.fit import RESOLUTION_MESSAGE, STRUCTURE_MESSAGE

    if fit is None:
        return False
    if fit.ok:
        return True
    # the fitter's only objections are these (its message is then exactly those checks')
    if not set(fit.message.split("; ")) <= {RESOLUTION_MESSAGE, STRUCTURE_MESSAGE}:
        return False
    return 0 < width < (hi - lo) / 4 and lo <= centre <= hi


class AdaptiveDesign:
    """Where the points of one adaptive sweep go (ask/tell; no instrument).

    ``candidates``: the sorted set points allowed (Hz or Oe); ``settings``: the checked
    ``adaptive:`` mapping of the config; ``sweep``: "frequency" or "field"; ``gain(x)``:
    the path's relative I_RF^2 (1 for a field sweep); ``seed``: what ``seed_out`` gave for
    the previous sweep of the same kind, or None; ``lockin_filter``: (time constant in s,
    poles) for a swept sweep (module docstring), None for a stepped one.
    """

    def __init__(self, candidates, settings: dict, *, sweep: str = "frequency",
                 gain: Callable | None = None, seed: tuple | None = None, lockin_filter: tuple | None = None):
        if sweep not in ("frequency", "field"):
            raise ValueError(f"adaptive design: sweep {sweep!r} is not 'frequency' or 'field'")
        self.cand = np.asarray(candidates, dtype=float)
        self.settings = settings
        self.sweep = sweep
        self.gain = gain if gain is not None else (lambda x: np.ones(np.shape(x)))
        self.seed = seed
        self.targets = tuple(settings.get("targets") or design.TARGETS)
        self.max_points = int(settings["max_points"])
        self.lo, self.hi = float(self.cand[0]), float(self.cand[-1])
        #: the current fit (design.Line) and the noise in Vmix (V) it found
        self.line: design.Line | None = None
        self.sigma = math.nan
        #: the line's width as known now (seed, fit, or a fraction of the window)
        self.width = seed[1] if seed else (self.hi - self.lo) / WINDOW_WIDTHS
        self.lockin_filter = lockin_filter
        self.swept = lockin_filter is not None
        self.x: list[float] = []
        self.v: list[float] = []
        #: swept: when each told set point was applied and read (s, one clock)
        self.ts: list[float] = []
        self.tr: list[float] = []
        self._last_fit = (-1, None, None)  # (points, fit, line) of the last fit
        self._rounds = self._plan()

    # ------------------------------------------------------------------ ask / tell
    def ask(self) -> tuple[np.ndarray, int] | None:
        """The next batch: (set points, their ``SAMPLE_REASONS`` code), or None when done.
        Measure them in any order, at most up to ``full``, telling each reading."""
        return next(self._rounds, None)

    def tell(self, x: float, vmix_v: float, set_time_s: float | None = None, read_time_s: float | None = None) -> None:
        """One reading: Vmix (V) at the set point ``x``; a swept design needs every reading's
        set and read times (s), the settled ones' too (one time record)."""
        if self.swept and (set_time_s is None or read_time_s is None):
            raise ValueError("a swept adaptive design needs each reading's set_time_s and read_time_s")
        self.x.append(float(x))
        self.v.append(float(vmix_v))
        if self.swept:
            self.ts.append(float(set_time_s))
            self.tr.append(float(read_time_s))

    @property
    def full(self) -> bool:
        """``max_points`` readings told."""
        return len(self.x) >= self.max_points

    def predicted_step(self, x_from: float, x_to: float) -> tuple[float, float] | None:
        """(|change of Vmix| in V, noise sigma in V) of a step from ``x_from`` to ``x_to``,
        by the current fit, or - before one - by the seed's line with the change doubled;
        None when there is neither, or no noise estimate."""
        ref, noise, safety = (
            (self.line, self.sigma, 1.0) if self.line is not None
            else (self.seed[2], self.seed[3], 2.0) if self.seed else (None, 0, 0)
        )
        if ref is None or not noise > 0:
            return None
        return safety * abs(float(np.diff(self._model(ref, np.array([x_from, x_to])))[0])), noise

    def seed_out(self) -> tuple | None:
        """What the next sweep of this kind starts from: (centre, width, design.Line, sigma),
        from the last fit; None without a usable one."""
        if self.line is None or len(self.x) < MIN_POINTS_FOR_SEED:
            return None
        n, fit, ln = self._last_fit
        if n != len(self.x):  # points came after the last fit
            fit, ln = self._fit(np.asarray(self.x), np.asarray(self.v), self.line)
        if ln is None:
            return None
        return ln.f0, ln.w, ln, math.sqrt(max(fit.chi2_red, 0.0))

    # ------------------------------------------------------------------ pieces
    def _model(self, ln: design.Line, xs):
        from stfmr_lab.analysis.fit import lineshape

        return self.gain(xs) * lineshape(xs, ln.f0, ln.w, ln.v_sym, ln.v_asym, ln.offset)

    def _fit(self, xs, vs, guess):
        """(fit, design.Line or None) of the points so far, normalised by the gain."""
        from stfmr_lab.analysis.fit import fit_field_sweep, fit_spectrum

        if self.swept:
            return self._fit_swept(xs, vs, guess)
        try:
            if self.sweep == "frequency":
                kw = {"f0_guess_hz": guess.f0, "hwhm_guess_hz": guess.w} if guess is not None else {}
                ft = fit_spectrum(xs, vs, irf2=self.gain(xs), **kw)
                centre, width = ft.f0_hz, ft.hwhm_hz
            else:
                kw = {"h0_guess_oe": guess.f0, "dh_guess_oe": guess.w} if guess is not None else {}
                ft = fit_field_sweep(xs, vs, **kw)
                centre, width = ft.h0_oe, ft.dh_oe
        except ValueError:
            return None, None
        if not usable_for_design(ft, centre, width, self.lo, self.hi):
            return ft, None
        return ft, design.Line(centre, width, ft.v_sym, ft.v_asym, ft.offset)

    def _fit_swept(self, xs, vs, guess):
        """``_fit`` of a swept design: the whole time record through the lock-in filter."""
        from stfmr_lab.analysis.swept import fit_swept

        guess = guess if guess is not None else (self.seed[2] if self.seed else None)
        kw = {"centre_guess": guess.f0, "width_guess": guess.w} if guess is not None else {}
        try:
            ft = fit_swept(xs, vs, self.ts, self.tr, *self.lockin_filter, axis=self.sweep, slope=False,
                           irf2=self.gain(xs), **kw)
        except (ValueError, np.linalg.LinAlgError):
            return None, None
        centre, width = (ft.f0_hz, ft.hwhm_hz) if self.sweep == "frequency" else (ft.h0_oe, ft.dh_oe)
        if not usable_for_design(ft, centre, width, self.lo, self.hi):
            return ft, None
        return ft, design.Line(centre, width, ft.v_sym, ft.v_asym, ft.offset)

    def _record_information(self, x_arr, line):
        """Information (5, 5) of the swept design's whole time record at ``line``."""
        from stfmr_lab.analysis.swept import whitened_map

        _, m_w = whitened_map(self.ts, self.tr, *self.lockin_filter)
        return design.record_information(x_arr, line, self.gain(x_arr), m_w)

    def _snap(self, xs):
        """The candidates nearest to ``xs``."""
        cand = self.cand
        k = np.clip(np.searchsorted(cand, xs), 1, cand.size - 1)
        k = np.where(np.abs(cand[k - 1] - xs) <= np.abs(cand[k] - xs), k - 1, k)
        return cand[k]

    def _uniform_coarse(self, n, offset=0.0):
        step = (self.hi - self.lo) / (n - 1)
        xs = np.clip(self.lo + step * (np.arange(n) + offset), self.lo, self.hi)
        return np.unique(self._snap(xs))

    def _margins_needed(self, x_arr, line) -> list[float]:
        """Set points for a baseline margin on both sides: two points at least beyond the
        centre +- margin_hwhm widths, where the window reaches that far."""
        margin, cand = self.settings["margin_hwhm"], self.cand
        need = []
        for side, end in ((-1.0, self.lo), (1.0, self.hi)):
            edge = line.f0 + side * margin * line.w
            if (end - edge) * side < 0 or np.count_nonzero((x_arr - edge) * side >= 0) >= 2:
                continue
            k = np.searchsorted(cand, edge) if side > 0 else np.searchsorted(cand, edge, side="right") - 1
            need.extend([float(cand[int(np.clip(k, 0, cand.size - 1))]), end])
        return need

    def _plan(self):
        """The rounds, as a generator of (set points, reason); reads ``self.x``/``self.v``
        as the walker tells them."""
        a, cand, R = self.settings, self.cand, SAMPLE_REASONS
        margin = a["margin_hwhm"]
        coarse = R["swept"] if self.swept else R["coarse"]
        if self.swept:
            yield self._uniform_coarse(a["coarse_points"]), coarse
        elif self.seed is not None:
            x0, w = self.seed[:2]
            yield np.unique(self._snap(x0 + w * np.array(SEED_OFFSETS_HWHM))), R["seeded"]
            yield np.unique(self._snap(np.array([self.lo, self.hi, x0 - margin * w, x0 + margin * w]))), R["margin"]
        else:
            yield self._uniform_coarse(a["coarse_points"]), R["coarse"]
        uniform_x = np.linspace(self.lo, self.hi, a["match_uniform_points"]) if a.get("match_uniform_points") else None
        gain_uniform = None if uniform_x is None else self.gain(uniform_x)
        refills = margin_rounds = 0
        while not self.full:
            x_arr, v_arr = np.asarray(self.x), np.asarray(self.v)
            fit, new_line = self._fit(x_arr, v_arr, self.line)
            self._last_fit = (len(self.x), fit, new_line)
            if new_line is None:
                if refills >= MAX_REFILLS:
                    return  # no line to be found: the points so far are the sweep
                refills += 1
                # no usable fit yet: fill the window in between the points measured so far
                n = a["coarse_points"] * 2**refills
                yield np.setdiff1d(self._uniform_coarse(n), x_arr)[: self.max_points - len(self.x)], coarse
                continue
            line = self.line = new_line
            self.width = line.w
            sigma = self.sigma = math.sqrt(max(fit.chi2_red, 0.0))
            goal_var = design.goal_variances(line, sigma, self.targets, target_rel_err=a.get("target_rel_err"),
                                             uniform_f=uniform_x, gain_uniform=gain_uniform)
            if self.swept:
                # the record so far weighed through the filter; the settled points to come add to it.
                # (The noise's shape is not estimated from filtered readings: flat, as fit_swept weighs.)
                info0, x_held = self._record_information(x_arr, line), np.empty(0)
                shape = design.noise_profile(x_held, x_held, line)  # flat

                def status_of(xs, line=line, sigma=sigma, goal_var=goal_var, info0=info0):
                    """The design's status with the settled points ``xs`` added to the record."""
                    return design.design_status(xs, line, sigma, gain=self.gain(xs), targets=self.targets,
                                                goal_var=goal_var, info0=info0)
            else:
                info0, x_held = None, x_arr
                # rows weighted by the gain over the noise's shape (more noise where the line is steep)
                shape = design.noise_profile(x_arr, v_arr - fit.model(x_arr) * self.gain(x_arr), line, self.gain)
                # the analysis fits unweighted: its errors scale with the mean noise of the points
                ref_noise = float(np.mean(shape(uniform_x if uniform_x is not None else x_arr) ** 2))

                def status_of(xs, line=line, sigma=sigma, shape=shape, ref_noise=ref_noise, goal_var=goal_var):
                    """The design's status with the points ``xs``, at this round's fit, noise shape and goal."""
                    return design.design_status(xs, line, sigma, gain=self.gain(xs), targets=self.targets,
                                                goal_var=goal_var, noise_factor=float(np.mean(shape(xs) ** 2)) / ref_noise)

            need = self._margins_needed(x_arr, line)
            if need and margin_rounds < MAX_MARGIN_ROUNDS:
                margin_rounds += 1
                yield np.asarray(need), R["margin"]
                continue
            status = status_of(x_held)
            if status.done:
                return
            n = min(a["batch"], self.max_points - len(self.x))
            wts = [max(r, 0.0) for r in status.ratio.values()]
            scale = self.gain(cand) / shape(cand)
            picks = design.select_points(
                cand, x_held, line, n, gain_candidates=scale, gain_measured=self.gain(x_held) / shape(x_held),
                weights=wts, targets=self.targets, info0=info0,
            )
            # no more of the batch than the goal needs, as predicted at the current fit
            for k in range(1, picks.size):
                if status_of(np.concatenate([x_held, cand[picks[:k]]])).done:
                    picks = picks[:k]
                    break
            yield cand[picks], R["information"]
