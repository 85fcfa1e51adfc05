"""Keithley 2400 SourceMeter as the bias current source with voltage readback.

Commands from the "Series 2400 SourceMeter User's Manual" (Keithley, 2400S-900-01 Rev. K,
September 2011), SCPI command reference: ``:SOUR:FUNC``, ``:SOUR:CURR:LEV``,
``:SENS:VOLT:PROT``, ``:SENS:FUNC``, ``:OUTP``, ``:READ?``, ``:SYST:ERR?``.

Builds on pymeasure's ``Keithley2400`` (its start-up sets only the reply format, which
changes nothing at the device). Nothing here writes a source level or turns the output on
when the driver opens: a restart after a crash must not jump the bias.
"""

from __future__ import annotations

from pymeasure.instruments.keithley.keithley2400 import Keithley2400 as _PmKeithley2400
from pymeasure.instruments.validators import strict_range
from stfmr_lab.instruments.base import StrictMixin, bool_control, mapped_control, number_control
from stfmr_lab.instruments.roles import DCSource


class Keithley2400(StrictMixin, _PmKeithley2400, DCSource):
    """Keithley 2400 SourceMeter, current source (+-1.05 A) with voltage compliance."""

    model = "keithley2400"
    # the 2400 family (not the 2450, whose native commands differ: its own driver)
    IDN_MODELS = ("MODEL 2400", "MODEL 2401", "MODEL 2410", "MODEL 2420", "MODEL 2425", "MODEL 2430", "MODEL 2440")
    ERROR_QUERY = ":SYST:ERR?"
    current_range_a = (-1.05, 1.05)

    source_function = mapped_control(
        ":SOUR:FUNC?", ":SOUR:FUNC %s", """Control the source function (str 'current' or 'voltage').""",
        {"current": "CURR", "voltage": "VOLT"},
    )
    current_a = number_control(
        ":SOUR:CURR:LEV?", ":SOUR:CURR:LEV %.6e",
        """Control the source current in A (float strictly from -1.05 to 1.05).""",
        current_range_a,
    )
    compliance_v = number_control(
        ":SENS:VOLT:PROT?", ":SENS:VOLT:PROT %.4f",
        """Control the voltage compliance in V (float strictly from 0.2 to 210).""",
        [0.2, 210],
    )
    output_enabled = bool_control(":OUTP?", ":OUTP %d", """Control whether the output is on (bool).""")

    # ---------------------------------------------------------------- role interface
    def configure_current_source(self, compliance_v):
        strict_range(compliance_v, [0.2, 210])  # refuse before anything is sent
        self.source_function = "current"
        self.write(':SENS:FUNC "VOLT"')
        self.compliance_v = compliance_v

    def measure(self):
        v, i, _r, _t, _status = self.numbers(":READ?", 5)
        return v, i
