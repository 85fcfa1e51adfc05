"""The run's stream, re-emitted as Qt signals in the GUI thread.

``StreamBridge.sink`` subscribes to a procedure's ``RunStream`` (stfmr_lab.stream). The
stream calls it from the worker thread; the bridge only queues the events (a lock and a deque)
and posts one queued Qt notification per batch, so a fast run costs the GUI one wake-up
per batch, not one per point. In the GUI thread the batch is drained in order and
re-emitted: ``started(info)``, ``sweepStarted(item)``, ``rows(list of (table, row))``,
``sweepDone(item)``, ``message(text)``, ``stopped(status, safe_state)``.

Nothing here touches an instrument: the GUI learns the bench's state only from the stream.
"""

from __future__ import annotations

import collections
import threading

from qtpy import QtCore

from stfmr_lab.stream import Subscriber


class StreamBridge(QtCore.QObject):
    """A RunStream subscriber living in the GUI thread (thread-safe, order-preserving)."""

    started = QtCore.Signal(object)
    sweepStarted = QtCore.Signal(object)
    rows = QtCore.Signal(object)
    sweepDone = QtCore.Signal(object)
    message = QtCore.Signal(str)
    stopped = QtCore.Signal(str, str)

    _posted = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lock = threading.Lock()
        self._events: collections.deque = collections.deque()
        self._notified = False
        # queued even when emitted from the GUI thread: the stream's caller never waits on Qt
        self._posted.connect(self.drain, QtCore.Qt.ConnectionType.QueuedConnection)
        self._sink = _Sink(self._put)

    # ------------------------------------------------------------------ stream side (any thread)
    @property
    def sink(self) -> "_Sink":
        """The object to subscribe to a RunStream (``stream.subscribe(bridge.sink)``)."""
        return self._sink

    def _put(self, event, *args):
        with self._lock:
            self._events.append((event, args))
            if self._notified:
                return
            self._notified = True
        self._posted.emit()

    # ------------------------------------------------------------------ GUI side
    def drain(self):
        """Re-emit every queued event in order (GUI thread); consecutive rows as one batch."""
        with self._lock:
            events = list(self._events)
            self._events.clear()
            self._notified = False
        batch: list = []
        for event, args in events:
            if event == "row":
                batch.append(args)
                continue
            if batch:
                self.rows.emit(batch)
                batch = []
            if event == "start":
                self.started.emit(args[0])
            elif event == "sweep_start":
                self.sweepStarted.emit(args[0])
            elif event == "sweep_done":
                self.sweepDone.emit(args[0])
            elif event == "message":
                self.message.emit(args[0])
            elif event == "stop":
                self.stopped.emit(args[0], args[1])
        if batch:
            self.rows.emit(batch)


class _Sink(Subscriber):
    """The RunStream subscriber: queues the events the bridge re-emits (a ``Subscriber``, so
    the stream refuses a misspelt event here). ``error`` stays the base's no-op: the window
    reads a failed run's error from the procedure (pymeasure's ``failed``)."""

    def __init__(self, put):
        self._put = put

    def start(self, info):
        self._put("start", info)

    def sweep_start(self, item):
        self._put("sweep_start", item)

    def row(self, table, row):
        self._put("row", table, row)  # rows are not changed after emit (stfmr_lab.stream)

    def sweep_done(self, item):
        self._put("sweep_done", item)

    def message(self, text):
        self._put("message", str(text))

    def stop(self, status, safe_state):
        self._put("stop", str(status), str(safe_state))
