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
from dataclasses import dataclass
from pathlib import Path

import yaml

from stfmr_lab.config import resolve_station
from stfmr_lab.gui import procedures as gp
from stfmr_lab.limits import Limits
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
    #: the simulated device a form's run takes on --sim ("mtj" or "bilayer")
    device_type: str = "mtj"


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
    Measurement(
        "field_map",
        "Field map (bilayer)",
        gp.FieldMapProcedure,
        ("frequencies_ghz", "dc_currents_ma", "start_oe", "stop_oe", "points", "sampling", "rf_power_dbm")
        + ("mu0_ms_t", "t_fm_nm", "t_hm_nm", "width_um", "shunt_hm", "phi_deg")
        + ("time_constant_s", "settle_time_constants", "sensitivity_v", "chop_frequency_hz", "sample_name", "station_file"),
        device_type="bilayer",
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
#: each limited input -> the ``Limits.problems`` quantity it sets
LIMITED_INPUTS = {
    "field_oe": "field_oe", "start_oe": "field_oe", "stop_oe": "field_oe", "fields_oe": "field_oe",
    "bias_current_a": "bias_current_a", "current_max_a": "bias_current_a",
    "bias_start_v": "bias_voltage_v", "bias_stop_v": "bias_voltage_v",
    "rf_power_dbm": "rf_power_dbm",
    "start_hz": "frequency_hz", "stop_hz": "frequency_hz", "frequency_hz": "frequency_hz",
    "frequencies_ghz": "frequency_hz", "dc_currents_ma": "bias_current_a",  # the bilayer's field map
}
#: the forms show currents in µA and frequencies in GHz
FORM_UNITS = {"current_unit": "uA", "frequency_unit": "GHz"}
#: inputs that hold comma-separated lists: name -> (size of their unit in SI, the unit, units of their lines)
LIST_INPUTS = {
    "fields_oe": (1.0, "Oe", FORM_UNITS),
    "frequencies_ghz": (1e9, "GHz", FORM_UNITS),
    "dc_currents_ma": (1e-3, "mA", {**FORM_UNITS, "current_unit": "mA"}),  # a strip's currents
}


def limit_hint(name: str, limits: dict) -> str:
    """The station's limit on an input, for its label ('' when none applies)."""
    quantity = LIMITED_INPUTS.get(name)
    units = LIST_INPUTS[name][2] if name in LIST_INPUTS else FORM_UNITS
    return Limits.from_config(limits).hint(quantity, **units) if quantity else ""


def limit_summary(limits: dict) -> str:
    """Every limit the forms check, on one line."""
    lim = Limits.from_config(limits)
    return ", ".join(lim.hint(q, **FORM_UNITS) for q in dict.fromkeys(LIMITED_INPUTS.values()))


def limit_problems(values: dict, limits: dict, labels: dict | None = None) -> dict[str, str]:
    """Input name -> why its value is refused by the station's limits (empty: all fine)."""
    labels = labels or {}
    lim = Limits.from_config(limits)
    out: dict[str, str] = {}

    def bad(name, msg):
        out[name] = f"{labels.get(name, name)}: {msg}"

    for name, quantity in LIMITED_INPUTS.items():
        if name not in values:
            continue
        units = FORM_UNITS
        if name in LIST_INPUTS:
            scale, unit, units = LIST_INPUTS[name]
            try:
                value = [x * scale for x in number_list(values[name])]
            except ConfigError as e:
                bad(name, str(e))
                continue
            if not value:
                bad(name, f"give at least one value ({unit}, comma-separated)")
                continue
        else:
            value = float(values[name])
        problems = lim.problems(**{quantity: value}, **units)
        if problems:
            bad(name, problems[0])
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
