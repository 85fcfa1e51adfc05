"""Stanford Research SR830 lock-in amplifier, locked to the 250 Hz chop.

Builds on pymeasure's ``SR830`` (its sensitivity/time-constant tables and commands);
adds the role interface, X and Y read together with ``SNAP? 1,2``, overload from ``LIAS?``
and the error status from ``ERRS?``.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument
from pymeasure.instruments.srs.sr830 import SR830 as _PmSR830
from pymeasure.instruments.validators import strict_range
from stfmr_lab.instruments.base import InstrumentError, StrictMixin, indexed_control, mapped_control
from stfmr_lab.instruments.roles import LockIn


class SR830(StrictMixin, _PmSR830, LockIn):
    """Stanford Research SR830 DSP lock-in amplifier."""

    model = "sr830"
    SENSITIVITIES_V = list(_PmSR830.SENSITIVITIES)
    TIME_CONSTANTS_S = list(_PmSR830.TIME_CONSTANTS)

    # pymeasure's SR830 truncates out-of-table values silently; ours refuse them
    sensitivity = indexed_control(
        "SENS?", "SENS%d", """Control the sensitivity in V (float, one of SENSITIVITIES_V exactly).""", SENSITIVITIES_V
    )
    time_constant = indexed_control(
        "OFLT?", "OFLT%d", """Control the time constant in s (float, one of TIME_CONSTANTS_S exactly).""", TIME_CONSTANTS_S
    )
    filter_slope = indexed_control(
        "OFSL?", "OFSL%d", """Control the filter slope in dB/oct (int 6, 12, 18 or 24).""", [6, 12, 18, 24]
    )
    reference_source = mapped_control(
        "FMOD?", "FMOD %d", """Control the reference source (str 'External' or 'Internal').""",
        {"External": 0, "Internal": 1}, cast=int,
    )
    frequency = Instrument.control(
        "FREQ?", "FREQ%0.5e", """Control the internal reference frequency in Hz (float strictly from 0.001 to 102000).""",
        validator=strict_range, values=[0.001, 102000],
    )

    def configure_reference(self, source="external", frequency_hz=250.0):
        if source not in ("external", "internal"):
            raise ValueError(f"reference source: {source!r} is not 'external' or 'internal'")
        if source == "internal":
            strict_range(frequency_hz, [0.001, 102000])  # refuse before anything is sent
        self.reference_source = source.capitalize()
        if source == "internal":
            self.frequency = frequency_hz

    XY_QUERY = "SNAP? 1,2"
    OVERLOAD_QUERY = "LIAS?"  # LIA status: bits 0-2 input, filter, output overload
    OVERLOAD_MASK = 0b111

    def check_errors(self):
        bits = int(self.values("ERRS?", cast=int)[0])
        return [f"ERRS? = {bits} (error status bits set)"] if bits else []



__all__ = ["SR830", "InstrumentError"]
