"""Lake Shore 455 DSP gaussmeter (the Hall probe at the sample)."""

from __future__ import annotations

from pymeasure.instruments import Instrument
from stfmr_lab.instruments.base import StrictMixin, mapped_control
from stfmr_lab.instruments.roles import Gaussmeter

# field unit codes of the 455/475 and their factor to Oe (1 G = 1 Oe in air)
UNITS = {"G": 1, "T": 2, "Oe": 3, "A/m": 4}
TO_OE = {1: 1.0, 2: 1e4, 3: 1.0, 4: 4e-3 * 3.141592653589793}


class LakeShore455(StrictMixin, Instrument, Gaussmeter):
    """Lake Shore 455 DSP gaussmeter."""

    model = "lakeshore455"

    def __init__(self, adapter, name="Lake Shore 455 gaussmeter", **kwargs):
        kwargs.setdefault("includeSCPI", False)
        super().__init__(adapter, name, **kwargs)

    unit = mapped_control("UNIT?", "UNIT %d", """Control the field unit (str 'G', 'T', 'Oe' or 'A/m').""", UNITS, cast=int)
    def read_field_oe(self):
        return self.field_reader()()

    def field_reader(self):
        """Readings in Oe: the unit asked once, then only ``RDGFIELD?`` per reading."""
        to_oe = TO_OE[UNITS[self.unit]]
        query = self.query_function("RDGFIELD?", 1)
        return lambda: query()[0] * to_oe

    def check_errors(self):
        """IEEE-488.2 standard event status: bits 2-5 are query/device/execution/command errors."""
        esr = int(self.values("*ESR?", cast=int)[0])
        return [f"*ESR? = {esr} (error bits set)"] if esr & 0b111100 else []

    def snapshot(self):
        return {"unit": self.unit}
