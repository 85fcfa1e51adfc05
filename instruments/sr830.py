"""Stanford Research SR830 lock-in amplifier, locked to the 250 Hz chop.

Commands from the "SR830 DSP Lock-In Amplifier" user's manual (Stanford Research Systems,
Revision 2.5, 10/2011): ``OUTX i`` selects where replies go (0 RS232, 1 GPIB) and must
come before the first query (the SR830 answers on the interface OUTX names, RS232 after a
reset); ``FMOD i`` reference source (0 external, 1 internal); ``RSLP i`` external
reference trigger (0 sine, 1 TTL rising edge, 2 TTL falling); ``SENS``/``OFLT``/``OFSL``;
X and Y at one instant with ``SNAP? 1,2``; overloads in ``LIAS?``. It has no error queue:
an illegal command sets bit 5 and an out-of-range parameter bit 4 of the standard event
status ``*ESR?``; ``ERRS?`` holds the hardware error bits. Builds on pymeasure's ``SR830``
(its sensitivity/time-constant tables).
"""

from __future__ import annotations

from pymeasure.instruments.srs.sr830 import SR830 as _PmSR830
from pymeasure.instruments.validators import strict_range
from stfmr_lab.instruments.base import InstrumentError, StrictMixin, indexed_control, mapped_control, number_control
from stfmr_lab.instruments.roles import LockIn


class SR830(StrictMixin, _PmSR830, LockIn):
    """Stanford Research SR830 DSP lock-in amplifier."""

    model = "sr830"
    IDN_MODELS = ("SR830",)
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
    frequency = number_control(
        "FREQ?", "FREQ%0.5e", """Control the internal reference frequency in Hz (float strictly from 0.001 to 102000).""",
        [0.001, 102000],
    )

    reference_trigger = mapped_control(
        "RSLP?", "RSLP %d", """Control the external reference trigger (str 'sine', 'ttl_rising' or 'ttl_falling').""",
        {"sine": 0, "ttl_rising": 1, "ttl_falling": 2}, cast=int,
    )

    def before_first_query(self):
        """``OUTX 1`` (replies over GPIB, USB-GPIB and LAN-GPIB) before the first query, even
        ``*IDN?``; ``OUTX 0`` on a serial line."""
        connection = getattr(self.adapter, "connection", None)
        serial = str(getattr(connection, "resource_name", "")).upper().startswith("ASRL")
        self.write("OUTX 0" if serial else "OUTX 1")

    def configure_reference(self, source="external", frequency_hz=250.0):
        if source not in ("external", "internal"):
            raise ValueError(f"reference source: {source!r} is not 'external' or 'internal'")
        if source == "internal":
            strict_range(frequency_hz, [0.001, 102000])  # refuse before anything is sent
        self.reference_source = source.capitalize()
        if source == "internal":
            self.frequency = frequency_hz
        else:
            self.reference_trigger = "ttl_rising"  # the source's chop sync is a TTL square wave

    XY_QUERY = "SNAP? 1,2"
    OVERLOAD_QUERY = "LIAS?"  # LIA status: bits 0-2 input, filter, output overload
    OVERLOAD_MASK = 0b111

    def check_errors(self):
        """Command and execution errors (``*ESR?``) and hardware errors (``ERRS?``); reading clears them."""
        errors = self.standard_event_errors()
        bits = self.strict_values("ERRS?", cast=int)[0]
        if bits:
            errors.append(f"ERRS? = {bits} (error status bits set)")
        return errors



__all__ = ["SR830", "InstrumentError"]
