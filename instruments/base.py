"""What every driver of ours shares: strict replies, one lock per instrument, snapshots.

pymeasure's ``values()`` returns the raw string when a cast fails, which ends up as a
silent NaN in the data; ours raises ``InstrumentReplyError`` naming the instrument, the
command and the reply. Each instrument holds one re-entrant lock around every write+read
pair, so two threads never interleave replies (pyvisa-sim devices and most GPIB stacks
are not thread-safe).
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class InstrumentError(RuntimeError):
    """An instrument misbehaved: bad reply, error-queue entry, no answer."""


class InstrumentReplyError(InstrumentError):
    """A reply that is not what the command promises (garbage, truncated, empty)."""


class StrictMixin:
    """Mixin for pymeasure ``Instrument`` subclasses: strict casts and a per-instrument lock.

    Put it first in the bases: ``class SR830(StrictMixin, pymeasure.SR830)``.
    """

    #: Model key used by station files, e.g. "sr830".
    model = ""

    def __init__(self, *args, **kwargs):
        self._lock = threading.RLock()
        super().__init__(*args, **kwargs)

    def ask(self, command, query_delay=None):
        with self._lock:
            return super().ask(command, query_delay)

    def write(self, command, **kwargs):
        with self._lock:
            return super().write(command, **kwargs)

    def values(self, command, separator=",", cast=float, preprocess_reply=None, maxsplit=-1, **kwargs):
        response = self.ask(command, **kwargs).strip()
        if callable(preprocess_reply):
            response = preprocess_reply(response)
        if response == "":
            raise InstrumentReplyError(f"{self.name}: empty reply to {command!r}")
        results = []
        for item in response.split(separator, maxsplit=maxsplit):
            item = item.strip()
            try:
                if cast is bool:
                    results.append(bool(float(item)))
                elif cast is int:
                    results.append(int(float(item)))
                else:
                    results.append(cast(item))
            except (TypeError, ValueError):
                raise InstrumentReplyError(
                    f"{self.name}: reply {response!r} to {command!r} is not a valid {getattr(cast, '__name__', cast)}"
                ) from None
        return results

    def numbers(self, command, count):
        """Query ``command`` and return exactly ``count`` floats (raises on anything else)."""
        vals = self.values(command)
        if len(vals) != count:
            raise InstrumentReplyError(f"{self.name}: reply to {command!r} has {len(vals)} values, expected {count}")
        return vals

    def identify(self) -> str:
        """Return the identification string (``*IDN?``), stripped."""
        reply = self.ask("*IDN?").strip()
        if not reply:
            raise InstrumentReplyError(f"{self.name}: empty identification")
        return reply

    def close(self):
        """Close the VISA session (pymeasure's ``shutdown`` does not)."""
        try:
            self.adapter.close()
        except Exception as e:  # closing must never raise on an exit path
            log.warning("%s: close failed: %s", self.name, e)
