"""Keysight/Agilent PSG E8257D microwave source (and the MXG/EXG with the same SCPI).

Builds on pymeasure's ``Agilent8257D``, whose frequency/power controls have no range
checks and whose docstring says GHz where the command sends Hz: ours are declared again
with strict ranges, in Hz and dBm. The chop is the internal square-wave pulse modulation
(or external, from the lock-in's TTL reference out).
"""

from __future__ import annotations

import logging
import warnings

from pymeasure.instruments import Instrument
from pymeasure.instruments.agilent.agilent8257D import Agilent8257D
from pymeasure.instruments.validators import strict_range
from stfmr_lab.instruments.base import StrictMixin, bool_control, mapped_control
from stfmr_lab.instruments.roles import MicrowaveSource

log = logging.getLogger(__name__)


class AgilentE8257D(StrictMixin, Agilent8257D, MicrowaveSource):
    """Keysight/Agilent E8257D PSG analog signal generator (option 520: 250 kHz - 20 GHz)."""

    model = "agilent_e8257d"
    ERROR_QUERY = ":SYST:ERR?"
    frequency_range_hz = (250e3, 20e9)
    power_range_dbm = (-135.0, 25.0)

    def __init__(self, adapter, name="Agilent E8257D", **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pymeasure's SCPIUnknownMixin notice
            super().__init__(adapter, name, **kwargs)

    FREQUENCY_SET = ":FREQ:CW %.3f"
    frequency_hz = Instrument.control(
        ":FREQ:CW?", FREQUENCY_SET,
        """Control the CW frequency in Hz (float strictly from 250e3 to 20e9).""",
        validator=strict_range, values=frequency_range_hz,
    )
    power_dbm = Instrument.control(
        ":POW:AMPL?", ":POW:AMPL %.2f",
        """Control the output power in dBm (float strictly from -135 to 25).""",
        validator=strict_range, values=power_range_dbm,
    )
    rf_enabled = bool_control(":OUTP?", ":OUTP %d", """Control whether the RF output is on (bool).""")
    modulation_enabled = bool_control(
        ":OUTP:MOD?", ":OUTP:MOD %d", """Control whether modulation is applied to the output (bool)."""
    )
    pulse_enabled = bool_control(":PULM:STAT?", ":PULM:STAT %d", """Control whether pulse modulation (the chop) is on (bool).""")
    pulse_source = mapped_control(
        ":PULM:SOUR?", ":PULM:SOUR %s", """Control the pulse modulation source (str 'internal' or 'external').""",
        {"internal": "INT", "external": "EXT"},
    )
    pulse_frequency_hz = Instrument.control(
        ":PULM:INT:FREQ?", ":PULM:INT:FREQ %.4f",
        """Control the internal square-wave pulse rate in Hz (float strictly from 0.1 to 10e6).""",
        validator=strict_range, values=[0.1, 10e6],
    )

    # ---------------------------------------------------------------- role interface
    def configure_chop(self, frequency_hz=250.0, source="internal"):
        self.pulse_source = source
        if source == "internal":
            self.write(":PULM:INT:FUNC:SHAP SQU")
            self.pulse_frequency_hz = frequency_hz
        self.pulse_enabled = True
        self.modulation_enabled = True

    def get_chop(self):
        return {
            "enabled": self.pulse_enabled and self.modulation_enabled,
            "source": self.pulse_source,
            "frequency_hz": self.pulse_frequency_hz,
        }

    def snapshot(self):
        chop = self.get_chop()
        return {
            "frequency_hz": self.frequency_hz,
            "power_dbm": self.power_dbm,
            "rf_enabled": int(self.rf_enabled),
            "chop_enabled": int(chop["enabled"]),
            "chop_source": chop["source"],
            "chop_frequency_hz": chop["frequency_hz"],
        }
