"""The run's stream (stfmr_lab/stream.py): subscribers, misspelt events, failures."""

import logging

import pytest

from stfmr_lab.stream import EVENTS, RunStream, Subscriber


class Log(Subscriber):
    def __init__(self):
        self.seen = []

    def row(self, table, row):
        self.seen.append((table, row["n"]))

    def stop(self, status, safe_state):
        self.seen.append(("stop", status))


def test_the_base_has_every_event_as_a_no_op():
    # "error": the one line that stops a run, emitted before the safe shutdown (the event log records it)
    assert set(EVENTS) == {"start", "sweep_start", "row", "sweep_done", "message", "error", "stop"}
    stream = RunStream()
    log = Log()
    stream.subscribe(log)
    stream.emit("start", {})
    stream.emit("sweep_start", object())
    stream.emit("row", "data", {"n": 1})
    stream.emit("message", "hello")
    stream.emit("sweep_done", object())
    stream.emit("stop", "complete", "verified")
    assert log.seen == [("data", 1), ("stop", "complete")]


def test_a_misspelt_event_is_refused_with_the_name_it_meant():
    class Typo(Subscriber):
        def sweep_don(self, item):
            pass

    with pytest.raises(TypeError, match=r"sweep_don \(did you mean sweep_done\?\)"):
        RunStream().subscribe(Typo())

    class Inherited(Typo):  # a misspelling in a base class counts too
        def row(self, table, row):
            pass

    with pytest.raises(TypeError, match="sweep_don"):
        RunStream().subscribe(Inherited())


def test_duck_typed_subscribers_are_taken_as_they_are():
    """An object that is not a Subscriber (an event log with its own write/close) keeps
    working; with no event at all it is refused."""

    class EventLog:
        def __init__(self):
            self.lines = []

        def message(self, text):
            self.write(text)

        def write(self, text):
            self.lines.append(text)

        def close(self):
            pass

    log = EventLog()
    stream = RunStream()
    stream.subscribe(log)
    stream.emit("message", "hello")
    assert log.lines == ["hello"]

    class Plain:
        def rows(self, table, row):
            pass

    with pytest.raises(TypeError, match="none of the stream events"):
        RunStream().subscribe(Plain())


def test_a_mixin_s_public_methods_are_not_events_to_check():
    class Mixin:
        def refresh(self):
            pass

    class Mixed(Mixin, Subscriber):
        def row(self, table, row):
            self.refresh()

    RunStream().subscribe(Mixed())  # no error: refresh belongs to a class that is not a Subscriber


def test_public_helpers_are_refused_private_ones_kept():
    class Helper(Subscriber):
        def row(self, table, row):
            self._count()

        def redraw(self):
            pass

    with pytest.raises(TypeError, match="redraw is not a stream event.*private"):
        RunStream().subscribe(Helper())

    class Fine(Subscriber):
        n = 0

        def row(self, table, row):
            self._count()

        def _count(self):
            self.n += 1

    fine = Fine()
    stream = RunStream()
    stream.subscribe(fine)
    stream.emit("row", "data", {})
    assert fine.n == 1


def test_an_object_with_no_event_is_refused():
    class Nothing:
        pass

    with pytest.raises(TypeError, match="none of the stream events"):
        RunStream().subscribe(Nothing())


def test_a_failing_subscriber_is_reported_unless_essential(caplog):
    class Broken(Subscriber):
        def row(self, table, row):
            raise OSError("plot gone")

    class Essential(Broken):
        essential = True

    stream = RunStream()
    log = Log()
    stream.subscribe(Broken())
    stream.subscribe(log)
    with caplog.at_level(logging.WARNING, logger="stfmr_lab.stream"):
        stream.emit("row", "data", {"n": 2})
    assert log.seen == [("data", 2)]  # the others still see the row
    assert "plot gone" in caplog.text
    stream.subscribe(Essential())
    with pytest.raises(OSError, match="plot gone"):
        stream.emit("row", "data", {"n": 3})
