"""Fault injection on the simulated bench, configured by name.

Kinds:
- ``timeout``: the ``at``-th query of the instrument (and the ``count - 1`` after it)
  gets no reply, so the driver's read times out;
- ``vanish``: from the ``at``-th query on, the instrument answers nothing at all;
- ``error``: at the ``at``-th query an entry is pushed onto the instrument's error queue;
- ``overload``: from the ``at``-th query the lock-in reports an overload ``count`` times;
- ``garbage``: the ``at``-th query (and ``count - 1`` after it) is answered with noise
  bytes instead of its reply (a truncated or corrupted transfer);
- ``refuse``: every command that starts with ``command`` (a header, e.g. ``:PULM:SOUR:INT``)
  is refused as an unknown header: not executed, a command error in the instrument's
  error queue or status register (a firmware without that option, a different model).
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("timeout", "vanish", "error", "overload", "garbage", "refuse")


@dataclass
class Fault:
    """One injected fault on the instrument of ``role``."""

    role: str
    kind: str
    at: int = 1
    count: int = 1
    message: str = '-222,"Data out of range (injected)"'
    #: ``refuse``: the header refused
    command: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"fault kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind == "refuse" and not self.command:
            raise ValueError("fault refuse: needs the command (header) refused")
        if int(self.at) < 1 or int(self.count) < 1:
            raise ValueError("fault at/count: must be >= 1")
        self.at = int(self.at)
        self.count = int(self.count)
