"""Stanford Research SR860 lock-in amplifier, locked to the chop.

Builds on pymeasure's ``SR860`` (its tables), whose sensitivity, time constant and
frequency controls truncate out-of-range values silently: ours are declared again with
strict validators. Commands from the "SR860 500 kHz DSP Lock-in Amplifier" user manual
(Stanford Research Systems; revision not recorded here): sensitivity ``SCAL i`` (index 0 = 1 V,
the reverse of the SR830's ``SENS``), time constant ``OFLT i`` (0 = 1 us ... 21 = 30 ks),
slope ``OFSL i``, reference source ``RSRC i`` (0 internal, 1 external, 2 dual, 3 chop),
external trigger ``RTRG i`` (0 sine, 1 positive TTL, 2 negative TTL), ``FREQ f``, X and Y at
one instant with ``SNAP? 0,1``, the present overload state ``CUROVLDSTAT?`` and the
standard event (``*ESR?``) and error (``ERRS?``) status registers.
"""

from __future__ import annotations

from pymeasure.instruments.srs.sr860 import SR860 as _PmSR860
from pymeasure.instruments.validators import strict_range
from stfmr_lab.instruments.base import (
    StrictMixin,
    indexed_control,
    mapped_control,
    number_control,
)
from stfmr_lab.instruments.roles import LockIn

#: CUROVLDSTAT? bits (SR860 manual, status registers; the same layout as LIAS?)
CH1_OUTPUT_OVERLOAD = 1 << 0
CH2_OUTPUT_OVERLOAD = 1 << 1
EXTERNAL_REFERENCE_UNLOCKED = 1 << 3
INPUT_RANGE_OVERLOAD = 1 << 4
DATA_CHANNEL_OVERLOADS = 0xF << 8  # data channels 1-4 scale overload
OVERLOAD_BITS = CH1_OUTPUT_OVERLOAD | CH2_OUTPUT_OVERLOAD | INPUT_RANGE_OVERLOAD | DATA_CHANNEL_OVERLOADS

SLOPES_DB_OCT = (6, 12, 18, 24)
REFERENCE_SOURCES = {"internal": 0, "external": 1, "dual": 2, "chop": 3}
REFERENCE_TRIGGERS = {"sine": 0, "positive_ttl": 1, "negative_ttl": 2}


class SR860(StrictMixin, _PmSR860, LockIn):
    """Stanford Research SR860 DSP lock-in amplifier (500 kHz)."""

    model = "sr860"
    IDN_MODELS = ("SR860", "SR865")
    SENSITIVITIES_V = list(_PmSR860.SENSITIVITIES)  # index 0 = 1 V ... 27 = 1 nV
    TIME_CONSTANTS_S = list(_PmSR860.TIME_CONSTANTS)  # index 0 = 1 us ... 21 = 30 ks
    frequency_range_hz = (0.001, 500e3)

    def __init__(self, adapter, name="Stanford Research SR860", **kwargs):
        super().__init__(adapter, name, **kwargs)

    sensitivity = indexed_control(
        "SCAL?", "SCAL %d", """Control the sensitivity in V (float, strictly one of 1 V, 500 mV, ... 1 nV).""", SENSITIVITIES_V
    )
    time_constant = indexed_control(
        "OFLT?", "OFLT %d", """Control the time constant in s (float, strictly one of 1 us, 3 us, ... 30 ks).""",
        TIME_CONSTANTS_S,
    )
    filter_slope = indexed_control(
        "OFSL?", "OFSL %d", """Control the filter slope in dB/oct (int, strictly 6, 12, 18 or 24).""", SLOPES_DB_OCT
    )
    reference_source = mapped_control(
        "RSRC?", "RSRC %d", """Control the reference source (str 'internal', 'external', 'dual' or 'chop').""",
        REFERENCE_SOURCES, cast=int,
    )
    reference_trigger = mapped_control(
        "RTRG?", "RTRG %d", """Control the external reference trigger (str 'sine', 'positive_ttl' or 'negative_ttl').""",
        REFERENCE_TRIGGERS, cast=int,
    )
    frequency = number_control(
        "FREQ?", "FREQ %.6e",
        """Control the internal reference frequency in Hz (float strictly from 0.001 to 500e3);
        the query gives the reference frequency in use (the measured one in external mode).""",
        frequency_range_hz,
    )

    # ---------------------------------------------------------------- role interface
    def configure_reference(self, source="external", frequency_hz=250.0):
        if source not in ("external", "internal"):
            raise ValueError(f"reference source: {source!r} is not 'external' or 'internal'")
        if source == "internal":
            strict_range(frequency_hz, self.frequency_range_hz)  # refuse before anything is sent
            self.reference_source = "internal"
            self.frequency = frequency_hz
        else:
            self.reference_source = "external"
            self.reference_trigger = "positive_ttl"  # the source's chop sync is a TTL square wave

    XY_QUERY = "SNAP? 0,1"
    OVERLOAD_QUERY = "CUROVLDSTAT?"
    OVERLOAD_MASK = OVERLOAD_BITS

    def overload_status(self) -> int:
        """The present overload state word (``CUROVLDSTAT?``)."""
        return self.query_function(self.OVERLOAD_QUERY, 1, cast=int)()[0]

    def reference_unlocked(self) -> bool:
        """True while the external reference is unlocked (``CUROVLDSTAT?`` bit 3)."""
        return bool(self.overload_status() & EXTERNAL_REFERENCE_UNLOCKED)

    def check_errors(self):
        errors = self.standard_event_errors()
        errs = self.strict_values("ERRS?", cast=int)[0]
        if errs:
            errors.append(f"ERRS? = {errs} (error status bits set)")
        return errors

