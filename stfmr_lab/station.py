"""The station: a station file -> the instruments by role, real or simulated.

A station file (YAML) names, per role, the instrument model and its VISA address, plus the
magnet's closed-loop settings, the RF path calibration and the safety limits. ``--sim``
keeps the file as it is and serves every address from the model's pyvisa-sim twin on a
``SimBench``: the same drivers, the same bytes.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stfmr_lab.errors import error_line, path_text
from stfmr_lab.limits import DEFAULT_LIMITS
from stfmr_lab.schema import Bool, ConfigError, Map, Num, OneOf, Str

log = logging.getLogger(__name__)

#: model key -> (module, class) of its driver
MODELS: dict[str, tuple[str, str]] = {
    "agilent_e8257d": ("stfmr_lab.instruments.agilent_e8257d", "AgilentE8257D"),
    "rs_smb100a": ("stfmr_lab.instruments.rs_smb100a", "RohdeSchwarzSMB100A"),
    "keithley2400": ("stfmr_lab.instruments.keithley2400", "Keithley2400"),
    "keithley2450": ("stfmr_lab.instruments.keithley2450", "Keithley2450"),
    "sr830": ("stfmr_lab.instruments.sr830", "SR830"),
    "sr860": ("stfmr_lab.instruments.sr860", "SR860"),
    "kepco_bop": ("stfmr_lab.instruments.kepco_bop", "KepcoBOP"),
    "lakeshore455": ("stfmr_lab.instruments.lakeshore455", "LakeShore455"),
    "lakeshore475": ("stfmr_lab.instruments.lakeshore475", "LakeShore475"),
}

#: role -> the models that can play it
ROLES: dict[str, tuple[str, ...]] = {
    "source": ("agilent_e8257d", "rs_smb100a"),
    "dc": ("keithley2400", "keithley2450"),
    "lockin": ("sr830", "sr860"),
    "magnet_supply": ("kepco_bop",),
    "gaussmeter": ("lakeshore455", "lakeshore475"),
}

#: (write, read) terminations per model on GPIB/USB/LAN (default LF both ways) ...
TERMINATIONS: dict[str, tuple[str, str]] = {
    "lakeshore455": ("\n", "\r\n"),
    "lakeshore475": ("\n", "\r\n"),
}
#: ... and on a serial line (ASRL addresses), where the manuals differ
SERIAL_TERMINATIONS: dict[str, tuple[str, str]] = {
    "sr830": ("\r", "\r"),
    "keithley2400": ("\r", "\r"),
    "lakeshore455": ("\r\n", "\r\n"),
    "lakeshore475": ("\n", "\r\n"),
}


def _instrument_schema(role: str) -> Map:
    return Map(
        {
            "model": Str(choices=ROLES[role]),
            "address": Str(),
            "timeout_ms": Num(default=3000, min=50, max=600000, integer=True),
        }
    )


#: the defaults are the Limits object's (stfmr_lab.limits): one set for every check
LIMITS = Map(
    {
        "max_bias_current_a": Num(default=DEFAULT_LIMITS.max_bias_current_a, min=0.0, max=0.1, doc="largest |bias current| (A)"),
        "max_bias_voltage_v": Num(default=DEFAULT_LIMITS.max_bias_voltage_v, min=0.0, max=20.0, doc="largest |bias voltage| measured (V)"),
        "compliance_v": Num(default=DEFAULT_LIMITS.compliance_v, min=0.2, max=210.0, doc="DC source voltage compliance (V)"),
        "max_bias_step_a": Num(default=DEFAULT_LIMITS.max_bias_step_a, min=1e-9, max=1e-2, doc="largest bias step in a ramp (A)"),
        "bias_step_dwell_s": Num(default=DEFAULT_LIMITS.bias_step_dwell_s, min=0.0, max=10.0, doc="wait after each bias ramp step (s)"),
        "max_rf_power_dbm": Num(default=DEFAULT_LIMITS.max_rf_power_dbm, min=-150.0, max=30.0, doc="largest source power (dBm)"),
        "max_rf_power_at_device_dbm": Num(default=DEFAULT_LIMITS.max_rf_power_at_device_dbm, min=-150.0, max=30.0, doc="largest power at the device (dBm)"),
        "max_field_oe": Num(default=DEFAULT_LIMITS.max_field_oe, min=0.0, max=1e5, doc="largest |field| (Oe)"),
        "min_frequency_hz": Num(default=DEFAULT_LIMITS.min_frequency_hz, min=0.0, max=1e12),
        "max_frequency_hz": Num(default=DEFAULT_LIMITS.max_frequency_hz, min=0.0, max=1e12),
    },
    default=dict,
)

MAGNET = Map(
    {
        "oe_per_a": Num(default=250.0, min=1e-3, max=1e6),
        "tolerance_oe": Num(default=1.0, min=0.001, max=1000.0),
        "max_step_oe": Num(default=50.0, min=0.01, max=1e5),
        "ramp_rate_oe_per_s": Num(default=500.0, min=0.01, max=1e6),
        "settle_s": Num(default=0.2, min=0.0, max=600.0),
        "rotation": Str(default="operator", choices=("operator", "none")),
    },
    default=dict,
)

PATH = OneOf(
    (
        Map({"touchstone": Str(), "z0_ohm": Num(default=50.0, min=1.0, max=1e4)}),
        Map(
            {
                "loss_db_0": Num(default=2.0, min=-10.0, max=200.0),
                "loss_db_per_ghz": Num(default=0.5, min=-10.0, max=100.0),
                "z0_ohm": Num(default=50.0, min=1.0, max=1e4),
            }
        ),
    ),
    default=dict,
    what="a path model (loss_db_0, loss_db_per_ghz, z0_ohm) or a touchstone file",
)

STATION = Map(
    {
        "name": Str(default="bench"),
        "instruments": Map({role: _instrument_schema(role) for role in ROLES}),
        "magnet": MAGNET,
        "path": PATH,
        "limits": LIMITS,
        "simulation_only": Bool(default=False),
    }
)


def validate_station(data, path: str = "station") -> dict:
    """Validate a station mapping; returns it with defaults filled. Raises ConfigError."""
    out = STATION.check(path, data)
    lim = out["limits"]
    if lim["min_frequency_hz"] >= lim["max_frequency_hz"]:
        raise ConfigError(f"{path}.limits.min_frequency_hz: must be below max_frequency_hz")
    if lim["compliance_v"] < lim["max_bias_voltage_v"]:
        raise ConfigError(f"{path}.limits.compliance_v: must be at least max_bias_voltage_v")
    addresses = [inst["address"] for inst in out["instruments"].values()]
    if len(set(addresses)) != len(addresses):
        raise ConfigError(f"{path}.instruments: two roles share one address")
    return out


def load_yaml(path: str | Path, what: str = "file") -> dict:
    """Read a YAML mapping with a one-line error for missing files and bad YAML."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} {path_text(p)}: no such file")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{what} {p}:{where}: malformed YAML ({problem})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {p}: not a text file") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {p}: expected a mapping at the top level")
    return data


def station_digest(station: dict) -> str:
    """SHA-256 of a validated station (defaults filled, key order and YAML layout ignored)."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(station, sort_keys=True, default=str).encode()).hexdigest()


def station_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``key: old -> new`` for every setting that differs between two validated stations."""
    out = []
    for k in sorted(set(old) | set(new), key=str):
        path = f"{prefix}{k}"
        a, b = old.get(k, "(none)"), new.get(k, "(none)")
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(station_changes(a, b, path + "."))
        elif a != b:
            out.append(f"{path}: {a} -> {b}")
    return out


def model_descriptions() -> dict[str, list[tuple[str, str]]]:
    """role -> [(model key, the driver's one-line description)] for every supported model."""
    out = {}
    for role, models in ROLES.items():
        out[role] = []
        for model in models:
            doc = (driver_class(model).__doc__ or "").strip().splitlines()
            out[role].append((model, doc[0].rstrip(".") if doc else ""))
    return out


def station_template() -> str:
    """A commented station file with every key at its default (from the schema, so it stays in
    step with it): the packaged example's instruments, each role's other models in a comment."""
    from importlib import resources

    example = yaml.safe_load(resources.files("stfmr_lab.examples").joinpath("station.yaml").read_text())
    lines = [
        "# stfmr-lab station file (from `stfmr-lab station-template`). Set each instrument's model and",
        "# VISA address (`stfmr-lab models` lists the models), then `stfmr-lab check THIS_FILE`.",
        "# Every other key shows its default: delete the ones you do not change.",
        f"name: {example['name']}",
        "instruments:",
    ]
    for role, models in ROLES.items():
        inst = example["instruments"][role]
        others = [m for m in models if m != inst["model"]]
        also = f"   # also: {', '.join(others)}" if others else ""
        lines.append(f'  {role}: {{model: {inst["model"]}, address: "{inst["address"]}", timeout_ms: 3000}}{also}')
    for section in ("magnet", "path", "limits"):
        spec = STATION.fields[section]
        if isinstance(spec, OneOf):  # the path: the two-number loss model (or a touchstone file)
            lines.append(f"{section}:   # or {{touchstone: FILE.s2p, z0_ohm: 50}}: a measured S21 of the path")
            spec = spec.options[1]
        else:
            lines.append(f"{section}:")
        for key, field_spec in spec.fields.items():
            note = [field_spec.doc] if getattr(field_spec, "doc", "") else []
            if getattr(field_spec, "choices", None):
                note.append("one of " + ", ".join(field_spec.choices))
            elif getattr(field_spec, "min", None) is not None:
                note.append(f"{field_spec.min:g} to {field_spec.max:g}")
            value = yaml.safe_dump(field_spec.default, default_flow_style=True).strip().removesuffix("...").strip()
            lines.append(f"  {key}: {value}" + (f"   # {'; '.join(note)}" if note else ""))
    lines.append("simulation_only: false")
    return "\n".join(lines) + "\n"


def load_station(path: str | Path) -> dict:
    """Read and validate a station file."""
    return validate_station(load_yaml(path, "station file"))


def driver_class(model: str):
    module, cls = MODELS[model]
    return getattr(importlib.import_module(module), cls)


@dataclass
class Station:
    """Open instruments by role, the field controller, the path, the limits and the clock."""

    config: dict
    instruments: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    #: role -> error-queue entries found (and cleared) when the instrument was opened: left
    #: from before, or "'command' -> error" for an opening command it refused
    cleared_errors: dict = field(default_factory=dict)
    bench: object = None  # the SimBench when simulated
    clock: object = None
    field: object = None
    path: object = None

    @property
    def simulated(self) -> bool:
        return self.bench is not None

    def __getitem__(self, role):
        return self.instruments[role]

    def close(self) -> None:
        for inst in self.instruments.values():
            try:
                inst.close()
            except Exception as e:  # never raise on an exit path
                log.warning("close failed: %s", e)
        if self.bench is not None:
            self.bench.close()

    def identify(self) -> dict[str, str]:
        """role -> identification, or the one-line reason it does not answer."""
        out = {}
        for role in ROLES:
            if role in self.instruments:
                try:
                    out[role] = self.instruments[role].identify()
                except Exception as e:
                    out[role] = f"NO ANSWER: {error_line(e)}"
            else:
                out[role] = f"NOT OPEN: {self.errors.get(role, 'unknown')}"
        return out

    def snapshot(self) -> dict[str, dict]:
        """role -> settings snapshot (errors recorded, never raised)."""
        out = {}
        for role, inst in self.instruments.items():
            try:
                out[role] = inst.snapshot()
            except Exception as e:
                out[role] = {"error": error_line(e)}
        return out


def open_station(
    config: dict,
    *,
    sim: bool = False,
    device: dict | None = None,
    simulation: dict | None = None,
    strict: bool = True,
    confirm_axis=None,
) -> Station:
    """Open every instrument of a validated station config.

    ``sim``: serve the addresses from a ``SimBench`` built from ``device`` (DeviceModel
    keys) and ``simulation`` (noise, seed, realtime, faults, magnet remanence).
    ``strict``: raise ``ConnectionError`` naming every instrument that does not answer
    (after closing the others); otherwise record them in ``Station.errors``.
    ``confirm_axis(axis) -> bool``: asks the operator to turn the magnet (no rotation stage).
    """
    from pymeasure.adapters import VISAAdapter

    from stfmr_lab.instruments.base import checked_commands
    from stfmr_lab.instruments.field import FieldController, FieldSettings
    from stfmr_lab.instruments.path import BiasTeePath
    from stfmr_lab.sim.clock import RealClock

    station = Station(config=config)
    visa_library = ""
    if sim:
        from stfmr_lab.sim.bench import build_bench

        station.bench = build_bench(config, device or {}, simulation or {})
        visa_library = station.bench.library
        station.clock = station.bench.clock
    else:
        station.clock = RealClock()

    for role, inst_cfg in config["instruments"].items():
        model = inst_cfg["model"]
        cls = driver_class(model)
        if inst_cfg["address"].upper().startswith("ASRL"):
            wt, rt = SERIAL_TERMINATIONS.get(model, TERMINATIONS.get(model, ("\n", "\n")))
        else:
            wt, rt = TERMINATIONS.get(model, ("\n", "\n"))
        try:
            adapter = VISAAdapter(
                inst_cfg["address"],
                visa_library=visa_library,
                write_termination=wt,
                read_termination=rt,
                timeout=inst_cfg["timeout_ms"],
            )
            inst = cls(adapter)
            # the model's first words (SR830 OUTX) and its usability checks; the queue is read
            # after each command: what it holds then was left from before, or is the refusal
            with checked_commands(inst, refuse=False) as opening:
                inst.connect()
            stale = [f"{c!r} -> {'; '.join(e)}" for c, e in opening if e] + inst.check_errors()
            if stale:
                station.cleared_errors[role] = stale
                log.warning("%s: cleared errors found when opening: %s", role, "; ".join(stale))
            inst.check_model(inst.identify())  # raises on no answer, an empty one or another model
            station.instruments[role] = inst
        except Exception as e:
            station.errors[role] = error_line(e)
    if station.errors and strict:
        station.close()
        raise ConnectionError(
            "; ".join(f"{role} ({config['instruments'][role]['address']}): {msg}" for role, msg in station.errors.items())
        )

    mag = config["magnet"]
    if "magnet_supply" in station.instruments and "gaussmeter" in station.instruments:
        confirm = confirm_axis
        if station.bench is not None and station.bench.operator:
            bench = station.bench

            def confirm(axis, _bench=bench):  # the simulated operator turns the magnet
                _bench.set_axis(axis)
                return True

        elif station.bench is not None and confirm_axis is not None:
            bench, ask = station.bench, confirm_axis

            def confirm(axis, _bench=bench, _ask=ask):  # a person confirms; the simulated magnet turns
                if not _ask(axis):
                    return False
                _bench.set_axis(axis)
                return True

        station.field = FieldController(
            station.instruments["magnet_supply"],
            station.instruments["gaussmeter"],
            station.clock,
            FieldSettings(
                oe_per_a=mag["oe_per_a"],
                tolerance_oe=mag["tolerance_oe"],
                max_step_oe=mag["max_step_oe"],
                ramp_rate_oe_per_s=mag["ramp_rate_oe_per_s"],
                settle_s=mag["settle_s"],
            ),
            confirm_axis=confirm,
        )
    station.path = BiasTeePath.from_config(config["path"])
    return station
