"""The one ramp: a source stepped to its target in equal steps, with a dwell after each.

Used by the bias ramp (``stfmr_lab.safety.Guard``, a fixed dwell per step) and the magnet
ramp (``stfmr_lab.instruments.field``, a dwell from the ramp rate). The number of steps is
the smallest that keeps every step within ``max_step``; the set points are
``start + (target - start) * k / n``: the last is the target (to rounding).

A stop check (``should_stop``) is asked before every step, never during a dwell: a ramp
that is told to stop leaves the source at its last set point (a full dwell after it) and
raises ``RampStopped``; a ramp is never hurried.
"""

from __future__ import annotations

import math
from collections.abc import Callable

#: below this fraction of a step, the distance counts as a whole number of steps
#: (0.3 / 0.1 is 2.9999999999999996 steps: 3, not 4)
_STEP_ROUNDING = 1e-9


class RampStopped(RuntimeError):
    """A ramp stopped by its stop check; ``value`` is the last set point (units of the ramp)."""

    def __init__(self, value: float):
        super().__init__(f"ramp stopped at {value:g}")
        self.value = value


def ramp_steps(start: float, target: float, max_step: float) -> int:
    """How many equal steps take ``start`` to ``target`` with none above ``max_step`` (>= 1)."""
    if not max_step > 0:
        raise ValueError(f"ramp: max_step {max_step!r} must be positive")
    return max(1, math.ceil(abs(target - start) / max_step - _STEP_ROUNDING))


def ramp(
    write: Callable[[float], None],
    start: float,
    target: float,
    *,
    max_step: float,
    sleep: Callable[[float], None],
    dwell_s: float | None = None,
    rate_per_s: float | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Step ``write`` from ``start`` to ``target``; return the number of steps.

    After every step wait ``dwell_s`` (seconds), or the step over ``rate_per_s`` (units of
    the ramp per second): give exactly one. ``sleep(seconds)`` is the bench clock's.
    ``should_stop()``, if given, is asked before each step; when it says so the ramp stops
    there and raises ``RampStopped``.
    """
    if (dwell_s is None) == (rate_per_s is None):
        raise ValueError("ramp: give exactly one of dwell_s or rate_per_s")
    n = ramp_steps(start, target, max_step)
    if dwell_s is None:
        if not rate_per_s > 0:
            raise ValueError(f"ramp: rate_per_s {rate_per_s!r} must be positive")
        dwell_s = (abs(target - start) / n) / rate_per_s
    last = start
    for k in range(1, n + 1):
        if should_stop is not None and should_stop():
            raise RampStopped(last)
        last = start + (target - start) * k / n
        write(last)
        sleep(dwell_s)
    return n
