"""Asking the operator to turn the magnet, from the run's worker thread.

On a bench without a rotation stage the field controller asks for the easy axis (P/AP
references) and back to the hard axis; the run waits for the answer. ``AxisPrompt`` is
called in the worker thread, shows the question in the GUI thread (queued signal) and
blocks until it is answered. "Cancel" answers no: the run stops and ramps down safely.
"""

from __future__ import annotations

import threading

from qtpy import QtCore, QtWidgets

from stfmr_lab.instruments.field import AXES

QUESTION = (
    "Turn the magnet so that the field lies along the {axis} axis ({angle:g} deg from the easy axis y),"
    " then press OK.\n\nThe field is at zero. Cancel stops the run (bias and RF are ramped down)."
)


class AxisPrompt(QtCore.QObject):
    """Callable ``(axis) -> bool`` usable from any thread; the dialog runs in the GUI thread."""

    _ask = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._answer = False
        self._done = threading.Event()
        self._ask.connect(self._show, QtCore.Qt.QueuedConnection)

    def __call__(self, axis: str) -> bool:
        if QtCore.QThread.currentThread() is self.thread():
            self._show(axis)
            return self._answer
        self._done.clear()
        self._ask.emit(axis)
        self._done.wait()
        return self._answer

    def _show(self, axis: str) -> None:
        parent = self.parent() if isinstance(self.parent(), QtWidgets.QWidget) else None
        reply = QtWidgets.QMessageBox.question(
            parent,
            "Turn the magnet",
            QUESTION.format(axis=axis, angle=AXES.get(axis, float("nan"))),
            QtWidgets.QMessageBox.Ok | QtWidgets.QMessageBox.Cancel,
            QtWidgets.QMessageBox.Cancel,
        )
        self._answer = reply == QtWidgets.QMessageBox.Ok
        self._done.set()
