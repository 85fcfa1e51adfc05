"""The measurement forms: which inputs each procedure shows, and the station's limits on them.

The procedures' Parameters carry units and wide sanity ranges; the station file carries
the limits of this bench (``limits:`` in stfmr_lab.station). ``limit_problems`` checks a
procedure's values against those limits and says, one line per input, what is out of
range, so the form refuses it before anything is queued. ``config_yaml`` writes the
form's run config as the YAML a headless run takes.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from stfmr_lab.config import resolve_station
from stfmr_lab.gui import procedures as gp
from stfmr_lab.schema import ConfigError, number_list
from stfmr_lab.station import load_station

LOCKIN_INPUTS = ("rf_power_dbm", "time_constant_s", "settle_time_constants", "sensitivity_v", "chop_frequency_hz")
TAIL = LOCKIN_INPUTS + ("sample_name", "station_file")


@dataclass(frozen=True)
class Measurement:
    key: str
    title: str
    procedure_class: type
    inputs: tuple[str, ...]


MEASUREMENTS: tuple[Measurement, ...] = (
    Measurement(
        "frequency",
        "Frequency sweep (Vmix vs f)",
        gp.FrequencySweepProcedure,
        ("field_oe", "bias_current_a", "start_hz", "stop_hz", "points", "sampling", "acquisition") + TAIL,
    ),
    Measurement(
        "field",
        "Field sweep (Vmix vs H)",
        gp.FieldSweepProcedure,
        ("frequency_hz", "bias_current_a", "start_oe", "stop_oe", "points", "sampling", "acquisition") + TAIL,
    ),
    Measurement(
        "map",
        "Map (fields \u00d7 biases \u00d7 frequency)",
        gp.MapProcedure,
        ("fields_oe", "bias_start_v", "bias_stop_v", "bias_points", "bias_order", "outer", "span_hz", "points", "sampling", "acquisition", "with_calibration")
        + TAIL,
    ),
    Measurement(
        "dvdi",
        "dV/dI calibration (RF off)",
        gp.DvdiCalibrationProcedure,
        ("fields_oe", "current_max_a", "points", "reference_loops", "sample_name", "station_file"),  # RF off
    ),
)
RUN_CONFIG = "config"
RUN_CONFIG_TITLE = "Run config (YAML file)"


# ---------------------------------------------------------------------- station
def station_limits(name: str, base_dir: Path | None = None) -> tuple[Path, dict]:
    """(path, validated station mapping) of a station file named in a form (read again
    only when the file changes: every form names the same one)."""
    path = resolve_station(name, base_dir)
    return path, copy.deepcopy(_load_station_cached(path, path.stat().st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _load_station_cached(path: Path, mtime_ns: int) -> dict:
    return load_station(path)


# ---------------------------------------------------------------------- limits on inputs
def limit_hint(name: str, limits: dict) -> str:
    """The station's limit on an input, for its label ('' when none applies)."""
    lim = limits
    if name in ("field_oe", "start_oe", "stop_oe", "fields_oe"):
        return f"|H| \u2264 {lim['max_field_oe']:g} Oe"
    if name in ("bias_current_a", "current_max_a"):
        return f"|I| \u2264 {lim['max_bias_current_a'] * 1e6:g} \u00b5A"
    if name in ("bias_start_v", "bias_stop_v"):
        return f"|V| \u2264 {lim['max_bias_voltage_v']:g} V"
    if name == "rf_power_dbm":
        return f"\u2264 {lim['max_rf_power_dbm']:g} dBm"
    if name in ("start_hz", "stop_hz", "frequency_hz"):
        return f"{lim['min_frequency_hz'] / 1e9:g} to {lim['max_frequency_hz'] / 1e9:g} GHz"
    return ""


def limit_problems(values: dict, limits: dict, labels: dict | None = None) -> dict[str, str]:
    """Input name -> why its value is refused by the station's limits (empty: all fine)."""
    labels = labels or {}
    lim = limits
    out: dict[str, str] = {}

    def label(name):
        return labels.get(name, name)

    def bad(name, msg):
        out[name] = f"{label(name)}: {msg}"

    for name in ("field_oe", "start_oe", "stop_oe"):
        if name in values:
            h = float(values[name])
            if not math.isfinite(h) or abs(h) > lim["max_field_oe"]:
                bad(name, f"{h:g} Oe is beyond the station's field limit \u00b1{lim['max_field_oe']:g} Oe")
    if "fields_oe" in values:
        try:
            fs = number_list(values["fields_oe"])
            if not fs:
                bad("fields_oe", "give at least one field (Oe, comma-separated)")
            over = [h for h in fs if abs(h) > lim["max_field_oe"]]
            if over:
                bad("fields_oe", f"{over[0]:g} Oe is beyond the station's field limit \u00b1{lim['max_field_oe']:g} Oe")
        except ConfigError as e:
            bad("fields_oe", str(e))
    for name in ("bias_current_a", "current_max_a"):
        if name in values:
            i = float(values[name])
            if abs(i) > lim["max_bias_current_a"] * (1 + 1e-12):
                bad(name, f"{i * 1e6:g} \u00b5A is beyond the station's bias limit \u00b1{lim['max_bias_current_a'] * 1e6:g} \u00b5A")
    for name in ("bias_start_v", "bias_stop_v"):
        if name in values:
            v = float(values[name])
            if abs(v) > lim["max_bias_voltage_v"] * (1 + 1e-12):
                bad(name, f"{v:g} V is beyond the station's bias limit \u00b1{lim['max_bias_voltage_v']:g} V")
    if "rf_power_dbm" in values:
        p = float(values["rf_power_dbm"])
        if p > lim["max_rf_power_dbm"]:
            bad("rf_power_dbm", f"{p:g} dBm is above the station's limit {lim['max_rf_power_dbm']:g} dBm")
    for name in ("start_hz", "stop_hz", "frequency_hz"):
        if name in values:
            f = float(values[name])
            if not lim["min_frequency_hz"] <= f <= lim["max_frequency_hz"]:
                bad(
                    name,
                    f"{f / 1e9:g} GHz is outside the station's range "
                    f"{lim['min_frequency_hz'] / 1e9:g} to {lim['max_frequency_hz'] / 1e9:g} GHz",
                )
    for a, b, unit, scale in (("start_hz", "stop_hz", "GHz", 1e9), ("start_oe", "stop_oe", "Oe", 1.0)):
        if a in values and b in values and a not in out and b not in out:
            if not float(values[b]) > float(values[a]):
                bad(b, f"the stop ({float(values[b]) / scale:g} {unit}) must be above the start ({float(values[a]) / scale:g} {unit})")
    return out


# ---------------------------------------------------------------------- run configs as YAML
def config_yaml(procedure, *, sim_extras: bool = True) -> str:
    """The run config of a form's procedure as YAML (``stfmr-lab run FILE.yaml [--sim]``)."""
    data = copy.deepcopy(procedure.config_dict())
    sim = dict(data.get("simulation") or {})
    sim.pop("realtime", None)  # a headless run need not wait like the bench
    data["simulation"] = sim
    if not sim_extras:
        data.pop("device", None)
        data.pop("simulation", None)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def with_realtime(text: str, realtime: bool) -> dict:
    """A run config's mapping with ``simulation.realtime`` set (for the simulated bench)."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ConfigError("config: expected a mapping at the top level")
    sim = data.get("simulation")
    if sim is None:
        sim = data["simulation"] = {}
    if not isinstance(sim, dict):
        raise ConfigError("simulation: expected a mapping")
    sim["realtime"] = bool(realtime)
    return data
