"""The run's event log: a text file beside the run file (``FILE.log`` for ``FILE.h5``).

One line per event, with the wall-clock time and the bench time (virtual on the simulated
bench): the run file and station, each sweep's start and end, the operator's steps (magnet
turns), lock-in overload re-ranging, warnings and errors the instruments' code logs
(``stfmr_lab`` and ``pymeasure`` loggers), the error that stopped a run, and the safe state.
Appended to on a resume. The log is for people; the run file holds the data.
"""

from __future__ import annotations

import datetime as _dt
import logging
from pathlib import Path

from stfmr_lab.config import FieldSweep, FreqSweep, IVSweep

LOGGERS = ("stfmr_lab", "pymeasure")


def log_path(run_path: str | Path) -> Path:
    """Where the log of a run file goes."""
    return Path(run_path).with_suffix(".log")


class RunLog:
    """A run-stream subscriber writing the event log (never stops a run: a write error is dropped)."""

    def __init__(self, run_path: str | Path, clock=None):
        self.path = log_path(run_path)
        self.clock = clock
        self._t0 = clock.now() if clock is not None else 0.0
        self._file = open(self.path, "a", encoding="utf-8", buffering=1)  # line-buffered
        self._handler = _Handler(self)
        self._handler.setLevel(logging.WARNING)
        for name in LOGGERS:
            logging.getLogger(name).addHandler(self._handler)

    def write(self, text: str) -> None:
        if self._file.closed:
            return
        now = _dt.datetime.now().astimezone().isoformat(timespec="milliseconds")
        bench = f"{self.clock.now() - self._t0:10.3f} s" if self.clock is not None else " " * 12
        try:
            self._file.write(f"{now}  {bench}  {text}\n")
        except (OSError, ValueError):
            pass

    # stream events
    def start(self, info):
        st = info["station"]
        self.write(f"run file {info['path']} on station {st.config.get('name', '?')}"
                   f"{' (simulated bench, virtual clock)' if st.simulated else ''}")

    def sweep_start(self, item):
        self.write(f"sweep {_describe(item)} started")

    def sweep_done(self, item):
        self.write(f"sweep {_describe(item)} done")

    def message(self, text):
        self.write(str(text))

    def error(self, text):
        self.write(f"ERROR {text}")

    def stop(self, status, safe_state):
        self.write(f"run {status}; safe state: {safe_state}")
        self.close()

    def close(self) -> None:
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(self._handler)
        if not self._file.closed:
            self._file.close()


class _Handler(logging.Handler):
    def __init__(self, runlog: RunLog):
        super().__init__()
        self.runlog = runlog

    def emit(self, record):
        try:
            self.runlog.write(f"{record.levelname} {record.name}: {record.getMessage()}")
        except Exception:  # never let the log break the run
            pass


def _describe(item) -> str:
    if isinstance(item, IVSweep):
        return f"I-V {item.index} ({item.label}, {item.field_oe:g} Oe, {item.points} currents)"
    if isinstance(item, FreqSweep):
        return f"spectrum {item.index} ({item.kind}, {item.field_oe:g} Oe, bias {item.bias}, {item.points} frequencies)"
    if isinstance(item, FieldSweep):
        return f"spectrum {item.index} (field sweep at {item.frequency_hz / 1e9:.3f} GHz, bias {item.bias}, {item.points} fields)"
    return str(item)
