"""Per-model glue between a pyvisa-sim device and the bench.

A twin reads its device's YAML properties (the state the driver set) in physical units,
and answers the queries the YAML cannot (anything that depends on other instruments).
One class per instrument model, grouped by role; ``TWINS`` maps the station's model keys
to them. Property names are shared by all models of a role (see ``sim_configs/``).
"""

from __future__ import annotations

import math
import re
import struct
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from pyvisa_sim.component import NoResponse

from stfmr_lab.lockin_filter import FilterNoise, poles_for_slope, propagate

if TYPE_CHECKING:  # pragma: no cover
    from stfmr_lab.sim.bench import SimBench
    from stfmr_lab.sim.library import CoupledDevice


class Twin:
    """Base: a device, its role and its computed queries."""

    role = ""
    #: extra virtual seconds a computed query costs (e.g. an integrating measurement)
    query_cost_s: dict[bytes, float] = {}

    def __init__(self, bench: "SimBench", device: "CoupledDevice"):
        self.bench = bench
        self.device = device

    def computed(self) -> dict[bytes, Callable[[], str]]:
        return {}

    def answer(self, query: bytes):
        """The reply (str) to a query with parameters that ``computed`` cannot list (e.g.
        ``TRCA? 1,0,20``), ``NoResponse`` for one the instrument refuses, or None (the
        YAML answers)."""
        return None

    def command(self, command: bytes) -> bool:
        """Carry out a command the YAML cannot (one that acts on the instrument's own state,
        e.g. a trigger or its data buffer, never on the signal the lock-in sees); True when
        done here (no reply), False to leave it to the YAML."""
        return False

    def unsolicited(self) -> bytes:
        """Bytes the instrument has put on the bus unasked (e.g. the SR830's FAST transfers):
        a reply the twin makes comes after them. Default none."""
        return b""

    def push_error(self, message: str) -> None:
        self.device.push_error(message)

    def refuse_command(self) -> None:
        """A command refused as an unknown header: what pyvisa-sim does for one it cannot
        match (-113 in an error queue, bit 5 of a status register)."""
        self.device.error_response("command_error")

    def p(self, name):
        return self.device.prop(name)


# ---------------------------------------------------------------- microwave sources
class SourceTwin(Twin):
    role = "source"

    @property
    def frequency_hz(self) -> float:
        return float(self.p("frequency"))

    @property
    def power_dbm(self) -> float:
        return float(self.p("power"))

    @property
    def rf_on(self) -> bool:
        return int(self.p("output")) == 1

    @property
    def chopped(self) -> bool:
        return int(self.p("chop_state")) == 1 and int(self.p("mod_output")) == 1

    @property
    def chop_external(self) -> bool:
        return str(self.p("chop_source")).upper().startswith("EXT")

    @property
    def chop_frequency_hz(self) -> float:
        return float(self.p("chop_frequency"))


class E8257DTwin(SourceTwin):
    """The PSG: the internal chop needs the pulse generator's square wave (``:PULM:SOUR:INT SQU``)."""

    @property
    def chopped(self) -> bool:
        if not super().chopped:
            return False
        return self.chop_external or str(self.p("chop_waveform")).upper() == "SQU"


class SMB100ATwin(SourceTwin):
    """The SMB100A: the internal chop is a pulse period and width, not a rate.

    ``chop_frequency_hz`` is 1/period; the internal chop runs only as a free-running
    single pulse (``SOUR:PULM:MODE SING``, ``SOUR:PULM:TRIG:MODE AUTO``) with
    0 < width < period, and only while the modulation master switch (``SOUR:MOD:STAT``,
    ``mod_output``) is on.
    """

    @property
    def chop_period_s(self) -> float:
        return float(self.p("chop_period"))

    @property
    def chop_width_s(self) -> float:
        return float(self.p("chop_width"))

    @property
    def chop_frequency_hz(self) -> float:
        period = self.chop_period_s
        return 1.0 / period if period > 0 else 0.0

    @property
    def chop_duty(self) -> float:
        return self.chop_width_s / self.chop_period_s

    @property
    def chopped(self) -> bool:
        if int(self.p("chop_state")) != 1 or int(self.p("mod_output")) != 1:
            return False
        if self.chop_external:
            return True
        return (
            str(self.p("chop_mode")).upper() == "SING"
            and str(self.p("chop_trigger")).upper() == "AUTO"
            and 0.0 < self.chop_width_s < self.chop_period_s
        )


# ---------------------------------------------------------------- DC sources
class DCTwin(Twin):
    role = "dc"
    voltage_noise_v = 2e-6

    @property
    def output_on(self) -> bool:
        return int(self.p("output")) == 1

    @property
    def current_set_a(self) -> float:
        if not self.output_on or str(self.p("function")).upper() != "CURR":
            return 0.0
        return float(self.p("current"))

    @property
    def compliance_v(self) -> float:
        return float(self.p("compliance"))

    def reading(self) -> tuple[float, float]:
        """(V, I) at the device now, with compliance clamping and readback noise."""
        if not self.output_on:
            return 0.0, 0.0
        v, i = self.bench.device_bias()
        if self.bench.noise:
            v += self.bench.rng.normal(0.0, self.voltage_noise_v)
        return v, i


#: what a SCPI instrument sends for a value it did not measure (SCPI-99 vol. 1, "NAN"; the
#: Keithley 2400's :READ? gives it for the resistance when resistance is not measured)
SCPI_NOT_A_NUMBER = 9.91e37


class Keithley2400Twin(DCTwin):
    query_cost_s = {b":READ?": 0.04}

    def computed(self):
        return {b":READ?": self._read, b":MEAS:VOLT?": self._read}

    def _read(self) -> str:
        v, i = self.reading()
        # FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS
        return f"{v:+.6E},{i:+.6E},{SCPI_NOT_A_NUMBER:+.6E},{self.bench.clock.now():+.6E},{0:+.6E}"


class Keithley2450Twin(DCTwin):
    """2450 native SCPI: ``:READ? "defbuffer1", READ, SOUR`` answers the measured voltage
    (READ, sense function VOLT) then the source current (SOUR), in the order asked."""

    READ = b':READ? "defbuffer1", READ, SOUR'
    query_cost_s = {READ: 0.04}

    def computed(self):
        return {self.READ: self._read}

    def _read(self) -> str:
        v, i = self.reading()
        return f"{v:+.6E},{i:+.6E}"


# ---------------------------------------------------------------- lock-ins
class LockinTwin(Twin):
    """The output filter carried through virtual time (``stfmr_lab.lockin_filter``).

    The demodulated signal is piecewise constant: it changes only when a command changes the
    bench. Before each command the filter state is advanced exactly to the present with the
    signal that held since the last change, so stepped and swept acquisitions see the same
    filter. The output noise is the filter's own (correlated between readings closer than its
    memory; independent, as one normal variate each, for readings >= 12 time constants apart).
    """

    role = "lockin"
    SENSITIVITIES: list[float] = []
    TIME_CONSTANTS: list[float] = []
    SLOPES = [6, 12, 18, 24]

    def __init__(self, bench, device):
        super().__init__(bench, device)
        self._t_state = 0.0  # virtual time of self._state
        self._state = np.zeros((2, 1))  # (X, Y) x filter stages; resized to the slope's poles
        self._target: tuple[float, float] | None = None
        self._noise: tuple[FilterNoise, FilterNoise] | None = None
        self._t_noise = 0.0
        self.forced_overload = 0  # queries left with an injected overload

    # physical settings
    @property
    def time_constant_s(self) -> float:
        return self.TIME_CONSTANTS[int(self.p("time_constant"))]

    @property
    def slope_db_oct(self) -> int:
        return self.SLOPES[int(self.p("slope"))]

    @property
    def sensitivity_v(self) -> float:
        return self.SENSITIVITIES[int(self.p("sensitivity"))]

    @property
    def internal_reference(self) -> bool:
        raise NotImplementedError

    @property
    def reference_frequency_hz(self) -> float:
        return float(self.p("ref_frequency"))

    # filter
    def _signal(self) -> tuple[float, float]:
        if self._target is None:
            self._target = (self.bench.lockin_signal_x(self), 0.0)
        return self._target

    def _advance(self, now: float) -> np.ndarray:
        """The filter state at ``now``, driven by the signal held since the last advance."""
        poles = poles_for_slope(self.slope_db_oct)
        if self._state.shape[1] != poles:  # slope changed: the new cascade starts at the output
            self._state = np.repeat(self._state[:, -1:], poles, axis=1)
        x = (now - self._t_state) / self.time_constant_s
        if x > 0:
            self._state = propagate(self._state, self._signal(), x)
            self._t_state = now
        return self._state

    def _filtered(self, now: float) -> tuple[float, float]:
        s = self._advance(now)
        return float(s[0, -1]), float(s[1, -1])

    def state_changing(self) -> None:
        """Called before any command that may change the signal: bring the filter up to now
        with the signal that held until this moment; the next one is computed when needed."""
        self._advance(self.bench.clock.now())
        self._target = None

    def _noise_xy(self, now: float, sd: float) -> tuple[float, float]:
        """The output noise (V) at ``now``: the filter's, correlated with earlier readings."""
        poles = poles_for_slope(self.slope_db_oct)
        if self._noise is None or self._noise[0].poles != poles:
            self._noise = (FilterNoise(poles), FilterNoise(poles))
        x = max(now - self._t_noise, 0.0) / self.time_constant_s
        self._t_noise = now
        rng = self.bench.rng
        return sd * self._noise[0].draw(x, rng), sd * self._noise[1].draw(x, rng)

    def xy(self, at: float | None = None) -> tuple[float, float, bool]:
        """(X, Y, overloaded) as the front panel would show them now (or at the virtual time
        ``at``, not before the last command: the filter only moves forward)."""
        now = self.bench.clock.now() if at is None else at
        x, y = self._filtered(now)
        x, y = self.bench.lockin_extra_xy(self, x, y)
        if self.bench.noise:
            nx, ny = self._noise_xy(now, self.bench.model.lockin_noise_v(self.time_constant_s, self.slope_db_oct))
            x += nx
            y += ny
        if not self.bench.reference_locked(self):
            # unlocked: the output wanders at the noise level only
            x, y = (self.bench.rng.normal(0.0, 1e-9), self.bench.rng.normal(0.0, 1e-9)) if self.bench.noise else (0.0, 0.0)
        sens = self.sensitivity_v
        over = math.hypot(x, y) > sens
        if self.forced_overload > 0:
            self.forced_overload -= 1
            over = True
        if over:
            lim = 1.09 * sens
            x, y = float(np.clip(x, -lim, lim)), float(np.clip(y, -lim, lim))
        return x, y, over


class SR830Twin(LockinTwin):
    SENSITIVITIES = [
        2e-9, 5e-9, 10e-9, 20e-9, 50e-9, 100e-9, 200e-9, 500e-9, 1e-6, 2e-6, 5e-6, 10e-6, 20e-6, 50e-6,
        100e-6, 200e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 20e-3, 50e-3, 100e-3, 200e-3, 500e-3, 1,
    ]
    TIME_CONSTANTS = [
        10e-6, 30e-6, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3, 30e-3, 100e-3, 300e-3, 1, 3, 10, 30, 100, 300, 1e3, 3e3,
        10e3, 30e3,
    ]

    #: data buffer (manual rev. 2.5, pp. 5-14 to 5-17): 16383 points a display; SRAT 0-13 are
    #: 62.5 mHz * 2**i, 14 is one point per trigger; triggers faster than 512 Hz are ignored.
    #: A triggered point is stored "within 2 ms", on the lock-in's next 512 Hz tick: SPTS? and
    #: TRCA? see it from that tick on (``store_on_tick``). FAST 1/2 (fast transfer) sends X and
    #: Y of every stored point over the bus unasked (two 16-bit integers, +-30000 = full scale):
    #: the twin puts those 4 bytes in front of the next reply it makes.
    BUFFER_POINTS = 16383
    TICK_HZ = 512.0
    SAMPLE_RATES_HZ = tuple(0.0625 * 2**i for i in range(14))
    TRIGGERED = 14
    MIN_TRIGGER_INTERVAL_S = 1.0 / 512
    _TRCA = re.compile(rb"TRCA\? *(\d+) *, *(-?\d+) *, *(-?\d+)$")
    _DDEF = re.compile(rb"DDEF *(\d+) *, *(\d+) *, *(\d+)$")
    _DDEF_Q = re.compile(rb"DDEF\? *(\d+)$")

    def __init__(self, bench, device):
        super().__init__(bench, device)
        self._last_over = False
        # the data buffer: (CH1, CH2, virtual time it is readable from) per stored point
        self._buffer: deque[tuple[float, float, float]] = deque()
        #: True: a triggered point is readable from the next 512 Hz tick on (the SR830); False:
        #: at once (an idealised twin, for comparing the buffer with SNAP? at the same instants)
        self.store_on_tick = True
        self._unsent = bytearray()  # FAST: stored points' X, Y not yet put on the bus
        self._storing = False
        self._displays = {1: (0, 0), 2: (0, 0)}  # DDEF i -> (quantity j, ratio k)
        self._t_start = 0.0  # fixed rate: the first sample's time ...
        self._n_taken = 0  # ... and the samples taken since
        self._t_trigger = -math.inf

    @property
    def internal_reference(self) -> bool:
        return int(self.p("ref_source")) == 1

    # ---------------------------------------------------------------- data buffer
    @property
    def sample_rate_index(self) -> int:
        return int(self.p("sample_rate"))

    @property
    def loop(self) -> bool:
        return int(self.p("end_of_scan")) == 1

    def _store(self, at: float, readable_at: float | None = None) -> None:
        """One point of each display at virtual time ``at``: the filter's output then;
        readable (SPTS?, TRCA?) from ``readable_at`` (default ``at``) on."""
        if len(self._buffer) >= self.BUFFER_POINTS:
            if not self.loop:
                self._storing = False  # one shot: storage stops when the buffer is full
                return
            self._buffer.popleft()
        x, y, over = LockinTwin.xy(self, at)
        self._last_over = self._last_over or over
        shown = {0: (x, y), 1: (math.hypot(x, y), math.degrees(math.atan2(y, x)))}  # X/Y or R/theta
        ch1 = shown.get(self._displays[1][0], (0.0, 0.0))[0]  # X noise, Aux In: not simulated
        ch2 = shown.get(self._displays[2][0], (0.0, 0.0))[1]
        self._buffer.append((ch1, ch2, at if readable_at is None else readable_at))
        if int(self.p("fast_transfer")):
            full = 30000.0 / self.sensitivity_v
            self._unsent += struct.pack("<hh", *(int(np.clip(round(v * full), -32768, 32767)) for v in (x, y)))

    def _readable(self, now: float) -> int:
        """Points stored by ``now`` (SPTS?): the oldest ones, up to the first not yet readable."""
        n = len(self._buffer)
        while n and self._buffer[n - 1][2] > now:
            n -= 1
        return n

    def unsolicited(self) -> bytes:
        out, self._unsent = bytes(self._unsent), bytearray()
        return out

    def _catch_up(self, now: float) -> None:
        """Store the fixed-rate samples due up to ``now`` (SRAT 0-13, storage on), each with
        the filter's output at its own moment (the signal is constant between commands)."""
        index = self.sample_rate_index
        if not self._storing or index == self.TRIGGERED:
            return
        rate = self.SAMPLE_RATES_HZ[index]
        due = math.floor((now - self._t_start) * rate + 1e-9) + 1
        if self.loop and due - self._n_taken > self.BUFFER_POINTS:
            self._n_taken = due - self.BUFFER_POINTS  # older ones would be overwritten
        while self._n_taken < due and self._storing:
            self._store(self._t_start + self._n_taken / rate)
            self._n_taken += 1

    def state_changing(self) -> None:
        self._catch_up(self.bench.clock.now())  # with the signal that held until now
        super().state_changing()

    def xy(self, at: float | None = None):
        if at is None:
            self._catch_up(self.bench.clock.now())
        return super().xy(at)

    def command(self, command: bytes) -> bool:
        now = self.bench.clock.now()
        self._catch_up(now)
        if command == b"TRIG":
            # stored only in trigger mode, storage on, not faster than 512 Hz (manual, TRIG)
            if self._storing and self.sample_rate_index == self.TRIGGERED and now - self._t_trigger >= self.MIN_TRIGGER_INTERVAL_S:
                self._t_trigger = now
                tick = (math.floor(now * self.TICK_HZ) + 1) / self.TICK_HZ if self.store_on_tick else now
                self._store(now, readable_at=tick)
            return True
        if command == b"STRT":
            if not self._storing:
                self._storing = True
                self._t_start, self._n_taken = now, 0
            return True
        if command == b"PAUS":
            self._storing = False
            return True
        if command == b"REST":
            self._buffer.clear()
            self._storing = False
            self._t_trigger = -math.inf
            return True
        m = self._DDEF.match(command)
        if m:
            i, j, k = (int(g) for g in m.groups())
            if i in (1, 2) and 0 <= j <= 4 and 0 <= k <= 2:
                self._displays[i] = (j, k)
            else:
                self.device.error_response("execution_error")  # a parameter out of range
            return True
        return False

    def answer(self, query: bytes):
        m = self._TRCA.match(query)
        if m:
            i, j, k = (int(g) for g in m.groups())
            self._catch_up(self.bench.clock.now())
            n = self._readable(self.bench.clock.now())
            if i not in (1, 2) or j < 0 or k < 1 or j + k > n:  # the manual: "an error occurs"
                self.device.error_response("execution_error")
                return NoResponse
            pts = list(self._buffer)[j:j + k]
            return "".join(f"{p[i - 1]:+.6e}," for p in pts)
        m = self._DDEF_Q.match(query)
        if m:
            i = int(m.group(1))
            if i not in (1, 2):
                self.device.error_response("execution_error")
                return NoResponse
            return "{},{}".format(*self._displays[i])
        if query.strip() == b"SPTS?":
            self._catch_up(self.bench.clock.now())
            return str(self._readable(self.bench.clock.now()))
        return None

    def computed(self):
        return {
            b"SNAP? 1,2": lambda: self._snap(2),
            b"SNAP? 1,2,3,4": lambda: self._snap(4),
            b"OUTP?1": lambda: f"{self._xy()[0]:.6e}",
            b"OUTP?2": lambda: f"{self._xy()[1]:.6e}",
            b"LIAS?": self._lias,
        }

    def _xy(self):
        x, y, over = self.xy()
        self._last_over = self._last_over or over
        return x, y

    def _snap(self, n: int) -> str:
        x, y = self._xy()
        vals = [x, y, math.hypot(x, y), math.degrees(math.atan2(y, x))][:n]
        return ",".join(f"{v:.6e}" for v in vals)

    def _lias(self) -> str:
        # bit 0 input overload, bit 2 output overload, bit 3 reference unlock; cleared on read
        bits = 0
        if self._last_over or self.forced_overload > 0:
            bits |= 0b101
            self.forced_overload = max(0, self.forced_overload - 1)
        if not self.bench.reference_locked(self):
            bits |= 0b1000
        self._last_over = False
        return str(bits)

    def push_error(self, message: str) -> None:
        """An injected error: the execution-error bit (4) of *ESR?, as an out-of-range parameter."""
        self.device.error_response("execution_error")


class SR860Twin(LockinTwin):
    """SR860: SCAL/OFLT/OFSL/RSRC indices, SNAP? 0,1, CUROVLDSTAT? and *ESR? per its manual."""

    SENSITIVITIES = [
        1, 500e-3, 200e-3, 100e-3, 50e-3, 20e-3, 10e-3, 5e-3, 2e-3, 1e-3, 500e-6, 200e-6, 100e-6, 50e-6, 20e-6,
        10e-6, 5e-6, 2e-6, 1e-6, 500e-9, 200e-9, 100e-9, 50e-9, 20e-9, 10e-9, 5e-9, 2e-9, 1e-9,
    ]
    TIME_CONSTANTS = [
        1e-6, 3e-6, 10e-6, 30e-6, 100e-6, 300e-6, 1e-3, 3e-3, 10e-3, 30e-3, 100e-3, 300e-3, 1, 3, 10, 30, 100, 300,
        1e3, 3e3, 10e3, 30e3,
    ]

    # CUROVLDSTAT? bits (SR860 manual; the same layout as the latched LIAS?)
    CH1_OUTPUT_OVERLOAD = 1 << 0
    CH2_OUTPUT_OVERLOAD = 1 << 1
    EXTERNAL_REFERENCE_UNLOCKED = 1 << 3
    INPUT_RANGE_OVERLOAD = 1 << 4
    ESR_EXECUTION_ERROR = "execution_error"  # *ESR? bit 4, pyvisa-sim status register key

    def __init__(self, bench, device):
        super().__init__(bench, device)
        self._last_over = False

    @property
    def internal_reference(self) -> bool:
        return int(self.p("ref_source")) == 0  # RSRC: 0 internal, 1 external, 2 dual, 3 chop

    def computed(self):
        return {
            b"SNAPD?": self._snapd,
            b"SNAP? 0,1": lambda: self._snap(),
            b"OUTP? 0": lambda: f"{self._xy()[0]:.6e}",
            b"OUTP? 1": lambda: f"{self._xy()[1]:.6e}",
            b"CUROVLDSTAT?": self._ovld,
            b"FREQ?": self._freq,
        }

    def _xy(self):
        x, y, over = self.xy()
        self._last_over = self._last_over or over
        return x, y

    def _snap(self) -> str:
        x, y = self._xy()
        return f"{x:.6e},{y:.6e}"

    def _snapd(self) -> str:
        x, y = self._xy()
        return f"{x:.6e},{y:.6e},{math.hypot(x, y):.6e},{math.degrees(math.atan2(y, x)):.6e}"

    def _freq(self) -> str:
        """FREQ?: the internal frequency, or in external mode the one measured at REF IN."""
        if self.internal_reference:
            return f"{self.reference_frequency_hz:.6e}"
        src = self.bench.twins.get("source")
        measured = src.chop_frequency_hz if src is not None and src.chopped and not src.chop_external else 0.0
        return f"{measured:.6e}"

    def _ovld(self) -> str:
        # an output above full scale shows as a CH1 (X) output overload; an external
        # reference that is not locked sets bit 3 (internal mode cannot unlock)
        bits = 0
        if self._last_over or self.forced_overload > 0:
            bits |= self.CH1_OUTPUT_OVERLOAD
            self.forced_overload = max(0, self.forced_overload - 1)
        if not self.internal_reference and not self.bench.reference_locked(self):
            bits |= self.EXTERNAL_REFERENCE_UNLOCKED
        self._last_over = False
        return str(bits)

    def push_error(self, message: str) -> None:
        """An injected error: the execution-error bit of *ESR? (the SR860 has no error queue)."""
        self.device.error_response(self.ESR_EXECUTION_ERROR)


# ---------------------------------------------------------------- magnet
class MagnetSupplyTwin(Twin):
    role = "magnet_supply"

    @property
    def current_a(self) -> float:
        if int(self.p("output")) != 1 or str(self.p("mode")).upper() != "CURR":
            return 0.0
        return float(self.p("current"))


class KepcoBOPTwin(MagnetSupplyTwin):
    def computed(self):
        return {
            b"MEAS:CURR?": lambda: f"{self.current_a:.6e}",
            b"FUNC:MODE?": lambda: "1" if str(self.p("mode")).upper() == "CURR" else "0",
        }


class GaussmeterTwin(Twin):
    """Lake Shore 455/475: RDGFIELD? in the selected unit (UNIT 1 G, 2 T, 3 Oe, 4 A/m);
    errors show in *ESR? (a pyvisa-sim status register, no error queue)."""

    role = "gaussmeter"
    noise_oe = 0.01  # rms, the resolution on the 3.5 kG range
    OE_PER_UNIT = {1: 1.0, 2: 1e4, 3: 1.0, 4: 4e-3 * math.pi}

    def computed(self):
        return {b"RDGFIELD?": self.field_reading}

    @property
    def dc_mode(self) -> bool:
        """RDGMODE's first field is 1 (DC); RMS (2) and peak (3) read no steady field."""
        return str(self.p("reading_mode")).split(",")[0].strip() == "1"

    def field_reading(self) -> str:
        h = self.bench.field_oe() if self.dc_mode else 0.0
        if self.bench.noise:
            h += self.bench.rng.normal(0.0, self.noise_oe)
        return f"{h / self.OE_PER_UNIT[int(self.p('unit'))]:+.5E}"  # the manual's +nnn.nnnE+nn: 6 digits

    def push_error(self, message: str) -> None:
        self.device.error_response("execution_error")  # *ESR? bit 4


class LakeShore455Twin(GaussmeterTwin):
    pass


class LakeShore475Twin(GaussmeterTwin):
    pass


TWINS: dict[str, type[Twin]] = {
    "agilent_e8257d": E8257DTwin,
    "rs_smb100a": SMB100ATwin,
    "keithley2400": Keithley2400Twin,
    "keithley2450": Keithley2450Twin,
    "sr830": SR830Twin,
    "sr860": SR860Twin,
    "kepco_bop": KepcoBOPTwin,
    "lakeshore455": LakeShore455Twin,
    "lakeshore475": LakeShore475Twin,
}
