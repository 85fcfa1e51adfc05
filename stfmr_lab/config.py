"""Run configs: the YAML schema, its validation, and the plan it describes.

A run config says what to measure (``measurements:``, run in order into one file), on
which station, with which lock-in and chop settings. Validation happens before anything is
opened: every error is one line naming the key (``ConfigError``, exit status 2). The
schema is documented in the README ("Run configs").
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from stfmr_lab.errors import path_text
from stfmr_lab.sample import SAMPLE, declared_sample
from stfmr_lab.schema import MISSING, Bool, ConfigError, Map, Num, NumList, OneOf, Str, StrList, optional
from stfmr_lab.station import load_yaml, validate_station
from stfmr_lab.units import DESIGN_QUANTITIES, DESIGN_TARGETS

DEFAULT_STATION = "station.yaml"  # in the packaged examples


def packaged_example(name: str) -> Path:
    return Path(str(resources.files("stfmr_lab.examples").joinpath(name)))


# ---------------------------------------------------------------------- schema
RANGE = Map({"start": Num(), "stop": Num(), "points": Num(min=2, max=100000, integer=True)})
SWEEP = OneOf((RANGE, NumList(Num(), min_len=1)), what="{start, stop, points} or a list of numbers")

FREQ_WINDOW = OneOf(
    (
        Map({"start_hz": Num(min=0), "stop_hz": Num(min=0), "points": Num(min=2, max=100000, integer=True)}),
        Map(
            {
                "center": Str(choices=("kittel",)),
                "span_hz": Num(min=1e6, max=1e11),
                "points": Num(min=2, max=100000, integer=True),
                "meff_4pi_oe": Num(default=11000.0, min=1.0, max=1e6),
                "hk_oe": Num(default=200.0, min=0.0, max=1e5),
                "gamma": Num(default=1.76e7, min=1e6, max=1e9),
            }
        ),
        Map({"values_hz": NumList(Num(min=0), min_len=1)}),
    ),
    what="{start_hz, stop_hz, points}, {center: kittel, span_hz, points} or {values_hz: [...]}",
)

#: adaptive frequency sampling (stfmr_lab.analysis.design): ``frequency`` is then the window
#: and its ``points`` the candidate grid's resolution (at least 401 candidates are used)
ADAPTIVE = Map(
    {
        "coarse_points": Num(default=15, min=5, max=1000, integer=True),
        "batch": Num(default=6, min=1, max=1000, integer=True),
        "max_points": Num(default=120, min=6, max=100000, integer=True),
        "target_rel_err": Num(default=None, min=1e-6, max=1.0),
        "match_uniform_points": Num(default=None, min=6, max=100000, integer=True),
        "margin_hwhm": Num(default=6.0, min=0.0, max=1000.0),
        "jump_settle_time_constants": Num(default=25.0, min=0.0, max=1000.0),
        # what the goal is about: the torkances' lineshape factors (V_S w, V_A w) by default
        "targets": StrList(choices=DESIGN_QUANTITIES, default=lambda: list(DESIGN_TARGETS)),
    },
    default=None,
)
ADAPTIVE_MIN_CANDIDATES = 401

#: a sweep's acquisition (``stfmr_lab.procedures``): settle at each point, or read through
#: the lock-in's filter every ``dwell_s`` (checked against the lock-in by ``_acquisition``)
ACQUISITION_KEYS = {
    "acquisition": Str(default="stepped", choices=("stepped", "swept")),
    "dwell_s": Num(min=0.0, max=1e4, doc="swept: time per step (default 1.5 lock-in time constants)"),
    "up_down": Bool(default=False),
}

MEASUREMENT_TYPES = ("dvdi", "map", "frequency_sweep", "field_sweep", "background", "field_map")

_MEAS_FIELDS = {
    "dvdi": {
        "fields_oe": NumList(Num(), min_len=0, default=list),
        "currents_a": SWEEP,
        "reference_loops": Bool(default=True),
        "saturate_oe": Num(default=200.0, min=0.0),
        "hold_oe": Num(default=0.0),
        "max_voltage_v": Num(min=0.0, max=20.0, doc="each branch stops past this |V| (default: 95% of the station limit)"),
    },
    "map": {
        "fields_oe": SWEEP,
        "biases_a": SWEEP,
        "biases_v": SWEEP,
        "bias_order": Str(default="ascending", choices=("ascending", "descending", "alternating")),
        "outer": Str(default="field", choices=("field", "bias")),
        "frequency": FREQ_WINDOW,
        "rf_power_dbm": Num(min=-150.0, max=30.0),
        **ACQUISITION_KEYS,
        "adaptive": ADAPTIVE,
    },
    "frequency_sweep": {
        "field_oe": Num(),
        "bias_a": Num(),
        "bias_v": Num(),
        "frequency": FREQ_WINDOW,
        "rf_power_dbm": Num(min=-150.0, max=30.0),
        **ACQUISITION_KEYS,
        "adaptive": ADAPTIVE,
    },
    "field_sweep": {
        "frequency_hz": Num(min=0.0),
        "bias_a": Num(),
        "bias_v": Num(),
        "fields_oe": SWEEP,
        "rf_power_dbm": Num(min=-150.0, max=30.0),
        **ACQUISITION_KEYS,
        "adaptive": ADAPTIVE,
    },
    "background": {
        "field_oe": Num(),
        # easy: the I_RF^2(f) reference of the seed (no resonance on the easy axis: Vmix is
        # (1/4) d2V/dI2 I_RF^2(f) alone, so its shape is the path's, standing waves included)
        "axis": Str(default="hard", choices=("hard", "easy")),
        "biases_a": SWEEP,
        "biases_v": SWEEP,
        "frequency": FREQ_WINDOW,
        "rf_power_dbm": Num(min=-150.0, max=30.0),
    },
    # the bilayer's measurement (physics-sot.md): a field sweep (through zero allowed) at
    # every frequency and DC current through the strip, frequency outermost
    "field_map": {
        "frequencies_hz": NumList(Num(min=0.0), min_len=1),
        "dc_currents_a": NumList(Num(), min_len=1, default=lambda: [0.0]),
        "fields_oe": SWEEP,
        "rf_power_dbm": Num(min=-150.0, max=30.0),
        # each sweep's two lines placed by the design, one polarity after the other (adaptive_halves)
        "adaptive": ADAPTIVE,
    },
}


_REQUIRED = {
    "dvdi": {"currents_a"},
    "map": {"fields_oe", "frequency"},
    "frequency_sweep": {"field_oe", "frequency"},
    "field_sweep": {"frequency_hz", "fields_oe"},
    "background": {"field_oe", "frequency"},
    "field_map": {"frequencies_hz", "fields_oe"},
}


def _measurement_schema(kind: str) -> Map:
    fields = {"type": Str(choices=MEASUREMENT_TYPES), "label": Str(default="")}
    for key, spec in _MEAS_FIELDS[kind].items():
        keep = key in _REQUIRED[kind] or spec.default is not MISSING
        fields[key] = spec if keep else optional(spec)
    return Map(fields)


LOCKIN = Map(
    {
        "time_constant_s": Num(default=0.03, min=1e-6, max=3e4),
        "slope_db_oct": Num(default=24, integer=True, min=6, max=24),
        "sensitivity_v": Num(default=2e-3, min=1e-9, max=1.0),
        "settle_time_constants": Num(default=15.0, min=0.0, max=1000.0),
        "reference": Str(default="external", choices=("external", "internal")),
    },
    default=dict,
)
CHOP = Map(
    {"frequency_hz": Num(default=250.0, min=0.1, max=1e5), "source": Str(default="internal", choices=("internal", "external"))},
    default=dict,
)


class _Measurements:
    default = MISSING

    def check(self, path, value):
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{path}: expected a non-empty list of measurements")
        out = []
        for k, m in enumerate(value):
            p = f"{path}[{k}]"
            if not isinstance(m, dict):
                raise ConfigError(f"{p}: expected a mapping with a 'type'")
            kind = m.get("type")
            if kind not in MEASUREMENT_TYPES:
                raise ConfigError(f"{p}.type: {kind!r} is not one of {', '.join(MEASUREMENT_TYPES)}")
            out.append(_measurement_schema(kind).check(p, m))
        return out


class _Anything:
    default = None

    def check(self, path, value):
        return value


RUN = Map(
    {
        "name": Str(default="run"),
        "sample": SAMPLE,
        "station": OneOf((Str(), Map({"*": _Anything()}, open=True)), default=DEFAULT_STATION, what="a station file or mapping"),
        "device": Map({"*": _Anything()}, open=True, default=dict),
        "simulation": Map({"*": _Anything()}, open=True, default=dict),
        "output": Map({"directory": Str(default="runs")}, default=dict),
        "lockin": LOCKIN,
        "chop": CHOP,
        "rf_power_dbm": Num(default=-10.0, min=-150.0, max=30.0),
        "field_to_zero_at_end": Bool(default=True),
        "measurements": _Measurements(),
    }
)


# ---------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Bias:
    """A bias set point: a current (A) or a voltage (V) reached by closed loop."""

    value: float
    is_voltage: bool

    def __str__(self):
        return f"{self.value:+.4g} {'V' if self.is_voltage else 'A'}"


@dataclass(frozen=True)
class FreqSweep:
    index: int
    kind: str  # "resonance" | "background"
    field_oe: float
    bias: Bias
    frequencies_hz: np.ndarray = field(repr=False)
    power_dbm: float = -10.0
    axis: str = "hard"
    #: the checked ``adaptive`` mapping (frequencies_hz are then the candidates), or None
    adaptive: dict | None = None
    #: "stepped" (settle, then read) or "swept" (read every ``dwell_s`` through the filter)
    acquisition: str = "stepped"
    dwell_s: float = math.nan
    #: swept: the set points up, then down again, in the same spectrum
    up_down: bool = False
    #: where the sweep comes from in the run config, as the user wrote it, e.g. ``measurements[1]``
    where: str = field(default="", compare=False)
    #: the keys of that measurement holding the sweep's fields and bias
    field_key: str = field(default="field_oe", compare=False)
    bias_key: str = field(default="", compare=False)

    @property
    def points(self) -> int:
        """Points planned: the candidates of a uniform sweep, ``max_points`` of an adaptive one."""
        return int(self.adaptive["max_points"]) if self.adaptive else len(self.frequencies_hz) * (1 + self.up_down)


@dataclass(frozen=True)
class FieldSweep:
    index: int
    frequency_hz: float
    bias: Bias
    fields_oe: np.ndarray = field(repr=False)
    power_dbm: float = -10.0
    axis: str = "hard"
    kind: str = "field"
    #: the checked ``adaptive`` mapping (fields_oe are then the candidates), or None
    adaptive: dict | None = None
    #: "stepped" (settle, then read) or "swept" (read every ``dwell_s`` through the filter)
    acquisition: str = "stepped"
    dwell_s: float = math.nan
    #: swept: the set points up, then down again, in the same spectrum
    up_down: bool = False
    #: where the sweep comes from in the run config, as the user wrote it, e.g. ``measurements[1]``
    where: str = field(default="", compare=False)
    #: the keys of that measurement holding the sweep's fields and bias
    field_key: str = field(default="field_oe", compare=False)
    bias_key: str = field(default="", compare=False)
    frequency_key: str = field(default="frequency_hz", compare=False)
    #: adaptive through zero (a field map's sweep): the designs run in turn, each
    #: (candidate fields in Oe, its share of the ``adaptive`` mapping) - ``adaptive_halves``
    designs: tuple = field(default=(), repr=False, compare=False)

    @property
    def points(self) -> int:
        """Points planned: the fields of a uniform sweep, ``max_points`` of an adaptive one."""
        return int(self.adaptive["max_points"]) if self.adaptive else len(self.fields_oe) * (1 + self.up_down)


@dataclass(frozen=True)
class IVSweep:
    index: int
    label: str  # "hard" | "parallel" | "antiparallel"
    axis: str
    field_oe: float
    currents_a: np.ndarray = field(repr=False)
    saturate_oe: float = 0.0
    max_voltage_v: float = math.inf
    #: where the sweep comes from in the run config, as the user wrote it, e.g. ``measurements[1]``
    where: str = field(default="", compare=False)
    #: the keys of that measurement holding the sweep's fields and bias
    field_key: str = field(default="field_oe", compare=False)
    bias_key: str = field(default="", compare=False)

    @property
    def points(self) -> int:
        return len(self.currents_a)


def sweep_key(item) -> tuple[str, int]:
    """A sweep's key in the per-sweep tallies (points recorded, sweeps finished):
    ``("s", index)`` for a spectrum (frequency or field sweep), ``("iv", index)`` for an I-V sweep."""
    return ("iv" if isinstance(item, IVSweep) else "s", item.index)


def row_sweep_key(table: str, row: dict) -> tuple[str, int] | None:
    """The ``sweep_key`` of the sweep a recorded row belongs to: a ``data`` row's ``spectrum``,
    a ``dvdi`` row's ``sweep``; None for a row of another table (not a point of a sweep)."""
    if table == "data":
        return ("s", int(row["spectrum"]))
    if table == "dvdi":
        return ("iv", int(row["sweep"]))
    return None


@dataclass
class Plan:
    """The ordered list of sweeps a run config describes (the *what*, not the *how*)."""

    spectra: list  # FreqSweep | FieldSweep
    iv_sweeps: list
    order: list  # the items in measurement order

    @property
    def points(self) -> int:
        return sum(item.points for item in self.order)

    @property
    def vmix_points(self) -> int:
        return sum(s.points for s in self.spectra)

    def shortfall(self, recorded: dict, finished: set, outcome: str) -> str:
        """Why fewer points than planned were recorded ("" if none were missing).

        ``recorded``: points per sweep, keyed by ``sweep_key``;
        ``finished``: the keys of the sweeps that ran to their end; ``outcome``: the run's status.
        """
        iv_short = adaptive_short = swept_cut = unmeasured = 0
        for item in self.order:
            key = sweep_key(item)
            missing = max(item.points - recorded.get(key, 0), 0)
            if key not in finished:
                unmeasured += missing
            elif isinstance(item, IVSweep):
                iv_short += missing
            elif item.adaptive:
                adaptive_short += missing
            else:  # a swept sweep a stop cut short, counted complete by a resumed run
                swept_cut += missing
        parts = []
        if iv_short:
            parts.append(f"{iv_short} fewer in I-V sweeps (each branch stops at its voltage limit)")
        if adaptive_short:
            parts.append(f"{adaptive_short} fewer in adaptive sweeps (stopped when their goal was met; the plan counts max_points)")
        if swept_cut:
            parts.append(f"{swept_cut} fewer in swept sweeps a stop ended part-way (a resumed run keeps them as they stopped)")
        if unmeasured:
            parts.append(f"{unmeasured} not measured (run {outcome})")
        return "; ".join(parts)


class SweepTally:
    """Points recorded per sweep of ``plan`` and the sweeps run to their end (keys: ``sweep_key``):
    the one count behind the procedure's points note and the progress line."""

    def __init__(self, plan: Plan, already=None):
        """``already``: what a resumed file holds (``procedures.base.ResumeState``): its points
        count as recorded, its complete sweeps as finished."""
        self.plan = plan
        self.recorded: dict[tuple[str, int], int] = {}
        self.finished: set[tuple[str, int]] = set()
        for item in plan.order if already is not None else ():
            key = sweep_key(item)
            self.recorded[key] = already.recorded(item)
            if already.complete(item):
                self.finished.add(key)

    def add_row(self, table: str, row: dict) -> bool:
        """Count one recorded row; True when it is a point of a sweep (``row_sweep_key``)."""
        key = row_sweep_key(table, row)
        if key is None:
            return False
        self.recorded[key] = self.recorded.get(key, 0) + 1
        return True

    def missing(self, item) -> int:
        """Planned points of ``item`` not recorded (an I-V branch stopped at its voltage limit,
        an adaptive sweep whose goal was met, a sweep not run to its end)."""
        return max(item.points - self.recorded.get(sweep_key(item), 0), 0)

    def finish(self, item) -> int:
        """``item`` ran to its end; return its ``missing`` points."""
        self.finished.add(sweep_key(item))
        return self.missing(item)

    def shortfall(self, outcome: str) -> str:
        """``Plan.shortfall`` of this count: why fewer points than planned were recorded."""
        return self.plan.shortfall(self.recorded, self.finished, outcome)


def sweep_values(spec, path: str) -> np.ndarray:
    """A {start, stop, points} mapping or a list -> array; reversed/empty are errors."""
    if isinstance(spec, dict):
        if not spec["stop"] > spec["start"]:
            raise ConfigError(f"{path}: stop ({spec['stop']:g}) must be above start ({spec['start']:g})")
        return np.linspace(spec["start"], spec["stop"], spec["points"])
    arr = np.asarray(spec, dtype=float)
    if arr.size == 0:
        raise ConfigError(f"{path}: empty sweep")
    return arr


def frequency_values(spec, field_oe: float, path: str) -> np.ndarray:
    if "values_hz" in spec:
        return np.asarray(spec["values_hz"], dtype=float)
    if "center" in spec:
        h = abs(field_oe) - spec["hk_oe"]
        if h <= 0:
            raise ConfigError(f"{path}.center: no Kittel resonance at {field_oe:g} Oe (|H| <= hk_oe)")
        f0 = spec["gamma"] / (2 * math.pi) * math.sqrt(h * (h + spec["meff_4pi_oe"]))
        return np.linspace(f0 - spec["span_hz"] / 2, f0 + spec["span_hz"] / 2, spec["points"])
    if not spec["stop_hz"] > spec["start_hz"]:
        raise ConfigError(f"{path}: stop_hz must be above start_hz")
    return np.linspace(spec["start_hz"], spec["stop_hz"], spec["points"])


def check_adaptive(spec: dict | None, path: str) -> dict | None:
    """The ``adaptive`` mapping's cross-checks (one goal; budgets that fit together)."""
    if spec is None:
        return None
    p = f"{path}.adaptive"
    goals = [k for k in ("target_rel_err", "match_uniform_points") if spec.get(k) is not None]
    if len(goals) != 1:
        raise ConfigError(f"{p}: give exactly one of target_rel_err or match_uniform_points")
    if spec["max_points"] < spec["coarse_points"] + 1:
        raise ConfigError(f"{p}.max_points: {spec['max_points']} leaves no point after {spec['coarse_points']} coarse points")
    return spec


def adaptive_candidates(f: np.ndarray) -> np.ndarray:
    """The candidate grid of an adaptive sweep: the window at >= 401 points (a list of
    frequencies is taken as it is)."""
    if f.size >= ADAPTIVE_MIN_CANDIDATES:
        return f
    return np.linspace(float(f.min()), float(f.max()), ADAPTIVE_MIN_CANDIDATES)


def _sweep_points(values: np.ndarray, adaptive: dict | None, is_window: bool, path: str, what: str) -> np.ndarray:
    """A sweep's set points (``values``, from the config entry at ``path``), or - for an
    adaptive sweep - its candidates: a window given as a range gets the candidate grid
    (``adaptive_candidates``), a list is taken as it is; enough of them for the coarse pass."""
    if not adaptive:
        return values
    if is_window:
        values = adaptive_candidates(values)
    if np.unique(values).size < adaptive["coarse_points"]:
        raise ConfigError(f"{path}: fewer candidate {what} than adaptive.coarse_points")
    return values


#: an adaptive field map's candidate fields are at most this far apart (Oe): its points are
#: distinct set points (the bilayer analysis takes the median spacing as the sweep's resolution)
FIELD_MAP_CANDIDATE_STEP_OE = 2.0


def adaptive_halves(fields_oe: np.ndarray, adaptive: dict, path: str, refine: bool = True) -> tuple:
    """The designs of an adaptive field map's sweep (Oe): through zero, one per polarity -
    the candidates below -floor, then those above +floor (the analysis' low-field floor,
    ``analysis.lines.LOW_FIELD_OE``: no line there), so the field crosses zero once and each
    line gets its own design; ``max_points`` and ``match_uniform_points`` shared in proportion
    to the candidates. A window (``refine``) gets candidates FIELD_MAP_CANDIDATE_STEP_OE apart.
    A sweep of one polarity is one design over all its candidates.
    Returns ((candidates, adaptive mapping), ...)."""
    from stfmr_lab.analysis.lines import LOW_FIELD_OE

    h = np.unique(np.asarray(fields_oe, dtype=float))
    if not (h[0] < 0 < h[-1]):
        return ((h, adaptive),)
    if refine:  # a window: candidates FIELD_MAP_CANDIDATE_STEP_OE apart or closer
        n_fine = int(math.ceil((h[-1] - h[0]) / FIELD_MAP_CANDIDATE_STEP_OE)) + 1
        h = np.linspace(h[0], h[-1], max(n_fine, h.size))
    halves = [h[h < -LOW_FIELD_OE], h[h > LOW_FIELD_OE]]
    n = max(sum(c.size for c in halves), 1)
    p = f"{path}.adaptive"
    budgets = [k for k in ("max_points", "match_uniform_points") if adaptive.get(k) is not None]
    first = {k: round(adaptive[k] * halves[0].size / n) for k in budgets}
    shares = [first, {k: adaptive[k] - first[k] for k in budgets}]
    designs = []
    for k, (c, share) in enumerate(zip(halves, shares, strict=True)):
        if c.size < adaptive["coarse_points"]:
            raise ConfigError(f"{path}.fields_oe: fewer than adaptive.coarse_points candidate fields beyond "
                              f"{'-' if k == 0 else '+'}{LOW_FIELD_OE:g} Oe (each polarity is designed on its own)")
        if share["max_points"] < adaptive["coarse_points"] + 1:
            raise ConfigError(f"{p}.max_points: {adaptive['max_points']} leaves a polarity {share['max_points']} points, "
                              f"none after {adaptive['coarse_points']} coarse points (a field map designs each on its own)")
        designs.append((c, {**adaptive, **share}))
    return tuple(designs)


def _biases(m: dict, path: str, single: bool = False) -> list[Bias]:
    keys = ("bias_a", "bias_v") if single else ("biases_a", "biases_v")
    given = [k for k in keys if m.get(k) is not None]
    if len(given) > 1:
        raise ConfigError(f"{path}: give either {keys[0]} or {keys[1]}, not both")
    if not given:
        if single:
            return [Bias(0.0, False)]
        raise ConfigError(f"{path}: needs {keys[0]} (currents) or {keys[1]} (voltages)")
    key = given[0]
    is_v = key.endswith("_v")
    vals = [m[key]] if single else sweep_values(m[key], f"{path}.{key}")
    return [Bias(float(v), is_v) for v in vals]


def _order_biases(biases: list[Bias], order: str) -> list[Bias]:
    if order == "descending":
        return sorted(biases, key=lambda b: -b.value)
    if order == "alternating":
        # 0, +1, -1, +2, -2, ...: drift does not alias into the bias dependence
        s = sorted(biases, key=lambda b: (round(abs(b.value), 12), -b.value))
        return s
    return sorted(biases, key=lambda b: b.value)


#: the shortest time between readings each lock-in model can deliver (s): the SR830's
#: fastest internal sample rate is 512 Hz (its manual, SRAT); the SR860 streams at up to 1.25 MHz
LOCKIN_SAMPLE_INTERVAL_S = {"sr830": 1.0 / 512.0, "sr860": 1.0 / 1.25e6}
#: swept acquisition: default step time, and the shortest step the filter model can resolve
#: (neighbouring readings 0.5 time constants apart are already correlated at 0.98 for 24 dB/oct)
SWEPT_DWELL_TIME_CONSTANTS = 1.5
SWEPT_MIN_DWELL_TIME_CONSTANTS = 0.5


def _acquisition(m: dict, path: str, cfg: dict, station_cfg: dict | None, adaptive, field: bool = False) -> dict:
    """The checked acquisition settings of one sweep: keyword arguments of its plan items.
    Swept with ``adaptive``: a swept coarse pass, then settled points (frequency sweeps only;
    ``field``: a field sweep's)."""
    mode = m.get("acquisition", "stepped")
    if mode != "swept":
        for key in ("dwell_s", "up_down"):
            if m.get(key) not in (None, False):
                raise ConfigError(f"{path}.{key}: only with acquisition: swept")
        return {}
    if adaptive and field:
        raise ConfigError(
            f"{path}.acquisition: swept cannot be combined with adaptive on a field sweep (the closed field loop "
            "moves the field over longer than a dwell, so the lock-in filter model the design places points by "
            "does not hold; use a stepped adaptive or a swept uniform field sweep)"
        )
    tau = float(cfg["lockin"]["time_constant_s"])
    model = ((station_cfg or {}).get("instruments") or {}).get("lockin", {}).get("model")
    smallest = max(SWEPT_MIN_DWELL_TIME_CONSTANTS * tau, LOCKIN_SAMPLE_INTERVAL_S.get(model, 0.0))
    dwell = m.get("dwell_s")
    dwell = SWEPT_DWELL_TIME_CONSTANTS * tau if dwell is None else float(dwell)
    if dwell < smallest * (1 - 1e-9):
        raise ConfigError(
            f"{path}.dwell_s: {dwell:g} s is shorter than the lock-in can follow; the smallest allowed is "
            f"{smallest:g} s ({SWEPT_MIN_DWELL_TIME_CONSTANTS:g} time constants of {tau:g} s"
            + (f", or the {model}'s sample interval" if model in LOCKIN_SAMPLE_INTERVAL_S else "") + ")"
        )
    return {"acquisition": "swept", "dwell_s": dwell, "up_down": bool(m.get("up_down", False))}



def build_plan(cfg: dict, station_cfg: dict | None = None) -> Plan:
    """The plan of a validated run config (raises ConfigError for inconsistent sweeps)."""
    spectra, ivs, order = [], [], []
    power0 = cfg["rf_power_dbm"]
    vmax_default = 0.95 * station_cfg["limits"]["max_bias_voltage_v"] if station_cfg else math.inf
    for k, m in enumerate(cfg["measurements"]):
        path = f"measurements[{k}]"
        kind = m["type"]
        power = m.get("rf_power_dbm") if m.get("rf_power_dbm") is not None else power0
        if kind == "dvdi":
            currents = sweep_values(m["currents_a"], f"{path}.currents_a")
            vmax = m["max_voltage_v"] if m.get("max_voltage_v") is not None else vmax_default
            for h in m["fields_oe"]:
                item = IVSweep(len(ivs), "hard", "hard", float(h), currents, max_voltage_v=vmax, where=path,
                               field_key="fields_oe", bias_key="currents_a")
                ivs.append(item)
                order.append(item)
            if m["reference_loops"]:
                for label, sign in (("parallel", 1.0), ("antiparallel", -1.0)):
                    item = IVSweep(
                        len(ivs), label, "easy", m["hold_oe"], currents, saturate_oe=sign * m["saturate_oe"], max_voltage_v=vmax,
                        where=path, field_key="saturate_oe", bias_key="currents_a",
                    )
                    ivs.append(item)
                    order.append(item)
        elif kind in ("map", "background"):
            fields = sweep_values(m["fields_oe"], f"{path}.fields_oe") if kind == "map" else [m["field_oe"]]
            biases = _order_biases(_biases(m, path), m.get("bias_order", "ascending"))
            pairs = (
                [(h, b) for h in fields for b in biases]
                if m.get("outer", "field") == "field"
                else [(h, b) for b in biases for h in fields]
            )
            adaptive = check_adaptive(m.get("adaptive"), path)
            acq = _acquisition(m, path, cfg, station_cfg, adaptive)
            for h, b in pairs:
                f = frequency_values(m["frequency"], h, f"{path}.frequency")
                f = _sweep_points(f, adaptive, "values_hz" not in m["frequency"], f"{path}.frequency", "frequencies")
                item = FreqSweep(
                    len(spectra), "resonance" if kind == "map" else "background", float(h), b, f, power, adaptive=adaptive,
                    where=path, field_key="fields_oe" if kind == "map" else "field_oe",
                    bias_key="biases_v" if b.is_voltage else "biases_a", axis=m.get("axis", "hard"), **acq,
                )
                spectra.append(item)
                order.append(item)
        elif kind == "frequency_sweep":
            (b,) = _biases(m, path, single=True)
            adaptive = check_adaptive(m.get("adaptive"), path)
            f = frequency_values(m["frequency"], m["field_oe"], f"{path}.frequency")
            f = _sweep_points(f, adaptive, "values_hz" not in m["frequency"], f"{path}.frequency", "frequencies")
            acq = _acquisition(m, path, cfg, station_cfg, adaptive)
            item = FreqSweep(len(spectra), "resonance", float(m["field_oe"]), b, f, power, adaptive=adaptive,
                             where=path, bias_key="bias_v" if b.is_voltage else "bias_a", **acq)
            spectra.append(item)
            order.append(item)
        elif kind == "field_map":
            fields = sweep_values(m["fields_oe"], f"{path}.fields_oe")
            adaptive = check_adaptive(m.get("adaptive"), path)
            fields = _sweep_points(fields, adaptive, isinstance(m["fields_oe"], dict), f"{path}.fields_oe", "fields")
            designs = adaptive_halves(fields, adaptive, path, refine=isinstance(m["fields_oe"], dict)) if adaptive else ()
            for f in m["frequencies_hz"]:
                for i in m["dc_currents_a"]:
                    item = FieldSweep(len(spectra), float(f), Bias(float(i), False), fields, power, adaptive=adaptive,
                                      where=path, field_key="fields_oe", bias_key="dc_currents_a",
                                      frequency_key="frequencies_hz", designs=designs)
                    spectra.append(item)
                    order.append(item)
        elif kind == "field_sweep":
            (b,) = _biases(m, path, single=True)
            fields = sweep_values(m["fields_oe"], f"{path}.fields_oe")
            adaptive = check_adaptive(m.get("adaptive"), path)
            fields = _sweep_points(fields, adaptive, isinstance(m["fields_oe"], dict), f"{path}.fields_oe", "fields")
            acq = _acquisition(m, path, cfg, station_cfg, adaptive, field=True)
            item = FieldSweep(len(spectra), float(m["frequency_hz"]), b, fields, power, adaptive=adaptive,
                              where=path, field_key="fields_oe", bias_key="bias_v" if b.is_voltage else "bias_a", **acq)
            spectra.append(item)
            order.append(item)
    return Plan(spectra, ivs, order)


def check_plan_against_limits(plan: Plan, station_cfg: dict) -> None:
    """Every set point within the station's limits (before anything is opened): the first
    sweep with a value out of range is refused, naming its key (``Limits.problems``)."""
    from stfmr_lab.instruments.path import BiasTeePath
    from stfmr_lab.limits import Limits

    lim = Limits.from_config(station_cfg["limits"])
    try:
        path = BiasTeePath.from_config(station_cfg["path"])
    except ValueError as e:
        raise ConfigError(f"station.{e}") from None

    def refuse(where: str, key: str, names=None, **values) -> None:
        problems = lim.problems(**values, names=names)
        if problems:
            raise ConfigError(f"{_key(where, key)}: " + "; ".join(problems))

    for item in plan.order:
        where = item.where or f"measurements: sweep {item.index} ({type(item).__name__})"
        if isinstance(item, IVSweep):
            refuse(where, item.bias_key, bias_current_a=item.currents_a)
            refuse(where, "hold_oe" if item.label != "hard" else "fields_oe", field_oe=item.field_oe)
            refuse(where, "saturate_oe", field_oe=item.saturate_oe)
        else:
            refuse(where, item.field_key, field_oe=[item.field_oe] if not isinstance(item, FieldSweep) else item.fields_oe)
            refuse(where, "rf_power_dbm", rf_power_dbm=item.power_dbm)
            b = item.bias
            refuse(where, item.bias_key, **{"bias_voltage_v" if b.is_voltage else "bias_current_a": b.value},
                   names={"bias_voltage_v": "bias", "bias_current_a": "bias"})
            freqs = item.frequencies_hz if isinstance(item, FreqSweep) else [item.frequency_hz]
            try:
                at_device = np.asarray(path.power_at_device_dbm(freqs, item.power_dbm)) * np.ones(len(freqs))
            except ValueError as e:
                raise ConfigError(f"{_key(where, 'frequency')}: {e} (station path {path.source})") from None
            refuse(where, "rf_power_dbm", rf_power_at_device_dbm=np.column_stack([at_device, freqs]))
            refuse(where, "frequency" if isinstance(item, FreqSweep) else item.frequency_key, frequency_hz=freqs)


def _key(where: str, key: str) -> str:
    """``measurements[1].fields_oe``: the user's path to a key of a measurement."""
    return f"{where}.{key}" if where.startswith("measurements[") and key else where


@dataclass
class RunConfig:
    """A validated run config: the raw text, the checked mapping, its station and plan."""

    data: dict
    text: str
    station: dict
    plan: Plan
    source: Path | None = None
    #: the station as the user wrote it (the station file's text, or the inline mapping as YAML)
    station_text: str = ""

    @property
    def name(self) -> str:
        return self.data["name"]


def resolve_station(name: str, base_dir: Path | None = None) -> Path:
    """The station file a run config or a GUI form names: relative to the config's folder,
    then to the working directory, then the packaged example of that name."""
    p = Path(str(name)).expanduser()
    if p.is_absolute():
        if p.is_file():
            return p
        raise ConfigError(f"station file {path_text(p)}: no such file")
    if base_dir is not None and (base_dir / p).is_file():
        return (base_dir / p).resolve()
    if p.is_file():
        return p.resolve()
    if p.name == str(name) and packaged_example(p.name).is_file():  # station.yaml, station_bilayer.yaml
        return packaged_example(p.name)
    raise ConfigError(f"station file {path_text(name)}: no such file")


#: characters Windows refuses in a file name, and both systems' path separators
_NOT_IN_FILE_NAMES = frozenset('<>:"/\\|?*')
#: names Windows keeps for devices, whatever the extension ("nul.h5" is the null device)
_WINDOWS_DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{k}" for k in range(1, 10)] + [f"LPT{k}" for k in range(1, 10)]
)


def check_file_stem(path: str, name: str) -> str:
    """``name`` if it makes a file name on Windows and Linux (the run file is ``<name>.h5``).

    Spaces and non-ASCII letters are fine; separators, ``<>:"|?*``, control characters, a
    trailing space or dot and Windows' device names (CON, NUL, COM1, ...) are not.
    """
    bad = sorted({c for c in name if c in _NOT_IN_FILE_NAMES or ord(c) < 32})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise ConfigError(f"{path}: {name!r} cannot be a file name on every PC (remove {shown}); spaces and accents are fine")
    if not name.strip() or name != name.rstrip(" ."):
        raise ConfigError(f"{path}: {name!r} cannot be a file name on Windows (empty, or ends in a space or a dot)")
    if name.split(".")[0].rstrip(" ").upper() in _WINDOWS_DEVICE_NAMES:
        raise ConfigError(f"{path}: {name!r} is a device name on Windows, not a file name")
    return name


def validate_run_config(data, *, base_dir: Path | None = None, source: Path | None = None, sim: bool = True) -> RunConfig:
    """Validate a run config mapping (raises ConfigError with a one-line message)."""
    if not isinstance(data, dict):
        raise ConfigError("config: expected a mapping at the top level")
    raw = copy.deepcopy(data)
    cfg = RUN.check("", raw)
    check_file_stem("name", cfg["name"])
    if isinstance(cfg["sample"], dict):  # its cross-checks (Ms*Vol from its parts), the Nones dropped
        cfg["sample"] = declared_sample({k: v for k, v in cfg["sample"].items() if v is not None})
    st = cfg["station"]
    if isinstance(st, str):
        station_path = resolve_station(st, base_dir)
        station_cfg = validate_station(load_yaml(station_path, "station file"), "station")
        station_text = station_path.read_text(encoding="utf-8-sig")  # as load_yaml reads it
    else:
        station_cfg = validate_station(st, "station")
        station_text = yaml.safe_dump(data["station"], sort_keys=False)
    if sim:
        from stfmr_lab.sim.bench import device_model_from_config, simulation_schema

        device_model_from_config(cfg["device"])
        simulation_schema().check("simulation", cfg["simulation"])
    if cfg["lockin"]["slope_db_oct"] not in (6, 12, 18, 24):
        raise ConfigError("lockin.slope_db_oct: must be 6, 12, 18 or 24")
    plan = build_plan(cfg, station_cfg)
    if plan.points > 5_000_000:
        raise ConfigError(f"measurements: {plan.points} points is more than the 5,000,000 a run may hold")
    check_plan_against_limits(plan, station_cfg)
    text = yaml.safe_dump(data, sort_keys=False)
    return RunConfig(cfg, text, station_cfg, plan, source, station_text)


def load_run_config(path: str | Path, *, sim: bool = True) -> RunConfig:
    p = Path(path)
    data = load_yaml(p, "config")
    rc = validate_run_config(data, base_dir=p.parent, source=p, sim=sim)
    rc.text = p.read_text(encoding="utf-8-sig")  # text mode: CRLF read as LF
    return rc
