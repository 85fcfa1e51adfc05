"""Rohde & Schwarz SMB100A microwave source (option SMB-B120: 100 kHz - 20 GHz).

pymeasure has no SMB driver, so this one is written from the "R&S SMB100A Microwave
Signal Generator Operating Manual" (1407.0806.32) command set: ``SOUR:FREQ:CW``,
``SOUR:POW:LEV:IMM:AMPL``, ``OUTP:STAT``, pulse modulation ``SOUR:PULM:...`` (options K22
pulse modulator and K23 pulse generator), the modulation master switch
``[:SOURce]:MODulation[:ALL][:STATe]`` (the MOD ON/OFF key: with it off no modulation
reaches the output, whatever ``SOUR:PULM:STAT`` says) and the ``SYST:ERR?`` queue. The
chop is on when both the pulse modulation and the master switch are on.

The chop is the internal pulse generator run as a square wave: the SMB sets a period and
a width (no rate), so ``configure_chop`` sends period = 1/f and width = period/2 (in the
order that keeps width < period at every step), and ``get_chop`` reports 1/period. The
pulse generator signal also goes to the PULSE VIDEO output (``SOUR:PGEN:OUTP:STAT 1``),
which is what the lock-in locks to in its external-reference mode.
"""

from __future__ import annotations

import logging

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_range
from stfmr_lab.instruments.base import InstrumentReplyError, StrictMixin, bool_control, mapped_control, number_control
from stfmr_lab.instruments.roles import MicrowaveSource

log = logging.getLogger(__name__)

#: internal pulse generator period and width, s (option K23)
PULSE_TIME_RANGE_S = (20e-9, 100.0)
#: square-wave chop rate, Hz: period <= 100 s, width = period/2 >= 20 ns
CHOP_FREQUENCY_RANGE_HZ = (0.01, 25e6)


class RohdeSchwarzSMB100A(StrictMixin, Instrument, MicrowaveSource):
    """Rohde & Schwarz SMB100A signal generator with SMB-B120, SMB-K22 and SMB-K23."""

    model = "rs_smb100a"
    IDN_MODELS = ("SMB100A",)
    ERROR_QUERY = "SYST:ERR?"
    frequency_range_hz = (100e3, 20e9)
    power_range_dbm = (-145.0, 30.0)

    def __init__(self, adapter, name="Rohde & Schwarz SMB100A", **kwargs):
        kwargs.setdefault("includeSCPI", False)
        super().__init__(adapter, name, **kwargs)

    FREQUENCY_SET = "SOUR:FREQ:CW %.3f"
    frequency_hz = number_control(
        "SOUR:FREQ:CW?", FREQUENCY_SET,
        """Control the CW frequency in Hz (float strictly from 100e3 to 20e9).""",
        frequency_range_hz,
    )
    power_dbm = number_control(
        "SOUR:POW:LEV:IMM:AMPL?", "SOUR:POW:LEV:IMM:AMPL %.2f",
        """Control the RF level in dBm (float strictly from -145 to 30).""",
        power_range_dbm,
    )
    rf_enabled = bool_control(
        "OUTP:STAT?", "OUTP:STAT %d",
        """Control whether the RF output is on (bool).""",
    )
    modulation_enabled = bool_control(
        "SOUR:MOD:STAT?", "SOUR:MOD:STAT %d",
        """Control the modulation master switch, MOD ON/OFF (bool): off, no modulation reaches the output.""",
    )
    pulse_enabled = bool_control(
        "SOUR:PULM:STAT?", "SOUR:PULM:STAT %d",
        """Control whether pulse modulation (the chop) is on (bool).""",
    )
    pulse_source = mapped_control(
        "SOUR:PULM:SOUR?", "SOUR:PULM:SOUR %s",
        """Control the pulse modulation source (str 'internal' or 'external').""",
        {"internal": "INT", "external": "EXT"},
    )
    pulse_period_s = number_control(
        "SOUR:PULM:PER?", "SOUR:PULM:PER %.9g",
        """Control the internal pulse generator period in s (float strictly from 20e-9 to 100).""",
        PULSE_TIME_RANGE_S,
    )
    pulse_width_s = number_control(
        "SOUR:PULM:WIDT?", "SOUR:PULM:WIDT %.9g",
        """Control the internal pulse generator pulse width in s (float strictly from 20e-9 to 100).""",
        PULSE_TIME_RANGE_S,
    )

    # ---------------------------------------------------------------- role interface
    def configure_chop(self, frequency_hz=250.0, source="internal"):
        if source not in ("internal", "external"):
            raise ValueError(f"chop source: {source!r} is not 'internal' or 'external'")
        if source == "internal":
            strict_range(frequency_hz, CHOP_FREQUENCY_RANGE_HZ)
            period = 1.0 / frequency_hz
            width = period / 2.0
            self.pulse_source = "internal"
            self.write("SOUR:PULM:MODE SING")
            self.write("SOUR:PULM:TRIG:MODE AUTO")
            # width must stay below the period at every step
            if period >= self.pulse_period_s:
                self.pulse_period_s = period
                self.pulse_width_s = width
            else:
                self.pulse_width_s = width
                self.pulse_period_s = period
            self.write("SOUR:PGEN:OUTP:STAT 1")  # square wave at PULSE VIDEO (lock-in reference)
        else:
            self.pulse_source = "external"
            self.write("SOUR:PULM:POL NORM")  # TTL high = RF on
        self.pulse_enabled = True
        self.modulation_enabled = True

    def get_chop(self):
        period = self.pulse_period_s
        if period <= 0:
            raise InstrumentReplyError(f"{self.name}: pulse period {period!r} s is not positive")
        return {
            "enabled": self.pulse_enabled and self.modulation_enabled,
            "source": self.pulse_source,
            "frequency_hz": 1.0 / period,
        }

    def snapshot(self):
        return {**super().snapshot(), "chop_width_s": self.pulse_width_s}
