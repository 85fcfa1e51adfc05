"""The simulated bench: pyvisa-sim twins of every instrument, coupled to ``DeviceModel``.

The station opens real drivers on real pyvisa sessions; only the VISA library differs.
The bench owns the virtual clock, the random generator, the magnet's physics (coil
constant, remanence, the easy-axis hysteresis of the free layer), the field axis, and the
fault list. Twins ask it for the state of the others when they compute a reply.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pyvisa
import yaml
from pyvisa.rname import to_canonical_name
from pyvisa_sim.component import NoResponse

from stfmr_lab.bilayer import BilayerModel
from stfmr_lab.physics import LOCKIN_RMS_FACTOR, DeviceModel
from stfmr_lab.sim.clock import VirtualClock
from stfmr_lab.sim.faults import KINDS, Fault
from stfmr_lab.sim.library import CoupledSimLibrary
from stfmr_lab.sim.realism import NAMES as REALISM_NAMES
from stfmr_lab.sim.realism import PRESETS, RANGES, Imperfections, Realism, realism_from_config
from stfmr_lab.sim.twins import TWINS, LockinTwin, Twin

log = logging.getLogger(__name__)

SIM_CONFIG_PACKAGE = "stfmr_lab.sim_configs"


def sim_config_path(name: str) -> str:
    """Absolute path of a file in ``sim_configs/`` (installed as package data)."""
    return str(resources.files(SIM_CONFIG_PACKAGE).joinpath(name))


@dataclass
class MagnetPhysics:
    """The simulated electromagnet: H = oe_per_a * I + remanence (Oe)."""

    oe_per_a: float = 250.0
    remanence_oe: float = 3.0


class SimBench:
    """A simulated ST-FMR bench.

    ``wiring`` maps each role to ``(model, address)``, as the station file says; the bench
    serves each model's pyvisa-sim definition at that address. The device is the MTJ
    (``DeviceModel``) or the heavy-metal / ferromagnet strip (``BilayerModel``: field sweeps
    at both polarities, DC current through the strip, AMR read back by the source-meter).
    """

    def __init__(
        self,
        wiring: dict[str, tuple[str, str]],
        model: DeviceModel | BilayerModel | None = None,
        *,
        noise: bool = True,
        seed: int = 0,
        realtime: bool = False,
        speedup: float = 1.0,
        magnet: MagnetPhysics | None = None,
        query_latency_s: float = 0.005,
        faults: list[Fault] | None = None,
        axis: str = "hard",
        realism: Realism | None = None,
    ):
        self.model = model or DeviceModel.preset("paper")
        self.bilayer = isinstance(self.model, BilayerModel)
        self.noise = bool(noise)
        self.seed = int(seed)
        self.rng = np.random.default_rng(seed)
        self.realism = realism or PRESETS["clean"]
        #: the true RF path: the model's, with the realism's standing-wave ripple
        self.path = self.realism.path(self.model)
        # drawn from the bench's generator only when one is switched on (clean runs unchanged)
        self.imperfections = Imperfections(self.realism, self.rng)
        self.clock = VirtualClock(realtime=realtime, speedup=speedup)
        self.magnet = magnet or MagnetPhysics()
        self.query_latency_s = float(query_latency_s)
        self.axis = axis
        self.easy_state = 1  # free layer +y (parallel) to start with
        self.faults: list[Fault] = list(faults or [])
        self._spectrum_key = None
        self._spectrum = None
        self.operator = True  # a simulated operator turns the magnet when asked
        self._queries: dict[str, int] = {}
        self._gone: set[str] = set()
        self._drop: dict[str, int] = {}

        self._dir = tempfile.mkdtemp(prefix="stfmr-sim-")
        self._yaml = os.path.join(self._dir, "bench.yaml")
        self._write_wiring(wiring)
        self.library = CoupledSimLibrary.open_fresh(self._yaml)
        devices = self.library.couple(self)
        self.twins: dict[str, Twin] = {}
        self._by_resource: dict[str, Twin] = {}
        self._computed: dict[str, dict] = {}
        for role, (model_key, address) in wiring.items():
            resource = to_canonical_name(address)
            twin = TWINS[model_key](self, devices[resource])
            self.twins[role] = twin
            self._by_resource[resource] = twin
            self._computed[resource] = twin.computed()
        self._resource_of = {role: to_canonical_name(addr) for role, (_, addr) in wiring.items()}

    # ------------------------------------------------------------------ wiring
    def _write_wiring(self, wiring):
        resources_ = {}
        for role, (model_key, address) in wiring.items():
            if model_key not in TWINS:
                raise ValueError(f"{role}: no simulated twin for model {model_key!r} (known: {', '.join(TWINS)})")
            resource = to_canonical_name(address)
            if resource in resources_:
                raise ValueError(f"{role}: address {address} is used twice")
            resources_[resource] = {"device": model_key, "filename": sim_config_path(f"{model_key}.yaml")}
        with open(self._yaml, "w", encoding="utf-8") as fh:
            yaml.safe_dump({"spec": "1.1", "resources": resources_}, fh)

    def resource_manager(self) -> pyvisa.ResourceManager:
        return self.library.open_resource_manager()

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    # ------------------------------------------------------------------ faults
    def inject(self, role: str, kind: str, at: int = 1, count: int = 1, **kw) -> Fault:
        """Add a fault on ``role``'s instrument, counted from its next query (``at`` = 1)."""
        if role not in self._resource_of:
            raise ValueError(f"fault: no instrument in role {role!r}")
        fault = Fault(role, kind, self._queries.get(self._resource_of[role], 0) + at, count, **kw)
        self.faults.append(fault)
        return fault

    def query_count(self, role: str) -> int:
        """Queries the instrument of ``role`` has answered (or been asked) so far."""
        return self._queries.get(self._resource_of[role], 0)

    def is_gone(self, resource: str) -> bool:
        return resource in self._gone

    def revive(self, role: str) -> None:
        """Undo a ``vanish`` (the instrument is back, e.g. after a power cycle)."""
        resource = self._resource_of[role]
        self._gone.discard(resource)
        self.faults = [f for f in self.faults if not (f.role == role and f.kind == "vanish")]

    def _apply_faults(self, resource: str, n: int, twin: Twin):
        """Return NoResponse (drop), garbage bytes, or False (answer normally)."""
        drop = False
        for f in self.faults:
            if self._resource_of.get(f.role) != resource:
                continue
            if f.kind == "vanish" and n >= f.at:
                self._gone.add(resource)
                drop = True
            elif f.kind == "timeout" and f.at <= n < f.at + f.count:
                drop = True
            elif f.kind == "error" and n == f.at:
                twin.push_error(f.message)
            elif f.kind == "overload" and n == f.at and isinstance(twin, LockinTwin):
                twin.forced_overload += f.count
            elif f.kind == "garbage" and f.at <= n < f.at + f.count:
                return b"#\x7f3.1e-@@,,"
        return NoResponse if drop else False

    def _refused(self, resource: str, command: bytes) -> bool:
        """Is ``command`` refused by a ``refuse`` fault on this instrument?"""
        for f in self.faults:
            if f.kind == "refuse" and self._resource_of.get(f.role) == resource:
                if command.decode(errors="replace").startswith(f.command):
                    return True
        return False

    def set_front_panel(self, role: str, settings: dict) -> None:
        """Settings made at the instrument (YAML property -> value) before the software opens it."""
        twin = self.twins[role]
        for name, value in settings.items():
            if name not in twin.device._properties:
                raise ValueError(
                    f"simulation.front_panel.{role}: {name!r} is not a setting of the twin "
                    f"(known: {', '.join(sorted(twin.device._properties))})"
                )
            twin.device.set_prop(name, value)

    # ------------------------------------------------------------------ message hooks
    def before_message(self, resource: str, query: bytes):
        """Called by the device for each message; returns a reply to use, or None."""
        twin = self._by_resource[resource]
        if resource in self._gone:
            return NoResponse
        self.clock.advance(self.query_latency_s)
        if b"?" in query:
            n = self._queries.get(resource, 0) + 1
            self._queries[resource] = n
            fault = self._apply_faults(resource, n, twin)
            if fault is not False:
                return fault
            fn = self._computed[resource].get(query)
            if fn is not None:
                self.clock.advance(twin.query_cost_s.get(query, 0.0))
                reply = fn()
            else:
                reply = twin.answer(query)
            if reply is None or reply is NoResponse:
                return reply
            return twin.unsolicited() + reply.encode()  # what it sent unasked comes first
        if self._refused(resource, query):
            twin.refuse_command()
            return NoResponse
        if twin.command(query):  # carried out by the twin: its own state (a trigger, a buffer), not the signal
            return NoResponse
        # a command: the signal at the lock-in may change; restart its settling
        lockin = self.twins.get("lockin")
        if isinstance(lockin, LockinTwin):
            lockin.state_changing()
        return None

    def after_message(self, resource: str, query: bytes, response) -> None:
        twin = self._by_resource[resource]
        if twin.role in ("magnet_supply",) and b"?" not in query:
            self._update_easy_state()

    # ------------------------------------------------------------------ physics of the bench
    def field_oe(self) -> float:
        """Field at the sample (Oe) from the magnet supply's current."""
        supply = self.twins.get("magnet_supply")
        i = supply.current_a if supply is not None else 0.0
        h = self.magnet.oe_per_a * i
        # the remanent offset follows the sign of the last large excursion (pole-piece
        # magnetisation), so near zero it is a steady offset the closed loop must null
        if abs(h) > 100.0:
            self._rem_sign = math.copysign(1.0, h)
        jitter = self.imperfections.jitter_oe(self.clock.now()) if self.noise else 0.0
        return h + getattr(self, "_rem_sign", 1.0) * self.magnet.remanence_oe + jitter

    def _update_easy_state(self) -> None:
        if self.axis == "easy" and not self.bilayer:
            self.easy_state = int(self.model.easy_axis_state(self.field_oe(), self.easy_state))

    def set_axis(self, axis: str) -> None:
        """Turn the magnet (rotation stage or the operator): 'hard' (z) or 'easy' (y)."""
        if axis not in ("hard", "easy"):
            raise ValueError(f"axis: {axis!r} is not 'hard' or 'easy'")
        lockin = self.twins.get("lockin")
        if isinstance(lockin, LockinTwin):
            lockin.state_changing()
        self.axis = axis
        self._update_easy_state()

    def theta(self) -> float:
        """Angle between free and fixed layer (rad) in the present field and axis."""
        if self.axis == "easy":
            return float(self.model.easy_axis_theta(self.easy_state))
        return float(self.model.theta(self.field_oe()))

    def device_bias(self) -> tuple[float, float]:
        """(V, I) at the junction: the set current, unless the compliance clamps it."""
        dc = self.twins.get("dc")
        if dc is None:
            return 0.0, 0.0
        i = dc.current_set_a
        comp = abs(dc.compliance_v)
        if self.bilayer:  # an ohmic strip: R(phi) I, clamped at the compliance
            r = float(self.model.resistance_ohm(self.field_oe()))
            v = r * i
            if abs(v) > comp:
                v = math.copysign(comp, v)
                i = v / r
            return v, i
        th = self.theta()
        v = float(self.model.voltage(th, i))
        if abs(v) > comp:
            v = math.copysign(comp, v)
            i = float(self.model.current(th, v))
        return v, i

    def reference_locked(self, lockin: LockinTwin) -> bool:
        """Is the lock-in locked to the chop? (source modulated, and frequencies agree)."""
        src = self.twins.get("source")
        if src is None or not src.chopped:
            return lockin.internal_reference  # external reference with no chop to lock to: unlocked
        if lockin.internal_reference:
            if src.chop_external:
                return True  # the lock-in's TTL drives the source's modulation
            return abs(src.chop_frequency_hz - lockin.reference_frequency_hz) < 1e-3
        return True  # external reference: the source's sync output drives the lock-in

    def vmix_now(self) -> float:
        """Noise-free Vmix (V) at the present state of every twin."""
        src = self.twins.get("source")
        if src is None or not src.rf_on:
            return 0.0
        v, i = self.device_bias()
        f = src.frequency_hz
        p = src.power_dbm
        m = self.model
        h = self.field_oe()
        if self.bilayer:
            try:
                return float(m.vmix(h, f, i, p, path=self.path))
            except ValueError:  # past the critical current: no steady precession to model
                return float(m.bg_ohm_per_a * self.path.i_rf(f, p, m.resistance_ohm()) ** 2)
        if self.axis == "hard" and abs(h) > m.hk_oe:
            key = (h, i)
            if self._spectrum_key != key:  # field and bias change rarely; frequency every point
                try:
                    self._spectrum = m.spectrum(h, i, path=self.path)
                except ValueError:  # past the critical current: no steady precession to model
                    self._spectrum = None
                self._spectrum_key = key
            if self._spectrum is not None:
                r = self.realism
                shift = r.f0_shift_hz(v)
                out = float(self._spectrum(f, p, shift))
                if r.second_mode_rel:
                    out += r.second_mode_rel * float(self._spectrum.resonant(f, p, shift - r.second_mode_offset_hz))
                return out
        return float(m.background(f, self.theta(), i, p, path=self.path))

    def lockin_signal_x(self, lockin: LockinTwin) -> float:
        """The lock-in's X for the chopped Vmix (RMS of the fundamental)."""
        src = self.twins.get("source")
        if src is None or not src.chopped:
            return 0.0
        return LOCKIN_RMS_FACTOR * self.vmix_now()

    def lockin_extra_xy(self, lockin: LockinTwin, x: float, y: float) -> tuple[float, float]:
        """A reading's (X, Y) with the bench's imperfections: drift and spikes of Vmix, the
        phase offset, 1/f noise (``realism``; the random ones only with ``noise`` on)."""
        imp = self.imperfections
        if self.noise:
            now = self.clock.now()
            x += LOCKIN_RMS_FACTOR * (imp.drift_v(now) + imp.spike_v())
        x, y = imp.rotate(x, y)
        if self.noise and self.realism.flicker_rel:
            x += imp.flicker_v(self.clock.now(), self.model.lockin_noise_v(lockin.time_constant_s, lockin.slope_db_oct))
        return x, y

    def truth(self) -> dict:
        """Every virtual-device parameter (the truth a simulated run records), a bilayer's
        with ``device_type = "bilayer"``, and the realism's imperfections (``realism_<name>``)
        when any is switched on."""
        out = self.model.params()
        if self.bilayer:
            out["device_type"] = "bilayer"
        if self.realism.active:
            out.update({f"realism_{k}": v for k, v in dataclasses.asdict(self.realism).items()})
        return out


# ---------------------------------------------------------------------- from config
def _device_schema():
    from stfmr_lab.physics import PARAMETERS
    from stfmr_lab.schema import Map, Num, Str, optional

    fields = {
        name: Num(min=lo, max=hi, doc=doc) for name, (lo, hi, _lo_open, _hi_open, doc) in PARAMETERS.items()
    }
    fields["preset"] = Str(choices=("paper",))
    fields["touchstone"] = Str(doc="S21 table of the simulated path (.s2p)")
    return Map({k: optional(v) for k, v in fields.items()}, default=dict)


def simulation_schema():
    from stfmr_lab.schema import Bool, Map, Num, Str

    fault = Map(
        {
            "instrument": Str(choices=("source", "dc", "lockin", "magnet_supply", "gaussmeter")),
            "kind": Str(choices=KINDS),
            "at": Num(default=1, min=1, max=1e9, integer=True),
            "count": Num(default=1, min=1, max=1e9, integer=True),
            "command": Str(default="", doc="refuse: the header the instrument refuses"),
        }
    )

    class RoleMap:
        """role -> a value checked by ``spec`` (``front_panel``, ``wired_models``)."""

        default = dict

        def __init__(self, spec, what):
            self.spec, self.what = spec, what

        def check(self, path, value):
            from stfmr_lab.schema import ConfigError
            from stfmr_lab.station import ROLES

            if not isinstance(value, dict):
                raise ConfigError(f"{path}: expected a mapping role -> {self.what}")
            for role in value:
                if role not in ROLES:
                    raise ConfigError(f"{path}.{role}: not a role ({', '.join(ROLES)})")
            return {role: self.spec(f"{path}.{role}", v) for role, v in value.items()}

    def settings(path, value):
        from stfmr_lab.schema import ConfigError

        if not isinstance(value, dict) or not all(isinstance(v, (str, int, float)) for v in value.values()):
            raise ConfigError(f"{path}: expected a mapping setting -> value")
        return dict(value)

    def model_key(path, value):
        from stfmr_lab.schema import ConfigError
        from stfmr_lab.sim.twins import TWINS

        if value not in TWINS:
            raise ConfigError(f"{path}: {value!r} is not one of {', '.join(TWINS)}")
        return value

    class FaultList:
        default = list

        def check(self, path, value):
            from stfmr_lab.schema import ConfigError

            if not isinstance(value, list):
                raise ConfigError(f"{path}: expected a list of faults")
            return [fault.check(f"{path}[{k}]", v) for k, v in enumerate(value)]

    return Map(
        {
            "noise": Bool(default=True),
            "seed": Num(default=0, min=0, max=2**63 - 1, integer=True),
            "realtime": Bool(default=False),
            "speedup": Num(default=1.0, min=0.01, max=1e6, doc="realtime only: bench seconds per wall second"),
            "operator": Bool(default=True, doc="a simulated operator turns the magnet when asked"),
            "coil_error": Num(default=0.01, min=-0.5, max=0.5, doc="true coil constant / station's - 1"),
            "remanence_oe": Num(default=3.0, min=-100.0, max=100.0),
            "query_latency_s": Num(default=0.005, min=0.0, max=10.0),
            "faults": FaultList(),
            "front_panel": RoleMap(settings, "{twin setting: value} made at the instrument before it is opened"),
            "wired_models": RoleMap(model_key, "the model actually at the address, when the station file is wrong"),
            "realism": Str(default="clean", choices=tuple(PRESETS), doc="imperfections of a real bench (README)"),
            **{name: Num(min=RANGES[name][0], max=RANGES[name][1], default=None) for name in REALISM_NAMES},
        },
        default=dict,
    )


DEVICE_SCHEMA = None


def _bilayer_schema():
    from stfmr_lab.bilayer import PARAMETERS
    from stfmr_lab.schema import Map, Num, Str, optional

    fields = {name: Num(min=lo, max=hi, doc=doc) for name, (lo, hi, _lo_open, _hi_open, doc) in PARAMETERS.items()}
    fields["preset"] = Str(choices=("py_pt",))
    fields["type"] = Str(choices=DEVICE_TYPES)
    return Map({k: optional(v) for k, v in fields.items()}, default=dict)


DEVICE_TYPES = ("mtj", "bilayer")


def device_model_from_config(device: dict) -> DeviceModel | BilayerModel:
    """The virtual device of a config's ``device:`` mapping: ``type: mtj`` (default; keys left
    out take the paper preset) or ``type: bilayer`` (keys left out take the py_pt preset)."""
    from stfmr_lab.schema import ConfigError

    device = device or {}
    kind = device.get("type", "mtj")
    if kind not in DEVICE_TYPES:
        raise ConfigError(f"device.type: {kind!r} is not one of {', '.join(DEVICE_TYPES)}")
    if kind == "bilayer":
        checked = _bilayer_schema().check("device", device)
        params = {k: v for k, v in checked.items() if v is not None and k not in ("preset", "type")}
        try:
            return BilayerModel.preset(checked.get("preset") or "py_pt", **params)
        except ValueError as e:
            raise ConfigError(f"device.{e}") from None
    device = {k: v for k, v in device.items() if k != "type"}

    global DEVICE_SCHEMA
    if DEVICE_SCHEMA is None:
        DEVICE_SCHEMA = _device_schema()
    checked = DEVICE_SCHEMA.check("device", device or {})
    params = {k: v for k, v in checked.items() if v is not None and k not in ("preset", "touchstone")}
    if checked.get("touchstone"):
        from stfmr_lab.instruments.path import BiasTeePath

        try:
            table = BiasTeePath.from_touchstone(checked["touchstone"])
        except ValueError as e:
            raise ConfigError(f"device.touchstone: {e}") from None
        params["s21_freq_hz"] = table.table_freq_hz
        params["s21_loss_db"] = table.table_loss_db
    try:
        return DeviceModel.preset(checked.get("preset") or "paper", **params)
    except ValueError as e:
        raise ConfigError(f"device.{e}") from None


def build_bench(station_config: dict, device: dict, simulation: dict) -> SimBench:
    """A SimBench for a validated station config and the run config's device/simulation."""
    from stfmr_lab.schema import ConfigError

    model = device_model_from_config(device)
    sim = simulation_schema().check("simulation", simulation or {})
    wiring = {
        role: (sim["wired_models"].get(role, inst["model"]), inst["address"])
        for role, inst in station_config["instruments"].items()
    }
    faults = [Fault(f["instrument"], f["kind"], f["at"], f["count"], command=f["command"]) for f in sim["faults"]]
    magnet = MagnetPhysics(
        oe_per_a=station_config["magnet"]["oe_per_a"] * (1.0 + sim["coil_error"]),
        remanence_oe=sim["remanence_oe"],
    )
    bench = SimBench(
        wiring,
        model,
        noise=sim["noise"],
        seed=sim["seed"],
        realtime=sim["realtime"],
        speedup=sim["speedup"],
        magnet=magnet,
        query_latency_s=sim["query_latency_s"],
        faults=faults,
        realism=realism_from_config(sim),
    )
    bench.operator = sim["operator"]
    try:
        for role, settings in sim["front_panel"].items():
            if role in bench.twins:
                bench.set_front_panel(role, settings)
    except ValueError as e:
        bench.close()
        raise ConfigError(str(e)) from None
    return bench
