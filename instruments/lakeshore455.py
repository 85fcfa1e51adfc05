"""Lake Shore 455 DSP gaussmeter (the Hall probe at the sample).

Commands from the "Model 455 DSP Gaussmeter User's Manual" (Lake Shore Cryotronics), chapter 6
(remote operation; revision not recorded here): ``RDGFIELD?`` (the field in the present unit, DC or RMS), ``UNIT`` (1 G,
2 T, 3 Oe, 4 A/m), ``RDGMODE?`` (mode, DC resolution, RMS band, peak mode, peak display;
mode 1 DC, 2 RMS, 3 peak) and ``*ESR?``. ``connect`` refuses a meter not in DC mode: in
RMS or peak mode ``RDGFIELD?`` is not the steady field the closed loop needs.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument
from stfmr_lab.instruments.base import InstrumentError, StrictMixin, mapped_control
from stfmr_lab.instruments.roles import Gaussmeter

# field unit codes of the 455/475 and their factor to Oe (1 G = 1 Oe in air)
UNITS = {"G": 1, "T": 2, "Oe": 3, "A/m": 4}
TO_OE = {1: 1.0, 2: 1e4, 3: 1.0, 4: 4e-3 * 3.141592653589793}


class LakeShore455(StrictMixin, Instrument, Gaussmeter):
    """Lake Shore 455 DSP gaussmeter."""

    model = "lakeshore455"
    IDN_MODELS = ("MODEL455",)

    def __init__(self, adapter, name="Lake Shore 455 gaussmeter", **kwargs):
        kwargs.setdefault("includeSCPI", False)
        super().__init__(adapter, name, **kwargs)

    unit = mapped_control("UNIT?", "UNIT %d", """Control the field unit (str 'G', 'T', 'Oe' or 'A/m').""", UNITS, cast=int)
    reading_mode = Instrument.measurement(
        "RDGMODE?", """Measure the reading mode fields (list of ints: mode, DC resolution, RMS band, peak mode, peak display).""",
        cast=int,
    )

    def connect(self):
        """Refuse a meter whose reading mode is not DC (``RDGMODE?`` first field 1)."""
        reply = self.ask("RDGMODE?").strip()
        fields = [f.strip() for f in reply.split(",")]
        if fields[0] != "1":
            mode = {"2": "RMS", "3": "peak"}.get(fields[0], f"unknown ({reply!r})")
            raise InstrumentError(
                f"{self.name}: reading mode is {mode} (RDGMODE? {reply}), the field loop needs DC: "
                "press Mode on the front panel and select DC (or send RDGMODE 1,...)"
            )

    def read_field_oe(self):
        return self.field_reader()()

    def field_reader(self):
        """Readings in Oe: the unit asked once, then only ``RDGFIELD?`` per reading."""
        to_oe = TO_OE[UNITS[self.unit]]
        query = self.query_function("RDGFIELD?", 1)
        return lambda: query()[0] * to_oe

    def check_errors(self):
        """The standard event status register (``*ESR?``): query, device, execution and
        command errors (the 455/475 have no error queue)."""
        return self.standard_event_errors()

    def snapshot(self):
        return {"unit": self.unit}
