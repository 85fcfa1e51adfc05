"""What the bench window shows of one run, live or from a file (no Qt here).

``RunModel`` holds the run's points in growing numpy columns (appending is amortised O(1);
the plots read slices, never files), one ``SpectrumInfo`` per spectrum (its rows, its
set points, its fit), the map image on a common x grid, and the last state of the bench
as the stream reported it (field, bias, RF, lock-in). A live run fills it from the
stream's rows (``start``/``add_rows``/``stop``); ``RunModel.from_run_data`` fills it from
``stfmr_lab.storage.read_run``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stfmr_lab import units
from stfmr_lab.sample import sample_name

#: the point columns the window keeps (python names of /entry/data)
COLUMNS = (
    "frequency_hz",
    "field_oe",
    "bias_current_a",
    "bias_voltage_v",
    "rf_power_dbm",
    "vmix_v",
    "time_s",
    "set_time_s",
    "spectrum",
    "overload",
    "sensitivity_v",
)
#: the same columns as /entry/data dataset names (read_run's keys)
DATASETS = {py: ds for ds, (py, *_) in units.COLUMNS.items() if py in COLUMNS}
KIND_NAMES = {v: k for k, v in units.SPECTRUM_KINDS.items()}
DVDI_LABEL_NAMES = {v: k for k, v in units.DVDI_LABELS.items()}
MAX_MAP_COLUMNS = 2000


def bias_text(value: float, is_voltage: bool) -> str:
    """A bias set point for people: '+0.250 V' or '+50 uA'."""
    if is_voltage:
        return f"{value:+.3f} V"
    if abs(value) >= 1e-3:  # a strip's DC current
        return f"{value * 1e3:+.4g} mA"
    return f"{value * 1e6:+.4g} \u00b5A"


@dataclass
class SpectrumInfo:
    """One sweep of Vmix: its set points, where its rows are, its fit."""

    index: int
    sweep: str  # "frequency" (x = frequency_hz) or "field" (x = field_oe)
    kind: str = "resonance"  # resonance | background | field
    field_oe: float = math.nan  # set point of a frequency sweep
    frequency_hz: float = math.nan  # set point of a field sweep
    bias_value: float = math.nan
    bias_is_voltage: bool = False
    rf_power_dbm: float = math.nan
    planned_points: int = 0  # an adaptive sweep's: its budget (it may stop before)
    x_planned: np.ndarray | None = field(default=None, repr=False)
    adaptive: bool = False  # points placed as the sweep goes
    swept: bool = False  # a frequency sweep read through the lock-in filter (acquisition: swept)
    rows: list = field(default_factory=list, repr=False)  # [start, stop) ranges into the model
    n: int = 0
    done: bool = False
    fit: object = None
    fit_n: int = 0  # points the fit used
    fit_requested: int = 0  # points when the last fit was asked for

    @property
    def x_name(self) -> str:
        return "frequency_hz" if self.sweep == "frequency" else "field_oe"

    @property
    def label(self) -> str:
        bias = bias_text(self.bias_value, self.bias_is_voltage) if math.isfinite(self.bias_value) else "?"
        if self.sweep == "frequency":
            return f"#{self.index}: {self.field_oe:.0f} Oe, bias {bias}"
        return f"#{self.index}: {self.frequency_hz / 1e9:.3f} GHz, bias {bias}"


def _item_info(item) -> SpectrumInfo:
    """SpectrumInfo of a plan item (stfmr_lab.config.FreqSweep / FieldSweep)."""
    if hasattr(item, "frequencies_hz"):
        return SpectrumInfo(
            index=int(item.index),
            sweep="frequency",
            kind=str(item.kind),
            field_oe=float(item.field_oe),
            bias_value=float(item.bias.value),
            bias_is_voltage=bool(item.bias.is_voltage),
            rf_power_dbm=float(item.power_dbm),
            planned_points=int(item.points),
            x_planned=np.asarray(item.frequencies_hz, dtype=float),
            adaptive=bool(getattr(item, "adaptive", None)),
            swept=getattr(item, "acquisition", "stepped") == "swept",
        )
    return SpectrumInfo(
        index=int(item.index),
        sweep="field",
        kind="field",
        frequency_hz=float(item.frequency_hz),
        bias_value=float(item.bias.value),
        bias_is_voltage=bool(item.bias.is_voltage),
        rf_power_dbm=float(item.power_dbm),
        planned_points=int(item.points),
        x_planned=np.asarray(item.fields_oe, dtype=float),
        adaptive=bool(getattr(item, "adaptive", None)),
    )


def _is_bilayer(cfg) -> bool:
    """The analysis' rule (``stfmr_lab.analysis.sot_run.is_bilayer_config``); False without it."""
    try:
        from stfmr_lab.analysis.sot_run import is_bilayer_config
    except Exception:  # the analysis is optional for the window
        return False
    return is_bilayer_config(cfg)


class MapGrid:
    """The map image: one row per spectrum, one column per x value of a common grid."""

    def __init__(self, sweep: str, xs: list[np.ndarray], n_rows: int):
        self.sweep = sweep
        xs = [np.asarray(x, dtype=float) for x in xs if x is not None and len(x)]
        self.n_rows = max(int(n_rows), 1)
        if not xs:
            self.x = np.zeros(0)
            self.image = np.full((self.n_rows, 0), np.nan)
            return
        first = xs[0]
        self.exact = all(len(x) == len(first) and np.allclose(x, first, rtol=0, atol=1e-9 * max(1.0, abs(first).max())) for x in xs)
        if self.exact and len(first) > MAX_MAP_COLUMNS:
            self.exact = False  # more points than a screen has pixels: binned like unequal grids
        if self.exact:
            self.x = first.copy()
        else:
            lo = min(float(x.min()) for x in xs)
            hi = max(float(x.max()) for x in xs)
            steps = [np.median(np.diff(np.sort(x))) for x in xs if len(x) > 1]
            step = min(s for s in steps if s > 0) if any(s > 0 for s in steps) else max(hi - lo, 1.0)
            n = int(min(MAX_MAP_COLUMNS, round((hi - lo) / step) + 1))
            self.x = np.linspace(lo, hi, max(n, 2))
        self.image = np.full((self.n_rows, len(self.x)), np.nan)

    @property
    def x_range(self) -> tuple[float, float]:
        if len(self.x) == 0:
            return 0.0, 1.0
        if len(self.x) == 1:
            return self.x[0] - 0.5, self.x[0] + 0.5
        half = 0.5 * (self.x[-1] - self.x[0]) / (len(self.x) - 1)
        return float(self.x[0] - half), float(self.x[-1] + half)

    def put(self, rows: np.ndarray, x: np.ndarray, v: np.ndarray) -> None:
        """Write points (row index, x, Vmix) into the image (nearest column)."""
        if len(self.x) == 0 or len(x) == 0:
            return
        if len(self.x) == 1:
            cols = np.zeros(len(x), dtype=int)
        elif self.exact:
            cols = np.clip(np.searchsorted(self.x, x), 0, len(self.x) - 1)
            left = np.clip(cols - 1, 0, len(self.x) - 1)
            cols = np.where(np.abs(self.x[left] - x) < np.abs(self.x[cols] - x), left, cols)
        else:
            step = (self.x[-1] - self.x[0]) / (len(self.x) - 1)
            cols = np.clip(np.rint((x - self.x[0]) / step).astype(int), 0, len(self.x) - 1)
        rows = np.asarray(rows, dtype=int)
        ok = (rows >= 0) & (rows < self.n_rows)
        if rows.max(initial=-1) >= self.n_rows:  # more spectra than planned (resume, file)
            grow = int(rows.max()) + 1 - self.n_rows
            self.image = np.vstack([self.image, np.full((grow, len(self.x)), np.nan)])
            self.n_rows += grow
            ok = rows >= 0
        self.image[rows[ok], cols[ok]] = v[ok]


class RunModel:
    """One run's points, spectra, map and last bench state (live or read from a file)."""

    def __init__(self, *, name: str = "", path: str | Path | None = None, live: bool = True):
        self.name = name
        self.path = Path(path) if path else None
        self.live = live
        self.status = "running" if live else ""
        self.safe_state = ""
        self.roles: dict[str, dict] = {}
        self.sample = ""
        self.simulated = False
        self.planned_points = 0  # every row the plan will produce (data + dvdi)
        self.planned_spectra = 0
        self.estimated_s = math.nan
        self.points_done = 0  # data + dvdi rows so far
        self.sweeps_total = 0
        self.sweeps_done = 0
        self.time_s = 0.0
        self.spectra: dict[int, SpectrumInfo] = {}
        self.current: int | None = None  # the spectrum being measured
        self.state: dict = {
            "field_oe": math.nan,
            "bias_current_a": math.nan,
            "bias_voltage_v": math.nan,
            "rf_power_dbm": math.nan,
            "frequency_hz": math.nan,
            "rf_on": None,
            "sensitivity_v": math.nan,
            "overloads": 0,
            "last_overload": False,
            "activity": "",
        }
        self._cap = 0
        self.n = 0
        self.cols: dict[str, np.ndarray] = {}
        self._reserve(1024)
        self.map: MapGrid | None = None
        self.iv: dict[int, dict] = {}  # I-V sweep index -> {"label", "field_oe", "i": [...], "v": [...]}
        self.iv_current: int | None = None
        self.field_to_zero = False
        self.error = ""  # why a failed run failed
        self.station_name = ""  # the station of the run (as its file names it)
        #: a heavy-metal / ferromagnet strip's run (field maps: one line per field polarity)
        self.bilayer = False
        #: (time constant s, poles) of the run's lock-in: swept spectra are fitted through it
        self.lockin_filter: tuple[float, int] | None = None

    # ------------------------------------------------------------------ storage
    def _reserve(self, n: int) -> None:
        if n <= self._cap:
            return
        cap = max(n, 2 * self._cap, 1024)
        for c in COLUMNS:
            new = np.full(cap, np.nan)
            if self._cap:
                new[: self.n] = self.cols[c][: self.n]
            self.cols[c] = new
        self._cap = cap

    def spectrum_data(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(x, vmix_v) of a spectrum (x in Hz for frequency sweeps, Oe for field sweeps)."""
        info = self.spectra.get(index)
        if info is None or not info.rows:
            return np.zeros(0), np.zeros(0)
        xs, vs = [], []
        for a, b in info.rows:
            xs.append(self.cols[info.x_name][a:b])
            vs.append(self.cols["vmix_v"][a:b])
        if len(xs) == 1:
            return xs[0].copy(), vs[0].copy()
        return np.concatenate(xs), np.concatenate(vs)

    def fit_kind(self, index: int) -> str:
        """How spectrum ``index`` is fitted (``stfmr_lab.gui.fitting.fit_one``): a bilayer's
        field sweeps line by line ("field_lines"), a swept frequency sweep through the lock-in
        filter ("frequency_swept", when the filter is known), else by its sweep ("frequency", "field")."""
        info = self.spectra[index]
        if info.swept and info.sweep == "frequency" and self.lockin_filter is not None:
            return "frequency_swept"
        return "field_lines" if self.bilayer and info.sweep == "field" else info.sweep

    def fit_timing(self, index: int):
        """(set times, read times, time constant s, poles) of a swept spectrum, else None."""
        info = self.spectra.get(index)
        if info is None or not info.swept or self.lockin_filter is None or not info.rows:
            return None
        ts = np.concatenate([self.cols["set_time_s"][a:b] for a, b in info.rows])
        tr = np.concatenate([self.cols["time_s"][a:b] for a, b in info.rows])
        return ts, tr, *self.lockin_filter

    # ------------------------------------------------------------------ live run
    def start(self, info: dict) -> None:
        """The stream's ``start``: plan, station roles, run file path."""
        rc = info.get("config")
        self.path = Path(info["path"]) if info.get("path") else self.path
        if rc is not None:
            self.name = rc.name
            self.sample = sample_name(rc.data.get("sample", ""))
            self.station_name = str(rc.station.get("name", ""))
            self.planned_points = int(rc.plan.points)
            self.planned_spectra = len(rc.plan.spectra)
            self.sweeps_total = len(rc.plan.order)
            self.field_to_zero = bool(rc.data.get("field_to_zero_at_end", True))
            self.bilayer = _is_bilayer(rc.data)
            lc = rc.data.get("lockin") or {}
            try:
                from stfmr_lab.lockin_filter import poles_for_slope

                self.lockin_filter = (float(lc["time_constant_s"]), poles_for_slope(lc["slope_db_oct"]))
            except (KeyError, ValueError, TypeError):
                self.lockin_filter = None
            for role, icfg in rc.station.get("instruments", {}).items():
                self.roles[role] = {"model": icfg.get("model", "?"), "address": icfg.get("address", "?")}
            for item in rc.plan.spectra:
                self.spectra[int(item.index)] = _item_info(item)
            try:
                from stfmr_lab.runner import estimate_bench_time_s

                self.estimated_s = float(estimate_bench_time_s(rc))
            except Exception:  # an estimate only
                self.estimated_s = math.nan
            self._make_map()
        self.status = "running"

    def _make_map(self) -> None:
        infos = sorted(self.spectra.values(), key=lambda s: s.index)
        if not infos:
            self.map = None
            return
        sweep = infos[0].sweep
        xs = [s.x_planned for s in infos if s.sweep == sweep]
        self.map = MapGrid(sweep, xs, max(s.index for s in infos) + 1)

    def _map_indices(self) -> np.ndarray:
        """Indices of the spectra drawn in the map (those of the map's sweep kind)."""
        sweep = self.map.sweep if self.map is not None else "frequency"
        return np.array([i for i, s in self.spectra.items() if s.sweep == sweep], dtype=int)

    def sweep_started(self, item) -> None:
        if hasattr(item, "frequencies_hz") or hasattr(item, "fields_oe"):
            idx = int(item.index)
            if idx not in self.spectra:
                self.spectra[idx] = _item_info(item)
            self.current = idx
            self.iv_current = None
            self.state["activity"] = self.spectra[idx].label
        else:  # an I-V sweep: RF off (the procedure turns it off first)
            self.current = None
            self.iv_current = int(item.index)
            self.iv.setdefault(int(item.index), {"label": str(getattr(item, "label", "")), "field_oe": float(getattr(item, "field_oe", math.nan)), "i": [], "v": []})
            label = getattr(item, "label", "")
            self.state["activity"] = f"dV/dI sweep #{item.index} ({label}, {getattr(item, 'field_oe', math.nan):.0f} Oe), RF off"

    def sweep_finished(self, item) -> None:
        self.sweeps_done += 1
        if hasattr(item, "frequencies_hz") or hasattr(item, "fields_oe"):
            info = self.spectra.get(int(item.index))
            if info is not None:
                info.done = True

    def add_rows(self, batch) -> list[int]:
        """Append a batch of (table, row) from the stream; returns the spectra that grew."""
        data = [r for t, r in batch if t == "data"]
        grown: set[int] = set()
        for table, row in batch:
            if table == "spectra":
                self.state["rf_on"] = True
                self.state["rf_power_dbm"] = float(row.get("rf_power_dbm", math.nan))
                idx = int(row["index"])
                info = self.spectra.get(idx)
                if info is not None:
                    info.rf_power_dbm = float(row.get("rf_power_dbm", math.nan))
            elif table == "dvdi_sweeps":
                self.state["rf_on"] = False
                entry = self.iv.setdefault(int(row["index"]), {"i": [], "v": []})
                entry["label"] = DVDI_LABEL_NAMES.get(int(row.get("label", 0)), "?")
                entry["field_oe"] = float(row.get("field_target_oe", math.nan))
            elif table == "dvdi":
                entry = self.iv.setdefault(int(row.get("sweep", -1)), {"label": "?", "field_oe": math.nan, "i": [], "v": []})
                entry["i"].append(float(row.get("bias_current_a", math.nan)))
                entry["v"].append(float(row.get("bias_voltage_v", math.nan)))
                self.points_done += 1
                self._bench_state(row)
        if data:
            n0 = self.n
            self._reserve(n0 + len(data))
            for c in COLUMNS:
                self.cols[c][n0 : n0 + len(data)] = [float(r.get(c, math.nan)) for r in data]
            self.n = n0 + len(data)
            self.points_done += len(data)
            spec = self.cols["spectrum"][n0 : self.n].astype(int)
            # contiguous runs of one spectrum -> row ranges
            cuts = np.flatnonzero(np.diff(spec)) + 1
            starts = np.concatenate([[0], cuts])
            stops = np.concatenate([cuts, [len(spec)]])
            for a, b in zip(starts, stops, strict=True):
                idx = int(spec[a])
                info = self.spectra.get(idx)
                if info is None:
                    info = self.spectra[idx] = SpectrumInfo(index=idx, sweep="frequency")
                if info.rows and info.rows[-1][1] == n0 + a:
                    info.rows[-1][1] = n0 + b
                else:
                    info.rows.append([n0 + a, n0 + b])
                info.n += int(b - a)
                grown.add(idx)
            if self.map is not None:
                sl = slice(n0, self.n)
                x = self.cols["frequency_hz" if self.map.sweep == "frequency" else "field_oe"][sl]
                keep = np.isin(spec, self._map_indices())
                self.map.put(spec[keep], x[keep], self.cols["vmix_v"][sl][keep])
            last = data[-1]
            self._bench_state(last)
            self.state["frequency_hz"] = float(last.get("frequency_hz", math.nan))
            self.state["rf_power_dbm"] = float(last.get("rf_power_dbm", math.nan))
            self.state["sensitivity_v"] = float(last.get("sensitivity_v", math.nan))
            over = [int(r.get("overload", 0)) for r in data]
            self.state["overloads"] += int(sum(over))
            self.state["last_overload"] = bool(over[-1])
        return sorted(grown)

    def _bench_state(self, row) -> None:
        for k in ("field_oe", "bias_current_a", "bias_voltage_v"):
            v = row.get(k)
            if v is not None and math.isfinite(float(v)):
                self.state[k] = float(v)
        t = row.get("time_s")
        if t is not None and math.isfinite(float(t)):
            self.time_s = float(t)

    def stop(self, status: str, safe_state: str) -> None:
        self.status = status
        self.safe_state = safe_state
        self.current = None
        self.iv_current = None
        if safe_state == "verified":
            # read back by the shutdown: RF off, bias 0 A, DC output off (and the field ramped down)
            self.state.update(rf_on=False, bias_current_a=0.0, bias_voltage_v=0.0)
            if self.field_to_zero:
                self.state["field_oe"] = 0.0
        self.state["activity"] = ""

    # ------------------------------------------------------------------ progress
    @property
    def fraction(self) -> float:
        if self.status == "complete":
            return 1.0  # I-V branches may stop early at the voltage limit
        return min(1.0, self.points_done / self.planned_points) if self.planned_points else 0.0

    @property
    def remaining_s(self) -> float:
        """Bench time left: the plan's own prediction of what is left (its per-point waits,
        ramps and I-V sweeps), corrected by the pace measured against it once a quarter of
        the run is done (clamped to 0.5-2x: early points, I-V sweeps and ramps are not the
        run's average). Without a prediction: extrapolated from the pace so far."""
        if not self.live or self.status != "running":
            return 0.0
        f = self.fraction
        if math.isfinite(self.estimated_s) and self.estimated_s > 0:
            left = self.estimated_s * (1.0 - f)
            if f >= 0.25 and self.time_s > 0:
                left *= min(2.0, max(0.5, self.time_s / (self.estimated_s * f)))
            return max(left, 0.0)
        if f <= 0.02 or self.time_s <= 0:
            return math.nan
        return max(self.time_s / f * (1 - f), 0.0)

    # ------------------------------------------------------------------ from a file
    @classmethod
    def from_run_data(cls, run) -> "RunModel":
        """A read-only model of ``stfmr_lab.storage.read_run(path)``."""
        m = cls(name=Path(run.path).stem, path=run.path, live=False)
        attrs = run.attrs
        m.status = run.status
        m.safe_state = str(attrs.get("safe_state", ""))
        m.simulated = bool(attrs.get("simulated", 0))
        m.sample = str(run.sample.get("name", ""))
        m.time_s = float(attrs.get("bench_time_s", math.nan)) if attrs.get("bench_time_s") is not None else math.nan
        for role, info in run.instruments.items():
            if role in ("path", "field_controller"):
                continue
            m.roles[role] = {
                "model": str(info.get("model", "?")),
                "address": str(info.get("address", "?")),
                "identification": str(info.get("identification", "")),
            }
        d = run.tables["data"]
        n = len(d["vmix"])
        spec_col = np.asarray(d["spectrum"], dtype=int)
        order = np.argsort(spec_col, kind="stable")
        m._reserve(n)
        for c, ds in DATASETS.items():
            m.cols[c][:n] = np.asarray(d[ds], dtype=float)[order]
        m.n = n
        m.points_done = n + len(run.tables["dvdi"]["bias_voltage"])
        m.planned_points = int(attrs.get("planned_points", m.points_done) or m.points_done)
        sp = run.tables["spectra"]
        rows_of = {}
        if n:
            s_sorted = spec_col[order]
            uniq, first = np.unique(s_sorted, return_index=True)
            bounds = list(first) + [n]
            for k, idx in enumerate(uniq):
                rows_of[int(idx)] = (int(bounds[k]), int(bounds[k + 1]))
        for k in range(len(sp["index"])):
            idx = int(sp["index"][k])
            kind = KIND_NAMES.get(int(sp["kind"][k]), "resonance")
            info = SpectrumInfo(
                index=idx,
                sweep="field" if kind == "field" else "frequency",
                kind=kind,
                field_oe=float(sp["field_target"][k]),
                frequency_hz=float(sp["frequency_target"][k]),
                bias_value=float(sp["bias_target"][k]),
                bias_is_voltage=bool(sp["bias_target_is_voltage"][k]),
                rf_power_dbm=float(sp["rf_power"][k]),
                adaptive=bool(sp["adaptive"][k]) if "adaptive" in sp else False,
                swept=kind != "field" and np.size(sp.get("acquisition", [])) > k and int(sp["acquisition"][k]) == 1,
            )
            m.spectra[idx] = info
        for idx, (a, b) in rows_of.items():
            info = m.spectra.setdefault(idx, SpectrumInfo(index=idx, sweep="frequency"))
            info.rows = [[a, b]]
            info.n = b - a
            info.planned_points = max(info.planned_points, b - a)
            info.done = True
            x = m.cols[info.x_name][a:b]
            info.x_planned = np.unique(x)
        m.planned_spectra = int(attrs.get("planned_spectra", len(m.spectra)) or len(m.spectra))
        dv, ds = run.tables["dvdi"], run.tables["dvdi_sweeps"]
        for k in range(len(ds["index"])):
            m.iv[int(ds["index"][k])] = {
                "label": DVDI_LABEL_NAMES.get(int(ds["label"][k]), "?"),
                "field_oe": float(ds["field_target"][k]),
                "i": [],
                "v": [],
            }
        for k in range(len(dv["sweep"])):
            entry = m.iv.setdefault(int(dv["sweep"][k]), {"label": "?", "field_oe": math.nan, "i": [], "v": []})
            entry["i"].append(float(dv["bias_current"][k]))
            entry["v"].append(float(dv["bias_voltage"][k]))
        m.sweeps_done = len(m.spectra)
        infos = sorted((s for s in m.spectra.values() if s.n), key=lambda s: s.index)
        if infos:
            sweep = infos[0].sweep
            m.map = MapGrid(sweep, [s.x_planned for s in infos if s.sweep == sweep], max(s.index for s in m.spectra.values()) + 1)
            keep = np.isin(m.cols["spectrum"][:n].astype(int), m._map_indices())
            x = m.cols["frequency_hz" if sweep == "frequency" else "field_oe"][:n]
            m.map.put(m.cols["spectrum"][:n][keep].astype(int), x[keep], m.cols["vmix_v"][:n][keep])
        if n:
            last = {c: m.cols[c][n - 1] for c in COLUMNS}
            m._bench_state(last)
            m.state["frequency_hz"] = float(last["frequency_hz"])
            m.state["rf_power_dbm"] = float(last["rf_power_dbm"])
            m.state["sensitivity_v"] = float(last["sensitivity_v"])
            m.state["overloads"] = int(np.nansum(m.cols["overload"][:n]))
        try:
            import yaml

            cfg = yaml.safe_load(str(attrs.get("config", ""))) or {}
        except Exception:  # the config text is informative only here
            cfg = {}
        cfg = cfg if isinstance(cfg, dict) else {}
        m.station_name = str(attrs.get("station", "") or "")  # the station's name: (not the run file's)
        m.bilayer = run.sample.get("device_type") == "bilayer" or _is_bilayer(cfg)
        try:
            from stfmr_lab.analysis.swept import lockin_filter_of

            m.lockin_filter = lockin_filter_of(run)
        except (ImportError, ValueError):
            m.lockin_filter = None
        if m.safe_state == "verified":
            m.state.update(rf_on=False, bias_current_a=0.0, bias_voltage_v=0.0)
            if cfg.get("field_to_zero_at_end", True):
                m.state["field_oe"] = 0.0
        return m
