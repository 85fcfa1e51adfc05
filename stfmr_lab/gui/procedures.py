"""The procedures as the GUI queues them: the same sweeps, with a faster real-time clock.

The procedures themselves record an abort as "aborted" and ramp down before an error
leaves them (procedures/base.py), so pymeasure's Worker and the headless runner behave
the same. Here they only gain ``clock_speedup``: a real-time simulated bench that waits
less than the bench would (for demos). The classes keep the names of the procedures they
extend, so the run file's ``procedure`` attribute is that of a headless run.
"""

from __future__ import annotations

from stfmr_lab.procedures import sweeps
from stfmr_lab.stream import Subscriber


class _ClockSpeed(Subscriber):
    """Stream subscriber: on ``start``, speed the simulated bench's real-time clock up."""

    def __init__(self, factor: float):
        self.factor = float(factor)

    def start(self, info):
        clock = getattr(info.get("station"), "clock", None)
        if clock is not None and getattr(clock, "virtual", False) and getattr(clock, "realtime", False):
            clock.speedup = self.factor


class GuiRun:
    """Mixin: a speed-up for the simulated bench's real-time clock."""

    #: > 1 makes a real-time simulated bench wait less than the bench would (sim only)
    clock_speedup: float = 1.0

    def startup(self):
        if self.clock_speedup != 1.0:
            self.stream.subscribe(_ClockSpeed(self.clock_speedup))
        super().startup()


class FrequencySweepProcedure(GuiRun, sweeps.FrequencySweepProcedure):
    __doc__ = sweeps.FrequencySweepProcedure.__doc__


class FieldSweepProcedure(GuiRun, sweeps.FieldSweepProcedure):
    __doc__ = sweeps.FieldSweepProcedure.__doc__


class MapProcedure(GuiRun, sweeps.MapProcedure):
    __doc__ = sweeps.MapProcedure.__doc__


class DvdiCalibrationProcedure(GuiRun, sweeps.DvdiCalibrationProcedure):
    __doc__ = sweeps.DvdiCalibrationProcedure.__doc__


class FieldMapProcedure(GuiRun, sweeps.FieldMapProcedure):
    __doc__ = sweeps.FieldMapProcedure.__doc__


class RunConfigProcedure(GuiRun, sweeps.RunConfigProcedure):
    __doc__ = sweeps.RunConfigProcedure.__doc__
