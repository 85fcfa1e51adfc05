"""The run's single stream of events; the run file, the progress bar and the GUI subscribe.

A procedure emits each event once; every subscriber sees the same sequence, so a headless
run and a GUI run behave the same. Subscribers implement any of the events of
``Subscriber`` (``start(info)``, ``sweep_start(item)``, ``row(table, row)``,
``sweep_done(item)``, ``message(text)``, ``stop(status, safe_state)``), best by subclassing
it (as bluesky's CallbackBase): its methods do nothing, and ``subscribe`` refuses a
subclass with a public method that is not an event (a misspelt ``sweep_don`` would
otherwise never be called): its helpers are private (``_draw``). Other objects are taken
as they are if they implement at least one event. A subscriber that raises is
reported, not fatal, unless it is marked ``essential`` (the run file: losing it must stop
the run). A row is a new dict per event that no subscriber changes, so subscribers may keep
it (the GUI's bridge hands it to the GUI thread as it is).
"""

from __future__ import annotations

import difflib
import inspect
import logging

log = logging.getLogger(__name__)


class Subscriber:
    """A stream subscriber: every event a no-op; override the ones you need."""

    #: True for a subscriber whose failure must stop the run (the run file)
    essential = False

    def start(self, info: dict) -> None:
        """The run started: ``info`` has the run file's ``path``, the ``config`` and the ``station``."""

    def sweep_start(self, item) -> None:
        """A sweep of the plan (``stfmr_lab.config`` item) starts."""

    def row(self, table: str, row: dict) -> None:
        """One recorded row of the run file's ``table``."""

    def sweep_done(self, item) -> None:
        """A sweep of the plan is complete."""

    def message(self, text: str) -> None:
        """A line for the operator."""

    def error(self, text: str) -> None:
        """The error that is stopping the run (one line), before the safe shutdown."""

    def stop(self, status: str, safe_state: str) -> None:
        """The run ended with ``status``; ``safe_state`` says what shutdown verified."""


#: the events a subscriber may implement
EVENTS = tuple(name for name, _ in inspect.getmembers(Subscriber, inspect.isfunction))


def check_subscriber(subscriber) -> None:
    """Raise TypeError for a subscriber the stream would silently skip.

    A ``Subscriber`` subclass declares that its public methods are events: one that is
    not (a misspelling such as ``sweep_don``) is refused, naming the event it is closest
    to (methods of classes that are not Subscribers - a mixin's - are not checked). Any
    other object (duck-typed, as before the base existed) must implement at least one event.
    """
    cls = type(subscriber)
    what = f"stream subscriber {cls.__name__}"
    if isinstance(subscriber, Subscriber):
        own = {
            name
            for klass in cls.__mro__
            if klass is not Subscriber and issubclass(klass, Subscriber)
            for name, value in vars(klass).items()
            if not name.startswith("_") and callable(value)
        }
        unknown = sorted(own - set(EVENTS))
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, EVENTS, n=1)
                hints.append(f"{name} (did you mean {close[0]}?)" if close else name)
            raise TypeError(
                f"{what}: {', '.join(hints)} is not a stream event ({', '.join(EVENTS)}); make helpers private (_name)"
            )
        return
    if not any(callable(getattr(subscriber, name, None)) for name in EVENTS):
        raise TypeError(f"{what}: implements none of the stream events ({', '.join(EVENTS)})")


class RunStream:
    def __init__(self):
        self._subscribers: list = []

    def subscribe(self, subscriber) -> None:
        """Add ``subscriber`` (checked by ``check_subscriber``: TypeError on a misspelt event)."""
        check_subscriber(subscriber)
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
