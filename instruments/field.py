"""The field controller: magnet supply + gaussmeter as one closed-loop field source.

Linear coil constants ignore remanence and hysteresis, so the field is set in a closed
loop on the gaussmeter: ramp the supply current in limited steps at a limited rate, then
correct from the measured field until it is within tolerance. The in-plane axis (hard
axis z for ST-FMR, easy axis y for the P/AP reference loops) is set by a rotation stage,
or by the operator when asked (``confirm_axis``): a headless run on a bench without a
stage stops and says so.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from stfmr_lab.instruments.base import InstrumentError
from stfmr_lab.instruments.ramp import ramp
from stfmr_lab.instruments.roles import Gaussmeter, MagnetSupply

log = logging.getLogger(__name__)

AXES = {"hard": 90.0, "easy": 0.0}  # field angle in degrees from the easy axis y


class OperatorActionRequired(RuntimeError):
    """The bench needs a person (e.g. to turn the magnet); nothing was changed."""


@dataclass
class FieldSettings:
    """Closed-loop and ramp settings (station file, ``magnet:``)."""

    oe_per_a: float = 250.0
    tolerance_oe: float = 1.0
    max_step_oe: float = 50.0
    ramp_rate_oe_per_s: float = 500.0
    settle_s: float = 0.2
    max_iterations: int = 8
    readings_averaged: int = 4


class FieldController:
    """Sets the in-plane field in Oe by ramp + closed loop; knows the field axis."""

    def __init__(
        self,
        supply: MagnetSupply,
        gaussmeter: Gaussmeter,
        clock,
        settings: FieldSettings | None = None,
        confirm_axis: Callable[[str], bool] | None = None,
        axis: str = "hard",
    ):
        self.supply = supply
        self.gaussmeter = gaussmeter
        self.clock = clock
        self.settings = settings or FieldSettings()
        self.confirm_axis = confirm_axis
        self.axis = axis
        self.last_field_oe = math.nan

    @property
    def field_angle_deg(self) -> float:
        return AXES[self.axis]

    def prepare(self) -> None:
        """Current mode and output on, at the present setpoint (no jump)."""
        self.supply.configure_current_mode()
        if not self.supply.get_output_enabled():
            self.supply.set_current_a(0.0)
            self.supply.set_output_enabled(True)

    def measure_oe(self) -> float:
        """The gaussmeter's field (Oe), averaged over ``readings_averaged`` readings."""
        n = max(1, self.settings.readings_averaged)
        read = self.gaussmeter.field_reader()
        h = sum(read() for _ in range(n)) / n
        self.last_field_oe = h
        return h

    def _ramp_current(self, target_a: float, stop_event=None) -> None:
        """Ramp the supply current at ``ramp_rate_oe_per_s`` in steps of at most ``max_step_oe``;
        a set ``stop_event`` stops it between steps (``RampStopped``), never its dwell."""
        s = self.settings
        ramp(
            self.supply.set_current_a, self.supply.get_current_a(), target_a,
            max_step=s.max_step_oe / s.oe_per_a, rate_per_s=s.ramp_rate_oe_per_s / s.oe_per_a,
            sleep=self.clock.sleep, should_stop=stop_event.is_set if stop_event is not None else None,
        )

    def set_field(self, target_oe: float, stop_event=None) -> float:
        """Ramp to ``target_oe`` and close the loop on the gaussmeter; return the measured field."""
        s = self.settings
        lo, hi = self.supply.current_range_a
        current = target_oe / s.oe_per_a
        # refuse before anything moves: the supply could not reach it
        if not lo <= current <= hi:
            raise ValueError(
                f"field: {target_oe:g} Oe needs about {current:.2f} A, beyond the supply's {lo:g} to {hi:g} A "
                f"at {s.oe_per_a:g} Oe/A"
            )
        self._ramp_current(current, stop_event)
        self.clock.sleep(s.settle_s, stop_event)
        h = self.measure_oe()
        for _ in range(s.max_iterations):
            err = target_oe - h
            if abs(err) <= s.tolerance_oe:
                return h
            current = min(max(current + err / s.oe_per_a, lo), hi)
            self._ramp_current(current, stop_event)
            self.clock.sleep(s.settle_s, stop_event)
            h = self.measure_oe()
        if abs(target_oe - h) > s.tolerance_oe:
            raise InstrumentError(
                f"field: {h:.1f} Oe measured after {s.max_iterations} corrections, target {target_oe:.1f} Oe "
                f"(tolerance {s.tolerance_oe} Oe): check the gaussmeter probe and oe_per_a"
            )
        return h

    def ramp_to_zero(self, stop_event=None) -> None:
        """Ramp the supply current to zero (open loop) and leave the output on at 0 A."""
        self._ramp_current(0.0, stop_event)

    def set_axis(self, axis: str) -> None:
        """Put the field along ``axis`` ('hard' or 'easy'); the field must be ~0 first."""
        if axis not in AXES:
            raise ValueError(f"axis: {axis!r} is not one of {', '.join(AXES)}")
        if axis == self.axis:
            return
        self.ramp_to_zero()
        if self.confirm_axis is None or not self.confirm_axis(axis):
            raise OperatorActionRequired(
                f"turn the magnet to the {axis} axis ({AXES[axis]:g} deg) and confirm: "
                "this bench has no rotation stage and no operator to ask"
            )
        self.axis = axis

    def snapshot(self) -> dict:
        return {
            "axis": self.axis,
            "field_angle_deg": self.field_angle_deg,
            "oe_per_a": self.settings.oe_per_a,
            "tolerance_oe": self.settings.tolerance_oe,
            "last_field_oe": self.last_field_oe,
        }
