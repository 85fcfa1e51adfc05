"""The run's single stream of events; the run file, the progress bar and the GUI subscribe.

A procedure emits each event once; every subscriber sees the same sequence, so a headless
run and a GUI run behave the same. Subscribers implement any of: ``start(info)``,
``sweep_start(item)``, ``row(table, row)``, ``sweep_done(item)``, ``message(text)``,
``stop(status, safe_state)``. A subscriber that raises is reported, not fatal, unless it
is marked ``essential`` (the run file: losing it must stop the run). A row is a new dict
per event that no subscriber changes, so subscribers may keep it (the GUI's bridge hands it
to the GUI thread as it is).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class RunStream:
    def __init__(self):
        self._subscribers: list = []

    def subscribe(self, subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber) -> None:
        self._subscribers = [s for s in self._subscribers if s is not subscriber]

    def emit(self, event: str, *args) -> None:
        for sub in list(self._subscribers):
            fn = getattr(sub, event, None)
            if fn is None:
                continue
            if getattr(sub, "essential", False):
                fn(*args)
                continue
            try:
                fn(*args)
            except Exception as e:  # a broken plot must not lose the measurement
                log.warning("subscriber %r failed on %s: %s", sub, event, e)
