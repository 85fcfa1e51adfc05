"""Helpers of the GUI tests: wait for a queued run to reach a point or its end."""

from __future__ import annotations

from pymeasure.experiment import Procedure

DONE = (Procedure.FINISHED, Procedure.ABORTED, Procedure.FAILED)


def wait_for_end(qtbot, w, experiment, timeout=30000):
    """Wait until the Worker is done and the stream's ``stop`` reached the window."""

    def done():
        model = w._runs[id(experiment.procedure)]["model"]
        return (
            experiment.procedure.status in DONE
            and not w.manager.is_running()
            and model is not None
            and model.status != "running"
        )

    qtbot.waitUntil(done, timeout=timeout)
    return w._runs[id(experiment.procedure)]["model"]


def wait_for_points(qtbot, w, experiment, n, timeout=30000):
    def enough():
        model = w._runs[id(experiment.procedure)]["model"]
        return model is not None and model.n >= n

    qtbot.waitUntil(enough, timeout=timeout)
    return w._runs[id(experiment.procedure)]["model"]
