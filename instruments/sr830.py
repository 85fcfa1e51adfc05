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

Data buffer (same manual, "Data Storage" and "Data Storage Commands", pp. 5-14 to 5-17):
the SR830 stores up to 16383 points of what the CH1 and CH2 displays show (``DDEF 1,0,0``
X, ``DDEF 2,0,0`` Y, no ratio), both displays sampled at the same instants. ``SRAT i``
sets the sample rate (0 = 62.5 mHz ... 13 = 512 Hz, 14 = Trigger: one point per trigger,
taken within 2 ms of it, on the next 512 Hz tick; triggers faster than 512 Hz are
ignored); ``SEND i`` the end of scan (0 one shot: storage stops when full, 1 loop);
``STRT`` starts or resumes storage, ``PAUS`` pauses it, ``REST`` erases the buffer; ``TRIG``
is the software trigger (the rear-panel TRIG IN's equivalent; ignored at an internal rate
or with the buffer full; the point is stored on the next 512 Hz tick, so ``SPTS?`` right
after a ``TRIG`` may not count it yet); ``FAST 0`` keeps the lock-in from sending each stored
point over GPIB unasked, ``TSTR 0`` from starting the scan on a trigger. ``SPTS?`` counts the
stored points (bins 0, oldest, to N-1);
``TRCA? i,j,k`` answers k points of display i from bin j in ASCII, each followed by a comma
(``-1.234567e-009,+7.654321e-009,``), ``TRCB? i,j,k`` the same as 4k bytes of IEEE
little-endian floats; j + k beyond ``SPTS?`` is an error. pymeasure's ``SR830`` (0.14) has
``trigger``/``reset_buffer``/``buffer_count``/``get_buffer`` (TRCB?) and QCoDeS's
``SR830`` has ``buffer_SR``/``buffer_start``/``buffer_reset`` on the same commands; the
methods here are strict (a request out of range raises ``ValueError`` before anything is
sent; a reply with the wrong count of values raises ``InstrumentReplyError``).
"""

from __future__ import annotations

import numpy as np
from pymeasure.instruments.srs.sr830 import SR830 as _PmSR830
from pymeasure.instruments.validators import strict_range
from stfmr_lab.instruments.base import (
    InstrumentError,
    InstrumentReplyError,
    StrictMixin,
    indexed_control,
    mapped_control,
    number_control,
    parse_values,
)
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


    # ---------------------------------------------------------------- data buffer
    #: SRAT 0 ... 13 (Hz); SRAT 14 is "Trigger" (``BUFFER_TRIGGERED``)
    SAMPLE_RATES_HZ = tuple(0.0625 * 2**i for i in range(14))
    BUFFER_TRIGGERED = 14
    #: points the buffer holds per display
    BUFFER_POINTS = 16383
    #: points one TRCA?/TRCB? asks for at most: the manual sets no limit below the buffer's,
    #: this bounds a reply (~16 kB of ASCII) and so the time it holds the bus
    BUFFER_READ_POINTS = 1000

    def configure_buffer(self, rate_hz: float | None = None, loop: bool = False) -> None:
        """Store X on CH1 and Y on CH2 (``DDEF 1,0,0``, ``DDEF 2,0,0``), one point per trigger
        (``rate_hz`` None: ``SRAT 14``) or at a fixed rate in Hz (exactly one of
        ``SAMPLE_RATES_HZ``), one shot or loop (``SEND``). Does not start storage.

        First ``FAST 0`` and ``TSTR 0``, whatever was left set: with fast transfer on (FAST 1
        or 2; pymeasure's ``start_buffer`` sends ``FAST2``) the SR830 sends X and Y of every
        stored point over GPIB unasked, in front of the next reply; with Trigger Starts on
        (TSTR 1) a trigger starts the scan (manual, FAST and TSTR)."""
        if rate_hz is None:
            index = self.BUFFER_TRIGGERED
        else:
            matches = [i for i, r in enumerate(self.SAMPLE_RATES_HZ) if r == rate_hz]
            if not matches:
                raise ValueError(f"buffer sample rate {rate_hz!r} Hz is not one of the SR830's {self.SAMPLE_RATES_HZ}")
            index = matches[0]
        if loop not in (True, False):
            raise ValueError(f"buffer loop: {loop!r} is not True or False")
        self.write("FAST 0")
        self.write("TSTR 0")
        self.write("DDEF 1,0,0")
        self.write("DDEF 2,0,0")
        self.write(f"SRAT {index}")
        self.write(f"SEND {int(loop)}")

    def reset_buffer(self) -> None:
        """Erase the buffer (``REST``); storage stops until ``start_buffer``."""
        self.write("REST")

    def start_buffer(self) -> None:
        """Start or resume storage (``STRT``)."""
        self.write("STRT")

    def pause_buffer(self) -> None:
        """Pause storage (``PAUS``)."""
        self.write("PAUS")

    #: a triggered point is stored on the lock-in's next 512 Hz tick, "within 2 ms" (manual,
    #: TRIG and "Data Storage"): SPTS? and TRCA? see it only after that; this waits two ticks
    STORE_DELAY_S = 2.0 / 512.0

    def trigger(self) -> None:
        """Software trigger (``TRIG``): with ``SRAT 14`` and storage on, one point of each
        display is stored within 2 ms (``STORE_DELAY_S`` after it, ``SPTS?`` counts it)."""
        self.write("TRIG")

    def trigger_function(self):
        """``trigger`` bound once: a function() that writes ``TRIG`` (a sweep's per-point call)."""
        write = self.write_function()
        return lambda: write("TRIG")

    def buffer_count(self) -> int:
        """Points stored in each display's buffer (``SPTS?``), 0 to ``BUFFER_POINTS``."""
        n = self.strict_values("SPTS?", cast=int)
        if len(n) != 1 or not 0 <= n[0] <= self.BUFFER_POINTS:
            raise InstrumentReplyError(f"{self.name}: reply {n!r} to 'SPTS?' is not a count of 0 to {self.BUFFER_POINTS}")
        return n[0]

    def _check_bins(self, channel: int, start: int, count: int) -> None:
        if channel not in (1, 2):
            raise ValueError(f"buffer display {channel!r} is not 1 or 2")
        for name, value, lo in (("start bin", start, 0), ("count", count, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
                raise ValueError(f"buffer {name} {value!r} is not an integer >= {lo}")
        if start + count > self.BUFFER_POINTS:
            raise ValueError(f"buffer bins {start} + {count} exceed the {self.BUFFER_POINTS} the SR830 holds")

    def read_buffer(self, channel: int, start: int, count: int) -> np.ndarray:
        """``count`` points of display ``channel`` (1 or 2) from bin ``start`` (``TRCA?``,
        ASCII), in the display's units (V for X and Y). Exactly ``count`` values or
        ``InstrumentReplyError``; ``count`` at most ``BUFFER_READ_POINTS`` per query."""
        self._check_bins(channel, start, count)
        if count > self.BUFFER_READ_POINTS:
            raise ValueError(f"buffer count {count} is above the {self.BUFFER_READ_POINTS} points one query reads")
        command = f"TRCA? {channel},{start},{count}"
        reply = self.ask(command).strip()
        vals = parse_values(reply[:-1] if reply.endswith(",") else reply, command, self.name)
        if len(vals) != count:
            raise InstrumentReplyError(f"{self.name}: reply to {command!r} has {len(vals)} values, expected {count}")
        return np.asarray(vals, dtype=float)

    def read_buffer_binary(self, channel: int, start: int, count: int) -> np.ndarray:
        """As ``read_buffer`` through ``TRCB?``: 4 bytes a point, IEEE single precision,
        little endian (no header; GPIB ends it with EOI). Not over RS232 (the manual advises
        against binary transfers there)."""
        self._check_bins(channel, start, count)
        if count > self.BUFFER_READ_POINTS:
            raise ValueError(f"buffer count {count} is above the {self.BUFFER_READ_POINTS} points one query reads")
        command = f"TRCB? {channel},{start},{count}"
        with self._lock:
            self.adapter.write(command)
            raw = self.adapter.read_bytes(4 * count)
        if len(raw) != 4 * count:
            raise InstrumentReplyError(f"{self.name}: reply to {command!r} has {len(raw)} bytes, expected {4 * count}")
        return np.frombuffer(raw, dtype="<f4").astype(float)

    def read_buffer_xy(self, start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(X, Y) in V of bins ``start`` ... ``start + count - 1`` (CH1 and CH2 set to X and Y
        by ``configure_buffer``), read in ``TRCA?`` queries of at most ``BUFFER_READ_POINTS``."""
        self._check_bins(1, start, count)
        xs, ys = [], []
        for j in range(start, start + count, self.BUFFER_READ_POINTS):
            k = min(self.BUFFER_READ_POINTS, start + count - j)
            xs.append(self.read_buffer(1, j, k))
            ys.append(self.read_buffer(2, j, k))
        return np.concatenate(xs), np.concatenate(ys)


__all__ = ["SR830", "InstrumentError"]
