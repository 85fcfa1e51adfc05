"""The one place the station's limits are enforced, below every procedure.

Bias and field only ever ramp, in steps no larger than the station allows, and every
request is checked against the limits before anything moves. ``shutdown`` is the exit
path of every run: RF off, bias ramped to zero, DC output off, then everything read back;
it never raises and returns what it could and could not verify.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from stfmr_lab.errors import error_line
from stfmr_lab.instruments.ramp import ramp

log = logging.getLogger(__name__)


#: the compliance read back must be the limit's within this (V)
COMPLIANCE_READBACK_TOLERANCE_V = 1e-6
#: a source current read back below this (A) counts as zero at shutdown
ZERO_CURRENT_A = 1e-12


class SafetyError(RuntimeError):
    """A request beyond the station's limits, or a reading that says the device is at risk."""


@dataclass(frozen=True)
class Limits:
    """Station limits (station file ``limits:``); units in the names."""

    max_bias_current_a: float = 2.0e-4
    max_bias_voltage_v: float = 0.7
    compliance_v: float = 0.8
    max_bias_step_a: float = 5.0e-6
    bias_step_dwell_s: float = 0.02
    max_rf_power_dbm: float = 0.0
    max_rf_power_at_device_dbm: float = -5.0
    max_field_oe: float = 3000.0
    min_frequency_hz: float = 1e9
    max_frequency_hz: float = 20e9

    @classmethod
    def from_config(cls, limits: dict) -> "Limits":
        return cls(**{k: float(v) for k, v in limits.items()})

    def check_current(self, current_a: float, what: str = "bias current") -> None:
        if not math.isfinite(current_a) or abs(current_a) > self.max_bias_current_a * (1 + 1e-12):
            raise SafetyError(f"{what}: {current_a:g} A beyond the station limit +-{self.max_bias_current_a:g} A")

    def check_voltage(self, voltage_v: float, what: str = "bias voltage") -> None:
        if not math.isfinite(voltage_v) or abs(voltage_v) > self.max_bias_voltage_v * (1 + 1e-12):
            raise SafetyError(f"{what}: {voltage_v:g} V beyond the station limit +-{self.max_bias_voltage_v:g} V")

    def check_power(self, power_dbm: float) -> None:
        if not math.isfinite(power_dbm) or power_dbm > self.max_rf_power_dbm:
            raise SafetyError(f"rf power: {power_dbm:g} dBm above the station limit {self.max_rf_power_dbm:g} dBm")

    def check_power_at_device(self, power_at_device_dbm: float, frequency_hz: float) -> None:
        if power_at_device_dbm > self.max_rf_power_at_device_dbm:
            raise SafetyError(
                f"rf power at the device: {power_at_device_dbm:.2f} dBm at {frequency_hz / 1e9:.3f} GHz above the "
                f"station limit {self.max_rf_power_at_device_dbm:g} dBm"
            )

    def check_field(self, field_oe: float) -> None:
        if not math.isfinite(field_oe) or abs(field_oe) > self.max_field_oe:
            raise SafetyError(f"field: {field_oe:g} Oe beyond the station limit +-{self.max_field_oe:g} Oe")

    def check_frequency(self, frequency_hz: float) -> None:
        if not (self.min_frequency_hz <= frequency_hz <= self.max_frequency_hz):
            raise SafetyError(
                f"frequency: {frequency_hz:g} Hz outside the station range "
                f"{self.min_frequency_hz:g} to {self.max_frequency_hz:g} Hz"
            )


class Guard:
    """Limit-checked, ramping access to the bias, RF and field of a station."""

    def __init__(self, station, limits: Limits | None = None, say=None):
        self.station = station
        self.limits = limits or Limits.from_config(station.config["limits"])
        self.say = say or (lambda msg: log.info(msg))
        self.bias_ready = False

    @property
    def dc(self):
        return self.station["dc"]

    @property
    def source(self):
        return self.station["source"]

    # ------------------------------------------------------------------ bias
    def prepare_bias(self) -> None:
        """Compliance from the limits first, then current mode; output on at the present level.

        A source found on (a restart after a crash) keeps its present current: it is
        ramped from there, never jumped.
        """
        dc = self.dc
        was_on = dc.get_output_enabled()
        dc.configure_current_source(self.limits.compliance_v)
        if abs(dc.get_compliance_v() - self.limits.compliance_v) > COMPLIANCE_READBACK_TOLERANCE_V:
            raise SafetyError("dc: the voltage compliance did not take; output left as it was")
        if not was_on:
            dc.set_current_a(0.0)
            dc.set_output_enabled(True)
        else:
            now = dc.get_current_a()
            self.limits.check_current(now, "bias current found on the source")
            self.say(f"dc output was already on at {now:g} A: ramping from there")
        self.bias_ready = True

    def bias_to_current(self, target_a: float, measure: bool = True) -> tuple[float, float]:
        """Ramp the bias current to ``target_a`` in limited steps; return measured (V, I)."""
        self.limits.check_current(target_a)
        if not self.bias_ready:
            self.prepare_bias()
        dc, lim, clock = self.dc, self.limits, self.station.clock
        # no stop check: a bias ramp, to zero above all, always completes
        ramp(dc.set_current_a, dc.get_current_a(), target_a, max_step=lim.max_bias_step_a,
             dwell_s=lim.bias_step_dwell_s, sleep=clock.sleep)
        if not measure:
            return math.nan, target_a
        v, i = dc.measure()
        if abs(v) > lim.max_bias_voltage_v:
            self.say(f"bias voltage {v:.4f} V beyond the limit {lim.max_bias_voltage_v} V: ramping to zero")
            self.bias_to_current(0.0, measure=False)
            raise SafetyError(f"bias voltage: measured {v:.4f} V beyond the station limit {lim.max_bias_voltage_v:g} V")
        return v, i

    def bias_to_voltage(self, target_v: float, tolerance_v: float = 2e-3, max_iterations: int = 12) -> tuple[float, float]:
        """Find the current giving ``target_v`` (closed loop on the readback); return (V, I)."""
        self.limits.check_voltage(target_v)
        if target_v == 0.0:
            return self.bias_to_current(0.0)
        v0, i0 = self.bias_to_current(self.dc.get_current_a())
        # secant on the measured I-V, starting from the small-signal resistance
        r = None
        if abs(i0) > 1e-9 and abs(v0) > 1e-6:
            r = v0 / i0
        if r is None or r <= 0:
            probe = math.copysign(min(self.limits.max_bias_step_a, self.limits.max_bias_current_a), target_v)
            v1, i1 = self.bias_to_current(probe)
            r = (v1 - v0) / (i1 - i0) if i1 != i0 else 1e3
            v0, i0 = v1, i1
        for _ in range(max_iterations):
            if abs(v0 - target_v) <= tolerance_v:
                return v0, i0
            i_next = i0 + (target_v - v0) / max(r, 1.0)
            i_next = max(-self.limits.max_bias_current_a, min(self.limits.max_bias_current_a, i_next))
            v1, i1 = self.bias_to_current(i_next)
            if i1 != i0 and (v1 - v0) / (i1 - i0) > 0:
                r = (v1 - v0) / (i1 - i0)
            v0, i0 = v1, i1
        if abs(v0 - target_v) > tolerance_v:
            raise SafetyError(
                f"bias voltage: {v0:.4f} V reached at the current limit, target {target_v:.4f} V "
                f"(raise limits.max_bias_current_a or lower the target)"
            )
        return v0, i0

    # ------------------------------------------------------------------ RF
    def _check_at_device(self, power_dbm: float, frequency_hz: float) -> None:
        path = self.station.path
        if path is not None:
            self.limits.check_power_at_device(float(path.power_at_device_dbm(frequency_hz, power_dbm)), frequency_hz)

    def set_power(self, power_dbm: float, frequency_hz: float | None = None) -> None:
        """Set the source power; checked at the source and, through the path, at the device."""
        self.limits.check_power(power_dbm)
        f = frequency_hz if frequency_hz is not None else self.source.get_frequency_hz()
        self._check_at_device(power_dbm, f)
        self._power_dbm = power_dbm
        self.source.set_power_dbm(power_dbm)

    def set_frequency(self, frequency_hz: float) -> None:
        self.limits.check_frequency(frequency_hz)
        p = getattr(self, "_power_dbm", None)
        if p is not None:
            self._check_at_device(p, frequency_hz)
        self.source.set_frequency_hz(frequency_hz)

    def frequency_setter(self, frequencies_hz, power_dbm: float):
        """Check a whole sweep's frequencies (range, power at the device) before anything moves;
        return the setter to step through them without re-checking each point."""
        import numpy as np

        f = np.asarray(frequencies_hz, dtype=float)
        for fk in (float(f.min()), float(f.max())):
            self.limits.check_frequency(fk)
        self.limits.check_power(power_dbm)
        if self.station.path is not None:
            at_device = np.asarray(self.station.path.power_at_device_dbm(f, power_dbm))
            k = int(np.argmax(at_device))
            self.limits.check_power_at_device(float(at_device[k]), float(f[k]))
        allowed = set(f.tolist())
        raw = self.source.frequency_writer()

        def set_frequency(frequency_hz: float) -> None:
            if frequency_hz not in allowed:  # only the checked values
                self.set_frequency(frequency_hz)
            else:
                raw(frequency_hz)

        return set_frequency

    def rf_on(self) -> None:
        self.limits.check_power(self.source.get_power_dbm())
        self.source.set_rf_enabled(True)

    def rf_off(self) -> None:
        self.source.set_rf_enabled(False)

    # ------------------------------------------------------------------ field
    def field_to(self, field_oe: float, stop_event=None) -> float:
        self.limits.check_field(field_oe)
        return self.station.field.set_field(field_oe, stop_event)

    # ------------------------------------------------------------------ exit path
    def shutdown(self, field_to_zero: bool = False) -> tuple[bool, str]:
        """RF off, bias ramped to 0, DC output off, read back. Never raises.

        Returns (verified, text): text is "verified" or says what could not be verified.
        The field (no danger to the junction) is ramped down last if asked; its outcome is
        in ``self.field_state``; what was not verified ("rf", "bias") in ``self.unverified``.
        """
        problems = []
        unverified: set[str] = set()
        self.field_state = "left as it was"
        st = self.station
        if "source" in st.instruments:
            try:
                self.source.set_rf_enabled(False)
            except Exception as e:
                problems.append(f"rf off not sent ({error_line(e)})")
                unverified.add("rf")
        else:
            problems.append("no microwave source open")
            unverified.add("rf")
        if "dc" in st.instruments:
            try:
                if self.dc.get_output_enabled():
                    self.bias_to_current(0.0, measure=False)
                self.dc.set_current_a(0.0)
                self.dc.set_output_enabled(False)
            except Exception as e:
                problems.append(f"bias ramp-down failed ({error_line(e)})")
                unverified.add("bias")
        else:
            problems.append("no DC source open")
            unverified.add("bias")
        if field_to_zero and st.field is not None:
            try:
                st.field.ramp_to_zero()
                self.field_state = "ramped to zero"
            except Exception as e:
                self.field_state = f"ramp-down failed ({error_line(e)})"
        # read back what the instruments say now
        checks = []
        try:
            rf = self.source.get_rf_enabled()
            checks.append(f"rf {'ON' if rf else 'off'}")
            if rf:
                problems.append("rf still on")
                unverified.add("rf")
        except Exception as e:
            problems.append(f"rf state unreadable ({error_line(e)})")
            unverified.add("rf")
        try:
            i = self.dc.get_current_a()
            out = self.dc.get_output_enabled()
            checks.append(f"bias {i:g} A, dc output {'ON' if out else 'off'}")
            if abs(i) > ZERO_CURRENT_A or out:
                problems.append("bias not at zero")
                unverified.add("bias")
        except Exception as e:
            problems.append(f"bias state unreadable ({error_line(e)})")
            unverified.add("bias")
        self.unverified = unverified
        if problems:
            text = "NOT verified: " + "; ".join(problems) + (f" (read back: {', '.join(checks)})" if checks else "")
            return False, text
        return True, "verified"




#: what the operator checks on the bench when a part of the safe state could not be verified
BENCH_CHECKS = {
    "bias": "the DC source's front panel: output OFF and 0 A (switch it off by hand) before touching the sample's leads",
    "rf": "the microwave source's front panel: RF OFF (press RF ON/OFF)",
}


def bench_advice(unverified) -> str:
    """What to check on the bench for the parts (``"bias"``, ``"rf"``) not verified."""
    parts = [BENCH_CHECKS[k] for k in ("bias", "rf") if k in unverified] or list(BENCH_CHECKS.values())
    return "check " + "; and ".join(parts)
