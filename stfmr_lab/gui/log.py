"""The window's log tab: pymeasure's LogWidget with its own blink timer and folded tracebacks.

pymeasure 0.16 creates LogWidget's blink ``QTimer`` once, as a class attribute, and every
LogWidget connects to it: a timer shared between windows, firing into a window already
deleted (about one GUI test run in 15 ended "Fatal Python error: Aborted" at teardown).
``BenchLogWidget`` gives each widget its own timer, parented to it, and ``close_timer``
stops and disconnects it when the window closes.

A failed run's exception reaches the log with its traceback (pymeasure's Worker logs it):
the tab shows its one-line text and "(traceback folded ...)"; the whole text is kept in
``last_traceback`` (Run > Show the last traceback).
"""

from __future__ import annotations

import logging

from pymeasure.display.widgets import LogWidget
from pymeasure.display.widgets.log_widget import HTMLFormatter
from qtpy import QtCore

TRACEBACK = "Traceback (most recent call last):"


class FoldingFormatter(HTMLFormatter):
    """pymeasure's HTML log lines, with an exception's traceback folded to one line."""

    def __init__(self, *args, on_traceback=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.on_traceback = on_traceback

    def fold(self, text: str) -> str:
        """A traceback's last line and a note where the rest is (kept by ``on_traceback``)."""
        if self.on_traceback is not None:
            self.on_traceback(text)
        lines = text.strip().splitlines()
        last = lines[-1] if lines else ""
        return f"{last}  (traceback folded: {len(lines)} lines; Run \u203a Show the last traceback)"

    def formatException(self, ei) -> str:
        return self.fold(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(record.__dict__)  # other handlers see the record whole
        record.exc_text = None  # formatted here (logging caches the text on the record)
        msg = record.getMessage()
        if TRACEBACK in msg:  # already formatted into the text (pymeasure's Worker queues records)
            head, _, tail = msg.partition(TRACEBACK)
            record.msg, record.args = head.rstrip() + " " + self.fold(TRACEBACK + tail), None
        return super().format(record)


class BenchLogWidget(LogWidget):
    """LogWidget with a blink timer of its own and folded tracebacks (module docstring)."""

    def __init__(self, name, parent=None, fmt=None, datefmt=None):
        super().__init__(name, parent, fmt=fmt, datefmt=datefmt)
        LogWidget._blink_qtimer.timeout.disconnect(self._blink)  # the class-wide timer
        self._blink_qtimer = QtCore.QTimer(self)
        self._blink_qtimer.timeout.connect(self._blink)
        self.last_traceback = ""
        self.handler.setFormatter(FoldingFormatter(fmt=self.fmt, datefmt=self.datefmt, on_traceback=self._keep))

    def _keep(self, text: str) -> None:
        self.last_traceback = text

    def close_timer(self) -> None:
        """Stop and disconnect the blink timer and the tab bar (the window is closing)."""
        self._blink_qtimer.stop()
        try:
            self._blink_qtimer.timeout.disconnect()
        except TypeError:  # nothing connected
            pass
        if self.tab_widget is not None:
            try:
                self.tab_widget.tabBar().currentChanged.disconnect(self._blinking_stop)
            except TypeError:
                pass
