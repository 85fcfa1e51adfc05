"""Clocks: the bench's notion of time.

Procedures never call ``time.sleep`` directly; they ask the station's clock to wait.
On real hardware that is the wall clock. On the simulated bench it is a virtual clock
that advances instantly (or, with ``realtime=True``, also sleeps, for GUI demos), so a
simulated run reports the bench time a real run would take without taking it.
"""

from __future__ import annotations

import threading
import time


class RealClock:
    """Wall-clock time; ``sleep`` really sleeps (a stop is asked for between waits, never during one)."""

    virtual = False

    def __init__(self):
        self._t0 = time.monotonic()

    def now(self) -> float:
        """Seconds since the clock was made."""
        return time.monotonic() - self._t0

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """Simulated bench time: ``sleep`` advances it (and also sleeps when ``realtime``)."""

    virtual = True

    def __init__(self, realtime: bool = False, speedup: float = 1.0):
        self.realtime = realtime
        self.speedup = float(speedup)
        self._now = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Virtual seconds since the bench was made."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move virtual time forward without sleeping (instrument latency)."""
        if seconds > 0:
            with self._lock:
                self._now += seconds

    def sleep(self, seconds: float) -> None:
        """Advance virtual time by ``seconds`` (sleeping too in realtime mode)."""
        if seconds <= 0:
            return
        if self.realtime:
            time.sleep(seconds / self.speedup)
        self.advance(seconds)
