"""The station: a station file -> the instruments by role, real or simulated.

A station file (YAML) names, per role, the instrument model and its VISA address, plus the
magnet's closed-loop settings, the RF path calibration and the safety limits. ``--sim``
keeps the file as it is and serves every address from the model's pyvisa-sim twin on a
``SimBench``: the same drivers, the same bytes.
"""

from __future__ import annotations

import importlib
import logging
import re
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


#: serial-line settings per model on an ASRL address: the manual's values. Lake Shore's
#: gaussmeters send 1 start bit, 7 data bits, 1 odd parity bit and 1 stop bit, CR LF
#: terminated, at 300, 1200 or 9600 baud (the "Serial Interface" sections of the Model 421 and
#: 460 manuals; the 455 and 475 DSP manuals' pages were not reachable here), and published 455/475
#: serial set-ups use 9600 baud 7O1 (Atomize's Lakeshore_455_DSP config, pg-monitor's
#: lakeshore475). A bench whose meter is set to another rate says so in the station file's
#: ``serial:`` mapping, which overrides any of these.
SERIAL_LINE: dict[str, dict] = {
    "lakeshore455": {"baud_rate": 9600, "data_bits": 7, "parity": "odd", "stop_bits": 1},
    "lakeshore475": {"baud_rate": 9600, "data_bits": 7, "parity": "odd", "stop_bits": 1},
}
#: a model without manual values here: VISA's own serial defaults (9600 baud, 8 data bits, no parity, 1 stop bit)
SERIAL_LINE_DEFAULT = {"baud_rate": 9600, "data_bits": 8, "parity": "none", "stop_bits": 1}
PARITIES = ("none", "odd", "even", "mark", "space")

SERIAL = Map(
    {
        "baud_rate": Num(default=None, min=50, max=4_000_000, integer=True, doc="bits per second"),
        "data_bits": Num(default=None, min=5, max=8, integer=True),
        "parity": Str(default=None, choices=PARITIES),
        "stop_bits": OneOf(
            (Num(min=1, max=1, integer=True), Num(min=1.5, max=1.5), Num(min=2, max=2, integer=True)),
            default=None,
            what="1, 1.5 or 2 stop bits",
        ),
        "write_termination": Str(default=None, doc=r'appended to every command, e.g. "\r\n"'),
        "read_termination": Str(default=None, doc="ends every reply"),
    },
    default=dict,
    doc="serial-line settings of an ASRL address (each defaults to the model's manual value)",
)

#: station ``visa_library:`` -> what it is, and what to install when it is missing
VISA_BACKENDS = {
    "@ivi": "IVI VISA: NI-VISA or Keysight IO Libraries Suite",
    "@py": "pyvisa-py",
}
VISA_INSTALL = {
    "@ivi": 'install NI-VISA or Keysight IO Libraries Suite, or use pyvisa-py: pip install "stfmr-lab[pyvisa-py]" '
    'and visa_library: "@py" in the station file',
    "@py": 'pip install "stfmr-lab[pyvisa-py]"',
}


def _instrument_schema(role: str) -> Map:
    return Map(
        {
            "model": Str(choices=ROLES[role]),
            "address": Str(),
            "timeout_ms": Num(default=3000, min=50, max=600000, integer=True),
            "serial": SERIAL,
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

#: lock-in models whose triggered data buffer swept sweeps can read (procedures/buffered.py)
BUFFERED_MODELS = ("sr830",)


def uses_buffer(station_config: dict) -> bool:
    """Whether swept sweeps read through the lock-in's data buffer: the station's
    ``swept_readout`` (``auto``: when the lock-in model is one of ``BUFFERED_MODELS``)."""
    choice = station_config.get("swept_readout", "auto")
    model = station_config.get("instruments", {}).get("lockin", {}).get("model")
    return choice == "buffer" or (choice == "auto" and model in BUFFERED_MODELS)


STATION = Map(
    {
        "name": Str(default="bench"),
        "instruments": Map({role: _instrument_schema(role) for role in ROLES}),
        "magnet": MAGNET,
        "path": PATH,
        "limits": LIMITS,
        "simulation_only": Bool(default=False),
        "visa_library": Str(default="@ivi", doc='"@ivi" (NI-VISA/Keysight), "@py" (pyvisa-py) or a VISA library file'),
        "swept_readout": Str(
            default="auto", choices=("auto", "buffer", "snap"),
            doc="how swept sweeps read the lock-in: its triggered data buffer (buffer; SR830), a query "
            "per point (snap), or the buffer where the model has one (auto)",
        ),
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
    for role, inst in out["instruments"].items():
        given = {k: v for k, v in inst.pop("serial", {}).items() if v is not None}
        if is_serial(inst["address"]):
            inst["serial"] = serial_settings(inst["model"], given, f"{path}.instruments.{role}.serial")
        elif given:
            raise ConfigError(
                f"{path}.instruments.{role}.serial: serial settings need a serial (ASRL...) address, not {inst['address']}"
            )
    lockin = out["instruments"].get("lockin")
    if out["swept_readout"] == "buffer" and lockin and lockin["model"] not in BUFFERED_MODELS:
        raise ConfigError(
            f"{path}.swept_readout: buffer needs a lock-in whose triggered data buffer is driven "
            f"({', '.join(BUFFERED_MODELS)}), not {lockin['model']}: use auto or snap"
        )
    lib = out["visa_library"].strip()
    if not lib or (lib.startswith("@") and lib not in VISA_BACKENDS):
        raise ConfigError(f"{path}.visa_library: {lib!r} is not one of {', '.join(VISA_BACKENDS)} or a VISA library file")
    out["visa_library"] = lib
    return out


def is_serial(address: str) -> bool:
    """Whether a VISA address is a serial port (``ASRL...``)."""
    return address.strip().upper().startswith("ASRL")


def _termination(path: str, text: str) -> str:
    r"""A termination as written in the station file: CR/LF characters ("\r\n" in double
    quotes) or the same escapes as plain text ('\r\n' in single quotes)."""
    value = text.replace("\\r", "\r").replace("\\n", "\n")
    if not value or set(value) - {"\r", "\n"}:
        raise ConfigError(rf'{path}: {text!r} is not a termination (use "\r\n", "\n" or "\r")')
    return value


def serial_settings(model: str, given: dict, path: str = "serial") -> dict:
    """An instrument's serial-line settings: the model's manual values, overridden by ``given``."""
    wt, rt = SERIAL_TERMINATIONS.get(model, TERMINATIONS.get(model, ("\n", "\n")))
    out = {**SERIAL_LINE_DEFAULT, **SERIAL_LINE.get(model, {}), "write_termination": wt, "read_termination": rt}
    out.update(given)
    for key in ("write_termination", "read_termination"):
        out[key] = _termination(f"{path}.{key}", out[key])
    return out


def serial_session_kwargs(settings: dict) -> dict:
    """pyvisa ``open_resource`` keywords (VISA attributes) for ``serial_settings``."""
    from pyvisa.constants import Parity, StopBits

    stop = {1: StopBits.one, 1.5: StopBits.one_and_a_half, 2: StopBits.two}[settings["stop_bits"]]
    return {
        "baud_rate": settings["baud_rate"],
        "data_bits": settings["data_bits"],
        "parity": getattr(Parity, settings["parity"]),
        "stop_bits": stop,
        "write_termination": settings["write_termination"],
        "read_termination": settings["read_termination"],
    }


class VisaBackendError(ConnectionError):
    """The station's VISA backend cannot be loaded on this PC (one line: what to install)."""


def open_visa_backend(visa_library: str) -> None:
    """Load the station's VISA backend once, before any instrument is opened.

    Raises ``VisaBackendError``: one line naming the backend and what to install for it,
    instead of the same failure repeated once per instrument.
    """
    import pyvisa

    what = VISA_BACKENDS.get(visa_library, "a VISA library file")
    lib = visa_library
    if not lib.startswith("@"):
        lib = str(Path(lib).expanduser())
        if not Path(lib).is_file():
            raise VisaBackendError(f"VISA backend {visa_library} ({what}): no such file; check visa_library: in the station file")
    try:
        rm = pyvisa.ResourceManager(lib)
    except Exception as e:  # ValueError, OSError, LibraryError: each made one line below
        if visa_library == "@py":
            reason = "pyvisa-py is not installed"
        elif visa_library == "@ivi":
            reason = "no IVI VISA library is installed on this PC"
        else:
            reason = "cannot be loaded (" + (" ".join(str(e).split()) or type(e).__name__) + ")"
        hint = VISA_INSTALL.get(visa_library, "check the path (a 64-bit VISA library for a 64-bit Python)")
        raise VisaBackendError(f"VISA backend {visa_library} ({what}): {reason}; {hint}") from None
    rm.close()


def load_yaml(path: str | Path, what: str = "file") -> dict:
    """Read a YAML mapping with a one-line error for missing files and bad YAML."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} {path_text(p)}: no such file")
    try:
        # UTF-8 whatever the OS's locale (Windows: cp1252); a BOM (Notepad) is dropped; CRLF is fine
        data = yaml.safe_load(p.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{what} {p}:{where}: malformed YAML ({problem})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {p}: not UTF-8 text (save it as UTF-8)") from None
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

    example = yaml.safe_load(resources.files("stfmr_lab.examples").joinpath("station.yaml").read_text(encoding="utf-8"))
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


def open_error_line(e: BaseException, address: str = "") -> str:
    """One line for an instrument that could not be opened or did not answer.

    pyvisa-py's "Please install linux-gpib ... to use this resource type" (several lines)
    becomes "not found: ..." naming what that interface needs.
    """
    from pyvisa import VisaIOError
    from pyvisa.constants import StatusCode

    text = " ".join(str(e).split())
    m = re.search(r"Please install (.+?) to use this resource type", text)
    if m:
        kind = re.match(r"[A-Za-z]*", address.strip()).group(0).upper() or "this kind of"
        return f"not found: pyvisa-py needs {m.group(1)} for {kind} addresses"
    if "could not locate the gpib library" in text:  # gpib-ctypes without linux-gpib / NI-488.2
        return "not found: gpib-ctypes finds no GPIB library (linux-gpib's libgpib; NI-488.2 on Windows)"
    if "PyUSB does not seem to be properly installed" in text:
        return 'not found: pyvisa-py needs libusb for USB addresses (pip install "stfmr-lab[pyvisa-py]")'
    if text.startswith("No device found"):  # pyvisa-py, USB
        return "not found: no USB instrument with this address is connected (or no permission to open it)"
    if isinstance(e, VisaIOError) and e.error_code == StatusCode.error_resource_not_found:
        return "not found: no such instrument on this PC (VI_ERROR_RSRC_NFOUND)"
    if "could not open port" in text:
        return "not found: " + text[text.index("could not open port"):]
    return error_line(e)


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

    if sim:
        from stfmr_lab.sim.bench import build_bench

        station = Station(config=config)
        station.bench = build_bench(config, device or {}, simulation or {})
        visa_library = station.bench.library
        station.clock = station.bench.clock
    else:
        visa_library = config.get("visa_library", "@ivi")
        open_visa_backend(visa_library)  # one line for a missing backend, before any instrument
        if not visa_library.startswith("@"):
            visa_library = str(Path(visa_library).expanduser())
        station = Station(config=config)
        station.clock = RealClock()

    for role, inst_cfg in config["instruments"].items():
        model = inst_cfg["model"]
        cls = driver_class(model)
        if is_serial(inst_cfg["address"]):
            session = serial_session_kwargs(inst_cfg.get("serial") or serial_settings(model, {}))
        else:
            wt, rt = TERMINATIONS.get(model, ("\n", "\n"))
            session = {"write_termination": wt, "read_termination": rt}
        adapter = None
        try:
            adapter = VISAAdapter(inst_cfg["address"], visa_library=visa_library, timeout=inst_cfg["timeout_ms"], **session)
            inst = cls(adapter)
            inst.before_first_query()  # writes only (SR830 OUTX): it answers nothing before them
            # the model at the address first (*IDN?, common to all): a wrong one is named, not
            # left to time out on a query of the model's own (raises on no or an empty answer too)
            inst.check_model(inst.identify())
            # its usability checks; the queue is read after each command: what it holds then was
            # left from before (or by the first words), or is the refusal
            with checked_commands(inst, refuse=False) as opening:
                inst.connect()
            stale = [f"{c!r} -> {'; '.join(e)}" for c, e in opening if e] + inst.check_errors()
            if stale:
                station.cleared_errors[role] = stale
                log.warning("%s: cleared errors found when opening: %s", role, "; ".join(stale))
            station.instruments[role] = inst
        except Exception as e:
            station.errors[role] = open_error_line(e, inst_cfg["address"])
            if adapter is not None:  # a session opened for an instrument that failed its checks (a serial port stays held)
                try:
                    adapter.close()
                except Exception as close_error:
                    log.debug("%s: closing after a failed open: %s", role, close_error)
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
