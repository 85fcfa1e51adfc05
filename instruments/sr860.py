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

Capture buffer ("SR860 500 kHz DSP Lock-in Amplifier" Operation Manual, Stanford Research
Systems, Revision 2.01, chapter 4 "Programming", capture commands, pp. 136-139; QCoDeS's
``SR86xBuffer`` drives the same commands): ``CAPTURECFG i`` what each sample holds (0 X,
1 X and Y, 2 R and theta, 3 all four), 4-byte floats each; ``CAPTURELEN n`` the buffer in
kB (even, 2 to 4096); ``CAPTURERATEMAX?`` the highest rate in Hz (it depends on the time
constant) and ``CAPTURERATE n`` that rate / 2**n (n 0 to 20); ``CAPTURESTART ONE|CONT,
IMM|TRIG|SAMP`` one shot or continuous, starting at once, on a TTL at the rear-panel TRIG IN,
or one sample per TTL there; ``CAPTURESTOP``; ``CAPTUREBYTES?`` bytes captured so far (live);
``CAPTUREGET? i,j`` j kB (at most 64) from i kB on as an IEEE-488.2 definite-length block
``#nccc...`` of little-endian 4-byte floats, only with the capture stopped (a range error
otherwise). A sample per point therefore needs a TTL edge at TRIG IN for each point (the
capture has no software trigger in this manual): swept sweeps on an SR860 stay on the
step-and-read path (``SNAP? 0,1``).
"""

from __future__ import annotations

import numpy as np
from pymeasure.instruments.srs.sr860 import SR860 as _PmSR860
from pymeasure.instruments.validators import strict_range
from stfmr_lab.instruments.base import (
    InstrumentReplyError,
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
#: CAPTURECFG: what a capture sample holds -> (index, floats per sample)
CAPTURE_CONFIGS = {"X": (0, 1), "XY": (1, 2), "RT": (2, 2), "XYRT": (3, 4)}
CAPTURE_MODES = ("ONE", "CONT")
CAPTURE_STARTS = ("IMM", "TRIG", "SAMP")


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

    # ---------------------------------------------------------------- capture buffer
    CAPTURE_LENGTH_KB = (2, 4096)
    CAPTURE_GET_MAX_KB = 64
    CAPTURE_RATE_MAX_EXPONENT = 20

    def configure_capture(self, quantities: str = "XY", length_kb: int = 256) -> None:
        """What each sample holds (``CAPTURECFG``: 'X', 'XY', 'RT' or 'XYRT') and the buffer's
        length in kB (``CAPTURELEN``, even, 2 to 4096)."""
        if quantities not in CAPTURE_CONFIGS:
            raise ValueError(f"capture quantities {quantities!r} are not one of {', '.join(CAPTURE_CONFIGS)}")
        lo, hi = self.CAPTURE_LENGTH_KB
        if isinstance(length_kb, bool) or not isinstance(length_kb, int) or length_kb % 2 or not lo <= length_kb <= hi:
            raise ValueError(f"capture length {length_kb!r} kB is not an even integer from {lo} to {hi}")
        self.write(f"CAPTURECFG {CAPTURE_CONFIGS[quantities][0]}")
        self.write(f"CAPTURELEN {length_kb}")

    def capture_rate_max_hz(self) -> float:
        """The highest capture rate at the present time constant (``CAPTURERATEMAX?``, Hz)."""
        rate = self.numbers("CAPTURERATEMAX?", 1)[0]
        if not rate > 0:
            raise InstrumentReplyError(f"{self.name}: reply {rate!r} to 'CAPTURERATEMAX?' is not a rate")
        return rate

    def set_capture_rate_exponent(self, n: int) -> None:
        """Capture at ``CAPTURERATEMAX?`` / 2**n (``CAPTURERATE n``, n from 0 to 20)."""
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= self.CAPTURE_RATE_MAX_EXPONENT:
            raise ValueError(f"capture rate exponent {n!r} is not an integer from 0 to {self.CAPTURE_RATE_MAX_EXPONENT}")
        self.write(f"CAPTURERATE {n}")

    def start_capture(self, mode: str = "ONE", start: str = "IMM") -> None:
        """``CAPTURESTART mode, start``: mode 'ONE' (stop when full) or 'CONT' (wrap); start
        'IMM' (now), 'TRIG' (at a TTL at TRIG IN) or 'SAMP' (one sample per TTL there)."""
        if mode not in CAPTURE_MODES:
            raise ValueError(f"capture mode {mode!r} is not one of {', '.join(CAPTURE_MODES)}")
        if start not in CAPTURE_STARTS:
            raise ValueError(f"capture start {start!r} is not one of {', '.join(CAPTURE_STARTS)}")
        self.write(f"CAPTURESTART {mode}, {start}")

    def stop_capture(self) -> None:
        """``CAPTURESTOP``."""
        self.write("CAPTURESTOP")

    def capture_bytes(self) -> int:
        """Bytes captured so far (``CAPTUREBYTES?``, live during a capture)."""
        n = self.strict_values("CAPTUREBYTES?", cast=int)
        if len(n) != 1 or n[0] < 0:
            raise InstrumentReplyError(f"{self.name}: reply {n!r} to 'CAPTUREBYTES?' is not a byte count")
        return n[0]

    def read_capture(self, offset_kb: int, length_kb: int) -> np.ndarray:
        """``length_kb`` kB of the (stopped) capture from ``offset_kb`` kB on (``CAPTUREGET?``),
        as floats: the definite-length block's header checked, its length exactly 1024 x
        ``length_kb`` bytes, or ``InstrumentReplyError``."""
        for name, value, lo, hi in (("offset", offset_kb, 0, self.CAPTURE_LENGTH_KB[1] - 1),
                                    ("length", length_kb, 1, self.CAPTURE_GET_MAX_KB)):
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"capture {name} {value!r} kB is not an integer from {lo} to {hi}")
        command = f"CAPTUREGET? {offset_kb}, {length_kb}"
        want = 1024 * length_kb
        with self._lock:
            self.adapter.write(command)
            head = self.adapter.read_bytes(2)
            digits = int(head[1:2]) if head[:1] == b"#" and head[1:2].isdigit() else 0
            count = self.adapter.read_bytes(digits) if digits else b""
            if not digits or not count.isdigit() or int(count) != want:
                self.adapter.read_bytes(-1)  # drain the rest of the reply: the next query's must not follow it
                raise InstrumentReplyError(
                    f"{self.name}: reply to {command!r} is not a block of {want} bytes (header {head + count!r})"
                )
            raw = self.adapter.read_bytes(want)
        if len(raw) != want:
            raise InstrumentReplyError(f"{self.name}: reply to {command!r} has {len(raw)} bytes, expected {want}")
        return np.frombuffer(raw, dtype="<f4").astype(float)

    def read_capture_xy(self, samples: int) -> tuple[np.ndarray, np.ndarray]:
        """(X, Y) in V of the first ``samples`` samples of a stopped 'XY' capture, read in
        ``CAPTUREGET?`` blocks of at most 64 kB."""
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise ValueError(f"capture samples {samples!r} is not an integer >= 1")
        kb = -(-8 * samples // 1024)
        blocks = [self.read_capture(i, min(self.CAPTURE_GET_MAX_KB, kb - i)) for i in range(0, kb, self.CAPTURE_GET_MAX_KB)]
        vals = np.concatenate(blocks)[: 2 * samples].reshape(samples, 2)
        return vals[:, 0].copy(), vals[:, 1].copy()
