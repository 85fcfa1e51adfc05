"""Keithley 2450 SourceMeter (native "SCPI" command set) as the bias current source.

Builds on pymeasure's ``Keithley2450`` (whose controls truncate out-of-range values and
whose docs assume the 2400 emulation mode): ours are declared again with strict ranges,
in the 2450's own command set ("Model 2450 Interactive SourceMeter Instrument Reference
Manual", 2450-901-01 Rev. B, September 2013): ``:SOUR:FUNC CURR``,
``:SOUR:CURR``, ``:SOUR:CURR:VLIM``, ``:SENS:FUNC "VOLT"``, ``:OUTP``, and one reading of
voltage and source current together with ``:READ? "defbuffer1", READ, SOUR``. Nothing is
written when the driver opens: a restart after a crash must not jump the bias.
"""

from __future__ import annotations

import logging
import time

from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley.keithley2450 import Keithley2450 as _PmKeithley2450
from pymeasure.instruments.validators import strict_range
from stfmr_lab.instruments.base import InstrumentError, StrictMixin, bool_control, mapped_control, number_control
from stfmr_lab.instruments.ramp import ramp
from stfmr_lab.instruments.roles import DCSource

log = logging.getLogger(__name__)

#: voltage limit in current-source mode, V
VLIM_RANGE_V = (0.02, 210.0)
#: one reading: the measured voltage (READ) and the source current (SOUR), in that order
READ_COMMAND = ':READ? "defbuffer1", READ, SOUR'
#: ``shutdown()`` ramps the source current to 0 A in this many equal steps, no dwell between them
SHUTDOWN_STEPS = 10


class Keithley2450(StrictMixin, _PmKeithley2450, DCSource):
    """Keithley 2450 SourceMeter, current source (+-1.05 A) with a voltage limit."""

    model = "keithley2450"
    IDN_MODELS = ("MODEL 2450",)
    ERROR_QUERY = ":SYST:ERR?"
    current_range_a = (-1.05, 1.05)

    def __init__(self, adapter, name="Keithley 2450 SourceMeter", **kwargs):
        super().__init__(adapter, name, **kwargs)

    def connect(self):
        """Refuse a 2450 that is not in its native SCPI command set (``*LANG?``): in the
        2400 emulation (SCPI2400) or TSP these commands mean something else or nothing."""
        lang = self.ask("*LANG?").strip().upper()
        if lang != "SCPI":
            raise InstrumentError(
                f"{self.name}: command set is {lang or 'unknown'} (*LANG?), this driver needs SCPI: "
                "on the front panel choose MENU > System > Settings > Command Set > SCPI, then restart the instrument"
            )

    source_function = mapped_control(
        ":SOUR:FUNC?", ":SOUR:FUNC %s",
        """Control the source function (str 'current' or 'voltage').""",
        {"current": "CURR", "voltage": "VOLT"},
    )
    current_a = number_control(
        ":SOUR:CURR?", ":SOUR:CURR %.6e",
        """Control the source current in A (float strictly from -1.05 to 1.05).""",
        current_range_a,
    )
    compliance_v = number_control(
        ":SOUR:CURR:VLIM?", ":SOUR:CURR:VLIM %.4f",
        """Control the voltage limit of the current source in V (float strictly from 0.02 to 210).""",
        VLIM_RANGE_V,
    )
    output_enabled = bool_control(
        ":OUTP?", ":OUTP %d",
        """Control whether the output is on (bool).""",
    )

    # ---------------------------------------------------------------- role interface
    def configure_current_source(self, compliance_v):
        strict_range(compliance_v, VLIM_RANGE_V)  # refuse before anything is sent
        self.source_function = "current"
        self.write(':SENS:FUNC "VOLT"')
        self.compliance_v = compliance_v

    def measure(self):
        v, i = self.numbers(READ_COMMAND, 2)
        return v, i

    def shutdown(self):
        """Ramp the source current to 0 A in ``SHUTDOWN_STEPS`` equal steps (the one ramp
        helper, ``instruments.ramp``; a source already at 0 A gets one write of 0), then
        turn the output off.

        Replaces pymeasure's, which ramps with other command spellings and sleeps.
        """
        now = self.current_a
        # a step of a tenth of the distance: exactly SHUTDOWN_STEPS steps (any step when at 0 A)
        ramp(self.set_current_a, now, 0.0, max_step=abs(now) / SHUTDOWN_STEPS or 1.0, dwell_s=0.0, sleep=time.sleep)
        self.output_enabled = False
        Instrument.shutdown(self)
